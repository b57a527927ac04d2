// Package render holds what every report's rendering shares: the output formats a
// command line names, and how a figure is written for people in Markdown (numbers,
// percentages, durations, windows, table cells), so that the DORA, flow and toil
// reports print the same figure the same way.
package render

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
)

// Format is an output format of a report.
type Format string

// The formats.
const (
	Markdown Format = "md"
	JSON     Format = "json"
	CSV      Format = "csv"
	// HTML is a single self-contained page (inline CSS and SVG charts).
	HTML Format = "html"
	// SVG is a chart on its own, such as the toil snake.
	SVG Format = "svg"
)

// TextFormats are the formats every report writes.
var TextFormats = []Format{Markdown, JSON, CSV}

// ParseFormat checks a format named on the command line against the formats a
// report writes (TextFormats when none are given), so a typo is an error rather
// than a default.
func ParseFormat(s string, allowed ...Format) (Format, error) {
	if len(allowed) == 0 {
		allowed = TextFormats
	}
	names := make([]string, len(allowed))
	for i, f := range allowed {
		if Format(s) == f {
			return f, nil
		}
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown format %q (want %s)", s, orList(names))
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Write writes a report in the format with the writer of that format.
func Write[R any](w io.Writer, r R, f Format, markdown, json, csv func(io.Writer, R) error) error {
	switch f {
	case Markdown:
		return markdown(w, r)
	case JSON:
		return json(w, r)
	case CSV:
		return csv(w, r)
	}
	return fmt.Errorf("unknown format %q", f)
}

// JSONWindow is the "window" object every JSON report opens with.
type JSONWindow struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Days        float64   `json:"days"`
	AsOf        time.Time `json:"as_of"`
	ElapsedDays float64   `json:"elapsed_days"`
}

// WindowOf describes the window [from, to) of a report counted up to asOf.
func WindowOf(from, to, asOf time.Time) JSONWindow {
	return JSONWindow{From: from.UTC(), To: to.UTC(), Days: to.Sub(from).Hours() / 24, AsOf: asOf.UTC(), ElapsedDays: ElapsedDays(from, asOf)}
}

// ElapsedDays is the days from the window's start up to asOf, never negative: what
// per-day and per-week figures divide by.
func ElapsedDays(from, asOf time.Time) float64 {
	return max(asOf.Sub(from).Hours()/24, 0)
}

// Dash stands for a figure there was no data for.
const Dash = "—"

// TimeLayout is how reports print an instant for people, in UTC.
const TimeLayout = "2006-01-02 15:04"

// Escape keeps a name from breaking a Markdown table.
func Escape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// Window prints a half-open window: as dates when both ends are midnights, else as
// instants.
func Window(from, to time.Time) string {
	from, to = from.UTC(), to.UTC()
	layout := time.DateOnly
	if !midnight(from) || !midnight(to) {
		layout = time.RFC3339
	}
	return fmt.Sprintf("%s to %s (exclusive)", from.Format(layout), to.Format(layout))
}

func midnight(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// Number prints a value with at most places decimals, Dash when undefined.
func Number(v aggregate.Value, places int) string {
	f, ok := v.Get()
	if !ok {
		return Dash
	}
	return Trim(f, places)
}

// Trim formats f with at most places decimals, dropping trailing zeros.
func Trim(f float64, places int) string {
	s := strconv.FormatFloat(f, 'f', places, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// Percent prints a ratio as a percentage with one decimal at most, Dash when
// undefined.
func Percent(v aggregate.Value) string {
	f, ok := v.Get()
	if !ok {
		return Dash
	}
	return Trim(f*100, 1) + "%"
}

// Duration prints seconds for people: "45s", "12m", "3h 20m", "2.4 d"; Dash when
// undefined. Under a minute it counts seconds, under an hour minutes, under a day
// hours and minutes, and beyond that days with one decimal. Every duration of a
// report is at least 0.
func Duration(v aggregate.Value) string {
	f, ok := v.Get()
	if !ok {
		return Dash
	}
	if sec := math.Round(f); sec < 60 {
		return fmt.Sprintf("%.0fs", sec)
	}
	switch m := int(math.Round(f / 60)); {
	case m < 60:
		return fmt.Sprintf("%dm", m)
	case m < 24*60 && m%60 == 0:
		return fmt.Sprintf("%dh", m/60)
	case m < 24*60:
		return fmt.Sprintf("%dh %dm", m/60, m%60)
	}
	return strconv.FormatFloat(f/86400, 'f', 1, 64) + " d"
}

// Hours prints seconds as Duration does, but in hours beyond a day ("37h 5m"):
// for working hours, where "1.5 d" would read as 36 hours of a calendar day, not
// the four and a half working days it is.
func Hours(v aggregate.Value) string {
	f, ok := v.Get()
	if !ok {
		return Dash
	}
	if m := int(math.Round(f / 60)); m >= 24*60 {
		if m%60 == 0 {
			return fmt.Sprintf("%dh", m/60)
		}
		return fmt.Sprintf("%dh %dm", m/60, m%60)
	}
	return Duration(v)
}

// Seconds prints a whole number of seconds as Duration does.
func Seconds(s int64) string { return Duration(aggregate.Some(float64(s))) }
