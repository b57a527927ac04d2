// Package browsertest helps tests check the HTML and SVG reports: it loads a page
// in headless Chromium (Debian's chromium package) and returns the document the
// browser built, with the errors it met, and it reads markup into a tree
// (ParseHTML, ParseXML) that tests walk instead of matching strings.
//
// Machines without Chromium skip the browser tests, naming the package to
// install; FLOWMETER_TEST_REQUIRE_CHROMIUM=1 makes that a failure, for CI. Each
// call starts one browser with a fresh profile in a temporary directory, offline
// (every host name fails to resolve), and stops it within 30 seconds.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireEnv names the variable that turns a missing Chromium from a skip into a
// failure.
const RequireEnv = "FLOWMETER_TEST_REQUIRE_CHROMIUM"

// timeout bounds one browser run; a page of a report loads in a second or two.
const timeout = 30 * time.Second

// Chromium returns the path of the Chromium browser, or skips the test (fails it
// when FLOWMETER_TEST_REQUIRE_CHROMIUM=1) when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const msg = "browsertest: Chromium not found; install Debian's chromium package (apt-get install chromium) to run this test"
	if os.Getenv(RequireEnv) == "1" {
		t.Fatal(msg + " (" + RequireEnv + "=1)")
	}
	t.Skip(msg)
	return ""
}

// Page is a page as Chromium loaded it.
type Page struct {
	// DOM is the document after load, serialised by the browser.
	DOM string
	// Errors are what went wrong: console messages and uncaught errors the
	// browser logged, and anything in the document that would make it less than
	// self-contained (a script, a resource fetched from elsewhere).
	Errors []string
}

// Load opens the HTML file in headless Chromium and returns its document after
// load with the errors found; a browser that fails to run fails the test.
func Load(t testing.TB, htmlPath string) Page {
	t.Helper()
	stdout, stderr := run(t, htmlPath, "--enable-logging=stderr", "--v=0", "--dump-dom")
	dom := string(stdout)
	if !strings.Contains(dom, "<html") {
		t.Fatalf("browsertest: Chromium returned no document for %s:\n%s", htmlPath, tail(stderr))
	}
	return Page{DOM: dom, Errors: append(logErrors(stderr), selfContainedErrors(t, dom)...)}
}

// DumpDOM opens the HTML file in headless Chromium, fails the test for every
// error Load finds, and returns the document after load.
func DumpDOM(t testing.TB, htmlPath string) string {
	t.Helper()
	page := Load(t, htmlPath)
	for _, e := range page.Errors {
		t.Errorf("browsertest: %s: %s", htmlPath, e)
	}
	return page.DOM
}

// Screenshot writes a PNG of the HTML file as a window of width × height pixels
// shows it, for the documentation's pictures.
func Screenshot(t testing.TB, htmlPath, pngPath string, width, height int) {
	t.Helper()
	abs, err := filepath.Abs(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	_, stderr := run(t, htmlPath, "--screenshot="+abs,
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "--hide-scrollbars")
	if info, err := os.Stat(abs); err != nil || info.Size() == 0 {
		t.Fatalf("browsertest: no screenshot of %s written to %s:\n%s", htmlPath, abs, tail(stderr))
	}
}

// run starts Chromium headless on the file with the extra flags and returns what
// it wrote.
func run(t testing.TB, htmlPath string, flags ...string) (stdout, stderr []byte) {
	t.Helper()
	browser := Chromium(t)
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(),
		// Offline: a page that reaches for the network fails to, rather than
		// depending on it.
		"--host-resolver-rules=MAP * ~NOTFOUND",
	}, flags...)
	args = append(args, (&url.URL{Scheme: "file", Path: abs}).String())

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	inOwnProcessGroup(cmd)
	// The browser's helper processes inherit its output; do not wait on them
	// long once it has exited.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("browsertest: Chromium did not finish with %s within %v:\n%s", htmlPath, timeout, tail(errOut.Bytes()))
		}
		t.Fatalf("browsertest: Chromium on %s: %v:\n%s", htmlPath, err, tail(errOut.Bytes()))
	}
	return out.Bytes(), errOut.Bytes()
}

// logErrors picks the lines of Chromium's log that speak of the page going wrong:
// console messages (the reports have no scripts, so any message is a problem),
// uncaught errors, and resources that failed to load.
func logErrors(stderr []byte) []string {
	var out []string
	for line := range strings.SplitSeq(string(stderr), "\n") {
		if strings.Contains(line, ":CONSOLE") || strings.Contains(line, "Uncaught") || strings.Contains(line, "Failed to load resource") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// externalURL finds CSS that fetches something: url() other than a reference
// within the document (url(#id)), and @import.
var externalURL = regexp.MustCompile(`(?i)url\(\s*['"]?[^#'"\s)]|@import`)

// selfContainedErrors lists what in a document would run code or fetch from
// elsewhere: scripts, embedded frames and objects, linked resources, sources
// other than data: URLs, and CSS urls.
func selfContainedErrors(t testing.TB, dom string) []string {
	var out []string
	root := ParseHTML(t, dom)
	root.walk(func(n *Node) {
		switch n.Name {
		case "script", "iframe", "object", "embed", "link":
			out = append(out, "the page has a <"+n.Name+">")
		}
		for _, attr := range []string{"src", "srcset", "poster", "data"} {
			if v, ok := n.Attr[attr]; ok && !strings.HasPrefix(v, "data:") {
				out = append(out, "<"+n.Name+" "+attr+"="+strconv.Quote(v)+"> loads a resource")
			}
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(n.Attr["href"])), "javascript:") {
			out = append(out, "<"+n.Name+"> links to a script")
		}
		for name, v := range n.Attr {
			if strings.HasPrefix(name, "on") {
				out = append(out, "<"+n.Name+" "+name+"> runs a script")
			}
			if name == "style" && externalURL.MatchString(v) {
				out = append(out, "<"+n.Name+" style> fetches "+externalURL.FindString(v))
			}
		}
		if n.Name == "style" && externalURL.MatchString(n.Text()) {
			out = append(out, "<style> fetches "+externalURL.FindString(n.Text()))
		}
	})
	return out
}

// tail is the end of a browser's log, enough to see why it failed.
func tail(log []byte) string {
	const keep = 4000
	if len(log) > keep {
		log = log[len(log)-keep:]
	}
	return string(log)
}
