package clickhousetest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// sysProcAttr has the kernel kill the server when the test binary dies without
// reaching Main's clean-up (a panic, a -timeout, a kill), so no server is orphaned.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// lockClusters waits until no other test binary on this machine runs a local
// cluster, and returns what lets the next one run.
func lockClusters(t testing.TB) func() {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "flowmeter-clickhouse-cluster.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("clickhousetest: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("clickhousetest: locking %s: %v", f.Name(), err)
	}
	return func() { f.Close() } // closing the file releases the lock
}
