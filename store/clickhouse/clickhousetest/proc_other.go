//go:build !linux

package clickhousetest

import (
	"syscall"
	"testing"
)

// sysProcAttr is empty where the kernel cannot tie the server's life to ours.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// lockClusters does not serialise clusters where flock is not at hand.
func lockClusters(testing.TB) func() { return func() {} }
