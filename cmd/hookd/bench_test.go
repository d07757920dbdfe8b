package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestBenchUsage checks the command's wiring: settings internal/bench
// refuses, and stray arguments, exit 2 before anything starts, with the
// problem on stderr and nothing on stdout.
func TestBenchUsage(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{"--rounds 0": "--rounds", "--database sqlite:x.db": "--database", "extra": `"extra"`} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"bench"}, strings.Fields(args)...), nil, &stdout, &stderr); code != 2 {
			t.Errorf("hookd bench %s exited %d, want 2; stderr:\n%s", args, code, stderr.String())
		}
		if stdout.Len() != 0 || !strings.Contains(stderr.String(), want) {
			t.Errorf("hookd bench %s: stdout %q, stderr %q; want nothing, and %s named", args, stdout.String(), stderr.String(), want)
		}
	}
}
