package clickhousetest

import (
	"context"
	"os/exec"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// TestCluster is the smoke test of the cluster the harness starts: DDL on the whole
// cluster, inserts through a Distributed table landing on both replicas of their
// shard, and a replica that was killed catching up after its restart.
func TestCluster(t *testing.T) {
	began := time.Now()
	c := StartCluster(t)
	t.Logf("up took %s; shards %v", time.Since(began).Round(time.Millisecond), c.Shards)
	first, sibling := c.Shards[0][0], c.Shards[0][1]

	c.Exec(t, first, "CREATE DATABASE smoke ON CLUSTER flowmeter")
	c.Exec(t, first, `CREATE TABLE smoke.t_local ON CLUSTER flowmeter (id UInt64, version UInt64, v String)
		ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/smoke/t', '{replica}', version) ORDER BY id`)
	c.Exec(t, first, `CREATE TABLE smoke.t ON CLUSTER flowmeter AS smoke.t_local
		ENGINE = Distributed(flowmeter, smoke, t_local, cityHash64(id))`)

	// Ids 0-99 at version 1, then 50-149 at version 2: FINAL keeps one row per id.
	insert(t, first, "SELECT number, 1, 'one' FROM system.numbers LIMIT 100")
	insert(t, c.Shards[1][1], "SELECT number + 50, 2, 'two' FROM system.numbers LIMIT 100")
	c.SyncReplicas(t, "smoke")
	for _, addr := range c.Addrs() {
		checkRows(t, addr, 150)
	}

	killed := time.Now()
	c.Kill(t, first)
	insert(t, sibling, "SELECT number + 150, 1, 'three' FROM system.numbers LIMIT 100")
	c.Restart(t, first)
	t.Logf("kill, insert and restart took %s", time.Since(killed).Round(time.Millisecond))
	c.SyncReplicas(t, "smoke")
	for _, addr := range c.Addrs() {
		checkRows(t, addr, 250)
	}
	if a, b := localRows(t, first), localRows(t, sibling); a != b || a == 0 {
		t.Errorf("after its restart %s has %d rows of shard 1, its sibling %d", first, a, b)
	}

	if out, err := exec.Command(c.script, "status", "--dir", c.Dir).CombinedOutput(); err != nil {
		t.Errorf("status: %v\n%s", err, out)
	} else {
		t.Logf("processes:\n%s", out)
	}
}

// insert inserts the rows of a SELECT through the Distributed table, waiting until
// every shard has them.
func insert(t *testing.T, addr, selectRows string) {
	t.Helper()
	conn, err := ch.Open(&ch.Options{
		Addr:        []string{addr},
		DialTimeout: 5 * time.Second,
		Settings:    ch.Settings{"insert_distributed_sync": 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "INSERT INTO smoke.t (id, version, v) "+selectRows); err != nil {
		t.Fatalf("insert through %s: %v", addr, err)
	}
}

// checkRows reads through the Distributed table on addr and wants ids 0 to want-1,
// each once, at its latest version.
func checkRows(t *testing.T, addr string, want uint64) {
	t.Helper()
	var rows, ids, maxID, stale uint64
	QueryRow(t, addr, `SELECT count(), uniqExact(id), max(id), countIf(id >= 50 AND id < 150 AND version != 2)
		FROM smoke.t FINAL`, &rows, &ids, &maxID, &stale)
	if rows != want || ids != want || maxID != want-1 || stale != 0 {
		t.Errorf("through %s: %d rows, %d ids up to %d, %d at an old version; want %d rows, once each",
			addr, rows, ids, maxID, stale, want)
	}
}

func localRows(t *testing.T, addr string) uint64 {
	t.Helper()
	var n uint64
	QueryRow(t, addr, "SELECT count() FROM smoke.t_local FINAL", &n)
	return n
}
