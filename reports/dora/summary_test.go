package dora

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	tiers "github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/reports/render"
)

func TestChangeOf(t *testing.T) {
	df, lead, cfr, recovery := fourKeys[0], fourKeys[1], fourKeys[2], fourKeys[3]
	some, none := aggregate.Some, aggregate.None()
	for _, tt := range []struct {
		name       string
		k          fourKey
		cur, prev  aggregate.Value
		want       string
		wantClass  string
		wantVerdit verdict
	}{
		// 0.5 - 0.1 = 0.4 more a day: better.
		{"more deploys", df, some(0.5), some(0.1), "▲ 0.4/day, better", "good", better},
		{"fewer deploys", df, some(0.1), some(0.5), "▼ 0.4/day, worse", "bad", worse},
		// 0.004 a day shows as 0 with two decimals.
		{"deploys within rounding", df, some(0.504), some(0.5), "no change", "same", same},
		// 3 days - 0.9 days = 2.1 days longer: worse.
		{"longer lead time", lead, some(3 * 86400), some(0.9 * 86400), "▲ 2.1 d, worse", "bad", worse},
		{"shorter lead time", lead, some(0.9 * 86400), some(3 * 86400), "▼ 2.1 d, better", "good", better},
		// 0.3 s rounds to 0s.
		{"lead time within rounding", lead, some(100.3), some(100), "no change", "same", same},
		// 20% - 16.8% = 3.2 percentage points more failures: worse.
		{"more failures", cfr, some(0.2), some(0.168), "▲ 3.2 points, worse", "bad", worse},
		{"fewer failures", cfr, some(0), some(0.25), "▼ 25 points, better", "good", better},
		// 1 h 30 m - 1 h = 30 m slower: worse.
		{"slower recovery", recovery, some(5400), some(3600), "▲ 30m, worse", "bad", worse},
		{"no previous figure", recovery, some(5400), none, "new", "", ""},
		{"no figure now", recovery, none, some(3600), "—", "", ""},
		{"neither", lead, none, none, "—", "", ""},
	} {
		c := changeOf(tt.k, tt.cur, tt.prev)
		if c.String() != tt.want || c.class() != tt.wantClass || c.verdict != tt.wantVerdit {
			t.Errorf("%s: %q (class %q, verdict %q), want %q (%q, %q)", tt.name, c, c.class(), c.verdict, tt.want, tt.wantClass, tt.wantVerdit)
		}
	}
}

// summaryRows reads the Markdown summary: per team, the cells of each key's row
// (key, this window, tier, previous window, change), or the team's sentence.
func summaryRows(t *testing.T, md string) (map[string][][]string, map[string]string) {
	t.Helper()
	start := strings.Index(md, "\n## Summary\n")
	if start < 0 {
		t.Fatalf("no summary in\n%s", md)
	}
	start += len("\n## Summary\n")
	end := start + strings.Index(md[start:], "\n## ")
	rows, sentences := map[string][][]string{}, map[string]string{}
	var team string
	for _, line := range strings.Split(md[start:end], "\n") {
		switch {
		case strings.HasPrefix(line, "### "):
			team = strings.TrimPrefix(line, "### ")
		case strings.HasPrefix(line, "| key ") || strings.HasPrefix(line, "| ---"):
		case strings.HasPrefix(line, "| "):
			cells := strings.Split(strings.Trim(line, "| "), " | ")
			rows[team] = append(rows[team], cells)
		case line != "" && team != "":
			sentences[team] = line
		}
	}
	return rows, sentences
}

func markdown(t *testing.T, rs Reports) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, rs); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestSummary checks the fixture's summary by hand. The previous window is May 4
// to Jun 1 (28 days, over by the fixture's now), the current one Jun 1 to Jun 29
// counted up to Jun 28 12:00 (27.5 days).
func TestSummary(t *testing.T) {
	rows, sentences := summaryRows(t, markdown(t, fixtureReports(false)))
	want := map[string][][]string{
		// payments deployed more and shipped slower:
		// - 10 deploys / 27.5 days = 0.3636/day, a deploy day in each week (high);
		//   before, d10 alone: 1/28 = 0.0357/day, a deploy day in May but in no
		//   median week (medium); 0.3636 - 0.0357 = 0.328 more a day, better.
		// - lead time p50 1.5 d (129600 s, high); before c6 alone, 1000 s = 17m
		//   (elite); 128600 s = 1.49 d longer, worse.
		// - 3 failed of 10 = 30% (low); before d10 of 1 = 100% (low); 70 points
		//   fewer, better.
		// - recovery p50 of 1 h and 2 h = 1h 30m (high); before d10's 1 h (high);
		//   30m slower, worse.
		"payments": {
			{"deployment frequency", "0.36/day, 1 deploy day/week", "high", "0.04/day, 0 deploy days/week (medium)", "▲ 0.33/day, better"},
			{"lead time (median)", "1.5 d", "high", "17m (elite)", "▲ 1.5 d, worse"},
			{"change failure rate", "30%", "low", "100% (low)", "▼ 70 points, better"},
			{"failed-deployment recovery (median)", "1h 30m", "high", "1h (high)", "▲ 30m, worse"},
		},
		// search: 12 deploys / 27.5 days = 0.436/day on 3 days of every week, once
		// each (high, not elite); in May nothing: 0/day and no tier, no lead time,
		// no failure rate: "new" where May has no figure; no recovery either time.
		"search": {
			{"deployment frequency", "0.44/day, 3 deploy days/week", "high", "0/day, 0 deploy days/week", "▲ 0.44/day, better"},
			{"lead time (median)", "1h", "elite", "—", "new"},
			{"change failure rate", "0%", "elite", "—", "new"},
			{"failed-deployment recovery (median)", "—", "—", "—", "—"},
		},
		// (no team): d50 on Jun 10 alone, 1/27.5 = 0.036/day, no deploy day in the
		// median week but one in June (medium); c50's 2 h (elite); 0 of 1 failed.
		// The previous window does not list it: every figure is new.
		"(no team)": {
			{"deployment frequency", "0.04/day, 0 deploy days/week", "medium", "—", "new"},
			{"lead time (median)", "2h", "elite", "—", "new"},
			{"change failure rate", "0%", "elite", "—", "new"},
			{"failed-deployment recovery (median)", "—", "—", "—", "—"},
		},
	}
	for team, w := range want {
		got := rows[team]
		if len(got) != len(w) {
			t.Errorf("%s: %d rows %v, want %d", team, len(got), got, len(w))
			continue
		}
		for i := range w {
			if strings.Join(got[i], " | ") != strings.Join(w[i], " | ") {
				t.Errorf("%s row %d:\n got %q\nwant %q", team, i, got[i], w[i])
			}
		}
	}
	// idle has nothing in either window: a sentence, no table.
	if _, ok := rows["idle"]; ok {
		t.Errorf("idle has a summary table: %v", rows["idle"])
	}
	if got := sentences["idle"]; got != "No deployments, changes or incidents in this window or the previous one." {
		t.Errorf("idle: %q", got)
	}
}

// TestSummaryAgreesWithJSON works every figure of the Markdown summary out from
// the JSON, with the same formatters: what the summary says is what the JSON holds.
func TestSummaryAgreesWithJSON(t *testing.T) {
	rs := fixtureReports(false)
	rows, _ := summaryRows(t, markdown(t, rs))
	doc := decode(t, rs)
	previous := map[string]map[string]any{}
	for _, tm := range doc["previous"].(map[string]any)["teams"].([]any) {
		previous[tm.(map[string]any)["team"].(string)] = tm.(map[string]any)
	}
	value := func(obj map[string]any, path ...string) aggregate.Value {
		if obj == nil {
			return aggregate.None()
		}
		for _, p := range path[:len(path)-1] {
			obj = obj[p].(map[string]any)
		}
		if f, ok := obj[path[len(path)-1]].(float64); ok {
			return aggregate.Some(f)
		}
		return aggregate.None()
	}
	tierOf := func(obj map[string]any, key string) string {
		if obj == nil {
			return ""
		}
		s, _ := obj["tiers"].(map[string]any)[key].(string)
		return s
	}
	frequency := func(obj map[string]any) string {
		perDayValue := value(obj, "deployment_frequency_per_day")
		if !perDayValue.Defined() {
			return render.Dash
		}
		return perDay(perDayValue.Float()) + ", " + deployDaysPerWeek(value(obj, "deploy_days_per_week_median"))
	}
	type key struct {
		path []string
		tier string
		show func(obj map[string]any) string
	}
	keys := []key{
		{[]string{"deployment_frequency_per_day"}, "deployment_frequency", frequency},
		{[]string{"lead_time_seconds", "p50"}, "lead_time", func(obj map[string]any) string {
			return render.Duration(value(obj, "lead_time_seconds", "p50"))
		}},
		{[]string{"change_failure_rate"}, "change_failure_rate", func(obj map[string]any) string {
			return render.Percent(value(obj, "change_failure_rate"))
		}},
		{[]string{"failed_deployment_recovery_seconds", "p50"}, "failed_deployment_recovery", func(obj map[string]any) string {
			return render.Duration(value(obj, "failed_deployment_recovery_seconds", "p50"))
		}},
	}
	checked := 0
	for _, tm := range doc["teams"].([]any) {
		cur := tm.(map[string]any)
		name := cur["team"].(string)
		prev := previous[name]
		got, ok := rows[name]
		if !ok {
			continue // a team with a sentence, checked in TestSummary
		}
		for i, k := range keys {
			prevCell := render.Dash
			if prev != nil {
				prevCell = k.show(prev)
				if tr := tierOf(prev, k.tier); tr != "" {
					prevCell += " (" + tr + ")"
				}
			}
			curTier := tierOf(cur, k.tier)
			if curTier == "" {
				curTier = render.Dash
			}
			want := []string{fourKeys[i].name, k.show(cur), curTier, prevCell,
				changeOf(fourKeys[i], value(cur, k.path...), value(prev, k.path...)).String()}
			if strings.Join(got[i], " | ") != strings.Join(want, " | ") {
				t.Errorf("%s, %s:\n got %q\nwant %q (from the JSON)", name, fourKeys[i].name, got[i], want)
			}
			checked++
		}
	}
	if checked != 3*4 {
		t.Errorf("checked %d keys, want 12 (payments, search, (no team))", checked)
	}
}

// TestQuietTeam: a team that deployed before the window but has nothing in it
// keeps its summary while the previous window has figures, and its tables give way
// to a sentence saying why it is graded low.
func TestQuietTeam(t *testing.T) {
	quietNow := aggregate.Team{Name: "ops", Figures: aggregate.Figures{
		DeploymentFrequencyPerDay: aggregate.Some(0), DeployDaysPerWeekMedian: aggregate.Some(0),
		Tiers: aggregate.Tiers{DeploymentFrequency: tiers.Low},
	}}
	quietNow.Services = []aggregate.Service{{Name: "api", Figures: quietNow.Figures}}
	before := aggregate.Team{Name: "ops", Figures: aggregate.Figures{
		Deployments: 2, DeploymentFrequencyPerDay: aggregate.Some(0.5), DeployDaysPerWeekMedian: aggregate.Some(2),
		Tiers: aggregate.Tiers{DeploymentFrequency: tiers.High},
	}}
	rs := fixtureReports(false)
	rs.Current.Teams, rs.Previous.Teams = []aggregate.Team{quietNow}, []aggregate.Team{before}
	md := markdown(t, rs)
	rows, _ := summaryRows(t, md)
	// 0 - 0.5 a day: 0.5 fewer, worse.
	want := "deployment frequency | 0/day, 0 deploy days/week | low | 0.5/day, 2 deploy days/week (high) | ▼ 0.5/day, worse"
	if got := rows["ops"]; len(got) != 4 || strings.Join(got[0], " | ") != want {
		t.Errorf("ops summary %q, want first row %q", got, want)
	}
	details := md[strings.Index(md, "\n## ops\n"):strings.Index(md, "\n## How these figures are made\n")]
	wantSentence := "No deployments, changes or incidents in the window. It deployed to production before the window, so its deployment frequency is low."
	if !strings.Contains(details, wantSentence) || strings.Contains(details, "| service") {
		t.Errorf("ops details:\n%s", details)
	}
}

// TestNoPreviousWindow: a report given no previous window shows no changes, and
// its JSON says previous is null.
func TestNoPreviousWindow(t *testing.T) {
	rs := Reports{Current: fixtureReports(false).Current}
	md := markdown(t, rs)
	if strings.Contains(md, "Compared with") {
		t.Errorf("a comparison without a previous window")
	}
	rows, sentences := summaryRows(t, md)
	if got := strings.Join(rows["payments"][0], " | "); got != "deployment frequency | 0.36/day, 1 deploy day/week | high | — | —" {
		t.Errorf("payments: %q", got)
	}
	if got := sentences["idle"]; got != "No deployments, changes or incidents in the window." {
		t.Errorf("idle: %q", got)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rs); err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got, ok := doc["previous"]; !ok || string(got) != "null" {
		t.Errorf("previous = %s, want null", got)
	}
}
