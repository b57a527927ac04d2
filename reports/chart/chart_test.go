package chart

import (
	"html/template"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/flowmeter/flowmeter/reports/browsertest"
)

// parseChart reads a chart as strict XML and checks what every chart has: the
// root <svg> with its class, fixed width and role, and its <title> first, named
// by aria-labelledby.
func parseChart(t *testing.T, svg template.HTML, kind, title string) *browsertest.Node {
	t.Helper()
	root := browsertest.ParseXML(t, string(svg))
	top := root.Elements()
	if len(top) != 1 || top[0].Name != "svg" {
		t.Fatalf("not one <svg>: %s", svg)
	}
	s := top[0]
	if s.Attr["xmlns"] != "http://www.w3.org/2000/svg" && !strings.Contains(string(svg), `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("no SVG namespace")
	}
	if !s.HasClass("chart") || !s.HasClass(kind) {
		t.Errorf("class %q, want chart and %s", s.Attr["class"], kind)
	}
	if s.Attr["role"] != "img" {
		t.Errorf("role %q", s.Attr["role"])
	}
	if w := s.Attr["width"]; !strings.HasPrefix(s.Attr["viewbox"], "0 0 "+w+" ") {
		t.Errorf("viewBox %q is not as wide as the chart, %s", s.Attr["viewbox"], w)
	}
	first := s.Elements()[0]
	if first.Name != "title" || first.Text() != title {
		t.Errorf("first child <%s> %q, want <title> %q", first.Name, first.Text(), title)
	}
	// The label screen readers read is the visible title.
	id := s.Attr["aria-labelledby"]
	var label *browsertest.Node
	for _, e := range s.All("text", "heading") {
		if e.Attr["id"] == id {
			label = e
		}
	}
	if id == "" || label == nil || label.Text() != title {
		t.Errorf("aria-labelledby %q names no heading reading %q", id, title)
	}
	return s
}

func attr(t *testing.T, n *browsertest.Node, name string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(n.Attr[name], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.Name, name, n.Attr[name], err)
	}
	return f
}

func titleOf(n *browsertest.Node) string {
	if t := n.First("title"); t != nil {
		return t.Text()
	}
	return ""
}

func TestNiceStep(t *testing.T) {
	// Each want is the least of 1, 2, 5 × 10ⁿ not below raw.
	for _, tt := range []struct{ raw, want float64 }{
		{0.7, 1}, {1, 1}, {1.2, 2}, {2, 2}, {3, 5}, {7, 10}, {23, 50}, {0.013, 0.02}, {4500, 5000}, {0, 1},
	} {
		if got := niceStep(tt.raw); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestScale(t *testing.T) {
	for _, tt := range []struct {
		lo, hi float64
		whole  bool
		want   []string
	}{
		// 23 / 5 = 4.6 → steps of 5, up to 25.
		{12, 23, false, []string{"0", "5", "10", "15", "20", "25"}},
		// The range holds 0; 15 / 5 = 3 → steps of 5 from -5 to 15.
		{-3, 12, false, []string{"-5", "0", "5", "10", "15"}},
		// Counts: 3 / 5 = 0.6 would be 1 anyway; steps stay whole.
		{0, 3, true, []string{"0", "1", "2", "3"}},
		// 0.4 / 5 = 0.08 → 0.1, written with one decimal.
		{0, 0.4, false, []string{"0.0", "0.1", "0.2", "0.3", "0.4"}},
		// Nothing but zeros: an axis of 0 to 1.
		{0, 0, false, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
	} {
		s := newScale(tt.lo, tt.hi, tt.whole)
		var got []string
		for _, v := range s.ticks() {
			got = append(got, s.tickLabel(v))
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("scale(%v, %v): ticks %v, want %v", tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestBars(t *testing.T) {
	c := Bars{
		Title: "Deploys per week", Unit: "deploys",
		Labels: []string{"W1", "W2", "W3"},
		Series: []Series{
			{Name: "now", Values: []float64{12, NoData, 23}},
			{Name: "before", Values: []float64{6, 0}}, // no value for W3
		},
	}
	svg := parseChart(t, c.SVG(), "bars", "Deploys per week")
	bars := svg.All("rect", "bar")
	// 4 of the 6 bars, label by label: now/W2 is NoData, before/W3 is missing.
	if len(bars) != 4 {
		t.Fatalf("%d bars, want 4 (12, 6, 0 and 23)", len(bars))
	}
	wantTitles := []string{"now, W1: 12 deploys", "before, W1: 6 deploys", "before, W2: 0 deploys", "now, W3: 23 deploys"}
	values := []float64{12, 6, 0, 23}
	perUnit := attr(t, bars[0], "height") / 12
	for i, b := range bars {
		if got := titleOf(b); got != wantTitles[i] {
			t.Errorf("bar %d title %q, want %q", i, got, wantTitles[i])
		}
		if h := attr(t, b, "height"); math.Abs(h-values[i]*perUnit) > 0.1 {
			t.Errorf("bar %d height %v, want %v (proportional to %v)", i, h, values[i]*perUnit, values[i])
		}
	}
	if !bars[0].HasClass("s0") || !bars[1].HasClass("s1") || !bars[3].HasClass("s0") {
		t.Error("series colour classes")
	}
	// The axis runs to 25 (TestScale), so the tallest bar, 23, is 23/25 of it.
	if len(svg.All("text", "legend")) != 2 {
		t.Error("no legend of two series")
	}
	if !hasText(svg, "text", "25") || !hasText(svg, "text", "deploys") {
		t.Error("axis lacks its top tick 25 or its unit")
	}
}

// TestBarsWidth: a small multiple is drawn narrower, with its bars inside it, and
// a Width out of range is held to the narrowest or the standard width.
func TestBarsWidth(t *testing.T) {
	for _, tt := range []struct{ asked, want float64 }{{360, 360}, {100, minWidth}, {5000, width}, {0, width}} {
		c := Bars{Title: "Lead time", Unit: "hours", Labels: []string{"before", "now"},
			Series: []Series{{Values: []float64{40, 44}}}, Width: tt.asked}
		svg := parseChart(t, c.SVG(), "bars", "Lead time")
		if got := attr(t, svg, "width"); got != tt.want {
			t.Errorf("Width %v: drawn %v wide, want %v", tt.asked, got, tt.want)
		}
		for _, b := range svg.All("rect", "bar") {
			if right := attr(t, b, "x") + attr(t, b, "width"); right > tt.want {
				t.Errorf("Width %v: a bar ends at %v, beyond the chart", tt.asked, right)
			}
		}
	}
}

func TestLinesBreakAtNoData(t *testing.T) {
	c := Lines{
		Title: "Load", YLabel: "items", Labels: []string{"a", "b", "c", "d", "e"},
		Series: []Series{{Name: "load", Values: []float64{1, 2, NoData, 4, 5}}},
	}
	svg := parseChart(t, c.SVG(), "lines", "Load")
	path := svg.First("path", "line")
	if path == nil {
		t.Fatal("no line")
	}
	// Two runs, a–b and d–e: two moves, each followed by one line segment.
	if d := path.Attr["d"]; strings.Count(d, "M") != 2 || strings.Count(d, "L") != 2 {
		t.Errorf("path %q, want two runs of two points", d)
	}
	if pts := svg.All("circle", "point"); len(pts) != 4 || titleOf(pts[2]) != "load, d: 4" {
		t.Errorf("%d points, want 4 with titles", len(pts))
	}
}

func TestHistogram(t *testing.T) {
	c := Histogram{
		Title: "Flow time", XLabel: "days", YLabel: "items",
		Bins:    []Bin{{"<1", 4}, {"1–2", 7}, {"2–5", 0}, {"≥5", 1}},
		Markers: []Marker{{"p50 1.4 d", 1.4}, {"p85 2.1 d", 2.1}, {"p95", NoData}},
	}
	svg := parseChart(t, c.SVG(), "histogram", "Flow time")
	bins := svg.All("rect", "bin")
	if len(bins) != 4 || titleOf(bins[1]) != "1–2: 7" {
		t.Fatalf("%d bins, want 4 with their counts", len(bins))
	}
	// Bins are of equal width; a marker at 1.4 bins lies 0.4 of a bin right of the
	// second bin's left edge.
	slot := attr(t, bins[1], "x") - attr(t, bins[0], "x")
	markers := svg.All("line", "marker")
	if len(markers) != 2 {
		t.Fatalf("%d markers, want 2 (p95 has no position)", len(markers))
	}
	if x, want := attr(t, markers[0], "x1"), attr(t, bins[1], "x")-1+0.4*slot; math.Abs(x-want) > 0.2 {
		t.Errorf("p50 at x %v, want %v", x, want)
	}
	if titleOf(markers[1]) != "p85 2.1 d" || !hasText(svg, "text", "p85 2.1 d") {
		t.Error("marker without its label")
	}
}

func TestStages(t *testing.T) {
	c := Stages{
		Title: "Value stream", Unit: "d",
		Stages: []Stage{{"Ready", 10, true}, {"In progress", 4, false}, {"Review", 6, true}, {"Deploy", 0.001, false}},
	}
	svg := parseChart(t, c.SVG(), "stages", "Value stream")
	if !hasText(svg, "text", "in d") {
		t.Error("the unit is not said")
	}
	boxes := svg.All("rect", "stage")
	if len(boxes) != 4 {
		t.Fatalf("%d boxes, want 4", len(boxes))
	}
	// Ready, In progress and Review share one scale; Deploy, 0.001, gets the
	// narrowest width instead of a sliver.
	perUnit := attr(t, boxes[0], "width") / 10
	for i, v := range []float64{10, 4, 6} {
		if w := attr(t, boxes[i], "width"); math.Abs(w-v*perUnit) > 0.1 {
			t.Errorf("stage %d width %v, want %v", i, w, v*perUnit)
		}
	}
	if w := attr(t, boxes[3], "width"); w != minStageWidth {
		t.Errorf("tiny stage width %v, want %v", w, minStageWidth)
	}
	// Wait is hatched with a pattern the chart defines; work is solid.
	pattern := svg.First("pattern")
	if pattern == nil || !boxes[0].HasClass("wait") || boxes[0].Attr["fill"] != "url(#"+pattern.Attr["id"]+")" {
		t.Errorf("wait box fill %q, pattern %v", boxes[0].Attr["fill"], pattern)
	}
	if !boxes[1].HasClass("work") || boxes[1].Attr["fill"] != "" {
		t.Error("work box not solid")
	}
	if titleOf(boxes[2]) != "Review: 6 d (wait)" {
		t.Errorf("title %q", titleOf(boxes[2]))
	}
	// 10 + 4 + 6 + 0.001 = 20.001, written with two decimals; wait 10 + 6.
	if !hasText(svg, "text", "Total 20 d · work 4 d · wait 16 d") {
		t.Error("no total beneath")
	}
}

func snakeFixture() Snake {
	return Snake{
		Title: "Toil snake", Unit: "s",
		Rows: []SnakeRow{
			{Label: "interrupts", Segments: []Segment{{3600, "ana 1"}, {7200, "ana 2"}, {1800, "bo"}}, Note: "3 entries", Marked: true},
			{Label: "releases", Segments: []Segment{{900, "cy 1"}, {NoData, "unknown"}, {300, "cy 2"}}, Note: "2 entries"},
			{Label: "migrations", Segments: []Segment{{6300, "dee"}}, Note: "1 entry"},
		},
	}
}

func TestSnake(t *testing.T) {
	svg := parseChart(t, snakeFixture().SVG(), "snake", "Toil snake")
	rows := svg.All("g", "row")
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	// Row totals: 12600, 1200 (NoData left out), 6300 s; the first is the longest
	// and spans the plot, which ends 8 units before the right edge (720 − 8).
	wantValues := [][]float64{{3600, 7200, 1800}, {900, 300}, {6300}}
	var perUnit, left float64
	for i, row := range rows {
		if row.Attr["data-row"] != strconv.Itoa(i) {
			t.Errorf("row %d data-row %q", i, row.Attr["data-row"])
		}
		segs := row.All("rect", "segment")
		if len(segs) != len(wantValues[i]) {
			t.Fatalf("row %d: %d segments, want %d", i, len(segs), len(wantValues[i]))
		}
		x := attr(t, segs[0], "x")
		if i == 0 {
			perUnit, left = (712-x)/12600, x
		} else if math.Abs(x-left) > 0.05 {
			t.Errorf("row %d starts at %v, row 0 at %v", i, x, left)
		}
		for j, seg := range segs {
			v := wantValues[i][j]
			if got := attr(t, seg, "data-value"); got != v {
				t.Errorf("row %d segment %d data-value %v, want %v", i, j, got, v)
			}
			if w := attr(t, seg, "width"); math.Abs(w-v*perUnit) > 0.1 {
				t.Errorf("row %d segment %d width %v, want %v on the shared scale", i, j, w, v*perUnit)
			}
			if sx := attr(t, seg, "x"); math.Abs(sx-x) > 0.1 {
				t.Errorf("row %d segment %d at %v, want %v (end to end)", i, j, sx, x)
			}
			x += v * perUnit
			if (j%2 == 1) != seg.HasClass("alt") {
				t.Errorf("row %d segment %d: neighbours not shaded alternately", i, j)
			}
		}
		if last := segs[len(segs)-1]; i == 0 && math.Abs(attr(t, last, "x")+attr(t, last, "width")-712) > 0.1 {
			t.Errorf("the longest row ends at %v, want 712", attr(t, last, "x")+attr(t, last, "width"))
		}
	}
	if got := titleOf(rows[0].All("rect", "segment")[1]); got != "ana 2" {
		t.Errorf("segment title %q", got)
	}
	if !rows[0].HasClass("marked") || rows[1].HasClass("marked") || !strings.Contains(rows[0].Text(), "★ worth automating") {
		t.Error("only the first row is marked, and says so")
	}
	if strings.Contains(rows[1].Text(), "worth automating") {
		t.Error("an unmarked row says it is worth automating")
	}
	if !strings.Contains(rows[2].Text(), "migrations") || !strings.Contains(rows[2].Text(), "1 entry") {
		t.Errorf("row 2 lacks its label or note: %q", rows[2].Text())
	}
}

// TestSnakeOfZeros: rows whose entries took no time are still rows (a count of
// entries is data), with no scale to explain.
func TestSnakeOfZeros(t *testing.T) {
	svg := parseChart(t, Snake{Title: "T", Rows: []SnakeRow{{Label: "a", Segments: []Segment{{0, "x"}}, Note: "1 entry"}}}.SVG(), "snake", "T")
	if rows := svg.All("g", "row"); len(rows) != 1 || !strings.Contains(rows[0].Text(), "1 entry") {
		t.Error("the row is not drawn")
	}
	if strings.Contains(svg.Text(), "One scale") || strings.Contains(svg.Text(), "No data") {
		t.Errorf("text %q", svg.Text())
	}
}

func TestNoData(t *testing.T) {
	for _, tt := range []struct {
		kind string
		svg  template.HTML
	}{
		{"bars", Bars{Title: "T", Labels: []string{"a"}}.SVG()},
		{"bars", Bars{Title: "T", Labels: []string{"a", "b"}, Series: []Series{{Name: "x", Values: []float64{NoData, NoData}}}}.SVG()},
		{"lines", Lines{Title: "T", Series: []Series{{Name: "x", Values: []float64{1}}}}.SVG()},
		{"histogram", Histogram{Title: "T", Markers: []Marker{{"p50", 1}}}.SVG()},
		{"stages", Stages{Title: "T", Stages: []Stage{{"a", NoData, false}}}.SVG()},
		{"snake", Snake{Title: "T"}.SVG()},
		{"snake", Snake{Title: "T", Rows: []SnakeRow{{Label: "a", Note: "0 entries"}}}.SVG()},
	} {
		svg := parseChart(t, tt.svg, tt.kind, "T")
		if !hasText(svg, "text", "No data for this chart.") {
			t.Errorf("%s: no 'no data' text in %s", tt.kind, tt.svg)
		}
		if n := len(svg.All("rect")) + len(svg.All("path")) + len(svg.All("line")); n > 0 {
			t.Errorf("%s: %d shapes drawn with no data", tt.kind, n)
		}
	}
}

// TestEscaping: every text the caller gives reaches the reader as written, and
// the SVG stays well-formed.
func TestEscaping(t *testing.T) {
	nasty := `<b>R&D "ops"</b>`
	for _, tt := range []struct {
		kind string
		svg  template.HTML
	}{
		{"bars", Bars{Title: nasty, Labels: []string{nasty}, Series: []Series{{Name: nasty, Values: []float64{1}}, {Name: "b", Values: []float64{2}}}}.SVG()},
		{"lines", Lines{Title: nasty, XLabel: nasty, YLabel: nasty, Labels: []string{nasty}, Series: []Series{{Name: nasty, Values: []float64{1}}}}.SVG()},
		{"histogram", Histogram{Title: nasty, XLabel: nasty, Bins: []Bin{{nasty, 1}}, Markers: []Marker{{nasty, 0.5}}}.SVG()},
		{"stages", Stages{Title: nasty, Unit: nasty, Stages: []Stage{{nasty, 1, true}}}.SVG()},
		{"snake", Snake{Title: nasty, Rows: []SnakeRow{{Label: nasty, Note: nasty, Segments: []Segment{{1, nasty}}}}}.SVG()},
		{"bars", Bars{Title: "control \x01 character"}.SVG()},
	} {
		title := nasty
		if strings.Contains(string(tt.svg), "control") {
			title = "control \uFFFD character"
		}
		svg := parseChart(t, tt.svg, tt.kind, title)
		if strings.Contains(string(tt.svg), "<b>") {
			t.Errorf("%s: markup in a label reached the SVG", tt.kind)
		}
		found := 0
		for _, n := range append(svg.All("text"), svg.All("title")...) {
			if strings.Contains(n.Text(), nasty) {
				found++
			}
		}
		if title == nasty && found < 3 {
			t.Errorf("%s: the label reads as written in %d places, want the title and at least two more", tt.kind, found)
		}
	}
}

func TestIDs(t *testing.T) {
	a, b := snakeFixture(), snakeFixture()
	b.Rows = b.Rows[:2]
	idOf := func(svg template.HTML) string {
		return regexp.MustCompile(`aria-labelledby="([^"]+)-heading"`).FindStringSubmatch(string(svg))[1]
	}
	if idOf(a.SVG()) != idOf(snakeFixture().SVG()) {
		t.Error("the same chart drawn twice has two ids")
	}
	if idOf(a.SVG()) == idOf(b.SVG()) {
		t.Error("two charts of one page share an id")
	}
	s := Stages{Title: "x", Stages: []Stage{{"a", 1, true}}}.SVG()
	if !strings.Contains(string(s), `id="`+idOf(s)+`-hatch"`) {
		t.Error("the hatch pattern's id is not the chart's")
	}
}

func TestStandalone(t *testing.T) {
	doc := string(Standalone(snakeFixture().SVG()))
	if !strings.HasPrefix(doc, `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration: %.60s", doc)
	}
	svg := parseChart(t, template.HTML(doc), "snake", "Toil snake")
	style := svg.First("style")
	if style == nil || !strings.Contains(style.Text(), "svg.chart") || !strings.Contains(style.Text(), "prefers-color-scheme:dark") {
		t.Fatal("no <style> with the charts' CSS and its dark mode")
	}
	if svg.Elements()[1] != style {
		t.Error("the <style> is not right after the title")
	}
}

// TestCSS: every class the charts draw with has a style, light and dark where it
// has a colour, and print has one too.
func TestCSS(t *testing.T) {
	for _, class := range []string{".s0", ".s5", ".work", ".wait", ".hatch", ".marked .segment", ".axis", ".grid", ".label", ".segment", ".marker", ".bin"} {
		if !strings.Contains(CSS, "svg.chart "+class+"{") && !strings.Contains(CSS, "svg.chart "+class+",") {
			t.Errorf("CSS lacks %s", class)
		}
	}
	dark := CSS[strings.Index(CSS, "prefers-color-scheme:dark"):]
	for _, class := range []string{".s0", ".s5", ".work", ".segment", ".hatch", ".marked .segment"} {
		if !strings.Contains(dark, class) {
			t.Errorf("dark mode lacks %s", class)
		}
	}
	if !strings.Contains(CSS, "@media print") || !strings.Contains(CSS, "text{fill:currentColor}") {
		t.Error("no print rules, or text not in the page's colour")
	}
	if strings.Contains(CSS, "]]>") || strings.Contains(CSS, "<") {
		t.Error("CSS would break the CDATA section of a standalone SVG")
	}
}

func hasText(n *browsertest.Node, name, want string) bool {
	for _, e := range n.All(name) {
		if strings.TrimSpace(e.Text()) == want {
			return true
		}
	}
	return false
}
