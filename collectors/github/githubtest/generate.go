package githubtest

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// OrgSpec describes a generated organisation for GenerateOrg; zero fields take the
// defaults shown.
type OrgSpec struct {
	Org          string        // default "acme"
	Repos        int           // default 20, named "service-01", "service-02", ...
	PullRequests int           // per repository, default 500
	Start        time.Time     // when the first pull requests open, default 2026-01-01T00:00:00Z
	Every        time.Duration // between two pull requests of a repository, default 3h
	DeployEvery  int           // a production deployment after every Nth merge, default 5; negative for none
	Seed         uint64        // the same seed gives the same organisation
}

// GenerateOrg adds an organisation of Repos repositories with PullRequests pull
// requests each, deterministically: about 85% merged (squash or merge commits), 7%
// closed, the rest open; 8% by dependabot; 1–4 commits and 0–3 reviews each, some
// opened as drafts; a production deployment (with a "deploy.yml" workflow run) of the
// default branch after every DeployEvery merges. 20 × 500 builds well under a second.
func (s *Server) GenerateOrg(spec OrgSpec) []*Repo {
	s.t.Helper()
	if spec.Org == "" {
		spec.Org = "acme"
	}
	if spec.Repos == 0 {
		spec.Repos = 20
	}
	if spec.PullRequests == 0 {
		spec.PullRequests = 500
	}
	if spec.Start.IsZero() {
		spec.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if spec.Every == 0 {
		spec.Every = 3 * time.Hour
	}
	if spec.DeployEvery == 0 {
		spec.DeployEvery = 5
	}
	var repos []*Repo
	s.fatal(func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i := range spec.Repos {
			repo, err := s.generateRepo(spec, i)
			if err != nil {
				return err
			}
			repos = append(repos, repo)
		}
		return nil
	}())
	return repos
}

var (
	genAuthors   = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	genLabels    = []string{"bug", "feature", "chore", "refactor"}
	genDeployers = []string{"alice", "carol", "github-actions"}
)

func (s *Server) generateRepo(spec OrgSpec, index int) (*Repo, error) {
	rng := rand.New(rand.NewPCG(spec.Seed, uint64(index)+1))
	created := spec.Start.AddDate(0, -6, 0).Add(time.Duration(index) * time.Hour)
	repo, err := s.addRepo(Repository{Owner: spec.Org, Name: fmt.Sprintf("service-%02d", index+1), CreatedAt: created})
	if err != nil {
		return nil, err
	}
	main := repo.info.DefaultBranch
	repo.branches[main] = repo.newCommit(Commit{Message: "Initial commit", Author: genAuthors[index%len(genAuthors)], AuthorDate: created}, nil).sha
	workflow, err := repo.addWorkflow(Workflow{Name: "Deploy", Path: ".github/workflows/deploy.yml", CreatedAt: created})
	if err != nil {
		return nil, err
	}
	merges := 0
	var lastMerge time.Time
	for n := 1; n <= spec.PullRequests; n++ {
		opened := spec.Start.Add(time.Duration(n-1)*spec.Every + time.Duration(rng.Int64N(int64(spec.Every/2)+1)) + time.Duration(index)*time.Minute)
		pr := PullRequest{Number: n, CreatedAt: opened}
		bot := rng.IntN(100) < 8
		if bot {
			pr.Author, pr.AuthorIsBot = "dependabot", true
			pr.Title = fmt.Sprintf("Bump library-%d from 1.%d.0 to 1.%d.0", rng.IntN(40), n%9, n%9+1)
			pr.Labels = []string{"dependencies"}
		} else {
			pr.Author = genAuthors[rng.IntN(len(genAuthors))]
			pr.Title = fmt.Sprintf("Change %d of %s", n, repo.info.Name)
			if rng.IntN(100) < 30 {
				pr.Labels = []string{genLabels[rng.IntN(len(genLabels))]}
			}
		}
		commits := 1 + rng.IntN(4)
		if bot {
			commits = 1
		}
		for k := range commits {
			at := opened.Add(-time.Duration(commits-k) * 40 * time.Minute)
			if k > 0 && rng.IntN(3) == 0 {
				at = opened.Add(time.Duration(k) * 90 * time.Minute) // pushed after review
			}
			pr.Commits = append(pr.Commits, PRCommit{AuthorDate: at})
		}
		ready := opened
		if !bot && rng.IntN(100) < 12 {
			pr.Draft = true
			ready = opened.Add(time.Duration(1+rng.IntN(8)) * time.Hour)
		}
		outcome := rng.IntN(100)
		merged, closed := outcome < 85, outcome >= 85 && outcome < 92
		reviews := rng.IntN(4)
		if merged && reviews == 0 && !bot {
			reviews = 1
		}
		at := ready
		for j := range reviews {
			at = at.Add(time.Duration(30+rng.IntN(300)) * time.Minute)
			reviewer := genAuthors[rng.IntN(len(genAuthors))]
			if reviewer == pr.Author {
				reviewer = genAuthors[(index+j+n)%len(genAuthors)]
				if reviewer == pr.Author {
					reviewer = "reviewer-bot"
				}
			}
			state := []string{"commented", "changes_requested", "commented"}[rng.IntN(3)]
			if j == reviews-1 && merged {
				state = "approved"
			}
			pr.Events = append(pr.Events, Event{Kind: "reviewed", Actor: reviewer, State: state, At: at})
		}
		if pr.Draft {
			// Still a draft when not ready before it ends.
			if merged || closed || rng.IntN(2) == 0 {
				pr.Events = append(pr.Events, Event{Kind: "ready_for_review", At: ready})
				pr.Draft = false
			}
		}
		end := at.Add(time.Duration(20+rng.IntN(600)) * time.Minute)
		for _, c := range pr.Commits {
			end = latest(end, c.AuthorDate.Add(10*time.Minute))
		}
		switch {
		case merged:
			// Merges land on the default branch in order, as they do on GitHub: a
			// merge commit never precedes, in history, one merged before it.
			if !end.After(lastMerge) {
				end = lastMerge.Add(time.Duration(1+rng.IntN(30)) * time.Minute)
			}
			lastMerge = end
			pr.MergedAt = end
			pr.MergeMethod = "squash"
			if rng.IntN(100) < 40 {
				pr.MergeMethod = "merge"
			}
			if bot {
				pr.MergedBy = genAuthors[rng.IntN(len(genAuthors))]
			}
		case closed:
			pr.ClosedAt = end
		}
		pr.Additions, pr.Deletions, pr.ChangedFiles = 1+rng.IntN(400), rng.IntN(200), 1+rng.IntN(12)
		ps, err := repo.addPull(pr)
		if err != nil {
			return nil, err
		}
		if !merged {
			continue
		}
		merges++
		if spec.DeployEvery < 0 || merges%spec.DeployEvery != 0 {
			continue
		}
		deployedAt := ps.pr.MergedAt.Add(time.Duration(5+rng.IntN(40)) * time.Minute)
		failed := rng.IntN(100) < 10
		final, conclusion := "success", "success"
		if failed {
			final, conclusion = "failure", "failure"
		}
		creator := genDeployers[rng.IntN(len(genDeployers))]
		if _, err := repo.addDeployment(Deployment{
			SHA: ps.pr.MergeCommitSHA, Ref: main, Environment: "production", Creator: creator,
			CreatorIsBot: creator == "github-actions", CreatedAt: deployedAt,
			Statuses: []DeploymentStatus{
				{State: "in_progress", At: deployedAt.Add(time.Minute)},
				{State: final, At: deployedAt.Add(time.Duration(4+rng.IntN(20)) * time.Minute)},
			},
		}); err != nil {
			return nil, err
		}
		if _, err := repo.addRun(WorkflowRun{
			WorkflowID: workflow, HeadBranch: main, HeadSHA: ps.pr.MergeCommitSHA, Event: "push",
			Status: "completed", Conclusion: conclusion, CreatedAt: deployedAt.Add(-2 * time.Minute),
			RunStartedAt: deployedAt.Add(-time.Minute), UpdatedAt: deployedAt.Add(25 * time.Minute),
			Actor: ps.pr.MergedBy,
		}); err != nil {
			return nil, err
		}
	}
	return repo, nil
}
