package chart

import (
	"fmt"
	"hash/fnv"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// width is every chart's width in user units; CSS scales the chart down to its
// container, so only the height varies with the content.
const width = 720

// minWidth is the narrowest chart a Bars Width may ask for: room for the y axis,
// a few bars and a title.
const minWidth = 320

// Font sizes, which the CSS repeats, and the share of a font size an average
// character takes: what lets a chart decide whether a label fits.
const (
	fontSize  = 12
	smallSize = 11
	charWidth = 0.62
)

// headingBaseline is where the visible title sits; content starts below it.
const headingBaseline = 18

// document wraps a chart's drawing into its <svg> element: the <title> first,
// for screen readers and hover, then the title where a reader sees it (which
// matters most when the chart is a file of its own), which aria-labelledby names.
// draw writes the rest given the prefix of the ids it defines (the hatch
// pattern's) and returns the height it used. The prefix is a hash of the drawing
// made without one, so that two charts on one page never share an id, and the
// same chart always gets the same id (golden files stay stable).
func document(kind, title string, w float64, draw func(ids string) (body string, height float64)) template.HTML {
	unnamed, _ := draw("")
	h := fnv.New32a()
	h.Write([]byte(kind + "\x00" + title + "\x00" + unnamed))
	ids := fmt.Sprintf("chart-%08x", h.Sum32())
	body, height := draw(ids)

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart %s" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-labelledby="%s-heading">`,
		kind, num(w), num(height), num(w), num(height), ids)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(title))
	fmt.Fprintf(&b, `<text id="%s-heading" class="heading" x="0" y="%d">%s</text>`, ids, headingBaseline, esc(title))
	b.WriteString(body)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// noData is the chart drawn when there is nothing to draw: its title and a line
// saying so, rather than axes a reader would take for zeros.
func noData(kind, title string, w float64) template.HTML {
	return document(kind+" empty", title, w, func(string) (string, float64) {
		var b strings.Builder
		text(&b, "nodata", w/2, 50, "middle", "No data for this chart.")
		return b.String(), 70
	})
}

// text writes one line of text with its class, anchored at x.
func text(b *strings.Builder, class string, x, y float64, anchor, s string) {
	fmt.Fprintf(b, `<text class="%s" x="%s" y="%s" text-anchor="%s">%s</text>`, class, num(x), num(y), anchor, esc(s))
}

// esc makes text safe inside SVG, which must also be well-formed XML: characters
// XML does not allow are replaced, then markup is escaped.
func esc(s string) string {
	clean := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r != 0xFFFE && r != 0xFFFF && !(r >= 0xD800 && r <= 0xDFFF)) {
			return r
		}
		return utf8.RuneError
	}, s)
	return html.EscapeString(clean)
}

// num writes a coordinate to a tenth of a unit, enough for a screen and short.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

// textWidth estimates how wide s is drawn at a font size: charts have no font
// metrics on the server, and an estimate is enough to keep labels apart.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * charWidth
}

// formatter is how a chart writes a value: the caller's Format, else the number
// followed by the unit.
func formatter(format func(float64) string, unit string) func(float64) string {
	if format != nil {
		return format
	}
	return func(v float64) string {
		s := plain(v)
		switch unit {
		case "":
			return s
		case "%":
			return s + "%"
		}
		return s + " " + unit
	}
}

// plain writes a value with at most two decimals.
func plain(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// defined reports whether a value is a figure rather than NoData.
func defined(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// valueAt is series value i, NoData beyond the end of the series.
func valueAt(s Series, i int) float64 {
	if i < len(s.Values) {
		return s.Values[i]
	}
	return NoData
}

// anyDefined reports whether any series has a figure for any label.
func anyDefined(series []Series, labels int) bool {
	for _, s := range series {
		for i := range labels {
			if defined(valueAt(s, i)) {
				return true
			}
		}
	}
	return false
}

// seriesClass is the colour class of series i; series beyond the palette reuse it.
func seriesClass(i int) string { return fmt.Sprintf("s%d", i%palette) }

// palette is how many series colours chart.CSS defines.
const palette = 6
