// Package storetest is the conformance suite every store.Store must pass. Each store
// package runs it from its own tests, so the embedded store and ClickHouse answer the
// same questions the same way.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// Opener returns a new, empty, not yet migrated store; the suite closes it.
type Opener func(t *testing.T) store.Store

// Run runs the conformance suite against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"MigrateTwice", testMigrateTwice},
		{"RoundTripEveryKind", testRoundTrip},
		{"SameBatchTwiceLeavesSameData", testIdempotent},
		{"LatestVersionWins", testLatestVersionWins},
		{"OfEqualVersionsTheLastWrittenWins", testEqualVersions},
		{"CopiesAtAnotherTimeAreOneRecord", testCopiesAtAnotherTime},
		{"Filters", testFilters},
		{"ListFilters", testListFilters},
		{"ZeroUpdatedAt", testZeroUpdatedAt},
		{"OrderedByEventTime", testOrder},
		{"Cursors", testCursors},
		{"LargeBatch", testLargeBatch},
		{"BreakOutOfIteration", testBreak},
		{"CanceledContext", testCanceled},
		{"HoldsTheLimits", testHoldsTheLimits},
		{"RefusesWhatNoStoreHolds", testRefusesWhatNoStoreHolds},
		{"PoisonBatchInTheSpool", testPoisonBatchInTheSpool},
	}
	t.Run("PingBeforeMigrate", func(t *testing.T) {
		s := open(t)
		defer s.Close()
		err := s.Ping(context.Background())
		if !errors.Is(err, store.ErrNotMigrated) {
			t.Fatalf("Ping on a new store = %v, want an error wrapping ErrNotMigrated", err)
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			tc.run(t, s)
		})
	}
}

// base is a fixed instant with sub-second precision and a non-UTC zone, to check
// that stores truncate to seconds and read back in UTC.
var base = time.Date(2026, 3, 30, 9, 15, 42, 987654321, time.FixedZone("CEST", 2*3600))

func at(d time.Duration) time.Time { return base.Add(d) }

// fixture returns one fully populated record of each kind, plus a variant of each
// with every optional field empty.
func fixture() *schema.Batch {
	upd := at(48 * time.Hour)
	return &schema.Batch{
		PullRequests: []schema.PullRequest{{
			Source: "gh", ID: "acme/api#7", Repo: "acme/api", Number: 7, Author: "ana",
			Title: "Add retries", Labels: []string{"bug", "needs review"}, BaseBranch: "main",
			Draft: true, CreatedAt: at(0), ReadyAt: at(time.Hour), FirstCommitAt: at(-3 * time.Hour),
			CommitCount: 4, Additions: 120, Deletions: 7, FirstReviewAt: at(2 * time.Hour),
			FirstReviewer: "bo", FirstApprovalAt: at(3 * time.Hour), MergedAt: at(4 * time.Hour),
			ClosedAt: at(4 * time.Hour), MergeCommitSHA: "abc123", URL: "https://example.test/pr/7",
			Reverts:    []string{"acme/api#5", "0123456789abcdef0123456789abcdef01234567"},
			TicketRefs: []string{"PAY-1", "acme/api#3"},
			UpdatedAt:  upd,
		}, {
			Source: "gh", ID: "acme/api#8", Repo: "acme/api", Number: 8, Author: "bo",
			CreatedAt: at(time.Minute), UpdatedAt: upd,
		}},
		Deployments: []schema.Deployment{{
			Source: "gh", ID: "d-1", Repo: "acme/api", Service: "api", Environment: "production",
			CommitSHA: "abc123", Ref: "main", Status: schema.DeploymentSuccess, Trigger: schema.TriggerManual,
			Rollback: true, Hotfix: true, Attempt: 2, StartedAt: at(5 * time.Hour),
			FinishedAt: at(5*time.Hour + 10*time.Minute), URL: "https://example.test/d/1", UpdatedAt: upd,
		}, {
			Source: "gh", ID: "d-2", Service: "api", Status: schema.DeploymentInProgress,
			StartedAt: at(6 * time.Hour), UpdatedAt: upd,
		}},
		Incidents: []schema.Incident{{
			Source: "pd", ID: "P123", Kind: schema.IncidentKindIncident, Service: "api", Severity: "SEV2",
			Urgency: "high", Priority: "P1", Title: "Errors up",
			Labels: []string{"customer-facing"}, OpenedAt: at(7 * time.Hour),
			AcknowledgedAt: at(7*time.Hour + 5*time.Minute), ResolvedAt: at(8 * time.Hour),
			CauseDeploymentID: "d-1", CauseCommitSHA: "abc123", CausePullRequest: "acme/api#7", URL: "https://example.test/i/P123", UpdatedAt: upd,
		}, {
			Source: "pd", ID: "P124", Service: "api", OpenedAt: at(9 * time.Hour), UpdatedAt: upd,
		}},
		WorkItems: []schema.WorkItem{{
			Source: "jira", ID: "PAY-1", Project: "PAY", IssueType: "Bug", Title: "Refund fails",
			Labels: []string{"toil"}, Assignee: "cy", Priority: "High", Status: "Done",
			StatusCategory: "Done", Resolution: "Done", Components: []string{"refunds", "api"},
			CreatedAt: at(-24 * time.Hour), ResolvedAt: at(10 * time.Hour),
			URL: "https://example.test/browse/PAY-1", UpdatedAt: upd,
		}, {
			Source: "jira", ID: "PAY-2", Project: "PAY", CreatedAt: at(-23 * time.Hour), UpdatedAt: upd,
		}},
		StatusChanges: []schema.StatusChange{{
			Source: "jira", ID: "PAY-1/100/0", ItemID: "PAY-1", At: at(-20 * time.Hour), From: "To Do",
			To: "In Progress", FromCategory: "To Do", ToCategory: "In Progress", Author: "cy", UpdatedAt: upd,
		}},
		Worklogs: []schema.Worklog{{
			Source: "jira", ID: "10001", ItemID: "PAY-1", Author: "cy", StartedAt: at(-19 * time.Hour),
			Seconds: 5400, UpdatedAt: upd,
		}},
		Ancestries: []schema.Ancestry{{
			Source: "gh", ID: schema.AncestryID("acme/api", "abc123", "def456"), Repo: "acme/api",
			Base: "abc123", Head: "def456", Contains: true, CheckedAt: at(6 * time.Hour), UpdatedAt: upd,
		}, {
			Source: "gh", ID: schema.AncestryID("acme/api", "fff000", "def456"), Repo: "acme/api",
			Base: "fff000", Head: "def456", CheckedAt: at(6 * time.Hour), UpdatedAt: upd,
		}},
		ChangeFacts: []schema.ChangeFact{{
			Source: "gh", ID: "acme/api#7", Team: "payments", Repo: "acme/api", Service: "api",
			State: schema.ChangeShipped, ShippedBy: "d-1", Attribution: schema.ByAncestry,
			FirstCommitAt: at(-3 * time.Hour), OpenedAt: at(0), ReadyAt: at(time.Hour), FirstReviewAt: at(2 * time.Hour),
			MergedAt: at(4 * time.Hour), ShippedAt: at(5*time.Hour + 10*time.Minute), LeadTimeSeconds: 29400,
			CodingSeconds: 14400, PickupSeconds: 3600, ReviewSeconds: 7200, DeploySeconds: 4200, Unplanned: true,
			Reverts: []string{"acme/api#5"}, UpdatedAt: upd,
		}, {
			Source: "gh", ID: "acme/api#9", Repo: "acme/api", State: schema.ChangeUndeployed, MergedAt: at(9 * time.Hour),
			LeadTimeSeconds: schema.Unknown, CodingSeconds: schema.Unknown, PickupSeconds: schema.Unknown,
			ReviewSeconds: schema.Unknown, DeploySeconds: schema.Unknown, UpdatedAt: upd,
		}},
		DeploymentFacts: []schema.DeploymentFact{{
			Source: "gh", ID: "d-1", Team: "payments", Repo: "acme/api", Service: "api", Environment: "production",
			Production: true, Status: "success", CommitSHA: "abc123", StartedAt: at(5 * time.Hour),
			FinishedAt: at(5*time.Hour + 10*time.Minute), Failed: true,
			FailureReasons: []string{schema.ReasonIncidentNamed, schema.ReasonRolledBack}, CausedIncidents: []string{"P123"},
			RecoveredAt: at(8 * time.Hour), RecoveredBy: "P123", RecoverySeconds: 10200, Hotfix: true, Unplanned: true,
			UnplannedReasons: []string{schema.UnplannedHotfix, schema.UnplannedRevert}, Revert: true, Changes: 1,
			Rollout: []string{"d-2"}, UpdatedAt: upd,
		}, {
			Source: "gh", ID: "d-2", Team: "payments", Repo: "acme/api", Service: "api", Environment: "production-eu",
			Production: true, Status: "success", CommitSHA: "abc123", StartedAt: at(5 * time.Hour),
			FinishedAt: at(5*time.Hour + 20*time.Minute), RecoverySeconds: schema.Unknown, RolloutOf: "d-1", UpdatedAt: upd,
		}},
		IncidentFacts: []schema.IncidentFact{{
			Source: "pd", ID: "P123", Team: "payments", Service: "api", Severity: "SEV2", OpenedAt: at(7 * time.Hour),
			ResolvedAt: at(8 * time.Hour), RestoreSeconds: 3600, Deployment: "d-1",
			LinkReason: schema.ReasonIncidentNamed, UpdatedAt: upd,
		}},
		FlowItemFacts: []schema.FlowItemFact{{
			Source: "jira", ID: "PAY-1", Team: "payments", Project: "PAY", IssueType: "Bug", FlowType: schema.FlowDefect,
			Title: "Refund fails", Status: "Done", State: schema.FlowDone, CreatedAt: at(-24 * time.Hour),
			CommittedAt: at(-20 * time.Hour), DoneAt: at(10 * time.Hour), FlowSeconds: 108000, ActiveSeconds: 72000,
			WaitSeconds: 36000, Reopens: 1, TimePerStatus: []string{"In Progress=72000", "Blocked=36000"},
			Unmapped: []string{"Blocked"}, Calendar: "payments", PullRequests: []string{"acme/api#7"},
			DeliveredAt: at(11 * time.Hour), DeliveredBy: "d-1", DeliverySeconds: 111600, UpdatedAt: upd,
		}, {
			Source: "jira", ID: "PAY-2", Project: "PAY", FlowType: schema.FlowFeature, Status: "To Do", State: schema.FlowNew,
			CreatedAt: at(-23 * time.Hour), FlowSeconds: schema.Unknown, ActiveSeconds: schema.Unknown,
			WaitSeconds: schema.Unknown, DeliverySeconds: schema.Unknown, UpdatedAt: upd,
		}},
		ToilFacts: []schema.ToilFact{{
			Source: "pd", ID: "incident:P123", Team: "payments", Category: "production_interrupts", Rule: "pages",
			Kind: schema.ToilFromIncident, Record: "P123", Who: "cy", Title: "Errors up", StartedAt: at(7*time.Hour + 5*time.Minute),
			Seconds: 3300, Basis: "acknowledged_to_resolved", UpdatedAt: upd,
		}},
	}
}

// normalised is what a store must give back for a batch: times in UTC and truncated
// to whole seconds (UpdatedAt keeps its precision), empty label lists as nil.
func normalised(b *schema.Batch) *schema.Batch {
	out := &schema.Batch{
		PullRequests:    normaliseAll(schema.PullRequests, b.PullRequests),
		Deployments:     normaliseAll(schema.Deployments, b.Deployments),
		Incidents:       normaliseAll(schema.Incidents, b.Incidents),
		WorkItems:       normaliseAll(schema.WorkItems, b.WorkItems),
		StatusChanges:   normaliseAll(schema.StatusChanges, b.StatusChanges),
		Worklogs:        normaliseAll(schema.Worklogs, b.Worklogs),
		Ancestries:      normaliseAll(schema.Ancestries, b.Ancestries),
		ChangeFacts:     normaliseAll(schema.ChangeFacts, b.ChangeFacts),
		DeploymentFacts: normaliseAll(schema.DeploymentFacts, b.DeploymentFacts),
		IncidentFacts:   normaliseAll(schema.IncidentFacts, b.IncidentFacts),
		FlowItemFacts:   normaliseAll(schema.FlowItemFacts, b.FlowItemFacts),
		ToilFacts:       normaliseAll(schema.ToilFacts, b.ToilFacts),
	}
	return out
}

func normaliseAll[R any](table *schema.Table[R], in []R) []R {
	out := make([]R, len(in))
	for i := range in {
		r := in[i]
		for _, c := range table.Columns {
			switch p := c.Field(&r).(type) {
			case *time.Time:
				if !p.IsZero() {
					*p = p.Truncate(time.Second).UTC()
				}
			case *[]string:
				if len(*p) == 0 {
					*p = nil
				} else {
					*p = append([]string(nil), (*p)...)
				}
			}
		}
		u := table.Updated(&r)
		*u = u.UTC()
		out[i] = r
	}
	return out
}

func collect[R any](t *testing.T, seq iter.Seq2[R, error]) []R {
	t.Helper()
	var out []R
	for r, err := range seq {
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, r)
	}
	return out
}

// described lists what a read returned as "<kind> <id>", kind by kind, for tests
// that compare which records a filter selected.
func described(b *schema.Batch) []string {
	var out []string
	add := func(kind, id string) { out = append(out, kind+" "+id) }
	for _, r := range b.PullRequests {
		add("pr", r.ID)
	}
	for _, r := range b.WorkItems {
		add("item", r.ID)
	}
	for _, r := range b.StatusChanges {
		add("change", r.ID)
	}
	for _, r := range b.Worklogs {
		add("worklog", r.ID)
	}
	for _, r := range b.ChangeFacts {
		add("change-fact", r.ID)
	}
	for _, r := range b.DeploymentFacts {
		add("deployment-fact", r.ID)
	}
	for _, r := range b.IncidentFacts {
		add("incident-fact", r.ID)
	}
	for _, r := range b.FlowItemFacts {
		add("flow", r.ID)
	}
	for _, r := range b.ToilFacts {
		add("toil", r.ID)
	}
	return out
}

// readAll reads every kind back with the filter.
func readAll(t *testing.T, s store.Store, f store.Filter) *schema.Batch {
	t.Helper()
	ctx := context.Background()
	return &schema.Batch{
		PullRequests:    collect(t, s.PullRequests(ctx, f)),
		Deployments:     collect(t, s.Deployments(ctx, f)),
		Incidents:       collect(t, s.Incidents(ctx, f)),
		WorkItems:       collect(t, s.WorkItems(ctx, f)),
		StatusChanges:   collect(t, s.StatusChanges(ctx, f)),
		Worklogs:        collect(t, s.Worklogs(ctx, f)),
		Ancestries:      collect(t, s.Ancestries(ctx, f)),
		ChangeFacts:     collect(t, s.ChangeFacts(ctx, f)),
		DeploymentFacts: collect(t, s.DeploymentFacts(ctx, f)),
		IncidentFacts:   collect(t, s.IncidentFacts(ctx, f)),
		FlowItemFacts:   collect(t, s.FlowItemFacts(ctx, f)),
		ToilFacts:       collect(t, s.ToilFacts(ctx, f)),
	}
}

func mustWrite(t *testing.T, s store.Store, b *schema.Batch) {
	t.Helper()
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func assertEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func testMigrateTwice(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after Migrate: %v", err)
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	in := fixture()
	mustWrite(t, s, in)
	got := readAll(t, s, store.Filter{})
	assertEqual(t, "records read back", got, normalised(in))
	for _, k := range append(append([]schema.Kind(nil), schema.Kinds...), schema.FactKinds...) {
		n, err := s.Count(context.Background(), k, store.Filter{})
		if err != nil {
			t.Fatalf("Count(%s): %v", k, err)
		}
		want := map[schema.Kind]int64{
			schema.KindPullRequest: 2, schema.KindDeployment: 2, schema.KindIncident: 2,
			schema.KindWorkItem: 2, schema.KindStatusChange: 1, schema.KindWorklog: 1, schema.KindAncestry: 2,
			schema.KindChangeFact: 2, schema.KindDeploymentFact: 2, schema.KindIncidentFact: 1,
			schema.KindFlowItemFact: 2, schema.KindToilFact: 1,
		}[k]
		if n != want {
			t.Errorf("Count(%s) = %d, want %d", k, n, want)
		}
	}
}

func testIdempotent(t *testing.T, s store.Store) {
	in := fixture()
	mustWrite(t, s, in)
	mustWrite(t, s, in)
	assertEqual(t, "records after writing the batch twice", readAll(t, s, store.Filter{}), normalised(in))
	n, err := s.Count(context.Background(), schema.KindPullRequest, store.Filter{})
	if err != nil || n != 2 {
		t.Fatalf("Count(pull_requests) after writing twice = %d, %v; want 2", n, err)
	}
}

func testLatestVersionWins(t *testing.T, s store.Store) {
	old := schema.PullRequest{Source: "gh", ID: "acme/api#1", Title: "first", CreatedAt: at(0), UpdatedAt: at(time.Hour)}
	newer := old
	newer.Title, newer.MergedAt, newer.UpdatedAt = "second", at(2*time.Hour), at(2*time.Hour)
	// Newer first, then the stale copy: the stale one must not win.
	mustWrite(t, s, &schema.Batch{PullRequests: []schema.PullRequest{newer}})
	mustWrite(t, s, &schema.Batch{PullRequests: []schema.PullRequest{old}})
	got := collect(t, s.PullRequests(context.Background(), store.Filter{}))
	if len(got) != 1 || got[0].Title != "second" || !got[0].MergedAt.Equal(at(2*time.Hour).Truncate(time.Second)) {
		t.Fatalf("after writing newer then older copy got %+v, want the newer copy only", got)
	}
	// A newer copy written later replaces.
	newest := newer
	newest.Title, newest.UpdatedAt = "third", at(3*time.Hour)
	mustWrite(t, s, &schema.Batch{PullRequests: []schema.PullRequest{newest}})
	got = collect(t, s.PullRequests(context.Background(), store.Filter{}))
	if len(got) != 1 || got[0].Title != "third" {
		t.Fatalf("after writing a newer copy got %+v, want title third", got)
	}
	// Versions keep sub-second precision: a copy 1ms newer still wins.
	later := newest
	later.Title, later.UpdatedAt = "fourth", newest.UpdatedAt.Add(time.Millisecond)
	mustWrite(t, s, &schema.Batch{PullRequests: []schema.PullRequest{later}})
	got = collect(t, s.PullRequests(context.Background(), store.Filter{}))
	if len(got) != 1 || got[0].Title != "fourth" || !got[0].UpdatedAt.Equal(later.UpdatedAt) {
		t.Fatalf("after writing a copy 1ms newer got %+v, want title fourth with UpdatedAt %v", got, later.UpdatedAt)
	}
}

// testEqualVersions writes copies of a record with the same version, one write
// each (a refresh run twice with the same clock writes its facts so): the last
// written is the record, whatever a read selects by, and an older copy is not.
func testEqualVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	copyOf := func(repo, title string, updated time.Duration) schema.PullRequest {
		return schema.PullRequest{Source: "gh", ID: "acme/pr#1", Repo: repo, Title: title, CreatedAt: at(0), UpdatedAt: at(updated)}
	}
	mustWrite(t, s, &schema.Batch{PullRequests: []schema.PullRequest{copyOf("acme/old", "oldest", time.Hour)}})
	for _, c := range []schema.PullRequest{copyOf("acme/a", "first", 2*time.Hour), copyOf("acme/b", "second", 2*time.Hour),
		copyOf("acme/a", "third", 2*time.Hour)} {
		mustWrite(t, s, &schema.Batch{PullRequests: []schema.PullRequest{c}})
	}
	// A record of its own around it, so a reader keeping copies per key meets keys
	// on either side.
	mustWrite(t, s, &schema.Batch{PullRequests: []schema.PullRequest{
		{Source: "gh", ID: "acme/pr#0", Repo: "acme/a", Title: "before", CreatedAt: at(0), UpdatedAt: at(2 * time.Hour)},
		{Source: "gh", ID: "acme/pr#2", Repo: "acme/a", Title: "after", CreatedAt: at(0), UpdatedAt: at(2 * time.Hour)},
	}})
	titles := func(f store.Filter) []string {
		var out []string
		for _, pr := range collect(t, s.PullRequests(ctx, f)) {
			out = append(out, pr.Title)
		}
		n, err := s.Count(ctx, schema.KindPullRequest, f)
		if err != nil || n != int64(len(out)) {
			t.Fatalf("Count(%+v) = %d, %v; the read returned %d", f, n, err, len(out))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"everything", store.Filter{}, []string{"before", "third", "after"}},
		{"updated since", store.Filter{UpdatedSince: at(90 * time.Minute)}, []string{"before", "third", "after"}},
		{"the last copy's repository", store.Filter{Repos: []string{"acme/a"}}, []string{"before", "third", "after"}},
		{"an earlier copy's repository", store.Filter{Repos: []string{"acme/b", "acme/old"}}, nil},
		{"an earlier copy's title", store.Filter{IDs: []string{"none"}, TitleWords: []string{"second"}}, nil},
		{"by id", store.Filter{IDs: []string{"acme/pr#1"}}, []string{"third"}},
	} {
		if got := titles(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: read %q, want %q", tc.name, got, tc.want)
		}
	}
}

// testCopiesAtAnotherTime writes copies of a worklog whose start was edited, into
// another month: a read selecting it by ticket or by update time returns it once,
// its latest copy, and one that selects by an older copy's ticket not at all.
func testCopiesAtAnotherTime(t *testing.T, s store.Store) {
	ctx := context.Background()
	w := func(item string, started, updated time.Duration) schema.Worklog {
		return schema.Worklog{Source: "jira", ID: "w1", ItemID: item, Author: "bo", StartedAt: at(started), Seconds: 60, UpdatedAt: at(updated)}
	}
	for _, c := range []schema.Worklog{w("OPS-1", 0, time.Hour), w("OPS-2", 40*24*time.Hour, 2*time.Hour), w("OPS-2", 2*time.Hour, 3*time.Hour)} {
		mustWrite(t, s, &schema.Batch{Worklogs: []schema.Worklog{c}})
	}
	for _, tc := range []struct {
		name string
		f    store.Filter
		want int
	}{
		{"the latest copy's ticket", store.Filter{Tickets: []string{"OPS-2"}}, 1},
		{"an older copy's ticket", store.Filter{Tickets: []string{"OPS-1"}}, 0},
		{"updated since", store.Filter{UpdatedSince: at(30 * time.Minute)}, 1},
		{"everything", store.Filter{}, 1},
	} {
		got := collect(t, s.Worklogs(ctx, tc.f))
		if len(got) != tc.want || tc.want == 1 && !got[0].StartedAt.Equal(at(2*time.Hour).Truncate(time.Second)) {
			t.Errorf("%s: read %+v, want %d record(s), the latest copy", tc.name, got, tc.want)
		}
		if n, err := s.Count(ctx, schema.KindWorklog, tc.f); err != nil || n != int64(len(got)) {
			t.Errorf("%s: Count = %d, %v; the read returned %d", tc.name, n, err, len(got))
		}
	}
}

func testFilters(t *testing.T, s store.Store) {
	var deps []schema.Deployment
	for i := range 6 {
		src := "gh"
		if i%2 == 1 {
			src = "hook"
		}
		deps = append(deps, schema.Deployment{
			Source: src, ID: fmt.Sprintf("d%d", i), Service: "api", Status: schema.DeploymentSuccess,
			StartedAt: at(time.Duration(i) * time.Hour), UpdatedAt: at(time.Duration(10+i) * time.Hour),
		})
	}
	mustWrite(t, s, &schema.Batch{Deployments: deps})
	ids := func(f store.Filter) []string {
		var out []string
		for _, d := range collect(t, s.Deployments(context.Background(), f)) {
			out = append(out, d.ID)
		}
		n, err := s.Count(context.Background(), schema.KindDeployment, f)
		if err != nil || n != int64(len(out)) {
			t.Fatalf("Count(%+v) = %d, %v; the read returned %d", f, n, err, len(out))
		}
		return out
	}
	// The window is half-open on whole seconds: d1 starts at base+1h, truncated.
	from := at(time.Hour).Truncate(time.Second)
	to := at(4 * time.Hour).Truncate(time.Second)
	assertEqual(t, "window [1h, 4h)", ids(store.Filter{From: from, To: to}), []string{"d1", "d2", "d3"})
	assertEqual(t, "source hook", ids(store.Filter{Source: "hook"}), []string{"d1", "d3", "d5"})
	assertEqual(t, "updated since 14h", ids(store.Filter{UpdatedSince: at(14 * time.Hour)}), []string{"d4", "d5"})
	assertEqual(t, "source and window", ids(store.Filter{Source: "gh", From: from}), []string{"d2", "d4"})
	assertEqual(t, "empty window", ids(store.Filter{From: to, To: to}), []string(nil))
	// Bounds with a fraction of a second compare with the stored whole seconds: d1 is
	// stored at 42s, before a From of 42.987s; d4 at 42s, before a To of 42.987s.
	assertEqual(t, "window with sub-second bounds", ids(store.Filter{From: at(time.Hour), To: at(4 * time.Hour)}),
		[]string{"d2", "d3", "d4"})
}

func testZeroUpdatedAt(t *testing.T, s store.Store) {
	unversioned := schema.Incident{Source: "pd", ID: "P1", Title: "no version", OpenedAt: at(0)}
	mustWrite(t, s, &schema.Batch{Incidents: []schema.Incident{unversioned}})
	got := collect(t, s.Incidents(context.Background(), store.Filter{}))
	if len(got) != 1 || !got[0].UpdatedAt.IsZero() || got[0].Title != "no version" {
		t.Fatalf("a record with no UpdatedAt read back as %+v, want it with a zero UpdatedAt", got)
	}
	versioned := unversioned
	versioned.Title, versioned.UpdatedAt = "versioned", at(0)
	mustWrite(t, s, &schema.Batch{Incidents: []schema.Incident{versioned}})
	got = collect(t, s.Incidents(context.Background(), store.Filter{}))
	if len(got) != 1 || got[0].Title != "versioned" {
		t.Fatalf("a versioned copy did not replace an unversioned one: %+v", got)
	}
}

func testOrder(t *testing.T, s store.Store) {
	items := []schema.WorkItem{
		{Source: "b", ID: "X-1", CreatedAt: at(time.Hour), UpdatedAt: at(0)},
		{Source: "a", ID: "X-9", CreatedAt: at(time.Hour), UpdatedAt: at(0)},
		{Source: "a", ID: "X-2", CreatedAt: at(time.Hour), UpdatedAt: at(0)},
		{Source: "a", ID: "X-3", CreatedAt: at(0), UpdatedAt: at(0)},
	}
	mustWrite(t, s, &schema.Batch{WorkItems: items})
	var got []string
	for _, w := range collect(t, s.WorkItems(context.Background(), store.Filter{})) {
		got = append(got, w.Source+"/"+w.ID)
	}
	assertEqual(t, "order", got, []string{"a/X-3", "a/X-2", "a/X-9", "b/X-1"})
}

func testCursors(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Cursor(ctx, "gh", "pulls:acme/api"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Cursor before any write = %v, want ErrNotFound", err)
	}
	c1 := schema.Cursor{Source: "gh", Stream: "pulls:acme/api", Value: "2026-03-01T00:00:00Z", UpdatedAt: at(0)}
	c2 := c1
	c2.Value, c2.UpdatedAt = "2026-03-02T00:00:00Z", at(time.Second)
	other := schema.Cursor{Source: "gh", Stream: "pulls:acme/web", Value: "w", UpdatedAt: at(0)}
	mustWrite(t, s, &schema.Batch{Cursors: []schema.Cursor{c1, other}})
	mustWrite(t, s, &schema.Batch{Cursors: []schema.Cursor{c2}})
	got, err := s.Cursor(ctx, "gh", "pulls:acme/api")
	if err != nil {
		t.Fatal(err)
	}
	want := c2
	want.UpdatedAt = want.UpdatedAt.UTC()
	assertEqual(t, "cursor after moving it", got, want)
	if got, err := s.Cursor(ctx, "gh", "pulls:acme/web"); err != nil || got.Value != "w" {
		t.Fatalf("other stream's cursor = %+v, %v; want value w", got, err)
	}
}

func testLargeBatch(t *testing.T, s store.Store) {
	const n = 25_000
	prs := make([]schema.PullRequest, n)
	for i := range prs {
		prs[i] = schema.PullRequest{
			Source: "gh", ID: fmt.Sprintf("acme/r%d#%d", i%12, i), Repo: fmt.Sprintf("acme/r%d", i%12),
			Number: int64(i), Labels: []string{"l"}, CreatedAt: at(time.Duration(i) * time.Minute),
			MergedAt: at(time.Duration(i)*time.Minute + time.Hour), UpdatedAt: at(0),
		}
	}
	mustWrite(t, s, &schema.Batch{PullRequests: prs})
	cnt, err := s.Count(context.Background(), schema.KindPullRequest, store.Filter{})
	if err != nil || cnt != n {
		t.Fatalf("Count after writing %d = %d, %v", n, cnt, err)
	}
	seen := 0
	for pr, err := range s.PullRequests(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if pr.Number != int64(seen) {
			t.Fatalf("record %d has number %d: order broken", seen, pr.Number)
		}
		seen++
	}
	if seen != n {
		t.Fatalf("read %d records, want %d", seen, n)
	}
}

func testBreak(t *testing.T, s store.Store) {
	mustWrite(t, s, fixture())
	for range s.PullRequests(context.Background(), store.Filter{}) {
		break
	}
	// The store must still answer after an abandoned read.
	if got := collect(t, s.Incidents(context.Background(), store.Filter{})); len(got) != 2 {
		t.Fatalf("read after an abandoned iteration returned %d incidents, want 2", len(got))
	}
}

func testCanceled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Write(ctx, fixture()); err == nil || errors.Is(err, store.ErrPermanent) {
		t.Errorf("Write with a canceled context = %v, want an error worth retrying", err)
	}
	var readErr error
	for _, err := range s.PullRequests(ctx, store.Filter{}) {
		readErr = err
		break
	}
	if readErr == nil {
		t.Error("read with a canceled context returned no error")
	}
}

func testListFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	pr := func(id, repo, sha, title string, updated time.Duration) schema.PullRequest {
		return schema.PullRequest{Source: "gh", ID: id, Repo: repo, MergeCommitSHA: sha, Title: title,
			CreatedAt: at(time.Hour), UpdatedAt: at(updated)}
	}
	// Older copies that the lists would select, replaced by newer ones they do not:
	// a read returns the latest copy of a record or nothing of it.
	mustWrite(t, s, &schema.Batch{PullRequests: []schema.PullRequest{
		pr("acme/a#1", "acme/a", "AAA111", "Fix SEARCH-7 retries", time.Hour),
		pr("acme/b#2", "acme/b", "bbb222", "Add export", time.Hour),
		pr("acme/c#3", "acme/c", "ccc333", "Revert \"Add export\"", time.Hour),
		pr("acme/z#4", "acme/a", "ddd444", "Fix SEARCH-7 again", time.Hour),
	}})
	mustWrite(t, s, &schema.Batch{PullRequests: []schema.PullRequest{
		pr("acme/z#4", "acme/z", "eee555", "Tidy up", 2*time.Hour),
	}})
	dep := func(id, repo, service, sha string) schema.Deployment {
		return schema.Deployment{Source: "ci", ID: id, Repo: repo, Service: service, CommitSHA: sha,
			Status: schema.DeploymentSuccess, StartedAt: at(2 * time.Hour), UpdatedAt: at(2 * time.Hour)}
	}
	mustWrite(t, s, &schema.Batch{
		Deployments: []schema.Deployment{dep("d1", "acme/a", "api", "AAA111"), dep("d2", "acme/b", "web", "bbb222"), dep("d3", "", "api", "fff666")},
		Incidents: []schema.Incident{
			{Source: "pd", ID: "SEARCH-7", Service: "web", Title: "Search down", OpenedAt: at(3 * time.Hour), UpdatedAt: at(3 * time.Hour)},
			{Source: "pd", ID: "API-1", Service: "api", Title: "API slow", OpenedAt: at(3 * time.Hour), UpdatedAt: at(3 * time.Hour)},
		},
		Ancestries: []schema.Ancestry{{Source: "gh", ID: "acme/b:x...y", Repo: "acme/b", Base: "x", Head: "y", CheckedAt: at(0), UpdatedAt: at(0)}},
		ChangeFacts: []schema.ChangeFact{
			{Source: "gh", ID: "acme/a#1", Repo: "acme/a", Service: "api", MergedAt: at(time.Hour), UpdatedAt: at(0)},
			{Source: "gh", ID: "acme/b#2", Repo: "acme/b", MergedAt: at(time.Hour), UpdatedAt: at(0)},
		},
		DeploymentFacts: []schema.DeploymentFact{{Source: "ci", ID: "d2", Repo: "acme/b", Service: "web", StartedAt: at(2 * time.Hour), UpdatedAt: at(0)}},
		IncidentFacts:   []schema.IncidentFact{{Source: "pd", ID: "API-1", Service: "api", OpenedAt: at(3 * time.Hour), UpdatedAt: at(0)}},
		WorkItems:       []schema.WorkItem{{Source: "jira", ID: "PAY-1", CreatedAt: at(0), UpdatedAt: at(0)}},
	})
	ids := func(f store.Filter) map[schema.Kind][]string {
		out := map[schema.Kind][]string{}
		b := readAll(t, s, f)
		add := func(kind schema.Kind, id string) { out[kind] = append(out[kind], id) }
		for _, r := range b.PullRequests {
			add(schema.KindPullRequest, r.ID)
		}
		for _, r := range b.Deployments {
			add(schema.KindDeployment, r.ID)
		}
		for _, r := range b.Incidents {
			add(schema.KindIncident, r.ID)
		}
		for _, r := range b.Ancestries {
			add(schema.KindAncestry, r.ID)
		}
		for _, r := range b.ChangeFacts {
			add(schema.KindChangeFact, r.ID)
		}
		for _, r := range b.DeploymentFacts {
			add(schema.KindDeploymentFact, r.ID)
		}
		for _, r := range b.IncidentFacts {
			add(schema.KindIncidentFact, r.ID)
		}
		for _, r := range b.WorkItems {
			add(schema.KindWorkItem, r.ID)
		}
		for kind, list := range out {
			if n, err := s.Count(ctx, kind, f); err != nil || n != int64(len(list)) {
				t.Fatalf("Count(%s, %+v) = %d, %v; the read returned %d", kind, f, n, err, len(list))
			}
		}
		return out
	}
	type kinds = map[schema.Kind][]string
	assertEqual(t, "repos acme/a and acme/b", ids(store.Filter{Repos: []string{"acme/a", "acme/b"}}), kinds{
		schema.KindPullRequest: {"acme/a#1", "acme/b#2"}, schema.KindDeployment: {"d1", "d2"},
		schema.KindAncestry: {"acme/b:x...y"}, schema.KindChangeFact: {"acme/a#1", "acme/b#2"}, schema.KindDeploymentFact: {"d2"},
	})
	assertEqual(t, "service api", ids(store.Filter{Services: []string{"api"}}), kinds{
		schema.KindDeployment: {"d1", "d3"}, schema.KindIncident: {"API-1"}, schema.KindChangeFact: {"acme/a#1"},
		schema.KindIncidentFact: {"API-1"},
	})
	assertEqual(t, "repo acme/c or service web", ids(store.Filter{Repos: []string{"acme/c"}, Services: []string{"web"}}), kinds{
		schema.KindPullRequest: {"acme/c#3"}, schema.KindDeployment: {"d2"}, schema.KindIncident: {"SEARCH-7"}, schema.KindDeploymentFact: {"d2"},
	})
	assertEqual(t, "the empty repository", ids(store.Filter{Repos: []string{""}}), kinds{schema.KindDeployment: {"d3"}})
	assertEqual(t, "named by id, commit (any case) or title", ids(store.Filter{
		IDs: []string{"acme/b#2", "d3"}, Commits: []string{"aaa111", "ddd444"}, TitleWords: []string{"SEARCH-7", "export\""},
	}), kinds{
		schema.KindPullRequest: {"acme/a#1", "acme/b#2", "acme/c#3"}, schema.KindDeployment: {"d1", "d3"},
		schema.KindChangeFact: {"acme/b#2"},
	})
	assertEqual(t, "repos and names together", ids(store.Filter{Repos: []string{"acme/a", "acme/c"}, TitleWords: []string{"Fix"}}),
		kinds{schema.KindPullRequest: {"acme/a#1"}})
	// Lists longer than SQLite takes placeholders (32,766) or ClickHouse takes query
	// text by default (256 KiB), as a refresh after a large backfill selects by.
	long := make([]string, 40_000)
	for i := range long {
		long[i] = fmt.Sprintf("acme/none#%d", i)
	}
	assertEqual(t, "a list of 40,001 ids", ids(store.Filter{IDs: append(long, "acme/b#2")}), kinds{
		schema.KindPullRequest: {"acme/b#2"}, schema.KindChangeFact: {"acme/b#2"},
	})
	mustWrite(t, s, &schema.Batch{
		PullRequests: []schema.PullRequest{{Source: "gh", ID: "acme/t#9", Repo: "acme/t", TicketRefs: []string{"OPS-1", "acme/t#1"},
			CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}},
		WorkItems: []schema.WorkItem{{Source: "jira", ID: "ops-1", CreatedAt: at(0), UpdatedAt: at(0)},
			{Source: "gh", ID: "acme/t#1", CreatedAt: at(0), UpdatedAt: at(0)}},
		StatusChanges: []schema.StatusChange{{Source: "jira", ID: "c1", ItemID: "OPS-1", At: at(0), UpdatedAt: at(0)},
			{Source: "jira", ID: "c2", ItemID: "PAY-1", At: at(0), UpdatedAt: at(0)}},
		Worklogs:      []schema.Worklog{{Source: "jira", ID: "w1", ItemID: "OPS-1", StartedAt: at(0), UpdatedAt: at(0)}},
		FlowItemFacts: []schema.FlowItemFact{{Source: "jira", ID: "OPS-1", CreatedAt: at(0), UpdatedAt: at(0)}},
	})
	tickets := func(f store.Filter) []string {
		b := readAll(t, s, f)
		if len(b.Deployments)+len(b.Incidents)+len(b.ChangeFacts) > 0 {
			t.Fatalf("tickets %v selected records of no ticket: %+v", f.Tickets, b)
		}
		return described(b)
	}
	assertEqual(t, "ticket OPS-1, any case", tickets(store.Filter{Tickets: []string{"Ops-1"}}),
		[]string{"pr acme/t#9", "item ops-1", "change c1", "worklog w1", "flow OPS-1"})
	assertEqual(t, "ticket acme/t#1", tickets(store.Filter{Tickets: []string{"ACME/T#1"}}), []string{"pr acme/t#9", "item acme/t#1"})
	assertEqual(t, "ticket PAY-1", tickets(store.Filter{Tickets: []string{"pay-1", "nope"}}), []string{"item PAY-1", "change c2"})
	assertEqual(t, "with source and updated since", ids(store.Filter{Source: "gh", UpdatedSince: at(90 * time.Minute), Repos: []string{"acme/z", "acme/a"}}),
		kinds{schema.KindPullRequest: {"acme/z#4"}})

	// Teams select facts, by the latest copy's team; toil entries are selected by
	// ticket through the record they come from.
	toilEntry := func(id, team, record string, updated time.Duration) schema.ToilFact {
		return schema.ToilFact{Source: "jira", ID: id, Team: team, Kind: schema.ToilFromTicket, Record: record, StartedAt: at(0), UpdatedAt: at(updated)}
	}
	mustWrite(t, s, &schema.Batch{
		ChangeFacts:     []schema.ChangeFact{{Source: "gh", ID: "acme/p#1", Repo: "acme/p", Team: "payments", MergedAt: at(0), UpdatedAt: at(0)}},
		DeploymentFacts: []schema.DeploymentFact{{Source: "ci", ID: "d9", Repo: "acme/p", Team: "payments", StartedAt: at(0), UpdatedAt: at(0)}},
		IncidentFacts:   []schema.IncidentFact{{Source: "pd", ID: "P-1", Team: "search", OpenedAt: at(0), UpdatedAt: at(0)}},
		FlowItemFacts:   []schema.FlowItemFact{{Source: "jira", ID: "PAY-9", Team: "payments", CreatedAt: at(0), UpdatedAt: at(0)}},
		ToilFacts: []schema.ToilFact{toilEntry("ticket:PAY-9", "payments", "PAY-9", 0), toilEntry("ticket:OPS-5", "ops", "OPS-5", 0),
			toilEntry("ticket:OPS-6", "payments", "OPS-6", 0)},
	})
	mustWrite(t, s, &schema.Batch{ToilFacts: []schema.ToilFact{toilEntry("ticket:OPS-6", "ops", "OPS-6", time.Hour)}})
	byTeam := func(f store.Filter) []string {
		b := readAll(t, s, f)
		if len(b.PullRequests)+len(b.Deployments)+len(b.Incidents)+len(b.Ancestries)+len(b.WorkItems)+len(b.StatusChanges)+len(b.Worklogs) > 0 {
			t.Fatalf("teams %v selected raw records: %+v", f.Teams, b)
		}
		for kind, n := range map[schema.Kind]int{schema.KindChangeFact: len(b.ChangeFacts), schema.KindToilFact: len(b.ToilFacts)} {
			if c, err := s.Count(ctx, kind, f); err != nil || c != int64(n) {
				t.Fatalf("Count(%s, %+v) = %d, %v; the read returned %d", kind, f, c, err, n)
			}
		}
		return described(b)
	}
	assertEqual(t, "team payments", byTeam(store.Filter{Teams: []string{"payments"}}),
		[]string{"change-fact acme/p#1", "deployment-fact d9", "flow PAY-9", "toil ticket:PAY-9"})
	assertEqual(t, "teams search and ops, the latest copy's", byTeam(store.Filter{Teams: []string{"search", "ops"}}),
		[]string{"incident-fact P-1", "toil ticket:OPS-5", "toil ticket:OPS-6"})
	assertEqual(t, "team payments and a ticket", byTeam(store.Filter{Teams: []string{"payments"}, Tickets: []string{"pay-9"}}),
		[]string{"flow PAY-9", "toil ticket:PAY-9"})
	got := collect(t, s.ToilFacts(ctx, store.Filter{Tickets: []string{"ops-5", "OPS-6"}}))
	if len(got) != 2 || got[0].Record != "OPS-5" || got[1].Record != "OPS-6" || got[1].Team != "ops" {
		t.Errorf("toil entries of tickets OPS-5 and OPS-6: %+v", got)
	}
}
