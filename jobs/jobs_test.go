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
	err   error
	reply hookd.Reply
	sent  []email.Message
}

func (m *fakeMailer) Send(_ context.Context, msg email.Message) (hookd.Reply, error) {
	m.sent = append(m.sent, msg)
	return m.reply, m.err
}

// fakeRecorder keeps the attempts recorded.
type fakeRecorder struct {
	jobIDs  []int64
	records []hookd.AttemptRecord
}

func (f *fakeRecorder) RecordAttempt(_ context.Context, _ hookd.JobArgs, jobID int64, r hookd.AttemptRecord) error {
	f.jobIDs, f.records = append(f.jobIDs, jobID), append(f.records, r)
	return nil
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

func (m *panickyMailer) Send(context.Context, email.Message) (hookd.Reply, error) {
	if m.err == errPanic {
		panic("mailer bug")
	}
	return hookd.Reply{}, m.err
}

// Work records each attempt with what the destination said: the outcome
// follows the job's attempts left and the error's kind.
func TestWorkRecordsAttempts(t *testing.T) {
	t.Parallel()
	svc := &hookd.Service{Name: "svc", Actions: []hookd.Action{
		{Type: hookd.ActionEmail, MaxAttempts: 3, Email: &hookd.EmailAction{Field: "email", Template: "welcome"}},
	}}
	events := fakeEvents{"evt_1": {ID: "evt_1", Service: "svc", Body: []byte(`{"email":"ada@example.com"}`)}}
	m, rec := &fakeMailer{}, &fakeRecorder{}
	w := NewWorker(Config{Events: events, Services: map[string]*hookd.Service{"svc": svc}, Mailer: m, Attempts: rec})
	args := hookd.JobArgs{EventID: "evt_1", Service: "svc", ActionIndex: 0, Action: hookd.ActionEmail}
	work := func(attempt int, reply hookd.Reply, err error) {
		m.reply, m.err = reply, err
		job := &river.Job[hookd.JobArgs]{JobRow: &rivertype.JobRow{ID: 7, Attempt: attempt, MaxAttempts: 3}, Args: args}
		if got := w.Work(context.Background(), job); (got == nil) != (err == nil) {
			t.Fatalf("Work = %v, want %v", got, err)
		}
	}
	before := time.Now()
	work(1, hookd.Reply{Code: 421, Text: "4.3.2 busy"}, errors.New("email: 421 4.3.2 busy"))
	work(2, hookd.Reply{Code: 250, Text: "2.0.0 queued as 1"}, nil)
	work(2, hookd.Reply{Code: 550, Text: "5.1.1 no such user"}, hookd.Permanent(errors.New("email: 550 5.1.1 no such user")))
	work(3, hookd.Reply{}, errors.New("connection refused"))
	want := []hookd.AttemptRecord{
		{Number: 1, Outcome: hookd.AttemptRetrying, Code: 421, Reply: "4.3.2 busy", Error: "email: 421 4.3.2 busy"},
		{Number: 2, Outcome: hookd.AttemptSucceeded, Code: 250, Reply: "2.0.0 queued as 1"},
		{Number: 2, Outcome: hookd.AttemptFailed, Code: 550, Reply: "5.1.1 no such user", Error: "email: 550 5.1.1 no such user"},
		{Number: 3, Outcome: hookd.AttemptFailed, Error: "connection refused"}, // its last attempt
	}
	if len(rec.records) != len(want) {
		t.Fatalf("%d attempts recorded, want %d", len(rec.records), len(want))
	}
	for i, r := range rec.records {
		if r.StartedAt.Before(before) || r.Duration < 0 || rec.jobIDs[i] != 7 {
			t.Errorf("attempt %d: started %v, took %v, job %d; want a start in the test, job 7", i, r.StartedAt, r.Duration, rec.jobIDs[i])
		}
		r.StartedAt, r.Duration = time.Time{}, 0
		if r != want[i] {
			t.Errorf("attempt %d recorded as %+v, want %+v", i, r, want[i])
		}
	}
}
