package jobs

import (
	"cmp"
	"context"
	"log/slog"
	"time"
)

// Outbox takes up to limit events waiting in the outbox and returns how
// many it took: the delivery engine, which claims them for their first
// attempts.
type Outbox interface {
	Dispatch(ctx context.Context, limit int) (int, error)
}

// Dispatcher drains the outbox into an Outbox: when woken (the engine
// wakes it when room frees up after work was left waiting), and every
// interval for replays, other processes' events and expired claims.
type Dispatcher struct {
	outbox   Outbox
	interval time.Duration
	batch    int
	log      *slog.Logger
	wake     chan struct{}
}

// NewDispatcher returns a dispatcher for outbox polling every interval,
// which must be positive (workers.dispatch_interval).
func NewDispatcher(outbox Outbox, interval time.Duration, log *slog.Logger) *Dispatcher {
	return &Dispatcher{outbox: outbox, interval: interval, batch: 1000,
		log: cmp.Or(log, slog.Default()), wake: make(chan struct{}, 1)}
}

// Wake asks for a dispatch now; it never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default: // one is pending already
	}
}

// Run dispatches until ctx ends. After a failure (the database is away)
// it waits longer each time, up to 5s, and logs once per streak.
func (d *Dispatcher) Run(ctx context.Context) {
	wait, failing := d.interval, false
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		_, err := drain(ctx, d.batch, d.outbox.Dispatch)
		switch {
		case err != nil && ctx.Err() == nil:
			if !failing {
				d.log.Error("dispatching jobs failed; retrying", "err", err)
			}
			failing, wait = true, min(2*wait, 5*time.Second)
		case err == nil:
			if failing {
				d.log.Info("dispatching jobs again")
			}
			failing, wait = false, d.interval
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
	}
}

// drain calls step with limit until it does less than limit (a full batch
// means there may be more) or fails, and returns how much was done in all.
// Each call is its own transaction, so none holds the database for long.
func drain(ctx context.Context, limit int, step func(ctx context.Context, limit int) (int, error)) (int, error) {
	total := 0
	for {
		n, err := step(ctx, limit)
		total += n
		if err != nil || n < limit {
			return total, err
		}
	}
}
