//go:build linux

// The soak test kills the daemon with SIGKILL and ties its life to the test's with
// Pdeathsig, both of which only Linux has as used here; CI runs on Linux.

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
)

const (
	soakEvents  = 20_000
	soakSenders = 20
	// soakPace is how often each sender sends an event at most: 20 senders offer
	// about 330 events/s, so that the events last through all the faults. Unpaced,
	// the spool acknowledges over 1,000 events/s and the first outage would take
	// them all. A sender waits for each acknowledgement, so a daemon slower than
	// the pace is offered less.
	soakPace = 60 * time.Millisecond
	// soakOutage is how long ClickHouse stays down once stopped; stopping it takes
	// a few seconds more, as it waits for its clients, and starting it a second.
	soakOutage = 3 * time.Second
	// soakGap is how long the store stays up after the spool drained, before the
	// next outage.
	soakGap = 2 * time.Second
	// soakDrainWait is how long after a restart the next outage waits at most for
	// the spool to drain.
	soakDrainWait = 10 * time.Second
	// soakToken is the webhook's bearer token, given to the daemon in its environment.
	soakToken = "soak-token"
)

// soakBase places the soak's deployments, five minutes apart from it.
var soakBase = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// TestSoakWebhooksUnderFaults posts 20,000 deployments from 20 senders to `flowmeter
// run` in a process of its own, on a ClickHouse of the test's own, while ClickHouse
// is stopped and started three times and the daemon is killed with SIGKILL once
// (during the second outage, with events in its spool) and started again on the same
// config and spool. Senders retry each event until it is acknowledged. Once the
// spool has drained, every acknowledged event must be stored exactly once, none
// twice, each with its deployment fact, and none dead-lettered. BENCHMARKS.md
// records its summary.
func TestSoakWebhooksUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: 20,000 webhooks while ClickHouse restarts and the daemon is killed")
	}
	clickhouse := clickhousetest.NewServer(t)
	dir := t.TempDir()
	listen := stableAddr(t)
	base := "http://" + listen
	configPath := writeFile(t, dir, "flowmeter.yaml", fmt.Sprintf(`server:
  listen: %s
store:
  clickhouse:
    addr: %s
    database: soak
    dial_timeout: 1s
sources:
  - name: ci
    webhook:
      token_env: FLOWMETER_SOAK_TOKEN
`, listen, clickhouse.Addr()))
	logPath := filepath.Join(dir, "flowmeter.log")
	first, err := startDaemonProcess(configPath, logPath)
	if err != nil {
		t.Fatal(err)
	}
	var daemon atomic.Pointer[daemonProcess] // the one running; the faults replace it
	daemon.Store(first)
	// Registered after NewServer's clean-up, so that it runs first: the daemon goes
	// before its store.
	t.Cleanup(func() {
		daemon.Load().kill()
		if t.Failed() {
			t.Logf("the daemon's log ends:\n%s", tail(logPath, 4000))
		}
	})
	waitUntil(t, "the daemon is ready", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })

	// Bounds the run, which takes 80 to 100 s here: at least 60 s at the senders'
	// pace, more when the daemon acknowledges more slowly than that.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	run := &soakRun{base: base, client: &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: soakSenders},
	}}
	started := time.Now()
	events := make(chan int)
	go func() {
		defer close(events)
		for i := range soakEvents {
			select {
			case events <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var senders sync.WaitGroup
	for w := range soakSenders {
		senders.Add(1)
		go func() {
			defer senders.Done()
			time.Sleep(time.Duration(w) * soakPace / soakSenders) // not all at once
			tick := time.NewTicker(soakPace)
			defer tick.Stop()
			for i := range events {
				run.send(ctx, i)
				<-tick.C
			}
		}()
	}
	faults := make(chan error, 1)
	go func() {
		faults <- run.faults(ctx, t, clickhouse, func() error {
			daemon.Load().kill()
			next, err := startDaemonProcess(configPath, logPath)
			if err != nil {
				return err
			}
			daemon.Store(next)
			return nil
		})
	}()
	senders.Wait()
	sent := time.Since(started)
	if err := <-faults; err != nil {
		t.Fatal(err)
	}
	if n := run.acked.Load(); n != soakEvents {
		t.Errorf("%d of %d events acknowledged within %s", n, soakEvents, sent.Round(time.Second))
	}
	if n := run.badStatus.Load(); n > 0 {
		t.Errorf("%d answers were neither 202 nor a broken connection; %s", n, run.describeFailures())
	}
	endCtx, cancelEnd := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelEnd()
	if _, err := run.waitDrained(endCtx); err != nil {
		t.Fatal(err)
	}
	if _, dead, err := run.scrapeSpool(); err != nil || dead != 0 {
		t.Errorf("dead letters: %d, %v; want none", dead, err)
	}

	t.Logf("soak: %d events from %d senders in %s: %.0f events/s; 3 ClickHouse restarts and 1 kill -9 of the daemon",
		run.acked.Load(), soakSenders, sent.Round(100*time.Millisecond), float64(run.acked.Load())/sent.Seconds())
	t.Logf("soak: acknowledgement latency with the store up %s; with the store down %s; across a stop or start %s",
		run.lat[storeUp].summary(), run.lat[storeDown].summary(), run.lat[storeChanging].summary())
	t.Logf("soak: the spool drained %s after the last restart; %s", run.lastDrain.Round(100*time.Millisecond), run.describeFailures())

	// Every acknowledged event is stored once; none is stored twice.
	conn, err := ch.Open(&ch.Options{Addr: []string{clickhouse.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stored := idCounts(t, conn, "SELECT id, count() FROM soak.deployments FINAL WHERE source = 'ci' GROUP BY id")
	var lost, twice []string
	known := 0 // stored ids that were sent
	for i := range soakEvents {
		id := soakID(i)
		n, ok := stored[id]
		if ok {
			known++
		}
		switch {
		case n > 1:
			twice = append(twice, id)
		case n == 0 && run.ackedEvents[i].Load():
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d acknowledged events are not stored: %v", len(lost), lost[:min(len(lost), 5)])
	}
	if len(twice) > 0 {
		t.Errorf("%d events are stored more than once: %v", len(twice), twice[:min(len(twice), 5)])
	}
	if extra := len(stored) - known; extra > 0 {
		t.Errorf("%d deployments stored that were never sent", extra)
	}
	var rows uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM soak.deployments WHERE source = 'ci'").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("soak: %d deployments stored in %d rows (a copy written again is merged away by its version)", len(stored), rows)

	// Every stored deployment is derived, once the derivation that follows the
	// replay has run.
	waitFacts := time.Now()
	for {
		facts := idCounts(t, conn, "SELECT id, count() FROM soak.deployment_facts FINAL WHERE source = 'ci' GROUP BY id")
		missing := 0
		for id := range stored {
			if facts[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Since(waitFacts) > 30*time.Second {
			t.Fatalf("%d stored deployments have no deployment fact 30 s after the spool drained", missing)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if err := daemon.Load().terminate(20 * time.Second); err != nil {
		t.Errorf("the daemon's shutdown after the soak: %v", err)
	}
	if log := tail(logPath, 1<<30); strings.Contains(log, "panic:") {
		t.Errorf("the daemon panicked:\n%s", log)
	}
}

// faults stops and starts ClickHouse three times while the senders run, and kills
// and restarts the daemon (restartDaemon) during the second outage, with events in
// its spool. Each outage lasts soakOutage from the moment ClickHouse has stopped.
// The next begins soakGap after the spool drained, so that events also go straight
// to the store in between, or during the replay if the spool has not drained
// soakDrainWait after the restart, so that the events last through the faults.
// After the last restart it waits until the spool has drained.
func (r *soakRun) faults(ctx context.Context, t *testing.T, clickhouse *clickhousetest.Server, restartDaemon func() error) error {
	started := time.Now()
	logf := func(format string, args ...any) {
		t.Logf("soak: %5.1fs, %5d acknowledged: "+format, append([]any{time.Since(started).Seconds(), r.acked.Load()}, args...)...)
	}
	for r.acked.Load() < soakEvents/40 && ctx.Err() == nil { // some straight to the store first
		time.Sleep(10 * time.Millisecond)
	}
	for k := 1; k <= 3; k++ {
		r.setStore(false)
		logf("outage %d: stopping ClickHouse", k)
		if err := clickhouse.Stop(); err != nil {
			return err
		}
		stopped := time.Now()
		logf("outage %d: ClickHouse stopped", k)
		if k == 2 {
			pause(ctx, soakOutage/2)
			pending, _, err := r.scrapeSpool()
			if err != nil {
				return err
			}
			logf("outage 2: killing the daemon with %d batches in its spool", pending)
			if err := restartDaemon(); err != nil {
				return err
			}
			if err := r.waitHealthy(ctx); err != nil {
				return err
			}
			logf("outage 2: the daemon is back")
		}
		pause(ctx, time.Until(stopped.Add(soakOutage)))
		if err := clickhouse.Start(); err != nil {
			return err
		}
		r.setStore(true)
		logf("outage %d: ClickHouse is back", k)
		if k == 3 {
			took, err := r.waitDrained(ctx)
			if err != nil {
				return fmt.Errorf("after the last restart: %w", err)
			}
			r.lastDrain = took
			logf("outage 3: the spool drained in %s", took.Round(100*time.Millisecond))
			return nil
		}
		wait, cancel := context.WithTimeout(ctx, soakDrainWait)
		took, err := r.waitDrained(wait)
		cancel()
		if err != nil {
			logf("outage %d: %v; the next outage begins during the replay", k, err)
			continue
		}
		logf("outage %d: the spool drained in %s", k, took.Round(100*time.Millisecond))
		pause(ctx, soakGap)
	}
	return nil
}

// pause sleeps for d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Store states at the time of a request, for its latency.
const (
	storeUp = iota
	storeDown
	storeChanging // the store stopped or started while the request ran
)

// soakRun is the state the senders and the faults share.
type soakRun struct {
	base   string
	client *http.Client
	// store is the ClickHouse state: a generation count, shifted left, and 1 while
	// the server is down.
	store       atomic.Uint64
	acked       atomic.Int64
	ackedEvents [soakEvents]atomic.Bool
	lat         [3]latencies
	// badStatus counts answers other than 202, which the daemon should not give
	// while its spool can write.
	badStatus atomic.Int64
	// lastDrain is how long the spool took to empty after the last restart of
	// ClickHouse; the faults' goroutine sets it before the test reads it.
	lastDrain time.Duration

	mu       sync.Mutex
	failures map[string]int
}

// setStore records that ClickHouse is stopping (up false) or has started again.
func (r *soakRun) setStore(up bool) {
	gen := r.store.Load()>>1 + 1
	down := uint64(1)
	if up {
		down = 0
	}
	r.store.Store(gen<<1 | down)
}

// soakID is the id event i is sent with, so that its record can be found.
func soakID(i int) string { return fmt.Sprintf("soak-%05d", i) }

// send posts event i until it is acknowledged or ctx ends.
func (r *soakRun) send(ctx context.Context, i int) {
	at := soakBase.Add(time.Duration(i) * 5 * time.Minute)
	body := fmt.Appendf(nil, `{"id":%q,"service":"svc-%02d","environment":"production","status":"success","started_at":%q,"finished_at":%q}`,
		soakID(i), i%20, at.Format(time.RFC3339), at.Add(3*time.Minute).Format(time.RFC3339))
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			time.Sleep(min(25*time.Millisecond<<min(attempt-1, 3), 200*time.Millisecond))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/webhooks/deploy", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+soakToken)
		req.Header.Set("Content-Type", "application/json")
		before := r.store.Load()
		start := time.Now()
		resp, err := r.client.Do(req)
		if err != nil {
			r.failed(err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took, after := time.Since(start), r.store.Load()
		if resp.StatusCode != http.StatusAccepted {
			r.badStatus.Add(1)
			r.failed(fmt.Errorf("status %d", resp.StatusCode))
			continue
		}
		state := storeChanging
		if before == after {
			state = int(before & 1)
		}
		r.lat[state].add(took)
		r.ackedEvents[i].Store(true)
		r.acked.Add(1)
		return
	}
}

// failed counts a failed attempt by what went wrong.
func (r *soakRun) failed(err error) {
	reason := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		reason = "connection reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(reason, "server closed idle connection"): // net/http's own error, unexported
		reason = "connection closed"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures == nil {
		r.failures = map[string]int{}
	}
	r.failures[reason]++
}

// describeFailures sums up the failed attempts by what went wrong.
func (r *soakRun) describeFailures() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) == 0 {
		return "no attempt failed"
	}
	var parts []string
	for reason, n := range r.failures {
		parts = append(parts, fmt.Sprintf("%d %s", n, reason))
	}
	slices.Sort(parts)
	return "attempts that failed and were retried: " + strings.Join(parts, ", ")
}

// waitDrained waits until the spool is empty, as /metrics says, and returns how
// long that took.
func (r *soakRun) waitDrained(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	pending := -1 // not scraped yet
	for {
		if n, _, err := r.scrapeSpool(); err == nil {
			pending = n
		}
		if pending == 0 {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("the spool still holds %d batches after %s", pending, time.Since(start).Round(time.Second))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitHealthy waits until a daemon answers /healthz.
func (r *soakRun) waitHealthy(ctx context.Context) error {
	for ctx.Err() == nil {
		if resp, err := r.client.Get(r.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the restarted daemon does not answer /healthz: %w", ctx.Err())
}

var spoolGauge = regexp.MustCompile(`(?m)^flowmeter_spool_batches\{state="(pending|dead)"\} (\d+)$`)

// scrapeSpool reads the spool's gauges from /metrics.
func (r *soakRun) scrapeSpool() (pending, dead int, err error) {
	resp, err := r.client.Get(r.base + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	found := spoolGauge.FindAllStringSubmatch(string(body), -1)
	if len(found) != 2 {
		return 0, 0, fmt.Errorf("/metrics lacks the spool's gauges")
	}
	for _, m := range found {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "pending" {
			pending = n
		} else {
			dead = n
		}
	}
	return pending, dead, nil
}

// latencies collects acknowledgement latencies from the senders.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d = append(l.d, d)
}

// summary gives the median, the 99th percentile and the count.
func (l *latencies) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return "(none)"
	}
	slices.Sort(l.d)
	at := func(q float64) time.Duration { return l.d[int(q*float64(len(l.d)-1))].Round(100 * time.Microsecond) }
	return fmt.Sprintf("p50 %s p99 %s (%d requests)", at(0.5), at(0.99), len(l.d))
}

// idCounts runs a query that returns ids and counts, and gives the counts by id.
func idCounts(t *testing.T, conn ch.Conn, query string) map[string]uint64 {
	t.Helper()
	rows, err := conn.Query(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	counts := map[string]uint64{}
	for rows.Next() {
		var id string
		var n uint64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		counts[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}

// daemonProcess is `flowmeter run` in a process of its own, killed with the test.
type daemonProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // how it exited, once exited is closed
}

// startDaemonProcess runs this test binary as `flowmeter run --config configPath`,
// appending its log to logPath.
func startDaemonProcess(configPath, logPath string) (*daemonProcess, error) {
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLOWMETER_RUN_MAIN=1", "FLOWMETER_ARGS=run --config "+configPath,
		"FLOWMETER_SOAK_TOKEN="+soakToken)
	cmd.Stdout, cmd.Stderr = log, log
	// A test that dies (a panic, a -timeout) takes the daemon with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &daemonProcess{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// kill kills the daemon with SIGKILL, as the OOM killer or a node failure does, and
// waits until it is gone.
func (p *daemonProcess) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// terminate stops the daemon with SIGTERM and says how it exited.
func (p *daemonProcess) terminate(limit time.Duration) error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(limit):
		p.kill()
		return fmt.Errorf("no exit within %s of SIGTERM", limit)
	}
}

// stableAddr is a free loopback address whose port is below Linux's default range
// of ephemeral ports (32768 and up), so that no outgoing connection takes it while
// the daemon is down and its restart can listen there again.
func stableAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 10000+rand.IntN(20000))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port below the ephemeral range")
	return ""
}

// tail is the end of a file, at most n bytes.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
