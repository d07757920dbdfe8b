package jobs

import (
	"context"
	"errors"
	"fmt"
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

func (f fakeEvents) FinishAttempt(context.Context, *river.Job[hookd.JobArgs], hookd.JobState) error {
	return nil
}

// recordingEvents records the states the worker finishes attempts with,
// and whether it could still write then.
type recordingEvents struct {
	fakeEvents
	states []string
}

func (r *recordingEvents) FinishAttempt(ctx context.Context, _ *river.Job[hookd.JobArgs], state hookd.JobState) error {
	s := string(state)
	if ctx.Err() != nil {
		s += " (context done)"
	}
	r.states = append(r.states, s)
	return nil
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

// Work records the status an attempt leaves its event in, before River
// records the attempt: as River will see the outcome, whatever it was.
func TestWorkFinishesAttempts(t *testing.T) {
	t.Parallel()
	svc := &hookd.Service{Name: "svc", Actions: []hookd.Action{
		{Type: hookd.ActionEmail, MaxAttempts: 4, Email: &hookd.EmailAction{Field: "email", Template: "welcome"}},
	}}
	events := &recordingEvents{fakeEvents: fakeEvents{"evt_1": {ID: "evt_1", Service: "svc", Body: []byte(`{"email":"ada@example.com"}`)}}}
	m := &panickyMailer{}
	w := NewWorker(Config{Events: events, Services: map[string]*hookd.Service{"svc": svc}, Mailer: m})
	args := hookd.JobArgs{EventID: "evt_1", Service: "svc", Action: hookd.ActionEmail}
	attempt := func(ctx context.Context, n int, err error) {
		t.Helper()
		m.err = err
		_ = w.Work(ctx, &river.Job[hookd.JobArgs]{JobRow: &rivertype.JobRow{Attempt: n, MaxAttempts: 4}, Args: args})
	}
	attempt(context.Background(), 1, nil)
	attempt(context.Background(), 1, errors.New("421 try later"))
	attempt(context.Background(), 4, errors.New("421 try later"))
	attempt(context.Background(), 2, hookd.Permanent(errors.New("550 no such user")))
	timedOut, cancel := context.WithCancel(context.Background())
	cancel()
	attempt(timedOut, 1, context.Canceled)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach River")
			}
		}()
		attempt(context.Background(), 4, errPanic)
	}()
	want := "[succeeded retrying failed failed retrying failed]"
	if fmt.Sprint(events.states) != want {
		t.Errorf("finished attempts as %v, want %s", events.states, want)
	}
}

var errPanic = errors.New("panic please")

// panickyMailer fails with err, and panics for errPanic.
type panickyMailer struct{ err error }

func (m *panickyMailer) Send(context.Context, email.Message) error {
	if m.err == errPanic {
		panic("mailer bug")
	}
	return m.err
}
