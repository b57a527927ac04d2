package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowmeter/flowmeter/reports/browsertest"
)

var screenshots = flag.String("screenshots", "", "write PNG screenshots of the demo's HTML reports into this directory (the README's are in docs/)")

// TestReportsInChromium writes the demo organisation's three HTML reports for one
// team and a full quarter, as `flowmeter report --format html` does, and opens each
// in headless Chromium: each must load without an error or a request elsewhere, and
// show its heading, the team's section and its charts. With -screenshots DIR it
// also takes the pictures the README shows.
func TestReportsInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("generates two quarters of data and starts a browser per report")
	}
	browsertest.Chromium(t)
	dir := t.TempDir()
	if _, err := runInProcess(t, "demo", "--dir", dir, "--seed", "1", "--end", "2026-06-30", "--no-serve"); err != nil {
		t.Fatal(err)
	}
	configPath := filepath.Join(dir, demoConfigFile)
	for _, tt := range []struct {
		kind, h1 string
		// charts is the least number of charts the page draws for the team.
		charts     int
		screenshot string
	}{
		{"dora", "DORA report", 4, ""},
		{"flow", "Flow review 2026Q2", 5, "flow-review.png"},
		{"toil", "Toil report", 1, "toil-snake.png"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			path := filepath.Join(dir, tt.kind+".html")
			if _, err := runInProcess(t, "report", tt.kind, "--config", configPath, "--quarter", "2026Q2",
				"--team", "payments", "--format", "html", "--out", path); err != nil {
				t.Fatal(err)
			}
			page := browsertest.Load(t, path)
			if len(page.Errors) > 0 {
				t.Errorf("the page did not load cleanly:\n%s", strings.Join(page.Errors, "\n"))
			}
			doc := browsertest.ParseHTML(t, page.DOM)
			if h1 := doc.First("h1"); h1 == nil || strings.TrimSpace(h1.Text()) != tt.h1 {
				t.Errorf("the page's heading is not %q", tt.h1)
			}
			found := false
			for _, h2 := range doc.All("h2") {
				found = found || strings.Contains(h2.Text(), "payments")
			}
			if !found {
				t.Error("no section heading names payments")
			}
			if n := len(doc.All("svg", "chart")); n < tt.charts {
				t.Errorf("%d charts drawn, want at least %d", n, tt.charts)
			}
			for _, svg := range doc.All("svg", "chart") {
				if svg.First("title") == nil {
					t.Error("a chart has no title")
				}
			}
			if *screenshots != "" && tt.screenshot != "" {
				if err := os.MkdirAll(*screenshots, 0o755); err != nil {
					t.Fatal(err)
				}
				browsertest.Screenshot(t, path, filepath.Join(*screenshots, tt.screenshot), 1200, 2400)
			}
		})
	}
}
