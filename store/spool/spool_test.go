package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// fakeStore records the batches it takes, in order, and fails while down.
type fakeStore struct {
	mu      sync.Mutex
	down    bool
	failN   int // fail this many more writes, then work
	calls   int
	batches []*schema.Batch
}

var errDown = errors.New("store unreachable")

func (f *fakeStore) Write(_ context.Context, b *schema.Batch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return errDown
	}
	if f.failN > 0 {
		f.failN--
		return errDown
	}
	f.batches = append(f.batches, b)
	return nil
}

func (f *fakeStore) Cursor(_ context.Context, source, stream string) (schema.Cursor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.batches) - 1; i >= 0; i-- {
		for _, c := range f.batches[i].Cursors {
			if c.Source == source && c.Stream == stream {
				return c, nil
			}
		}
	}
	return schema.Cursor{}, store.ErrNotFound
}

func (f *fakeStore) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// ids lists the deployment ids the store took, in the order it took them.
func (f *fakeStore) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.batches {
		for _, d := range b.Deployments {
			out = append(out, d.ID)
		}
	}
	return out
}

func (f *fakeStore) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func deployment(i int) *schema.Batch {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC).Add(time.Duration(i) * time.Minute)
	return &schema.Batch{Deployments: []schema.Deployment{{
		Source: "ci", ID: fmt.Sprintf("d%04d", i), Service: "api", Environment: "production",
		Status: schema.DeploymentSuccess, StartedAt: at, FinishedAt: at.Add(time.Minute), UpdatedAt: at.Add(time.Minute),
	}}}
}

func newSpool(t *testing.T, dir string, next Next) *Spool {
	t.Helper()
	s, err := New(dir, next, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.minRetry, s.maxRetry = 5*time.Millisecond, 20*time.Millisecond
	return s
}

// spoolFiles lists the files of dir, leaving out the dead-letter directory.
func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestWritePassesThroughWhileTheStoreWorks(t *testing.T) {
	st := &fakeStore{}
	dir := t.TempDir()
	s := newSpool(t, dir, st)
	ctx := context.Background()
	for i := range 3 {
		if err := s.Write(ctx, deployment(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Write(ctx, &schema.Batch{}); err != nil || st.callCount() != 3 {
		t.Fatalf("empty batch: err %v, store calls %d, want 3", err, st.callCount())
	}
	if got := s.Pending(); got != 0 {
		t.Errorf("pending %d, want 0", got)
	}
	if files := spoolFiles(t, dir); len(files) != 0 {
		t.Errorf("spool files %v, want none", files)
	}
	if got := st.ids(); !reflect.DeepEqual(got, []string{"d0000", "d0001", "d0002"}) {
		t.Errorf("store holds %v", got)
	}
}

func TestOutageSpoolsInOrderAndReplays(t *testing.T) {
	st := &fakeStore{down: true}
	dir := t.TempDir()
	s := newSpool(t, dir, st)
	ctx := context.Background()
	for i := range 5 {
		if err := s.Write(ctx, deployment(i)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if got := s.Pending(); got != 5 {
		t.Fatalf("pending %d, want 5", got)
	}
	// Only the first write asked the store: the rest queued behind it.
	if got := st.callCount(); got != 1 {
		t.Errorf("store asked %d times during the outage, want 1", got)
	}
	if err := s.Flush(ctx); !errors.Is(err, errDown) {
		t.Fatalf("flush while down: %v, want the store's error", err)
	}
	if got := s.Pending(); got != 5 {
		t.Fatalf("pending after failed flush %d, want 5", got)
	}
	st.setDown(false)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"d0000", "d0001", "d0002", "d0003", "d0004"}
	if got := st.ids(); !reflect.DeepEqual(got, want) {
		t.Errorf("replayed %v, want %v in order", got, want)
	}
	if files := spoolFiles(t, dir); s.Pending() != 0 || len(files) != 0 {
		t.Errorf("after replay: pending %d, files %v", s.Pending(), files)
	}
	// With the backlog gone, writes go straight to the store again.
	if err := s.Write(ctx, deployment(9)); err != nil || s.Pending() != 0 {
		t.Fatalf("write after recovery: %v, pending %d", err, s.Pending())
	}
}

// TestBacklogReplaysInFewWrites is the defect the soak test of `flowmeter run`
// found: replay wrote one spooled batch per store write, which against ClickHouse
// is slower than webhooks arrive under load, and webhooks arriving meanwhile queue
// behind the backlog, so after an outage the spool did not drain while they kept
// coming. Consecutive batches now reach the store together, in order, within the
// bounds of one write.
func TestBacklogReplaysInFewWrites(t *testing.T) {
	st := &fakeStore{down: true}
	s := newSpool(t, t.TempDir(), st)
	s.replayBatches, s.replayRecords = 4, 5
	ctx := context.Background()
	var want []string
	write := func(b *schema.Batch) {
		t.Helper()
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		for _, d := range b.Deployments {
			want = append(want, d.ID)
		}
	}
	for i := range 10 {
		write(deployment(i))
	}
	write(&schema.Batch{Deployments: slices.Concat(deployment(10).Deployments, deployment(11).Deployments, deployment(12).Deployments)})
	write(deployment(13))
	write(deployment(14))
	st.setDown(false)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := st.ids(); !reflect.DeepEqual(got, want) {
		t.Errorf("replayed %v, want %v in order", got, want)
	}
	var sizes []int
	for _, b := range st.batches {
		sizes = append(sizes, b.Len())
	}
	// Four batches, then four, then two and the batch of three (five records), then two.
	if want := []int{4, 4, 5, 2}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("store writes of %v records, want %v", sizes, want)
	}
	if got := s.Pending(); got != 0 {
		t.Errorf("pending %d after the replay, want 0", got)
	}
}

func TestBatchRoundTripsExactly(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 987654321, time.UTC)
	b := &schema.Batch{
		PullRequests: []schema.PullRequest{{Source: "gh", ID: "acme/api#1", Repo: "acme/api", Number: 1, Labels: []string{"bug", "ünïcode"},
			CreatedAt: at, MergedAt: at.Add(time.Hour), UpdatedAt: at.Add(time.Hour)}},
		Deployments: []schema.Deployment{{Source: "ci", ID: "d1", Status: schema.DeploymentFailure, Trigger: schema.TriggerManual,
			Rollback: true, Attempt: 2, StartedAt: at, UpdatedAt: at}},
		Incidents: []schema.Incident{{Source: "ci", ID: "i1", OpenedAt: at, ResolvedAt: at.Add(time.Minute), UpdatedAt: at}},
		Cursors:   []schema.Cursor{{Source: "ci", Stream: "flux:apps/Kustomization/web", Value: "success main@sha1:abc", UpdatedAt: at}},
	}
	st := &fakeStore{down: true}
	dir := t.TempDir()
	if err := newSpool(t, dir, st).Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, fileName(1)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"2026-03-01T12:00:00.987654321Z"`) {
		t.Errorf("times not RFC 3339 with nanoseconds: %s", data)
	}
	st.setDown(false)
	s := newSpool(t, dir, st)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(st.batches) != 1 || !reflect.DeepEqual(st.batches[0], b) {
		t.Errorf("replayed batch differs:\n got %+v\nwant %+v", st.batches, b)
	}
}

// TestCrashRestart: a process accepted batches while the store was down and died;
// the next one, on the same directory, replays them, drops a batch that was half
// written (never acknowledged), makes a corrupt one a dead letter, and numbers new
// batches after the old ones.
func TestCrashRestart(t *testing.T) {
	st := &fakeStore{down: true}
	dir := t.TempDir()
	ctx := context.Background()
	first := newSpool(t, dir, st)
	for i := range 3 {
		if err := first.Write(ctx, deployment(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The crash: first is abandoned without Run or Flush, mid-way through a fourth
	// append and with one file damaged on disk.
	if err := os.WriteFile(filepath.Join(dir, tmpPrefix+fileName(4)), []byte(`{"format":1,"ba`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fileName(2)), []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}

	second := newSpool(t, dir, st)
	if got := second.Pending(); got != 3 {
		t.Fatalf("restarted spool holds %d batches, want 3", got)
	}
	for _, name := range spoolFiles(t, dir) {
		if strings.HasPrefix(name, tmpPrefix) {
			t.Errorf("half-written batch %s left in place", name)
		}
	}
	// A batch accepted after the restart goes behind the old ones.
	if err := second.Write(ctx, deployment(7)); err != nil {
		t.Fatal(err)
	}
	st.setDown(false)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- second.Run(runCtx) }()
	waitFor(t, func() bool { return second.Pending() == 0 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	want := []string{"d0000", "d0002", "d0007"} // batch 2 (d0001) was the damaged file
	if got := st.ids(); !reflect.DeepEqual(got, want) {
		t.Errorf("replayed %v, want %v", got, want)
	}
	if files := spoolFiles(t, dir); len(files) != 0 {
		t.Errorf("spool directory holds %v, want nothing but the dead letters", files)
	}
	dead := spoolFiles(t, filepath.Join(dir, DeadDir))
	if want := []string{fileName(2), reasonName(2)}; !reflect.DeepEqual(dead, want) {
		t.Errorf("dead letters %v, want the damaged batch and its reason %v", dead, want)
	}
}

func TestRunRetriesWithBackoffUntilTheStoreWorks(t *testing.T) {
	st := &fakeStore{down: true}
	s := newSpool(t, t.TempDir(), st)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for i := range 10 {
		if err := s.Write(ctx, deployment(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return st.callCount() >= 4 }) // the first write and a few replay attempts
	if got := s.Pending(); got != 10 {
		t.Fatalf("pending %d while down, want 10", got)
	}
	st.mu.Lock()
	st.down, st.failN = false, 2 // flaky on the way back
	st.mu.Unlock()
	waitFor(t, func() bool { return s.Pending() == 0 })
	if got := len(st.ids()); got != 10 {
		t.Errorf("store holds %d records, want 10", got)
	}
	cancel()
	<-done
}

func TestConcurrentWritesDuringOutage(t *testing.T) {
	st := &fakeStore{down: true}
	s := newSpool(t, t.TempDir(), st)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := s.Write(ctx, deployment(w*100+i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	// Replays race the writers once the store is back half-way through.
	time.Sleep(time.Millisecond)
	st.setDown(false)
	var flushes sync.WaitGroup
	for range 2 {
		flushes.Add(1)
		go func() {
			defer flushes.Done()
			for range 20 {
				_ = s.Flush(ctx)
			}
		}()
	}
	wg.Wait()
	flushes.Wait()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ids := st.ids()
	sort.Strings(ids)
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	if len(seen) != 200 || s.Pending() != 0 {
		t.Errorf("store holds %d distinct records (%d writes), pending %d; want 200, 0", len(seen), len(ids), s.Pending())
	}
}

func TestCursorReadsTheStore(t *testing.T) {
	st := &fakeStore{}
	s := newSpool(t, t.TempDir(), st)
	ctx := context.Background()
	c := schema.Cursor{Source: "ci", Stream: "s", Value: "v", UpdatedAt: time.Now().UTC()}
	if err := s.Write(ctx, &schema.Batch{Cursors: []schema.Cursor{c}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Cursor(ctx, "ci", "s")
	if err != nil || got.Value != "v" {
		t.Fatalf("cursor %+v, %v", got, err)
	}
	if _, err := s.Cursor(ctx, "ci", "other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing cursor: %v, want ErrNotFound", err)
	}
}

func TestUnwritableSpoolIsAnError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	s := newSpool(t, dir, &fakeStore{down: true})
	// The directory disappears and a file takes its place (a full or broken disk):
	// nothing can be appended, even as root.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), deployment(1)); err == nil {
		t.Fatal("write to an unwritable spool with the store down succeeded; the caller would answer 202 for a lost batch")
	}
	if s.Pending() != 0 {
		t.Errorf("pending %d after a failed append", s.Pending())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// hangingStore never answers until its context ends, as a store behind a dropped
// network would.
type hangingStore struct{ fakeStore }

func (h *hangingStore) Write(ctx context.Context, b *schema.Batch) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestSlowStoreIsTreatedAsDown(t *testing.T) {
	s := newSpool(t, t.TempDir(), &hangingStore{})
	s.directTimeout = 50 * time.Millisecond
	start := time.Now()
	if err := s.Write(context.Background(), deployment(1)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("write took %v with a hanging store", took)
	}
	if s.Pending() != 1 {
		t.Errorf("pending %d, want the batch spooled", s.Pending())
	}
}
