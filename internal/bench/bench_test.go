package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// TestBench runs a short benchmark against the real binary and checks
// that every target was measured in every round, without errors, that
// duplicates got 200 from hookd (and nothing else did: every round sends
// keys of its own), and that the drain finished. No timings are asserted.
func TestBench(t *testing.T) {
	t.Parallel()
	bin := hookdBinary(t)
	s := parseSettings(t, "--duration", "1s", "--rounds", "2", "--warmup", "200ms", "--connections", "4", "--drain-events", "200",
		"--duplicates", "0.2", "--json", "--hookd-binary", bin)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	report, err := Run(context.Background(), s, &progress)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	// What --json prints.
	var stdout bytes.Buffer
	if err := report.Write(&stdout, s.JSON); err != nil {
		t.Fatal(err)
	}
	var r Report
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
	if err := r.Write(&text, false); err != nil {
		t.Fatal(err)
	}
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
		body, keyAt := makeBody(key, size)
		putDigits(body[keyAt+len(key)-keyDigits:keyAt+len(key)], 4711)
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
	var sum loadResult
	sum.add(&loadResult{Window: time.Second, Latencies: []time.Duration{3 * ms, 1 * ms}, Accepted: 2, Duplicates: 1,
		Non2xx: 1, DupsSent: 1, ServerCPU: 5 * time.Millisecond, ClientCPU: -1})
	sum.add(&loadResult{Window: 2 * time.Second, Latencies: []time.Duration{2 * ms}, Accepted: 1, Errors: 1,
		FirstError: "refused", ServerCPU: 7 * time.Millisecond, ClientCPU: 4 * time.Millisecond})
	want := loadResult{Window: 3 * time.Second, Latencies: []time.Duration{3 * ms, 1 * ms, 2 * ms}, Accepted: 3, Duplicates: 1,
		Non2xx: 1, Errors: 1, DupsSent: 1, FirstError: "refused", ServerCPU: 12 * time.Millisecond, ClientCPU: -1}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("sum\n%+v\nwant\n%+v", sum, want)
	}
	// The windows' latencies are sorted together: 1, 2, 3 ms.
	got := figures("x", &sum)
	if got.AcceptedPerSec != 4.0/3 || got.P50ms != 2 || got.MaxMs != 3 || got.ServerCPUPerReq != 2000 || got.ClientCPUPerReq != -1 {
		t.Errorf("figures %+v; want 1.33 accepted/s, p50 2 ms, max 3 ms, server CPU 2000 µs/request, client unknown", got)
	}
}

// TestBenchBadFlags checks that Check refuses the settings the benchmark
// cannot honour, naming the flags, so that the command stops before it
// starts anything (cmd/hookd then exits 2).
func TestBenchBadFlags(t *testing.T) {
	t.Parallel()
	if err := parseSettings(t).Check(); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	for _, args := range [][]string{
		{"--rounds", "0"}, {"--rounds", "100"}, {"--duration", "0s"}, {"--duration", "400ms", "--rounds", "5"},
		{"--connections", "0"},
		{"--duplicates", "1"}, {"--warmup", "-1s"}, {"--database", "sqlite:x.db"},
	} {
		err := parseSettings(t, args...).Check()
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("Check with %v: %v; want an error naming %s", args, err, args[0])
		}
	}
}

// parseSettings parses the flags of "hookd bench" as the command does.
func parseSettings(t *testing.T, args ...string) Settings {
	t.Helper()
	var s Settings
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	s.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("flags %v: %v", args, err)
	}
	return s
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// hookdBinary builds cmd/hookd once per test run: the benchmark runs it as
// "hookd serve" and "hookd bench-baseline".
func hookdBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the hookd binary; skipped in -short mode")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "hookd-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "hookd")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/hookd/hookd/cmd/hookd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}
