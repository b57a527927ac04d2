package refresh_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/synthetic"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/metrics/refresh"
	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

func TestMain(m *testing.M) { clickhousetest.Main(m) }

var now = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

func stores() map[string]func(t *testing.T) store.Store {
	migrated := func(t *testing.T, s store.Store, err error) store.Store {
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	return map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"))
			return migrated(t, s, err)
		},
		"clickhouse": func(t *testing.T) store.Store {
			s, err := clickhouse.Open(context.Background(), clickhousetest.Open(t))
			return migrated(t, s, err)
		},
	}
}

// organisation generates a small organisation and its config.
func organisation(t *testing.T) (*schema.Batch, *config.Config) {
	o := synthetic.Options{Seed: 5, Now: now, Days: 60}
	all, err := synthetic.Delivery(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Teams: synthetic.NewOrg(o).ConfigTeams()}
	return all, cfg
}

// before keeps the records that happened before t, as a collection at t would see them.
func before(all *schema.Batch, t time.Time) *schema.Batch {
	b := &schema.Batch{}
	for _, pr := range all.PullRequests {
		if pr.UpdatedAt.Before(t) {
			b.PullRequests = append(b.PullRequests, pr)
		}
	}
	for _, d := range all.Deployments {
		if d.UpdatedAt.Before(t) {
			b.Deployments = append(b.Deployments, d)
		}
	}
	for _, i := range all.Incidents {
		if i.UpdatedAt.Before(t) {
			b.Incidents = append(b.Incidents, i)
		}
	}
	return b
}

func storedFacts(t *testing.T, st store.Store) metrics.Facts {
	t.Helper()
	var f metrics.Facts
	for c, err := range st.ChangeFacts(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		c.UpdatedAt = time.Time{}
		f.Changes = append(f.Changes, c)
	}
	for d, err := range st.DeploymentFacts(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		d.UpdatedAt = time.Time{}
		f.Deployments = append(f.Deployments, d)
	}
	for i, err := range st.IncidentFacts(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		i.UpdatedAt = time.Time{}
		f.Incidents = append(f.Incidents, i)
	}
	return f
}

func byKey[F any](table *schema.Table[F], facts []F) map[string]F {
	m := map[string]F{}
	for i := range facts {
		f := facts[i]
		*table.Updated(&f) = time.Time{}
		m[table.Key(&f)] = f
	}
	return m
}

func TestIncrementalEqualsFull(t *testing.T) {
	all, cfg := organisation(t)
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			// Collect and derive three times as history unfolds, then once more.
			for _, at := range []time.Time{now.Add(-40 * 24 * time.Hour), now.Add(-10 * 24 * time.Hour), now} {
				if err := st.Write(ctx, before(all, at)); err != nil {
					t.Fatal(err)
				}
				if _, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: at}); err != nil {
					t.Fatal(err)
				}
			}
			got := checkAsWhole(t, st, cfg, metrics.Input{PullRequests: all.PullRequests, Deployments: all.Deployments,
				Incidents: all.Incidents, Now: now})
			// The organisation exercises every rule through the store: each failure
			// reason, each change state.
			reasons, states := map[string]bool{}, map[schema.ChangeState]bool{}
			for _, d := range got.Deployments {
				for _, r := range d.FailureReasons {
					reasons[r] = true
				}
			}
			for _, c := range got.Changes {
				states[c.State] = true
			}
			for _, r := range []string{schema.ReasonIncidentNamed, schema.ReasonIncidentWindow, schema.ReasonRolledBack, schema.ReasonHotfixed} {
				if !reasons[r] {
					t.Errorf("no deployment failed for reason %q: the scenario lost a rule", r)
				}
			}
			for _, s := range []schema.ChangeState{schema.ChangeShipped, schema.ChangeUndeployed, schema.ChangeUntracked, schema.ChangeExcluded} {
				if !states[s] {
					t.Errorf("no change is %q", s)
				}
			}
			// Nothing new: nothing written, and only the partitions of the records
			// updated last (the mark includes its own instant) derived again.
			sum, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now.Add(time.Hour)})
			if err != nil || sum.Written() != 0 || sum.Full || sum.Derived >= sum.Partitions/2 {
				t.Fatalf("refresh with nothing new: %+v, %v; want nothing derived or written", sum, err)
			}
			// A config change rewrites exactly the facts it changes: one team renamed.
			renamed := *cfg
			renamed.Teams = append([]config.Team(nil), cfg.Teams...)
			renamed.Teams[0].Name = "payments-renamed"
			sum, err = refresh.Run(ctx, st, &renamed, refresh.Options{Now: now.Add(2 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			wantChanged := 0
			for _, f := range got.Changes {
				if f.Team == cfg.Teams[0].Name {
					wantChanged++
				}
			}
			if sum.ChangesWritten != wantChanged || wantChanged == 0 {
				t.Errorf("renaming a team rewrote %d change facts, want the team's %d", sum.ChangesWritten, wantChanged)
			}
		})
	}
}

// countingResolver answers from a fixed truth and counts the pairs it is asked.
type countingResolver struct {
	truth map[schema.CommitPair]bool
	asked int
}

func (r *countingResolver) ResolveAncestry(ctx context.Context, st collectors.AncestryStore, pairs []schema.CommitPair, at time.Time) (map[schema.CommitPair]bool, error) {
	out := map[schema.CommitPair]bool{}
	var fresh []schema.Ancestry
	for _, p := range pairs {
		r.asked++
		out[p] = r.truth[p]
		fresh = append(fresh, schema.Ancestry{Source: "gh", ID: schema.AncestryID(p.Repo, p.Base, p.Head), Repo: p.Repo,
			Base: p.Base, Head: p.Head, Contains: r.truth[p], CheckedAt: at, UpdatedAt: at})
	}
	return out, st.Write(ctx, &schema.Batch{Ancestries: fresh})
}

func TestAncestryIsAskedThenCached(t *testing.T) {
	st := stores()["sqlite"](t)
	ctx := context.Background()
	t0 := now.Add(-24 * time.Hour)
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	dep := func(id string, h float64, sha string) schema.Deployment {
		return schema.Deployment{Source: "gh", ID: id, Repo: "acme/pay", Service: "pay", Environment: "production",
			CommitSHA: sha, Status: schema.DeploymentSuccess, StartedAt: at(h), FinishedAt: at(h), UpdatedAt: at(h)}
	}
	// Merged at 1 h; a release-branch deployment at 2 h lacks it, main's at 5 h has it.
	if err := st.Write(ctx, &schema.Batch{
		PullRequests: []schema.PullRequest{{Source: "gh", ID: "acme/pay#1", Repo: "acme/pay", Author: "ana",
			CreatedAt: at(0), MergedAt: at(1), MergeCommitSHA: "m", UpdatedAt: at(1)}},
		Deployments: []schema.Deployment{dep("first", -5, "r0"), dep("release", 2, "rel"), dep("main", 5, "head")},
	}); err != nil {
		t.Fatal(err)
	}
	resolver := &countingResolver{truth: map[schema.CommitPair]bool{
		{Repo: "acme/pay", Base: "m", Head: "rel"}: false, {Repo: "acme/pay", Base: "m", Head: "head"}: true,
	}}
	cfg := &config.Config{Teams: []config.Team{{Name: "payments", Repositories: []string{"acme/pay"}}}}
	opts := refresh.Options{Now: now, Resolvers: map[string]collectors.AncestryResolver{"gh": resolver}}
	sum, err := refresh.Run(ctx, st, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Two questions of the walk (the release branch's, then main's) and one per
	// deployment that replaced another commit (went release back behind first? main
	// back behind release?).
	if resolver.asked != 4 || sum.AncestryAsked != 4 {
		t.Fatalf("asked %d pairs (summary %d), want 4", resolver.asked, sum.AncestryAsked)
	}
	facts := storedFacts(t, st)
	if c := facts.Changes[0]; c.ShippedBy != "main" || c.Attribution != schema.ByAncestry {
		t.Fatalf("change: shipped by %q (%s), want main by ancestry", c.ShippedBy, c.Attribution)
	}
	if _, err := refresh.Run(ctx, st, cfg, opts); err != nil {
		t.Fatal(err)
	}
	if resolver.asked != 4 {
		t.Fatalf("the second refresh asked again: %d pairs in all", resolver.asked)
	}
}

func TestAWalkIsDecidedWhole(t *testing.T) {
	// A pull request merged into a branch that is never deployed: none of the 40
	// production deployments after it contains it. The walk asks 1, 2, 4, 8, 16,
	// then the remaining 9 questions over six rounds, and the change is undeployed
	// after the first refresh and after the second alike.
	st := stores()["sqlite"](t)
	ctx := context.Background()
	t0 := now.Add(-100 * time.Hour)
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	b := &schema.Batch{PullRequests: []schema.PullRequest{{Source: "gh", ID: "acme/pay#1", Repo: "acme/pay", Author: "ana",
		CreatedAt: at(0), MergedAt: at(1), MergeCommitSHA: "side", UpdatedAt: at(1)}}}
	truth := map[schema.CommitPair]bool{}
	for i := range 41 {
		sha := fmt.Sprintf("c%02d", i)
		b.Deployments = append(b.Deployments, schema.Deployment{Source: "gh", ID: sha, Repo: "acme/pay", Service: "pay",
			Environment: "production", CommitSHA: sha, Status: schema.DeploymentSuccess,
			StartedAt: at(float64(2*i) - 1), FinishedAt: at(float64(2 * i)), UpdatedAt: at(float64(2 * i))})
		truth[schema.CommitPair{Repo: "acme/pay", Base: "side", Head: sha}] = false
		if i > 0 {
			truth[schema.CommitPair{Repo: "acme/pay", Base: sha, Head: fmt.Sprintf("c%02d", i-1)}] = false
		}
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	resolver := &countingResolver{truth: truth}
	cfg := &config.Config{Teams: []config.Team{{Name: "payments", Repositories: []string{"acme/pay"}}}}
	opts := refresh.Options{Now: now, Resolvers: map[string]collectors.AncestryResolver{"gh": resolver}}
	for run := 1; run <= 2; run++ {
		if _, err := refresh.Run(ctx, st, cfg, opts); err != nil {
			t.Fatal(err)
		}
		if c := storedFacts(t, st).Changes[0]; c.State != schema.ChangeUndeployed || c.ShippedBy != "" {
			t.Fatalf("refresh %d: %+v, want undeployed", run, c)
		}
	}
	// c01..c40 for the walk (c00 started before the merge) and 40 rollback
	// questions, each asked once ever.
	if resolver.asked != 80 {
		t.Errorf("asked %d questions, want 80", resolver.asked)
	}
}

// TestRevisedRulesOnBothStores runs the failure rules through a refresh on each
// store and checks the stored facts, worked by hand:
//
//	pay, production-eu: A at 0 h, B at 1 h; prod_us: A at 5 h, B at 6 h, A at 7 h.
//	  Rollouts: A-eu (with A-us), B-eu (with B-us), A-us2. B-us was rolled back by
//	  A-us2, so B-eu fails (rolled_back), recovered 7 h − 1 h = 21600 s later.
//	web, production: W0 at -10 h, the first; W1 at 0 h ships #1 "Add vault"
//	  (merged at -1 h); W2 at 2 h,
//	  W3 at 4 h; W4 at 6 h ships #2 `Revert "Add vault"`: W1 fails (reverted),
//	  recovered 6 h later (21600 s); W4 is a revert (rework).
//	An incident names #1 (caused_by the pull request): W1 incident_named too.
//	api, production: X0 at -10 h, X1 at 0 h, then H at 2 h, a hotfix ref: X1 fails
//	  (hotfixed), recovered 2 h later (7200 s). Incident P2 of "API (PagerDuty)",
//	  mapped to api by the config, opens at 2.5 h and is resolved at 3 h: it names
//	  nothing, so it falls to H, live since 2 h (incident_window, inferred),
//	  recovered 1 h later (3600 s). acme/api#1, merged at 1.95 h after H started
//	  (1.9 h), cannot have shipped with H: undeployed.
//	Counted production deployments: A-eu, B-eu, A-us2, W0..W4, X0, X1, H = 11;
//	failed: B-eu, W1, X1, H = 4, of which 1 (H) inferred only.
func TestRevisedRulesOnBothStores(t *testing.T) {
	t0 := now.Add(-48 * time.Hour)
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	dep := func(id, service, env string, h float64, sha string) schema.Deployment {
		return schema.Deployment{Source: "gh", ID: id, Repo: "acme/" + service, Service: service, Environment: env,
			CommitSHA: sha, Status: schema.DeploymentSuccess, StartedAt: at(h - 0.1), FinishedAt: at(h), UpdatedAt: at(h)}
	}
	pull := func(n int, title string, merged float64, sha string) schema.PullRequest {
		return schema.PullRequest{Source: "gh", ID: fmt.Sprintf("acme/web#%d", n), Repo: "acme/web", Number: int64(n),
			Author: "ana", Title: title, CreatedAt: at(merged - 2), MergedAt: at(merged), MergeCommitSHA: sha, UpdatedAt: at(merged)}
	}
	hotfix := dep("H", "api", "production", 2, "xh")
	hotfix.Ref = "hotfix/declines"
	late := pull(1, "Retry declines", 1.95, "")
	late.ID, late.Repo = "acme/api#1", "acme/api"
	b := &schema.Batch{
		Deployments: []schema.Deployment{
			dep("A-eu", "pay", "production-eu", 0, "a"), dep("B-eu", "pay", "production-eu", 1, "b"),
			dep("A-us", "pay", "prod_us", 5, "a"), dep("B-us", "pay", "prod_us", 6, "b"), dep("A-us2", "pay", "prod_us", 7, "a"),
			dep("W0", "web", "production", -10, "w0"), dep("W1", "web", "production", 0, "w1"), dep("W2", "web", "production", 2, "w2"),
			dep("W3", "web", "production", 4, "w3"), dep("W4", "web", "production", 6, "w4"),
			dep("X0", "api", "production", -10, "x0"), dep("X1", "api", "production", 0, "x1"), hotfix,
		},
		PullRequests: []schema.PullRequest{pull(1, "Add vault", -1, "w1"), pull(2, `Revert "Add vault"`, 5, "w4"), late},
		Incidents: []schema.Incident{{Source: "pd", ID: "P1", Service: "web", OpenedAt: at(3), ResolvedAt: at(3.5),
			CausePullRequest: "acme/web#1", UpdatedAt: at(3.5)},
			{Source: "pd", ID: "P2", Service: "API (PagerDuty)", OpenedAt: at(2.5), ResolvedAt: at(3), UpdatedAt: at(3)}},
	}
	cfg := &config.Config{Teams: []config.Team{{Name: "shop", Repositories: []string{"acme/*"},
		IncidentServiceMap: map[string]string{"API (PagerDuty)": "api"}}}}
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			if err := st.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			if _, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now}); err != nil {
				t.Fatal(err)
			}
			facts := storedFacts(t, st)
			deps := byKey(schema.DeploymentFacts, facts.Deployments)
			get := func(id string) schema.DeploymentFact { return deps["gh\x00"+id] }
			counted, failed, inferred := 0, 0, 0
			for _, d := range facts.Deployments {
				if d.Production && d.RolloutOf == "" {
					counted++
					if d.Failed {
						failed++
					}
					if reflect.DeepEqual(d.FailureReasons, []string{schema.ReasonIncidentWindow}) {
						inferred++
					}
				}
			}
			if counted != 11 || failed != 4 || inferred != 1 {
				t.Errorf("%d counted, %d failed, %d inferred; want 11, 4 and 1", counted, failed, inferred)
			}
			if d := get("X1"); !reflect.DeepEqual(d.FailureReasons, []string{schema.ReasonHotfixed}) || d.RecoverySeconds != 7200 {
				t.Errorf("X1: %+v", d)
			}
			if d := get("H"); !reflect.DeepEqual(d.FailureReasons, []string{schema.ReasonIncidentWindow}) ||
				d.RecoverySeconds != 3600 || !reflect.DeepEqual(d.UnplannedReasons, []string{schema.UnplannedHotfix}) {
				t.Errorf("H: %+v", d)
			}
			if d := get("B-eu"); !reflect.DeepEqual(d.FailureReasons, []string{schema.ReasonRolledBack}) ||
				d.RecoverySeconds != 21600 || d.RecoveredBy != "A-us2" || !reflect.DeepEqual(d.Rollout, []string{"B-us"}) {
				t.Errorf("B-eu: %+v", d)
			}
			if d := get("A-us"); d.RolloutOf != "A-eu" {
				t.Errorf("A-us counts as %q, want A-eu", d.RolloutOf)
			}
			// W1: named by the incident (resolved at 3.5 h) and reverted (at 6 h):
			// recovered at the earlier, 3.5 h after it finished.
			if d := get("W1"); !reflect.DeepEqual(d.FailureReasons, []string{schema.ReasonIncidentNamed, schema.ReasonReverted}) ||
				d.RecoverySeconds != 12600 || d.RecoveredBy != "P1" {
				t.Errorf("W1: %+v", d)
			}
			if d := get("W4"); !d.Revert || !reflect.DeepEqual(d.UnplannedReasons, []string{schema.UnplannedRevert}) {
				t.Errorf("W4: %+v", d)
			}
			for _, c := range facts.Changes {
				if c.ID == "acme/web#2" && !reflect.DeepEqual(c.Reverts, []string{"acme/web#1"}) {
					t.Errorf("the revert's change fact: %+v", c)
				}
				if c.ID == "acme/api#1" && c.State != schema.ChangeUndeployed {
					t.Errorf("merged after H started: %+v, want undeployed", c)
				}
			}
			incs := byKey(schema.IncidentFacts, facts.Incidents)
			if i := incs["pd\x00P1"]; i.Deployment != "W1" || i.LinkReason != schema.ReasonIncidentNamed {
				t.Errorf("P1: %+v", i)
			}
			if i := incs["pd\x00P2"]; i.Deployment != "H" || i.LinkReason != schema.ReasonIncidentWindow || i.Team != "shop" {
				t.Errorf("P2: %+v", i)
			}
		})
	}
}

// A toil entry that stops being derived (its ticket lost the toil label) is
// replaced by a retired copy, which no report counts; labelled again, it is back.
func TestToilEntriesRetire(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			cfg, err := config.Parse([]byte("teams:\n  - name: ops\n    ticket_projects: [OPS]\n"), "f.yaml")
			if err != nil {
				t.Fatal(err)
			}
			at := now.Add(-48 * time.Hour)
			item := schema.WorkItem{Source: "jira", ID: "OPS-1", Project: "OPS", Title: "Restart the queue", Labels: []string{"toil"},
				Status: "Done", StatusCategory: "Done", CreatedAt: at, ResolvedAt: at.Add(2 * time.Hour), UpdatedAt: at.Add(2 * time.Hour)}
			write := func(wi schema.WorkItem) {
				if err := st.Write(ctx, &schema.Batch{WorkItems: []schema.WorkItem{wi}, Worklogs: []schema.Worklog{{
					Source: "jira", ID: "9", ItemID: "OPS-1", Author: "bo", StartedAt: at, Seconds: 1800, UpdatedAt: at}}}); err != nil {
					t.Fatal(err)
				}
			}
			toilOf := func() []schema.ToilFact {
				facts, err := store.All(st.ToilFacts(ctx, store.Filter{}))
				if err != nil {
					t.Fatal(err)
				}
				return facts
			}
			write(item)
			if _, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now}); err != nil {
				t.Fatal(err)
			}
			if f := toilOf(); len(f) != 1 || f[0].Retired || f[0].Seconds != 1800 || f[0].Category != schema.ToilUnclassified {
				t.Fatalf("toil facts %+v, want OPS-1's 1800 s of worklog, unclassified", f)
			}
			item.Labels, item.UpdatedAt = nil, item.UpdatedAt.Add(time.Hour)
			write(item)
			sum, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if f := toilOf(); len(f) != 1 || !f[0].Retired || sum.ToilEntriesWritten != 1 {
				t.Fatalf("after the label went: toil facts %+v (%d written), want OPS-1 retired", f, sum.ToilEntriesWritten)
			}
			if rep := toil.Aggregate(toilOf(), []string{"ops"}, now.Add(-90*24*time.Hour), now, now); rep.Teams[0].Entries != 0 {
				t.Errorf("a retired entry counts: %+v", rep.Teams[0])
			}
			// Nothing new: the retired copy is not written again.
			if sum, err = refresh.Run(ctx, st, cfg, refresh.Options{Now: now.Add(2 * time.Hour)}); err != nil || sum.ToilEntriesWritten != 0 {
				t.Fatalf("refresh with nothing new wrote %d toil facts (%v)", sum.ToilEntriesWritten, err)
			}
			item.Labels, item.UpdatedAt = []string{"toil"}, item.UpdatedAt.Add(time.Hour)
			write(item)
			if _, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now.Add(3 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if f := toilOf(); len(f) != 1 || f[0].Retired {
				t.Fatalf("labelled again: toil facts %+v, want OPS-1 back", f)
			}
		})
	}
}

// A manual deployment's toil entry is retired by a refresh of its partition alone
// once the deployment is no longer toil, also when it moved to another team's
// service at the same time: the stored entry is found under the team it had.
func TestDeploymentToilEntriesRetire(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			cfg, err := config.Parse([]byte("teams:\n  - name: api\n    services: [api]\n  - name: web\n    services: [web]\n"), "f.yaml")
			if err != nil {
				t.Fatal(err)
			}
			at := now.Add(-48 * time.Hour)
			deployment := func(id, service string, trigger schema.Trigger, updated time.Duration) schema.Deployment {
				return schema.Deployment{Source: "ci", ID: id, Repo: "acme/" + service, Service: service, Environment: "production",
					CommitSHA: id + "sha", Status: schema.DeploymentSuccess, Trigger: trigger, Attempt: 1,
					StartedAt: at, FinishedAt: at.Add(10 * time.Minute), UpdatedAt: at.Add(updated)}
			}
			live := func() map[string]string {
				facts, err := store.All(st.ToilFacts(ctx, store.Filter{}))
				if err != nil {
					t.Fatal(err)
				}
				teams := map[string]string{}
				for _, f := range facts {
					if !f.Retired {
						teams[f.Record] = f.Team
					}
				}
				return teams
			}
			check := func(what string, want map[string]string) {
				t.Helper()
				if got := live(); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: live toil entries by team %v, want %v", what, got, want)
				}
			}
			step := 0
			refreshWith := func(deployments ...schema.Deployment) refresh.Summary {
				t.Helper()
				if err := st.Write(ctx, &schema.Batch{Deployments: deployments}); err != nil {
					t.Fatal(err)
				}
				step++
				sum, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now.Add(time.Duration(step) * time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				return sum
			}
			refreshWith(deployment("d1", "api", schema.TriggerManual, 0), deployment("d2", "api", schema.TriggerManual, 0),
				deployment("d3", "web", schema.TriggerManual, 0))
			check("after the first refresh", map[string]string{"d1": "api", "d2": "api", "d3": "web"})

			if sum := refreshWith(deployment("d1", "api", schema.TriggerAutomatic, time.Hour)); sum.Full || sum.ToilEntriesWritten != 1 {
				t.Errorf("d1 automated: full %v, %d toil entries written, want an incremental refresh retiring one", sum.Full, sum.ToilEntriesWritten)
			}
			check("after d1 was automated", map[string]string{"d2": "api", "d3": "web"})

			if sum := refreshWith(deployment("d2", "web", schema.TriggerAutomatic, 2*time.Hour)); sum.Full || sum.ToilEntriesWritten != 1 {
				t.Errorf("d2 moved and automated: full %v, %d toil entries written, want an incremental refresh retiring one", sum.Full, sum.ToilEntriesWritten)
			}
			check("after d2 moved to web and was automated", map[string]string{"d3": "web"})
		})
	}
}

// A flow mapping for a project no ticket belongs to (a misspelt key) is named in a
// warning; one for a project that has tickets is not.
func TestUnmatchedFlowProjectWarns(t *testing.T) {
	ctx := context.Background()
	st := stores()["sqlite"](t)
	cfg, err := config.Parse([]byte("flow:\n  projects:\n    PAY: {statuses: {Done: done}}\n    PYA: {statuses: {Done: done}}\n"), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	at := now.Add(-time.Hour)
	if err := st.Write(ctx, &schema.Batch{WorkItems: []schema.WorkItem{{Source: "jira", ID: "PAY-1", Project: "PAY", CreatedAt: at, UpdatedAt: at}}}); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	if _, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now, Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "project=PYA") || strings.Contains(logs.String(), "project=PAY") {
		t.Errorf("logs %q: want a warning naming PYA only", logs.String())
	}
}

// Switching "privacy: teams-only" on rewrites, at the next refresh, exactly the
// toil facts that name a person, so that the stored facts (which dashboards read)
// name their team instead; switching it off puts the names back.
func TestPrivacySwitchRewritesToil(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			at := now.Add(-48 * time.Hour)
			// Two toil tickets of ops, logged by bo and by cy, and a resolved incident,
			// whose toil entry names no one: three entries, two naming a person.
			ticket := func(id string) schema.WorkItem {
				return schema.WorkItem{Source: "jira", ID: id, Project: "OPS", Labels: []string{"toil"}, Status: "Done",
					StatusCategory: "Done", CreatedAt: at, ResolvedAt: at.Add(time.Hour), UpdatedAt: at.Add(time.Hour)}
			}
			worklog := func(id, item, author string) schema.Worklog {
				return schema.Worklog{Source: "jira", ID: id, ItemID: item, Author: author, StartedAt: at, Seconds: 600, UpdatedAt: at}
			}
			if err := st.Write(ctx, &schema.Batch{
				WorkItems: []schema.WorkItem{ticket("OPS-1"), ticket("OPS-2")},
				Worklogs:  []schema.Worklog{worklog("1", "OPS-1", "bo"), worklog("2", "OPS-2", "cy")},
				Incidents: []schema.Incident{{Source: "pd", ID: "P1", Service: "queue", OpenedAt: at, ResolvedAt: at.Add(time.Hour), UpdatedAt: at}},
			}); err != nil {
				t.Fatal(err)
			}
			named, err := config.Parse([]byte("teams:\n  - name: ops\n    ticket_projects: [OPS]\n    services: [queue]\n"), "f.yaml")
			if err != nil {
				t.Fatal(err)
			}
			private := *named
			private.Privacy = config.PrivacyTeamsOnly
			whoByRecord := func() map[string]string {
				facts, err := store.All(st.ToilFacts(ctx, store.Filter{}))
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]string{}
				for _, f := range facts {
					out[f.Record] = f.Who
				}
				return out
			}
			for i, step := range []struct {
				name    string
				cfg     *config.Config
				written int
				who     map[string]string
			}{
				{"first refresh", named, 3 + 2 + 1, map[string]string{"OPS-1": "bo", "OPS-2": "cy", "P1": ""}}, // 3 toil, 2 flow, 1 incident fact
				{"teams-only", &private, 2, map[string]string{"OPS-1": "ops", "OPS-2": "ops", "P1": ""}},
				{"teams-only again", &private, 0, map[string]string{"OPS-1": "ops", "OPS-2": "ops", "P1": ""}},
				{"names again", named, 2, map[string]string{"OPS-1": "bo", "OPS-2": "cy", "P1": ""}},
			} {
				sum, err := refresh.Run(ctx, st, step.cfg, refresh.Options{Now: now.Add(time.Duration(i) * time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				if sum.Written() != step.written || (i > 0 && sum.ToilEntriesWritten != step.written) {
					t.Errorf("%s: wrote %d facts (%d toil), want %d", step.name, sum.Written(), sum.ToilEntriesWritten, step.written)
				}
				if got := whoByRecord(); !reflect.DeepEqual(got, step.who) {
					t.Errorf("%s: stored toil facts name %v, want %v", step.name, got, step.who)
				}
				// The facts handed on to the exporter are the stored ones.
				stored, err := refresh.StoredFacts(ctx, st)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range stored.Toil {
					if f.Who != step.who[f.Record] {
						t.Errorf("%s: summary's %s names %q, want %q", step.name, f.Record, f.Who, step.who[f.Record])
					}
				}
			}
		})
	}
}
