package dora

import (
	"bytes"
	"fmt"
	"html/template"
	"io"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	tiers "github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/reports/chart"
	"github.com/flowmeter/flowmeter/reports/htmlpage"
	"github.com/flowmeter/flowmeter/reports/render"
)

// The HTML report is the Markdown one as a page: per team, the four keys as cards
// with their tier badges and changes, a small chart per key comparing this window
// with the previous one, then the detail tables. The classes are the pages' own:
// tier-elite to tier-low for tiers, good and bad for changes, num for numbers.

// htmlView is what the page's body shows.
type htmlView struct {
	Previous    string
	Table       string
	Teams       []htmlTeam
	Definitions []htmlDefinition
	Tiers       *htmlTiers
	Facts       []htmlFacts
}

type htmlTeam struct {
	Name string
	// Quiet replaces the cards and charts of a team with nothing in either window.
	Quiet  string
	Keys   []htmlKey
	Charts []template.HTML
	// NoDetails replaces the tables of a team with nothing in this window.
	NoDetails string
	Tables    []htmlTable
	Explain   []htmlExplain
}

type htmlKey struct {
	Name, Value, Tier, Previous, PreviousTier, Change, ChangeClass string
}

type htmlTable struct {
	Title string
	Head  []htmlCell
	Rows  [][]htmlCell
}

// htmlCell is a table cell: Tier draws a badge, Class "num" aligns a number, Strong
// marks the team's own row.
type htmlCell struct {
	Text, Class, Tier string
	Strong            bool
}

type htmlExplain struct {
	Who   string
	Lines []htmlExplainLine
}

type htmlExplainLine struct {
	Keys []string
	What string
	Refs []string
}

type htmlDefinition struct {
	Term, Text string
}

type htmlTiers struct {
	Name, Source string
	Rows         []htmlTierRow
	Notes        []string
}

type htmlTierRow struct {
	Tier, Frequency, LeadTime, Recovery, FailureRate string
}

type htmlFacts struct {
	Title, Kind string
	Columns     []string
	Rows        []htmlFactRow
}

type htmlFactRow struct {
	Ref    string
	Values []string
}

var htmlBody = template.Must(template.New("body").Parse(`
{{- define "tier"}}{{if .}}<span class="tier tier-{{.}}">{{.}}</span>{{else}}—{{end}}{{end -}}
<p>{{with .Previous}}Compared with the previous window, {{.}}. {{end}}DORA table: {{.Table}}. Every figure is defined under <a href="#how-these-figures-are-made">How these figures are made</a>.</p>
{{range .Teams}}
<section class="team">
<h2>{{.Name}}</h2>
{{- if .Quiet}}
<p>{{.Quiet}}</p>
{{- else}}
<div class="cards">
{{- range .Keys}}
<div class="card">
<h3>{{.Name}}</h3>
<p class="value">{{.Value}}{{with .Tier}} {{template "tier" .}}{{end}}</p>
<p class="change{{with .ChangeClass}} {{.}}{{end}}">{{.Change}}</p>
<p class="previous">Previous window: {{.Previous}}{{with .PreviousTier}} ({{.}}){{end}}</p>
</div>
{{- end}}
</div>
{{- with .Charts}}
<div class="charts">
{{- range .}}
{{.}}
{{- end}}
</div>
{{- end}}
{{- if .NoDetails}}
<p>{{.NoDetails}}</p>
{{- end}}
{{- range .Tables}}
<h3>{{.Title}}</h3>
<table>
<thead><tr>{{range .Head}}<th{{with .Class}} class="{{.}}"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr>{{range $i, $c := .}}{{if eq $i 0}}<th scope="row">{{if $c.Strong}}<strong>{{$c.Text}}</strong>{{else}}{{$c.Text}}{{end}}</th>{{else}}<td{{with $c.Class}} class="{{.}}"{{end}}>{{if $c.Tier}}{{template "tier" $c.Tier}}{{else}}{{$c.Text}}{{end}}</td>{{end}}{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- end}}
{{- range .Explain}}
<details><summary>Facts behind {{.Who}}</summary>
<ul>
{{- range .Lines}}
<li>{{range $i, $k := .Keys}}{{if $i}}, {{end}}<code>{{$k}}</code>{{end}}{{if .Refs}} ({{.What}}): {{range $i, $r := .Refs}}{{if $i}}, {{end}}<code>{{$r}}</code>{{end}}{{else}}: none{{end}}</li>
{{- end}}
</ul>
</details>
{{- end}}
</section>
{{- end}}
<section class="definitions">
<h2 id="how-these-figures-are-made">How these figures are made</h2>
<dl>
{{- range .Definitions}}
<dt>{{.Term}}</dt><dd>{{.Text}}</dd>
{{- end}}
</dl>
{{- with .Tiers}}
<h3>DORA table {{.Name}}</h3>
<p>{{.Source}}</p>
<table>
<thead><tr><th>tier</th><th>deployment frequency</th><th>lead time</th><th>failed-deployment recovery</th><th>change failure rate</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><th scope="row">{{template "tier" .Tier}}</th><td>{{.Frequency}}</td><td>{{.LeadTime}}</td><td>{{.Recovery}}</td><td>{{.FailureRate}}</td></tr>
{{- end}}
</tbody>
</table>
<ul>
{{- range .Notes}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
</section>
{{- with .Facts}}
<section class="facts">
<h2>Facts</h2>
<p>The facts behind the figures above, each once, named as the figures name them (<code>source:id</code>). Times are UTC; durations are the fact's own; "—" means unknown or none.</p>
{{- range .}}
<h3>{{.Title}}</h3>
{{- if .Rows}}
<table>
<thead><tr><th>{{.Kind}}</th>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr><th scope="row"><code>{{.Ref}}</code></th>{{range .Values}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p>None.</p>
{{- end}}
{{- end}}
</section>
{{- end}}
`))

// WriteHTML writes the report as one self-contained HTML page (htmlpage): no
// scripts, no external requests, charts drawn as inline SVG.
func WriteHTML(w io.Writer, rs Reports) error {
	p, err := Page(rs)
	if err != nil {
		return err
	}
	return htmlpage.Write(w, p)
}

// Page is the HTML report as a page, for a caller that adds navigation before
// writing it with htmlpage.Write.
func Page(rs Reports) (htmlpage.Page, error) {
	r := rs.Current
	view := htmlView{Table: r.Table}
	if hasPrevious(rs) {
		view.Previous = windowLine(rs.Previous)
	}
	table, err := tiers.Lookup(r.Table)
	if err != nil {
		view.Table += " (unknown: no tiers)"
	} else {
		view.Table += " (" + table.Source + ")"
		view.Tiers = htmlTiersOf(table)
	}
	summaries := summarize(rs)
	for i, t := range r.Teams {
		view.Teams = append(view.Teams, htmlTeamOf(t, summaries[i], hasPrevious(rs)))
	}
	for _, d := range definitions {
		view.Definitions = append(view.Definitions, htmlDefinition{d.term, d.text})
	}
	if r.Facts != nil {
		view.Facts = htmlFactsOf(r)
	}
	var body bytes.Buffer
	if err := htmlBody.Execute(&body, view); err != nil {
		return htmlpage.Page{}, err
	}
	return htmlpage.Page{
		Title:    "DORA report",
		Subtitle: windowLine(r),
		// The body was built by html/template, which escaped every value in it.
		Body:   template.HTML(body.String()),
		Footer: "Figures from the change, deployment and incident facts derived from the collected records.",
	}, nil
}

func htmlTeamOf(t aggregate.Team, s teamSummary, compared bool) htmlTeam {
	out := htmlTeam{Name: t.Name, Quiet: s.quiet}
	if s.quiet == "" {
		for i, k := range s.keys {
			out.Keys = append(out.Keys, htmlKey{
				Name: k.name, Value: k.value, Tier: k.tier.String(), Previous: k.previous,
				PreviousTier: k.previousTier.String(), Change: k.change.String(), ChangeClass: k.change.class(),
			})
			if compared && (k.current.Defined() || k.prev.Defined()) {
				out.Charts = append(out.Charts, keyChart(t.Name, fourKeys[i], k))
			}
		}
		if quiet(t.Figures) {
			out.NoDetails = quietSentence(t.Figures, false)
		}
	}
	if !quiet(t.Figures) {
		rows := detailRows(t)
		for _, dt := range detailTables {
			out.Tables = append(out.Tables, htmlTableOf(dt, rows))
		}
	}
	if t.Explain != nil {
		out.Explain = append(out.Explain, htmlExplainOf(t.Name, t.Explain))
		for _, svc := range t.Services {
			out.Explain = append(out.Explain, htmlExplainOf(t.Name+" / "+svc.Name, svc.Explain))
		}
	}
	return out
}

// keyChart compares a key of a team in the previous window and this one.
func keyChart(team string, k fourKey, f keyFigure) template.HTML {
	value := func(v aggregate.Value) float64 {
		if x, ok := v.Get(); ok {
			return x * k.chart.scale
		}
		return chart.NoData
	}
	return chart.Bars{
		Title:  fmt.Sprintf("%s: %s", team, k.name),
		Unit:   k.chart.unit,
		Labels: []string{"previous window", "this window"},
		Series: []chart.Series{{Name: k.name, Values: []float64{value(f.prev), value(f.current)}}},
		Format: k.chart.label,
		// Four of these sit side by side: narrow, so that their text stays legible.
		Width: 360,
	}.SVG()
}

func htmlTableOf(dt detailTable, rows []detailRow) htmlTable {
	out := htmlTable{Title: dt.title, Head: []htmlCell{{Text: "service"}}}
	for _, c := range dt.columns {
		out.Head = append(out.Head, htmlCell{Text: c.head, Class: cellClass(c.kind)})
	}
	for _, row := range rows {
		cells := []htmlCell{{Text: row.name, Strong: row.team}}
		for _, c := range dt.columns {
			cell := htmlCell{Text: c.get(row.figures), Class: cellClass(c.kind)}
			if c.kind == tierCell && cell.Text != render.Dash {
				cell.Tier = cell.Text
			}
			cells = append(cells, cell)
		}
		out.Rows = append(out.Rows, cells)
	}
	return out
}

func cellClass(k cellKind) string {
	if k == numberCell {
		return "num"
	}
	return ""
}

func htmlExplainOf(who string, refs map[string][]string) htmlExplain {
	out := htmlExplain{Who: who}
	for _, l := range explainLines(refs) {
		out.Lines = append(out.Lines, htmlExplainLine{Keys: l.keys, What: l.what(), Refs: l.refs})
	}
	return out
}

func htmlTiersOf(t *tiers.Table) *htmlTiers {
	out := &htmlTiers{Name: t.Name, Source: t.Source, Notes: t.Notes}
	for _, r := range tierRows(t) {
		out.Rows = append(out.Rows, htmlTierRow{r.tier, r.frequency, r.leadTime, r.recovery, r.failureRate})
	}
	return out
}

func htmlFactsOf(r aggregate.Report) []htmlFacts {
	var out []htmlFacts
	for _, e := range explainedFacts(r) {
		f := htmlFacts{Title: kindTitle(e.kind), Kind: string(e.kind)}
		for _, c := range e.columns {
			f.Columns = append(f.Columns, heading(c))
		}
		for i, ref := range e.refs {
			row := htmlFactRow{Ref: ref}
			for j, c := range e.columns {
				row.Values = append(row.Values, factText(c, e.values[i][j]))
			}
			f.Rows = append(f.Rows, row)
		}
		out = append(out, f)
	}
	return out
}
