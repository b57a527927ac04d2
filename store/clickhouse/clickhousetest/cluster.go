package clickhousetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EnvRequireCluster makes a missing ZooKeeper or ClickHouse a failure of the tests
// that need a cluster rather than a skip, as in CI.
const EnvRequireCluster = "FLOWMETER_TEST_REQUIRE_CLICKHOUSE_CLUSTER"

// zookeeperJar is where Debian's zookeeper package puts the server, which
// scripts/clickhouse-cluster runs with java.
const zookeeperJar = "/usr/share/java/zookeeper.jar"

// Cluster is a local ClickHouse cluster of 2 shards × 2 replicas started for a test,
// by scripts/clickhouse-cluster, so tests and people run the same cluster.
type Cluster struct {
	Name   string     // the remote_servers cluster: "flowmeter"
	Shards [][]string // native host:port of each shard's replicas
	Dir    string     // configs, data, logs and PID files of every process

	script string
}

// StartCluster starts a cluster in a temporary directory on free loopback ports and
// stops it when t ends. It skips t in -short mode, and when ZooKeeper, java or
// ClickHouse is missing, unless FLOWMETER_TEST_REQUIRE_CLICKHOUSE_CLUSTER=1, where
// the missing piece fails t.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("clickhousetest: a ClickHouse cluster takes seconds to start; skipped in -short mode")
	}
	for _, bin := range []string{"clickhouse-server", "clickhouse-client", "java", "setsid"} {
		if _, err := exec.LookPath(bin); err != nil {
			skipCluster(t, bin+" is not on PATH")
		}
	}
	if _, err := os.Stat(zookeeperJar); err != nil {
		skipCluster(t, zookeeperJar+" is missing")
	}
	script, err := clusterScript()
	if err != nil {
		t.Fatalf("clickhousetest: %v", err)
	}
	// One cluster at a time on this machine: go test runs packages in parallel, and
	// two clusters (ten processes) on two cores let ZooKeeper sessions expire and
	// ON CLUSTER statements time out. Unlocked after the cluster is down (clean-ups
	// run last first).
	t.Cleanup(lockClusters(t))
	c := &Cluster{Name: "flowmeter", Dir: t.TempDir(), script: script}
	var out []byte
	// A port found free can be taken before the servers bind it; another base then.
	for attempt := 0; ; attempt++ {
		base, err := freeBasePort()
		if err != nil {
			t.Fatalf("clickhousetest: %v", err)
		}
		out, err = c.run("up", "--base-port", fmt.Sprint(base), "--owner", fmt.Sprint(os.Getpid()))
		if err == nil {
			break
		}
		if attempt < 2 && bytes.Contains(out, []byte("already in use")) {
			continue
		}
		t.Fatalf("clickhousetest: starting the cluster: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.logServerErrors(t)
		}
		if out, err := c.run("down"); err != nil {
			t.Errorf("clickhousetest: stopping the cluster: %v\n%s", err, out)
		}
	})
	c.Shards = parseShards(out)
	if len(c.Shards) != 2 {
		t.Fatalf("clickhousetest: the cluster script printed no shards:\n%s", out)
	}
	return c
}

// StoppedDDLWorkers lists the servers whose distributed-DDL worker has stopped since
// they last started. ClickHouse 18.16's stops for good when the replicas of a shard
// race over an ALTER ... ON CLUSTER (docs/clickhouse.md), and every later ON CLUSTER
// statement then waits for that server in vain; restarting it is the remedy.
func (c *Cluster) StoppedDDLWorkers() []string {
	var stopped []string
	for i, addr := range c.Addrs() {
		// The script moves a node's error log aside when it starts the node again.
		log, err := os.ReadFile(filepath.Join(c.Dir, fmt.Sprintf("node%d", i+1), "server.err.log"))
		if err == nil && bytes.Contains(log, []byte("DDLWorker: Unexpected")) {
			stopped = append(stopped, addr)
		}
	}
	return stopped
}

// RestartStoppedDDLWorkers restarts the servers StoppedDDLWorkers lists, as
// docs/clickhouse.md tells users to, saying so in the test's log, and reports
// whether there were any.
func (c *Cluster) RestartStoppedDDLWorkers(t testing.TB) bool {
	t.Helper()
	stopped := c.StoppedDDLWorkers()
	for _, addr := range stopped {
		t.Logf("clickhousetest: ClickHouse's distributed-DDL worker on %s stopped (an 18.16 race over ALTER ... ON CLUSTER); restarting the server", addr)
		c.Kill(t, addr)
		c.Restart(t, addr)
	}
	return len(stopped) > 0
}

// logServerErrors logs the end of each node's error log, and of ZooKeeper's log, so
// that a failure seen only in CI (a node that stopped applying ON CLUSTER statements,
// a session that expired) says what the servers saw: the directory goes with the test.
func (c *Cluster) logServerErrors(t testing.TB) {
	const lines = 40
	logs, _ := filepath.Glob(filepath.Join(c.Dir, "node*", "server.err.log*"))
	logs = append(logs, filepath.Join(c.Dir, "zookeeper", "zookeeper.log"))
	for _, name := range logs {
		body, err := os.ReadFile(name)
		if err != nil || len(body) == 0 {
			continue
		}
		all := strings.Split(strings.TrimRight(string(body), "\n"), "\n")
		if len(all) > lines {
			all = all[len(all)-lines:]
		}
		rel, _ := filepath.Rel(c.Dir, name)
		t.Logf("clickhousetest: the last %d lines of %s:\n%s", len(all), rel, strings.Join(all, "\n"))
	}
}

func skipCluster(t testing.TB, why string) {
	t.Helper()
	msg := "no ClickHouse cluster for this test: " + why +
		" (apt-get install zookeeper clickhouse-server clickhouse-client)"
	if os.Getenv(EnvRequireCluster) == "1" {
		t.Fatalf("clickhousetest: %s; %s=1 makes this a failure", msg, EnvRequireCluster)
	}
	t.Skip("clickhousetest: " + msg)
}

// clusterScript finds scripts/clickhouse-cluster in the module root above the working
// directory, which go test sets to the package's directory.
func clusterScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.HasPrefix(mod, []byte("module github.com/flowmeter/flowmeter\n")) {
			return filepath.Join(dir, "scripts", "clickhouse-cluster"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no flowmeter module root above the working directory, so no scripts/clickhouse-cluster")
		}
		dir = parent
	}
}

// freeBasePort finds a base port whose ZooKeeper and server ports (base to base+42,
// see the script) are all free, below the ephemeral range so that a restarted node
// finds its ports still free.
func freeBasePort() (int, error) {
	for range 50 {
		base, err := stablePort()
		if err != nil {
			return 0, err
		}
		if low := ephemeralLow(); base+42 > 65535 || base < low && base+42 >= low || !portsFree(base) {
			continue
		}
		return base, nil
	}
	return 0, errors.New("no free range of ports for a cluster")
}

// ephemeralLow is the start of the kernel's range of ephemeral ports.
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &low)
	}
	return low
}

func portsFree(base int) bool {
	ports := []int{base}
	for node := 1; node <= 4; node++ {
		ports = append(ports, base+10*node, base+10*node+1, base+10*node+2)
	}
	for _, p := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// parseShards reads the "shard NN: addr addr" lines up prints.
func parseShards(out []byte) [][]string {
	var shards [][]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "shard ")
		if !ok {
			continue
		}
		if _, addrs, ok := strings.Cut(rest, ":"); ok {
			shards = append(shards, strings.Fields(addrs))
		}
	}
	return shards
}

func (c *Cluster) run(args ...string) ([]byte, error) {
	cmd := exec.Command(c.script, append(args, "--dir", c.Dir)...)
	// Only the script's output: the servers it starts write to files in Dir.
	return cmd.CombinedOutput()
}

// Addrs returns every node's native address, shard by shard.
func (c *Cluster) Addrs() []string {
	var all []string
	for _, s := range c.Shards {
		all = append(all, s...)
	}
	return all
}

// Kill kills the server at addr with SIGKILL, as a crash would, and returns once it
// has exited.
func (c *Cluster) Kill(t testing.TB, addr string) {
	t.Helper()
	if out, err := c.run("kill", addr); err != nil {
		t.Fatalf("clickhousetest: killing %s: %v\n%s", addr, err, out)
	}
}

// Restart starts the server at addr again on its data and returns once it answers,
// has its ZooKeeper session back and none of its replicated tables is read-only.
func (c *Cluster) Restart(t testing.TB, addr string) {
	t.Helper()
	if out, err := c.run("start", addr); err != nil {
		t.Fatalf("clickhousetest: restarting %s: %v\n%s", addr, err, out)
	}
}

// Exec runs one statement on the node at addr and fails t when it fails.
func (c *Cluster) Exec(t testing.TB, addr, query string) {
	t.Helper()
	if err := Exec(addr, query); err != nil {
		t.Fatalf("clickhousetest: on %s: %s: %v", addr, query, err)
	}
}

// SyncReplicas waits, on every node, until each Replicated* table of database has
// fetched what its sibling replica has, so a read after a write sees the same rows
// whichever replica answers it.
func (c *Cluster) SyncReplicas(t testing.TB, database string) {
	t.Helper()
	for _, addr := range c.Addrs() {
		if err := syncReplicas(addr, database); err != nil {
			t.Fatalf("clickhousetest: syncing the replicas of %s on %s: %v", database, addr, err)
		}
	}
}

func syncReplicas(addr, database string) error {
	conn, err := dial(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ? AND engine LIKE 'Replicated%'", database)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, table := range tables {
		if err := conn.Exec(ctx, fmt.Sprintf("SYSTEM SYNC REPLICA `%s`.`%s`", database, table)); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	return nil
}
