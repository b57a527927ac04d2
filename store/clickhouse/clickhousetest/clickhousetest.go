// Package clickhousetest gives tests a real ClickHouse server and a fresh database on
// it for each test, so every package's integration tests run the same way locally
// and in CI.
//
// Where the server comes from:
//   - FLOWMETER_TEST_CLICKHOUSE_ADDR (host:port, native protocol, user "default"
//     without a password): that server is used as it is;
//   - otherwise, when clickhouse-server is on PATH, one throwaway server per test
//     binary, started on first use on a free port in a temporary directory with a
//     config file of this package's own, and stopped by Main;
//   - otherwise tests that need ClickHouse are skipped, unless
//     FLOWMETER_TEST_REQUIRE_CLICKHOUSE=1 (as in CI), where they fail.
//
// A test that stops and starts the server, to see what flowmeter does while its
// store is away, gets a server of its own from NewServer instead.
//
// A package using it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { clickhousetest.Main(m) }
package clickhousetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/flowmeter/flowmeter/store/clickhouse"
)

// Environment variables that choose the server and whether its absence is a failure.
const (
	EnvAddr    = "FLOWMETER_TEST_CLICKHOUSE_ADDR"
	EnvRequire = "FLOWMETER_TEST_REQUIRE_CLICKHOUSE"
)

// harness is the one server a test binary shares. It is package state because
// TestMain and the tests have no other place in common; mu guards it.
var harness struct {
	mu      sync.Mutex
	inMain  bool
	started bool
	srv     *server
	err     error
	seq     int
}

// Main runs the package's tests, stops the server they started, if any, and exits
// with the tests' status, so no server outlives its test binary.
func Main(m *testing.M) {
	harness.mu.Lock()
	harness.inMain = true
	harness.mu.Unlock()
	code := m.Run()
	harness.mu.Lock()
	if harness.srv != nil {
		harness.srv.stop()
	}
	harness.mu.Unlock()
	os.Exit(code)
}

// Addr returns the native-protocol address of the server tests use, starting the
// throwaway server on first use; with no server to be had it skips the test, or
// fails it when FLOWMETER_TEST_REQUIRE_CLICKHOUSE=1.
func Addr(t testing.TB) string {
	t.Helper()
	if addr := os.Getenv(EnvAddr); addr != "" {
		return addr
	}
	bin := binary(t, "set "+EnvAddr+"=host:port or put clickhouse-server on PATH")
	harness.mu.Lock()
	defer harness.mu.Unlock()
	if !harness.inMain {
		t.Fatal("clickhousetest: call clickhousetest.Main(m) from TestMain, so the server it starts is stopped")
	}
	if !harness.started {
		harness.started = true
		harness.srv, harness.err = startServer(bin, freePort)
	}
	if harness.err != nil {
		t.Fatalf("clickhousetest: %v", harness.err)
	}
	return harness.srv.addr
}

// binary finds clickhouse-server on PATH; without it, it skips t, or fails it when
// FLOWMETER_TEST_REQUIRE_CLICKHOUSE=1, saying how to get a server (hint).
func binary(t testing.TB, hint string) string {
	t.Helper()
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		msg := "no ClickHouse for this test: " + hint
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("clickhousetest: %s (%s=1 makes this a failure)", msg, EnvRequire)
		}
		t.Skip("clickhousetest: " + msg)
	}
	return bin
}

// Open returns options for a database that does not exist yet and whose name no
// other test uses, on the server Addr gives; the database is dropped when the test
// ends. Migrate creates it.
func Open(t testing.TB) clickhouse.Options {
	t.Helper()
	addr := Addr(t)
	harness.mu.Lock()
	harness.seq++
	seq := harness.seq
	harness.mu.Unlock()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := fmt.Sprintf("flowmeter_test_%d_%d_%s", os.Getpid(), seq, hex.EncodeToString(suffix))
	t.Cleanup(func() {
		if err := Exec(addr, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("clickhousetest: dropping database %s: %v", name, err)
		}
	})
	return clickhouse.Options{Addr: addr, Database: name}
}

// Exec runs one statement on the server at addr as user "default", for the set-up
// and clean-up a test does outside the store.
func Exec(addr, query string) error {
	conn, err := dial(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Long enough to drop a benchmark's database of millions of rows, which waits
	// for the merges running on it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	return conn.Exec(ctx, query)
}

// QueryRow runs a query of one row on the server at addr alone (not through the
// store), scanning it into dest, for a test that looks at one server's tables.
func QueryRow(t testing.TB, addr, query string, dest ...any) {
	t.Helper()
	conn, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.QueryRow(ctx, query).Scan(dest...); err != nil {
		t.Fatalf("on %s: %s: %v", addr, query, err)
	}
}

// dial connects to the server at addr as user "default".
func dial(addr string) (ch.Conn, error) {
	return ch.Open(&ch.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
}

// server is a clickhouse-server process this package started, with its config and
// data in dir.
type server struct {
	bin    string
	addr   string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startServer starts clickhouse-server on a port that port chooses, retrying with
// another in the rare case that one was taken between choosing it and the server
// binding it.
func startServer(bin string, port func() (int, error)) (*server, error) {
	var err error
	for range 3 {
		var s *server
		if s, err = tryStart(bin, port); err == nil {
			return s, nil
		}
	}
	return nil, err
}

func tryStart(bin string, port func() (int, error)) (*server, error) {
	dir, err := os.MkdirTemp("", "flowmeter-clickhouse-")
	if err != nil {
		return nil, err
	}
	p, err := port()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := writeConfig(dir, p); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &server{bin: bin, addr: fmt.Sprintf("127.0.0.1:%d", p), dir: dir}
	if err := s.launch(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// launch starts the process on the server's config and waits until it answers.
func (s *server) launch() error {
	out, err := os.OpenFile(filepath.Join(s.dir, "stdout"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(s.bin, "--config-file="+filepath.Join(s.dir, "config.xml"))
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.dir, out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	go func() {
		cmd.Wait()
		close(exited)
	}()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.halt()
		return err
	}
	return nil
}

// waitReady pings the server until it answers, giving up early when it exits.
func (s *server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var err error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("clickhouse-server exited during start-up: %s", s.logTail())
		default:
		}
		if err = ping(s.addr); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("clickhouse-server on %s did not answer within %s: %v; %s", s.addr, limit, err, s.logTail())
}

func ping(addr string) error {
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}, DialTimeout: 500 * time.Millisecond})
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return conn.Ping(ctx)
}

// logTail is the end of the server's error log, which says why it would not start.
func (s *server) logTail() string {
	var b []byte
	for _, name := range []string{"server.err.log", "stdout"} {
		if data, err := os.ReadFile(filepath.Join(s.dir, name)); err == nil && len(data) > 0 {
			b = data
			break
		}
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	if len(b) == 0 {
		return "no log output"
	}
	return "log: " + strings.TrimSpace(string(b))
}

// stop stops the server and removes its directory.
func (s *server) stop() {
	s.halt()
	os.RemoveAll(s.dir)
}

// halt asks the server to shut down and kills it if it takes too long; its
// directory stays, for launch to start it again on the same data.
func (s *server) halt() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// timezone sets the server's zone to one far from UTC when the machine has the zone
// data, so tests catch code that depends on the server's zone.
func timezone() string {
	if _, err := os.Stat("/usr/share/zoneinfo/Asia/Kolkata"); err != nil {
		return ""
	}
	return "    <timezone>Asia/Kolkata</timezone>"
}

// writeConfig writes the smallest config clickhouse-server 18.16 and current releases
// both start with: a native port on loopback only (no HTTP or interserver ports),
// everything under dir, and a password-less "default" user.
func writeConfig(dir string, port int) error {
	config := fmt.Sprintf(`<yandex>
    <logger>
        <level>warning</level>
        <log>%[1]s/server.log</log>
        <errorlog>%[1]s/server.err.log</errorlog>
        <console>0</console>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%[2]d</tcp_port>
    <path>%[1]s/data/</path>
    <tmp_path>%[1]s/tmp/</tmp_path>
    <user_files_path>%[1]s/user_files/</user_files_path>
    <format_schema_path>%[1]s/format_schemas/</format_schema_path>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
%[3]s
    <users_config>%[1]s/users.xml</users_config>
</yandex>
`, dir, port, timezone())
	users := `<yandex>
    <profiles><default></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</yandex>
`
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(config), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "users.xml"), []byte(users), 0o600)
}
