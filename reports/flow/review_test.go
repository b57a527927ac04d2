package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/reports/chart"
	"github.com/flowmeter/flowmeter/reports/render"
	"github.com/flowmeter/flowmeter/schema"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// item is a finished flow item fact, delivered when it was done.
func item(id, team, flowType, committed, done string, flow, active int64, statuses ...string) schema.FlowItemFact {
	return schema.FlowItemFact{Source: "jira", ID: id, Team: team, Project: strings.ToUpper(team), FlowType: flowType,
		Title: "Work on " + id, CommittedAt: at(committed), DoneAt: at(done), DeliveredAt: at(done),
		FlowSeconds: flow, ActiveSeconds: active, WaitSeconds: flow - active, DeliverySeconds: flow, TimePerStatus: statuses}
}

// reviewInput is the quarter 2026Q3 seen from 15 October (AsOf 1 October):
//
//   - pay, wall-clock: PAY-1 feature 6 → 8 Jul, flow 48h, active 12h, 36h in Code
//     Review, one pull request shipped; PAY-2 defect 3 → 13 Aug, flow 10 d, active
//     3 d, 7 d in Code Review, a title full of markup; PAY-3 committed 28 Sep, open.
//     In 2026Q2 PAY-0, feature, flow 4 d, active 2 d, and PAY-00, defect, flow 1 d,
//     active 8h. Nothing in 2025Q3.
//   - ops, calendar 09:00-17:00 on weekdays: OPS-1 risk Tue 14 Jul 09:00 → Wed
//     17:00, 16 working hours, 8h active, 8h Waiting. In 2025Q3 OPS-0, feature,
//     8 working hours, 2h active. Nothing in 2026Q2.
//   - idle: nothing at all.
func reviewInput() flow.ReviewInput {
	p1 := item("PAY-1", "pay", "feature", "2026-07-06 00:00", "2026-07-08 00:00", 172800, 43200, "In Progress=43200", "Code Review=129600")
	p1.PullRequests = []string{"pr-1"}
	p1.DeliveredAt, p1.DeliverySeconds = at("2026-07-07 12:00"), 129600
	p2 := item("PAY-2", "pay", "defect", "2026-08-03 00:00", "2026-08-13 00:00", 864000, 259200, "In Progress=259200", "Code Review=604800")
	p2.Title = `Fix <b>"quotes"</b> | *pipes* & [links](javascript:alert(1))`
	p3 := schema.FlowItemFact{Source: "jira", ID: "PAY-3", Team: "pay", Project: "PAY", FlowType: "feature",
		CommittedAt: at("2026-09-28 00:00"), FlowSeconds: schema.Unknown, ActiveSeconds: schema.Unknown,
		WaitSeconds: schema.Unknown, DeliverySeconds: schema.Unknown}
	p0 := item("PAY-0", "pay", "feature", "2026-04-06 00:00", "2026-04-10 00:00", 345600, 172800, "In Progress=172800", "Code Review=172800")
	p00 := item("PAY-00", "pay", "defect", "2026-05-04 00:00", "2026-05-05 00:00", 86400, 28800, "In Progress=28800", "Code Review=57600")
	o1 := item("OPS-1", "ops", "risk", "2026-07-14 09:00", "2026-07-15 17:00", 57600, 28800, "In Progress=28800", "Waiting=28800")
	o0 := item("OPS-0", "ops", "feature", "2025-07-15 09:00", "2025-07-15 17:00", 28800, 7200, "In Progress=7200", "Waiting=21600")
	o1.Calendar, o0.Calendar = "ops", "ops"
	cfg := &config.Config{
		Teams: []config.Team{
			{Name: "pay", TicketProjects: []string{"PAY"}},
			{Name: "ops", TicketProjects: []string{"OPS"}, Calendar: &config.Calendar{WorkingHours: "09:00-17:00"}},
			{Name: "idle"},
		},
		Flow: config.Flow{Projects: map[string]config.FlowProject{
			"PAY": {Statuses: map[string]string{"In Progress": "active", "Code Review": "wait", "Done": "done"}},
		}},
	}
	return flow.ReviewInput{
		Items: []schema.FlowItemFact{p1, p2, p3, p0, p00, o1, o0},
		Changes: []schema.ChangeFact{{Source: "github", ID: "pr-1", State: schema.ChangeShipped,
			FirstCommitAt: at("2026-07-06 02:00"), OpenedAt: at("2026-07-06 10:00"), ReadyAt: at("2026-07-06 10:00"),
			FirstReviewAt: at("2026-07-06 16:00"), MergedAt: at("2026-07-07 00:00"), ShippedAt: at("2026-07-07 12:00")}},
		Teams: []string{"pay", "ops", "idle"},
		From:  at("2026-07-01 00:00"), To: at("2026-10-01 00:00"), Now: at("2026-10-15 00:00"),
		Rules: flow.NewRules(cfg),
		URLs:  map[string]string{"PAY-1": "https://tracker.example/browse/PAY-1?x=1&y=2"},
		DORA: aggregate.Report{Teams: []aggregate.Team{{Name: "pay", Figures: aggregate.Figures{
			DeploymentFrequencyPerDay: aggregate.Some(0.25), LeadTimeSeconds: aggregate.Quantiles{P50: aggregate.Some(129600)},
			ChangeFailureRate: aggregate.Some(0.125), FailedDeploymentRecoverySeconds: aggregate.Quantiles{P50: aggregate.Some(5400)},
			Tiers: aggregate.Tiers{DeploymentFrequency: dora.High, LeadTime: dora.High, ChangeFailureRate: dora.Medium},
		}}}},
	}
}

func renderReview(t *testing.T, f render.Format) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, flow.BuildReview(reviewInput()), f); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestReviewGolden(t *testing.T) {
	golden(t, "review.md", []byte(renderReview(t, render.Markdown)))
	golden(t, "review.json", []byte(renderReview(t, render.JSON)))
	golden(t, "review.html", []byte(normaliseSpace(renderReview(t, render.HTML))))
}

// normaliseSpace drops the layout whitespace of HTML so that the golden file
// changes only with content: runs of white space become one, and none is kept
// between tags.
func normaliseSpace(s string) string {
	s = regexp.MustCompile(`\s+`).ReplaceAllString(s, " ")
	return strings.ReplaceAll(regexp.MustCompile(`> <`).ReplaceAllString(s, "><"), "><", ">\n<")
}

// TestReviewMarkdown checks the figures of the fixture worked out by hand, so the
// golden file cannot quietly hold wrong ones.
func TestReviewMarkdown(t *testing.T) {
	md := renderReview(t, render.Markdown)
	for _, want := range []string{
		"# Flow review 2026Q3\n",
		"- Compared with the previous window, 2026Q2: 2026-04-01 to 2026-07-01 (exclusive)\n",
		"- And with the same window a year earlier, 2025Q3: 2025-07-01 to 2025-10-01 (exclusive)\n",
		// pay: (12h + 3 d) / (2 d + 10 d) = 302400/1036800 = 7/24 = 29.2%; median of .25 and
		// .3 = 27.5%; 2026Q2 (2 d + 8h) / (4 d + 1 d) = 7/15 = 46.7%, median of .5 and 1/3 =
		// 41.7%; 7/24 − 7/15 = −17.5 points; 2025Q3 no data.
		"| 2026Q3 | 2 | 29.2% | 27.5% |  |\n",
		"| 2026Q2 (previous) | 2 | 46.7% | 41.7% | −17.5 points |\n",
		"| 2025Q3 (a year earlier) | 0 | — | — | — |\n",
		// Active 3.5 d (29.2%) and wait 8.5 d (70.8%); all of the wait in Code Review (36h + 7 d).
		"| active | 3.5 d | 29.2% |\n| wait | 8.5 d | 70.8% |\n",
		"| Code Review | 8.5 d | 2 | 100% |\n",
		// Flow times 2 d and 10 d: p50 6 d, p85 2 + .85·8 = 8.8 d, p95 2 + .95·8 = 9.6 d.
		"| all | 2 | 6.0 d | 8.8 d | 9.6 d | 29.2% | 0.2 |\n",
		"| 2–5 d | 1 |\n| 5–10 d | 0 |\n| 10–20 d | 1 |\n",
		"All flow types: p50 6 d, p85 8.8 d, p95 9.6 d.\n",
		// PAY-3 open since 28 September: 3 d at AsOf; both delivered, in 36h and 10 d: p50 5.75 d.
		"| open at the end | age p50 | delivered | done, not delivered | share of finished | time to delivery p50 |\n" +
			"| ---: | ---: | ---: | ---: | ---: | ---: |\n| 1 | 3.0 d | 2 | 0 | 0% | 5.8 d |\n",
		// Week of 6 July: PAY-1 loaded at 00:00 on 6 and 7 July, 2/7; week of 10 August:
		// PAY-2 on 10–12 August, 3/7, done on 13 August; the last week partial with PAY-3.
		"| 2026-W28 | 2026-07-06 | 0.3 | 1 |\n",
		"| 2026-W33 | 2026-08-10 | 0.4 | 1 |\n",
		"| 2026-W40 (partial) | 2026-09-28 | 1 | 0 |\n",
		// One feature and one defect, as in 2026Q2.
		"| feature | 50% | 50% | ±0 points |\n| defect | 50% | 50% | ±0 points |\n",
		// PAY-1 at .25 before PAY-2 at .3, with its link; PAY-2's title escaped.
		"| [PAY-1](<https://tracker.example/browse/PAY-1?x=1&y=2>) | Work on PAY-1 | feature | 2.0 d | 12h | 1.5 d | 25% |\n",
		`| PAY-2 | Fix \<b\>"quotes"\</b\> \| \*pipes\* & \[links\](javascript:alert(1)) | defect |`,
		// pr-1: committed 00:00, first commit 02:00, ready 10:00, review 16:00, merged 00:00,
		// shipped 12:00, done 8 July 00:00: 2h, 8h, 6h, 8h, 12h, 12h; work 16h of 48h.
		"1 of 2 finished items had shipped pull requests",
		"| commitment → coding | wait | 2h |\n| coding | work | 8h |\n| pickup | wait | 6h |\n| review | work | 8h |\n| deploy | wait | 12h |\n| to done | wait | 12h |\n",
		"| work, the sum of its medians |  | 16h |\n| wait, the sum of its medians |  | 32h |\n| work share of the sum |  | 33.3% |\n",
		"| pay | 0.25 | 1.5 d | 12.5% | 1h 30m | high | high | medium | — |\n",
		// Since 2026Q2: efficiency ×15/24 (−37.5%); flow time p50 2.5 d → 6 d (+140%);
		// velocity 2 in 13 weeks → 2 in 92/7 weeks (−1%); shares unchanged.
		"- Work waited longest in Code Review: 8.5 d in total across 2 items, 100% of all wait time.\n",
		"- Flow time p50 rose from 2.5 d to 6.0 d (+140%) since 2026Q2.\n",
		"- The slowest value-stream stage is deploy: a median of 12h (wall-clock) over 1 item with shipped pull requests.\n",
		// ops: working hours; (8h) / (16h) = 50% after 2h / 8h = 25% a year earlier.
		"## ops\n\nDurations: working hours of ops' calendar.\n",
		"| 2025Q3 (a year earlier) | 1 | 25% | 25% | +25 points |\n",
		"| all | 1 | 16h | 16h | 16h | 50% | 0.1 |\n",
		"| 0 | — | 1 | 0 | 0% | 16h |\n",
		"Flow times of the finished items, in working days of 8h (working hours of ops' calendar):",
		"- Flow efficiency rose from 25% to 50% (+25 points) since 2025Q3, a year earlier.\n",
		"None of the 1 finished item had linked pull requests that all shipped: there is no value-stream map.\n",
		"No DORA figures for ops in the window.\n",
		"## idle\n\nDurations: wall-clock.\n\nNo tickets were finished or in progress for idle in 2026Q3.\n",
		// The organisation: (302400 + 28800) / (1036800 + 57600) = 30.3%; 30.26 − 46.67 =
		// −16.4 points; 30.26 − 25 = +5.3 points.
		"## Organisation\n\nDurations: mixed: wall-clock and working hours of ops' calendar.\n",
		"sums, shares, percentiles and histogram bins that mix them are approximate.",
		"| 2026Q3 | 3 | 30.3% | 30% |  |\n| 2026Q2 (previous) | 2 | 46.7% | 41.7% | −16.4 points |\n| 2025Q3 (a year earlier) | 1 | 25% | 25% | +5.3 points |\n",
		// Code Review 204h of 204h + 8h of wait: 96.2%. Since 2026Q2 velocity 2/13 → 3 in
		// 92/7 weeks, ×273/184: +48%. A year earlier p50 8h (OPS-0) → 48h: +500%.
		"- Work waited longest in Code Review: 204h in total across 2 items, 96.2% of all wait time.\n",
		"- Velocity rose from 0.15 to 0.23 items a week (+48%) since 2026Q2.\n",
		"- Flow time p50 rose from 8h to 48h (+500%) since 2025Q3, a year earlier.\n",
		"| ops | OPS-1 | Work on OPS-1 | risk | 16h | 8h | 8h | 50% |\n",
		"The DORA report's rows of each team, side by side",
		"\n## How these figures are made\n\n",
		"Durations: pay: wall-clock; ops: working hours of ops' calendar; idle: wall-clock; Organisation: mixed: wall-clock and working hours of ops' calendar.\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	// Sections: each team, then the organisation, then how the figures are made.
	var order []int
	for _, h := range []string{"\n## pay\n", "\n## ops\n", "\n## idle\n", "\n## Organisation\n", "\n## How these figures are made\n"} {
		order = append(order, strings.Index(md, h))
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] < 0 || order[i] <= order[i-1] {
			t.Errorf("sections out of order: %v", order)
		}
	}
}

// TestPlainReportUnchanged: a review keeps the report's CSV rows and its JSON keys
// and values (TestGolden checks that a Review holding only its report writes the
// report as it always was).
func TestPlainReportUnchanged(t *testing.T) {
	rv := flow.BuildReview(reviewInput())
	var plainCSV, reviewCSV, plainJSON bytes.Buffer
	if err := WriteCSV(&plainCSV, rv.Current); err != nil {
		t.Fatal(err)
	}
	if err := Render(&reviewCSV, rv, render.CSV); err != nil {
		t.Fatal(err)
	}
	if plainCSV.String() != reviewCSV.String() {
		t.Error("the review's CSV differs from the report's")
	}
	if err := WriteJSON(&plainJSON, rv.Current); err != nil {
		t.Fatal(err)
	}
	var plain, review map[string]json.RawMessage
	if err := json.Unmarshal(plainJSON.Bytes(), &plain); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(renderReview(t, render.JSON)), &review); err != nil {
		t.Fatal(err)
	}
	for k, v := range plain {
		if !bytes.Equal(compact(t, v), compact(t, review[k])) {
			t.Errorf("review JSON key %q differs from the report's", k)
		}
	}
	for _, k := range []string{"previous", "year_earlier", "review"} {
		if _, ok := review[k]; !ok {
			t.Errorf("review JSON lacks %q", k)
		}
	}
	if err := Render(io.Discard, flow.Review{Current: rv.Current}, render.HTML); err == nil {
		t.Error("a report alone was written as an HTML review")
	}
}

func compact(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReviewCharts checks what each chart is given to draw (not how it is drawn).
// TestLoadWithoutFinished: a team with work in progress but nothing finished
// gets its load and no histogram, charts of flow time or least efficient items.
func TestLoadWithoutFinished(t *testing.T) {
	in := reviewInput()
	in.Items = append(in.Items, schema.FlowItemFact{Source: "jira", ID: "IDLE-1", Team: "idle", FlowType: "debt",
		CommittedAt: at("2026-09-30 00:00"), FlowSeconds: schema.Unknown, ActiveSeconds: schema.Unknown,
		WaitSeconds: schema.Unknown, DeliverySeconds: schema.Unknown})
	r := flow.BuildReview(in)
	var md, page bytes.Buffer
	if err := Render(&md, r, render.Markdown); err != nil {
		t.Fatal(err)
	}
	if err := Render(&page, r, render.HTML); err != nil {
		t.Fatal(err)
	}
	idleMD := md.String()[strings.Index(md.String(), "\n## idle\n"):strings.Index(md.String(), "\n## Organisation\n")]
	// IDLE-1 is loaded at 00:00 on 30 September: 1 of the 3 samples of the last week.
	if !strings.Contains(idleMD, "| 2026-W40 (partial) | 2026-09-28 | 0.3 | 0 |") || strings.Contains(idleMD, "Flow times of the finished items") ||
		strings.Contains(idleMD, "No tickets were finished") || strings.Contains(idleMD, "Least efficient") {
		t.Errorf("idle with load:\n%s", idleMD)
	}
	for _, want := range []string{"<title>idle: flow efficiency by window</title>", "<title>idle: load and velocity by week</title>"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	if strings.Contains(page.String(), "<title>idle: flow time histogram</title>") {
		t.Error("a histogram of no finished items")
	}
}

func TestReviewCharts(t *testing.T) {
	r := flow.BuildReview(reviewInput())
	n := namesOf(r)
	pay := reviewCharts(r.Teams[0], n)
	if len(pay) != 6 {
		t.Fatalf("pay has %d charts, want 6", len(pay))
	}
	// Efficiency of 2026Q3, 2026Q2 and 2025Q3 (no data): 7/24, 7/15; medians .275, 5/12.
	eff := pay[0].chart.(chart.Bars)
	checkSeries(t, "work-weighted", eff.Series[0].Values, []float64{700.0 / 24, 700.0 / 15, chart.NoData})
	checkSeries(t, "median", eff.Series[1].Values, []float64{27.5, 500.0 / 12, chart.NoData})
	// 302400 s active = 84h, 734400 s wait = 204h.
	aw := pay[1].chart.(chart.Stages)
	if aw.Unit != "hours" || aw.Stages[0].Value != 84 || aw.Stages[1].Value != 204 || aw.Stages[0].Wait || !aw.Stages[1].Wait {
		t.Errorf("active and wait %+v", aw)
	}
	// 2 d in bin 2, 10 d in bin 4; p50 6 d is 1/5 into [5,10), p85 8.8 d 3.8/5, p95 9.6 d 4.6/5.
	h := pay[2].chart.(chart.Histogram)
	var counts []float64
	for _, b := range h.Bins {
		counts = append(counts, float64(b.Count))
	}
	checkSeries(t, "histogram", counts, []float64{0, 0, 1, 0, 1, 0, 0, 0})
	if h.Bins[0].Label != "<1 d" || h.Bins[7].Label != "≥80 d" || len(h.Markers) != 3 || h.Markers[0].Label != "p50" {
		t.Errorf("histogram bins %+v markers %+v", h.Bins, h.Markers)
	}
	checkSeries(t, "markers", []float64{h.Markers[0].Position, h.Markers[1].Position, h.Markers[2].Position}, []float64{3.2, 3.76, 3.92})
	// 14 weeks, the first and last partial; the week of 6 July: load 2/7, 1 finished.
	weeks := pay[3].chart.(chart.Lines)
	if len(weeks.Labels) != 14 || weeks.Labels[0] != "W27*" || weeks.Labels[1] != "W28" || weeks.Labels[13] != "W40*" {
		t.Errorf("week labels %v", weeks.Labels)
	}
	checkSeries(t, "load", weeks.Series[0].Values[:2], []float64{0, 2.0 / 7})
	checkSeries(t, "finished", weeks.Series[1].Values[:2], []float64{0, 1})
	dist := pay[4].chart.(chart.Bars)
	checkSeries(t, "distribution now", dist.Series[0].Values, []float64{50, 50, 0, 0})
	checkSeries(t, "distribution before", dist.Series[1].Values, []float64{50, 50, 0, 0})
	// pr-1's stages in hours.
	vs := pay[5].chart.(chart.Stages)
	var hours []float64
	for _, s := range vs.Stages {
		hours = append(hours, s.Value)
	}
	checkSeries(t, "value stream", hours, []float64{2, 8, 6, 8, 12, 12})
	if !vs.Stages[0].Wait || vs.Stages[1].Wait || vs.Stages[3].Wait || !vs.Stages[5].Wait {
		t.Errorf("value-stream stages %+v", vs.Stages)
	}
	// ops: no pull requests, so no value-stream map; no 2026Q2 data, so no earlier shares.
	ops := reviewCharts(r.Teams[1], n)
	if len(ops) != 5 || ops[1].chart.(chart.Stages).Unit != "working hours" {
		t.Fatalf("ops charts %d", len(ops))
	}
	checkSeries(t, "ops distribution before", ops[4].chart.(chart.Bars).Series[1].Values, []float64{chart.NoData, chart.NoData, chart.NoData, chart.NoData})
}

func checkSeries(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || !math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("%s: %v, want %v", what, got, want)
			return
		}
	}
}

// TestFormats: each format the command may ask for writes the review.
func TestFormats(t *testing.T) {
	for _, name := range []string{"md", "json", "csv", "html"} {
		f, err := render.ParseFormat(name, Formats...)
		if err != nil {
			t.Fatal(err)
		}
		if out := renderReview(t, f); out == "" {
			t.Errorf("%s: nothing written", name)
		}
	}
}

func TestWindowName(t *testing.T) {
	for _, c := range []struct{ from, to, want string }{
		{"2026-07-01 00:00", "2026-10-01 00:00", "2026Q3"},
		{"2026-01-01 00:00", "2026-04-01 00:00", "2026Q1"},
		// Three months not starting a quarter, a month, a day: their days.
		{"2026-02-01 00:00", "2026-05-01 00:00", "2026-02-01 – 2026-04-30"},
		{"2026-06-01 00:00", "2026-07-01 00:00", "2026-06-01 – 2026-06-30"},
		{"2026-06-01 12:00", "2026-06-02 00:00", "2026-06-01T12:00:00Z to 2026-06-02T00:00:00Z (exclusive)"},
	} {
		if got := WindowName(at(c.from), at(c.to)); got != c.want {
			t.Errorf("WindowName(%s, %s) = %q, want %q", c.from, c.to, got, c.want)
		}
	}
}

// TestSentences writes each kind of observation; the numbers are the fields'.
func TestSentences(t *testing.T) {
	wall := flow.TeamReview{Name: "pay", Calendars: []string{""}}
	cal := flow.TeamReview{Name: "ops", Calendars: []string{"ops"}}
	n := windowNames{current: "2026Q3", previous: "2026Q2", yearEarlier: "2025Q3"}
	for _, c := range []struct {
		o    flow.Observation
		t    flow.TeamReview
		want string
	}{
		// 312h = 13 d; wall-clock in days, working hours in hours.
		{flow.Observation{Kind: flow.ObserveLargestWait, Subject: "Code Review", Seconds: 312 * 3600, Count: 45, Share: 0.38}, wall,
			"Work waited longest in Code Review: 13.0 d in total across 45 items, 38% of all wait time."},
		{flow.Observation{Kind: flow.ObserveLargestWait, Subject: "Blocked", Seconds: 312 * 3600, Count: 1, Share: 1}, cal,
			"Work waited longest in Blocked: 312h in total across 1 item, 100% of all wait time."},
		// .41 → .29: 12 points down, written with a minus sign.
		{flow.Observation{Kind: flow.ObserveChange, Subject: flow.FigureEfficiency, Was: 0.41, Now: 0.29}, wall,
			"Flow efficiency fell from 41% to 29% (−12 points) since 2026Q2."},
		// 3 d → 4.5 d is +50%.
		{flow.Observation{Kind: flow.ObserveChangeYear, Subject: flow.FigureFlowTimeP50, Was: 3 * 86400, Now: 4.5 * 86400}, wall,
			"Flow time p50 rose from 3.0 d to 4.5 d (+50%) since 2025Q3, a year earlier."},
		// 5 → 4 items a week is −20%.
		{flow.Observation{Kind: flow.ObserveChange, Subject: flow.FigureVelocity, Was: 5, Now: 4}, wall,
			"Velocity fell from 5 to 4 items a week (−20%) since 2026Q2."},
		{flow.Observation{Kind: flow.ObserveChange, Subject: flow.FigureDistribution, FlowType: "defect", Was: 0.1, Now: 0.25}, wall,
			"The defect share of finished items rose from 10% to 25% (+15 points) since 2026Q2."},
		{flow.Observation{Kind: flow.ObserveDoneNotDelivered, Count: 3, Of: 20, Share: 0.15}, wall,
			"3 of 20 finished items (15%) were done but not yet delivered at the end of the window: a linked pull request had not shipped by then."},
		{flow.Observation{Kind: flow.ObserveDoneNotDelivered, Count: 1, Of: 1, Share: 1}, wall,
			"1 of 1 finished item (100%) was done but not yet delivered at the end of the window: a linked pull request had not shipped by then."},
		// A value-stream stage is wall-clock, in hours, whatever the team's calendar.
		{flow.Observation{Kind: flow.ObserveSlowestStage, Subject: flow.StagePickup, Seconds: 30 * 3600, Count: 12}, cal,
			"The slowest value-stream stage is pickup: a median of 30h (wall-clock) over 12 items with shipped pull requests."},
		{flow.Observation{Kind: flow.ObserveUnmapped, Statuses: []string{"In QA", "Parked"}}, wall,
			"Statuses not in the mapping were counted under their tracker category: In QA, Parked."},
	} {
		if got := sentence(c.o, c.t, n); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.o.Kind, got, c.want)
		}
	}
}

func TestReviewHTML(t *testing.T) {
	page := renderReview(t, render.HTML)
	for _, want := range []string{
		"<title>Flow review 2026Q3</title>",
		`<meta name="color-scheme" content="light dark">`,
		// Every chart of pay, each an inline SVG with its title.
		"<title>pay: flow efficiency by window</title>",
		"<title>pay: active and wait time</title>",
		"<title>pay: flow time histogram</title>",
		"<title>pay: load and velocity by week</title>",
		"<title>pay: flow distribution</title>",
		"<title>pay: value-stream map</title>",
		"<title>Organisation: value-stream map</title>",
		`<p class="no-work">No tickets were finished or in progress for idle in 2026Q3.</p>`,
		// The tracker link, its query escaped for HTML; the title's markup as text.
		`<a href="https://tracker.example/browse/PAY-1?x=1&amp;y=2">PAY-1</a>`,
		"Fix &lt;b&gt;&#34;quotes&#34;&lt;/b&gt; | *pipes* &amp; [links](javascript:alert(1))",
		"Durations: working hours of ops&#39; calendar.",
		`<section id="how">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	// ops has no pull requests: no value-stream chart; idle has no chart at all.
	for _, absent := range []string{"<title>ops: value-stream map</title>", "<title>idle:", "<script", "<b>", "src=", "@import"} {
		if strings.Contains(page, absent) {
			t.Errorf("HTML holds %q", absent)
		}
	}
	// A chart's hatching refers to a pattern in the page (url(#id)); nothing else.
	if m := regexp.MustCompile(`url\([^#]`).FindString(page); m != "" {
		t.Errorf("HTML refers to something outside the page: %q", m)
	}
	// The only absolute URL is the tracker link a reader clicks.
	for _, m := range regexp.MustCompile(`https?://[^"'\s<)]+`).FindAllString(page, -1) {
		if !strings.HasPrefix(m, "https://tracker.example/") && m != "http://www.w3.org/2000/svg" {
			t.Errorf("HTML refers to %s", m)
		}
	}
}

// TestReviewHTMLNumbersAreTheJSONs: the figures the page prints are the JSON's,
// formatted: the cards, the key cells and the observations each equal a JSON
// figure written as the page writes it, and every figure cell is one of them.
func TestReviewHTMLNumbersAreTheJSONs(t *testing.T) {
	page := html.UnescapeString(renderReview(t, render.HTML))
	var doc struct {
		Review struct {
			Teams        []map[string]any `json:"teams"`
			Organisation map[string]any   `json:"organisation"`
		} `json:"review"`
	}
	if err := json.Unmarshal([]byte(renderReview(t, render.JSON)), &doc); err != nil {
		t.Fatal(err)
	}
	teams := append(doc.Review.Teams, doc.Review.Organisation)
	sections := regexp.MustCompile(`(?s)<section class="team" id="[^"]*">(.*?)</section>`).FindAllStringSubmatch(page, -1)
	if len(sections) != len(teams) {
		t.Fatalf("%d sections for %d reviews", len(sections), len(teams))
	}
	for i, team := range teams {
		sec, name := sections[i][1], team["team"].(string)
		if !strings.Contains(sec, "<h2>"+name+"</h2>") {
			t.Fatalf("section %d is not %s", i, name)
		}
		if team["no_work"].(bool) {
			if strings.Contains(sec, "<svg") || !strings.Contains(sec, noWorkSentence(name, "2026Q3")) {
				t.Errorf("%s: no work, but charts or no sentence", name)
			}
			continue
		}
		dur := render.Duration
		for _, c := range team["calendars"].([]any) {
			if c != "" {
				dur = render.Hours
			}
		}
		eff := team["efficiency"].(map[string]any)
		cards := regexp.MustCompile(`<div class="value">([^<]*)</div>\s*<div class="note">([^<]*)</div>`).FindAllStringSubmatch(sec, -1)
		if len(cards) != 4 {
			t.Fatalf("%s: %d cards", name, len(cards))
		}
		for j, w := range []string{"current", "previous", "year_earlier"} {
			if want := jsonPercent(eff[w].(map[string]any)["efficiency"]); cards[j][1] != want {
				t.Errorf("%s card %s = %q, JSON %q", name, w, cards[j][1], want)
			}
		}
		for j, k := range map[int]string{1: "change_vs_previous", 2: "change_vs_year_earlier"} {
			if v, ok := eff[k].(float64); ok && cards[j][2] != "now "+points(aggregate.Some(v)) {
				t.Errorf("%s card note %q, JSON %s %v", name, cards[j][2], k, v)
			}
		}
		if cards[3][1] != strconv.Itoa(int(team["finished"].(float64))) {
			t.Errorf("%s finished card %q, JSON %v", name, cards[3][1], team["finished"])
		}
		all := team["flow_time"].([]any)[0].(map[string]any)
		if row := tableAfter(sec, "Flow time by flow type")[1]; row[2] != jsonDuration(dur, all["p50_seconds"]) {
			t.Errorf("%s flow time p50 %q, JSON %v", name, row[2], all["p50_seconds"])
		}
		for j, w := range team["waits"].([]any) {
			if got, want := tableAfter(sec, "Where work waited")[j+1][3], jsonPercent(w.(map[string]any)["share"]); got != want {
				t.Errorf("%s wait share %q, JSON %q", name, got, want)
			}
		}
		for j, it := range team["worst_items"].([]any) {
			row := tableAfter(sec, "Least efficient items")[j+1]
			if got, want := row[len(row)-1], jsonPercent(it.(map[string]any)["efficiency"]); got != want {
				t.Errorf("%s item efficiency %q, JSON %q", name, got, want)
			}
		}
		vs := team["value_stream"].(map[string]any)
		if vs["mapped"].(float64) > 0 && !strings.Contains(sec, fmt.Sprintf("%v of %v finished", vs["mapped"], vs["finished"])) {
			t.Errorf("%s: mapped %v of %v not printed", name, vs["mapped"], vs["finished"])
		}
		for _, o := range team["observations"].([]any) {
			if text := o.(map[string]any)["text"].(string); !strings.Contains(sec, "<li>"+text+"</li>") {
				t.Errorf("%s: observation %q not printed", name, text)
			}
		}
		// Every figure the section prints is a JSON figure, formatted.
		known := formatted(team)
		for _, m := range regexp.MustCompile(`<td class="num">([^<]*)</td>|<div class="value">([^<]*)</div>`).FindAllStringSubmatch(sec, -1) {
			v := strings.TrimSpace(m[1] + m[2])
			if v != "" && v != render.Dash && v != "no data" && !known[v] {
				t.Errorf("%s prints %q, which is no figure of its JSON", name, v)
			}
		}
	}
}

func jsonPercent(v any) string {
	f, ok := v.(float64)
	if !ok {
		return "no data"
	}
	return render.Percent(aggregate.Some(f))
}

func jsonDuration(dur func(aggregate.Value) string, v any) string {
	f, ok := v.(float64)
	if !ok {
		return render.Dash
	}
	return dur(aggregate.Some(f))
}

// formatted is every number of a JSON value written each way the page writes
// figures.
func formatted(v any) map[string]bool {
	out := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case float64:
			a := aggregate.Some(x)
			for _, s := range []string{strconv.FormatFloat(x, 'f', -1, 64), render.Percent(a), render.Duration(a), render.Hours(a),
				render.Number(a, 1), render.Number(a, 2), points(a)} {
				out[s] = true
			}
		}
	}
	walk(v)
	return out
}

// tableAfter is the text of the cells of the table following a heading, row by row.
func tableAfter(section, heading string) [][]string {
	i := strings.Index(section, "<h3>"+heading+"</h3>")
	if i < 0 {
		return nil
	}
	rest := section[i:]
	rest = rest[:strings.Index(rest, "</table>")]
	var rows [][]string
	cell := regexp.MustCompile(`(?s)<t[dh][^>]*>(.*?)</t[dh]>`)
	tag := regexp.MustCompile(`<[^>]*>`)
	for _, r := range regexp.MustCompile(`(?s)<tr>(.*?)</tr>`).FindAllStringSubmatch(rest, -1) {
		var cells []string
		for _, c := range cell.FindAllStringSubmatch(r[1], -1) {
			cells = append(cells, strings.TrimSpace(tag.ReplaceAllString(c[1], "")))
		}
		rows = append(rows, cells)
	}
	return rows
}
