package github

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// BenchmarkCollect collects a fake organisation of 20 repositories × 500 pull
// requests into SQLite, then collects it again unchanged, and reports requests per
// merged pull request for both and the backfill's throughput.
//
//	go test ./collectors/github -run '^$' -bench Collect -benchtime 1x
func BenchmarkCollect(b *testing.B) {
	for range b.N {
		b.StopTimer()
		f := newFixture(b)
		f.srv.GenerateOrg(githubtest.OrgSpec{Repos: 20, PullRequests: 500, Start: now.Add(-150 * 24 * time.Hour), Every: 5 * time.Hour, Seed: 1})
		f.connect(b, nil)
		st := collectortest.SQLite(b)
		b.StartTimer()
		started := time.Now()
		if err := f.collect(context.Background(), st); err != nil {
			b.Fatal(err)
		}
		took := time.Since(started)
		b.StopTimer()
		backfill := f.srv.Total()
		var prs, merged int
		for pr, err := range st.PullRequests(context.Background(), store.Filter{}) {
			if err != nil {
				b.Fatal(err)
			}
			prs++
			if !pr.MergedAt.IsZero() {
				merged++
			}
		}
		deployments, _ := st.Count(context.Background(), schema.KindDeployment, store.Filter{})
		f.srv.ResetCounts()
		if err := f.collect(context.Background(), st); err != nil {
			b.Fatal(err)
		}
		rerun := f.srv.Total()
		b.ReportMetric(float64(prs), "prs")
		b.ReportMetric(float64(merged), "merged")
		b.ReportMetric(float64(deployments), "deployments")
		b.ReportMetric(float64(backfill), "backfill-requests")
		b.ReportMetric(float64(backfill)/float64(merged), "backfill-requests/merged-pr")
		b.ReportMetric(float64(rerun), "rerun-requests")
		b.ReportMetric(float64(rerun)/float64(merged), "rerun-requests/merged-pr")
		b.ReportMetric(float64(prs)/took.Seconds(), "prs/s")
	}
}

// BenchmarkCollectGraphQL collects the same organisation with pull requests by
// GraphQL, then again unchanged, and reports the points spent per pull request, the
// points a 100,000-pull-request organisation needs at that rate (and the hours of a
// 5,000-point budget), and the REST requests left (deployments and listings). The
// 200-repository run measures 100,000 pull requests outright (about a minute).
//
//	go test ./collectors/github -run '^$' -bench CollectGraphQL -benchtime 1x
func BenchmarkCollectGraphQL(b *testing.B) {
	for _, repos := range []int{20, 200} {
		b.Run(fmt.Sprintf("%dx500", repos), func(b *testing.B) { benchmarkCollectGraphQL(b, repos) })
	}
}

func benchmarkCollectGraphQL(b *testing.B, repos int) {
	for range b.N {
		b.StopTimer()
		f := newFixture(b)
		f.srv.GenerateOrg(githubtest.OrgSpec{Repos: repos, PullRequests: 500, Start: now.Add(-150 * 24 * time.Hour), Every: 5 * time.Hour, Seed: 1})
		f.connect(b, useGraphQL)
		st := collectortest.SQLite(b)
		b.StartTimer()
		started := time.Now()
		if err := f.collect(context.Background(), st); err != nil {
			b.Fatal(err)
		}
		took := time.Since(started)
		b.StopTimer()
		points, queries, rest := f.srv.GraphQLPoints(), f.srv.Count("graphql"), f.srv.Total()-f.srv.Count("graphql")
		prs, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{})
		f.srv.ResetCounts()
		if err := f.collect(context.Background(), st); err != nil {
			b.Fatal(err)
		}
		perPR := float64(points) / float64(prs)
		b.ReportMetric(float64(prs), "prs")
		b.ReportMetric(float64(points), "backfill-points")
		b.ReportMetric(float64(queries), "backfill-queries")
		b.ReportMetric(perPR, "points/pr")
		b.ReportMetric(perPR*100_000, "points/100k-prs")
		b.ReportMetric(perPR*100_000/5000, "budget-hours/100k-prs")
		b.ReportMetric(float64(rest), "backfill-rest-requests")
		b.ReportMetric(float64(f.srv.GraphQLPoints()), "rerun-points")
		b.ReportMetric(float64(prs)/took.Seconds(), "prs/s")
	}
}
