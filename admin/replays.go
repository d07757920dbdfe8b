package admin

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// ReplayFilter selects the events a bulk replay replays. Status defaults
// to failed: a bulk replay is for dead letters, and re-delivering every
// succeeded event is never what an empty field should mean.
type ReplayFilter struct {
	Service string    `json:"service,omitempty"`
	Status  string    `json:"status,omitempty"` // pending, succeeded or failed (default)
	Action  string    `json:"action,omitempty"` // the event has a latest job of this action type (in Status, for failed)
	Since   time.Time `json:"since,omitzero"`   // received at or after
	Until   time.Time `json:"until,omitzero"`   // received before
}

// MaxBulkReplay bounds the events one bulk replay takes: its list of IDs
// is kept in memory.
const MaxBulkReplay = 10000

// Validate checks f and fills in its default.
func (f *ReplayFilter) Validate(services map[string]*hookd.Service) error {
	if f.Status == "" {
		f.Status = string(hookd.EventFailed)
	}
	if !ValidEventStatus(hookd.EventStatus(f.Status)) {
		return hookd.Errorf(hookd.EInvalid, "status: must be pending, succeeded or failed")
	}
	switch f.Action {
	case "", hookd.ActionEmail, hookd.ActionForward:
	default:
		return hookd.Errorf(hookd.EInvalid, "action: must be email or forward")
	}
	if f.Service != "" && services[f.Service] == nil {
		return hookd.Errorf(hookd.EInvalid, "service: no service %q is configured", f.Service)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return hookd.Errorf(hookd.EInvalid, "until: must be after since")
	}
	return nil
}

// eventFilter is the listing of the events f selects, action aside.
func (f ReplayFilter) eventFilter() hookd.EventFilter {
	return hookd.EventFilter{Service: f.Service, Status: hookd.EventStatus(f.Status), Since: f.Since, Until: f.Until}
}

// tooMany is the error of a filter that selects more than a bulk replay
// takes.
func tooMany() error {
	return hookd.Errorf(hookd.EInvalid, "more than %d events match; narrow the filter (service, action, since, until)", MaxBulkReplay)
}

// MatchingEvents returns the IDs of the events f selects, newest first,
// at most MaxBulkReplay (more is EInvalid: narrow the filter).
func MatchingEvents(ctx context.Context, s hookd.Store, f ReplayFilter) ([]string, error) {
	var ids []string
	cursor := ""
	for {
		ef := f.eventFilter()
		ef.Limit, ef.Cursor = MaxLimit, cursor
		events, next, err := s.Events(ctx, ef)
		if err != nil {
			return nil, err
		}
		for _, ev := range events {
			if f.Action != "" {
				full, err := s.Event(ctx, ev.ID)
				if err != nil {
					return nil, err
				}
				if !hasAction(full, f.Action, hookd.EventStatus(f.Status)) {
					continue
				}
			}
			ids = append(ids, ev.ID)
			if len(ids) > MaxBulkReplay {
				return nil, tooMany()
			}
		}
		if next == "" {
			return ids, nil
		}
		cursor = next
	}
}

// matches reports whether ev, read with its jobs, still has what f
// selects of an event's state: its status, and its action's job in it.
// (Service and received time do not change.)
func (f ReplayFilter) matches(ev *hookd.Event) bool {
	status := hookd.EventStatus(f.Status)
	return ev.Status == status && (f.Action == "" || hasAction(ev, f.Action, status))
}

// hasAction reports whether the latest job of an action of type action is
// in the state that makes the event's status (failed: that job failed).
func hasAction(ev *hookd.Event, action string, status hookd.EventStatus) bool {
	for _, j := range hookd.LatestJobs(ev.Jobs) {
		if j.Action != action {
			continue
		}
		if status != hookd.EventFailed || j.State == hookd.JobFailed {
			return true
		}
	}
	return false
}

// ReplayRun is the progress of one bulk replay.
type ReplayRun struct {
	ID       string       `json:"id"`
	Filter   ReplayFilter `json:"filter"`
	Total    int          `json:"total"`
	Replayed int          `json:"replayed"`
	// Skipped are the events left alone: another bulk replay of this
	// process had them, or they no longer matched the filter when their
	// turn came (replayed meanwhile).
	Skipped    int       `json:"skipped"`
	Failed     int       `json:"failed"`
	Errors     []string  `json:"errors,omitempty"` // the first few failures
	Done       bool      `json:"done"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// maxRunErrors bounds the failures a run keeps; the count has them all.
const maxRunErrors = 10

// maxRuns bounds the finished runs kept in memory.
const maxRuns = 100

// Replays runs bulk replays in the background and keeps their progress in
// memory: a restart forgets them (each replayed event's jobs are in the
// database as usual).
type Replays struct {
	Store    hookd.Store
	Services map[string]*hookd.Service

	// starting serialises Start: a run lists its events once the runs
	// before it have taken theirs, so an event one of those replayed is
	// either still held by it or no longer matches.
	starting sync.Mutex

	mu    sync.Mutex
	runs  map[string]*ReplayRun
	order []string
	held  map[string]bool // the events of the runs not done
	wg    sync.WaitGroup
	stop  chan struct{}
	once  sync.Once
}

// NewReplays returns a runner for bulk replays on s.
func NewReplays(s hookd.Store, services map[string]*hookd.Service) *Replays {
	return &Replays{Store: s, Services: services, runs: map[string]*ReplayRun{}, held: map[string]bool{}, stop: make(chan struct{})}
}

// Count is the dry run: how many events f selects now. It changes nothing.
func (r *Replays) Count(ctx context.Context, f ReplayFilter) (int, error) {
	if err := f.Validate(r.Services); err != nil {
		return 0, err
	}
	if f.Action != "" {
		// Which action failed is in each event's jobs: read them.
		ids, err := MatchingEvents(ctx, r.Store, f)
		return len(ids), err
	}
	n, err := r.Store.CountEvents(ctx, f.eventFilter(), MaxBulkReplay)
	if err != nil {
		return 0, err
	}
	if n > MaxBulkReplay {
		return 0, tooMany()
	}
	return n, nil
}

// Start lists the events f selects, then replays each of them once, in
// the background, and returns the run's first progress. It skips an event
// another run of r has not finished with, so that of concurrent requests
// one replays each event, and one that no longer matches f when its turn
// comes: replayed meanwhile by hand or from another process, it would
// otherwise be delivered twice.
func (r *Replays) Start(ctx context.Context, f ReplayFilter) (ReplayRun, error) {
	if err := f.Validate(r.Services); err != nil {
		return ReplayRun{}, err
	}
	r.starting.Lock()
	defer r.starting.Unlock()
	ids, err := MatchingEvents(ctx, r.Store, f)
	if err != nil {
		return ReplayRun{}, err
	}
	run := &ReplayRun{ID: "rpl_" + strings.ToLower(rand.Text()[:16]), Filter: f, Total: len(ids), StartedAt: time.Now().UTC()}
	r.mu.Lock()
	select {
	case <-r.stop:
		r.mu.Unlock()
		return ReplayRun{}, hookd.Errorf(hookd.EUnavailable, "hookd is shutting down")
	default:
	}
	mine := ids[:0]
	for _, id := range ids {
		if !r.held[id] {
			r.held[id] = true
			mine = append(mine, id)
		}
	}
	run.Skipped = len(ids) - len(mine)
	r.runs[run.ID] = run
	r.order = append(r.order, run.ID)
	r.forgetOld()
	snapshot := *run
	r.wg.Add(1)
	r.mu.Unlock()
	go r.run(run, mine)
	return snapshot, nil
}

// forgetOld drops the oldest finished runs beyond maxRuns; r.mu is held.
func (r *Replays) forgetOld() {
	for i := 0; len(r.order) > maxRuns && i < len(r.order); {
		if id := r.order[i]; r.runs[id].Done {
			delete(r.runs, id)
			r.order = append(r.order[:i], r.order[i+1:]...)
			continue
		}
		i++
	}
}

// batch is how many events a run replays between progress updates.
const batch = 50

func (r *Replays) run(run *ReplayRun, ids []string) {
	defer r.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-r.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for start := 0; start < len(ids); start += batch {
		var replayed, skipped, failed int
		var errs []string
		for _, id := range ids[start:min(start+batch, len(ids))] {
			if ctx.Err() != nil {
				break
			}
			ev, err := r.Store.Event(ctx, id)
			if err == nil && !run.Filter.matches(ev) {
				skipped++
				continue
			}
			if err == nil {
				_, err = replayEvent(ctx, r.Store, r.Services, ev)
			}
			if err != nil {
				failed++
				errs = append(errs, fmt.Sprintf("%s: %v", id, err))
				continue
			}
			replayed++
		}
		r.mu.Lock()
		run.Replayed += replayed
		run.Skipped += skipped
		run.Failed += failed
		for _, e := range errs {
			if len(run.Errors) < maxRunErrors {
				run.Errors = append(run.Errors, e)
			}
		}
		r.mu.Unlock()
		if ctx.Err() != nil {
			break
		}
	}
	r.mu.Lock()
	for _, id := range ids {
		delete(r.held, id)
	}
	run.Done, run.FinishedAt = true, time.Now().UTC()
	r.mu.Unlock()
}

// Get returns the progress of run id.
func (r *Replays) Get(id string) (ReplayRun, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	run, ok := r.runs[id]
	if !ok {
		return ReplayRun{}, false
	}
	out := *run
	out.Errors = append([]string(nil), run.Errors...)
	return out, true
}

// Close stops the runs under way (what they replayed stays replayed) and
// waits for them to end; call it before closing the store.
func (r *Replays) Close() {
	r.once.Do(func() {
		r.mu.Lock()
		close(r.stop)
		r.mu.Unlock()
	})
	r.wg.Wait()
}
