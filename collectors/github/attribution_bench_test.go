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
// × 500 pull requests) and refreshes its facts twice, each from its own store: with
// each pull request's walk alone, as before ranges, then with a compare per
// deployment. It reports the compares and the stored answers of each, and the whole
// backfill's requests per merged pull request.
//
//	go test ./collectors/github -run '^$' -bench ShipAttribution -benchtime 1x
func BenchmarkShipAttribution(b *testing.B) {
	for range b.N {
		f := newFixture(b)
		f.srv.GenerateOrg(githubtest.OrgSpec{Repos: 20, PullRequests: 500, Start: now.Add(-150 * 24 * time.Hour), Every: 5 * time.Hour, Seed: 1})
		f.connect(b, nil)
		compares := map[string]int{}
		var collect, merged int
		for _, mode := range []string{"walks", "ranges"} {
			var resolver collectors.AncestryResolver = f.source
			if mode == "walks" {
				resolver = pairsOnly{f.source}
			}
			sum, st, requests := derived(b, f, resolver)
			collect = requests
			compares[mode] = f.srv.Count("compare")
			answers, _ := st.Count(context.Background(), schema.KindAncestry, store.Filter{})
			b.ReportMetric(float64(answers), "answers-"+mode)
			if mode == "ranges" {
				merged = 0
				for _, c := range sum.Facts.Changes {
					if !c.MergedAt.IsZero() {
						merged++
					}
				}
				n, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{})
				b.ReportMetric(float64(n), "prs")
			}
		}
		b.ReportMetric(float64(merged), "merged")
		b.ReportMetric(float64(compares["walks"]), "compares-walks")
		b.ReportMetric(float64(compares["ranges"]), "compares-ranges")
		b.ReportMetric(float64(collect+compares["walks"])/float64(merged), "requests/merged-pr-walks")
		b.ReportMetric(float64(collect+compares["ranges"])/float64(merged), "requests/merged-pr-ranges")
	}
}
