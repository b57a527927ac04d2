// Package toil renders the toil report, a window's toil per team and category
// (metrics/toil), as Markdown and an HTML page for people, each team's toil snake
// as SVG, and as JSON and CSV with stable keys for other tools. docs/reports.md documents every key; changing one is a breaking
// change. It follows the conventions of reports/dora: undefined figures are null in
// JSON, empty in CSV and "—" in Markdown.
package toil

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/reports/render"
	"github.com/flowmeter/flowmeter/schema"
)

// Render writes the report in the format: Markdown, JSON, CSV, HTML, or SVG for a
// report of one team (ErrOneTeam otherwise).
func Render(w io.Writer, r toil.Report, f render.Format) error {
	switch f {
	case render.HTML:
		return WriteHTML(w, r)
	case render.SVG:
		return WriteSVG(w, r)
	}
	return render.Write(w, r, f, WriteMarkdown, WriteJSON, WriteCSV)
}

// kinds lists the kinds of a category's entries: schema.ToilSources first, in their
// order, then any other by name.
func kinds(counts map[string]int) []string {
	var out, rest []string
	for _, k := range schema.ToilSources {
		if counts[k] > 0 {
			out = append(out, k)
		}
	}
	for k, n := range counts {
		if n > 0 && !slices.Contains(schema.ToilSources, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// --- JSON ---

type jsonReport struct {
	Window render.JSONWindow `json:"window"`
	Teams  []jsonTeam        `json:"teams"`
}

type jsonTeam struct {
	Team       string         `json:"team"`
	Entries    int            `json:"entries"`
	Seconds    int64          `json:"seconds"`
	Categories []jsonCategory `json:"categories"`
}

type jsonCategory struct {
	Category                string          `json:"category"`
	Entries                 int             `json:"entries"`
	Seconds                 int64           `json:"seconds"`
	MedianSeconds           aggregate.Value `json:"median_seconds"`
	PerYear                 aggregate.Value `json:"per_year"`
	AutomationBudgetSeconds aggregate.Value `json:"automation_budget_seconds"`
	Kinds                   map[string]int  `json:"kinds"`
	Items                   []jsonEntry     `json:"items"`
}

type jsonEntry struct {
	Ref       string    `json:"ref"`
	Kind      string    `json:"kind"`
	Record    string    `json:"record"`
	Who       string    `json:"who"`
	Title     string    `json:"title"`
	StartedAt time.Time `json:"started_at"`
	Seconds   int64     `json:"seconds"`
	Basis     string    `json:"basis"`
	Rule      string    `json:"rule"`
}

// round drops the floating-point noise of products and interpolations below the
// thousandth.
func round(v aggregate.Value) aggregate.Value {
	if f, ok := v.Get(); ok {
		return aggregate.Some(math.Round(f*1000) / 1000)
	}
	return v
}

// kindCounts has a count for every kind of schema.ToilSources, 0 when none, and
// for any other kind entries have.
func kindCounts(counts map[string]int) map[string]int {
	out := make(map[string]int, len(schema.ToilSources))
	for _, k := range schema.ToilSources {
		out[k] = 0
	}
	for k, n := range counts {
		out[k] = n
	}
	return out
}

// WriteJSON writes the report as one indented JSON document with the keys
// docs/reports.md lists; undefined figures are null, and each category lists its
// entries.
func WriteJSON(w io.Writer, r toil.Report) error {
	out := jsonReport{
		Window: render.WindowOf(r.From, r.To, r.AsOf),
		Teams:  []jsonTeam{},
	}
	for _, t := range r.Teams {
		jt := jsonTeam{Team: t.Name, Entries: t.Entries, Seconds: t.Seconds, Categories: []jsonCategory{}}
		for _, c := range t.Categories {
			jc := jsonCategory{
				Category: c.Category, Entries: c.Entries, Seconds: c.Seconds,
				MedianSeconds: round(c.Median), PerYear: round(c.PerYear), AutomationBudgetSeconds: round(c.AutomationBudget),
				Kinds: kindCounts(c.Kinds), Items: []jsonEntry{},
			}
			for _, e := range c.Items {
				jc.Items = append(jc.Items, jsonEntry{
					Ref: e.Ref, Kind: e.Kind, Record: e.Record, Who: e.Who, Title: e.Title,
					StartedAt: e.StartedAt.UTC(), Seconds: e.Seconds, Basis: e.Basis, Rule: e.Rule,
				})
			}
			jt.Categories = append(jt.Categories, jc)
		}
		out.Teams = append(out.Teams, jt)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// --- CSV ---

// CSVHeader is the CSV report's header row; its names are the JSON paths, so one
// documentation serves both. The kinds columns are one per schema.ToilSources kind.
func CSVHeader() []string {
	h := []string{
		"team", "window.from", "window.to", "window.as_of", "team_entries", "team_seconds",
		"category", "entries", "seconds", "median_seconds", "per_year", "automation_budget_seconds",
	}
	for _, k := range schema.ToilSources {
		h = append(h, "kinds."+k)
	}
	return h
}

// WriteCSV writes one row per team and category, in the report's order (longest
// total first), each with its team's totals; a team without toil has one row with
// an empty category. Undefined figures are empty cells. The entries themselves are
// in the JSON only.
func WriteCSV(w io.Writer, r toil.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader()); err != nil {
		return err
	}
	from, to, asOf := r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339), r.AsOf.UTC().Format(time.RFC3339)
	for _, t := range r.Teams {
		team := []string{t.Name, from, to, asOf, strconv.Itoa(t.Entries), strconv.FormatInt(t.Seconds, 10)}
		if len(t.Categories) == 0 {
			rec := append(slices.Clone(team), make([]string, 6+len(schema.ToilSources))...)
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		for _, c := range t.Categories {
			rec := append(slices.Clone(team), c.Category, strconv.Itoa(c.Entries), strconv.FormatInt(c.Seconds, 10),
				round(c.Median).String(), round(c.PerYear).String(), round(c.AutomationBudget).String())
			for _, k := range schema.ToilSources {
				rec = append(rec, strconv.Itoa(c.Kinds[k]))
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// --- Markdown ---

// legend quotes the definitions of docs/metrics.md, so a reader of the report
// alone knows what each column counts.
const legend = `**Toil** is manual, repetitive operations work: each incident, page that was no ` +
	`incident, toil ticket, manual deployment or rollback, and re-run of a failed deployment ` +
	`workflow that started in the window is one **entry**, sorted into a category by the first ` +
	`toil rule it matches (` + "`unclassified`" + ` when none does). Its time is measured as ` +
	`its basis says: acknowledged or opened to resolved for incidents, worklogs or active time ` +
	`for tickets, the run for deployments and re-runs; durations are wall-clock time (worklogs ` +
	`as logged), except a ticket measured by its active time (basis ` + "`active_time`" + `) in a ` +
	`team with a calendar, which counts the team's working hours, as its flow time does. Categories ` +
	`are listed by **total** time, longest first; the **median** is the median duration of ` +
	`their entries, and **per year** their entries scaled to a year (entries / days of the ` +
	`window up to as-of × 365). The **automation budget** = 5 years × occurrences per year × ` +
	`median duration, after xkcd 1205 "Is It Worth the Time?": how long automating the ` +
	`category may take before the automation costs more than the toil it saves over five ` +
	`years. "—" means there was no data for the figure.`

// WriteMarkdown writes the report for people: the window, a legend, a table of
// teams' totals, then each team's categories, longest total first.
func WriteMarkdown(w io.Writer, r toil.Report) error {
	var b strings.Builder
	b.WriteString("# Toil report\n\n")
	fmt.Fprintf(&b, "- Window: %s, %s days, UTC\n", render.Window(r.From, r.To), render.Trim(r.To.Sub(r.From).Hours()/24, 2))
	if r.AsOf.Before(r.To) {
		fmt.Fprintf(&b, "- As of %s UTC: %s days elapsed; occurrences per year are counted over those\n",
			r.AsOf.UTC().Format(render.TimeLayout), render.Trim(render.ElapsedDays(r.From, r.AsOf), 2))
	}
	b.WriteString("- Durations: wall-clock (worklogs as logged), except tickets timed by their active time in teams with a calendar: working hours\n")
	b.WriteString("\n" + legend + "\n\n")

	b.WriteString("## Teams\n\n")
	if len(r.Teams) == 0 {
		b.WriteString("No teams.\n")
	} else {
		b.WriteString("| team | entries | total |\n| --- | ---: | ---: |\n")
		for _, t := range r.Teams {
			fmt.Fprintf(&b, "| %s | %d | %s |\n", render.Escape(t.Name), t.Entries, render.Seconds(t.Seconds))
		}
	}
	for _, t := range r.Teams {
		fmt.Fprintf(&b, "\n## %s\n\n", render.Escape(t.Name))
		fmt.Fprintf(&b, "Entries: %d; total time: %s.\n\n", t.Entries, render.Seconds(t.Seconds))
		if len(t.Categories) == 0 {
			b.WriteString("No toil in the window.\n")
			continue
		}
		b.WriteString("| category | entries | total | median | per year | automation budget | kinds |\n")
		b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
		for _, c := range t.Categories {
			var ks []string
			for _, k := range kinds(c.Kinds) {
				ks = append(ks, fmt.Sprintf("%s %d", k, c.Kinds[k]))
			}
			kindText := render.Dash
			if len(ks) > 0 {
				kindText = strings.Join(ks, ", ")
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", render.Escape(c.Category), c.Entries, render.Seconds(c.Seconds),
				render.Duration(c.Median), render.Number(c.PerYear, 1), render.Duration(c.AutomationBudget), render.Escape(kindText))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
