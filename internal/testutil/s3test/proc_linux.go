package s3test

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill versitygw if the test binary dies
// without running its cleanups (a panic, a -timeout kill), so no server is
// left behind.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
