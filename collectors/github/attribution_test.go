package github

import (
	"cmp"
	"context"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/metrics/refresh"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// pairsOnly hides a source's range comparisons, leaving ship attribution to each
// pull request's walk as it was before ranges.
type pairsOnly struct{ collectors.AncestryResolver }

// derived collects the fake organisation into a new store and refreshes the facts;
// the server's counts are then the refresh's, and budget says what collecting took
// of the rate limits: its REST requests and its GraphQL queries' points.
func derived(t testing.TB, f *fixture, resolver collectors.AncestryResolver) (facts metrics.Facts, st store.Store, budget int) {
	t.Helper()
	st = collectortest.SQLite(t)
	f.srv.ResetCounts()
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	budget = f.srv.Total() - f.srv.Count("graphql") + f.srv.GraphQLPoints()
	f.srv.ResetCounts()
	return refreshed(t, f, st, resolver), st, budget
}

// refreshed refreshes the facts of st with the resolver and reads them back.
func refreshed(t testing.TB, f *fixture, st store.Store, resolver collectors.AncestryResolver) metrics.Facts {
	t.Helper()
	cfg, err := config.Parse([]byte("teams: [{name: acme, repositories: ['acme/*']}]\n"), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = refresh.Run(context.Background(), st, cfg, refresh.Options{
		Now: f.clock.Now(), Resolvers: map[string]collectors.AncestryResolver{"gh": resolver}, AllPartitions: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := refresh.StoredFacts(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return stored.DORA
}

// divergeAndRollBack adds, after a repository's generated history: a hotfix branch
// cut from an older main commit with a commit of its own, deployed (it diverged
// from what production ran); main deployed again (diverged back); main's older
// commit deployed (a rollback, found by comparing); main again; an orphan branch
// (no history in common: GitHub answers 404 "No common ancestor"); and main force-
// pushed back to the older commit with a new commit on top.
func divergeAndRollBack(repo *githubtest.Repo, older string, at time.Time) {
	deploy := func(sha string, h int) {
		start := at.Add(time.Duration(h) * time.Hour)
		repo.AddDeployment(githubtest.Deployment{SHA: sha, Environment: "production", CreatedAt: start,
			Statuses: []githubtest.DeploymentStatus{{State: "success", At: start.Add(10 * time.Minute)}}})
	}
	main := repo.Head("main")
	repo.Branch("hotfix", older)
	fix := repo.Commit("hotfix", "ana", at)
	deploy(fix, 1)
	deploy(main, 2)
	deploy(older, 3)
	deploy(main, 4)
	deploy(repo.Orphan("pages", "bo", at.Add(5*time.Hour)), 5)
	repo.Branch("main", older)
	deploy(repo.Commit("main", "ana", at.Add(6*time.Hour)), 6)
}

// checkAttributionCosts refreshes the facts of an organisation TestRequestCosts
// collected and checks what ship attribution asked: one compare per production
// deployment that replaced another commit, each on one page (a range holds about
// five merges' commits, far under 100), and walks only where no range can decide:
// pull requests merged after the commit of their repository's last deployment but
// before it started, which are asked of that deployment, one compare a repository
// (its oldest pull request's compare lists the others). Pull requests merged
// before a repository's first deployment are untracked and ask nothing.
func checkAttributionCosts(t *testing.T, f *fixture, st store.Store) (compares int) {
	t.Helper()
	f.srv.ResetCounts()
	facts := refreshed(t, f, st, f.source)
	ranges, lastHead := 0, map[string]string{}
	for repo, list := range productionByRepo(t, st) {
		for i := 1; i < len(list); i++ {
			if list[i].CommitSHA != list[i-1].CommitSHA {
				ranges++
			}
		}
		lastHead[repo] = list[len(list)-1].CommitSHA
	}
	rangeCompares, walksOf := 0, map[string]int{}
	for _, r := range f.srv.Requests() {
		if r.Kind != "compare" {
			continue
		}
		q, _ := url.ParseQuery(r.RawQuery)
		switch q.Get("page") {
		case "1":
			rangeCompares++
		case "":
			repo, spec, _ := strings.Cut(strings.TrimPrefix(r.Path, "/api/v3/repos/"), "/compare/")
			if _, head, _ := strings.Cut(spec, "..."); head != lastHead[repo] {
				t.Errorf("a walk asked %s of %s, not of its last deployment %s", spec, repo, short(lastHead[repo]))
			}
			walksOf[repo]++
		default:
			t.Errorf("a range needed a second page: %s?%s", r.Path, r.RawQuery)
		}
	}
	if rangeCompares != ranges {
		t.Errorf("%d compares of ranges, want %d (one per deployment that replaced another commit)", rangeCompares, ranges)
	}
	for repo, n := range walksOf {
		if n > 1 {
			t.Errorf("%s: %d compares of walks, want at most 1", repo, n)
		}
	}
	for _, c := range facts.Changes {
		if c.Attribution == schema.ByTime {
			t.Errorf("%s attributed by time: every question here has an answer", c.ID)
		}
	}
	compares = f.srv.Count("compare")
	// A second refresh asks nothing: every answer is stored.
	f.srv.ResetCounts()
	refreshed(t, f, st, f.source)
	if n := f.srv.Count("compare"); n != 0 {
		t.Errorf("a second refresh made %d compares, want 0", n)
	}
	return compares
}

// TestRangesGiveTheSameFactsAsWalks derives one history twice, with ranges and with
// each pull request's walk alone, and wants the same facts: ranges change what is
// asked, never the answer. The history has diverged, unrelated, force-pushed and
// rolled-back deployments, where ranges cannot decide and walks take over.
func TestRangesGiveTheSameFactsAsWalks(t *testing.T) {
	f := newFixture(t)
	generated := f.srv.GenerateOrg(githubtest.OrgSpec{Repos: 3, PullRequests: 120, Start: now.Add(-60 * 24 * time.Hour), Every: 2 * time.Hour, Seed: 11})
	for _, repo := range generated {
		divergeAndRollBack(repo, repo.PullRequest(100).MergeCommitSHA, now.Add(-20*24*time.Hour))
	}
	f.connect(t, nil)
	byRange, _, _ := derived(t, f, f.source)
	rangeCompares := f.srv.Count("compare")
	byWalk, _, _ := derived(t, f, pairsOnly{f.source})
	walkCompares := f.srv.Count("compare")
	t.Logf("compares: %d with ranges, %d with walks alone", rangeCompares, walkCompares)
	if rangeCompares >= walkCompares {
		t.Errorf("ranges made %d compares, walks alone %d: ranges should ask less", rangeCompares, walkCompares)
	}
	sameFacts(t, "change", byRange.Changes, byWalk.Changes)
	sameFacts(t, "deployment", byRange.Deployments, byWalk.Deployments)
	rollbacks := 0
	for _, d := range byRange.Deployments {
		if d.Rollback {
			rollbacks++
		}
	}
	if rollbacks != len(generated) {
		t.Errorf("%d rollbacks found, want one per repository", rollbacks)
	}
}

func sameFacts[F any](t *testing.T, kind string, got, want []F) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d %s facts, want %d", len(got), kind, len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s fact %d differs:\n got %+v\nwant %+v", kind, i, got[i], want[i])
		}
	}
}

// productionByRepo lists each repository's successful production deployments in
// finishing order.
func productionByRepo(t testing.TB, st store.Store) map[string][]schema.Deployment {
	t.Helper()
	deps, err := store.All(st.Deployments(context.Background(), store.Filter{}))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]schema.Deployment{}
	for _, d := range deps {
		if d.Environment == "production" && d.Status == schema.DeploymentSuccess {
			out[d.Repo] = append(out[d.Repo], d)
		}
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b schema.Deployment) int {
			return cmp.Or(a.FinishedAt.Compare(b.FinishedAt), cmp.Compare(a.ID, b.ID))
		})
	}
	return out
}

func TestCompareRangeListsEveryCommitPageByPage(t *testing.T) {
	f := newFixture(t)
	repo := f.srv.AddRepo("acme", "api", "main")
	base := repo.Commit("main", "ana", on(0))
	var want []string
	for i := range 230 {
		want = append(want, repo.Commit("main", "ana", on(time.Duration(i+1)*time.Minute)))
	}
	head := want[len(want)-1]
	repo.Branch("side", base)
	side := repo.Commit("side", "bo", on(time.Hour))
	src := f.connect(t, nil)
	ctx := context.Background()

	got, ok, err := src.CompareRange(ctx, schema.CommitPair{Repo: "acme/api", Base: base, Head: head})
	if err != nil || !ok {
		t.Fatalf("ok %v, err %v", ok, err)
	}
	// 230 commits: three pages of 100.
	if n := f.srv.Count("compare"); n != 3 {
		t.Errorf("%d requests, want 3 pages", n)
	}
	slices.Sort(want)
	if !got.BaseInHead || got.HeadInBase || !slices.Equal(got.Commits, want) {
		t.Errorf("got in-head %v, in-base %v, %d commits; want true, false and the %d, sorted", got.BaseInHead, got.HeadInBase, len(got.Commits), len(want))
	}

	f.srv.ResetCounts()
	back, ok, err := src.CompareRange(ctx, schema.CommitPair{Repo: "acme/api", Base: head, Head: base})
	if err != nil || !ok || back.BaseInHead || !back.HeadInBase || len(back.Commits) != 0 || f.srv.Count("compare") != 1 {
		t.Errorf("going back: %+v, ok %v, err %v after %d requests; want behind, nothing listed, one request", back, ok, err, f.srv.Count("compare"))
	}
	diverged, ok, err := src.CompareRange(ctx, schema.CommitPair{Repo: "acme/api", Base: head, Head: side})
	if err != nil || !ok || diverged.BaseInHead || diverged.HeadInBase || len(diverged.Commits) != 0 {
		t.Errorf("diverged: %+v, ok %v, err %v; want neither way, nothing listed", diverged, ok, err)
	}
	// GitHub answers 404 "No common ancestor" for histories that never met: an
	// answer (neither contains the other), unlike an unknown commit.
	orphan := repo.Orphan("docs", "cy", on(2*time.Hour))
	unrelated, ok, err := src.CompareRange(ctx, schema.CommitPair{Repo: "acme/api", Base: head, Head: orphan})
	if err != nil || !ok || unrelated.BaseInHead || unrelated.HeadInBase {
		t.Errorf("unrelated: %+v, ok %v, err %v; want an answer, neither way", unrelated, ok, err)
	}
	if _, ok, err := src.CompareRange(ctx, schema.CommitPair{Repo: "acme/api", Base: strings.Repeat("0", 40), Head: head}); ok || err != nil {
		t.Errorf("unknown commit: ok %v, err %v; want no answer and no error", ok, err)
	}
}
