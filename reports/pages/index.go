package pages

import (
	"context"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/reports/build"
	"github.com/flowmeter/flowmeter/reports/htmlpage"
	"github.com/flowmeter/flowmeter/reports/render"
)

// indexRow is one line of the index: a team's reports, or every team's.
type indexRow struct {
	Team string
	// DORA is the DORA summary of the default window (the 90 days to tomorrow);
	// Flow and Toil are the current and the previous quarter's.
	DORA       string
	Flow, Toil [2]string
}

var indexBody = template.Must(template.New("index").Parse(`<p>Each report is built when it is opened, from the facts
flowmeter holds now. The DORA summary covers the {{.Days}} days up to today; the flow review and the toil snake cover the
current quarter, {{.Current}}, still running (its figures count up to now), and the previous one, {{.Previous}}.</p>
<table>
<thead><tr><th scope="col">Team</th><th scope="col">DORA</th><th scope="col">Flow review</th><th scope="col">Toil</th></tr></thead>
<tbody>
{{range .Rows}}<tr><th scope="row">{{.Team}}</th><td><a href="{{.DORA}}">last {{$.Days}} days</a></td>
<td><a href="{{index .Flow 0}}">{{$.Current}}</a> · <a href="{{index .Flow 1}}">{{$.Previous}}</a></td>
<td><a href="{{index .Toil 0}}">{{$.Current}}</a> · <a href="{{index .Toil 1}}">{{$.Previous}}</a></td></tr>
{{end}}</tbody>
</table>
`))

// index writes the list of every team's reports: the organisation's first, then
// each team's in config order, then those of the facts of no team, when there are
// any.
func (h *Handler) index(ctx context.Context, w io.Writer, reports Reports, now time.Time) error {
	teams, err := reports.Teams(ctx)
	if err != nil {
		return err
	}
	current, _, _ := build.Window(now, "", "", build.Quarter(now))
	prevFrom, prevTo := aggregate.PreviousWindow(current, current.AddDate(0, 3, 0))
	quarters := [2][2]time.Time{{current, current.AddDate(0, 3, 0)}, {prevFrom, prevTo}}
	row := func(label, team string) indexRow {
		r := indexRow{Team: label, DORA: "reports/" + reportLink(build.DORA, team, time.Time{}, time.Time{}, "")}
		for i, q := range quarters {
			r.Flow[i] = "reports/" + reportLink(build.Flow, team, q[0], q[1], "")
			r.Toil[i] = "reports/" + reportLink(build.Toil, team, q[0], q[1], "")
		}
		return r
	}
	rows := []indexRow{row("All teams", "")}
	for _, t := range teams {
		rows = append(rows, row(t, t))
	}
	var body strings.Builder
	err = indexBody.Execute(&body, struct {
		Days              int
		Current, Previous string
		Rows              []indexRow
	}{build.DefaultDays, build.Quarter(quarters[0][0]), build.Quarter(quarters[1][0]), rows})
	if err != nil {
		return err
	}
	return htmlpage.Write(w, htmlpage.Page{
		Title:    "flowmeter reports",
		Subtitle: "As of " + now.UTC().Format(render.TimeLayout) + " UTC",
		Body:     template.HTML(body.String()),
		Footer:   "The DORA report, the flow review and the toil report of docs/reports.md, as `flowmeter report dora|flow|toil --format html` writes them.",
	})
}
