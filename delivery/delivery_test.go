package delivery_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/forward"
	"github.com/hookd/hookd/jobs"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/sqlite"
)

// bundle is one test's engine over a real SQLite store, forwarding to a
// real HTTP sink whose answer the test sets.
type bundle struct {
	db     *sqlite.DB
	engine *delivery.Engine
	status atomic.Int32  // what the sink answers
	hold   chan struct{} // when not nil, the sink waits for it to close
	hits   atomic.Int32  // requests the sink received
	svc    *hookd.Service
	cancel context.CancelFunc
}

func setup(t *testing.T, capacity int, lease time.Duration, hold chan struct{}) *bundle {
	t.Helper()
	t.Parallel()
	b := &bundle{hold: hold}
	b.status.Store(http.StatusNoContent)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		if b.hold != nil {
			<-b.hold
		}
		w.WriteHeader(int(b.status.Load()))
	}))
	t.Cleanup(sink.Close)
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.db = db
	b.svc = &hookd.Service{Name: "svc", Actions: []hookd.Action{{
		Type: hookd.ActionForward, MaxAttempts: 3, Backoff: hookd.Backoff{Min: time.Hour, Max: time.Hour},
		Forward: &hookd.ForwardAction{URL: sink.URL, Timeout: 10 * time.Second},
	}}}
	worker := jobs.NewWorker(jobs.Config{Events: db, Services: map[string]*hookd.Service{"svc": b.svc}, Logger: slog.New(slog.DiscardHandler),
		Forwarder: &forward.Forwarder{}, MaxPerDestination: 4})
	b.engine = delivery.New(delivery.Config{
		Store: db, Next: db, Attempter: worker, Logger: slog.New(slog.DiscardHandler),
		Capacity: capacity, Lease: lease, AttemptTimeout: 10 * time.Second,
	})
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	done := make(chan struct{})
	go func() { defer close(done); b.engine.Run(ctx) }()
	t.Cleanup(func() {
		if b.hold != nil {
			select {
			case <-b.hold:
			default:
				close(b.hold)
			}
		}
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_ = b.engine.Close(cctx)
		<-done
		cancel()
	})
	return b
}

// accept stores one new event of the service through the engine.
func (b *bundle) accept(t *testing.T, key string) string {
	t.Helper()
	now := time.Now().UTC()
	body := []byte(`{"n":"` + key + `"}`)
	sum := sha256.Sum256(body)
	ev := &hookd.Event{ID: store.NewEventID(), Service: "svc", IdempotencyKey: key, PayloadHash: sum[:], Body: body,
		Header: http.Header{"Content-Type": {"application/json"}}, ReceivedAt: now, ExpiresAt: now.Add(time.Hour)}
	res, err := b.engine.Accept(context.Background(), []hookd.Submission{{Event: ev, Jobs: hookd.JobsFor(b.svc, ev.ID)}})
	if err != nil || res[0].Outcome != hookd.Accepted {
		t.Fatalf("Accept = %+v, %v", res, err)
	}
	return ev.ID
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (b *bundle) event(t *testing.T, id string) *hookd.Event {
	t.Helper()
	ev, err := b.db.Event(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestFirstAttemptRunsAfterTheCommit(t *testing.T) {
	b := setup(t, 8, 5*time.Second, nil)
	id := b.accept(t, "k1")
	waitFor(t, "the event to settle", func() bool { return b.event(t, id).Status != hookd.EventPending })
	ev := b.event(t, id)
	if ev.Status != hookd.EventSucceeded || len(ev.Jobs) != 1 || ev.Jobs[0].Attempts != 1 || !ev.Jobs[0].Settled {
		t.Fatalf("status %s, jobs %+v; want one succeeded job after one attempt, settled without the queue", ev.Status, ev.Jobs[0])
	}
	if n := b.hits.Load(); n != 1 {
		t.Errorf("sink hit %d times, want 1", n)
	}
	// Nothing is left for the queue's dispatcher.
	if n, err := b.db.Dispatch(context.Background(), 10); n != 0 || err != nil {
		t.Errorf("Dispatch = %d, %v; want nothing: the first attempt was made in memory", n, err)
	}
}

func TestFailedFirstAttemptWaitsInTheQueue(t *testing.T) {
	b := setup(t, 8, 5*time.Second, nil)
	b.status.Store(http.StatusServiceUnavailable)
	id := b.accept(t, "k1")
	waitFor(t, "the failed attempt to settle", func() bool {
		ev := b.event(t, id)
		return len(ev.Jobs) == 1 && ev.Jobs[0].ID != 0
	})
	ev := b.event(t, id)
	j := ev.Jobs[0]
	if ev.Status != hookd.EventPending || j.State != hookd.JobRetrying || j.Attempts != 1 || j.LastError == "" {
		t.Fatalf("status %s, job %+v; want a job retrying after one attempt, with its error", ev.Status, j)
	}
}

func TestFullEngineLeavesEventsToTheQueue(t *testing.T) {
	hold := make(chan struct{})
	b := setup(t, 1, 5*time.Second, hold)
	first := b.accept(t, "k1")
	waitFor(t, "the first attempt to reach the sink", func() bool { return b.hits.Load() == 1 })
	second := b.accept(t, "k2") // no room: stored unclaimed
	if n, err := b.db.Dispatch(context.Background(), 10); n != 1 || err != nil {
		t.Fatalf("Dispatch = %d, %v; want the second event, which the full engine left in the outbox", n, err)
	}
	close(hold)
	waitFor(t, "the first event to settle", func() bool { return b.event(t, first).Status == hookd.EventSucceeded })
	if ev := b.event(t, second); ev.Jobs[0].Attempts != 0 || ev.Jobs[0].State != hookd.JobPending {
		t.Errorf("second event's job %+v; want it queued, not attempted by the engine", ev.Jobs[0])
	}
}

func TestLongAttemptKeepsItsClaim(t *testing.T) {
	hold := make(chan struct{})
	b := setup(t, 8, time.Second, hold)
	id := b.accept(t, "k1")
	waitFor(t, "the attempt to reach the sink", func() bool { return b.hits.Load() == 1 })
	// Past the first lease, the claim has been renewed: nothing is due.
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if n, err := b.db.Dispatch(context.Background(), 10); n != 0 || err != nil {
			t.Fatalf("Dispatch = %d, %v while the attempt runs; want nothing", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(hold)
	waitFor(t, "the event to settle", func() bool { return b.event(t, id).Status == hookd.EventSucceeded })
}

func TestTakenOverClaimIsNotSettled(t *testing.T) {
	hold := make(chan struct{})
	b := setup(t, 8, 5*time.Second, hold)
	id := b.accept(t, "k1")
	waitFor(t, "the attempt to reach the sink", func() bool { return b.hits.Load() == 1 })
	// As if the claim had expired: a dispatcher queues the work.
	if n, err := b.db.ReleaseClaims(context.Background()); n != 1 || err != nil {
		t.Fatalf("ReleaseClaims = %d, %v", n, err)
	}
	if n, err := b.db.Dispatch(context.Background(), 10); n != 1 || err != nil {
		t.Fatalf("Dispatch = %d, %v", n, err)
	}
	close(hold)
	// The engine's outcome is dropped: the queue's job stays the one job.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.engine.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ev := b.event(t, id)
	if len(ev.Jobs) != 1 || ev.Jobs[0].State != hookd.JobPending || ev.Jobs[0].Attempts != 0 {
		t.Fatalf("jobs %s; want the queued job alone, not yet attempted", fmt.Sprint(ev.Jobs[0]))
	}
}
