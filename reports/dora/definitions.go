package dora

import (
	tiers "github.com/flowmeter/flowmeter/metrics/dora"
)

// definition is one entry of "How these figures are made": the report states
// every definition of docs/metrics.md it relies on, so that a reader of the report
// alone knows what each figure counts.
type definition struct {
	term, text string
}

var definitions = []definition{
	{"Window", "From its first day to the day after its last, in UTC. A window that ends after the report " +
		"was made is counted up to its as-of time: per-day figures divide by the days elapsed, only the weeks " +
		"and months that have started count, and undeployed changes are aged at it."},
	{"Change since the previous window", "The previous window is the previous calendar quarter or month " +
		"when the window is one, else the window of the same length just before it. A change is ▲ (up) or ▼ " +
		"(down) by the amount shown, better or worse: more deployments a day are better; a shorter lead time " +
		"or recovery and a lower change failure rate are better, and the rate changes by percentage points. " +
		"\"new\": the previous window has no figure to compare with; \"no change\": a change too small to show."},
	{"Teams and services", "A team's figures (the \"all services\" row) are computed over all its facts, not " +
		"added up or averaged over its services. A deployment or incident belongs to its service, a change to " +
		"the service of the deployment that shipped it, else to its repository's name; facts of no configured " +
		"team are under (no team), facts of no service under (no service)."},
	{"Deploys", "Successful deployments to a production environment finished in the window; a rollout of one " +
		"commit to several production environments counts once."},
	{"Deploys/day", "Deploys / the days of the window elapsed."},
	{"Deploy days", "UTC days with at least one production deployment. Deploy days/week is their median over " +
		"the weeks (from Monday) of the window that have started, a week without any counting 0; deploy " +
		"days/month the same over the calendar months; deploys/deploy day the median number of production " +
		"deployments on a deploy day. They grade deployment frequency."},
	{"Shipped", "Pull requests a production deployment shipped in the window."},
	{"Untracked", "Pull requests merged in the window before the first production deployment flowmeter saw; " +
		"they have no lead time."},
	{"Undeployed", "Pull requests merged in the window that no production deployment has shipped yet; their " +
		"age is as-of − merge, never negative, and the table gives its median."},
	{"Lead time", "Shipped − first commit of each pull request shipped in the window whose lead time is " +
		"known; p50, p85 and p95 are its percentiles. Its parts, each the median over the pull requests where " +
		"it is known: coding (ready for review − first commit, ready being when it was opened or marked " +
		"ready), pickup (first review by someone other than the author and not a bot − ready), review (merge − " +
		"first review) and deploy (shipped − merge)."},
	{"Failed deploys", "Production deployments finished in the window that failed, for any of these reasons: " +
		"an incident names it (incident_named); an incident of its service opened after it, within the " +
		"failure window and before the service's next production deployment (incident_window); a later " +
		"deployment rolled it back (rolled_back) or shipped a revert of a pull request it shipped (reverted); " +
		"a hotfix replaced it (hotfixed). Failure reasons counts the failed deploys holding each; one may hold " +
		"several."},
	{"Of which inferred", "Failed deploys whose only reason is incident_window: nothing but timing ties them " +
		"to the incident."},
	{"Change failure rate", "Failed deploys / deploys."},
	{"Failed attempts", "Deployments with status failure or error started in the window; the change never " +
		"reached users, so they are not change failures."},
	{"Recovery", "From a failed deployment's finish to the earliest of its incident's resolution and the " +
		"finish of the rollback, hotfix or revert that replaced it; p50 and p85 over the failed deploys of the " +
		"window that have recovered."},
	{"Time to restore", "Resolved − opened, for the incidents opened in the window and resolved, linked to a " +
		"deployment or not; p50 and p85."},
	{"Rework rate", "Unplanned production deployments / deploys. A deployment is unplanned when it is a " +
		"rollback, a hotfix, ships a revert, or ships only fixes (fixes_only); rework reasons counts the " +
		"unplanned deploys holding each."},
	{"Tiers", "Graded with the DORA table below: deployment frequency from the deploy days, lead time and " +
		"recovery from their medians, the change failure rate from itself. A team or service that never " +
		"deployed to production has no deployment-frequency tier; one that deployed before the window but not " +
		"in it is low."},
	{"—", "No data for the figure. Percentiles interpolate linearly between the two nearest values."},
}

// tierRow is one tier of a DORA table, as the report quotes it.
type tierRow struct {
	tier                                       string
	frequency, leadTime, recovery, failureRate string
}

// tierRows quotes a table's words for each tier, best first.
func tierRows(t *tiers.Table) []tierRow {
	row := func(tier string, pick func(tiers.Words) string) tierRow {
		return tierRow{tier, pick(t.DeploymentFrequency.Words), pick(t.LeadTime.Words), pick(t.Recovery.Words), pick(t.ChangeFailureRate.Words)}
	}
	return []tierRow{
		row("elite", func(w tiers.Words) string { return w.Elite }),
		row("high", func(w tiers.Words) string { return w.High }),
		row("medium", func(w tiers.Words) string { return w.Medium }),
		row("low", func(w tiers.Words) string { return w.Low }),
	}
}
