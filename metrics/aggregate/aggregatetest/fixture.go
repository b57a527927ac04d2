// Package aggregatetest holds a small hand-built set of facts whose DORA figures are
// worked out by hand in metrics/aggregate's tests, so the aggregation, the report
// renderers and the report command are all checked against the same known numbers.
package aggregatetest

import (
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/schema"
)

// The fixture's window: four whole weeks of June 2026, Monday 1 to Monday 29
// (exclusive), all inside one calendar month.
var (
	From = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	To   = time.Date(2026, 6, 29, 0, 0, 0, 0, time.UTC)
	// Now is noon of the window's last day.
	Now = time.Date(2026, 6, 28, 12, 0, 0, 0, time.UTC)
	// Teams are the config's teams; "idle" has no facts at all.
	Teams = []string{"payments", "search", "idle"}
)

// at is a time in June 2026.
func at(day, hour int) time.Time {
	return time.Date(2026, 6, day, hour, 0, 0, 0, time.UTC)
}

const (
	h = int64(3600)
	d = 24 * h
)

// Production is a successful production deployment of service (repository
// acme/<service>) finishing at finished, ten minutes after it started: the shape most
// hand-built deployment facts start from.
func Production(id, team, service string, finished, updated time.Time) schema.DeploymentFact {
	return schema.DeploymentFact{
		Source: "gh", ID: id, Team: team, Repo: "acme/" + service, Service: service,
		Environment: "production", Production: true, Status: "success",
		StartedAt: finished.Add(-10 * time.Minute), FinishedAt: finished,
		RecoverySeconds: schema.Unknown, UpdatedAt: updated,
	}
}

// Failed marks a deployment failed (an incident named it), recovered after recovery
// seconds (schema.Unknown for never).
func Failed(dep schema.DeploymentFact, recovery int64) schema.DeploymentFact {
	dep.Failed, dep.FailureReasons, dep.RecoverySeconds = true, []string{schema.ReasonIncidentNamed}, recovery
	if recovery >= 0 {
		dep.RecoveredAt = dep.FinishedAt.Add(time.Duration(recovery) * time.Second)
	}
	return dep
}

// Unplanned marks a deployment unplanned for one reason, and a rollback or hotfix
// when that is the reason.
func Unplanned(dep schema.DeploymentFact, reason string) schema.DeploymentFact {
	dep.Unplanned, dep.UnplannedReasons = true, []string{reason}
	dep.Rollback, dep.Hotfix = reason == schema.UnplannedRollback, reason == schema.UnplannedHotfix
	return dep
}

// Facts returns the fixture's facts. Every fact is in June 2026 unless its comment
// says otherwise.
func Facts() (changes []schema.ChangeFact, deployments []schema.DeploymentFact, incidents []schema.IncidentFact) {
	updated := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	prod := func(id, team, service string, finished time.Time) schema.DeploymentFact {
		return Production(id, team, service, finished, updated)
	}
	failed, unplanned := Failed, Unplanned
	staging := prod("d8", "payments", "checkout", at(10, 9))
	staging.Environment, staging.Production = "staging", false
	attempt := prod("d9", "payments", "checkout", at(11, 9))
	attempt.Production, attempt.Status, attempt.FailedAttempt = false, "failure", true
	// Started May 31 23:55, finished Jun 1 00:05: attempts count by their start.
	oldAttempt := prod("d11", "payments", "checkout", time.Date(2026, 6, 1, 0, 5, 0, 0, time.UTC))
	oldAttempt.StartedAt = time.Date(2026, 5, 31, 23, 55, 0, 0, time.UTC)
	oldAttempt.Production, oldAttempt.Status, oldAttempt.FailedAttempt = false, "error", true
	// Started Jun 28 23:55, finished Jun 29 00:05: in the window by its start.
	lateAttempt := prod("d13", "payments", "ledger", To.Add(5*time.Minute))
	lateAttempt.StartedAt = To.Add(-5 * time.Minute)
	lateAttempt.Production, lateAttempt.Status, lateAttempt.FailedAttempt = false, "failure", true

	// d2 failed: incident i1 names it and the hotfix d3 replaced it; i1 resolved
	// first, 1 h after d2 finished.
	d2 := failed(prod("d2", "payments", "checkout", at(2, 10)), 1*h)
	d2.FailureReasons = []string{schema.ReasonIncidentNamed, schema.ReasonHotfixed}
	d2.CausedIncidents, d2.RecoveredBy = []string{"i1"}, "i1"
	// d5 failed: the rollback d6 replaced it 2 h later.
	d5 := failed(prod("d5", "payments", "checkout", at(16, 11)), 2*h)
	d5.FailureReasons, d5.RecoveredBy = []string{schema.ReasonRolledBack}, "d6"
	// d22 failed by inference only: incident i2 of its service opened an hour after
	// it, and is still open.
	d22 := failed(prod("d22", "payments", "ledger", at(5, 9)), schema.Unknown)
	d22.FailureReasons, d22.CausedIncidents = []string{schema.ReasonIncidentWindow}, []string{"i2"}

	deployments = []schema.DeploymentFact{
		// payments/checkout: 7 production deployments in the window on Jun 1, 2, 2,
		// 9, 16, 16, 23; d2 and d5 failed (recovered in 1 h and 2 h); d3 (hotfix)
		// and d6 (rollback) are unplanned.
		prod("d1", "payments", "checkout", at(1, 10)),
		d2,
		unplanned(prod("d3", "payments", "checkout", at(2, 15)), schema.UnplannedHotfix),
		prod("d4", "payments", "checkout", at(9, 11)),
		d5,
		unplanned(prod("d6", "payments", "checkout", at(16, 13)), schema.UnplannedRollback),
		prod("d7", "payments", "checkout", at(23, 11)),
		staging,    // not production: counted nowhere
		attempt,    // a failed attempt started Jun 11: failed_deploy_attempts only
		oldAttempt, // a failed attempt started before the window: outside it
		// Finished May 31 23:00 and at the window's end: both outside.
		failed(prod("d10", "payments", "checkout", time.Date(2026, 5, 31, 23, 0, 0, 0, time.UTC)), 1*h),
		prod("d12", "payments", "checkout", To),
		// payments/ledger: Jun 3, 4, 5; d22 failed and has not recovered.
		prod("d20", "payments", "ledger", at(3, 9)),
		prod("d21", "payments", "ledger", at(4, 9)),
		d22,
		lateAttempt, // a failed attempt started in the window, finished after it
		// search/indexer: Monday, Tuesday and Wednesday of every week, none failed.
		prod("d30", "search", "indexer", at(1, 8)),
		prod("d31", "search", "indexer", at(2, 8)),
		prod("d32", "search", "indexer", at(3, 8)),
		prod("d33", "search", "indexer", at(8, 8)),
		prod("d34", "search", "indexer", at(9, 8)),
		prod("d35", "search", "indexer", at(10, 8)),
		prod("d36", "search", "indexer", at(15, 8)),
		prod("d37", "search", "indexer", at(16, 8)),
		prod("d38", "search", "indexer", at(17, 8)),
		prod("d39", "search", "indexer", at(22, 8)),
		prod("d40", "search", "indexer", at(23, 8)),
		prod("d41", "search", "indexer", at(24, 8)),
		// No team: Jun 10.
		prod("d50", "", "billing-batch", at(10, 14)),
	}

	// shipped is a change shipped by the deployment by, whose finish is shippedAt.
	shipped := func(id, team, repo, service, by string, shippedAt time.Time, lead, coding, pickup, review, deploy int64) schema.ChangeFact {
		return schema.ChangeFact{
			Source: "gh", ID: id, Team: team, Repo: repo, Service: service, State: schema.ChangeShipped,
			ShippedBy: by, Attribution: schema.ByAncestry,
			MergedAt: shippedAt.Add(-time.Duration(max(deploy, 0)) * time.Second), ShippedAt: shippedAt,
			LeadTimeSeconds: lead, CodingSeconds: coding, PickupSeconds: pickup, ReviewSeconds: review, DeploySeconds: deploy,
			UpdatedAt: updated,
		}
	}
	merged := func(id, team, repo, service string, state schema.ChangeState, mergedAt time.Time) schema.ChangeFact {
		return schema.ChangeFact{
			Source: "gh", ID: id, Team: team, Repo: repo, Service: service, State: state, MergedAt: mergedAt,
			LeadTimeSeconds: schema.Unknown, CodingSeconds: schema.Unknown, PickupSeconds: schema.Unknown,
			ReviewSeconds: schema.Unknown, DeploySeconds: schema.Unknown, UpdatedAt: updated,
		}
	}
	changes = []schema.ChangeFact{
		// payments/checkout (c1 by its repository's name, the others by service).
		shipped("c1", "payments", "acme/checkout", "", "d1", at(1, 10), 10*h, 2*h, 1*h, 5*h, 2*h),
		// Attributed by time: its merge commit or d4's commit is unknown.
		func() schema.ChangeFact {
			c := shipped("c2", "payments", "acme/checkout", "checkout", "d4", at(9, 11), 1*d, 12*h, schema.Unknown, 6*h, 6*h)
			c.Attribution = schema.ByTime
			return c
		}(),
		shipped("c3", "payments", "acme/checkout", "checkout", "d5", at(16, 11), 2*d, 1*d, 2*h, 10*h, 12*h),
		// Shipped with no lead time: counted as shipped, left out of the lead time
		// and of every part (its deploy part too).
		shipped("c5", "payments", "acme/checkout", "checkout", "d7", at(23, 11), schema.Unknown, schema.Unknown, schema.Unknown, schema.Unknown, 1*h),
		// Shipped May 30: outside.
		shipped("c6", "payments", "acme/checkout", "checkout", "d0", time.Date(2026, 5, 30, 10, 0, 0, 0, time.UTC), 1000, 100, 100, 100, 100),
		// A bot's pull request (state "excluded"): counted in no figure.
		func() schema.ChangeFact {
			c := shipped("c60", "payments", "acme/checkout", "checkout", "d2", at(2, 10), 60, 10, 10, 10, 30)
			c.State = schema.ChangeState("excluded")
			return c
		}(),
		merged("c7", "payments", "acme/checkout", "", schema.ChangeUntracked, at(5, 12)),
		merged("c8", "payments", "acme/checkout", "", schema.ChangeUntracked, time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)),  // outside
		merged("c10", "payments", "acme/checkout", "", schema.ChangeUndeployed, at(25, 12)),                                   // 3 days old at Now
		merged("c12", "payments", "acme/checkout", "", schema.ChangeUndeployed, time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)), // outside
		// payments/ledger.
		shipped("c4", "payments", "acme/ledger", "ledger", "d20", at(3, 9), 3*d, 2*d, 4*h, 10*h, 10*h),
		merged("c9", "payments", "acme/ledger", "ledger", schema.ChangeUndeployed, at(19, 12)), // 9 days old at Now
		merged("c11", "payments", "acme/ledger", "ledger", schema.ChangeUndeployed, at(9, 12)), // 19 days old at Now
		// search/indexer.
		shipped("c20", "search", "acme/indexer", "indexer", "d32", at(3, 8), 1800, 600, 300, 600, 300),
		shipped("c21", "search", "acme/indexer", "indexer", "d35", at(10, 8), 5400, 1800, 900, 1800, 900),
		shipped("c22", "search", "acme/indexer", "indexer", "d38", at(17, 8), 3600, 1200, 600, 1200, 600),
		// A team the config does not list: reported under (no team), service "tools".
		shipped("c50", "ghost", "acme/tools", "", "t1", at(11, 9), 2*h, 1*h, 600, 1200, 1200),
	}

	incident := func(id, team, service string, opened time.Time, restore int64) schema.IncidentFact {
		i := schema.IncidentFact{
			Source: "pd", ID: id, Team: team, Service: service, Severity: "SEV2",
			OpenedAt: opened, RestoreSeconds: restore, UpdatedAt: updated,
		}
		if restore >= 0 {
			i.ResolvedAt = opened.Add(time.Duration(restore) * time.Second)
		}
		return i
	}
	linked := func(i schema.IncidentFact, deployment, reason string) schema.IncidentFact {
		i.Deployment, i.LinkReason = deployment, reason
		return i
	}
	incidents = []schema.IncidentFact{
		linked(incident("i1", "payments", "checkout", at(2, 10), 1*h), "d2", schema.ReasonIncidentNamed),
		linked(incident("i2", "payments", "ledger", at(5, 10), schema.Unknown), "d22", schema.ReasonIncidentWindow), // still open
		incident("i3", "payments", "checkout", at(12, 9), 1800),
		incident("i4", "payments", "ledger", at(20, 9), 3*h),
		incident("i5", "payments", "checkout", time.Date(2026, 5, 28, 9, 0, 0, 0, time.UTC), 100), // outside
		incident("i50", "", "", at(14, 9), 600),
	}
	return changes, deployments, incidents
}

// Input is the fixture as the aggregation's input, with the 2023 table.
func Input() aggregate.Input {
	changes, deployments, incidents := Facts()
	return aggregate.Input{
		Changes: changes, Deployments: deployments, Incidents: incidents,
		From: From, To: To, Now: Now, Table: "2023", Teams: Teams,
	}
}
