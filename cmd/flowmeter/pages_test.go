package main

import (
	"context"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/reports/pages"
)

// fetch sends a request with the headers given and returns the status, the
// response's headers and its body.
func fetch(t testing.TB, method, target string, header http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

var pageLink = regexp.MustCompile(`href="([^"]*)"`)

// pageLinks are the addresses a page links to, resolved against its own.
func pageLinks(t *testing.T, page, body string) []string {
	t.Helper()
	base, err := url.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range pageLink.FindAllStringSubmatch(body, -1) {
		ref, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, base.ResolveReference(ref).String())
	}
	return out
}

// TestDemoServesThePages runs the demo as a user does, serving: it prints the
// address of the index, and every link of the index opens a report page over the
// demo organisation's facts. Wrong parameters get the command line's messages.
func TestDemoServesThePages(t *testing.T) {
	if testing.Short() {
		t.Skip("generates two quarters of data and serves them")
	}
	dir, addr := t.TempDir(), freeAddr(t)
	var stdout syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, &environment{stdout: &stdout, stderr: io.Discard},
			[]string{"--dir", dir, "--seed", "2", "--end", "2026-06-30", "--listen", addr})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	index := "http://" + addr + "/"
	waitUntil(t, "the demo prints the index's address", func() bool { return strings.Contains(stdout.String(), "\nReports: "+index+"\n") })

	code, header, body := fetch(t, http.MethodGet, index, nil)
	if code != http.StatusOK || header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET %s = %d %s\n%s", index, code, header.Get("Content-Type"), body)
	}
	cfg, _, err := loadConfig(filepath.Join(dir, demoConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, team := range cfg.TeamNames() {
		if !strings.Contains(body, `<th scope="row">`+team+`</th>`) {
			t.Errorf("the index does not list team %s", team)
		}
	}
	for _, tt := range []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "reports/flow?team=nosuch&quarter=2026Q2", 404, `report flow: no team "nosuch" in ` + cfg.Path + " (teams: payments, "},
		{"GET", "reports/toil?team=payments&quarter=2026Q5", 400, `report toil: --quarter "2026Q5": want a quarter like 2026Q3`},
		{"GET", "reports/dora?from=2026-06-30&to=2026-04-01", 400, "report dora: --from 2026-06-30 is not before --to 2026-04-01"},
		{"GET", "reports/toil?format=svg", 400, "report toil: --format svg draws one team's toil snake: give --team"},
		{"POST", "reports/dora", 405, "POST is not served here"},
		{"POST", "", 405, "POST is not served here"},
	} {
		code, _, body := fetch(t, tt.method, index+tt.path, nil)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s /%s = %d %q, want %d and %q", tt.method, tt.path, code, body, tt.code, tt.want)
		}
	}
	links := pageLinks(t, index, body)
	// Five links for the organisation and for each team of the demo (which has no
	// facts of no team): DORA, then flow and toil of two quarters.
	if want := 5 * (len(cfg.Teams) + 1); len(links) != want {
		t.Errorf("the index has %d links, want %d:\n%s", len(links), want, strings.Join(links, "\n"))
	}
	for _, link := range links {
		code, header, page := fetch(t, http.MethodGet, link, nil)
		if code != http.StatusOK || header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(page, "<h1") {
			t.Errorf("GET %s = %d %s, want an HTML page with a heading:\n%.300s", link, code, header.Get("Content-Type"), page)
		}
	}
}

// pagesAuthConfig writes a config whose pages take a bearer token and basic auth,
// both from environment variables.
func pagesAuthConfig(t *testing.T) string {
	t.Helper()
	t.Setenv("FLOWMETER_TEST_PAGES_TOKEN", "pages-t0ken")
	t.Setenv("FLOWMETER_TEST_PAGES_PASSWORD", "pages-pa55")
	return writeFile(t, t.TempDir(), "flowmeter.yaml", `store:
  sqlite:
    path: f.db
server:
  auth:
    bearer_token_env: FLOWMETER_TEST_PAGES_TOKEN
    basic_user: ops
    basic_password_env: FLOWMETER_TEST_PAGES_PASSWORD
teams:
  - name: payments
`)
}

// TestPagesNeedCredentials: with server.auth, the pages answer only a request
// with its credentials; /metrics and the health endpoints stay as they were.
func TestPagesNeedCredentials(t *testing.T) {
	r := startServe(t, pagesAuthConfig(t), serveOptions{})
	basic := func(user, password string) http.Header {
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		req.SetBasicAuth(user, password)
		return req.Header
	}
	for _, path := range []string{"/", "/reports/dora?team=payments"} {
		for name, header := range map[string]http.Header{
			"no credentials": nil,
			"a wrong token":  {"Authorization": {"Bearer pages-t0ken-not"}},
			"wrong password": basic("ops", "pages-pa56"),
			"wrong user":     basic("admin", "pages-pa55"),
			"token as basic": basic("ops", "pages-t0ken"),
		} {
			code, h, body := fetch(t, http.MethodGet, r.base+path, header)
			if code != http.StatusUnauthorized || h.Get("WWW-Authenticate") != `Basic realm="flowmeter", charset="UTF-8"` || strings.Contains(body, "payments") {
				t.Errorf("GET %s with %s = %d, WWW-Authenticate %q: %q", path, name, code, h.Get("WWW-Authenticate"), body)
			}
		}
	}
	for name, header := range map[string]http.Header{
		"the token":    {"Authorization": {"Bearer pages-t0ken"}},
		"basic auth":   basic("ops", "pages-pa55"),
		"bearer token": {"Authorization": {"bearer pages-t0ken"}},
	} {
		if code, _, body := fetch(t, http.MethodGet, r.base+"/", header); code != http.StatusOK || !strings.Contains(body, "payments") {
			t.Errorf("GET / with %s = %d:\n%s", name, code, body)
		}
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if code, _, _ := fetch(t, http.MethodGet, r.base+path, nil); code != http.StatusOK {
			t.Errorf("GET %s without credentials = %d, want 200 as before", path, code)
		}
	}
}

// TestPagesListenRule: beyond loopback, the daemon does not start without the
// pages' credentials, and says why and what to do; config check says so too.
func TestPagesListenRule(t *testing.T) {
	open := pages.Credentials{}
	guarded := pages.Credentials{BearerToken: "t"}
	for _, listen := range []string{"0.0.0.0:9420", ":9420", "[::]:9420", "192.168.1.10:9420", "flowmeter.internal:9420"} {
		if err := checkPagesGuarded("server.listen", listen, open); err == nil {
			t.Errorf("%s without credentials: no error", listen)
		}
		if err := checkPagesGuarded("server.listen", listen, guarded); err != nil {
			t.Errorf("%s with credentials: %v", listen, err)
		}
	}
	for _, listen := range []string{"127.0.0.1:9420", "127.0.0.2:9420", "[::1]:9420", "localhost:9420"} {
		if err := checkPagesGuarded("server.listen", listen, open); err != nil {
			t.Errorf("%s without credentials: %v", listen, err)
		}
	}

	_, port, _ := net.SplitHostPort(freeAddr(t))
	listen := "0.0.0.0:" + port
	unguarded := writeFile(t, t.TempDir(), "flowmeter.yaml", "store:\n  sqlite:\n    path: f.db\nserver:\n  listen: "+listen+"\n")
	err := serve(context.Background(), &environment{stdout: io.Discard, stderr: io.Discard}, unguarded, serveOptions{})
	want := "run: server.listen " + listen + " is not a loopback address and the report pages name people: " +
		"configure server.auth (bearer_token_env or basic_user with basic_password_env) or listen on 127.0.0.1"
	if err == nil || err.Error() != want {
		t.Errorf("serve on %s without server.auth: %v\nwant %s", listen, err, want)
	}
	if _, err := runInProcess(t, "config", "check", "--config", unguarded); err == nil || err.Error() != strings.Replace(want, "run:", "config check:", 1) {
		t.Errorf("config check of a config listening on %s without server.auth: %v", listen, err)
	}
	code, _, stderr := runMain(t, "run --config "+unguarded+" --listen :"+port)
	if code != 1 || !strings.Contains(stderr, "run: --listen :"+port+" is not a loopback address") {
		t.Errorf("run --listen :%s without server.auth: exit %d, %q", port, code, stderr)
	}

	// With credentials it starts there, and the pages ask for them.
	r := startServe(t, pagesAuthConfig(t), serveOptions{listen: listen})
	if code, _, _ := fetch(t, http.MethodGet, r.base+"/", nil); code != http.StatusUnauthorized {
		t.Errorf("GET / on %s without credentials = %d, want 401", listen, code)
	}
	if code, _, _ := fetch(t, http.MethodGet, r.base+"/", http.Header{"Authorization": {"Bearer pages-t0ken"}}); code != http.StatusOK {
		t.Errorf("GET / on %s with the token = %d, want 200", listen, code)
	}
}

// TestPagesSecretAtStart: a secret server.auth names that cannot be read stops
// the daemon at start, naming the setting; config check says so too.
func TestPagesSecretAtStart(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ auth, want string }{
		{"    bearer_token_env: FLOWMETER_TEST_NO_SUCH_TOKEN\n", "run: server.auth.bearer_token_env: environment variable FLOWMETER_TEST_NO_SUCH_TOKEN is not set"},
		{"    basic_user: ops\n    basic_password_file: " + filepath.Join(dir, "none") + "\n", "run: server.auth.basic_password_file: cannot read secret file"},
	} {
		cfg := writeFile(t, dir, "flowmeter.yaml", "store:\n  sqlite:\n    path: f.db\nserver:\n  auth:\n"+tt.auth)
		err := serve(context.Background(), &environment{stdout: io.Discard, stderr: io.Discard}, cfg, serveOptions{listen: freeAddr(t)})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.auth, err, tt.want)
		}
		_, err = runInProcess(t, "config", "check", "--config", cfg)
		if want := strings.Replace(tt.want, "run:", "config check:", 1); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("config check, %q: %v, want %q", tt.auth, err, want)
		}
	}
}

// TestPagesBeforeTheStore: until the store is connected, the pages say so with a
// 503; then they answer.
func TestPagesBeforeTheStore(t *testing.T) {
	configPath := writeFile(t, t.TempDir(), "flowmeter.yaml", "store:\n  sqlite:\n    path: data/f.db\nteams:\n  - name: payments\n")
	r := startServe(t, configPath, serveOptions{retryMin: 50 * time.Millisecond, retryMax: 100 * time.Millisecond})
	for _, path := range []string{"/", "/reports/toil?team=payments&format=svg"} {
		code, _, body := fetch(t, http.MethodGet, r.base+path, nil)
		if code != http.StatusServiceUnavailable || body != "the reports cannot be built yet: store not connected\n" {
			t.Errorf("GET %s with the store down = %d %q", path, code, body)
		}
	}
	if err := os.Mkdir(filepath.Join(filepath.Dir(configPath), "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the index answers", func() bool { code, _, _ := fetch(t, http.MethodGet, r.base+"/", nil); return code == http.StatusOK })
}
