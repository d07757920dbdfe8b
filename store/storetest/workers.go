package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/forward"
	"github.com/hookd/hookd/internal/logtest"
	"github.com/hookd/hookd/jobs"
)

// WorkerStore is a store that runs River's workers on its database.
type WorkerStore interface {
	hookd.Store
	jobs.EventReader
	Workers(w *jobs.Worker) (jobs.Runner, error)
}

// RunWorkers checks that s's Workers run an accepted event's job, a
// forward: the event succeeds once the client started, with the attempt
// recorded in the job's history. s is migrated and empty; the caller
// closes it.
func RunWorkers(t *testing.T, s WorkerStore) {
	ctx := context.Background()
	var forwarded atomic.Int32
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		forwarded.Add(1)
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(" queued \n"))
	}))
	defer dest.Close()
	sub := Submission("svc", "k", `{}`, 1)
	sub.Jobs[0].Args.Action = hookd.ActionForward
	mustAccept(t, s, sub)
	mustDispatch(t, s, 1)
	services := map[string]*hookd.Service{"svc": {Name: "svc", Actions: []hookd.Action{{Type: hookd.ActionForward, MaxAttempts: 4,
		Forward: &hookd.ForwardAction{URL: dest.URL, Timeout: 10 * time.Second}}}}}
	client, err := s.Workers(jobs.NewWorker(jobs.Config{Events: s, Attempts: s, Services: services, Forwarder: &forward.Forwarder{},
		Logger: slog.New(slog.DiscardHandler), MaxWorkers: 2, MaxPerDestination: 2,
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, JobTimeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer client.Stop(ctx)
	for deadline := time.Now().Add(30 * time.Second); ; {
		ev, err := s.Event(ctx, sub.Event.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Status == hookd.EventSucceeded && forwarded.Load() == 1 {
			h := ev.Jobs[0].History
			if len(h) != 1 || h[0].Number != 1 || h[0].Outcome != hookd.AttemptSucceeded || h[0].Code != http.StatusAccepted ||
				h[0].Reply != "queued" || h[0].Error != "" || h[0].StartedAt.IsZero() || h[0].Duration <= 0 {
				t.Fatalf("history %+v; want the one attempt, succeeded with 202 \"queued\"", h)
			}
			return
		}
		if ev.Status == hookd.EventFailed || time.Now().After(deadline) {
			t.Fatalf("event still %s, jobs %s", ev.Status, jobsString(ev.Jobs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RunWorkerStatus checks the status kept for listings (CheckStatus) as
// River's workers make the attempts after the first: a retry that fails
// again and then succeeds, a last attempt that fails, a permanent failure,
// a replay, and two actions of one event ending apart. s is migrated and
// empty; the caller closes it.
func RunWorkerStatus(t *testing.T, s WorkerStore) {
	ctx := context.Background()
	dest := newScripted(t)
	services := map[string]*hookd.Service{}
	for name, attempts := range map[string]int{"retry": 3, "exhausted": 2, "permanent": 3, "replay": 3, "two": 2} {
		svc := &hookd.Service{Name: name}
		for i := range 2 {
			svc.Actions = append(svc.Actions, hookd.Action{Type: hookd.ActionForward, MaxAttempts: attempts,
				Backoff: hookd.Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond},
				Forward: &hookd.ForwardAction{URL: fmt.Sprintf("%s/%s/%d", dest.URL, name, i), Timeout: 30 * time.Second}})
		}
		services[name] = svc
	}
	var logs logtest.Buffer
	client, err := s.Workers(jobs.NewWorker(jobs.Config{Events: s, Services: services, Forwarder: &forward.Forwarder{},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)), MaxWorkers: 4, MaxPerDestination: 4,
		FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, JobTimeout: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer client.Stop(ctx)

	// accept stores an event of service with jobs for its first n actions,
	// and settles their first attempts as failed, due again at once: the
	// queue has them from their second attempt on.
	accept := func(service string, n int, permanent bool) hookd.Submission {
		t.Helper()
		sub := Submission(service, service, `{}`, n)
		for i := range sub.Jobs {
			sub.Jobs[i].Args.Action, sub.Jobs[i].MaxAttempts = hookd.ActionForward, services[service].Actions[i].MaxAttempts
		}
		sub.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
		mustAccept(t, s, sub)
		a := attempts(sub, "HTTP 503")
		for i := range a {
			if a[i].Permanent = permanent; !permanent {
				a[i].RetryAt = a[i].FinishedAt
			}
		}
		if got, err := s.Settle(ctx, []hookd.Settlement{{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil},
			Attempts: a}}); err != nil || len(got) != 1 {
			t.Fatalf("Settle = %v, %v", got, err)
		}
		return sub
	}
	// waitFor waits until the event's jobs give it status want.
	waitFor := func(sub hookd.Submission, want hookd.EventStatus) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			ev, err := s.Event(ctx, sub.Event.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Status == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: status %s, want %s; jobs %s", sub.Event.IdempotencyKey, ev.Status, want, jobsString(ev.Jobs))
			}
		}
	}

	// A retry that fails again, and then succeeds.
	retry := accept("retry", 1, false)
	dest.answer("/retry/0", http.StatusServiceUnavailable) // attempt 2
	dest.arrived("/retry/0")                               // attempt 3 runs: River recorded attempt 2
	CheckStatus(t, s, retry.Event.ID, hookd.EventPending)
	dest.answer("/retry/0", http.StatusOK)
	waitFor(retry, hookd.EventSucceeded)
	CheckStatus(t, s, retry.Event.ID, hookd.EventSucceeded)

	// The last attempt fails.
	exhausted := accept("exhausted", 1, false)
	dest.answer("/exhausted/0", http.StatusServiceUnavailable)
	waitFor(exhausted, hookd.EventFailed)
	CheckStatus(t, s, exhausted.Event.ID, hookd.EventFailed)

	// A permanent failure, with attempts left.
	permanent := accept("permanent", 1, false)
	dest.answer("/permanent/0", http.StatusBadRequest)
	waitFor(permanent, hookd.EventFailed)
	CheckStatus(t, s, permanent.Event.ID, hookd.EventFailed)

	// A dead letter replayed through the queue, which succeeds.
	replay := accept("replay", 1, true)
	CheckStatus(t, s, replay.Event.ID, hookd.EventFailed)
	if err := s.Replay(ctx, replay.Event.ID, replay.Jobs); err != nil {
		t.Fatal(err)
	}
	CheckStatus(t, s, replay.Event.ID, hookd.EventPending)
	mustDispatch(t, s, 1)
	dest.answer("/replay/0", http.StatusOK)
	waitFor(replay, hookd.EventSucceeded)
	CheckStatus(t, s, replay.Event.ID, hookd.EventSucceeded)

	// Two actions: one succeeds, the other is still at work, then fails.
	two := accept("two", 2, false)
	dest.arrived("/two/1")
	dest.answer("/two/0", http.StatusOK)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ev, err := s.Event(ctx, two.Event.ID)
		if err != nil {
			t.Fatal(err)
		}
		if l := hookd.LatestJobs(ev.Jobs)[0]; l != nil && l.State == hookd.JobSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("action 0 never succeeded: %s", jobsString(ev.Jobs))
		}
	}
	CheckStatus(t, s, two.Event.ID, hookd.EventPending)
	dest.answer("/two/1", http.StatusServiceUnavailable)
	waitFor(two, hookd.EventFailed)
	CheckStatus(t, s, two.Event.ID, hookd.EventFailed)

	for _, r := range logs.Records() {
		if r["level"] == "ERROR" && r["msg"] != "job failed: dead letter until replayed" {
			t.Errorf("the workers logged an error: %v", r)
		}
	}
}

// scripted is a forward destination whose answers the test gives, one
// request at a time, per path.
type scripted struct {
	*httptest.Server
	t        *testing.T
	mu       sync.Mutex
	requests map[string]chan chan int // per path: requests waiting for their answer
}

func newScripted(t *testing.T) *scripted {
	d := &scripted{t: t, requests: map[string]chan chan int{}}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer := make(chan int, 1)
		select {
		case d.queue(r.URL.Path) <- answer:
		case <-r.Context().Done():
			return
		}
		select {
		case code := <-answer:
			w.WriteHeader(code)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *scripted) queue(path string) chan chan int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.requests[path] == nil {
		d.requests[path] = make(chan chan int, 1)
	}
	return d.requests[path]
}

// arrived waits for the next request to path, and leaves it waiting.
func (d *scripted) arrived(path string) {
	d.t.Helper()
	q := d.queue(path)
	select {
	case answer := <-q:
		q <- answer // taken back by answer
	case <-time.After(30 * time.Second):
		d.t.Fatalf("no request to %s within 30s", path)
	}
}

// answer waits for the next request to path and answers it with code.
func (d *scripted) answer(path string, code int) {
	d.t.Helper()
	select {
	case answer := <-d.queue(path):
		answer <- code
	case <-time.After(30 * time.Second):
		d.t.Fatalf("no request to %s within 30s", path)
	}
}
