package refresh_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/refresh"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// linearResolver answers from one repository's straight history, main: commit i
// contains commit j when j ≤ i. It counts what it is asked, and can fail or cancel.
type linearResolver struct {
	main       []string
	compared   int
	pairs      int
	fail       error              // every comparison fails with it
	cancelWhen int                // cancel after this many comparisons
	cancel     context.CancelFunc //
}

func (r *linearResolver) index(sha string) int { return slices.Index(r.main, sha) }

func (r *linearResolver) ResolveAncestry(ctx context.Context, st collectors.AncestryStore, pairs []schema.CommitPair, at time.Time) (map[schema.CommitPair]bool, error) {
	out := map[schema.CommitPair]bool{}
	for _, p := range pairs {
		r.pairs++
		out[p] = r.index(p.Base) <= r.index(p.Head)
	}
	return out, nil
}

func (r *linearResolver) CompareRange(ctx context.Context, p schema.CommitPair) (schema.CommitRange, bool, error) {
	r.compared++
	if r.cancel != nil && r.compared == r.cancelWhen {
		r.cancel()
	}
	if r.fail != nil {
		return schema.CommitRange{}, false, r.fail
	}
	b, h := r.index(p.Base), r.index(p.Head)
	out := schema.CommitRange{CommitPair: p, BaseInHead: b <= h, HeadInBase: h <= b}
	if b < h {
		out.Commits = slices.Clone(r.main[b+1 : h+1])
	}
	return out, true, nil
}

// linearHistory is 10 deployments of acme/pay, d0 to d9, one every 10 hours, each of
// commit m(2i), with pull request #(2i+1) merged just after each, as commit m(2i+1),
// shipped by the next deployment.
func linearHistory(t *testing.T) (store.Store, *linearResolver, *config.Config) {
	st := stores()["sqlite"](t)
	t0 := now.Add(-200 * time.Hour)
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	r := &linearResolver{}
	b := &schema.Batch{}
	for i := range 10 {
		deployed, merged := fmt.Sprintf("m%02d", 2*i), fmt.Sprintf("m%02d", 2*i+1)
		r.main = append(r.main, deployed, merged)
		b.Deployments = append(b.Deployments, schema.Deployment{Source: "gh", ID: fmt.Sprintf("d%d", i), Repo: "acme/pay", Service: "pay",
			Environment: "production", CommitSHA: deployed, Status: schema.DeploymentSuccess,
			StartedAt: at(10 * float64(i)), FinishedAt: at(10*float64(i) + 0.5), UpdatedAt: at(10 * float64(i))})
		b.PullRequests = append(b.PullRequests, schema.PullRequest{Source: "gh", ID: fmt.Sprintf("acme/pay#%d", 2*i+1), Repo: "acme/pay",
			Author: "ana", CreatedAt: at(10*float64(i) + 1), MergedAt: at(10*float64(i) + 2), MergeCommitSHA: merged, UpdatedAt: at(10*float64(i) + 2)})
	}
	if err := st.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Teams: []config.Team{{Name: "payments", Repositories: []string{"acme/pay"}}}}
	return st, r, cfg
}

func TestRangesAttributeWithoutWalks(t *testing.T) {
	st, r, cfg := linearHistory(t)
	opts := refresh.Options{Now: now, Resolvers: map[string]collectors.AncestryResolver{"gh": r}}
	sum, err := refresh.Run(context.Background(), st, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Nine ranges; every pull request but the last (merged after d9) is listed by one,
	// and the last's walk has no deployment to ask.
	if r.compared != 9 || r.pairs != 0 || sum.AncestryAsked != 9 {
		t.Fatalf("%d compares and %d walk questions (summary %d), want 9 and 0", r.compared, r.pairs, sum.AncestryAsked)
	}
	for _, c := range storedFacts(t, st).Changes {
		if c.ID == "acme/pay#19" {
			if c.State != schema.ChangeUndeployed {
				t.Errorf("#19: %s, want undeployed", c.State)
			}
			continue
		}
		var n int
		fmt.Sscanf(c.ID, "acme/pay#%d", &n)
		if want := fmt.Sprintf("d%d", (n+1)/2); c.ShippedBy != want || c.Attribution != schema.ByAncestry {
			t.Errorf("%s: shipped by %q (%s), want %s by ancestry", c.ID, c.ShippedBy, c.Attribution, want)
		}
	}
	opts.AllPartitions = true // derive everything again: every answer is stored
	if _, err := refresh.Run(context.Background(), st, cfg, opts); err != nil || r.compared != 9 {
		t.Fatalf("a second refresh compared again: %d in all, err %v", r.compared, err)
	}
}

func TestACanceledRefreshKeepsEveryRangeItPaidFor(t *testing.T) {
	st, r, cfg := linearHistory(t)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.cancelWhen = cancel, 4
	opts := refresh.Options{Now: now, Resolvers: map[string]collectors.AncestryResolver{"gh": r}}
	if _, err := refresh.Run(ctx, st, cfg, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want canceled", err)
	}
	// The next refresh compares only the five ranges not compared before.
	r.cancel = nil
	if _, err := refresh.Run(context.Background(), st, cfg, opts); err != nil {
		t.Fatal(err)
	}
	if r.compared != 9 {
		t.Errorf("%d compares over both refreshes, want 9: each range once", r.compared)
	}
}

func TestFailingComparisonsAreReportedOnceAndLeftToWalks(t *testing.T) {
	st, r, cfg := linearHistory(t)
	r.fail = errors.New("502 Bad Gateway")
	var logs bytes.Buffer
	opts := refresh.Options{Now: now, Resolvers: map[string]collectors.AncestryResolver{"gh": r},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if _, err := refresh.Run(context.Background(), st, cfg, opts); err != nil {
		t.Fatal(err)
	}
	// Five failures in a row stop the comparisons; the walks decide every change.
	if r.compared != 5 {
		t.Errorf("%d compares, want 5 before giving up", r.compared)
	}
	for _, c := range storedFacts(t, st).Changes {
		if c.ID != "acme/pay#19" && c.Attribution != schema.ByAncestry {
			t.Errorf("%s: %s, want ancestry from its walk", c.ID, c.Attribution)
		}
	}
	if n := strings.Count(logs.String(), "could not be compared"); n != 1 {
		t.Errorf("%d warnings of failed comparisons, want 1 for the repository:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "failed=5") || !strings.Contains(logs.String(), "502 Bad Gateway") {
		t.Errorf("the warning lacks the count or the error:\n%s", logs.String())
	}
}

func TestRangesAWalkSettledAreNotCompared(t *testing.T) {
	// A store from before ranges: the walks answered whether each deployment went
	// back to the commit before it. Those ranges are settled, and not compared.
	st, r, cfg := linearHistory(t)
	var old []schema.Ancestry
	for i := 1; i < 10; i++ {
		base, head := fmt.Sprintf("m%02d", 2*i), fmt.Sprintf("m%02d", 2*i-2)
		old = append(old, schema.Ancestry{Source: "gh", ID: schema.AncestryID("acme/pay", base, head), Repo: "acme/pay",
			Base: base, Head: head, Contains: false, CheckedAt: now, UpdatedAt: now})
	}
	if err := st.Write(context.Background(), &schema.Batch{Ancestries: old}); err != nil {
		t.Fatal(err)
	}
	if _, err := refresh.Run(context.Background(), st, cfg, refresh.Options{Now: now, Resolvers: map[string]collectors.AncestryResolver{"gh": r}}); err != nil {
		t.Fatal(err)
	}
	if r.compared != 0 {
		t.Errorf("%d ranges compared, want none", r.compared)
	}
}
