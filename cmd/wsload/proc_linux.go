package main

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel send a child SIGTERM if wsload
// dies without cleaning up (e.g. SIGKILL), so no server outlives its run.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
