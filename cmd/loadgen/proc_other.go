//go:build !linux

package main

import "os/exec"

// setParentDeathSignal has no portable equivalent outside Linux; loadgen
// still stops its servers on normal exit and on SIGINT/SIGTERM.
func setParentDeathSignal(*exec.Cmd) {}
