package metrics

import (
	"slices"

	"github.com/flowmeter/flowmeter/schema"
)

// Ship attribution by range: comparing each production deployment's commit with the
// commit deployed before it in its service and environment lists everything the
// deployment shipped, which attributes every pull request merged in between with
// one question per deployment. Ranges are asked before any pull request's own walk;
// the walks then ask only what ranges could not decide: pull requests shipped by a
// service's first tracked deployment, and ranges broken by a force push or a
// rollback (where the previous commit is not an ancestor of the next).

// Ranges finds the ranges to compare and turns their comparisons into ancestry
// answers. It is built once a refresh, over the input whose Ancestry map it reads
// as the caller adds to it.
type Ranges struct {
	in     Input
	chains [][]*deployment
	// at lists where each range lies: its chain and the index of its deployment.
	at     map[schema.CommitPair][]chainIndex
	merged map[repoCommit][]*schema.PullRequest
}

type chainIndex struct{ chain, k int }

type repoCommit struct{ repo, sha string }

// NewRanges indexes the production deployments of each service and environment, and
// the merged pull requests by merge commit.
func NewRanges(in Input, rules *Rules) *Ranges {
	deps, _ := newDeployments(in, rules, in.Now)
	r := &Ranges{in: in, chains: sortedChains(deps), at: map[schema.CommitPair][]chainIndex{}, merged: map[repoCommit][]*schema.PullRequest{}}
	for c, list := range r.chains {
		for k := 1; k < len(list); k++ {
			if p, ok := rangeOf(list[k-1], list[k]); ok {
				r.at[p] = append(r.at[p], chainIndex{c, k})
			}
		}
	}
	for i := range in.PullRequests {
		pr := &in.PullRequests[i]
		if !pr.MergedAt.IsZero() && pr.MergeCommitSHA != "" {
			key := repoCommit{pr.Repo, lowerSHA(pr.MergeCommitSHA)}
			r.merged[key] = append(r.merged[key], pr)
		}
	}
	return r
}

// Needed lists the ranges worth comparing, oldest first within each service and
// environment: each production deployment with the one before it, when their
// commits differ and how they relate is not known yet. Comparing a range stores
// how its commits relate, so each is asked once ever.
func (r *Ranges) Needed(asked map[schema.CommitPair]bool) []schema.CommitPair {
	seen := map[schema.CommitPair]bool{}
	var out []schema.CommitPair
	for _, list := range r.chains {
		for k := 1; k < len(list); k++ {
			p, ok := rangeOf(list[k-1], list[k])
			if !ok || seen[p] || asked[p] || hasAnswer(r.in.Ancestry, p) {
				continue
			}
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// Answers turns compared ranges into the ancestry answers ship attribution and
// rollback detection ask for:
//   - how the two commits relate, both ways (so the range is not asked again, and
//     whether the later deployment went back to an older commit is known);
//   - for each merged pull request whose merge commit a range lists, that the
//     range's deployment contains it, and that the deployments before it in the
//     same service and environment do not, back to where the history was broken
//     (each of those is an ancestor of the commit replaced, which lacks it), and
//     only those the pull request's walk visits, started after its merge.
func (r *Ranges) Answers(ranges []schema.CommitRange) map[schema.CommitPair]bool {
	out := map[schema.CommitPair]bool{}
	for _, cr := range ranges {
		out[cr.CommitPair] = cr.BaseInHead
		out[schema.CommitPair{Repo: cr.Repo, Base: cr.Head, Head: cr.Base}] = cr.HeadInBase
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
		if v, ok := out[p]; ok {
			return v
		}
		return r.in.Ancestry[p]
	}
	for _, cr := range ranges {
		if !cr.BaseInHead {
			continue
		}
		for _, at := range r.at[cr.CommitPair] {
			list := r.chains[at.chain]
			for _, sha := range cr.Commits {
				for _, pr := range r.merged[repoCommit{cr.Repo, lowerSHA(sha)}] {
					out[schema.CommitPair{Repo: pr.Repo, Base: pr.MergeCommitSHA, Head: cr.Head}] = true
					for j := at.k - 1; j >= 0; j-- {
						d := list[j]
						if j < at.k-1 && !unbroken(d, list[j+1]) || d.rec.FinishedAt.Before(pr.MergedAt) {
							break // not an ancestor of the commit replaced, or no walk visits it
						}
						if canShip(d, pr) {
							out[schema.CommitPair{Repo: pr.Repo, Base: pr.MergeCommitSHA, Head: d.rec.CommitSHA}] = false
						}
					}
				}
			}
		}
	}
	return out
}

// sortedChains are the production deployments of each service and environment with
// a repository, in finishing order, the chains in a fixed order.
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
