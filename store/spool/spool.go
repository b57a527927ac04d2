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

	"github.com/flowmeter/flowmeter/schema"
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
	// tmpPrefix starts the name of a batch still being written; one left behind by a
	// crash was never acknowledged and is removed at start.
	tmpPrefix = ".tmp-"
	// badSuffix is appended to a file that cannot be decoded, so that it stops
	// blocking the queue but stays on disk for a person to look at.
	badSuffix = ".bad"
	// format is the version of the file envelope.
	format = 1

	defaultMinRetry = time.Second
	defaultMaxRetry = 30 * time.Second
	// defaultDirectTimeout bounds a write straight to the store: a store that takes
	// longer is treated as down, so that a sender gets its answer in time (GitHub
	// gives up after 10 s).
	defaultDirectTimeout = 5 * time.Second
)

// envelope is a spooled file's content; its version lets a later flowmeter read
// what an earlier one left.
type envelope struct {
	Format int           `json:"format"`
	Batch  *schema.Batch `json:"batch"`
}

// Spool writes batches to the store, and to disk when the store fails, replaying
// them in order once the store works again. It is safe for concurrent use.
type Spool struct {
	dir  string
	next Next
	log  *slog.Logger

	// minRetry and maxRetry bound the wait between replay attempts while the store
	// keeps failing; the wait doubles after each failure.
	minRetry, maxRetry time.Duration
	directTimeout      time.Duration

	mu       sync.Mutex
	queue    []uint64 // sequence numbers of spooled files, ascending
	appends  int      // appends under way, not yet in queue
	seq      uint64   // last sequence number handed out
	wake     chan struct{}
	replayMu sync.Mutex // one replay at a time (Run and Flush)
}

// New opens the spool directory (creating it), removes batches a crash left half
// written, and queues the complete ones an earlier process left, for Run to replay.
func New(dir string, next Next, log *slog.Logger) (*Spool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, next: next, log: log, minRetry: defaultMinRetry, maxRetry: defaultMaxRetry,
		directTimeout: defaultDirectTimeout, wake: make(chan struct{}, 1)}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("spool: remove unfinished batch: %w", err)
			}
			continue
		}
		n, ok := parseName(name)
		if !ok {
			continue
		}
		s.queue = append(s.queue, n)
		s.seq = max(s.seq, n)
	}
	sort.Slice(s.queue, func(i, j int) bool { return s.queue[i] < s.queue[j] })
	if len(s.queue) > 0 {
		log.Info("spool holds batches from an earlier run; replaying them", "dir", dir, "batches", len(s.queue))
	}
	return s, nil
}

func fileName(n uint64) string { return fmt.Sprintf("%020d%s", n, fileSuffix) }

func parseName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, fileSuffix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// Pending is the number of accepted batches on disk that the store has not taken yet.
func (s *Spool) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Cursor reads the store's cursor; a cursor only in a spooled batch is not seen
// until replay, which costs at most a repeated collection.
func (s *Spool) Cursor(ctx context.Context, source, stream string) (schema.Cursor, error) {
	return s.next.Cursor(ctx, source, stream)
}

// Write writes b to the store, or, when the store fails or takes more than 5 s,
// durably to the spool; nil means the batch will reach the store. While earlier
// batches wait in the spool, b goes behind them without asking the store, so that
// order is kept and a request does not wait on a store that is known to be down.
func (s *Spool) Write(ctx context.Context, b *schema.Batch) error {
	if b == nil || (b.Len() == 0 && len(b.Cursors) == 0) {
		return nil
	}
	s.mu.Lock()
	backlog := len(s.queue) + s.appends
	s.mu.Unlock()
	if backlog == 0 {
		wctx, cancel := context.WithTimeout(ctx, s.directTimeout)
		err := s.next.Write(wctx, b)
		cancel()
		if err == nil {
			return nil
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
	s.appends++
	s.mu.Unlock()

	err = s.writeFile(n, data)

	s.mu.Lock()
	s.appends--
	if err == nil {
		// Appends finish out of order when they run concurrently; keep the queue sorted.
		i := sort.Search(len(s.queue), func(i int) bool { return s.queue[i] > n })
		s.queue = append(s.queue, 0)
		copy(s.queue[i+1:], s.queue[i:])
		s.queue[i] = n
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (s *Spool) writeFile(n uint64, data []byte) error {
	final := filepath.Join(s.dir, fileName(n))
	tmp := filepath.Join(s.dir, tmpPrefix+fileName(n))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
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
		err = syncDir(s.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: write batch: %w", err)
	}
	return nil
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
// while the store fails (1 s, doubling up to 30 s), until ctx ends. It returns
// ctx's error.
func (s *Spool) Run(ctx context.Context) error {
	delay := time.Duration(0) // replay what an earlier process left at once
	for {
		if s.Pending() == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-s.wake:
			}
			// The batch that woke us was spooled because the store just failed: give
			// it a moment before asking again.
			delay = s.minRetry
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
// store took it, and stops at the first failure, which it returns. Run calls it;
// shutdown may call it for a last attempt.
func (s *Spool) Flush(ctx context.Context) error {
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	replayed := 0
	defer func() {
		if replayed > 0 {
			s.log.Info("replayed spooled batches", "batches", replayed, "pending", s.Pending())
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return nil
		}
		n := s.queue[0]
		s.mu.Unlock()

		path := filepath.Join(s.dir, fileName(n))
		b, err := readBatch(path)
		switch {
		case errors.Is(err, errCorrupt):
			s.log.Error("spooled batch cannot be read; set aside", "file", path+badSuffix, "err", err)
			if rerr := os.Rename(path, path+badSuffix); rerr != nil {
				return fmt.Errorf("spool: set aside %s: %w", path, rerr)
			}
		case errors.Is(err, fs.ErrNotExist):
			s.log.Error("spooled batch vanished from the spool directory", "file", path)
		case err != nil:
			return err
		default:
			if err := s.next.Write(ctx, b); err != nil {
				return fmt.Errorf("replay %s: %w", filepath.Base(path), err)
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				// Left on disk, it would be written again after a restart: harmless.
				s.log.Warn("cannot delete replayed batch", "file", path, "err", err)
			}
			replayed++
		}
		s.mu.Lock()
		// Not simply the head any more: a concurrent append with a smaller number may
		// have finished meanwhile and gone in front.
		if i := sort.Search(len(s.queue), func(i int) bool { return s.queue[i] >= n }); i < len(s.queue) && s.queue[i] == n {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
		}
		if len(s.queue) == 0 {
			s.queue = nil // let the backing array go after a long outage
		}
		s.mu.Unlock()
	}
}

// errCorrupt marks a spool file that will never decode.
var errCorrupt = errors.New("corrupt spool file")

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
