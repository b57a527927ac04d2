package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/synthetic"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
)

// BenchmarkDemoRefresh is the first refresh of the demo organisation (182 days,
// every fact derived and written) on one ClickHouse server and on the local
// cluster of 2 shards × 2 replicas, in the same run; collecting the records is not
// timed.
//
//	go test ./cmd/flowmeter -run '^$' -bench DemoRefresh -benchtime 1x -count 3 -timeout 30m
func BenchmarkDemoRefresh(b *testing.B) {
	cluster := clickhousetest.StartCluster(b)
	configPath := filepath.Join(b.TempDir(), demoConfigFile)
	if err := writeDemoConfig(configPath, synthetic.Settings{Seed: 1, End: "2026-06-30"}); err != nil {
		b.Fatal(err)
	}
	for _, target := range []string{"single", "cluster"} {
		b.Run(target, func(b *testing.B) {
			ctx := context.Background()
			cfg, sources, err := loadSources(configPath)
			if err != nil {
				b.Fatal(err)
			}
			log := slog.New(slog.DiscardHandler)
			for range b.N {
				b.StopTimer()
				o := clickhousetest.Open(b) // a fresh database each time
				if target == "cluster" {
					o.Addr, o.Addrs, o.Cluster = "", cluster.Addrs(), cluster.Name
				}
				s, err := clickhouse.Open(ctx, o)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Migrate(ctx); err != nil {
					b.Fatal(err)
				}
				for _, src := range sources {
					if err := src.Source.Collect(ctx, s, collectors.CollectOptions{Logger: log}); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				summary, err := deriveFacts(ctx, cfg, sources, s, false, log)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(summary.Written()), "facts")
				s.Close()
			}
		})
	}
}
