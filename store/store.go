// Package store holds what the two implementations of hookd.Store share:
// event IDs, the stored form of headers and of an event's outbox, the
// mapping from River's job states to the states users see, and cursors.
// The implementations are store/sqlite (default) and store/postgres;
// store/storetest is the suite both pass. The interface itself is
// hookd.Store. This package imports no queue library, so the HTTP layer can
// use it.
package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/jsonx"
)

// NewEventID returns a new event ID: "evt_" and a ULID, so IDs sort by the
// time they were made and a cursor can be an ID.
func NewEventID() string { return "evt_" + ulid.Make().String() }

// NewEventIDAt returns a new event ID for an event received at t: its ULID
// carries t (to the millisecond), so that a range of received times is a
// range of IDs (see IDRange), which the table is ordered by.
func NewEventIDAt(t time.Time) string {
	return "evt_" + ulid.MustNew(ulid.Timestamp(t), ulid.DefaultEntropy()).String()
}

// idSlack widens IDRange's bounds: an ID made apart from its received time
// (by NewEventID, in earlier versions) is still within them.
const idSlack = time.Minute

// IDRange returns bounds on the IDs of events received in [since, until)
// (a zero time is no bound): from <= ID < to, "" for no bound. They are a
// little wider than the range (idSlack), so a query still checks the
// received time itself; they let it read only that stretch of the table.
func IDRange(since, until time.Time) (from, to string) {
	bound := func(t time.Time) string {
		ms := max(t.UnixMilli(), 0)
		var id ulid.ULID
		if err := id.SetTime(min(uint64(ms), ulid.MaxTime())); err != nil {
			return ""
		}
		return "evt_" + id.String()
	}
	if !since.IsZero() {
		from = bound(since.Add(-idSlack))
	}
	if !until.IsZero() {
		to = bound(until.Add(idSlack))
	}
	return from, to
}

// IDBounds returns, besides IDRange's bounds from and to, the IDs past
// which the received time needs no check: an event whose ID is at or
// above sinceSure was received at or after since, one whose ID is below
// untilSure before until ("" for no bound). Between from and sinceSure,
// and between untilSure and to, lie the events of the slack around each
// bound, whose received time a query checks; elsewhere an index on ID
// answers alone.
func IDBounds(since, until time.Time) (from, sinceSure, untilSure, to string) {
	from, to = IDRange(since, until)
	// An ID is within the slack of the received time, and its own time
	// is a millisecond's: twice the slack and a millisecond on is sure.
	if !since.IsZero() {
		sinceSure, _ = IDRange(since.Add(2*idSlack+time.Millisecond), time.Time{})
	}
	if !until.IsZero() {
		_, untilSure = IDRange(time.Time{}, until.Add(-2*idSlack-time.Millisecond))
	}
	return from, sinceSure, untilSure, to
}

// JobState maps a River job state to what users see. River retries a job
// due within seconds by making it available again, so an available or
// scheduled job that has run before is retrying.
func JobState(riverState string, attempts int) hookd.JobState {
	switch riverState {
	case "running":
		return hookd.JobRunning
	case "retryable":
		return hookd.JobRetrying
	case "completed":
		return hookd.JobSucceeded
	case "discarded", "cancelled":
		return hookd.JobFailed
	default: // available, scheduled, pending
		if attempts > 0 {
			return hookd.JobRetrying
		}
		return hookd.JobPending
	}
}

// RiverStates returns the River states that show as s (ignoring the
// attempts nuance of JobState: retrying includes available jobs that ran),
// or an error with code EInvalid for an unknown state.
func RiverStates(s hookd.JobState) ([]string, error) {
	switch s {
	case hookd.JobPending:
		return []string{"available", "scheduled", "pending"}, nil
	case hookd.JobRunning:
		return []string{"running"}, nil
	case hookd.JobRetrying:
		return []string{"retryable"}, nil
	case hookd.JobSucceeded:
		return []string{"completed"}, nil
	case hookd.JobFailed:
		return []string{"discarded", "cancelled"}, nil
	}
	return nil, hookd.Errorf(hookd.EInvalid, "state: %q is not one of pending, running, retrying, succeeded, failed", s)
}

// Limit clamps a page size: 50 by default, at most 500.
func Limit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 500:
		return 500
	}
	return n
}

// sensitiveHeaders are never stored: they may carry the credentials of the
// basic and api-key schemes, or a proxy's.
var sensitiveHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              true,
}

// EncodeHeader returns the headers kept with an event, as a JSON object: h
// less Authorization, Proxy-Authorization and Cookie, names sorted (as
// encoding/json writes a map). It is written by hand because it runs for
// every webhook (package jsonx says why).
func EncodeHeader(h http.Header) []byte {
	names := make([]string, 0, len(h))
	size := 2
	for k, vs := range h {
		if !sensitiveHeaders[http.CanonicalHeaderKey(k)] {
			names = append(names, k)
			size += len(k) + 6
			for _, v := range vs {
				size += len(v) + 3
			}
		}
	}
	slices.Sort(names)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonx.AppendString(b, k)
		b = append(b, ':')
		if h[k] == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		for j, v := range h[k] {
			if j > 0 {
				b = append(b, ',')
			}
			b = jsonx.AppendString(b, v)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// HeaderJSON returns what a store writes for ev's headers: the
// StoredHeader the caller encoded, else EncodeHeader's.
func HeaderJSON(ev *hookd.Event) []byte {
	if ev.StoredHeader != nil {
		return ev.StoredHeader
	}
	return EncodeHeader(ev.Header)
}

// DecodeHeader reverses EncodeHeader.
func DecodeHeader(b []byte) http.Header {
	h := http.Header{}
	_ = json.Unmarshal(b, &h) // written by EncodeHeader; empty on damage
	return h
}

// LastError returns the message of the last entry of River's errors column
// (a JSON array of {"error": …}). Earlier hookd versions failed jobs with
// river.JobCancel, whose text River stored with a "JobCancelError: "
// prefix: the name of a queue library's type, not what the destination
// said, so it is dropped from the rows they wrote.
func LastError(errorsJSON []byte) string {
	errs := riverErrors(errorsJSON)
	if len(errs) == 0 {
		return ""
	}
	return errs[len(errs)-1].Error
}

// riverError is one entry of River's errors column.
type riverError struct {
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
}

// riverErrors decodes River's errors column (see LastError); nil on damage.
func riverErrors(errorsJSON []byte) []riverError {
	var errs []riverError
	if json.Unmarshal(errorsJSON, &errs) != nil {
		return nil
	}
	for i := range errs {
		errs[i].Error = strings.TrimPrefix(errs[i].Error, "JobCancelError: ")
	}
	return errs
}

// EncodeCursor and DecodeCursor keep cursors opaque to clients.
func EncodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// DecodeCursor returns the position encoded by EncodeCursor, or an error
// with code EInvalid.
func DecodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || strings.ContainsRune(string(b), 0) {
		return "", hookd.Errorf(hookd.EInvalid, "cursor: not a cursor from a previous page")
	}
	return string(b), nil
}

// EventPage trims a query's limit+1 events to limit and returns the cursor
// of the next page ("" when this is the last).
func EventPage(events []*hookd.Event, limit int) ([]*hookd.Event, string) {
	if len(events) <= limit {
		return events, ""
	}
	return events[:limit], EncodeCursor(events[limit-1].ID)
}

// JobPage is EventPage for jobs.
func JobPage(jobs []*hookd.Job, limit int) ([]*hookd.Job, string) {
	if len(jobs) <= limit {
		return jobs, ""
	}
	return jobs[:limit], EncodeCursor(strconv.FormatInt(jobs[limit-1].ID, 10))
}

// DecodeJobCursor returns the job ID a JobPage cursor points after (0 for
// the first page), or an error with code EInvalid.
func DecodeJobCursor(c string) (int64, error) {
	after, err := DecodeCursor(c)
	if err != nil || after == "" {
		return 0, err
	}
	id, err := strconv.ParseInt(after, 10, 64)
	if err != nil {
		return 0, hookd.Errorf(hookd.EInvalid, "cursor: not a cursor from a previous page")
	}
	return id, nil
}

// pendingJob is one entry of an event's outbox column.
type pendingJob struct {
	Action      int    `json:"action"`
	Type        string `json:"type"`
	MaxAttempts int    `json:"max_attempts"`
}

// EncodePending returns the outbox column of an event with jobs: the jobs
// committed with the event and not yet in River's queue. Nil (NULL) when
// there are none.
func EncodePending(jobs []hookd.NewJob) []byte {
	if len(jobs) == 0 {
		return nil
	}
	p := make([]pendingJob, len(jobs))
	for i, j := range jobs {
		p[i] = pendingJob{Action: j.Args.ActionIndex, Type: j.Args.Action, MaxAttempts: j.MaxAttempts}
	}
	b, _ := json.Marshal(p) // ints and strings always encode
	return b
}

// DecodePending reverses EncodePending for the event id of service.
func DecodePending(id, service string, b []byte) ([]hookd.NewJob, error) {
	var p []pendingJob
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("event %s: pending jobs: %w", id, err)
	}
	jobs := make([]hookd.NewJob, len(p))
	for i, j := range p {
		jobs[i] = hookd.NewJob{
			Args:        hookd.JobArgs{EventID: id, Service: service, ActionIndex: j.Action, Action: j.Type},
			MaxAttempts: j.MaxAttempts,
		}
	}
	return jobs, nil
}

// EventJobs is what a backend read of an event's jobs, for SetJobs.
type EventJobs struct {
	// Queued are the event's jobs in River's queue, oldest first, and
	// RiverErrors their errors columns, in the same order.
	Queued      []*hookd.Job
	RiverErrors [][]byte
	// Pending and Settled are the event's outbox and settled columns
	// (nil for NULL).
	Pending, Settled []byte
	// Attempts are the event's rows of the attempts table.
	Attempts []AttemptRow
}

// AttemptRow is one row of the attempts table: an attempt of the queued
// job JobID.
type AttemptRow struct {
	JobID int64
	hookd.AttemptRecord
}

// SetJobs sets an event's jobs, each with its history, and its status:
// first the first attempts that succeeded without the queue (the settled
// column), then the jobs still in its outbox column, then those queued in
// River.
func SetJobs(ev *hookd.Event, r EventJobs) error {
	var jobs []*hookd.Job
	if r.Settled != nil {
		var s []settledJob
		if err := json.Unmarshal(r.Settled, &s); err != nil {
			return fmt.Errorf("event %s: settled jobs: %w", ev.ID, err)
		}
		for _, j := range s {
			at := time.UnixMicro(j.At).UTC()
			jobs = append(jobs, &hookd.Job{EventID: ev.ID, Service: ev.Service, Action: j.Type, ActionIndex: j.Action,
				State: hookd.JobSucceeded, Attempts: 1, MaxAttempts: j.MaxAttempts, CreatedAt: at, Settled: true,
				History: []hookd.AttemptRecord{{Number: 1, StartedAt: at, Duration: time.Duration(j.Duration) * time.Microsecond,
					Outcome: hookd.AttemptSucceeded, Code: j.Code, Reply: j.Reply}}})
		}
	}
	if r.Pending != nil {
		nj, err := DecodePending(ev.ID, ev.Service, r.Pending)
		if err != nil {
			return err
		}
		jobs = append(jobs, pendingJobs(nj)...)
	}
	byJob := map[int64][]hookd.AttemptRecord{}
	for _, a := range r.Attempts {
		byJob[a.JobID] = append(byJob[a.JobID], a.AttemptRecord)
	}
	for i, j := range r.Queued {
		var errs []byte
		if i < len(r.RiverErrors) {
			errs = r.RiverErrors[i]
		}
		j.History = history(j, byJob[j.ID], errs)
	}
	jobs = append(jobs, r.Queued...)
	ev.Jobs, ev.Status = jobs, hookd.StatusOf(jobs)
	return nil
}

// StatusColumn is what an event's status column holds for status s:
// "pending" or "failed", and nil (NULL) for succeeded, which most events
// are, so that the column's partial index holds only the others.
func StatusColumn(s hookd.EventStatus) *string {
	if s == hookd.EventSucceeded || s == "" {
		return nil
	}
	v := string(s)
	return &v
}

// ListedStatus is the status listings show for an event whose status
// column is column, with its outbox full or not: pending while the outbox
// holds jobs (the column may be NULL then: see AcceptedStatus), else the
// column's (NULL: succeeded).
func ListedStatus(column *string, outbox bool) hookd.EventStatus {
	switch {
	case outbox:
		return hookd.EventPending
	case column == nil:
		return hookd.EventSucceeded
	}
	return hookd.EventStatus(*column)
}

// AcceptedStatus is the status column of sub's event when it is stored:
// pending while its jobs wait in the outbox for anyone; NULL without jobs,
// and NULL while the accepting process holds them (ClaimedUntil) for
// their first attempts, which settle the column in the statement they
// run anyway: the common path never enters the column's index. Listings
// find such an event through its claim (see ListedStatus).
func AcceptedStatus(sub hookd.Submission) *string {
	if len(sub.Jobs) == 0 || !sub.ClaimedUntil.IsZero() {
		return nil
	}
	return StatusColumn(hookd.EventPending)
}

// SettledStatus is the status of st's event once st is settled, when it
// was not replayed: its attempts are then all its jobs (a settled column
// left from before holds successes only, which change no status). A
// replayed event's depends on its earlier jobs too: AfterAttempts.
func SettledStatus(st hookd.Settlement) hookd.EventStatus {
	return hookd.StatusOf(AttemptJobs(st.Attempts))
}

// AfterAttempts is the status of the event whose jobs are queued (in the
// queue) and settled (its settled column, nil for NULL) once attempts,
// its outbox's first attempts, are recorded after them: the status of a
// replayed event's settlement.
func AfterAttempts(id string, queued []*hookd.Job, settled []byte, attempts []hookd.Attempt) (hookd.EventStatus, error) {
	ev := &hookd.Event{ID: id}
	if err := SetJobs(ev, EventJobs{Queued: append(queued, AttemptJobs(attempts)...), Settled: settled}); err != nil {
		return "", err
	}
	return ev.Status, nil
}

// AfterOutcome is the status of the event whose jobs are queued, pending
// (its outbox column) and settled (its settled column) once the queued
// job jobID is in state: what a worker records after an attempt, before
// the queue records the job's new state.
func AfterOutcome(id string, queued []*hookd.Job, pending, settled []byte, jobID int64, state hookd.JobState) (hookd.EventStatus, error) {
	for _, j := range queued {
		if j.ID == jobID {
			j.State = state
		}
	}
	ev := &hookd.Event{ID: id}
	if err := SetJobs(ev, EventJobs{Queued: queued, Pending: pending, Settled: settled}); err != nil {
		return "", err
	}
	return ev.Status, nil
}

// AttemptJobs shows first attempts as the jobs they leave: succeeded,
// retrying (a RetryAt) or failed, each the latest of its action (ID 0:
// not yet numbered by the queue).
func AttemptJobs(attempts []hookd.Attempt) []*hookd.Job {
	out := make([]*hookd.Job, len(attempts))
	for i, a := range attempts {
		state := hookd.JobSucceeded
		switch {
		case a.Error == "":
		case !a.RetryAt.IsZero():
			state = hookd.JobRetrying
		default:
			state = hookd.JobFailed
		}
		out[i] = &hookd.Job{EventID: a.Job.Args.EventID, Service: a.Job.Args.Service, Action: a.Job.Args.Action,
			ActionIndex: a.Job.Args.ActionIndex, State: state, Attempts: 1, MaxAttempts: a.Job.MaxAttempts}
	}
	return out
}

// history returns the attempts of queued job j, by number: those recorded
// (records), and, for a failed attempt with no record (one made before
// hookd recorded attempts, or whose record a crash lost), River's entry in
// its errors column: the time it was recorded, and the error, without
// duration or reply.
func history(j *hookd.Job, records []hookd.AttemptRecord, errorsJSON []byte) []hookd.AttemptRecord {
	h := slices.Clone(records)
	for _, e := range riverErrors(errorsJSON) {
		if e.Attempt < 1 || slices.ContainsFunc(records, func(r hookd.AttemptRecord) bool { return r.Number == e.Attempt }) {
			continue
		}
		r := hookd.AttemptRecord{Number: e.Attempt, StartedAt: e.At.UTC(), Outcome: hookd.AttemptRetrying, Error: e.Error}
		if j.State == hookd.JobFailed && e.Attempt == j.Attempts {
			r.Outcome = hookd.AttemptFailed
		}
		h = append(h, r)
	}
	slices.SortStableFunc(h, func(a, b hookd.AttemptRecord) int { return a.Number - b.Number })
	return h
}

// SettledReply is the most of a reply the settled column keeps for a
// first attempt that succeeded (hookd.AttemptRecord.Reply): it is written
// into the event's row on the delivery path, once per event, where the
// 256 bytes kept for an attempt with a row of its own would grow every
// event's row; a success's reply is mostly a status or a queue ID.
const SettledReply = 64

// settledJob is one entry of an event's settled column.
type settledJob struct {
	Action      int    `json:"action"`
	Type        string `json:"type"`
	MaxAttempts int    `json:"max_attempts"`
	At          int64  `json:"at"` // when the attempt started, Unix microseconds
	// The attempt's record (absent from rows written before hookd kept
	// it): its duration in microseconds, the reply's code and text.
	Duration int64  `json:"us,omitempty"`
	Code     int    `json:"code,omitempty"`
	Reply    string `json:"reply,omitempty"`
}

// SplitSettlement says where st's attempts are recorded: the settled
// column (nil for NULL: leave it as it is) holds the first attempts that
// succeeded; the others become queued jobs (jobs.FullInsertParams), where
// retries and dead letters live. A replayed event's attempts all become
// queued jobs, so that they come after its earlier ones.
func SplitSettlement(st hookd.Settlement) (settled []byte, queued []hookd.Attempt) {
	if st.Replayed {
		return nil, st.Attempts
	}
	for _, a := range st.Attempts {
		if a.Error != "" {
			queued = append(queued, a)
		}
	}
	return encodeSettled(st.Attempts), queued
}

// encodeSettled returns the settled column of an event whose first
// attempts are attempts: those that succeeded, which need no queue job. Nil
// (NULL) when none did. Failed attempts go into the queue as jobs instead
// (jobs.FullInsertParams), where their retries and dead letters live.
func encodeSettled(attempts []hookd.Attempt) []byte {
	var s []settledJob
	for _, a := range attempts {
		if a.Error == "" {
			s = append(s, settledJob{Action: a.Job.Args.ActionIndex, Type: a.Job.Args.Action,
				MaxAttempts: a.Job.MaxAttempts, At: a.StartedAt.UnixMicro(),
				Duration: a.FinishedAt.Sub(a.StartedAt).Microseconds(), Code: a.Reply.Code,
				Reply: hookd.Snippet(a.Reply.Text, SettledReply)})
		}
	}
	if s == nil {
		return nil
	}
	b, _ := json.Marshal(s) // ints and strings (valid UTF-8: Snippet) always encode
	return b
}

// NewAttemptRows returns the rows of the attempts table for first attempts
// that became queued jobs (SplitSettlement's queued), given the jobs River
// made of them (their IDs and encoded args, in any order): each attempt
// is found by its event and action, which are one job's in a settlement
// batch. An attempt whose job is not found is left out rather than fail
// the settlement: its history then shows River's record of it.
func NewAttemptRows(queued []hookd.Attempt, jobIDs []int64, jobArgs [][]byte) []AttemptInsert {
	type key struct {
		event  string
		action int
	}
	ids := make(map[key]int64, len(jobIDs))
	for i, id := range jobIDs {
		var args hookd.JobArgs
		if json.Unmarshal(jobArgs[i], &args) == nil {
			ids[key{args.EventID, args.ActionIndex}] = id
		}
	}
	out := make([]AttemptInsert, 0, len(queued))
	for _, a := range queued {
		if id, ok := ids[key{a.Job.Args.EventID, a.Job.Args.ActionIndex}]; ok {
			out = append(out, NewAttemptInsert(a.Job.Args, id, a.Record(1)))
		}
	}
	return out
}

// AttemptInsert is a row to write into the attempts table, its text made
// storable.
type AttemptInsert struct {
	EventID string
	Action  int
	JobID   int64
	hookd.AttemptRecord
}

// NewAttemptInsert returns the row of attempt r of job jobID of args. The
// texts are made valid UTF-8 without NUL (PostgreSQL's text holds
// neither), the reply cut to hookd.MaxReply bytes.
func NewAttemptInsert(args hookd.JobArgs, jobID int64, r hookd.AttemptRecord) AttemptInsert {
	r.Reply = hookd.Snippet(r.Reply, hookd.MaxReply)
	r.Error = strings.ReplaceAll(strings.ToValidUTF8(r.Error, "\uFFFD"), "\x00", "\uFFFD")
	return AttemptInsert{EventID: args.EventID, Action: args.ActionIndex, JobID: jobID, AttemptRecord: r}
}

// pendingJobs shows an event's not yet dispatched jobs as pending jobs
// (with ID 0: River has not numbered them yet).
func pendingJobs(jobs []hookd.NewJob) []*hookd.Job {
	out := make([]*hookd.Job, len(jobs))
	for i, j := range jobs {
		out[i] = &hookd.Job{EventID: j.Args.EventID, Service: j.Args.Service, Action: j.Args.Action,
			ActionIndex: j.Args.ActionIndex, State: hookd.JobPending, MaxAttempts: j.MaxAttempts}
	}
	return out
}

// FirstOfKey returns, for each submission, the index of the first
// submission in subs with the same service and key (its own index for the
// first), and the indexes of those firsts, in order. Backends write only
// the firsts; ResolveRepeats then answers the others.
func FirstOfKey(subs []hookd.Submission) (first, firsts []int) {
	first = make([]int, len(subs))
	seen := make(map[[2]string]int, len(subs))
	for i, s := range subs {
		k := [2]string{s.Event.Service, s.Event.IdempotencyKey}
		if f, ok := seen[k]; ok {
			first[i] = f
		} else {
			seen[k], first[i] = i, i
			firsts = append(firsts, i)
		}
	}
	return first, firsts
}

// ResolveRepeats answers the repeated keys of a batch from their first's
// result: the same event, a duplicate when their payload matches the one
// stored, else a conflict. The one stored is the first's own, unless a live
// event already held the key: heldHash has that event's payload hash, by
// the first's index.
func ResolveRepeats(subs []hookd.Submission, results []hookd.Result, first []int, heldHash map[int][]byte) {
	for i, f := range first {
		if f == i {
			continue
		}
		stored, ok := heldHash[f]
		if !ok {
			stored = subs[f].Event.PayloadHash
		}
		results[i] = hookd.Result{Outcome: hookd.Duplicate, EventID: results[f].EventID}
		if !bytes.Equal(stored, subs[i].Event.PayloadHash) {
			results[i].Outcome = hookd.Conflict
		}
	}
}

// DefaultReadTimeout bounds a read for the admin API, the CLI or a worker,
// so that no read holds a connection for long (see ReadContext).
const DefaultReadTimeout = 5 * time.Second

// ReadContext bounds a read to d (DefaultReadTimeout when zero).
func ReadContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = DefaultReadTimeout
	}
	return context.WithTimeout(ctx, d)
}

// ReadError wraps a read's error with op. When the read's own bound
// (readCtx, from ReadContext) ran out while the caller still waited, it is
// an error with code EUnavailable that says so and what to do: the caller
// answers 503, and the read no longer holds the database.
func ReadError(op string, err error, readCtx, callerCtx context.Context, d time.Duration) error {
	if d <= 0 {
		d = DefaultReadTimeout
	}
	if readCtx.Err() == context.DeadlineExceeded && callerCtx.Err() == nil {
		return &hookd.Error{Code: hookd.EUnavailable, Err: fmt.Errorf("%s: %w", op, err), Message: fmt.Sprintf(
			"the read took longer than %s and was stopped; narrow it with filters (service, since, until) or try again", d)}
	}
	return fmt.Errorf("%s: %w", op, err)
}
