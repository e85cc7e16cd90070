//go:build !linux

package main

import (
	"errors"
	"os/exec"
	"time"
)

var errNoProc = errors.New("wsload reads server CPU time and memory from /proc: Linux only")

func setParentDeathSignal(*exec.Cmd) {}

func procCPU(int) (time.Duration, error) { return 0, errNoProc }

func procRSS(int) (int64, error) { return 0, errNoProc }
