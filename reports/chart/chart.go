// Package chart draws the reports' charts as SVG on the server, so that a report is
// read without JavaScript: in a browser, in print, in an email, in dark mode. Each
// chart type returns an inline <svg> element styled by CSS (which an HTML page puts
// in its <style>); Standalone turns one into an SVG file of its own.
//
// Every chart is 720 units wide, as high as its content, and scales down to its
// container. Its <title> comes first and names it for screen readers; every bar,
// point, box and segment has a <title> with its exact value, which a browser shows
// on hover. A value of NoData leaves a gap (no bar, a broken line), never a zero,
// and a chart with nothing to draw says "No data for this chart." instead of
// showing empty axes. Colours come from classes CSS defines (s0–s5 for series,
// work, wait, marked, axis, grid, label), so the page decides light, dark and
// print; every text is escaped.
package chart

import (
	"html/template"
	"math"
	"strings"
)

// NoData is a value a series has no figure for; the chart leaves a gap.
var NoData = math.NaN()

// Series is one named line or set of bars, a value per label.
type Series struct {
	Name   string
	Values []float64
}

// Bars is a grouped bar chart: one group per label, one bar per series.
type Bars struct {
	Title string
	// Unit names the values on the y axis ("items", "%", "hours").
	Unit   string
	Labels []string
	Series []Series
	// Format writes a value for a bar's label and tooltip; nil prints it plainly.
	Format func(float64) string
	// Width, in the units of the chart's text, draws a narrower chart (and a
	// proportionally lower plot) for small multiples shown side by side, whose
	// text would otherwise shrink with them; 0 is the standard 720.
	Width float64
}

// Lines is a line chart over labelled points, one line per series.
type Lines struct {
	Title, XLabel, YLabel string
	Labels                []string
	Series                []Series
	Format                func(float64) string
}

// Histogram counts values in consecutive bins, with optional markers such as
// percentiles.
type Histogram struct {
	Title, XLabel, YLabel string
	Bins                  []Bin
	Markers               []Marker
}

// Bin is one bar of a histogram.
type Bin struct {
	Label string
	Count int
}

// Marker is a vertical line across a histogram; Position is in bins, 0 the left
// edge of the first and len(Bins) the right edge of the last.
type Marker struct {
	Label    string
	Position float64
}

// Stages is a value-stream map: stages left to right, each as wide as its value,
// work and wait told apart.
type Stages struct {
	Title  string
	Unit   string
	Stages []Stage
	Format func(float64) string
}

// Stage is one step of a value stream.
type Stage struct {
	Name  string
	Value float64
	Wait  bool
}

// Snake is the toil snake: one row per category, each a chain of segments as long
// as its entries.
type Snake struct {
	Title  string
	Unit   string
	Rows   []SnakeRow
	Format func(float64) string
}

// SnakeRow is one category of a toil snake. Note is written beside the row (its
// count, total, median and budget); Marked rows are flagged as worth automating.
type SnakeRow struct {
	Label    string
	Segments []Segment
	Note     string
	Marked   bool
}

// Segment is one entry of a snake row; Title is its tooltip (who and when).
type Segment struct {
	Value float64
	Title string
}

// Standalone makes an inline chart an SVG document of its own, with the styles it
// needs inside it, dark mode included, so that the file looks right when opened
// alone. The <style> goes right after the chart's <title>, which stays the first
// thing a screen reader meets.
func Standalone(svg template.HTML) []byte {
	s := string(svg)
	at := strings.Index(s, ">") + 1
	if end := strings.Index(s, "</title>"); end >= 0 && strings.HasPrefix(s[at:], "<title") {
		at = end + len("</title>")
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + s[:at] + "<style><![CDATA[\n" + CSS + "]]></style>" + s[at:] + "\n")
}
