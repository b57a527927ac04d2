package toil

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
	"github.com/flowmeter/flowmeter/metrics/toil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func day(d, h int) time.Time { return time.Date(2026, 6, d, h, 0, 0, 0, time.UTC) }

var some = aggregate.Some

// The window is 2026-06 up to the 15th at noon: 14.5 days.
const elapsed = 14.5

// fixtureReport is a hand-built report: alpha has two categories with every figure;
// beta one whose median and budget are undefined; gamma no toil at all.
func fixtureReport() toil.Report {
	perYear := func(n float64) float64 { return n / elapsed * 365 }
	return toil.Report{
		From: day(1, 0), To: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), AsOf: day(15, 12),
		Teams: []toil.Team{
			{
				Name: "alpha", Entries: 5, Seconds: 17400,
				Categories: []toil.Category{
					{
						Category: "production_interrupts", Entries: 3, Seconds: 16200,
						Median: some(5400), PerYear: some(perYear(3)), AutomationBudget: some(5 * perYear(3) * 5400),
						Kinds: map[string]int{"incident": 2, "alert": 1},
						Items: []toil.Entry{
							{Ref: "pagerduty:incident:P1", Kind: "incident", Record: "P1", Who: "ana", Title: "API 5xx", StartedAt: day(2, 9), Seconds: 5400, Basis: "acknowledged_to_resolved", Rule: "pages"},
							{Ref: "pagerduty:alert:A7", Kind: "alert", Record: "A7", Who: "bo", Title: "Disk | 90%", StartedAt: day(3, 22), Seconds: 1800, Basis: "acknowledged_to_resolved", Rule: "pages"},
							{Ref: "pagerduty:incident:P2", Kind: "incident", Record: "P2", Who: "ana", Title: "Queue stuck", StartedAt: day(9, 14), Seconds: 9000, Basis: "opened_to_resolved", Rule: "pages"},
						},
					},
					{
						Category: "release_shepherding", Entries: 2, Seconds: 1200,
						Median: some(600), PerYear: some(perYear(2)), AutomationBudget: some(5 * perYear(2) * 600),
						Kinds: map[string]int{"deployment": 1, "rerun": 1},
						Items: []toil.Entry{
							{Ref: "github:deployment:d9", Kind: "deployment", Record: "d9", Who: "cy", Title: "Manual deploy of api", StartedAt: day(4, 10), Seconds: 900, Basis: "deployment", Rule: "manual deploys"},
							{Ref: "github:rerun:r3", Kind: "rerun", Record: "r3", Who: "cy", Title: "Re-run deploy", StartedAt: day(5, 11), Seconds: 300, Basis: "rerun", Rule: "manual deploys"},
						},
					},
				},
			},
			{
				Name: "beta", Entries: 1, Seconds: 0,
				Categories: []toil.Category{{
					Category: "unclassified", Entries: 1, Seconds: 0,
					Median: aggregate.None(), PerYear: some(perYear(1)), AutomationBudget: aggregate.None(),
					Kinds: map[string]int{"ticket": 1},
					Items: []toil.Entry{{Ref: "jira:ticket:OPS-1", Kind: "ticket", Record: "OPS-1", Who: "", Title: "Rotate keys", StartedAt: day(6, 8), Basis: "worklogs"}},
				}},
			},
			{Name: "gamma"},
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
		t.Fatalf("%v (run 'go test ./reports/toil -update' to create it)", err)
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
	if err := Render(&buf, fixtureReport(), f); err != nil {
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

// TestMarkdown checks figures worked out by hand: 3 entries in 14.5 days are
// 75.5 a year, and 5 × 75.517 × 5400 s is 2,038,966 s, 23.6 days.
func TestMarkdown(t *testing.T) {
	md := renderReport(t, render.Markdown)
	for _, want := range []string{
		"- As of 2026-06-15 12:00 UTC: 14.5 days elapsed;",
		"- Durations: wall-clock",
		"5 years × occurrences per year × median duration, after xkcd 1205 \"Is It Worth the Time?\"",
		"| alpha | 5 | 4h 50m |\n",
		"| gamma | 0 | 0s |\n",
		"| production_interrupts | 3 | 4h 30m | 1h 30m | 75.5 | 23.6 d | incident 2, alert 1 |\n",
		"| release_shepherding | 2 | 20m | 10m | 50.3 | 1.7 d | deployment 1, rerun 1 |\n",
		"| unclassified | 1 | 0s | — | 25.2 | — | ticket 1 |\n",
		"## gamma\n\nEntries: 0; total time: 0s.\n\nNo toil in the window.\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	// Categories keep the report's order, longest total first.
	if strings.Index(md, "| production_interrupts") > strings.Index(md, "| release_shepherding") {
		t.Error("categories not in the report's order")
	}
}

func TestJSON(t *testing.T) {
	raw := renderReport(t, render.JSON)
	var doc struct {
		Teams []struct {
			Team       string `json:"team"`
			Categories []map[string]any
		} `json:"teams"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	wantCat := []string{"automation_budget_seconds", "category", "entries", "items", "kinds", "median_seconds", "per_year", "seconds"}
	wantEntry := []string{"basis", "kind", "record", "ref", "rule", "seconds", "started_at", "title", "who"}
	for _, team := range doc.Teams {
		for _, c := range team.Categories {
			if got := sortedKeys(c); !reflect.DeepEqual(got, wantCat) {
				t.Errorf("category keys %v, want %v", got, wantCat)
			}
			for _, e := range c["items"].([]any) {
				if got := sortedKeys(e.(map[string]any)); !reflect.DeepEqual(got, wantEntry) {
					t.Errorf("entry keys %v, want %v", got, wantEntry)
				}
			}
		}
	}
	pi := doc.Teams[0].Categories[0]
	if pi["automation_budget_seconds"] != 2038965.517 || pi["per_year"] != 75.517 {
		t.Errorf("production_interrupts budget %v, per year %v; want 2038965.517 and 75.517", pi["automation_budget_seconds"], pi["per_year"])
	}
	if k := pi["kinds"].(map[string]any); k["incident"] != 2.0 || k["ticket"] != 0.0 || len(k) != 5 {
		t.Errorf("kinds %v, want every kind with incident 2", k)
	}
	if first := pi["items"].([]any)[0].(map[string]any); first["ref"] != "pagerduty:incident:P1" || first["started_at"] != "2026-06-02T09:00:00Z" {
		t.Errorf("first entry %v", first)
	}
	un := doc.Teams[1].Categories[0]
	for _, k := range []string{"median_seconds", "automation_budget_seconds"} {
		if v, ok := un[k]; !ok || v != nil {
			t.Errorf("beta unclassified %s = %v (present %v), want null", k, v, ok)
		}
	}
	if doc.Teams[2].Categories == nil || len(doc.Teams[2].Categories) != 0 {
		t.Errorf("gamma categories %v, want []", doc.Teams[2].Categories)
	}

	// Round trip: undefined figures read back as nil, defined ones as written.
	var back struct {
		Teams []struct {
			Categories []struct {
				Median *float64 `json:"median_seconds"`
				Budget *float64 `json:"automation_budget_seconds"`
			} `json:"categories"`
		} `json:"teams"`
	}
	if err := json.Unmarshal([]byte(raw), &back); err != nil {
		t.Fatal(err)
	}
	if c := back.Teams[1].Categories[0]; c.Median != nil || c.Budget != nil {
		t.Error("beta's undefined figures read back as defined")
	}
	if c := back.Teams[0].Categories[1]; c.Median == nil || *c.Median != 600 {
		t.Errorf("release_shepherding median read back as %v, want 600", c.Median)
	}
}

// TestCSVHeader: the columns are a stable interface; this list changes only with
// docs/reports.md.
func TestCSVHeader(t *testing.T) {
	want := "team,window.from,window.to,window.as_of,team_entries,team_seconds,category,entries,seconds," +
		"median_seconds,per_year,automation_budget_seconds,kinds.incident,kinds.alert,kinds.ticket,kinds.deployment,kinds.rerun"
	if got := strings.Join(CSVHeader(), ","); got != want {
		t.Errorf("header\n%s\nwant\n%s", got, want)
	}
	rows, err := csv.NewReader(strings.NewReader(renderReport(t, render.CSV))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]string{
		{"alpha", "production_interrupts", "3", "16200", "5400", "75.517", "2038965.517", "2", "1", "0", "0", "0"},
		{"alpha", "release_shepherding", "2", "1200", "600", "50.345", "151034.483", "0", "0", "0", "1", "1"},
		{"beta", "unclassified", "1", "0", "", "25.172", "", "0", "0", "1", "0", "0"},
		{"gamma", "", "", "", "", "", "", "", "", "", "", ""},
	}
	if len(rows) != 1+len(wantRows) {
		t.Fatalf("%d rows, want %d", len(rows), 1+len(wantRows))
	}
	for i, w := range wantRows {
		got := append([]string{rows[i+1][0]}, rows[i+1][6:]...)
		if !reflect.DeepEqual(got, w) {
			t.Errorf("row %d: %q, want %q", i+1, got, w)
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
