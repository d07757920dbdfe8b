//go:build !linux

package main

import (
	"os/exec"
	"time"
)

// benchProcessCPU is unknown outside Linux (no /proc/PID/stat).
func benchProcessCPU(int) time.Duration { return -1 }

// benchSelfCPU is unknown outside Linux.
func benchSelfCPU() time.Duration { return -1 }

// benchDieWithParent does nothing outside Linux: children are killed by the
// benchmark's cleanup only.
func benchDieWithParent(*exec.Cmd) {}
