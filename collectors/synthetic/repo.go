package synthetic

import (
	"container/heap"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// evKind is what happens at an event of a repository's timeline.
type evKind int

const (
	evCreatePR     evKind = iota // a person opens a pull request
	evCreateBotPR                // a dependency bot opens a pull request
	evCreateFixPR                // a hotfix or revert pull request after a bad deployment
	evMerge                      // a pull request is merged into main
	evDeploy                     // a regular production deployment is due
	evRollback                   // a rollback deployment starts
	evHotfixDeploy               // a hotfix deployment starts
)

// event is one point of a repository's timeline; the fields used depend on kind.
type event struct {
	at   time.Time
	seq  uint64 // insertion order, so that equal times stay deterministic
	kind evKind
	sha  string    // evMerge: the merge commit
	fix  *recovery // evCreateFixPR, evRollback, evHotfixDeploy
}

// events is a min-heap of events by time.
type events []event

func (h events) Len() int { return len(h) }
func (h events) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h events) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *events) Push(x any)   { *h = append(*h, x.(event)) }
func (h *events) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
func (h *events) pop() event         { return heap.Pop(h).(event) }
func (h *events) push(e event)       { heap.Push(h, e) }
func (h events) empty() bool         { return len(h) == 0 }
func (h events) peekTime() time.Time { return h[0].at }

// recovery is the planned response to a bad production deployment, drawn in full when
// the deployment finishes so that its incident can be written at once.
type recovery struct {
	revert     bool // the fix pull request reverts (after a rollback) rather than hotfixes
	incidentID string
	slug       string
	title      string
	prCreated  time.Time
	prMerged   time.Time
	start      time.Time // of the rollback or hotfix deployment
	duration   time.Duration
	commit     string // rollback: the commit rolled back to
}

// repoGen generates the pull requests, deployments and incidents of one repository and
// its service, walking its timeline forward.
type repoGen struct {
	p       period
	s       *sink
	team    Team
	prof    profile
	repo    string
	service string
	r       *rng

	q   events
	seq uint64

	nextPR, nextRun int64
	nextIncident    int

	lastMergedSHA string
	lastMergedAt  time.Time
	lastProdSHA   string // commit of the last successful production deployment
	busyUntil     time.Time
	frozenUntil   time.Time // regular deployments wait while a bad deployment is handled
	deployPending bool      // on-merge cadence: a deployment is already queued
	badCredit     float64   // accumulated failure rate, see regularDeploy
	badThreshold  float64

	// tickets are the team's tickets' times in progress, sorted by start; links
	// draws which of them a pull request names, apart from r so that linking
	// leaves the rest of the organisation as it was.
	tickets []ticketSpan
	links   *rng
}

func newRepoGen(p period, s *sink, team Team, prof profile, j int) *repoGen {
	g := &repoGen{
		p: p, s: s, team: team, prof: prof,
		repo: team.Repositories[j], service: team.Services[j],
		r:     newRNG(p.o.Seed, "repo", team.Repositories[j]),
		links: newRNG(p.o.Seed, "links", team.Repositories[j]),
	}
	g.badThreshold = 0.3 + 1.4*g.r.Float64()
	return g
}

func (g *repoGen) push(at time.Time, e event) {
	e.at = at
	g.seq++
	e.seq = g.seq
	g.q.push(e)
}

// run walks the repository's days: each day's new pull requests, scheduled releases
// and unrelated incidents are queued, then every event before the day's end happens
// in time order.
func (g *repoGen) run() error {
	rate := g.p.o.PullRequestsPerRepoPerWeek * g.prof.prRate
	// Humans barely open pull requests at weekends: a weekend day weighs 8% of a weekday.
	const weekend = 0.08
	humanPerWeekday := rate * 0.92 / (5 + 2*weekend)
	botPerWeekday := rate * 0.08 / 5
	return g.p.days(func(day time.Time) error {
		end := day.Add(24 * time.Hour)
		if end.After(g.p.now) {
			end = g.p.now
		}
		mean := humanPerWeekday
		if isWeekend(day) {
			mean *= weekend
		}
		for n := g.r.poisson(mean); n > 0; n-- {
			if t := g.r.workTime(day); g.p.in(t) {
				g.push(t, event{kind: evCreatePR})
			}
		}
		if !isWeekend(day) {
			for n := g.r.poisson(botPerWeekday); n > 0; n-- {
				// Dependency bots run on a schedule in the early morning.
				if t := day.Add(3*time.Hour + g.r.between(0, 4*time.Hour)); g.p.in(t) {
					g.push(t, event{kind: evCreateBotPR})
				}
			}
		}
		g.scheduleReleases(day)
		if err := g.unrelatedIncidents(day); err != nil {
			return err
		}
		for !g.q.empty() && g.q.peekTime().Before(end) {
			if err := g.handle(g.q.pop()); err != nil {
				return err
			}
		}
		return nil
	})
}

// scheduleReleases queues the day's regular production deployments for cadences
// that deploy on a calendar rather than on merge.
func (g *repoGen) scheduleReleases(day time.Time) {
	at := func(t time.Time) {
		if g.p.in(t) {
			g.push(t, event{kind: evDeploy})
		}
	}
	switch g.prof.cadence {
	case daily:
		if isWeekend(day) || g.r.chance(0.1) {
			return
		}
		at(day.Add(10*time.Hour + g.r.between(0, 5*time.Hour)))
		if g.r.chance(0.3) {
			at(day.Add(15*time.Hour + g.r.between(0, 3*time.Hour)))
		}
	case weekly:
		if day.Weekday() == time.Tuesday && !g.r.chance(0.08) {
			at(day.Add(13*time.Hour + g.r.between(0, 3*time.Hour)))
		}
	case biweekly:
		_, week := day.ISOWeek()
		if day.Weekday() != time.Thursday || week%2 != 0 || g.r.chance(0.12) {
			return
		}
		slip := time.Duration(0)
		if g.r.chance(0.25) {
			// The train slips to Friday or to the next Monday.
			slip = pick(g.r, []time.Duration{24 * time.Hour, 4 * 24 * time.Hour})
		}
		at(day.Add(slip + 14*time.Hour + g.r.between(0, 3*time.Hour)))
	}
}

func (g *repoGen) handle(e event) error {
	switch e.kind {
	case evCreatePR:
		return g.humanPR(e.at)
	case evCreateBotPR:
		return g.botPR(e.at)
	case evCreateFixPR:
		return g.fixPR(e.at, e.fix)
	case evMerge:
		g.lastMergedSHA, g.lastMergedAt = e.sha, e.at
		if g.prof.cadence == onMerge && !g.deployPending {
			g.deployPending = true
			g.push(e.at.Add(g.r.logNormal(12*time.Minute, 0.5)), event{kind: evDeploy})
		}
	case evDeploy:
		return g.regularDeploy(e.at)
	case evRollback, evHotfixDeploy:
		return g.recoveryDeploy(e)
	}
	return nil
}

// Pull requests.

var (
	featureObjects = []string{"pagination", "retry with backoff", "rate limiting", "audit log",
		"metrics endpoint", "idempotency keys", "feature flag", "bulk export", "webhook signatures",
		"caching layer", "health checks", "request tracing", "graceful shutdown", "CSV import",
		"search filters", "SSO login", "multi-currency support", "dark mode", "batch API"}
	bugObjects = []string{"nil pointer on empty cart", "timeout handling", "race in cache invalidation",
		"off-by-one in pagination", "timezone handling", "duplicate events", "memory leak in worker",
		"currency rounding", "retry storm on 503", "stale session tokens", "broken unicode in names",
		"missing index on lookups"}
	choreObjects = []string{"logging setup", "config loading", "HTTP client", "database layer",
		"error handling", "test fixtures", "CI workflow", "Dockerfile"}
	packages = []string{"golang.org/x/net", "github.com/prometheus/client_golang", "lodash", "axios",
		"github.com/stretchr/testify", "actions/checkout", "google.golang.org/grpc", "react",
		"express", "webpack", "github.com/jackc/pgx/v5", "actions/setup-go"}
	bots = []string{"dependabot[bot]", "dependabot[bot]", "renovate[bot]"}
)

func (g *repoGen) newPRBase(created time.Time, author string) schema.PullRequest {
	g.nextPR++
	return schema.PullRequest{
		Source:     g.p.o.Source,
		ID:         g.repo + "#" + strconv.FormatInt(g.nextPR, 10),
		Repo:       g.repo,
		Number:     g.nextPR,
		Author:     author,
		BaseBranch: "main",
		CreatedAt:  created,
		URL:        "https://github.com/" + g.repo + "/pull/" + strconv.FormatInt(g.nextPR, 10),
	}
}

// reviewer picks a team member other than the author.
func (g *repoGen) reviewer(author string) string {
	for {
		if m := pick(g.r, g.team.Members); m != author {
			return m
		}
	}
}

// timeline is a pull request's full life before it is cut at Now.
type timeline struct {
	ready, review, approval, merged, closed time.Time
	reviewer                                string
}

// finish cuts the timeline at Now, fills the pull request with what happened before
// it, queues the merge and emits the record.
func (g *repoGen) finish(pr schema.PullRequest, tl timeline) error {
	now := g.p.now
	if tl.ready.IsZero() || !tl.ready.Before(now) {
		pr.Draft = true
		tl = timeline{closed: tl.closed}
	}
	pr.ReadyAt = tl.ready
	if tl.review.Before(now) && !tl.review.IsZero() {
		pr.FirstReviewAt, pr.FirstReviewer = tl.review, tl.reviewer
	}
	pr.FirstApprovalAt = clip(tl.approval, now)
	pr.MergedAt = clip(tl.merged, now)
	pr.ClosedAt = clip(tl.closed, now)
	if !pr.MergedAt.IsZero() {
		pr.ClosedAt = pr.MergedAt
		pr.MergeCommitSHA = sha(g.p.o.Seed, pr.ID)
		g.s.sum.MergedPullRequests++
		g.push(pr.MergedAt, event{kind: evMerge, sha: pr.MergeCommitSHA})
	} else if pr.ClosedAt.IsZero() {
		g.s.sum.OpenPullRequests++
	}
	pr.UpdatedAt = latest(pr.CreatedAt, pr.ReadyAt, pr.FirstReviewAt, pr.FirstApprovalAt, pr.MergedAt, pr.ClosedAt)
	return g.s.pullRequest(pr)
}

func (g *repoGen) humanPR(created time.Time) error {
	r, prof := g.r, g.prof
	pr := g.newPRBase(created, pick(r, g.team.Members))
	coding := r.logNormal(prof.coding, prof.codingSigma)
	pr.FirstCommitAt = created.Add(-coding)
	// Longer work tends to have more commits; squash merges keep the first one's date.
	pr.CommitCount = 1 + int64(r.poisson(min(coding.Hours()/6, 40)))
	pr.Additions = int64(r.logNormal(90*time.Second, 1.3) / time.Second)
	pr.Deletions = int64(r.logNormal(30*time.Second, 1.4)/time.Second) - 1
	svc := strings.TrimPrefix(g.service, g.team.Name+"-")
	switch r.weighted(0.15, 0.62, 0.13, 0.05, 0.05) {
	case 0:
		pr.Title = fmt.Sprintf("Fix %s in %s", pick(r, bugObjects), svc)
		pr.Labels = []string{"bug"}
	case 1:
		pr.Title = fmt.Sprintf("Add %s to %s", pick(r, featureObjects), svc)
		if r.chance(0.3) {
			pr.Labels = []string{"enhancement"}
		}
	case 2:
		pr.Title = fmt.Sprintf("Refactor %s", pick(r, choreObjects))
		pr.Labels = []string{"refactor"}
	case 3:
		pr.Title = fmt.Sprintf("Document %s", pick(r, featureObjects))
		pr.Labels = []string{"documentation"}
	case 4:
		pr.Title = fmt.Sprintf("Upgrade %s to fix CVE-2024-%05d", pick(r, packages), r.IntN(60000))
		pr.Labels = []string{"security"}
	}

	if key := g.ticketAt(created); key != "" {
		pr.Title = key + ": " + pr.Title
		pr.TicketRefs = []string{key}
		g.s.sum.LinkedPullRequests++
	}

	tl := timeline{ready: created}
	if r.chance(0.18) {
		tl.ready = r.toWorkingHours(created.Add(r.logNormal(5*time.Hour, 1.2)))
		if r.chance(0.06) {
			tl.ready = time.Time{} // a draft nobody finished
		}
	}
	outcome := r.weighted(0.90, 0.07, 0.03) // merged, closed unmerged, left open
	if tl.ready.IsZero() {
		outcome = 2
	}
	switch outcome {
	case 0:
		if r.chance(0.03) {
			// Merged by an admin without review.
			tl.merged = r.toWorkingHours(tl.ready.Add(r.logNormal(time.Hour, 1)))
			break
		}
		tl.reviewer = g.reviewer(pr.Author)
		tl.review = r.toWorkingHours(tl.ready.Add(r.logNormal(prof.pickup, 1.2)))
		tl.approval = tl.review
		if r.chance(0.35) {
			// Changes requested: another round before the approval.
			tl.approval = r.toWorkingHours(tl.review.Add(r.logNormal(prof.review, 1.0)))
		}
		tl.merged = tl.approval.Add(r.logNormal(20*time.Minute, 1.2))
		if r.chance(0.3) {
			tl.merged = r.toWorkingHours(tl.merged)
		}
	case 1:
		tl.closed = r.toWorkingHours(tl.ready.Add(r.logNormal(3*prof.review+24*time.Hour, 1.2)))
		if r.chance(0.5) {
			tl.reviewer = g.reviewer(pr.Author)
			tl.review = tl.ready.Add(tl.closed.Sub(tl.ready) / 3).Truncate(time.Second)
		}
	case 2:
		if r.chance(0.4) && !tl.ready.IsZero() {
			tl.reviewer = g.reviewer(pr.Author)
			tl.review = r.toWorkingHours(tl.ready.Add(r.logNormal(prof.pickup*3, 1.2)))
		}
	}
	return g.finish(pr, tl)
}

// ticketAt picks, most of the time, a ticket of the team in progress at t for a
// pull request opened then to name; "" when it names none.
func (g *repoGen) ticketAt(t time.Time) string {
	if !g.links.chance(0.85) {
		return ""
	}
	end, _ := slices.BinarySearchFunc(g.tickets, t, func(s ticketSpan, t time.Time) int {
		if s.from.After(t) {
			return 1
		}
		return -1
	})
	var open []string
	for i := end - 1; i >= max(0, end-200) && len(open) < 8; i-- {
		if s := g.tickets[i]; s.to.After(t) {
			open = append(open, s.key)
		}
	}
	if len(open) == 0 {
		return ""
	}
	return pick(g.links, open)
}

func (g *repoGen) botPR(created time.Time) error {
	r := g.r
	bot := pick(r, bots)
	pr := g.newPRBase(created, bot)
	pkg := pick(r, packages)
	major, minor := r.IntN(8), r.IntN(30)
	if strings.HasPrefix(bot, "renovate") {
		pr.Title = fmt.Sprintf("Update dependency %s to v%d.%d.%d", pkg, major, minor+1, r.IntN(10))
	} else {
		pr.Title = fmt.Sprintf("Bump %s from %d.%d.%d to %d.%d.%d", pkg, major, minor, r.IntN(10), major, minor+1, r.IntN(10))
	}
	pr.Labels = []string{"dependencies"}
	pr.FirstCommitAt = created.Add(-r.between(5*time.Second, 60*time.Second))
	pr.CommitCount = 1
	pr.Additions, pr.Deletions = int64(2+r.IntN(40)), int64(2+r.IntN(40))
	tl := timeline{ready: created}
	switch r.weighted(0.82, 0.14, 0.04) {
	case 0: // auto-merged once checks pass: no human review
		tl.merged = created.Add(r.logNormal(35*time.Minute, 0.8))
	case 1: // superseded by a newer version
		tl.closed = created.Add(r.logNormal(5*24*time.Hour, 0.7))
	}
	g.s.sum.BotPullRequests++
	return g.finish(pr, tl)
}

// fixPR opens the hotfix (or revert) pull request of a recovery; its timeline was
// drawn when the bad deployment was planned.
func (g *repoGen) fixPR(created time.Time, fix *recovery) error {
	r := g.r
	pr := g.newPRBase(created, pick(r, g.team.Members))
	pr.FirstCommitAt = created.Add(-r.logNormal(25*time.Minute, 0.8))
	pr.CommitCount = int64(1 + r.IntN(3))
	pr.Additions, pr.Deletions = int64(1+r.IntN(30)), int64(1+r.IntN(30))
	if fix.revert {
		pr.Title = fmt.Sprintf("Revert %s", fix.title)
		pr.Labels = []string{"revert", "bug"}
	} else {
		pr.Title = fmt.Sprintf("Hotfix: %s", fix.title)
		pr.Labels = []string{"hotfix", "bug"}
	}
	if fix.incidentID != "" {
		pr.Title += " (" + fix.incidentID + ")"
		pr.Labels = append(pr.Labels, "incident")
	}
	tl := timeline{ready: created, merged: fix.prMerged, reviewer: g.reviewer(pr.Author)}
	// The reviewer approves shortly before the merge, however long the fix took.
	tl.review = fix.prMerged.Add(-min(r.between(2*time.Minute, 30*time.Minute), fix.prMerged.Sub(created)/2)).Truncate(time.Second)
	tl.approval = tl.review
	return g.finish(pr, tl)
}

// Deployments.

// deploy emits one deployment attempt and reports when it finished; an attempt still
// running at Now is written as in progress with a zero finish.
func (g *repoGen) deploy(run int64, d schema.Deployment, dur time.Duration, status schema.DeploymentStatus) (time.Time, error) {
	d.Source, d.Repo, d.Service = g.p.o.Source, g.repo, g.service
	if d.Attempt == 0 {
		d.Attempt = 1
	}
	d.ID = g.deploymentID(run, d.Attempt)
	d.URL = fmt.Sprintf("https://github.com/%s/actions/runs/%d/attempts/%d", g.repo, run, d.Attempt)
	d.StartedAt = d.StartedAt.Truncate(time.Second)
	fin := d.StartedAt.Add(max(dur, time.Minute).Truncate(time.Second))
	d.Status, d.FinishedAt, d.UpdatedAt = status, fin, fin
	if !fin.Before(g.p.now) {
		d.Status, d.FinishedAt, d.UpdatedAt = schema.DeploymentInProgress, time.Time{}, d.StartedAt
	}
	switch {
	case d.Status == schema.DeploymentFailure || d.Status == schema.DeploymentError:
		g.s.sum.FailedAttempts++
	case d.Status == schema.DeploymentSuccess && d.Environment == "production":
		g.s.sum.ProductionDeployments++
		if d.Rollback {
			g.s.sum.Rollbacks++
		}
		if d.Hotfix {
			g.s.sum.Hotfixes++
		}
	}
	if err := g.s.deployment(d); err != nil {
		return time.Time{}, err
	}
	if d.FinishedAt.IsZero() {
		return time.Time{}, nil
	}
	return fin, nil
}

// newRun numbers a deployment workflow run; its re-runs keep the number.
func (g *repoGen) newRun() int64 {
	g.nextRun++
	return g.nextRun
}

// deploymentID is the id of one attempt of a run: attempts are separate records.
func (g *repoGen) deploymentID(run, attempt int64) string {
	return fmt.Sprintf("%s/runs/%d/attempts/%d", g.repo, run, attempt)
}

// regularDeploy runs a due production release of the latest merged commit, preceded
// by its staging deployment, re-running a failed attempt once.
func (g *repoGen) regularDeploy(at time.Time) error {
	r, prof := g.r, g.prof
	if at.Before(g.frozenUntil) {
		if prof.cadence == onMerge {
			g.push(g.frozenUntil.Add(r.logNormal(10*time.Minute, 0.5)), event{kind: evDeploy})
		}
		return nil
	}
	if at.Before(g.busyUntil) {
		g.push(g.busyUntil.Add(r.between(time.Minute, 5*time.Minute)), event{kind: evDeploy})
		return nil
	}
	g.deployPending = false
	if g.lastMergedSHA == "" || g.lastMergedSHA == g.lastProdSHA {
		return nil
	}
	commit := g.lastMergedSHA
	trigger := schema.TriggerAutomatic
	if r.chance(prof.manual) {
		trigger = schema.TriggerManual
	}

	// Staging gets the same commit just before, squeezed in after its merge.
	stagingDur := r.logNormal(prof.deployDuration*4/5, 0.4)
	gap := r.logNormal(8*time.Minute, 0.6)
	if room := at.Sub(g.lastMergedAt) - time.Minute; room >= 2*time.Minute {
		if stagingDur+gap > room {
			stagingDur, gap = room*7/10, room*2/10
		}
		start := at.Add(-stagingDur - gap).Truncate(time.Second)
		if _, err := g.deploy(g.newRun(), schema.Deployment{Environment: "staging", CommitSHA: commit, Ref: "main",
			Trigger: schema.TriggerAutomatic, StartedAt: start}, stagingDur, schema.DeploymentSuccess); err != nil {
			return err
		}
	}

	d := schema.Deployment{Environment: "production", CommitSHA: commit, Ref: "main", Trigger: trigger, StartedAt: at}
	run := g.newRun()
	if r.chance(prof.attemptFail) {
		status := schema.DeploymentFailure
		if r.chance(0.3) {
			status = schema.DeploymentError
		}
		fin, err := g.deploy(run, d, r.logNormal(prof.deployDuration/2, 0.6), status)
		if err != nil || fin.IsZero() {
			g.busyUntil = g.p.now
			return err
		}
		// The failed job is re-run on the same commit.
		d.StartedAt = fin.Add(r.logNormal(8*time.Minute, 0.7))
		d.Attempt, d.Trigger = 2, schema.TriggerManual
		if !d.StartedAt.Before(g.p.now) {
			g.busyUntil = g.p.now
			return nil
		}
	}
	id := g.deploymentID(run, max(d.Attempt, 1))
	fin, err := g.deploy(run, d, r.logNormal(prof.deployDuration, 0.5), schema.DeploymentSuccess)
	if err != nil || fin.IsZero() {
		g.busyUntil = g.p.now
		return err
	}
	previous := g.lastProdSHA
	g.lastProdSHA, g.busyUntil = commit, fin
	// Failures come at the team's rate with random gaps, rather than independently,
	// so that a few dozen releases still show the team's change failure rate.
	g.badCredit += prof.bad
	if g.badCredit >= g.badThreshold {
		g.badCredit -= 1
		g.badThreshold = 0.3 + 1.4*r.Float64()
		return g.planRecovery(id, commit, previous, fin)
	}
	return nil
}

var causes = []string{"connection pool exhaustion", "bad config default", "missing database migration",
	"N+1 query in hot path", "serialization change", "feature flag inverted", "cache key collision",
	"wrong timeout on upstream calls"}

// planRecovery draws how a bad deployment is detected and recovered from: maybe an
// incident, then a rollback, a hotfix or a mitigation without a deployment. Regular
// deployments of the service are frozen until it is recovered.
func (g *repoGen) planRecovery(id, commit, previous string, fin time.Time) error {
	r, prof := g.r, g.prof
	g.s.sum.BadDeployments++
	withIncident := r.chance(0.75)
	// Failures that surface later than a day are not told apart from other trouble.
	detect := fin.Add(min(r.logNormal(prof.detect, 0.8), 23*time.Hour))
	total := r.logNormal(prof.recover, prof.recoverSigma)
	if !withIncident {
		// Without an incident it is the team itself that noticed, and fixed it sooner.
		total = r.logNormal(min(max(prof.recover/3, 10*time.Minute), 3*24*time.Hour), 0.5)
	}
	// A recovery that takes more than a working day is done during working hours.
	shift := func(t time.Time) time.Time {
		if total > 8*time.Hour {
			return r.toWorkingHours(t)
		}
		return t
	}
	cause := pick(r, causes)
	fix := &recovery{title: cause, slug: slug(cause)}
	mode := r.weighted(prof.rollback, (1-prof.rollback)*0.8, (1-prof.rollback)*0.2) // rollback, hotfix, mitigation
	if mode == 2 && !withIncident {
		mode = 1
	}
	if !withIncident && total > 20*time.Hour {
		mode = 0 // found late, nobody hotfixes it: the release is rolled back
	}
	if mode == 0 && previous == "" {
		mode = 1
	}
	var recovered time.Time
	switch mode {
	case 0:
		fix.commit = previous
		fix.start = shift(detect.Add(total))
		fix.duration = r.logNormal(prof.deployDuration*4/5, 0.4)
		recovered = fix.start.Add(fix.duration)
		g.push(fix.start, event{kind: evRollback, fix: fix})
		// The offending change is reverted on main afterwards.
		revert := &recovery{revert: true, title: "changes shipped in " + commit[:7]}
		revert.prCreated = shift(recovered.Add(r.logNormal(time.Hour, 0.8)))
		revert.prMerged = revert.prCreated.Add(r.logNormal(40*time.Minute, 0.8))
		g.push(revert.prCreated, event{kind: evCreateFixPR, fix: revert})
	case 1:
		fix.prCreated = shift(detect.Add(total * 35 / 100).Truncate(time.Second))
		fix.prMerged = shift(latest(fix.prCreated.Add(5*time.Minute), detect.Add(total*85/100).Truncate(time.Second)))
		fix.start = shift(latest(fix.prMerged.Add(3*time.Minute), detect.Add(total)))
		fix.duration = r.logNormal(prof.deployDuration*4/5, 0.4)
		recovered = fix.start.Add(fix.duration)
		g.push(fix.prCreated, event{kind: evCreateFixPR, fix: fix})
		g.push(fix.start, event{kind: evHotfixDeploy, fix: fix})
	case 2:
		recovered = detect.Add(total) // a config change or feature flag, no deployment
	}
	g.frozenUntil = recovered
	if !withIncident {
		return nil
	}
	g.nextIncident++
	inc := schema.Incident{
		Source:   g.p.o.Source,
		ID:       fmt.Sprintf("%s-%04d", strings.ToUpper(g.service), g.nextIncident),
		Service:  g.service,
		Severity: []string{"SEV1", "SEV2", "SEV3", "SEV4"}[r.weighted(0.1, 0.35, 0.4, 0.15)],
		Title:    fmt.Sprintf(pick(r, incidentTitles[:3]), g.service),
		Labels:   []string{"deploy-related"},
		OpenedAt: detect,
	}
	fix.incidentID = inc.ID
	if !inc.OpenedAt.Before(g.p.now) {
		return nil
	}
	g.s.sum.CausedIncidents++
	if r.chance(0.5) {
		g.s.sum.NamedIncidents++
		switch r.IntN(3) {
		case 0:
			inc.CauseDeploymentID = id
		case 1:
			inc.CauseCommitSHA = commit
		default:
			inc.CauseDeploymentID, inc.CauseCommitSHA = id, commit
		}
	}
	inc.AcknowledgedAt = clip(detect.Add(r.logNormal(4*time.Minute, 0.7)), g.p.now)
	resolved := recovered.Add(r.logNormal(10*time.Minute, 0.8))
	if resolved.Before(inc.AcknowledgedAt) {
		resolved = inc.AcknowledgedAt.Add(r.logNormal(5*time.Minute, 0.5))
	}
	if inc.AcknowledgedAt.IsZero() {
		resolved = time.Time{}
	}
	inc.ResolvedAt = clip(resolved, g.p.now)
	inc.URL = "https://acme.pagerduty.com/incidents/" + inc.ID
	inc.UpdatedAt = latest(inc.OpenedAt, inc.AcknowledgedAt, inc.ResolvedAt)
	return g.s.incident(withUrgency(inc))
}

// recoveryDeploy runs a planned rollback or hotfix deployment; neither waits for the
// freeze it ends.
func (g *repoGen) recoveryDeploy(e event) error {
	fix := e.fix
	d := schema.Deployment{Environment: "production", Trigger: schema.TriggerManual, StartedAt: e.at}
	if e.kind == evRollback {
		d.Rollback, d.CommitSHA, d.Ref = true, fix.commit, fix.commit
		if g.prof.cadence == onMerge && g.r.chance(0.5) {
			d.Trigger = schema.TriggerAutomatic // an automated canary rollback
		}
	} else {
		if g.lastMergedSHA == "" {
			return nil
		}
		d.Hotfix, d.CommitSHA, d.Ref = true, g.lastMergedSHA, "hotfix/"+fix.slug
	}
	fin, err := g.deploy(g.newRun(), d, fix.duration, schema.DeploymentSuccess)
	if err != nil {
		return err
	}
	if fin.IsZero() {
		g.busyUntil = g.p.now
		return nil
	}
	g.lastProdSHA, g.busyUntil = d.CommitSHA, fin
	return nil
}

// withUrgency gives an incident the kind, urgency and priority an incident tool
// would: SEV1 and SEV2 page at high urgency, and SEVn is priority Pn. They follow
// from the severity, so the random stream, and with it the organisation, is the
// same as without them.
func withUrgency(inc schema.Incident) schema.Incident {
	inc.Kind, inc.Urgency = schema.IncidentKindIncident, "low"
	if inc.Severity == "SEV1" || inc.Severity == "SEV2" {
		inc.Urgency = "high"
	}
	inc.Priority = "P" + strings.TrimPrefix(inc.Severity, "SEV")
	return inc
}

// Unrelated incidents.

var incidentTitles = []string{"Latency p99 above SLO on %s", "Elevated 5xx on %s", "Queue backlog growing on %s",
	"Disk usage above 90%% on %s", "Certificate expiry warning for %s", "Upstream provider outage affecting %s",
	"Pods crash-looping in %s", "Database failover for %s"}

// unrelatedIncidents opens the day's incidents that no deployment caused: pages that
// arrive at any hour, somewhat more in working hours.
func (g *repoGen) unrelatedIncidents(day time.Time) error {
	r := g.r
	mean := g.prof.incidentRate / 7
	if isWeekend(day) {
		mean *= 0.6
	}
	for n := r.poisson(mean); n > 0; n-- {
		opened := day.Add(r.between(0, 24*time.Hour))
		if r.chance(0.5) {
			opened = r.workTime(day)
		}
		if !g.p.in(opened) {
			continue
		}
		g.nextIncident++
		sev := r.weighted(0.05, 0.2, 0.45, 0.3)
		inc := schema.Incident{
			Source:   g.p.o.Source,
			ID:       fmt.Sprintf("%s-%04d", strings.ToUpper(g.service), g.nextIncident),
			Service:  g.service,
			Severity: fmt.Sprintf("SEV%d", sev+1),
			Title:    fmt.Sprintf(pick(r, incidentTitles), g.service),
			OpenedAt: opened,
		}
		inc.URL = "https://acme.pagerduty.com/incidents/" + inc.ID
		if sev <= 1 {
			inc.Labels = []string{"customer-impact"}
		}
		ack := opened.Add(r.logNormal(time.Duration(3+4*sev)*time.Minute, 0.8))
		resolved := ack.Add(r.logNormal(g.prof.resolve, 1.2))
		if sev >= 2 && r.chance([]float64{0, 0, 0.12, 0.25}[sev]) {
			resolved = time.Time{} // a low-severity page nobody closed
		}
		inc.AcknowledgedAt = clip(ack, g.p.now)
		if !inc.AcknowledgedAt.IsZero() && !resolved.IsZero() {
			inc.ResolvedAt = clip(resolved, g.p.now)
		}
		inc.UpdatedAt = latest(inc.OpenedAt, inc.AcknowledgedAt, inc.ResolvedAt)
		if err := g.s.incident(withUrgency(inc)); err != nil {
			return err
		}
	}
	return nil
}
