package metrics

import (
	"cmp"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// repoDeployments are the deployments a repository's pull requests can ship with:
// its counted production deployments in finishing order, and when the first of
// all its production deployments started (a pull request merged before that may
// have shipped before tracking began).
type repoDeployments struct {
	list       []*deployment
	firstStart time.Time
}

func byRepo(deps []*deployment) map[string]*repoDeployments {
	out := map[string]*repoDeployments{}
	for repo, list := range groupProduction(deps, func(d *deployment) string { return d.rec.Repo }) {
		r := &repoDeployments{firstStart: list[0].rec.StartedAt}
		for _, d := range list {
			if d.rec.StartedAt.Before(r.firstStart) {
				r.firstStart = d.rec.StartedAt
			}
			if d.counted() {
				r.list = append(r.list, d)
			}
		}
		out[repo] = r
	}
	return out
}

// untracked says whether a merge came before tracking began.
func (r *repoDeployments) untracked(merged time.Time) bool {
	return r != nil && merged.Before(r.firstStart)
}

// finishedFrom lists the deployments finishing at or after a merge. Only those that
// also started at or after it can ship it (canShip): one that started earlier
// cannot contain it.
func (r *repoDeployments) finishedFrom(merged time.Time) []*deployment {
	if r == nil {
		return nil
	}
	i, _ := slices.BinarySearchFunc(r.list, merged, func(d *deployment, t time.Time) int {
		if d.rec.FinishedAt.Before(t) {
			return -1
		}
		return 1
	})
	return r.list[i:]
}

// canShip says whether a deployment started at or after a merge.
func canShip(d *deployment, pr *schema.PullRequest) bool { return !d.rec.StartedAt.Before(pr.MergedAt) }

// change is a merged pull request with its fact and the deployment that shipped it.
type change struct {
	pr        *schema.PullRequest
	fact      *schema.ChangeFact
	shippedBy *deployment
}

// deriveChanges makes a change fact for every merged pull request, attributing it
// to the deployment that shipped it; a bot's is excluded from every figure. It
// returns the facts, and the merged pull requests that reverts or incidents name,
// by id and by merge commit (lower-case, as shas are compared): indexing only those
// keeps a million pull requests out of two maps.
func deriveChanges(in Input, rules *Rules, prodByRepo map[string]*repoDeployments, now time.Time) ([]schema.ChangeFact, map[string]*change, map[string]*change) {
	named := namedChanges(in)
	incidentIDs := map[string]bool{}
	for _, inc := range in.Incidents {
		incidentIDs[inc.ID] = true
	}
	// Neither slice grows past its capacity, so pointers into them stay valid.
	out := make([]schema.ChangeFact, 0, len(in.PullRequests))
	all := make([]change, 0, len(in.PullRequests))
	byID, byMerge := map[string]*change{}, map[string]*change{}
	for i := range in.PullRequests {
		pr := &in.PullRequests[i]
		if pr.MergedAt.IsZero() {
			continue
		}
		out = append(out, schema.ChangeFact{
			Source: pr.Source, ID: pr.ID, Team: rules.TeamOfRepo(pr.Repo), Repo: pr.Repo,
			FirstCommitAt: pr.FirstCommitAt, OpenedAt: pr.CreatedAt, ReadyAt: pr.ReadyAt,
			MergedAt: pr.MergedAt, UpdatedAt: now,
			LeadTimeSeconds: schema.Unknown, CodingSeconds: schema.Unknown, PickupSeconds: schema.Unknown,
			ReviewSeconds: schema.Unknown, DeploySeconds: schema.Unknown,
		})
		f := &out[len(out)-1]
		all = append(all, change{pr: pr, fact: f})
		c := &all[len(all)-1]
		if named[pr.ID] || named[pr.Repo+"\x00"+pr.Title] || strings.HasPrefix(pr.Title, `Revert "`) || len(pr.Reverts) > 0 {
			byID[pr.ID] = c
		}
		if sha := lowerSHA(pr.MergeCommitSHA); sha != "" && named[sha] {
			byMerge[sha] = c
		}
		f.Unplanned = hasLabel(pr.Labels, rules.bugfixLabels) || hasLabel(pr.Labels, rules.hotfixLabels) ||
			referencesIncident(pr.Title, incidentIDs)
		if pr.FirstReviewer != "" && !rules.IsBot(pr.FirstReviewer) && !strings.EqualFold(pr.FirstReviewer, pr.Author) {
			f.FirstReviewAt = pr.FirstReviewAt
		}
		if rules.IsBot(pr.Author) {
			f.State, f.Unplanned = schema.ChangeExcluded, false
			continue
		}
		deploys := prodByRepo[pr.Repo]
		switch d, by := shippedBy(pr, deploys.finishedFrom(pr.MergedAt), in.Ancestry); {
		case deploys.untracked(pr.MergedAt):
			f.State = schema.ChangeUntracked
		case d == nil:
			f.State = schema.ChangeUndeployed
		default:
			f.State, f.ShippedBy, f.Attribution = schema.ChangeShipped, d.rec.ID, by
			f.Service, f.ShippedAt = d.rec.Service, d.rec.FinishedAt
			c.shippedBy = d
			d.shipped = append(d.shipped, f)
			d.fact.Changes++
			// A pull request with a hotfix label makes the deployment shipping it one.
			if hasLabel(pr.Labels, rules.hotfixLabels) {
				d.fact.Hotfix = true
			}
		}
		leadTime(f)
	}
	return out, byID, byMerge
}

// namedChanges lists what reverts and incidents name pull requests by: their ids,
// commit shas (lower-case) that may be merge commits, and repository and title
// joined by a NUL.
func namedChanges(in Input) map[string]bool {
	named := map[string]bool{}
	for i := range in.PullRequests {
		pr := &in.PullRequests[i]
		for _, ref := range pr.Reverts {
			named[lowerSHA(ref)] = true
		}
		if inner, ok := revertedTitle(pr.Title); ok {
			named[pr.Repo+"\x00"+inner] = true
		}
	}
	for i := range in.Incidents {
		if inc := &in.Incidents[i]; inc.CausePullRequest != "" {
			named[inc.CausePullRequest] = true
		}
		if sha := lowerSHA(in.Incidents[i].CauseCommitSHA); sha != "" {
			named[sha] = true
		}
	}
	return named
}

// lowerSHA lower-cases a commit sha, without allocating when it is already so, as
// sources give them.
func lowerSHA(sha string) string {
	for i := 0; i < len(sha); i++ {
		if c := sha[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(sha)
		}
	}
	return sha
}

// shippedBy walks the deployments that can ship a pull request: the first whose
// commit is known to contain the merge commit ships it by ancestry; the first where
// that cannot be known ships it by time; those known not to contain it are passed.
func shippedBy(pr *schema.PullRequest, deploys []*deployment, ancestry map[schema.CommitPair]bool) (*deployment, schema.Attribution) {
	for _, d := range deploys {
		if !canShip(d, pr) {
			continue
		}
		if pr.MergeCommitSHA == "" || d.rec.CommitSHA == "" {
			return d, schema.ByTime
		}
		if pr.MergeCommitSHA == d.rec.CommitSHA {
			return d, schema.ByAncestry
		}
		contains, known := ancestry[schema.CommitPair{Repo: pr.Repo, Base: pr.MergeCommitSHA, Head: d.rec.CommitSHA}]
		switch {
		case !known:
			return d, schema.ByTime
		case contains:
			return d, schema.ByAncestry
		}
	}
	return nil, ""
}

// asksAncestry says whether a pull request's ship attribution walk asks ancestry
// questions: it is merged, with a merge commit to ask about, not by a bot (its
// change is excluded) and not before tracking began (untracked).
func asksAncestry(pr *schema.PullRequest, rules *Rules, deploys *repoDeployments) bool {
	return !pr.MergedAt.IsZero() && pr.MergeCommitSHA != "" && !rules.IsBot(pr.Author) && !deploys.untracked(pr.MergedAt)
}

// walkQuestions are the questions a merged pull request's ship attribution walk
// asks, in order, of the deployments that can ship it: does this one's commit
// contain the merge commit? It ends before a deployment of an unknown commit or of
// the merge commit itself, which decide without asking; the caller stops it at
// the first deployment known to contain it.
func walkQuestions(pr *schema.PullRequest, deploys *repoDeployments) iter.Seq[schema.CommitPair] {
	return func(yield func(schema.CommitPair) bool) {
		for _, d := range deploys.finishedFrom(pr.MergedAt) {
			if !canShip(d, pr) {
				continue
			}
			if d.rec.CommitSHA == "" || d.rec.CommitSHA == pr.MergeCommitSHA {
				return
			}
			if !yield(schema.CommitPair{Repo: pr.Repo, Base: pr.MergeCommitSHA, Head: d.rec.CommitSHA}) {
				return
			}
		}
	}
}

// NeededPairs lists the ancestry questions derivation would ask next: for each
// merged pull request, up to perWalk of the next unanswered questions of its ship
// attribution walk, and for each production deployment that replaced another
// commit in its service and environment, whether it went back to an older one.
// Answer them and ask again until none are left, so every walk is decided whole.
// A pair in asked that is still unanswered cannot be answered: its walk ends there,
// by time. Pairs come grouped by deployed commit, oldest merge first, so one
// compare can answer the rest of its group.
func NeededPairs(in Input, rules *Rules, perWalk int, asked map[schema.CommitPair]bool) []schema.CommitPair {
	deps, _ := newDeployments(in, rules, in.Now)
	groupRollouts(deps)
	prodByRepo := byRepo(deps)
	type need struct {
		pair schema.CommitPair
		at   time.Time
	}
	seen := map[schema.CommitPair]bool{}
	var needs []need
	ask := func(p schema.CommitPair, at time.Time) {
		if !seen[p] {
			seen[p] = true
			needs = append(needs, need{p, at})
		}
	}
	for i := range in.PullRequests {
		pr := &in.PullRequests[i]
		deploys := prodByRepo[pr.Repo]
		if !asksAncestry(pr, rules, deploys) {
			continue
		}
		unknown := 0
		for p := range walkQuestions(pr, deploys) {
			contains, known := in.Ancestry[p]
			if known && contains {
				break
			}
			if !known {
				if asked[p] {
					break
				}
				ask(p, pr.MergedAt)
				if unknown++; unknown >= perWalk {
					break
				}
			}
		}
	}
	for _, list := range groupProduction(deps, serviceAndEnvironment) {
		for i, d := range list[1:] {
			prev := list[i]
			sha, replaced := d.rec.CommitSHA, prev.rec.CommitSHA
			if d.rec.Rollback || d.rec.Repo == "" || sha == "" || replaced == "" || sha == replaced {
				continue
			}
			if p := rollbackQuestion(d, prev); !hasAnswer(in.Ancestry, p) && !asked[p] {
				ask(p, d.rec.StartedAt)
			}
		}
	}
	slices.SortFunc(needs, func(a, b need) int {
		return cmp.Or(cmp.Compare(a.pair.Repo, b.pair.Repo), cmp.Compare(a.pair.Head, b.pair.Head),
			a.at.Compare(b.at), cmp.Compare(a.pair.Base, b.pair.Base))
	})
	out := make([]schema.CommitPair, len(needs))
	for i, n := range needs {
		out[i] = n.pair
	}
	return out
}

func hasAnswer(ancestry map[schema.CommitPair]bool, p schema.CommitPair) bool {
	_, known := ancestry[p]
	return known
}

// leadTime fills the durations, each clamped at zero; parts that cannot be known are
// left Unknown.
func leadTime(f *schema.ChangeFact) {
	first := f.FirstCommitAt
	if first.IsZero() {
		first = f.OpenedAt // no commit dates: the pull request's opening is the best bound
	}
	ready := f.ReadyAt
	if ready.IsZero() {
		ready = f.OpenedAt
	}
	f.CodingSeconds = seconds(first, ready)
	if !f.FirstReviewAt.IsZero() {
		f.PickupSeconds = seconds(ready, f.FirstReviewAt)
		f.ReviewSeconds = seconds(f.FirstReviewAt, f.MergedAt)
	}
	if f.State == schema.ChangeShipped {
		f.LeadTimeSeconds = seconds(first, f.ShippedAt)
		f.DeploySeconds = seconds(f.MergedAt, f.ShippedAt)
	}
}

// referencesIncident says whether a title names a known incident by its id.
func referencesIncident(title string, ids map[string]bool) bool {
	if len(ids) == 0 {
		return false
	}
	inWord := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	for i := 0; i < len(title); {
		j := i
		for j < len(title) && inWord(title[j]) {
			j++
		}
		if j > i && ids[title[i:j]] {
			return true
		}
		i = j + 1
	}
	return false
}
