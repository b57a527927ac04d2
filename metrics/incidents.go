package metrics

import (
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// linkIncidents makes the incident facts and fails the production deployment
// each incident is linked to, recovered when the incident was resolved. An incident
// that names its cause (a deployment, its commit, or the merge commit or number of
// a pull request it shipped) links to that deployment (incident_named). Otherwise,
// unless the rules turn inference off, it links to the production deployment of its
// service live when it opened, if that finished within the failure window
// (incident_window, inferred). An incident's service is the deployment service of
// the same name, ignoring case, or the one the config maps it to.
func linkIncidents(in Input, rules *Rules, deps []*deployment, byID map[string]*deployment, byPR, byMerge map[string]*change, now time.Time) []schema.IncidentFact {
	byService := map[string][]*deployment{} // lower-cased service → counted deployments
	bySHA := map[string][]*deployment{}
	for _, d := range deps {
		if d.counted() {
			s := strings.ToLower(d.rec.Service)
			byService[s] = append(byService[s], d)
			if sha := lowerSHA(d.rec.CommitSHA); sha != "" {
				bySHA[sha] = append(bySHA[sha], d)
			}
		}
	}
	for _, groups := range []map[string][]*deployment{byService, bySHA} {
		for _, list := range groups {
			slices.SortFunc(list, byFinish)
		}
	}
	out := make([]schema.IncidentFact, len(in.Incidents))
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
		d, reason := namedDeployment(inc, byID, bySHA, byMerge, byPR), schema.ReasonIncidentNamed
		if d == nil && rules.inferFromIncidents {
			list := byService[strings.ToLower(rules.DeploymentServiceOfIncident(inc.Service))]
			if j := lastFinishedBy(list, inc.OpenedAt); j >= 0 && inc.OpenedAt.Sub(list[j].rec.FinishedAt) < rules.failureWindow {
				d, reason = list[j], schema.ReasonIncidentWindow
			}
		}
		if d != nil {
			f.Deployment, f.LinkReason = d.rec.ID, reason
			fail(d, reason, inc.ResolvedAt, inc.ID)
			d.fact.CausedIncidents = append(d.fact.CausedIncidents, inc.ID)
		}
		out[i] = f
	}
	return out
}

// namedDeployment is the production deployment an incident names as its cause: by
// id; by commit, the last deployment of that commit finished by the time the
// incident opened, else the one that shipped the pull request merged as that
// commit; or the one that shipped the pull request it names.
func namedDeployment(inc *schema.Incident, byID map[string]*deployment, bySHA map[string][]*deployment,
	byMerge map[string]*change, byPR map[string]*change) *deployment {
	if d, ok := byID[inc.CauseDeploymentID]; ok && inc.CauseDeploymentID != "" && d.production {
		return d
	}
	if sha := lowerSHA(inc.CauseCommitSHA); sha != "" {
		list := bySHA[sha]
		if j := lastFinishedBy(list, inc.OpenedAt); j >= 0 {
			return list[j]
		}
		if c := byMerge[sha]; c != nil && c.shippedBy != nil {
			return c.shippedBy
		}
	}
	if c := byPR[inc.CausePullRequest]; c != nil && c.shippedBy != nil {
		return c.shippedBy
	}
	return nil
}
