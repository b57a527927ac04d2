package github

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/shurcooL/githubv4"

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

// replayPage answers every request with one recorded GraphQL answer.
type replayPage struct{ body []byte }

func (p replayPage) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(p.body)), Request: req}, nil
}

// recordAnswers keeps the body of the last answer it passes on.
type recordAnswers struct{ last []byte }

func (r *recordAnswers) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	r.last, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(r.last))
	return resp, err
}

// BenchmarkGraphQLPageQuery runs the query of a page of 100 pull requests against a
// recorded answer, no network: what the client spends reading one page.
//
//	go test ./collectors/github -run '^$' -bench GraphQLPageQuery -benchmem
func BenchmarkGraphQLPageQuery(b *testing.B) {
	f := newFixture(b)
	f.srv.GenerateOrg(githubtest.OrgSpec{Repos: 1, PullRequests: 100, Start: now.Add(-30 * 24 * time.Hour), Seed: 1})
	rec := &recordAnswers{}
	src := f.connect(b, useGraphQL)
	src.gql = newGraphQLSource(f.srv.URL(), &authTransport{next: rec, tokens: staticToken("test-token")})
	r := &run{Source: src, log: slog.New(slog.DiscardHandler)}
	vars := map[string]any{"owner": githubv4.String("acme"), "name": githubv4.String("service-01"),
		"first": githubv4.Int(100), "after": (*githubv4.String)(nil)}
	var q pullsPageQuery
	if err := r.query(context.Background(), &q, &q.RateLimit, vars); err != nil || len(q.Repository.PullRequests.Nodes) != 100 {
		b.Fatalf("recording the page: %v, %d pull requests", err, len(q.Repository.PullRequests.Nodes))
	}
	src.gql = newGraphQLSource(f.srv.URL(), replayPage{body: rec.last})
	b.SetBytes(int64(len(rec.last)))
	b.ReportAllocs()
	for b.Loop() {
		q = pullsPageQuery{}
		if err := r.query(context.Background(), &q, &q.RateLimit, vars); err != nil {
			b.Fatal(err)
		}
	}
}
