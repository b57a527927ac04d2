package toil

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/reports/browsertest"
	"github.com/flowmeter/flowmeter/reports/render"
	"github.com/flowmeter/flowmeter/schema"
)

// snakeReport is payments' toil in June 2026 as of the 15th at noon (14.5 days),
// aggregated from facts whose durations were chosen so that the categories' totals
// differ and one is not worth automating:
//
//   - migrations: 60 + 100000 + 60 = 100120 s; median 60 s; 3 entries are 75.517 a
//     year; budget 5 × 75.517 × 60 = 22655 s (6h 18m), less than 100120 s: not
//     worth automating;
//   - production_interrupts: 3600 + 7200 + 1800 = 12600 s; median 3600 s; budget
//     5 × 75.517 × 3600 = 1359310 s (15.7 d);
//   - business_processes: 1200 + 600 + 2400 + 300 = 4500 s; median of 300, 600,
//     1200, 2400 is 900 s; 4 entries are 100.69 a year; budget 453103 s (5.2 d).
func snakeReport() toil.Report {
	at := func(d, h, m int) time.Time { return time.Date(2026, 6, d, h, m, 0, 0, time.UTC) }
	fact := func(id, category, kind, who, title string, start time.Time, secs int64) schema.ToilFact {
		return schema.ToilFact{Source: "ops", ID: kind + ":" + id, Team: "payments", Category: category, Rule: category,
			Kind: kind, Record: id, Who: who, Title: title, StartedAt: start, Seconds: secs, Basis: "worklogs"}
	}
	facts := []schema.ToilFact{
		fact("M1", "migrations", "ticket", "ana", "Move db", at(2, 9, 0), 60),
		fact("M2", "migrations", "ticket", "bo", "Move <all> & more", at(3, 10, 0), 100000),
		fact("M3", "migrations", "ticket", "ana", "Move cache", at(4, 11, 15), 60),
		fact("P1", "production_interrupts", "incident", "ana", "API 5xx", at(5, 9, 0), 3600),
		fact("P2", "production_interrupts", "incident", "", "Queue stuck", at(6, 22, 0), 7200),
		fact("P3", "production_interrupts", "incident", "bo", "Disk full", at(9, 14, 5), 1800),
		fact("B1", "business_processes", "ticket", "cy", "Access request", at(4, 10, 0), 1200),
		fact("B2", "business_processes", "ticket", "cy", "Access request", at(5, 11, 0), 600),
		fact("B3", "business_processes", "ticket", "dee", "Quota", at(6, 12, 0), 2400),
		fact("B4", "business_processes", "ticket", "cy", "Access request", at(7, 8, 0), 300),
	}
	return toil.Aggregate(facts, []string{"payments"}, at(1, 0, 0), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), at(15, 12, 0))
}

func render1(t *testing.T, r toil.Report, f render.Format) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, r, f); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// normalise collapses runs of whitespace, so that the HTML golden file does not
// depend on the templates' line breaks.
func normalise(s string) string {
	return strings.TrimSpace(regexp.MustCompile(`\s+`).ReplaceAllString(s, " ")) + "\n"
}

func TestGoldenHTMLAndSVG(t *testing.T) {
	golden(t, "report.html", []byte(normalise(renderReport(t, render.HTML))))
	golden(t, "snake.svg", []byte(render1(t, snakeReport(), render.SVG)))
}

func TestSVGNeedsOneTeam(t *testing.T) {
	for _, teams := range []int{0, 3} {
		r := fixtureReport()
		r.Teams = r.Teams[:teams]
		err := Render(&bytes.Buffer{}, r, render.SVG)
		if !errors.Is(err, ErrOneTeam) || err.Error() != "--format svg draws one team's toil snake: give --team" {
			t.Errorf("%d teams: %v, want ErrOneTeam", teams, err)
		}
	}
}

// TestSnake checks the snake's structure: rows in the report's order, longest
// total first; segments in time order on one scale; tooltips that name who and
// when; the mark on the categories worth automating.
func TestSnake(t *testing.T) {
	svg := browsertest.ParseXML(t, render1(t, snakeReport(), render.SVG))
	if got := svg.First("title").Text(); got != "Toil snake of payments, 2026-06-01 to 2026-07-01 (exclusive)" {
		t.Errorf("title %q", got)
	}
	rows := svg.All("g", "row")
	wantRows := []struct {
		label  string
		values []float64
		marked bool
		note   string
	}{
		{"migrations", []float64{60, 100000, 60}, false, "3 entries · total 1.2 d · median 1m · budget 6h 18m"},
		{"production_interrupts", []float64{3600, 7200, 1800}, true, "3 entries · total 3h 30m · median 1h · budget 15.7 d"},
		{"business_processes", []float64{1200, 600, 2400, 300}, true, "4 entries · total 1h 15m · median 15m · budget 5.2 d"},
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("%d rows, want %d", len(rows), len(wantRows))
	}
	// The longest row, migrations (100120 s), spans the plot: its width per
	// second is the scale of every segment.
	widthOf := func(row *browsertest.Node) (sum float64) {
		for _, seg := range row.All("rect", "segment") {
			w, _ := strconv.ParseFloat(seg.Attr["width"], 64)
			sum += w
		}
		return sum
	}
	perUnit := widthOf(rows[0]) / 100120
	for i, row := range rows {
		want := wantRows[i]
		text := row.Text()
		if !strings.Contains(text, want.label) || !strings.Contains(text, want.note) {
			t.Errorf("row %d reads %q, want %s and %q", i, text, want.label, want.note)
		}
		if row.HasClass("marked") != want.marked || strings.Contains(text, "worth automating") != want.marked {
			t.Errorf("row %d (%s): marked %v, want %v", i, want.label, row.HasClass("marked"), want.marked)
		}
		segs := row.All("rect", "segment")
		if len(segs) != len(want.values) {
			t.Fatalf("row %d: %d segments, want %d", i, len(segs), len(want.values))
		}
		for j, seg := range segs {
			v, _ := strconv.ParseFloat(seg.Attr["data-value"], 64)
			w, _ := strconv.ParseFloat(seg.Attr["width"], 64)
			if v != want.values[j] {
				t.Errorf("row %d segment %d: value %v, want %v (time order)", i, j, v, want.values[j])
			}
			// One scale, within the rounding of coordinates.
			if math.Abs(w-v*perUnit) > 1 {
				t.Errorf("row %d segment %d: width %v, want %v on the scale of the others", i, j, w, v*perUnit)
			}
		}
	}
	// 3h 30m of production interrupts is 12600/100120 of the longest row.
	if got, want := widthOf(rows[1])/widthOf(rows[0]), 12600.0/100120; math.Abs(got-want) > 0.002 {
		t.Errorf("row lengths in ratio %v, want %v", got, want)
	}
	titles := []string{
		"ana · 2026-06-05 09:00 UTC · 1h · incident P1: API 5xx",
		"nobody named · 2026-06-06 22:00 UTC · 2h · incident P2: Queue stuck",
	}
	for j, want := range titles {
		if got := rows[1].All("rect", "segment")[j].First("title").Text(); got != want {
			t.Errorf("tooltip %q, want %q", got, want)
		}
	}
	if got := rows[0].All("rect", "segment")[1].First("title").Text(); got != "bo · 2026-06-03 10:00 UTC · 1.2 d · ticket M2: Move <all> & more" {
		t.Errorf("tooltip %q", got)
	}
}

// TestHTML reads the page as a reader would: a section per team with its summary,
// its snake and its tables; a sentence for the team without toil.
func TestHTML(t *testing.T) {
	doc := browsertest.ParseHTML(t, renderReport(t, render.HTML))
	if got := doc.First("h1").Text(); got != "Toil report" {
		t.Errorf("h1 %q", got)
	}
	if got := doc.First("p", "subtitle").Text(); !strings.Contains(got, "2026-06-01 to 2026-07-01 (exclusive)") || !strings.Contains(got, "as of 2026-06-15 12:00 UTC, 14.5 days elapsed") {
		t.Errorf("subtitle %q", got)
	}
	sections := doc.First("main").All("section")
	if len(sections) != 3 {
		t.Fatalf("%d sections, want alpha, beta and gamma", len(sections))
	}
	alpha, beta, gamma := sections[0], sections[1], sections[2]
	// alpha: 5400 + 1800 + 9000 + 900 + 300 = 17400 s = 4h 50m.
	if got := alpha.First("h2").Text(); got != "alpha" {
		t.Errorf("h2 %q", got)
	}
	if !strings.Contains(alpha.Text(), "5 entries · total toil time 4h 50m · 2026-06-01 to 2026-07-01 (exclusive)") {
		t.Error("alpha has no summary line")
	}
	if svg := alpha.First("svg"); svg == nil || svg.First("title").Text() != "Toil snake of alpha, 2026-06-01 to 2026-07-01 (exclusive)" {
		t.Error("alpha has no snake")
	}
	entries := alpha.First("table", "entries").First("tbody").All("tr")
	if len(entries) != 5 {
		t.Fatalf("alpha lists %d entries, want 5", len(entries))
	}
	cells := func(tr *browsertest.Node) []string {
		var out []string
		for _, td := range tr.All("td") {
			out = append(out, td.Text())
		}
		return out
	}
	if got := strings.Join(cells(entries[1]), " | "); got != "production_interrupts | bo | 2026-06-03 22:00 | 30m | alert | A7 | Disk | 90% | pages" {
		t.Errorf("second entry %q", got)
	}
	// Both of alpha's categories are worth automating: 23.6 d > 4h 30m, 1.7 d > 20m.
	for _, tr := range alpha.First("table", "categories").First("tbody").All("tr") {
		if !strings.Contains(tr.Text(), "★ worth automating") {
			t.Errorf("%s not marked", tr.Attr["data-category"])
		}
	}
	// beta's only category has no median, so no budget and no mark.
	if beta.First("svg") == nil || strings.Contains(beta.First("table", "categories").First("tbody").Text(), "worth automating") {
		t.Error("beta has no snake, or is marked without a budget")
	}
	if gamma.First("svg") != nil || gamma.First("table") != nil {
		t.Error("gamma, without toil, has a chart or a table")
	}
	if got := strings.TrimSpace(gamma.First("p").Text()); got != "No toil was recorded for gamma between 2026-06-01 00:00 and 2026-06-15 12:00 UTC." {
		t.Errorf("gamma says %q", got)
	}
	note := doc.First("main").Text()
	for _, want := range []string{"5 years × occurrences per year × median duration", `xkcd 1205 "Is It Worth the Time?"`, "★ worth automating when its automation budget is more than the time its entries took in the window"} {
		if !strings.Contains(strings.Join(strings.Fields(note), " "), want) {
			t.Errorf("the page does not explain %q", want)
		}
	}
}

func TestSpan(t *testing.T) {
	d := func(day, h int) time.Time { return time.Date(2026, 6, day, h, 0, 0, 0, time.UTC) }
	for _, tt := range []struct {
		from, asOf time.Time
		want       string
	}{
		{d(1, 0), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), "between 2026-06-01 and 2026-06-30"},
		{d(1, 0), d(15, 12), "between 2026-06-01 00:00 and 2026-06-15 12:00 UTC"},
		{d(1, 0), d(1, 0), "yet: the window begins 2026-06-01 00:00 UTC"},
	} {
		if got := span(tt.from, tt.asOf); got != tt.want {
			t.Errorf("span(%v, %v) = %q, want %q", tt.from, tt.asOf, got, tt.want)
		}
	}
}

// TestHTMLAgreesWithJSON: the figures on the page are those of the JSON report,
// category by category: the cells' <data value> equal the JSON numbers (null an
// empty value), and the text people read is the JSON number written as a
// duration.
func TestHTMLAgreesWithJSON(t *testing.T) {
	for _, r := range []toil.Report{fixtureReport(), snakeReport()} {
		var js struct {
			Teams []struct {
				Team       string `json:"team"`
				Categories []struct {
					Category string   `json:"category"`
					Entries  int      `json:"entries"`
					Seconds  float64  `json:"seconds"`
					Median   *float64 `json:"median_seconds"`
					PerYear  *float64 `json:"per_year"`
					Budget   *float64 `json:"automation_budget_seconds"`
				} `json:"categories"`
			} `json:"teams"`
		}
		if err := json.Unmarshal([]byte(render1(t, r, render.JSON)), &js); err != nil {
			t.Fatal(err)
		}
		sections := browsertest.ParseHTML(t, render1(t, r, render.HTML)).First("main").All("section")
		if len(sections) != len(js.Teams) {
			t.Fatalf("%d sections, %d teams in JSON", len(sections), len(js.Teams))
		}
		for i, team := range js.Teams {
			var rows []*browsertest.Node
			if table := sections[i].First("table", "categories"); table != nil {
				rows = table.First("tbody").All("tr")
			}
			if len(rows) != len(team.Categories) {
				t.Fatalf("%s: %d category rows, %d in JSON", team.Team, len(rows), len(team.Categories))
			}
			for j, c := range team.Categories {
				data := rows[j].All("data")
				if rows[j].Attr["data-category"] != c.Category || len(data) != 5 {
					t.Fatalf("%s row %d: %q with %d figures, want %s", team.Team, j, rows[j].Attr["data-category"], len(data), c.Category)
				}
				for k, want := range []*float64{ptr(float64(c.Entries)), ptr(c.Seconds), c.Median, c.PerYear, c.Budget} {
					got := data[k].Attr["value"]
					if want == nil {
						if got != "" || data[k].Text() != render.Dash {
							t.Errorf("%s %s figure %d: %q (%s), want undefined", team.Team, c.Category, k, got, data[k].Text())
						}
						continue
					}
					if f, err := strconv.ParseFloat(got, 64); err != nil || f != *want {
						t.Errorf("%s %s figure %d: %q, JSON %v", team.Team, c.Category, k, got, *want)
					}
					if k == 1 || k == 2 || k == 4 {
						if text := render.Duration(aggregate.Some(*want)); data[k].Text() != text {
							t.Errorf("%s %s figure %d reads %q, JSON's %v is %q", team.Team, c.Category, k, data[k].Text(), *want, text)
						}
					}
				}
			}
		}
	}
}

func ptr(f float64) *float64 { return &f }

// TestHTMLInBrowser loads the page in Chromium: it loads without errors, with
// its headings, a snake per team with toil, and the entries tables.
func TestHTMLInBrowser(t *testing.T) {
	browsertest.Chromium(t)
	path := filepath.Join(t.TempDir(), "toil.html")
	if err := os.WriteFile(path, []byte(renderReport(t, render.HTML)), 0o644); err != nil {
		t.Fatal(err)
	}
	page := browsertest.Load(t, path)
	for _, e := range page.Errors {
		t.Errorf("loading the page: %s", e)
	}
	doc := browsertest.ParseHTML(t, page.DOM)
	if h1 := doc.All("h1"); len(h1) != 1 || h1[0].Text() != "Toil report" {
		t.Errorf("h1 %v", h1)
	}
	var teams []string
	for _, h2 := range doc.All("h2") {
		teams = append(teams, h2.Text())
	}
	if strings.Join(teams, ",") != "alpha,beta,gamma" {
		t.Errorf("h2 %v, want one per team", teams)
	}
	// alpha and beta have toil (beta one entry of 0 s); gamma has none.
	if svgs := doc.All("svg"); len(svgs) != 2 {
		t.Errorf("%d charts, want 2", len(svgs))
	}
	if tables := doc.All("table", "entries"); len(tables) != 2 || len(tables[0].First("tbody").All("tr")) != 5 {
		t.Error("entries tables missing after load")
	}
}
