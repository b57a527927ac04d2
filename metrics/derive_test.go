package metrics

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
)

// T is a Monday morning; every scenario is laid out in hours around it.
var T = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func h(hours float64) time.Time { return T.Add(time.Duration(hours * float64(time.Hour))) }

func testRules(t *testing.T) *Rules {
	t.Helper()
	cfg, err := config.Parse([]byte(`
teams:
  - name: payments
    repositories: [acme/pay]
    services: [pay]
    incident_services: [pay-oncall]
  - name: web
    repositories: [acme/web*]
    services: [web]
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return NewRules(cfg)
}

// pr is a merged pull request of acme/pay, reviewed, opened at o and merged at m hours.
func pr(id string, o, m float64, sha string) schema.PullRequest {
	return schema.PullRequest{
		Source: "gh", ID: id, Repo: "acme/pay", Author: "ana", CreatedAt: h(o), ReadyAt: h(o), FirstCommitAt: h(o - 1),
		FirstReviewAt: h(o + 0.5), FirstReviewer: "bo", MergedAt: h(m), MergeCommitSHA: sha, UpdatedAt: h(m),
	}
}

// prod is a successful production deployment of service pay finishing at f hours,
// having started 10 minutes earlier.
func prod(id string, f float64, sha string) schema.Deployment {
	return schema.Deployment{
		Source: "gh", ID: id, Repo: "acme/pay", Service: "pay", Environment: "production", CommitSHA: sha,
		Status: schema.DeploymentSuccess, StartedAt: h(f).Add(-10 * time.Minute), FinishedAt: h(f), UpdatedAt: h(f),
	}
}

func incident(id string, opened, resolved float64) schema.Incident {
	inc := schema.Incident{Source: "pd", ID: id, Service: "pay", OpenedAt: h(opened), UpdatedAt: h(opened)}
	if resolved > 0 {
		inc.ResolvedAt = h(resolved)
	}
	return inc
}

func derive(t *testing.T, in Input) (map[string]schema.ChangeFact, map[string]schema.DeploymentFact, map[string]schema.IncidentFact) {
	t.Helper()
	in.Now = h(1000)
	facts := Derive(in, testRules(t))
	changes := map[string]schema.ChangeFact{}
	for _, c := range facts.Changes {
		changes[c.ID] = c
	}
	deps := map[string]schema.DeploymentFact{}
	for _, d := range facts.Deployments {
		deps[d.ID] = d
	}
	incs := map[string]schema.IncidentFact{}
	for _, i := range facts.Incidents {
		incs[i.ID] = i
	}
	return changes, deps, incs
}

func TestLeadTimeOfASquashMerge(t *testing.T) {
	// First commit 50 h before opening (squashed history keeps its author dates),
	// ready at opening, first review 3 h later, merged 6 h after opening, shipped by a
	// deployment of the merge commit itself finishing 7h20m after opening.
	p := pr("acme/pay#1", 0, 6, "m1")
	p.FirstCommitAt, p.FirstReviewAt = h(-50), h(3)
	changes, deps, _ := derive(t, Input{
		PullRequests: []schema.PullRequest{p},
		Deployments:  []schema.Deployment{prod("d0", -48, "x0"), prod("d1", 7+20.0/60, "m1")},
	})
	c := changes["acme/pay#1"]
	want := schema.ChangeFact{
		Source: "gh", ID: "acme/pay#1", Team: "payments", Repo: "acme/pay", Service: "pay", State: schema.ChangeShipped,
		ShippedBy: "d1", Attribution: schema.ByAncestry, FirstCommitAt: h(-50), OpenedAt: h(0), ReadyAt: h(0),
		FirstReviewAt: h(3), MergedAt: h(6), ShippedAt: h(7 + 20.0/60),
		LeadTimeSeconds: 206400, // 57h20m: from -50 h to +7h20m
		CodingSeconds:   180000, // 50 h: first commit to ready
		PickupSeconds:   10800,  // 3 h: ready to first review
		ReviewSeconds:   10800,  // 3 h: first review to merge
		DeploySeconds:   4800,   // 1h20m: merge to shipped
		UpdatedAt:       h(1000),
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if c.CodingSeconds+c.PickupSeconds+c.ReviewSeconds+c.DeploySeconds != c.LeadTimeSeconds {
		t.Error("parts do not add up to the lead time")
	}
	if deps["d1"].Changes != 1 || deps["d0"].Changes != 0 {
		t.Errorf("changes per deployment: d0 %d, d1 %d; want 0 and 1", deps["d0"].Changes, deps["d1"].Changes)
	}
}

func TestUntrackedAndUndeployed(t *testing.T) {
	changes, _, _ := derive(t, Input{
		PullRequests: []schema.PullRequest{
			pr("early", -20, -10, "e"), // merged 10 h before the first observed deployment started
			pr("late", 8, 10, "l"),     // merged after the last deployment
		},
		Deployments: []schema.Deployment{prod("d1", 0, "m1"), prod("d2", 5, "m2")},
	})
	if c := changes["early"]; c.State != schema.ChangeUntracked || c.LeadTimeSeconds != schema.Unknown || c.ShippedBy != "" {
		t.Errorf("merged before tracking began: %+v, want untracked with no lead time", c)
	}
	if c := changes["late"]; c.State != schema.ChangeUndeployed || c.LeadTimeSeconds != schema.Unknown || c.DeploySeconds != schema.Unknown {
		t.Errorf("never deployed: %+v, want undeployed", c)
	}
	// Parts before the merge are known whatever happened after: ready to review 0.5 h.
	if c := changes["late"]; c.PickupSeconds != 1800 || c.CodingSeconds != 3600 {
		t.Errorf("undeployed parts: pickup %d coding %d, want 1800 and 3600", c.PickupSeconds, c.CodingSeconds)
	}
}

func TestTwoChangesShippedByOneDeployment(t *testing.T) {
	changes, deps, _ := derive(t, Input{
		PullRequests: []schema.PullRequest{pr("a", 0, 1, "sa"), pr("b", 0, 2, "sb")},
		Deployments:  []schema.Deployment{prod("d0", -30, "s0"), prod("d1", 5, "sc")},
		Ancestry: map[schema.CommitPair]bool{
			{Repo: "acme/pay", Base: "sa", Head: "sc"}: true,
			{Repo: "acme/pay", Base: "sb", Head: "sc"}: true,
		},
	})
	for _, id := range []string{"a", "b"} {
		if c := changes[id]; c.ShippedBy != "d1" || c.Attribution != schema.ByAncestry {
			t.Errorf("%s: shipped by %q (%s), want d1 by ancestry", id, c.ShippedBy, c.Attribution)
		}
	}
	// a: first commit at -1 h, shipped at 5 h: 6 h; b likewise 6 h.
	if changes["a"].LeadTimeSeconds != 21600 || changes["b"].LeadTimeSeconds != 21600 {
		t.Errorf("lead times %d and %d, want 21600 each", changes["a"].LeadTimeSeconds, changes["b"].LeadTimeSeconds)
	}
	if deps["d1"].Changes != 2 {
		t.Errorf("d1 shipped %d changes, want 2", deps["d1"].Changes)
	}
}

func TestAncestryVersusTimeOnAReleaseBranch(t *testing.T) {
	// Merged to main at 1 h. A release-branch deployment finishes at 2 h without it;
	// the next deployment, of main, finishes at 5 h with it.
	records := Input{
		PullRequests: []schema.PullRequest{pr("r", 0, 1, "sr")},
		Deployments:  []schema.Deployment{prod("d0", -30, "s0"), prod("release", 2, "rel1"), prod("main", 5, "main2")},
	}
	withAncestry := records
	withAncestry.Ancestry = map[schema.CommitPair]bool{
		{Repo: "acme/pay", Base: "sr", Head: "rel1"}:  false,
		{Repo: "acme/pay", Base: "sr", Head: "main2"}: true,
	}
	changes, _, _ := derive(t, withAncestry)
	if c := changes["r"]; c.ShippedBy != "main" || c.Attribution != schema.ByAncestry || c.LeadTimeSeconds != 6*3600 {
		t.Errorf("with ancestry: shipped by %q (%s), lead %d; want main by ancestry, 21600", c.ShippedBy, c.Attribution, c.LeadTimeSeconds)
	}
	// Unknown ancestry: the first production deployment finishing after the merge.
	changes, _, _ = derive(t, records)
	if c := changes["r"]; c.ShippedBy != "release" || c.Attribution != schema.ByTime || c.LeadTimeSeconds != 3*3600 {
		t.Errorf("without ancestry: shipped by %q (%s), lead %d; want release by time, 10800", c.ShippedBy, c.Attribution, c.LeadTimeSeconds)
	}
	// The pairs to ask: only the first unknown one of the walk.
	if got := NeededPairs(records, testRules(t)); !reflect.DeepEqual(got, []schema.CommitPair{{Repo: "acme/pay", Base: "sr", Head: "rel1"}}) {
		t.Errorf("needed pairs %v", got)
	}
	half := records
	half.Ancestry = map[schema.CommitPair]bool{{Repo: "acme/pay", Base: "sr", Head: "rel1"}: false}
	if got := NeededPairs(half, testRules(t)); !reflect.DeepEqual(got, []schema.CommitPair{{Repo: "acme/pay", Base: "sr", Head: "main2"}}) {
		t.Errorf("needed pairs after the first answer %v", got)
	}
	if got := NeededPairs(withAncestry, testRules(t)); len(got) != 0 {
		t.Errorf("needed pairs when all is known %v", got)
	}
	// A deployment without a commit can only be matched by time.
	noCommit := records
	noCommit.Deployments = []schema.Deployment{prod("d0", -30, "s0"), prod("release", 2, "")}
	if changes, _, _ := derive(t, noCommit); changes["r"].Attribution != schema.ByTime || changes["r"].ShippedBy != "release" {
		t.Errorf("deployment without a commit: %+v", changes["r"])
	}
}

func TestRollback(t *testing.T) {
	// d2 deploys s2 at 1 h; d3 deploys s1 again, an older commit, at 2 h: d3 rolls d2
	// back. d4, marked rollback, rolls back d3 at 3 h.
	rollback := prod("d4", 3, "s4")
	rollback.Rollback = true
	_, deps, _ := derive(t, Input{Deployments: []schema.Deployment{
		prod("d1", 0, "s1"), prod("d2", 1, "s2"), prod("d3", 2, "s1"), rollback,
	}})
	if d := deps["d2"]; !d.Failed || !slices.Equal(d.FailureReasons, []string{schema.ReasonRolledBack}) ||
		d.RecoverySeconds != 3600 || d.RecoveredBy != "d3" {
		t.Errorf("rolled-back d2: %+v; want failed by rollback, recovered by d3 after 3600 s", d)
	}
	if d := deps["d3"]; !d.Rollback || !d.Unplanned || !slices.Equal(d.UnplannedReasons, []string{schema.UnplannedRollback}) {
		t.Errorf("rollback d3: %+v; want a rollback, unplanned", d)
	}
	if d := deps["d3"]; !d.Failed || d.RecoveredBy != "d4" {
		t.Errorf("d3, rolled back by the marked d4: %+v", d)
	}
	if d := deps["d1"]; d.Failed || d.Unplanned {
		t.Errorf("d1: %+v, want neither failed nor unplanned", d)
	}
	// Redeploying the same commit is not a rollback.
	_, deps, _ = derive(t, Input{Deployments: []schema.Deployment{prod("a", 0, "s1"), prod("b", 1, "s1")}})
	if deps["a"].Failed || deps["b"].Rollback {
		t.Errorf("redeploy: %+v %+v", deps["a"], deps["b"])
	}
	// A rollback to a commit deployed three deployments ago undoes the two between.
	_, deps, _ = derive(t, Input{Deployments: []schema.Deployment{
		prod("a", 0, "s1"), prod("b", 1, "s2"), prod("c", 2, "s3"), prod("back", 3, "s1"),
	}})
	if !deps["b"].Failed || !deps["c"].Failed || deps["a"].Failed || deps["b"].RecoverySeconds != 7200 {
		t.Errorf("rollback over two deployments: a %v b %v (%d s) c %v", deps["a"].Failed, deps["b"].Failed, deps["b"].RecoverySeconds, deps["c"].Failed)
	}
}

func TestHotfixInsideAndOutsideTheWindow(t *testing.T) {
	inside := prod("h1", 3, "sh1")
	inside.Ref = "hotfix/card-declines"
	outside := prod("h2", 55, "sh2")
	outside.Hotfix = true
	_, deps, _ := derive(t, Input{Deployments: []schema.Deployment{
		prod("d1", 0, "s1"), inside, prod("d2", 30, "s2"), outside,
	}})
	// h1 comes 3 h after d1, inside the 24 h window: d1 failed, recovered after 3 h.
	if d := deps["d1"]; !d.Failed || !slices.Equal(d.FailureReasons, []string{schema.ReasonHotfixed}) || d.RecoverySeconds != 10800 {
		t.Errorf("d1: %+v", d)
	}
	// h2 comes 25 h after d2, outside the window: d2 did not fail.
	if d := deps["d2"]; d.Failed {
		t.Errorf("d2 failed by a hotfix 25 h later: %+v", d)
	}
	// Both hotfixes are unplanned work.
	for _, id := range []string{"h1", "h2"} {
		if d := deps[id]; !d.Hotfix || !slices.Equal(d.UnplannedReasons, []string{schema.UnplannedHotfix}) {
			t.Errorf("%s: %+v", id, d)
		}
	}
}

func TestIncidentsAndDeployments(t *testing.T) {
	named := incident("named", 3.5, 5)
	named.CauseDeploymentID = "d1"
	bySHA := incident("by-sha", 4, 4.25)
	bySHA.CauseCommitSHA = "s1"
	_, deps, incs := derive(t, Input{
		Deployments: []schema.Deployment{prod("d1", 0, "s1"), prod("d2", 2, "s2"), prod("d3", 100, "s3")},
		Incidents: []schema.Incident{
			incident("after-next", 3, 6), // within 24 h of d1 but after d2: d2's
			incident("too-late", 30, 31), // 28 h after d2, before d3: nobody's
			named,                        // names d1 while d2 is live
			bySHA,                        // names d1 by its commit
			{Source: "pd", ID: "other-service", Service: "web", OpenedAt: h(1), ResolvedAt: h(2)},
		},
	})
	if d := deps["d2"]; !d.Failed || !slices.Equal(d.FailureReasons, []string{schema.ReasonIncidentWindow}) ||
		!slices.Equal(d.CausedIncidents, []string{"after-next"}) || d.RecoverySeconds != 4*3600 {
		t.Errorf("d2: %+v; want failed by the incident in its window, recovered after 4 h", d)
	}
	if d := deps["d1"]; !d.Failed || !slices.Equal(d.FailureReasons, []string{schema.ReasonIncidentNamed}) ||
		!slices.Equal(d.CausedIncidents, []string{"by-sha", "named"}) || d.RecoveredBy != "by-sha" || d.RecoverySeconds != 4*3600+900 {
		t.Errorf("d1: %+v; want failed by the two incidents naming it, recovered at 4h15m", d)
	}
	if incs["too-late"].Deployment != "" || incs["after-next"].Deployment != "d2" || incs["named"].Deployment != "d1" {
		t.Errorf("incident links: %+v", incs)
	}
	if deps["d3"].Failed {
		t.Error("d3 failed with no incident after it")
	}
	// Time to restore is every incident's, linked or not: 31 h − 30 h.
	if i := incs["too-late"]; i.RestoreSeconds != 3600 || i.Team != "payments" {
		t.Errorf("too-late: %+v; want 3600 s restore, team payments (by its service)", i)
	}
	if i := incs["other-service"]; i.Team != "web" || i.Deployment != "" {
		t.Errorf("other-service: %+v", i)
	}
	// An incident still open: no restore time, and the deployment has no recovery yet.
	_, deps, incs = derive(t, Input{Deployments: []schema.Deployment{prod("x", 0, "s")}, Incidents: []schema.Incident{incident("open", 1, 0)}})
	if incs["open"].RestoreSeconds != schema.Unknown || !deps["x"].Failed || deps["x"].RecoverySeconds != schema.Unknown {
		t.Errorf("open incident: %+v %+v", incs["open"], deps["x"])
	}
}

func TestAFailureForTwoReasonsCountsOnce(t *testing.T) {
	// d1 at 0 h; an incident opens at 1 h (resolved at 4 h); d2 rolls d1 back to s0 at
	// 2 h. Two reasons, one failure; recovery is the earlier: the rollback, 2 h.
	_, deps, _ := derive(t, Input{
		Deployments: []schema.Deployment{prod("d0", -5, "s0"), prod("d1", 0, "s1"), prod("d2", 2, "s0")},
		Incidents:   []schema.Incident{incident("i1", 1, 4)},
	})
	d := deps["d1"]
	if !d.Failed || !slices.Equal(d.FailureReasons, []string{schema.ReasonIncidentWindow, schema.ReasonRolledBack}) ||
		d.RecoverySeconds != 7200 || d.RecoveredBy != "d2" {
		t.Errorf("d1: %+v", d)
	}
	failed := 0
	for _, f := range deps {
		if f.Failed {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d failed deployments, want 1", failed)
	}
}

func TestBotsAreExcluded(t *testing.T) {
	bot := pr("bot", 0, 1, "sb")
	bot.Author = "dependabot[bot]"
	botReview := pr("reviewed-by-bot", 0, 1, "sr")
	botReview.FirstReviewer = "renovate[bot]"
	changes, _, _ := derive(t, Input{
		PullRequests: []schema.PullRequest{bot, botReview},
		Deployments:  []schema.Deployment{prod("d0", -10, "s0"), prod("d1", 2, "")},
	})
	if c := changes["bot"]; c.State != schema.ChangeExcluded || c.LeadTimeSeconds != schema.Unknown || c.ShippedBy != "" {
		t.Errorf("a bot's pull request: %+v; want it excluded, with no lead time", c)
	}
	if c := changes["reviewed-by-bot"]; c.PickupSeconds != schema.Unknown || c.ReviewSeconds != schema.Unknown || !c.FirstReviewAt.IsZero() {
		t.Errorf("reviewed only by a bot: %+v; want pickup and review unknown", c)
	}
}

func TestFailedAttemptsAndEnvironments(t *testing.T) {
	failedAttempt := prod("attempt", 1, "s1")
	failedAttempt.Status = schema.DeploymentFailure
	staging := prod("staging", 2, "s2")
	staging.Environment = "staging"
	upper := prod("upper", 3, "s3")
	upper.Environment = "PRODUCTION"
	_, deps, _ := derive(t, Input{Deployments: []schema.Deployment{failedAttempt, staging, upper}})
	if d := deps["attempt"]; d.Production || !d.FailedAttempt || d.Failed {
		t.Errorf("failed attempt: %+v", d)
	}
	if d := deps["staging"]; d.Production || d.FailedAttempt {
		t.Errorf("staging: %+v", d)
	}
	if d := deps["upper"]; !d.Production || d.Team != "payments" {
		t.Errorf("PRODUCTION matches case-insensitively: %+v", d)
	}
}

func TestReworkFromChanges(t *testing.T) {
	bug := pr("bug", 0, 1, "sb")
	bug.Labels = []string{"Bug"}
	ref := pr("ref", 0, 1.5, "sr")
	ref.Title = "Fix card declines seen in INC-42"
	plain := pr("plain", 0, 4, "sp")
	changes, deps, _ := derive(t, Input{
		PullRequests: []schema.PullRequest{bug, ref, plain},
		Deployments:  []schema.Deployment{prod("d0", -10, "s0"), prod("d1", 2, ""), prod("d2", 5, "")},
		Incidents:    []schema.Incident{{Source: "pd", ID: "INC-42", Service: "pay", OpenedAt: h(-20)}},
	})
	if !changes["bug"].Unplanned || !changes["ref"].Unplanned || changes["plain"].Unplanned {
		t.Errorf("unplanned: bug %v ref %v plain %v", changes["bug"].Unplanned, changes["ref"].Unplanned, changes["plain"].Unplanned)
	}
	if d := deps["d1"]; !d.Unplanned || !slices.Equal(d.UnplannedReasons, []string{schema.UnplannedFixes}) || d.Changes != 2 {
		t.Errorf("d1 ships two unplanned changes: %+v", d)
	}
	if deps["d2"].Unplanned {
		t.Error("d2 ships only planned work")
	}
}

func TestTeamMapping(t *testing.T) {
	web := pr("w", 0, 1, "")
	web.Repo = "acme/web-shop"
	other := pr("o", 0, 1, "")
	other.Repo = "acme/unknown"
	changes, _, _ := derive(t, Input{PullRequests: []schema.PullRequest{web, other}})
	if changes["w"].Team != "web" || changes["o"].Team != NoTeam {
		t.Errorf("teams: %q and %q", changes["w"].Team, changes["o"].Team)
	}
}
