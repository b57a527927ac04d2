package chart

import (
	"fmt"
	"html/template"
	"strings"
)

// SVG draws the chart: a line per series through its points, each point a dot
// with its value as tooltip, a legend when there are several series. A value of
// NoData breaks the line, so a missing week is not read as a zero.
func (c Lines) SVG() template.HTML {
	if len(c.Labels) == 0 || !anyDefined(c.Series, len(c.Labels)) {
		return noData("lines", c.Title, width)
	}
	return document("lines", c.Title, width, c.draw)
}

func (c Lines) draw(string) (string, float64) {
	var b strings.Builder
	y := float64(headingBaseline + 10)
	if len(c.Series) > 1 {
		y += legend(&b, seriesNames(c.Series), y, width, true)
	}
	lo, hi := extent(c.Series, len(c.Labels))
	s := newScale(lo, hi, false)
	s.top = y + 8
	s.bottom = s.top + plotHeight
	left, right := s.plotLeft(c.YLabel), float64(width-rightMargin)
	drawYAxis(&b, s, left, right, c.YLabel)

	format := formatter(c.Format, "")
	slot := (right - left) / float64(len(c.Labels))
	x := func(i int) float64 { return left + (float64(i)+0.5)*slot }
	for j, series := range c.Series {
		var path strings.Builder
		drawing := false
		for i := range c.Labels {
			v := valueAt(series, i)
			if !defined(v) {
				drawing = false
				continue
			}
			move := "L"
			if !drawing {
				move = "M"
			}
			fmt.Fprintf(&path, "%s%s %s", move, num(x(i)), num(s.y(v)))
			drawing = true
		}
		fmt.Fprintf(&b, `<path class="line %s" d="%s"/>`, seriesClass(j), path.String())
		for i, label := range c.Labels {
			v := valueAt(series, i)
			if !defined(v) {
				continue
			}
			what := label
			if series.Name != "" {
				what = series.Name + ", " + label
			}
			fmt.Fprintf(&b, `<circle class="point %s" cx="%s" cy="%s" r="3.5"><title>%s: %s</title></circle>`,
				seriesClass(j), num(x(i)), num(s.y(v)), esc(what), esc(format(v)))
		}
	}
	for i, shown := range xLabels(c.Labels, slot) {
		if shown {
			text(&b, "label", x(i), s.bottom+16, "middle", c.Labels[i])
		}
	}
	height := s.bottom + 24
	if c.XLabel != "" {
		text(&b, "label unit", (left+right)/2, s.bottom+36, "middle", c.XLabel)
		height += 20
	}
	return b.String(), height
}
