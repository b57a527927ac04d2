// Package metrics derives facts from records, as METRICS.md defines them: pure
// functions over records and the config's rules, with the clock passed in, so the
// same records always give the same facts. metrics/aggregate turns facts of a window
// into figures; metrics/dora holds the DORA tier tables.
package metrics

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// Input is everything derivation reads.
type Input struct {
	PullRequests []schema.PullRequest
	Deployments  []schema.Deployment
	Incidents    []schema.Incident
	// Ancestry holds the known answers to "does Head contain Base?". Pairs it lacks
	// are unknown, and unknown ancestry falls back to time attribution.
	Ancestry map[schema.CommitPair]bool
	// Now stamps the facts (their UpdatedAt).
	Now time.Time
}

// Facts is what derivation produces, each list in the order of its records in the
// input, so the same input always gives the same output.
type Facts struct {
	Changes     []schema.ChangeFact
	Deployments []schema.DeploymentFact
	Incidents   []schema.IncidentFact
}

// deployment is a deployment with what derivation learns about it.
type deployment struct {
	rec        *schema.Deployment
	fact       *schema.DeploymentFact
	production bool
	// rollbackOf lists the production deployments this one rolls back.
	rollbackOf []*deployment
}

// newDeployments wraps each deployment with its fact's first fields: team,
// production or not, failed attempt or not.
func newDeployments(in Input, rules *Rules, now time.Time) ([]*deployment, map[string]*deployment) {
	deps := make([]*deployment, len(in.Deployments))
	byID := map[string]*deployment{}
	for i := range in.Deployments {
		d := &in.Deployments[i]
		team := rules.TeamOfDeployment(d.Service, d.Repo)
		prodEnv := rules.IsProductionEnvironment(team, d.Environment)
		x := &deployment{rec: d, production: prodEnv && d.Status == schema.DeploymentSuccess && !d.FinishedAt.IsZero()}
		x.fact = &schema.DeploymentFact{
			Source: d.Source, ID: d.ID, Team: team, Repo: d.Repo, Service: d.Service, Environment: d.Environment,
			Production: x.production, Status: string(d.Status),
			FailedAttempt: prodEnv && (d.Status == schema.DeploymentFailure || d.Status == schema.DeploymentError),
			CommitSHA:     d.CommitSHA, StartedAt: d.StartedAt, FinishedAt: d.FinishedAt,
			RecoverySeconds: schema.Unknown, UpdatedAt: now,
		}
		deps[i] = x
		byID[d.ID] = x
	}
	return deps, byID
}

// Derive turns records into facts.
func Derive(in Input, rules *Rules) Facts {
	now := in.Now.UTC()
	deps, byID := newDeployments(in, rules, now)
	byService := groupProduction(deps, func(d *deployment) string { return d.rec.Service })
	for _, list := range byService {
		markRollbacksAndHotfixes(list, rules)
	}

	changes := deriveChanges(in, rules, byRepo(deps), now)

	incidents := deriveFailures(in, rules, byService, byID, now)
	for _, d := range deps {
		f := d.fact
		if f.Production {
			if f.Rollback {
				addOnce(&f.UnplannedReasons, schema.UnplannedRollback)
			}
			if f.Hotfix {
				addOnce(&f.UnplannedReasons, schema.UnplannedHotfix)
			}
			sortReasons(f.UnplannedReasons, []string{schema.UnplannedRollback, schema.UnplannedHotfix, schema.UnplannedFixes})
			f.Unplanned = len(f.UnplannedReasons) > 0
		} else {
			f.UnplannedReasons = nil
		}
	}

	out := Facts{Changes: changes, Incidents: incidents, Deployments: make([]schema.DeploymentFact, len(deps))}
	for i, d := range deps {
		out.Deployments[i] = *d.fact
	}
	return out
}

// groupProduction lists production deployments by a key, each list in finishing
// order (ties by id, so the order never depends on the input's).
func groupProduction(deps []*deployment, key func(*deployment) string) map[string][]*deployment {
	groups := map[string][]*deployment{}
	for _, d := range deps {
		if d.production {
			groups[key(d)] = append(groups[key(d)], d)
		}
	}
	for _, list := range groups {
		slices.SortFunc(list, byFinish)
	}
	return groups
}

func byFinish(a, b *deployment) int {
	return cmp.Or(a.rec.FinishedAt.Compare(b.rec.FinishedAt), cmp.Compare(a.rec.Source, b.rec.Source), cmp.Compare(a.rec.ID, b.rec.ID))
}

// markRollbacksAndHotfixes finds, in one service's production deployments, those
// that are rollbacks (marked so, or deploying a commit an earlier production
// deployment had, other than the one just before) and those that are hotfixes
// (marked so, or a hotfix ref).
func markRollbacksAndHotfixes(list []*deployment, rules *Rules) {
	lastIndexOf := map[string]int{} // commit → index of the latest production deployment of it
	for i, d := range list {
		f := d.fact
		f.Hotfix = d.rec.Hotfix || rules.isHotfixRef(d.rec.Ref)
		if i > 0 {
			prev := list[i-1]
			sha := d.rec.CommitSHA
			target, seen := lastIndexOf[sha]
			switch {
			case sha != "" && seen && sha != prev.rec.CommitSHA:
				// Back to an older commit: everything deployed since is rolled back.
				f.Rollback = true
				for _, undone := range list[target+1 : i] {
					if undone.rec.CommitSHA != sha {
						d.rollbackOf = append(d.rollbackOf, undone)
					}
				}
			case d.rec.Rollback:
				f.Rollback = true
				d.rollbackOf = []*deployment{prev}
			}
		} else if d.rec.Rollback {
			f.Rollback = true // of something before tracking began
		}
		if d.rec.CommitSHA != "" {
			lastIndexOf[d.rec.CommitSHA] = i
		}
	}
}

// repoDeployments are a repository's production deployments in finishing order,
// with when the first of them started: a pull request merged before that may have
// shipped before tracking began.
type repoDeployments struct {
	list       []*deployment
	firstStart time.Time
}

func byRepo(deps []*deployment) map[string]*repoDeployments {
	out := map[string]*repoDeployments{}
	for repo, list := range groupProduction(deps, func(d *deployment) string { return d.rec.Repo }) {
		r := &repoDeployments{list: list, firstStart: list[0].rec.StartedAt}
		for _, d := range list[1:] {
			if d.rec.StartedAt.Before(r.firstStart) {
				r.firstStart = d.rec.StartedAt
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

// after lists the deployments finishing at or after t.
func (r *repoDeployments) after(t time.Time) []*deployment {
	if r == nil {
		return nil
	}
	i, _ := slices.BinarySearchFunc(r.list, t, func(d *deployment, t time.Time) int {
		if d.rec.FinishedAt.Before(t) {
			return -1
		}
		return 1
	})
	return r.list[i:]
}

// deriveChanges makes a change fact for every merged pull request; a bot's is
// excluded from every figure.
func deriveChanges(in Input, rules *Rules, prodByRepo map[string]*repoDeployments, now time.Time) []schema.ChangeFact {
	incidentIDs := map[string]bool{}
	for _, inc := range in.Incidents {
		incidentIDs[inc.ID] = true
	}
	out := make([]schema.ChangeFact, 0, len(in.PullRequests))
	for i := range in.PullRequests {
		pr := &in.PullRequests[i]
		if pr.MergedAt.IsZero() {
			continue
		}
		f := schema.ChangeFact{
			Source: pr.Source, ID: pr.ID, Team: rules.TeamOfRepo(pr.Repo), Repo: pr.Repo,
			FirstCommitAt: pr.FirstCommitAt, OpenedAt: pr.CreatedAt, ReadyAt: pr.ReadyAt,
			MergedAt: pr.MergedAt, UpdatedAt: now,
			LeadTimeSeconds: schema.Unknown, CodingSeconds: schema.Unknown, PickupSeconds: schema.Unknown,
			ReviewSeconds: schema.Unknown, DeploySeconds: schema.Unknown,
		}
		f.Unplanned = hasLabel(pr.Labels, rules.bugfixLabels) || hasLabel(pr.Labels, rules.hotfixLabels) ||
			referencesIncident(pr.Title, incidentIDs)
		if pr.FirstReviewer != "" && !rules.IsBot(pr.FirstReviewer) && !strings.EqualFold(pr.FirstReviewer, pr.Author) {
			f.FirstReviewAt = pr.FirstReviewAt
		}
		if rules.IsBot(pr.Author) {
			f.State, f.Unplanned = schema.ChangeExcluded, false
			out = append(out, f)
			continue
		}
		deploys := prodByRepo[pr.Repo]
		switch d, by := shippedBy(pr, deploys.after(pr.MergedAt), in.Ancestry); {
		case deploys.untracked(pr.MergedAt):
			f.State = schema.ChangeUntracked
		case d == nil:
			f.State = schema.ChangeUndeployed
		default:
			f.State, f.ShippedBy, f.Attribution = schema.ChangeShipped, d.rec.ID, by
			f.Service, f.ShippedAt = d.rec.Service, d.rec.FinishedAt
			d.fact.Changes++
			if f.Unplanned {
				addOnce(&d.fact.UnplannedReasons, schema.UnplannedFixes)
			}
			// A pull request with a hotfix label makes the deployment shipping it one.
			if hasLabel(pr.Labels, rules.hotfixLabels) {
				d.fact.Hotfix = true
			}
		}
		leadTime(&f)
		out = append(out, f)
	}
	return out
}

// shippedBy walks the production deployments finishing at or after the merge: the
// first whose commit is known to contain the merge commit ships it by
// ancestry; the first where that cannot be known ships it by time; those known not
// to contain it are passed.
func shippedBy(pr *schema.PullRequest, deploys []*deployment, ancestry map[schema.CommitPair]bool) (*deployment, schema.Attribution) {
	for _, d := range deploys {
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

// NeededPairs lists the ancestry questions attribution would ask next: for each
// merged pull request, the first production deployment in its walk whose answer is
// not known. Answer them and ask again until none are left; pairs that stay
// unanswerable fall back to time attribution. Pairs come grouped by deployed commit,
// oldest merge first, so one compare can answer the rest of its group.
func NeededPairs(in Input, rules *Rules) []schema.CommitPair {
	deps, _ := newDeployments(in, rules, in.Now)
	prodByRepo := byRepo(deps)
	type need struct {
		pair   schema.CommitPair
		merged time.Time
	}
	seen := map[schema.CommitPair]bool{}
	var needs []need
	for i := range in.PullRequests {
		pr := &in.PullRequests[i]
		deploys := prodByRepo[pr.Repo]
		if pr.MergedAt.IsZero() || pr.MergeCommitSHA == "" || rules.IsBot(pr.Author) || deploys.untracked(pr.MergedAt) {
			continue
		}
		for _, d := range deploys.after(pr.MergedAt) {
			if d.rec.CommitSHA == "" || d.rec.CommitSHA == pr.MergeCommitSHA {
				break
			}
			p := schema.CommitPair{Repo: pr.Repo, Base: pr.MergeCommitSHA, Head: d.rec.CommitSHA}
			contains, known := in.Ancestry[p]
			if !known {
				if !seen[p] {
					seen[p] = true
					needs = append(needs, need{p, pr.MergedAt})
				}
				break
			}
			if contains {
				break
			}
		}
	}
	slices.SortFunc(needs, func(a, b need) int {
		return cmp.Or(cmp.Compare(a.pair.Repo, b.pair.Repo), cmp.Compare(a.pair.Head, b.pair.Head),
			a.merged.Compare(b.merged), cmp.Compare(a.pair.Base, b.pair.Base))
	})
	out := make([]schema.CommitPair, len(needs))
	for i, n := range needs {
		out[i] = n.pair
	}
	return out
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

func seconds(from, to time.Time) int64 {
	return max(0, int64(to.Sub(from)/time.Second))
}

// referencesIncident says whether a title names a known incident by its id.
func referencesIncident(title string, ids map[string]bool) bool {
	if len(ids) == 0 {
		return false
	}
	words := strings.FieldsFunc(title, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})
	for _, w := range words {
		if ids[w] {
			return true
		}
	}
	return false
}

// deriveFailures applies the four failure rules to each service's production
// deployments, computes recovery, and makes the incident facts.
func deriveFailures(in Input, rules *Rules, byService map[string][]*deployment, byID map[string]*deployment, now time.Time) []schema.IncidentFact {
	window := rules.failureWindow
	// Production deployments by commit, to find the one an incident names by sha.
	bySHA := map[string][]*deployment{}
	for _, list := range byService {
		for _, d := range list {
			if d.rec.CommitSHA != "" {
				bySHA[d.rec.CommitSHA] = append(bySHA[d.rec.CommitSHA], d)
			}
		}
	}
	for _, list := range bySHA {
		slices.SortFunc(list, byFinish)
	}
	type link struct {
		d      *deployment
		reason string
	}
	linked := make([]link, len(in.Incidents))
	unnamed := map[string][]int{} // service → incidents that name no known deployment
	for i := range in.Incidents {
		inc := &in.Incidents[i]
		if d := namedDeployment(inc, byID, bySHA); d != nil {
			linked[i] = link{d, schema.ReasonIncidentNamed}
			continue
		}
		unnamed[inc.Service] = append(unnamed[inc.Service], i)
	}
	for service, idx := range unnamed {
		list := byService[service]
		for _, i := range idx {
			opened := in.Incidents[i].OpenedAt
			// The production deployment live when it opened: the last one finished at
			// or before it, if that was within the window.
			j, _ := slices.BinarySearchFunc(list, opened, func(d *deployment, t time.Time) int {
				if d.rec.FinishedAt.After(t) {
					return 1
				}
				return -1
			})
			if j == 0 {
				continue
			}
			if d := list[j-1]; opened.Sub(d.rec.FinishedAt) < window {
				linked[i] = link{d, schema.ReasonIncidentWindow}
			}
		}
	}

	incidents := make([]schema.IncidentFact, len(in.Incidents))
	for i := range in.Incidents {
		inc := &in.Incidents[i]
		f := schema.IncidentFact{
			Source: inc.Source, ID: inc.ID, Team: rules.TeamOfIncident(inc.Service), Service: inc.Service,
			Severity: inc.Severity, OpenedAt: inc.OpenedAt, ResolvedAt: inc.ResolvedAt,
			RestoreSeconds: schema.Unknown, UpdatedAt: now,
		}
		if !inc.ResolvedAt.IsZero() {
			f.RestoreSeconds = seconds(inc.OpenedAt, inc.ResolvedAt)
		}
		if l := linked[i]; l.d != nil {
			f.Deployment = l.d.rec.ID
			df := l.d.fact
			fail(l.d, l.reason)
			df.CausedIncidents = append(df.CausedIncidents, inc.ID)
			if !inc.ResolvedAt.IsZero() {
				recovered(df, inc.ResolvedAt, inc.ID)
			}
		}
		incidents[i] = f
	}
	for _, list := range byService {
		for i, d := range list {
			for _, undone := range d.rollbackOf {
				fail(undone, schema.ReasonRolledBack)
				recovered(undone.fact, d.rec.FinishedAt, d.rec.ID)
			}
			// A hotfix fixes the production deployment just before it, if it came
			// within the failure window.
			if i > 0 && d.fact.Hotfix {
				prev := list[i-1]
				if d.rec.FinishedAt.Sub(prev.rec.FinishedAt) <= window {
					fail(prev, schema.ReasonHotfixed)
					recovered(prev.fact, d.rec.FinishedAt, d.rec.ID)
				}
			}
		}
	}
	order := []string{schema.ReasonIncidentNamed, schema.ReasonIncidentWindow, schema.ReasonRolledBack, schema.ReasonHotfixed}
	for _, d := range byID {
		f := d.fact
		sortReasons(f.FailureReasons, order)
		slices.Sort(f.CausedIncidents)
		if f.Failed && !f.RecoveredAt.IsZero() {
			f.RecoverySeconds = seconds(f.FinishedAt, f.RecoveredAt)
		}
	}
	return incidents
}

// namedDeployment is the production deployment an incident names: by id, or by
// commit, the last production deployment of that commit finished by the time the
// incident opened.
func namedDeployment(inc *schema.Incident, byID map[string]*deployment, bySHA map[string][]*deployment) *deployment {
	if d, ok := byID[inc.CauseDeploymentID]; ok && inc.CauseDeploymentID != "" && d.production {
		return d
	}
	if inc.CauseCommitSHA == "" {
		return nil
	}
	var named *deployment
	for _, d := range bySHA[inc.CauseCommitSHA] {
		if d.rec.FinishedAt.After(inc.OpenedAt) {
			break
		}
		named = d
	}
	return named
}

// fail marks a production deployment failed for a reason, counted once however many
// reasons hold.
func fail(d *deployment, reason string) {
	d.fact.Failed = true
	addOnce(&d.fact.FailureReasons, reason)
}

// recovered keeps the earliest recovery of a failed deployment.
func recovered(f *schema.DeploymentFact, at time.Time, by string) {
	if f.RecoveredAt.IsZero() || at.Before(f.RecoveredAt) || at.Equal(f.RecoveredAt) && by < f.RecoveredBy {
		f.RecoveredAt, f.RecoveredBy = at, by
	}
}

func addOnce(list *[]string, s string) {
	if !slices.Contains(*list, s) {
		*list = append(*list, s)
	}
}

// sortReasons puts reasons in a fixed order, so facts compare equal however they
// were found.
func sortReasons(reasons []string, order []string) {
	slices.SortFunc(reasons, func(a, b string) int { return cmp.Compare(slices.Index(order, a), slices.Index(order, b)) })
}
