package jira

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/jira/jiratest"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
)

func TestMain(m *testing.M) { clickhousetest.Main(m) }

// now is the fake clock's start; the scenarios' history lies in the weeks before.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// day is the scenarios' reference day.
var day = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func on(d time.Duration) time.Time { return day.Add(d) }

// fixture is a fake Jira with its clock, and a source pointed at it whose waits
// advance the clock instead of sleeping.
type fixture struct {
	srv    *jiratest.Server
	clock  *jiratest.Clock
	source *Source
	slept  []time.Duration
	dc     bool
}

func newFixture(t testing.TB, opts ...jiratest.Option) *fixture {
	f := &fixture{clock: jiratest.NewClock(now)}
	f.srv = jiratest.New(t, append([]jiratest.Option{jiratest.WithClock(f.clock.Now)}, opts...)...)
	return f
}

// connect builds the source with the given settings on top of the defaults: Cloud,
// project PAY, the default since, overlap, worklogs and page size.
func (f *fixture) connect(t testing.TB, edit func(*resolved)) *Source {
	r := &resolved{
		baseURL: f.srv.URL(), email: "ana@example.com", token: "test-token", emailEnv: "JIRA_EMAIL",
		tokenRef: "token_env JIRA_TOKEN", projects: []string{"PAY"}, since: collectors.Backfill{Age: defaultSince},
		overlap: defaultOverlap, worklogs: true, pageSize: defaultPageSize,
	}
	if edit != nil {
		edit(r)
	}
	s := newSource("jira", r, http.DefaultTransport)
	s.sleep = func(ctx context.Context, d time.Duration) error {
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

// snap is what a store holds of the source, by id.
type snap struct {
	items    map[string]schema.WorkItem
	changes  map[string]schema.StatusChange
	worklogs map[string]schema.Worklog
}

func snapshot(t testing.TB, s store.Store) snap {
	t.Helper()
	ctx := context.Background()
	out := snap{map[string]schema.WorkItem{}, map[string]schema.StatusChange{}, map[string]schema.Worklog{}}
	for wi, err := range s.WorkItems(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		out.items[wi.ID] = wi
	}
	for sc, err := range s.StatusChanges(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		out.changes[sc.ID] = sc
	}
	for wl, err := range s.Worklogs(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		out.worklogs[wl.ID] = wl
	}
	return out
}

// statuses are the fake's default statuses, in the order generate cycles through.
var cycle = []string{"In Progress", "In Review", "In Progress", "To Do"}

// generate adds n issues to a project, one an hour from start, each with changes
// status changes (a minute apart) and worklogs worklogs. It returns the keys.
func generate(srv *jiratest.Server, project string, n, changes, worklogs int, start time.Time) []string {
	keys := make([]string, 0, n)
	for i := range n {
		created := start.Add(time.Duration(i) * time.Hour)
		key := srv.AddIssue(jiratest.Issue{
			Key: fmt.Sprintf("%s-%d", project, i+1), Summary: fmt.Sprintf("Issue %d", i+1), Created: created,
			Labels: []string{"gen"}, Priority: "Medium", Assignee: "Bo",
		})
		for j := range changes {
			srv.Transition(key, cycle[j%len(cycle)], "Bo", created.Add(time.Duration(j+1)*time.Minute))
		}
		for j := range worklogs {
			at := created.Add(time.Duration(changes+j+1) * time.Minute)
			srv.AddWorklog(key, "Cy", at, 1800, at)
		}
		keys = append(keys, key)
	}
	return keys
}

// TestCollectScenario checks every mapped field of hand-built issues.
func TestCollectScenario(t *testing.T) {
	la, _ := time.LoadLocation("Europe/Paris")
	f := newFixture(t, jiratest.WithTimeZone(la))
	f.srv.AddIssue(jiratest.Issue{
		Key: "PAY-1", Type: "Bug", Summary: "Refunds fail", Labels: []string{"payments", "urgent"},
		Components: []string{"api", "billing"}, Assignee: "Bo Berg", Priority: "High", Created: on(0),
	})
	h1 := f.srv.Transition("PAY-1", "In Progress", "Bo Berg", on(2*time.Hour))
	h2 := f.srv.Transition("PAY-1", "Done", "Cy Chen", on(5*time.Hour+30*time.Second))
	wl := f.srv.AddWorklog("PAY-1", "Bo Berg", on(3*time.Hour), 5400, on(6*time.Hour))
	// PAY-2: a field change that is not a status change, and no transitions.
	f.srv.AddIssue(jiratest.Issue{Key: "PAY-2", Summary: "Docs", Created: on(time.Hour)})
	f.srv.Change("PAY-2", "Ana", on(7*time.Hour), jiratest.Item{Field: "labels", ToString: "docs"})
	// OPS-1 is another project, not collected.
	f.srv.AddIssue(jiratest.Issue{Key: "OPS-1", Created: on(time.Hour)})
	f.connect(t, nil)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, st)
	want1 := schema.WorkItem{
		Source: "jira", ID: "PAY-1", Project: "PAY", IssueType: "Bug", Title: "Refunds fail",
		Labels: []string{"payments", "urgent"}, Assignee: "Bo Berg", Priority: "High", Status: "Done",
		StatusCategory: "Done", Resolution: "Done", Components: []string{"api", "billing"},
		CreatedAt: on(0), ResolvedAt: on(5*time.Hour + 30*time.Second), URL: f.srv.URL() + "/browse/PAY-1",
		UpdatedAt: on(6 * time.Hour),
	}
	if g := got.items["PAY-1"]; !reflect.DeepEqual(g, want1) {
		t.Errorf("PAY-1\n got  %+v\n want %+v", g, want1)
	}
	if g := got.items["PAY-2"]; g.Status != "To Do" || g.StatusCategory != "To Do" || g.Resolution != "" ||
		!g.ResolvedAt.IsZero() || g.UpdatedAt != on(7*time.Hour) || g.Assignee != "" || g.Priority != "" {
		t.Errorf("PAY-2: %+v", g)
	}
	if _, ok := got.items["OPS-1"]; ok || len(got.items) != 2 {
		t.Errorf("items: %v", got.items)
	}
	wantChanges := map[string]schema.StatusChange{
		"PAY-1/" + h1 + "/0": {Source: "jira", ID: "PAY-1/" + h1 + "/0", ItemID: "PAY-1", At: on(2 * time.Hour),
			From: "To Do", To: "In Progress", FromCategory: "To Do", ToCategory: "In Progress", Author: "Bo Berg", UpdatedAt: on(2 * time.Hour)},
		"PAY-1/" + h2 + "/0": {Source: "jira", ID: "PAY-1/" + h2 + "/0", ItemID: "PAY-1", At: on(5*time.Hour + 30*time.Second),
			From: "In Progress", To: "Done", FromCategory: "In Progress", ToCategory: "Done", Author: "Cy Chen", UpdatedAt: on(5*time.Hour + 30*time.Second)},
	}
	if !reflect.DeepEqual(got.changes, wantChanges) {
		t.Errorf("status changes\n got  %+v\n want %+v", got.changes, wantChanges)
	}
	wantWl := map[string]schema.Worklog{wl: {Source: "jira", ID: wl, ItemID: "PAY-1", Author: "Bo Berg", StartedAt: on(3 * time.Hour), Seconds: 5400, UpdatedAt: on(6 * time.Hour)}}
	if !reflect.DeepEqual(got.worklogs, wantWl) {
		t.Errorf("worklogs\n got  %+v\n want %+v", got.worklogs, wantWl)
	}
	// myself, one search, the status list once.
	if f.srv.Count("myself") != 1 || f.srv.Count("search") != 1 || f.srv.Count("status") != 1 || f.srv.Total() != 3 {
		t.Errorf("requests: %d total, myself %d, search %d, status %d", f.srv.Total(), f.srv.Count("myself"), f.srv.Count("search"), f.srv.Count("status"))
	}
	// A cursor at the latest update written.
	c, err := st.Cursor(context.Background(), "jira", "issues:PAY")
	if err != nil || !strings.Contains(c.Value, on(7*time.Hour).Format(time.RFC3339)) {
		t.Errorf("cursor %+v, %v", c, err)
	}
}

// TestPaging pages every list past its cap: issues past the search cap (and past a
// page_size above it), a changelog longer than search inlines (bulk fetch, itself
// paged), and worklogs over several pages.
func TestPaging(t *testing.T) {
	f := newFixture(t, jiratest.WithLimits(jiratest.Limits{BulkChangelog: 20, WorklogPage: 10}))
	generate(f.srv, "PAY", 250, 1, 1, now.Add(-20*24*time.Hour))
	// PAY-251 with 45 status changes: 40 inlined, the rest by bulk fetch (20 a page:
	// 3 pages). PAY-252 with 25 worklogs: 20 inlined, so all paged, 10 a page: 3 pages.
	long := f.srv.AddIssue(jiratest.Issue{Key: "PAY-251", Created: now.Add(-5 * 24 * time.Hour)})
	for j := range 45 {
		f.srv.Transition(long, cycle[j%len(cycle)], "Bo", now.Add(-5*24*time.Hour+time.Duration(j+1)*time.Minute))
	}
	logged := f.srv.AddIssue(jiratest.Issue{Key: "PAY-252", Created: now.Add(-4 * 24 * time.Hour)})
	for j := range 25 {
		at := now.Add(-4*24*time.Hour + time.Duration(j+1)*time.Minute)
		f.srv.AddWorklog(logged, "Cy", at, 60, at)
	}
	f.connect(t, func(r *resolved) { r.pageSize = 500 })
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, st)
	if len(got.items) != 252 {
		t.Errorf("%d work items, want 252", len(got.items))
	}
	// 250 generated changes + 45.
	if len(got.changes) != 295 {
		t.Errorf("%d status changes, want 295", len(got.changes))
	}
	n := 0
	for _, sc := range got.changes {
		if sc.ItemID == "PAY-251" {
			n++
		}
	}
	if n != 45 {
		t.Errorf("PAY-251 has %d status changes, want 45", n)
	}
	if len(got.worklogs) != 275 {
		t.Errorf("%d worklogs, want 275 (250 + 25)", len(got.worklogs))
	}
	// 252 issues at 100 a page: 3 searches; 45 histories at 20 a page: 3 bulk
	// fetches; 25 worklogs at 10 a page: 3 worklog pages; myself and status once:
	// 11 in all.
	want := map[string]int{"search": 3, "bulkfetch": 3, "worklog": 3, "myself": 1, "status": 1}
	for route, n := range want {
		if g := f.srv.Count(route); g != n {
			t.Errorf("%s: %d requests, want %d", route, g, n)
		}
	}
	if f.srv.Total() != 11 {
		t.Errorf("%d requests, want 11", f.srv.Total())
	}
}

// TestIssueEditedDuringSearch: an issue already read is edited between two pages
// of a search, so it moves to the end and every later issue moves up one place. No
// issue may be lost at the page boundary, on Cloud (token paging) or Data Center
// (startAt paging).
func TestIssueEditedDuringSearch(t *testing.T) {
	for name, mode := range map[string]jiratest.Mode{"cloud": jiratest.Cloud, "datacenter": jiratest.DataCenter} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, jiratest.WithMode(mode), jiratest.WithAuth("ana@example.com", "test-token"))
			generate(f.srv, "PAY", 10, 0, 0, now.Add(-3*24*time.Hour))
			f.srv.BeforeRequest("search", 2, func() { f.srv.Touch("PAY-1", now.Add(-time.Hour)) })
			f.connect(t, func(r *resolved) { r.pageSize = 5; r.datacenter = mode == jiratest.DataCenter })
			st := collectortest.SQLite(t)
			if err := f.collect(context.Background(), st); err != nil {
				t.Fatal(err)
			}
			got := snapshot(t, st)
			for i := 1; i <= 10; i++ {
				if _, ok := got.items[fmt.Sprintf("PAY-%d", i)]; !ok {
					t.Errorf("PAY-%d was not stored", i)
				}
			}
			if wi := got.items["PAY-1"]; wi.UpdatedAt != now.Add(-time.Hour) {
				t.Errorf("PAY-1 updated %v, want the edit's %v", wi.UpdatedAt, now.Add(-time.Hour))
			}
			c, err := st.Cursor(context.Background(), "jira", "issues:PAY")
			if err != nil || !strings.Contains(c.Value, now.Add(-time.Hour).Format(time.RFC3339)) {
				t.Errorf("cursor %+v, %v", c, err)
			}
		})
	}
}

// TestSearchWithinOneMinute: when a whole page was updated within the search's
// first minute, starting again from its last update would repeat the search, so
// the source goes on by offset within it.
func TestSearchWithinOneMinute(t *testing.T) {
	f := newFixture(t)
	for i := 1; i <= 12; i++ {
		f.srv.AddIssue(jiratest.Issue{Key: fmt.Sprintf("PAY-%d", i), Created: on(time.Duration(i) * time.Second)})
	}
	f.connect(t, func(r *resolved) { r.pageSize = 5 })
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if n := len(snapshot(t, st).items); n != 12 || f.srv.Count("search") != 3 {
		t.Errorf("%d items in %d searches, want 12 in 3", n, f.srv.Count("search"))
	}
}

// TestChangelogTotalUnderstated: a Cloud search that inlines the changelog's limit
// of 40 histories but gives 40 as the total too; the source bulk-fetches the rest
// all the same.
func TestChangelogTotalUnderstated(t *testing.T) {
	f := newFixture(t, jiratest.WithChangelogTotalInlined())
	generate(f.srv, "PAY", 2, 45, 0, now.Add(-5*24*time.Hour))
	generate(f.srv, "OPS", 1, 3, 0, now.Add(-5*24*time.Hour))
	f.connect(t, func(r *resolved) { r.projects = []string{"PAY", "OPS"} })
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if n := len(snapshot(t, st).changes); n != 2*45+3 {
		t.Errorf("%d status changes, want %d", n, 2*45+3)
	}
	// One bulk fetch, for PAY's page; OPS-1's 3 histories are whole.
	if n := f.srv.Count("bulkfetch"); n != 1 {
		t.Errorf("%d bulk fetches, want 1", n)
	}
}

// TestSinceEarlierThanCursor: --since earlier than a stream's cursor collects the
// stream again from there; a later one leaves the cursor in charge.
func TestSinceEarlierThanCursor(t *testing.T) {
	f := newFixture(t)
	generate(f.srv, "PAY", 3, 1, 0, on(0))
	f.connect(t, nil)
	st := &recorder{Store: collectortest.SQLite(t)}
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	run := func(since time.Time) []string {
		st.items = nil
		if err := f.source.Collect(context.Background(), st, collectors.CollectOptions{Now: f.clock.Now, Since: since}); err != nil {
			t.Fatal(err)
		}
		return st.items
	}
	if got, want := run(day.Add(-time.Hour)), []string{"PAY-1", "PAY-2", "PAY-3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("--since before the cursor wrote %v, want %v", got, want)
	}
	// PAY-3 (updated at the cursor) only: a since after the cursor changes nothing.
	if got, want := run(now.Add(-time.Hour)), []string{"PAY-3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("--since after the cursor wrote %v, want %v", got, want)
	}
}

// recorder is a Writer that remembers the ids of the work items written.
type recorder struct {
	store.Store
	items []string
}

func (r *recorder) Write(ctx context.Context, b *schema.Batch) error {
	for _, wi := range b.WorkItems {
		r.items = append(r.items, wi.ID)
	}
	return r.Store.Write(ctx, b)
}

// TestIncremental: a second run reads only what changed (and what lies within the
// overlap of the cursor); a run with nothing new makes one search per project.
func TestIncremental(t *testing.T) {
	f := newFixture(t)
	for i := 1; i <= 5; i++ {
		key := f.srv.AddIssue(jiratest.Issue{Key: fmt.Sprintf("PAY-%d", i), Created: on(time.Duration(i-1) * time.Hour)})
		f.srv.Transition(key, "In Progress", "Bo", on(time.Duration(i)*time.Hour))
	}
	for i := 1; i <= 3; i++ {
		key := f.srv.AddIssue(jiratest.Issue{Key: fmt.Sprintf("OPS-%d", i), Created: on(time.Duration(i-1) * time.Hour)})
		f.srv.Transition(key, "In Progress", "Bo", on(time.Duration(i)*time.Hour))
	}
	f.connect(t, func(r *resolved) { r.projects = []string{"PAY", "OPS"} })
	st := &recorder{Store: collectortest.SQLite(t)}
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if len(st.items) != 8 {
		t.Fatalf("first run wrote %v", st.items)
	}
	f.clock.Advance(time.Hour)
	later := now.Add(-time.Hour)
	h := f.srv.Transition("PAY-2", "Done", "Cy", later)
	f.srv.Touch("OPS-1", later)
	st.items = nil
	f.srv.ResetCounts()
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	// PAY-5 and OPS-3 are at their stream's cursor, inside the overlap.
	sort.Strings(st.items)
	if want := []string{"OPS-1", "OPS-3", "PAY-2", "PAY-5"}; !reflect.DeepEqual(st.items, want) {
		t.Errorf("second run wrote %v, want %v", st.items, want)
	}
	got := snapshot(t, st.Store)
	if sc, ok := got.changes["PAY-2/"+h+"/0"]; !ok || sc.To != "Done" || sc.ToCategory != "Done" {
		t.Errorf("the new transition: %+v", sc)
	}
	if len(got.changes) != 9 {
		t.Errorf("%d status changes, want 9: re-reads overwrite", len(got.changes))
	}
	if wi := got.items["OPS-1"]; wi.UpdatedAt != later {
		t.Errorf("OPS-1 updated %v, want %v", wi.UpdatedAt, later)
	}
	// Nothing new, in the same process: one search per project; the account's
	// time zone and status list read an hour ago are kept.
	f.srv.ResetCounts()
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if f.srv.Count("search") != 2 || f.srv.Total() != 2 {
		t.Errorf("a re-run with nothing new: %d requests (search %d, myself %d, status %d), want 2 searches only",
			f.srv.Total(), f.srv.Count("search"), f.srv.Count("myself"), f.srv.Count("status"))
	}
	// An hour later they are read again: myself, and the status list for the
	// transitions of the issues re-read within the overlap.
	f.clock.Advance(time.Hour)
	f.srv.ResetCounts()
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if f.srv.Count("search") != 2 || f.srv.Count("myself") != 1 || f.srv.Count("status") != 1 || f.srv.Total() != 4 {
		t.Errorf("a re-run after an hour: %d requests (search %d, myself %d, status %d), want 4 (2, 1, 1)",
			f.srv.Total(), f.srv.Count("search"), f.srv.Count("myself"), f.srv.Count("status"))
	}
}

// A status created after the kept status list was read is looked up at once.
func TestNewStatusRereadsTheList(t *testing.T) {
	f := newFixture(t)
	key := f.srv.AddIssue(jiratest.Issue{Key: "PAY-1", Created: on(0)})
	f.srv.Transition(key, "In Progress", "Bo", on(time.Hour))
	f.connect(t, func(r *resolved) { r.projects = []string{"PAY"} })
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Minute)
	f.srv.AddStatus("Waiting for Legal", "indeterminate")
	h := f.srv.Transition(key, "Waiting for Legal", "Bo", now.Add(-time.Minute))
	f.srv.ResetCounts()
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if f.srv.Count("status") != 1 {
		t.Errorf("status list read %d times, want once for the new status", f.srv.Count("status"))
	}
	if sc := snapshot(t, st).changes[key+"/"+h+"/0"]; sc.ToCategory != "In Progress" {
		t.Errorf("the transition to the new status: %+v, want category In Progress", sc)
	}
}

// TestTimeZone: Jira reads JQL dates in the user's zone, to the minute. An issue
// updated a minute after the cursor is found even with no overlap, for a user in Los
// Angeles (seven hours behind UTC in June).
func TestTimeZone(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, jiratest.WithTimeZone(la))
	cursorAt := time.Date(2026, 5, 30, 12, 0, 30, 0, time.UTC)
	f.srv.AddIssue(jiratest.Issue{Key: "PAY-1", Created: cursorAt})
	f.connect(t, func(r *resolved) { r.overlap = 0 })
	st := &recorder{Store: collectortest.SQLite(t)}
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	f.srv.AddIssue(jiratest.Issue{Key: "PAY-2", Created: cursorAt.Add(40 * time.Second)})
	st.items = nil
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	// The bound is 05:00 in Los Angeles, 12:00 UTC: PAY-1 (12:00:30) again, and PAY-2.
	if want := []string{"PAY-1", "PAY-2"}; !reflect.DeepEqual(st.items, want) {
		t.Errorf("second run wrote %v, want %v", st.items, want)
	}
}

func TestJQLDate(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	for _, tc := range []struct {
		t    time.Time
		tz   *time.Location
		want string
	}{
		{time.Date(2026, 6, 1, 12, 0, 45, 0, time.UTC), la, "2026/06/01 05:00"},
		{time.Date(2026, 6, 1, 12, 0, 45, 0, time.UTC), time.UTC, "2026/06/01 12:00"},
		// 01:30 on 1 November happens twice in Los Angeles; the bound goes back two
		// hours to an unambiguous minute.
		{time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC), la, "2026/10/31 23:30"},
		// 03:30 on 8 March is half an hour after the clocks went forward: the bound
		// goes back two hours too, to 00:30 (08:30 UTC).
		{time.Date(2026, 3, 8, 10, 30, 0, 0, time.UTC), la, "2026/03/08 00:30"},
		// Far from a change the zone's offset is all there is.
		{time.Date(2026, 1, 15, 20, 59, 59, 0, time.UTC), la, "2026/01/15 12:59"},
	} {
		if got := jqlDate(tc.t, tc.tz); got != tc.want {
			t.Errorf("jqlDate(%v, %v) = %s, want %s", tc.t, tc.tz, got, tc.want)
		}
	}
}

// TestInterruptedCollectionsEqualCleanRun cancels collections after a random number
// of requests and resumes them until one finishes: the store then holds what a
// clean run writes, on both stores.
func TestInterruptedCollectionsEqualCleanRun(t *testing.T) {
	build := func(t *testing.T) *fixture {
		f := newFixture(t, jiratest.WithLimits(jiratest.Limits{WorklogPage: 10}))
		generate(f.srv, "PAY", 120, 3, 2, now.Add(-10*24*time.Hour))
		start := now.Add(-8 * 24 * time.Hour)
		generate(f.srv, "OPS", 60, 45, 1, start)
		// Every seventh OPS issue has 22 worklogs, paged 10 at a time; logged within
		// its own hour, so the pages that cost most are spread over the stream.
		for i := 1; i <= 60; i += 7 {
			for j := range 21 {
				at := start.Add(time.Duration(i-1)*time.Hour + 50*time.Minute + time.Duration(j)*time.Second)
				f.srv.AddWorklog(fmt.Sprintf("OPS-%d", i), "Di", at, 60, at)
			}
		}
		f.connect(t, func(r *resolved) { r.projects = []string{"PAY", "OPS"}; r.pageSize = 20 })
		return f
	}
	clean := build(t)
	cleanStore := collectortest.SQLite(t)
	if err := clean.collect(context.Background(), cleanStore); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, cleanStore)
	total := clean.srv.Total()
	if len(want.items) != 180 || len(want.changes) != 120*3+60*45 {
		t.Fatalf("clean run: %d items, %d changes", len(want.items), len(want.changes))
	}
	runs := []struct {
		store string
		seed  uint64
	}{{"sqlite", 1}, {"sqlite", 2}, {"sqlite", 3}, {"clickhouse", 4}, {"clickhouse", 5}}
	for _, tc := range runs {
		t.Run(fmt.Sprintf("%s/seed%d", tc.store, tc.seed), func(t *testing.T) {
			f := build(t)
			st := collectortest.Stores()[tc.store](t)
			interruptions := collectortest.Interrupt(t, f.srv, total, tc.seed, 30,
				func(ctx context.Context) error { return f.collect(ctx, st) })
			got := snapshot(t, st)
			// Each fake listens on its own port: compare links by their path.
			for id, wi := range got.items {
				wi.URL = strings.Replace(wi.URL, f.srv.URL(), clean.srv.URL(), 1)
				got.items[id] = wi
			}
			for id, w := range want.items {
				if g := got.items[id]; !reflect.DeepEqual(g, w) {
					t.Errorf("work item %s\n got  %+v\n want %+v", id, g, w)
					break
				}
			}
			if !reflect.DeepEqual(got.items, want.items) {
				t.Errorf("work items differ after %d interruptions: %d, want %d", interruptions, len(got.items), len(want.items))
			}
			if !reflect.DeepEqual(got.changes, want.changes) {
				t.Errorf("status changes differ after %d interruptions: %d, want %d", interruptions, len(got.changes), len(want.changes))
			}
			if !reflect.DeepEqual(got.worklogs, want.worklogs) {
				t.Errorf("worklogs differ after %d interruptions: %d, want %d", interruptions, len(got.worklogs), len(want.worklogs))
			}
		})
	}
}

// TestRateLimitAndFaults: 429 waits Retry-After, a 500 is retried, a refused
// credential names the settings holding it, refused JQL names the project.
func TestRateLimitAndFaults(t *testing.T) {
	t.Run("429", func(t *testing.T) {
		f := newFixture(t)
		generate(f.srv, "PAY", 3, 1, 0, on(0))
		f.srv.Throttle(2, 30*time.Second)
		f.connect(t, nil)
		if err := f.collect(context.Background(), collectortest.SQLite(t)); err != nil {
			t.Fatal(err)
		}
		if want := []time.Duration{30 * time.Second, 30 * time.Second}; !reflect.DeepEqual(f.slept, want) {
			t.Errorf("slept %v, want %v", f.slept, want)
		}
		// Two refused, then myself, search, status.
		if f.srv.Total() != 5 {
			t.Errorf("%d requests, want 5", f.srv.Total())
		}
	})
	t.Run("429 forever", func(t *testing.T) {
		f := newFixture(t)
		f.srv.Throttle(100, 42*time.Second)
		f.connect(t, nil)
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "rate limited") ||
			!strings.Contains(err.Error(), "Retry-After was 42") || statusOf(err) != http.StatusTooManyRequests {
			t.Errorf("err %v", err)
		}
	})
	t.Run("500", func(t *testing.T) {
		f := newFixture(t)
		generate(f.srv, "PAY", 3, 1, 0, on(0))
		f.srv.Fail("search", 2, http.StatusInternalServerError)
		f.connect(t, nil)
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if len(f.slept) != 2 || f.srv.Count("search") != 3 {
			t.Errorf("slept %v, %d searches; want 2 backoffs, 3 searches", f.slept, f.srv.Count("search"))
		}
		if n := len(snapshot(t, st).items); n != 3 {
			t.Errorf("%d items", n)
		}
	})
	t.Run("500 forever", func(t *testing.T) {
		f := newFixture(t)
		f.srv.Fail("search", 100, http.StatusServiceUnavailable)
		f.connect(t, nil)
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "503") || len(f.slept) != maxRetries {
			t.Errorf("err %v after %d waits", err, len(f.slept))
		}
	})
	t.Run("401 cloud", func(t *testing.T) {
		f := newFixture(t, jiratest.WithAuth("ana@example.com", "other"))
		f.connect(t, nil)
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "email_env JIRA_EMAIL and token_env JIRA_TOKEN") {
			t.Errorf("err %v", err)
		}
		if strings.Contains(err.Error(), "test-token") {
			t.Errorf("the token leaked: %v", err)
		}
	})
	t.Run("401 datacenter", func(t *testing.T) {
		f := newFixture(t, jiratest.WithMode(jiratest.DataCenter), jiratest.WithAuth("", "other"))
		f.connect(t, func(r *resolved) { r.datacenter, r.tokenRef = true, "token_file /run/secrets/jira" })
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "check token_file /run/secrets/jira") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("refused jql", func(t *testing.T) {
		f := newFixture(t)
		f.connect(t, func(r *resolved) { r.jql = "summary ~ refunds" })
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "project PAY") || !strings.Contains(err.Error(), "400") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("jql ANDed in", func(t *testing.T) {
		f := newFixture(t)
		f.srv.AddIssue(jiratest.Issue{Key: "PAY-1", Type: "Bug", Created: on(0)})
		f.srv.AddIssue(jiratest.Issue{Key: "PAY-2", Type: "Sub-task", Created: on(0)})
		f.connect(t, func(r *resolved) { r.jql = `issuetype != "Sub-task"` })
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if items := snapshot(t, st).items; len(items) != 1 || items["PAY-1"].ID != "PAY-1" {
			t.Errorf("items %v", items)
		}
	})
}

// TestDataCenter collects from Data Center: Bearer token, REST v2, search paged by
// startAt and total, a changelog longer than inlined paged per issue.
func TestDataCenter(t *testing.T) {
	f := newFixture(t, jiratest.WithMode(jiratest.DataCenter), jiratest.WithAuth("", "pat-123"),
		jiratest.WithLimits(jiratest.Limits{ChangelogInline: 30, ChangelogPage: 20, WorklogPage: 5}))
	generate(f.srv, "PAY", 95, 2, 1, now.Add(-30*24*time.Hour))
	long := f.srv.AddIssue(jiratest.Issue{Key: "PAY-96", Created: now.Add(-2 * 24 * time.Hour)})
	for j := range 50 {
		f.srv.Transition(long, cycle[j%len(cycle)], "Bo", now.Add(-2*24*time.Hour+time.Duration(j+1)*time.Minute))
	}
	for j := range 22 {
		f.srv.AddWorklog(long, "Cy", now.Add(-time.Hour), 60, now.Add(-time.Duration(30-j)*time.Minute))
	}
	f.connect(t, func(r *resolved) { r.datacenter, r.email, r.token, r.pageSize = true, "", "pat-123", 40 })
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, st)
	if len(got.items) != 96 || len(got.changes) != 95*2+50 || len(got.worklogs) != 95+22 {
		t.Errorf("%d items, %d changes, %d worklogs; want 96, 240, 117", len(got.items), len(got.changes), len(got.worklogs))
	}
	// 96 issues at 40 a page: 3 searches; 50 histories at 20 a page: 3 changelog
	// pages; 22 worklogs at 5 a page: 5 pages.
	for route, n := range map[string]int{"search": 3, "changelog": 3, "worklog": 5, "myself": 1, "status": 1} {
		if g := f.srv.Count(route); g != n {
			t.Errorf("%s: %d requests, want %d", route, g, n)
		}
	}
	wi := got.items["PAY-96"]
	if wi.URL != f.srv.URL()+"/browse/PAY-96" || wi.Status != cycle[49%len(cycle)] || wi.StatusCategory != "In Progress" {
		t.Errorf("PAY-96: %+v", wi)
	}

	// A version without /issue/{key}/changelog (404): the whole changelog comes from
	// the issue itself, in one request.
	f.srv.Transition(long, "Done", "Cy", now.Add(-time.Minute))
	f.srv.Fail("changelog", 1, http.StatusNotFound)
	f.srv.ResetCounts()
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, st); len(got.changes) != 95*2+51 || got.items["PAY-96"].Status != "Done" {
		t.Errorf("after the fallback: %d changes, PAY-96 %s", len(got.changes), got.items["PAY-96"].Status)
	}
	if f.srv.Count("changelog") != 1 || f.srv.Count("issue") != 1 {
		t.Errorf("changelog %d, issue %d requests; want 1 and 1", f.srv.Count("changelog"), f.srv.Count("issue"))
	}
}

// TestBackfillRequestCost counts the requests of a backfill of 1,000 issues with 10
// status changes and 2 worklogs each: myself, the status list and 11 searches of
// 100 issues (each search after the first starts again at the last issue read, so
// it re-reads that one and brings 99 new), 1.3 requests per 100 issues. With 50
// status changes each (more than the 40 search inlines), each page needs the bulk
// changelog of its new issues' status histories, 1,000 a page: 5 more requests for
// each of the ten full pages and 1 for the last page's 9 issues, 64 in all.
func TestBackfillRequestCost(t *testing.T) {
	for _, tc := range []struct {
		changes, want int
	}{{10, 13}, {50, 64}} {
		f := newFixture(t)
		generate(f.srv, "PAY", 1000, tc.changes, 2, now.Add(-60*24*time.Hour))
		f.connect(t, nil)
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if n := len(snapshot(t, st).changes); n != 1000*tc.changes {
			t.Errorf("%d status changes, want %d", n, 1000*tc.changes)
		}
		if got := f.srv.Total(); got != tc.want {
			t.Errorf("%d status changes each: %d requests for 1,000 issues, want %d", tc.changes, got, tc.want)
		}
		t.Logf("%d status changes and 2 worklogs each: %.1f requests per 100 issues", tc.changes, float64(f.srv.Total())/10)
	}
}

// TestNoIssuesWarns: a project with no issues at all is logged as a warning.
func TestNoIssuesWarns(t *testing.T) {
	f := newFixture(t)
	f.connect(t, nil)
	var logs strings.Builder
	err := f.source.Collect(context.Background(), collectortest.SQLite(t), collectors.CollectOptions{Now: f.clock.Now, Logger: newTextLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "issues:PAY") {
		t.Errorf("logs:\n%s", logs.String())
	}
}
