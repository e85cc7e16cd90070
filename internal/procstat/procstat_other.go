//go:build !linux

package procstat

import (
	"errors"
	"time"
)

var errNoProc = errors.New("process CPU time and memory are read from /proc: Linux only")

// CPU is the CPU time a process has used (Linux only).
func CPU(int) (time.Duration, error) { return 0, errNoProc }

// RSS is a process's resident set size in bytes (Linux only).
func RSS(int) (int64, error) { return 0, errNoProc }
