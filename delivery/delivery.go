// Package delivery makes the first attempt of an accepted event's jobs in
// the process that stored it, right after the commit, while the event is
// still in memory: no queue insert, no fetch, no read of the event.
//
// The event's outbox is claimed in the same transaction that stores it
// (hookd.Submission.ClaimedUntil), so no dispatcher queues its jobs
// meanwhile. The outcomes are written back in batches (Store.Settle): one
// transaction for many events, which also queues each job as its attempt
// left it, done, failed, or waiting to retry, so River takes over from the
// second attempt on. A claim is renewed while its attempt runs; one whose
// process died expires after a lease of a few seconds, and a dispatcher
// then queues the work, which is done again (at least once, never lost).
//
// The engine also drains the outbox (Dispatch): what was stored unclaimed
// while it was full, accepted by an ingest-only process, replayed, or left
// by a process that died. So every first attempt is made here, at the
// engine's pace, and River's queue holds the retries.
//
// Memory is bounded: at most Capacity events are held. When the engine is
// full, or shutting down, an event is stored unclaimed and waits in the
// database until there is room.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// Store is what the engine claims its work from and writes its outcomes
// to: a hookd.Store.
type Store interface {
	ClaimDue(ctx context.Context, limit int, until time.Time) ([]hookd.Submission, error)
	Settle(ctx context.Context, settlements []hookd.Settlement) ([]hookd.Claim, error)
	RenewClaims(ctx context.Context, claims []hookd.Claim, until time.Time) ([]hookd.Claim, error)
}

// Accepter stores verified webhooks: the group committer.
type Accepter interface {
	Accept(ctx context.Context, subs []hookd.Submission) ([]hookd.Result, error)
}

// Attempter runs one attempt of a job: a jobs.Worker.
type Attempter interface {
	// Attempt runs the action once and returns what the destination
	// answered; a failure that retrying cannot fix is hookd.Permanent.
	Attempt(ctx context.Context, job hookd.NewJob, ev *hookd.Event) (hookd.Reply, error)
	// RetryDelay is how long the job waits after its attempt n failed.
	RetryDelay(args hookd.JobArgs, n int) time.Duration
	// DeadLetter reports a job that failed for good at its first attempt.
	DeadLetter(ctx context.Context, a hookd.Attempt)
}

// Config is what an Engine needs. Every field is required but Next and
// OnRoom.
type Config struct {
	Store     Store
	Next      Accepter // where events are stored, for an engine that accepts them
	Attempter Attempter
	Logger    *slog.Logger
	// OnRoom, if set, is called when slots free up after the engine found
	// more waiting work than it had room for: the dispatcher's Wake.
	OnRoom func()

	// Capacity is how many events the engine holds at once, from their
	// claim until their outcome is settled.
	Capacity int
	// Lease is how long a claim lasts without renewal: how soon another
	// process takes over the work of one that died.
	Lease time.Duration
	// AttemptTimeout bounds one attempt.
	AttemptTimeout time.Duration
}

// maxSettle bounds the settlements written in one transaction.
const maxSettle = 256

// Engine claims accepted events, attempts their jobs and settles the
// outcomes. It is an Accepter in front of Config.Next.
type Engine struct {
	c     Config
	slots chan struct{} // one per event held
	done  chan *held    // attempted, to be settled

	attempts       sync.WaitGroup
	attemptCtx     context.Context // cancelled when shutting down past the deadline
	cancelAttempts context.CancelFunc

	mu      sync.Mutex
	closing bool
	starved bool             // work was left waiting for room: wake the dispatcher when some frees up
	held    map[string]*held // by event ID, from claim to settlement
	stopped chan struct{}    // closed when Run returns
}

// held is an event the engine holds.
type held struct {
	claim    hookd.Claim // as it now stands: renewals move it
	replayed bool
	lost     bool // a renewal found it taken over
	attempts []hookd.Attempt
}

// New returns an engine; start its writer with Run.
func New(c Config) *Engine {
	e := &Engine{
		c:       c,
		slots:   make(chan struct{}, c.Capacity),
		done:    make(chan *held, c.Capacity),
		held:    map[string]*held{},
		stopped: make(chan struct{}),
	}
	e.attemptCtx, e.cancelAttempts = context.WithCancel(context.Background())
	return e
}

// Accept claims the submissions with jobs while there is room, stores all
// of them through Config.Next, then starts the first attempts of those
// stored as new events. The answer waits for the commit only.
func (e *Engine) Accept(ctx context.Context, subs []hookd.Submission) ([]hookd.Result, error) {
	// Microseconds: what both databases keep, so a claim compares equal.
	until := time.Now().Add(e.c.Lease).Truncate(time.Microsecond)
	claimed := make([]bool, len(subs))
	for i := range subs {
		if len(subs[i].Jobs) > 0 && e.reserve() {
			subs[i].ClaimedUntil, claimed[i] = until, true
		}
	}
	res, err := e.c.Next.Accept(ctx, subs)
	unclaimed := false
	for i, sub := range subs {
		switch {
		case !claimed[i]:
			unclaimed = unclaimed || len(sub.Jobs) > 0 && err == nil && res[i].Outcome == hookd.Accepted
		case err == nil && res[i].Outcome == hookd.Accepted:
			e.start(sub)
		default:
			<-e.slots // not stored (or a duplicate): nothing to do
		}
	}
	if unclaimed {
		// Stored for want of room: the dispatcher hands it over once
		// there is some (OnRoom).
		e.mu.Lock()
		e.starved = true
		e.mu.Unlock()
	}
	return res, err
}

// reserve takes a slot if there is one and the engine is not closing.
func (e *Engine) reserve() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return false
	}
	select {
	case e.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// start runs the first attempts of sub's jobs in the background.
func (e *Engine) start(sub hookd.Submission) {
	h := &held{claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil}, replayed: sub.Replayed}
	e.mu.Lock()
	e.held[sub.Event.ID] = h
	e.mu.Unlock()
	e.attempts.Go(func() {
		h.attempts = e.attempt(sub)
		if e.attemptCtx.Err() != nil {
			// Cut short by shutdown: the claim stays and expires, and
			// the work is done again after it.
			e.forget(h)
			return
		}
		e.done <- h // never blocks: it has room for every slot
	})
}

// attempt runs each job of sub once, in parallel when there are several.
func (e *Engine) attempt(sub hookd.Submission) []hookd.Attempt {
	out := make([]hookd.Attempt, len(sub.Jobs))
	var wg sync.WaitGroup
	for i, j := range sub.Jobs {
		run := func() { out[i] = e.attemptOne(j, sub.Event) }
		if i == len(sub.Jobs)-1 {
			run()
		} else {
			wg.Go(run)
		}
	}
	wg.Wait()
	return out
}

func (e *Engine) attemptOne(j hookd.NewJob, ev *hookd.Event) hookd.Attempt {
	ctx, cancel := context.WithTimeout(e.attemptCtx, e.c.AttemptTimeout)
	defer cancel()
	a := hookd.Attempt{Job: j, StartedAt: time.Now()}
	reply, err := e.c.Attempter.Attempt(ctx, j, ev)
	a.FinishedAt, a.Reply = time.Now(), reply
	if err == nil {
		return a
	}
	a.Error, a.Permanent = err.Error(), hookd.IsPermanent(err)
	if !a.Permanent && j.MaxAttempts > 1 {
		a.RetryAt = a.FinishedAt.Add(e.c.Attempter.RetryDelay(j.Args, 1))
	}
	return a
}

// forget drops h and frees its slot; if work was left waiting for room,
// it says there is some.
func (e *Engine) forget(h *held) {
	e.mu.Lock()
	delete(e.held, h.claim.EventID)
	starved := e.starved
	e.starved = false
	e.mu.Unlock()
	<-e.slots
	if starved && e.c.OnRoom != nil {
		e.c.OnRoom()
	}
}

// Dispatch claims up to limit events waiting in the outbox, as many as
// the engine has room for, and starts their first attempts. It makes the
// engine a jobs.Outbox: the dispatcher drains the outbox through it. It
// takes no slot before its claim is made, so that requests accepted
// meanwhile are not left unclaimed for want of room; a claimed event that
// finds none gives its claim back.
func (e *Engine) Dispatch(ctx context.Context, limit int) (int, error) {
	room := min(limit, cap(e.slots)-len(e.slots))
	if room <= 0 {
		e.mu.Lock()
		e.starved = true
		e.mu.Unlock()
		return 0, nil
	}
	until := time.Now().Add(e.c.Lease).Truncate(time.Microsecond)
	subs, err := e.c.Store.ClaimDue(ctx, room, until)
	var back []hookd.Claim
	for _, sub := range subs {
		if e.reserve() {
			e.start(sub)
		} else {
			back = append(back, hookd.Claim{EventID: sub.Event.ID, Until: until})
		}
	}
	if len(back) > 0 {
		// Due again at once, for whoever has room.
		_, rerr := e.c.Store.RenewClaims(ctx, back, time.Now().Add(-time.Millisecond).Truncate(time.Microsecond))
		err = errors.Join(err, rerr)
	}
	if len(subs) == room && room < limit || len(back) > 0 {
		e.mu.Lock()
		e.starved = true // there may be more than it could take
		e.mu.Unlock()
	}
	return len(subs) - len(back), err
}

// Run writes the outcomes and renews the claims of long attempts until
// Close; it returns once everything attempted is settled.
func (e *Engine) Run(ctx context.Context) {
	defer close(e.stopped)
	renew := time.NewTicker(e.c.Lease / 3)
	defer renew.Stop()
	for {
		select {
		case h, ok := <-e.done:
			if !ok {
				return // closed: every attempt is settled or forgotten
			}
			batch := []*held{h}
		more:
			for len(batch) < maxSettle {
				select {
				case h, ok := <-e.done:
					if !ok {
						break more
					}
					batch = append(batch, h)
				default:
					break more
				}
			}
			e.settle(ctx, batch)
		case <-renew.C:
			e.renew(ctx)
		}
	}
}

// settle writes a batch of outcomes, retrying while the database is away
// (the slots stay taken meanwhile: new events go to the outbox), and
// frees their slots.
func (e *Engine) settle(ctx context.Context, batch []*held) {
	settlements := make([]hookd.Settlement, 0, len(batch))
	e.mu.Lock()
	for _, h := range batch {
		if !h.lost {
			settlements = append(settlements, hookd.Settlement{Claim: h.claim, Attempts: h.attempts, Replayed: h.replayed})
		}
	}
	e.mu.Unlock()
	wait := 100 * time.Millisecond
	for failing := false; ; {
		settled, err := e.c.Store.Settle(ctx, settlements)
		if err == nil {
			if failing {
				e.c.Logger.Info("settling deliveries again")
			}
			e.logOutcomes(batch, settled)
			break
		}
		if ctx.Err() != nil {
			break // the claims expire; the work is done again
		}
		if !failing {
			e.c.Logger.Error("settling deliveries failed; retrying", "err", err)
			failing = true
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		wait = min(2*wait, 5*time.Second)
	}
	for _, h := range batch {
		e.forget(h)
	}
}

// logOutcomes logs each dead letter, once, and each lost claim.
func (e *Engine) logOutcomes(batch []*held, settled []hookd.Claim) {
	ok := make(map[string]bool, len(settled))
	for _, c := range settled {
		ok[c.EventID] = true
	}
	for _, h := range batch {
		if !ok[h.claim.EventID] {
			e.c.Logger.Debug("claim taken over before its outcome was written; the queue redoes the work", "event", h.claim.EventID)
			continue
		}
		for _, a := range h.attempts {
			if a.Error != "" && a.RetryAt.IsZero() {
				e.c.Attempter.DeadLetter(context.Background(), a)
			}
		}
	}
}

// renew extends the claims of attempts that have run for a third of the
// lease, so that no other process takes their work over while they run.
func (e *Engine) renew(ctx context.Context) {
	now := time.Now()
	var old []hookd.Claim
	e.mu.Lock()
	for _, h := range e.held {
		if !h.lost && h.claim.Until.Sub(now) <= e.c.Lease*2/3 { // a third of it gone
			old = append(old, h.claim)
		}
	}
	e.mu.Unlock()
	if len(old) == 0 {
		return
	}
	until := now.Add(e.c.Lease).Truncate(time.Microsecond)
	renewed, err := e.c.Store.RenewClaims(ctx, old, until)
	if err != nil {
		e.c.Logger.Warn("renewing delivery claims failed", "err", err)
		return
	}
	kept := make(map[string]bool, len(renewed))
	for _, c := range renewed {
		kept[c.EventID] = true
	}
	e.mu.Lock()
	for _, c := range old {
		if h := e.held[c.EventID]; h != nil {
			if kept[c.EventID] {
				h.claim = hookd.Claim{EventID: c.EventID, Until: until}
			} else {
				h.lost = true
			}
		}
	}
	e.mu.Unlock()
}

// Close stops claiming, gives running attempts until ctx ends to finish,
// cancels the rest (their claims expire and their work is done again),
// and waits for Run to settle what finished.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		<-e.stopped
		return nil
	}
	e.closing = true
	e.mu.Unlock()
	finished := make(chan struct{})
	go func() { e.attempts.Wait(); close(finished) }()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		e.cancelAttempts()
		<-finished
		err = errors.New("delivery: attempts still running at shutdown were cancelled; they run again after their claims expire")
	}
	close(e.done)
	<-e.stopped
	e.cancelAttempts()
	return err
}
