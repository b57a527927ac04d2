package metrics

import (
	"slices"

	"github.com/flowmeter/flowmeter/schema"
)

// Ship attribution by range: comparing each production deployment's commit with the
// commit deployed before it in its repository, service and environment lists
// everything the deployment shipped, which attributes every pull request merged in
// between with one question per deployment. Ranges are asked before any pull
// request's own walk; the walks then ask only what ranges could not decide.

// Ranges finds the ranges to compare and turns their comparisons into ancestry
// answers. It is built once a refresh, over the input whose Ancestry map it reads
// as the caller adds to it.
type Ranges struct {
	in    Input
	rules *Rules
	// chains are the production deployments of each repository, service and
	// environment, in finishing order.
	chains [][]*deployment
	// at lists where each range lies: its chain and the index of its deployment.
	at map[schema.CommitPair][]chainIndex
	// walks are the deployments each repository's pull request walks visit.
	walks map[string]*repoDeployments
	// needed are the ranges worth comparing when the Ranges were built.
	needed []schema.CommitPair
	// merged indexes, by repository and lower-case merge commit, the pull requests
	// whose walks ask ancestry questions, of the repositories in indexed only: a
	// refresh with few new deployments indexes few.
	merged  map[repoCommit][]*schema.PullRequest
	indexed map[string]bool
}

type chainIndex struct{ chain, k int }

type repoCommit struct{ repo, sha string }

// NewRanges indexes the production deployments of each service and environment.
func NewRanges(in Input, rules *Rules) *Ranges {
	deps, _ := newDeployments(in, rules, in.Now)
	groupRollouts(deps)
	r := &Ranges{
		in: in, rules: rules, chains: sortedChains(deps), at: map[schema.CommitPair][]chainIndex{}, walks: byRepo(deps),
		merged: map[repoCommit][]*schema.PullRequest{}, indexed: map[string]bool{},
	}
	for c, list := range r.chains {
		for k := 1; k < len(list); k++ {
			if p, ok := rangeOf(list[k-1], list[k]); ok {
				r.at[p] = append(r.at[p], chainIndex{c, k})
			}
		}
	}
	r.needed = r.unanswered()
	r.index(r.needed)
	return r
}

// Needed lists the ranges worth comparing, by repository, each chain oldest first:
// each production deployment with the one before it, when their commits differ and
// how they relate was not known when the Ranges were built, either way round (a
// walk may have asked whether the later went back to the earlier). Comparing a
// range stores how its commits relate, so each is asked once, unless GitHub does
// not know one of them.
func (r *Ranges) Needed() []schema.CommitPair { return r.needed }

func (r *Ranges) unanswered() []schema.CommitPair {
	seen := map[schema.CommitPair]bool{}
	var out []schema.CommitPair
	for _, list := range r.chains {
		for k := 1; k < len(list); k++ {
			p, ok := rangeOf(list[k-1], list[k])
			back := schema.CommitPair{Repo: p.Repo, Base: p.Head, Head: p.Base}
			if !ok || seen[p] || hasAnswer(r.in.Ancestry, p) || hasAnswer(r.in.Ancestry, back) {
				continue
			}
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// index adds to merged the pull requests whose walks ask ancestry questions, of
// the ranges' repositories not indexed yet, in one pass over the pull requests.
func (r *Ranges) index(ranges []schema.CommitPair) {
	repos := map[string]bool{}
	for _, p := range ranges {
		if !r.indexed[p.Repo] {
			repos[p.Repo] = true
			r.indexed[p.Repo] = true
		}
	}
	if len(repos) == 0 {
		return
	}
	for i := range r.in.PullRequests {
		pr := &r.in.PullRequests[i]
		if repos[pr.Repo] && asksAncestry(pr, r.rules, r.walks[pr.Repo]) {
			key := repoCommit{pr.Repo, lowerSHA(pr.MergeCommitSHA)}
			r.merged[key] = append(r.merged[key], pr)
		}
	}
}

// listed are the indexed pull requests that ranges whose base is in their head
// list, in the order listed, each once though several ranges list it: its walk
// is the same whichever range listed it.
func (r *Ranges) listed(ranges []schema.CommitRange) []*schema.PullRequest {
	seen := map[*schema.PullRequest]bool{}
	var out []*schema.PullRequest
	for _, cr := range ranges {
		if !cr.BaseInHead {
			continue
		}
		for _, sha := range cr.Commits {
			for _, pr := range r.merged[repoCommit{cr.Repo, lowerSHA(sha)}] {
				if !seen[pr] {
					seen[pr] = true
					out = append(out, pr)
				}
			}
		}
	}
	return out
}

// Answers turns compared ranges into the ancestry answers ship attribution and
// rollback detection ask for. Give it every range of a repository at once (Needed
// lists them together): a pull request's walk crosses the repository's services.
//   - How the two commits of each range relate, both ways: so it is not asked
//     again, and whether the later deployment went back to an older commit is known.
//   - For each merged pull request a range lists, the answers its walk asks, in
//     order, until a deployment contains it or one cannot be decided: a range's
//     deployment contains what it lists, and the deployments before it in the same
//     chain, back to where the history was broken, do not (each is an ancestor of
//     the commit replaced, which lacks it).
func (r *Ranges) Answers(ranges []schema.CommitRange) map[schema.CommitPair]bool {
	out := map[schema.CommitPair]bool{}
	pairs := make([]schema.CommitPair, len(ranges))
	for i, cr := range ranges {
		out[cr.CommitPair] = cr.BaseInHead
		out[schema.CommitPair{Repo: cr.Repo, Base: cr.Head, Head: cr.Base}] = cr.HeadInBase
		pairs[i] = cr.CommitPair
	}
	r.index(pairs) // a no-op for the ranges Needed listed
	known := func(p schema.CommitPair) (bool, bool) {
		if v, ok := out[p]; ok {
			return v, true
		}
		v, ok := r.in.Ancestry[p]
		return v, ok
	}
	// unbroken says whether b's commit contains a's, as far as is known.
	unbroken := func(a, b *deployment) bool {
		if a.rec.CommitSHA != "" && a.rec.CommitSHA == b.rec.CommitSHA {
			return true
		}
		p, ok := rangeOf(a, b)
		if !ok {
			return false
		}
		v, _ := known(p)
		return v
	}
	inferred := map[schema.CommitPair]bool{}
	for _, cr := range ranges {
		if !cr.BaseInHead {
			continue
		}
		for _, sha := range cr.Commits {
			prs := r.merged[repoCommit{cr.Repo, lowerSHA(sha)}]
			for _, at := range r.at[cr.CommitPair] {
				list := r.chains[at.chain]
				for _, pr := range prs {
					inferred[schema.CommitPair{Repo: pr.Repo, Base: pr.MergeCommitSHA, Head: cr.Head}] = true
					for j := at.k - 1; j >= 0; j-- {
						d := list[j]
						if j < at.k-1 && !unbroken(d, list[j+1]) || d.rec.FinishedAt.Before(pr.MergedAt) {
							break // not an ancestor of the commit replaced, or no walk visits it
						}
						inferred[schema.CommitPair{Repo: pr.Repo, Base: pr.MergeCommitSHA, Head: d.rec.CommitSHA}] = false
					}
				}
			}
		}
	}
	// Keep only what the walks ask, as NeededPairs and shippedBy walk.
	for _, pr := range r.listed(ranges) {
		for p := range walkQuestions(pr, r.walks[pr.Repo]) {
			contains, ok := known(p)
			if !ok {
				if contains, ok = inferred[p]; !ok {
					break // the walk asks from here
				}
				out[p] = contains
			}
			if contains {
				break
			}
		}
	}
	return out
}

// sortedChains are the production deployments of each repository, service and
// environment, in finishing order, the chains in a fixed order that keeps a
// repository's together.
func sortedChains(deps []*deployment) [][]*deployment {
	groups := groupProduction(deps, func(d *deployment) string { return d.rec.Repo + "\x00" + serviceAndEnvironment(d) })
	keys := make([]string, 0, len(groups))
	for k, list := range groups {
		if list[0].rec.Repo != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([][]*deployment, len(keys))
	for i, k := range keys {
		out[i] = groups[k]
	}
	return out
}

// rangeOf is the range a deployment shipped over the one before it: none when
// either commit is unknown, they are the same, or it is a marked rollback (which
// goes back rather than ships).
func rangeOf(prev, d *deployment) (schema.CommitPair, bool) {
	base, head := prev.rec.CommitSHA, d.rec.CommitSHA
	if base == "" || head == "" || base == head || d.rec.Rollback {
		return schema.CommitPair{}, false
	}
	return schema.CommitPair{Repo: d.rec.Repo, Base: base, Head: head}, true
}
