//go:build unix

package browsertest

import (
	"os/exec"
	"syscall"
)

// inOwnProcessGroup starts the browser in a process group of its own and, when
// the run times out, stops the whole group: Chromium's helper processes would
// otherwise outlive it.
func inOwnProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
