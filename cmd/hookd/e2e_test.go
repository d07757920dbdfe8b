package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/smtptest"
)

// These tests run the real hookd binary, built once per test run.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func hookdBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the hookd binary; skipped in -short mode")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hookd-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "hookd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is a running hookd binary.
type process struct {
	cmd           *exec.Cmd
	ingest, admin string
	mu            sync.Mutex
	log           bytes.Buffer
	exited        chan struct{}
}

var startedLine = regexp.MustCompile(`msg="hookd started" role=\S+(?: ingest=(\S+))? admin=(\S+)`)

// startHookd runs "hookd serve args…" in dir with env, and waits until it
// logs its bound addresses.
func startHookd(t *testing.T, dir string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(hookdBinary(t), append([]string{"serve"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	started := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := startedLine.FindStringSubmatch(sc.Text()); m != nil {
				started <- [2]string{m[1], m[2]}
			}
		}
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("hookd log:\n%s", p.logs())
		}
	})
	select {
	case addrs := <-started:
		p.ingest, p.admin = addrs[0], addrs[1]
	case <-p.exited:
		t.Fatalf("hookd exited before starting:\n%s", p.logs())
	case <-time.After(60 * time.Second):
		t.Fatalf("hookd did not start within 60s:\n%s", p.logs())
	}
	return p
}

func (p *process) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// hookdCommand runs a one-shot hookd command and returns its stdout.
func hookdCommand(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(hookdBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hookd %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// TestZeroConfigCurlExample is the README's quick start: zero-config serve
// with the two secrets set, "hookd sign" for the curl line, then the curl
// line itself: 202 and a welcome email.
func TestZeroConfigCurlExample(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	smtp := smtptest.Start(t)
	dir := t.TempDir()
	env := []string{"ADAPTER_1_SECRET=dev-secret-adapter-one", "ADAPTER_2_SECRET=dev-secret-adapter-two", "HOOKD_CONFIG=",
		"HOOKD_SMTP_URL=" + smtp.URL(), "HOOKD_LISTEN=127.0.0.1:0", "HOOKD_ADMIN_LISTEN=127.0.0.1:0"}
	p := startHookd(t, dir, env)
	if !strings.Contains(p.logs(), "admin API has no token") {
		t.Errorf("no warning about the open admin API:\n%s", p.logs())
	}
	if _, err := os.Stat(filepath.Join(dir, "hookd.db")); err != nil {
		t.Fatalf("zero-config database: %v", err)
	}

	signEnv := append(env, "HOOKD_LISTEN="+p.ingest)
	out := hookdCommand(t, dir, signEnv, "sign", "--service", "adapter1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	curl := lines[len(lines)-1]
	if !strings.HasPrefix(curl, "curl ") || !strings.Contains(out, "X-Signature: sha256=") {
		t.Fatalf("hookd sign printed:\n%s", out)
	}
	resp, err := exec.Command("sh", "-c", curl).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", curl, err, resp)
	}
	if !bytes.Contains(resp, []byte(" 202 ")) || !bytes.Contains(resp, []byte(`"status":"accepted"`)) {
		t.Fatalf("curl answer:\n%s", resp)
	}
	msgs := smtp.WaitMessages(t, 1, 20*time.Second)
	if msgs[0].To[0] != "ada@example.com" || !strings.Contains(strings.ToLower(msgs[0].Subject), "welcome") {
		t.Fatalf("email = %+v, want the welcome email", msgs[0])
	}
}

// TestSIGKILLAfter202LosesNothing kills hookd right after the last 202,
// while the SMTP server still refuses everything, restarts it on the same
// database and checks that every event is there and every email is sent.
func TestSIGKILLAfter202LosesNothing(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	smtp.FailAlways(421) // nothing can be delivered before the kill
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "hookd.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
database: sqlite:%s
smtp: {url: %s}
workers: {poll_interval: 50ms, fetch_cooldown: 5ms, job_timeout: 1s, rescue_after: 2s}
services:
  adapter1:
    verify: {secrets: [kill-secret-0123456789]}
    actions:
      - email: {max_attempts: 100, backoff: {min: 20ms, max: 200ms}}
`, filepath.Join(dir, "hookd.db"), smtp.URL())), 0o600)
	env := []string{"HOOKD_CONFIG=" + cfgPath}
	p := startHookd(t, dir, env)

	const n = 20
	client := &http.Client{Timeout: 10 * time.Second}
	var ids []string
	for i := range n {
		body := fmt.Sprintf(`{"idempotency_key":"kill-%d","email":"user%d@example.com"}`, i, i)
		req := signedRequest(t, dir, env, p.ingest, body)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var answer struct {
			EventID string `json:"event_id"`
		}
		json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		ids = append(ids, answer.EventID)
	}
	// Right after the last 202.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	if len(smtp.Messages()) != 0 {
		t.Fatal("an email was delivered before the kill; the test proves nothing")
	}

	smtp.FailAlways(0)
	p2 := startHookd(t, dir, env)
	msgs := smtp.WaitMessages(t, n, 60*time.Second)
	got := map[string]int{}
	for _, m := range msgs {
		got[m.To[0]]++
	}
	for i := range n {
		if got[fmt.Sprintf("user%d@example.com", i)] != 1 {
			t.Errorf("user%d@example.com got %d emails, want 1", i, got[fmt.Sprintf("user%d@example.com", i)])
		}
	}
	for _, id := range ids {
		resp, err := http.Get("http://" + p2.admin + "/api/events/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("event %s after restart: %d", id, resp.StatusCode)
		}
	}
}

// signedRequest asks "hookd sign --json" for the headers of body.
func signedRequest(t *testing.T, dir string, env []string, ingest, body string) *http.Request {
	t.Helper()
	cmd := exec.Command(hookdBinary(t), "sign", "--service", "adapter1", "--json", "--body", "-")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), env...), "HOOKD_LISTEN="+ingest)
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hookd sign: %v", err)
	}
	var signed struct {
		URL     string              `json:"url"`
		Headers map[string][]string `json:"headers"`
		Body    string              `json:"body"`
	}
	if err := json.Unmarshal(out, &signed); err != nil {
		t.Fatalf("hookd sign --json: %v: %s", err, out)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, signed.URL, io.NopCloser(strings.NewReader(signed.Body)))
	req.ContentLength = int64(len(signed.Body))
	req.Header = signed.Headers
	return req
}
