// Package jobs runs hookd's actions as River jobs: one worker for every
// action kind, the per-action retry policy, and the River client settings
// that keep failed jobs (dead letters) until someone replays them.
package jobs

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
	"github.com/tidwall/gjson"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/email"
)

// Mailer sends one email message and returns the server's reply.
type Mailer interface {
	Send(ctx context.Context, m email.Message) (hookd.Reply, error)
}

// Forwarder POSTs an event to an internal URL and returns the answer.
type Forwarder interface {
	Forward(ctx context.Context, a *hookd.ForwardAction, ev *hookd.Event) (hookd.Reply, error)
}

// AttemptRecorder records the attempts of queued jobs: a hookd.Store.
type AttemptRecorder interface {
	RecordAttempt(ctx context.Context, args hookd.JobArgs, jobID int64, r hookd.AttemptRecord) error
}

// EventReader is what the workers need of the store (a hookd.Store):
// the event a job is for, and the event's stored status kept in step with
// the attempts they make.
type EventReader interface {
	EventWithoutJobs(ctx context.Context, id string) (*hookd.Event, error)
	// FinishAttempt records the status job's event has once River records
	// the outcome of the attempt just made, state: hookd.JobSucceeded,
	// JobRetrying or JobFailed. A success completes the job in River in
	// the same transaction (river.JobCompleteTx).
	FinishAttempt(ctx context.Context, job *river.Job[hookd.JobArgs], state hookd.JobState) error
}

// Config is what the workers need.
type Config struct {
	Events    EventReader
	Services  map[string]*hookd.Service
	Mailer    Mailer
	Forwarder Forwarder
	Logger    *slog.Logger // Defaults to slog.Default().
	Metrics   *Metrics     // Optional: counts attempts and delivery latency.
	// Attempts, when set, records each attempt Work makes (Job.History).
	Attempts AttemptRecorder

	// The settings below come from the configuration's workers block,
	// defaults filled in; they are used as given.

	// MaxWorkers is how many jobs run at once in this process.
	MaxWorkers int
	// FetchCooldown and FetchPollInterval are River's polling intervals.
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
	// JobTimeout bounds one attempt.
	JobTimeout time.Duration
	// MaxPerDestination caps the attempts in flight to one destination (a
	// forward's scheme and host, or the mail server), first attempts and
	// retries together. Zero means no cap.
	MaxPerDestination int
	// RescueAfter is how long a job may stay running before it is taken to
	// belong to a dead worker and retried; more than JobTimeout.
	RescueAfter time.Duration
}

// InsertParams appends jobs to params as River insert parameters: how a
// store queues the jobs it takes out of an event's outbox.
func InsertParams(params []river.InsertManyParams, jobs []hookd.NewJob) []river.InsertManyParams {
	for _, j := range jobs {
		params = append(params, river.InsertManyParams{Args: j.Args, InsertOpts: &river.InsertOpts{MaxAttempts: j.MaxAttempts}})
	}
	return params
}

// schedulerInterval is how often River's scheduler makes retryable jobs
// that are due available (its default).
const schedulerInterval = 5 * time.Second

// FullInsertParams returns a job that already made its first attempt
// (see hookd.Store.Settle) as a River job row in the state that attempt
// left it: completed, cancelled (a permanent failure), discarded (no
// attempts left) or retryable at a.RetryAt. River writes the row with its
// own driver, so River's workers, rescuer and UI see it as one of theirs,
// and a retry continues from attempt 2.
func FullInsertParams(a hookd.Attempt) *riverdriver.JobInsertFullParams {
	args, _ := json.Marshal(a.Job.Args) // strings and ints always encode
	p := &riverdriver.JobInsertFullParams{
		Attempt:     1,
		AttemptedAt: &a.StartedAt,
		CreatedAt:   &a.StartedAt,
		EncodedArgs: args,
		Kind:        a.Job.Args.Kind(),
		MaxAttempts: a.Job.MaxAttempts,
		Metadata:    []byte("{}"),
		Priority:    river.PriorityDefault,
		Queue:       river.QueueDefault,
		ScheduledAt: &a.StartedAt,
		State:       rivertype.JobStateCompleted,
		Tags:        []string{},
	}
	if a.Error == "" {
		p.FinalizedAt = &a.FinishedAt
		return p
	}
	e, _ := json.Marshal(rivertype.AttemptError{At: a.FinishedAt, Attempt: 1, Error: a.Error})
	p.Errors = [][]byte{e}
	switch {
	case !a.RetryAt.IsZero() && a.RetryAt.Sub(a.FinishedAt) <= schedulerInterval:
		// As River does: a retry due before its scheduler's next pass
		// waits as available, so it is not late by up to that pass.
		p.State, p.ScheduledAt = rivertype.JobStateAvailable, &a.RetryAt
	case !a.RetryAt.IsZero():
		p.State, p.ScheduledAt = rivertype.JobStateRetryable, &a.RetryAt
	case a.Permanent:
		p.State, p.FinalizedAt = rivertype.JobStateCancelled, &a.FinishedAt
	default:
		p.State, p.FinalizedAt = rivertype.JobStateDiscarded, &a.FinishedAt
	}
	return p
}

// Runner is a River client that works hookd's jobs (NewClient's), as the
// process that starts and stops it sees it.
type Runner interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// NewClient returns a River client that works hookd's jobs over driver
// with w. Start it with Start and stop it with Stop.
func NewClient[TTx any](driver riverdriver.Driver[TTx], w *Worker) (*river.Client[TTx], error) {
	c := w.c
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, w); err != nil {
		return nil, err
	}
	return river.NewClient(driver, &river.Config{
		// River reports its routine at INFO (job counts every few seconds,
		// each failed attempt with only a job id): that is debugging
		// detail next to hookd's own lines, which name the event.
		Logger:       slog.New(quieter{c.Logger.Handler()}),
		ErrorHandler: &errorHandler{log: c.Logger},
		Queues:       map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: c.MaxWorkers}},
		Workers:      workers,
		// Failed jobs are the dead letters users list and replay, and an
		// event's status is derived from its jobs: River must not prune
		// them on its own schedule.
		CancelledJobRetentionPeriod: -1,
		CompletedJobRetentionPeriod: -1,
		DiscardedJobRetentionPeriod: -1,
		FetchCooldown:               c.FetchCooldown,
		FetchPollInterval:           c.FetchPollInterval,
		JobTimeout:                  c.JobTimeout,
		RescueStuckJobsAfter:        c.RescueAfter,
	})
}

// Worker performs every hookd action.
type Worker struct {
	river.WorkerDefaults[hookd.JobArgs]
	c      Config
	limits *limits
}

// NewWorker returns the worker of c's actions, for NewClient and for the
// delivery engine's first attempts: both share its cap per destination.
func NewWorker(c Config) *Worker {
	return &Worker{c: c, limits: &limits{max: c.MaxPerDestination}}
}

// action finds the configured action a job is for. Configuration can
// change between enqueue and run; a job whose action is gone fails.
func (w *Worker) action(args hookd.JobArgs) (*hookd.Action, error) {
	svc := w.c.Services[args.Service]
	if svc == nil {
		return nil, fmt.Errorf("service %q is no longer configured", args.Service)
	}
	if args.ActionIndex < 0 || args.ActionIndex >= len(svc.Actions) || svc.Actions[args.ActionIndex].Type != args.Action {
		return nil, fmt.Errorf("service %q has no longer a %s action at position %d", args.Service, args.Action, args.ActionIndex)
	}
	return &svc.Actions[args.ActionIndex], nil
}

// Work runs one attempt. A permanent failure (hookd.Permanent) fails the
// job at once; any other error is retried until MaxAttempts. The error is
// returned as it is, not wrapped in river.JobCancel, because River records
// the text of the returned error as the job's last error and JobCancel's
// would begin with "JobCancelError: "; errorHandler cancels instead.
//
// Before returning, it records the attempt (record) and the event's status as it stands once River
// records the outcome (finish). A success is recorded with the job's
// completion, in one transaction. A failure is recorded first, River's
// record of it follows in a transaction of River's: should the process die
// in between, the job stays running until River's rescuer (or, on SQLite,
// the next start) takes it back. With attempts left it runs again, and
// that attempt records the status anew; meanwhile the event shows the
// status of the failure (pending, or failed for a permanent one). Rescued
// after its last attempt, it is discarded without another attempt; the
// event shows failed as recorded, or pending had the process died before
// recording, until the stored statuses are refreshed (RefreshStatus).
func (w *Worker) Work(ctx context.Context, job *river.Job[hookd.JobArgs]) (err error) {
	start := time.Now()
	finished := false
	defer func() {
		if !finished { // a panic, which River records as a failed attempt
			w.finish(ctx, job, attemptRecord(job, start, hookd.Reply{}, errors.New("panic")))
		}
	}()
	reply, err := w.work(ctx, job)
	finished = true
	r := attemptRecord(job, start, reply, err)
	w.record(ctx, job, r)
	w.finish(ctx, job, r)
	return err
}

// attemptRecord is the record of job's attempt that began at start and
// ended with reply and err: its outcome is what River makes of err
// (errorHandler cancels a permanent failure, River discards a job out of
// attempts, and retries the others).
func attemptRecord(job *river.Job[hookd.JobArgs], start time.Time, reply hookd.Reply, err error) hookd.AttemptRecord {
	r := hookd.AttemptRecord{Number: job.Attempt, StartedAt: start, Duration: time.Since(start),
		Outcome: hookd.AttemptSucceeded, Code: reply.Code, Reply: reply.Text}
	if err != nil {
		r.Error, r.Outcome = err.Error(), hookd.AttemptRetrying
		if hookd.IsPermanent(err) || job.Attempt >= job.MaxAttempts {
			r.Outcome = hookd.AttemptFailed
		}
	}
	return r
}

// finishTimeout bounds the recording of an attempt's outcome.
const finishTimeout = 10 * time.Second

// finish records the status of job's event once River records r, the
// attempt's outcome (see Work). It runs even when the attempt ran out of
// time. A failure to record is logged and the attempt's outcome stands:
// River records it, and RefreshStatus then corrects the event's status.
func (w *Worker) finish(ctx context.Context, job *river.Job[hookd.JobArgs], r hookd.AttemptRecord) {
	state := map[hookd.AttemptOutcome]hookd.JobState{
		hookd.AttemptSucceeded: hookd.JobSucceeded, hookd.AttemptRetrying: hookd.JobRetrying, hookd.AttemptFailed: hookd.JobFailed,
	}[r.Outcome]
	// The job's context may be done (a timeout); its values, River's
	// client among them, are still needed.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	if ferr := w.c.Events.FinishAttempt(fctx, job, state); ferr != nil {
		cmp.Or(w.c.Logger, slog.Default()).ErrorContext(ctx, "could not record the event's status after an attempt", "event_id", job.Args.EventID,
			"job_id", job.ID, "state", state, "err", ferr)
	}
}

func (w *Worker) work(ctx context.Context, job *river.Job[hookd.JobArgs]) (hookd.Reply, error) {
	a, err := w.action(job.Args)
	if err != nil {
		return hookd.Reply{}, hookd.Permanent(err)
	}
	ev, err := w.c.Events.EventWithoutJobs(ctx, job.Args.EventID)
	if hookd.ErrorCode(err) == hookd.ENotFound {
		return hookd.Reply{}, hookd.Permanent(fmt.Errorf("event %s no longer exists", job.Args.EventID))
	} else if err != nil {
		return hookd.Reply{}, err
	}
	return w.run(ctx, a, ev, job.Attempt >= job.MaxAttempts)
}

// recordTimeout bounds the write of one attempt's record.
const recordTimeout = 5 * time.Second

// record writes the record of the attempt Work made (Job.History), after
// the attempt and before River writes its outcome, in a transaction of its
// own: River's outcome is written later by its completer, and there is no
// hook to join it. So a crash in between leaves the record with the job
// still running in River's eyes: River runs it again (after a restart, or
// workers.rescue_after), as the next attempt. A crash before the record
// leaves River's own trace of the attempt (its error), which the history
// shows in its place. A record that cannot be written is logged and left
// out; the job's outcome does not depend on it.
func (w *Worker) record(ctx context.Context, job *river.Job[hookd.JobArgs], r hookd.AttemptRecord) {
	if w.c.Attempts == nil {
		return
	}
	// The attempt's own context may have ended (its timeout): the record
	// is still due.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := w.c.Attempts.RecordAttempt(ctx, job.Args, job.ID, r); err != nil {
		log := w.c.Logger
		if log == nil {
			log = slog.Default()
		}
		log.WarnContext(ctx, "recording a job's attempt failed: its history lacks it", "event_id", job.Args.EventID,
			"job_id", job.ID, "attempt", job.Attempt, "err", err)
	}
}

// Attempt runs the action of args once for ev: what Work does for a queued
// job, and what the delivery engine does for the first attempt of a job
// that it holds in memory. It returns what the destination answered, and
// the failure; one that retrying cannot fix is marked hookd.Permanent.
func (w *Worker) Attempt(ctx context.Context, job hookd.NewJob, ev *hookd.Event) (hookd.Reply, error) {
	a, err := w.action(job.Args)
	if err != nil {
		return hookd.Reply{}, hookd.Permanent(err)
	}
	// The first attempt: the last one only for a job allowed one.
	return w.run(ctx, a, ev, job.MaxAttempts <= 1)
}

// DeadLetter logs a job that failed for good after its first attempt,
// made outside the queue, as Work's failures are logged.
func (w *Worker) DeadLetter(ctx context.Context, a hookd.Attempt) {
	LogDeadLetter(ctx, w.c.Logger, a.Job.Args, 1, a.Job.MaxAttempts, a.Permanent, 0, a.Error)
}

// run performs action a for ev, within the cap of attempts in flight to
// its destination; last says whether no retry follows a failure.
func (w *Worker) run(ctx context.Context, a *hookd.Action, ev *hookd.Event, last bool) (_ hookd.Reply, err error) {
	defer func() { w.c.Metrics.observe(a.Type, ev, err, last) }()
	release, err := w.limits.acquire(ctx, destination(a))
	if err != nil {
		return hookd.Reply{}, err
	}
	defer release()
	switch a.Type {
	case hookd.ActionEmail:
		return w.email(ctx, a.Email, ev)
	case hookd.ActionForward:
		return w.c.Forwarder.Forward(ctx, a.Forward, ev)
	}
	// A job is only enqueued for an action that does work; one this
	// worker cannot run must not pass for done.
	return hookd.Reply{}, hookd.Permanent(fmt.Errorf("action %q has no worker", a.Type))
}

// errorHandler sees every failed attempt: it cancels the jobs whose error
// is permanent, and logs each dead letter (a job that will not run again
// by itself) once, with what an operator needs to find it and its cause.
type errorHandler struct{ log *slog.Logger }

func (h *errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	permanent := hookd.IsPermanent(err)
	if permanent || job.Attempt >= job.MaxAttempts {
		h.deadLetter(ctx, job, err.Error(), permanent)
	}
	return &river.ErrorHandlerResult{SetCancelled: permanent}
}

func (h *errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, _ string) *river.ErrorHandlerResult {
	if job.Attempt >= job.MaxAttempts {
		h.deadLetter(ctx, job, fmt.Sprintf("panic: %v", panicVal), false)
	}
	return nil
}

func (h *errorHandler) deadLetter(ctx context.Context, job *rivertype.JobRow, lastErr string, permanent bool) {
	var args hookd.JobArgs
	_ = json.Unmarshal(job.EncodedArgs, &args) // written by hookd; empty fields on damage
	LogDeadLetter(ctx, h.log, args, job.Attempt, job.MaxAttempts, permanent, job.ID, lastErr)
}

// LogDeadLetter logs, once, a job that will not run again by itself, with
// what an operator needs to find it and its cause. jobID is 0 for a job
// that failed at its first attempt outside the queue.
func LogDeadLetter(ctx context.Context, log *slog.Logger, args hookd.JobArgs, attempts, maxAttempts int, permanent bool, jobID int64, lastErr string) {
	why := "out of attempts"
	if permanent {
		why = "permanent failure"
	}
	attrs := []any{"event_id", args.EventID, "service", args.Service, "action", args.Action,
		"attempts", attempts, "max_attempts", maxAttempts, "reason", why}
	if jobID != 0 {
		attrs = append(attrs, "job_id", jobID)
	}
	log.ErrorContext(ctx, "job failed: dead letter until replayed", append(attrs, "last_error", lastErr)...)
}

// quieter is the handler River logs through: River's INFO and DEBUG
// records become DEBUG, its warnings and errors stay as they are.
type quieter struct{ h slog.Handler }

func lower(l slog.Level) slog.Level { return min(l, slog.LevelDebug) }

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	if l < slog.LevelWarn {
		l = lower(l)
	}
	return q.h.Enabled(ctx, l)
}

func (q quieter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		r.Level = lower(r.Level)
	}
	return q.h.Handle(ctx, r)
}

func (q quieter) WithAttrs(as []slog.Attr) slog.Handler { return quieter{q.h.WithAttrs(as)} }
func (q quieter) WithGroup(name string) slog.Handler    { return quieter{q.h.WithGroup(name)} }

func (w *Worker) email(ctx context.Context, a *hookd.EmailAction, ev *hookd.Event) (hookd.Reply, error) {
	to := gjson.GetBytes(ev.Body, a.Field).String()
	if !hookd.ValidEmail(to) { // validated at ingest; config may have changed since
		return hookd.Reply{}, hookd.Permanent(fmt.Errorf("field %q holds no valid email address", a.Field))
	}
	// UseNumber keeps 1234567890 from printing as 1.23456789e+09.
	var payload map[string]any
	dec := json.NewDecoder(bytes.NewReader(ev.Body))
	dec.UseNumber()
	_ = dec.Decode(&payload) // validated at ingest; a non-object leaves it nil
	subject, body, err := email.Render(a, email.Data{
		EventID:        ev.ID,
		Service:        ev.Service,
		IdempotencyKey: ev.IdempotencyKey,
		Email:          to,
		ReceivedAt:     ev.ReceivedAt,
		Payload:        payload,
	})
	if err != nil {
		return hookd.Reply{}, hookd.Permanent(err)
	}
	return w.c.Mailer.Send(ctx, email.Message{To: to, Subject: subject, Body: body})
}

// NextRetry spaces attempts exponentially between the action's backoff
// bounds, with jitter so that a burst of failures does not retry in step.
func (w *Worker) NextRetry(job *river.Job[hookd.JobArgs]) time.Time {
	return time.Now().Add(w.RetryDelay(job.Args, job.Attempt))
}

// RetryDelay is how long a job of args waits after its attempt n failed.
func (w *Worker) RetryDelay(args hookd.JobArgs, n int) time.Duration {
	b := hookd.Backoff{}
	if a, err := w.action(args); err == nil {
		b = a.Backoff
	}
	return Backoff(b, n)
}

// Backoff returns the delay before the attempt after attempt n (1-based),
// drawn uniformly from DelayBounds'.
func Backoff(b hookd.Backoff, n int) time.Duration {
	lo, hi := DelayBounds(b, n)
	// River treats a retry time in the past as "use my default"; a
	// positive delay keeps ours.
	return max(lo+rand.N(hi-lo+1), time.Millisecond)
}

// DelayBounds returns the bounds of the delay after attempt n (1-based):
// hi is b.Min·2^(n-1), capped at b.Max, and lo its half. Drawing from the
// upper half keeps a burst of failures from retrying in step while the
// schedule keeps a known floor.
func DelayBounds(b hookd.Backoff, n int) (lo, hi time.Duration) {
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d / 2, d
}
