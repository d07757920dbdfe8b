package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/email"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := hookd.Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		4: 800 * time.Millisecond, 5: time.Second, 50: time.Second} {
		for range 100 {
			d := Backoff(b, n)
			if d < want/2 || d > want {
				t.Fatalf("Backoff(attempt %d) = %s, want within [%s, %s]", n, d, want/2, want)
			}
		}
	}
	if lo, hi := DelayBounds(b, 3); lo != 200*time.Millisecond || hi != 400*time.Millisecond {
		t.Errorf("DelayBounds(attempt 3) = [%s, %s], want [200ms, 400ms]", lo, hi)
	}
	if lo, hi := DelayBounds(b, 1000); lo != 500*time.Millisecond || hi != time.Second {
		t.Errorf("DelayBounds(attempt 1000) = [%s, %s], want [500ms, 1s]", lo, hi)
	}
}

type fakeEvents map[string]*hookd.Event

func (f fakeEvents) EventWithoutJobs(_ context.Context, id string) (*hookd.Event, error) {
	if ev := f[id]; ev != nil {
		return ev, nil
	}
	return nil, hookd.Errorf(hookd.ENotFound, "no event")
}

type fakeMailer struct {
	err  error
	sent []email.Message
}

func (m *fakeMailer) Send(_ context.Context, msg email.Message) error {
	m.sent = append(m.sent, msg)
	return m.err
}

func TestWork(t *testing.T) {
	t.Parallel()
	svc := &hookd.Service{Name: "svc", Actions: []hookd.Action{
		{Type: hookd.ActionEmail, MaxAttempts: 4, Email: &hookd.EmailAction{Field: "user.email", Template: "welcome"}},
	}}
	events := fakeEvents{"evt_1": {ID: "evt_1", Service: "svc", Body: []byte(`{"user":{"email":"ada@example.com"},"n":1234567890}`)}}
	job := func(args hookd.JobArgs) *river.Job[hookd.JobArgs] {
		return &river.Job[hookd.JobArgs]{JobRow: &rivertype.JobRow{Attempt: 1}, Args: args}
	}
	good := hookd.JobArgs{EventID: "evt_1", Service: "svc", ActionIndex: 0, Action: hookd.ActionEmail}
	// Permanent errors are returned as they are (errorHandler cancels the
	// job), so that River records their text without a wrapper's name.
	isCancel := func(err error) bool {
		_, wrapped := errors.AsType[*river.JobCancelError](err)
		return hookd.IsPermanent(err) && !wrapped
	}

	m := &fakeMailer{}
	w := &Worker{c: Config{Events: events, Services: map[string]*hookd.Service{"svc": svc}, Mailer: m}}
	if err := w.Work(context.Background(), job(good)); err != nil || len(m.sent) != 1 || m.sent[0].To != "ada@example.com" {
		t.Fatalf("Work = %v, sent %+v", err, m.sent)
	}

	m.err = errors.New("421 try later")
	if err := w.Work(context.Background(), job(good)); err == nil || isCancel(err) {
		t.Errorf("transient failure: err = %v, want a retryable error", err)
	}
	m.err = hookd.Permanent(errors.New("550 no such user"))
	if err := w.Work(context.Background(), job(good)); !isCancel(err) {
		t.Errorf("permanent failure: err = %v, want the job cancelled", err)
	}

	for name, args := range map[string]hookd.JobArgs{
		"service gone":  {EventID: "evt_1", Service: "gone", Action: hookd.ActionEmail},
		"action moved":  {EventID: "evt_1", Service: "svc", ActionIndex: 0, Action: hookd.ActionForward},
		"index too big": {EventID: "evt_1", Service: "svc", ActionIndex: 3, Action: hookd.ActionEmail},
		"event gone":    {EventID: "evt_2", Service: "svc", Action: hookd.ActionEmail},
	} {
		if err := w.Work(context.Background(), job(args)); !isCancel(err) {
			t.Errorf("%s: err = %v, want the job cancelled", name, err)
		}
	}

	// An action type without a worker (a noop job, or one from a newer
	// hookd) fails instead of passing for done.
	svc.Actions = append(svc.Actions, hookd.Action{Type: hookd.ActionNoop})
	noop := hookd.JobArgs{EventID: "evt_1", Service: "svc", ActionIndex: 1, Action: hookd.ActionNoop}
	if err := w.Work(context.Background(), job(noop)); !isCancel(err) {
		t.Errorf("unknown action type: err = %v, want the job cancelled", err)
	}

	// The backoff follows the action's bounds.
	svc.Actions[0].Backoff = hookd.Backoff{Min: time.Hour, Max: time.Hour}
	if next := w.NextRetry(job(good)); time.Until(next) < 29*time.Minute {
		t.Errorf("NextRetry = %s from now, want the action's 30–60 min", time.Until(next))
	}
}
