package opsgenie

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/opsgenie/opsgenietest"
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

const testKey = "test-key"

// fixture is a fake Opsgenie, a clock, and a source pointed at the fake whose
// waits advance the clock instead of sleeping.
type fixture struct {
	srv    *opsgenietest.Server
	clock  *opsgenietest.Clock
	source *Source
	slept  []time.Duration
}

func newFixture(t testing.TB, key string) *fixture {
	return &fixture{clock: opsgenietest.NewClock(now), srv: opsgenietest.New(t, key)}
}

// connect builds the source with the given settings on top of the defaults.
func (f *fixture) connect(edit func(*resolved)) *Source {
	r := &resolved{
		baseURL: f.srv.URL(), key: testKey, alerts: true, incidents: true, serviceTag: defaultServiceTag,
		since: collectors.Backfill{Age: defaultSince}, pageSize: maxPageSize,
	}
	if edit != nil {
		edit(r)
	}
	s := newSource("og", r, http.DefaultTransport)
	s.client.sleep = func(ctx context.Context, d time.Duration) error {
		f.slept = append(f.slept, d)
		f.clock.Advance(d)
		return ctx.Err()
	}
	f.source = s
	return s
}

func (f *fixture) collect(ctx context.Context, w collectors.Writer) error {
	return f.source.Collect(ctx, w, collectors.CollectOptions{Now: f.clock.Now})
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

// recorder is a store that counts how often each record is written.
type recorder struct {
	store.Store
	writes map[string]int
}

func (r *recorder) Write(ctx context.Context, b *schema.Batch) error {
	for _, in := range b.Incidents {
		r.writes[in.ID]++
	}
	return r.Store.Write(ctx, b)
}

// progress keeps the reports a collection sends.
type progress struct {
	mu      sync.Mutex
	reports []collectors.Report
}

func (p *progress) Report(r collectors.Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reports = append(p.reports, r)
}

// scenario adds the hand-checked alerts, incidents and services.
func scenario(srv *opsgenietest.Server) {
	srv.AddService(opsgenietest.Service{ID: "svc-1", Name: "payments-api"})
	srv.AddService(opsgenietest.Service{ID: "svc-2", Name: "checkout"})
	// a1: P1 on payments-api, acknowledged after 4 min, closed after 30 min.
	srv.AddAlert(opsgenietest.Alert{
		ID: "a1", Message: "Payments latency high", Status: "closed", Priority: "P1",
		Tags: []string{"prod", "service:payments-api"}, CreatedAt: on(0),
		AckTime: 4 * time.Minute, CloseTime: 30 * time.Minute, AcknowledgedBy: "ana@acme.test", ClosedBy: "bo@acme.test",
	})
	// a2: still open, unacknowledged, no service tag; created at a fraction of a second.
	srv.AddAlert(opsgenietest.Alert{ID: "a2", Message: "Disk 91% on db-3", Priority: "P4", CreatedAt: on(time.Hour + 500*time.Millisecond)})
	// i1: resolved 90 min after it opened, impacting checkout then payments-api.
	srv.AddIncident(opsgenietest.Incident{
		ID: "i1", Message: "Checkout down", Status: "resolved", Priority: "P1", Tags: []string{"sev1"},
		CreatedAt: on(2 * time.Hour), ImpactEndDate: on(3*time.Hour + 30*time.Minute), ImpactedServices: []string{"svc-2", "svc-1"},
	})
	// i2: open, no impacted service.
	srv.AddIncident(opsgenietest.Incident{ID: "i2", Message: "Card errors", Priority: "P2", CreatedAt: on(5 * time.Hour)})
}

func TestRecords(t *testing.T) {
	f := newFixture(t, testKey)
	scenario(f.srv)
	f.connect(func(r *resolved) { r.webURL = "https://acme.app.opsgenie.com" })
	st := collectortest.SQLite(t)
	var prog progress
	if err := f.source.Collect(context.Background(), st, collectors.CollectOptions{Now: f.clock.Now, Progress: &prog}); err != nil {
		t.Fatal(err)
	}
	wantReports := []collectors.Report{
		{Source: "og", Unit: "og", Stream: "alerts", Done: 2, Requests: 1, RateRemaining: -1, Finished: true},
		{Source: "og", Unit: "og", Stream: "incidents", Done: 2, Requests: 3, RateRemaining: -1, Finished: true},
	}
	if !reflect.DeepEqual(prog.reports, wantReports) {
		t.Errorf("progress reports %+v, want %+v", prog.reports, wantReports)
	}
	got := incidentsByID(t, st)
	web := f.srv.URL() + "/incident/detail/"
	want := map[string]schema.Incident{
		"alert:a1": {
			Source: "og", ID: "alert:a1", Kind: schema.IncidentKindAlert, Service: "payments-api", Severity: "P1", Priority: "P1",
			Title: "Payments latency high", Labels: []string{"prod", "service:payments-api"},
			OpenedAt: on(0), AcknowledgedAt: on(4 * time.Minute), ResolvedAt: on(30 * time.Minute), UpdatedAt: on(30 * time.Minute),
			URL: "https://acme.app.opsgenie.com/alert/detail/a1/details",
		},
		"alert:a2": {
			Source: "og", ID: "alert:a2", Kind: schema.IncidentKindAlert, Severity: "P4", Priority: "P4",
			Title: "Disk 91% on db-3", OpenedAt: on(time.Hour), UpdatedAt: on(time.Hour),
			URL: "https://acme.app.opsgenie.com/alert/detail/a2/details",
		},
		"incident:i1": {
			Source: "og", ID: "incident:i1", Kind: schema.IncidentKindIncident, Service: "checkout", Severity: "P1", Priority: "P1",
			Title: "Checkout down", Labels: []string{"sev1"}, OpenedAt: on(2 * time.Hour), ResolvedAt: on(3*time.Hour + 30*time.Minute),
			UpdatedAt: on(3*time.Hour + 30*time.Minute), URL: web + "i1",
		},
		"incident:i2": {
			Source: "og", ID: "incident:i2", Kind: schema.IncidentKindIncident, Severity: "P2", Priority: "P2",
			Title: "Card errors", OpenedAt: on(5 * time.Hour), UpdatedAt: on(5 * time.Hour), URL: web + "i2",
		},
	}
	for id, w := range want {
		g := got[id]
		if len(g.Labels) == 0 && len(w.Labels) == 0 {
			g.Labels = w.Labels
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s\n got  %+v\n want %+v", id, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d records, want %d", len(got), len(want))
	}
	// One request per stream, and one for the service names.
	if a, i, s := f.srv.Count("alerts.list"), f.srv.Count("incidents.list"), f.srv.Count("services.list"); a != 1 || i != 1 || s != 1 {
		t.Errorf("requests: %d alerts, %d incidents, %d services; want 1 each", a, i, s)
	}
}

func TestIncremental(t *testing.T) {
	f := newFixture(t, testKey)
	scenario(f.srv)
	f.connect(nil)
	st := collectortest.SQLite(t)
	ctx := context.Background()
	if err := f.collect(ctx, st); err != nil {
		t.Fatal(err)
	}
	// An hour later nothing changed, a2 and i2 are still open: still one request
	// per stream, each listing the open ones with the new.
	f.clock.Advance(time.Hour)
	f.srv.ResetCounts()
	if err := f.collect(ctx, st); err != nil {
		t.Fatal(err)
	}
	if a, i, total := f.srv.Count("alerts.list"), f.srv.Count("incidents.list"), f.srv.Total(); a != 1 || i != 1 || total != 2 {
		t.Errorf("a re-run with two open and nothing new made %d alert, %d incident and %d requests in all; want 1, 1 and 2", a, i, total)
	}
	if q := f.srv.Requests()[0].Query; q != fmt.Sprintf("createdAt>=%d AND createdAt<%d AND (status:open OR createdAt>=%d)",
		on(time.Hour).UnixMilli()+500, now.Add(time.Hour).UnixMilli(), now.Add(-overlap).UnixMilli()) {
		t.Errorf("the re-run listed %q", q)
	}
	// A day later a2 was acknowledged (after 25 h) and closed (after 26 h), i2
	// resolved, and a new alert came in.
	f.clock.Advance(30 * time.Hour)
	f.srv.UpdateAlert("a2", func(a *opsgenietest.Alert) {
		a.Status, a.AckTime, a.CloseTime = "closed", 25*time.Hour, 26*time.Hour
		a.UpdatedAt = a.CreatedAt.Add(26 * time.Hour)
	})
	f.srv.UpdateIncident("i2", func(in *opsgenietest.Incident) {
		in.Status, in.ImpactEndDate, in.UpdatedAt = "resolved", now.Add(time.Hour), now.Add(time.Hour)
	})
	f.srv.AddAlert(opsgenietest.Alert{ID: "a3", Message: "New", Priority: "P2", CreatedAt: now.Add(2 * time.Hour), Status: "closed", CloseTime: time.Minute})
	f.srv.ResetCounts()
	if err := f.collect(ctx, st); err != nil {
		t.Fatal(err)
	}
	got := incidentsByID(t, st)
	a2 := got["alert:a2"]
	if !a2.AcknowledgedAt.Equal(on(26*time.Hour)) || !a2.ResolvedAt.Equal(on(27*time.Hour)) {
		t.Errorf("a2 acknowledged %v resolved %v, want %v and %v", a2.AcknowledgedAt, a2.ResolvedAt, on(26*time.Hour), on(27*time.Hour))
	}
	if i2 := got["incident:i2"]; !i2.ResolvedAt.Equal(now.Add(time.Hour)) {
		t.Errorf("i2 resolved %v, want %v", i2.ResolvedAt, now.Add(time.Hour))
	}
	if a3, ok := got["alert:a3"]; !ok || !a3.ResolvedAt.Equal(now.Add(2*time.Hour+time.Minute)) {
		t.Errorf("a3 %+v, want it resolved at %v", a3, now.Add(2*time.Hour+time.Minute))
	}
	// One listing per stream; a2 and i2, followed as open, were not listed as open
	// any more, so each was read on its own; the service names were not needed.
	for route, want := range map[string]int{"alerts.list": 1, "alerts.get": 1, "incidents.list": 1, "incidents.get": 1} {
		if n := f.srv.Count(route); n != want {
			t.Errorf("the second run made %d %s requests, want %d", n, route, want)
		}
	}
	if n := f.srv.Total(); n != 4 {
		t.Errorf("the second run made %d requests, want 4", n)
	}
	// Nothing is open any more and nothing new came in: one request per stream,
	// each listing only the last window's overlap.
	f.clock.Advance(time.Hour)
	f.srv.ResetCounts()
	if err := f.collect(ctx, st); err != nil {
		t.Fatal(err)
	}
	if a, i, total := f.srv.Count("alerts.list"), f.srv.Count("incidents.list"), f.srv.Total(); a != 1 || i != 1 || total != 2 {
		t.Errorf("a re-run with nothing new made %d alert, %d incident and %d requests in all; want 1, 1 and 2", a, i, total)
	}
	for _, r := range f.srv.Requests() {
		if !strings.Contains(r.Query, fmt.Sprint(now.Add(31*time.Hour-overlap).UnixMilli())) {
			t.Errorf("the re-run listed %q: want it to start %s before the last run's end", r.Query, overlap)
		}
	}
}

func TestOffsetCeiling(t *testing.T) {
	t.Run("Opsgenie's ceiling of 20,000", func(t *testing.T) {
		f := newFixture(t, testKey)
		// 20,150 alerts, one a second: each page after the first is asked from the
		// last createdAt read, so offsets never grow and the ceiling is never
		// reached.
		for i := range 20150 {
			f.srv.AddAlert(opsgenietest.Alert{ID: fmt.Sprintf("x%05d", i), Message: "m", Status: "closed", CreatedAt: on(time.Duration(i) * time.Second)})
		}
		f.connect(func(r *resolved) { r.incidents = false })
		st := &recorder{Store: collectortest.SQLite(t), writes: map[string]int{}}
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if len(st.writes) != 20150 {
			t.Fatalf("%d alerts written, want 20150", len(st.writes))
		}
		for id, n := range st.writes {
			if n != 1 {
				t.Fatalf("alert %s written %d times", id, n)
			}
		}
		// The first page reads 100, each later one the last page's last alert
		// again and 99 new: 1 + 203 pages.
		if n := f.srv.Count("alerts.list"); n != 204 {
			t.Errorf("%d alert requests, want 204", n)
		}
		for _, r := range f.srv.Requests() {
			if r.Status != http.StatusOK {
				t.Fatalf("a request answered %d: %+v", r.Status, r)
			}
		}
	})
	t.Run("pages ending within ties", func(t *testing.T) {
		f := newFixture(t, testKey)
		f.srv.SetOffsetCeiling(50)
		// 100 alerts, three to a millisecond: pages end inside groups.
		for i := range 100 {
			f.srv.AddAlert(opsgenietest.Alert{ID: fmt.Sprintf("t%03d", i), Message: "m", Status: "closed", CreatedAt: on(time.Duration(i/3) * time.Millisecond)})
		}
		f.connect(func(r *resolved) { r.incidents, r.pageSize = false, 10 })
		f.source.ceiling = 50
		st := &recorder{Store: collectortest.SQLite(t), writes: map[string]int{}}
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if len(st.writes) != 100 {
			t.Fatalf("%d alerts written, want 100", len(st.writes))
		}
		for id, n := range st.writes {
			if n != 1 {
				t.Fatalf("alert %s written %d times", id, n)
			}
		}
		// Each page ends on the first alert of a millisecond, which the next page,
		// asked from that millisecond, lists again: 10 new, then 9 new a page to
		// t099, then the last page with t099 alone.
		if n := f.srv.Count("alerts.list"); n != 12 {
			t.Errorf("%d alert requests, want 12", n)
		}
	})
	t.Run("more than the ceiling in one millisecond", func(t *testing.T) {
		f := newFixture(t, testKey)
		f.srv.SetOffsetCeiling(20)
		for i := range 25 {
			f.srv.AddAlert(opsgenietest.Alert{ID: fmt.Sprintf("s%03d", i), Message: "m", Status: "closed", CreatedAt: on(0)})
		}
		f.connect(func(r *resolved) { r.incidents, r.pageSize = false, 10 })
		f.source.ceiling = 20
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "within one millisecond") {
			t.Fatalf("err %v, want one saying more than 20 were created within one millisecond", err)
		}
	})
}

// snapshot is every incident record, URLs kept to their path, since each fake
// server has its own port.
func snapshot(t *testing.T, s store.Store) map[string]schema.Incident {
	out := incidentsByID(t, s)
	for id, in := range out {
		if in.URL != "" {
			u, err := url.Parse(in.URL)
			if err != nil {
				t.Fatal(err)
			}
			in.URL = u.Path
		}
		out[id] = in
	}
	return out
}

func TestInterruptedCollectionsEqualCleanRun(t *testing.T) {
	build := func(t *testing.T) *fixture {
		f := newFixture(t, testKey)
		f.srv.SetOffsetCeiling(60)
		f.srv.AddService(opsgenietest.Service{ID: "svc-1", Name: "payments-api"})
		rng := rand.New(rand.NewPCG(42, 0))
		for i := range 300 {
			a := opsgenietest.Alert{
				ID: fmt.Sprintf("al%03d", i), Message: fmt.Sprint("alert ", i), Priority: fmt.Sprint("P", 1+i%5),
				CreatedAt: on(time.Duration(i/2) * 7 * time.Minute), Tags: []string{"service:svc" + fmt.Sprint(i%4)},
			}
			if i%3 != 0 {
				a.Status, a.AckTime, a.CloseTime = "closed", time.Duration(1+rng.IntN(300))*time.Second, time.Duration(400+rng.IntN(3600))*time.Second
			}
			f.srv.AddAlert(a)
		}
		for i := range 40 {
			in := opsgenietest.Incident{ID: fmt.Sprintf("in%02d", i), Message: "incident", CreatedAt: on(time.Duration(i) * 5 * time.Hour), ImpactedServices: []string{"svc-1"}}
			if i%4 != 0 {
				in.Status, in.ImpactEndDate = "resolved", in.CreatedAt.Add(time.Duration(10+i)*time.Minute)
			}
			f.srv.AddIncident(in)
		}
		f.connect(func(r *resolved) { r.pageSize = 10 })
		f.source.ceiling = 60
		return f
	}
	clean := build(t)
	cleanStore := collectortest.SQLite(t)
	if err := clean.collect(context.Background(), cleanStore); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, cleanStore)
	if len(want) != 340 {
		t.Fatalf("the clean run collected %d records, want 340", len(want))
	}
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
			for id, w := range want {
				g := got[id]
				if len(g.Labels) == 0 && len(w.Labels) == 0 {
					g.Labels = w.Labels
				}
				if !reflect.DeepEqual(g, w) {
					t.Fatalf("after %d interruptions, %s\n got  %+v\n want %+v", interruptions, id, g, w)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("after %d interruptions: %d records, clean run %d", interruptions, len(got), len(want))
			}
			// Resuming goes on from the last page written: each interruption costs
			// at most the request it cut, the page re-read at the cursor, the
			// service names read again, and a new pass over what is still open (100
			// alerts and 10 incidents: 11 pages); never a restart from scratch.
			t.Logf("%d requests over %d interruptions; a clean run makes %d", f.srv.Total(), interruptions, total)
			if n := f.srv.Total(); n > total+14*interruptions {
				t.Errorf("%d requests over %d interruptions, want at most %d (clean run %d, +14 each)", n, interruptions, total+14*interruptions, total)
			}
		})
	}
}

func TestRateLimitsAndFaults(t *testing.T) {
	t.Run("429 waits as the headers say, then succeeds", func(t *testing.T) {
		f := newFixture(t, testKey)
		scenario(f.srv)
		f.connect(nil)
		f.srv.Throttle(2, 60)
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if n := len(incidentsByID(t, st)); n != 4 {
			t.Fatalf("collected %d records, want 4", n)
		}
		if !reflect.DeepEqual(f.slept, []time.Duration{time.Minute, time.Minute}) {
			t.Fatalf("waits %v, want two of X-RateLimit-Period-In-Sec: 60", f.slept)
		}
		if n := f.source.client.throttled; n != 2 {
			t.Errorf("%d throttled answers counted, want 2", n)
		}
	})
	t.Run("5xx retried with backoff", func(t *testing.T) {
		f := newFixture(t, testKey)
		scenario(f.srv)
		f.connect(nil)
		f.srv.Fail(3, http.StatusInternalServerError)
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if n := len(incidentsByID(t, st)); n != 4 {
			t.Fatalf("collected %d records, want 4", n)
		}
		if len(f.slept) != 3 {
			t.Fatalf("waits %v, want three backoffs", f.slept)
		}
		for i, d := range f.slept {
			lo, hi := time.Second<<i/2, time.Second<<i
			if d < lo || d > hi {
				t.Errorf("backoff %d was %s, want %s to %s", i+1, d, lo, hi)
			}
		}
	})
	t.Run("a lasting 5xx gives up on the stream, the other is collected", func(t *testing.T) {
		f := newFixture(t, testKey)
		scenario(f.srv)
		f.connect(nil)
		f.srv.Fail(6, http.StatusBadGateway)
		st := collectortest.SQLite(t)
		err := f.collect(context.Background(), st)
		if err == nil || !strings.Contains(err.Error(), "opsgenie og: alerts: GET /v2/alerts: 502") {
			t.Fatalf("err %v, want the alerts stream's 502", err)
		}
		// Six attempts at the alerts (the first and five retries), then the
		// incidents: one listing and the service names.
		if n := f.srv.Total(); n != 8 {
			t.Errorf("%d requests, want 8", n)
		}
		got := incidentsByID(t, st)
		if _, ok := got["incident:i1"]; !ok || len(got) != 2 {
			t.Errorf("collected %d records, want the 2 incidents", len(got))
		}
	})
	t.Run("401 names the setting and stops at once", func(t *testing.T) {
		f := newFixture(t, "another-key")
		scenario(f.srv)
		f.connect(nil)
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "api_key_env/api_key_file") || f.srv.Total() != 1 {
			t.Fatalf("err %v after %d requests, want a 401 naming api_key_env/api_key_file after one", err, f.srv.Total())
		}
	})
	t.Run("403 names the setting, the other stream goes on", func(t *testing.T) {
		f := newFixture(t, testKey)
		scenario(f.srv)
		f.connect(nil)
		f.srv.Fail(1, http.StatusForbidden)
		st := collectortest.SQLite(t)
		err := f.collect(context.Background(), st)
		if err == nil || !strings.Contains(err.Error(), "alerts: the API key may not read them (403") || !strings.Contains(err.Error(), "api_key_env/api_key_file") {
			t.Fatalf("err %v, want a 403 on alerts naming api_key_env/api_key_file", err)
		}
		if n := len(incidentsByID(t, st)); n != 2 {
			t.Errorf("collected %d records, want the 2 incidents", n)
		}
	})
	t.Run("a query Opsgenie refuses", func(t *testing.T) {
		f := newFixture(t, testKey)
		scenario(f.srv)
		f.connect(func(r *resolved) { r.query = "owner=ana" })
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "422") {
			t.Fatalf("err %v, want the 422 the fake gives for a query it cannot parse", err)
		}
	})
	t.Run("query ANDed in", func(t *testing.T) {
		f := newFixture(t, testKey)
		scenario(f.srv)
		f.connect(func(r *resolved) { r.query, r.incidents = "tag:prod", false })
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if got := incidentsByID(t, st); len(got) != 1 || got["alert:a1"].ID == "" {
			t.Fatalf("collected %v, want only a1, the alert tagged prod", got)
		}
	})
}

func TestFollowedAlertDeleted(t *testing.T) {
	f := newFixture(t, testKey)
	f.srv.AddAlert(opsgenietest.Alert{ID: "gone", Message: "m", CreatedAt: on(0)})
	f.connect(func(r *resolved) { r.incidents = false })
	st := collectortest.SQLite(t)
	ctx := context.Background()
	if err := f.collect(ctx, st); err != nil {
		t.Fatal(err)
	}
	f.srv.DeleteAlert("gone")
	for run := 1; run <= 2; run++ {
		f.clock.Advance(time.Hour)
		f.srv.ResetCounts()
		if err := f.collect(ctx, st); err != nil {
			t.Fatal(err)
		}
		// The first run after the deletion asks for it once (404) and forgets it.
		if got, want := f.srv.Count("alerts.get"), 2-run; got != want {
			t.Errorf("run %d: %d alerts.get requests, want %d", run, got, want)
		}
	}
	c, err := st.Cursor(ctx, "og", "alerts")
	if err != nil || strings.Contains(c.Value, "gone") {
		t.Fatalf("cursor %q (err %v): want the deleted alert no longer followed", c.Value, err)
	}
}

func TestFullIgnoresTheCursor(t *testing.T) {
	f := newFixture(t, testKey)
	scenario(f.srv)
	f.connect(nil)
	st := collectortest.SQLite(t)
	ctx := context.Background()
	if err := f.collect(ctx, st); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	f.srv.ResetCounts()
	if err := f.source.Collect(ctx, st, collectors.CollectOptions{Now: f.clock.Now, Full: true}); err != nil {
		t.Fatal(err)
	}
	floor := now.Add(time.Hour - defaultSince).UnixMilli()
	for _, r := range f.srv.Requests() {
		if r.Route != "services.list" && !strings.HasPrefix(r.Query, fmt.Sprintf("createdAt>=%d AND", floor)) {
			t.Errorf("--full listed %q: want it to start at the backfill start, %d", r.Query, floor)
		}
	}
	if n := f.srv.Count("alerts.get") + f.srv.Count("incidents.get"); n != 0 {
		t.Errorf("--full read %d records one by one, want none", n)
	}
}

// TestListingShiftsBetweenPages changes the result set between two page requests
// of one run: a followed open alert closes, or an alert already read is deleted, so
// that the rows after it move up one place. Paging from the last createdAt read,
// not by offset, loses none of them.
func TestListingShiftsBetweenPages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*opsgenietest.Server)
	}{
		{"a followed alert closes", func(s *opsgenietest.Server) {
			s.UpdateAlert("followed", func(a *opsgenietest.Alert) { a.Status, a.CloseTime = "closed", 2*time.Hour })
		}},
		{"an alert read is deleted", func(s *opsgenietest.Server) { s.DeleteAlert("n02") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testKey)
			f.srv.AddAlert(opsgenietest.Alert{ID: "followed", Message: "m", CreatedAt: on(0)})
			f.connect(func(r *resolved) { r.incidents, r.pageSize = false, 10 })
			st := collectortest.SQLite(t)
			ctx := context.Background()
			if err := f.collect(ctx, st); err != nil {
				t.Fatal(err)
			}
			// Fifteen closed alerts come in after the first run; the second lists
			// the followed one with them, ten a page.
			f.clock.Advance(time.Hour)
			for i := range 15 {
				f.srv.AddAlert(opsgenietest.Alert{ID: fmt.Sprintf("n%02d", i), Message: "m", Status: "closed",
					CreatedAt: now.Add(time.Duration(i) * time.Second), CloseTime: time.Minute})
			}
			f.clock.Advance(time.Hour)
			lists := 0
			f.srv.OnRequest(func(r *http.Request) {
				if r.URL.Path == "/v2/alerts" {
					if lists++; lists == 2 {
						tc.change(f.srv)
					}
				}
			})
			if err := f.collect(ctx, st); err != nil {
				t.Fatal(err)
			}
			f.srv.OnRequest(nil)
			got := incidentsByID(t, st)
			for i := range 15 {
				if _, ok := got[fmt.Sprintf("alert:n%02d", i)]; !ok {
					t.Errorf("alert n%02d was never read", i)
				}
			}
			// The followed alert's close is picked up by the next run at the latest.
			f.clock.Advance(time.Hour)
			if err := f.collect(ctx, st); err != nil {
				t.Fatal(err)
			}
			if a := incidentsByID(t, st)["alert:followed"]; tc.name == "a followed alert closes" && !a.ResolvedAt.Equal(on(2*time.Hour)) {
				t.Errorf("the followed alert resolved %v, want %v", a.ResolvedAt, on(2*time.Hour))
			}
		})
	}
}

// TestSinceKeepsFollowing collects with --since after an open alert's creation:
// the alert, still open, is still followed, and its close is read later.
func TestSinceKeepsFollowing(t *testing.T) {
	f := newFixture(t, testKey)
	scenario(f.srv)
	f.connect(nil)
	st := collectortest.SQLite(t)
	ctx := context.Background()
	if err := f.collect(ctx, st); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if err := f.source.Collect(ctx, st, collectors.CollectOptions{Now: f.clock.Now, Since: on(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	f.srv.UpdateAlert("a2", func(a *opsgenietest.Alert) { a.Status, a.CloseTime = "closed", 3*time.Hour })
	if err := f.collect(ctx, st); err != nil {
		t.Fatal(err)
	}
	if a2 := incidentsByID(t, st)["alert:a2"]; !a2.ResolvedAt.Equal(on(4 * time.Hour)) {
		t.Errorf("a2 resolved %v, want %v: the run with --since stopped following it", a2.ResolvedAt, on(4*time.Hour))
	}
}

// TestItemOutsideWindowSkipped: a listed alert whose createdAt lies outside the
// window asked for is logged and skipped; the rest of the stream is collected, on
// every run.
func TestItemOutsideWindowSkipped(t *testing.T) {
	f := newFixture(t, testKey)
	scenario(f.srv)
	// Listed in the window by its indexed createdAt, shown with one a year older.
	f.srv.AddAlert(opsgenietest.Alert{ID: "odd", Message: "m", Status: "closed", CreatedAt: on(10 * time.Minute), ShownCreatedAt: on(-365 * 24 * time.Hour)})
	f.connect(nil)
	st := collectortest.SQLite(t)
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	for range 2 {
		if err := f.source.Collect(context.Background(), st, collectors.CollectOptions{Now: f.clock.Now, Logger: log}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Hour)
	}
	got := incidentsByID(t, st)
	if _, ok := got["alert:odd"]; ok || len(got) != 4 {
		t.Errorf("collected %d records (odd among them: %v), want the scenario's 4 without odd", len(got), ok)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "alert:odd") {
		t.Errorf("no warning naming alert:odd in the log:\n%s", logs.String())
	}
}
