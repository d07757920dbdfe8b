package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/internal/logtest"
	"github.com/hookd/hookd/internal/smtptest"
)

// TestDeadLettersAreLoggedOnceWithTheDestinationsWords fails one email
// permanently (550) and one by running out of attempts (421): each is
// logged once, at ERROR, with what identifies it, and last_error is what
// the SMTP server said. River's own routine stays out of an INFO log.
func TestDeadLettersAreLoggedOnceWithTheDestinationsWords(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		smtp := smtptest.Start(t)
		token := "admin-token-for-tests"
		cfg, err := config.Parse(fmt.Appendf(nil, testConfig, token, database, smtp.URL()), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		l, err := build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		logs := &logtest.Buffer{}
		m := &Main{Config: l.cfg, Services: l.services, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		b := &testBundle{main: m, smtp: smtp, token: token}
		endpoint := "email: send via " + smtp.URL() + ": "

		smtp.FailAlways(550)
		_, body := b.send(t, "adapter1", `{"idempotency_key":"k-550","email":"ada@example.com"}`)
		permanent := body["event_id"].(string)
		j := job(t, b.waitStatus(t, permanent, "failed"), 0)
		if want := endpoint + "550 5.7.1 Message refused (smtptest)"; j["last_error"] != want || j["attempts"] != float64(1) {
			t.Errorf("job %v, want last_error %q after 1 attempt", j, want)
		}
		_, list := b.api(t, "GET", "/api/jobs?state=failed")
		if jobs := list["jobs"].([]any); len(jobs) != 1 || jobs[0].(map[string]any)["last_error"] != j["last_error"] {
			t.Errorf("GET /api/jobs = %v", list)
		}

		smtp.FailAlways(421)
		_, body = b.send(t, "adapter1", `{"idempotency_key":"k-421","email":"bob@example.com"}`)
		exhausted := body["event_id"].(string)
		j = job(t, b.waitStatus(t, exhausted, "failed"), 0)
		if want := endpoint + "421 4.3.2 Service not available, closing transmission channel (smtptest)"; j["last_error"] != want || j["attempts"] != float64(4) {
			t.Errorf("job %v, want last_error %q after 4 attempts", j, want)
		}

		dead := map[string][]map[string]any{}
		for _, r := range logs.Records() {
			msg, _ := r["msg"].(string)
			if r["level"] == "INFO" && (strings.Contains(msg, "Job errored") || strings.Contains(msg, "River client")) {
				t.Errorf("River's routine logged at INFO: %v", r)
			}
			if msg == "job failed: dead letter until replayed" {
				id, _ := r["event_id"].(string)
				dead[id] = append(dead[id], r)
			}
		}
		for id, want := range map[string]string{permanent: "1 permanent failure 550", exhausted: "4 out of attempts 421"} {
			if len(dead[id]) != 1 {
				t.Errorf("event %s logged as a dead letter %d times, want once:\n%s", id, len(dead[id]), logs)
				continue
			}
			r := dead[id][0]
			got := fmt.Sprint(r["attempts"], " ", r["reason"], " ", strings.TrimPrefix(r["last_error"].(string), endpoint)[:3])
			if r["level"] != "ERROR" || r["service"] != "adapter1" || r["action"] != "email" || r["max_attempts"] != float64(4) || got != want {
				t.Errorf("dead letter line %v, want %s", r, want)
			}
		}
	})
}

// serveForTest runs "hookd serve args…" through run until the test ends,
// and returns its log once it has started.
func serveForTest(t *testing.T, args ...string) *logtest.Buffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logtest.Buffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), nil, &bytes.Buffer{}, logs) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs)
		}
	})
	waitFor(t, 30*time.Second, "hookd to start", func() bool {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d:\n%s", code, logs)
		default:
		}
		return strings.Contains(logs.String(), "hookd started")
	})
	return logs
}

// TestServeLogFlags checks --log-level and --log-format, their variables,
// and the start-up line: where mail goes and which database, without
// credentials, and only what the role runs.
func TestServeLogFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfgPath := filepath.Join(dir, "hookd.yaml")
	os.WriteFile(cfgPath, []byte(`
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
database: sqlite:data/hookd.db
smtp: {url: "smtp://mailer:s3cr3t-pw@127.0.0.1:2525"}
services:
  adapter1:
    verify: {secrets: [secret-one-0123456789]}
    actions: [email]
`), 0o600)
	os.Mkdir(filepath.Join(dir, "data"), 0o700)

	for _, c := range []struct {
		env, args []string
		want      string
	}{
		{nil, []string{"--log-level", "loud"}, `hookd: --log-level: "loud" is not one of debug, info, warn, error`},
		{nil, []string{"--log-format", "xml"}, `hookd: --log-format: "xml" is not one of text, json`},
		{[]string{"HOOKD_LOG_LEVEL", "verbose"}, nil, `hookd: HOOKD_LOG_LEVEL: "verbose" is not one of debug, info, warn, error`},
	} {
		t.Run(c.want, func(t *testing.T) {
			if c.env != nil {
				t.Setenv(c.env[0], c.env[1])
			}
			var stdout, stderr bytes.Buffer
			args := append([]string{"serve", "--config", cfgPath}, c.args...)
			if code := run(context.Background(), args, nil, &stdout, &stderr); code != 2 || strings.TrimSpace(stderr.String()) != c.want {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), c.want)
			}
		})
	}

	// The flag wins over the variable; JSON at debug level.
	t.Setenv("HOOKD_LOG_FORMAT", "xml")
	t.Setenv("HOOKD_LOG_LEVEL", "error")
	logs := serveForTest(t, "--config", cfgPath, "--log-format", "json", "--log-level", "debug")
	var started map[string]any
	for _, r := range logs.Records() {
		if r["msg"] == "hookd started" {
			started = r
		}
	}
	if started == nil || started["role"] != "all" || started["ingest"] == nil ||
		started["database"] != "sqlite:"+filepath.Join(dir, "data", "hookd.db") || started["smtp"] != "127.0.0.1:2525" {
		t.Errorf("start-up line %v, want the role's listeners, the database file and where mail goes:\n%s", started, logs)
	}
	if strings.Contains(logs.String(), "s3cr3t-pw") || strings.Contains(logs.String(), "mailer") {
		t.Errorf("the SMTP credentials are in the log:\n%s", logs)
	}

	// A worker has no webhook listener, an ingest process sends no mail:
	// their start-up lines leave those out.
	t.Setenv("HOOKD_LOG_LEVEL", "info")
	t.Setenv("HOOKD_LOG_FORMAT", "text")
	worker := serveForTest(t, "--config", cfgPath, "--role", "worker")
	if line := startLine(worker.String()); !strings.Contains(line, "role=worker") || strings.Contains(line, "ingest=") || !strings.Contains(line, "smtp=127.0.0.1:2525") {
		t.Errorf("worker start-up line: %s", line)
	}
	ingest := serveForTest(t, "--config", cfgPath, "--role", "ingest")
	if line := startLine(ingest.String()); !strings.Contains(line, "ingest=127.0.0.1:") || strings.Contains(line, "smtp=") {
		t.Errorf("ingest start-up line: %s", line)
	}
	for _, l := range []*logtest.Buffer{worker, ingest} {
		if strings.Contains(l.String(), "level=DEBUG") || strings.Contains(l.String(), "River client started") {
			t.Errorf("DEBUG lines at the info level:\n%s", l)
		}
	}
}

func startLine(log string) string {
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, `msg="hookd started"`) {
			return line
		}
	}
	return ""
}

// TestForwardFailuresRecordTheTargetsWords: a forward target answering 503
// until the attempts run out, and one answering 400 at once, leave their
// status and body as last_error, with the target's URL.
func TestForwardFailuresRecordTheTargetsWords(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/busy") {
				http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
				return
			}
			http.Error(w, "no such customer", http.StatusBadRequest)
		}))
		t.Cleanup(target.Close)
		token := "admin-token-for-tests"
		m := runMain(t, fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0, token: %q}
database: %q
workers: {poll_interval: 50ms, fetch_cooldown: 5ms}
services:
  busy:
    verify: {secrets: [secret-one-0123456789]}
    actions:
      - forward: {url: %q, max_attempts: 2, backoff: {min: 10ms, max: 20ms}}
  refused:
    verify: {secrets: [secret-one-0123456789]}
    actions:
      - forward: {url: %q, max_attempts: 2}
`, token, database, target.URL+"/busy?token=hidden", target.URL+"/refused"), roleAll)
		b := &testBundle{main: m, token: token}
		for service, want := range map[string]string{
			"busy":    "forward: POST " + target.URL + "/busy?…: 503 Service Unavailable: \"down for maintenance\"",
			"refused": "forward: POST " + target.URL + "/refused: 400 Bad Request: \"no such customer\"",
		} {
			status, body := b.send(t, service, `{"idempotency_key":"f-1"}`)
			if status != http.StatusAccepted {
				t.Fatalf("%s: %d %v", service, status, body)
			}
			j := job(t, b.waitStatus(t, body["event_id"].(string), "failed"), 0)
			if j["last_error"] != want {
				t.Errorf("%s: last_error %q, want %q", service, j["last_error"], want)
			}
		}
	})
}
