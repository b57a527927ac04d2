package synthetic

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// testNow is the fixed end of every generated period in these tests.
var testNow = time.Date(2025, 6, 30, 15, 4, 5, 0, time.UTC)

// run is everything one Generate call emitted.
type run struct {
	sum     Summary
	batches int
	maxLen  int
	all     schema.Batch
	hash    string
}

// generate runs Generate with o and collects every record; keep is false for runs
// only hashed and counted.
func generate(t testing.TB, o Options, keep bool) run {
	t.Helper()
	var res run
	h := sha256.New()
	sum, err := Generate(context.Background(), o, func(b *schema.Batch) error {
		res.batches++
		res.maxLen = max(res.maxLen, b.Len())
		hashBatch(h, b)
		if keep {
			res.all.PullRequests = append(res.all.PullRequests, b.PullRequests...)
			res.all.Deployments = append(res.all.Deployments, b.Deployments...)
			res.all.Incidents = append(res.all.Incidents, b.Incidents...)
			res.all.WorkItems = append(res.all.WorkItems, b.WorkItems...)
			res.all.StatusChanges = append(res.all.StatusChanges, b.StatusChanges...)
			res.all.Worklogs = append(res.all.Worklogs, b.Worklogs...)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	res.sum = sum
	res.hash = fmt.Sprintf("%x", h.Sum(nil))
	return res
}

// hashBatch writes every field of every record of b, in order, to h.
func hashBatch(h hash.Hash, b *schema.Batch) {
	for _, r := range b.PullRequests {
		fmt.Fprintf(h, "%#v\n", r)
	}
	for _, r := range b.Deployments {
		fmt.Fprintf(h, "%#v\n", r)
	}
	for _, r := range b.Incidents {
		fmt.Fprintf(h, "%#v\n", r)
	}
	for _, r := range b.WorkItems {
		fmt.Fprintf(h, "%#v\n", r)
	}
	for _, r := range b.StatusChanges {
		fmt.Fprintf(h, "%#v\n", r)
	}
	for _, r := range b.Worklogs {
		fmt.Fprintf(h, "%#v\n", r)
	}
	fmt.Fprintln(h, "--")
}

var (
	defaultOnce sync.Once
	defaultRun  run
)

// defaultGenerated is the default demo organisation, generated once per test binary.
func defaultGenerated(t *testing.T) run {
	t.Helper()
	defaultOnce.Do(func() { defaultRun = generate(t, Options{Seed: 42, Now: testNow}, true) })
	if defaultRun.sum.PullRequests == 0 {
		t.Fatal("default run produced nothing")
	}
	return defaultRun
}

func TestDeterminism(t *testing.T) {
	o := Options{Seed: 7, Now: testNow, Days: 60, BatchSize: 700}
	a, b := generate(t, o, false), generate(t, o, false)
	if a.hash != b.hash {
		t.Fatalf("same options gave different output: %s vs %s", a.hash, b.hash)
	}
	if a.sum != b.sum {
		t.Fatalf("same options gave different summaries: %+v vs %+v", a.sum, b.sum)
	}
	o.Seed = 8
	if c := generate(t, o, false); c.hash == a.hash {
		t.Fatal("a different seed gave identical output")
	}
	// Now is the caller's: a Now with sub-second and another zone means the same instant.
	o.Seed = 7
	o.Now = testNow.Add(400 * time.Millisecond).In(time.FixedZone("X", 3600))
	if d := generate(t, o, false); d.hash != a.hash {
		t.Fatal("Now's zone or sub-second part changed the output")
	}
}

func TestStreaming(t *testing.T) {
	for _, size := range []int{1, 97, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			days := 120
			if size == 1 {
				days = 14
			}
			res := generate(t, Options{Seed: 1, Now: testNow, Days: days, BatchSize: size, PullRequestsPerRepoPerWeek: 25}, false)
			if res.maxLen > size {
				t.Errorf("a batch held %d records, more than BatchSize %d", res.maxLen, size)
			}
			total := res.sum.Records()
			if want := (total + size - 1) / size; res.batches != want {
				t.Errorf("emit called %d times for %d records, want %d (every batch full but the last)", res.batches, total, want)
			}
			if res.sum.Batches != res.batches {
				t.Errorf("Summary.Batches = %d, emit called %d times", res.sum.Batches, res.batches)
			}
		})
	}
}

func TestCancelAndEmitError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Generate(ctx, Options{Seed: 1, Now: testNow, BatchSize: 100}, func(*schema.Batch) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("emit called %d times after cancel, want 1", calls)
	}

	boom := errors.New("boom")
	_, err = Generate(context.Background(), Options{Seed: 1, Now: testNow, BatchSize: 100}, func(*schema.Batch) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the emit error", err)
	}
}

func TestOptionsErrors(t *testing.T) {
	for name, o := range map[string]Options{
		"no now":        {Seed: 1},
		"negative days": {Now: testNow, Days: -1},
		"negative rate": {Now: testNow, PullRequestsPerRepoPerWeek: -3},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Generate(context.Background(), o, func(*schema.Batch) error { return nil }); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestNewOrg(t *testing.T) {
	org := NewOrg(Options{})
	if len(org.Teams) != 4 {
		t.Fatalf("%d teams, want 4", len(org.Teams))
	}
	seen := map[string]bool{}
	tiers := map[string]bool{}
	for _, team := range org.Teams {
		tiers[team.Tier] = true
		if len(team.Repositories) != 3 || len(team.Services) != 3 {
			t.Errorf("%s: %d repos, %d services", team.Name, len(team.Repositories), len(team.Services))
		}
		for i, r := range team.Repositories {
			if r != Owner+"/"+team.Services[i] {
				t.Errorf("repo %q does not match service %q", r, team.Services[i])
			}
		}
		for _, x := range append(append([]string{team.Name, team.TicketProject}, team.Repositories...), team.Members...) {
			if seen[x] {
				t.Errorf("%q used twice", x)
			}
			seen[x] = true
		}
	}
	if len(tiers) != 4 {
		t.Errorf("tiers %v, want all four", tiers)
	}
	if org.Teams[0].Name != "payments" || org.Teams[0].Repositories[0] != "acme/payments-api" {
		t.Errorf("first team %+v", org.Teams[0])
	}
	big := NewOrg(Options{Teams: 40, ReposPerTeam: 10})
	names := map[string]bool{}
	for _, team := range big.Teams {
		for _, r := range append(append([]string{team.Name}, team.Repositories...), team.Members...) {
			if names[r] {
				t.Fatalf("%q used twice in a 40-team org", r)
			}
			names[r] = true
		}
	}
}

func TestScale(t *testing.T) {
	o := Options{Seed: 3, Now: testNow, Days: 91, Teams: 4, ReposPerTeam: 2, PullRequestsPerRepoPerWeek: 10}
	small := generate(t, o, false)
	o.PullRequestsPerRepoPerWeek = 40
	large := generate(t, o, false)
	ratio := float64(large.sum.PullRequests) / float64(small.sum.PullRequests)
	if ratio < 4*0.8 || ratio > 4*1.2 {
		t.Errorf("4x the rate gave %d vs %d pull requests (ratio %.2f), want 4 within 20%%",
			large.sum.PullRequests, small.sum.PullRequests, ratio)
	}
	// The default rate gives about ten per repository and week.
	perRepoWeek := float64(small.sum.PullRequests) / 8 / 13
	if perRepoWeek < 8 || perRepoWeek > 12.5 {
		t.Errorf("%.1f pull requests per repo per week at the default rate", perRepoWeek)
	}
}

func isBot(login string) bool { return strings.HasSuffix(login, "[bot]") }

// isWaitStatus reports whether the default flow-state mapping treats s as a wait state.
func isWaitStatus(s string) bool {
	s = strings.ToLower(s)
	for _, k := range []string{"wait", "block", "ready", "queue", "hold", "pending"} {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

func TestInvariants(t *testing.T) {
	res := defaultGenerated(t)
	all, sum := res.all, res.sum
	org := NewOrg(Options{})
	t.Logf("default summary: %+v (%d records)", sum, sum.Records())

	// Summary counts equal what was emitted.
	for _, c := range []struct {
		kind      string
		got, want int
	}{
		{"pull requests", len(all.PullRequests), sum.PullRequests},
		{"deployments", len(all.Deployments), sum.Deployments},
		{"incidents", len(all.Incidents), sum.Incidents},
		{"work items", len(all.WorkItems), sum.WorkItems},
		{"status changes", len(all.StatusChanges), sum.StatusChanges},
		{"worklogs", len(all.Worklogs), sum.Worklogs},
	} {
		if c.got != c.want {
			t.Errorf("%s: emitted %d, summary says %d", c.kind, c.got, c.want)
		}
	}

	repos, services, serviceTeam := map[string]bool{}, map[string]bool{}, map[string]string{}
	for _, team := range org.Teams {
		for i, r := range team.Repositories {
			repos[r] = true
			services[team.Services[i]] = true
			serviceTeam[team.Services[i]] = team.Name
		}
	}
	if len(org.Teams) < 4 || len(repos) < 12 {
		t.Fatalf("%d teams, %d repos", len(org.Teams), len(repos))
	}
	start := testNow.Add(-182 * 24 * time.Hour)
	wholeSecond := func(what string, ts ...time.Time) {
		for _, x := range ts {
			if !x.IsZero() && (x.Location() != time.UTC || x.Nanosecond() != 0) {
				t.Errorf("%s: time %v is not a whole UTC second", what, x)
			}
			if !x.IsZero() && !x.Before(testNow) && !x.Equal(testNow) {
				t.Errorf("%s: time %v after Now", what, x)
			}
		}
	}

	t.Run("pull requests", func(t *testing.T) {
		ids := map[string]bool{}
		lastNumber := map[string]int64{}
		lastCreated := map[string]time.Time{}
		var merged, drafts, readyLater, bots, botsReviewed, squashed, open, closed, weekend, bugs, hotfix, deps int
		for _, pr := range all.PullRequests {
			wholeSecond(pr.ID, pr.CreatedAt, pr.ReadyAt, pr.FirstCommitAt, pr.FirstReviewAt, pr.FirstApprovalAt, pr.MergedAt, pr.ClosedAt, pr.UpdatedAt)
			if ids[pr.ID] {
				t.Errorf("duplicate pull request %s", pr.ID)
			}
			ids[pr.ID] = true
			if pr.Source != "demo" || !repos[pr.Repo] || pr.ID != fmt.Sprintf("%s#%d", pr.Repo, pr.Number) ||
				pr.URL != fmt.Sprintf("https://github.com/%s/pull/%d", pr.Repo, pr.Number) {
				t.Errorf("bad identity: %+v", pr)
			}
			if pr.Number <= lastNumber[pr.Repo] || pr.CreatedAt.Before(lastCreated[pr.Repo]) {
				t.Errorf("%s: numbers do not increase with creation time", pr.ID)
			}
			lastNumber[pr.Repo], lastCreated[pr.Repo] = pr.Number, pr.CreatedAt
			if pr.CreatedAt.Before(start) {
				t.Errorf("%s created before the period", pr.ID)
			}
			if pr.FirstCommitAt.After(pr.CreatedAt) || pr.CommitCount < 1 {
				t.Errorf("%s: first commit %v after creation %v or %d commits", pr.ID, pr.FirstCommitAt, pr.CreatedAt, pr.CommitCount)
			}
			if pr.Draft != pr.ReadyAt.IsZero() || (!pr.ReadyAt.IsZero() && pr.ReadyAt.Before(pr.CreatedAt)) {
				t.Errorf("%s: draft %v, created %v, ready %v", pr.ID, pr.Draft, pr.CreatedAt, pr.ReadyAt)
			}
			if pr.Draft {
				drafts++
			}
			if pr.ReadyAt.After(pr.CreatedAt) {
				readyLater++
			}
			if !pr.FirstReviewAt.IsZero() {
				if pr.FirstReviewer == "" || pr.FirstReviewer == pr.Author || isBot(pr.FirstReviewer) {
					t.Errorf("%s: reviewer %q, author %q", pr.ID, pr.FirstReviewer, pr.Author)
				}
				if pr.FirstReviewAt.Before(pr.ReadyAt) {
					t.Errorf("%s: reviewed %v before ready %v", pr.ID, pr.FirstReviewAt, pr.ReadyAt)
				}
				if !pr.FirstApprovalAt.IsZero() && pr.FirstApprovalAt.Before(pr.FirstReviewAt) {
					t.Errorf("%s: approved before the first review", pr.ID)
				}
			} else if pr.FirstReviewer != "" || !pr.FirstApprovalAt.IsZero() {
				t.Errorf("%s: reviewer or approval without a review", pr.ID)
			}
			if isBot(pr.Author) {
				bots++
				if !pr.FirstReviewAt.IsZero() {
					botsReviewed++
				}
				if !slices.Contains(pr.Labels, "dependencies") {
					t.Errorf("%s: bot pull request without the dependencies label", pr.ID)
				}
			}
			if pr.CommitCount > 5 && pr.CreatedAt.Sub(pr.FirstCommitAt) > 24*time.Hour {
				squashed++
			}
			for _, l := range pr.Labels {
				switch l {
				case "bug":
					bugs++
				case "hotfix":
					hotfix++
				case "dependencies":
					deps++
				}
			}
			if isWeekend(pr.CreatedAt) {
				weekend++
			}
			switch {
			case !pr.MergedAt.IsZero():
				merged++
				if pr.CreatedAt.After(pr.ReadyAt) || pr.ReadyAt.After(pr.MergedAt) {
					t.Errorf("%s: created %v, ready %v, merged %v out of order", pr.ID, pr.CreatedAt, pr.ReadyAt, pr.MergedAt)
				}
				if !pr.FirstReviewAt.IsZero() && pr.FirstReviewAt.After(pr.MergedAt) {
					t.Errorf("%s: reviewed after merge", pr.ID)
				}
				if !pr.FirstApprovalAt.IsZero() && pr.FirstApprovalAt.After(pr.MergedAt) {
					t.Errorf("%s: approved after merge", pr.ID)
				}
				if !pr.ClosedAt.Equal(pr.MergedAt) || len(pr.MergeCommitSHA) != 40 || strings.Trim(pr.MergeCommitSHA, "0123456789abcdef") != "" {
					t.Errorf("%s: closed %v, merge sha %q", pr.ID, pr.ClosedAt, pr.MergeCommitSHA)
				}
			case !pr.ClosedAt.IsZero():
				closed++
			default:
				open++
			}
			if want := latest(pr.CreatedAt, pr.ReadyAt, pr.FirstReviewAt, pr.FirstApprovalAt, pr.MergedAt, pr.ClosedAt); !pr.UpdatedAt.Equal(want) {
				t.Errorf("%s: updated %v, latest event %v", pr.ID, pr.UpdatedAt, want)
			}
		}
		n := len(all.PullRequests)
		if share := float64(merged) / float64(n); share < 0.85 || share > 0.93 {
			t.Errorf("%.2f of pull requests merged, want about 0.9", share)
		}
		if merged != sum.MergedPullRequests || open != sum.OpenPullRequests || bots != sum.BotPullRequests {
			t.Errorf("summary merged/open/bots %d/%d/%d, counted %d/%d/%d", sum.MergedPullRequests, sum.OpenPullRequests, sum.BotPullRequests, merged, open, bots)
		}
		if share := float64(weekend) / float64(n); share >= 0.15 {
			t.Errorf("%.1f%% of pull requests opened at weekends, want < 15%%", 100*share)
		}
		if bots == 0 || botsReviewed != 0 || deps == 0 {
			t.Errorf("%d bot pull requests, %d of them reviewed, %d dependency labels", bots, botsReviewed, deps)
		}
		for what, c := range map[string]int{"drafts": drafts, "drafts made ready": readyLater, "squashed": squashed,
			"closed": closed, "open": open, "bug": bugs, "hotfix": hotfix} {
			if c == 0 {
				t.Errorf("no %s pull requests", what)
			}
		}
		t.Logf("%d PRs: merged %d, closed %d, open %d, drafts %d, ready later %d, bots %d, weekend %.1f%%",
			n, merged, closed, open, drafts, readyLater, bots, 100*float64(weekend)/float64(n))
	})

	t.Run("deployments", func(t *testing.T) {
		ids := map[string]bool{}
		prodBySvc := map[string]int{}
		merges := map[string][]schema.PullRequest{}
		for _, pr := range all.PullRequests {
			if !pr.MergedAt.IsZero() {
				merges[pr.Repo] = append(merges[pr.Repo], pr)
			}
		}
		for _, m := range merges {
			sort.Slice(m, func(i, j int) bool { return m[i].MergedAt.Before(m[j].MergedAt) })
		}
		// latestMerged is the merge commit of the repo's most recent merge at t.
		latestMerged := func(repo string, at time.Time) string {
			m := merges[repo]
			i := sort.Search(len(m), func(i int) bool { return m[i].MergedAt.After(at) })
			if i == 0 {
				return ""
			}
			return m[i-1].MergeCommitSHA
		}
		shas := map[string]bool{}
		for _, pr := range all.PullRequests {
			shas[pr.MergeCommitSHA] = true
		}
		var failed, rollbacks, hotfixes, manual, staging, retries, prod int
		for _, d := range all.Deployments {
			wholeSecond(d.ID, d.StartedAt, d.FinishedAt, d.UpdatedAt)
			if ids[d.ID] {
				t.Errorf("duplicate deployment %s", d.ID)
			}
			ids[d.ID] = true
			if d.Source != "demo" || !repos[d.Repo] || d.Repo != Owner+"/"+d.Service || !services[d.Service] {
				t.Errorf("bad identity %+v", d)
			}
			if !shas[d.CommitSHA] {
				t.Errorf("%s deploys %q, not a merge commit", d.ID, d.CommitSHA)
			}
			if d.Status == schema.DeploymentInProgress {
				if !d.FinishedAt.IsZero() {
					t.Errorf("%s in progress with a finish", d.ID)
				}
			} else if !d.StartedAt.Before(d.FinishedAt) || d.FinishedAt.Sub(d.StartedAt) > 6*time.Hour {
				t.Errorf("%s: started %v, finished %v", d.ID, d.StartedAt, d.FinishedAt)
			}
			if d.Trigger == schema.TriggerManual {
				manual++
			}
			switch {
			case d.Environment == "staging":
				staging++
			case d.Status == schema.DeploymentFailure || d.Status == schema.DeploymentError:
				failed++
			case d.Environment != "production":
				t.Errorf("%s: environment %q", d.ID, d.Environment)
			}
			if d.Environment != "production" {
				continue
			}
			if d.Attempt == 2 {
				retries++
			}
			if d.Status == schema.DeploymentSuccess {
				prod++
				prodBySvc[d.Service]++
			}
			switch {
			case d.Rollback:
				rollbacks++
			case d.Hotfix:
				hotfixes++
				if !strings.HasPrefix(d.Ref, "hotfix/") {
					t.Errorf("%s: hotfix from ref %q", d.ID, d.Ref)
				}
			case d.Attempt == 1:
				if want := latestMerged(d.Repo, d.StartedAt); d.CommitSHA != want {
					t.Errorf("%s deploys %s, but the latest merge at its start is %s", d.ID, d.CommitSHA, want)
				}
			}
		}
		lastProd := map[string]time.Time{}
		for _, d := range all.Deployments {
			if d.Environment == "production" && d.Status == schema.DeploymentSuccess && d.StartedAt.After(lastProd[d.Repo]) {
				lastProd[d.Repo] = d.StartedAt
			}
		}
		undeployed := 0
		for _, pr := range all.PullRequests {
			if !pr.MergedAt.IsZero() && pr.MergedAt.After(lastProd[pr.Repo]) {
				undeployed++
			}
		}
		if undeployed == 0 {
			t.Error("every merged pull request was deployed by Now")
		}
		for svc := range services {
			if prodBySvc[svc] == 0 {
				t.Errorf("no production deployments of %s", svc)
			}
		}
		if failed == 0 || retries == 0 || rollbacks == 0 || hotfixes == 0 || manual == 0 || staging == 0 {
			t.Errorf("failed %d, retries %d, rollbacks %d, hotfixes %d, manual %d, staging %d: want some of each",
				failed, retries, rollbacks, hotfixes, manual, staging)
		}
		if prod != sum.ProductionDeployments || failed != sum.FailedAttempts || rollbacks != sum.Rollbacks || hotfixes != sum.Hotfixes {
			t.Errorf("summary prod/failed/rollbacks/hotfixes %d/%d/%d/%d, counted %d/%d/%d/%d",
				sum.ProductionDeployments, sum.FailedAttempts, sum.Rollbacks, sum.Hotfixes, prod, failed, rollbacks, hotfixes)
		}
		t.Logf("%d deployments: %d production, %d staging, %d failed attempts, %d rollbacks, %d hotfixes", len(all.Deployments), prod, staging, failed, rollbacks, hotfixes)
	})

	t.Run("incidents", func(t *testing.T) {
		ids := map[string]bool{}
		deps := map[string]schema.Deployment{}
		for _, d := range all.Deployments {
			deps[d.ID] = d
		}
		var named, unnamed, open int
		prodStarts := map[string][]time.Time{}
		for _, d := range all.Deployments {
			if d.Environment == "production" {
				prodStarts[d.Service] = append(prodStarts[d.Service], d.StartedAt)
			}
		}
		for _, inc := range all.Incidents {
			wholeSecond(inc.ID, inc.OpenedAt, inc.AcknowledgedAt, inc.ResolvedAt, inc.UpdatedAt)
			if ids[inc.ID] {
				t.Errorf("duplicate incident %s", inc.ID)
			}
			ids[inc.ID] = true
			if !services[inc.Service] || inc.Source != "demo" || !strings.HasPrefix(inc.Severity, "SEV") {
				t.Errorf("bad incident %+v", inc)
			}
			if !inc.AcknowledgedAt.IsZero() && inc.AcknowledgedAt.Before(inc.OpenedAt) ||
				!inc.ResolvedAt.IsZero() && (inc.AcknowledgedAt.IsZero() || inc.ResolvedAt.Before(inc.AcknowledgedAt)) {
				t.Errorf("%s: opened %v, acknowledged %v, resolved %v", inc.ID, inc.OpenedAt, inc.AcknowledgedAt, inc.ResolvedAt)
			}
			if inc.ResolvedAt.IsZero() {
				open++
			}
			if inc.CauseDeploymentID != "" || inc.CauseCommitSHA != "" {
				named++
				if d, ok := deps[inc.CauseDeploymentID]; inc.CauseDeploymentID != "" && (!ok || d.Service != inc.Service || inc.OpenedAt.Before(d.FinishedAt)) {
					t.Errorf("%s names deployment %q of another service or later", inc.ID, inc.CauseDeploymentID)
				}
				if d, ok := deps[inc.CauseDeploymentID]; ok {
					if inc.OpenedAt.Sub(d.FinishedAt) >= 24*time.Hour {
						t.Errorf("%s opened %v after its deployment finished", inc.ID, inc.OpenedAt.Sub(d.FinishedAt))
					}
					for _, s := range prodStarts[inc.Service] {
						if s.After(d.FinishedAt) && s.Before(inc.OpenedAt) {
							t.Errorf("%s opened after the next deployment of its service", inc.ID)
						}
					}
				}
			} else {
				unnamed++
			}
		}
		if named == 0 || unnamed == 0 || open == 0 {
			t.Errorf("%d incidents naming a deployment, %d not, %d open: want some of each", named, unnamed, open)
		}
		if named != sum.NamedIncidents {
			t.Errorf("summary named %d, counted %d", sum.NamedIncidents, named)
		}
	})

	t.Run("tickets", func(t *testing.T) {
		items := map[string]schema.WorkItem{}
		projects := map[string]bool{}
		for _, team := range org.Teams {
			projects[team.TicketProject] = true
		}
		types := map[string]int{}
		for _, w := range all.WorkItems {
			wholeSecond(w.ID, w.CreatedAt, w.ResolvedAt, w.UpdatedAt)
			if _, dup := items[w.ID]; dup {
				t.Errorf("duplicate work item %s", w.ID)
			}
			items[w.ID] = w
			types[w.IssueType]++
			if !projects[w.Project] || !strings.HasPrefix(w.ID, w.Project+"-") {
				t.Errorf("bad work item %+v", w)
			}
		}
		for _, typ := range []string{"Story", "Bug", "Task", "Security", "Tech Debt", "Chore"} {
			if types[typ] == 0 {
				t.Errorf("no %s tickets", typ)
			}
		}
		history := map[string][]schema.StatusChange{}
		ids := map[string]bool{}
		for _, c := range all.StatusChanges {
			wholeSecond(c.ID, c.At, c.UpdatedAt)
			if ids[c.ID] {
				t.Errorf("duplicate status change %s", c.ID)
			}
			ids[c.ID] = true
			if c.FromCategory != statusCategory(c.From) || c.ToCategory != statusCategory(c.To) {
				t.Errorf("%s: categories %q -> %q for %q -> %q", c.ID, c.FromCategory, c.ToCategory, c.From, c.To)
			}
			history[c.ItemID] = append(history[c.ItemID], c)
		}
		var done, canceled, inFlight, reopened, toil, toilLogged int
		for id, w := range items {
			h := history[id]
			status, last := "Backlog", w.CreatedAt
			var wait, active, wasDone bool
			for _, c := range h {
				if c.From != status || c.At.Before(last) {
					t.Errorf("%s: change %s out of order or not chained (%q from %q)", id, c.ID, c.To, status)
				}
				if wasDone && c.ToCategory != catDone {
					reopened++
				}
				wasDone = c.ToCategory == catDone
				status, last = c.To, c.At
				if isWaitStatus(c.To) {
					wait = true
				} else if c.ToCategory == catInProgress {
					active = true
				}
			}
			if w.Status != status || w.StatusCategory != statusCategory(status) {
				t.Errorf("%s: status %q/%q, last change to %q", id, w.Status, w.StatusCategory, status)
			}
			if (w.StatusCategory == catDone) == w.ResolvedAt.IsZero() {
				t.Errorf("%s: status %q, resolved %v", id, w.Status, w.ResolvedAt)
			}
			switch {
			case w.Status == stDone:
				done++
				if !wait || !active {
					t.Errorf("%s: finished without a wait (%v) or active (%v) status", id, wait, active)
				}
			case w.Status == stWontDo:
				canceled++
			case w.StatusCategory == catInProgress:
				inFlight++
			}
			if slices.Contains(w.Labels, "toil") {
				toil++
			}
		}
		logged := map[string]bool{}
		for _, wl := range all.Worklogs {
			w, ok := items[wl.ItemID]
			if !ok || wl.Seconds <= 0 || wl.StartedAt.Before(w.CreatedAt) {
				t.Errorf("bad worklog %+v", wl)
			}
			if slices.Contains(w.Labels, "toil") && !logged[wl.ItemID] {
				logged[wl.ItemID] = true
				toilLogged++
			}
		}
		if done == 0 || canceled == 0 || inFlight == 0 || reopened == 0 || toil == 0 || toilLogged == 0 {
			t.Errorf("done %d, canceled %d, in flight %d, reopened %d, toil %d, toil with worklogs %d: want some of each",
				done, canceled, inFlight, reopened, toil, toilLogged)
		}
		if toil != sum.ToilItems {
			t.Errorf("summary toil %d, counted %d", sum.ToilItems, toil)
		}
		titles := map[string]int{}
		for _, w := range all.WorkItems {
			if slices.Contains(w.Labels, "toil") {
				titles[w.Title]++
			}
		}
		repeated := 0
		for _, n := range titles {
			if n >= 3 {
				repeated++
			}
		}
		if repeated < 5 {
			t.Errorf("only %d toil titles recur three times or more", repeated)
		}
	})
}

// teamStats are rough versions of the DORA numbers of docs/metrics.md, enough to see that teams differ.
type teamStats struct {
	leadMedian     time.Duration
	deploysPerDay  float64
	cfr            float64
	recoveryMedian time.Duration
	flowEfficiency float64
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// computeStats derives per-team numbers by the definitions of docs/metrics.md, simplified:
// ship time by time attribution, failure by the four rules.
func computeStats(all schema.Batch, org Org, days int) map[string]teamStats {
	serviceTeam, projectTeam := map[string]string{}, map[string]string{}
	for _, team := range org.Teams {
		for _, s := range team.Services {
			serviceTeam[s] = team.Name
		}
		projectTeam[team.TicketProject] = team.Name
	}
	prod := map[string][]schema.Deployment{} // by repo, in start order
	for _, d := range all.Deployments {
		if d.Environment == "production" && d.Status == schema.DeploymentSuccess {
			prod[d.Repo] = append(prod[d.Repo], d)
		}
	}
	for _, ds := range prod {
		sort.Slice(ds, func(i, j int) bool { return ds[i].FinishedAt.Before(ds[j].FinishedAt) })
	}
	leads := map[string][]time.Duration{}
	for _, pr := range all.PullRequests {
		ds := prod[pr.Repo]
		if pr.MergedAt.IsZero() || len(ds) == 0 || pr.MergedAt.Before(ds[0].StartedAt) {
			continue
		}
		i := sort.Search(len(ds), func(i int) bool { return !ds[i].StartedAt.Before(pr.MergedAt) })
		if i < len(ds) {
			team := serviceTeam[strings.TrimPrefix(pr.Repo, Owner+"/")]
			leads[team] = append(leads[team], ds[i].FinishedAt.Sub(pr.FirstCommitAt))
		}
	}
	incidents := map[string][]schema.Incident{}
	for _, inc := range all.Incidents {
		incidents[inc.Service] = append(incidents[inc.Service], inc)
	}
	deploys, failed := map[string]int{}, map[string]int{}
	recoveries := map[string][]time.Duration{}
	for _, ds := range prod {
		for i, d := range ds {
			team := serviceTeam[d.Service]
			deploys[team]++
			var next time.Time
			if i+1 < len(ds) {
				next = ds[i+1].StartedAt
			}
			bad := false
			var recovered time.Time
			for _, inc := range incidents[d.Service] {
				named := inc.CauseDeploymentID == d.ID || inc.CauseCommitSHA == d.CommitSHA
				near := inc.OpenedAt.After(d.FinishedAt) && inc.OpenedAt.Sub(d.FinishedAt) < 24*time.Hour &&
					(next.IsZero() || inc.OpenedAt.Before(next))
				if named || near {
					bad = true
					if !inc.ResolvedAt.IsZero() && (recovered.IsZero() || inc.ResolvedAt.Before(recovered)) {
						recovered = inc.ResolvedAt
					}
				}
			}
			for _, later := range ds[i+1:] {
				if later.Rollback || (later.Hotfix && later.StartedAt.Sub(d.FinishedAt) < 24*time.Hour) {
					bad = true
					if recovered.IsZero() || later.FinishedAt.Before(recovered) {
						recovered = later.FinishedAt
					}
					break
				}
				if !later.Rollback && !later.Hotfix {
					break
				}
			}
			if bad {
				failed[team]++
				if !recovered.IsZero() {
					recoveries[team] = append(recoveries[team], recovered.Sub(d.FinishedAt))
				}
			}
		}
	}
	changes := map[string][]schema.StatusChange{}
	for _, c := range all.StatusChanges {
		changes[c.ItemID] = append(changes[c.ItemID], c)
	}
	activeSum, flowSum := map[string]time.Duration{}, map[string]time.Duration{}
	for _, w := range all.WorkItems {
		if w.Status != stDone {
			continue
		}
		h := changes[w.ID]
		var commit time.Time
		var active time.Duration
		for i, c := range h {
			if commit.IsZero() && c.ToCategory != catToDo || commit.IsZero() && isWaitStatus(c.To) {
				commit = c.At
			}
			if i+1 < len(h) && c.ToCategory == catInProgress && !isWaitStatus(c.To) {
				active += h[i+1].At.Sub(c.At)
			}
		}
		team := projectTeam[w.Project]
		activeSum[team] += active
		flowSum[team] += h[len(h)-1].At.Sub(commit)
	}
	out := map[string]teamStats{}
	for _, team := range org.Teams {
		n := team.Name
		out[n] = teamStats{
			leadMedian:     median(leads[n]),
			deploysPerDay:  float64(deploys[n]) / float64(days),
			cfr:            float64(failed[n]) / math.Max(1, float64(deploys[n])),
			recoveryMedian: median(recoveries[n]),
			flowEfficiency: float64(activeSum[n]) / math.Max(1, float64(flowSum[n])),
		}
	}
	return out
}

func TestTeamsDiffer(t *testing.T) {
	res := defaultGenerated(t)
	org := NewOrg(Options{})
	stats := computeStats(res.all, org, 182)
	byTier := map[string]teamStats{}
	for _, team := range org.Teams {
		s := stats[team.Name]
		byTier[team.Tier] = s
		t.Logf("%-9s %-6s lead %-10v deploys/day %5.2f CFR %4.1f%% recovery %-10v flow efficiency %4.1f%%", team.Name, team.Tier,
			s.leadMedian.Round(time.Minute), s.deploysPerDay, 100*s.cfr, s.recoveryMedian.Round(time.Minute), 100*s.flowEfficiency)
	}
	elite, high, medium, low := byTier["elite"], byTier["high"], byTier["medium"], byTier["low"]
	if !(elite.leadMedian < 24*time.Hour && elite.leadMedian < high.leadMedian && high.leadMedian < medium.leadMedian && medium.leadMedian < low.leadMedian && low.leadMedian > 30*24*time.Hour) {
		t.Errorf("lead times do not spread by tier")
	}
	if !(elite.deploysPerDay > 3 && elite.deploysPerDay > high.deploysPerDay && high.deploysPerDay > medium.deploysPerDay && medium.deploysPerDay > low.deploysPerDay) {
		t.Errorf("deployment frequencies do not spread by tier")
	}
	if !(elite.cfr <= 0.06 && elite.cfr < medium.cfr && high.cfr < low.cfr && low.cfr > 0.10) {
		t.Errorf("change failure rates do not spread by tier")
	}
	if !(elite.recoveryMedian < time.Hour && high.recoveryMedian < 24*time.Hour && medium.recoveryMedian > high.recoveryMedian && low.recoveryMedian > 24*time.Hour) {
		t.Errorf("recovery times do not spread by tier")
	}
	for tier, s := range byTier {
		if s.flowEfficiency < 0.10 || s.flowEfficiency > 0.50 {
			t.Errorf("%s flow efficiency %.1f%%, want 10–50%%", tier, 100*s.flowEfficiency)
		}
	}
	if !(elite.flowEfficiency > medium.flowEfficiency && high.flowEfficiency > low.flowEfficiency) {
		t.Errorf("flow efficiency does not spread by tier")
	}
}

func BenchmarkGenerate(b *testing.B) {
	// 12 repositories over 26 weeks at 320 a week: about 100k pull requests.
	o := Options{Seed: 1, Now: testNow, PullRequestsPerRepoPerWeek: 320}
	var sum Summary
	b.ReportAllocs()
	for b.Loop() {
		var err error
		sum, err = Generate(context.Background(), o, func(*schema.Batch) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sum.PullRequests), "prs/op")
	b.ReportMetric(float64(sum.Records()), "records/op")
	b.ReportMetric(float64(sum.Records())*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func TestOddSizes(t *testing.T) {
	for name, o := range map[string]Options{
		"one day":      {Days: 1},
		"one team":     {Teams: 1, ReposPerTeam: 1},
		"many teams":   {Teams: 20, ReposPerTeam: 9, Days: 14},
		"trickle":      {PullRequestsPerRepoPerWeek: 0.2, Days: 30},
		"other source": {Source: "gh-enterprise", Days: 7},
		"ten years":    {Days: 3650, Teams: 1, ReposPerTeam: 1, PullRequestsPerRepoPerWeek: 2},
	} {
		t.Run(name, func(t *testing.T) {
			o.Seed, o.Now = 5, testNow
			want := o.Source
			if want == "" {
				want = DefaultSource
			}
			res := generate(t, o, true)
			if got := len(res.all.PullRequests) + len(res.all.Deployments) + len(res.all.Incidents) +
				len(res.all.WorkItems) + len(res.all.StatusChanges) + len(res.all.Worklogs); got != res.sum.Records() {
				t.Errorf("emitted %d records, summary says %d", got, res.sum.Records())
			}
			for _, pr := range res.all.PullRequests {
				if pr.Source != want {
					t.Fatalf("source %q, want %q", pr.Source, want)
				}
			}
			for _, w := range res.all.WorkItems {
				if w.Source != want {
					t.Fatalf("source %q, want %q", w.Source, want)
				}
			}
		})
	}
}

// Most human pull requests name a ticket of their own team that was in progress
// when they were opened, so delivery can be traced from ticket to deployment.
func TestPullRequestsNameTicketsInProgress(t *testing.T) {
	res := defaultGenerated(t)
	org := NewOrg(Options{Seed: 42, Now: testNow})
	projectOfRepo := map[string]string{}
	for _, team := range org.Teams {
		for _, repo := range team.Repositories {
			projectOfRepo[repo] = team.TicketProject
		}
	}
	// When each ticket first went to In Progress and then to review's end.
	inProgress := map[string][2]time.Time{}
	for _, c := range res.all.StatusChanges {
		span := inProgress[c.ItemID]
		switch {
		case c.To == stInProgress && span[0].IsZero():
			span[0] = c.At
		case (c.To == stWaitingDeploy || c.To == stDone) && span[1].IsZero() && !span[0].IsZero():
			span[1] = c.At
		}
		inProgress[c.ItemID] = span
	}
	human, linked := 0, 0
	for _, pr := range res.all.PullRequests {
		if isBot(pr.Author) || len(pr.Labels) > 0 && slices.Contains(pr.Labels, "incident") {
			continue
		}
		human++
		if len(pr.TicketRefs) == 0 {
			continue
		}
		linked++
		key := pr.TicketRefs[0]
		if len(pr.TicketRefs) != 1 || !strings.HasPrefix(key, projectOfRepo[pr.Repo]+"-") || !strings.HasPrefix(pr.Title, key+": ") {
			t.Fatalf("%s names %q in %q; want one key of project %s, also in the title", pr.ID, pr.TicketRefs, pr.Title, projectOfRepo[pr.Repo])
		}
		span := inProgress[key]
		if span[0].IsZero() || pr.CreatedAt.Before(span[0]) || !span[1].IsZero() && !pr.CreatedAt.Before(span[1]) {
			t.Fatalf("%s opened %s names %s, in progress %v; want it opened while the ticket was in progress", pr.ID, pr.CreatedAt, key, span)
		}
	}
	if share := float64(linked) / float64(human); share < 0.5 || share > 0.9 {
		t.Errorf("%d of %d human pull requests name a ticket (%.0f%%); want most, not all", linked, human, 100*share)
	}
	if res.sum.LinkedPullRequests != linked {
		t.Errorf("summary counts %d linked pull requests, the records %d", res.sum.LinkedPullRequests, linked)
	}
}
