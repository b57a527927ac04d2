package synthetic

import (
	"fmt"
	"slices"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// Jira status categories.
const (
	catToDo       = "To Do"
	catInProgress = "In Progress"
	catDone       = "Done"
)

// Ticket statuses of the generated workflow. "Ready for Dev", "Blocked" and "Waiting
// for Deploy" are wait states by name under the default flow-state mapping.
const (
	stBacklog       = "Backlog"
	stReady         = "Ready for Dev"
	stInProgress    = "In Progress"
	stInReview      = "In Review"
	stBlocked       = "Blocked"
	stWaitingDeploy = "Waiting for Deploy"
	stDone          = "Done"
	stWontDo        = "Won't Do"
)

// statusCategory maps each status to its Jira category.
func statusCategory(s string) string {
	switch s {
	case stBacklog, stReady:
		return catToDo
	case stDone, stWontDo:
		return catDone
	}
	return catInProgress
}

// toilKind is one recurring piece of manual operations work.
type toilKind struct {
	title  string // with %s for a service or a person
	person bool   // the %s is a person rather than a service
	label  string
	effort time.Duration // median hands-on time
}

var toilKinds = []toilKind{
	{"Rotate TLS certificate for %s", false, "certificates", 45 * time.Minute},
	{"Grant production access to %s", true, "access-request", 15 * time.Minute},
	{"Restart stuck consumer on %s", false, "restart", 25 * time.Minute},
	{"Manual database migration for %s", false, "migration", 2 * time.Hour},
	{"Bump instance size for %s", false, "capacity", 40 * time.Minute},
}

var (
	storyObjects = []string{"saved payment methods", "order history export", "password-less login",
		"team invitations", "usage dashboard", "refund workflow", "address autocomplete",
		"notification preferences", "bulk price update", "two-factor recovery codes"}
	debtObjects = []string{"legacy XML client", "v1 REST endpoints", "homegrown retry helper",
		"duplicated validation", "flaky integration tests", "unused feature flags"}
)

// ticketGen generates the tickets of one team's project.
type ticketGen struct {
	p    period
	s    *sink
	team Team
	prof profile
	r    *rng
	next int
	day  []time.Time // reused buffer of one day's creation times
	// spans are the planned tickets' times in progress, for the pull requests that
	// name them.
	spans []ticketSpan
}

// ticketSpan is when a ticket was being worked on: from its first move to In
// Progress until it went to Waiting for Deploy or Done. A pull request opened in it
// may name the ticket's key.
type ticketSpan struct {
	key      string
	from, to time.Time
}

func newTicketGen(p period, s *sink, team Team, prof profile) *ticketGen {
	return &ticketGen{p: p, s: s, team: team, prof: prof, r: newRNG(p.o.Seed, "tickets", team.Name)}
}

// run walks the project's days, opening each day's tickets in time order and
// drawing each ticket's whole life at once.
func (g *ticketGen) run() error {
	const weekend = 0.05
	perWeek := 0.45 * float64(g.p.o.ReposPerTeam) * g.p.o.PullRequestsPerRepoPerWeek
	perWeekday := perWeek / (5 + 2*weekend)
	return g.p.days(func(day time.Time) error {
		mean := perWeekday
		if isWeekend(day) {
			mean *= weekend
		}
		g.day = g.day[:0]
		for n := g.r.poisson(mean); n > 0; n-- {
			if t := g.r.workTime(day); g.p.in(t) {
				g.day = append(g.day, t)
			}
		}
		slices.SortFunc(g.day, func(a, b time.Time) int { return a.Compare(b) })
		for _, t := range g.day {
			if err := g.ticket(t); err != nil {
				return err
			}
		}
		return nil
	})
}

// change is one transition of a ticket's drawn life.
type change struct {
	at     time.Time
	to     string
	author string
}

// life records a ticket's transitions as they are drawn.
type life struct {
	r       *rng
	t       time.Time
	changes []change
	author  string
}

// move waits d (then until someone is at work) and moves the ticket to status to.
func (l *life) move(d time.Duration, to string) {
	l.t = l.r.toWorkingHours(l.t.Add(d))
	l.changes = append(l.changes, change{at: l.t, to: to, author: l.author})
}

func (g *ticketGen) ticket(created time.Time) error {
	r, prof := g.r, g.prof
	g.next++
	key := fmt.Sprintf("%s-%d", g.team.TicketProject, g.next)
	assignee := pick(r, g.team.Members)
	lead := g.team.Members[0]
	w := schema.WorkItem{
		Source:    g.p.o.Source,
		ID:        key,
		Project:   g.team.TicketProject,
		CreatedAt: created,
		URL:       "https://acme.atlassian.net/browse/" + key,
		Priority:  []string{"Highest", "High", "Medium", "Low", "Lowest"}[r.weighted(0.04, 0.2, 0.5, 0.18, 0.08)],
	}
	svc := pick(r, g.team.Services)
	l := &life{r: r, t: created}
	var worklogs []schema.Worklog

	if r.chance(prof.toil) {
		k := pick(r, toilKinds)
		target := svc
		if k.person {
			target = pick(r, people)
		}
		w.IssueType, w.Title = "Task", fmt.Sprintf(k.title, target)
		w.Labels = []string{"toil", k.label}
		g.s.sum.ToilItems++
		l.author = lead
		l.move(r.logNormal(3*time.Hour, 1), stReady)
		l.author = assignee
		l.move(r.logNormal(prof.readyWait/4, 1), stInProgress)
		begin := l.t
		l.move(r.logNormal(k.effort*2, 0.8), stDone)
		if r.chance(0.75) {
			span := l.t.Sub(begin)
			for n := 1 + r.IntN(3); n > 0; n-- {
				who := assignee
				if r.chance(0.2) {
					who = pick(r, g.team.Members)
				}
				started := begin.Add(time.Duration(r.Float64() * float64(span))).Truncate(time.Second)
				secs := min(max(r.logNormal(k.effort, 0.7), 5*time.Minute), 6*time.Hour)
				worklogs = append(worklogs, schema.Worklog{
					Source: g.p.o.Source, ID: fmt.Sprintf("%s/worklog/%d", key, len(worklogs)+1), ItemID: key,
					Author: who, StartedAt: started, Seconds: int64(secs / time.Second), UpdatedAt: started.Add(secs),
				})
			}
		}
	} else {
		g.describe(&w, svc, r.weighted(0.45, 0.22, 0.13, 0.05, 0.1, 0.05))
		switch {
		case r.chance(0.07): // canceled before anyone started it
			l.author = lead
			if r.chance(0.5) {
				l.move(r.logNormal(3*24*time.Hour, 1), stReady)
			}
			l.move(r.logNormal(7*24*time.Hour, 1), stWontDo)
		default:
			l.author = lead
			l.move(r.logNormal(3*24*time.Hour, 1.2), stReady)
			l.author = assignee
			l.move(r.logNormal(prof.readyWait, 1), stInProgress)
			if r.chance(0.15) {
				l.move(r.logNormal(prof.progress/2, 0.9), stBlocked)
				l.move(r.logNormal(prof.blocked, 0.9), stInProgress)
			}
			l.move(r.logNormal(prof.progress, 0.9), stInReview)
			l.move(r.logNormal(prof.inReview, 0.9), stWaitingDeploy)
			l.move(r.logNormal(prof.deployWait, 0.9), stDone)
			if r.chance(0.08) { // reopened: it was not done after all
				l.move(r.logNormal(3*24*time.Hour, 1), stInProgress)
				l.move(r.logNormal(prof.progress/2, 0.9), stInReview)
				l.move(r.logNormal(prof.inReview/2, 0.9), stDone)
			}
		}
	}
	g.noteSpan(key, l.changes)
	return g.emit(w, l.changes, worklogs, assignee)
}

// noteSpan records when a planned ticket was in progress.
func (g *ticketGen) noteSpan(key string, changes []change) {
	span := ticketSpan{key: key}
	for _, c := range changes {
		switch {
		case c.to == stInProgress && span.from.IsZero():
			span.from = c.at
		case (c.to == stWaitingDeploy || c.to == stDone) && !span.from.IsZero():
			span.to = c.at
			g.spans = append(g.spans, span)
			return
		}
	}
}

// describe fills issue type, title and labels of a planned (non-toil) ticket.
func (g *ticketGen) describe(w *schema.WorkItem, svc string, kind int) {
	r := g.r
	switch kind {
	case 0:
		w.IssueType, w.Title = "Story", fmt.Sprintf("As a customer I can use %s", pick(r, storyObjects))
		if r.chance(0.3) {
			w.Labels = []string{"customer-request"}
		}
	case 1:
		w.IssueType, w.Title = "Bug", fmt.Sprintf("%s: %s", svc, pick(r, bugObjects))
		w.Labels = []string{"bug"}
		if r.chance(0.2) {
			w.Labels = append(w.Labels, "production")
		}
	case 2:
		w.IssueType, w.Title = "Task", fmt.Sprintf("Add %s to %s", pick(r, featureObjects), svc)
	case 3:
		w.IssueType, w.Title = "Security", fmt.Sprintf("Upgrade %s to fix CVE-2024-%05d", pick(r, packages), r.IntN(60000))
		w.Labels = []string{"security"}
	case 4:
		w.IssueType, w.Title = "Tech Debt", fmt.Sprintf("Remove %s from %s", pick(r, debtObjects), svc)
		w.Labels = []string{"tech-debt"}
	case 5:
		w.IssueType, w.Title = "Chore", fmt.Sprintf("Update %s of %s", pick(r, choreObjects), svc)
	}
	if w.IssueType == "Bug" || w.IssueType == "Security" {
		if w.Priority == "Low" || w.Priority == "Lowest" {
			w.Priority = "High"
		}
	}
}

// emit cuts a ticket's life at Now and writes the ticket, its transitions and its
// worklogs.
func (g *ticketGen) emit(w schema.WorkItem, changes []change, worklogs []schema.Worklog, assignee string) error {
	now := g.p.now
	status := stBacklog
	w.UpdatedAt = w.CreatedAt
	n := 0
	for _, c := range changes {
		if !c.at.Before(now) {
			break
		}
		n++
		status = c.to
		w.UpdatedAt = c.at
		if statusCategory(c.to) == catInProgress {
			w.Assignee = assignee // whoever picked it up
		}
		if statusCategory(c.to) == catDone {
			w.ResolvedAt = c.at
		} else {
			w.ResolvedAt = time.Time{}
		}
	}
	changes = changes[:n]
	w.Status, w.StatusCategory = status, statusCategory(status)
	var kept []schema.Worklog
	for _, wl := range worklogs {
		if wl.UpdatedAt.Before(now) {
			kept = append(kept, wl)
			w.UpdatedAt = latest(w.UpdatedAt, wl.UpdatedAt)
		}
	}
	if err := g.s.workItem(w); err != nil {
		return err
	}
	from := stBacklog
	for i, c := range changes {
		if err := g.s.statusChange(schema.StatusChange{
			Source: g.p.o.Source, ID: fmt.Sprintf("%s/changelog/%d", w.ID, i+1), ItemID: w.ID, At: c.at,
			From: from, To: c.to, FromCategory: statusCategory(from), ToCategory: statusCategory(c.to),
			Author: c.author, UpdatedAt: c.at,
		}); err != nil {
			return err
		}
		from = c.to
	}
	for _, wl := range kept {
		if err := g.s.worklog(wl); err != nil {
			return err
		}
	}
	return nil
}
