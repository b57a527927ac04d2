package storetest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/spool"
)

// lastSecond is the last second every store holds (ClickHouse DateTime's).
var lastSecond = time.Date(2106, 2, 7, 6, 28, 15, 0, time.UTC)

// testHoldsTheLimits writes a record of each rule's largest allowed value and reads
// it back unchanged: the limits schema.ValidateBatch sets are ones the store holds.
func testHoldsTheLimits(t *testing.T, s store.Store) {
	labels := make([]string, schema.MaxListEntries)
	for i := range labels {
		labels[i] = fmt.Sprintf("label-%04d", i)
	}
	in := &schema.Batch{
		Deployments: []schema.Deployment{{
			Source: "ci", ID: strings.Repeat("é", schema.MaxNameBytes/2), Service: strings.Repeat("s", schema.MaxNameBytes),
			Environment: "production", Status: schema.DeploymentSuccess, StartedAt: lastSecond.Add(-time.Hour),
			FinishedAt: lastSecond, URL: strings.Repeat("u", schema.MaxURLBytes), UpdatedAt: lastSecond,
		}},
		Incidents: []schema.Incident{{
			Source: "ci", ID: "INC-1", Service: "api", Title: strings.Repeat("Checkout\tfails\n", schema.MaxTitleBytes/15) + "x",
			Labels: labels, OpenedAt: time.Unix(1, 0).UTC(), UpdatedAt: time.Unix(1, 0).UTC(),
		}},
		Cursors: []schema.Cursor{{Source: "ci", Stream: "s", Value: strings.Repeat("{\"v\":\n1}", schema.MaxCursorValueBytes/8), UpdatedAt: lastSecond}},
	}
	if err := schema.ValidateBatch(in); err != nil {
		t.Fatalf("the limits themselves do not validate: %v", err)
	}
	mustWrite(t, s, in)
	got := readAll(t, s, store.Filter{})
	assertEqual(t, "deployments at the limits", got.Deployments, in.Deployments)
	assertEqual(t, "incidents at the limits", got.Incidents, in.Incidents)
	c, err := s.Cursor(context.Background(), "ci", "s")
	if err != nil || c.Value != in.Cursors[0].Value || !c.UpdatedAt.Equal(lastSecond) {
		t.Fatalf("cursor at the limits: %d bytes at %v, %v", len(c.Value), c.UpdatedAt, err)
	}
}

// testRefusesWhatNoStoreHolds: each rule, broken once in an otherwise valid batch,
// makes Write refuse the whole batch with an error naming the field and wrapping
// store.ErrPermanent, and write nothing of it.
func testRefusesWhatNoStoreHolds(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		spoil func(b *schema.Batch)
		field string
	}{
		{"a start in 2200", func(b *schema.Batch) { b.Deployments[1].StartedAt = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC) }, "started_at"},
		{"a finish after 2106", func(b *schema.Batch) { b.Deployments[1].FinishedAt = lastSecond.Add(time.Second) }, "finished_at"},
		{"a time before 1970", func(b *schema.Batch) { b.Incidents[0].OpenedAt = time.Unix(-1, 0) }, "opened_at"},
		{"a version after 2106", func(b *schema.Batch) { b.Incidents[0].UpdatedAt = lastSecond.Add(time.Second) }, "updated_at"},
		{"a long id", func(b *schema.Batch) { b.Deployments[1].ID = strings.Repeat("x", schema.MaxNameBytes+1) }, "id"},
		{"a long title", func(b *schema.Batch) { b.Incidents[0].Title = strings.Repeat("x", schema.MaxTitleBytes+1) }, "title"},
		{"NUL in a url", func(b *schema.Batch) { b.Deployments[1].URL = "https://x/\x00" }, "url"},
		{"a control character in a service", func(b *schema.Batch) { b.Deployments[1].Service = "api\n" }, "service"},
		{"too many labels", func(b *schema.Batch) { b.Incidents[0].Labels = make([]string, schema.MaxListEntries+1) }, "labels"},
		{"a bad cursor", func(b *schema.Batch) { b.Cursors[0].Stream = "pulls\x00" }, "stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &schema.Batch{
				Deployments: []schema.Deployment{
					{Source: "ci", ID: "ok", Service: "api", Environment: "production", StartedAt: at(0), UpdatedAt: at(0)},
					{Source: "ci", ID: "bad", Service: "api", Environment: "production", StartedAt: at(0), UpdatedAt: at(0)},
				},
				Incidents: []schema.Incident{{Source: "ci", ID: "INC-1", Service: "api", OpenedAt: at(0), UpdatedAt: at(0)}},
				Cursors:   []schema.Cursor{{Source: "ci", Stream: "pulls", Value: "v", UpdatedAt: at(0)}},
			}
			tc.spoil(b)
			err := s.Write(ctx, b)
			var inv *schema.InvalidError
			if !errors.Is(err, store.ErrPermanent) || !errors.As(err, &inv) || inv.Field != tc.field {
				t.Fatalf("Write = %v, want a permanent refusal naming %s", err, tc.field)
			}
			if strings.ContainsAny(err.Error(), "\n\x00") {
				t.Errorf("error %q is not one clean line", err)
			}
			for _, k := range []schema.Kind{schema.KindDeployment, schema.KindIncident} {
				if n, err := s.Count(ctx, k, store.Filter{}); err != nil || n != 0 {
					t.Errorf("store holds %d %s (%v) of a refused batch", n, k, err)
				}
			}
			if _, err := s.Cursor(ctx, "ci", "pulls"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("cursor of a refused batch: %v, want ErrNotFound", err)
			}
		})
	}
}

// flaky is a store that can be taken down, as a network partition would.
type flaky struct {
	store.Store
	down bool
}

var errDown = errors.New("store unreachable")

func (f *flaky) Write(ctx context.Context, b *schema.Batch) error {
	if f.down {
		return errDown
	}
	return f.Store.Write(ctx, b)
}

// testPoisonBatchInTheSpool is the defect that made the rules: a deployment of 2200
// spooled while the store was down, then refused on every replay, held up every
// event behind it, across restarts. Now the store refuses it permanently, the
// spool makes it a dead letter with the store's reason, and the 200 valid events
// behind it are stored.
func testPoisonBatchInTheSpool(t *testing.T, s store.Store) {
	ctx := context.Background()
	st := &flaky{Store: s, down: true}
	dir := filepath.Join(t.TempDir(), "spool")
	sp, err := spool.New(dir, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	poison := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	deploy := func(id string, start time.Time) *schema.Batch {
		return &schema.Batch{Deployments: []schema.Deployment{{Source: "ci", ID: id, Service: "checkout",
			Environment: "production", Status: schema.DeploymentSuccess, StartedAt: start, FinishedAt: start, UpdatedAt: start}}}
	}
	if err := sp.Write(ctx, deploy("poison", poison)); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := sp.Write(ctx, deploy(fmt.Sprintf("d%03d", i), at(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if got := sp.Stats(); got.Pending != 201 {
		t.Fatalf("spool holds %d batches, want 201", got.Pending)
	}
	// flowmeter restarts, and the store is back.
	st.down = false
	sp, err = spool.New(dir, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Flush(ctx); err != nil {
		t.Fatalf("Flush = %v", err)
	}
	if n, err := s.Count(ctx, schema.KindDeployment, store.Filter{}); err != nil || n != 200 {
		t.Fatalf("store holds %d deployments (%v), want the 200 behind the poison", n, err)
	}
	if got := sp.Stats(); got.Pending != 0 || got.Dead != 1 || !got.OldestPending.IsZero() {
		t.Errorf("Stats = %+v, want nothing pending and one dead letter", got)
	}
	_, dead, err := spool.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Records[schema.KindDeployment] != 1 ||
		!strings.Contains(dead[0].Err, "deployments ci/poison: started_at 2200-01-01T00:00:00Z is outside") {
		t.Errorf("dead letters %+v, want the poison with the store's reason", dead)
	}
}
