package exporter

import (
	"context"
	"iter"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate/aggregatetest"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// The fixture: two teams, three services, in 2026.
//
//   - alpha owns api and web; beta owns db.
//   - now is Monday 29 June 2026 00:00 UTC, so the windows are
//     7d = [Jun 22, Jun 29), 30d = [May 30, Jun 29), 90d = [Mar 31, Jun 29).
//
// Production deployments (all environment "production", status "success"):
//
//	id  team  service finished      failed (recovery)  unplanned
//	a0  alpha web     Jan 10 10:00  -                  -          before every window
//	a1  alpha api     Apr 15 10:00  -                  -          90d
//	a2  alpha api     Jun 10 10:00  yes (2 h = 7200)   -          30d 90d
//	a3  alpha api     Jun 10 14:00  -                  hotfix     30d 90d
//	a4  alpha api     Jun 24 10:00  -                  -          7d 30d 90d
//	a5  alpha api     Jun 25 10:00  yes (1 h = 3600)   -          7d 30d 90d
//	w1  alpha web     May 20 10:00  yes (4 h = 14400)  -          90d
//	w2  alpha web     Jun 26 10:00  -                  -          7d 30d 90d
//	b1  beta  db      Jun  1 10:00  -                  -          30d 90d
//	b2  beta  db      Jun 15 10:00  yes (7 d = 604800) -          30d 90d
//	b3  beta  db      Jun 22 10:00  -                  rollback   7d 30d 90d
//	b4  beta  db      Jun 23 10:00  yes (not recovered,-          7d 30d 90d
//	                                inferred: its only
//	                                reason is an incident
//	                                in the failure window)
//
// Other deployments, counted only in flowmeter_deployments_total:
//
//	a6  alpha api production status failure (a failed attempt, Jun 24 09:00)
//	a7  alpha api staging    status success (Jun 24 08:00)
//	b5  beta  db  production status error   (a failed attempt, Jun 23 09:00)
//
// Shipped changes (seconds; lead = coding + pickup + review + deploy where all known):
//
//	id team  service shipped       lead    coding  pickup  review  deploy
//	c1 alpha api     Jun 10 10:00  86400   36000   3600    18000   28800
//	c2 alpha api     Jun 24 10:00  172800  86400   7200    43200   36000
//	c3 alpha api     Jun 25 10:00  14400   3600    unknown 7200    3600
//	c4 alpha web     May 20 10:00  259200  172800  14400   36000   36000
//	c5 alpha web     Jun 26 10:00  21600   7200    1800    5400    7200
//	c6 beta  db      Jun  1 10:00  28800   14400   3600    3600    7200
//	c7 beta  db      Jun 22 10:00  3600    1200    600     600     1200
//	c9 beta  db      Jun 23 10:00  unknown (first commit unknown): in no lead time or part
//
// and c8, beta/db, merged Jun 27 and not yet deployed (in no published figure).
//
// Incidents (seconds to restore):
//
//	i1 alpha api opened Jun 10 10:30  5400  (caused by a2)
//	i2 alpha web opened May 20 11:00  10800 (caused by w1)
//	i3 alpha api opened Jun 27 09:00  still open
//	i4 alpha web opened Jun 24 12:00  1200  (no deployment)
//	i5 beta  db  opened Jun 15 11:00  7200  (caused by b2)
var (
	fixtureNow   = time.Date(2026, 6, 29, 0, 0, 0, 0, time.UTC)
	fixtureTeams = []string{"alpha", "beta"}
)

const (
	hour = int64(3600)
	day  = 24 * hour
)

func jun(d, h, m int) time.Time { return time.Date(2026, 6, d, h, m, 0, 0, time.UTC) }

func fixtureFacts() facts {
	updated := fixtureNow
	dep := func(id, team, service string, finished time.Time) schema.DeploymentFact {
		return aggregatetest.Production(id, team, service, finished, updated)
	}
	failed, unplanned := aggregatetest.Failed, aggregatetest.Unplanned
	attempt := func(d schema.DeploymentFact, status string) schema.DeploymentFact {
		d.Production, d.Status, d.FailedAttempt = false, status, true
		return d
	}
	inferred := func(d schema.DeploymentFact) schema.DeploymentFact {
		d.FailureReasons = []string{schema.ReasonIncidentWindow}
		return d
	}
	staging := dep("a7", "alpha", "api", jun(24, 8, 0))
	staging.Environment, staging.Production = "staging", false

	var f facts
	f.deployments = []schema.DeploymentFact{
		dep("a0", "alpha", "web", time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC)),
		dep("a1", "alpha", "api", time.Date(2026, 4, 15, 10, 0, 0, 0, time.UTC)),
		failed(dep("a2", "alpha", "api", jun(10, 10, 0)), 2*hour),
		unplanned(dep("a3", "alpha", "api", jun(10, 14, 0)), schema.UnplannedHotfix),
		dep("a4", "alpha", "api", jun(24, 10, 0)),
		failed(dep("a5", "alpha", "api", jun(25, 10, 0)), 1*hour),
		attempt(dep("a6", "alpha", "api", jun(24, 9, 0)), "failure"),
		staging,
		failed(dep("w1", "alpha", "web", time.Date(2026, 5, 20, 10, 0, 0, 0, time.UTC)), 4*hour),
		dep("w2", "alpha", "web", jun(26, 10, 0)),
		dep("b1", "beta", "db", jun(1, 10, 0)),
		failed(dep("b2", "beta", "db", jun(15, 10, 0)), 7*day),
		unplanned(dep("b3", "beta", "db", jun(22, 10, 0)), schema.UnplannedRollback),
		inferred(failed(dep("b4", "beta", "db", jun(23, 10, 0)), schema.Unknown)),
		attempt(dep("b5", "beta", "db", jun(23, 9, 0)), "error"),
	}

	shipped := func(id, team, service string, at time.Time, lead, coding, pickup, review, deploy int64) schema.ChangeFact {
		return schema.ChangeFact{
			Source: "gh", ID: id, Team: team, Repo: "acme/" + service, Service: service,
			State: schema.ChangeShipped, ShippedBy: "d", Attribution: schema.ByAncestry,
			MergedAt: at.Add(-time.Duration(max(deploy, 0)) * time.Second), ShippedAt: at,
			LeadTimeSeconds: lead, CodingSeconds: coding, PickupSeconds: pickup, ReviewSeconds: review, DeploySeconds: deploy,
			UpdatedAt: updated,
		}
	}
	u := schema.Unknown
	f.changes = []schema.ChangeFact{
		shipped("c1", "alpha", "api", jun(10, 10, 0), 1*day, 10*hour, 1*hour, 5*hour, 8*hour),
		shipped("c2", "alpha", "api", jun(24, 10, 0), 2*day, 1*day, 2*hour, 12*hour, 10*hour),
		shipped("c3", "alpha", "api", jun(25, 10, 0), 4*hour, 1*hour, u, 2*hour, 1*hour),
		shipped("c4", "alpha", "web", time.Date(2026, 5, 20, 10, 0, 0, 0, time.UTC), 3*day, 2*day, 4*hour, 10*hour, 10*hour),
		shipped("c5", "alpha", "web", jun(26, 10, 0), 6*hour, 2*hour, 1800, 5400, 2*hour),
		shipped("c6", "beta", "db", jun(1, 10, 0), 8*hour, 4*hour, 1*hour, 1*hour, 2*hour),
		shipped("c7", "beta", "db", jun(22, 10, 0), 1*hour, 1200, 600, 600, 1200),
		{
			Source: "gh", ID: "c8", Team: "beta", Repo: "acme/db", State: schema.ChangeUndeployed, MergedAt: jun(27, 12, 0),
			LeadTimeSeconds: u, CodingSeconds: u, PickupSeconds: u, ReviewSeconds: u, DeploySeconds: u, UpdatedAt: updated,
		},
		shipped("c9", "beta", "db", jun(23, 10, 0), u, u, 600, 600, 1800),
	}

	incident := func(id, team, service string, opened time.Time, restore int64, deployment string) schema.IncidentFact {
		i := schema.IncidentFact{
			Source: "pd", ID: id, Team: team, Service: service, Severity: "SEV2",
			OpenedAt: opened, RestoreSeconds: restore, Deployment: deployment, UpdatedAt: updated,
		}
		if restore >= 0 {
			i.ResolvedAt = opened.Add(time.Duration(restore) * time.Second)
		}
		return i
	}
	f.incidents = []schema.IncidentFact{
		incident("i1", "alpha", "api", jun(10, 10, 30), 5400, "a2"),
		incident("i2", "alpha", "web", time.Date(2026, 5, 20, 11, 0, 0, 0, time.UTC), 3*hour, "w1"),
		incident("i3", "alpha", "api", jun(27, 9, 0), u, ""),
		incident("i4", "alpha", "web", jun(24, 12, 0), 1200, ""),
		incident("i5", "beta", "db", jun(15, 11, 0), 2*hour, "b2"),
	}
	return f
}

// factStore is a store that holds only facts: enough for Refresh, which reads
// nothing else. Calling any other method panics (the embedded interface is nil).
type factStore struct {
	store.Store
	f   facts
	err error // returned by DeploymentFacts when set
	// reads counts the fact reads, so tests can tell a scrape never reads.
	reads int
}

func (s *factStore) ChangeFacts(context.Context, store.Filter) iter.Seq2[schema.ChangeFact, error] {
	s.reads++
	return seq(s.f.changes, nil)
}

func (s *factStore) DeploymentFacts(context.Context, store.Filter) iter.Seq2[schema.DeploymentFact, error] {
	s.reads++
	return seq(s.f.deployments, s.err)
}

func (s *factStore) IncidentFacts(context.Context, store.Filter) iter.Seq2[schema.IncidentFact, error] {
	s.reads++
	return seq(s.f.incidents, nil)
}

func (s *factStore) FlowItemFacts(context.Context, store.Filter) iter.Seq2[schema.FlowItemFact, error] {
	s.reads++
	return seq(s.f.flowItems, nil)
}

func (s *factStore) ToilFacts(context.Context, store.Filter) iter.Seq2[schema.ToilFact, error] {
	s.reads++
	return seq(s.f.toil, nil)
}

func seq[T any](values []T, err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, v := range values {
			if !yield(v, nil) {
				return
			}
		}
		if err != nil {
			var zero T
			yield(zero, err)
		}
	}
}
