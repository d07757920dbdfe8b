package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// scrape returns the admin listener's /metrics as text.
func (b *testBundle) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + b.main.AdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(raw)
}

// checkMetrics fails for each line of want (a sample as the text format
// writes it, "name{labels} value") that text lacks.
func checkMetrics(t *testing.T, text string, want ...string) {
	t.Helper()
	lines := map[string]bool{}
	for l := range strings.SplitSeq(text, "\n") {
		lines[l] = true
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	if t.Failed() {
		var ours []string
		for l := range strings.SplitSeq(text, "\n") {
			if strings.HasPrefix(l, "hookd_attempts") || strings.HasPrefix(l, "hookd_delivery_seconds_count") || strings.HasPrefix(l, "hookd_backlog") {
				ours = append(ours, l)
			}
		}
		t.Logf("hookd's delivery metrics:\n%s", strings.Join(ours, "\n"))
	}
}

// The attempts of both paths, the first in the delivery engine and a retry
// through the queue, are counted with their latency, and the backlog
// gauges show the job waiting to retry.
func TestMetricsCountAttemptsAndBacklog(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		failing, healthy := newSink(t, http.StatusServiceUnavailable), newSink(t, http.StatusNoContent)
		b := startForwarding(t, database, failing, healthy, "1h")
		checkMetrics(t, b.scrape(t),
			"hookd_backlog_events 0",
			`hookd_backlog_jobs{waiting_for="first_attempt"} 0`,
			`hookd_backlog_jobs{waiting_for="retry"} 0`,
			"hookd_backlog_oldest_seconds 0",
			"hookd_backlog_errors_total 0",
		)

		ids := map[string]string{}
		for _, svc := range []string{"healthy", "failing"} {
			status, body := b.send(t, svc, `{"idempotency_key":"k1"}`)
			if status != http.StatusAccepted {
				t.Fatalf("send to %s: %d %v", svc, status, body)
			}
			ids[svc] = body["event_id"].(string)
		}
		b.waitStatus(t, ids["healthy"], "succeeded")
		waitFor(t, 15*time.Second, "the failing forward to wait for its retry", func() bool {
			jobs, _ := b.event(t, ids["failing"])["jobs"].([]any)
			return len(jobs) == 1 && jobs[0].(map[string]any)["state"] == "retrying"
		})
		text := b.scrape(t)
		checkMetrics(t, text,
			`hookd_attempts_total{action="forward",outcome="succeeded"} 1`,
			`hookd_attempts_total{action="forward",outcome="retry"} 1`,
			`hookd_delivery_seconds_count{action="forward"} 1`,
			"hookd_backlog_events 0",
			`hookd_backlog_jobs{waiting_for="first_attempt"} 0`,
			`hookd_backlog_jobs{waiting_for="retry"} 1`,
		)
		if strings.Contains(text, "hookd_backlog_oldest_seconds 0\n") || !strings.Contains(text, "hookd_backlog_oldest_seconds ") {
			t.Errorf("hookd_backlog_oldest_seconds is missing or 0 with a job waiting")
		}

		// The retry runs through the queue once the destination is back.
		failing.status.Store(http.StatusNoContent)
		if status, body := b.api(t, "POST", "/api/events/"+ids["failing"]+"/replay"); status != http.StatusAccepted {
			t.Fatalf("replay: %d %v", status, body)
		}
		b.waitStatus(t, ids["failing"], "succeeded")
		checkMetrics(t, b.scrape(t),
			`hookd_attempts_total{action="forward",outcome="succeeded"} 2`,
			`hookd_attempts_total{action="forward",outcome="retry"} 1`,
			`hookd_delivery_seconds_count{action="forward"} 2`,
			`hookd_backlog_jobs{waiting_for="retry"} 0`,
			"hookd_backlog_oldest_seconds 0",
		)
	})
}
