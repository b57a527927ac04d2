package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/synthetic"
	"github.com/flowmeter/flowmeter/reports/build"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
)

// TestDemoOnCluster collects and derives the demo organisation on a ClickHouse
// cluster and on a single server, and wants the same DORA report, byte for byte:
// sharding, replication and the Distributed tables must change nothing a report
// reads.
func TestDemoOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("collects the demo organisation twice")
	}
	cluster := clickhousetest.StartCluster(t)
	single := clickhousetest.Open(t)
	onCluster := clickhousetest.Open(t) // a fresh database name, used on the throwaway cluster
	onCluster.Addr, onCluster.Addrs, onCluster.Cluster = "", cluster.Addrs(), cluster.Name

	// Four weeks of a small organisation keep both runs to seconds.
	configPath := filepath.Join(t.TempDir(), demoConfigFile)
	if err := writeDemoConfig(configPath, synthetic.Settings{Seed: 7, End: "2026-06-30", Days: 28}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	want := demoReport(t, configPath, single, now, nil)
	got := demoReport(t, configPath, onCluster, now, nil)
	if !bytes.Equal(got, want) {
		t.Errorf("DORA report on the cluster differs from one server's:\ncluster:\n%s\none server:\n%s", got, want)
	}
	if len(want) < 1000 {
		t.Errorf("the report is suspiciously short:\n%s", want)
	}

	// Again, with the replica the store first connects to killed (kill -9) in the
	// middle of the collection: the collection goes on through the other servers of
	// addrs, the restarted replica catches up, and the report is the same.
	again := clickhousetest.Open(t)
	again.Addr, again.Addrs, again.Cluster = "", cluster.Addrs(), cluster.Name
	victim := cluster.Addrs()[0]
	var killedAt int
	got = demoReport(t, configPath, again, now, func(s store.Store) store.Store {
		return &killingStore{Store: s, at: 3, kill: func(n int) { killedAt = n; cluster.Kill(t, victim) }}
	})
	if killedAt == 0 {
		t.Fatal("the collection wrote fewer than 3 batches: no replica was killed during it")
	}
	cluster.Restart(t, victim)
	cluster.SyncReplicas(t, again.Database)
	if !bytes.Equal(got, want) {
		t.Errorf("DORA report on the cluster, a replica killed during the collection, differs from one server's:\ncluster:\n%s\none server:\n%s", got, want)
	}
	// The restarted replica holds what its sibling holds.
	sibling := cluster.Shards[0][1]
	for _, table := range []string{"pull_requests", "deployments", "change_facts", "deployment_facts"} {
		q := "SELECT count() FROM `" + again.Database + "`.`" + table + "_local` FINAL"
		var a, b uint64
		clickhousetest.QueryRow(t, victim, q, &a)
		clickhousetest.QueryRow(t, sibling, q, &b)
		if a != b || a == 0 {
			t.Errorf("%s: the restarted replica holds %d rows, its sibling %d", table, a, b)
		}
	}
}

// killingStore calls kill just before the at-th batch is written, once.
type killingStore struct {
	store.Store
	at, writes int
	kill       func(n int)
}

func (k *killingStore) Write(ctx context.Context, b *schema.Batch) error {
	k.writes++
	if k.writes == k.at {
		k.kill(k.writes)
	}
	return k.Store.Write(ctx, b)
}

// demoReport collects and derives the demo config's sources into the store o names,
// as 'flowmeter collect' and 'flowmeter derive' do, and returns 'flowmeter report dora
// --format json' for the last 28 days.
// wrap, when set, stands between the commands and the store.
func demoReport(t *testing.T, configPath string, o clickhouse.Options, now time.Time, wrap func(store.Store) store.Store) []byte {
	t.Helper()
	ctx := context.Background()
	cfg, sources, err := loadSources(configPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := clickhouse.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var st store.Store = s
	if wrap != nil {
		st = wrap(s)
	}
	log := slog.New(slog.DiscardHandler)
	for _, src := range sources {
		if err := src.Source.Collect(ctx, st, collectors.CollectOptions{Logger: log}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := deriveFacts(ctx, cfg, sources, st, false, log); err != nil {
		t.Fatal(err)
	}
	req, err := build.Parse(build.DORA, build.Params{From: "2026-06-03", To: "2026-07-01", Format: "json"}, now)
	if err != nil {
		t.Fatal(err)
	}
	b := &build.Builder{Config: cfg, Now: now, Store: s}
	var buf bytes.Buffer
	if err := b.Write(ctx, &buf, req); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestClusterThroughTheConfig: a config naming the cluster and its servers reaches
// the store: `config check` accepts it, `migrate` says every server, and a node of
// the other shard holds each table as a replicated local table behind a
// Distributed one.
func TestClusterThroughTheConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster")
	}
	cluster := clickhousetest.StartCluster(t)
	database := clickhousetest.Open(t).Database // a fresh name, on the throwaway cluster
	dir := t.TempDir()
	addrs := cluster.Addrs()
	writeFile(t, dir, "flowmeter.yaml", "store:\n  clickhouse:\n    addrs: ["+strings.Join(addrs, ", ")+"]\n"+
		"    cluster: "+cluster.Name+"\n    database: "+database+"\n")
	configPath := filepath.Join(dir, "flowmeter.yaml")
	if out, err := runInProcess(t, "config", "check", "--config", configPath); err != nil || out != "" {
		t.Fatalf("config check: %q, %v", out, err)
	}
	out, err := runInProcess(t, "migrate", "--config", configPath)
	if err != nil || !strings.Contains(out, strings.Join(addrs, ",")) {
		t.Fatalf("migrate: %q, %v; want it to name %v", out, err, addrs)
	}
	for table, want := range map[string]string{"pull_requests": "Distributed", "pull_requests_local": "ReplicatedReplacingMergeTree"} {
		var engine string
		clickhousetest.QueryRow(t, cluster.Shards[1][1], "SELECT engine FROM system.tables WHERE database = '"+database+"' AND name = '"+table+"'", &engine)
		if engine != want {
			t.Errorf("%s.%s on %s: engine %q, want %s", database, table, cluster.Shards[1][1], engine, want)
		}
	}
}
