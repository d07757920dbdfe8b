package jobs

import (
	"cmp"
	"context"
	"log/slog"
	"time"
)

// Prunable is a store that can delete finished, expired events: a hookd.Store.
type Prunable interface {
	Prune(ctx context.Context, now time.Time, limit int) (int, error)
}

// Pruner deletes events whose idempotency key has expired and whose work
// all succeeded, with their jobs, so that the database does not grow
// forever. Failed events (the dead letters) and pending ones stay.
type Pruner struct {
	store    Prunable
	interval time.Duration
	log      *slog.Logger
}

// NewPruner returns a pruner of store running every interval (Defaults to
// 10 minutes).
func NewPruner(store Prunable, interval time.Duration, log *slog.Logger) *Pruner {
	return &Pruner{store: store, interval: cmp.Or(interval, 10*time.Minute), log: cmp.Or(log, slog.Default())}
}

// Run prunes at once and then every interval until ctx ends. Each
// transaction deletes at most 1,000 events, so it never holds the database
// for long.
func (p *Pruner) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		total, err := drain(ctx, 1000, func(ctx context.Context, limit int) (int, error) {
			return p.store.Prune(ctx, time.Now(), limit)
		})
		if err != nil && ctx.Err() == nil {
			p.log.Error("pruning expired events failed; trying again later", "err", err, "in", p.interval)
		}
		if total > 0 {
			p.log.Info("pruned expired events", "events", total)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
