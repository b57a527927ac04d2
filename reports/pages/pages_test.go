package pages

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/reports/build"
	"github.com/flowmeter/flowmeter/reports/chart"
	"github.com/flowmeter/flowmeter/reports/htmlpage"
	"github.com/flowmeter/flowmeter/reports/render"
)

// fakeReports stands for the reports of a config with the teams payments and
// search: each page it writes is titled with its request, so that a test sees
// which report a link led to. It records the requests.
type fakeReports struct {
	teams    []string
	requests []build.Request
}

func (f *fakeReports) CheckTeam(team string) error {
	if team == "" || team == aggregate.NoTeam || slices.Contains(f.teams, team) {
		return nil
	}
	return &build.UnknownTeamError{Team: team, Config: "flowmeter.yaml", Teams: append(slices.Clone(f.teams), aggregate.NoTeam)}
}

func (f *fakeReports) Teams(context.Context) ([]string, error) {
	return append(slices.Clone(f.teams), aggregate.NoTeam), nil
}

func (f *fakeReports) Write(_ context.Context, w io.Writer, req build.Request) error {
	asked := req
	asked.Nav = nil // the navigation is checked on the page
	f.requests = append(f.requests, asked)
	title := fmt.Sprintf("%s %q %s", req.Kind, req.Team, render.Window(req.From, req.To))
	if req.Format == render.SVG {
		_, err := w.Write(chart.Standalone(chart.Snake{Title: title}.SVG()))
		return err
	}
	return htmlpage.Write(w, htmlpage.Page{Title: title, Body: "<p>figures</p>", Nav: req.Nav})
}

// now is Aug 15 2026, in 2026Q3: the previous quarter is 2026Q2, and the 90 days
// to tomorrow are [May 18, Aug 16) (Aug 16 less 31 days of July is Jul 16, less 30
// of June is Jun 16, less 29 more is May 18).
var now = time.Date(2026, 8, 15, 12, 0, 0, 0, time.UTC)

func date(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }

func newHandler(reports *fakeReports, creds Credentials) *Handler {
	return &Handler{
		Open:        func(time.Time) (Reports, error) { return reports, nil },
		Credentials: creds,
		Now:         func() time.Time { return now },
	}
}

type response struct {
	code   int
	header http.Header
	body   string
}

func serve(h http.Handler, method, target string, header http.Header) response {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return response{w.Code, w.Result().Header, w.Body.String()}
}

var hrefPattern = regexp.MustCompile(`href="([^"]*)"`)

// links are the targets of a page's links, resolved against the page's address.
func links(t *testing.T, page, body string) []string {
	t.Helper()
	base, err := url.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range hrefPattern.FindAllStringSubmatch(body, -1) {
		// The page escapes & and + in an attribute as &amp; and &#43;.
		ref, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, base.ResolveReference(ref).RequestURI())
	}
	return out
}

func TestIndex(t *testing.T) {
	reports := &fakeReports{teams: []string{"payments", "search"}}
	h := newHandler(reports, Credentials{})
	index := serve(h, http.MethodGet, "/", nil)
	if index.code != http.StatusOK || index.header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(index.body, "<h1>") {
		t.Fatalf("GET / = %d %s:\n%s", index.code, index.header.Get("Content-Type"), index.body)
	}
	got := links(t, "/", index.body)
	// Five links a row: DORA, flow this quarter and the last, toil likewise; for
	// every team, then each team, then (no team), which has facts here.
	var want []string
	for _, team := range []string{"", "payments", "search", aggregate.NoTeam} {
		q := ""
		if team != "" {
			q = "team=" + url.QueryEscape(team)
		}
		and := func(s string) string {
			if q == "" {
				return s
			}
			return s + "&" + q
		}
		dora := "/reports/dora"
		if q != "" {
			dora += "?" + q
		}
		want = append(want, dora,
			"/reports/flow?"+and("quarter=2026Q3"), "/reports/flow?"+and("quarter=2026Q2"),
			"/reports/toil?"+and("quarter=2026Q3"), "/reports/toil?"+and("quarter=2026Q2"))
	}
	if !slices.Equal(got, want) {
		t.Errorf("the index links to\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Every link opens its report, for the team and window it names.
	for _, link := range got {
		reports.requests = nil
		page := serve(h, http.MethodGet, link, nil)
		if page.code != http.StatusOK || !strings.Contains(page.body, "<h1>") || len(reports.requests) != 1 {
			t.Errorf("GET %s = %d, %d reports built:\n%s", link, page.code, len(reports.requests), page.body)
		}
	}
	reports.requests = nil
	serve(h, http.MethodGet, "/reports/dora?team=payments", nil)
	serve(h, http.MethodGet, "/reports/toil?quarter=2026Q2&team=%28no+team%29", nil)
	wantRequests := []build.Request{
		{Kind: build.DORA, Team: "payments", From: date(5, 18), To: date(8, 16), Format: render.HTML},
		{Kind: build.Toil, Team: aggregate.NoTeam, From: date(4, 1), To: date(7, 1), Format: render.HTML},
	}
	if !reflect.DeepEqual(reports.requests, wantRequests) {
		t.Errorf("requests %+v\nwant %+v", reports.requests, wantRequests)
	}
}

func TestReportPage(t *testing.T) {
	reports := &fakeReports{teams: []string{"payments", "search"}}
	h := newHandler(reports, Credentials{})
	const target = "/reports/toil?team=payments&quarter=2026Q3"
	page := serve(h, http.MethodGet, target, nil)
	if page.code != http.StatusOK {
		t.Fatalf("GET %s = %d\n%s", target, page.code, page.body)
	}
	for header, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
	} {
		if got := page.header.Get(header); got != want {
			t.Errorf("%s: %q, want %q", header, got, want)
		}
	}
	// The navigation opens the page's body: the index, the team's other
	// reports of the quarter, the previous quarter, the snake alone.
	nav := regexp.MustCompile(`(?s)<body>\s*(<nav[^>]*>.*?</nav>)\s*<header>`).FindStringSubmatch(page.body)
	if nav == nil {
		t.Fatalf("no nav opens the page's body:\n%s", page.body)
	}
	want := []string{"/", "/reports/dora?quarter=2026Q3&team=payments", "/reports/flow?quarter=2026Q3&team=payments",
		"/reports/toil?quarter=2026Q2&team=payments", "/reports/toil?format=svg&quarter=2026Q3&team=payments"}
	got := links(t, target, nav[1])
	if !slices.Equal(got, want) {
		t.Errorf("nav links to %v, want %v", got, want)
	}
	for _, link := range got[1:] {
		if p := serve(h, http.MethodGet, link, nil); p.code != http.StatusOK {
			t.Errorf("GET %s = %d: %s", link, p.code, p.body)
		}
	}

	// The snake alone is an SVG document.
	svg := serve(h, http.MethodGet, "/reports/toil?team=payments&quarter=2026Q3&format=svg", nil)
	if svg.code != http.StatusOK || svg.header.Get("Content-Type") != "image/svg+xml; charset=utf-8" || !strings.Contains(svg.body, "<svg") ||
		!strings.Contains(svg.body, `<title>toil &#34;payments&#34; 2026-07-01 to 2026-10-01 (exclusive)</title>`) {
		t.Errorf("the snake: %d %s\n%s", svg.code, svg.header.Get("Content-Type"), svg.body)
	}

	// A window of dates: the previous period is as long, just before it.
	page = serve(h, http.MethodGet, "/reports/dora?from=2026-08-01&to=2026-08-11", nil)
	if !strings.Contains(page.body, `href="dora?from=2026-07-22&amp;to=2026-08-01"`) {
		t.Errorf("no link to [Jul 22, Aug 1) in\n%s", page.body)
	}
}

func TestReportPageErrors(t *testing.T) {
	h := newHandler(&fakeReports{teams: []string{"payments", "search"}}, Credentials{})
	for _, tt := range []struct {
		method, target string
		code           int
		want           string
	}{
		{"GET", "/reports/flow?team=nosuch", 404, `report flow: no team "nosuch" in flowmeter.yaml (teams: payments, search, (no team))`},
		{"GET", "/reports/toil?team=%3Cb%3E&format=svg", 404, `report toil: no team "<b>"`},
		{"GET", "/reports/flow?quarter=2026Q5", 400, `report flow: --quarter "2026Q5": want a quarter like 2026Q3`},
		{"GET", "/reports/dora?from=2026-07-02&to=2026-07-01", 400, "report dora: --from 2026-07-02 is not before --to 2026-07-01: the window [from, to) is empty"},
		{"GET", "/reports/dora?from=July", 400, `report dora: --from "July": want a date like 2026-07-01`},
		{"GET", "/reports/toil?quarter=2026Q3&from=2026-07-01", 400, "report toil: --quarter and --from/--to both name the window"},
		{"GET", "/reports/toil?format=svg", 400, "report toil: --format svg draws one team's toil snake: give --team"},
		{"GET", "/reports/dora?format=svg&team=payments", 400, `report dora: --format: unknown format "svg" (want html)`},
		{"GET", "/reports/flow?format=md", 400, `report flow: --format: unknown format "md" (want html)`},
		{"GET", "/reports/flow?teams=payments", 400, `report flow: unknown parameter "teams" (want team, quarter, from, to, format)`},
		{"GET", "/reports/flow?team=payments&team=search", 400, `report flow: parameter "team" given 2 times`},
		{"GET", "/reports/snake", 404, "no page /reports/snake"},
		{"POST", "/", 405, "POST is not served here"},
		{"PUT", "/reports/dora", 405, "PUT is not served here"},
	} {
		got := serve(h, tt.method, tt.target, nil)
		if got.code != tt.code || !strings.Contains(got.body, tt.want) || got.header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("%s %s = %d %s %q, want %d and %q", tt.method, tt.target, got.code, got.header.Get("Content-Type"), got.body, tt.code, tt.want)
		}
		if tt.code == 405 && got.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", tt.method, tt.target, got.header.Get("Allow"))
		}
	}
	if got := serve(h, http.MethodHead, "/reports/dora", nil); got.code != http.StatusOK {
		t.Errorf("HEAD = %d", got.code)
	}

	// Before the store is connected.
	down := &Handler{Open: func(time.Time) (Reports, error) { return nil, errors.New("store not connected") }}
	for _, target := range []string{"/", "/reports/flow?team=payments"} {
		if got := serve(down, http.MethodGet, target, nil); got.code != http.StatusServiceUnavailable || !strings.Contains(got.body, "store not connected") {
			t.Errorf("GET %s with the store down = %d %q, want 503 saying why", target, got.code, got.body)
		}
	}
	// A report that cannot be built is a server error, not half a page.
	broken := &Handler{Open: func(time.Time) (Reports, error) { return failingReports{&fakeReports{}}, nil }}
	if got := serve(broken, http.MethodGet, "/reports/flow", nil); got.code != http.StatusInternalServerError || !strings.Contains(got.body, "report flow: disk on fire") {
		t.Errorf("a failing report = %d %q", got.code, got.body)
	}
}

type failingReports struct{ *fakeReports }

func (failingReports) Write(context.Context, io.Writer, build.Request) error {
	return errors.New("disk on fire")
}

// TestIndexEscapes: team names are the config's text, written as text.
func TestIndexEscapes(t *testing.T) {
	page := serve(newHandler(&fakeReports{teams: []string{`<script>x</script>`}}, Credentials{}), http.MethodGet, "/", nil)
	if strings.Contains(page.body, "<script>") || !strings.Contains(page.body, "&lt;script&gt;x&lt;/script&gt;") ||
		!strings.Contains(page.body, `href="reports/dora?team=%3Cscript%3Ex%3C%2Fscript%3E"`) {
		t.Errorf("the team name is not escaped:\n%s", page.body)
	}
}

// TestMalformedQuery: a query that cannot be read is refused, not read as no
// parameters (which would be every team).
func TestMalformedQuery(t *testing.T) {
	h := newHandler(&fakeReports{teams: []string{"payments"}}, Credentials{})
	for _, target := range []string{"/reports/toil?team=%zz", "/reports/toil?team=payments;x"} {
		if page := serve(h, http.MethodGet, target, nil); page.code != http.StatusBadRequest || !strings.Contains(page.body, "the query cannot be read") {
			t.Errorf("GET %s = %d %q, want 400", target, page.code, page.body)
		}
	}
}

// blockingReports builds a report only once released, to hold pages in progress.
type blockingReports struct {
	*fakeReports
	started chan struct{}
	release chan struct{}
}

func (b blockingReports) Write(_ context.Context, w io.Writer, _ build.Request) error {
	b.started <- struct{}{}
	<-b.release
	return htmlpage.Write(w, htmlpage.Page{Title: "built"})
}

// TestBusy: while maxBuilding pages are being built, another is answered 503 at
// once, with Retry-After; once they are done, pages are built again.
func TestBusy(t *testing.T) {
	reports := blockingReports{&fakeReports{teams: []string{"payments"}}, make(chan struct{}), make(chan struct{})}
	h := &Handler{Open: func(time.Time) (Reports, error) { return reports, nil }, Now: func() time.Time { return now }}
	done := make(chan response, maxBuilding)
	for range maxBuilding {
		go func() { done <- serve(h, http.MethodGet, "/reports/dora?team=payments", nil) }()
		<-reports.started
	}
	busy := serve(h, http.MethodGet, "/reports/dora?team=payments", nil)
	if busy.code != http.StatusServiceUnavailable || busy.header.Get("Retry-After") == "" {
		t.Errorf("a page beyond %d in progress: %d %q, Retry-After %q", maxBuilding, busy.code, busy.body, busy.header.Get("Retry-After"))
	}
	close(reports.release)
	for range maxBuilding {
		if r := <-done; r.code != http.StatusOK {
			t.Errorf("a page in progress ended %d", r.code)
		}
	}
	go func() { <-reports.started }()
	if again := serve(h, http.MethodGet, "/reports/dora?team=payments", nil); again.code != http.StatusOK {
		t.Errorf("after the others: %d %q", again.code, again.body)
	}
}
