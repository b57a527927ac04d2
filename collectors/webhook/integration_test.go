package webhook_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/spool"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// flakyStore is a real SQLite store that can be taken down, as a ClickHouse
// restart or a network partition would.
type flakyStore struct {
	*sqlite.Store
	down     atomic.Bool
	attempts atomic.Int64
}

func (f *flakyStore) Write(ctx context.Context, b *schema.Batch) error {
	f.attempts.Add(1)
	if f.down.Load() {
		return fmt.Errorf("clickhouse: dial tcp 127.0.0.1:9000: %w", errStoreDown)
	}
	return f.Store.Write(ctx, b)
}

func (f *flakyStore) Cursor(ctx context.Context, source, stream string) (schema.Cursor, error) {
	if f.down.Load() {
		return schema.Cursor{}, errStoreDown
	}
	return f.Store.Cursor(ctx, source, stream)
}

func openSQLite(tb testing.TB) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "flowmeter.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return st
}

// server mounts a webhook source configured with allSettings on a real HTTP
// server writing through w.
func server(tb testing.TB, w collectors.Writer, gh collectors.Source) *httptest.Server {
	tb.Helper()
	tb.Setenv("WH_TEST_TOKEN", testToken)
	tb.Setenv("WH_TEST_HMAC", testHMAC)
	tb.Setenv("WH_TEST_GITHUB", testGitHub)
	src, err := build(tb, allSettings)
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	env := collectors.ReceiverEnv{
		Writer: w,
		Source: func(name string) (collectors.Source, bool) { return gh, name == "acme-github" && gh != nil },
		Logger: slog.New(slog.DiscardHandler),
	}
	for path, h := range src.(collectors.Receiver).Routes(env) {
		mux.Handle(path, h)
	}
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

func post(client *http.Client, url, body string, headers map[string]string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// deployEvent is the i-th distinct deployment, named by hash (no id given).
func deployEvent(i int) string {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	return fmt.Sprintf(`{"service":"svc-%d","environment":"production","status":"success","sha":"%040x","started_at":%q,"finished_at":%q}`,
		i%7, i, start.Format(time.RFC3339), start.Add(90*time.Second).Format(time.RFC3339))
}

// storedDeployments counts the deployments in the store, and their distinct ids.
func storedDeployments(t *testing.T, st store.Store) (count int64, ids int) {
	t.Helper()
	ctx := context.Background()
	count, err := st.Count(ctx, schema.KindDeployment, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for d, err := range st.Deployments(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		seen[d.Source+"/"+d.ID] = true
	}
	return count, len(seen)
}

// postAll posts n events from workers goroutines and fails on any answer but 202.
func postAll(t *testing.T, url string, from, n, workers int, event func(int) string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	next.Store(int64(from))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= from+n {
					return
				}
				body := event(i)
				headers := bearer(testToken)
				if i%2 == 1 {
					headers = map[string]string{"X-Flowmeter-Signature-256": sign(testHMAC, body)}
				}
				code, reply, err := post(client, url+"/webhooks/deploy", body, headers)
				if err != nil || code != http.StatusAccepted {
					t.Errorf("event %d: %d %s %v", i, code, reply, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestStoreOutageDuringBurst: the store goes down, 500 events arrive at once; every
// one gets 202 and waits in the spool; when the store is back the spool's Run writes
// them, and exactly 500 records are in the store.
func TestStoreOutageDuringBurst(t *testing.T) {
	st := &flakyStore{Store: openSQLite(t)}
	st.down.Store(true)
	sp, err := spool.New(filepath.Join(t.TempDir(), "spool"), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- sp.Run(ctx) }()

	srv := server(t, sp, nil)
	postAll(t, srv.URL, 0, 500, 16, deployEvent)
	if t.Failed() {
		t.FailNow()
	}
	if got := sp.Pending(); got != 500 {
		t.Fatalf("spool holds %d batches, want 500", got)
	}
	if n, _ := storedDeployments(t, st.Store); n != 0 {
		t.Fatalf("store holds %d records while down", n)
	}
	// The spool tries again (1 s after the outage began) and fails before recovery.
	deadline := time.Now().Add(10 * time.Second)
	for st.attempts.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st.down.Store(false)
	for sp.Pending() > 0 {
		if time.Now().After(deadline.Add(20 * time.Second)) {
			t.Fatalf("spool still holds %d batches after the store came back", sp.Pending())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n, ids := storedDeployments(t, st.Store); n != 500 || ids != 500 {
		t.Fatalf("store holds %d records with %d distinct ids, want 500", n, ids)
	}
	// Senders retry what they were unsure of; the retries change nothing.
	postAll(t, srv.URL, 0, 50, 4, deployEvent)
	if n, ids := storedDeployments(t, st.Store); n != 500 || ids != 500 || sp.Pending() != 0 {
		t.Errorf("after retries: %d records, %d ids, %d pending; want 500, 500, 0", n, ids, sp.Pending())
	}
	cancel()
	<-runDone
}

// TestRestartReplaysSpool: flowmeter dies with events spooled; the next process, on
// the same spool directory, takes more while the store is still down, and writes all
// of them once it is back.
func TestRestartReplaysSpool(t *testing.T) {
	st := &flakyStore{Store: openSQLite(t)}
	st.down.Store(true)
	dir := filepath.Join(t.TempDir(), "spool")
	first, err := spool.New(dir, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	postAll(t, server(t, first, nil).URL, 0, 120, 4, deployEvent)
	// The crash: the first process is gone without replaying anything.

	second, err := spool.New(dir, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Pending(); got != 120 {
		t.Fatalf("restarted spool holds %d batches, want 120", got)
	}
	postAll(t, server(t, second, nil).URL, 120, 80, 4, deployEvent)
	st.down.Store(false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go second.Run(ctx) // replays what it found at start at once
	deadline := time.Now().Add(20 * time.Second)
	for second.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n, ids := storedDeployments(t, st.Store); n != 200 || ids != 200 || second.Pending() != 0 {
		t.Errorf("store holds %d records (%d ids), spool %d; want 200, 200, 0", n, ids, second.Pending())
	}
}

// TestConcurrentPosts: every endpoint at once, into SQLite; run with -race.
func TestConcurrentPosts(t *testing.T) {
	st := openSQLite(t)
	sp, err := spool.New(filepath.Join(t.TempDir(), "spool"), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	gh := &fakeGitHub{}
	srv := server(t, sp, gh)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	const workers, each = 16, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := w*each + i
				var path, body string
				var headers map[string]string
				switch n % 4 {
				case 0:
					path, body, headers = "/webhooks/deploy", deployEvent(n), bearer(testToken)
				case 1:
					path = "/webhooks/incident"
					body = fmt.Sprintf(`{"id":"INC-%d","service":"api","opened_at":"2026-03-01T12:00:00Z"}`, n)
					headers = map[string]string{"X-Flowmeter-Signature-256": sign(testHMAC, body)}
				case 2:
					path = "/webhooks/flux"
					body = strings.Replace(fluxEvent("Kustomization", "info", "ReconciliationSucceeded", "2026-03-01T12:00:00Z",
						fmt.Sprintf(`"revision": "main@sha1:%040x"`, n)), `"name": "webapp"`, fmt.Sprintf(`"name": "app-%d"`, n), 1)
					headers = map[string]string{"X-Signature": sign(testHMAC, body)}
				case 3:
					path = "/webhooks/github"
					body = fmt.Sprintf(`{"action":"created","deployment":{"id":%d}}`, 100000+n)
					headers = githubHeaders("deployment", fmt.Sprint("delivery-", n), body, testGitHub)
				}
				code, reply, err := post(client, srv.URL+path, body, headers)
				if err != nil || code != http.StatusAccepted {
					t.Errorf("%s %d: %d %s %v", path, n, code, reply, err)
				}
			}
		}()
	}
	wg.Wait()
	ctx := context.Background()
	deployments, err := st.Count(ctx, schema.KindDeployment, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	incidents, err := st.Count(ctx, schema.KindIncident, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	const perKind = workers * each / 4
	if deployments != 3*perKind || incidents != perKind || sp.Pending() != 0 {
		t.Errorf("store holds %d deployments and %d incidents, spool %d; want %d, %d, 0",
			deployments, incidents, sp.Pending(), 3*perKind, perKind)
	}
}
