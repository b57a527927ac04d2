package metrics

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/synthetic"
)

// BenchmarkDerive derives facts from synthetic organisations of about 10^4, 10^5
// and 10^6 pull requests, reporting the records in, the time and the peak heap. One
// organisation (33 teams, 99 repositories) is generated over 2, 18 and 182 days, so
// pull requests, deployments and incidents grow together, about 5 pull requests a
// deployment; incidents are copied (new ids, shifted times) up to one per 50 pull
// requests, as the generator makes fewer.
//
//	go test ./metrics -run '^$' -bench Derive -benchtime 1x
func BenchmarkDerive(b *testing.B) {
	for _, days := range []int{2, 18, 182} {
		b.Run(fmt.Sprintf("days%d", days), func(b *testing.B) {
			in, rules := syntheticInput(b, synthetic.Options{
				Seed: 1, Now: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), Days: days, Teams: 33,
				PullRequestsPerRepoPerWeek: 389,
			})
			incidents := in.Incidents
			for copyN := 1; len(in.Incidents) < len(in.PullRequests)/50 && len(incidents) > 0; copyN++ {
				for _, inc := range incidents {
					inc.ID = fmt.Sprintf("%s-copy%d", inc.ID, copyN)
					inc.OpenedAt = inc.OpenedAt.Add(time.Duration(copyN) * 97 * time.Minute)
					if !inc.ResolvedAt.IsZero() {
						inc.ResolvedAt = inc.ResolvedAt.Add(time.Duration(copyN) * 97 * time.Minute)
					}
					in.Incidents = append(in.Incidents, inc)
				}
			}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			var peak atomic.Uint64
			done := make(chan struct{})
			go func() { // sample the heap while deriving
				var m runtime.MemStats
				for {
					select {
					case <-done:
						return
					case <-time.After(5 * time.Millisecond):
						runtime.ReadMemStats(&m)
						if m.HeapAlloc > peak.Load() {
							peak.Store(m.HeapAlloc)
						}
					}
				}
			}()
			b.ResetTimer()
			var facts Facts
			for range b.N {
				facts = Derive(in, rules)
			}
			b.StopTimer()
			close(done)
			b.ReportMetric(float64(len(in.PullRequests)), "prs")
			b.ReportMetric(float64(len(in.Deployments)), "deployments")
			b.ReportMetric(float64(len(in.Incidents)), "incidents")
			b.ReportMetric(float64(len(facts.Changes)), "change-facts")
			b.ReportMetric(float64(peak.Load()-min(peak.Load(), before.HeapAlloc))/(1<<20), "extra-heap-MiB")
			b.ReportMetric(float64(before.HeapAlloc)/(1<<20), "input-heap-MiB")
		})
	}
}
