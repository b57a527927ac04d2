package refresh_test

import (
	"context"
	"iter"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/metrics/refresh"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// countingStore records, for each read of the records and facts derivation is
// made of, its filter and the repositories of what it returned, and the
// repositories of the facts written.
type countingStore struct {
	store.Store
	mu      sync.Mutex
	reads   []read
	written map[string]int // repository → DORA facts written
}

type read struct {
	kind   schema.Kind
	filter store.Filter
	repos  map[string]int
}

func counted[R any](c *countingStore, kind schema.Kind, f store.Filter, seq iter.Seq2[R, error], repo func(*R) string) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		r := read{kind: kind, filter: f, repos: map[string]int{}}
		defer func() {
			c.mu.Lock()
			c.reads = append(c.reads, r)
			c.mu.Unlock()
		}()
		for rec, err := range seq {
			if err == nil {
				r.repos[repo(&rec)]++
			}
			if !yield(rec, err) {
				return
			}
		}
	}
}

func (c *countingStore) PullRequests(ctx context.Context, f store.Filter) iter.Seq2[schema.PullRequest, error] {
	return counted(c, schema.KindPullRequest, f, c.Store.PullRequests(ctx, f), func(r *schema.PullRequest) string { return r.Repo })
}

func (c *countingStore) Deployments(ctx context.Context, f store.Filter) iter.Seq2[schema.Deployment, error] {
	return counted(c, schema.KindDeployment, f, c.Store.Deployments(ctx, f), func(r *schema.Deployment) string { return r.Repo })
}

func (c *countingStore) ChangeFacts(ctx context.Context, f store.Filter) iter.Seq2[schema.ChangeFact, error] {
	return counted(c, schema.KindChangeFact, f, c.Store.ChangeFacts(ctx, f), func(r *schema.ChangeFact) string { return r.Repo })
}

func (c *countingStore) DeploymentFacts(ctx context.Context, f store.Filter) iter.Seq2[schema.DeploymentFact, error] {
	return counted(c, schema.KindDeploymentFact, f, c.Store.DeploymentFacts(ctx, f), func(r *schema.DeploymentFact) string { return r.Repo })
}

func (c *countingStore) Write(ctx context.Context, b *schema.Batch) error {
	c.mu.Lock()
	for _, f := range b.ChangeFacts {
		c.written[f.Repo]++
	}
	for _, f := range b.DeploymentFacts {
		c.written[f.Repo]++
	}
	c.mu.Unlock()
	return c.Store.Write(ctx, b)
}

// After records are added to one repository, an incremental refresh reads the
// records and facts of that repository's partition only, writes facts of it only,
// and leaves the store as a full derivation would.
func TestIncrementalReadsOnlyTouchedPartitions(t *testing.T) {
	all, cfg := organisation(t)
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			if err := st.Write(ctx, all); err != nil {
				t.Fatal(err)
			}
			if _, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now}); err != nil {
				t.Fatal(err)
			}
			repos := map[string]bool{}
			for _, pr := range all.PullRequests {
				repos[pr.Repo] = true
			}
			// Three records of one repository: a pull request merged, a release of it,
			// and later, a revert in that repository of a pull request of another.
			var last, other schema.PullRequest
			var release schema.Deployment
			for _, pr := range all.PullRequests {
				if !pr.MergedAt.IsZero() && pr.Repo == all.PullRequests[0].Repo {
					last = pr
				}
			}
			for _, pr := range all.PullRequests {
				if !pr.MergedAt.IsZero() && pr.Repo != last.Repo && pr.MergeCommitSHA != "" {
					other = pr
					break
				}
			}
			for _, d := range all.Deployments {
				if d.Repo == last.Repo && d.Environment == "production" && d.Status == schema.DeploymentSuccess {
					release = d
				}
			}
			later := now.Add(time.Hour)
			fresh := last
			fresh.ID, fresh.Number, fresh.MergeCommitSHA = last.Repo+"#99999", 99999, "f00d"
			fresh.CreatedAt, fresh.MergedAt, fresh.UpdatedAt = later, later.Add(time.Minute), later.Add(time.Minute)
			ship := release
			ship.ID, ship.CommitSHA = "fresh-release", "f00d"
			ship.StartedAt, ship.FinishedAt, ship.UpdatedAt = later.Add(2*time.Minute), later.Add(5*time.Minute), later.Add(5*time.Minute)
			added := &schema.Batch{PullRequests: []schema.PullRequest{fresh}, Deployments: []schema.Deployment{ship}}
			if err := st.Write(ctx, added); err != nil {
				t.Fatal(err)
			}
			c := &countingStore{Store: st, written: map[string]int{}}
			sum, err := refresh.Run(ctx, c, cfg, refresh.Options{Now: later.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Full || sum.Derived != 1 || sum.Partitions != len(repos) || sum.ChangesWritten == 0 || sum.DeploymentsWritten == 0 {
				t.Fatalf("summary %+v: want one of %d partitions derived, facts written", sum, len(repos))
			}
			onlyOf(t, c, last.Repo)
			checkAsWhole(t, st, cfg, metrics.Input{PullRequests: append(slices.Clone(all.PullRequests), fresh),
				Deployments: append(slices.Clone(all.Deployments), ship), Incidents: all.Incidents})

			// A revert naming another repository's pull request by its merge commit
			// joins the two partitions: both are derived, and only they.
			revert := fresh
			revert.ID, revert.Number, revert.MergeCommitSHA = last.Repo+"#99998", 99998, "beef"
			revert.Title, revert.Reverts = "Undo the other change", []string{other.MergeCommitSHA}
			revert.CreatedAt, revert.MergedAt, revert.UpdatedAt = later.Add(time.Hour), later.Add(61*time.Minute), later.Add(61*time.Minute)
			if err := st.Write(ctx, &schema.Batch{PullRequests: []schema.PullRequest{revert}}); err != nil {
				t.Fatal(err)
			}
			c = &countingStore{Store: st, written: map[string]int{}}
			if sum, err = refresh.Run(ctx, c, cfg, refresh.Options{Now: later.Add(2 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if sum.Full || sum.Derived != 1 || sum.Partitions != len(repos)-1 {
				t.Fatalf("summary %+v: want the one joined partition of %d derived", sum, len(repos)-1)
			}
			onlyOf(t, c, last.Repo, other.Repo)
			checkAsWhole(t, st, cfg, metrics.Input{PullRequests: append(slices.Clone(all.PullRequests), fresh, revert),
				Deployments: append(slices.Clone(all.Deployments), ship), Incidents: all.Incidents})
		})
	}
}

// onlyOf checks that the refresh read the big tables only through filters, and got
// and wrote records of the repositories given only. Reads of the records updated
// since the last refresh, and flow's of the pull requests naming the tickets it
// derives again, may return others.
func onlyOf(t *testing.T, c *countingStore, repos ...string) {
	t.Helper()
	for _, r := range c.reads {
		if reflect.DeepEqual(r.filter, store.Filter{}) {
			t.Errorf("read every %s: %v", r.kind, r.repos)
		}
		if !r.filter.UpdatedSince.IsZero() || len(r.filter.Tickets) > 0 {
			continue
		}
		for repo, n := range r.repos {
			if !slices.Contains(repos, repo) {
				t.Errorf("read %d %s of %s with %+v", n, r.kind, repo, r.filter)
			}
		}
	}
	for repo, n := range c.written {
		if !slices.Contains(repos, repo) {
			t.Errorf("wrote %d facts of %s", n, repo)
		}
	}
}

// checkAsWhole compares the stored facts with a derivation of every record at once,
// and returns them.
func checkAsWhole(t *testing.T, st store.Store, cfg *config.Config, whole metrics.Input) metrics.Facts {
	t.Helper()
	want := metrics.Derive(whole, metrics.NewRules(cfg))
	got := storedFacts(t, st)
	for _, check := range []struct {
		name      string
		got, want any
	}{
		{"change facts", byKey(schema.ChangeFacts, got.Changes), byKey(schema.ChangeFacts, want.Changes)},
		{"deployment facts", byKey(schema.DeploymentFacts, got.Deployments), byKey(schema.DeploymentFacts, want.Deployments)},
		{"incident facts", byKey(schema.IncidentFacts, got.Incidents), byKey(schema.IncidentFacts, want.Incidents)},
	} {
		if !reflect.DeepEqual(check.got, check.want) {
			t.Errorf("stored %s differ from a derivation of every record", check.name)
		}
	}
	return got
}

// A changed rule, team or source derives every partition again; the same config
// does not.
func TestChangedConfigDerivesEverything(t *testing.T) {
	all, cfg := organisation(t)
	ctx := context.Background()
	st := stores()["sqlite"](t)
	if err := st.Write(ctx, all); err != nil {
		t.Fatal(err)
	}
	run := func(c *config.Config) refresh.Summary {
		t.Helper()
		sum, err := refresh.Run(ctx, st, c, refresh.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	if sum := run(cfg); !sum.Full || sum.Derived != sum.Partitions {
		t.Fatalf("first refresh %+v, want every partition", sum)
	}
	if sum := run(cfg); sum.Full {
		t.Fatalf("same config: %+v, want an incremental refresh", sum)
	}
	withSource := *cfg
	withSource.Sources = []config.Source{{Name: "gh2", Type: "github"}}
	if sum := run(&withSource); !sum.Full || sum.Derived != sum.Partitions {
		t.Fatalf("a new source: %+v, want every partition", sum)
	}
	withRule := withSource
	withRule.Rules.BotPatterns = append([]string{"release-bot"}, withRule.Rules.BotPatterns...)
	if sum := run(&withRule); !sum.Full {
		t.Fatalf("a new rule: %+v, want every partition", sum)
	}
	if sum := run(&withRule); sum.Full {
		t.Fatalf("same config again: %+v, want an incremental refresh", sum)
	}
}

// A repository collected for the first time brings records older than the mark: a
// refresh told what was written derives them; one not told cannot see them.
func TestWrittenOlderThanTheMarkIsDerived(t *testing.T) {
	all, cfg := organisation(t)
	ctx := context.Background()
	st := stores()["sqlite"](t)
	late := all.PullRequests[0].Repo
	early, backfill := &schema.Batch{Incidents: all.Incidents}, &schema.Batch{}
	for _, pr := range all.PullRequests {
		if pr.Repo == late {
			backfill.PullRequests = append(backfill.PullRequests, pr)
		} else {
			early.PullRequests = append(early.PullRequests, pr)
		}
	}
	for _, d := range all.Deployments {
		if d.Repo == late {
			backfill.Deployments = append(backfill.Deployments, d)
		} else {
			early.Deployments = append(early.Deployments, d)
		}
	}
	if err := st.Write(ctx, early); err != nil {
		t.Fatal(err)
	}
	if _, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, backfill); err != nil {
		t.Fatal(err)
	}
	changesOf := func() int {
		n := 0
		for _, c := range storedFacts(t, st).Changes {
			if c.Repo == late {
				n++
			}
		}
		return n
	}
	if _, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now}); err != nil {
		t.Fatal(err)
	}
	if n := changesOf(); n != 0 {
		t.Fatalf("%d change facts of %s from a refresh not told of its backfill; its records are older than the mark", n, late)
	}
	var written refresh.Written
	written.Add(backfill)
	sum, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now, Written: written})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Full || changesOf() == 0 {
		t.Fatalf("summary %+v, %d change facts of %s: want an incremental refresh deriving them", sum, changesOf(), late)
	}
	checkAsWhole(t, st, cfg, metrics.Input{PullRequests: all.PullRequests, Deployments: all.Deployments, Incidents: all.Incidents})
}
