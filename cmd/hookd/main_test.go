package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/internal/smtptest"
)

// testConfig is a configuration for in-process tests: ports chosen by the
// kernel, a fresh SQLite file, the test's SMTP server, fast polling and
// short backoffs (through configuration, like any user could).
const testConfig = `
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0, token: %q}
database: %q
smtp: {url: %s, from: "hookd <noreply@example.com>"}
workers: {poll_interval: 50ms, fetch_cooldown: 5ms}
services:
  adapter1:
    verify: {secrets: [secret-1-0123456789abcdef]}
    actions:
      - email: {max_attempts: 4, backoff: {min: 20ms, max: 100ms}}
  adapter2:
    verify: {secrets: [secret-2-0123456789abcdef]}
    actions: [noop]
`

type testBundle struct {
	main  *Main
	smtp  *smtptest.Server
	token string
}

// backends runs test once per database backend, as subtests: SQLite, and
// PostgreSQL when HOOKD_TEST_POSTGRES_URL is set (a fresh schema each).
func backends(t *testing.T, test func(t *testing.T, database string)) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, "sqlite:"+filepath.Join(t.TempDir(), "hookd.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		test(t, pgtest.URL(t))
	})
}

func startMain(t *testing.T, database string) *testBundle {
	t.Helper()
	smtp := smtptest.Start(t)
	token := "admin-token-for-tests"
	m := runMain(t, fmt.Sprintf(testConfig, token, database, smtp.URL()), roleAll)
	return &testBundle{main: m, smtp: smtp, token: token}
}

// runMain starts an in-process hookd of role on the YAML configuration
// (no environment), logging warnings to the test's log, and closes it when
// the test ends.
func runMain(t *testing.T, yaml, role string) *Main {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	l, err := build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: l.cfg, Services: l.services, Role: role,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

// testWriter sends logs to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// send posts a signed body to service and returns the status and answer.
func (b *testBundle) send(t *testing.T, service, body string) (int, map[string]any) {
	t.Helper()
	h, err := b.main.Services[service].Verifier.Sign([]byte(body), "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+b.main.IngestAddr+"/webhooks/"+service, strings.NewReader(body))
	req.Header = h
	return doJSON(t, req)
}

// api calls the admin API with the token.
func (b *testBundle) api(t *testing.T, method, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+b.main.AdminAddr+path, nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	return doJSON(t, req)
}

func doJSON(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", req.Method, req.URL.Path, resp.StatusCode, raw)
	}
	return resp.StatusCode, v
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// event returns GET /api/events/{id}.
func (b *testBundle) event(t *testing.T, id string) map[string]any {
	t.Helper()
	status, ev := b.api(t, "GET", "/api/events/"+id)
	if status != http.StatusOK {
		t.Fatalf("GET event %s: %d %v", id, status, ev)
	}
	return ev
}

func (b *testBundle) waitStatus(t *testing.T, id, want string) map[string]any {
	t.Helper()
	var ev map[string]any
	waitFor(t, 15*time.Second, "event "+id+" to be "+want, func() bool {
		ev = b.event(t, id)
		return ev["status"] == want
	})
	return ev
}

func job(t *testing.T, ev map[string]any, i int) map[string]any {
	t.Helper()
	jobs, _ := ev["jobs"].([]any)
	if len(jobs) <= i {
		t.Fatalf("event has %d jobs, want at least %d: %v", len(jobs), i+1, ev)
	}
	return jobs[i].(map[string]any)
}

const welcomeBody = `{"idempotency_key":"signup-42","email":"ada@example.com"}`

func TestConcurrentIdenticalRequests(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		b := startMain(t, database)
		const n = 50
		statuses := make([]int, n)
		ids := make([]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				status, body := b.send(t, "adapter1", welcomeBody)
				statuses[i] = status
				ids[i], _ = body["event_id"].(string)
			})
		}
		close(start)
		wg.Wait()
		count := map[int]int{}
		for i, s := range statuses {
			count[s]++
			if ids[i] != ids[0] {
				t.Errorf("answer %d names event %s, answer 0 names %s", i, ids[i], ids[0])
			}
		}
		if count[http.StatusAccepted] != 1 || count[http.StatusOK] != n-1 {
			t.Fatalf("statuses %v, want one 202 and %d × 200", count, n-1)
		}
		_, list := b.api(t, "GET", "/api/events?idempotency_key=signup-42")
		if events := list["events"].([]any); len(events) != 1 {
			t.Fatalf("%d events stored, want 1", len(events))
		}
		ev := b.waitStatus(t, ids[0], "succeeded")
		msgs := b.smtp.WaitMessages(t, 1, 10*time.Second)
		if len(ev["jobs"].([]any)) != 1 || len(msgs) != 1 || b.smtp.Attempts() != 1 {
			t.Fatalf("%d jobs, %d emails, %d SMTP transactions; want one each", len(ev["jobs"].([]any)), len(msgs), b.smtp.Attempts())
		}
		if msgs[0].To[0] != "ada@example.com" || msgs[0].Subject == "" || !strings.Contains(msgs[0].Body, "ada@example.com") {
			t.Errorf("email = %+v", msgs[0])
		}
		// A first attempt that succeeded keeps its record in the event's row.
		checkHistory(t, job(t, ev, 0), []attemptWant{{"succeeded", 250, "2.0.0 OK: queued"}})
	})
}

func TestSMTPTransientFailuresAreRetried(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		b := startMain(t, database)
		b.smtp.FailNext(2, 421)
		status, body := b.send(t, "adapter1", welcomeBody)
		if status != http.StatusAccepted {
			t.Fatalf("status %d %v", status, body)
		}
		id := body["event_id"].(string)
		msgs := b.smtp.WaitMessages(t, 1, 15*time.Second)
		ev := b.waitStatus(t, id, "succeeded")
		j := job(t, ev, 0)
		if j["attempts"] != float64(3) || j["state"] != "succeeded" || b.smtp.Attempts() != 3 || len(msgs) != 1 {
			t.Fatalf("job %v after %d SMTP transactions, %d emails; want delivered on attempt 3", j, b.smtp.Attempts(), len(msgs))
		}
		// The history has the server's replies: the two 421s, then the
		// 250 that took the message.
		checkHistory(t, j, []attemptWant{
			{"retrying", 421, "4.3.2 Service not available, closing transmission channel (smtptest)"},
			{"retrying", 421, "4.3.2 Service not available, closing transmission channel (smtptest)"},
			{"succeeded", 250, "2.0.0 OK: queued"},
		})
	})
}

// attemptWant is what a test expects of one attempt in a job's history.
type attemptWant struct {
	outcome string
	code    int
	reply   string
}

// checkHistory checks the history of job j (the API's JSON) against want:
// outcome, code and reply, numbered from 1, each failure with an error
// that quotes the reply.
func checkHistory(t *testing.T, j map[string]any, want []attemptWant) {
	t.Helper()
	history, _ := j["history"].([]any)
	if len(history) != len(want) {
		t.Fatalf("history %v; want %d attempts", j["history"], len(want))
	}
	for i, w := range want {
		a := history[i].(map[string]any)
		errText, _ := a["error"].(string)
		if a["number"] != float64(i+1) || a["outcome"] != w.outcome || a["code"] != float64(w.code) || a["reply"] != w.reply ||
			(w.outcome == "succeeded") != (errText == "") || errText != "" && !strings.Contains(errText, w.reply) {
			t.Errorf("attempt %d: %v; want %s with %d %q", i+1, a, w.outcome, w.code, w.reply)
		}
	}
}

func TestSMTPPermanentFailureIsADeadLetterUntilReplayed(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		b := startMain(t, database)
		b.smtp.FailAlways(550)
		status, body := b.send(t, "adapter1", welcomeBody)
		if status != http.StatusAccepted {
			t.Fatalf("status %d %v", status, body)
		}
		id := body["event_id"].(string)
		ev := b.waitStatus(t, id, "failed")
		j := job(t, ev, 0)
		if j["attempts"] != float64(1) || j["state"] != "failed" || !strings.Contains(j["last_error"].(string), "550") {
			t.Fatalf("job %v: want failed at once on the 550", j)
		}
		checkHistory(t, j, []attemptWant{{"failed", 550, "5.7.1 Message refused (smtptest)"}})
		status, list := b.api(t, "GET", "/api/jobs?state=failed")
		jobs, _ := list["jobs"].([]any)
		if status != http.StatusOK || len(jobs) != 1 || jobs[0].(map[string]any)["event_id"] != id {
			t.Fatalf("GET /api/jobs?state=failed = %d %v", status, list)
		}
		_, failed := b.api(t, "GET", "/api/events?status=failed")
		if events := failed["events"].([]any); len(events) != 1 {
			t.Fatalf("GET /api/events?status=failed listed %d events", len(events))
		}

		b.smtp.FailAlways(0)
		if status, body := b.api(t, "POST", "/api/events/"+id+"/replay"); status != http.StatusAccepted {
			t.Fatalf("replay: %d %v", status, body)
		}
		msgs := b.smtp.WaitMessages(t, 1, 15*time.Second)
		ev = b.waitStatus(t, id, "succeeded")
		if len(msgs) != 1 || len(ev["jobs"].([]any)) != 2 || job(t, ev, 1)["state"] != "succeeded" {
			t.Fatalf("after replay: %d emails, event %v", len(msgs), ev)
		}
		checkHistory(t, job(t, ev, 1), []attemptWant{{"succeeded", 250, "2.0.0 OK: queued"}})
		if status, _ := b.api(t, "GET", "/api/jobs?state=failed"); status != http.StatusOK {
			t.Fatalf("list failed jobs: %d", status)
		}
	})
}

func TestAdminAPINeedsTheToken(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		b := startMain(t, database)
		for _, path := range []string{"/api/events", "/api/jobs?state=failed", "/api/rejections"} {
			for _, auth := range []string{"", "Bearer wrong", "Basic " + b.token} {
				req, _ := http.NewRequest("GET", "http://"+b.main.AdminAddr+path, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				if status, body := doJSON(t, req); status != http.StatusUnauthorized {
					t.Errorf("GET %s with %q: %d %v, want 401", path, auth, status, body)
				}
			}
			if status, _ := b.api(t, "GET", path); status != http.StatusOK {
				t.Errorf("GET %s with the token: %d", path, status)
			}
		}
		for _, path := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get("http://" + b.main.AdminAddr + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s without token: %d, want 200", path, resp.StatusCode)
			}
		}
		resp, err := http.Get("http://" + b.main.AdminAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Contains(metrics, []byte("go_goroutines")) {
			t.Errorf("/metrics lacks the Go collector")
		}
	})
}

func TestEventsListAndShowAndCursor(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		b := startMain(t, database)
		for i := range 3 {
			if status, body := b.send(t, "adapter2", fmt.Sprintf(`{"idempotency_key":"k%d"}`, i)); status != http.StatusAccepted {
				t.Fatalf("%d %v", status, body)
			}
		}
		status, page := b.api(t, "GET", "/api/events?service=adapter2&limit=2")
		if status != http.StatusOK || len(page["events"].([]any)) != 2 || page["next_cursor"] == nil {
			t.Fatalf("first page: %d %v", status, page)
		}
		_, page2 := b.api(t, "GET", "/api/events?service=adapter2&limit=2&cursor="+page["next_cursor"].(string))
		if len(page2["events"].([]any)) != 1 || page2["next_cursor"] != nil {
			t.Fatalf("second page: %v", page2)
		}
		first := page["events"].([]any)[0].(map[string]any)
		if first["idempotency_key"] != "k2" || first["status"] != "succeeded" {
			t.Errorf("newest event = %v, want k2, succeeded (noop)", first)
		}
		if status, body := b.api(t, "GET", "/api/events/evt_missing"); status != http.StatusNotFound {
			t.Errorf("missing event: %d %v", status, body)
		}
		if status, body := b.api(t, "GET", "/api/events?limit=0"); status != http.StatusBadRequest {
			t.Errorf("limit=0: %d %v", status, body)
		}
		// A range of received times.
		received, _ := time.Parse(time.RFC3339Nano, first["received_at"].(string))
		q := "&since=" + url.QueryEscape(received.Format(time.RFC3339Nano))
		if _, in := b.api(t, "GET", "/api/events?service=adapter2"+q); len(in["events"].([]any)) != 1 {
			t.Errorf("since the newest: %v, want it alone", in)
		}
		q = "&until=" + url.QueryEscape(received.Format(time.RFC3339Nano))
		if _, before := b.api(t, "GET", "/api/events?service=adapter2"+q); len(before["events"].([]any)) != 2 {
			t.Errorf("until the newest: %v, want the two before it", before)
		}
		if status, body := b.api(t, "GET", "/api/events?until=yesterday"); status != http.StatusBadRequest {
			t.Errorf("until=yesterday: %d %v", status, body)
		}
	})
}
