package partition_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/synthetic"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/metrics/partition"
	"github.com/flowmeter/flowmeter/schema"
)

var now = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

// sameAsWhole derives each part alone and checks that together they give the
// facts of deriving everything at once, fact for fact.
func sameAsWhole(t *testing.T, in metrics.Input, rules *metrics.Rules) []metrics.Input {
	t.Helper()
	parts := partition.Split(in, rules)
	var got metrics.Facts
	for _, p := range parts {
		f := metrics.Derive(p, rules)
		got.Changes = append(got.Changes, f.Changes...)
		got.Deployments = append(got.Deployments, f.Deployments...)
		got.Incidents = append(got.Incidents, f.Incidents...)
	}
	want := metrics.Derive(in, rules)
	compare(t, "change", got.Changes, want.Changes, func(f schema.ChangeFact) string { return f.Source + "/" + f.ID })
	compare(t, "deployment", got.Deployments, want.Deployments, func(f schema.DeploymentFact) string { return f.Source + "/" + f.ID })
	compare(t, "incident", got.Incidents, want.Incidents, func(f schema.IncidentFact) string { return f.Source + "/" + f.ID })
	return parts
}

func compare[F any](t *testing.T, kind string, got, want []F, key func(F) string) {
	t.Helper()
	by := func(a, b F) int { return cmp.Compare(key(a), key(b)) }
	slices.SortStableFunc(got, by)
	slices.SortStableFunc(want, by)
	if len(got) != len(want) {
		t.Fatalf("%d %s facts from the parts, %d from the whole", len(got), kind, len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s fact %s differs:\nparts %+v\nwhole %+v", kind, key(want[i]), got[i], want[i])
		}
	}
}

func syntheticOrg(t *testing.T, o synthetic.Options) (metrics.Input, *config.Config) {
	t.Helper()
	all, err := synthetic.Delivery(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	in := metrics.Input{Now: o.Now, Ancestry: map[schema.CommitPair]bool{},
		PullRequests: all.PullRequests, Deployments: all.Deployments, Incidents: all.Incidents}
	cfg := &config.Config{Teams: synthetic.NewOrg(o).ConfigTeams()}
	return in, cfg
}

// crossLink adds, at random, every kind of link between repositories and services
// that derivation follows, each a few times: the generator makes none.
func crossLink(in *metrics.Input, cfg *config.Config, r *rand.Rand, n int) {
	prs, deps, incs := in.PullRequests, in.Deployments, in.Incidents
	pickPR := func() *schema.PullRequest {
		for {
			if pr := &prs[r.IntN(len(prs))]; !pr.MergedAt.IsZero() {
				return pr
			}
		}
	}
	pickProd := func() *schema.Deployment {
		for {
			if d := &deps[r.IntN(len(deps))]; d.Environment == "production" && d.Status == schema.DeploymentSuccess {
				return d
			}
		}
	}
	for range n {
		// A revert naming a pull request of another repository, by id or merge commit.
		revert, reverted := pickPR(), pickPR()
		if r.IntN(2) == 0 {
			revert.Reverts = append(revert.Reverts, reverted.ID)
		} else {
			revert.Reverts = append(revert.Reverts, reverted.MergeCommitSHA)
		}
		// Incidents naming a deployment, a commit or a pull request elsewhere.
		inc := &incs[r.IntN(len(incs))]
		switch r.IntN(5) {
		case 4: // a commit no pull request merged: only its deployment answers to it
			d := pickProd()
			d.CommitSHA = fmt.Sprintf("%040x", r.Uint64())
			inc.CauseCommitSHA = d.CommitSHA
		case 0:
			inc.CauseDeploymentID = pickProd().ID
		case 1:
			inc.CauseCommitSHA = pickProd().CommitSHA
		case 2:
			inc.CauseCommitSHA = pickPR().MergeCommitSHA
		default:
			inc.CausePullRequest = pickPR().ID
		}
		// A title naming another service's incident makes its pull request unplanned.
		pr := pickPR()
		pr.Title += " (" + incs[r.IntN(len(incs))].ID + ")"
		// One service deployed from two repositories.
		d, other := pickProd(), pickProd()
		d.Service = other.Service
		// A deployment of another repository's commit.
		pickProd().CommitSHA = pickProd().CommitSHA
	}
	// An incident-tool service that the config maps to another team's service.
	svc := deps[r.IntN(len(deps))].Service
	cfg.Teams[0].IncidentServiceMap = map[string]string{"pager-" + svc: svc}
	for range n {
		incs[r.IntN(len(incs))].Service = "pager-" + svc
	}
}

func TestSplitDerivesAsWhole(t *testing.T) {
	for _, size := range []struct{ teams, days int }{{2, 14}, {4, 60}, {8, 120}} {
		for _, seed := range []int64{1, 2, 3} {
			t.Run(fmt.Sprintf("teams%d-days%d-seed%d", size.teams, size.days, seed), func(t *testing.T) {
				in, cfg := syntheticOrg(t, synthetic.Options{Seed: seed, Now: now, Days: size.days, Teams: size.teams})
				repos := map[string]bool{}
				for _, pr := range in.PullRequests {
					repos[pr.Repo] = true
				}
				// As generated, every repository derives alone.
				if parts := sameAsWhole(t, in, metrics.NewRules(cfg)); len(parts) != len(repos) {
					t.Fatalf("%d parts for %d unlinked repositories", len(parts), len(repos))
				}
				crossLink(&in, cfg, rand.New(rand.NewPCG(uint64(seed), 7)), size.teams)
				parts := sameAsWhole(t, in, metrics.NewRules(cfg))
				t.Logf("%d repositories in %d parts after cross links", len(repos), len(parts))
			})
		}
	}
}

// An index fed in another order (pull requests before the incident their titles
// name, as an incremental refresh may) asks for the titles it could not match,
// and joins the groups it knew before.
func TestIndexPendingAndJoin(t *testing.T) {
	rules := metrics.NewRules(&config.Config{})
	ix := partition.NewIndex(rules)
	ix.Join([]partition.Group{{Repos: []string{"acme/a", "acme/b"}, Services: []string{"A"}}})
	title := &schema.PullRequest{ID: "acme/c#1", Repo: "acme/c", Title: "Fix SEARCH-0007 retry"}
	ix.AddPullRequest(title)
	ix.AddPullRequest(&schema.PullRequest{ID: "acme/d#1", Repo: "acme/d", Reverts: []string{"acme/e#4", "ABC123"}})
	ix.AddIncident(&schema.Incident{ID: "SEARCH-0007", Service: "search"})
	ix.AddDeployment(&schema.Deployment{ID: "d1", Repo: "acme/s", Service: "Search"})
	names := ix.TakePending()
	want := partition.Names{IDs: []string{"acme/e#4"}, Commits: []string{"abc123"}, TitleWords: []string{"SEARCH-0007"}}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("pending %+v, want %+v", names, want)
	}
	if !names.Select("x", "", title.Title) || !names.Select("acme/e#4", "", "") || !names.Select("y", "ABC123", "") || names.Select("y", "abc", "z") {
		t.Fatal("names select the wrong records")
	}
	ix.AddPullRequest(title)
	ix.AddPullRequest(&schema.PullRequest{ID: "acme/e#4", Repo: "acme/e"})
	if p := ix.TakePending(); !p.Empty() {
		t.Fatalf("still pending: %+v", p)
	}
	got := ix.Groups()
	wantGroups := []partition.Group{
		{Repos: []string{"acme/a", "acme/b"}, Services: []string{"A"}},
		{Repos: []string{"acme/c", "acme/s"}, Services: []string{"Search", "search"}, Records: 3},
		{Repos: []string{"acme/d", "acme/e"}, Records: 2},
	}
	if !reflect.DeepEqual(got, wantGroups) {
		t.Fatalf("groups\n%+v\nwant\n%+v", got, wantGroups)
	}
}
