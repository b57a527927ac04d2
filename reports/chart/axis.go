package chart

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// niceStep is the smallest step of the form 1, 2 or 5 × 10ⁿ that is at least raw:
// ticks at such steps are numbers a reader can add up at a glance.
func niceStep(raw float64) float64 {
	if !(raw > 0) || math.IsInf(raw, 0) {
		return 1
	}
	magnitude := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step := m * magnitude; step >= raw*(1-1e-9) {
			return step
		}
	}
	return 10 * magnitude
}

// scale maps values to the plot's y coordinates: lo at bottom, hi at top. Its
// range always holds zero, so that bars start from it and a reader compares
// lengths, and ends on ticks.
type scale struct {
	lo, hi, step float64
	top, bottom  float64
	// tickDecimals is how many decimals the step needs.
	tickDecimals int
}

// newScale fits a scale over values between lo and hi with about five ticks;
// whole steps only for counts.
func newScale(lo, hi float64, wholeSteps bool) scale {
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	if hi == lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / 5)
	if wholeSteps {
		step = math.Max(step, 1)
	}
	s := scale{step: step, lo: math.Floor(lo/step+1e-9) * step, hi: math.Ceil(hi/step-1e-9) * step}
	if step < 1 {
		s.tickDecimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return s
}

// y is the coordinate of v.
func (s scale) y(v float64) float64 {
	return s.bottom - (v-s.lo)/(s.hi-s.lo)*(s.bottom-s.top)
}

// ticks are the values the axis marks, from lo to hi.
func (s scale) ticks() []float64 {
	var out []float64
	n := int(math.Round((s.hi - s.lo) / s.step))
	for i := 0; i <= n; i++ {
		out = append(out, s.lo+float64(i)*s.step)
	}
	return out
}

// tickLabel writes a tick's value with as many decimals as the step has.
func (s scale) tickLabel(v float64) string {
	if math.Abs(v) < s.step*1e-9 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', s.tickDecimals, 64)
}

// labelWidth is the width of the widest tick label.
func (s scale) labelWidth() float64 {
	w := 0.0
	for _, v := range s.ticks() {
		w = math.Max(w, textWidth(s.tickLabel(v), smallSize))
	}
	return w
}

// plotLeft is where the plot starts so that the rotated unit label and the tick
// labels fit to its left.
func (s scale) plotLeft(unit string) float64 {
	left := s.labelWidth() + 10
	if unit != "" {
		left += fontSize + 6
	}
	return math.Ceil(left)
}

// drawYAxis writes the grid lines and tick labels across [left, right], the axis
// line, and the unit along the axis.
func drawYAxis(b *strings.Builder, s scale, left, right float64, unit string) {
	for _, v := range s.ticks() {
		y := s.y(v)
		fmt.Fprintf(b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(left), num(y), num(right), num(y))
		text(b, "label tick", left-5, y+4, "end", s.tickLabel(v))
	}
	fmt.Fprintf(b, `<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(left), num(s.top), num(left), num(s.bottom))
	zero := s.y(0)
	fmt.Fprintf(b, `<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(left), num(zero), num(right), num(zero))
	if unit != "" {
		mid := (s.top + s.bottom) / 2
		fmt.Fprintf(b, `<text class="label unit" x="%s" y="%s" text-anchor="middle" transform="rotate(-90 %s %s)">%s</text>`,
			num(fontSize), num(mid), num(fontSize), num(mid), esc(unit))
	}
}

// xLabels lays out the labels of slots of a given width: every label when they
// fit, else every k-th so that the ones written fit. It returns which to write.
func xLabels(labels []string, slot float64) []bool {
	widest := 0.0
	for _, l := range labels {
		widest = math.Max(widest, textWidth(l, smallSize))
	}
	every := 1
	if slot > 0 && widest+6 > slot {
		every = int(math.Ceil((widest + 6) / slot))
	}
	shown := make([]bool, len(labels))
	for i := range labels {
		shown[i] = i%every == 0
	}
	return shown
}

// legendHeight is the height of a legend of one line of entries; legends wrap
// onto more lines when the names are long.
const legendHeight = 18

// legend writes one swatch and name per series from y on, wrapping within the
// chart's width w; line draws the swatch as a line (for line charts). It returns the
// height used.
func legend(b *strings.Builder, names []string, y, w float64, line bool) float64 {
	x, lines := 0.0, 1
	for i, name := range names {
		entry := 22 + textWidth(name, smallSize) + 14
		if x > 0 && x+entry > w {
			x, lines = 0, lines+1
		}
		top := y + float64(lines-1)*legendHeight
		if line {
			fmt.Fprintf(b, `<line class="line %s" x1="%s" y1="%s" x2="%s" y2="%s"/>`, seriesClass(i), num(x), num(top+6), num(x+16), num(top+6))
		} else {
			fmt.Fprintf(b, `<rect class="%s" x="%s" y="%s" width="12" height="12"/>`, seriesClass(i), num(x+2), num(top))
		}
		text(b, "label legend", x+22, top+10, "start", name)
		x += entry
	}
	return float64(lines) * legendHeight
}

// levels places labels of the given centres and widths on rows, each on the
// first row where it overlaps no label already there, so that labels of narrow
// neighbours do not write over each other. It returns each label's row and the
// number of rows.
func levels(centres, widths []float64) ([]int, int) {
	var ends []float64 // the right end of the last label on each row
	rows := make([]int, len(centres))
	for i, c := range centres {
		left := c - widths[i]/2
		row := 0
		for row < len(ends) && left < ends[row]+6 {
			row++
		}
		if row == len(ends) {
			ends = append(ends, 0)
		}
		ends[row] = c + widths[i]/2
		rows[i] = row
	}
	return rows, max(len(ends), 1)
}
