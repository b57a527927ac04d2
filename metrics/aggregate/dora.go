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
	Changes     []schema.ChangeFact
	Deployments []schema.DeploymentFact
	Incidents   []schema.IncidentFact
	// From and To are the half-open window [From, To), in UTC.
	From, To time.Time
	// Now is the instant the age of undeployed changes is measured at.
	Now time.Time
	// Table is the DORA tier table, "2023" or "2021"; "" means the default. An
	// unknown table grades nothing (config validation rejects it first).
	Table string
	// Teams are the config's teams in its order, the order of the report. Facts of
	// another team, or of none, are reported under NoTeam, last, when it has data.
	Teams []string
	// Team, when set, keeps only that team (which may be NoTeam).
	Team string
	// Explain fills each figure's Explain with the ids of the facts behind it.
	Explain bool
}

// Report is the DORA figures of a window per team and, within each team, per service.
type Report struct {
	From, To time.Time
	// Table is the name of the tier table the tiers come from.
	Table string
	Teams []Team
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

// Quantiles are the percentiles of a duration in seconds; P95 is defined only where
// the report asks for it (lead time).
type Quantiles struct {
	P50, P85, P95 Value
}

// LeadTimeParts are the medians of the parts of change lead time, in seconds.
type LeadTimeParts struct {
	Coding, Pickup, Review, Deploy Value
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
// METRICS.md defines them. Counts are plain numbers; a figure that needs data it
// does not have is an undefined Value.
type Figures struct {
	// Deployments: production deployments finished in the window.
	Deployments int
	// DeploymentFrequencyPerDay: Deployments / the window's length in days.
	DeploymentFrequencyPerDay Value
	// DeployDaysPerWeekMedian and DeployDaysPerMonthMedian: the deploy-day medians
	// the deployment-frequency tier is graded on.
	DeployDaysPerWeekMedian  Value
	DeployDaysPerMonthMedian Value
	// ChangesShipped: changes shipped in the window; Untracked and Undeployed:
	// changes in those states merged in the window.
	ChangesShipped int
	Untracked      int
	Undeployed     int
	// UndeployedAgeSeconds is the median of now - merged over the undeployed changes.
	UndeployedAgeSeconds Value
	// LeadTimeSeconds: p50, p85 and p95 of the shipped changes' lead times.
	LeadTimeSeconds Quantiles
	// LeadTimePartsSeconds: the median of each part over the same changes.
	LeadTimePartsSeconds LeadTimeParts
	// FailedDeployments: failed production deployments finished in the window.
	FailedDeployments int
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
	Tiers      Tiers
	// Explain maps each figure's JSON name to the "source:id" of the facts behind
	// it, sorted; nil unless Input.Explain.
	Explain map[string][]string
}

// The figure names Explain uses, the report's JSON keys.
const (
	KeyDeployments                     = "deployments"
	KeyDeploymentFrequencyPerDay       = "deployment_frequency_per_day"
	KeyDeployDaysPerWeekMedian         = "deploy_days_per_week_median"
	KeyDeployDaysPerMonthMedian        = "deploy_days_per_month_median"
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
	KeyFailedDeployAttempts            = "failed_deploy_attempts"
	KeyChangeFailureRate               = "change_failure_rate"
	KeyFailedDeploymentRecoverySeconds = "failed_deployment_recovery_seconds"
	KeyTimeToRestoreSeconds            = "time_to_restore_seconds"
	KeyReworkRate                      = "rework_rate"
)

// DORA computes the DORA figures of the window for every team and every service in
// it, following METRICS.md.
func DORA(in Input) Report {
	from, to := in.From.UTC(), in.To.UTC()
	table, _ := dora.Lookup(in.Table)
	r := Report{From: from, To: to, Table: in.Table}
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
	// figure of the window are kept, so a service appears only when it has data.
	groups := map[string]map[string]*facts{}
	add := func(team, service string) *facts {
		if service == "" {
			service = NoService
		}
		byService := groups[team]
		if byService == nil {
			byService = map[string]*facts{}
			groups[team] = byService
		}
		f := byService[service]
		if f == nil {
			f = &facts{}
			byService[service] = f
		}
		return f
	}
	for _, c := range in.Changes {
		if changeInWindow(c, from, to) {
			f := add(teamOf(c.Team), changeService(c))
			f.changes = append(f.changes, c)
		}
	}
	for _, d := range in.Deployments {
		if deploymentInWindow(d, from, to) {
			f := add(teamOf(d.Team), d.Service)
			f.deployments = append(f.deployments, d)
		}
	}
	for _, i := range in.Incidents {
		if inWindow(i.OpenedAt, from, to) {
			f := add(teamOf(i.Team), i.Service)
			f.incidents = append(f.incidents, i)
		}
	}
	if groups[NoTeam] != nil {
		order = append(order, NoTeam)
	}
	if in.Team != "" {
		order = []string{in.Team}
	}

	c := calc{from: from, to: to, now: in.Now, table: table, explain: in.Explain}
	for _, name := range order {
		team := Team{Name: name}
		var all facts
		byService := groups[name]
		services := make([]string, 0, len(byService))
		for s := range byService {
			services = append(services, s)
		}
		slices.Sort(services)
		for _, s := range services {
			f := byService[s]
			team.Services = append(team.Services, Service{Name: s, Figures: c.figures(f)})
			all.changes = append(all.changes, f.changes...)
			all.deployments = append(all.deployments, f.deployments...)
			all.incidents = append(all.incidents, f.incidents...)
		}
		team.Figures = c.figures(&all)
		r.Teams = append(r.Teams, team)
	}
	return r
}

// facts are the facts of one group that count in the window.
type facts struct {
	changes     []schema.ChangeFact
	deployments []schema.DeploymentFact
	incidents   []schema.IncidentFact
}

// changeService is the service a change is reported under: the one that shipped it,
// else its repository's name.
func changeService(c schema.ChangeFact) string {
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

type calc struct {
	from, to time.Time
	now      time.Time
	table    *dora.Table
	explain  bool
}

// figures computes one group's figures from its in-window facts.
func (c calc) figures(f *facts) Figures {
	var out Figures
	ids := map[string][]string{}
	note := func(key, source, id string) {
		if c.explain {
			ids[key] = append(ids[key], source+":"+id)
		}
	}

	var finished []time.Time
	var recovery []int64
	unplanned := 0
	for _, d := range f.deployments {
		if d.FailedAttempt && inWindow(d.StartedAt, c.from, c.to) {
			out.FailedDeployAttempts++
			note(KeyFailedDeployAttempts, d.Source, d.ID)
		}
		if !d.Production || !inWindow(d.FinishedAt, c.from, c.to) {
			continue
		}
		out.Deployments++
		finished = append(finished, d.FinishedAt)
		for _, k := range []string{KeyDeployments, KeyDeploymentFrequencyPerDay, KeyDeployDaysPerWeekMedian, KeyDeployDaysPerMonthMedian} {
			note(k, d.Source, d.ID)
		}
		if d.Failed {
			out.FailedDeployments++
			note(KeyFailedDeployments, d.Source, d.ID)
			note(KeyChangeFailureRate, d.Source, d.ID)
			if d.RecoverySeconds >= 0 {
				recovery = append(recovery, d.RecoverySeconds)
				note(KeyFailedDeploymentRecoverySeconds, d.Source, d.ID)
			}
		}
		if d.Unplanned {
			unplanned++
			note(KeyReworkRate, d.Source, d.ID)
		}
	}
	days := DeployDays(finished, c.from, c.to)
	if c.from.Before(c.to) {
		out.DeploymentFrequencyPerDay = Some(float64(out.Deployments) / windowDays(c.from, c.to))
		out.DeployDaysPerWeekMedian = Some(days.WeekMedian)
		out.DeployDaysPerMonthMedian = Some(days.MonthMedian)
	}
	if out.Deployments > 0 {
		out.ChangeFailureRate = Some(float64(out.FailedDeployments) / float64(out.Deployments))
		out.ReworkRate = Some(float64(unplanned) / float64(out.Deployments))
	}
	out.FailedDeploymentRecoverySeconds = Quantiles{P50: Percentile(recovery, 0.5), P85: Percentile(recovery, 0.85)}

	var lead, coding, pickup, review, deploy, ages []int64
	for _, ch := range f.changes {
		switch ch.State {
		case schema.ChangeShipped:
			out.ChangesShipped++
			note(KeyChangesShipped, ch.Source, ch.ID)
			if ch.LeadTimeSeconds < 0 {
				continue
			}
			lead = append(lead, ch.LeadTimeSeconds)
			note(KeyLeadTimeSeconds, ch.Source, ch.ID)
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
					note(p.key, ch.Source, ch.ID)
				}
			}
		case schema.ChangeUntracked:
			out.Untracked++
			note(KeyUntracked, ch.Source, ch.ID)
		case schema.ChangeUndeployed:
			out.Undeployed++
			ages = append(ages, int64(c.now.Sub(ch.MergedAt)/time.Second))
			note(KeyUndeployed, ch.Source, ch.ID)
			note(KeyUndeployedAgeSeconds, ch.Source, ch.ID)
		}
	}
	out.UndeployedAgeSeconds = Percentile(ages, 0.5)
	out.LeadTimeSeconds = Quantiles{P50: Percentile(lead, 0.5), P85: Percentile(lead, 0.85), P95: Percentile(lead, 0.95)}
	out.LeadTimePartsSeconds = LeadTimeParts{
		Coding: Percentile(coding, 0.5), Pickup: Percentile(pickup, 0.5),
		Review: Percentile(review, 0.5), Deploy: Percentile(deploy, 0.5),
	}

	var restore []int64
	for _, i := range f.incidents {
		if i.RestoreSeconds >= 0 {
			restore = append(restore, i.RestoreSeconds)
			note(KeyTimeToRestoreSeconds, i.Source, i.ID)
		}
	}
	out.TimeToRestoreSeconds = Quantiles{P50: Percentile(restore, 0.5), P85: Percentile(restore, 0.85)}

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
		for _, k := range ExplainKeys() {
			list := ids[k]
			slices.Sort(list)
			out.Explain[k] = slices.Compact(list)
			if out.Explain[k] == nil {
				out.Explain[k] = []string{}
			}
		}
	}
	return out
}

// ExplainKeys lists the keys of Figures.Explain in the report's order, so renderers
// print them stably.
func ExplainKeys() []string {
	return []string{
		KeyDeployments, KeyDeploymentFrequencyPerDay, KeyDeployDaysPerWeekMedian, KeyDeployDaysPerMonthMedian,
		KeyChangesShipped, KeyUntracked, KeyUndeployed, KeyUndeployedAgeSeconds,
		KeyLeadTimeSeconds, KeyLeadTimeCoding, KeyLeadTimePickup, KeyLeadTimeReview, KeyLeadTimeDeploy,
		KeyFailedDeployments, KeyFailedDeployAttempts, KeyChangeFailureRate,
		KeyFailedDeploymentRecoverySeconds, KeyTimeToRestoreSeconds, KeyReworkRate,
	}
}
