package synthetic

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// Summary counts what a Generate run emitted.
type Summary struct {
	PullRequests  int
	Deployments   int
	Incidents     int
	WorkItems     int
	StatusChanges int
	Worklogs      int

	// MergedPullRequests, OpenPullRequests and BotPullRequests break PullRequests down.
	MergedPullRequests int
	OpenPullRequests   int
	BotPullRequests    int
	// ProductionDeployments counts successful production deployments.
	ProductionDeployments int
	// FailedAttempts counts deployments with status failure or error.
	FailedAttempts int
	// BadDeployments counts production deployments the generator made cause a
	// failure (an incident, a rollback or a hotfix), whether or not it was detected
	// before Now.
	BadDeployments int
	Rollbacks      int
	Hotfixes       int
	// CausedIncidents counts incidents opened because of a bad deployment;
	// NamedIncidents those of them that name the deployment or its commit.
	CausedIncidents int
	NamedIncidents  int
	ToilItems       int
	// LinkedPullRequests counts pull requests that name a ticket.
	LinkedPullRequests int
	// Batches is the number of times emit was called.
	Batches int
}

// Records is the total number of records emitted.
func (s Summary) Records() int {
	return s.PullRequests + s.Deployments + s.Incidents + s.WorkItems + s.StatusChanges + s.Worklogs
}

// sink collects records into batches and hands each full batch to emit.
type sink struct {
	ctx   context.Context
	size  int
	emit  func(*schema.Batch) error
	batch *schema.Batch
	sum   Summary
}

func (s *sink) added() error {
	if s.batch.Len() >= s.size {
		return s.flush()
	}
	return nil
}

func (s *sink) flush() error {
	if s.batch.Len() == 0 {
		return nil
	}
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("synthetic: %w", err)
	}
	b := s.batch
	// The next batch will likely hold the same mix: sizing it like this one saves
	// growing the slices record by record.
	s.batch = &schema.Batch{
		PullRequests:  make([]schema.PullRequest, 0, len(b.PullRequests)),
		Deployments:   make([]schema.Deployment, 0, len(b.Deployments)),
		Incidents:     make([]schema.Incident, 0, len(b.Incidents)),
		WorkItems:     make([]schema.WorkItem, 0, len(b.WorkItems)),
		StatusChanges: make([]schema.StatusChange, 0, len(b.StatusChanges)),
		Worklogs:      make([]schema.Worklog, 0, len(b.Worklogs)),
	}
	s.sum.Batches++
	if err := s.emit(b); err != nil {
		return fmt.Errorf("synthetic: emit batch %d: %w", s.sum.Batches, err)
	}
	return nil
}

func (s *sink) pullRequest(pr schema.PullRequest) error {
	s.batch.PullRequests = append(s.batch.PullRequests, pr)
	s.sum.PullRequests++
	return s.added()
}

func (s *sink) deployment(d schema.Deployment) error {
	s.batch.Deployments = append(s.batch.Deployments, d)
	s.sum.Deployments++
	return s.added()
}

func (s *sink) incident(i schema.Incident) error {
	s.batch.Incidents = append(s.batch.Incidents, i)
	s.sum.Incidents++
	return s.added()
}

func (s *sink) workItem(w schema.WorkItem) error {
	s.batch.WorkItems = append(s.batch.WorkItems, w)
	s.sum.WorkItems++
	return s.added()
}

func (s *sink) statusChange(c schema.StatusChange) error {
	s.batch.StatusChanges = append(s.batch.StatusChanges, c)
	s.sum.StatusChanges++
	return s.added()
}

func (s *sink) worklog(w schema.Worklog) error {
	s.batch.Worklogs = append(s.batch.Worklogs, w)
	s.sum.Worklogs++
	return s.added()
}

// period is the generated window and the options shared by every generator.
type period struct {
	o     Options
	start time.Time // Now - Days
	now   time.Time
}

// days calls f with the midnight of every day that overlaps the period.
func (p period) days(f func(midnight time.Time) error) error {
	for d := p.start.Truncate(24 * time.Hour); d.Before(p.now); d = d.Add(24 * time.Hour) {
		if err := f(d); err != nil {
			return err
		}
	}
	return nil
}

// in reports whether t lies in the period.
func (p period) in(t time.Time) bool { return !t.Before(p.start) && t.Before(p.now) }

// Generate streams the records of the organisation NewOrg(o) describes over the Days
// before o.Now, calling emit with batches of at most BatchSize records. It walks one
// repository and one ticket project at a time forward in time, so memory stays flat
// however many records are asked for. It stops with ctx's error when ctx is done, and
// with emit's error when emit fails.
func Generate(ctx context.Context, o Options, emit func(*schema.Batch) error) (Summary, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	p := period{o: o, now: o.Now, start: o.Now.Add(-time.Duration(o.Days) * 24 * time.Hour)}
	s := &sink{ctx: ctx, size: o.BatchSize, emit: emit, batch: &schema.Batch{}}
	for i, team := range NewOrg(o).Teams {
		prof := profileFor(i)
		if err := ctx.Err(); err != nil {
			return s.sum, fmt.Errorf("synthetic: %w", err)
		}
		// Tickets first, so that the team's pull requests can name the tickets in
		// progress when they were opened.
		tickets := newTicketGen(p, s, team, prof)
		if err := tickets.run(); err != nil {
			return s.sum, err
		}
		slices.SortFunc(tickets.spans, func(a, b ticketSpan) int { return a.from.Compare(b.from) })
		for j := range team.Repositories {
			if err := ctx.Err(); err != nil {
				return s.sum, fmt.Errorf("synthetic: %w", err)
			}
			g := newRepoGen(p, s, team, prof, j)
			g.tickets = tickets.spans
			if err := g.run(); err != nil {
				return s.sum, err
			}
		}
	}
	if err := s.flush(); err != nil {
		return s.sum, err
	}
	return s.sum, nil
}

// clip returns t when it happened before now, else the zero time.
func clip(t, now time.Time) time.Time {
	if t.Before(now) {
		return t
	}
	return time.Time{}
}

// latest returns the latest non-zero time of ts.
func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// Delivery generates the organisation's pull requests, deployments and incidents,
// without its tickets, into one batch: what DORA derivation reads, for tests that
// derive a whole organisation in memory.
func Delivery(ctx context.Context, o Options) (*schema.Batch, error) {
	all := &schema.Batch{}
	_, err := Generate(ctx, o, func(b *schema.Batch) error {
		all.PullRequests = append(all.PullRequests, b.PullRequests...)
		all.Deployments = append(all.Deployments, b.Deployments...)
		all.Incidents = append(all.Incidents, b.Incidents...)
		return nil
	})
	return all, err
}
