package githubtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
)

func TestRepositoriesDecode(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepository(githubtest.Repository{Owner: "acme", Name: "api", Private: true, CreatedAt: at(-100)})
	srv.AddRepository(githubtest.Repository{Owner: "acme", Name: "old", Archived: true, DefaultBranch: "master", CreatedAt: at(-200)})
	srv.AddRepo("other", "x", "main")
	srv.AddRepo("acme", "secret", "main")
	srv.HideRepo("acme/secret")
	c := newClient(t, srv)
	ctx := context.Background()

	repos, _, err := c.Repositories.ListByOrg(ctx, "acme", &github.RepositoryListByOrgOptions{Type: "all", ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 2 || repos[0].GetName() != "api" || repos[1].GetName() != "old" {
		t.Fatalf("repos = %v, want api then old (created desc), secret hidden", repos)
	}
	if !repos[0].GetPrivate() || repos[0].GetFullName() != "acme/api" || repos[0].GetOwner().GetLogin() != "acme" ||
		repos[0].GetOwner().GetType() != "Organization" || repos[0].GetDefaultBranch() != "main" || repos[0].GetID() == 0 {
		t.Errorf("api = %+v", repos[0])
	}
	if !repos[1].GetArchived() || repos[1].GetDefaultBranch() != "master" || !repos[1].GetCreatedAt().Time.Equal(at(-200)) {
		t.Errorf("old = %+v", repos[1])
	}
	repo, _, err := c.Repositories.Get(ctx, "acme", "old")
	if err != nil || repo.GetFullName() != "acme/old" || repo.GetHTMLURL() == "" {
		t.Fatalf("get = %v, %v", repo, err)
	}
	if _, resp, err := c.Repositories.ListByOrg(ctx, "nobody", nil); err == nil || resp.StatusCode != 404 {
		t.Errorf("unknown org: %v", err)
	}
}

func TestPullRequestsDecode(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	repo.Commit("main", "alice", at(0))
	merged := repo.AddPullRequest(githubtest.PullRequest{
		Number: 7, Title: "Add payments", Body: "Reverts acme/api#3\r\n\r\nAgain.", Author: "bob", Labels: []string{"feature"},
		CreatedAt: at(1), MergedAt: at(5), MergeMethod: "squash",
		Additions: 120, Deletions: 4, ChangedFiles: 3,
		Commits: []githubtest.PRCommit{{AuthorDate: at(0.5)}, {AuthorDate: at(2)}},
		Events:  []githubtest.Event{{Kind: "reviewed", Actor: "alice", State: "APPROVED", At: at(4)}},
	})
	repo.AddPullRequest(githubtest.PullRequest{Number: 8, Author: "renovate", AuthorIsBot: true, Draft: true, CreatedAt: at(2)})
	repo.AddPullRequest(githubtest.PullRequest{Number: 9, Author: "eve", FromFork: true, ForkDeleted: true, CreatedAt: at(3), ClosedAt: at(6)})
	c := newClient(t, srv)
	ctx := context.Background()

	pulls, resp, err := c.PullRequests.List(ctx, "acme", "api", &github.PullRequestListOptions{State: "all", Sort: "updated", Direction: "desc", ListOptions: github.ListOptions{PerPage: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.NextPage != 0 || resp.Header.Get("Link") != "" {
		t.Errorf("one page sent a Link: %q", resp.Header.Get("Link"))
	}
	var numbers []int
	for _, p := range pulls {
		numbers = append(numbers, p.GetNumber())
	}
	if len(numbers) != 3 || numbers[0] != 9 || numbers[1] != 7 || numbers[2] != 8 {
		t.Fatalf("order by updated desc = %v, want [9 7 8]", numbers)
	}
	p7, p8, p9 := pulls[1], pulls[2], pulls[0]
	if p7.GetState() != "closed" || !p7.GetMergedAt().Time.Equal(at(5)) || p7.GetMergeCommitSHA() != repo.Head("main") ||
		p7.GetUser().GetLogin() != "bob" || p7.GetUser().GetType() != "User" || len(p7.Labels) != 1 || p7.Labels[0].GetName() != "feature" ||
		p7.GetBase().GetRef() != "main" || p7.GetHead().GetRef() != "feature-7" || p7.GetHead().GetRepo().GetFullName() != "acme/api" ||
		p7.GetAuthorAssociation() != "MEMBER" || p7.GetHead().GetSHA() != merged.HeadSHA {
		t.Errorf("#7 = %+v", p7)
	}
	// The list is "pull request simple": no counts, as on GitHub.
	if p7.Additions != nil || p7.Commits != nil || p7.Merged != nil || p7.Comments != nil {
		t.Errorf("list carried full fields: additions %v commits %v merged %v", p7.Additions, p7.Commits, p7.Merged)
	}
	if !p8.GetDraft() || p8.GetUser().GetLogin() != "renovate[bot]" || p8.GetUser().GetType() != "Bot" || p8.GetState() != "open" || p8.MergedAt != nil {
		t.Errorf("#8 = %+v", p8)
	}
	if p9.GetHead().Repo != nil || p9.GetHead().GetLabel() != "eve:feature-9" || p9.MergedAt != nil || !p9.GetClosedAt().Time.Equal(at(6)) {
		t.Errorf("#9 head = %+v", p9.GetHead())
	}
	_, raw := getRaw(t, srv, "repos/acme/api/pulls?state=all", nil)
	first := decode(t, raw).([]any)[0].(map[string]any)
	for _, k := range []string{"additions", "deletions", "commits", "changed_files", "merged", "mergeable"} {
		if _, ok := first[k]; ok {
			t.Errorf("list item has %q", k)
		}
	}
	if p7.GetBody() != "Reverts acme/api#3\r\n\r\nAgain." {
		t.Errorf("#7 body = %q", p7.GetBody())
	}
	if body, ok := first["body"]; !ok || body != nil {
		t.Errorf("#9 without a body: body = %v, want null", body)
	}
	if head := first["head"].(map[string]any); head["repo"] != nil {
		t.Errorf("deleted fork: head.repo = %v, want null", head["repo"])
	}

	open, _, err := c.PullRequests.List(ctx, "acme", "api", nil)
	if err != nil || len(open) != 1 || open[0].GetNumber() != 8 {
		t.Errorf("default state open = %v, %v", open, err)
	}
	asc, _, _ := c.PullRequests.List(ctx, "acme", "api", &github.PullRequestListOptions{State: "closed", Sort: "created", Direction: "asc"})
	if len(asc) != 2 || asc[0].GetNumber() != 7 {
		t.Errorf("closed created asc = %v", asc)
	}

	full, _, err := c.PullRequests.Get(ctx, "acme", "api", 7)
	if err != nil {
		t.Fatal(err)
	}
	if !full.GetMerged() || full.GetAdditions() != 120 || full.GetDeletions() != 4 || full.GetChangedFiles() != 3 ||
		full.GetCommits() != 2 || full.GetMergedBy().GetLogin() != "bob" || full.GetMergeCommitSHA() != merged.MergeCommitSHA ||
		full.GetBody() != p7.GetBody() {
		t.Errorf("full #7 = merged %v additions %d commits %d merged_by %v", full.GetMerged(), full.GetAdditions(), full.GetCommits(), full.GetMergedBy())
	}
	if _, resp, err := c.PullRequests.Get(ctx, "acme", "api", 99); err == nil || resp.StatusCode != 404 {
		t.Errorf("unknown pull: %v", err)
	}

	// Squash: one commit on main, dated the merge, authored by the author.
	cmp, _, err := c.Repositories.CompareCommits(ctx, "acme", "api", merged.BaseSHA, "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.GetAheadBy() != 1 || cmp.Commits[0].GetSHA() != merged.MergeCommitSHA ||
		!cmp.Commits[0].GetCommit().GetAuthor().GetDate().Time.Equal(at(5)) || cmp.Commits[0].GetCommit().GetAuthor().GetName() != "bob" {
		t.Errorf("squash commit = %+v", cmp.Commits)
	}
}

func TestUpdatePullRequestBumpsAndMerges(t *testing.T) {
	clock := githubtest.NewClock(at(10))
	srv := githubtest.New(t, githubtest.WithClock(clock.Now))
	repo := srv.AddRepo("acme", "api", "main")
	repo.AddPullRequest(githubtest.PullRequest{Number: 1, Author: "bob", CreatedAt: at(1)})
	repo.AddPullRequest(githubtest.PullRequest{Number: 2, Author: "bob", CreatedAt: at(2)})
	clock.Advance(time.Hour)
	pr := repo.UpdatePullRequest(1, func(pr *githubtest.PullRequest) {
		pr.Commits = append(pr.Commits, githubtest.PRCommit{AuthorDate: at(10.5)})
		pr.MergedAt = at(11)
		pr.MergeMethod = "merge"
	})
	if !pr.UpdatedAt.Equal(at(11)) || pr.MergeCommitSHA == "" || repo.Head("main") != pr.MergeCommitSHA || len(pr.Commits) != 2 || pr.HeadSHA != pr.Commits[1].SHA {
		t.Fatalf("updated = %+v", pr)
	}
	c := newClient(t, srv)
	pulls, _, err := c.PullRequests.List(context.Background(), "acme", "api", &github.PullRequestListOptions{State: "all", Sort: "updated", Direction: "desc"})
	if err != nil || pulls[0].GetNumber() != 1 || !pulls[0].GetUpdatedAt().Time.Equal(at(11)) {
		t.Fatalf("after the update #1 comes first: %v %v", pulls, err)
	}
	cmp, _, err := c.Repositories.CompareCommits(context.Background(), "acme", "api", pr.BaseSHA, "main", nil)
	if err != nil || cmp.GetAheadBy() != 3 || len(cmp.GetMergeBaseCommit().Parents) != 0 {
		t.Fatalf("merge commit brings 2 commits + itself: ahead %d, %v", cmp.GetAheadBy(), err)
	}
}

func TestTimelineDecode(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	pr := repo.AddPullRequest(githubtest.PullRequest{
		Number: 3, Author: "bob", Draft: false, CreatedAt: at(1), MergedAt: at(9), Labels: []string{"bug"},
		Commits: []githubtest.PRCommit{{AuthorDate: at(0.25)}, {AuthorDate: at(6), Author: "carol"}},
		Events: []githubtest.Event{
			{Kind: "convert_to_draft", At: at(1.5)},
			{Kind: "ready_for_review", At: at(2)},
			{Kind: "review_requested", Actor: "bob", Reviewer: "alice", At: at(2)},
			{Kind: "commented", Actor: "ci", ActorIsBot: true, Body: "coverage 81%", At: at(3)},
			{Kind: "reviewed", Actor: "alice", State: "changes_requested", At: at(4)},
			{Kind: "reviewed", Actor: "alice", State: "approved", Body: "LGTM", At: at(8)},
		},
	})
	c := newClient(t, srv)
	events, _, err := c.Issues.ListIssueTimeline(context.Background(), "acme", "api", 3, &github.ListOptions{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.GetEvent())
	}
	want := []string{"committed", "labeled", "convert_to_draft", "ready_for_review", "review_requested", "commented", "reviewed", "committed", "reviewed", "merged", "closed"}
	if len(kinds) != len(want) {
		t.Fatalf("events = %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events = %v, want %v", kinds, want)
		}
	}
	committed := events[7]
	if committed.GetSHA() != pr.Commits[1].SHA || !committed.GetAuthor().GetDate().Time.Equal(at(6)) || committed.GetAuthor().GetName() != "carol" ||
		committed.Actor != nil || committed.CreatedAt != nil || committed.ID != nil {
		t.Errorf("committed = %+v", committed)
	}
	ready := events[3]
	if !ready.GetCreatedAt().Time.Equal(at(2)) || ready.GetActor().GetLogin() != "bob" || ready.CommitID != nil {
		t.Errorf("ready_for_review = %+v", ready)
	}
	review := events[8]
	if review.GetState() != "approved" || review.GetUser().GetLogin() != "alice" || !review.GetSubmittedAt().Time.Equal(at(8)) ||
		review.GetBody() != "LGTM" || review.GetCommitID() != pr.Commits[1].SHA || review.GetID() == 0 {
		t.Errorf("reviewed = %+v", review)
	}
	if events[6].GetState() != "changes_requested" || events[6].GetCommitID() != pr.Commits[0].SHA {
		t.Errorf("first review = %+v", events[6])
	}
	if cm := events[5]; cm.GetUser().GetLogin() != "ci[bot]" || cm.GetUser().GetType() != "Bot" || cm.GetBody() != "coverage 81%" {
		t.Errorf("commented = %+v", cm)
	}
	if rr := events[4]; rr.GetReviewer().GetLogin() != "alice" || rr.GetRequester().GetLogin() != "bob" {
		t.Errorf("review_requested = %+v", rr)
	}
	if l := events[1]; l.GetLabel().GetName() != "bug" || l.GetLabel().GetColor() == "" {
		t.Errorf("labeled = %+v", l)
	}
	if m := events[9]; m.GetCommitID() != pr.MergeCommitSHA || !m.GetCreatedAt().Time.Equal(at(9)) {
		t.Errorf("merged = %+v", m)
	}

	// The raw JSON of a committed event has no actor or created_at; a reviewed one has
	// submitted_at and a lowercase state; ready_for_review has commit_id null.
	_, raw := getRaw(t, srv, "repos/acme/api/issues/3/timeline", nil)
	items := decode(t, raw).([]any)
	c0 := items[0].(map[string]any)
	for _, k := range []string{"actor", "created_at", "id"} {
		if _, ok := c0[k]; ok {
			t.Errorf("committed event has %q", k)
		}
	}
	for _, k := range []string{"sha", "node_id", "url", "html_url", "author", "committer", "message", "tree", "parents", "verification"} {
		if _, ok := c0[k]; !ok {
			t.Errorf("committed event lacks %q", k)
		}
	}
	if r := items[6].(map[string]any); r["state"] != "changes_requested" || r["submitted_at"] != "2026-03-01T04:00:00Z" || r["pull_request_url"] == nil {
		t.Errorf("reviewed raw = %v", r)
	}
	if rd := items[3].(map[string]any); rd["commit_id"] != nil || rd["created_at"] != "2026-03-01T02:00:00Z" {
		t.Errorf("ready_for_review raw = %v", rd)
	} else if _, ok := rd["commit_id"]; !ok {
		t.Error("ready_for_review lacks commit_id")
	}

	// Paged like every list.
	page, resp, err := c.Issues.ListIssueTimeline(context.Background(), "acme", "api", 3, &github.ListOptions{PerPage: 4, Page: 3})
	if err != nil || len(page) != 3 || resp.NextPage != 0 || resp.PrevPage != 2 || resp.FirstPage != 1 {
		t.Errorf("page 3 of 3: %d events, resp %+v, %v", len(page), resp, err)
	}
}

func TestDeploymentsDecode(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	c1 := repo.Commit("main", "alice", at(0))
	d1 := repo.AddDeployment(githubtest.Deployment{SHA: c1, Environment: "production", Creator: "github-actions", CreatorIsBot: true, CreatedAt: at(1),
		Statuses: []githubtest.DeploymentStatus{{State: "in_progress", At: at(1.1)}, {State: "success", At: at(1.3), LogURL: "https://ci/1"}}})
	repo.AddDeployment(githubtest.Deployment{Environment: "staging", CreatedAt: at(2)})
	c2 := repo.Commit("main", "alice", at(3))
	d3 := repo.AddDeployment(githubtest.Deployment{Environment: "production", CreatedAt: at(4), Description: "v2"})
	repo.AddDeploymentStatus(d3, githubtest.DeploymentStatus{State: "failure", At: at(4.5)})
	c := newClient(t, srv)
	ctx := context.Background()

	deps, _, err := c.Repositories.ListDeployments(ctx, "acme", "api", &github.DeploymentsListOptions{Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 2 || deps[0].GetID() != d3 || deps[1].GetID() != d1 {
		t.Fatalf("production deployments = %v, want newest first", deps)
	}
	if deps[0].GetSHA() != c2 || deps[0].GetRef() != "main" || deps[0].GetTask() != "deploy" || deps[0].GetDescription() != "v2" ||
		!deps[0].GetUpdatedAt().Time.Equal(at(4.5)) || deps[1].GetCreator().GetLogin() != "github-actions[bot]" || deps[1].GetSHA() != c1 {
		t.Errorf("deployments = %+v / %+v", deps[0], deps[1])
	}
	bySHA, _, _ := c.Repositories.ListDeployments(ctx, "acme", "api", &github.DeploymentsListOptions{SHA: c1})
	if len(bySHA) != 2 {
		t.Errorf("by sha = %d, want 2", len(bySHA))
	}
	statuses, _, err := c.Repositories.ListDeploymentStatuses(ctx, "acme", "api", d1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != 2 || statuses[0].GetState() != "success" || !statuses[0].GetCreatedAt().Time.Equal(at(1.3)) ||
		statuses[0].GetLogURL() != "https://ci/1" || statuses[0].GetEnvironment() != "production" || statuses[1].GetState() != "in_progress" {
		t.Errorf("statuses = %+v", statuses)
	}
	_, raw := getRaw(t, srv, "repos/acme/api/deployments?environment=staging", nil)
	d := decode(t, raw).([]any)[0].(map[string]any)
	if d["production_environment"] != false || d["original_environment"] != "staging" || d["transient_environment"] != false {
		t.Errorf("staging raw = %v", d)
	}
	if _, resp, err := c.Repositories.ListDeploymentStatuses(ctx, "acme", "api", 1, nil); err == nil || resp.StatusCode != 404 {
		t.Errorf("statuses of unknown deployment: %v", err)
	}
}

func TestWorkflowRunsDecode(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	sha := repo.Commit("main", "alice", at(0))
	repo.Branch("release/1.2", sha)
	wf := repo.AddWorkflow(githubtest.Workflow{Name: "Deploy", Path: ".github/workflows/deploy.yml"})
	repo.AddWorkflow(githubtest.Workflow{Path: ".github/workflows/ci.yml"})
	repo.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "deploy.yml", CreatedAt: at(1), Actor: "alice"})
	second := repo.AddWorkflowRun(githubtest.WorkflowRun{WorkflowID: wf, CreatedAt: at(26), Conclusion: "failure", RunAttempt: 2, RunStartedAt: at(26.5), Event: "workflow_dispatch"})
	repo.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "Deploy", HeadBranch: "release/1.2", Status: "in_progress", CreatedAt: at(50)})
	repo.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "ci.yml", CreatedAt: at(2)})
	c := newClient(t, srv)
	ctx := context.Background()

	wfs, _, err := c.Actions.ListWorkflows(ctx, "acme", "api", nil)
	if err != nil || wfs.GetTotalCount() != 2 || wfs.Workflows[0].GetPath() != ".github/workflows/deploy.yml" || wfs.Workflows[0].GetState() != "active" || wfs.Workflows[1].GetName() != "ci.yml" {
		t.Fatalf("workflows = %+v, %v", wfs, err)
	}
	runs, _, err := c.Actions.ListWorkflowRunsByFileName(ctx, "acme", "api", "deploy.yml", &github.ListWorkflowRunsOptions{Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if runs.GetTotalCount() != 2 || runs.WorkflowRuns[0].GetID() != second {
		t.Fatalf("runs on main = %+v", runs)
	}
	r := runs.WorkflowRuns[0]
	if r.GetRunAttempt() != 2 || !r.GetRunStartedAt().Time.Equal(at(26.5)) || r.GetConclusion() != "failure" || r.GetStatus() != "completed" ||
		r.GetEvent() != "workflow_dispatch" || r.GetHeadSHA() != sha || r.GetHeadCommit().GetID() != sha || r.GetWorkflowID() != wf ||
		r.GetRunNumber() != 2 || r.GetRepository().GetFullName() != "acme/api" || r.GetActor().GetLogin() != "octocat" || r.GetDisplayTitle() == "" {
		t.Errorf("run = %+v", r)
	}
	byID, _, err := c.Actions.ListWorkflowRunsByID(ctx, "acme", "api", wf, &github.ListWorkflowRunsOptions{Status: "success"})
	if err != nil || byID.GetTotalCount() != 1 || byID.WorkflowRuns[0].GetActor().GetLogin() != "alice" {
		t.Errorf("status=success (a conclusion) = %+v, %v", byID, err)
	}
	inProgress, _, _ := c.Actions.ListWorkflowRunsByID(ctx, "acme", "api", wf, &github.ListWorkflowRunsOptions{Status: "in_progress"})
	if inProgress.GetTotalCount() != 1 || inProgress.WorkflowRuns[0].Conclusion != nil || inProgress.WorkflowRuns[0].GetHeadBranch() != "release/1.2" {
		t.Errorf("status=in_progress = %+v", inProgress)
	}
	for created, want := range map[string]int{">=2026-03-02": 2, "<=2026-03-01": 1, "2026-03-01..2026-03-02": 2, "2026-03-03": 1, "*..2026-03-01T01:00:00Z": 1, ">2026-03-02": 1} {
		got, _, err := c.Actions.ListWorkflowRunsByFileName(ctx, "acme", "api", "deploy.yml", &github.ListWorkflowRunsOptions{Created: created})
		if err != nil || got.GetTotalCount() != want {
			t.Errorf("created=%s: %d runs, want %d (%v)", created, got.GetTotalCount(), want, err)
		}
	}
	if _, resp, err := c.Actions.ListWorkflowRunsByFileName(ctx, "acme", "api", "nope.yml", nil); err == nil || resp.StatusCode != 404 {
		t.Errorf("unknown workflow: %v", err)
	}
	_, raw := getRaw(t, srv, "repos/acme/api/actions/workflows/deploy.yml/runs?status=in_progress", nil)
	run := decode(t, raw).(map[string]any)["workflow_runs"].([]any)[0].(map[string]any)
	if _, ok := run["conclusion"]; !ok || run["conclusion"] != nil || run["path"] != ".github/workflows/deploy.yml" {
		t.Errorf("raw run: conclusion %v, path %v", run["conclusion"], run["path"])
	}
}

func TestWorkflowRunsCapAndTags(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	repo.Commit("main", "alice", at(0))
	repo.Tag("v1.4.0", "main")
	repo.Branch("release/v1", "main")
	repo.AddWorkflow(githubtest.Workflow{Name: "Release", Path: ".github/workflows/release.yml"})
	// 1,200 runs on main, one a minute from 01:00, then one on a tag push.
	for i := range 1200 {
		repo.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "release.yml", CreatedAt: at(1).Add(time.Duration(i) * time.Minute)})
	}
	repo.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "release.yml", HeadBranch: "v1.4.0", CreatedAt: at(30)})
	c := newClient(t, srv)
	ctx := context.Background()
	list := func(created string, page int) *github.WorkflowRuns {
		t.Helper()
		runs, _, err := c.Actions.ListWorkflowRunsByFileName(ctx, "acme", "api", "release.yml",
			&github.ListWorkflowRunsOptions{Status: "completed", Created: created, ListOptions: github.ListOptions{PerPage: 100, Page: page}})
		if err != nil {
			t.Fatal(err)
		}
		return runs
	}
	// Filtered: total_count is the true number, but only the newest 1,000 are listed.
	if runs := list("", 10); runs.GetTotalCount() != 1201 || len(runs.WorkflowRuns) != 100 {
		t.Errorf("page 10: total %d, %d runs; want 1201 and 100", runs.GetTotalCount(), len(runs.WorkflowRuns))
	}
	if runs := list("", 11); runs.GetTotalCount() != 1201 || len(runs.WorkflowRuns) != 0 {
		t.Errorf("page 11: total %d, %d runs; want 1201 and none past the cap", runs.GetTotalCount(), len(runs.WorkflowRuns))
	}
	// A date-time range holds both ends: 01:00:00 to 01:09:00 is ten runs.
	if runs := list("2026-03-01T01:00:00Z..2026-03-01T01:09:00Z", 1); runs.GetTotalCount() != 10 {
		t.Errorf("ten minutes: %d runs, want 10", runs.GetTotalCount())
	}
	// A run on a tag push: head_branch is the tag's name, head_sha the tagged commit.
	tagged := list("2026-03-02T00:00:00Z..*", 1)
	if tagged.GetTotalCount() != 1 || tagged.WorkflowRuns[0].GetHeadBranch() != "v1.4.0" || tagged.WorkflowRuns[0].GetHeadSHA() != repo.Head("v1.4.0") {
		t.Fatalf("tag run = %+v", tagged.WorkflowRuns)
	}
	// Only the git ref tells a tag from a branch.
	ref, _, err := c.Git.GetRef(ctx, "acme", "api", "tags/v1.4.0")
	if err != nil || ref.GetRef() != "refs/tags/v1.4.0" || ref.GetObject().GetSHA() != repo.Head("v1.4.0") || ref.GetObject().GetType() != "commit" {
		t.Errorf("tag ref = %+v, %v", ref, err)
	}
	if ref, _, err := c.Git.GetRef(ctx, "acme", "api", "heads/release/v1"); err != nil || ref.GetRef() != "refs/heads/release/v1" {
		t.Errorf("branch ref with a slash = %+v, %v", ref, err)
	}
	for _, missing := range []string{"tags/release/v1", "tags/v1.4", "heads/v1.4.0"} {
		if _, resp, err := c.Git.GetRef(ctx, "acme", "api", missing); err == nil || resp.StatusCode != 404 {
			t.Errorf("%s: %v, want 404", missing, err)
		}
	}
	if got := srv.Count("ref"); got != 5 {
		t.Errorf("%d ref requests counted, want 5", got)
	}
}

func TestReleasesDecode(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	c1 := repo.Commit("main", "alice", at(0))
	repo.AddRelease(githubtest.Release{TagName: "v1.0.0", CreatedAt: at(1), Author: "alice"})
	repo.Commit("main", "alice", at(2))
	repo.AddRelease(githubtest.Release{TagName: "v1.1.0-rc1", Prerelease: true, CreatedAt: at(3)})
	repo.AddRelease(githubtest.Release{TagName: "v1.1.0", Draft: true, CreatedAt: at(4)})
	c := newClient(t, srv)
	rels, _, err := c.Repositories.ListReleases(context.Background(), "acme", "api", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 3 || rels[0].GetTagName() != "v1.1.0" || !rels[0].GetDraft() || rels[0].PublishedAt != nil ||
		!rels[1].GetPrerelease() || rels[2].GetAuthor().GetLogin() != "alice" || !rels[2].GetPublishedAt().Time.Equal(at(1)) || rels[2].GetTargetCommitish() != "main" {
		t.Errorf("releases = %+v", rels)
	}
	if repo.Head("v1.0.0") != c1 {
		t.Errorf("tag v1.0.0 = %s, want %s", repo.Head("v1.0.0"), c1)
	}
	cmp, _, err := c.Repositories.CompareCommits(context.Background(), "acme", "api", "v1.0.0", "v1.1.0", nil)
	if err != nil || cmp.GetStatus() != "ahead" || cmp.GetAheadBy() != 1 {
		t.Errorf("compare tags = %v, %v", cmp, err)
	}
}
