//go:build !unix

package browsertest

import "os/exec"

// inOwnProcessGroup leaves the browser as it starts where there are no process
// groups; a timeout stops the browser itself.
func inOwnProcessGroup(*exec.Cmd) {}
