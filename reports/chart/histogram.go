package chart

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
)

// markerRow is the height of one row of marker labels above the plot.
const markerRow = 14

// SVG draws the chart: a bar per bin with its count above it, the bins' labels
// beneath, and each marker as a dashed vertical line labelled above the plot
// (labels of markers close together go on separate rows).
func (c Histogram) SVG() template.HTML {
	if len(c.Bins) == 0 {
		return noData("histogram", c.Title, width)
	}
	return document("histogram", c.Title, width, c.draw)
}

func (c Histogram) draw(string) (string, float64) {
	var b strings.Builder
	highest := 0
	for _, bin := range c.Bins {
		highest = max(highest, bin.Count)
	}
	s := newScale(0, float64(highest), true)
	left, right := s.plotLeft(c.YLabel), float64(width-rightMargin)
	slot := (right - left) / float64(len(c.Bins))

	// Marker labels go right of their line (left of it near the right edge), on
	// rows from the top down, each on the first row where it overlaps no other
	// label: a line then crosses only rows below its own label, where the labels
	// of markers further left lie.
	var markers []Marker
	for _, m := range c.Markers {
		if defined(m.Position) {
			markers = append(markers, m)
		}
	}
	slices.SortStableFunc(markers, func(a, b Marker) int { return cmp.Compare(a.Position, b.Position) })
	lines, centres, widths, anchors := make([]float64, len(markers)), make([]float64, len(markers)), make([]float64, len(markers)), make([]string, len(markers))
	for i, m := range markers {
		x := left + math.Min(math.Max(m.Position, 0), float64(len(c.Bins)))*slot
		w := textWidth(m.Label, smallSize) + 3
		lines[i], widths[i], anchors[i], centres[i] = x, w, "start", x+w/2
		if x+w > width {
			anchors[i], centres[i] = "end", x-w/2
		}
	}
	rows, nrows := levels(centres, widths)
	labelsTop := float64(headingBaseline + 10)
	s.top = labelsTop + float64(nrows)*markerRow + 14
	s.bottom = s.top + plotHeight
	drawYAxis(&b, s, left, right, c.YLabel)

	for i, bin := range c.Bins {
		x := left + float64(i)*slot
		top := s.y(float64(bin.Count))
		count := strconv.Itoa(bin.Count)
		fmt.Fprintf(&b, `<rect class="bin" x="%s" y="%s" width="%s" height="%s"><title>%s: %s</title></rect>`,
			num(x+1), num(top), num(math.Max(slot-2, 1)), num(s.bottom-top), esc(bin.Label), count)
		if bin.Count > 0 && textWidth(count, smallSize) <= slot {
			text(&b, "value", x+slot/2, top-4, "middle", count)
		}
	}
	labels := make([]string, len(c.Bins))
	for i, bin := range c.Bins {
		labels[i] = bin.Label
	}
	for i, shown := range xLabels(labels, slot) {
		if shown {
			text(&b, "label", left+(float64(i)+0.5)*slot, s.bottom+16, "middle", labels[i])
		}
	}
	for i, m := range markers {
		labelAt := labelsTop + float64(rows[i]+1)*markerRow - 3
		fmt.Fprintf(&b, `<line class="marker" x1="%s" y1="%s" x2="%s" y2="%s"><title>%s</title></line>`,
			num(lines[i]), num(labelAt-smallSize+1), num(lines[i]), num(s.bottom), esc(m.Label))
		labelX := lines[i] + 3
		if anchors[i] == "end" {
			labelX = lines[i] - 3
		}
		text(&b, "label marker-label", labelX, labelAt, anchors[i], m.Label)
	}
	height := s.bottom + 24
	if c.XLabel != "" {
		text(&b, "label unit", (left+right)/2, s.bottom+36, "middle", c.XLabel)
		height += 20
	}
	return b.String(), height
}
