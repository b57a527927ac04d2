package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
)

// The cluster ingest benchmark writes the same synthetic pull requests as
// BenchmarkIngest through the store to a single server and to the local cluster of
// 2 shards × 2 replicas (Distributed tables, synchronous inserts with a quorum of
// both replicas), in the same run, and reports both rates and their ratio:
//
//	go test ./store/clickhouse -run '^$' -bench ClusterIngest -benchtime 1x -timeout 30m
//
// FLOWMETER_BENCH_INGEST_ROWS (default 100000,300000) and
// FLOWMETER_BENCH_INGEST_BATCH (default 50,000) pick the sizes. Every server of
// the cluster runs on this machine, so the ratio says what the cluster's extra
// work costs, not what more machines would gain.
func BenchmarkClusterIngest(b *testing.B) {
	hc := clickhousetest.StartCluster(b)
	c := testCluster{name: hc.Name, shards: hc.Shards, clusterOps: hc}
	sizes := envInts(b, "FLOWMETER_BENCH_INGEST_ROWS", []int{100_000, 300_000})
	batch := envInts(b, "FLOWMETER_BENCH_INGEST_BATCH", []int{50_000})[0]
	for _, n := range sizes {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			var single, cluster ingestResult
			for range b.N {
				single = ingestStore(b, n, batch)
				cluster = ingestCluster(b, c, n, batch)
			}
			if single.checksum != cluster.checksum {
				b.Errorf("the cluster stored %s, the single server %s", cluster.checksum, single.checksum)
			}
			b.ReportMetric(0, "ns/op") // the rates below say it per row
			b.ReportMetric(single.rate(), "single_rows/s")
			b.ReportMetric(cluster.rate(), "cluster_rows/s")
			b.ReportMetric(cluster.rate()/single.rate(), "cluster/single")
		})
	}
}

// ingestCluster writes n generated pull requests through the store on the cluster,
// connected to every server, and checks what a server reads back through the
// Distributed table.
func ingestCluster(tb testing.TB, c testCluster, n, batch int) ingestResult {
	tb.Helper()
	ctx := context.Background()
	o := c.options(tb)
	s := open(tb, o)
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	prs := make([]schema.PullRequest, 0, batch)
	start := time.Now()
	for i := 0; i < n; i += batch {
		prs = generatePRs(prs[:0], i, min(batch, n-i))
		if err := s.Write(ctx, &schema.Batch{PullRequests: prs}); err != nil {
			tb.Fatal(err)
		}
	}
	r := ingestResult{rows: n, elapsed: time.Since(start)}
	r.checksum = checksum(tb, clickhouse.Options{Addr: c.shards[1][1], Database: o.Database}, n)
	return r
}
