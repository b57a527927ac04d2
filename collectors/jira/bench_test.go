package jira

import (
	"context"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
)

// BenchmarkBackfill collects 1,000 issues with 10 status changes and 2 worklogs each
// from a fake Jira Cloud into SQLite, then again unchanged, and reports the requests
// per 100 issues of both and the backfill's throughput.
//
//	go test ./collectors/jira -run '^$' -bench Backfill -benchtime 1x
func BenchmarkBackfill(b *testing.B) {
	for range b.N {
		b.StopTimer()
		f := newFixture(b)
		generate(f.srv, "PAY", 1000, 10, 2, now.Add(-60*24*time.Hour))
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
		f.srv.ResetCounts()
		if err := f.collect(context.Background(), st); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(backfill)/10, "backfill-requests/100-issues")
		b.ReportMetric(float64(f.srv.Total()), "rerun-requests")
		b.ReportMetric(1000/took.Seconds(), "issues/s")
	}
}
