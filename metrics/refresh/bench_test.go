package refresh_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/synthetic"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/refresh"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// BenchmarkRefresh loads a synthetic organisation's pull requests, deployments and
// incidents into a store, then measures a full refresh and three incremental ones,
// each after 1,000 new pull requests in 10 repositories: time (the incremental
// ones' median, least and most), peak heap (sampled) and peak RSS (VmHWM, reset
// before each). The organisation has 3 repositories a team
// and about 389 pull requests a repository a week over 182 days, so 33 teams give
// about a million pull requests and 333 teams about ten million; tickets are left
// out, so flow has nothing to derive.
//
//	FLOWMETER_BENCH_TEAMS=33 FLOWMETER_BENCH_STORES=sqlite,clickhouse \
//	  go test ./metrics/refresh -run '^$' -bench Refresh -benchtime 1x -timeout 2h
func BenchmarkRefresh(b *testing.B) {
	teams := envInt("FLOWMETER_BENCH_TEAMS", 33)
	budget := envInt("FLOWMETER_BENCH_BATCH", refresh.DefaultBatchRecords)
	names := strings.Split(cmpOr(os.Getenv("FLOWMETER_BENCH_STORES"), "sqlite,clickhouse"), ",")
	// settle waits, for a store that merges in the background, until it is at rest.
	settle := map[store.Store]func(){}
	open := map[string]func(b *testing.B) store.Store{
		"sqlite": func(b *testing.B) store.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "f.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"clickhouse": func(b *testing.B) store.Store {
			o := clickhousetest.Open(b)
			s, err := clickhouse.Open(context.Background(), o)
			if err != nil {
				b.Fatal(err)
			}
			settle[s] = func() { awaitMerges(b, o) }
			return s
		},
	}
	for _, name := range names {
		b.Run(fmt.Sprintf("%s/teams%d", name, teams), func(b *testing.B) {
			ctx := context.Background()
			st := open[name](b)
			defer st.Close()
			if err := st.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			o := synthetic.Options{Seed: 1, Now: now, Days: 182, Teams: teams, PullRequestsPerRepoPerWeek: 389, BatchSize: 20_000}
			started := time.Now()
			var prs, deps, incs int
			var sample []schema.PullRequest // one merged pull request of each of 10 repositories
			if _, err := synthetic.Generate(ctx, o, func(batch *schema.Batch) error {
				prs, deps, incs = prs+len(batch.PullRequests), deps+len(batch.Deployments), incs+len(batch.Incidents)
				for _, pr := range batch.PullRequests {
					if len(sample) < 10 && !pr.MergedAt.IsZero() && (len(sample) == 0 || sample[len(sample)-1].Repo != pr.Repo) {
						sample = append(sample, pr)
					}
				}
				return st.Write(ctx, &schema.Batch{PullRequests: batch.PullRequests, Deployments: batch.Deployments, Incidents: batch.Incidents})
			}); err != nil {
				b.Fatal(err)
			}
			loaded := time.Since(started)
			b.Logf("loaded %d pull requests, %d deployments, %d incidents in %s: %.0f records/s",
				prs, deps, incs, loaded.Round(time.Second), float64(prs+deps+incs)/loaded.Seconds())
			cfg := &config.Config{Teams: synthetic.NewOrg(o).ConfigTeams()}
			opts := refresh.Options{Now: now, BatchRecords: budget}
			if os.Getenv("FLOWMETER_BENCH_LOG") != "" {
				opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}

			b.ResetTimer()
			full, fullPeak := measure(b, func() refresh.Summary {
				sum, err := refresh.Run(ctx, st, cfg, opts)
				if err != nil {
					b.Fatal(err)
				}
				return sum
			})
			// Three rounds of 1,000 new pull requests, 100 in each of 10 repositories,
			// merged after everything else, each followed by a refresh: the figure is
			// the median, the spread beside it (a shared machine's runs vary).
			var incr refresh.Summary
			var incrPeak peak
			var took []float64
			for round := range incrementalRounds {
				later := now.Add(time.Duration(2*round+1) * time.Hour)
				var fresh []schema.PullRequest
				for i := range 1000 {
					pr := sample[i%len(sample)]
					pr.Number = 10_000_000 + int64(round*1000+i)
					pr.ID = pr.Repo + "#" + strconv.FormatInt(pr.Number, 10)
					pr.MergeCommitSHA = fmt.Sprintf("%040x", round*1000+i+1)
					pr.CreatedAt, pr.MergedAt, pr.UpdatedAt = later, later.Add(time.Minute), later.Add(time.Minute)
					fresh = append(fresh, pr)
				}
				// The refresh before wrote facts: a store merging its parts in the
				// background is let finish first, as it is between a daemon's refreshes.
				if wait := settle[st]; wait != nil {
					b.StopTimer()
					started := time.Now()
					wait()
					b.Logf("waited %s for the store's merges", time.Since(started).Round(time.Second))
					b.StartTimer()
				}
				if err := st.Write(ctx, &schema.Batch{PullRequests: fresh}); err != nil {
					b.Fatal(err)
				}
				opts.Now = later.Add(time.Hour)
				sum, p := measure(b, func() refresh.Summary {
					sum, err := refresh.Run(ctx, st, cfg, opts)
					if err != nil {
						b.Fatal(err)
					}
					return sum
				})
				b.Logf("incremental %d: %s", round+1, sum.Took.Round(time.Millisecond))
				incr, took = sum, append(took, sum.Took.Seconds())
				incrPeak.heap, incrPeak.rss = max(incrPeak.heap, p.heap), max(incrPeak.rss, p.rss)
			}
			slices.Sort(took)
			b.StopTimer()
			b.Logf("full: %+v", full)
			b.Logf("incremental: %+v", incr)
			b.ReportMetric(float64(prs), "prs")
			b.ReportMetric(float64(deps), "deployments")
			b.ReportMetric(float64(incs), "incidents")
			b.ReportMetric(float64(prs+deps+incs)/loaded.Seconds(), "load-records/s")
			b.ReportMetric(float64(full.Partitions), "partitions")
			b.ReportMetric(float64(full.Batches), "full-batches")
			b.ReportMetric(full.Took.Seconds(), "full-s")
			b.ReportMetric(fullPeak.heap, "full-peak-heap-MiB")
			b.ReportMetric(fullPeak.rss, "full-peak-rss-MiB")
			b.ReportMetric(float64(incr.Derived), "incremental-partitions")
			b.ReportMetric(took[len(took)/2], "incremental-s")
			b.ReportMetric(took[0], "incremental-min-s")
			b.ReportMetric(took[len(took)-1], "incremental-max-s")
			b.ReportMetric(incrPeak.heap, "incremental-peak-heap-MiB")
			b.ReportMetric(incrPeak.rss, "incremental-peak-rss-MiB")
		})
	}
}

// incrementalRounds is how many refreshes after 1,000 new pull requests are timed.
const incrementalRounds = 3

// awaitMerges waits until ClickHouse runs no merge on the database, for up to 30
// minutes.
func awaitMerges(b *testing.B, o clickhouse.Options) {
	for deadline := time.Now().Add(30 * time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Second) {
		var running uint64
		clickhousetest.QueryRow(b, o.Addr, "SELECT count() FROM system.merges WHERE database = '"+o.Database+"'", &running)
		if running == 0 {
			return
		}
	}
	b.Log("ClickHouse still merging after 30 minutes")
}

type peak struct{ heap, rss float64 }

// measure runs f with the heap sampled every 2 ms (runtime/metrics, which does not
// stop the world) and the process's peak RSS reset before, and gives their peaks in
// MiB.
func measure(b *testing.B, f func() refresh.Summary) (refresh.Summary, peak) {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("peak RSS not reset: %v", err)
	}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var top atomic.Uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > top.Load() {
				top.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	sum := f()
	close(done)
	<-stopped
	return sum, peak{heap: float64(top.Load()) / (1 << 20), rss: vmHWM(b)}
}

// vmHWM is the process's peak RSS in MiB, from /proc/self/status.
func vmHWM(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Logf("no peak RSS: %v", err)
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
