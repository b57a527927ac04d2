//go:build !linux

package clickhousetest

import "syscall"

// sysProcAttr is empty where the kernel cannot tie the server's life to ours.
func sysProcAttr() *syscall.SysProcAttr { return nil }
