package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// pickyStore is a fakeStore that refuses some deployments permanently, as a store
// refuses a record it cannot hold.
type pickyStore struct {
	fakeStore
	refuse map[string]bool // deployment ids
}

func (p *pickyStore) Write(ctx context.Context, b *schema.Batch) error {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		return p.fakeStore.Write(ctx, b)
	}
	for _, d := range b.Deployments {
		if p.refuse[d.ID] {
			p.calls++
			p.mu.Unlock()
			return fmt.Errorf("clickhouse: %w: deployments ci/%s: started_at 2200-01-01T00:00:00Z is outside the times a store can hold", store.ErrPermanent, d.ID)
		}
	}
	p.mu.Unlock()
	return p.fakeStore.Write(ctx, b)
}

func (p *pickyStore) accept(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.refuse, id)
}

// errorLog counts the error records a spool logs.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		l.mu.Lock()
		l.msgs = append(l.msgs, r.Message)
		l.mu.Unlock()
	}
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }
func (l *errorLog) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

// TestPoisonBatchDoesNotBlockTheQueue is the defect: a batch accepted while the
// store was down, which the store then refuses on every replay, kept every later
// batch from being written, across restarts. Now it becomes a dead letter, with its
// reason, logged once, and the batches behind it are written in order.
func TestPoisonBatchDoesNotBlockTheQueue(t *testing.T) {
	st := &pickyStore{fakeStore: fakeStore{down: true}, refuse: map[string]bool{"d0000": true}}
	dir := t.TempDir()
	logs := &errorLog{}
	s, err := New(dir, st, slog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 201 {
		if err := s.Write(ctx, deployment(i)); err != nil {
			t.Fatal(err)
		}
	}
	st.setDown(false)
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush = %v; a permanent refusal must not stop the replay", err)
	}
	if got := st.ids(); len(got) != 200 || got[0] != "d0001" || got[199] != "d0200" {
		t.Fatalf("store took %d batches (%v … ), want d0001 to d0200 in order", len(got), got[:min(3, len(got))])
	}
	if got := s.Stats(); got != (Stats{Pending: 0, Dead: 1}) {
		t.Errorf("Stats = %+v, want 0 pending and 1 dead", got)
	}
	reason, err := os.ReadFile(filepath.Join(dir, DeadDir, reasonName(1)))
	if err != nil || !strings.Contains(string(reason), "started_at 2200-01-01T00:00:00Z") {
		t.Errorf("reason beside the dead letter: %q, %v", reason, err)
	}
	if got := logs.errors(); len(got) != 1 {
		t.Errorf("logged %d errors %q, want one for the dead letter", len(got), got)
	}

	// A restart neither replays the dead letter nor numbers new batches over it.
	calls := st.callCount()
	again, err := New(dir, st, slog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Flush(ctx); err != nil || st.callCount() != calls {
		t.Errorf("after a restart: Flush %v, %d more store calls; want none", err, st.callCount()-calls)
	}
	if again.seq != 1 {
		t.Errorf("restarted spool numbers after %d, want after 1, the dead letter's number", again.seq)
	}
	if got := again.Stats(); got.Dead != 1 || got.Pending != 0 {
		t.Errorf("restarted Stats = %+v", got)
	}
}

// TestTransientErrorsKeepTheBatch: errors that may pass (a store that is down)
// still hold the queue, to be retried; nothing becomes a dead letter.
func TestTransientErrorsKeepTheBatch(t *testing.T) {
	st := &fakeStore{down: true}
	dir := t.TempDir()
	s := newSpool(t, dir, st)
	if err := s.Write(context.Background(), deployment(1)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.Flush(context.Background()); !errors.Is(err, errDown) {
			t.Fatalf("Flush = %v, want the store's error", err)
		}
	}
	if got := s.Stats(); got.Pending != 1 || got.Dead != 0 {
		t.Errorf("Stats = %+v, want the batch still pending", got)
	}
}

// TestPermanentRefusalOfADirectWrite: with nothing spooled, a batch the store
// refuses permanently is refused to the caller and not spooled, so that a webhook
// can say so instead of answering 202.
func TestPermanentRefusalOfADirectWrite(t *testing.T) {
	st := &pickyStore{refuse: map[string]bool{"d0001": true}}
	dir := t.TempDir()
	s := newSpool(t, dir, st)
	err := s.Write(context.Background(), deployment(1))
	if !errors.Is(err, store.ErrPermanent) {
		t.Fatalf("Write = %v, want the store's permanent refusal", err)
	}
	if got := s.Stats(); got != (Stats{}) || len(spoolFiles(t, dir)) != 0 {
		t.Errorf("Stats = %+v, files %v; want nothing spooled", got, spoolFiles(t, dir))
	}
}

func TestCorruptBatchIsADeadLetter(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, fileName(3)), []byte(`{"format":1,"batch":`), 0o600); err != nil {
		t.Fatal(err)
	}
	st := &fakeStore{}
	s := newSpool(t, dir, st)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, dead, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].ID != "3" || dead[0].Records != nil || !strings.Contains(dead[0].Err, "batch cannot be decoded") {
		t.Errorf("dead letters %+v, want batch 3, unreadable, with its reason", dead)
	}
}

// TestListRetryDrop: what `flowmeter spool` does, on a directory a running spool
// uses at the same time.
func TestListRetryDrop(t *testing.T) {
	st := &pickyStore{fakeStore: fakeStore{down: true}, refuse: map[string]bool{"d0001": true, "d0002": true, "d0004": true}}
	dir := t.TempDir()
	s := newSpool(t, dir, st)
	s.rescanEvery = 5 * time.Millisecond
	ctx := context.Background()
	b := deployment(1)
	b.Cursors = []schema.Cursor{{Source: "ci", Stream: "s", Value: "v"}}
	b.Incidents = []schema.Incident{{Source: "ci", ID: "INC-1"}}
	for _, batch := range []*schema.Batch{b, deployment(2), deployment(3), deployment(4)} {
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	pending, dead, err := List(dir)
	if err != nil || len(pending) != 4 || len(dead) != 0 {
		t.Fatalf("List while down: %d pending, %d dead, %v; want 4, 0", len(pending), len(dead), err)
	}
	if p := pending[0]; p.ID != "1" || p.Cursors != 1 || !reflect.DeepEqual(p.Records,
		map[schema.Kind]int{schema.KindDeployment: 1, schema.KindIncident: 1}) || p.Err != "" || time.Since(p.Spooled) > time.Minute {
		t.Errorf("first pending batch %+v", p)
	}
	st.setDown(false)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	_, dead, err = List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range dead {
		ids = append(ids, d.ID)
		if !strings.Contains(d.Err, "refused permanently") || !strings.Contains(d.Err, "started_at") {
			t.Errorf("dead letter %s: reason %q", d.ID, d.Err)
		}
	}
	if !reflect.DeepEqual(ids, []string{"1", "2", "4"}) {
		t.Fatalf("dead letters %v, want 1, 2, 4", ids)
	}

	// A typo changes nothing, even beside a good id.
	for _, bad := range [][]string{{"2", "9"}, {"2", "x"}} {
		if _, err := Retry(dir, bad); err == nil {
			t.Errorf("Retry(%v) succeeded", bad)
		}
		if _, err := Drop(dir, bad); err == nil {
			t.Errorf("Drop(%v) succeeded", bad)
		}
	}
	if _, err := Retry(dir, []string{"9"}); !errors.Is(err, ErrNoDeadLetter) {
		t.Errorf("Retry of an unknown id: %v, want ErrNoDeadLetter", err)
	}
	if got := s.Stats(); got.Dead != 3 {
		t.Fatalf("after refused retries and drops: %d dead letters, want 3", got.Dead)
	}

	// Retried while the spool runs: it is replayed without a restart.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	st.accept("d0002")
	moved, err := Retry(dir, []string{"00000000000000000002.batch.json"})
	if err != nil || !reflect.DeepEqual(moved, []string{"2"}) {
		t.Fatalf("Retry = %v, %v", moved, err)
	}
	waitFor(t, func() bool { return strings.Contains(strings.Join(st.ids(), ","), "d0002") })
	// Retried and refused again: back among the dead letters, with a new reason.
	if _, err := Retry(dir, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, dead, _ := List(dir); return len(dead) == 2 && s.Pending() == 0 })
	_, dead, _ = List(dir)
	for _, d := range dead {
		if d.Err == "" || strings.HasPrefix(d.Err, "no reason") {
			t.Errorf("dead letter %s retried and refused again has no reason: %q", d.ID, d.Err)
		}
	}

	dropped, err := Drop(dir, []string{"4"})
	if err != nil || !reflect.DeepEqual(dropped, []string{"4"}) {
		t.Fatalf("Drop = %v, %v", dropped, err)
	}
	if dropped, err := Drop(dir, nil); err != nil || !reflect.DeepEqual(dropped, []string{"1"}) {
		t.Fatalf("Drop all = %v, %v", dropped, err)
	}
	if entries := spoolFiles(t, filepath.Join(dir, DeadDir)); len(entries) != 0 {
		t.Errorf("dead-letter directory holds %v after dropping everything", entries)
	}
	if got := s.Stats(); got != (Stats{}) {
		t.Errorf("Stats = %+v, want nothing", got)
	}
}

// TestInterruptedMoves: what a crash half-way through burying or retrying leaves is
// cleaned up or shown for what it is.
func TestInterruptedMoves(t *testing.T) {
	dir := t.TempDir()
	dead := filepath.Join(dir, DeadDir)
	if err := os.MkdirAll(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A reason written, its batch not moved yet: the batch is still queued.
	write(filepath.Join(dead, reasonName(5)), "refused\n")
	write(filepath.Join(dir, fileName(5)), `{"format":1,"batch":{}}`)
	// A reason removed by Retry, its batch not moved back yet.
	write(filepath.Join(dead, fileName(6)), `{"format":1,"batch":{}}`)
	// A reason half written.
	write(filepath.Join(dead, tmpPrefix+reasonName(7)), "ref")
	s := newSpool(t, dir, &fakeStore{})
	if got := spoolFiles(t, dead); !reflect.DeepEqual(got, []string{fileName(6)}) {
		t.Errorf("dead-letter directory holds %v after start, want only batch 6", got)
	}
	if s.Pending() != 1 {
		t.Errorf("pending %d, want batch 5", s.Pending())
	}
	_, list, err := List(dir)
	if err != nil || len(list) != 1 || !strings.HasPrefix(list[0].Err, "no reason recorded") {
		t.Errorf("List = %+v, %v; want batch 6 without a reason", list, err)
	}
}

func TestStatsAndCollector(t *testing.T) {
	st := &pickyStore{fakeStore: fakeStore{down: true}, refuse: map[string]bool{"d0001": true}}
	dir := t.TempDir()
	s := newSpool(t, dir, st)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	const empty = `
# HELP flowmeter_spool_batches Batches in the webhook spool: pending ones wait for the store, dead ones were refused by it permanently and wait for 'flowmeter spool retry' or 'drop'.
# TYPE flowmeter_spool_batches gauge
flowmeter_spool_batches{state="dead"} 0
flowmeter_spool_batches{state="pending"} 0
# HELP flowmeter_spool_oldest_pending_age_seconds Seconds since the oldest pending batch of the webhook spool was spooled; 0 when none is pending.
# TYPE flowmeter_spool_oldest_pending_age_seconds gauge
flowmeter_spool_oldest_pending_age_seconds 0
`
	if err := testutil.CollectAndCompare(s, strings.NewReader(empty)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if err := s.Write(ctx, deployment(i)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
	}
	now = now.Add(90 * time.Second) // the first batch was spooled 4.5 minutes ago
	if got, want := s.Stats(), (Stats{Pending: 3, OldestPending: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	const waiting = `
flowmeter_spool_batches{state="dead"} 0
flowmeter_spool_batches{state="pending"} 3
flowmeter_spool_oldest_pending_age_seconds 270
`
	if err := testutil.CollectAndCompare(s, strings.NewReader(head(empty)+waiting)); err != nil {
		t.Error(err)
	}
	st.setDown(false)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	const after = `
flowmeter_spool_batches{state="dead"} 1
flowmeter_spool_batches{state="pending"} 0
flowmeter_spool_oldest_pending_age_seconds 0
`
	if err := testutil.CollectAndCompare(s, strings.NewReader(head(empty)+after)); err != nil {
		t.Error(err)
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not on PATH; skipping promtool check metrics")
		return
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	enc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &text
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s\n%s", err, out, text.String())
	}
}

// head keeps the HELP and TYPE lines of an exposition.
func head(exposition string) string {
	var lines []string
	for _, l := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
