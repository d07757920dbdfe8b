package bench

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is the unit of /proc/PID/stat's times: USER_HZ, which Linux
// fixes at 100 on every architecture Go supports.
const clockTicks = 100

// processCPU returns the user+system CPU time process pid has used so far,
// from /proc/PID/stat; -1 if it cannot be read.
func processCPU(pid int) time.Duration {
	if pid <= 0 {
		return -1
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name, in parentheses, may contain spaces: fields are
	// counted from after its closing parenthesis, where field 3 starts.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// selfCPU returns the user+system CPU time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dieWithParent has the child killed if this process dies without cleaning
// up (SIGKILL, a crash), so no server outlives the benchmark.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// processMemory returns a memory figure of process pid in bytes, read from
// /proc/PID/status: field "VmRSS" (resident now) or "VmHWM" (the most it
// was resident); -1 if it cannot be read.
func processMemory(pid int, field string) int64 {
	if pid <= 0 {
		return -1
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// resetPeakMemory resets process pid's VmHWM to its current VmRSS, so that
// VmHWM then tells the peak of one measurement; false if it cannot.
func resetPeakMemory(pid int) bool {
	return pid > 0 && os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0) == nil
}
