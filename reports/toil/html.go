package toil

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/reports/chart"
	"github.com/flowmeter/flowmeter/reports/htmlpage"
	"github.com/flowmeter/flowmeter/reports/render"
)

// ErrOneTeam is the error of --format svg for a report of more or fewer teams than
// one: a toil snake is one team's.
var ErrOneTeam = errors.New("--format svg draws one team's toil snake: give --team")

// WriteSVG writes the toil snake of the report's only team as an SVG file of its
// own; a report of any other number of teams is ErrOneTeam.
func WriteSVG(w io.Writer, r toil.Report) error {
	if len(r.Teams) != 1 {
		return ErrOneTeam
	}
	_, err := w.Write(chart.Standalone(snake(r, r.Teams[0]).SVG()))
	return err
}

// snake is a team's toil snake: a row per category in the report's order
// (longest total first), a segment per entry in time order.
func snake(r toil.Report, t toil.Team) chart.Snake {
	s := chart.Snake{
		Title:  "Toil snake of " + t.Name + ", " + render.Window(r.From, r.To),
		Unit:   "s",
		Format: func(v float64) string { return render.Duration(aggregate.Some(v)) },
	}
	for _, c := range t.Categories {
		row := chart.SnakeRow{Label: c.Category, Note: categoryNote(c), Marked: worthAutomating(c)}
		for _, e := range c.Items {
			row.Segments = append(row.Segments, chart.Segment{Value: float64(e.Seconds), Title: entryTitle(e)})
		}
		s.Rows = append(s.Rows, row)
	}
	return s
}

// worthAutomating reports whether a category's automation budget exceeds the
// time its entries took in the window: automating it would pay back within five
// years even if it cost as much as the window's toil.
func worthAutomating(c toil.Category) bool {
	budget, ok := c.AutomationBudget.Get()
	return ok && budget > float64(c.Seconds)
}

// categoryNote is what the snake writes under a row: "3 entries · total 4h 30m ·
// median 1h 30m · budget 23.6 d".
func categoryNote(c toil.Category) string {
	return fmt.Sprintf("%s · total %s · median %s · budget %s", plural(c.Entries, "entry", "entries"),
		render.Seconds(c.Seconds), render.Duration(c.Median), render.Duration(c.AutomationBudget))
}

// entryTitle is a segment's tooltip, who and when first: "ana · 2026-06-02 09:00
// UTC · 1h 30m · incident P1: API 5xx".
func entryTitle(e toil.Entry) string {
	what := e.Kind + " " + e.Record
	if e.Title != "" {
		what += ": " + e.Title
	}
	return strings.Join([]string{who(e), e.StartedAt.UTC().Format(render.TimeLayout) + " UTC", render.Seconds(e.Seconds), what}, " · ")
}

// who names the person of an entry, or says nobody is named (incident and
// deployment records name no one).
func who(e toil.Entry) string {
	if e.Who == "" {
		return "nobody named"
	}
	return e.Who
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// --- HTML ---

// WriteHTML writes the report as one self-contained HTML page: per team its
// summary, its toil snake, its categories and its entries.
func WriteHTML(w io.Writer, r toil.Report) error {
	p, err := Page(r)
	if err != nil {
		return err
	}
	return htmlpage.Write(w, p)
}

// Page is the HTML report as a page, for a caller that adds navigation before
// writing it with htmlpage.Write.
func Page(r toil.Report) (htmlpage.Page, error) {
	var body strings.Builder
	if err := pageBody.Execute(&body, htmlView(r)); err != nil {
		return htmlpage.Page{}, err
	}
	subtitle := render.Window(r.From, r.To) + ", UTC"
	if r.AsOf.Before(r.To) {
		subtitle += fmt.Sprintf(" · as of %s UTC, %s days elapsed", r.AsOf.UTC().Format(render.TimeLayout), render.Trim(render.ElapsedDays(r.From, r.AsOf), 2))
	}
	return htmlpage.Page{
		Title:    "Toil report",
		Subtitle: subtitle,
		Body:     template.HTML(body.String()),
		Footer:   "Toil entries that started in the window up to its as-of time, from the toil facts flowmeter derived; durations in whole seconds.",
	}, nil
}

type htmlReport struct {
	Legend template.HTML
	Teams  []htmlTeam
}

type htmlTeam struct {
	ID, Name   string
	Entries    int
	Total      string
	Span       string // over what toil was counted, for the sentence of a team without toil
	Window     string
	Snake      template.HTML
	Categories []htmlCategory
	Items      []htmlEntry
}

// htmlCategory holds each figure as people read it and, in the cell's <data
// value>, as JSON writes it, so that a tool (and the tests) read the numbers.
type htmlCategory struct {
	Name                             string
	Entries                          int
	Seconds, Median, PerYear, Budget htmlFigure
	Worth                            bool
	Kinds                            string
}

type htmlFigure struct {
	Text, Value string
}

type htmlEntry struct {
	Category, Who, When, Duration, Kind, Record, Title, Rule, Ref string
	Seconds                                                       int64
}

func htmlView(r toil.Report) htmlReport {
	view := htmlReport{Legend: markdownInline(legend)}
	for i, t := range r.Teams {
		ht := htmlTeam{
			ID: "team-" + strconv.Itoa(i+1), Name: t.Name, Entries: t.Entries, Total: render.Seconds(t.Seconds),
			Window: render.Window(r.From, r.To), Span: span(r.From, r.AsOf),
		}
		if len(t.Categories) > 0 {
			ht.Snake = snake(r, t).SVG()
		}
		for _, c := range t.Categories {
			ht.Categories = append(ht.Categories, htmlCategory{
				Name: c.Category, Entries: c.Entries,
				Seconds: htmlFigure{render.Seconds(c.Seconds), strconv.FormatInt(c.Seconds, 10)},
				Median:  htmlFigure{render.Duration(c.Median), round(c.Median).String()},
				PerYear: htmlFigure{render.Number(c.PerYear, 1), round(c.PerYear).String()},
				Budget:  htmlFigure{render.Duration(c.AutomationBudget), round(c.AutomationBudget).String()},
				Worth:   worthAutomating(c), Kinds: kindList(c.Kinds),
			})
			for _, e := range c.Items {
				ht.Items = append(ht.Items, htmlEntry{
					Category: c.Category, Who: orDash(e.Who), When: e.StartedAt.UTC().Format(render.TimeLayout),
					Duration: render.Seconds(e.Seconds), Seconds: e.Seconds, Kind: e.Kind, Record: e.Record,
					Title: orDash(e.Title), Rule: orDash(e.Rule), Ref: e.Ref,
				})
			}
		}
		view.Teams = append(view.Teams, ht)
	}
	return view
}

// span says over which part of the window toil was counted: "between 2026-06-01
// and 2026-06-30" for whole days, else between instants in UTC.
func span(from, asOf time.Time) string {
	from, asOf = from.UTC(), asOf.UTC()
	switch {
	case !asOf.After(from):
		return "yet: the window begins " + from.Format(render.TimeLayout) + " UTC"
	case midnight(from) && midnight(asOf):
		return "between " + from.Format(time.DateOnly) + " and " + asOf.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return "between " + from.Format(render.TimeLayout) + " and " + asOf.Format(render.TimeLayout) + " UTC"
}

func midnight(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

func orDash(s string) string {
	if s == "" {
		return render.Dash
	}
	return s
}

// kindList writes a category's kinds as the Markdown does: "incident 2, alert 1".
func kindList(counts map[string]int) string {
	var ks []string
	for _, k := range kinds(counts) {
		ks = append(ks, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return orDash(strings.Join(ks, ", "))
}

// markdownInline turns the Markdown legend into HTML: the text escaped, then
// **bold** and `code` made elements, so that both formats define the figures in
// the same words.
func markdownInline(md string) template.HTML {
	s := template.HTMLEscapeString(md)
	for _, m := range []struct{ mark, open, close string }{{"**", "<strong>", "</strong>"}, {"`", "<code>", "</code>"}} {
		parts := strings.Split(s, m.mark)
		var b strings.Builder
		for i, p := range parts {
			if i > 0 {
				if i%2 == 1 {
					b.WriteString(m.open)
				} else {
					b.WriteString(m.close)
				}
			}
			b.WriteString(p)
		}
		s = b.String()
	}
	return template.HTML(s)
}

var pageBody = template.Must(template.New("toil").Parse(`<p class="note">{{.Legend}}</p>
<p class="note">Each team's <strong>toil snake</strong> has a row per category, longest total first. A row
chains the category's entries in time order, each segment as long as the entry, on one scale
for every row; a segment's tooltip says who and when, and the entries table lists them all. A
category is <span class="mark">★ worth automating</span> when its automation budget is more than
the time its entries took in the window: automation that cost as much as this window's toil
would still pay for itself within five years.</p>
{{if not .Teams}}<p>No teams.</p>
{{end}}{{if gt (len .Teams) 1}}<table class="teams">
<caption>Teams</caption>
<thead><tr><th>team</th><th class="num">entries</th><th class="num">total</th></tr></thead>
<tbody>
{{range .Teams}}<tr><td><a href="#{{.ID}}">{{.Name}}</a></td><td class="num">{{.Entries}}</td><td class="num">{{.Total}}</td></tr>
{{end}}</tbody>
</table>
{{end}}{{range .Teams}}<section id="{{.ID}}">
<h2>{{.Name}}</h2>
{{if .Categories}}<p>{{.Entries}} {{if eq .Entries 1}}entry{{else}}entries{{end}} · total toil time {{.Total}} · {{.Window}}</p>
<figure>
{{.Snake}}
<figcaption>The toil snake of {{.Name}}: one row per category, one segment per entry.</figcaption>
</figure>
<div class="scroll">
<table class="categories">
<caption>Categories of {{.Name}}, longest total first</caption>
<thead><tr><th>category</th><th class="num">entries</th><th class="num">total</th><th class="num">median</th><th class="num">per year</th><th class="num">automation budget</th><th>worth automating</th><th>kinds</th></tr></thead>
<tbody>
{{range .Categories}}<tr data-category="{{.Name}}"><td>{{.Name}}</td><td class="num"><data value="{{.Entries}}">{{.Entries}}</data></td><td class="num"><data value="{{.Seconds.Value}}">{{.Seconds.Text}}</data></td><td class="num"><data value="{{.Median.Value}}">{{.Median.Text}}</data></td><td class="num"><data value="{{.PerYear.Value}}">{{.PerYear.Text}}</data></td><td class="num"><data value="{{.Budget.Value}}">{{.Budget.Text}}</data></td><td>{{if .Worth}}<span class="mark">★ worth automating</span>{{end}}</td><td>{{.Kinds}}</td></tr>
{{end}}</tbody>
</table>
</div>
<div class="scroll">
<table class="entries">
<caption>Entries of {{.Name}}, by category in time order (UTC)</caption>
<thead><tr><th>category</th><th>who</th><th>when</th><th class="num">duration</th><th>kind</th><th>record</th><th>title</th><th>rule</th></tr></thead>
<tbody>
{{range .Items}}<tr data-ref="{{.Ref}}"><td>{{.Category}}</td><td>{{.Who}}</td><td class="when">{{.When}}</td><td class="num"><data value="{{.Seconds}}">{{.Duration}}</data></td><td>{{.Kind}}</td><td>{{.Record}}</td><td>{{.Title}}</td><td>{{.Rule}}</td></tr>
{{end}}</tbody>
</table>
</div>
{{else}}<p>No toil was recorded for {{.Name}} {{.Span}}.</p>
{{end}}</section>
{{end}}`))
