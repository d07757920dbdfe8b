package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/jobs"
)

// TestDefaultRetriesRideOutAnOutage: with the retry policy the zero-config
// start gives its actions, the last attempt comes more than 5 minutes after
// the first even at the lowest jitter, so a destination down for 5 minutes
// (an SMTP restart, a deploy) makes no dead letter. The schedule is the one
// the README states.
func TestDefaultRetriesRideOutAnOutage(t *testing.T) {
	t.Setenv("HOOKD_CONFIG", "")
	t.Setenv("ADAPTER_1_SECRET", "adapter-one-secret-0123456789")
	t.Setenv("ADAPTER_2_SECRET", "adapter-two-secret-0123456789")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	l, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"adapter1", "adapter2"} {
		a := l.services[name].Actions[0]
		var earliest, latest time.Duration // of attempt n+1, after the first
		for n := 1; n < a.MaxAttempts; n++ {
			lo, hi := jobs.DelayBounds(a.Backoff, n)
			earliest, latest = earliest+lo, latest+hi
			if row := fmt.Sprintf("| %d | %s – %s |", n+1, earliest, latest); !strings.Contains(string(readme), row) {
				t.Errorf("the README's retry schedule lacks the row %q", row)
			}
		}
		if earliest <= 5*time.Minute {
			t.Errorf("%s (%s): the last of %d attempts can come %s after the first; a 5-minute outage makes a dead letter",
				name, a.Type, a.MaxAttempts, earliest)
		}
	}
}
