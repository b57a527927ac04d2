package flow

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strconv"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/reports/chart"
	"github.com/flowmeter/flowmeter/reports/htmlpage"
	"github.com/flowmeter/flowmeter/reports/render"
)

var reviewBody = template.Must(template.New("review").Parse(`<div class="review">
<p>Compared with {{.Names.Previous}}, the previous window, and {{.Names.YearEarlier}}, a year earlier.</p>
{{if .Sections}}<p class="small">{{range $i, $s := .Sections}}{{if $i}} · {{end}}<a href="#{{$s.ID}}">{{$s.Name}}</a>{{end}} · <a href="#how">How these figures are made</a></p>{{end}}
{{range .Sections}}<section class="team" id="{{.ID}}">
<h2>{{.Name}}</h2>
<p class="small">Durations: {{.Durations}}.</p>
{{with .Mixed}}<p>{{.}}</p>{{end}}
{{if .NoWork}}<p class="no-work">{{.NoWork}}</p>
{{else}}<div class="cards">
{{range .Cards}}<div class="card"><div class="label">{{.Label}}</div><div class="value">{{.Value}}</div><div class="note">{{.Note}}</div></div>
{{end}}</div>
{{with .Observations}}<h3>Observations</h3>
<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>
{{end}}<h3>Charts</h3>
{{range .Figures}}<figure>{{.Chart}}{{with .Caption}}<figcaption class="small">{{.}}</figcaption>{{end}}</figure>
{{end}}{{range .Tables}}<h3>{{.Title}}</h3>
{{with .Text}}<p>{{.}}</p>
{{end}}{{with .Table}}{{$numeric := .Numeric}}<table>
<thead><tr>{{range $i, $h := .Head}}<th{{if index $numeric $i}} class="num"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td{{if .Num}} class="num"{{end}}>{{if .Href}}<a href="{{.Href}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}{{end}}{{end}}</section>
{{end}}<section id="how">
<h2>How these figures are made</h2>
<p>{{.HowMade}}</p>
</section>
</div>`))

type htmlView struct {
	Names    struct{ Previous, YearEarlier string }
	Sections []htmlSection
	HowMade  string
}

type htmlSection struct {
	ID, Name, Durations, Mixed, NoWork string
	Cards                              []htmlCard
	Observations                       []string
	Figures                            []htmlFigure
	Tables                             []htmlTable
}

type htmlCard struct{ Label, Value, Note string }

type htmlFigure struct {
	Chart   template.HTML
	Caption string
}

// htmlTable is a titled table, or a title and a sentence when there is no table.
type htmlTable struct {
	Title, Text string
	Table       *htmlGrid
}

type htmlGrid struct {
	Head    []string
	Numeric []bool
	Rows    [][]htmlCell
}

type htmlCell struct {
	Text, Href string
	Num        bool
}

func toGrid(t table) *htmlGrid {
	g := &htmlGrid{Head: t.head, Numeric: t.numeric}
	for _, row := range t.rows {
		cells := make([]htmlCell, len(row))
		for i, c := range row {
			cells[i] = htmlCell{Text: c.text, Href: c.href, Num: i < len(t.numeric) && t.numeric[i]}
		}
		g.Rows = append(g.Rows, cells)
	}
	return g
}

// WriteHTML writes the review as one self-contained page: per team, cards of
// the efficiency of the three windows, the observations, the charts (drawn as
// inline SVG) and the tables, then the organisation and how the figures are made.
func WriteHTML(w io.Writer, r flow.Review) error {
	p, err := Page(r)
	if err != nil {
		return err
	}
	return htmlpage.Write(w, p)
}

// Page is the review as a page, for a caller that adds navigation before writing
// it with htmlpage.Write.
func Page(r flow.Review) (htmlpage.Page, error) {
	if !r.Reviewed() {
		return htmlpage.Page{}, fmt.Errorf("the HTML page is of a review (flow.BuildReview), not of a report alone")
	}
	n := namesOf(r)
	v := htmlView{HowMade: howMade(r)}
	v.Names.Previous, v.Names.YearEarlier = n.previous, n.yearEarlier
	for i, t := range r.Teams {
		v.Sections = append(v.Sections, htmlSectionOf(t, n, "team-"+strconv.Itoa(i+1), false))
	}
	if r.Organisation != nil {
		v.Sections = append(v.Sections, htmlSectionOf(*r.Organisation, n, "organisation", true))
	}
	var body bytes.Buffer
	if err := reviewBody.Execute(&body, v); err != nil {
		return htmlpage.Page{}, err
	}
	cur := r.Current
	subtitle := render.Window(cur.From, cur.To) + ", UTC"
	if cur.AsOf.Before(cur.To) {
		subtitle += "; as of " + cur.AsOf.UTC().Format(render.TimeLayout) + " UTC"
	}
	return htmlpage.Page{
		Title:    "Flow review " + n.current,
		Subtitle: subtitle,
		Body:     template.HTML(body.String()), // executed by html/template above
		Footer:   "Figures from the flow item, change and DORA facts derived from the collected records; how each is made is at the end of the page.",
	}, nil
}

func htmlSectionOf(t flow.TeamReview, n windowNames, id string, organisation bool) htmlSection {
	s := htmlSection{ID: id, Name: t.Name, Durations: ReviewDurations(t), Mixed: mixedNote(t)}
	if t.NoWork() {
		s.NoWork = noWorkSentence(t.Name, n.current)
		return s
	}
	cur := t.Current
	s.Cards = []htmlCard{
		{Label: "Flow efficiency " + n.current, Value: percentOrNoData(cur.Efficiency),
			Note: "median " + render.Percent(cur.EfficiencyMedian) + "; " + plural(cur.Finished, "item", "items") + " finished"},
		{Label: n.previous + " (previous)", Value: percentOrNoData(t.Previous.Efficiency), Note: changeNote(t.EfficiencyChange)},
		{Label: n.yearEarlier + " (a year earlier)", Value: percentOrNoData(t.YearEarlier.Efficiency), Note: changeNote(t.EfficiencyChangeYear)},
		{Label: "Finished in " + n.current, Value: strconv.Itoa(cur.Finished),
			Note: strconv.Itoa(cur.Reopened) + " reopened, " + strconv.Itoa(cur.Canceled) + " canceled, " + strconv.Itoa(cur.OpenItems) + " open at the end"},
	}
	for _, o := range t.Observations {
		s.Observations = append(s.Observations, sentence(o, t, n))
	}
	for _, c := range reviewCharts(t, n) {
		s.Figures = append(s.Figures, htmlFigure{Chart: c.chart.SVG(), Caption: c.caption})
	}

	s.Tables = append(s.Tables, htmlTable{Title: "Flow efficiency by window", Table: toGrid(efficiencyTable(t, n))},
		htmlTable{Title: "Active and wait time", Table: toGrid(activeWaitTable(t))})
	if len(t.Waits) > 0 {
		s.Tables = append(s.Tables, htmlTable{Title: "Where work waited", Table: toGrid(waitsTable(t))})
	}
	// The charts' figures as tables too: for print, and for exact values without
	// hovering.
	s.Tables = append(s.Tables, htmlTable{Title: "Flow time by flow type", Table: toGrid(flowTimeTable(t))})
	if cur.Finished > 0 {
		s.Tables = append(s.Tables, htmlTable{Title: "Flow time histogram, in " + dayUnit(t),
			Text: "All flow types: " + markersLine(t) + ".", Table: toGrid(histogramTable(t))})
	}
	s.Tables = append(s.Tables, htmlTable{Title: "Open work and delivery", Table: toGrid(openWorkTable(t))},
		htmlTable{Title: "Load and velocity by week", Table: toGrid(weeksTable(t))},
		htmlTable{Title: "Distribution, " + n.current + " and " + n.previous, Table: toGrid(distributionTable(t, n))})
	if len(t.Worst) > 0 {
		s.Tables = append(s.Tables, htmlTable{Title: "Least efficient items", Table: toGrid(worstTable(t, organisation))})
	}
	vs := htmlTable{Title: "Value-stream map", Text: valueStreamLine(t.ValueStream)}
	if t.ValueStream.Mapped > 0 {
		vs.Table = toGrid(valueStreamTable(t.ValueStream))
	}
	dora := htmlTable{Title: "DORA", Text: doraLine(t, organisation)}
	if len(t.DORA) > 0 {
		dora.Table = toGrid(doraTable(t.DORA))
	}
	s.Tables = append(s.Tables, vs, dora)
	return s
}

func percentOrNoData(v aggregate.Value) string {
	if !v.Defined() {
		return "no data"
	}
	return render.Percent(v)
}

func changeNote(v aggregate.Value) string {
	if !v.Defined() {
		return "no change to show"
	}
	return "now " + points(v)
}

// percentValue is a share as a percentage for a chart, NoData when undefined.
func percentValue(v aggregate.Value) float64 {
	if f, ok := v.Get(); ok {
		return f * 100
	}
	return chart.NoData
}

func percentLabel(x float64) string { return render.Trim(x, 1) + "%" }

// reviewChart is a chart of the review with its caption.
type reviewChart struct {
	chart   interface{ SVG() template.HTML }
	caption string
}

// reviewCharts are the team's charts; a chart without data is left out.
func reviewCharts(t flow.TeamReview, n windowNames) []reviewChart {
	dur := reviewDuration(t)
	hours := func(x float64) string { return dur(aggregate.Some(x * 3600)) }
	unit := "hours"
	if t.Mixed() {
		unit = "hours (mixed clocks)"
	} else if len(t.Calendars) == 1 && t.Calendars[0] != "" {
		unit = "working hours"
	}
	var out []reviewChart
	out = append(out, reviewChart{
		chart: chart.Bars{
			Title: t.Name + ": flow efficiency by window", Unit: "%",
			Labels: []string{n.current, n.previous + " (previous)", n.yearEarlier + " (a year earlier)"},
			Series: []chart.Series{
				{Name: "work-weighted", Values: []float64{percentValue(t.Current.Efficiency), percentValue(t.Previous.Efficiency), percentValue(t.YearEarlier.Efficiency)}},
				{Name: "median", Values: []float64{percentValue(t.Current.EfficiencyMedian), percentValue(t.Previous.EfficiencyMedian), percentValue(t.YearEarlier.EfficiencyMedian)}},
			},
			Format: percentLabel,
		},
		caption: "A window in which nothing was finished has no bar: no data, not 0.",
	})
	if t.Current.Finished > 0 {
		out = append(out,
			reviewChart{chart: chart.Stages{
				Title: t.Name + ": active and wait time", Unit: unit, Format: hours,
				Stages: []chart.Stage{
					{Name: "active", Value: float64(t.Time.ActiveSeconds) / 3600},
					{Name: "wait", Value: float64(t.Time.WaitSeconds) / 3600, Wait: true},
				},
			}},
			reviewChart{chart: histogramChart(t), caption: "Flow time in " + dayUnit(t) + "; all flow types: " + markersLine(t) + "."},
		)
	}
	if len(t.Weeks) > 0 {
		labels := make([]string, len(t.Weeks))
		load, finished := make([]float64, len(t.Weeks)), make([]float64, len(t.Weeks))
		for i, w := range t.Weeks {
			_, week := w.Start.ISOWeek()
			labels[i] = "W" + strconv.Itoa(week)
			if w.Partial {
				labels[i] += "*"
			}
			load[i], finished[i] = chart.NoData, float64(w.Finished)
			if l, ok := w.Load.Get(); ok {
				load[i] = l
			}
		}
		out = append(out, reviewChart{chart: chart.Lines{
			Title: t.Name + ": load and velocity by week", XLabel: "ISO week (* partial)", YLabel: "items",
			Labels: labels,
			Series: []chart.Series{{Name: "load (daily average)", Values: load}, {Name: "finished", Values: finished}},
			Format: func(x float64) string { return render.Trim(x, 1) },
		}, caption: "Load: items in wait or active, the average of the daily 00:00 UTC samples; finished: items done in the week."})
	}
	if t.Current.Finished > 0 {
		labels := make([]string, len(t.Distribution))
		now, was := make([]float64, len(t.Distribution)), make([]float64, len(t.Distribution))
		for i, s := range t.Distribution {
			labels[i], now[i], was[i] = s.FlowType, percentValue(s.Current), percentValue(s.Previous)
		}
		out = append(out, reviewChart{chart: chart.Bars{
			Title: t.Name + ": flow distribution", Unit: "%", Labels: labels, Format: percentLabel,
			Series: []chart.Series{{Name: n.current, Values: now}, {Name: n.previous, Values: was}},
		}})
	}
	if vs := t.ValueStream; vs.Mapped > 0 {
		stages := make([]chart.Stage, len(vs.Stages))
		for i, s := range vs.Stages {
			stages[i] = chart.Stage{Name: s.Name, Value: s.Median.Float() / 3600, Wait: s.Wait}
		}
		out = append(out, reviewChart{chart: chart.Stages{
			Title: t.Name + ": value-stream map", Unit: "hours (wall-clock)", Stages: stages,
			Format: func(x float64) string { return render.Hours(aggregate.Some(x * 3600)) },
		}, caption: "The median of each stage over the items with shipped pull requests, in wall-clock hours."})
	}
	return out
}

func histogramChart(t flow.TeamReview) chart.Histogram {
	h := chart.Histogram{Title: t.Name + ": flow time histogram", XLabel: "flow time, " + dayUnit(t), YLabel: "finished items"}
	for i, l := range binLabels() {
		h.Bins = append(h.Bins, chart.Bin{Label: l, Count: t.Histogram.Counts[i]})
	}
	for _, m := range t.Histogram.Markers {
		h.Markers = append(h.Markers, chart.Marker{Label: m.Label, Position: m.Position})
	}
	return h
}
