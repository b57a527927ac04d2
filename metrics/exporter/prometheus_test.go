package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requirePrometheus is set in CI, where the Prometheus tools must be there.
const requirePrometheus = "FLOWMETER_TEST_REQUIRE_PROMETHEUS"

// findTool returns a Prometheus tool's path, or skips the test without it (fails
// when FLOWMETER_TEST_REQUIRE_PROMETHEUS=1).
func findTool(t *testing.T, name string, paths ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found on PATH (on Debian: apt-get install prometheus)", name)
	if os.Getenv(requirePrometheus) == "1" {
		t.Fatalf("%s, and %s=1", msg, requirePrometheus)
	}
	t.Skip(msg + "; skipping")
	return ""
}

// TestPromtoolCheckMetrics runs promtool's own linter on the whole exposition as
// Handler serves it: the exporter's families, encoded once per refresh, then the
// self-metrics and the Go and process collectors.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := findTool(t, "promtool", "/usr/bin/promtool")
	e, _ := fixtureExporter(t)
	s := NewSelf()
	observeSome(s)
	_, text := scrape(t, Handler(e, NewRegistry(nil, s)), "text/plain;version=0.0.4", "gzip")
	if !bytes.Contains(text, []byte("flowmeter_change_failure_ratio{")) || !bytes.Contains(text, []byte("flowmeter_collector_runs_total{")) {
		t.Fatalf("exposition lacks the flowmeter families:\n%s", text)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestPrometheusScrapes starts a real Prometheus server scraping the handler and
// waits until its query API returns a figure worked out by hand: alpha's api
// failed 2 of its 4 production deployments in the 30 days (fixture_test.go).
func TestPrometheusScrapes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	bin := findTool(t, "prometheus", "/usr/bin/prometheus")
	e, _ := fixtureExporter(t)
	target := httptest.NewServer(Handler(e, NewRegistry(nil, NewSelf())))
	defer target.Close()

	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: flowmeter
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: [%q]
`, strings.TrimPrefix(target.URL, "http://"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	}()

	client := &http.Client{Timeout: 2 * time.Second}
	base := "http://" + addr
	wait := func(what string, limit time.Duration, ok func() (bool, error)) {
		t.Helper()
		deadline := time.Now().Add(limit)
		var last error
		for time.Now().Before(deadline) {
			select {
			case err := <-exited:
				t.Fatalf("prometheus exited while waiting for %s: %v", what, err)
			default:
			}
			done, err := ok()
			if done {
				return
			}
			last = err
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("no %s within %v (last: %v)", what, limit, last)
	}

	wait("/-/ready", 30*time.Second, func() (bool, error) {
		resp, err := client.Get(base + "/-/ready")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("status %s", resp.Status)
	})

	query := `flowmeter_change_failure_ratio{team="alpha",window="30d",service="api"}`
	wait(query, 30*time.Second, func() (bool, error) {
		v, err := instantQuery(client, base, query)
		if err != nil {
			return false, err
		}
		if v != 0.5 {
			return false, fmt.Errorf("value %v, want 0.5", v)
		}
		return true, nil
	})
	// The team figure beside it: 2 of alpha's 5 production deployments in 30 days.
	if v, err := instantQuery(client, base, `flowmeter_change_failure_ratio{team="alpha",window="30d",service="all"}`); err != nil || v != 0.4 {
		t.Errorf("alpha's 30d change failure ratio: %v, %v; want 0.4", v, err)
	}
}

// instantQuery runs a PromQL query that must return one sample, and returns its
// value.
func instantQuery(client *http.Client, base, query string) (float64, error) {
	resp, err := client.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("query %s: %s", body.Status, body.Error)
	}
	if len(body.Data.Result) != 1 {
		return 0, fmt.Errorf("%d series", len(body.Data.Result))
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// freeAddr returns a 127.0.0.1 address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
