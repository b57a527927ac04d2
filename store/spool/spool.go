// Package spool keeps batches that could not be written to the store on disk until
// the store takes them, so that a webhook accepted with 202 is never lost while the
// store is down or being restarted.
//
// Each spooled batch is one file in the spool directory, named by a sequence number
// so that replay follows arrival order. A file is written under a temporary name,
// synced, renamed into place and the directory synced before Write returns, so a
// crash leaves either a complete batch or none (and then the caller never answered
// 202). A batch is deleted only after the store took it; a crash between the two
// writes it again, which is harmless because records and cursors are idempotent by
// source, id and version.
//
// A batch the store refuses permanently (store.ErrPermanent), or one that cannot be
// decoded, would fail the same way on every replay and hold up every batch behind
// it. It becomes a dead letter instead: its reason is written beside it in the dead
// subdirectory, then the batch is renamed there, and both directories are synced. A
// crash in between leaves the batch in the queue, to be refused and moved again. The
// package's Retry and Drop handle dead letters with renames and removals only, so
// `flowmeter spool` is safe while a daemon runs on the same directory; a running
// Spool notices batches Retry put back within RescanInterval.
package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// Next is where the spool writes batches: the store, or anything shaped like
// collectors.Writer.
type Next interface {
	Write(ctx context.Context, b *schema.Batch) error
	Cursor(ctx context.Context, source, stream string) (schema.Cursor, error)
}

const (
	// fileSuffix ends the name of every complete spooled batch.
	fileSuffix = ".batch.json"
	// reasonSuffix ends the name of the file beside a dead letter that says why the
	// store refused it.
	reasonSuffix = ".error"
	// tmpPrefix starts the name of a file still being written; one left behind by a
	// crash was never acknowledged and is removed at start.
	tmpPrefix = ".tmp-"
	// DeadDir is the subdirectory of the spool directory that holds dead letters.
	DeadDir = "dead"
	// format is the version of the file envelope.
	format = 1

	defaultMinRetry = time.Second
	defaultMaxRetry = 30 * time.Second
	// defaultDirectTimeout bounds a write straight to the store: a store that takes
	// longer is treated as down, so that a sender gets its answer in time (GitHub
	// gives up after 10 s).
	defaultDirectTimeout = 5 * time.Second
	// defaultReplayBatches and defaultReplayRecords bound one replay write (see
	// Flush): large enough that ClickHouse makes few parts, small enough that a
	// write's memory stays modest.
	defaultReplayBatches = 1000
	defaultReplayRecords = 10_000
	// RescanInterval is how often an idle Spool looks for batches that Retry put
	// back into its directory.
	RescanInterval = 10 * time.Second
)

// envelope is a spooled file's content; its version lets a later flowmeter read
// what an earlier one left.
type envelope struct {
	Format int           `json:"format"`
	Batch  *schema.Batch `json:"batch"`
}

// queued is a pending batch: its sequence number and when it was spooled.
type queued struct {
	n  uint64
	at time.Time
}

// Spool writes batches to the store, and to disk when the store fails, replaying
// them in order once the store works again. It is safe for concurrent use, and it
// is a prometheus.Collector of its own state.
type Spool struct {
	dir, dead string
	next      Next
	log       *slog.Logger
	now       func() time.Time

	// minRetry and maxRetry bound the wait between replay attempts while the store
	// keeps failing; the wait doubles after each failure.
	minRetry, maxRetry time.Duration
	directTimeout      time.Duration
	rescanEvery        time.Duration
	// replayBatches and replayRecords bound one replay write; see Flush.
	replayBatches, replayRecords int

	mu        sync.Mutex
	queue     []queued            // pending batches, ascending by number
	appending map[uint64]struct{} // numbers being written, not yet in queue
	seq       uint64              // last sequence number handed out
	wake      chan struct{}
	replayMu  sync.Mutex // one replay at a time (Run and Flush)
}

var _ prometheus.Collector = (*Spool)(nil)

// New opens the spool directory (creating it and its dead-letter directory),
// removes files a crash left half written, and queues the complete batches an
// earlier process left, for Run to replay.
func New(dir string, next Next, log *slog.Logger) (*Spool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Spool{dir: dir, dead: filepath.Join(dir, DeadDir), next: next, log: log, now: time.Now,
		minRetry: defaultMinRetry, maxRetry: defaultMaxRetry, directTimeout: defaultDirectTimeout,
		rescanEvery: RescanInterval, replayBatches: defaultReplayBatches, replayRecords: defaultReplayRecords,
		appending: map[uint64]struct{}{}, wake: make(chan struct{}, 1)}
	if err := os.MkdirAll(s.dead, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := removeUnfinished(dir); err != nil {
		return nil, err
	}
	if err := removeUnfinished(s.dead); err != nil {
		return nil, err
	}
	if err := s.rescan(); err != nil {
		return nil, err
	}
	dead, err := deadLetters(s.dead)
	if err != nil {
		return nil, err
	}
	for _, n := range dead {
		s.seq = max(s.seq, n) // a dead letter retried later keeps its number
	}
	if len(s.queue) > 0 {
		log.Info("spool holds batches from an earlier run; replaying them", "dir", dir, "batches", len(s.queue))
	}
	if len(dead) > 0 {
		log.Warn("spool holds dead letters the store refused; see 'flowmeter spool list'", "dir", s.dead, "batches", len(dead))
	}
	return s, nil
}

// removeUnfinished deletes what a crash left half written in dir, and reasons whose
// dead letter was retried or dropped before the reason could be removed.
func removeUnfinished(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		orphan := false
		if digits, ok := strings.CutSuffix(name, reasonSuffix); ok {
			_, err := os.Lstat(filepath.Join(dir, digits+fileSuffix))
			orphan = errors.Is(err, fs.ErrNotExist)
		}
		if !strings.HasPrefix(name, tmpPrefix) && !orphan {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("spool: remove unfinished file: %w", err)
		}
	}
	return nil
}

func fileName(n uint64) string   { return fmt.Sprintf("%020d%s", n, fileSuffix) }
func reasonName(n uint64) string { return fmt.Sprintf("%020d%s", n, reasonSuffix) }

func parseName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, fileSuffix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// rescan queues the batch files in the directory that the queue does not hold: at
// start, those an earlier process left; later, those Retry put back.
func (s *Spool) rescan() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	known := make(map[uint64]bool, len(s.queue))
	for _, q := range s.queue {
		known[q.n] = true
	}
	added := 0
	for _, e := range entries {
		n, ok := parseName(e.Name())
		if _, busy := s.appending[n]; !ok || known[n] || busy {
			continue
		}
		at := s.now()
		if info, err := e.Info(); err == nil {
			at = info.ModTime()
		}
		s.queue = append(s.queue, queued{n: n, at: at})
		s.seq = max(s.seq, n)
		added++
	}
	if added > 0 {
		sort.Slice(s.queue, func(i, j int) bool { return s.queue[i].n < s.queue[j].n })
	}
	return nil
}

// Pending is the number of accepted batches on disk that the store has not taken yet.
func (s *Spool) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Stats is the state of a spool, for /metrics and health checks.
type Stats struct {
	// Pending is the number of batches waiting for the store.
	Pending int
	// Dead is the number of dead letters: batches the store refused permanently.
	Dead int
	// OldestPending is when the oldest pending batch was spooled; zero when none is.
	OldestPending time.Time
}

// Stats reports the spool's state. Dead letters are counted on disk, so that
// `flowmeter spool retry` and `drop` show at once.
func (s *Spool) Stats() Stats {
	st := Stats{}
	st.Pending, st.OldestPending = s.Backlog()
	dead, err := deadLetters(s.dead)
	if err != nil {
		s.log.Warn("cannot count dead letters", "err", err)
	}
	st.Dead = len(dead)
	return st
}

// Backlog is how many batches wait for the store and since when the oldest has
// (zero when none waits): what readiness asks on every probe, from memory, without
// the directory listing that counting dead letters needs.
func (s *Spool) Backlog() (pending int, oldest time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queue {
		if oldest.IsZero() || q.at.Before(oldest) {
			oldest = q.at
		}
	}
	return len(s.queue), oldest
}

var (
	batchesDesc = prometheus.NewDesc("flowmeter_spool_batches",
		"Batches in the webhook spool: pending ones wait for the store, dead ones were refused by it permanently and wait for 'flowmeter spool retry' or 'drop'.",
		[]string{"state"}, nil)
	oldestDesc = prometheus.NewDesc("flowmeter_spool_oldest_pending_age_seconds",
		"Seconds since the oldest pending batch of the webhook spool was spooled; 0 when none is pending.",
		nil, nil)
)

// Describe sends the descriptors of the metrics Collect sends.
func (s *Spool) Describe(ch chan<- *prometheus.Desc) {
	ch <- batchesDesc
	ch <- oldestDesc
}

// Collect sends the spool's state as it is at scrape time.
func (s *Spool) Collect(ch chan<- prometheus.Metric) {
	st := s.Stats()
	ch <- prometheus.MustNewConstMetric(batchesDesc, prometheus.GaugeValue, float64(st.Pending), "pending")
	ch <- prometheus.MustNewConstMetric(batchesDesc, prometheus.GaugeValue, float64(st.Dead), "dead")
	age := 0.0
	if !st.OldestPending.IsZero() {
		age = max(0, s.now().Sub(st.OldestPending).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}

// Cursor reads the store's cursor; a cursor only in a spooled batch is not seen
// until replay, which costs at most a repeated collection.
func (s *Spool) Cursor(ctx context.Context, source, stream string) (schema.Cursor, error) {
	return s.next.Cursor(ctx, source, stream)
}

// Write writes b to the store, or, when the store fails or takes more than 5 s,
// durably to the spool; nil means the batch will reach the store, or the dead
// letters if the store refuses it on replay. While earlier batches wait in the
// spool, b goes behind them without asking the store, so that order is kept and a
// request does not wait on a store that is known to be down. A batch the store
// refuses permanently right away is not spooled: that error is returned.
func (s *Spool) Write(ctx context.Context, b *schema.Batch) error {
	if b == nil || (b.Len() == 0 && len(b.Cursors) == 0) {
		return nil
	}
	s.mu.Lock()
	backlog := len(s.queue) + len(s.appending)
	s.mu.Unlock()
	if backlog == 0 {
		wctx, cancel := context.WithTimeout(ctx, s.directTimeout)
		err := s.next.Write(wctx, b)
		cancel()
		if err == nil || errors.Is(err, store.ErrPermanent) {
			return err
		}
		// A write abandoned here may still land; the spooled copy then writes the
		// same records again, which is harmless.
		s.log.Warn("store write failed; spooling the batch", "err", err, "records", b.Len())
	}
	return s.append(b)
}

// append writes b to a new spool file and syncs it and the directory.
func (s *Spool) append(b *schema.Batch) error {
	data, err := json.Marshal(envelope{Format: format, Batch: b})
	if err != nil {
		return fmt.Errorf("spool: encode batch: %w", err)
	}
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.appending[n] = struct{}{}
	s.mu.Unlock()

	err = writeFile(s.dir, fileName(n), data)

	s.mu.Lock()
	delete(s.appending, n)
	if err == nil {
		// Appends finish out of order when they run concurrently; keep the queue sorted.
		i := sort.Search(len(s.queue), func(i int) bool { return s.queue[i].n > n })
		s.queue = append(s.queue, queued{})
		copy(s.queue[i+1:], s.queue[i:])
		s.queue[i] = queued{n: n, at: s.now()}
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("spool: write batch: %w", err)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// writeFile writes data to dir/name through a synced temporary file and a rename,
// then syncs dir, so that name holds all of data or does not exist.
func writeFile(dir, name string, data []byte) error {
	final := filepath.Join(dir, name)
	tmp := filepath.Join(dir, tmpPrefix+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Run replays spooled batches whenever there are any, waiting between attempts
// while the store fails (1 s, doubling up to 30 s), until ctx ends. While idle it
// looks for retried dead letters every RescanInterval. It returns ctx's error.
func (s *Spool) Run(ctx context.Context) error {
	delay := time.Duration(0) // replay what an earlier process left at once
	for {
		if s.Pending() == 0 {
			rescan := time.NewTimer(s.rescanEvery)
			select {
			case <-ctx.Done():
				rescan.Stop()
				return ctx.Err()
			case <-s.wake:
				rescan.Stop()
				// The batch that woke us was spooled because the store just failed:
				// give it a moment before asking again.
				delay = s.minRetry
			case <-rescan.C:
			}
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if err := s.Flush(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			delay = min(max(delay*2, s.minRetry), s.maxRetry)
			s.log.Warn("store still failing; spooled batches wait", "err", err, "pending", s.Pending(), "retry_in", delay)
			continue
		}
		delay = 0
	}
}

// Flush writes the spooled batches to the store in order, deleting each once the
// store took it and moving each it refuses permanently to the dead letters, and
// stops at the first other failure, which it returns. Run calls it; shutdown may
// call it for a last attempt.
//
// Consecutive batches go to the store together, up to 1,000 batches and 10,000
// records at a time. ClickHouse takes one insert of a thousand rows about as fast
// as one of a single row, so a backlog left by an outage drains in seconds; at one
// insert per webhook it drained more slowly than webhooks arrive under load, and
// since new ones queue behind the backlog, it did not drain while they kept coming.
// Merging keeps the batches' order, and their records before their cursors, as
// separate writes would; a merged write the store refuses permanently is retried
// batch by batch, so that only the batch it refuses becomes a dead letter.
func (s *Spool) Flush(ctx context.Context) error {
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	if err := s.rescan(); err != nil {
		return err
	}
	var r replay
	defer func() {
		if r.replayed+r.buried > 0 {
			s.log.Info("replayed spooled batches", "batches", r.replayed, "dead_letters", r.buried, "pending", s.Pending())
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		heads := make([]uint64, 0, min(len(s.queue), s.replayBatches))
		for _, q := range s.queue[:cap(heads)] {
			heads = append(heads, q.n)
		}
		s.mu.Unlock()
		if len(heads) == 0 {
			return nil
		}
		var group []uint64
		var batches []*schema.Batch
		records := 0
	read:
		for _, n := range heads {
			path := filepath.Join(s.dir, fileName(n))
			b, err := readBatch(path)
			switch {
			case errors.Is(err, errCorrupt):
				if err := s.bury(n, err); err != nil {
					return err
				}
				r.buried++
				continue
			case errors.Is(err, fs.ErrNotExist):
				s.log.Error("spooled batch vanished from the spool directory", "file", path)
				s.dequeue(n)
				continue
			case err != nil:
				if len(group) == 0 {
					return err
				}
				break read // write what was read; the next round meets the error again
			}
			if len(group) > 0 && records+b.Len() > s.replayRecords {
				break
			}
			group, batches, records = append(group, n), append(batches, b), records+b.Len()
		}
		if len(group) == 0 {
			continue
		}
		err := s.next.Write(ctx, merge(batches))
		switch {
		case err == nil:
			for _, n := range group {
				s.remove(n)
			}
			r.replayed += len(group)
		case errors.Is(err, store.ErrPermanent) && ctx.Err() == nil:
			for i, n := range group {
				if err := s.replayOne(ctx, n, batches[i], &r); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("replay %s: %w", fileName(group[0]), err)
		}
	}
}

// replay counts what one Flush did, for its log line.
type replay struct{ replayed, buried int }

// replayOne writes batch n alone, burying it when the store refuses it permanently.
func (s *Spool) replayOne(ctx context.Context, n uint64, b *schema.Batch, r *replay) error {
	err := s.next.Write(ctx, b)
	switch {
	case err == nil:
		s.remove(n)
		r.replayed++
	case errors.Is(err, store.ErrPermanent) && ctx.Err() == nil:
		if err := s.bury(n, err); err != nil {
			return err
		}
		r.buried++
	default:
		return fmt.Errorf("replay %s: %w", fileName(n), err)
	}
	return nil
}

// remove deletes batch n, which the store took, and takes it off the queue.
func (s *Spool) remove(n uint64) {
	path := filepath.Join(s.dir, fileName(n))
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Left on disk, it would be written again after a restart: harmless.
		s.log.Warn("cannot delete replayed batch", "file", path, "err", err)
	}
	s.dequeue(n)
}

// dequeue takes batch n off the queue. It is not simply the head any more: a
// concurrent append with a smaller number may have finished meanwhile and gone in
// front.
func (s *Spool) dequeue(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := sort.Search(len(s.queue), func(i int) bool { return s.queue[i].n >= n }); i < len(s.queue) && s.queue[i].n == n {
		s.queue = append(s.queue[:i], s.queue[i+1:]...)
	}
	if len(s.queue) == 0 {
		s.queue = nil // let the backing array go after a long outage
	}
}

// merge joins batches into one, in order.
func merge(batches []*schema.Batch) *schema.Batch {
	if len(batches) == 1 {
		return batches[0]
	}
	m := &schema.Batch{}
	for _, b := range batches {
		m.Append(b)
	}
	return m
}

// bury makes batch n a dead letter and takes it off the queue, as remove does for a
// batch the store took: its reason first, then the batch itself, each durable before
// the next step, so that a crash leaves the batch queued or buried with its reason,
// never buried without one.
func (s *Spool) bury(n uint64, reason error) error {
	if err := writeFile(s.dead, reasonName(n), []byte(reason.Error()+"\n")); err != nil {
		return fmt.Errorf("spool: write the reason of dead letter %d: %w", n, err)
	}
	if err := os.Rename(filepath.Join(s.dir, fileName(n)), filepath.Join(s.dead, fileName(n))); err != nil {
		return fmt.Errorf("spool: move batch %d to the dead letters: %w", n, err)
	}
	if err := errors.Join(syncDir(s.dead), syncDir(s.dir)); err != nil {
		return fmt.Errorf("spool: move batch %d to the dead letters: %w", n, err)
	}
	s.log.Error("store refused a spooled batch permanently; it is a dead letter now, and the batches behind it go on",
		"batch", n, "file", filepath.Join(s.dead, fileName(n)), "err", reason)
	s.dequeue(n)
	return nil
}

// errCorrupt marks a spool file that will never decode.
var errCorrupt = errors.New("batch cannot be decoded")

func readBatch(path string) (*schema.Batch, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var e envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if e.Format != format || e.Batch == nil {
		return nil, fmt.Errorf("%w: format %d, want %d", errCorrupt, e.Format, format)
	}
	return e.Batch, nil
}
