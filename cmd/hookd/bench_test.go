package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// TestBench runs a short "hookd bench" against the real binary and checks
// that every target was measured in every round, without errors, that
// duplicates got 200 from hookd (and nothing else did: every round sends
// keys of its own), and that the drain finished. No timings are asserted.
func TestBench(t *testing.T) {
	t.Parallel()
	bin := hookdBinary(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench",
		"--duration", "1s", "--rounds", "2", "--warmup", "200ms", "--connections", "4", "--drain-events", "200",
		"--duplicates", "0.2", "--json", "--hookd-binary", bin,
	}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("hookd bench exited %d:\n%s", code, stderr.String())
	}
	var r benchReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout.String())
	}

	names := []string{"baseline", "hookd email", "hookd noop"}
	if len(r.Targets) != len(names) {
		t.Fatalf("got %d targets, want %v:\n%s", len(r.Targets), names, stdout.String())
	}
	for i, tg := range r.Targets {
		if tg.Name != names[i] {
			t.Errorf("target %d is %q, want %q", i, tg.Name, names[i])
		}
		if tg.AcceptedPerSec <= 0 || tg.Non2xx != 0 || tg.Errors != 0 {
			t.Errorf("%s: %.0f accepted/s, %d non-2xx, %d errors (first: %s); want >0, 0, 0",
				tg.Name, tg.AcceptedPerSec, tg.Non2xx, tg.Errors, tg.FirstError)
		}
		if tg.DuplicatesSent == 0 {
			t.Errorf("%s: no duplicates sent with --duplicates 0.2", tg.Name)
		}
		// The baseline stores nothing, so only hookd recognises duplicates.
		if tg.Name != "baseline" && tg.Duplicates != tg.DuplicatesSent {
			t.Errorf("%s: %d duplicates sent, %d answered 200", tg.Name, tg.DuplicatesSent, tg.Duplicates)
		}
		if want := map[bool]int{true: 0, false: 2}[tg.Name == "baseline"]; len(tg.RoundRatios) != want {
			t.Errorf("%s: round ratios %v, want %d", tg.Name, tg.RoundRatios, want)
		}
	}
	if d := r.Drain; d == nil || d.CompletedForward != 200 || d.Events != 200 {
		t.Errorf("drain: %+v, want 200 events enqueued and forwarded", d)
	}

	// The table has a line per target with its accepted/s.
	var text bytes.Buffer
	printBench(&text, &r)
	for _, name := range names {
		m := regexp.MustCompile(`(?m)^\s*` + name + `\s+(\d+)\s`).FindStringSubmatch(text.String())
		if m == nil {
			t.Errorf("no line for %s in:\n%s", name, text.String())
		} else if n, _ := strconv.Atoi(m[1]); n == 0 {
			t.Errorf("%s: 0 accepted/s in:\n%s", name, text.String())
		}
	}
	if !regexp.MustCompile(`(?m)^hookd noop vs baseline, round by round: \d+\.\d\d \d+\.\d\d$`).Match(text.Bytes()) {
		t.Errorf("no round-by-round line in:\n%s", text.String())
	}
	if !regexp.MustCompile(`(?m)^drain: 200 forward jobs completed`).Match(text.Bytes()) {
		t.Errorf("no drain line in:\n%s", text.String())
	}
}

// TestBenchBody checks the load's bodies: JSON of the requested size, with
// the key and the email the services need, and room for any counter.
func TestBenchBody(t *testing.T) {
	t.Parallel()
	key := "abcd1234e-0003-0000000000"
	for _, size := range []int{1, 100, 600, 4096} {
		body, keyAt := benchBody(key, size)
		benchPutDigits(body[keyAt+len(key)-benchKeyDigits:keyAt+len(key)], 4711)
		if !gjson.ValidBytes(body) {
			t.Fatalf("size %d: invalid JSON %s", size, body)
		}
		if size >= 100 && len(body) != size {
			t.Errorf("size %d: body is %d bytes", size, len(body))
		}
		if got := gjson.GetBytes(body, "idempotency_key").Str; got != "abcd1234e-0003-0000004711" {
			t.Errorf("size %d: key %q", size, got)
		}
		if got := gjson.GetBytes(body, "email").Str; got != "bench@example.com" {
			t.Errorf("size %d: email %q", size, got)
		}
	}
}

// TestBenchLoadResultAdd checks that a target's windows add up, and that a
// CPU time unknown in one window is unknown in the sum.
func TestBenchLoadResultAdd(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	var sum benchLoadResult
	sum.add(&benchLoadResult{Window: time.Second, Latencies: []time.Duration{3 * ms, 1 * ms}, Accepted: 2, Duplicates: 1,
		Non2xx: 1, DupsSent: 1, ServerCPU: 5 * time.Millisecond, ClientCPU: -1})
	sum.add(&benchLoadResult{Window: 2 * time.Second, Latencies: []time.Duration{2 * ms}, Accepted: 1, Errors: 1,
		FirstError: "refused", ServerCPU: 7 * time.Millisecond, ClientCPU: 4 * time.Millisecond})
	want := benchLoadResult{Window: 3 * time.Second, Latencies: []time.Duration{3 * ms, 1 * ms, 2 * ms}, Accepted: 3, Duplicates: 1,
		Non2xx: 1, Errors: 1, DupsSent: 1, FirstError: "refused", ServerCPU: 12 * time.Millisecond, ClientCPU: -1}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("sum\n%+v\nwant\n%+v", sum, want)
	}
	// The windows' latencies are sorted together: 1, 2, 3 ms.
	got := benchFigures("x", &sum)
	if got.AcceptedPerSec != 4.0/3 || got.P50ms != 2 || got.MaxMs != 3 || got.ServerCPUPerReq != 2000 || got.ClientCPUPerReq != -1 {
		t.Errorf("figures %+v; want 1.33 accepted/s, p50 2 ms, max 3 ms, server CPU 2000 µs/request, client unknown", got)
	}
}

// TestBenchBadFlags checks that settings the benchmark cannot honour stop
// it before it starts anything, with the usage exit code.
func TestBenchBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--rounds", "0"}, {"--rounds", "100"}, {"--duration", "0s"}, {"--duration", "400ms", "--rounds", "5"},
		{"--connections", "0"},
		{"--duplicates", "1"}, {"--warmup", "-1s"}, {"--database", "sqlite:x.db"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"bench"}, args...), nil, &stdout, &stderr); code != 2 {
			t.Errorf("hookd bench %v exited %d, want 2; stderr:\n%s", args, code, stderr.String())
		}
		if stdout.Len() != 0 || !bytes.Contains(stderr.Bytes(), []byte("--")) {
			t.Errorf("hookd bench %v: stdout %q, stderr %q; want nothing, and the flags named", args, stdout.String(), stderr.String())
		}
	}
}
