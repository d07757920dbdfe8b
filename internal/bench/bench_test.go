package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
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
// keys of its own), that every event "hookd serve" acknowledged, closed
// and open loop, reached the sinks, with sane figures, and that the drain
// finished. No timings are asserted.
func TestBench(t *testing.T) {
	t.Parallel()
	bin := hookdBinary(t)
	s := parseSettings(t, "--duration", "1s", "--rounds", "2", "--warmup", "200ms", "--connections", "4", "--drain-events", "200",
		"--duplicates", "0.2", "--json", "--hookd-binary", bin,
		"--rate", "50", "--open-duration", "1s", "--drain-wait", "60s")
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

	names := []string{"baseline", "hookd email", "hookd noop", "hookd forward (e2e)", "hookd email (e2e)"}
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
		e2e := strings.HasSuffix(tg.Name, "(e2e)")
		// The end-to-end loads send no duplicates: each request a new event.
		if (tg.DuplicatesSent == 0) != e2e {
			t.Errorf("%s: %d duplicates sent with --duplicates 0.2", tg.Name, tg.DuplicatesSent)
		}
		// The baseline stores nothing, so only hookd recognises duplicates.
		if tg.Name != "baseline" && tg.Duplicates != tg.DuplicatesSent {
			t.Errorf("%s: %d duplicates sent, %d answered 200", tg.Name, tg.DuplicatesSent, tg.Duplicates)
		}
		if want := map[bool]int{true: 0, false: 2}[tg.Name == "baseline"]; len(tg.RoundRatios) != want {
			t.Errorf("%s: round ratios %v, want %d", tg.Name, tg.RoundRatios, want)
		}
		d := tg.Delivery
		if (d != nil) != e2e {
			t.Errorf("%s: delivery figures %+v", tg.Name, d)
			continue
		}
		if d == nil {
			continue
		}
		// Every request answered in the windows was a 202 (no duplicates),
		// and the warm-ups were acknowledged too.
		if !d.AllDelivered || d.Undelivered != 0 || d.Acknowledged < tg.Accepted || d.Delivered > d.Acknowledged ||
			d.DeliveredPerSec <= 0 || len(d.RoundBacklogs) != 2 || len(d.RoundDrainSeconds) != 2 || d.DrainSeconds < 0 ||
			d.PerAccepted <= 0 || d.PerBaseline <= 0 || d.MaxRSSMB <= 0 {
			t.Errorf("%s: delivery figures %+v; want every acknowledged event delivered, at most as many in the windows as acknowledged, positive rates, a backlog and a drain time per round, RSS", tg.Name, d)
		}
		if math.Abs(d.PerAccepted-d.DeliveredPerSec/tg.AcceptedPerSec) > 1e-9 || math.Abs(d.PerBaseline-d.DeliveredPerSec/r.Targets[0].AcceptedPerSec) > 1e-9 {
			t.Errorf("%s: ratios %g and %g do not divide delivered/s %g by accepted/s %g and the baseline's %g",
				tg.Name, d.PerAccepted, d.PerBaseline, d.DeliveredPerSec, tg.AcceptedPerSec, r.Targets[0].AcceptedPerSec)
		}
	}

	// The open loop: 50/s for 1s, far below capacity, so every request is
	// sent on time, acknowledged and delivered.
	if len(r.OpenLoop) != 2 || r.OpenLoop[0].Name != "hookd forward (e2e)" || r.OpenLoop[1].Name != "hookd email (e2e)" {
		t.Fatalf("open loop: %+v; want forward and email", r.OpenLoop)
	}
	for _, o := range r.OpenLoop {
		sorted := func(xs ...float64) bool { return slices.IsSorted(xs) && xs[0] > 0 }
		if o.Scheduled != 50 || o.Sent != 50 || o.Accepted != 50 || o.Non2xx+o.Errors+o.Other2xx != 0 ||
			!o.AllDelivered || o.Delivered != 50 || o.Undelivered != 0 || o.DrainSeconds < 0 || o.MaxRSSMB <= 0 ||
			!sorted(o.AckP50ms, o.AckP90ms, o.AckP99ms, o.AckMaxMs) || o.DeliveryMaxMs <= 0 ||
			!slices.IsSorted([]float64{o.DeliveryP50ms, o.DeliveryP90ms, o.DeliveryP99ms, o.DeliveryMaxMs}) {
			t.Errorf("%s open loop: %+v; want 50 sent, acknowledged and delivered, positive latencies in order", o.Name, o)
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
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s+(\d+)\s`).FindStringSubmatch(text.String())
		if m == nil {
			t.Errorf("no line for %s in:\n%s", name, text.String())
		} else if n, _ := strconv.Atoi(m[1]); n == 0 {
			t.Errorf("%s: 0 accepted/s in:\n%s", name, text.String())
		}
	}
	if !regexp.MustCompile(`(?m)^hookd noop vs baseline, round by round: \d+\.\d\d \d+\.\d\d$`).Match(text.Bytes()) {
		t.Errorf("no round-by-round line in:\n%s", text.String())
	}
	for _, re := range []string{
		`(?m)^\s*hookd forward \(e2e\)\s+\d+\s+[1-9]\d*\s+\d+\.\d\d×\s+\d+\.\d\d×\s+\d+\s+\d+\.\d\ds\s+\d+\s+\d+ MiB\s*$`,
		`(?m)^hookd email \(e2e\) backlog and drain, round by round: \d+/\d+\.\d\ds \d+/\d+\.\d\ds$`,
		`(?m)^\s*hookd email \(e2e\)\s+50\s+50\s+0\s+0\s`,
		`(?m)^hookd forward \(e2e\): every acknowledged event \(50\) delivered$`,
	} {
		if !regexp.MustCompile(re).Match(text.Bytes()) {
			t.Errorf("no line matching %s in:\n%s", re, text.String())
		}
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
	if err := parseSettings(t, "--rate", "0").Check(); err != nil {
		t.Errorf("--rate 0, which skips the open loop: %v", err)
	}
	for _, args := range [][]string{
		{"--rounds", "0"}, {"--rounds", "100"}, {"--duration", "0s"}, {"--duration", "400ms", "--rounds", "5"},
		{"--connections", "0"},
		{"--duplicates", "1"}, {"--warmup", "-1s"}, {"--database", "sqlite:x.db"},
		{"--rate", "-1"}, {"--rate", "0.5", "--open-duration", "1s"}, {"--open-duration", "0s"}, {"--max-outstanding", "0"}, {"--drain-wait", "0s"},
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
