package github

import (
	"context"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// BenchmarkShipAttribution collects BenchmarkCollect's organisation (20 repositories
// × 500 pull requests) and refreshes its facts four times, each from its own store:
// by REST with each pull request's walk alone, as before ranges; by REST with a
// compare per deployment, with and without pull request sizes; and by GraphQL with
// a compare per deployment. It reports
// the compares and stored answers of each, and the whole backfill's cost per merged
// pull request: REST requests, GraphQL points and compares.
//
//	go test ./collectors/github -run '^$' -bench ShipAttribution -benchtime 1x
func BenchmarkShipAttribution(b *testing.B) {
	for range b.N {
		f := newFixture(b)
		f.srv.GenerateOrg(githubtest.OrgSpec{Repos: 20, PullRequests: 500, Start: now.Add(-150 * 24 * time.Hour), Every: 5 * time.Hour, Seed: 1})
		var merged int
		for _, mode := range []string{"walks", "ranges", "ranges-nosizes", "graphql"} {
			f.connect(b, nil)
			var resolver collectors.AncestryResolver = f.source
			switch mode {
			case "walks":
				resolver = pairsOnly{f.source}
			case "ranges-nosizes":
				f.connect(b, func(r *resolved) { r.noSizes = true })
				resolver = f.source
			case "graphql":
				f.connect(b, useGraphQL)
				resolver = f.source
			}
			facts, st, budget := derived(b, f, resolver)
			compares := f.srv.Count("compare")
			answers, _ := st.Count(context.Background(), schema.KindAncestry, store.Filter{})
			merged = 0
			for _, c := range facts.Changes {
				if !c.MergedAt.IsZero() {
					merged++
				}
			}
			b.ReportMetric(float64(compares), "compares-"+mode)
			b.ReportMetric(float64(answers), "answers-"+mode)
			b.ReportMetric(float64(budget+compares)/float64(merged), "cost/merged-pr-"+mode)
		}
		b.ReportMetric(float64(merged), "merged")
	}
}
