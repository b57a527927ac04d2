package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/exporter"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
	"github.com/flowmeter/flowmeter/store/spool"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// daemonRun is a daemon started by startServe, stopped when the test ends.
type daemonRun struct {
	base   string // http://addr
	stdout *syncBuffer
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// stop shuts the daemon down and returns what serve returned.
func (r *daemonRun) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup's stop
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return within 20 s of the shutdown")
		return nil
	}
}

// startServe runs serve on a free loopback port (unless opts names a listener) and
// waits until /healthz answers.
func startServe(t *testing.T, configPath string, opts serveOptions) *daemonRun {
	t.Helper()
	if opts.listen == "" {
		opts.listen = freeAddr(t)
	}
	_, port, _ := net.SplitHostPort(opts.listen)
	r := &daemonRun{base: "http://127.0.0.1:" + port, stdout: &syncBuffer{}, logs: &syncBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- serve(ctx, &environment{stdout: r.stdout, stderr: r.logs}, configPath, opts) }()
	t.Cleanup(func() { r.stop(t) })
	deadline := time.Now().Add(15 * time.Second)
	for {
		if code, _ := get(t, r.base+"/healthz"); code == 200 {
			return r
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("serve returned %v before serving /healthz", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz does not answer within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// postDeploy posts a deployment to the generic webhook with the token the webhook
// configs below use, and returns the status.
func postDeploy(t *testing.T, base, id string) int {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"service":"api","environment":"production","status":"success","finished_at":"2026-05-04T09:00:00Z"}`, id)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/deploy", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// webhookConfig writes a config whose only source is a webhook, with the store
// section given.
func webhookConfig(t *testing.T, storeSection string) string {
	t.Helper()
	t.Setenv("FLOWMETER_TEST_HOOK_TOKEN", "s3cret")
	return writeFile(t, t.TempDir(), "flowmeter.yaml", storeSection+`sources:
  - name: ci
    webhook:
      token_env: FLOWMETER_TEST_HOOK_TOKEN
`)
}

func count(t *testing.T, s store.Store, kind schema.Kind) int64 {
	t.Helper()
	n, err := s.Count(context.Background(), kind, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// flakyStore refuses writes while down is set, as a store does during an outage.
type flakyStore struct {
	store.Store
	down atomic.Bool
}

func (f *flakyStore) Write(ctx context.Context, b *schema.Batch) error {
	if f.down.Load() {
		return errors.New("store down")
	}
	return f.Store.Write(ctx, b)
}

// TestSpooledEventsReachTheFacts checks that events the spool writes once the store
// is back are derived without waiting for another event, with only webhook sources.
func TestSpooledEventsReachTheFacts(t *testing.T) {
	configPath := webhookConfig(t, "store:\n  sqlite:\n    path: f.db\n")
	flaky := &flakyStore{}
	open := func(ctx context.Context, cfg *config.Config) (store.Store, error) {
		st, err := openMigrated(ctx, cfg)
		if err != nil {
			return nil, err
		}
		flaky.Store = st
		return flaky, nil
	}
	r := startServe(t, configPath, serveOptions{open: open})
	flaky.down.Store(true)
	const events = 20
	for i := range events {
		if code := postDeploy(t, r.base, fmt.Sprintf("d%d", i)); code != http.StatusAccepted {
			t.Fatalf("event %d while the store is down got %d, want 202", i, code)
		}
	}
	flaky.down.Store(false)
	waitUntil(t, "the spool is replayed", func() bool { return count(t, flaky, schema.KindDeployment) == events })
	waitUntil(t, "every replayed deployment has its fact", func() bool { return count(t, flaky, schema.KindDeploymentFact) == events })
}

// TestRunStartsWhileTheStoreIsDown starts the daemon with its SQLite directory
// missing (a volume not mounted yet): it serves health, takes webhooks and says it
// is not ready, then connects, migrates, replays and derives once the directory is
// there.
func TestRunStartsWhileTheStoreIsDown(t *testing.T) {
	configPath := webhookConfig(t, "store:\n  sqlite:\n    path: data/f.db\n")
	var opened atomic.Pointer[store.Store]
	open := func(ctx context.Context, cfg *config.Config) (store.Store, error) {
		st, err := openMigrated(ctx, cfg)
		if err == nil {
			opened.Store(&st)
		}
		return st, err
	}
	r := startServe(t, configPath, serveOptions{open: open, retryMin: 50 * time.Millisecond, retryMax: 100 * time.Millisecond})

	code, body := get(t, r.base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "not ready: store not connected: ") || !strings.Contains(body, "does not exist") {
		t.Errorf("/readyz with the store down = %d %q; want 503 naming the store and, asked from loopback, why", code, body)
	}
	if _, m := get(t, r.base+"/metrics"); !strings.Contains(m, "\nflowmeter_ready 0\n") {
		t.Errorf("/metrics with the store down lacks flowmeter_ready 0")
	}
	if code := postDeploy(t, r.base, "during-outage"); code != http.StatusAccepted {
		t.Fatalf("a webhook with the store down got %d, want 202", code)
	}
	if !strings.Contains(r.logs.String(), "cannot connect to the store") {
		t.Errorf("the failed connection is not logged:\n%s", r.logs)
	}

	if err := os.Mkdir(filepath.Join(filepath.Dir(configPath), "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "/readyz says ready", func() bool { code, _ := get(t, r.base+"/readyz"); return code == 200 })
	st := *opened.Load()
	waitUntil(t, "the spooled deployment is derived", func() bool { return count(t, st, schema.KindDeploymentFact) == 1 })
	if !strings.Contains(r.logs.String(), "store connected") {
		t.Errorf("the connection is not logged:\n%s", r.logs)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// TestRunStartsBeforeClickHouse starts the daemon against a ClickHouse address that
// refuses connections, then makes a real server answer there.
func TestRunStartsBeforeClickHouse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon against ClickHouse")
	}
	opts := clickhousetest.Open(t)
	later := freeAddr(t) // nothing listens here yet
	configPath := webhookConfig(t, fmt.Sprintf("store:\n  clickhouse:\n    addr: %s\n    database: %s\n    dial_timeout: 1s\n", later, opts.Database))
	r := startServe(t, configPath, serveOptions{retryMin: 100 * time.Millisecond, retryMax: 200 * time.Millisecond})
	if code, _ := get(t, r.base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before ClickHouse answers = %d, want 503", code)
	}
	if code := postDeploy(t, r.base, "before-clickhouse"); code != http.StatusAccepted {
		t.Fatalf("a webhook before ClickHouse answers got %d, want 202", code)
	}
	waitUntil(t, "a second connection attempt", func() bool { return strings.Count(r.logs.String(), "cannot connect to the store") >= 2 })

	forward(t, later, opts.Addr)
	waitUntil(t, "/readyz says ready", func() bool { code, _ := get(t, r.base+"/readyz"); return code == 200 })
	ch, err := clickhouse.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	waitUntil(t, "the spooled deployment is derived", func() bool { return count(t, ch, schema.KindDeploymentFact) == 1 })
}

// forward makes addr answer as target does, from now on.
func forward(t *testing.T, addr, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				go io.Copy(u, c)
				io.Copy(c, u)
			}()
		}
	}()
}

// pingStore is a store whose Ping fails with an error naming an internal address.
type pingStore struct{ store.Store }

func (pingStore) Ping(context.Context) error {
	return errors.New("dial tcp 10.1.2.3:9000: connection refused")
}

func TestReadyz(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name   string
		state  *storeState
		spool  spool.Stats
		remote string
		code   int
		body   string
	}{
		{"never tried", nil, spool.Stats{}, "127.0.0.1:5000", 503, "not ready: store not connected\n"},
		{"down, asked from this host", &storeState{err: errors.New("dial tcp 10.1.2.3:9000: connection refused")}, spool.Stats{}, "127.0.0.1:5000", 503,
			"not ready: store not connected: dial tcp 10.1.2.3:9000: connection refused\n"},
		{"down, asked from IPv6 loopback", &storeState{err: errors.New("dial tcp 10.1.2.3:9000: connection refused")}, spool.Stats{}, "[::1]:5000", 503,
			"not ready: store not connected: dial tcp 10.1.2.3:9000: connection refused\n"},
		{"down, asked from elsewhere", &storeState{err: errors.New("dial tcp 10.1.2.3:9000: connection refused")}, spool.Stats{}, "203.0.113.7:5000", 503,
			"not ready: store not connected\n"},
		{"not answering, asked from elsewhere", &storeState{st: pingStore{st}}, spool.Stats{}, "203.0.113.7:5000", 503, "not ready: store not answering\n"},
		{"not answering, asked from this host", &storeState{st: pingStore{st}}, spool.Stats{}, "127.0.0.1:5000", 503,
			"not ready: store not answering: dial tcp 10.1.2.3:9000: connection refused\n"},
		{"spool waiting too long", &storeState{st: st}, spool.Stats{Pending: 3, OldestPending: now.Add(-10 * time.Minute)}, "203.0.113.7:5000", 503,
			"not ready: 3 spooled batches, the oldest waiting 10m0s for the store (server.max_spool_age 5m0s)\n"},
		{"spool waiting less than the limit", &storeState{st: st}, spool.Stats{Pending: 3, OldestPending: now.Add(-time.Minute)}, "203.0.113.7:5000", 200, "ready\n"},
		{"connected, empty spool", &storeState{st: st}, spool.Stats{}, "203.0.113.7:5000", 200, "ready\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &daemon{maxSpoolAge: 5 * time.Minute, spoolBacklog: func() (int, time.Time) { return tc.spool.Pending, tc.spool.OldestPending },
				registry: exporter.NewRegistry(exporter.New(), exporter.NewSelf())}
			if tc.state != nil {
				d.st.Store(tc.state)
			}
			req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
			req.RemoteAddr = tc.remote
			rec := httptest.NewRecorder()
			d.routes().ServeHTTP(rec, req)
			if body := rec.Body.String(); rec.Code != tc.code || body != tc.body {
				t.Errorf("/readyz = %d %q, want %d %q", rec.Code, body, tc.code, tc.body)
			}
		})
	}
}

// TestRunLogsTheSpoolBacklogAtStart leaves an event in the spool of a daemon whose
// store never answers, and checks that the next start says so.
func TestRunLogsTheSpoolBacklogAtStart(t *testing.T) {
	configPath := webhookConfig(t, "store:\n  sqlite:\n    path: f.db\n")
	down := func(context.Context, *config.Config) (store.Store, error) {
		return nil, errors.New("connection refused")
	}
	first := startServe(t, configPath, serveOptions{open: down})
	if !strings.Contains(first.logs.String(), "spool_pending=0") {
		t.Errorf("the start-up line does not give the empty spool:\n%s", first.logs)
	}
	if code := postDeploy(t, first.base, "left-behind"); code != http.StatusAccepted {
		t.Fatalf("webhook got %d, want 202", code)
	}
	if err := first.stop(t); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.logs.String(), "spooled events stay on disk") {
		t.Errorf("shutdown does not say the spool keeps the event:\n%s", first.logs)
	}
	second := startServe(t, configPath, serveOptions{open: down})
	var running string
	for _, line := range strings.Split(second.logs.String(), "\n") {
		if strings.Contains(line, `msg="flowmeter running"`) {
			running = line
		}
	}
	if !strings.Contains(running, "spool_pending=1") {
		t.Errorf("the start-up line %q does not give the spooled batch\n%s", running, second.logs)
	}
}

// TestListenBeyondLoopbackWarns checks the warning that names what a listener on
// every interface exposes (which needs the pages' credentials), and that loopback
// gets none.
func TestListenBeyondLoopbackWarns(t *testing.T) {
	t.Setenv("FLOWMETER_TEST_PAGES_TOKEN", "pages-s3cret")
	configPath := webhookConfig(t, "store:\n  sqlite:\n    path: f.db\nserver:\n  auth:\n    bearer_token_env: FLOWMETER_TEST_PAGES_TOKEN\n")
	_, port, _ := net.SplitHostPort(freeAddr(t))
	open := startServe(t, configPath, serveOptions{listen: "0.0.0.0:" + port})
	logs := open.logs.String()
	if !strings.Contains(logs, "level=WARN msg=\"listening beyond this host") || !strings.Contains(logs, "the report pages ask for server.auth's credentials") ||
		!strings.Contains(logs, "exposed=/,/reports/,/metrics,/healthz,/readyz,/webhooks/deploy,/webhooks/flux,/webhooks/incident") {
		t.Errorf("listening on every interface, the log does not warn of what is exposed:\n%s", logs)
	}
	open.stop(t)

	local := startServe(t, configPath, serveOptions{})
	if strings.Contains(local.logs.String(), "listening beyond this host") {
		t.Errorf("listening on loopback warned:\n%s", local.logs)
	}
}

// TestRunLogLevelAndFormat checks that the flag beats the config, the config beats
// the default, debug lines of the webhooks are printed at debug, and JSON is JSON.
func TestRunLogLevelAndFormat(t *testing.T) {
	t.Setenv("FLOWMETER_TEST_HOOK_TOKEN", "s3cret")
	for _, tc := range []struct {
		name, log string
		flags     []string
		running   bool // the info line at start
		debug     bool // the webhook's debug line
		json      bool
	}{
		{"defaults", "", nil, true, false, false},
		{"debug flag", "", []string{"--log-level", "debug"}, true, true, false},
		{"warn in the config", "log:\n  level: warn\n", nil, false, false, false},
		{"the flag beats the config", "log:\n  level: warn\n", []string{"--log-level", "debug"}, true, true, false},
		{"json in the config", "log:\n  format: json\n", nil, true, false, true},
		{"json flag at debug", "", []string{"--log-format", "json", "--log-level", "debug"}, true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			configPath := writeFile(t, t.TempDir(), "flowmeter.yaml", "store:\n  sqlite:\n    path: f.db\n"+tc.log+
				"sources:\n  - name: ci\n    webhook:\n      token_env: FLOWMETER_TEST_HOOK_TOKEN\n")
			addr := freeAddr(t)
			var stderr syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			args := append([]string{"run", "--config", configPath, "--listen", addr}, tc.flags...)
			go func() { done <- run(ctx, &environment{stdout: io.Discard, stderr: &stderr}, args) }()
			waitUntil(t, "healthz answers", func() bool { code, _ := get(t, "http://"+addr+"/healthz"); return code == 200 })
			if code := postDeploy(t, "http://"+addr, "x"); code != http.StatusAccepted {
				t.Fatalf("webhook got %d", code)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			logs := stderr.String()
			if got := strings.Contains(logs, "flowmeter running"); got != tc.running {
				t.Errorf("start-up info line logged: %v, want %v\n%s", got, tc.running, logs)
			}
			if got := strings.Contains(logs, "webhook event accepted"); got != tc.debug {
				t.Errorf("webhook debug line logged: %v, want %v\n%s", got, tc.debug, logs)
			}
			for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
				if line == "" {
					continue
				}
				if isJSON := json.Valid([]byte(line)); isJSON != tc.json {
					t.Errorf("line %q is JSON: %v, want %v", line, isJSON, tc.json)
				}
			}
		})
	}
	if _, err := runInProcess(t, "run", "--log-level", "verbose"); err == nil ||
		err.Error() != `run: --log-level: want debug, info, warn or error, got "verbose"` {
		t.Errorf("run --log-level verbose: %v", err)
	}
	if _, err := runInProcess(t, "derive", "--log-format", "logfmt"); err == nil ||
		err.Error() != `derive: --log-format: want text or json, got "logfmt"` {
		t.Errorf("derive --log-format logfmt: %v", err)
	}
}

// TestCommandsLogLevel checks that derive and collect keep to warnings by default,
// since they print their own summary, and log what they are asked to.
func TestCommandsLogLevel(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "flowmeter.yaml",
		"sources:\n  - name: demo\n    synthetic: {seed: 2, end: \"2026-06-30\", days: 7, teams: 1}\n")
	if _, _, err := runCaptured(t, "collect", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args    []string
		derived bool
		json    bool
	}{
		{[]string{"derive"}, false, false},
		{[]string{"derive", "--log-level", "info"}, true, false},
		{[]string{"collect", "--log-level", "info", "--log-format", "json"}, true, true},
	} {
		_, stderr, err := runCaptured(t, append(tc.args, "--config", cfg)...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := strings.Contains(stderr, "derived"); got != tc.derived {
			t.Errorf("%v logged the derivation: %v, want %v\n%s", tc.args, got, tc.derived, stderr)
		}
		if tc.json {
			for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if !json.Valid([]byte(line)) {
					t.Errorf("%v: line %q is not JSON", tc.args, line)
				}
			}
		}
	}
}

// TestShutdownDoesNotWaitForAnUnreachableSource stops a daemon whose GitHub source
// cannot be reached while it sleeps between retries.
func TestShutdownDoesNotWaitForAnUnreachableSource(t *testing.T) {
	t.Setenv("FLOWMETER_TEST_GITHUB_TOKEN", "x")
	configPath := writeFile(t, t.TempDir(), "flowmeter.yaml", `store:
  sqlite:
    path: f.db
sources:
  - name: gh
    interval: 10s
    github:
      base_url: http://127.0.0.1:1/api/v3/
      token_env: FLOWMETER_TEST_GITHUB_TOKEN
      organizations: [acme]
`)
	r := startServe(t, configPath, serveOptions{})
	waitUntil(t, "the source retries", func() bool { return strings.Contains(r.logs.String(), "GitHub request failed; retrying") })
	started := time.Now()
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(started); took > 3*time.Second {
		t.Errorf("shutdown took %s, waiting for a source that cannot be reached", took)
	}
}
