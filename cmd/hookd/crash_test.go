package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/pgtest"
)

// Crash tests: real hookd processes killed with SIGKILL under load, and a
// real HTTP destination counting each event's arrivals. They post to the
// "signup" service with pgSecret, as signedPost signs.

// crashConfig writes a configuration forwarding signup's events to url and
// returns its path.
func crashConfig(t *testing.T, database, url, workers string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookd.yaml")
	err := os.WriteFile(path, []byte(fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
database: %q
workers: %s
services:
  signup:
    verify: {secrets: [%s]}
    actions:
      - forward: {url: %q, timeout: 30s}
`, database, workers, pgSecret, url)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// ackSet is the event IDs hookd acknowledged with a 202.
type ackSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (a *ackSet) add(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ids == nil {
		a.ids = map[string]bool{}
	}
	a.ids[id] = true
}

func (a *ackSet) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.ids))
	for id := range a.ids {
		out = append(out, id)
	}
	return out
}

// post sends one signed request with a unique key to ingest and returns
// the 202's event ID, or "" when the request was not acknowledged (the
// process is gone). Any other answer fails the test.
func post(t *testing.T, client *http.Client, ingest, key string) string {
	resp, err := client.Do(signedPost(t, ingest, fmt.Sprintf(`{"idempotency_key":%q}`, key)))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var answer struct {
		EventID string `json:"event_id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&answer)
	if resp.StatusCode != http.StatusAccepted || err != nil {
		if err == nil { // a whole answer that is not a 202
			t.Errorf("request %s: %d", key, resp.StatusCode)
		}
		return ""
	}
	return answer.EventID
}

// destination is a forward destination recording, per X-Hookd-Event-Id,
// every request it receives and those it answered to a live sender.
type destination struct {
	*httptest.Server
	gate
	mu       sync.Mutex
	first    map[string]time.Time
	arrivals map[string]int
	answered map[string]int
}

func newDestination(t *testing.T) *destination {
	d := &destination{first: map[string]time.Time{}, arrivals: map[string]int{}, answered: map[string]int{}}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		id := r.Header.Get("X-Hookd-Event-Id")
		d.mu.Lock()
		if d.arrivals[id] == 0 {
			d.first[id] = time.Now()
		}
		d.arrivals[id]++
		d.mu.Unlock()
		if hold := d.held(); hold != nil {
			// Released once its sender is dead: not a delivery.
			<-hold
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		d.mu.Lock()
		d.answered[id]++
		d.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() { d.release(); d.Close() })
	return d
}

// gate makes a test destination's requests wait, unanswered, between
// holdRequests and release.
type gate struct {
	mu   sync.Mutex
	hold chan struct{} // when not nil, requests wait for it to close
}

func (g *gate) holdRequests() {
	g.mu.Lock()
	g.hold = make(chan struct{})
	g.mu.Unlock()
}

// release ends the requests held (for a crash test, once their sender is
// dead).
func (g *gate) release() {
	g.mu.Lock()
	if g.hold != nil {
		close(g.hold)
		g.hold = nil
	}
	g.mu.Unlock()
}

// held is what a request waits on: nil when requests are not held.
func (g *gate) held() chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.hold
}

// undelivered returns the IDs among ids that d has not answered.
func (d *destination) undelivered(ids []string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, id := range ids {
		if d.answered[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// firstArrival is when d first received a request for id.
func (d *destination) firstArrival(id string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.first[id]
}

// repeats returns how many events reached d more than once, and how many
// requests there were beyond each event's first.
func (d *destination) repeats() (events, extra int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.arrivals {
		if n > 1 {
			events++
			extra += n - 1
		}
	}
	return events, extra
}

// waitUntil polls cond until it holds, failing t at deadline.
func waitUntil(t *testing.T, deadline time.Time, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done by the deadline", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reclaimedLine is what a restart on SQLite logs when it takes back the
// claims and running jobs its killed predecessor left.
var reclaimedLine = regexp.MustCompile(`msg="took back the work of a previous run" claimed_events=(\d+) running_jobs=(\d+)`)

// TestSQLiteKilledThreeTimesUnderLoad kills hookd three times in a row
// while senders post to it, restarting it on the same file each time:
// every acknowledged event reaches the destination, all within 10s of the
// last restart, and an event reaches it twice only for work in flight at a
// kill. The destination answers at once in the first two runs, and not at
// all in the third (a stalled destination), so that its kill leaves work
// of every kind behind: claims, running and queued jobs, outbox entries.
func TestSQLiteKilledThreeTimesUnderLoad(t *testing.T) {
	t.Parallel()
	const (
		kills     = 3
		inFlight  = 8   // the delivery engine's claims: most events go through the queue
		senders   = 4   // goroutines posting at once
		perSender = 150 // requests each sends at most, per run
		killAt    = 200 // acknowledged requests in a run before its kill
	)
	dest := newDestination(t)
	dir := t.TempDir()
	cfg := crashConfig(t, "sqlite:"+filepath.Join(dir, "hookd.db"), dest.URL,
		fmt.Sprintf("{in_flight: %d, poll_interval: 50ms, fetch_cooldown: 5ms}", inFlight))
	env := []string{"HOOKD_CONFIG=" + cfg}
	client := &http.Client{Timeout: 10 * time.Second}
	var acked ackSet

	// What a restart can deliver again is what its predecessor held at the
	// kill and the restart takes back: claimed events (the engine's first
	// attempts, at most in_flight) and River jobs left running (those
	// running, and those done whose completion River had not written yet:
	// it writes them in batches). The restart counts both.
	var claims, running []int
	p := startHookd(t, dir, env)
	var lastRestart time.Time
	var undeliveredAtLastKill int
	for run := range kills {
		if run == kills-1 {
			dest.holdRequests()
		}
		var n atomic.Int32
		var once sync.Once
		kill := func() { once.Do(func() { p.cmd.Process.Signal(syscall.SIGKILL) }) }
		var wg sync.WaitGroup
		for w := range senders {
			wg.Go(func() {
				for i := range perSender {
					id := post(t, client, p.ingest, fmt.Sprintf("run%d-sender%d-%d", run, w, i))
					if id == "" {
						return // killed
					}
					acked.add(id)
					if n.Add(1) == killAt {
						kill() // the other senders are mid-request
					}
				}
			})
		}
		wg.Wait()
		kill() // in case the requests ran out first: then not under load, but still killed
		<-p.exited
		dest.release()
		if got := n.Load(); got < killAt {
			t.Errorf("run %d: killed after %d acknowledged requests, before the %d wanted", run, got, killAt)
		}
		undeliveredAtLastKill = len(dest.undelivered(acked.list()))

		lastRestart = time.Now()
		p = startHookd(t, dir, env)
		c, r := 0, 0
		if m := reclaimedLine.FindStringSubmatch(p.logs()); m != nil {
			c, _ = strconv.Atoi(m[1])
			r, _ = strconv.Atoi(m[2])
		}
		if c > inFlight {
			t.Errorf("run %d left %d claimed events; the engine holds at most workers.in_flight (%d)", run, c, inFlight)
		}
		claims, running = append(claims, c), append(running, r)
	}

	ids := acked.list()
	waitUntil(t, lastRestart.Add(10*time.Second), "every acknowledged event delivered within 10s of the last restart", func() bool {
		return len(dest.undelivered(ids)) == 0
	})
	delivered := time.Since(lastRestart)
	// Nothing more is to come once no event is pending: count the repeats then.
	waitUntil(t, time.Now().Add(20*time.Second), "no event pending", func() bool {
		return len(listEvents(t, p.admin, "status=pending")) == 0
	})
	events, extra := dest.repeats()
	bound := 0
	for i := range claims {
		bound += claims[i] + running[i]
	}
	t.Logf("%d events acknowledged over %d kills; %d undelivered at the last kill, all delivered %s after the last restart; "+
		"%d events delivered more than once (%d extra deliveries); taken back at the restarts: claimed events %v, running jobs %v",
		len(ids), kills, undeliveredAtLastKill, delivered.Round(time.Millisecond), events, extra, claims, running)
	if extra > bound {
		t.Errorf("%d extra deliveries; only the %d claims and running jobs taken back at the restarts could be delivered again", extra, bound)
	}
}

// TestPostgresKillOneTakesOverClaims runs two processes on one database
// with load spread over both, and kills one: the other delivers every
// event the dead one acknowledged, within 10s of the kill.
//
// The one to be killed forwards to a destination that never answers, so
// at the kill every event it acknowledged is claimed and undelivered: the
// survivor must take all of them over, from claims that expire after
// workers.claim_lease (5s). Its workers.in_flight (1000) is above the
// load, so all its first attempts are in its delivery engine and none in
// River. A River job left running by a dead process waits for River's
// rescuer, which runs on the leader every 30s (River's interval, not
// configurable) for jobs running longer than workers.rescue_after, and
// then for the job's backoff: beyond 10s however small rescue_after is.
func TestPostgresKillOneTakesOverClaims(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	const (
		senders   = 4
		perSender = 100 // requests each, alternating between the processes
		killAt    = 100 // acknowledged by the victim before its kill
	)
	dest := newDestination(t)
	gone := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-gone:
		}
	}))
	t.Cleanup(func() { close(gone); silent.Close() })
	workers := "{poll_interval: 50ms, fetch_cooldown: 5ms}"
	victim := startHookd(t, t.TempDir(), []string{"HOOKD_CONFIG=" + crashConfig(t, dbURL, silent.URL, workers)})
	survivor := startHookd(t, t.TempDir(), []string{"HOOKD_CONFIG=" + crashConfig(t, dbURL, dest.URL, workers)})

	client := &http.Client{Timeout: 10 * time.Second}
	var ofVictim, ofSurvivor ackSet
	var n atomic.Int32
	var once sync.Once
	var killedAt time.Time
	kill := func() {
		once.Do(func() {
			victim.cmd.Process.Signal(syscall.SIGKILL)
			killedAt = time.Now()
		})
	}
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			for i := range perSender {
				key := fmt.Sprintf("sender%d-%d", w, i)
				if i%2 == 1 {
					if id := post(t, client, survivor.ingest, key); id != "" {
						ofSurvivor.add(id)
					}
					continue
				}
				if id := post(t, client, victim.ingest, key); id != "" {
					ofVictim.add(id)
					if n.Add(1) == killAt {
						kill()
					}
				}
			}
		})
	}
	wg.Wait()
	kill()
	<-victim.exited
	if got := n.Load(); got < killAt {
		t.Fatalf("the victim acknowledged %d requests before its kill, want %d", got, killAt)
	}

	victims, survivors := ofVictim.list(), ofSurvivor.list()
	waitUntil(t, killedAt.Add(10*time.Second), "the victim's events delivered within 10s of its kill", func() bool {
		return len(dest.undelivered(victims)) == 0
	})
	tookOver := time.Since(killedAt)
	waitUntil(t, killedAt.Add(10*time.Second), "the survivor's own events delivered", func() bool {
		return len(dest.undelivered(survivors)) == 0
	})
	for _, id := range victims {
		// The victim held their claims, renewed, until its kill.
		if dest.firstArrival(id).Before(killedAt) {
			t.Errorf("event %s was delivered by the survivor while the victim's claim held", id)
		}
	}
	waitUntil(t, time.Now().Add(20*time.Second), "no event pending", func() bool {
		return len(listEvents(t, survivor.admin, "status=pending")) == 0
	})
	// Only the survivor reaches dest, and it was never killed.
	events, extra := dest.repeats()
	t.Logf("victim acknowledged %d, survivor %d; the victim's delivered by the survivor %s after the kill; %d events delivered more than once (%d extra deliveries)",
		len(victims), len(survivors), tookOver.Round(time.Millisecond), events, extra)
	if extra > 0 {
		t.Errorf("%d extra deliveries by a process that was never killed", extra)
	}
}
