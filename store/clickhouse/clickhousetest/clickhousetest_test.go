package clickhousetest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

const childEnv = "CLICKHOUSETEST_CHILD"

// TestNoServer runs this test binary again where no server can be found, and checks
// that a test needing ClickHouse is skipped, or fails when CI requires ClickHouse.
func TestNoServer(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		Open(t)
		t.Log("Open returned")
		return
	}
	tests := []struct {
		name    string
		require string
		want    string
	}{
		{"skipped", "", "--- SKIP: TestNoServer"},
		{"failed when required", "1", "--- FAIL: TestNoServer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var env []string
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, EnvAddr+"=") && !strings.HasPrefix(kv, EnvRequire+"=") && !strings.HasPrefix(kv, "PATH=") {
					env = append(env, kv)
				}
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestNoServer$", "-test.v")
			cmd.Env = append(env, "PATH="+t.TempDir(), childEnv+"=1", EnvRequire+"="+tc.require)
			out, _ := cmd.CombinedOutput()
			if !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "Open returned") {
				t.Fatalf("with no server and %s=%q the test printed\n%s\nwant %q", EnvRequire, tc.require, out, tc.want)
			}
		})
	}
}

// TestOpenGivesFreshDatabase checks that each Open names a database that does not
// exist yet and that it is gone once the test that asked for it ends.
func TestOpenGivesFreshDatabase(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		t.Skip("child run")
	}
	var names []string
	var addr string
	t.Run("use", func(t *testing.T) {
		for range 2 {
			o := Open(t)
			addr = o.Addr
			if exists(t, addr, o.Database) {
				t.Fatalf("database %s exists before the test created it", o.Database)
			}
			if err := Exec(addr, "CREATE DATABASE `"+o.Database+"`"); err != nil {
				t.Fatal(err)
			}
			names = append(names, o.Database)
		}
		if names[0] == names[1] {
			t.Fatalf("two Opens gave the same database %s", names[0])
		}
	})
	for _, name := range names {
		if exists(t, addr, name) {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}

func exists(t *testing.T, addr, name string) bool {
	t.Helper()
	var n uint64
	QueryRow(t, addr, "SELECT count() FROM system.databases WHERE name = '"+name+"'", &n)
	return n > 0
}

// TestServerStopAndStart checks that a dedicated server stops answering when
// stopped, and answers again on the same address with its data after Start.
func TestServerStopAndStart(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		t.Skip("child run")
	}
	s := NewServer(t)
	addr := s.Addr()
	if err := Exec(addr, "CREATE DATABASE kept"); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := ping(addr); err == nil {
		t.Fatal("the stopped server still answers")
	}
	if err := s.Stop(); err == nil {
		t.Error("Stop of a stopped server did not fail")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Error("Start of a running server did not fail")
	}
	if s.Addr() != addr {
		t.Errorf("address after the restart %s, want %s", s.Addr(), addr)
	}
	if !exists(t, addr, "kept") {
		t.Error("the database created before the restart is gone")
	}
}
