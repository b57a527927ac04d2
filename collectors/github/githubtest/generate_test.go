package githubtest_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
)

func TestGenerateOrg(t *testing.T) {
	srv := githubtest.New(t)
	start := time.Now()
	repos := srv.GenerateOrg(githubtest.OrgSpec{Seed: 42})
	if took := time.Since(start); took > time.Second && !raceEnabled {
		t.Errorf("20 × 500 took %v", took)
	}
	if len(repos) != 20 || repos[0].FullName() != "acme/service-01" {
		t.Fatalf("repos = %d, first %s", len(repos), repos[0].FullName())
	}
	c := newClient(t, srv)
	ctx := context.Background()
	var merged, bots, open int
	opts := &github.PullRequestListOptions{State: "all", Sort: "updated", Direction: "desc", ListOptions: github.ListOptions{PerPage: 100}}
	for {
		pulls, resp, err := c.PullRequests.List(ctx, "acme", "service-03", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pulls {
			if p.MergedAt != nil {
				merged++
			}
			if p.GetUser().GetType() == "Bot" {
				bots++
			}
			if p.GetState() == "open" {
				open++
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if merged < 380 || merged > 470 || bots < 15 || bots > 70 || open == 0 {
		t.Errorf("service-03: %d merged, %d by bots, %d open of 500", merged, bots, open)
	}
	deps, _, err := c.Repositories.ListDeployments(ctx, "acme", "service-03", &github.DeploymentsListOptions{Environment: "production", ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil || len(deps) < 70 {
		t.Fatalf("deployments: %d, %v", len(deps), err)
	}
	cmp, _, err := c.Repositories.CompareCommits(ctx, "acme", "service-03", deps[1].GetSHA(), deps[0].GetSHA(), nil)
	if err != nil || cmp.GetStatus() != "ahead" || cmp.GetAheadBy() < 5 {
		t.Errorf("between two deployments: %s ahead %d, %v", cmp.GetStatus(), cmp.GetAheadBy(), err)
	}
	runs, _, err := c.Actions.ListWorkflowRunsByFileName(ctx, "acme", "service-03", "deploy.yml", nil)
	if err != nil || runs.GetTotalCount() != len(deps) {
		t.Errorf("runs %d for %d deployments, %v", runs.GetTotalCount(), len(deps), err)
	}

	// Deterministic: the same seed gives the same pull requests.
	other := githubtest.New(t)
	other.GenerateOrg(githubtest.OrgSpec{Seed: 42, Repos: 3, PullRequests: 50})
	again := githubtest.New(t)
	again.GenerateOrg(githubtest.OrgSpec{Seed: 42, Repos: 3, PullRequests: 50})
	a := other.Repo("acme", "service-02").PullRequest(17)
	b := again.Repo("acme", "service-02").PullRequest(17)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("not deterministic:\n%+v\n%+v", a, b)
	}
}

func BenchmarkGenerateOrg(b *testing.B) {
	for b.Loop() {
		srv := githubtest.New(b)
		srv.GenerateOrg(githubtest.OrgSpec{Seed: 1})
	}
}
