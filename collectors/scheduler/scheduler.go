// Package scheduler runs every source instance on its own interval, as `flowmeter
// run` does: one collection of an instance at a time, a failing instance retried with
// backoff while the others go on, derivation after each successful collection (a
// failed one retried with backoff), and a shutdown that stops taking work, lets
// running collections that are writing finish for a grace period, then abandons
// them (their cursors never pass unwritten records).
package scheduler

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
)

// Observer is told what the scheduler does (the exporter's self-metrics).
type Observer interface {
	ObserveRun(source string, err error, took time.Duration, at time.Time)
	AddRecords(source, kind string, n int)
	SetRateLimit(source string, remaining int)
	ObserveDerive(took time.Duration, err error, at time.Time)
}

// RateLimited is a source that reports how much of its API budget is left.
type RateLimited interface{ RateLimitRemaining() int }

// Options configure a scheduler.
type Options struct {
	// Derive runs after successful collections; requests made while it runs are
	// coalesced into one more run. A failure is retried with backoff, and requests
	// made while the retry waits are served by it.
	Derive func(ctx context.Context) error
	// Observer receives what happens; nil ignores it.
	Observer Observer
	Logger   *slog.Logger
	// Grace is how long running collections that have written records may finish
	// after shutdown begins; one that has written nothing has nothing to finish and
	// is stopped at once. Default 10 s.
	Grace time.Duration
	// RetryMin is the first wait after a failure, doubling up to the interval.
	// Default 30 s.
	RetryMin time.Duration
	// DeriveRetryMin is the first wait after a failed derivation, doubling up to
	// DeriveRetryMax. Defaults 1 s and 1 min: a store that comes back is used
	// within a minute, and one that stays down costs a log line a minute.
	DeriveRetryMin, DeriveRetryMax time.Duration
	// Jitter spreads runs by up to this fraction of the interval. Default 0.1.
	Jitter float64
	// StartSpread delays each source's first run by up to this (and at most a tenth
	// of its interval), so sources do not all start at once. Default 5 s.
	StartSpread time.Duration
}

// Scheduler runs sources on their intervals.
type Scheduler struct {
	instances []collectors.Instance
	w         collectors.Writer
	opts      Options
	log       *slog.Logger
	triggers  map[string]chan struct{}
	derive    chan struct{}
}

// New makes a scheduler for the instances, writing through w.
func New(instances []collectors.Instance, w collectors.Writer, opts Options) *Scheduler {
	if opts.Grace <= 0 {
		opts.Grace = 10 * time.Second
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 30 * time.Second
	}
	if opts.DeriveRetryMin <= 0 {
		opts.DeriveRetryMin = time.Second
	}
	if opts.DeriveRetryMax <= 0 {
		opts.DeriveRetryMax = time.Minute
	}
	opts.DeriveRetryMax = max(opts.DeriveRetryMax, opts.DeriveRetryMin)
	if opts.Jitter <= 0 {
		opts.Jitter = 0.1
	}
	if opts.StartSpread <= 0 {
		opts.StartSpread = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{instances: instances, w: w, opts: opts, log: log,
		triggers: map[string]chan struct{}{}, derive: make(chan struct{}, 1)}
	for _, in := range instances {
		s.triggers[in.Name] = make(chan struct{}, 1)
	}
	return s
}

// Trigger asks for a collection of a source as soon as it is not running; several
// requests before it starts make one collection.
func (s *Scheduler) Trigger(name string) {
	if ch, ok := s.triggers[name]; ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// RequestDerive asks for a derivation, as after a collection or when a webhook wrote
// records; requests made while one runs make one more.
func (s *Scheduler) RequestDerive() {
	select {
	case s.derive <- struct{}{}:
	default:
	}
}

// Run collects until ctx is canceled, then shuts down: it returns once every running
// collection has finished or been abandoned after the grace period.
func (s *Scheduler) Run(ctx context.Context) {
	// work outlives ctx by the grace period, so a collection under way can finish.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	for _, in := range s.instances {
		if _, pushed := in.Source.(collectors.Receiver); pushed {
			continue // tools push to it; nothing to poll
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, work, in)
		}()
	}
	derived := make(chan struct{})
	go func() {
		defer close(derived)
		s.deriveLoop(ctx, work)
	}()
	<-ctx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.opts.Grace):
		s.log.Warn("collections still running after the grace period; abandoning them", "grace", s.opts.Grace)
		cancelWork()
		<-done
	}
	cancelWork()
	<-derived
}

// loop runs one instance: at once, then on its interval, sooner when triggered.
func (s *Scheduler) loop(ctx, work context.Context, in collectors.Instance) {
	failures := 0
	wait := time.Duration(rand.Int64N(int64(min(s.opts.StartSpread, in.Interval/10)) + 1))
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		case <-s.triggers[in.Name]:
			timer.Stop()
		}
		err := s.collect(ctx, work, in)
		if err == nil {
			failures = 0
			wait = s.jittered(in.Interval)
			s.RequestDerive()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		wait = min(s.opts.RetryMin<<min(failures-1, 20), in.Interval)
		s.log.Error("collection failed; retrying", "source", in.Name, "in", wait.Round(time.Second), "failures", failures, "err", err)
		wait = s.jittered(wait)
	}
}

// collect runs one collection under work, counting what it writes. When ctx ends
// before the collection has written anything, it is stopped at once: it has nothing
// to finish, and a source that cannot be reached would otherwise hold shutdown for
// the whole grace period while it sleeps between retries.
func (s *Scheduler) collect(ctx, work context.Context, in collectors.Instance) error {
	started := time.Now()
	run, cancel := context.WithCancel(work)
	defer cancel()
	w := &countingWriter{Writer: s.w, source: in.Name, obs: s.opts.Observer}
	stop := context.AfterFunc(ctx, func() {
		if !w.writing.Load() {
			cancel()
		}
	})
	defer stop()
	err := in.Source.Collect(run, w, collectors.CollectOptions{Logger: s.log})
	took := time.Since(started)
	if obs := s.opts.Observer; obs != nil {
		obs.ObserveRun(in.Name, err, took, time.Now())
		if rl, ok := in.Source.(RateLimited); ok {
			obs.SetRateLimit(in.Name, rl.RateLimitRemaining())
		}
	}
	if err == nil {
		s.log.Info("collected", "source", in.Name, "took", took.Round(time.Millisecond))
	}
	return err
}

// deriveLoop derives once per request, coalescing requests made while it runs. After
// a failure it waits, doubling the wait up to DeriveRetryMax, and derives again
// without being asked; requests made meanwhile wait for that retry, so that a store
// that is down is not asked once per webhook, and facts catch up once it is back.
func (s *Scheduler) deriveLoop(ctx, work context.Context) {
	if s.opts.Derive == nil {
		return
	}
	failures := 0
	var retry *time.Timer // set while waiting to retry a failed derivation
	for {
		var retryC <-chan time.Time
		if retry != nil {
			retryC = retry.C
		}
		select {
		case <-ctx.Done():
			if retry != nil {
				retry.Stop()
			}
			return
		case <-s.derive:
			if retry != nil {
				continue // the retry derives what this request asked for
			}
		case <-retryC:
			retry = nil
		}
		started := time.Now()
		err := s.opts.Derive(work)
		switch {
		case err == nil:
			failures = 0
			if obs := s.opts.Observer; obs != nil {
				obs.ObserveDerive(time.Since(started), nil, time.Now())
			}
		case work.Err() != nil:
			// Shutdown or a reload stopped it; the next scheduler derives again.
			s.log.Debug("derivation stopped by shutdown or reload", "err", err)
			return
		default:
			if obs := s.opts.Observer; obs != nil {
				obs.ObserveDerive(time.Since(started), err, time.Now())
			}
			failures++
			wait := min(s.opts.DeriveRetryMin<<min(failures-1, 20), s.opts.DeriveRetryMax)
			s.log.Error("derivation failed; retrying", "in", wait, "failures", failures, "err", err)
			retry = time.NewTimer(wait)
		}
	}
}

func (s *Scheduler) jittered(d time.Duration) time.Duration {
	spread := time.Duration(float64(d) * s.opts.Jitter)
	if spread <= 0 {
		return d
	}
	return d - spread + time.Duration(rand.Int64N(int64(2*spread)+1))
}

// countingWriter reports what a collection writes, and whether it has begun to.
type countingWriter struct {
	collectors.Writer
	source  string
	obs     Observer
	writing atomic.Bool
}

func (w *countingWriter) Write(ctx context.Context, b *schema.Batch) error {
	w.writing.Store(true)
	if err := w.Writer.Write(ctx, b); err != nil {
		return err
	}
	if w.obs == nil {
		return nil
	}
	for kind, n := range map[schema.Kind]int{
		schema.KindPullRequest: len(b.PullRequests), schema.KindDeployment: len(b.Deployments),
		schema.KindIncident: len(b.Incidents), schema.KindWorkItem: len(b.WorkItems),
		schema.KindStatusChange: len(b.StatusChanges), schema.KindWorklog: len(b.Worklogs),
		schema.KindAncestry: len(b.Ancestries),
	} {
		if n > 0 {
			w.obs.AddRecords(w.source, string(kind), n)
		}
	}
	return nil
}
