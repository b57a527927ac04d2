package spool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/spool"
)

// fuzzStore is a store that always works and keeps what it is given, in order.
type fuzzStore struct {
	mu      sync.Mutex
	batches []*schema.Batch
}

func (s *fuzzStore) Write(_ context.Context, b *schema.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, b)
	return nil
}

func (s *fuzzStore) Cursor(context.Context, string, string) (schema.Cursor, error) {
	return schema.Cursor{}, store.ErrNotFound
}

// spoolFile names the n-th spooled batch as the spool does: a 20-digit sequence
// number, so that replay order is name order.
func spoolFile(n int) string { return fmt.Sprintf("%020d.batch.json", n) }

// fuzzGoodBatch is the well-formed batch spooled behind the fuzzed file: it must
// reach the store whatever came before it.
func fuzzGoodBatch() []byte {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b, err := json.Marshal(map[string]any{"format": 1, "batch": &schema.Batch{
		Deployments: []schema.Deployment{{Source: "ci", ID: "behind", Service: "api", Environment: "production",
			Status: schema.DeploymentSuccess, Attempt: 1, StartedAt: at, FinishedAt: at, UpdatedAt: at}},
	}})
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzReplay puts arbitrary bytes where a spooled batch file would be, as a disk
// error, a partial copy or an older or newer flowmeter could leave them, with a good
// batch queued behind, and replays the spool into a working store. The spool must not
// panic, must not let the bad file block the queue (the good batch still reaches the
// store, once, last, whether on its own or in one write with what came before it),
// must not queue the bad file again after a restart, and a batch it did read must
// read back the same after being written out again.
func FuzzReplay(f *testing.F) {
	good := fuzzGoodBatch()
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, spoolFile(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, spoolFile(2)), good, 0o600); err != nil {
			t.Fatal(err)
		}
		st := &fuzzStore{}
		s, err := spool.New(dir, st, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if n := s.Pending(); n != 2 {
			t.Fatalf("pending %d after New, want 2", n)
		}
		if err := s.Flush(context.Background()); err != nil {
			t.Fatalf("Flush into a working store: %v", err)
		}
		if n := s.Pending(); n != 0 {
			t.Fatalf("pending %d after Flush, want 0", n)
		}
		for _, n := range []int{1, 2} {
			if _, err := os.Stat(filepath.Join(dir, spoolFile(n))); err == nil {
				t.Errorf("%s is still queued on disk after Flush", spoolFile(n))
			}
		}
		if len(st.batches) == 0 || len(st.batches) > 2 {
			t.Fatalf("store took %d writes, want the good batch and at most the fuzzed one before it", len(st.batches))
		}
		// Replay may write consecutive batches at once, in order: the good batch's
		// deployment comes last of the last write, and nowhere else.
		last := st.batches[len(st.batches)-1]
		n := len(last.Deployments)
		if n == 0 || last.Deployments[n-1].ID != "behind" {
			t.Fatalf("the batch queued behind the fuzzed file did not arrive last: %+v", last)
		}
		behind := 0
		for _, b := range st.batches {
			for _, d := range b.Deployments {
				if d.ID == "behind" && d.Source == "ci" {
					behind++
				}
			}
		}
		if behind != 1 {
			t.Fatalf("the good batch's deployment arrived %d times, want once", behind)
		}
		var fuzzed *schema.Batch // what the spool read of the fuzzed file, if anything
		switch {
		case len(st.batches) == 2:
			fuzzed = st.batches[0]
		case last.Len() > 1 || len(last.Cursors) > 0:
			rest := *last
			rest.Deployments = last.Deployments[:n-1]
			fuzzed = &rest
		}

		// A restart finds nothing left to replay: whatever the bad file became, it is
		// out of the queue for good.
		again, err := spool.New(dir, st, nil)
		if err != nil {
			t.Fatalf("New after Flush: %v", err)
		}
		if n := again.Pending(); n != 0 {
			t.Fatalf("pending %d after a restart, want 0", n)
		}

		if fuzzed != nil {
			checkReread(t, fuzzed)
		}
	})
}

// checkReread writes a batch the spool read out again in the spool's format and
// replays it: what arrives must encode exactly as what was written.
func checkReread(t *testing.T, b *schema.Batch) {
	t.Helper()
	first, err := json.Marshal(b)
	if err != nil {
		t.Fatalf("a batch read from a spool file does not encode: %v", err)
	}
	dir := t.TempDir()
	file := []byte(`{"format":1,"batch":` + string(first) + `}`)
	if err := os.WriteFile(filepath.Join(dir, spoolFile(1)), file, 0o600); err != nil {
		t.Fatal(err)
	}
	st := &fuzzStore{}
	s, err := spool.New(dir, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(st.batches) != 1 {
		t.Fatalf("re-spooled batch: store took %d batches, want 1\nfile: %s", len(st.batches), file)
	}
	second, err := json.Marshal(st.batches[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("batch changed on a second pass through a spool file:\nfirst:  %s\nsecond: %s", first, second)
	}
}
