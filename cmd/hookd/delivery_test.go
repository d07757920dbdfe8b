package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sink is a forward destination whose answer a test sets, and which counts
// the requests it is serving at once.
type sink struct {
	*httptest.Server
	status   atomic.Int32
	body     atomic.Pointer[string] // the answer's body, when set
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	hits     atomic.Int32
	gate

	mu    sync.Mutex
	times map[string][]time.Time
}

func newSink(t *testing.T, status int) *sink {
	s := &sink{times: map[string][]time.Time{}}
	s.status.Store(int32(status))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for m := s.maxSeen.Load(); n > m && !s.maxSeen.CompareAndSwap(m, n); m = s.maxSeen.Load() {
		}
		s.hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.times[r.Header.Get("X-Hookd-Event-Id")] = append(s.times[r.Header.Get("X-Hookd-Event-Id")], time.Now())
		s.mu.Unlock()
		if hold := s.held(); hold != nil {
			<-hold
		}
		w.WriteHeader(int(s.status.Load()))
		if b := s.body.Load(); b != nil {
			_, _ = io.WriteString(w, *b)
		}
	}))
	t.Cleanup(func() { s.release(); s.Close() })
	return s
}

func (s *sink) arrivals(id string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times[id]...)
}

const forwardConfig = `
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0, token: admin-token-for-tests}
database: %q
workers: {poll_interval: 50ms, fetch_cooldown: 5ms, max_per_destination: 2}
services:
  failing:
    verify: {secrets: [secret-failing-0123456789]}
    actions:
      - forward: {url: %q, max_attempts: 3, backoff: {min: %s, max: %s}}
  healthy:
    verify: {secrets: [secret-healthy-0123456789]}
    actions:
      - forward: {url: %q}
`

func startForwarding(t *testing.T, database string, failing, healthy *sink, backoff string) *testBundle {
	t.Helper()
	return &testBundle{main: runMain(t, forwardYAML(database, failing, healthy, backoff), roleAll), token: "admin-token-for-tests"}
}

func forwardYAML(database string, failing, healthy *sink, backoff string) string {
	return fmt.Sprintf(forwardConfig, database, failing.URL, backoff, backoff, healthy.URL)
}

// A job waiting out a long backoff runs at once when the event is replayed,
// and the event settles. Its history shows both attempts with what the
// destination answered, in the API and in hookd events show.
func TestReplayWhileRetryingRunsNow(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		failing, healthy := newSink(t, http.StatusServiceUnavailable), newSink(t, http.StatusNoContent)
		maintenance := "  down for maintenance until 14:00\n"
		failing.body.Store(&maintenance)
		b := startForwarding(t, database, failing, healthy, "1h")
		status, body := b.send(t, "failing", `{"idempotency_key":"k1"}`)
		if status != http.StatusAccepted {
			t.Fatalf("send: %d %v", status, body)
		}
		id := body["event_id"].(string)
		waitFor(t, 15*time.Second, "the first attempt to fail", func() bool {
			ev := b.event(t, id)
			jobs, _ := ev["jobs"].([]any)
			return len(jobs) == 1 && jobs[0].(map[string]any)["state"] == "retrying"
		})
		failing.status.Store(http.StatusNoContent)
		failing.body.Store(nil)
		status, body = b.api(t, "POST", "/api/events/"+id+"/replay")
		actions, _ := body["actions"].([]any)
		if status != http.StatusAccepted || len(actions) != 1 || actions[0].(map[string]any)["result"] != "retrying now" {
			t.Fatalf("replay: %d %v; want 202, the forward retrying now", status, body)
		}
		ev := b.waitStatus(t, id, "succeeded")
		j := job(t, ev, 0)
		if j["attempts"] != float64(2) {
			t.Errorf("job %v; want it succeeded at its second attempt", j)
		}
		history, _ := j["history"].([]any)
		if len(history) != 2 {
			t.Fatalf("history %v; want the two attempts", j["history"])
		}
		first, second := history[0].(map[string]any), history[1].(map[string]any)
		if first["number"] != float64(1) || first["outcome"] != "retrying" || first["code"] != float64(503) ||
			first["reply"] != "down for maintenance until 14:00" || !strings.Contains(first["error"].(string), "503 Service Unavailable") {
			t.Errorf("first attempt %v; want retrying after the 503 and its body", first)
		}
		if second["number"] != float64(2) || second["outcome"] != "succeeded" || second["code"] != float64(204) ||
			second["reply"] != "" || second["error"] != "" {
			t.Errorf("second attempt %v; want succeeded with 204", second)
		}
		start1, _ := time.Parse(time.RFC3339Nano, first["started_at"].(string))
		start2, _ := time.Parse(time.RFC3339Nano, second["started_at"].(string))
		if !start2.After(start1) || first["duration_ms"].(float64) <= 0 || second["duration_ms"].(float64) <= 0 {
			t.Errorf("attempts %v then %v; want each with a duration, the second started after the first", first, second)
		}

		cfg := filepath.Join(t.TempDir(), "hookd.yaml")
		if err := os.WriteFile(cfg, []byte(forwardYAML(database, failing, healthy, "1h")), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCLI(t, "", "events", "show", id, "--config", cfg)
		attempt := regexp.MustCompile(`(?m)^\d+\s+forward\s+(\d)\s+\S+ \S+\s+\S+\s+(\w+)\s+(\d+)\s*(.*)$`)
		rows := attempt.FindAllStringSubmatch(out, -1)
		if code != 0 || len(rows) != 2 || rows[0][1] != "1" || rows[0][2] != "retrying" || rows[0][3] != "503" ||
			!strings.HasPrefix(rows[0][4], "down for maintenance until 14:00") || rows[1][1] != "2" || rows[1][2] != "succeeded" ||
			rows[1][3] != "204" {
			t.Errorf("events show: exit %d, attempts %q; want the 503 with its body, then the 204\n%s%s", code, rows, out, errOut)
		}
	})
}

// A destination that answers 503 to everything gets its retries on the
// backoff's schedule and never more attempts at once than its cap, while
// another destination's events are delivered meanwhile.
func TestFailingDestinationKeepsToItsCap(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		failing, healthy := newSink(t, http.StatusServiceUnavailable), newSink(t, http.StatusNoContent)
		failing.holdRequests()
		b := startForwarding(t, database, failing, healthy, "300ms")
		var failingIDs []string
		for i := range 10 {
			status, body := b.send(t, "failing", fmt.Sprintf(`{"idempotency_key":"f%d"}`, i))
			if status != http.StatusAccepted {
				t.Fatalf("send: %d %v", status, body)
			}
			failingIDs = append(failingIDs, body["event_id"].(string))
		}
		waitFor(t, 15*time.Second, "the failing destination to be at its cap", func() bool { return failing.inFlight.Load() == 2 })
		// While it holds its two, the healthy destination still gets its events.
		for i := range 5 {
			status, body := b.send(t, "healthy", fmt.Sprintf(`{"idempotency_key":"h%d"}`, i))
			if status != http.StatusAccepted {
				t.Fatalf("send: %d %v", status, body)
			}
			b.waitStatus(t, body["event_id"].(string), "succeeded")
		}
		failing.release()
		for _, id := range failingIDs {
			b.waitStatus(t, id, "failed")
		}
		if m := failing.maxSeen.Load(); m > 2 {
			t.Errorf("the failing destination had %d attempts in flight; its cap is 2", m)
		}
		// Three attempts each, spaced by at least the backoff's lower
		// bound (half of 300ms, then of 600ms, capped at 300ms: 150ms).
		for _, id := range failingIDs {
			times := failing.arrivals(id)
			if len(times) != 3 {
				t.Fatalf("event %s reached the destination %d times, want 3", id, len(times))
			}
			for i := 1; i < len(times); i++ {
				if gap := times[i].Sub(times[i-1]); gap < 150*time.Millisecond {
					t.Errorf("event %s: attempt %d came %s after the one before, sooner than the backoff allows", id, i+1, gap)
				}
			}
		}
	})
}
