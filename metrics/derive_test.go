package metrics

import (
	"fmt"
	"maps"
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
    incident_service_map:
      "Payments (PD)": PAY
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
	// The pairs to ask: the first unknown one of the walk, and, for each deployment
	// that replaced another commit, whether it went back to an older one (does the
	// replaced commit contain it?). Pairs come by repository, head, then time.
	rollbackPairs := map[schema.CommitPair]bool{
		{Repo: "acme/pay", Base: "rel1", Head: "s0"}:    false,
		{Repo: "acme/pay", Base: "main2", Head: "rel1"}: false,
	}
	want := []schema.CommitPair{
		{Repo: "acme/pay", Base: "sr", Head: "rel1"},    // the walk, merged at 1 h
		{Repo: "acme/pay", Base: "main2", Head: "rel1"}, // main replaced release, starting 4h50m
		{Repo: "acme/pay", Base: "rel1", Head: "s0"},    // release replaced d0
	}
	if got := NeededPairs(records, testRules(t), 1, nil); !reflect.DeepEqual(got, want) {
		t.Errorf("needed pairs %v, want %v", got, want)
	}
	half := records
	half.Ancestry = map[schema.CommitPair]bool{{Repo: "acme/pay", Base: "sr", Head: "rel1"}: false}
	maps.Copy(half.Ancestry, rollbackPairs)
	if got := NeededPairs(half, testRules(t), 1, nil); !reflect.DeepEqual(got, []schema.CommitPair{{Repo: "acme/pay", Base: "sr", Head: "main2"}}) {
		t.Errorf("needed pairs after the first answers %v", got)
	}
	// Asked ahead, two questions of the walk at once.
	if got := NeededPairs(Input{PullRequests: records.PullRequests, Deployments: records.Deployments, Ancestry: rollbackPairs},
		testRules(t), 2, nil); !reflect.DeepEqual(got, []schema.CommitPair{{Repo: "acme/pay", Base: "sr", Head: "main2"}, {Repo: "acme/pay", Base: "sr", Head: "rel1"}}) {
		t.Errorf("needed pairs two ahead %v", got)
	}
	// A question asked before and still unanswered cannot be answered: the walk
	// ends there, by time, and asks nothing further.
	if got := NeededPairs(Input{PullRequests: records.PullRequests, Deployments: records.Deployments, Ancestry: rollbackPairs},
		testRules(t), 2, map[schema.CommitPair]bool{{Repo: "acme/pay", Base: "sr", Head: "rel1"}: true}); len(got) != 0 {
		t.Errorf("needed pairs past an unanswerable one %v", got)
	}
	maps.Copy(withAncestry.Ancestry, rollbackPairs)
	if got := NeededPairs(withAncestry, testRules(t), 1, nil); len(got) != 0 {
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
	// A rollback to a commit deployed three deployments ago fails the deployment it
	// replaced, c, and only c: b had already been replaced by c without failing.
	_, deps, _ = derive(t, Input{Deployments: []schema.Deployment{
		prod("a", 0, "s1"), prod("b", 1, "s2"), prod("c", 2, "s3"), prod("back", 3, "s1"),
	}})
	if deps["b"].Failed || !deps["c"].Failed || deps["a"].Failed || deps["c"].RecoverySeconds != 3600 {
		t.Errorf("rollback over two deployments: a %v b %v c %v (%d s); want only c, recovered after 3600 s",
			deps["a"].Failed, deps["b"].Failed, deps["c"].Failed, deps["c"].RecoverySeconds)
	}
}

func TestForwardAgainAfterARollbackIsNoRollback(t *testing.T) {
	// A at 0 h, B at 1 h, back to A at 1.5 h, B again at 3 h. Only the first B
	// failed: the second A replaced it (A was first deployed before B), recovered
	// 1.5 h − 1 h = 1800 s later. B again replaced A, but B was first deployed after
	// A, so it is newer: no rollback, and the second A did not fail.
	_, deps, _ := derive(t, Input{Deployments: []schema.Deployment{
		prod("A1", 0, "sa"), prod("B1", 1, "sb"), prod("A2", 1.5, "sa"), prod("B2", 3, "sb"),
	}})
	var failed []string
	for _, id := range []string{"A1", "B1", "A2", "B2"} {
		if deps[id].Failed {
			failed = append(failed, id)
		}
	}
	if !slices.Equal(failed, []string{"B1"}) {
		t.Fatalf("failed %v, want only B1", failed)
	}
	if d := deps["B1"]; d.RecoverySeconds != 1800 || d.RecoveredBy != "A2" {
		t.Errorf("B1 recovered by %s after %d s, want A2 after 1800 s", d.RecoveredBy, d.RecoverySeconds)
	}
	if !deps["A2"].Rollback || deps["B2"].Rollback {
		t.Errorf("rollback marks: A2 %v B2 %v, want true and false", deps["A2"].Rollback, deps["B2"].Rollback)
	}
	// Ancestry decides where it is known: here it says B is older than A (A
	// contains B), so B again is a rollback of A2 after all.
	_, deps, _ = derive(t, Input{
		Deployments: []schema.Deployment{prod("A1", 0, "sa"), prod("B1", 1, "sb"), prod("A2", 1.5, "sa"), prod("B2", 3, "sb")},
		Ancestry: map[schema.CommitPair]bool{
			{Repo: "acme/pay", Base: "sb", Head: "sa"}: true,  // does A contain B? yes: B is older
			{Repo: "acme/pay", Base: "sa", Head: "sb"}: false, // does B contain A? no
		},
	})
	if deps["B1"].Failed || !deps["A2"].Failed || !deps["B2"].Rollback {
		t.Errorf("by ancestry: B1 failed %v, A2 failed %v, B2 rollback %v; want false, true, true",
			deps["B1"].Failed, deps["A2"].Failed, deps["B2"].Rollback)
	}
}

func TestRollbackToACommitNeverDeployedHere(t *testing.T) {
	// s3 is deployed at 0 h; at 1 h s2, never deployed before, replaces it. Only
	// ancestry can tell that s2 is older (s3 contains it): then it is a rollback.
	deployments := []schema.Deployment{prod("new", 0, "s3"), prod("old", 1, "s2")}
	question := schema.CommitPair{Repo: "acme/pay", Base: "s2", Head: "s3"}
	for _, tt := range []struct {
		name     string
		ancestry map[schema.CommitPair]bool
		want     bool
	}{
		{"s3 contains s2", map[schema.CommitPair]bool{question: true}, true},
		{"s3 does not contain s2", map[schema.CommitPair]bool{question: false}, false},
		{"unknown: first deployed here after s3", nil, false},
	} {
		_, deps, _ := derive(t, Input{Deployments: deployments, Ancestry: tt.ancestry})
		if deps["old"].Rollback != tt.want || deps["new"].Failed != tt.want {
			t.Errorf("%s: rollback %v, replaced failed %v; want %v", tt.name, deps["old"].Rollback, deps["new"].Failed, tt.want)
		}
	}
	if got := NeededPairs(Input{Deployments: deployments}, testRules(t), 1, nil); !slices.Equal(got, []schema.CommitPair{question}) {
		t.Errorf("needed pairs %v, want %v", got, question)
	}
}

func TestRegionsAreRolloutsNotRollbacks(t *testing.T) {
	// pay is deployed to production-eu (A at 0 h, B at 1 h) and then to prod_us (A at
	// 5 h, B at 6 h). Grouped per service alone, A in us after B in eu looked like a
	// rollback: CFR 1/4 and rework 1/4. Per service and environment nothing failed,
	// and the same commit in two regions is one rollout: 2 counted deployments.
	at := func(id string, f float64, sha, env string) schema.Deployment {
		d := prod(id, f, sha)
		d.Environment = env
		return d
	}
	_, deps, _ := derive(t, Input{Deployments: []schema.Deployment{
		at("A-eu", 0, "sa", "production-eu"), at("B-eu", 1, "sb", "production-eu"),
		at("A-us", 5, "sa", "prod_us"), at("B-us", 6, "sb", "prod_us"),
	}})
	for id, d := range deps {
		if !d.Production || d.Failed || d.Rollback || d.Unplanned {
			t.Errorf("%s: %+v; want a production deployment, not failed, not a rollback, planned", id, d)
		}
	}
	for id, want := range map[string]string{"A-eu": "", "B-eu": "", "A-us": "A-eu", "B-us": "B-eu"} {
		if got := deps[id].RolloutOf; got != want {
			t.Errorf("%s counts as %q, want %q", id, got, want)
		}
	}
	if !slices.Equal(deps["A-eu"].Rollout, []string{"A-us"}) || !slices.Equal(deps["B-eu"].Rollout, []string{"B-us"}) {
		t.Errorf("rollouts: A-eu %v, B-eu %v", deps["A-eu"].Rollout, deps["B-eu"].Rollout)
	}

	// Then us alone goes back to A at 7 h: B's us region was rolled back, so B's
	// rollout failed, recovered at 7 h, 7 h − 1 h = 6 h after B-eu finished. The
	// second A in us is a rollout of its own (us already had A): a rollback.
	_, deps, _ = derive(t, Input{Deployments: []schema.Deployment{
		at("A-eu", 0, "sa", "production-eu"), at("B-eu", 1, "sb", "production-eu"),
		at("A-us", 5, "sa", "prod_us"), at("B-us", 6, "sb", "prod_us"), at("A-us2", 7, "sa", "prod_us"),
	}})
	if d := deps["B-eu"]; !d.Failed || !slices.Equal(d.FailureReasons, []string{schema.ReasonRolledBack}) ||
		d.RecoveredBy != "A-us2" || d.RecoverySeconds != 6*3600 {
		t.Errorf("B's rollout: %+v; want failed (rolled back in us), recovered by A-us2 after 21600 s", d)
	}
	if d := deps["A-us2"]; d.RolloutOf != "" || !d.Rollback || !slices.Equal(d.UnplannedReasons, []string{schema.UnplannedRollback}) {
		t.Errorf("A-us2: %+v; want its own rollout, a rollback", d)
	}
	counted, failed := 0, 0
	for _, d := range deps {
		if d.Production && d.RolloutOf == "" {
			counted++
			if d.Failed {
				failed++
			}
		}
	}
	if counted != 3 || failed != 1 { // A-eu, B-eu, A-us2; B-eu failed
		t.Errorf("%d counted, %d failed; want 3 and 1", counted, failed)
	}
}

func TestProductionPatternTakesRegions(t *testing.T) {
	for env, want := range map[string]bool{
		"production-eu": true, "prod_us": true, "PROD.ap-1": true, "production": true,
		"preprod": false, "production-": false, "staging": false, "prodigy": false,
	} {
		d := prod("d", 0, "s")
		d.Environment = env
		if _, deps, _ := derive(t, Input{Deployments: []schema.Deployment{d}}); deps["d"].Production != want {
			t.Errorf("%s: production %v, want %v", env, deps["d"].Production, want)
		}
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

// An alert (a page nobody declared an incident) after a deployment neither fails
// it nor gets an incident fact; the same page declared an incident does both.
func TestAlertsAreNoIncidents(t *testing.T) {
	alert := incident("page", 1, 2)
	alert.Kind = schema.IncidentKindAlert
	_, deps, incs := derive(t, Input{Deployments: []schema.Deployment{prod("d1", 0, "s1")}, Incidents: []schema.Incident{alert}})
	if deps["d1"].Failed || len(incs) != 0 {
		t.Errorf("alert: deployment %+v, incident facts %+v; want not failed and no incident fact", deps["d1"], incs)
	}
	declared := incident("page", 1, 2)
	declared.Kind = schema.IncidentKindIncident
	_, deps, incs = derive(t, Input{Deployments: []schema.Deployment{prod("d1", 0, "s1")}, Incidents: []schema.Incident{declared}})
	if !deps["d1"].Failed || incs["page"].RestoreSeconds != 3600 {
		t.Errorf("incident: deployment %+v, incident fact %+v; want failed and 3600 s to restore", deps["d1"], incs["page"])
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

func TestTimeAttributionOnlyUsesDeploymentsStartedAfterTheMerge(t *testing.T) {
	// Merged at 1 h. "running" started at 0h50m, before the merge, and finished at
	// 2 h: it cannot contain the merge. "next" starts at 3h50m and finishes at 4 h.
	running := prod("running", 2, "")
	running.StartedAt = h(50.0 / 60)
	changes, _, _ := derive(t, Input{
		PullRequests: []schema.PullRequest{pr("p", 0, 1, "sp")},
		Deployments:  []schema.Deployment{prod("d0", -30, "s0"), running, prod("next", 4, "")},
	})
	// Lead time: first commit at -1 h to 4 h = 5 h.
	if c := changes["p"]; c.ShippedBy != "next" || c.Attribution != schema.ByTime || c.LeadTimeSeconds != 5*3600 {
		t.Errorf("shipped by %q (%s), lead %d; want next by time, 18000", c.ShippedBy, c.Attribution, c.LeadTimeSeconds)
	}
}

func TestRevertsBlameTheDeploymentThatShippedTheChange(t *testing.T) {
	// "Add card vault" merges at 1 h and ships with r1 at 2 h; two more releases
	// follow (r2 at 4 h, r3 at 6 h); its revert merges at 7 h and ships with r4 at
	// 8 h. r1 failed (reverted), recovered 8 h − 2 h = 21600 s later, and not r3,
	// the deployment just before the revert. r4 ships a revert: rework.
	vault := pr("acme/pay#1", 0, 1, "m1")
	vault.Title = "Add card vault"
	revert := pr("acme/pay#4", 6.5, 7, "m4")
	revert.Title = `Revert "Add card vault"`
	changes, deps, _ := derive(t, Input{
		PullRequests: []schema.PullRequest{vault, pr("acme/pay#2", 2, 3, "m2"), pr("acme/pay#3", 4, 5, "m3"), revert},
		Deployments: []schema.Deployment{
			prod("r0", -10, "m0"), prod("r1", 2, "m1"), prod("r2", 4, "m2"), prod("r3", 6, "m3"), prod("r4", 8, "m4"),
		},
	})
	if d := deps["r1"]; !d.Failed || !slices.Equal(d.FailureReasons, []string{schema.ReasonReverted}) ||
		d.RecoveredBy != "r4" || d.RecoverySeconds != 21600 {
		t.Errorf("r1: %+v; want failed (reverted), recovered by r4 after 21600 s", d)
	}
	for _, id := range []string{"r0", "r2", "r3"} {
		if deps[id].Failed {
			t.Errorf("%s failed: %+v", id, deps[id])
		}
	}
	if d := deps["r4"]; !d.Revert || !slices.Equal(d.UnplannedReasons, []string{schema.UnplannedRevert}) || d.Failed {
		t.Errorf("r4: %+v; want a revert, unplanned, not failed", d)
	}
	if got := changes["acme/pay#4"].Reverts; !slices.Equal(got, []string{"acme/pay#1"}) {
		t.Errorf("the revert reverts %v, want [acme/pay#1]", got)
	}

	// The body's words name the reverted change the same way: by number, or by the
	// commit it was merged as.
	for _, named := range []string{"acme/pay#1", "M1"} {
		r := pr("acme/pay#4", 6.5, 7, "m4")
		r.Title, r.Reverts = "Back out the vault", []string{named}
		_, deps, _ := derive(t, Input{
			PullRequests: []schema.PullRequest{vault, r},
			Deployments:  []schema.Deployment{prod("r0", -10, "m0"), prod("r1", 2, "m1"), prod("r4", 8, "m4")},
		})
		if !deps["r1"].Failed || !deps["r4"].Revert {
			t.Errorf("reverts %q: r1 failed %v, r4 revert %v", named, deps["r1"].Failed, deps["r4"].Revert)
		}
	}

	// A change and its revert shipped together: nothing reached production broken.
	_, deps, _ = derive(t, Input{
		PullRequests: []schema.PullRequest{vault, revert},
		Deployments:  []schema.Deployment{prod("r0", -10, "m0"), prod("both", 8, "")},
	})
	if d := deps["both"]; d.Failed || !d.Revert {
		t.Errorf("shipped with its revert: %+v; want not failed, a revert", d)
	}
	// A revert not yet shipped fails nothing yet.
	_, deps, _ = derive(t, Input{
		PullRequests: []schema.PullRequest{vault, revert},
		Deployments:  []schema.Deployment{prod("r0", -10, "m0"), prod("r1", 2, "m1")},
	})
	if deps["r1"].Failed {
		t.Errorf("failed by a revert that has not shipped: %+v", deps["r1"])
	}
}

func TestReworkDoesNotGrowWithBatchSize(t *testing.T) {
	// The weekly release ships one bug fix among ten features: planned. The
	// patch release ships two fixes and nothing else: unplanned, fixes only.
	var prs []schema.PullRequest
	for i := range 10 {
		prs = append(prs, pr(fmt.Sprintf("feature-%d", i), 0, 1, ""))
	}
	fix := pr("fix", 0, 1, "")
	fix.Labels = []string{"bug"}
	fix2, fix3 := pr("fix2", 0, 3, ""), pr("fix3", 0, 3.5, "")
	fix2.Labels, fix3.Title = []string{"bug"}, "Stop the card declines of INC-7"
	_, deps, _ := derive(t, Input{
		PullRequests: append(prs, fix, fix2, fix3),
		Deployments:  []schema.Deployment{prod("d0", -10, "s0"), prod("weekly", 2, ""), prod("patch", 5, "")},
		Incidents:    []schema.Incident{{Source: "pd", ID: "INC-7", Service: "elsewhere", OpenedAt: h(-30)}},
	})
	if d := deps["weekly"]; d.Unplanned || d.Changes != 11 {
		t.Errorf("weekly: %+v; want 11 changes, planned", d)
	}
	if d := deps["patch"]; !slices.Equal(d.UnplannedReasons, []string{schema.UnplannedFixes}) || d.Changes != 2 {
		t.Errorf("patch: %+v; want 2 changes, unplanned: fixes only", d)
	}
	if d := deps["d0"]; d.Unplanned {
		t.Errorf("a deployment that shipped nothing is not rework: %+v", d)
	}
}

func TestIncidentLinks(t *testing.T) {
	// p1 merges as m1 at 1 h and ships by ancestry with d1 (commit c1) at 2 h; d2
	// follows at 5 h.
	base := Input{
		PullRequests: []schema.PullRequest{pr("acme/pay#1", 0, 1, "m1")},
		Deployments:  []schema.Deployment{prod("d0", -10, "c0"), prod("d1", 2, "c1"), prod("d2", 5, "c2")},
		Ancestry:     map[schema.CommitPair]bool{{Repo: "acme/pay", Base: "m1", Head: "c1"}: true},
	}
	for _, tt := range []struct {
		name string
		inc  func(*schema.Incident)
	}{
		{"by the merge commit of a pull request it shipped", func(i *schema.Incident) { i.CauseCommitSHA = "M1" }},
		{"by the pull request it shipped", func(i *schema.Incident) { i.CausePullRequest = "acme/pay#1" }},
		{"by its commit", func(i *schema.Incident) { i.CauseCommitSHA = "c1" }},
		{"by its id", func(i *schema.Incident) { i.CauseDeploymentID = "d1" }},
	} {
		// Opened at 6 h, after d2: by time it would be d2's.
		inc := incident("i", 6, 7)
		inc.Service = "elsewhere"
		tt.inc(&inc)
		in := base
		in.Incidents = []schema.Incident{inc}
		_, deps, incs := derive(t, in)
		// Recovery: resolved at 7 h, 5 h after d1 finished.
		if d := deps["d1"]; !d.Failed || !slices.Equal(d.FailureReasons, []string{schema.ReasonIncidentNamed}) || d.RecoverySeconds != 5*3600 {
			t.Errorf("%s: d1 %+v; want failed (incident_named), recovered after 18000 s", tt.name, d)
		}
		if i := incs["i"]; i.Deployment != "d1" || i.LinkReason != schema.ReasonIncidentNamed || deps["d2"].Failed {
			t.Errorf("%s: incident %+v, d2 failed %v", tt.name, i, deps["d2"].Failed)
		}
	}

	// Unnamed incidents of other services' names reach pay through the config's
	// map or by name ignoring case; inferred links say so.
	for _, service := range []string{"Payments (PD)", "PAY"} {
		inc := incident("i", 6, 7)
		inc.Service = service
		in := base
		in.Incidents = []schema.Incident{inc}
		_, deps, incs := derive(t, in)
		if d := deps["d2"]; !d.Failed || !slices.Equal(d.FailureReasons, []string{schema.ReasonIncidentWindow}) {
			t.Errorf("service %q: d2 %+v; want failed, inferred", service, d)
		}
		if i := incs["i"]; i.LinkReason != schema.ReasonIncidentWindow || i.Team != "payments" {
			t.Errorf("service %q: incident %+v; want an inferred link, team payments", service, i)
		}
	}

	// Inference turned off: only named causes link.
	cfg, err := config.Parse([]byte("rules:\n  infer_failures_from_incidents: false\n"), "off.yaml")
	if err != nil {
		t.Fatal(err)
	}
	named := incident("named", 6, 7)
	named.CauseDeploymentID = "d1"
	in := base
	in.Incidents, in.Now = []schema.Incident{incident("unnamed", 6, 7), named}, h(1000)
	facts := Derive(in, NewRules(cfg))
	for _, d := range facts.Deployments {
		if d.Failed != (d.ID == "d1") {
			t.Errorf("inference off: %s failed %v (%v)", d.ID, d.Failed, d.FailureReasons)
		}
	}
}

func TestHotfixesPerEnvironment(t *testing.T) {
	// B reaches production-eu at 0 h and prod-us at 1 h; a hotfix reaches only
	// production-eu at 2 h. It replaced B in eu, within the window: B's rollout
	// failed (hotfixed), recovered 2 h after B-eu finished. The us region kept B.
	at := func(id string, f float64, sha, env string) schema.Deployment {
		d := prod(id, f, sha)
		d.Environment = env
		return d
	}
	hotfix := at("H-eu", 2, "sh", "production-eu")
	hotfix.Ref = "hotfix/declines"
	_, deps, _ := derive(t, Input{Deployments: []schema.Deployment{
		at("B-eu", 0, "sb", "production-eu"), at("B-us", 1, "sb", "prod-us"), hotfix,
	}})
	if d := deps["B-eu"]; !d.Failed || !slices.Equal(d.FailureReasons, []string{schema.ReasonHotfixed}) || d.RecoverySeconds != 7200 {
		t.Errorf("B-eu: %+v; want failed (hotfixed), recovered after 7200 s", d)
	}
	if d := deps["B-us"]; d.Failed || d.RolloutOf != "B-eu" {
		t.Errorf("B-us: %+v; want not failed, counted as B-eu's rollout", d)
	}
}
