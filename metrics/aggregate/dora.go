package aggregate

import (
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/schema"
)

// NoTeam is the team of facts whose team is empty or not one of the config's, so
// they are reported rather than lost.
const NoTeam = "(no team)"

// NoService is the service of facts that name none (and, for changes, no repository).
const NoService = "(no service)"

// Input is everything the DORA aggregation needs; it reads no clock and no store.
type Input struct {
	// Changes, Deployments and Incidents are the facts, of any time: those outside
	// the window count in no figure, but the production deployments before it tell
	// a team or service that deployed before from one that never did (a
	// deployment-frequency tier of low rather than none). Pass every fact there is.
	Changes     []schema.ChangeFact
	Deployments []schema.DeploymentFact
	Incidents   []schema.IncidentFact
	// From and To are the half-open window [From, To), in UTC.
	From, To time.Time
	// Now is the time of the report; of a window ending after it only the part up
	// to it counts (Report.AsOf).
	Now time.Time
	// Table is the DORA tier table, "2023" or "2021"; "" means the default. An
	// unknown table grades nothing (config validation rejects it first).
	Table string
	// Teams are the config's teams in its order, the order of the report. Facts of
	// another team, or of none, are reported under NoTeam, last, when it has data.
	Teams []string
	// Team, when set, keeps only that team (which may be NoTeam).
	Team string
	// ReportAs, when set, gives the name a service of a team (a listed team or
	// NoTeam) is reported under, from the name its facts give it (NoService for
	// none), so that a caller can fold many services into one whose figures are
	// computed from all their facts together. Nil reports each under its own name.
	ReportAs func(team, service string) string
	// Explain fills each figure's Explain with the facts behind it and the report's
	// Facts with those facts.
	Explain bool
}

// Report is the DORA figures of a window per team and, within each team, per service.
type Report struct {
	From, To time.Time
	// AsOf is the earlier of Now and To (From when Now is before the window): per-day
	// figures and deploy days count the window up to it and undeployed changes are
	// aged at it, so a window ending in the future reads like one ending now.
	AsOf time.Time
	// Table is the name of the tier table the tiers come from.
	Table string
	Teams []Team
	// Facts are the facts the figures' Explain refers to, each once; nil unless
	// Input.Explain.
	Facts *Facts
}

// ElapsedDays is the length in days of the window's part up to AsOf, what per-day
// figures divide by.
func (r Report) ElapsedDays() float64 {
	return windowDays(r.From, r.AsOf)
}

// Facts are the facts behind a report's figures, each listed once and sorted by Ref,
// so that renderers print their values once and figures refer to them.
type Facts struct {
	Changes     []schema.ChangeFact
	Deployments []schema.DeploymentFact
	Incidents   []schema.IncidentFact
}

// Ref is how Explain names a fact: "source:id". Which kind of fact it is follows
// from the figure (Figure.Kind).
func Ref(source, id string) string {
	return source + ":" + id
}

// Team is one team's figures and its services', sorted by name.
type Team struct {
	Name string
	Figures
	Services []Service
}

// Service is one service's figures within a team.
type Service struct {
	Name string
	Figures
}

// Quantiles are the percentiles of a duration in seconds, with the count and sum of
// the values they are taken from, which a Prometheus summary publishes beside them.
// P85 and P95 are defined only where the report asks for them.
type Quantiles struct {
	P50, P85, P95 Value
	Count         int
	Sum           float64
}

// LeadTimeParts are the parts of change lead time in seconds; only their medians
// (P50) are defined.
type LeadTimeParts struct {
	Coding, Pickup, Review, Deploy Quantiles
}

// Tiers are the DORA tiers of a team or service; NoTier where the figure graded is
// not defined.
type Tiers struct {
	DeploymentFrequency      dora.Tier
	LeadTime                 dora.Tier
	ChangeFailureRate        dora.Tier
	FailedDeploymentRecovery dora.Tier
}

// Figures are the DORA figures of one team or service over the window, as
// docs/metrics.md defines them. Counts are plain numbers; a figure that needs data it
// does not have is an undefined Value. A deployment that is part of a rollout
// counted as another (RolloutOf) counts in none of them.
type Figures struct {
	// Deployments: production deployments finished in the window.
	Deployments int
	// DeploymentFrequencyPerDay: Deployments / the days of the window up to AsOf.
	DeploymentFrequencyPerDay Value
	// DeployDaysPerWeekMedian, DeployDaysPerMonthMedian and
	// DeploymentsPerDeployDayMedian: the deploy-day medians the deployment-frequency
	// tier is graded on.
	DeployDaysPerWeekMedian       Value
	DeployDaysPerMonthMedian      Value
	DeploymentsPerDeployDayMedian Value
	// ChangesShipped: changes shipped in the window; Untracked and Undeployed:
	// changes in those states merged in the window.
	ChangesShipped int
	Untracked      int
	Undeployed     int
	// UndeployedAgeSeconds is the median age of the undeployed changes at AsOf.
	UndeployedAgeSeconds Value
	// LeadTimeSeconds: p50, p85 and p95 of the shipped changes' lead times.
	LeadTimeSeconds Quantiles
	// LeadTimePartsSeconds: the median of each part over the same changes.
	LeadTimePartsSeconds LeadTimeParts
	// FailedDeployments: failed production deployments finished in the window;
	// FailedDeploymentsInferred: those of them whose only failure reason is an
	// incident in the failure window (schema.ReasonIncidentWindow), which nothing
	// but timing ties to them.
	FailedDeployments         int
	FailedDeploymentsInferred int
	// FailureReasons counts the failed deployments holding each failure reason
	// (schema.FailureReasons, every one present); one failure may hold several.
	FailureReasons map[string]int
	// FailedDeployAttempts: deployments with status failure or error started in the
	// window; not production deployments and not change failures.
	FailedDeployAttempts int
	// ChangeFailureRate: FailedDeployments / Deployments.
	ChangeFailureRate Value
	// FailedDeploymentRecoverySeconds: p50 and p85 of the failed deployments'
	// recovery times.
	FailedDeploymentRecoverySeconds Quantiles
	// TimeToRestoreSeconds: p50 and p85 of the restore times of the incidents opened
	// in the window, linked to a deployment or not.
	TimeToRestoreSeconds Quantiles
	// ReworkRate: unplanned production deployments / Deployments.
	ReworkRate Value
	// ReworkReasons counts the unplanned deployments holding each rework reason
	// (schema.UnplannedReasons, every one present), so a rate can be read by cause.
	ReworkReasons map[string]int
	Tiers         Tiers
	// Explain maps each figure's key (Figures()) to the Ref of every fact behind it,
	// sorted; nil unless Input.Explain.
	Explain map[string][]string
}

// The figure keys Explain uses, the report's JSON keys.
const (
	KeyDeployments                     = "deployments"
	KeyDeploymentFrequencyPerDay       = "deployment_frequency_per_day"
	KeyDeployDaysPerWeekMedian         = "deploy_days_per_week_median"
	KeyDeployDaysPerMonthMedian        = "deploy_days_per_month_median"
	KeyDeploymentsPerDeployDayMedian   = "deployments_per_deploy_day_median"
	KeyChangesShipped                  = "changes_shipped"
	KeyUntracked                       = "untracked"
	KeyUndeployed                      = "undeployed"
	KeyUndeployedAgeSeconds            = "undeployed_age_seconds"
	KeyLeadTimeSeconds                 = "lead_time_seconds"
	KeyLeadTimeCoding                  = "lead_time_parts_seconds.coding"
	KeyLeadTimePickup                  = "lead_time_parts_seconds.pickup"
	KeyLeadTimeReview                  = "lead_time_parts_seconds.review"
	KeyLeadTimeDeploy                  = "lead_time_parts_seconds.deploy"
	KeyFailedDeployments               = "failed_deployments"
	KeyFailedDeploymentsInferred       = "failed_deployments_inferred"
	KeyFailedDeployAttempts            = "failed_deploy_attempts"
	KeyChangeFailureRate               = "change_failure_rate"
	KeyFailedDeploymentRecoverySeconds = "failed_deployment_recovery_seconds"
	KeyTimeToRestoreSeconds            = "time_to_restore_seconds"
	KeyReworkRate                      = "rework_rate"
)

// FactKind is the kind of fact behind a figure.
type FactKind string

// The kinds of facts, as explanations name them.
const (
	ChangeKind     FactKind = "change"
	DeploymentKind FactKind = "deployment"
	IncidentKind   FactKind = "incident"
)

// Figure is one figure Explain covers: its key and the kind of the facts behind it.
type Figure struct {
	Key  string
	Kind FactKind
}

// ExplainFigures lists the figures of Figures.Explain in the report's order, so
// renderers print them stably and know which kind of fact each refers to.
func ExplainFigures() []Figure {
	return []Figure{
		{KeyDeployments, DeploymentKind}, {KeyDeploymentFrequencyPerDay, DeploymentKind},
		{KeyDeployDaysPerWeekMedian, DeploymentKind}, {KeyDeployDaysPerMonthMedian, DeploymentKind},
		{KeyDeploymentsPerDeployDayMedian, DeploymentKind},
		{KeyChangesShipped, ChangeKind}, {KeyUntracked, ChangeKind}, {KeyUndeployed, ChangeKind},
		{KeyUndeployedAgeSeconds, ChangeKind}, {KeyLeadTimeSeconds, ChangeKind},
		{KeyLeadTimeCoding, ChangeKind}, {KeyLeadTimePickup, ChangeKind},
		{KeyLeadTimeReview, ChangeKind}, {KeyLeadTimeDeploy, ChangeKind},
		{KeyFailedDeployments, DeploymentKind}, {KeyFailedDeploymentsInferred, DeploymentKind},
		{KeyFailedDeployAttempts, DeploymentKind}, {KeyChangeFailureRate, DeploymentKind},
		{KeyFailedDeploymentRecoverySeconds, DeploymentKind}, {KeyTimeToRestoreSeconds, IncidentKind},
		{KeyReworkRate, DeploymentKind},
	}
}

// DORA computes the DORA figures of the window for every team and every service in
// it, as docs/metrics.md defines them.
func DORA(in Input) Report {
	from, to := in.From.UTC(), in.To.UTC()
	table, _ := dora.Lookup(in.Table)
	r := Report{From: from, To: to, AsOf: asOf(in.Now.UTC(), from, to), Table: in.Table}
	if r.Table == "" {
		r.Table = dora.DefaultTable
	}

	listed := map[string]bool{}
	var order []string
	for _, t := range in.Teams {
		if t != "" && t != NoTeam && !listed[t] {
			listed[t] = true
			order = append(order, t)
		}
	}
	teamOf := func(team string) string {
		if listed[team] {
			return team
		}
		return NoTeam
	}

	// Facts are grouped by team and service first; only facts that count in some
	// figure of the window are kept, so a service appears only when it has data in
	// the window or deployed to production before it.
	groups := map[string]map[string]*group{}
	add := func(team, service string) *group {
		if service == "" {
			service = NoService
		}
		if in.ReportAs != nil {
			service = in.ReportAs(team, service)
		}
		byService := groups[team]
		if byService == nil {
			byService = map[string]*group{}
			groups[team] = byService
		}
		g := byService[service]
		if g == nil {
			g = &group{}
			byService[service] = g
		}
		return g
	}
	for _, c := range in.Changes {
		if changeInWindow(c, from, to) {
			g := add(teamOf(c.Team), ChangeService(c))
			g.changes = append(g.changes, c)
		}
	}
	for _, d := range in.Deployments {
		switch {
		case d.RolloutOf != "":
			// Counted once, as the deployment the rollout counts as.
		case deploymentInWindow(d, from, to):
			g := add(teamOf(d.Team), d.Service)
			g.deployments = append(g.deployments, d)
		case d.Production && !d.FinishedAt.IsZero() && d.FinishedAt.Before(from):
			add(teamOf(d.Team), d.Service).seenBefore = true
		}
	}
	for _, i := range in.Incidents {
		if inWindow(i.OpenedAt, from, to) {
			g := add(teamOf(i.Team), i.Service)
			g.incidents = append(g.incidents, i)
		}
	}
	if groups[NoTeam] != nil {
		order = append(order, NoTeam)
	}
	if in.Team != "" {
		order = []string{in.Team}
	}

	c := calc{from: from, to: to, asOf: r.AsOf, table: table, explain: in.Explain}
	for _, name := range order {
		team := Team{Name: name}
		var all group
		byService := groups[name]
		services := make([]string, 0, len(byService))
		for s := range byService {
			services = append(services, s)
		}
		slices.Sort(services)
		for _, s := range services {
			g := byService[s]
			team.Services = append(team.Services, Service{Name: s, Figures: c.figures(g)})
			all.changes = append(all.changes, g.changes...)
			all.deployments = append(all.deployments, g.deployments...)
			all.incidents = append(all.incidents, g.incidents...)
			all.seenBefore = all.seenBefore || g.seenBefore
		}
		team.Figures = c.figures(&all)
		r.Teams = append(r.Teams, team)
	}
	if in.Explain {
		r.Facts = explained(r.Teams, in)
	}
	return r
}

// asOf is now kept inside the window [from, to].
func asOf(now, from, to time.Time) time.Time {
	switch {
	case now.Before(from):
		return from
	case now.After(to):
		return to
	}
	return now
}

// group is the facts of one team or service that count in the window.
type group struct {
	changes     []schema.ChangeFact
	deployments []schema.DeploymentFact
	incidents   []schema.IncidentFact
	// seenBefore: it had production deployments finished before the window.
	seenBefore bool
}

// ChangeService is the service a change is reported under: the one that shipped it,
// else its repository's name ("" when it has neither, reported as NoService).
func ChangeService(c schema.ChangeFact) string {
	if c.Service != "" {
		return c.Service
	}
	if i := strings.LastIndex(c.Repo, "/"); i >= 0 {
		return c.Repo[i+1:]
	}
	return c.Repo
}

// changeInWindow says whether a change counts in the window: shipped ones by when
// they shipped, untracked and undeployed ones by when they were merged. Changes in
// any other state (a bot's, excluded) count in no figure.
func changeInWindow(c schema.ChangeFact, from, to time.Time) bool {
	switch c.State {
	case schema.ChangeShipped:
		return inWindow(c.ShippedAt, from, to)
	case schema.ChangeUntracked, schema.ChangeUndeployed:
		return inWindow(c.MergedAt, from, to)
	}
	return false
}

func deploymentInWindow(d schema.DeploymentFact, from, to time.Time) bool {
	return (d.Production && inWindow(d.FinishedAt, from, to)) ||
		(d.FailedAttempt && inWindow(d.StartedAt, from, to))
}

// InferredFailure says whether a failed deployment's only failure reason is an
// incident opening in the failure window after it: a failure nothing but timing
// ties to it.
func InferredFailure(d schema.DeploymentFact) bool {
	return d.Failed && len(d.FailureReasons) == 1 && d.FailureReasons[0] == schema.ReasonIncidentWindow
}

// AgeSeconds is how long before at a change was merged, never negative: the age of
// an undeployed change at Report.AsOf.
func AgeSeconds(merged, at time.Time) int64 {
	return max(int64(at.Sub(merged)/time.Second), 0)
}

type calc struct {
	from, to time.Time
	asOf     time.Time
	table    *dora.Table
	explain  bool
}

// figures computes one group's figures from its in-window facts.
func (c calc) figures(g *group) Figures {
	var out Figures
	ids := map[string][]string{}
	note := func(source, id string, keys ...string) {
		if c.explain {
			for _, k := range keys {
				ids[k] = append(ids[k], Ref(source, id))
			}
		}
	}

	var finished []time.Time
	var recovery []int64
	unplanned := 0
	out.FailureReasons, out.ReworkReasons = zeroCounts(schema.FailureReasons), zeroCounts(schema.UnplannedReasons)
	for _, d := range g.deployments {
		if d.FailedAttempt && inWindow(d.StartedAt, c.from, c.to) {
			out.FailedDeployAttempts++
			note(d.Source, d.ID, KeyFailedDeployAttempts)
		}
		if !d.Production || !inWindow(d.FinishedAt, c.from, c.to) {
			continue
		}
		out.Deployments++
		finished = append(finished, d.FinishedAt)
		note(d.Source, d.ID, KeyDeployments, KeyDeploymentFrequencyPerDay, KeyDeployDaysPerWeekMedian,
			KeyDeployDaysPerMonthMedian, KeyDeploymentsPerDeployDayMedian)
		if d.Failed {
			out.FailedDeployments++
			note(d.Source, d.ID, KeyFailedDeployments, KeyChangeFailureRate)
			if InferredFailure(d) {
				out.FailedDeploymentsInferred++
				note(d.Source, d.ID, KeyFailedDeploymentsInferred)
			}
			if d.RecoverySeconds >= 0 {
				recovery = append(recovery, d.RecoverySeconds)
				note(d.Source, d.ID, KeyFailedDeploymentRecoverySeconds)
			}
		}
		if d.Failed {
			for _, r := range d.FailureReasons {
				out.FailureReasons[r]++
			}
		}
		if d.Unplanned {
			for _, r := range d.UnplannedReasons {
				out.ReworkReasons[r]++
			}
		}
		if d.Unplanned {
			unplanned++
			note(d.Source, d.ID, KeyReworkRate)
		}
	}
	days := DeployDays(finished, c.from, c.asOf)
	days.SeenBefore = g.seenBefore
	if c.from.Before(c.asOf) {
		out.DeploymentFrequencyPerDay = Some(float64(out.Deployments) / days.WindowDays)
		out.DeployDaysPerWeekMedian = Some(days.WeekMedian)
		out.DeployDaysPerMonthMedian = Some(days.MonthMedian)
	}
	if days.Days > 0 {
		out.DeploymentsPerDeployDayMedian = Some(days.PerDayMedian)
	}
	if out.Deployments > 0 {
		out.ChangeFailureRate = Some(float64(out.FailedDeployments) / float64(out.Deployments))
		out.ReworkRate = Some(float64(unplanned) / float64(out.Deployments))
	}
	out.FailedDeploymentRecoverySeconds = quantiles(recovery, 0.5, 0.85)

	var lead, coding, pickup, review, deploy, ages []int64
	for _, ch := range g.changes {
		switch ch.State {
		case schema.ChangeShipped:
			out.ChangesShipped++
			note(ch.Source, ch.ID, KeyChangesShipped)
			if ch.LeadTimeSeconds < 0 {
				continue
			}
			lead = append(lead, ch.LeadTimeSeconds)
			note(ch.Source, ch.ID, KeyLeadTimeSeconds)
			for _, p := range []struct {
				v   int64
				to  *[]int64
				key string
			}{
				{ch.CodingSeconds, &coding, KeyLeadTimeCoding},
				{ch.PickupSeconds, &pickup, KeyLeadTimePickup},
				{ch.ReviewSeconds, &review, KeyLeadTimeReview},
				{ch.DeploySeconds, &deploy, KeyLeadTimeDeploy},
			} {
				if p.v >= 0 {
					*p.to = append(*p.to, p.v)
					note(ch.Source, ch.ID, p.key)
				}
			}
		case schema.ChangeUntracked:
			out.Untracked++
			note(ch.Source, ch.ID, KeyUntracked)
		case schema.ChangeUndeployed:
			out.Undeployed++
			ages = append(ages, AgeSeconds(ch.MergedAt, c.asOf))
			note(ch.Source, ch.ID, KeyUndeployed, KeyUndeployedAgeSeconds)
		}
	}
	out.UndeployedAgeSeconds = Percentile(ages, 0.5)
	out.LeadTimeSeconds = quantiles(lead, 0.5, 0.85, 0.95)
	out.LeadTimePartsSeconds = LeadTimeParts{
		Coding: quantiles(coding, 0.5), Pickup: quantiles(pickup, 0.5),
		Review: quantiles(review, 0.5), Deploy: quantiles(deploy, 0.5),
	}

	var restore []int64
	for _, i := range g.incidents {
		if i.RestoreSeconds >= 0 {
			restore = append(restore, i.RestoreSeconds)
			note(i.Source, i.ID, KeyTimeToRestoreSeconds)
		}
	}
	out.TimeToRestoreSeconds = quantiles(restore, 0.5, 0.85)

	if c.table != nil {
		out.Tiers.DeploymentFrequency = c.table.GradeDeploymentFrequency(days)
		if v, ok := out.LeadTimeSeconds.P50.Get(); ok {
			out.Tiers.LeadTime = c.table.GradeLeadTime(v)
		}
		if v, ok := out.ChangeFailureRate.Get(); ok {
			out.Tiers.ChangeFailureRate = c.table.GradeChangeFailureRate(v)
		}
		if v, ok := out.FailedDeploymentRecoverySeconds.P50.Get(); ok {
			out.Tiers.FailedDeploymentRecovery = c.table.GradeRecovery(v)
		}
	}

	if c.explain {
		out.Explain = map[string][]string{}
		for _, f := range ExplainFigures() {
			list := ids[f.Key]
			if list == nil {
				list = []string{}
			}
			slices.Sort(list)
			out.Explain[f.Key] = list
		}
	}
	return out
}

// quantiles takes the percentiles qs (among 0.5, 0.85 and 0.95) of values, with
// their count and sum.
func quantiles(values []int64, qs ...float64) Quantiles {
	out := Quantiles{Count: len(values)}
	for _, v := range values {
		out.Sum += float64(v)
	}
	for _, q := range qs {
		switch q {
		case 0.5:
			out.P50 = Percentile(values, q)
		case 0.85:
			out.P85 = Percentile(values, q)
		case 0.95:
			out.P95 = Percentile(values, q)
		}
	}
	return out
}

// explained picks the facts the teams' figures refer to. A team's figures cover all
// its services', so the teams' lists name every fact behind the report.
func explained(teams []Team, in Input) *Facts {
	refs := map[FactKind]map[string]bool{ChangeKind: {}, DeploymentKind: {}, IncidentKind: {}}
	for _, t := range teams {
		for _, f := range ExplainFigures() {
			for _, ref := range t.Explain[f.Key] {
				refs[f.Kind][ref] = true
			}
		}
	}
	out := &Facts{}
	out.Changes = pick(in.Changes, refs[ChangeKind], func(c *schema.ChangeFact) string { return Ref(c.Source, c.ID) })
	out.Deployments = pick(in.Deployments, refs[DeploymentKind], func(d *schema.DeploymentFact) string { return Ref(d.Source, d.ID) })
	out.Incidents = pick(in.Incidents, refs[IncidentKind], func(i *schema.IncidentFact) string { return Ref(i.Source, i.ID) })
	return out
}

// pick returns the facts whose Ref is in refs, each once, sorted by Ref.
func pick[F any](facts []F, refs map[string]bool, ref func(*F) string) []F {
	out := []F{}
	for i := range facts {
		if r := ref(&facts[i]); refs[r] {
			out = append(out, facts[i])
			delete(refs, r)
		}
	}
	slices.SortFunc(out, func(a, b F) int { return strings.Compare(ref(&a), ref(&b)) })
	return out
}

// zeroCounts is a count of 0 for each reason, so every reason is listed.
func zeroCounts(reasons []string) map[string]int {
	m := make(map[string]int, len(reasons))
	for _, r := range reasons {
		m[r] = 0
	}
	return m
}
