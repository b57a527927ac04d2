package scheduler

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// fakeSource counts its runs, checks they never overlap, and can fail or block.
type fakeSource struct {
	runs, running, overlaps atomic.Int32
	fail                    atomic.Bool
	block                   time.Duration // how long a run takes, unless canceled
	early                   bool          // write a batch before blocking, as a collection part-way through has
	finished                atomic.Int32  // runs that wrote their batch
}

func (f *fakeSource) Collect(ctx context.Context, w collectors.Writer, _ collectors.CollectOptions) error {
	f.runs.Add(1)
	if f.running.Add(1) > 1 {
		f.overlaps.Add(1)
	}
	defer f.running.Add(-1)
	if f.early {
		if err := w.Write(ctx, &schema.Batch{Deployments: []schema.Deployment{{Source: "x", ID: "early"}}}); err != nil {
			return err
		}
	}
	if f.block > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(f.block):
		}
	}
	if f.fail.Load() {
		return errors.New("source down")
	}
	if err := w.Write(ctx, &schema.Batch{Deployments: []schema.Deployment{{Source: "x", ID: "d"}}}); err != nil {
		return err
	}
	f.finished.Add(1)
	return nil
}

type nullWriter struct{}

func (nullWriter) Write(context.Context, *schema.Batch) error { return nil }
func (nullWriter) Cursor(context.Context, string, string) (schema.Cursor, error) {
	return schema.Cursor{}, store.ErrNotFound
}

// observer records what it is told.
type observer struct {
	mu             sync.Mutex
	runs           map[string][2]int // ok, error
	records        map[string]int
	derives        int
	deriveFailures int
}

func (o *observer) ObserveRun(source string, err error, _ time.Duration, _ time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.runs[source]
	if err == nil {
		r[0]++
	} else {
		r[1]++
	}
	o.runs[source] = r
}
func (o *observer) AddRecords(source, _ string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.records[source] += n
}
func (o *observer) SetRateLimit(string, int) {}
func (o *observer) ObserveDerive(_ time.Duration, err error, _ time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil {
		o.deriveFailures++
		return
	}
	o.derives++
}

type receiver struct{ fakeSource }

func (*receiver) Routes(collectors.ReceiverEnv) map[string]http.Handler { return nil }

func TestScheduling(t *testing.T) {
	good, bad, slow := &fakeSource{}, &fakeSource{}, &fakeSource{block: 30 * time.Millisecond}
	bad.fail.Store(true)
	pushed := &receiver{}
	obs := &observer{runs: map[string][2]int{}, records: map[string]int{}}
	var derives atomic.Int32
	s := New([]collectors.Instance{
		{Name: "good", Interval: 20 * time.Millisecond, Source: good},
		{Name: "bad", Interval: time.Second, Source: bad},
		{Name: "slow", Interval: time.Millisecond, Source: slow},
		{Name: "pushed", Interval: time.Millisecond, Source: pushed},
	}, nullWriter{}, Options{
		Derive:   func(context.Context) error { derives.Add(1); time.Sleep(25 * time.Millisecond); return nil },
		Observer: obs, RetryMin: 40 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	time.Sleep(400 * time.Millisecond)
	cancel()
	<-done

	// Every 20 ms ± 10% over 400 ms: about 20 runs.
	if n := good.runs.Load(); n < 10 || n > 25 {
		t.Errorf("good source ran %d times in 400 ms at a 20 ms interval", n)
	}
	// The failing source backs off 40, 80, 160 ms…: at most 5 runs in 400 ms, while
	// the others went on.
	if n := bad.runs.Load(); n < 2 || n > 5 {
		t.Errorf("failing source ran %d times, want backoff (2 to 5 runs)", n)
	}
	// A source slower than its interval never runs twice at once.
	if slow.overlaps.Load() != 0 || slow.runs.Load() < 5 {
		t.Errorf("slow source: %d runs, %d overlapping", slow.runs.Load(), slow.overlaps.Load())
	}
	if pushed.runs.Load() != 0 {
		t.Error("a receiver was polled")
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.runs["bad"][1] != int(bad.runs.Load()) || obs.runs["good"][0] != int(good.runs.Load()) {
		t.Errorf("observed runs %v", obs.runs)
	}
	if obs.records["good"] != int(good.finished.Load()) {
		t.Errorf("records counted %d, written %d", obs.records["good"], good.finished.Load())
	}
	// Derivation follows successful collections, coalesced: fewer derives than
	// successful runs, but some.
	successes := good.runs.Load() + slow.finished.Load()
	if d := derives.Load(); d == 0 || d >= successes || obs.derives != int(d) {
		t.Errorf("%d derives for %d successful collections (observed %d)", d, successes, obs.derives)
	}
}

func TestTrigger(t *testing.T) {
	src := &fakeSource{block: 50 * time.Millisecond}
	s := New([]collectors.Instance{{Name: "gh", Interval: time.Hour, Source: src}}, nullWriter{}, Options{StartSpread: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitFor(t, func() bool { return src.running.Load() == 1 }) // the first run, under way
	// Two requests while it runs make one more run, right after it.
	s.Trigger("gh")
	s.Trigger("gh")
	waitFor(t, func() bool { return src.finished.Load() == 2 })
	time.Sleep(150 * time.Millisecond)
	if n := src.runs.Load(); n != 2 {
		t.Errorf("%d runs after two triggers during a run, want 2 (one for both)", n)
	}
	s.Trigger("nosuch") // harmless
}

func TestShutdown(t *testing.T) {
	t.Run("a run that is writing and finishes within the grace period completes", func(t *testing.T) {
		src := &fakeSource{block: 100 * time.Millisecond, early: true}
		s := New([]collectors.Instance{{Name: "a", Interval: time.Hour, Source: src}}, nullWriter{}, Options{Grace: time.Second, StartSpread: time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		waitFor(t, func() bool { return src.running.Load() == 1 })
		cancel()
		<-done
		if src.finished.Load() != 1 {
			t.Error("the running collection was not allowed to finish")
		}
	})
	t.Run("one that does not is abandoned after it", func(t *testing.T) {
		src := &fakeSource{block: time.Hour, early: true}
		s := New([]collectors.Instance{{Name: "a", Interval: time.Hour, Source: src}}, nullWriter{}, Options{Grace: 100 * time.Millisecond, StartSpread: time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		waitFor(t, func() bool { return src.running.Load() == 1 })
		started := time.Now()
		cancel()
		<-done
		if took := time.Since(started); took > time.Second || src.finished.Load() != 0 {
			t.Errorf("shutdown took %s, finished %d; want about the 100 ms grace and nothing written", took, src.finished.Load())
		}
	})
}

// unreachable is a source that cannot be reached: each run waits out a long backoff
// between retries, as the GitHub source's transport does, then fails.
type unreachable struct{ runs, waiting atomic.Int32 }

func (u *unreachable) Collect(ctx context.Context, _ collectors.Writer, _ collectors.CollectOptions) error {
	u.runs.Add(1)
	u.waiting.Add(1)
	defer u.waiting.Add(-1)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Hour):
	}
	return errors.New("connection refused")
}

func TestShutdownDoesNotWaitForAnUnreachableSource(t *testing.T) {
	down, failing := &unreachable{}, &fakeSource{}
	failing.fail.Store(true)
	s := New([]collectors.Instance{
		{Name: "down", Interval: time.Hour, Source: down},
		{Name: "failing", Interval: time.Hour, Source: failing},
	}, nullWriter{}, Options{RetryMin: time.Hour, StartSpread: time.Millisecond}) // the default 10 s grace
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	// One source sleeps in its own retry, the other in the scheduler's backoff.
	waitFor(t, func() bool { return down.waiting.Load() == 1 && failing.runs.Load() == 1 })
	time.Sleep(20 * time.Millisecond)
	started := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown waited for a source that cannot be reached")
	}
	if took := time.Since(started); took > time.Second {
		t.Errorf("shutdown took %s, want it prompt", took)
	}
}

// syncBuffer is a log sink the scheduler's goroutines can share.
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

func TestDerivationRetriedWithBackoff(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	var attempts, successes atomic.Int32
	obs := &observer{records: map[string]int{}}
	s := New(nil, nullWriter{}, Options{
		Derive: func(context.Context) error {
			attempts.Add(1)
			if down.Load() {
				return errors.New("store down")
			}
			successes.Add(1)
			return nil
		},
		DeriveRetryMin: 20 * time.Millisecond, DeriveRetryMax: 80 * time.Millisecond, Observer: obs,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	// A webhook a millisecond while the store is down: 20, 40, 80, 80… ms between
	// attempts, not one attempt per request.
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
		s.RequestDerive()
		time.Sleep(time.Millisecond)
	}
	if n := attempts.Load(); n < 2 || n > 8 {
		t.Errorf("%d derivations tried in 300 ms of failures, want 2 to 8 (backoff)", n)
	}
	// The store is back; nobody asks again, yet the facts catch up.
	down.Store(false)
	waitFor(t, func() bool { return successes.Load() == 1 })
	time.Sleep(200 * time.Millisecond)
	if n := successes.Load(); n != 1 {
		t.Errorf("%d derivations after the store came back with no request, want 1", n)
	}
	// Every attempt is observed: the failures, then the one success.
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.derives != 1 || obs.deriveFailures != int(attempts.Load())-1 {
		t.Errorf("observed %d derivations and %d failures of %d attempts, want 1 and the rest", obs.derives, obs.deriveFailures, attempts.Load())
	}
}

func TestDerivationStoppedByShutdownIsNotAnError(t *testing.T) {
	var logs syncBuffer
	var running atomic.Bool
	s := New(nil, nullWriter{}, Options{
		Derive: func(ctx context.Context) error {
			running.Store(true)
			<-ctx.Done()
			return ctx.Err()
		},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	s.RequestDerive()
	waitFor(t, running.Load)
	cancel() // as a reload does
	<-done
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a derivation stopped by a reload was logged as an error:\n%s", logs.String())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
