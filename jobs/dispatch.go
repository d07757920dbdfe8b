package jobs

import (
	"cmp"
	"context"
	"log/slog"
	"time"
)

// Outbox is where accepted events' jobs wait: a hookd.Store.
type Outbox interface {
	Dispatch(ctx context.Context, limit int) (int, error)
}

// Dispatcher moves accepted events' jobs from the outbox into River's
// queue: at once when woken after a local commit, and every interval for
// events that other processes accepted.
type Dispatcher struct {
	outbox   Outbox
	interval time.Duration
	batch    int
	log      *slog.Logger
	wake     chan struct{}
}

// NewDispatcher returns a dispatcher for outbox polling every interval
// (Defaults to 100ms).
func NewDispatcher(outbox Outbox, interval time.Duration, log *slog.Logger) *Dispatcher {
	return &Dispatcher{outbox: outbox, interval: cmp.Or(interval, 100*time.Millisecond), batch: 1000,
		log: cmp.Or(log, slog.Default()), wake: make(chan struct{}, 1)}
}

// Wake asks for a dispatch now; it never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default: // one is pending already
	}
}

// Run dispatches until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		// Drain the outbox: a full batch means there may be more.
		for {
			n, err := d.outbox.Dispatch(ctx, d.batch)
			if err != nil {
				if ctx.Err() == nil {
					d.log.Error("dispatching jobs failed; retrying", "err", err, "in", d.interval)
				}
				break
			}
			if n < d.batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
	}
}
