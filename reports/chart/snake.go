package chart

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Sizes of the toil snake: a row's bar, the line of its note under it, and the
// space between rows; the widest label column before labels are cut short.
const (
	snakeBar        = 18
	snakeNoteLine   = 16
	snakeRowGap     = 12
	snakeRow        = snakeBar + snakeNoteLine + snakeRowGap
	maxSnakeLabelPx = 200
)

// markText is what a marked row says beside its note.
const markText = "★ worth automating"

// SVG draws the toil snake: a row per SnakeRow in the order given, its label at
// the left, its segments end to end in order, each as wide as its value on one
// scale shared by every row (the longest row spans the plot), alternately shaded
// so that neighbours are told apart, its note under it, and the mark of a row
// worth automating after the note. Segments of NoData are left out.
func (c Snake) SVG() template.HTML {
	for _, row := range c.Rows {
		for _, seg := range row.Segments {
			if defined(seg.Value) {
				return document("snake", c.Title, width, c.draw)
			}
		}
	}
	return noData("snake", c.Title, width)
}

func (c Snake) draw(string) (string, float64) {
	var b strings.Builder
	labelColumn := 0.0
	longest := 0.0
	for _, row := range c.Rows {
		labelColumn = math.Max(labelColumn, textWidth(row.Label, fontSize))
		longest = math.Max(longest, rowTotal(row))
	}
	labelColumn = math.Min(labelColumn, maxSnakeLabelPx)
	left, right := math.Ceil(labelColumn)+10, float64(width-rightMargin)
	perUnit := 0.0
	if longest > 0 {
		perUnit = (right - left) / longest
	}
	format := formatter(c.Format, c.Unit)

	top := float64(headingBaseline + 12)
	for i, row := range c.Rows {
		y := top + float64(i)*snakeRow
		class := "row"
		if row.Marked {
			class += " marked"
		}
		fmt.Fprintf(&b, `<g class="%s" data-row="%d">`, class, i)
		label := row.Label
		if textWidth(label, fontSize) > maxSnakeLabelPx {
			label = shorten(label, maxSnakeLabelPx)
		}
		fmt.Fprintf(&b, `<text class="label" x="%s" y="%s" text-anchor="end"><title>%s</title>%s</text>`,
			num(left-8), num(y+snakeBar/2+4), esc(row.Label), esc(label))
		x := left
		drawn := 0
		for _, seg := range row.Segments {
			if !defined(seg.Value) {
				continue
			}
			w := math.Max(seg.Value, 0) * perUnit
			class := "segment"
			if drawn%2 == 1 {
				class += " alt"
			}
			fmt.Fprintf(&b, `<rect class="%s" data-value="%s" x="%s" y="%s" width="%s" height="%d"><title>%s</title></rect>`,
				class, strconv.FormatFloat(seg.Value, 'f', -1, 64), num(x), num(y), num(w), snakeBar, esc(seg.Title))
			x += w
			drawn++
		}
		fmt.Fprintf(&b, `<text class="note" x="%s" y="%s">%s`, num(left), num(y+snakeBar+snakeNoteLine-3), esc(row.Note))
		if row.Marked {
			space := 12
			if row.Note == "" {
				space = 0
			}
			fmt.Fprintf(&b, `<tspan class="mark" dx="%d">%s</tspan>`, space, esc(markText))
		}
		b.WriteString(`</text></g>`)
	}
	bottom := top + float64(len(c.Rows))*snakeRow
	if longest == 0 {
		return b.String(), bottom
	}
	text(&b, "total", left, bottom+4, "start",
		"One scale for every row: the longest, "+format(longest)+", spans the full width.")
	return b.String(), bottom + 14
}

// rowTotal is the length of a row: the sum of its segments' values.
func rowTotal(row SnakeRow) float64 {
	total := 0.0
	for _, seg := range row.Segments {
		if defined(seg.Value) {
			total += math.Max(seg.Value, 0)
		}
	}
	return total
}

// shorten cuts a label to about px wide, ending it with an ellipsis; the whole
// label stays in its tooltip.
func shorten(s string, px float64) string {
	runes := []rune(s)
	keep := max(int(px/(fontSize*charWidth))-1, 1)
	if keep >= len(runes) {
		return s
	}
	return string(runes[:keep]) + "…"
}
