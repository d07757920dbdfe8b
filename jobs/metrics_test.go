package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hookd/hookd"
)

// Both paths count their attempts by outcome: a queued job (Work) by its
// attempt and max attempts, a first attempt (Attempt) by its job's.
func TestMetricsOutcomes(t *testing.T) {
	t.Parallel()
	svc := &hookd.Service{Name: "svc", Actions: []hookd.Action{
		{Type: hookd.ActionEmail, MaxAttempts: 4, Email: &hookd.EmailAction{Field: "email", Template: "welcome"}},
		{Type: hookd.ActionEmail, MaxAttempts: 1, Email: &hookd.EmailAction{Field: "email", Template: "welcome"}},
	}}
	ev := &hookd.Event{ID: "evt_1", Service: "svc", Body: []byte(`{"email":"ada@example.com"}`), ReceivedAt: time.Now().Add(-time.Minute)}
	mailer := &fakeMailer{}
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	w := NewWorker(Config{Events: fakeEvents{"evt_1": ev}, Services: map[string]*hookd.Service{"svc": svc}, Mailer: mailer, Metrics: metrics})
	args := func(i int) hookd.JobArgs {
		return hookd.JobArgs{EventID: "evt_1", Service: "svc", ActionIndex: i, Action: hookd.ActionEmail}
	}
	work := func(attempt int, err error) {
		mailer.err = err
		_ = w.Work(context.Background(), &river.Job[hookd.JobArgs]{JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: 4}, Args: args(0)})
	}
	attempt := func(i int, err error) {
		mailer.err = err
		_, _ = w.Attempt(context.Background(), hookd.NewJob{Args: args(i), MaxAttempts: svc.Actions[i].MaxAttempts}, ev)
	}
	transient, permanent := errors.New("421 try later"), hookd.Permanent(errors.New("550 no such user"))

	attempt(0, nil)       // succeeded
	attempt(0, transient) // retry
	attempt(1, transient) // failed: its only attempt
	work(2, nil)          // succeeded
	work(2, transient)    // retry
	work(4, transient)    // failed: out of attempts
	work(2, permanent)    // failed

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	var deliveries uint64
	var latency float64
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["action"] != "email" {
				t.Errorf("%s: labels %v", f.GetName(), labels)
			}
			switch f.GetName() {
			case "hookd_attempts_total":
				got[labels["outcome"]] = m.GetCounter().GetValue()
			case "hookd_delivery_seconds":
				deliveries, latency = m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
			}
		}
	}
	for outcome, want := range map[string]float64{OutcomeSucceeded: 2, OutcomeRetry: 2, OutcomeFailed: 3} {
		if got[outcome] != want {
			t.Errorf("hookd_attempts_total{action=email,outcome=%s} = %v, want %v", outcome, got[outcome], want)
		}
	}
	// Two deliveries, each a minute or more after the event was accepted.
	if deliveries != 2 || latency < 120 {
		t.Errorf("hookd_delivery_seconds: %d deliveries taking %vs in all, want 2 taking 120s or more", deliveries, latency)
	}
}

type backlogFunc func(ctx context.Context) (hookd.Backlog, error)

func (f backlogFunc) Backlog(ctx context.Context) (hookd.Backlog, error) { return f(ctx) }

// A scrape while the database is away still answers: without the backlog
// gauges, with the failure counted.
func TestBacklogCollector(t *testing.T) {
	t.Parallel()
	var fail bool
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewBacklogCollector(backlogFunc(func(ctx context.Context) (hookd.Backlog, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the backlog query has no deadline")
		}
		if fail {
			return hookd.Backlog{}, errors.New("database unavailable")
		}
		return hookd.Backlog{Outbox: 3, Queued: 2, Retrying: 1, Oldest: time.Now().Add(-time.Hour)}, nil
	})))
	gather := func() map[string]float64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				name := f.GetName()
				for _, l := range m.GetLabel() {
					name += "/" + l.GetValue()
				}
				got[name] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
		return got
	}
	got := gather()
	for name, want := range map[string]float64{"hookd_backlog_events": 3, "hookd_backlog_jobs/first_attempt": 2,
		"hookd_backlog_jobs/retry": 1, "hookd_backlog_errors_total": 0} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if age := got["hookd_backlog_oldest_seconds"]; age < 3600 {
		t.Errorf("hookd_backlog_oldest_seconds = %v, want an hour or more", age)
	}
	fail = true
	got = gather()
	if len(got) != 1 || got["hookd_backlog_errors_total"] != 1 {
		t.Errorf("failed query: %v, want only hookd_backlog_errors_total 1", got)
	}
}
