package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/forward"
	"github.com/hookd/hookd/store"
)

// bulkReplayConfig forwards two services' events to one destination,
// without retries: a failed attempt is a dead letter at once.
const bulkReplayConfig = `
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0, token: %q}
database: %q
workers: {poll_interval: 50ms, fetch_cooldown: 5ms}
services:
  bulk:
    verify: {secrets: [secret-bulk-0123456789abcdef]}
    actions:
      - forward: {url: %q, max_attempts: 1}
  other:
    verify: {secrets: [secret-other-0123456789abcdef]}
    actions:
      - forward: {url: %q, max_attempts: 1}
`

// countingSink is a forward destination that counts the requests it
// receives for each event (X-Hookd-Event-Id) and answers 204.
type countingSink struct {
	*httptest.Server
	mu     sync.Mutex
	counts map[string]int
	total  int
}

func newCountingSink(t *testing.T) *countingSink {
	s := &countingSink{counts: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.counts[r.Header.Get(forward.HeaderEventID)]++
		s.total++
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.Close)
	return s
}

// received returns how many requests s received, and for how many of ids.
func (s *countingSink) received(ids []string) (total, of int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if s.counts[id] > 0 {
			of++
		}
	}
	return s.total, of
}

// storeState is what the admin API shows of every event and queued job.
type storeState struct {
	events map[string]string // event ID: status
	jobs   map[string]string // job ID: event, state and attempts
}

// state reads every event and every queued job, page by page.
func (b *testBundle) state(t *testing.T) storeState {
	t.Helper()
	s := storeState{events: map[string]string{}, jobs: map[string]string{}}
	for _, list := range []string{"events", "jobs"} {
		cursor := ""
		for {
			status, page := b.api(t, "GET", "/api/"+list+"?limit=500&cursor="+url.QueryEscape(cursor))
			if status != http.StatusOK {
				t.Fatalf("GET /api/%s: %d %v", list, status, page)
			}
			for _, v := range page[list].([]any) {
				m := v.(map[string]any)
				if list == "events" {
					s.events[m["id"].(string)] = m["status"].(string)
				} else {
					s.jobs[fmt.Sprint(m["id"])] = fmt.Sprint(m["event_id"], " ", m["state"], " ", m["attempts"])
				}
			}
			next, _ := page["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return s
}

// seedEvent is one event to store before hookd starts: its service, when
// it was received, and whether its first attempt succeeded.
type seedEvent struct {
	service  string
	received time.Time
	ok       bool
}

// seed stores events straight through the store's batch paths (Accept,
// then Settle of each first attempt, as "hookd bench fill" does), failed
// ones permanently: dead letters in seconds rather than one HTTP request
// and one attempt each. It returns their IDs in order.
func seed(t *testing.T, yaml string, events []seedEvent) []string {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	l, err := build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := open(ctx, l.cfg, slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	claim := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	ids := make([]string, len(events))
	const batch = 2000
	for start := 0; start < len(events); start += batch {
		var subs []hookd.Submission
		for i := start; i < min(start+batch, len(events)); i++ {
			e := events[i]
			at := e.received.UTC().Truncate(time.Microsecond)
			key := fmt.Sprintf("seed-%05d", i)
			body := fmt.Sprintf(`{"idempotency_key":%q}`, key)
			sum := sha256.Sum256([]byte(body))
			ev := &hookd.Event{ID: store.NewEventIDAt(at), Service: e.service, IdempotencyKey: key, PayloadHash: sum[:],
				Body: []byte(body), Header: http.Header{"Content-Type": {"application/json"}}, ReceivedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
			ids[i] = ev.ID
			subs = append(subs, hookd.Submission{Event: ev, Jobs: hookd.JobsFor(l.services[e.service], ev.ID), ClaimedUntil: claim})
		}
		results, err := db.Accept(ctx, subs)
		if err != nil {
			t.Fatal(err)
		}
		var settlements []hookd.Settlement
		for i, sub := range subs {
			if results[i].Outcome != hookd.Accepted {
				t.Fatalf("seed event %d: outcome %v", start+i, results[i].Outcome)
			}
			a := hookd.Attempt{Job: sub.Jobs[0], StartedAt: sub.Event.ReceivedAt, FinishedAt: sub.Event.ReceivedAt.Add(time.Millisecond)}
			if !events[start+i].ok {
				a.Error, a.Permanent = "forward: POST /: 410 Gone", true
			}
			settlements = append(settlements, hookd.Settlement{Claim: hookd.Claim{EventID: sub.Event.ID, Until: claim}, Attempts: []hookd.Attempt{a}})
		}
		settled, err := db.Settle(ctx, settlements)
		if err != nil {
			t.Fatal(err)
		}
		if len(settled) != len(settlements) {
			t.Fatalf("seed: %d of %d settled", len(settled), len(settlements))
		}
	}
	if pg, ok := db.(interface{ Pool() *pgxpool.Pool }); ok {
		// As "hookd bench fill" does: autovacuum would get to it in time;
		// until then the planner takes the tables for empty.
		if _, err := pg.Pool().Exec(ctx, `ANALYZE hookd_event, river_job`); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// TestBulkReplayOfTenThousandDeadLetters replays 10,000 dead letters by a
// filter that leaves others out (another service, succeeded events, and
// events received just outside the time range): a dry run first, which
// changes nothing, then the replay, which delivers each selected event
// exactly once more and no other, then a second request that finds
// nothing left.
func TestBulkReplayOfTenThousandDeadLetters(t *testing.T) {
	// admin.MaxBulkReplay: the most one request takes. The race detector
	// runs modernc's SQLite, Go compiled from C, some fifty times slower,
	// and its work is finding data races, which a tenth of the events
	// exercises as well: the same pages, batches and concurrent delivery.
	// .ci/run also runs this test without it, at full size.
	n := admin.MaxBulkReplay
	if raceDetector {
		n /= 10
	}
	backends(t, func(t *testing.T, database string) { testBulkReplay(t, database, n) })
}

// testBulkReplay is TestBulkReplayOfTenThousandDeadLetters with n events
// to replay.
func testBulkReplay(t *testing.T, database string, n int) {
	dest := newCountingSink(t)
	yaml := fmt.Sprintf(bulkReplayConfig, dashboardToken, database, dest.URL, dest.URL)

	// The range is [since, until): the first selected event is received
	// at since itself; of those left out, one a microsecond before it,
	// one at until.
	until := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	since := until.Add(-time.Hour)
	step := time.Hour / time.Duration(n)
	var events []seedEvent
	for i := range n {
		events = append(events, seedEvent{service: "bulk", received: since.Add(time.Duration(i) * step)})
	}
	for i := range 20 {
		in := since.Add(time.Duration(i) * time.Minute)
		events = append(events,
			seedEvent{service: "other", received: in},                                                         // another service
			seedEvent{service: "bulk", received: in.Add(time.Second), ok: true},                               // succeeded
			seedEvent{service: "bulk", received: since.Add(-time.Microsecond - time.Duration(i)*time.Second)}, // before since
			seedEvent{service: "bulk", received: until.Add(time.Duration(i) * time.Second)})                   // at or after until
	}
	ids := seed(t, yaml, events)
	selected, excluded := ids[:n], ids[n:]

	b := &testBundle{main: runMain(t, yaml, roleAll), token: dashboardToken}
	before := b.state(t)
	if len(before.events) != len(ids) || len(before.jobs) != len(ids)-20 {
		t.Fatalf("seeded: %d events, %d queued jobs; want %d and %d (the failed ones)", len(before.events), len(before.jobs), len(ids), len(ids)-20)
	}
	for i, id := range ids {
		if want := map[bool]string{true: "succeeded", false: "failed"}[events[i].ok]; before.events[id] != want {
			t.Fatalf("seeded event %d (%s) is %q, want %s", i, id, before.events[id], want)
		}
	}

	filter := map[string]any{"service": "bulk", "since": since, "until": until}
	dry := map[string]any{"dry_run": true}
	for k, v := range filter {
		dry[k] = v
	}
	status, body := b.apiBody(t, "POST", "/api/replays", dry)
	if status != http.StatusOK || body["events"] != float64(n) {
		t.Fatalf("dry run: %d %v; want 200 and %d events", status, body, n)
	}
	after := b.state(t)
	if !maps.Equal(after.events, before.events) || !maps.Equal(after.jobs, before.jobs) {
		t.Fatalf("the dry run changed what the store holds")
	}
	if total, _ := dest.received(nil); total != 0 {
		t.Fatalf("the destination received %d requests after the dry run, want none", total)
	}

	status, body = b.apiBody(t, "POST", "/api/replays", filter)
	if status != http.StatusAccepted || body["total"] != float64(n) || body["id"] == nil {
		t.Fatalf("replay: %d %v; want 202 with an id and a total of %d", status, body, n)
	}
	run := body["id"].(string)
	replayed := 0.0
	waitFor(t, 2*time.Minute, "the bulk replay to finish", func() bool {
		status, body = b.api(t, "GET", "/api/replays/"+run)
		if status != http.StatusOK || body["total"] != float64(n) {
			t.Fatalf("progress: %d %v", status, body)
		}
		r := body["replayed"].(float64)
		if r < replayed {
			t.Fatalf("progress went back from %v to %v replayed", replayed, r)
		}
		replayed = r
		return body["done"] == true
	})
	if body["replayed"] != float64(n) || body["skipped"] != float64(0) || body["failed"] != float64(0) {
		t.Fatalf("progress %v; want %d replayed, none skipped or failed", body, n)
	}
	waitFor(t, 2*time.Minute, "the destination to receive every replayed event", func() bool {
		_, of := dest.received(selected)
		return of == n
	})
	waitFor(t, time.Minute, "every replayed event to be settled", func() bool {
		status, page := b.api(t, "GET", "/api/events?status=pending&limit=1")
		if status != http.StatusOK {
			t.Fatalf("GET /api/events?status=pending: %d %v", status, page)
		}
		return len(page["events"].([]any)) == 0
	})

	final := b.state(t)
	// One line per kind of problem, with an example: a bug would
	// otherwise print thousands.
	problems := map[string][]string{}
	dest.mu.Lock()
	for _, id := range selected {
		if c := dest.counts[id]; c != 1 {
			problems["selected events that did not reach the destination exactly once"] = append(
				problems["selected events that did not reach the destination exactly once"], fmt.Sprintf("%s ×%d", id, c))
		}
		if final.events[id] != "succeeded" {
			problems["replayed events not succeeded"] = append(problems["replayed events not succeeded"], id+" "+final.events[id])
		}
	}
	for _, id := range excluded {
		if c := dest.counts[id]; c != 0 {
			problems["events outside the filter that reached the destination"] = append(
				problems["events outside the filter that reached the destination"], fmt.Sprintf("%s ×%d", id, c))
		}
		if final.events[id] != before.events[id] {
			problems["events outside the filter whose status changed"] = append(
				problems["events outside the filter whose status changed"], id+" "+before.events[id]+" → "+final.events[id])
		}
	}
	total := dest.total
	dest.mu.Unlock()
	for _, what := range slices.Sorted(maps.Keys(problems)) {
		t.Errorf("%d %s, e.g. %s", len(problems[what]), what, problems[what][0])
	}
	if total != n {
		t.Errorf("the destination received %d requests, want %d", total, n)
	}
	for id, job := range before.jobs {
		if final.jobs[id] != job {
			t.Fatalf("job %s was %q before the replay and is %q after; a replay adds jobs, it changes none", id, job, final.jobs[id])
		}
	}
	if added := len(final.jobs) - len(before.jobs); added != n {
		t.Errorf("the replay added %d queued jobs, want one per replayed event, %d", added, n)
	}

	// Nothing is left for the same filter.
	if status, body := b.apiBody(t, "POST", "/api/replays", dry); status != http.StatusOK || body["events"] != float64(0) {
		t.Errorf("dry run after the replay: %d %v; want 0 events", status, body)
	}
	status, body = b.apiBody(t, "POST", "/api/replays", filter)
	if status != http.StatusAccepted || body["total"] != float64(0) {
		t.Fatalf("second replay: %d %v; want 202 and a total of 0", status, body)
	}
	run = body["id"].(string)
	waitFor(t, 15*time.Second, "the empty replay to finish", func() bool {
		_, body = b.api(t, "GET", "/api/replays/"+run)
		return body["done"] == true
	})
	if body["replayed"] != float64(0) || body["failed"] != float64(0) {
		t.Errorf("second replay's progress %v; want nothing replayed", body)
	}
	if total, _ := dest.received(nil); total != n {
		t.Errorf("the destination received %d requests after the second replay, want still %d", total, n)
	}
}
