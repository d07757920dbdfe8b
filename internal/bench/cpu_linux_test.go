package bench

import (
	"os"
	"testing"
)

// TestProcessMemory checks the reading of /proc/PID/status, on this
// process: its resident memory, never above its peak, and that the peak
// can be reset for a measurement.
func TestProcessMemory(t *testing.T) {
	rss, hwm := processMemory(os.Getpid(), "VmRSS"), processMemory(os.Getpid(), "VmHWM")
	if rss <= 0 || hwm < rss {
		t.Errorf("VmRSS %d, VmHWM %d bytes; want positive, the peak not below", rss, hwm)
	}
	if processMemory(os.Getpid(), "NoSuchField") != -1 || processMemory(-1, "VmRSS") != -1 {
		t.Error("an unknown field or process gave a figure; want -1")
	}
	if !resetPeakMemory(os.Getpid()) {
		t.Skip("this kernel does not let the peak be reset (clear_refs); VmRSS samples only")
	}
	if hwm := processMemory(os.Getpid(), "VmHWM"); hwm <= 0 {
		t.Errorf("VmHWM %d after a reset", hwm)
	}
}
