package githubtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-github/v57/github"

	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
)

func TestCompareStatuses(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	c1 := repo.Commit("main", "alice", at(0))
	c2 := repo.Commit("main", "alice", at(1))
	rel := repo.Branch("release/1.2", c1)
	r1 := repo.Commit(rel, "bob", at(2))
	c3 := repo.Commit("main", "alice", at(3))
	c := newClient(t, srv)
	ctx := context.Background()

	for _, tc := range []struct {
		base, head    string
		status        string
		ahead, behind int
		mergeBase     string
		commits       []string
	}{
		{c2, c2, "identical", 0, 0, c2, nil},
		{c1, "main", "ahead", 2, 0, c1, []string{c2, c3}},
		{"main", c1, "behind", 0, 2, c1, nil},
		{"main", "release/1.2", "diverged", 1, 2, c1, []string{r1}},
		{"release/1.2", "main", "diverged", 2, 1, c1, []string{c2, c3}},
		{c1[:7], r1, "ahead", 1, 0, c1, []string{r1}},
		{"acme:main", "acme:release/1.2", "diverged", 1, 2, c1, []string{r1}},
	} {
		cmp, _, err := c.Repositories.CompareCommits(ctx, "acme", "api", tc.base, tc.head, nil)
		if err != nil {
			t.Fatalf("%s...%s: %v", tc.base, tc.head, err)
		}
		if cmp.GetStatus() != tc.status || cmp.GetAheadBy() != tc.ahead || cmp.GetBehindBy() != tc.behind || cmp.GetTotalCommits() != tc.ahead ||
			cmp.GetMergeBaseCommit().GetSHA() != tc.mergeBase || len(cmp.Commits) != len(tc.commits) {
			t.Errorf("%s...%s: status %s ahead %d behind %d merge base %.7s, %d commits", tc.base, tc.head, cmp.GetStatus(), cmp.GetAheadBy(), cmp.GetBehindBy(), cmp.GetMergeBaseCommit().GetSHA(), len(cmp.Commits))
			continue
		}
		for i, sha := range tc.commits {
			if cmp.Commits[i].GetSHA() != sha {
				t.Errorf("%s...%s: commit %d = %.7s, want %.7s", tc.base, tc.head, i, cmp.Commits[i].GetSHA(), sha)
			}
		}
		if cmp.GetBaseCommit().GetSHA() != repo.Head(strings.TrimPrefix(tc.base, "acme:")) || cmp.Files == nil {
			t.Errorf("%s...%s: base_commit %.7s, files %v", tc.base, tc.head, cmp.GetBaseCommit().GetSHA(), cmp.Files)
		}
	}
	main, _, _ := c.Repositories.CompareCommits(ctx, "acme", "api", c1, c3, nil)
	got := main.Commits[1]
	if !got.GetCommit().GetAuthor().GetDate().Time.Equal(at(3)) || got.GetCommit().GetAuthor().GetName() != "alice" || len(got.Parents) != 1 || got.Parents[0].GetSHA() != c2 {
		t.Errorf("commit = %+v", got)
	}

	if _, resp, err := c.Repositories.CompareCommits(ctx, "acme", "api", c1, "0123456789abcdef0123456789abcdef01234567", nil); err == nil || resp.StatusCode != 404 {
		t.Errorf("unknown sha: %v", err)
	}
	_, raw := getRaw(t, srv, "repos/acme/api/compare/nope...main", nil)
	if m := decode(t, raw).(map[string]any); m["message"] != "Not Found" {
		t.Errorf("unknown ref: %v", m)
	}
}

func TestCompareLimitAndPaging(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	base := repo.Commit("main", "alice", at(0))
	var shas []string
	for i := range 260 {
		shas = append(shas, repo.Commit("main", "alice", at(float64(i+1))))
	}
	c := newClient(t, srv)
	ctx := context.Background()
	// Without paging parameters: at most 250, the last the most recent.
	cmp, _, err := c.Repositories.CompareCommits(ctx, "acme", "api", base, "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.GetTotalCommits() != 260 || len(cmp.Commits) != 250 || cmp.Commits[0].GetSHA() != shas[10] || cmp.Commits[249].GetSHA() != shas[259] {
		t.Errorf("unpaged: total %d, %d commits", cmp.GetTotalCommits(), len(cmp.Commits))
	}
	// With them: pages oldest first, with Link.
	var all []string
	opts := &github.ListOptions{PerPage: 100}
	for {
		cmp, resp, err := c.Repositories.CompareCommits(ctx, "acme", "api", base, "main", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, cm := range cmp.Commits {
			all = append(all, cm.GetSHA())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(all) != 260 || all[0] != shas[0] || all[259] != shas[259] {
		t.Errorf("paged: %d commits", len(all))
	}
}

func TestMergeCommitsInComparison(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	root := repo.Commit("main", "alice", at(0))
	pr := repo.AddPullRequest(githubtest.PullRequest{Author: "bob", CreatedAt: at(1), MergedAt: at(4),
		Commits: []githubtest.PRCommit{{AuthorDate: at(1)}, {AuthorDate: at(2)}}})
	c := newClient(t, srv)
	cmp, _, err := c.Repositories.CompareCommits(context.Background(), "acme", "api", root, "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.GetAheadBy() != 3 || cmp.Commits[2].GetSHA() != pr.MergeCommitSHA || len(cmp.Commits[2].Parents) != 2 ||
		cmp.Commits[2].GetCommit().GetCommitter().GetName() != "GitHub" || cmp.Commits[0].GetSHA() != pr.Commits[0].SHA {
		t.Errorf("merge: ahead %d, commits %+v", cmp.GetAheadBy(), cmp.Commits)
	}
	// The head branch is behind main once merged.
	back, _, _ := c.Repositories.CompareCommits(context.Background(), "acme", "api", "main", "feature-1", nil)
	if back.GetStatus() != "behind" || back.GetBehindBy() != 1 {
		t.Errorf("feature-1 vs main: %s behind %d", back.GetStatus(), back.GetBehindBy())
	}
}
