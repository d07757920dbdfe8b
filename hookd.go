// Package hookd holds the domain of the webhook receiver: services, events,
// jobs, the errors every layer shares, and the small interfaces that the
// storage, verification and HTTP packages implement or consume.
//
// It depends on the standard library only, so every other package can import
// it without pulling in a database driver or an HTTP framework.
package hookd

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Service is one configured webhook sender, addressed as POST /webhooks/{Name}.
type Service struct {
	Name string

	// Verifier proves that a request comes from the sender.
	Verifier Verifier

	// IdempotencyKey lists where the event's idempotency key is looked for, in
	// order; the first non-empty value wins. Defaults to the verifier's
	// natural source.
	IdempotencyKey []KeySource

	// MaxBody is the largest accepted body in bytes. Used as given: the
	// configuration fills in its default (config.DefaultMaxBody).
	MaxBody int64

	// IdempotencyTTL is how long a key is remembered. Used as given
	// (config.DefaultIdempotencyTTL).
	IdempotencyTTL time.Duration

	// Retention is how long the service's finished events are kept
	// (config: retention, keep_failed).
	Retention Retention

	// Actions run in the background for every accepted event.
	Actions []Action
}

// Retention says when Store.Prune deletes a service's finished events.
// The zero value keeps an event whose work all succeeded until its
// idempotency key expires, and a failed one until a replay succeeds.
type Retention struct {
	// Keep is how long after it was received a finished event is kept.
	// An event's row is what remembers its idempotency key, so it is
	// never deleted before the key expires, whatever Keep says (the
	// configuration refuses a retention shorter than idempotency_ttl).
	Keep time.Duration

	// DeleteFailed deletes failed events too once Keep has passed (config:
	// keep_failed: false). By default they stay, as dead letters, until
	// replayed and done. Pending events are never deleted.
	DeleteFailed bool
}

// Prunable reports whether an event of status s may be deleted under r,
// once past its retention.
func (r Retention) Prunable(s EventStatus) bool {
	return s == EventSucceeded || s == EventFailed && r.DeleteFailed
}

// KeySources returns where the idempotency key of s's events is looked
// for, in order: the service's own IdempotencyKey, else its verifier's.
func (s *Service) KeySources() []KeySource {
	if len(s.IdempotencyKey) > 0 {
		return s.IdempotencyKey
	}
	return s.Verifier.KeySources()
}

// Action types.
const (
	ActionEmail   = "email"
	ActionForward = "forward"
	ActionNoop    = "noop"
)

// Action is one piece of follow-up work done for each event of a service.
type Action struct {
	// Type is ActionEmail, ActionForward or ActionNoop.
	Type string

	// MaxAttempts is how many times the job may run, the first try included
	// (config.DefaultMaxAttempts).
	MaxAttempts int

	// Backoff bounds the exponential delay between attempts.
	Backoff Backoff

	Email   *EmailAction   // set when Type is ActionEmail
	Forward *ForwardAction // set when Type is ActionForward
}

// Backoff bounds the exponential, jittered delay between attempts of a job.
type Backoff struct {
	Min time.Duration // config.DefaultBackoffMin
	Max time.Duration // config.DefaultBackoffMax
}

// EmailAction sends a templated message to an address taken from the event.
type EmailAction struct {
	// Field is the dotted JSON path of the recipient's address
	// (config.DefaultEmailField).
	Field string
	// Template names a built-in template (config.DefaultEmailTemplate).
	Template string
	// Subject and Body, when set, are text/template sources that override
	// the named template's.
	Subject string
	Body    string
}

// ForwardAction POSTs the original body to an internal URL.
type ForwardAction struct {
	URL     string
	Timeout time.Duration // config.DefaultForwardTimeout
	// Headers are the names of received headers that are passed on.
	Headers []string
}

// KeySource is one place an idempotency key can be read from.
type KeySource struct {
	// From is "header", "json" (a dotted path into a JSON body) or "form"
	// (a field of an application/x-www-form-urlencoded body).
	From string
	Name string
}

func (k KeySource) String() string { return k.From + ":" + k.Name }

// Request is what a verifier sees of an incoming webhook. Body is the raw,
// size-limited body; URL is the request's URL as received (path and query).
type Request struct {
	Header http.Header
	Body   []byte
	URL    *url.URL
}

// Verifier proves a request genuine. Verify returns nil, or an error whose
// ErrorCode is EInvalidSignature or ETimestampOutOfTolerance. It never does
// I/O and compares in constant time.
type Verifier interface {
	Verify(r *Request) error
	// Sign returns the headers that make a request with this body verify at
	// time now. target is the URL the request will be sent to (only schemes
	// that sign the URL use it).
	Sign(body []byte, target string, now time.Time) (http.Header, error)
	// KeySources is where this scheme's senders put the idempotency key.
	KeySources() []KeySource
}

// Event is one accepted webhook.
type Event struct {
	ID             string
	Service        string
	IdempotencyKey string
	// PayloadHash is the SHA-256 of Body; it tells a retry (same payload)
	// from a reused key (different payload).
	PayloadHash []byte
	Body        []byte
	Header      http.Header
	ReceivedAt  time.Time
	// ExpiresAt is when the idempotency key may be used again.
	ExpiresAt time.Time

	// StoredHeader is Header as stores keep it (store.EncodeHeader), when
	// the caller encoded it already: the ingest handler does, on the
	// request's goroutine, so that a store's single writer only copies it.
	StoredHeader []byte

	// Status and Jobs are filled in by the store when reading.
	Status EventStatus
	Jobs   []*Job
}

// EventStatus summarises an event's work.
type EventStatus string

// Event statuses.
const (
	EventPending   EventStatus = "pending"   // work outstanding
	EventSucceeded EventStatus = "succeeded" // every action's latest job succeeded
	EventFailed    EventStatus = "failed"    // some action's latest job failed
)

// JobState is the life-cycle state of one job, as shown to users.
type JobState string

// Job states.
const (
	JobPending   JobState = "pending"
	JobRunning   JobState = "running"
	JobRetrying  JobState = "retrying"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
)

// Job is one attempt series of an action for an event.
type Job struct {
	// ID is the job's number in the queue; 0 for a job still in its
	// event's outbox, and for a settled one.
	ID          int64
	EventID     string
	Service     string
	Action      string // the action's type
	ActionIndex int    // index into the service's Actions
	State       JobState
	Attempts    int
	MaxAttempts int
	LastError   string
	CreatedAt   time.Time
	// Settled marks a first attempt that succeeded in the process that
	// accepted the event and so never entered the queue.
	Settled bool
	// History is the job's attempts, oldest first. Store.Event fills it
	// in; listings leave it nil.
	History []AttemptRecord
}

// JobArgs are the arguments of every background job hookd enqueues. One job
// kind serves every action: the worker looks the action up by service and
// index, so the queue never holds a copy of configuration or secrets.
type JobArgs struct {
	EventID     string `json:"event_id"`
	Service     string `json:"service"`
	ActionIndex int    `json:"action"`
	Action      string `json:"type"`
}

// Kind is the job kind under which JobArgs are queued.
func (JobArgs) Kind() string { return "hookd_action" }

// NewJob is a job to enqueue together with an event.
type NewJob struct {
	Args        JobArgs
	MaxAttempts int
}

// JobsFor returns the jobs to enqueue for an event of svc: one per action
// that does work (noop actions have none).
func JobsFor(svc *Service, eventID string) []NewJob {
	var jobs []NewJob
	for i, a := range svc.Actions {
		if a.Type == ActionNoop {
			continue
		}
		jobs = append(jobs, NewJob{
			Args:        JobArgs{EventID: eventID, Service: svc.Name, ActionIndex: i, Action: a.Type},
			MaxAttempts: a.MaxAttempts,
		})
	}
	return jobs
}

// Outcome is what storing an event amounted to.
type Outcome int

// Outcomes of Store.Accept.
const (
	Accepted  Outcome = iota + 1 // stored as a new event; jobs enqueued
	Duplicate                    // same service, key and payload already stored
	Conflict                     // same service and key, different payload
)

// Submission is a verified webhook ready to be stored with its jobs.
type Submission struct {
	Event *Event
	Jobs  []NewJob

	// ClaimedUntil, when set, claims the event's jobs for the accepting
	// process until then: it makes their first attempt itself, right after
	// the commit, and no dispatcher queues them meanwhile. Zero leaves them
	// to the dispatcher at once.
	ClaimedUntil time.Time

	// Replayed marks an event claimed from the outbox that already has
	// queued jobs (it was replayed): its new jobs' outcomes must be
	// recorded after those, as queued jobs too.
	Replayed bool
}

// Claim is a process's hold on an event's outbox (Submission.ClaimedUntil):
// the event and until when. The time is also the claim's identity: a claim
// that was renewed or taken over no longer matches it.
type Claim struct {
	EventID string
	Until   time.Time
}

// Settlement is what the first attempts of a claimed event's jobs came to.
type Settlement struct {
	Claim    Claim
	Attempts []Attempt // one per job of the event
	// Replayed is the Submission's: successes are recorded as queued
	// jobs, so that they come after the event's earlier ones.
	Replayed bool
}

// Attempt is one run of a job.
type Attempt struct {
	Job                   NewJob
	StartedAt, FinishedAt time.Time
	// Reply is what the destination answered, success or failure.
	Reply Reply
	// Error is the failure in the destination's words; "" when the
	// attempt succeeded.
	Error string
	// RetryAt is when a failed job runs again; zero when it failed for
	// good (Permanent, or no attempts left).
	RetryAt time.Time
	// Permanent marks a failure that retrying cannot fix.
	Permanent bool
}

// Backlog is the work waiting in a store.
type Backlog struct {
	// Outbox is the events whose jobs wait in their outbox: not yet
	// queued, nor settled after a first attempt in memory (those being
	// attempted count too).
	Outbox int
	// Queued is the queued jobs waiting for their first attempt.
	Queued int
	// Retrying is the queued jobs waiting to run again after an attempt
	// failed (retryable, or due and available again).
	Retrying int
	// Oldest is when the longest-waiting of those was accepted (an event
	// in its outbox) or queued (a job; a job settled after its first
	// attempt is queued at that attempt); zero when nothing waits.
	Oldest time.Time
}

// PruneRequest is one batch of a pruning pass (Store.Prune). A pass walks
// every service that has events, in name order, and each one's events
// oldest first, up to its retention's horizon: it starts from the zero
// PruneCursor and passes each result's Next to the following call until
// one is Done. Events a pass leaves (failed, pending) are looked at again
// by the next pass, not by the next batch.
type PruneRequest struct {
	// Now is the time the retentions are measured from.
	Now time.Time
	// Retention holds each service's retention, by name; a service not
	// in it (removed from the configuration) has the zero Retention.
	Retention map[string]Retention
	// From is where the previous batch of the pass stopped.
	From PruneCursor
	// Limit bounds the events deleted, and so the transaction's length.
	Limit int
}

// PruneCursor is where a pruning pass has got to.
type PruneCursor struct {
	Service string // the service being walked; "" before the first
	After   string // the last event ID of Service looked at; "" for none
}

// PruneResult is what one Store.Prune call did.
type PruneResult struct {
	Deleted int
	// Next is where the pass goes on from; Done when it walked every
	// service to its horizon.
	Next PruneCursor
	Done bool
	// Held is how long the deleting transaction took, from its begin to
	// its commit: on SQLite, how long it held the one writer.
	Held time.Duration
}

// Result is the outcome of one Submission. EventID is the new event's ID
// for Accepted, the original's for Duplicate and Conflict.
type Result struct {
	Outcome Outcome
	EventID string
}

// EventFilter selects events, newest first.
type EventFilter struct {
	Service        string
	Status         EventStatus
	IdempotencyKey string
	Since          time.Time // received at or after
	Until          time.Time // received before
	Limit          int       // Defaults to 50; at most 500.
	Cursor         string    // from a previous page's next cursor
}

// JobFilter selects jobs, newest first.
type JobFilter struct {
	Service string
	State   JobState
	Limit   int
	Cursor  string
}

// Store keeps events and their jobs. Implementations: store/sqlite,
// store/postgres; store/storetest holds the suite both pass.
type Store interface {
	// Accept stores each submission's event and jobs, all in one
	// transaction: when it returns nil, every Accepted event and its jobs
	// are durably committed. The jobs wait in the event's outbox, claimed
	// by the accepting process when ClaimedUntil is set, else due at once
	// for whoever claims them (ClaimDue). Results are in submission order;
	// duplicates inside one call are detected like any other.
	Accept(ctx context.Context, subs []Submission) ([]Result, error)

	// Event returns one event with its body, status and jobs, each job
	// with its History, or an error with code ENotFound.
	Event(ctx context.Context, id string) (*Event, error)

	// EventWithoutJobs returns one event without its jobs and status (what a
	// worker needs), or an error with code ENotFound.
	EventWithoutJobs(ctx context.Context, id string) (*Event, error)

	// Events lists events (without bodies, with status), newest first, and
	// the cursor of the next page ("" on the last).
	Events(ctx context.Context, f EventFilter) ([]*Event, string, error)

	// CountEvents counts the events Events would list for f, over all its
	// pages (f's Limit and Cursor aside), stopping past max: a count above
	// max means "more than max". It reads indexes only where it can.
	CountEvents(ctx context.Context, f EventFilter, max int) (int, error)

	// Jobs lists jobs, newest first, and the cursor of the next page.
	Jobs(ctx context.Context, f JobFilter) ([]*Job, string, error)

	// Replay puts jobs into the outbox of event id, due at once,
	// provided none of their actions has work outstanding: nothing in the
	// event's outbox, and no unfinished job of those actions in the queue. The check and the write are one
	// statement, so of two concurrent replays one wins and the other gets
	// EConflict. An unknown id is ENotFound.
	Replay(ctx context.Context, id string, jobs []NewJob) error

	// RetryNow makes queued jobs that wait to retry run at once; a job
	// that is running meanwhile is left alone.
	RetryNow(ctx context.Context, jobIDs []int64) error

	// Dispatch moves the jobs of up to limit accepted events, oldest
	// first, from the outbox they were committed in into the job queue, in
	// one transaction, and returns how many events it moved. Several
	// processes may dispatch at once: each event is moved once. hookd serve
	// no longer calls it (its delivery engine claims outboxes with
	// ClaimDue); tests use it to put jobs in the queue.
	Dispatch(ctx context.Context, limit int) (int, error)

	// ClaimDue claims up to limit events whose outbox is due (unclaimed, or
	// its claim expired), oldest due first, until until, and returns them
	// with their bodies and jobs, ClaimedUntil set: the process makes
	// their first attempts and settles them. Several processes may claim
	// at once: each event goes to one.
	ClaimDue(ctx context.Context, limit int, until time.Time) ([]Submission, error)

	// Settle records the first attempts made under claims and ends the
	// claims, each settlement in the one transaction of the call: the
	// event's outbox is emptied and its jobs are queued as they now stand
	// (done, failed, or waiting to retry at RetryAt). A success's record
	// (Job.History) goes in the event's row, every other attempt's in a row
	// of its own, in the same transaction. A claim that no
	// longer holds (it expired and another process took the work) is
	// skipped: that process does the work again. It returns the claims it
	// settled.
	Settle(ctx context.Context, settlements []Settlement) ([]Claim, error)

	// RecordAttempt records one attempt of a queued job (jobID, of args)
	// that the queue's worker made, in a transaction of its own: see
	// Job.History. Settle records the first attempts it queues itself.
	RecordAttempt(ctx context.Context, args JobArgs, jobID int64, r AttemptRecord) error

	// RenewClaims moves claims that still hold to until, and returns the
	// claims as they now stand (those that no longer held are left out).
	// An until in the past gives the work up to the dispatchers.
	RenewClaims(ctx context.Context, claims []Claim, until time.Time) ([]Claim, error)

	// Prune deletes, with their jobs and their attempts' records, up to r.Limit finished events that
	// are past their service's retention (see PruneRequest), in one
	// short transaction, walking from r.From; it returns how many it
	// deleted and where the next call goes on from. Pending events are
	// never deleted.
	Prune(ctx context.Context, r PruneRequest) (PruneResult, error)

	// Backlog counts the work waiting, for operators' gauges. It reads
	// indexes only where it can; a scrape calls it.
	Backlog(ctx context.Context) (Backlog, error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	// Heartbeat commits a tiny write (one row it keeps), so that readiness
	// means the database can take writes, not only answer: a full disk
	// or a read-only file still answers a ping. Errors have code
	// EUnavailable.
	Heartbeat(ctx context.Context) error

	Close() error
}

// LatestJobs returns the most recent job of each action, by action index:
// a replay adds jobs, and only the latest one of an action tells its state.
// A job still in the event's outbox (ID 0, not yet numbered by the queue)
// is the most recent of all.
func LatestJobs(jobs []*Job) map[int]*Job {
	latest := map[int]*Job{}
	for _, j := range jobs {
		if l := latest[j.ActionIndex]; l == nil || newer(j, l) {
			latest[j.ActionIndex] = j
		}
	}
	return latest
}

// newer reports whether j came after l, two jobs of one action: a first
// attempt settled without the queue came first of all, a job still in the
// outbox last, and queued jobs in the order of their IDs.
func newer(j, l *Job) bool {
	switch {
	case j.Settled || l.Settled:
		return l.Settled && !j.Settled
	case j.ID == 0 || l.ID == 0:
		return j.ID == 0
	}
	return j.ID > l.ID
}

// StatusOf derives an event's status from its jobs: pending while any
// action's latest job is unfinished, failed if any failed, else succeeded.
func StatusOf(jobs []*Job) EventStatus {
	status := EventSucceeded
	for _, j := range LatestJobs(jobs) {
		switch j.State {
		case JobSucceeded:
		case JobFailed:
			status = EventFailed
		default:
			return EventPending
		}
	}
	return status
}

// ReplayPlan is what replaying an event does, action by action.
type ReplayPlan struct {
	// Jobs are the new jobs to put in the event's outbox.
	Jobs []NewJob
	// RetryNow are queued jobs waiting to retry, to run at once.
	RetryNow []int64
	// Actions says what is done for each action that does work.
	Actions []ReplayAction
}

// ReplayAction is what a replay does for one action.
type ReplayAction struct {
	Index  int    `json:"index"`
	Action string `json:"action"`
	// Result is "enqueued", "retrying now", or "left alone" with the
	// reason: "running", "pending", "succeeded".
	Result string `json:"result"`
}

// PlanReplay returns what replaying ev does: a new job for each action
// whose latest job failed; an immediate run for one waiting to retry (an
// operator who fixed the destination need not wait out the backoff); a
// running or queued job is left alone. When every action's latest job
// succeeded, every action runs again (a deliberate re-delivery). An event
// with nothing to replay is EConflict.
func PlanReplay(svc *Service, ev *Event) (*ReplayPlan, error) {
	all := JobsFor(svc, ev.ID)
	latest := LatestJobs(ev.Jobs)
	p := &ReplayPlan{}
	allSucceeded := true
	for _, j := range all {
		a := ReplayAction{Index: j.Args.ActionIndex, Action: j.Args.Action}
		switch l := latest[j.Args.ActionIndex]; {
		case l == nil, l.State == JobFailed:
			a.Result, p.Jobs = "enqueued", append(p.Jobs, j)
		case l.State == JobRetrying && l.ID != 0:
			a.Result, p.RetryNow = "retrying now", append(p.RetryNow, l.ID)
		case l.State == JobSucceeded:
			a.Result = "left alone: succeeded"
		default:
			a.Result = "left alone: " + string(l.State)
		}
		if a.Result != "left alone: succeeded" {
			allSucceeded = false
		}
		p.Actions = append(p.Actions, a)
	}
	if allSucceeded {
		p.Jobs = all
		for i := range p.Actions {
			p.Actions[i].Result = "enqueued"
		}
	}
	if len(p.Jobs) == 0 && len(p.RetryNow) == 0 {
		return nil, Errorf(EConflict, "event %s has nothing to replay: its jobs are running or queued", ev.ID)
	}
	return p, nil
}
