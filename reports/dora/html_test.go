package dora

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func page(t *testing.T, rs Reports) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, rs, HTML); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// teamSection is the part of the page about one team.
func teamSection(t *testing.T, html, team string) string {
	t.Helper()
	start := strings.Index(html, "<h2>"+team+"</h2>")
	if start < 0 {
		t.Fatalf("no section for %s", team)
	}
	end := strings.Index(html[start:], "</section>")
	return html[start : start+end]
}

// card is the card of one key in a team's section.
func card(t *testing.T, section, key string) string {
	t.Helper()
	start := strings.Index(section, "<h3>"+key+"</h3>")
	if start < 0 {
		t.Fatalf("no card %s in\n%s", key, section)
	}
	end := strings.Index(section[start:], "</div>")
	return section[start : start+end]
}

// TestHTMLCards checks payments' and search's cards by hand (see TestSummary for
// the figures): tier badges by class, changes good or bad by whether they are
// better or worse, whatever their direction.
func TestHTMLCards(t *testing.T) {
	html := page(t, fixtureReports(false))
	if !strings.Contains(html, "<title>DORA report</title>") ||
		!strings.Contains(html, `<p class="subtitle">2026-06-01 to 2026-06-29 (exclusive), 28 days, UTC; as of 2026-06-28 12:00, 27.5 days elapsed</p>`) ||
		!strings.Contains(html, "Compared with the previous window, 2026-05-04 to 2026-06-01 (exclusive), 28 days, UTC.") {
		t.Errorf("title, subtitle or comparison missing:\n%s", html[:min(len(html), 2000)])
	}
	payments := teamSection(t, html, "payments")
	for _, tt := range []struct {
		key  string
		want []string
	}{
		// Up 0.33 a day: better, though up.
		{"deployment frequency", []string{`<span class="tier tier-high">high</span>`, `<p class="change good">▲ 0.33/day, better</p>`,
			"Previous window: 0.04/day, 0 deploy days/week (medium)"}},
		// Up 1.5 d: worse.
		{"lead time (median)", []string{`1.5 d <span class="tier tier-high">high</span>`, `<p class="change bad">▲ 1.5 d, worse</p>`}},
		// Down 70 points: better, though down.
		{"change failure rate", []string{`30% <span class="tier tier-low">low</span>`, `<p class="change good">▼ 70 points, better</p>`}},
		{"failed-deployment recovery (median)", []string{`<span class="tier tier-high">high</span>`, `<p class="change bad">▲ 30m, worse</p>`}},
	} {
		c := card(t, payments, tt.key)
		for _, w := range tt.want {
			if !strings.Contains(c, w) {
				t.Errorf("payments %s: no %q in\n%s", tt.key, w, c)
			}
		}
	}
	search := teamSection(t, html, "search")
	// No lead time in May: new, neither good nor bad. No recovery either time: no
	// tier badge, no chart.
	if c := card(t, search, "lead time (median)"); !strings.Contains(c, `<p class="change">new</p>`) {
		t.Errorf("search lead time:\n%s", c)
	}
	if c := card(t, search, "failed-deployment recovery (median)"); strings.Contains(c, "tier-") || !strings.Contains(c, `<p class="value">—</p>`) {
		t.Errorf("search recovery:\n%s", c)
	}

	// One chart per key, comparing the two windows, when either has the figure.
	for team, keys := range map[string][]string{
		"payments": {"deployment frequency", "lead time (median)", "change failure rate", "failed-deployment recovery (median)"},
		"search":   {"deployment frequency", "lead time (median)", "change failure rate"},
	} {
		section := teamSection(t, html, team)
		if n := strings.Count(section, "<svg"); n != len(keys) {
			t.Errorf("%s: %d charts, want %d", team, n, len(keys))
		}
		for _, k := range keys {
			if !strings.Contains(section, "<title>"+team+": "+k+"</title>") {
				t.Errorf("%s: no chart %q", team, k)
			}
		}
	}
}

// TestHTMLTables: the detail tables by theme, numbers in num cells, and a
// sentence for a team with nothing in the window.
func TestHTMLTables(t *testing.T) {
	html := page(t, fixtureReports(false))
	payments := teamSection(t, html, "payments")
	titles := regexp.MustCompile(`<h3>([^<]*)</h3>\s*<table>`).FindAllStringSubmatch(payments, -1)
	var got []string
	for _, m := range titles {
		got = append(got, m[1])
	}
	if strings.Join(got, "; ") != "Throughput: deployments; Throughput: changes; Lead time; Stability: failures; Stability: recovery and rework" {
		t.Errorf("payments' tables: %v", got)
	}
	// Throughput: deployments has the team's row and checkout's and ledger's, each
	// with five numbers (deploys, a day, days a week and a month, per deploy day)
	// and a tier: 10 deploys, 7 and 3.
	deploys := payments[strings.Index(payments, "<h3>Throughput: deployments</h3>"):strings.Index(payments, "<h3>Throughput: changes</h3>")]
	if n := strings.Count(deploys, `<td class="num">`); n != 3*5 {
		t.Errorf("%d number cells, want 15:\n%s", n, deploys)
	}
	for _, w := range []string{
		`<th scope="row"><strong>all services</strong></th><td class="num">10</td>`,
		`<th scope="row">checkout</th><td class="num">7</td>`,
		`<th scope="row">ledger</th><td class="num">3</td>`,
		`<td><span class="tier tier-medium">medium</span></td>`, // ledger's: no deploy day in the median week
	} {
		if !strings.Contains(deploys, w) {
			t.Errorf("no %s in\n%s", w, deploys)
		}
	}
	idle := teamSection(t, html, "idle")
	if !strings.Contains(idle, "<p>No deployments, changes or incidents in this window or the previous one.</p>") ||
		strings.Contains(idle, "<table") || strings.Contains(idle, `class="card"`) || strings.Contains(idle, "<svg") {
		t.Errorf("idle:\n%s", idle)
	}
	if !strings.Contains(html, `<h2 id="how-these-figures-are-made">How these figures are made</h2>`) ||
		!strings.Contains(html, "<dt>Change failure rate</dt><dd>Failed deploys / deploys.</dd>") {
		t.Error("no definitions")
	}
}

// TestHTMLSelfContained: no script, no stylesheet or image to fetch, links only
// within the page, and names escaped.
func TestHTMLSelfContained(t *testing.T) {
	rs := fixtureReports(true)
	rs.Current.Teams[0].Name = `<script>alert("x")</script>`
	html := page(t, rs)
	for _, bad := range []string{"<script", "<link", " src=", "<iframe", "url("} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("the page has %q", bad)
		}
	}
	if !strings.Contains(html, "<h2>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</h2>") {
		t.Error("the team's name is not escaped")
	}
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(html, -1) {
		if !strings.HasPrefix(m[1], "#") {
			t.Errorf("a link out of the page: %s", m[1])
		}
	}
	// The only addresses are XML namespaces, which are names, not requests.
	for _, u := range regexp.MustCompile(`https?://[^"'\s<>]+`).FindAllString(html, -1) {
		if !strings.HasPrefix(u, "http://www.w3.org/") {
			t.Errorf("an external address: %s", u)
		}
	}
	for _, tag := range []string{"section", "table", "details", "div"} {
		if open, closed := strings.Count(html, "<"+tag), strings.Count(html, "</"+tag+">"); open != closed {
			t.Errorf("%d <%s> and %d </%s>", open, tag, closed, tag)
		}
	}
}

// TestHTMLExplanation: with an explanation, each team lists the facts behind its
// figures, as in Markdown, and the page ends with the facts' values.
func TestHTMLExplanation(t *testing.T) {
	html := page(t, fixtureReports(true))
	payments := teamSection(t, html, "payments")
	// d22, ledger's failure inferred from i2 alone (aggregatetest).
	if !strings.Contains(payments, "<details><summary>Facts behind payments / ledger</summary>") ||
		!strings.Contains(payments, "<li><code>failed_deployments_inferred</code> (1 deployment): <code>gh:d22</code></li>") {
		t.Errorf("payments' explanation:\n%s", payments)
	}
	facts := html[strings.Index(html, "<h2>Facts</h2>"):]
	// 13 changes, 25 deployments and 4 incidents (metrics/aggregate's TestDORAExplain).
	if n := strings.Count(facts, `<tr><th scope="row"><code>`); n != 13+25+4 {
		t.Errorf("%d facts, want 42", n)
	}
	if !strings.Contains(facts, `<tr><th scope="row"><code>pd:i1</code></th><td>payments</td><td>checkout</td><td>SEV2</td>`) {
		t.Errorf("no row for pd:i1")
	}
	// Without an explanation, neither.
	if plain := page(t, fixtureReports(false)); strings.Contains(plain, "<details") || strings.Contains(plain, "<h2>Facts</h2>") {
		t.Error("an explanation without Explain")
	}
}
