package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// plotHeight is the height of the plot area of the charts with a y axis.
const plotHeight = 220

// rightMargin keeps the last label and the grid clear of the edge.
const rightMargin = 8

// SVG draws the chart: a group of bars per label, the value above each bar where
// it fits, a legend when there are several series. A series without a value for a
// label (NoData) has no bar there.
func (c Bars) SVG() template.HTML {
	if len(c.Labels) == 0 || !anyDefined(c.Series, len(c.Labels)) {
		return noData("bars", c.Title, c.width())
	}
	return document("bars", c.Title, c.width(), c.draw)
}

// width is the chart's width: Width when set, between the narrowest a chart reads
// at and the standard width.
func (c Bars) width() float64 {
	if c.Width <= 0 {
		return width
	}
	return math.Min(math.Max(c.Width, minWidth), width)
}

func (c Bars) draw(string) (string, float64) {
	var b strings.Builder
	w := c.width()
	y := float64(headingBaseline + 10)
	if len(c.Series) > 1 {
		y += legend(&b, seriesNames(c.Series), y, w, false)
	}
	lo, hi := extent(c.Series, len(c.Labels))
	s := newScale(lo, hi, false)
	s.top = y + 14 // room for the value above the highest bar
	s.bottom = s.top + plotHeight*w/width
	left, right := s.plotLeft(c.Unit), w-rightMargin
	drawYAxis(&b, s, left, right, c.Unit)

	format := formatter(c.Format, c.Unit)
	slot := (right - left) / float64(len(c.Labels))
	bar := slot * 0.8 / float64(max(len(c.Series), 1))
	for i, label := range c.Labels {
		for j, series := range c.Series {
			v := valueAt(series, i)
			if !defined(v) {
				continue
			}
			x := left + float64(i)*slot + slot*0.1 + float64(j)*bar
			top, bottom := s.y(math.Max(v, 0)), s.y(math.Min(v, 0))
			what := label
			if series.Name != "" {
				what = series.Name + ", " + label
			}
			fmt.Fprintf(&b, `<rect class="bar %s" x="%s" y="%s" width="%s" height="%s"><title>%s: %s</title></rect>`,
				seriesClass(j), num(x), num(top), num(math.Max(bar-1, 1)), num(bottom-top), esc(what), esc(format(v)))
			value := format(v)
			if c.Format == nil {
				value = plain(v) // the axis names the unit
			}
			if textWidth(value, smallSize) <= bar+4 {
				at := top - 4
				if v < 0 {
					at = bottom + smallSize
				}
				text(&b, "value", x+bar/2, at, "middle", value)
			}
		}
	}
	for i, shown := range xLabels(c.Labels, slot) {
		if shown {
			text(&b, "label", left+(float64(i)+0.5)*slot, s.bottom+16, "middle", c.Labels[i])
		}
	}
	return b.String(), s.bottom + 24
}

// seriesNames lists the names a legend shows.
func seriesNames(series []Series) []string {
	names := make([]string, len(series))
	for i, s := range series {
		names[i] = s.Name
	}
	return names
}

// extent is the lowest and highest defined value of the series over the labels.
func extent(series []Series, labels int) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for i := range labels {
			if v := valueAt(s, i); defined(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	return lo, hi
}
