package synthetic

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// memWriter is an in-memory collectors.Writer.
type memWriter struct {
	records int
	writes  int
	cursors map[string]schema.Cursor
}

func (m *memWriter) Write(_ context.Context, b *schema.Batch) error {
	m.writes++
	m.records += b.Len()
	for _, c := range b.Cursors {
		if m.cursors == nil {
			m.cursors = map[string]schema.Cursor{}
		}
		m.cursors[c.Source+"/"+c.Stream] = c
	}
	return nil
}

func (m *memWriter) Cursor(_ context.Context, source, stream string) (schema.Cursor, error) {
	c, ok := m.cursors[source+"/"+stream]
	if !ok {
		return schema.Cursor{}, fmt.Errorf("cursor %s/%s: %w", source, stream, store.ErrNotFound)
	}
	return c, nil
}

// build builds the synthetic source of a one-source config.
func build(t *testing.T, settings string) (*Source, error) {
	t.Helper()
	cfg, err := config.Parse([]byte("sources:\n  - name: demo\n    synthetic:\n"+settings), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := collectors.Registry{"synthetic": NewSource}.Build(cfg)
	if err != nil {
		return nil, err
	}
	return got[0].Source.(*Source), nil
}

func TestNewSourceSettings(t *testing.T) {
	for _, tc := range []struct{ settings, wantErr string }{
		{"      seed: 3\n      end: 2026-06-30\n      days: 30\n      pull_requests_per_repo_per_week: 2.5\n", ""},
		{"      seed: 3\n", ""},
		{"      seed: 3\n      end: 30/06/2026\n", `f.yaml:5: sources[0].synthetic.end: want a date like 2026-06-30, got "30/06/2026"`},
		{"      seed: 3\n      teams: -1\n", "f.yaml:5: sources[0].synthetic.teams: must not be negative"},
		{"      seed: 3\n      colour: blue\n", "f.yaml:5: sources[0].synthetic.colour: unknown field"},
	} {
		_, err := build(t, tc.settings)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tc.settings, err)
		case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want it to start with %q", tc.settings, err, tc.wantErr)
		}
	}
}

func TestSettingsOptions(t *testing.T) {
	o := Settings{Seed: 9, End: "2026-06-30", Teams: 5}.Options("x")
	if want := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC); !o.Now.Equal(want) || o.Seed != 9 || o.Teams != 5 || o.Source != "x" {
		t.Errorf("options %+v", o)
	}
	if o := (Settings{}).Options("x"); !o.Now.IsZero() {
		t.Errorf("no end gave Now %v", o.Now)
	}
}

func TestSourceCollectsOnce(t *testing.T) {
	src, err := build(t, "      seed: 3\n      days: 20\n      teams: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	src.now = func() time.Time { return time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC) }
	w := &memWriter{}
	if err := src.Collect(context.Background(), w, collectors.CollectOptions{}); err != nil {
		t.Fatal(err)
	}
	if w.records == 0 || len(w.cursors) != 1 {
		t.Fatalf("wrote %d records and %d cursors", w.records, len(w.cursors))
	}
	if c := w.cursors["demo/synthetic"]; !strings.Contains(c.Value, "seed=3 end=2026-03-10 days=20 teams=1") {
		t.Errorf("cursor %q", c.Value)
	}
	// A day later the same source has nothing to add: the cursor kept the end.
	src.now = func() time.Time { return time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC) }
	records, writes := w.records, w.writes
	if err := src.Collect(context.Background(), w, collectors.CollectOptions{}); err != nil {
		t.Fatal(err)
	}
	if w.records != records || w.writes != writes {
		t.Errorf("second collection wrote %d more records in %d writes", w.records-records, w.writes-writes)
	}
	// Another seed into the same store is refused.
	other, err := build(t, "      seed: 4\n      days: 20\n      teams: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Collect(context.Background(), w, collectors.CollectOptions{}); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Errorf("another seed: error %v", err)
	}
	if w.writes != writes {
		t.Error("the refused collection wrote something")
	}
}

// failingWriter fails every write after the first n.
type failingWriter struct {
	memWriter
	n int
}

var errDisk = errors.New("disk full")

func (f *failingWriter) Write(ctx context.Context, b *schema.Batch) error {
	if f.writes >= f.n {
		return errDisk
	}
	return f.memWriter.Write(ctx, b)
}

func TestSourceWriteFailureLeavesNoCursor(t *testing.T) {
	src, err := build(t, "      seed: 3\n      end: 2026-06-30\n      days: 60\n      batch_size: 100\n")
	if err != nil {
		t.Fatal(err)
	}
	w := &failingWriter{n: 3}
	if err := src.Collect(context.Background(), w, collectors.CollectOptions{}); !errors.Is(err, errDisk) {
		t.Fatalf("error %v, want the write error", err)
	}
	if len(w.cursors) != 0 {
		t.Error("a cursor was written although the records were not")
	}
}

// keepingWriter keeps every batch written.
type keepingWriter struct {
	memWriter
	batches []*schema.Batch
}

func (k *keepingWriter) Write(ctx context.Context, b *schema.Batch) error {
	k.batches = append(k.batches, b)
	return k.memWriter.Write(ctx, b)
}

// eachTime calls f with every time of every record of b, found by reflection so
// that a time field added to a record is checked too.
func eachTime(b *schema.Batch, f func(record string, field string, t time.Time)) {
	bv := reflect.ValueOf(b).Elem()
	for i := range bv.NumField() {
		list := bv.Field(i)
		if list.Kind() != reflect.Slice || bv.Type().Field(i).Name == "Cursors" {
			continue
		}
		for j := range list.Len() {
			rec := list.Index(j)
			for k := range rec.NumField() {
				if t, ok := rec.Field(k).Interface().(time.Time); ok && !t.IsZero() {
					f(fmt.Sprintf("%s %v", rec.Type().Name(), rec.FieldByName("ID")), rec.Type().Field(k).Name, t)
				}
			}
		}
	}
}

// TestSourceWritesNothingAfterNow collects histories that end today, with the
// clock at several times of the day, and one that ended yesterday: no record may
// carry a time after the clock, or after the end of its last day.
func TestSourceWritesNothingAfterNow(t *testing.T) {
	endDay := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for seed := int64(1); seed <= 6; seed++ {
		// Seeds 1 to 5 collect during the end day, at 04:07, 08:14, ... 20:35; seed 6
		// the next day, when the whole of the end day is history.
		clock := endDay.Add(time.Duration(seed) * (4*time.Hour + 7*time.Minute))
		limit := endDay.Add(24 * time.Hour)
		if clock.Before(limit) {
			limit = clock
		}
		src, err := build(t, fmt.Sprintf("      seed: %d\n      end: 2026-03-10\n      days: 30\n", seed))
		if err != nil {
			t.Fatal(err)
		}
		src.now = func() time.Time { return clock }
		w := &keepingWriter{}
		if err := src.Collect(context.Background(), w, collectors.CollectOptions{}); err != nil {
			t.Fatal(err)
		}
		checked, last := 0, time.Time{}
		for _, b := range w.batches {
			eachTime(b, func(record, field string, at time.Time) {
				checked++
				last = latest(last, at)
				if !at.Before(limit) {
					t.Errorf("seed %d, clock %s: %s has %s %s, not before %s",
						seed, clock.Format(time.RFC3339), record, field, at.Format(time.RFC3339), limit.Format(time.RFC3339))
				}
			})
		}
		// The history does reach the present, so the check above had work to do.
		if checked < 1000 || limit.Sub(last) > 6*time.Hour {
			t.Errorf("seed %d: %d times checked, the latest %s for a limit of %s", seed, checked, last, limit)
		}
	}
}
