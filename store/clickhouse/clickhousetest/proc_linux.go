package clickhousetest

import "syscall"

// sysProcAttr has the kernel kill the server when the test binary dies without
// reaching Main's clean-up (a panic, a -timeout, a kill), so no server is orphaned.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
