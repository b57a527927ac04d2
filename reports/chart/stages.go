package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Sizes of the value-stream map: a box's height, the gap between boxes, the
// narrowest box (so a stage of minutes beside stages of weeks is still seen) and
// the height of a row of labels (name and value).
const (
	stageHeight   = 36
	stageGap      = 2
	minStageWidth = 4
	stageLabelRow = 30
)

// SVG draws the value-stream map: a box per stage left to right, as wide as its
// value on one scale (but never narrower than a few units), work solid and wait
// hatched, each stage's name and value under it, and the total, work and wait
// beneath. A stage of NoData keeps its place with no box.
func (c Stages) SVG() template.HTML {
	for _, st := range c.Stages {
		if defined(st.Value) {
			return document("stages", c.Title, width, c.draw)
		}
	}
	return noData("stages", c.Title, width)
}

func (c Stages) draw(ids string) (string, float64) {
	var b strings.Builder
	hatchPattern(&b, ids)
	y := float64(headingBaseline + 10)
	fmt.Fprintf(&b, `<rect class="work" x="2" y="%s" width="12" height="12"/>`, num(y))
	text(&b, "label legend", 20, y+10, "start", "work")
	fmt.Fprintf(&b, `<rect class="wait" fill="url(#%s-hatch)" x="62" y="%s" width="12" height="12"/>`, ids, num(y))
	text(&b, "label legend", 80, y+10, "start", "wait")
	if c.Unit != "" {
		// Said even when Format writes the values, which may not name the unit
		// ("2h 10m" of working hours).
		text(&b, "label legend unit", 130, y+10, "start", "in "+c.Unit)
	}
	top := y + legendHeight + 6

	format := formatter(c.Format, c.Unit)
	values := make([]float64, len(c.Stages))
	for i, st := range c.Stages {
		values[i] = st.Value
	}
	left := 1.0
	widths := stageWidths(values, width-rightMargin-left-float64(len(c.Stages)-1)*stageGap)
	centres, labelWidths := make([]float64, len(c.Stages)), make([]float64, len(c.Stages))
	var total, wait float64
	x := left
	for i, st := range c.Stages {
		w := widths[i]
		value := "no data"
		if defined(st.Value) {
			value = format(st.Value)
			kind, fill := "work", ""
			if st.Wait {
				kind, fill = "wait", fmt.Sprintf(` fill="url(#%s-hatch)"`, ids)
				wait += math.Max(st.Value, 0)
			}
			total += math.Max(st.Value, 0)
			fmt.Fprintf(&b, `<rect class="stage %s"%s x="%s" y="%s" width="%s" height="%d"><title>%s: %s (%s)</title></rect>`,
				kind, fill, num(x), num(top), num(w), stageHeight, esc(st.Name), esc(value), kind)
		}
		labelWidths[i] = math.Max(textWidth(st.Name, fontSize), textWidth(value, smallSize))
		centres[i] = math.Min(math.Max(x+w/2, labelWidths[i]/2), width-labelWidths[i]/2)
		x += w + stageGap
	}
	rows, nrows := levels(centres, labelWidths)
	x = left
	for i, st := range c.Stages {
		boxCentre := x + widths[i]/2
		labelTop := top + stageHeight + 6 + float64(rows[i])*stageLabelRow
		if rows[i] > 0 {
			fmt.Fprintf(&b, `<line class="leader" x1="%s" y1="%s" x2="%s" y2="%s"/>`,
				num(boxCentre), num(top+stageHeight+2), num(centres[i]), num(labelTop))
		}
		value := "no data"
		if defined(st.Value) {
			value = format(st.Value)
		}
		text(&b, "label stage-name", centres[i], labelTop+12, "middle", st.Name)
		text(&b, "value", centres[i], labelTop+25, "middle", value)
		x += widths[i] + stageGap
	}
	totalAt := top + stageHeight + 6 + float64(nrows)*stageLabelRow + 16
	sum := "Total " + format(total)
	if wait > 0 && wait < total {
		sum += " · work " + format(total-wait) + " · wait " + format(wait)
	}
	text(&b, "total", 0, totalAt, "start", sum)
	return b.String(), totalAt + 10
}

// stageWidths shares the width among the stages in proportion to their values,
// giving the stages too small to see (and those of NoData) the narrowest width
// and the rest of the width to the others, on one scale.
func stageWidths(values []float64, available float64) []float64 {
	narrow := make([]bool, len(values))
	for i, v := range values {
		narrow[i] = !defined(v) || v <= 0
	}
	for {
		var sum float64
		fixed := 0
		for i, v := range values {
			if narrow[i] {
				fixed++
			} else {
				sum += v
			}
		}
		perUnit := 0.0
		if sum > 0 {
			perUnit = math.Max(available-float64(fixed)*minStageWidth, 0) / sum
		}
		changed := false
		for i, v := range values {
			if !narrow[i] && v*perUnit < minStageWidth {
				narrow[i], changed = true, true
			}
		}
		if !changed {
			widths := make([]float64, len(values))
			for i, v := range values {
				widths[i] = minStageWidth
				if !narrow[i] {
					widths[i] = v * perUnit
				}
			}
			return widths
		}
	}
}

// hatchPattern defines the hatching that marks wait, so that wait and work differ
// in more than colour.
func hatchPattern(b *strings.Builder, ids string) {
	fmt.Fprintf(b, `<defs><pattern id="%s-hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">`+
		`<rect class="hatch-ground" width="6" height="6"/><line class="hatch" x1="0" y1="0" x2="0" y2="6"/></pattern></defs>`, ids)
}
