package toil

import (
	"fmt"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// Input is everything toil derivation reads: the records toil entries come from
// and the facts already derived from them, for their teams, active times and
// rollback marks.
type Input struct {
	Incidents     []schema.Incident
	IncidentFacts []schema.IncidentFact
	Items         []schema.WorkItem
	Worklogs      []schema.Worklog
	// FlowFacts give tickets their team and, for a ticket nobody logged time on,
	// its active time.
	FlowFacts       []schema.FlowItemFact
	Deployments     []schema.Deployment
	DeploymentFacts []schema.DeploymentFact
	// Now stamps the facts (their UpdatedAt).
	Now time.Time
}

// The bases of toil durations: how an entry's Seconds was measured.
const (
	BasisAcknowledgedToResolved = "acknowledged_to_resolved"
	BasisOpenedToResolved       = "opened_to_resolved"
	BasisWorklogs               = "worklogs"
	BasisActiveTime             = "active_time"
	BasisDeployment             = "deployment"
	BasisRerun                  = "rerun"
)

// key is a record's source and id.
type key struct{ source, id string }

// Derive turns records into toil facts, one per toil entry, grouped by kind in
// schema.ToilSources order and each group in the order of its records in the
// input, so the same input always gives the same facts. Under "privacy:
// teams-only" the facts name each entry's team instead of its person, so that
// the stored facts, and every dashboard and export reading them, name no one.
func Derive(in Input, rules *Rules) []schema.ToilFact {
	var incidents, alerts, tickets, deployments, reruns []schema.ToilFact

	incTeams := map[key]string{}
	for _, f := range in.IncidentFacts {
		incTeams[key{f.Source, f.ID}] = f.Team
	}
	for i := range in.Incidents {
		if f, ok := incidentEntry(&in.Incidents[i], incTeams, rules, in.Now); ok {
			if f.Kind == schema.ToilFromAlert {
				alerts = append(alerts, f)
			} else {
				incidents = append(incidents, f)
			}
		}
	}

	flows := map[key]*schema.FlowItemFact{}
	for i := range in.FlowFacts {
		flows[key{in.FlowFacts[i].Source, in.FlowFacts[i].ID}] = &in.FlowFacts[i]
	}
	logs := map[key][]*schema.Worklog{}
	for i := range in.Worklogs {
		w := &in.Worklogs[i]
		logs[key{w.Source, w.ItemID}] = append(logs[key{w.Source, w.ItemID}], w)
	}
	for i := range in.Items {
		it := &in.Items[i]
		k := key{it.Source, it.ID}
		if f, ok := ticketEntry(it, flows[k], logs[k], rules, in.Now); ok {
			tickets = append(tickets, f)
		}
	}

	depFacts := map[key]*schema.DeploymentFact{}
	for i := range in.DeploymentFacts {
		depFacts[key{in.DeploymentFacts[i].Source, in.DeploymentFacts[i].ID}] = &in.DeploymentFacts[i]
	}
	for i := range in.Deployments {
		d := &in.Deployments[i]
		if f, ok := deploymentEntry(d, depFacts[key{d.Source, d.ID}], rules, in.Now); ok {
			if f.Kind == schema.ToilFromRerun {
				reruns = append(reruns, f)
			} else {
				deployments = append(deployments, f)
			}
		}
	}

	out := make([]schema.ToilFact, 0, len(incidents)+len(alerts)+len(tickets)+len(deployments)+len(reruns))
	for _, group := range [][]schema.ToilFact{incidents, alerts, tickets, deployments, reruns} {
		out = append(out, group...)
	}
	if rules.cfg.TeamsOnly() {
		// After the teams are found: a ticket's team may come from its person.
		NameTeams(out)
	}
	return out
}

// seconds is the whole seconds from a to b, rounded down.
func seconds(a, b time.Time) int64 { return int64(b.Sub(a) / time.Second) }

// fact is the toil fact of an entry, classified by the rules.
func fact(s *subject, rules *Rules, record, team, who string, started time.Time, secs int64, basis string, now time.Time) schema.ToilFact {
	f := schema.ToilFact{
		Source: s.source, ID: s.kind + ":" + record, Team: team, Category: schema.ToilUnclassified,
		Kind: s.kind, Record: record, Who: who, Title: s.title, StartedAt: started, Seconds: secs,
		Basis: basis, UpdatedAt: now,
	}
	if r := rules.classify(s); r != nil {
		f.Category, f.Rule = r.category, r.name
	}
	return f
}

// incidentEntry is the toil entry of a resolved incident or page.
func incidentEntry(inc *schema.Incident, teams map[key]string, rules *Rules, now time.Time) (schema.ToilFact, bool) {
	if inc.ResolvedAt.IsZero() || inc.ResolvedAt.Before(inc.OpenedAt) {
		return schema.ToilFact{}, false
	}
	started, basis := inc.OpenedAt, BasisOpenedToResolved
	if a := inc.AcknowledgedAt; !a.IsZero() && !a.Before(inc.OpenedAt) && !a.After(inc.ResolvedAt) {
		started, basis = a, BasisAcknowledgedToResolved
	}
	kind := schema.ToilFromIncident
	if inc.Kind == schema.IncidentKindAlert {
		kind = schema.ToilFromAlert
	}
	team := teams[key{inc.Source, inc.ID}]
	if team == "" {
		team = rules.teams.TeamOfIncident(inc.Service)
	}
	s := subject{
		source: inc.Source, kind: kind, title: inc.Title, service: inc.Service, labels: inc.Labels,
		priorities: []string{inc.Priority, inc.Severity},
	}
	return fact(&s, rules, inc.ID, team, "", started, seconds(started, inc.ResolvedAt), basis, now), true
}

// ticketEntry is the toil entry of a toil ticket that has its time yet: logged, or
// active time once finished.
func ticketEntry(it *schema.WorkItem, flow *schema.FlowItemFact, logs []*schema.Worklog, rules *Rules, now time.Time) (schema.ToilFact, bool) {
	s := subject{
		source: it.Source, kind: schema.ToilFromTicket, title: it.Title, issueType: it.IssueType,
		labels: it.Labels, priorities: []string{it.Priority},
	}
	if !rules.ticketIsToil(&s) {
		return schema.ToilFact{}, false
	}
	var (
		started time.Time
		secs    int64
		who     string
		basis   string
	)
	if started, secs, who = logged(logs); secs > 0 {
		basis = BasisWorklogs
	} else if flow != nil && !flow.DoneAt.IsZero() && !flow.CommittedAt.IsZero() && flow.ActiveSeconds >= 0 {
		started, secs, who, basis = flow.CommittedAt, flow.ActiveSeconds, it.Assignee, BasisActiveTime
	} else {
		return schema.ToilFact{}, false
	}
	team := ""
	if flow != nil {
		team = flow.Team
	}
	if team == "" {
		team = rules.teamOfTicket(it.Project, who)
	}
	return fact(&s, rules, it.ID, team, who, started, secs, basis, now), true
}

// logged is a ticket's logged time: the earliest worklog's start, the total
// seconds, and the author who logged the most (ties to the name first
// alphabetically, whatever the order of the worklogs).
func logged(logs []*schema.Worklog) (started time.Time, total int64, who string) {
	by := map[string]int64{}
	var authors []string
	for _, w := range logs {
		if w.Seconds <= 0 {
			continue
		}
		if started.IsZero() || w.StartedAt.Before(started) {
			started = w.StartedAt
		}
		total += w.Seconds
		if _, ok := by[w.Author]; !ok {
			authors = append(authors, w.Author)
		}
		by[w.Author] += w.Seconds
	}
	for i, a := range authors {
		if i == 0 || by[a] > by[who] || by[a] == by[who] && a < who {
			who = a
		}
	}
	return started, total, who
}

// deploymentEntry is the toil entry of a finished manual deployment, rollback or
// re-run.
func deploymentEntry(d *schema.Deployment, f *schema.DeploymentFact, rules *Rules, now time.Time) (schema.ToilFact, bool) {
	if d.FinishedAt.IsZero() || d.FinishedAt.Before(d.StartedAt) {
		return schema.ToilFact{}, false
	}
	var kind, basis string
	switch {
	case d.Attempt > 1:
		kind, basis = schema.ToilFromRerun, BasisRerun
	case d.Trigger == schema.TriggerManual || d.Rollback || f != nil && f.Rollback:
		kind, basis = schema.ToilFromDeployment, BasisDeployment
	default:
		return schema.ToilFact{}, false
	}
	team := ""
	if f != nil {
		team = f.Team
	}
	if team == "" {
		team = rules.teams.TeamOfDeployment(d.Service, d.Repo)
	}
	s := subject{source: d.Source, kind: kind, service: d.Service}
	entry := fact(&s, rules, d.ID, team, "", d.StartedAt, seconds(d.StartedAt, d.FinishedAt), basis, now)
	entry.Title = deploymentTitle(d, kind, f)
	return entry, true
}

// deploymentTitle names a deployment entry for people reading a report, as a
// deployment has no title of its own. Rules never see it: their title patterns
// are matched against "" for deployments.
func deploymentTitle(d *schema.Deployment, kind string, f *schema.DeploymentFact) string {
	what := "manual deployment"
	switch {
	case kind == schema.ToilFromRerun:
		what = fmt.Sprintf("re-run (attempt %d) of the deployment", d.Attempt)
	case d.Rollback || f != nil && f.Rollback:
		what = "rollback"
	}
	title := what + " of " + orUnknown(d.Service)
	if d.Environment != "" {
		title += " to " + d.Environment
	}
	return title
}

func orUnknown(s string) string {
	if s == "" {
		return "(no service)"
	}
	return s
}
