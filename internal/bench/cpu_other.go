//go:build !linux

package bench

import (
	"os/exec"
	"time"
)

// processCPU is unknown outside Linux (no /proc/PID/stat).
func processCPU(int) time.Duration { return -1 }

// selfCPU is unknown outside Linux.
func selfCPU() time.Duration { return -1 }

// dieWithParent does nothing outside Linux: children are killed by the
// benchmark's cleanup only.
func dieWithParent(*exec.Cmd) {}

// processMemory is unknown outside Linux (no /proc/PID/status).
func processMemory(int, string) int64 { return -1 }

// resetPeakMemory cannot reset anything outside Linux.
func resetPeakMemory(int) bool { return false }
