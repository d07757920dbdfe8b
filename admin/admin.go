// Package admin holds what the admin API and the CLI share: which listings
// they accept (ParseEventFilter, ValidLimit, ValidEventStatus), how events
// and jobs are shown (EventJSON, JobJSON, WriteEvents, WriteEvent) and the
// replay of events, so that "hookd events …" and /api/events answer alike.
package admin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hookd/hookd"
)

// EventJSON is an event as the API and the CLI show it.
type EventJSON struct {
	ID             string      `json:"id"`
	Service        string      `json:"service"`
	IdempotencyKey string      `json:"idempotency_key"`
	ReceivedAt     time.Time   `json:"received_at"`
	Status         string      `json:"status"`
	Jobs           []JobJSON   `json:"jobs,omitempty"`
	Header         http.Header `json:"headers,omitempty"`
	Body           *string     `json:"body,omitempty"`
}

// JobJSON is a job as the API and the CLI show it.
type JobJSON struct {
	ID          int64  `json:"id"`
	EventID     string `json:"event_id"`
	Service     string `json:"service"`
	Action      string `json:"action"`
	State       string `json:"state"`
	Attempts    int    `json:"attempts"`
	MaxAttempts int    `json:"max_attempts"`
	LastError   string `json:"last_error"`
	// History is the job's attempts, oldest first: on an event's detail
	// only ("attempts" is taken by their count).
	History []AttemptJSON `json:"history,omitzero"`
}

// AttemptJSON is one attempt of a job as the API and the CLI show it.
type AttemptJSON struct {
	Number     int       `json:"number"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS float64   `json:"duration_ms"` // to the microsecond
	Outcome    string    `json:"outcome"`
	Code       int       `json:"code"`  // HTTP status or SMTP reply code; 0: no answer
	Reply      string    `json:"reply"` // start of the response body, or the SMTP reply's text
	Error      string    `json:"error"`
}

// NewEventJSON converts ev; detail adds its jobs with their attempts,
// headers and body.
func NewEventJSON(ev *hookd.Event, detail bool) EventJSON {
	e := EventJSON{ID: ev.ID, Service: ev.Service, IdempotencyKey: ev.IdempotencyKey, ReceivedAt: ev.ReceivedAt, Status: string(ev.Status)}
	if detail {
		e.Jobs = []JobJSON{}
		for _, j := range ev.Jobs {
			jj := NewJobJSON(j)
			jj.History = []AttemptJSON{}
			for _, a := range j.History {
				jj.History = append(jj.History, AttemptJSON{Number: a.Number, StartedAt: a.StartedAt,
					DurationMS: float64(a.Duration.Microseconds()) / 1000, Outcome: string(a.Outcome), Code: a.Code,
					Reply: a.Reply, Error: a.Error})
			}
			e.Jobs = append(e.Jobs, jj)
		}
		e.Header = ev.Header
		body := string(ev.Body)
		e.Body = &body
	}
	return e
}

// NewJobJSON converts j.
func NewJobJSON(j *hookd.Job) JobJSON {
	return JobJSON{ID: j.ID, EventID: j.EventID, Service: j.Service, Action: j.Action, State: string(j.State),
		Attempts: j.Attempts, MaxAttempts: j.MaxAttempts, LastError: j.LastError}
}

// Replay replays an event (see hookd.PlanReplay): new jobs into its
// outbox, and jobs waiting to retry made to run now. It returns the plan.
func Replay(ctx context.Context, s hookd.Store, services map[string]*hookd.Service, id string) (*hookd.ReplayPlan, error) {
	ev, err := s.Event(ctx, id)
	if err != nil {
		return nil, err
	}
	return replayEvent(ctx, s, services, ev)
}

// replayEvent is Replay of ev, read with its jobs.
func replayEvent(ctx context.Context, s hookd.Store, services map[string]*hookd.Service, ev *hookd.Event) (*hookd.ReplayPlan, error) {
	id := ev.ID
	svc := services[ev.Service]
	if svc == nil {
		return nil, hookd.Errorf(hookd.EConflict, "event %s belongs to service %q, which is no longer configured", id, ev.Service)
	}
	plan, err := hookd.PlanReplay(svc, ev)
	if err != nil {
		return nil, err
	}
	if len(plan.Jobs) > 0 {
		if err := s.Replay(ctx, id, plan.Jobs); err != nil {
			return nil, err
		}
	}
	if len(plan.RetryNow) > 0 {
		if err := s.RetryNow(ctx, plan.RetryNow); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// FailedEvents returns the IDs of the failed events, of service if not
// empty, received at or after since if not zero: what to replay.
func FailedEvents(ctx context.Context, s hookd.Store, service string, since time.Time) ([]string, error) {
	var ids []string
	cursor := ""
	for {
		events, next, err := s.Events(ctx, hookd.EventFilter{Service: service, Status: hookd.EventFailed, Since: since, Limit: MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, ev := range events {
			ids = append(ids, ev.ID)
		}
		if cursor = next; cursor == "" {
			return ids, nil
		}
	}
}

// ReplayEvents replays each of ids (Replay), as "hookd events replay"
// reports it: a line on out for each event replayed, one on errs for each
// that could not be, then the count on out. With a filter, an event that
// no longer matches it when read is skipped, as a bulk replay skips it
// (replayed meanwhile: replaying it again would deliver it twice). The
// error says how many could not be replayed.
func ReplayEvents(ctx context.Context, s hookd.Store, services map[string]*hookd.Service, ids []string, only *ReplayFilter, out, errs io.Writer) error {
	var problems, skipped int
	for _, id := range ids {
		ev, err := s.Event(ctx, id)
		if err == nil && only != nil && !only.matches(ev) {
			fmt.Fprintf(out, "%s: skipped: no longer %s\n", id, only.Status)
			skipped++
			continue
		}
		var plan *hookd.ReplayPlan
		if err == nil {
			plan, err = replayEvent(ctx, s, services, ev)
		}
		if err != nil {
			fmt.Fprintf(errs, "hookd: %s: %s\n", id, hookd.ErrorMessage(err))
			problems++
			continue
		}
		fmt.Fprintf(out, "%s: %d job(s) enqueued, %d retrying now\n", id, len(plan.Jobs), len(plan.RetryNow))
	}
	fmt.Fprintf(out, "replayed %d of %d event(s)", len(ids)-problems-skipped, len(ids))
	if skipped > 0 {
		fmt.Fprintf(out, ", %d skipped", skipped)
	}
	fmt.Fprintln(out)
	if problems > 0 {
		return fmt.Errorf("%d event(s) not replayed", problems)
	}
	return nil
}
