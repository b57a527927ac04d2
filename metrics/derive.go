// Package metrics derives the DORA facts from records, as docs/metrics.md defines
// them: pure functions over records and the config's rules, with the clock passed
// in, so the same records always give the same facts. The derivation runs in
// steps, one file each: rollouts (rollouts.go), rollbacks and hotfixes per service
// and environment (replacements.go), ship attribution and lead time (changes.go),
// reverts (reverts.go), incident links (incidents.go), then failure, recovery and
// rework are settled here. metrics/aggregate turns facts of a window into figures;
// metrics/dora holds the DORA tier tables.
package metrics

import (
	"cmp"
	"slices"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// Input is everything derivation reads.
type Input struct {
	PullRequests []schema.PullRequest
	Deployments  []schema.Deployment
	Incidents    []schema.Incident
	// Ancestry holds the known answers to "does Head contain Base?". Pairs it lacks
	// are unknown: ship attribution falls back to time, and rollbacks to the order
	// in which commits were first deployed.
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

// declaredIncidents leaves out alerts: a page nobody declared an incident is toil,
// but neither fails a deployment nor counts in time to restore. The input's slice
// is not changed.
func declaredIncidents(all []schema.Incident) []schema.Incident {
	out := make([]schema.Incident, 0, len(all))
	for _, inc := range all {
		if inc.Kind != schema.IncidentKindAlert {
			out = append(out, inc)
		}
	}
	return out
}

// deployment is a deployment with what derivation learns about it.
type deployment struct {
	rec        *schema.Deployment
	fact       *schema.DeploymentFact
	production bool
	// rollout is the deployment a rollout counts as: itself, unless it is one of
	// the later regions of another's rollout. Only production deployments have one.
	rollout *deployment
	// shipped are the change facts of the pull requests it shipped.
	shipped []*schema.ChangeFact
}

// counted says whether a deployment counts in DORA figures: a production
// deployment that is not a later member of another's rollout.
func (d *deployment) counted() bool { return d.production && d.rollout == d }

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
			Hotfix:          d.Hotfix || rules.isHotfixRef(d.Ref),
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
	in.Incidents = declaredIncidents(in.Incidents)
	deps, byID := newDeployments(in, rules, now)
	groupRollouts(deps)
	changes, byPR, byMerge := deriveChanges(in, rules, byRepo(deps), now)
	for _, list := range groupProduction(deps, serviceAndEnvironment) {
		markReplacements(list, rules, in.Ancestry)
	}
	markReverts(in.PullRequests, byPR, byMerge)
	incidents := linkIncidents(in, rules, deps, byID, byPR, byMerge, now)
	for _, d := range deps {
		if d.production {
			markRework(d, rules)
		}
	}
	settleRollouts(deps)
	for _, d := range deps {
		f := d.fact
		sortReasons(f.FailureReasons, schema.FailureReasons)
		sortReasons(f.UnplannedReasons, schema.UnplannedReasons)
		slices.Sort(f.CausedIncidents)
		f.Unplanned = len(f.UnplannedReasons) > 0
		if f.Failed && !f.RecoveredAt.IsZero() {
			f.RecoverySeconds = seconds(f.FinishedAt, f.RecoveredAt)
		}
	}

	out := Facts{Changes: changes, Incidents: incidents, Deployments: make([]schema.DeploymentFact, len(deps))}
	for i, d := range deps {
		out.Deployments[i] = *d.fact
	}
	return out
}

// markRework names why a production deployment is unplanned work: it is a
// rollback or a hotfix, it ships a revert, or every pull request it ships is a fix.
// A planned release that bundles a fix among other changes is not rework.
func markRework(d *deployment, rules *Rules) {
	f := d.fact
	if f.Rollback {
		addOnce(&f.UnplannedReasons, schema.UnplannedRollback)
	}
	if f.Hotfix {
		addOnce(&f.UnplannedReasons, schema.UnplannedHotfix)
	}
	if f.Revert {
		addOnce(&f.UnplannedReasons, schema.UnplannedRevert)
	}
	if len(d.shipped) > 0 && !slices.ContainsFunc(d.shipped, func(c *schema.ChangeFact) bool { return !c.Unplanned }) {
		addOnce(&f.UnplannedReasons, schema.UnplannedFixes)
	}
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

func serviceAndEnvironment(d *deployment) string { return d.rec.Service + "\x00" + d.rec.Environment }

func byFinish(a, b *deployment) int {
	return cmp.Or(a.rec.FinishedAt.Compare(b.rec.FinishedAt), cmp.Compare(a.rec.Source, b.rec.Source), cmp.Compare(a.rec.ID, b.rec.ID))
}

// lastFinishedBy is the index in a finishing-ordered list of the last deployment
// finished at or before t, or -1.
func lastFinishedBy(list []*deployment, t time.Time) int {
	i, _ := slices.BinarySearchFunc(list, t, func(d *deployment, t time.Time) int {
		if d.rec.FinishedAt.After(t) {
			return 1
		}
		return -1
	})
	return i - 1
}

// fail marks a production deployment failed for a reason, counted once however many
// reasons hold, and keeps the earliest recovery.
func fail(d *deployment, reason string, recoveredAt time.Time, recoveredBy string) {
	f := d.fact
	f.Failed = true
	addOnce(&f.FailureReasons, reason)
	if !recoveredAt.IsZero() {
		recovered(f, recoveredAt, recoveredBy)
	}
}

// recovered keeps the earliest recovery of a failed deployment.
func recovered(f *schema.DeploymentFact, at time.Time, by string) {
	if f.RecoveredAt.IsZero() || at.Before(f.RecoveredAt) || at.Equal(f.RecoveredAt) && by < f.RecoveredBy {
		f.RecoveredAt, f.RecoveredBy = at, by
	}
}

func seconds(from, to time.Time) int64 {
	return max(0, int64(to.Sub(from)/time.Second))
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
