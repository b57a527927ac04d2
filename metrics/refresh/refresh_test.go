package refresh_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/synthetic"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/metrics/refresh"
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
	all := &schema.Batch{}
	if _, err := synthetic.Generate(context.Background(), o, func(b *schema.Batch) error {
		all.PullRequests = append(all.PullRequests, b.PullRequests...)
		all.Deployments = append(all.Deployments, b.Deployments...)
		all.Incidents = append(all.Incidents, b.Incidents...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	for _, team := range synthetic.NewOrg(o).Teams {
		cfg.Teams = append(cfg.Teams, config.Team{Name: team.Name, Repositories: team.Repositories, Services: team.Services})
	}
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
				if _, err := refresh.Run(ctx, st, metrics.NewRules(cfg), refresh.Options{Now: at}); err != nil {
					t.Fatal(err)
				}
			}
			full := metrics.Derive(metrics.Input{PullRequests: all.PullRequests, Deployments: all.Deployments,
				Incidents: all.Incidents, Now: now}, metrics.NewRules(cfg))
			got := storedFacts(t, st)
			for _, check := range []struct {
				name      string
				got, want any
			}{
				{"change facts", byKey(schema.ChangeFacts, got.Changes), byKey(schema.ChangeFacts, full.Changes)},
				{"deployment facts", byKey(schema.DeploymentFacts, got.Deployments), byKey(schema.DeploymentFacts, full.Deployments)},
				{"incident facts", byKey(schema.IncidentFacts, got.Incidents), byKey(schema.IncidentFacts, full.Incidents)},
			} {
				if !reflect.DeepEqual(check.got, check.want) {
					t.Errorf("%s after incremental refreshes differ from a full derivation", check.name)
				}
			}
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
			// Nothing new: nothing written.
			sum, err := refresh.Run(ctx, st, metrics.NewRules(cfg), refresh.Options{Now: now.Add(time.Hour)})
			if err != nil || sum.Written() != 0 || sum.Changes == 0 {
				t.Fatalf("refresh with nothing new: %+v, %v; want nothing written", sum, err)
			}
			// A config change rewrites exactly the facts it changes: one team renamed.
			renamed := *cfg
			renamed.Teams = append([]config.Team(nil), cfg.Teams...)
			renamed.Teams[0].Name = "payments-renamed"
			sum, err = refresh.Run(ctx, st, metrics.NewRules(&renamed), refresh.Options{Now: now.Add(2 * time.Hour)})
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
	sum, err := refresh.Run(ctx, st, metrics.NewRules(cfg), opts)
	if err != nil {
		t.Fatal(err)
	}
	if resolver.asked != 2 || sum.AncestryAsked != 2 {
		t.Fatalf("asked %d pairs (summary %d), want 2: the release branch's, then main's", resolver.asked, sum.AncestryAsked)
	}
	facts := storedFacts(t, st)
	if c := facts.Changes[0]; c.ShippedBy != "main" || c.Attribution != schema.ByAncestry {
		t.Fatalf("change: shipped by %q (%s), want main by ancestry", c.ShippedBy, c.Attribution)
	}
	if _, err := refresh.Run(ctx, st, metrics.NewRules(cfg), opts); err != nil {
		t.Fatal(err)
	}
	if resolver.asked != 2 {
		t.Fatalf("the second refresh asked again: %d pairs in all", resolver.asked)
	}
}
