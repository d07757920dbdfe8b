package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/internal/smtptest"
	"github.com/hookd/hookd/store/postgres"
	"github.com/hookd/hookd/verify"
)

// Scale-out tests: several real hookd processes on one PostgreSQL schema.

const pgSecret = "pg-secret-0123456789"

// writePGConfig writes a configuration for a hookd on databaseURL and
// returns its path.
func writePGConfig(t *testing.T, databaseURL, smtpURL string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookd.yaml")
	err := os.WriteFile(path, []byte(fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
database: %q
smtp: {url: %s}
workers: {poll_interval: 50ms, fetch_cooldown: 5ms, job_timeout: 1s, rescue_after: 2s}
services:
  signup:
    verify: {secrets: [%s]}
    actions:
      - email: {max_attempts: 100, backoff: {min: 20ms, max: 200ms}}
`, databaseURL, smtpURL, pgSecret)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// signedPost returns a request to ingest for body, signed for the signup service.
func signedPost(t *testing.T, ingest, body string) *http.Request {
	t.Helper()
	v, err := verify.New(verify.Config{Secrets: []string{pgSecret}})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := v.Sign([]byte(body), "", time.Now())
	req, _ := http.NewRequest(http.MethodPost, "http://"+ingest+"/webhooks/signup", strings.NewReader(body))
	req.Header = h
	return req
}

// listEvents returns every event of the admin API at admin matching query.
func listEvents(t *testing.T, admin, query string) []map[string]any {
	t.Helper()
	var all []map[string]any
	cursor := ""
	for {
		resp, err := http.Get("http://" + admin + "/api/events?limit=500&" + query + "&cursor=" + url.QueryEscape(cursor))
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Events     []map[string]any `json:"events"`
			NextCursor string           `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Events...)
		if cursor = page.NextCursor; cursor == "" {
			return all
		}
	}
}

func TestTwoProcessesOnePostgresExactlyOnce(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	smtp := smtptest.Start(t)
	cfg := writePGConfig(t, dbURL, smtp.URL())
	env := []string{"HOOKD_CONFIG=" + cfg}
	procs := []*process{startHookd(t, t.TempDir(), env), startHookd(t, t.TempDir(), env)}

	const n = 50
	body := `{"idempotency_key":"same-key","email":"ada@example.com"}`
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		req := signedPost(t, procs[i%2].ingest, body)
		wg.Go(func() {
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusAccepted] != 1 || count[http.StatusOK] != n-1 {
		t.Fatalf("statuses %v across two processes, want one 202 and %d × 200", count, n-1)
	}
	smtp.WaitMessages(t, 1, 30*time.Second)
	waitFor(t, 30*time.Second, "the event to succeed", func() bool {
		return len(listEvents(t, procs[1].admin, "status=pending")) == 0
	})
	if events := listEvents(t, procs[0].admin, "idempotency_key=same-key"); len(events) != 1 {
		t.Fatalf("%d events stored, want 1", len(events))
	}
	if got := len(smtp.Messages()); got != 1 || smtp.Attempts() != 1 {
		t.Fatalf("%d emails in %d SMTP transactions, want exactly one", got, smtp.Attempts())
	}
}

func TestKillOneOfTwoProcessesMidway(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	smtp := smtptest.Start(t)
	smtp.FailAlways(421) // nothing is delivered until after the kill: every delivery is then countable
	cfg := writePGConfig(t, dbURL, smtp.URL())
	env := []string{"HOOKD_CONFIG=" + cfg}
	procs := []*process{startHookd(t, t.TempDir(), env), startHookd(t, t.TempDir(), env)}

	const n, senders = 2000, 16
	var mu sync.Mutex
	acked := map[string]bool{}
	killed := make(chan struct{})
	var killOnce sync.Once
	client := &http.Client{Timeout: 20 * time.Second}
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			for i := w; i < n; i += senders {
				if i == n/2 {
					killOnce.Do(func() {
						procs[0].cmd.Process.Signal(syscall.SIGKILL)
						close(killed)
					})
				}
				addr := fmt.Sprintf("user%d@example.com", i)
				body := fmt.Sprintf(`{"idempotency_key":"k%d","email":%q}`, i, addr)
				resp, err := client.Do(signedPost(t, procs[i%2].ingest, body))
				if err != nil {
					continue // the killed process: not acknowledged
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					mu.Lock()
					acked[addr] = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	<-killed
	<-procs[0].exited
	if len(acked) < n/2 {
		t.Fatalf("only %d of %d requests acknowledged", len(acked), n)
	}

	smtp.FailAlways(0)
	survivor := procs[1]
	stored := listEvents(t, survivor.admin, "service=signup")
	storedAddrs := map[string]bool{}
	for _, ev := range stored {
		storedAddrs["user"+strings.TrimPrefix(ev["idempotency_key"].(string), "k")+"@example.com"] = true
	}
	for addr := range acked {
		if !storedAddrs[addr] {
			t.Errorf("%s was acknowledged but is not stored", addr)
		}
	}
	waitFor(t, 150*time.Second, "every stored event's email", func() bool {
		return len(listEvents(t, survivor.admin, "status=pending")) == 0
	})
	got := map[string]int{}
	for _, m := range smtp.Messages() {
		got[m.To[0]]++
	}
	for addr := range storedAddrs {
		if got[addr] != 1 {
			t.Errorf("%s: %d emails, want exactly 1", addr, got[addr])
		}
	}
	if len(got) != len(storedAddrs) {
		t.Errorf("emails to %d addresses, %d events stored", len(got), len(storedAddrs))
	}
	t.Logf("%d sent, %d acknowledged, %d stored, %d emails", n, len(acked), len(stored), len(smtp.Messages()))
}

// proxy is a TCP proxy to PostgreSQL that a test can cut and restore, to
// take the database away from a running hookd without touching the shared
// server.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	p.restore()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every proxied connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	u, _ := url.Parse(dbURL)
	p := startProxy(t, u.Host)
	u.Host = p.addr
	m := runMain(t, fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
database: %q
workers: {poll_interval: 50ms, fetch_cooldown: 5ms}
services:
  signup:
    verify: {secrets: [%s]}
    actions: [noop]
`, u.String(), pgSecret), roleAll)

	client := &http.Client{Timeout: 30 * time.Second}
	var acked []string
	send := func(i int) (int, http.Header, time.Duration) {
		start := time.Now()
		resp, err := client.Do(signedPost(t, m.IngestAddr, fmt.Sprintf(`{"idempotency_key":"k%d"}`, i)))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		var body struct {
			EventID string `json:"event_id"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			acked = append(acked, body.EventID)
		}
		return resp.StatusCode, resp.Header, time.Since(start)
	}
	ready := func() int {
		resp, err := client.Get("http://" + m.AdminAddr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 10 {
		if status, _, _ := send(i); status != http.StatusAccepted {
			t.Fatalf("before the outage: request %d got %d", i, status)
		}
	}

	p.cut()
	for i := 10; i < 15; i++ {
		status, h, took := send(i)
		if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
			t.Fatalf("during the outage: request %d got %d (Retry-After %q), want 503 with Retry-After", i, status, h.Get("Retry-After"))
		}
		if took > 15*time.Second {
			t.Errorf("during the outage a request took %s to fail", took)
		}
	}
	if status := ready(); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d, want 503", status)
	}

	p.restore()
	restored := time.Now()
	i := 100
	waitFor(t, 30*time.Second, "hookd to accept again", func() bool {
		i++
		status, _, _ := send(i)
		return status == http.StatusAccepted
	})
	t.Logf("accepting again %s after the database came back", time.Since(restored).Round(time.Millisecond))
	if status := ready(); status != http.StatusOK {
		t.Errorf("/readyz after the outage: %d", status)
	}

	db, err := postgres.Open(context.Background(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range acked {
		if _, err := db.Event(context.Background(), id); err != nil {
			t.Errorf("acknowledged event %s: %v (%s)", id, err, hookd.ErrorCode(err))
		}
	}
}
