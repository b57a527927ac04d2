// Package build builds each report from the facts of a store, the one way both
// `flowmeter report` and the report pages of `flowmeter run` do it: it checks the
// parameters a user gave (team, window, format), reads the facts, aggregates them
// for the team and window, applies the config's privacy setting, and renders.
package build

import (
	"fmt"
	"github.com/flowmeter/flowmeter/reports/htmlpage"
	"regexp"
	"strconv"
	"time"

	"github.com/flowmeter/flowmeter/reports/render"
)

// Kind names a report, as `flowmeter report KIND` and /reports/KIND do.
type Kind string

// The reports.
const (
	DORA Kind = "dora"
	Flow Kind = "flow"
	Toil Kind = "toil"
)

// Kinds are the reports in the order they are listed.
var Kinds = []Kind{DORA, Flow, Toil}

// Formats are the formats a report is written in: every report as text and as an
// HTML page, the toil report also as its snake alone, an SVG drawing.
func (k Kind) Formats() []render.Format {
	formats := append(append([]render.Format{}, render.TextFormats...), render.HTML)
	if k == Toil {
		formats = append(formats, render.SVG)
	}
	return formats
}

// DefaultDays is the length of the window when none is given: about a quarter,
// ending with today.
const DefaultDays = 90

// Params are a report's parameters as a user wrote them, on the command line or in
// a page's address; empty means not given.
type Params struct {
	Team, From, To, Quarter, Format string
}

// Request is a checked request for one report.
type Request struct {
	Kind Kind
	// Team is the one team to report, "" for every team.
	Team string
	// From and To are the half-open window [From, To), midnights in UTC.
	From, To time.Time
	Format   render.Format
	// Explain asks the DORA report to name the facts behind each figure.
	Explain bool
	// Nav links an HTML page to its neighbours (the report pages' navigation).
	Nav []htmlpage.Link
}

// Parse checks the parameters of a report of kind against the formats allowed
// (the kind's Formats when none are given) and works out the window at now. Its
// errors name the parameters as the command line's flags do. It reads nothing, so
// a mistake is reported before the config or the store is touched.
func Parse(kind Kind, p Params, now time.Time, allowed ...render.Format) (Request, error) {
	if len(allowed) == 0 {
		allowed = kind.Formats()
	}
	req := Request{Kind: kind, Team: p.Team}
	var err error
	if req.Format, err = render.ParseFormat(p.Format, allowed...); err != nil {
		return Request{}, fmt.Errorf("--format: %w", err)
	}
	if req.Format == render.SVG && req.Team == "" {
		return Request{}, fmt.Errorf("--format svg draws one team's toil snake: give --team")
	}
	if req.From, req.To, err = Window(now, p.From, p.To, p.Quarter); err != nil {
		return Request{}, err
	}
	return req, nil
}

var quarterPattern = regexp.MustCompile(`^(\d{4})[Qq]([1-4])$`)

// Window turns the window parameters into a half-open UTC window: a quarter, or
// from and to (either may be left out), or by default the DefaultDays ending at
// the start of tomorrow, so that today's deployments are in.
func Window(now time.Time, from, to, quarter string) (time.Time, time.Time, error) {
	if quarter != "" {
		if from != "" || to != "" {
			return time.Time{}, time.Time{}, fmt.Errorf("--quarter and --from/--to both name the window: give one or the other")
		}
		m := quarterPattern.FindStringSubmatch(quarter)
		if m == nil {
			return time.Time{}, time.Time{}, fmt.Errorf("--quarter %q: want a quarter like 2026Q3", quarter)
		}
		year, _ := strconv.Atoi(m[1])
		q, _ := strconv.Atoi(m[2])
		start := time.Date(year, time.Month(3*(q-1)+1), 1, 0, 0, 0, 0, time.UTC)
		if err := checkWindow(start, start.AddDate(0, 3, 0)); err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("--quarter %s: %w", quarter, err)
		}
		return start, start.AddDate(0, 3, 0), nil
	}
	n := now.UTC()
	end := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	if to != "" {
		t, err := time.Parse(time.DateOnly, to)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("--to %q: want a date like 2026-10-01", to)
		}
		end = t
	}
	start := end.AddDate(0, 0, -DefaultDays)
	if from != "" {
		t, err := time.Parse(time.DateOnly, from)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("--from %q: want a date like 2026-07-01", from)
		}
		start = t
	}
	if !start.Before(end) {
		return time.Time{}, time.Time{}, fmt.Errorf("--from %s is not before --to %s: the window [from, to) is empty",
			start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	if err := checkWindow(start, end); err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("--from %s --to %s: %w", start.Format(time.DateOnly), end.Format(time.DateOnly), err)
	}
	return start, end, nil
}

// The windows a report may cover: within the times a store holds, and at most
// maxWindowYears long, so that one request (a page anyone with the credentials
// may open) cannot ask for centuries of daily samples.
var (
	earliestWindow = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	latestWindow   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

const maxWindowYears = 10

// checkWindow refuses a window reports cannot cover.
func checkWindow(start, end time.Time) error {
	if start.Before(earliestWindow) || end.After(latestWindow) {
		return fmt.Errorf("reports cover %s to %s", earliestWindow.Format(time.DateOnly), latestWindow.Format(time.DateOnly))
	}
	if end.After(start.AddDate(maxWindowYears, 0, 0)) {
		return fmt.Errorf("a window is at most %d years long", maxWindowYears)
	}
	return nil
}

// Quarter names the calendar quarter t falls in, such as 2026Q3.
func Quarter(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%dQ%d", t.Year(), (int(t.Month())-1)/3+1)
}

// QuarterOf names the window [from, to) when it is exactly a calendar quarter, so
// that a link can say quarter=2026Q3 rather than two dates.
func QuarterOf(from, to time.Time) (string, bool) {
	name := Quarter(from)
	qFrom, qTo, err := Window(time.Time{}, "", "", name)
	return name, err == nil && qFrom.Equal(from) && qTo.Equal(to)
}
