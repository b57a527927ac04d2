package pagerduty

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/pagerduty/pagerdutytest"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
)

func TestMain(m *testing.M) { clickhousetest.Main(m) }

// now is the fake clock's start: the scenario's history lies in the weeks before.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// day is the scenario's reference day, a few weeks before now.
var day = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func on(d time.Duration) time.Time { return day.Add(d) }

// fixture is a fake PagerDuty with its clock, and a source pointed at it whose waits
// advance the clock instead of sleeping.
type fixture struct {
	srv    *pagerdutytest.Server
	clock  *pagerdutytest.Clock
	source *Source
	slept  []time.Duration
	logs   bytes.Buffer
}

func newFixture(t testing.TB, opts ...pagerdutytest.Option) *fixture {
	f := &fixture{clock: pagerdutytest.NewClock(now)}
	f.srv = pagerdutytest.New(t, append([]pagerdutytest.Option{pagerdutytest.WithClock(f.clock.Now)}, opts...)...)
	f.srv.AddService("PSVC001", "Checkout API")
	f.srv.AddService("PSVC002", "Payments")
	f.srv.AddTeam("PTEAM01", "Storefront")
	return f
}

// connect builds the source with the given settings on top of the defaults.
func (f *fixture) connect(edit func(*resolved)) *Source {
	r := &resolved{baseURL: f.srv.URL(), token: "test-token", since: collectors.Backfill{Age: defaultSince}, pageSize: defaultPageSize}
	if edit != nil {
		edit(r)
	}
	s := newSource("pd", r, http.DefaultTransport)
	s.client.sleep = func(ctx context.Context, d time.Duration) error {
		f.slept = append(f.slept, d)
		f.clock.Advance(d)
		return ctx.Err()
	}
	f.source = s
	return s
}

func (f *fixture) collect(ctx context.Context, w collectors.Writer) error {
	return f.source.Collect(ctx, w, collectors.CollectOptions{Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(&f.logs, nil))})
}

func incidentsByID(t testing.TB, s store.Store) map[string]schema.Incident {
	t.Helper()
	out := map[string]schema.Incident{}
	for in, err := range s.Incidents(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		out[in.ID] = in
	}
	return out
}

// scenario adds the hand-checked incidents and returns their ids by letter.
func scenario(srv *pagerdutytest.Server) map[string]string {
	ids := map[string]string{}
	// A: P1, acknowledged at 5 min, acknowledged again at 20 min (after PagerDuty
	// unacknowledged it on timeout), resolved at 1 h.
	a := srv.Trigger(pagerdutytest.Incident{Title: "Checkout errors", Urgency: "high", Priority: "P1", ServiceID: "PSVC001", TeamIDs: []string{"PTEAM01"}, CreatedAt: on(0)})
	srv.Acknowledge(a.ID, on(5*time.Minute))
	srv.Acknowledge(a.ID, on(20*time.Minute))
	srv.Resolve(a.ID, on(time.Hour))
	// B: low urgency, no priority, resolved at 2 h without acknowledgement.
	b := srv.Trigger(pagerdutytest.Incident{Title: "Slow refunds", Urgency: "low", ServiceID: "PSVC002", CreatedAt: on(24 * time.Hour)})
	srv.Resolve(b.ID, on(26*time.Hour))
	// C: still triggered; D: acknowledged, still open.
	c := srv.Trigger(pagerdutytest.Incident{Title: "Disk filling", Urgency: "high", Priority: "P3", ServiceID: "PSVC002", CreatedAt: on(48 * time.Hour)})
	d := srv.Trigger(pagerdutytest.Incident{Title: "Queue backlog", Urgency: "high", ServiceID: "PSVC001", CreatedAt: on(50 * time.Hour)})
	srv.Acknowledge(d.ID, on(50*time.Hour+3*time.Minute))
	// E, F: two more resolved ones, for more pages.
	e := srv.Trigger(pagerdutytest.Incident{Title: "Cert expiry", Urgency: "low", ServiceID: "PSVC001", CreatedAt: on(60 * time.Hour)})
	srv.Resolve(e.ID, on(61*time.Hour))
	g := srv.Trigger(pagerdutytest.Incident{Title: "DNS", Urgency: "high", Priority: "P2", ServiceID: "PSVC002", CreatedAt: on(70 * time.Hour)})
	srv.Acknowledge(g.ID, on(70*time.Hour+time.Minute))
	srv.Resolve(g.ID, on(72*time.Hour))
	ids["A"], ids["B"], ids["C"], ids["D"], ids["E"], ids["G"] = a.ID, b.ID, c.ID, d.ID, e.ID, g.ID
	return ids
}

func want(id, service, severity, urgency, priority, title string, opened, acked, resolved, updated time.Time) schema.Incident {
	return schema.Incident{Source: "pd", ID: id, Kind: schema.IncidentKindIncident, Service: service, Severity: severity,
		Urgency: urgency, Priority: priority, Title: title, OpenedAt: opened, AcknowledgedAt: acked, ResolvedAt: resolved,
		URL: "https://acme.pagerduty.com/incidents/" + id, UpdatedAt: updated}
}

func TestCollectScenario(t *testing.T) {
	for name, opts := range map[string][]pagerdutytest.Option{
		"log entries newest first": nil,
		"log entries oldest first": {pagerdutytest.WithOldestLogEntriesFirst()},
	} {
		t.Run(name, func(t *testing.T) { testCollectScenario(t, opts) })
	}
}

func testCollectScenario(t *testing.T, opts []pagerdutytest.Option) {
	f := newFixture(t, opts...)
	ids := scenario(f.srv)
	f.connect(func(r *resolved) { r.pageSize = 2 })
	st := collectortest.SQLite(t)
	progress := &reports{}
	if err := f.source.Collect(context.Background(), st, collectors.CollectOptions{Now: f.clock.Now, Progress: progress}); err != nil {
		t.Fatal(err)
	}
	last := map[string]collectors.Report{}
	for _, p := range progress.got {
		last[p.Stream] = p
	}
	if p := last[streamIncidents]; !p.Finished || p.Done != 6 || p.Source != "pd" || p.RateRemaining != 900 {
		t.Errorf("last incidents report %+v, want finished with 6 done", p)
	}
	if p := last[streamLogEntries]; !p.Finished || p.Done != 14 || p.Requests != 10 {
		t.Errorf("last log_entries report %+v, want finished with 14 done after 10 requests", p)
	}
	got := incidentsByID(t, st)
	var zero time.Time
	wants := []schema.Incident{
		// The first acknowledgement counts, not the later one.
		want(ids["A"], "Checkout API", "P1", "high", "P1", "Checkout errors", on(0), on(5*time.Minute), on(time.Hour), on(time.Hour)),
		// Without a priority the severity is the urgency.
		want(ids["B"], "Payments", "low", "low", "", "Slow refunds", on(24*time.Hour), zero, on(26*time.Hour), on(26*time.Hour)),
		want(ids["C"], "Payments", "P3", "high", "P3", "Disk filling", on(48*time.Hour), zero, zero, on(48*time.Hour)),
		want(ids["D"], "Checkout API", "high", "high", "", "Queue backlog", on(50*time.Hour), on(50*time.Hour+3*time.Minute), zero, on(50*time.Hour+3*time.Minute)),
		want(ids["E"], "Checkout API", "low", "low", "", "Cert expiry", on(60*time.Hour), zero, on(61*time.Hour), on(61*time.Hour)),
		want(ids["G"], "Payments", "P2", "high", "P2", "DNS", on(70*time.Hour), on(70*time.Hour+time.Minute), on(72*time.Hour), on(72*time.Hour)),
	}
	if len(got) != len(wants) {
		t.Fatalf("%d incidents, want %d: %+v", len(got), len(wants), got)
	}
	for _, w := range wants {
		if g := got[w.ID]; !reflect.DeepEqual(g, w) {
			t.Errorf("incident %s\n got  %+v\n want %+v", w.ID, g, w)
		}
	}
	// 6 incidents at 2 a page: 3 pages. 14 log entries (6 triggers, 4
	// acknowledgements, 4 resolutions): 7 pages.
	if n := f.srv.Count("incidents"); n != 3 {
		t.Errorf("%d incident requests, want 3", n)
	}
	if n := f.srv.Count("log_entries"); n != 7 {
		t.Errorf("%d log entry requests, want 7", n)
	}
}

func TestIncrementalRuns(t *testing.T) {
	for name, open := range collectortest.Stores() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			ids := scenario(f.srv)
			f.connect(nil)
			st := open(t)
			if err := f.collect(context.Background(), st); err != nil {
				t.Fatal(err)
			}
			// Later: C is acknowledged, D (acknowledged in the first run) is resolved,
			// and a new incident H opens and is acknowledged.
			f.clock.Advance(time.Hour)
			f.srv.Acknowledge(ids["C"], now.Add(10*time.Minute))
			f.srv.Resolve(ids["D"], now.Add(20*time.Minute))
			h := f.srv.Trigger(pagerdutytest.Incident{Title: "New", ServiceID: "PSVC001", CreatedAt: now.Add(30 * time.Minute)})
			f.srv.Acknowledge(h.ID, now.Add(31*time.Minute))
			before := f.srv.Counts()
			if err := f.collect(context.Background(), st); err != nil {
				t.Fatal(err)
			}
			got := incidentsByID(t, st)
			if c := got[ids["C"]]; !c.AcknowledgedAt.Equal(now.Add(10*time.Minute)) || !c.ResolvedAt.IsZero() || !c.UpdatedAt.Equal(now.Add(10*time.Minute)) {
				t.Errorf("C after its acknowledgement: %+v", c)
			}
			if d := got[ids["D"]]; !d.AcknowledgedAt.Equal(on(50*time.Hour+3*time.Minute)) || !d.ResolvedAt.Equal(now.Add(20*time.Minute)) {
				t.Errorf("D resolved, keeping its first acknowledgement from the first run: %+v", d)
			}
			if g := got[h.ID]; !g.AcknowledgedAt.Equal(now.Add(31*time.Minute)) || !g.OpenedAt.Equal(now.Add(30*time.Minute)) {
				t.Errorf("H: %+v", g)
			}
			after := f.srv.Counts()
			if after["incidents"]-before["incidents"] != 1 || after["log_entries"]-before["log_entries"] != 1 {
				t.Errorf("second run: %v then %v: want one request per stream", before, after)
			}
			// Nothing new: one request per stream, and nothing changes.
			f.clock.Advance(15 * time.Minute)
			before = f.srv.Counts()
			if err := f.collect(context.Background(), st); err != nil {
				t.Fatal(err)
			}
			after = f.srv.Counts()
			if after["incidents"]-before["incidents"] != 1 || after["log_entries"]-before["log_entries"] != 1 || f.srv.Total() != sum(before)+2 {
				t.Errorf("re-run with nothing new: %v then %v: want exactly one request per stream", before, after)
			}
			if again := incidentsByID(t, st); !reflect.DeepEqual(again, got) {
				t.Errorf("a re-run with nothing new changed the records")
			}
			// At the very second of the last run: the overlap is read again, one
			// request per stream, and nothing changes.
			before = f.srv.Counts()
			if err := f.collect(context.Background(), st); err != nil {
				t.Fatal(err)
			}
			if f.srv.Total() != sum(before)+2 {
				t.Errorf("a re-run at the same second made %d requests, want 2", f.srv.Total()-sum(before))
			}
			if again := incidentsByID(t, st); !reflect.DeepEqual(again, got) {
				t.Errorf("a re-run at the same second changed the records")
			}
		})
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// streamWrites counts the records each stream's batches carry, by incident id.
type streamWrites struct {
	collectors.Writer
	mu     sync.Mutex
	counts map[string]map[string]int
}

func (w *streamWrites) Write(ctx context.Context, b *schema.Batch) error {
	w.mu.Lock()
	for _, c := range b.Cursors {
		if w.counts[c.Stream] == nil {
			w.counts[c.Stream] = map[string]int{}
		}
		for _, in := range b.Incidents {
			w.counts[c.Stream][in.ID]++
		}
	}
	w.mu.Unlock()
	return w.Writer.Write(ctx, b)
}

func TestCeilingSplit(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []pagerdutytest.Option
	}{
		{"split on the total", nil},
		{"split on PagerDuty's error", []pagerdutytest.Option{pagerdutytest.WithoutTotals()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts...)
			// 12,000 incidents in 60 days: more than one window may page through.
			from := now.Add(-70 * 24 * time.Hour)
			f.srv.Generate(12000, "PSVC001", from, from.Add(60*24*time.Hour))
			f.connect(nil)
			st := collectortest.SQLite(t)
			w := &streamWrites{Writer: st, counts: map[string]map[string]int{}}
			if err := f.collect(context.Background(), w); err != nil {
				t.Fatal(err)
			}
			got := incidentsByID(t, st)
			if len(got) != 12000 {
				t.Fatalf("%d incidents, want 12000", len(got))
			}
			listed := w.counts[streamIncidents]
			if len(listed) != 12000 {
				t.Fatalf("the incidents stream wrote %d distinct incidents, want 12000", len(listed))
			}
			if tc.opts == nil {
				for id, n := range listed {
					if n != 1 {
						t.Fatalf("incident %s listed %d times, want once", id, n)
					}
				}
			}
			for id, in := range got {
				pi := f.srv.Incident(id)
				i := int(pi.Number - 1)
				wantAck := time.Time{}
				if i%3 == 0 {
					wantAck = pi.CreatedAt.Add(2 * time.Minute)
				}
				if !in.AcknowledgedAt.Equal(wantAck) || in.ResolvedAt.Equal(time.Time{}) != (i%10 == 0) {
					t.Fatalf("incident %d: %+v", i, in)
				}
			}
			t.Logf("requests: %v; splits: %d", f.srv.Counts(), strings.Count(f.logs.String(), "splitting"))
		})
	}
}

// snapshot is every incident, the URL's host left out (each fake has its own port,
// but the html_url is fixed anyway).
func snapshot(t *testing.T, s store.Store) map[string]schema.Incident { return incidentsByID(t, s) }

func TestInterruptedCollectionsEqualCleanRun(t *testing.T) {
	build := func(t *testing.T) *fixture {
		f := newFixture(t)
		scenario(f.srv)
		from := now.Add(-80 * 24 * time.Hour)
		f.srv.Generate(2500, "PSVC002", from, from.Add(20*24*time.Hour))
		f.connect(nil)
		return f
	}
	clean := build(t)
	cleanStore := collectortest.SQLite(t)
	if err := clean.collect(context.Background(), cleanStore); err != nil {
		t.Fatal(err)
	}
	wantIncidents := snapshot(t, cleanStore)
	total := clean.srv.Total()
	runs := []struct {
		store string
		seed  uint64
	}{{"sqlite", 1}, {"sqlite", 2}, {"sqlite", 3}, {"sqlite", 4}, {"clickhouse", 5}, {"clickhouse", 6}}
	for _, tc := range runs {
		t.Run(fmt.Sprintf("%s/seed%d", tc.store, tc.seed), func(t *testing.T) {
			f := build(t)
			st := collectortest.Stores()[tc.store](t)
			interruptions := collectortest.Interrupt(t, f.srv, total, tc.seed, 30,
				func(ctx context.Context) error { return f.collect(ctx, st) })
			got := snapshot(t, st)
			for id, w := range wantIncidents {
				if g := got[id]; !reflect.DeepEqual(g, w) {
					t.Errorf("incident %s\n got  %+v\n want %+v", id, g, w)
					break
				}
			}
			if len(got) != len(wantIncidents) {
				t.Fatalf("after %d interruptions: %d incidents, clean run %d", interruptions, len(got), len(wantIncidents))
			}
			// Resuming skips what was written: the requests of all runs stay well
			// below a restart from scratch at every interruption.
			if f.srv.Total() > total+interruptions*3 {
				t.Errorf("%d requests over %d interruptions, a clean run needs %d", f.srv.Total(), interruptions, total)
			}
		})
	}
}

func TestRateLimitsAndFaults(t *testing.T) {
	t.Run("429 waits as ratelimit-reset says", func(t *testing.T) {
		f := newFixture(t)
		scenario(f.srv)
		f.connect(nil)
		f.srv.RateLimit(2, 7)
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if n := len(incidentsByID(t, st)); n != 6 {
			t.Fatalf("%d incidents, want 6", n)
		}
		if !reflect.DeepEqual(f.slept, []time.Duration{7 * time.Second, 7 * time.Second}) {
			t.Fatalf("waits %v, want two of 7s", f.slept)
		}
	})
	t.Run("server errors are retried with backoff", func(t *testing.T) {
		f := newFixture(t)
		scenario(f.srv)
		f.connect(nil)
		f.srv.Fail(2, http.StatusInternalServerError)
		f.srv.Fail(1, http.StatusBadGateway)
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if n := len(incidentsByID(t, st)); n != 6 {
			t.Fatalf("%d incidents, want 6", n)
		}
		if len(f.slept) != 3 || f.slept[0] < 500*time.Millisecond || f.slept[0] > time.Second || f.slept[2] < 2*time.Second || f.slept[2] > 4*time.Second {
			t.Fatalf("waits %v, want three growing backoffs", f.slept)
		}
	})
	t.Run("a server error that persists fails the run", func(t *testing.T) {
		f := newFixture(t)
		f.connect(nil)
		f.srv.Fail(10, http.StatusServiceUnavailable)
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "503") || f.srv.Total() != 6 {
			t.Fatalf("err %v after %d requests, want a 503 after 6", err, f.srv.Total())
		}
	})
	t.Run("401 names the setting and stops at once", func(t *testing.T) {
		f := newFixture(t, pagerdutytest.WithToken("other"))
		scenario(f.srv)
		f.connect(nil)
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "token_env/token_file") || f.srv.Total() != 1 {
			t.Fatalf("err %v after %d requests, want a 401 naming token_env/token_file after one", err, f.srv.Total())
		}
	})
	t.Run("403 names the setting", func(t *testing.T) {
		f := newFixture(t)
		f.connect(nil)
		f.srv.Fail(1, http.StatusForbidden)
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "token_env/token_file") {
			t.Fatalf("err %v, want a 403 naming token_env/token_file", err)
		}
	})
}

func TestServiceAndTeamFilters(t *testing.T) {
	f := newFixture(t)
	ids := scenario(f.srv)
	// By name (any case) and by id; a third matches nothing and is warned about.
	f.connect(func(r *resolved) { r.services = []string{"checkout api", "PSVC404"} })
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	got := incidentsByID(t, st)
	if len(got) != 3 || got[ids["A"]].ID == "" || got[ids["D"]].ID == "" || got[ids["E"]].ID == "" {
		t.Fatalf("services [checkout api]: got %v, want A, D and E", keys(got))
	}
	if !strings.Contains(f.logs.String(), "matches nothing") || !strings.Contains(f.logs.String(), "PSVC404") {
		t.Errorf("no warning about PSVC404 in %s", f.logs.String())
	}
	if f.srv.Count("services") != 1 {
		t.Errorf("%d service listings, want 1", f.srv.Count("services"))
	}

	f2 := newFixture(t)
	ids = scenario(f2.srv)
	f2.connect(func(r *resolved) { r.teams = []string{"PTEAM01"} })
	st2 := collectortest.SQLite(t)
	if err := f2.collect(context.Background(), st2); err != nil {
		t.Fatal(err)
	}
	if got := incidentsByID(t, st2); len(got) != 1 || got[ids["A"]].AcknowledgedAt != on(5*time.Minute) {
		t.Fatalf("teams [PTEAM01]: got %+v, want A alone with its acknowledgement", got)
	}

	f3 := newFixture(t)
	f3.connect(func(r *resolved) { r.services = []string{"Nope"} })
	if err := f3.collect(context.Background(), collectortest.SQLite(t)); err == nil || !strings.Contains(err.Error(), "none of the configured services") {
		t.Fatalf("err %v, want none of the configured services", err)
	}
}

func keys(m map[string]schema.Incident) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSinceEarlierCollectsTheGap(t *testing.T) {
	f := newFixture(t)
	ids := scenario(f.srv)
	// The first collection starts after A and B opened.
	f.connect(func(r *resolved) { r.since.Age = now.Sub(on(40 * time.Hour)) })
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if got := incidentsByID(t, st); len(got) != 4 || got[ids["A"]].ID != "" {
		t.Fatalf("since 40 h after the start: %v, want C, D, E, G", keys(got))
	}
	f.clock.Advance(time.Minute)
	err := f.source.Collect(context.Background(), st, collectors.CollectOptions{Now: f.clock.Now, Since: day.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	got := incidentsByID(t, st)
	if len(got) != 6 || !got[ids["A"]].AcknowledgedAt.Equal(on(5*time.Minute)) {
		t.Fatalf("after --since before A: %d incidents, A %+v", len(got), got[ids["A"]])
	}
}

type reports struct {
	mu  sync.Mutex
	got []collectors.Report
}

func (r *reports) Report(p collectors.Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, p)
}

// TestSettleOverlap: PagerDuty lists an incident and its log entries two minutes
// after they happen. A run that read up to its start missed those of the last two
// minutes; the next run reads the overlap before its cursor again and finds them,
// without losing the acknowledgement of an incident it had seen resolved.
func TestSettleOverlap(t *testing.T) {
	f := newFixture(t, pagerdutytest.WithListingDelay(2*time.Minute))
	// Y: acknowledged and resolved, all seen by the first run.
	y := f.srv.Trigger(pagerdutytest.Incident{Title: "Y", ServiceID: "PSVC001", CreatedAt: now.Add(-20 * time.Minute)})
	f.srv.Acknowledge(y.ID, now.Add(-15*time.Minute))
	f.srv.Resolve(y.ID, now.Add(-4*time.Minute))
	// X: opened and acknowledged in the last minute, not listed yet.
	x := f.srv.Trigger(pagerdutytest.Incident{Title: "X", ServiceID: "PSVC001", CreatedAt: now.Add(-time.Minute)})
	f.srv.Acknowledge(x.ID, now.Add(-30*time.Second))
	f.connect(nil)
	st := collectortest.SQLite(t)
	ctx := context.Background()
	if err := f.collect(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, ok := incidentsByID(t, st)[x.ID]; ok {
		t.Fatalf("X was listed before PagerDuty shows it")
	}
	f.clock.Advance(3 * time.Minute)
	before := f.srv.Counts()
	if err := f.collect(ctx, st); err != nil {
		t.Fatal(err)
	}
	after := f.srv.Counts()
	got := incidentsByID(t, st)
	if g := got[x.ID]; !g.OpenedAt.Equal(now.Add(-time.Minute)) || !g.AcknowledgedAt.Equal(now.Add(-30*time.Second).Truncate(time.Second)) {
		t.Errorf("X after the next run: %+v, want it opened at %s and acknowledged at %s", g, now.Add(-time.Minute), now.Add(-30*time.Second))
	}
	if g := got[y.ID]; !g.AcknowledgedAt.Equal(now.Add(-15*time.Minute)) || !g.ResolvedAt.Equal(now.Add(-4*time.Minute)) {
		t.Errorf("Y after its resolution was read again: %+v, want its acknowledgement kept", g)
	}
	if after["incidents"]-before["incidents"] != 1 || after["log_entries"]-before["log_entries"] != 1 {
		t.Errorf("the second run: %v then %v, want one request per stream", before, after)
	}
}
