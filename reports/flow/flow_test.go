package flow

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"github.com/flowmeter/flowmeter/reports/render"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/flow"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func day(d, h int) time.Time { return time.Date(2026, 6, d, h, 0, 0, 0, time.UTC) }

const hour, dayS = 3600.0, 86400.0

var some = aggregate.Some

// fixtureReport is a hand-built report: alpha counts working hours of its
// calendar and has figures of every kind; beta counts wall-clock time and has
// nothing finished, so most of its figures are undefined.
func fixtureReport() flow.Report {
	none := aggregate.None()
	return flow.Report{
		From: day(1, 0), To: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), AsOf: day(15, 12),
		Teams: []flow.Team{
			{
				Name: "alpha", Calendar: "alpha",
				Finished: 4, Canceled: 1, Reopened: 1,
				Efficiency: some(0.25), EfficiencyMedian: some(0.3),
				ActiveSeconds: 72000, FlowSeconds: 288000,
				All: flow.TypeFigures{
					FlowType: "all", Finished: 4,
					FlowTime:   aggregate.Quantiles{P50: some(3 * dayS), P85: some(4*dayS + 0.00000000003), P95: some(5 * dayS), Count: 4, Sum: 288000},
					Efficiency: some(0.25), VelocityPerWeek: some(4 / (14.5 / 7)), Distribution: some(1), Load: 3,
				},
				ByType: []flow.TypeFigures{
					{FlowType: "feature", Finished: 3, FlowTime: aggregate.Quantiles{P50: some(2 * dayS), P85: some(3 * dayS), P95: some(3 * dayS), Count: 3, Sum: 200000},
						Efficiency: some(0.2), VelocityPerWeek: some(3 / (14.5 / 7)), Distribution: some(0.75), Load: 2},
					{FlowType: "defect", Finished: 1, FlowTime: aggregate.Quantiles{P50: some(45), P85: some(45), P95: some(45), Count: 1, Sum: 45},
						Efficiency: some(1), VelocityPerWeek: some(1 / (14.5 / 7)), Distribution: some(0.25), Load: 1},
					{FlowType: "risk", VelocityPerWeek: some(0), Distribution: some(0)},
					{FlowType: "debt", VelocityPerWeek: some(0), Distribution: some(0)},
				},
				LoadDaily: []flow.LoadSample{
					{At: day(14, 0), Total: 2, ByType: map[string]int{"feature": 2}},
					{At: day(15, 0), Total: 3, ByType: map[string]int{"feature": 2, "defect": 1}},
				},
				OpenItems: 2,
				Age:       aggregate.Quantiles{P50: some(5 * hour), P85: some(20 * hour), P95: some(25 * hour), Count: 2, Sum: 6*hour + 5*hour},
				Waits: []flow.StatusWait{
					{Status: "Ready for review", Seconds: 2 * 86400, Items: 3},
					{Status: "Blocked | external", Seconds: 5400, Items: 1},
				},
				Delivered: 3, DoneNotDelivered: 1, DoneNotDeliveredShare: some(0.25),
				TimeToDelivery: aggregate.Quantiles{P50: some(4 * dayS), P85: some(5 * dayS), P95: some(6 * dayS), Count: 3, Sum: 15 * dayS},
				Unmapped:       []string{"In QA", "Parked"},
			},
			{
				Name:       "beta",
				Efficiency: none, EfficiencyMedian: none,
				All: flow.TypeFigures{FlowType: "all", VelocityPerWeek: some(0)},
				ByType: []flow.TypeFigures{
					{FlowType: "feature", VelocityPerWeek: some(0)}, {FlowType: "defect", VelocityPerWeek: some(0)},
					{FlowType: "risk", VelocityPerWeek: some(0)}, {FlowType: "debt", VelocityPerWeek: some(0)},
				},
				DoneNotDeliveredShare: none,
			},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run 'go test ./reports/flow -update' to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking the change):\n%s", name, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + w + "\ngot:  " + g
		}
	}
	return ""
}

func renderReport(t *testing.T, f render.Format) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, flow.Review{Current: fixtureReport()}, f); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		file   string
		format render.Format
	}{
		{"report.md", render.Markdown}, {"report.json", render.JSON}, {"report.csv", render.CSV},
	} {
		golden(t, tt.file, []byte(renderReport(t, tt.format)))
	}
}

// TestMarkdown checks the figures worked out by hand, so the golden file cannot
// quietly hold wrong ones.
func TestMarkdown(t *testing.T) {
	md := renderReport(t, render.Markdown)
	for _, want := range []string{
		"- Window: 2026-06-01 to 2026-07-01 (exclusive), 30 days, UTC\n",
		"- As of 2026-06-15 12:00 UTC: 14.5 days elapsed;",
		// alpha: 25% work-weighted, 30% median; flow time 3 d, 4 d (noise dropped), 5 d;
		// 4 items in 14.5/7 weeks = 1.93 a week; age p50 5h; delivery p50 4 d.
		"| alpha | working hours of alpha's calendar | 4 | 1 | 1 | 25% | 30% | 72h | 96h | 120h | 1.9 | 3 | 2 | 5h | 3 | 1 | 96h |\n",
		"| beta | wall-clock | 0 | 0 | 0 | — | — | — | — | — | 0 | 0 | 0 | — | 0 | 0 | — |\n",
		"Durations: working hours of alpha's calendar.\n",
		"Durations: wall-clock.\n",
		"**Warning:** statuses not in the mapping, counted under their category: In QA, Parked.\n",
		"| defect | 1 | 25% | 45s | 45s | 45s | 100% | 0.5 | 1 |\n",
		"- Load at 2026-06-15 00:00 UTC (latest daily sample): 3 (feature 2, defect 1)\n",
		"- Open items: 2; age p50 5h, p85 20h, p95 25h\n",
		"- Delivered: 3; done, not delivered: 1 (25% of finished); time to delivery p50 96h, p85 120h, p95 144h\n",
		"| Ready for review | 48h | 3 |\n",
		`| Blocked \| external | 1h 30m | 1 |` + "\n",
		"flow time** = its last entry into done − its commitment point, its first entry into wait or active",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	// beta has nothing unmapped: one warning, alpha's.
	if n := strings.Count(md, "not in the mapping"); n != 1 {
		t.Errorf("%d warnings of unmapped statuses, want 1", n)
	}
}

// TestJSON: every key documented, undefined figures null, and the document reads
// back into the same values.
func TestJSON(t *testing.T) {
	raw := renderReport(t, render.JSON)
	var doc struct {
		Window map[string]any   `json:"window"`
		Teams  []map[string]any `json:"teams"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Window["elapsed_days"]; got != 14.5 {
		t.Errorf("elapsed_days %v, want 14.5", got)
	}
	wantKeys := []string{
		"active_seconds", "age_seconds", "all", "calendar", "canceled", "delivered", "done_not_delivered",
		"done_not_delivered_share", "durations", "efficiency", "efficiency_median", "finished", "flow_seconds",
		"flow_types", "load_daily", "open_items", "reopened", "team", "time_to_delivery_seconds", "unmapped", "waits",
	}
	for _, team := range doc.Teams {
		if got := sortedKeys(team); !reflect.DeepEqual(got, wantKeys) {
			t.Errorf("team keys %v, want %v", got, wantKeys)
		}
	}
	alpha, beta := doc.Teams[0], doc.Teams[1]
	if alpha["efficiency"] != 0.25 || alpha["durations"] != "working hours of alpha's calendar" {
		t.Errorf("alpha efficiency %v, durations %v", alpha["efficiency"], alpha["durations"])
	}
	if p85 := alpha["all"].(map[string]any)["flow_time_seconds"].(map[string]any)["p85"]; p85 != 4*dayS {
		t.Errorf("alpha flow time p85 %v, want %v (rounded to the millisecond)", p85, 4*dayS)
	}
	for _, k := range []string{"efficiency", "efficiency_median", "done_not_delivered_share"} {
		if v, ok := beta[k]; !ok || v != nil {
			t.Errorf("beta %s = %v (present %v), want null", k, v, ok)
		}
	}
	q := beta["age_seconds"].(map[string]any)
	if q["p50"] != nil || q["count"] != 0.0 {
		t.Errorf("beta age_seconds %v, want null quantiles and count 0", q)
	}
	if beta["durations"] != "wall-clock" || beta["calendar"] != "" {
		t.Errorf("beta durations %v calendar %v", beta["durations"], beta["calendar"])
	}
	if l := alpha["load_daily"].([]any); len(l) != 2 || l[1].(map[string]any)["by_type"].(map[string]any)["defect"] != 1.0 {
		t.Errorf("alpha load_daily %v", l)
	}

	// Round trip: read back, undefined figures are nil and defined ones their value.
	var back struct {
		Teams []struct {
			Efficiency            *float64 `json:"efficiency"`
			DoneNotDeliveredShare *float64 `json:"done_not_delivered_share"`
			All                   struct {
				FlowTimeSeconds struct{ P50, P95 *float64 } `json:"flow_time_seconds"`
			} `json:"all"`
		} `json:"teams"`
	}
	if err := json.Unmarshal([]byte(raw), &back); err != nil {
		t.Fatal(err)
	}
	if back.Teams[1].Efficiency != nil || back.Teams[1].DoneNotDeliveredShare != nil || back.Teams[1].All.FlowTimeSeconds.P50 != nil {
		t.Error("beta's undefined figures read back as defined")
	}
	if e, p95 := back.Teams[0].Efficiency, back.Teams[0].All.FlowTimeSeconds.P95; e == nil || *e != 0.25 || p95 == nil || *p95 != 5*dayS {
		t.Errorf("alpha efficiency %v, flow time p95 %v, want 0.25 and 432000", e, p95)
	}
}

// TestCSVHeader: the columns are a stable interface; this list changes only with
// docs/reports.md.
func TestCSVHeader(t *testing.T) {
	want := "level,team,flow_type,window.from,window.to,window.as_of,calendar,durations,finished,canceled,reopened," +
		"efficiency,efficiency_median,active_seconds,flow_seconds," +
		"flow_time_seconds.p50,flow_time_seconds.p85,flow_time_seconds.p95,flow_time_seconds.count,flow_time_seconds.sum," +
		"velocity_per_week,distribution,load,open_items," +
		"age_seconds.p50,age_seconds.p85,age_seconds.p95,age_seconds.count,age_seconds.sum," +
		"delivered,done_not_delivered,done_not_delivered_share," +
		"time_to_delivery_seconds.p50,time_to_delivery_seconds.p85,time_to_delivery_seconds.p95,time_to_delivery_seconds.count,time_to_delivery_seconds.sum," +
		"unmapped"
	if got := strings.Join(CSVHeader(), ","); got != want {
		t.Errorf("header\n%s\nwant\n%s", got, want)
	}
	rows, err := csv.NewReader(strings.NewReader(renderReport(t, render.CSV))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+2*5 {
		t.Fatalf("%d rows, want a header and 5 per team", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	alpha, beta, defect := rows[1], rows[6], rows[3]
	for _, c := range []struct {
		row        []string
		name, want string
	}{
		{alpha, "level", "team"}, {alpha, "flow_type", "all"}, {alpha, "durations", "working hours of alpha's calendar"},
		{alpha, "efficiency", "0.25"}, {alpha, "flow_time_seconds.p85", "345600"}, {alpha, "unmapped", "In QA;Parked"},
		{defect, "level", "flow_type"}, {defect, "flow_type", "defect"}, {defect, "efficiency", "1"}, {defect, "canceled", ""}, {defect, "durations", "working hours of alpha's calendar"},
		{beta, "durations", "wall-clock"}, {beta, "efficiency", ""}, {beta, "age_seconds.p50", ""}, {beta, "age_seconds.count", "0"},
	} {
		if got := c.row[col[c.name]]; got != c.want {
			t.Errorf("%s row %s = %q, want %q", c.row[1]+"/"+c.row[2], c.name, got, c.want)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
