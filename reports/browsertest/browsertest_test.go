package browsertest

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// recorder stands in for a test to see whether a helper fails it.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.failed = true; runtime.Goexit() }

// fails reports whether f fails the test it is given.
func fails(t *testing.T, f func(testing.TB)) bool {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.failed
}

func TestParseHTML(t *testing.T) {
	doc := ParseHTML(t, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>A &amp; B</title></head>`+
		`<body><h1 class="x big">Toil&nbsp;report</h1><br><table><tr><td class="num">3</td></tr></table>`+
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><g class="row" data-row="0"><rect class="segment" data-value="5"></rect></g></svg></body></html>`)
	if got := doc.First("title").Text(); got != "A & B" {
		t.Errorf("title %q, want the entity decoded", got)
	}
	if h := doc.All("h1", "big", "x"); len(h) != 1 || h[0].Text() != "Toil\u00a0report" {
		t.Errorf("h1 with both classes: %v", h)
	}
	if doc.First("h1", "small") != nil {
		t.Error("found an h1 by a class it does not have")
	}
	if r := doc.First("rect", "segment"); r == nil || r.Attr["data-value"] != "5" {
		t.Errorf("rect %v", r)
	}
	if n := len(doc.First("body").Elements()); n != 4 {
		t.Errorf("body has %d child elements, want h1, br, table and svg", n)
	}
	if !fails(t, func(tb testing.TB) { ParseHTML(tb, `<html><body></div></body></html>`) }) {
		t.Error("the end of a <div> never opened passed")
	}
}

func TestParseXML(t *testing.T) {
	svg := ParseXML(t, `<svg xmlns="http://www.w3.org/2000/svg"><title>x &lt; y</title><text>a</text></svg>`)
	if got := svg.First("title").Text(); got != "x < y" {
		t.Errorf("title %q", got)
	}
	for _, bad := range []string{`<svg><rect></svg>`, `<svg><title>a & b</title></svg>`, `<svg><br></svg>`} {
		if !fails(t, func(tb testing.TB) { ParseXML(tb, bad) }) {
			t.Errorf("%s passed as well-formed XML", bad)
		}
	}
}

func TestSelfContained(t *testing.T) {
	for _, tt := range []struct {
		html string
		want int
	}{
		{`<html><body><svg><rect fill="url(#chart-1-hatch)"></rect></svg><a href="https://tracker.example/OPS-1">OPS-1</a></body></html>`, 0},
		{`<html><body><script>1</script></body></html>`, 1},
		{`<html><head><link rel="stylesheet" href="x.css"></head></html>`, 1},
		{`<html><body><img src="https://example.com/a.png"></body></html>`, 1},
		{`<html><body><img src="data:image/png;base64,AA=="></body></html>`, 0},
		{`<html><head><style>body{background:url("https://example.com/a.png")}</style></head></html>`, 1},
		{`<html><head><style>@import "x.css";</style></head></html>`, 1},
		{`<html><body><p onclick="x()">a</p></body></html>`, 1},
		{`<html><body><a href="javascript:x()">a</a></body></html>`, 1},
	} {
		if got := selfContainedErrors(t, tt.html); len(got) != tt.want {
			t.Errorf("%s: errors %q, want %d", tt.html, got, tt.want)
		}
	}
}

func TestLogErrors(t *testing.T) {
	log := "[1:1:1130/210157.9:WARNING:ui/base/idle/idle_linux.cc:111] None of the known D-Bus services could be used.\n" +
		"[1:1:1130/210157.9:INFO:CONSOLE:1] \"boom\", source: file:///tmp/b.html (1)\n" +
		"[1:1:1130/210157.9:INFO:CONSOLE:1] \"Uncaught ReferenceError: f is not defined\", source: file:///tmp/b.html (1)\n"
	if got := logErrors([]byte(log)); len(got) != 2 || !strings.Contains(got[0], "boom") {
		t.Errorf("errors %q, want the two console lines", got)
	}
}

func writePage(t *testing.T, html string) string {
	path := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(path, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoad runs the browser: a clean page loads without errors, and a page with a
// failing script reports the script and its console errors.
func TestLoad(t *testing.T) {
	Chromium(t)
	clean := Load(t, writePage(t, `<!DOCTYPE html><html><head><title>ok</title><style>h1{color:red}</style></head><body><h1>Hello</h1></body></html>`))
	if len(clean.Errors) > 0 {
		t.Errorf("clean page: %q", clean.Errors)
	}
	if h := ParseHTML(t, clean.DOM).First("h1"); h == nil || h.Text() != "Hello" {
		t.Errorf("DOM %s", clean.DOM)
	}

	broken := Load(t, writePage(t, `<!DOCTYPE html><html><body><p id="p">a</p><script>document.getElementById("p").textContent="b"; console.error("boom"); missing();</script></body></html>`))
	if p := ParseHTML(t, broken.DOM).First("p"); p == nil || p.Text() != "b" {
		t.Errorf("the DOM is not the one after load: %s", broken.DOM)
	}
	for _, want := range []string{"<script>", "boom", "Uncaught ReferenceError"} {
		if !slices.ContainsFunc(broken.Errors, func(e string) bool { return strings.Contains(e, want) }) {
			t.Errorf("errors %q lack %q", broken.Errors, want)
		}
	}
}

func TestScreenshot(t *testing.T) {
	Chromium(t)
	png := filepath.Join(t.TempDir(), "shot.png")
	Screenshot(t, writePage(t, `<!DOCTYPE html><html><body><h1>Hello</h1></body></html>`), png, 400, 300)
	data, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("%s is not a PNG", png)
	}
}
