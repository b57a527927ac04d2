package metrics

import (
	"slices"
	"strings"

	"github.com/flowmeter/flowmeter/schema"
)

// markReverts finds the pull requests each merged pull request reverts (by the
// title GitHub and git give a revert, `Revert "<title>"`, and by what its body
// names: "Reverts owner/repo#N", "This reverts commit <sha>"), records them on its
// change fact, and when the revert shipped, marks its deployment a revert and
// fails the deployment that shipped the reverted pull request, recovered when the
// revert shipped. That is never simply the deployment before the revert: a revert
// shipped three releases later blames the release that carried the change.
func markReverts(prs []schema.PullRequest, byPR, byMerge map[string]*change) {
	// Only titles some revert names are indexed: most pull requests are no revert.
	wanted := map[string]bool{}
	for i := range prs {
		if inner, ok := revertedTitle(prs[i].Title); ok {
			wanted[prs[i].Repo+"\x00"+inner] = true
		}
	}
	byTitle := map[string][]*change{} // repo and title → changes, in merge order
	for i := 0; i < len(prs) && len(wanted) > 0; i++ {
		if key := prs[i].Repo + "\x00" + prs[i].Title; wanted[key] {
			if c := byPR[prs[i].ID]; c != nil {
				byTitle[key] = append(byTitle[key], c)
			}
		}
	}
	for _, list := range byTitle {
		slices.SortFunc(list, func(a, b *change) int { return a.pr.MergedAt.Compare(b.pr.MergedAt) })
	}
	for i := range prs {
		c := byPR[prs[i].ID]
		if c == nil || len(c.pr.Reverts) == 0 && !strings.HasPrefix(c.pr.Title, `Revert "`) {
			continue
		}
		for _, reverted := range revertedBy(c, byPR, byMerge, byTitle) {
			addOnce(&c.fact.Reverts, reverted.pr.ID)
			by := c.shippedBy
			if by == nil {
				continue
			}
			by.fact.Revert = true
			if shipped := reverted.shippedBy; shipped != nil && shipped != by {
				fail(shipped, schema.ReasonReverted, by.rec.FinishedAt, by.rec.ID)
			}
		}
		slices.Sort(c.fact.Reverts)
	}
}

// revertedBy lists the merged pull requests a change reverts.
func revertedBy(c *change, byPR, byMerge map[string]*change, byTitle map[string][]*change) []*change {
	var out []*change
	add := func(r *change) {
		if r != nil && r != c && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	for _, ref := range c.pr.Reverts {
		if strings.Contains(ref, "#") {
			add(byPR[ref])
		} else {
			add(byMerge[lowerSHA(ref)])
		}
	}
	if inner, ok := revertedTitle(c.pr.Title); ok {
		// The latest pull request of that title merged before the revert.
		var last *change
		for _, r := range byTitle[c.pr.Repo+"\x00"+inner] {
			if !r.pr.MergedAt.Before(c.pr.MergedAt) {
				break
			}
			last = r
		}
		add(last)
	}
	return out
}

// revertedTitle is the title inside `Revert "<title>"`, the title GitHub's revert
// button and git revert give.
func revertedTitle(title string) (string, bool) {
	inner, ok := strings.CutPrefix(strings.TrimSpace(title), `Revert "`)
	if !ok {
		return "", false
	}
	inner, ok = strings.CutSuffix(inner, `"`)
	return inner, ok && inner != ""
}
