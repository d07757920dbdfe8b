package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store/sqlite"
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

// "hookd bench fill" fills the database it is given, which the other
// commands then read; bench fill and reads refuse to run without one.
func TestBenchFill(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "fill.db")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"bench", "fill", "--database", "sqlite:" + path, "--events", "300", "--days", "1"},
		nil, &stdout, &stderr); code != 0 {
		t.Fatalf("bench fill exited %d:\n%s", code, stderr.String())
	}
	db, err := sqlite.Open(path, sqlite.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	events, next, err := db.Events(context.Background(), hookd.EventFilter{Limit: 500})
	if err != nil || len(events) != 300 || next != "" {
		t.Errorf("the filled database lists %d events (next %q), %v; want 300", len(events), next, err)
	}
	for _, cmd := range []string{"fill", "reads"} {
		stderr.Reset()
		if code := run(context.Background(), []string{"bench", cmd}, nil, &stdout, &stderr); code != 2 ||
			!strings.Contains(stderr.String(), "--database is required") {
			t.Errorf("bench %s without --database exited %d: %s", cmd, code, stderr.String())
		}
	}
}
