package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines to write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// demoConfig writes a demo organisation whose history ends today, so /metrics's
// windows hold data, and returns its config path.
func demoConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := runInProcess(t, "demo", "--dir", dir, "--seed", "3", "--no-serve"); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "flowmeter.yaml")
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunServesReloadsAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	configPath := demoConfig(t)
	addr := freeAddr(t)
	base := "http://" + addr
	var stderr syncBuffer
	env := &environment{stdout: io.Discard, stderr: &stderr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, env, configPath, serveOptions{listen: addr}) }()
	waitUntil(t, "healthz answers", func() bool { code, _ := get(t, base+"/healthz"); return code == 200 })

	if code, body := get(t, base+"/readyz"); code != 200 || !strings.Contains(body, "ready") {
		t.Errorf("/readyz = %d %q", code, body)
	}
	var metrics string
	waitUntil(t, "the first collection is counted", func() bool {
		_, metrics = get(t, base+"/metrics")
		return strings.Contains(metrics, "flowmeter_collector_runs_total")
	})
	for _, family := range []string{"flowmeter_deployments_total", "flowmeter_change_lead_time_seconds",
		"flowmeter_change_failure_ratio", "flowmeter_dora_tier", "flowmeter_collector_runs_total", "go_goroutines", "process_cpu_seconds_total",
		"flowmeter_ready 1", "flowmeter_derive_failures_total 0", `flowmeter_spool_batches{state="pending"} 0`, `flowmeter_spool_batches{state="dead"} 0`, "flowmeter_spool_oldest_pending_age_seconds 0"} {
		if !strings.Contains(metrics, family) {
			t.Errorf("/metrics lacks %s", family)
		}
	}
	if !strings.Contains(metrics, `team="payments"`) {
		t.Error("/metrics has no series for team payments")
	}

	// A bad config is refused and the running one kept.
	good, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(configPath, append(good, []byte("\nbogus_field: 1\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the bad config is noticed", func() bool { return strings.Contains(stderr.String(), "config reload failed") })
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatal("the daemon stopped serving after a bad config")
	}
	// A good edit is applied: a team renamed shows in /metrics after the re-derivation.
	renamed := strings.Replace(string(good), "name: payments", "name: payments-renamed", 1)
	if err := os.WriteFile(configPath, []byte(renamed), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the renamed team reaches /metrics", func() bool {
		_, m := get(t, base+"/metrics")
		return strings.Contains(m, `team="payments-renamed"`)
	})

	started := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return within 20 s of the shutdown")
	}
	if took := time.Since(started); took > 12*time.Second {
		t.Errorf("shutdown took %s", took)
	}
	if code, _ := get(t, base+"/healthz"); code != 0 {
		t.Error("still serving after shutdown")
	}
}

func TestRunExitsZeroOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	configPath := demoConfig(t)
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLOWMETER_RUN_MAIN=1", fmt.Sprintf("FLOWMETER_ARGS=run --config %s --listen %s", configPath, addr))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "healthz answers", func() bool { code, _ := get(t, "http://"+addr+"/healthz"); return code == 200 })
	started := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit within 20 s of SIGTERM")
	}
	if took := time.Since(started); took > 12*time.Second {
		t.Errorf("exit took %s after SIGTERM", took)
	}
}

func TestShutdownUnderLoadLosesNothingAccepted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	t.Setenv("FLOWMETER_TEST_HOOK_TOKEN", "s3cret")
	dir := t.TempDir()
	configPath := writeFile(t, dir, "flowmeter.yaml", `store:
  sqlite:
    path: f.db
sources:
  - name: ci
    webhook:
      token_env: FLOWMETER_TEST_HOOK_TOKEN
`)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, &environment{stdout: io.Discard, stderr: io.Discard}, configPath, serveOptions{listen: addr})
	}()
	waitUntil(t, "healthz answers", func() bool { code, _ := get(t, "http://"+addr+"/healthz"); return code == 200 })

	var mu sync.Mutex
	accepted := map[string]bool{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				body := fmt.Sprintf(`{"id":%q,"service":"api","environment":"production","status":"success","finished_at":"2026-05-04T09:00:00Z"}`, id)
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/deploy", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer s3cret")
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					continue // refused once the listener closed
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusAccepted:
					mu.Lock()
					accepted[id] = true
					mu.Unlock()
				case resp.StatusCode >= 500:
					t.Errorf("%s got %d during shutdown", id, resp.StatusCode)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	close(stop)
	wg.Wait()
	if len(accepted) < 10 {
		t.Fatalf("only %d events accepted before the shutdown", len(accepted))
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stored := map[string]bool{}
	for d, err := range s.Deployments(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		stored[d.ID] = true
	}
	for id := range accepted {
		if !stored[id] {
			t.Fatalf("accepted %s (of %d) is not in the store", id, len(accepted))
		}
	}
}

func TestGitHubWebhookThroughTheDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	gh := githubtest.New(t)
	gh.AddRepo("acme", "api", "main").Commit("main", "ana", time.Now().Add(-time.Hour))
	t.Setenv("FLOWMETER_TEST_GITHUB_TOKEN", "test-token")
	t.Setenv("FLOWMETER_TEST_GITHUB_HOOK", "hook-secret")
	dir := t.TempDir()
	configPath := writeFile(t, dir, "flowmeter.yaml", fmt.Sprintf(`store:
  sqlite:
    path: f.db
sources:
  - name: acme-github
    github:
      base_url: %s
      token_env: FLOWMETER_TEST_GITHUB_TOKEN
      organizations: [acme]
  - name: hooks
    webhook:
      github_secret_env: FLOWMETER_TEST_GITHUB_HOOK
      github_source: acme-github
`, gh.URL()))
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, &environment{stdout: io.Discard, stderr: io.Discard}, configPath, serveOptions{listen: addr})
	}()
	waitUntil(t, "healthz answers", func() bool { code, _ := get(t, "http://"+addr+"/healthz"); return code == 200 })

	body := []byte(`{"deployment":{"id":42,"sha":"abc1234","ref":"main","environment":"production",
		"created_at":"2026-05-04T09:00:00Z","updated_at":"2026-05-04T09:00:00Z"},
		"deployment_status":{"id":7,"state":"success","created_at":"2026-05-04T09:12:00Z","updated_at":"2026-05-04T09:12:00Z"},
		"repository":{"full_name":"acme/api","name":"api","owner":{"login":"acme"},"default_branch":"main"}}`)
	mac := hmac.New(sha256.New, []byte("hook-secret"))
	mac.Write(body)
	post := func(signature string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/github", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "deployment_status")
		req.Header.Set("X-GitHub-Delivery", "d6a1c2e0-0000-4000-8000-000000000001")
		req.Header.Set("X-Hub-Signature-256", signature)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("sha256=" + strings.Repeat("0", 64)); code != http.StatusUnauthorized {
		t.Errorf("a wrong signature got %d, want 401", code)
	}
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if code := post(good); code != http.StatusAccepted {
		t.Fatalf("a signed deployment_status got %d, want 202", code)
	}
	if code := post(good); code != http.StatusAccepted { // the same delivery again
		t.Fatalf("a replayed delivery got %d, want 202", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deps, err := store.All(s.Deployments(context.Background(), store.Filter{}))
	if err != nil {
		t.Fatal(err)
	}
	// The id and source are those a collection of the GitHub source would give.
	if len(deps) != 1 || deps[0].ID != "acme/api/deployments/42" || deps[0].Source != "acme-github" ||
		deps[0].Status != "success" || deps[0].FinishedAt.Format(time.RFC3339) != "2026-05-04T09:12:00Z" {
		t.Fatalf("deployments %+v; want acme-github's acme/api/deployments/42, success, finished 09:12", deps)
	}
}

// TestRunSaysWhatItServes checks the start-up line: webhooks are named only when the
// config has some.
func TestRunSaysWhatItServes(t *testing.T) {
	t.Setenv("FLOWMETER_TEST_HOOK_TOKEN", "s3cret")
	for _, tc := range []struct{ name, sources, want string }{
		{"no webhook source", "", "flowmeter is serving /, /reports/, /metrics, /healthz and /readyz on http://%s\n"},
		{"a webhook source", "sources:\n  - name: ci\n    webhook:\n      token_env: FLOWMETER_TEST_HOOK_TOKEN\n",
			"flowmeter is serving /, /reports/, /metrics, /healthz, /readyz, /webhooks/deploy, /webhooks/flux and /webhooks/incident on http://%s\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			configPath := writeFile(t, t.TempDir(), "flowmeter.yaml", "store:\n  sqlite:\n    path: f.db\n"+tc.sources)
			addr := freeAddr(t)
			var stdout syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- serve(ctx, &environment{stdout: &stdout, stderr: io.Discard}, configPath, serveOptions{listen: addr})
			}()
			waitUntil(t, "healthz answers", func() bool { code, _ := get(t, "http://"+addr+"/healthz"); return code == 200 })
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got, want := stdout.String(), fmt.Sprintf(tc.want, addr); got != want {
				t.Errorf("run said %q, want %q", got, want)
			}
		})
	}
}
