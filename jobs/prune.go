package jobs

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/hookd/hookd"
)

// Prunable is a store that deletes finished events past their retention:
// a hookd.Store.
type Prunable interface {
	Prune(ctx context.Context, r hookd.PruneRequest) (hookd.PruneResult, error)
}

// Pruning defaults.
const (
	// DefaultPruneInterval is the time between two passes: short, so that
	// under sustained load each pass has a minute's worth of events to
	// delete, not hours'.
	DefaultPruneInterval = time.Minute
	// DefaultPruneBatch bounds the events one transaction deletes: a few
	// milliseconds of the writer's time on SQLite.
	DefaultPruneBatch = 100
	// maxPause bounds the pause between two batches.
	maxPause = 50 * time.Millisecond
)

// PrunerConfig configures a Pruner.
type PrunerConfig struct {
	// Retention is each service's retention, by name
	// (hookd.Service.Retention); a service not in it has the zero
	// hookd.Retention.
	Retention map[string]hookd.Retention
	// Interval is the time between passes. Defaults to
	// DefaultPruneInterval.
	Interval time.Duration
	// Batch bounds the events one transaction deletes. Defaults to
	// DefaultPruneBatch.
	Batch int
	// Now is the clock retentions are measured by. Defaults to time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Pruner deletes the events past their service's retention, with their
// jobs, so that the database stops growing: those whose work all
// succeeded, and failed ones of services that do not keep them. Pending
// events stay.
type Pruner struct {
	store Prunable
	c     PrunerConfig
}

// NewPruner returns a pruner of store.
func NewPruner(store Prunable, c PrunerConfig) *Pruner {
	c.Interval = cmp.Or(c.Interval, DefaultPruneInterval)
	c.Batch = cmp.Or(c.Batch, DefaultPruneBatch)
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return &Pruner{store: store, c: c}
}

// PassStats is what one pass did.
type PassStats struct {
	Deleted, Batches int
	// Longest is the longest transaction of the pass (PruneResult.Held).
	Longest time.Duration
}

// Pass walks every service once, from its oldest event to its retention's
// horizon as of the start of the pass, deleting in transactions of at
// most Batch events. After each transaction it pauses as long as that
// transaction took (up to 50ms), so that ingest gets the writer between
// two of them however long the pass.
func (p *Pruner) Pass(ctx context.Context) (PassStats, error) {
	var st PassStats
	r := hookd.PruneRequest{Now: p.c.Now(), Retention: p.c.Retention, Limit: p.c.Batch}
	for {
		res, err := p.store.Prune(ctx, r)
		if err != nil {
			return st, err
		}
		st.Deleted += res.Deleted
		st.Longest = max(st.Longest, res.Held)
		if res.Deleted > 0 {
			st.Batches++
		}
		if res.Done {
			return st, nil
		}
		r.From = res.Next
		if err := pause(ctx, min(res.Held, maxPause)); err != nil {
			return st, err
		}
	}
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Run makes a pass at once and then every interval until ctx ends.
func (p *Pruner) Run(ctx context.Context) {
	t := time.NewTicker(p.c.Interval)
	defer t.Stop()
	for {
		st, err := p.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			p.c.Logger.Error("pruning events failed; trying again later", "err", err, "in", p.c.Interval)
		}
		if st.Deleted > 0 {
			p.c.Logger.Info("pruned events past their retention", "events", st.Deleted, "transactions", st.Batches,
				"longest_ms", float64(st.Longest.Microseconds())/1000)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
