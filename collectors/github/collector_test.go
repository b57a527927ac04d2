package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
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

// fixture is a fake GitHub with its clock, and a source pointed at it whose waits
// advance the clock instead of sleeping.
type fixture struct {
	srv    *githubtest.Server
	clock  *githubtest.Clock
	source *Source
	slept  []time.Duration
}

func newFixture(t testing.TB, opts ...githubtest.Option) *fixture {
	f := &fixture{clock: githubtest.NewClock(now)}
	f.srv = githubtest.New(t, append([]githubtest.Option{githubtest.WithClock(f.clock.Now)}, opts...)...)
	return f
}

// connect builds the source with the given settings on top of the defaults.
func (f *fixture) connect(t testing.TB, edit func(*resolved)) *Source {
	r := &resolved{
		baseURL: f.srv.URL(), token: "test-token", orgs: []string{"acme"}, since: collectors.Backfill{Age: defaultSince},
		bots: []*regexp.Regexp{regexp.MustCompile(defaultBotPattern)}, api: true, releasesEnv: "production",
	}
	if edit != nil {
		edit(r)
	}
	s, err := newSource("gh", r, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	s.transport.sleep = func(ctx context.Context, d time.Duration) error {
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

// scenario builds the repositories of the hand-checked cases.
func scenario(t *testing.T, srv *githubtest.Server) {
	api := srv.AddRepo("acme", "api", "main")
	api.Commit("main", "ana", on(-100*time.Hour))
	// #1 squash merge of three commits, the first authored 50 h before the PR opened;
	// reviewed by its author and by bots (ignored), then by bo (first review, 3 h)
	// and cy (first approval, 5 h).
	api.AddPullRequest(githubtest.PullRequest{
		Number: 1, Author: "ana", Title: "Add retries", Labels: []string{"feature"}, CreatedAt: on(0),
		MergedAt: on(6 * time.Hour), MergeMethod: "squash", Additions: 120, Deletions: 7,
		Commits: []githubtest.PRCommit{{AuthorDate: on(-50 * time.Hour)}, {AuthorDate: on(-30 * time.Hour)}, {AuthorDate: on(-2 * time.Hour)}},
		Events: []githubtest.Event{
			{Kind: "reviewed", Actor: "ana", State: "commented", At: on(time.Hour)},
			{Kind: "reviewed", Actor: "dependabot", ActorIsBot: true, State: "approved", At: on(2 * time.Hour)},
			{Kind: "reviewed", Actor: "bo", State: "changes_requested", At: on(3 * time.Hour)},
			{Kind: "reviewed", Actor: "cy", State: "approved", At: on(5 * time.Hour)},
		},
	})
	// #2 from a fork, merged with a merge commit.
	api.AddPullRequest(githubtest.PullRequest{
		Number: 2, Author: "outsider", FromFork: true, CreatedAt: on(24 * time.Hour), MergedAt: on(30 * time.Hour),
		Events: []githubtest.Event{{Kind: "reviewed", Actor: "bo", State: "approved", At: on(29 * time.Hour)}},
	})
	// #3 opened as a draft, ready after 4 h, merged.
	api.AddPullRequest(githubtest.PullRequest{
		Number: 3, Author: "bo", CreatedAt: on(48 * time.Hour), MergedAt: on(60 * time.Hour),
		Events: []githubtest.Event{
			{Kind: "ready_for_review", Actor: "bo", At: on(52 * time.Hour)},
			{Kind: "reviewed", Actor: "ana", State: "approved", At: on(55 * time.Hour)},
		},
	})
	// #4 still a draft; #5 closed unmerged; #6 by a bot.
	api.AddPullRequest(githubtest.PullRequest{Number: 4, Author: "cy", Draft: true, CreatedAt: on(70 * time.Hour)})
	api.AddPullRequest(githubtest.PullRequest{Number: 5, Author: "cy", CreatedAt: on(71 * time.Hour), ClosedAt: on(72 * time.Hour)})
	api.AddPullRequest(githubtest.PullRequest{Number: 6, Author: "dependabot", AuthorIsBot: true, CreatedAt: on(73 * time.Hour), MergedAt: on(74 * time.Hour)})

	// A production deployment of #1 that failed, then succeeded on a retry.
	d1 := api.AddDeployment(githubtest.Deployment{SHA: api.PullRequest(1).MergeCommitSHA, Environment: "production", CreatedAt: on(7 * time.Hour)})
	api.AddDeploymentStatus(d1, githubtest.DeploymentStatus{State: "in_progress", At: on(7 * time.Hour)})
	api.AddDeploymentStatus(d1, githubtest.DeploymentStatus{State: "failure", At: on(7*time.Hour + 5*time.Minute)})
	api.AddDeploymentStatus(d1, githubtest.DeploymentStatus{State: "in_progress", At: on(7*time.Hour + 10*time.Minute)})
	api.AddDeploymentStatus(d1, githubtest.DeploymentStatus{State: "success", At: on(7*time.Hour + 20*time.Minute)})
	// A staging deployment still running.
	d2 := api.AddDeployment(githubtest.Deployment{Environment: "staging", CreatedAt: on(61 * time.Hour)})
	api.AddDeploymentStatus(d2, githubtest.DeploymentStatus{State: "in_progress", At: on(61 * time.Hour)})

	// A deploy workflow: a push run, a manual run, and a run re-run after failing.
	api.AddWorkflow(githubtest.Workflow{Name: "Deploy", Path: ".github/workflows/deploy.yml"})
	api.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "deploy.yml", Event: "push", CreatedAt: on(31 * time.Hour), UpdatedAt: on(31*time.Hour + 9*time.Minute), RunStartedAt: on(31 * time.Hour)})
	api.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "deploy.yml", Event: "workflow_dispatch", Actor: "ana", CreatedAt: on(62 * time.Hour), UpdatedAt: on(62*time.Hour + 8*time.Minute), RunStartedAt: on(62 * time.Hour)})
	api.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "deploy.yml", Event: "push", RunAttempt: 2, CreatedAt: on(75 * time.Hour), RunStartedAt: on(76 * time.Hour), UpdatedAt: on(76*time.Hour + 7*time.Minute)})
	// A release.
	api.AddRelease(githubtest.Release{TagName: "v1.0.0", CreatedAt: on(80 * time.Hour)})

	web := srv.AddRepo("acme", "web", "main")
	web.Commit("main", "bo", on(-100*time.Hour))
	web.AddPullRequest(githubtest.PullRequest{Number: 1, Author: "bo", CreatedAt: on(10 * time.Hour), MergedAt: on(20 * time.Hour)})

	srv.AddRepo("acme", "secret", "main").Commit("main", "eve", on(-100*time.Hour))
	srv.HideRepo("acme/secret")
}

func scenarioSource(f *fixture, t *testing.T) *Source {
	return f.connect(t, func(r *resolved) {
		r.repos = []string{"acme/secret"} // listed explicitly, but the token cannot see it
		r.orgs = []string{"acme"}
		r.workflows = []WorkflowSettings{{Workflow: "deploy.yml", Environment: "production"}}
		r.releases = true
	})
}

func pullsByID(t testing.TB, s store.Store) map[string]schema.PullRequest {
	t.Helper()
	out := map[string]schema.PullRequest{}
	for pr, err := range s.PullRequests(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		out[pr.ID] = pr
	}
	return out
}

func deploymentsByID(t testing.TB, s store.Store) map[string]schema.Deployment {
	t.Helper()
	out := map[string]schema.Deployment{}
	for d, err := range s.Deployments(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		out[d.ID] = d
	}
	return out
}

func TestCollectScenario(t *testing.T) {
	for name, open := range collectortest.Stores() {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			scenario(t, f.srv)
			scenarioSource(f, t)
			st := open(t)
			err := f.collect(context.Background(), st)
			// The hidden repository is reported by name; the others are collected.
			if err == nil || !strings.Contains(err.Error(), "acme/secret") || !strings.Contains(err.Error(), "not found") {
				t.Fatalf("err = %v, want one naming acme/secret as not found", err)
			}
			prs := pullsByID(t, st)
			if len(prs) != 7 {
				t.Fatalf("collected %d pull requests, want 7 (6 of acme/api, 1 of acme/web)", len(prs))
			}
			squash := prs["acme/api#1"]
			want := schema.PullRequest{
				Source: "gh", ID: "acme/api#1", Repo: "acme/api", Number: 1, Author: "ana", Title: "Add retries",
				Labels: []string{"feature"}, BaseBranch: "main", CreatedAt: on(0), ReadyAt: on(0),
				FirstCommitAt: on(-50 * time.Hour), CommitCount: 3, Additions: 120, Deletions: 7,
				FirstReviewAt: on(3 * time.Hour), FirstReviewer: "bo", FirstApprovalAt: on(5 * time.Hour),
				MergedAt: on(6 * time.Hour), ClosedAt: on(6 * time.Hour), MergeCommitSHA: squash.MergeCommitSHA,
				URL: "https://github.com/acme/api/pull/1", UpdatedAt: squash.UpdatedAt,
				// The fake names head branches "feature-N", which is shaped like a
				// ticket key: the branch is read, and derivation keeps only the keys
				// of tickets it knows.
				TicketRefs: []string{"FEATURE-1"},
			}
			if squash.MergeCommitSHA == "" || !strings.HasSuffix(squash.URL, "/acme/api/pull/1") {
				t.Fatalf("squash merge: sha %q url %q", squash.MergeCommitSHA, squash.URL)
			}
			want.URL = squash.URL
			if !reflect.DeepEqual(squash, want) {
				t.Errorf("squash-merged pull request\n got  %+v\n want %+v", squash, want)
			}
			if fork := prs["acme/api#2"]; fork.Author != "outsider" || fork.MergedAt != on(30*time.Hour) || fork.FirstReviewer != "bo" {
				t.Errorf("pull request from a fork: %+v", fork)
			}
			if draft := prs["acme/api#3"]; !draft.ReadyAt.Equal(on(52*time.Hour)) || draft.Draft {
				t.Errorf("draft then ready: ReadyAt %v Draft %v, want %v and false", draft.ReadyAt, draft.Draft, on(52*time.Hour))
			}
			if draft := prs["acme/api#4"]; !draft.Draft || !draft.ReadyAt.IsZero() {
				t.Errorf("still a draft: Draft %v ReadyAt %v, want true and zero", draft.Draft, draft.ReadyAt)
			}
			if closed := prs["acme/api#5"]; !closed.MergedAt.IsZero() || closed.MergeCommitSHA != "" || !closed.ClosedAt.Equal(on(72*time.Hour)) {
				t.Errorf("closed unmerged: %+v", closed)
			}
			if bot := prs["acme/api#6"]; bot.Author != "dependabot[bot]" || !bot.FirstReviewAt.IsZero() {
				t.Errorf("bot pull request: %+v", bot)
			}

			deps := deploymentsByID(t, st)
			var prod, staging, release *schema.Deployment
			var runs []schema.Deployment
			for id, d := range deps {
				switch {
				case strings.Contains(id, "/deployments/") && d.Environment == "production":
					prod = &d
				case strings.Contains(id, "/deployments/"):
					staging = &d
				case strings.Contains(id, "/releases/"):
					release = &d
				case strings.Contains(id, "/actions/runs/"):
					runs = append(runs, d)
				}
			}
			if prod == nil || prod.Status != schema.DeploymentSuccess || !prod.FinishedAt.Equal(on(7*time.Hour+20*time.Minute)) ||
				prod.CommitSHA != squash.MergeCommitSHA || !prod.StartedAt.Equal(on(7*time.Hour)) {
				t.Errorf("failure then success deployment: %+v", prod)
			}
			if staging == nil || staging.Status != schema.DeploymentInProgress || !staging.FinishedAt.IsZero() {
				t.Errorf("running staging deployment: %+v", staging)
			}
			if release == nil || release.Ref != "v1.0.0" || release.Status != schema.DeploymentSuccess || !release.FinishedAt.Equal(on(80*time.Hour)) {
				t.Errorf("release: %+v", release)
			}
			manual, reruns := 0, 0
			for _, r := range runs {
				if r.Trigger == schema.TriggerManual {
					manual++
				}
				if r.Attempt == 2 && strings.HasSuffix(r.ID, "/attempts/2") {
					reruns++
				}
			}
			if len(runs) != 3 || manual != 1 || reruns != 1 {
				t.Errorf("workflow runs: %d (want 3), manual %d (want 1), re-runs %d (want 1): %+v", len(runs), manual, reruns, runs)
			}
			if len(deps) != 6 {
				t.Errorf("%d deployment records, want 6 (2 API, 3 runs, 1 release)", len(deps))
			}
		})
	}
}

func TestUpdatedAfterFirstCollection(t *testing.T) {
	for name, open := range collectortest.Stores() {
		t.Run(name, func(t *testing.T) { testUpdatedAfterFirstCollection(t, open(t)) })
	}
}

func testUpdatedAfterFirstCollection(t *testing.T, st store.Store) {
	f := newFixture(t)
	api := f.srv.AddRepo("acme", "api", "main")
	api.Commit("main", "ana", on(-time.Hour))
	api.AddPullRequest(githubtest.PullRequest{Number: 1, Author: "ana", CreatedAt: on(0)})
	api.AddPullRequest(githubtest.PullRequest{Number: 2, Author: "bo", CreatedAt: on(time.Hour), MergedAt: on(2 * time.Hour)})
	f.connect(t, nil)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if pr := pullsByID(t, st)["acme/api#1"]; !pr.MergedAt.IsZero() || !pr.FirstReviewAt.IsZero() {
		t.Fatalf("before the update: %+v", pr)
	}
	// A week later #1 is reviewed and merged.
	f.clock.Advance(7 * 24 * time.Hour)
	api.UpdatePullRequest(1, func(pr *githubtest.PullRequest) {
		pr.Events = append(pr.Events, githubtest.Event{Kind: "reviewed", Actor: "bo", State: "approved", At: f.clock.Now()})
		pr.MergedAt = f.clock.Now().Add(time.Minute)
	})
	f.srv.ResetCounts()
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	pr := pullsByID(t, st)["acme/api#1"]
	if pr.MergedAt.IsZero() || pr.FirstReviewer != "bo" || pr.MergeCommitSHA == "" {
		t.Fatalf("after the update: %+v", pr)
	}
	// Only the changed pull request was fetched again.
	if got := f.srv.Count("pulls.get") + f.srv.Count("timeline"); got != 2 {
		t.Errorf("second collection fetched details %d times, want 2 (one pull request)", got)
	}
}

func TestPullRequestReverts(t *testing.T) {
	f := newFixture(t)
	api := f.srv.AddRepo("acme", "api", "main")
	api.Commit("main", "ana", on(-time.Hour))
	api.AddPullRequest(githubtest.PullRequest{Number: 1, Author: "ana", Title: "Add retries", CreatedAt: on(0), MergedAt: on(time.Hour)})
	// Reverted with GitHub's revert button; the revert reverted with git revert.
	revert := api.AddPullRequest(githubtest.PullRequest{Number: 2, Author: "bo", Title: `Revert "Add retries"`, Body: "Reverts acme/api#1",
		CreatedAt: on(2 * time.Hour), MergedAt: on(3 * time.Hour)})
	api.AddPullRequest(githubtest.PullRequest{Number: 3, Author: "ana", Title: `Reapply "Add retries"`,
		Body: "This reverts commit " + revert.MergeCommitSHA + ".", CreatedAt: on(4 * time.Hour)})
	f.connect(t, nil)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"acme/api#1": nil, "acme/api#2": {"acme/api#1"}, "acme/api#3": {revert.MergeCommitSHA}}
	for id, pr := range pullsByID(t, st) {
		if !reflect.DeepEqual(pr.Reverts, want[id]) {
			t.Errorf("%s reverts %q, want %q", id, pr.Reverts, want[id])
		}
	}
	// An edited body is collected again with the pull request.
	f.clock.Advance(time.Hour)
	api.UpdatePullRequest(3, func(pr *githubtest.PullRequest) { pr.Body += "\n\nReverts #2" })
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if got := pullsByID(t, st)["acme/api#3"].Reverts; !reflect.DeepEqual(got, []string{revert.MergeCommitSHA, "acme/api#2"}) {
		t.Errorf("after the edit #3 reverts %q, want the commit and acme/api#2", got)
	}
}

// costOrg is a fake organisation for request counting: repos × prs pull requests.
func costOrg(t testing.TB, f *fixture, repos, prs int) {
	f.srv.GenerateOrg(githubtest.OrgSpec{Repos: repos, PullRequests: prs, Start: now.Add(-60 * 24 * time.Hour), Every: 2 * time.Hour, Seed: 7})
}

func TestRequestCosts(t *testing.T) {
	const repos, prs = 4, 150
	f := newFixture(t)
	costOrg(t, f, repos, prs)
	f.connect(t, nil)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	n, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{})
	if n != repos*prs {
		t.Fatalf("collected %d pull requests, want %d", n, repos*prs)
	}
	// Backfill: two pages of 100 per repository, then exactly two requests per pull
	// request (the pull request and its timeline, each under 100 events).
	if got, want := f.srv.Count("pulls.list"), repos*2; got != want {
		t.Errorf("list requests %d, want %d", got, want)
	}
	if got, want := f.srv.Count("pulls.get")+f.srv.Count("timeline"), 2*repos*prs; got != want {
		t.Errorf("detail requests %d, want %d (2 per pull request)", got, want)
	}
	// Deployments: one list page per repository, then one status request per deployment.
	deps, _ := st.Count(context.Background(), schema.KindDeployment, store.Filter{})
	if got := f.srv.Count("statuses"); got != int(deps) {
		t.Errorf("status requests %d for %d deployments", got, deps)
	}
	backfill := f.srv.Total()
	// An unchanged re-run: one conditional request per repository and stream, each a
	// 304 that leaves the rate limit untouched.
	_, before, _ := f.srv.RateLimit()
	f.srv.ResetCounts()
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	_, after, _ := f.srv.RateLimit()
	perRepo := f.srv.Total() - f.srv.Count("repos")
	if perRepo != repos*2 {
		t.Errorf("unchanged re-run made %d requests beyond listing repositories, want %d (pulls and deployments per repository)", perRepo, repos*2)
	}
	for _, r := range f.srv.Requests() {
		if r.Kind != "repos" && r.Status != http.StatusNotModified {
			t.Errorf("unchanged re-run asked %s %s?%s and got %d, want a 304", r.Kind, r.Path, r.RawQuery, r.Status)
		}
	}
	if used := before - after; used != f.srv.Count("repos") {
		t.Errorf("unchanged re-run used %d of the rate limit, want only the %d repository listing(s)", used, f.srv.Count("repos"))
	}
	compares := checkAttributionCosts(t, f, st)
	merged := 0
	for pr, err := range st.PullRequests(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if !pr.MergedAt.IsZero() {
			merged++
		}
	}
	t.Logf("backfill: %d requests to collect and %d compares to attribute, %.2f per merged pull request (%d of %d merged)",
		backfill, compares, float64(backfill+compares)/float64(merged), merged, repos*prs)
}

// With pull_request_sizes off, a REST backfill asks each pull request's timeline
// and nothing else of it: the records are the same but for additions and
// deletions, unknown (-1), and the whole backfill with its ship attribution costs
// at most 2.0 requests per merged pull request.
func TestRequestCostsWithoutSizes(t *testing.T) {
	const repos, prs = 4, 150
	sized, unsized := newFixture(t), newFixture(t)
	costOrg(t, sized, repos, prs)
	costOrg(t, unsized, repos, prs)
	sized.connect(t, nil)
	unsized.connect(t, func(r *resolved) { r.noSizes = true })
	sizedStore, st := collectortest.SQLite(t), collectortest.SQLite(t)
	if err := sized.collect(context.Background(), sizedStore); err != nil {
		t.Fatal(err)
	}
	if err := unsized.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if got, want := unsized.srv.Count("pulls.get"), 0; got != want {
		t.Errorf("pull request requests %d, want %d", got, want)
	}
	if got, want := unsized.srv.Count("timeline"), repos*prs; got != want {
		t.Errorf("timeline requests %d, want %d (1 per pull request)", got, want)
	}
	want, _ := snapshot(t, sizedStore)
	got, _ := snapshot(t, st)
	merged := 0
	for id, pr := range got {
		if pr.Additions != -1 || pr.Deletions != -1 {
			t.Errorf("%s: additions %d, deletions %d; want -1, unknown", id, pr.Additions, pr.Deletions)
		}
		pr.Additions, pr.Deletions = want[id].Additions, want[id].Deletions
		if !reflect.DeepEqual(pr, want[id]) {
			t.Errorf("%s: record %+v, want %+v as with sizes", id, pr, want[id])
		}
		if !pr.MergedAt.IsZero() {
			merged++
		}
	}
	if len(got) != repos*prs || merged == 0 {
		t.Fatalf("collected %d pull requests, %d merged", len(got), merged)
	}
	backfill := unsized.srv.Total()
	compares := checkAttributionCosts(t, unsized, st)
	perMerged := float64(backfill+compares) / float64(merged)
	if perMerged > 2.0 {
		t.Errorf("backfill %d requests and %d compares for %d merged pull requests: %.2f each, want at most 2.0", backfill, compares, merged, perMerged)
	}
	t.Logf("backfill without sizes: %d requests and %d compares, %.2f per merged pull request (%d of %d merged)",
		backfill, compares, perMerged, merged, repos*prs)
}

func TestPullRequestSizesSetting(t *testing.T) {
	t.Setenv("GH_TEST_TOKEN", "s3cret-value")
	for line, noSizes := range map[string]bool{"": false, "      pull_request_sizes: true\n": false, "      pull_request_sizes: false\n": true} {
		s, err := build(t, "      token_env: GH_TEST_TOKEN\n      organizations: [acme]\n"+line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if s.set.noSizes != noSizes {
			t.Errorf("%q: without sizes %v, want %v", line, s.set.noSizes, noSizes)
		}
	}
}

// snapshot is everything the store holds but the cursors, for comparing runs against
// two fake servers: URLs keep only their path, since each server has its own port.
func snapshot(t *testing.T, s store.Store) (map[string]schema.PullRequest, map[string]schema.Deployment) {
	prs, deps := pullsByID(t, s), deploymentsByID(t, s)
	for id, pr := range prs {
		pr.URL = urlPath(t, pr.URL)
		prs[id] = pr
	}
	for id, d := range deps {
		d.URL = urlPath(t, d.URL)
		deps[id] = d
	}
	return prs, deps
}

func urlPath(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

func TestInterruptedCollectionsEqualCleanRun(t *testing.T) {
	build := func(t *testing.T) *fixture {
		f := newFixture(t)
		costOrg(t, f, 3, 130)
		f.connect(t, func(r *resolved) {
			r.workflows = []WorkflowSettings{{Workflow: "deploy.yml", Environment: "production"}}
		})
		return f
	}
	clean := build(t)
	cleanStore := collectortest.SQLite(t)
	if err := clean.collect(context.Background(), cleanStore); err != nil {
		t.Fatal(err)
	}
	wantPRs, wantDeps := snapshot(t, cleanStore)
	total := clean.srv.Total()

	// Several random interruption points on the embedded store, two on ClickHouse.
	runs := []struct {
		store string
		seed  uint64
	}{{"sqlite", 1}, {"sqlite", 2}, {"sqlite", 3}, {"sqlite", 4}, {"clickhouse", 5}, {"clickhouse", 6}}
	for _, tc := range runs {
		seed := tc.seed
		t.Run(fmt.Sprintf("%s/seed%d", tc.store, seed), func(t *testing.T) {
			f := build(t)
			st := collectortest.Stores()[tc.store](t)
			interruptions := collectortest.Interrupt(t, f.srv, total, seed, 20,
				func(ctx context.Context) error { return f.collect(ctx, st) })
			gotPRs, gotDeps := snapshot(t, st)
			for id, w := range wantPRs {
				if g := gotPRs[id]; !reflect.DeepEqual(g, w) {
					t.Errorf("pull request %s\n got  %+v\n want %+v", id, g, w)
					break
				}
			}
			for id, w := range wantDeps {
				if g := gotDeps[id]; !reflect.DeepEqual(g, w) {
					t.Errorf("deployment %s\n got  %+v\n want %+v", id, g, w)
					break
				}
			}
			if !reflect.DeepEqual(gotPRs, wantPRs) || !reflect.DeepEqual(gotDeps, wantDeps) {
				t.Fatalf("after %d interruptions: %d pull requests and %d deployments, clean run %d and %d, or they differ",
					interruptions, len(gotPRs), len(gotDeps), len(wantPRs), len(wantDeps))
			}
			// Resuming skips what was written: far fewer detail requests than a
			// restart from scratch each time would make.
			if details := f.srv.Count("pulls.get"); details > len(wantPRs)+interruptions*batchSize {
				t.Errorf("%d pull requests fetched over %d interruptions for %d pull requests", details, interruptions, len(wantPRs))
			}
		})
	}
}

func TestRateLimitsAndFaults(t *testing.T) {
	t.Run("waits for the reset instead of running out", func(t *testing.T) {
		f := newFixture(t, githubtest.WithRateLimit(60, time.Hour))
		costOrg(t, f, 2, 40)
		f.connect(t, nil)
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{}); n != 80 {
			t.Fatalf("collected %d pull requests, want 80", n)
		}
		if len(f.slept) == 0 {
			t.Fatal("needed more requests than the limit allows without waiting")
		}
		for _, d := range f.slept {
			if d < time.Minute {
				t.Errorf("waited %s: want waits until the hourly reset", d)
			}
		}
		for _, r := range f.srv.Requests() {
			if r.Status == http.StatusForbidden || r.Status == http.StatusTooManyRequests {
				t.Fatalf("ran into the limit: %s %s got %d", r.Kind, r.Path, r.Status)
			}
		}
	})
	t.Run("secondary limit and server errors", func(t *testing.T) {
		f := newFixture(t)
		costOrg(t, f, 2, 30)
		f.connect(t, nil)
		f.srv.SecondaryLimit(2, 45*time.Second)
		st := collectortest.SQLite(t)
		f.srv.OnRequest(func(r *http.Request) {
			if f.srv.Total() == 20 {
				f.srv.Fail(3, http.StatusBadGateway)
			}
		})
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{}); n != 60 {
			t.Fatalf("collected %d pull requests, want 60", n)
		}
		if len(f.slept) < 5 || f.slept[0] != 45*time.Second || f.slept[1] != 45*time.Second {
			t.Fatalf("waits %v: want two Retry-After waits of 45s, then three backoffs", f.slept)
		}
	})
	t.Run("refused token stops at once", func(t *testing.T) {
		f := newFixture(t, githubtest.WithToken("other"))
		costOrg(t, f, 2, 5)
		f.connect(t, nil)
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "401") || f.srv.Total() > 1 {
			t.Fatalf("err %v after %d requests, want a 401 error after one", err, f.srv.Total())
		}
	})
}

func TestResolveAncestry(t *testing.T) {
	f := newFixture(t)
	repo := f.srv.AddRepo("acme", "api", "main")
	root := repo.Commit("main", "ana", on(0))
	a := repo.Commit("main", "ana", on(time.Hour))
	b := repo.Commit("main", "ana", on(2*time.Hour))
	repo.Branch("release/1", a)
	fix := repo.Commit("release/1", "ana", on(3*time.Hour)) // only on the release branch
	c := repo.Commit("main", "ana", on(4*time.Hour))
	src := f.connect(t, nil)
	st := collectortest.SQLite(t)
	pairs := []schema.CommitPair{
		{Repo: "acme/api", Base: a, Head: c},    // a and b are ancestors of main's head c: one compare lists b too
		{Repo: "acme/api", Base: b, Head: c},    //
		{Repo: "acme/api", Base: fix, Head: c},  // the release fix is not on main
		{Repo: "acme/api", Base: a, Head: fix},  // but the release branch contains a
		{Repo: "acme/api", Base: c, Head: root}, // an older commit does not contain a newer one
		{Repo: "acme/api", Base: strings.Repeat("0", 40), Head: c},
		// unrelated histories: GitHub's 404 "No common ancestor" answers no
		{Repo: "acme/api", Base: repo.Orphan("docs", "cy", on(5*time.Hour)), Head: c},
	}
	got, err := src.ResolveAncestry(context.Background(), st, pairs, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[schema.CommitPair]bool{pairs[0]: true, pairs[1]: true, pairs[2]: false, pairs[3]: true, pairs[4]: false, pairs[6]: false}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("answers %v, want %v (the unknown commit left out)", got, want)
	}
	if n := f.srv.Count("compare"); n != 6 {
		t.Errorf("%d compares, want 6: the second pair is answered by the first", n)
	}
	// Asked again, every known pair comes from the store.
	f.srv.ResetCounts()
	again, err := src.ResolveAncestry(context.Background(), st, slices.Delete(slices.Clone(pairs), 5, 6), now)
	if err != nil || !reflect.DeepEqual(again, want) {
		t.Fatalf("second resolution = %v, %v", again, err)
	}
	if n := f.srv.Count("compare"); n != 0 {
		t.Errorf("second resolution made %d compares, want none", n)
	}
}

// chainPairs adds n+1 commits in a row to a repository and returns the pairs (commit,
// its child): each needs a compare of its own, since no other compare lists its base.
func chainPairs(repo *githubtest.Repo, n int) []schema.CommitPair {
	prev := repo.Commit("main", "ana", on(0))
	pairs := make([]schema.CommitPair, n)
	for i := range pairs {
		next := repo.Commit("main", "ana", on(time.Duration(i+1)*time.Minute))
		pairs[i] = schema.CommitPair{Repo: repo.FullName(), Base: prev, Head: next}
		prev = next
	}
	return pairs
}

func TestResolveAncestryKeepsAnswersWhenCanceled(t *testing.T) {
	f := newFixture(t)
	pairs := chainPairs(f.srv.AddRepo("acme", "api", "main"), 6)
	src := f.connect(t, nil)
	st := collectortest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	// The derivation is stopped during the fourth compare, before GitHub answers it.
	f.srv.OnRequest(func(r *http.Request) {
		if f.srv.Count("compare") == 3 {
			cancel()
			select {
			case <-r.Context().Done(): // the client gave up: the answer never arrives
			case <-time.After(5 * time.Second):
				t.Error("the canceled request stayed open")
			}
		}
	})
	if _, err := src.ResolveAncestry(ctx, st, pairs, now); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want it canceled", err)
	}
	f.srv.OnRequest(nil)
	var kept []schema.CommitPair
	for a, err := range st.Ancestries(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, schema.CommitPair{Repo: a.Repo, Base: a.Base, Head: a.Head})
	}
	if len(kept) != 3 || !slices.ContainsFunc(kept, func(p schema.CommitPair) bool { return p == pairs[2] }) ||
		slices.ContainsFunc(kept, func(p schema.CommitPair) bool { return p == pairs[3] }) {
		t.Fatalf("the store kept %d answers, want those of the 3 compares answered before the cancellation", len(kept))
	}
	// The fake counts the canceled compare once its handler goes on, which may be
	// after ResolveAncestry returned: wait for it, so the count below is the rerun's.
	for deadline := time.Now().Add(5 * time.Second); f.srv.Count("compare") < 4 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	// Run again, only the three pairs without an answer are asked.
	f.srv.ResetCounts()
	got, err := src.ResolveAncestry(context.Background(), st, pairs, now)
	if err != nil || len(got) != len(pairs) {
		t.Fatalf("second resolution: %d answers, %v", len(got), err)
	}
	if n := f.srv.Count("compare"); n != 3 {
		t.Errorf("second resolution made %d compares, want 3", n)
	}
}

// writeSizes is an ancestry store that records how many answers each write holds.
type writeSizes struct {
	collectors.AncestryStore
	sizes []int
}

func (w *writeSizes) Write(ctx context.Context, b *schema.Batch) error {
	w.sizes = append(w.sizes, len(b.Ancestries))
	return w.AncestryStore.Write(ctx, b)
}

func TestResolveAncestryWritesAsItGoes(t *testing.T) {
	f := newFixture(t)
	pairs := chainPairs(f.srv.AddRepo("acme", "api", "main"), 2*ancestryBatch+1)
	src := f.connect(t, nil)
	st := &writeSizes{AncestryStore: collectortest.SQLite(t)}
	if _, err := src.ResolveAncestry(context.Background(), st, pairs, now); err != nil {
		t.Fatal(err)
	}
	if want := []int{ancestryBatch, ancestryBatch, 1}; !slices.Equal(st.sizes, want) {
		t.Errorf("writes of %v answers, want %v", st.sizes, want)
	}
}

func TestResumeSkipsWrittenPullRequests(t *testing.T) {
	const prs = 250
	f := newFixture(t)
	f.srv.GenerateOrg(githubtest.OrgSpec{Repos: 1, PullRequests: prs, Start: now.Add(-60 * 24 * time.Hour), Every: 2 * time.Hour, DeployEvery: -1, Seed: 3})
	f.connect(t, nil)
	st := collectortest.SQLite(t)
	// Stop while fetching the 151st pull request: the first 100 were written with
	// their cursor, the next 50 were fetched but not yet written.
	ctx, cancel := context.WithCancel(context.Background())
	f.srv.OnRequest(func(r *http.Request) {
		if strings.Contains(r.URL.Path, "/pulls/") && f.srv.Count("pulls.get") >= 150 {
			cancel()
		}
	})
	if err := f.collect(ctx, st); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it canceled", err)
	}
	f.srv.OnRequest(nil)
	if n, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{}); n != batchSize {
		t.Fatalf("%d pull requests written before the interruption, want one batch of %d", n, batchSize)
	}
	before := f.srv.Count("pulls.get")
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{}); n != prs {
		t.Fatalf("%d pull requests after resuming, want %d", n, prs)
	}
	// The resumed run fetches only the 150 not yet written, not the 100 that were.
	if again := f.srv.Count("pulls.get") - before; again != prs-batchSize {
		t.Errorf("the resumed run fetched %d pull requests, want %d", again, prs-batchSize)
	}
}

func TestDeployWorkflowByName(t *testing.T) {
	f := newFixture(t)
	scenario(t, f.srv)
	f.connect(t, func(r *resolved) {
		r.workflows = []WorkflowSettings{{Workflow: "Deploy", Environment: "production"}}
		r.api = false
	})
	st := collectortest.SQLite(t)
	// Only the organisation is configured, so the hidden acme/secret is never listed.
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	runs := 0
	for id := range deploymentsByID(t, st) {
		if strings.Contains(id, "/actions/runs/") {
			runs++
		}
	}
	// The workflow named "Deploy" (.github/workflows/deploy.yml) ran three times in
	// acme/api; acme/web has no such workflow, which is not an error.
	if runs != 3 || f.srv.Count("workflows") != 2 {
		t.Errorf("%d runs collected after %d workflow listings, want 3 and one listing per repository", runs, f.srv.Count("workflows"))
	}
}

// A pull request updated while the REST walk reads page 1 moves to the top and
// shifts the rest down a place: the last of page 1 is listed again first on page 2,
// and is not built again.
func TestPullsPageShiftBuildsOnce(t *testing.T) {
	f := newFixture(t)
	costOrg(t, f, 1, 150)
	f.connect(t, nil)
	repo := f.srv.Repo("acme", "service-01")
	moved := false
	f.srv.OnRequest(func(r *http.Request) {
		if !moved && strings.Contains(r.URL.RawQuery, "page=2") {
			moved = true
			// #1, listed last (the oldest update), becomes the newest.
			repo.UpdatePullRequest(1, func(pr *githubtest.PullRequest) { pr.Title = "touched" })
		}
	})
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	built := map[string]int{}
	for _, r := range f.srv.Requests() {
		if r.Kind == "pulls.get" {
			built[r.Path]++
		}
	}
	// 100 on page 1, then 49 new on page 2 (#1 now sits on page 1).
	if got := f.srv.Count("pulls.get"); !moved || got != 149 || len(built) != 149 {
		t.Errorf("moved %v; %d pull requests built, %d different; want 149 once each", moved, got, len(built))
	}
	f.clock.Advance(time.Hour)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	prs := pullsByID(t, st)
	if len(prs) != 150 || prs["acme/service-01#1"].Title != "touched" {
		t.Errorf("%d pull requests, #1 titled %q; want 150 and the change collected next run", len(prs), prs["acme/service-01#1"].Title)
	}
}

// burstRepo is a repository whose 60 pull requests were all updated within 6
// minutes, half an hour before now.
func burstRepo(f *fixture) *githubtest.Repo {
	repo := f.srv.AddRepo("acme", "api", "main")
	repo.Commit("main", "ana", now.Add(-100*time.Hour))
	for i := range 60 {
		at := now.Add(-30*time.Minute - time.Duration(i)*6*time.Second)
		repo.AddPullRequest(githubtest.PullRequest{Number: i + 1, Author: "ana", CreatedAt: at.Add(-time.Hour), UpdatedAt: at})
	}
	return repo
}

// A collection started more than the overlap after the newest update covers all it
// saw: the next one of a quiet repository asks GraphQL for one pull request, 1 point,
// not again for the 60 of the burst (1 + 61×4 requests, 2 points).
func TestGraphQLQuietAfterBurst(t *testing.T) {
	f := newFixture(t)
	burstRepo(f)
	f.connect(t, useGraphQL)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	for run := 2; run <= 3; run++ {
		f.clock.Advance(time.Hour)
		f.srv.ResetCounts()
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if points, queries := f.srv.GraphQLPoints(), f.srv.Count("graphql"); points != 1 || queries != 1 {
			t.Errorf("collection %d of a quiet repository: %d points in %d queries, want 1 in 1", run, points, queries)
		}
	}
}

// An unchanged re-run asks GraphQL for the k pull requests updated in the overlap
// before the last collection started, and one more: 1 + 4×(k+1) requests, which GitHub
// rounds to 1 point up to k = 36 (149), 2 from 37 (153) and 3 from 62 (253). The
// re-run starts more than the overlap after them, so the next one costs 1 point.
func TestGraphQLUnchangedRerunCost(t *testing.T) {
	for _, tc := range []struct{ inOverlap, points int }{{36, 1}, {37, 2}, {62, 3}} {
		f := newFixture(t)
		repo := f.srv.AddRepo("acme", "api", "main")
		repo.Commit("main", "ana", now.Add(-100*time.Hour))
		repo.AddPullRequest(githubtest.PullRequest{Number: 1, Author: "ana", CreatedAt: now.Add(-3 * time.Hour), UpdatedAt: now.Add(-2 * time.Hour)})
		for i := range tc.inOverlap {
			at := now.Add(-time.Minute - time.Duration(i)*5*time.Second)
			repo.AddPullRequest(githubtest.PullRequest{Number: i + 2, Author: "ana", CreatedAt: at.Add(-time.Hour), UpdatedAt: at})
		}
		f.connect(t, useGraphQL)
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		for run, want := range []int{tc.points, 1} {
			f.clock.Advance(time.Hour)
			f.srv.ResetCounts()
			if err := f.collect(context.Background(), st); err != nil {
				t.Fatal(err)
			}
			if points, queries := f.srv.GraphQLPoints(), f.srv.Count("graphql"); points != want || queries != 1 {
				t.Errorf("%d in the overlap, unchanged re-run %d: %d points in %d queries, want %d in 1", tc.inOverlap, run+1, points, queries, want)
			}
		}
	}
}

// A pull request GitHub lists late, its updated_at within the overlap before the
// collection that missed it, is collected by the next one, by either API.
func TestPullsListedLateWithinOverlap(t *testing.T) {
	for _, edit := range []func(*resolved){nil, useGraphQL} {
		f := newFixture(t)
		repo := burstRepo(f)
		repo.AddPullRequest(githubtest.PullRequest{Number: 70, Author: "bo", CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-2 * time.Minute)})
		f.connect(t, edit)
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		// Updated 8 minutes before that collection, listed only now.
		repo.AddPullRequest(githubtest.PullRequest{Number: 71, Author: "bo", CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-8 * time.Minute)})
		f.clock.Advance(time.Minute)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if prs := pullsByID(t, st); len(prs) != 62 || prs["acme/api#71"].Number != 71 {
			t.Errorf("graphql=%v: %d pull requests stored, #71 %v; want 62 with #71", edit != nil, len(prs), prs["acme/api#71"].Number)
		}
	}
}
