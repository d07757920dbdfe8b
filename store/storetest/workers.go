package storetest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/forward"
	"github.com/hookd/hookd/jobs"
)

// RunWorkers checks that s's Workers run an accepted event's job, a
// forward: the event succeeds once the client started, with the attempt
// recorded in the job's history. s is migrated and empty; the caller
// closes it.
func RunWorkers(t *testing.T, s interface {
	hookd.Store
	Workers(w *jobs.Worker) (jobs.Runner, error)
}) {
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
