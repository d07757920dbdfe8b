package jobs

import (
	"cmp"
	"context"
	"log/slog"
	"time"
)

// Refreshable is a store whose events' stored status can be written again
// from their jobs: a hookd store.
type Refreshable interface {
	// RefreshStatus writes again the stored status of the events whose
	// jobs finished at or after since where it may disagree with them, and
	// returns how many it changed.
	RefreshStatus(ctx context.Context, since time.Time) (int, error)
}

// StatusRefresher keeps the events' stored status in step with changes
// that River makes to their jobs without hookd: its rescuer discarding a
// job whose process died during the last attempt, its UI. hookd writes the
// status with every change it makes itself.
type StatusRefresher struct {
	store    Refreshable
	interval time.Duration
	log      *slog.Logger
}

// Look-backs of StatusRefresher: the first run reaches back an hour (what
// a restart took back, or a process that died just before), the others to
// the previous run's start less a minute, for clocks of different
// processes and for the time River takes to record what it timed.
const (
	refreshFirst  = time.Hour
	refreshMargin = time.Minute
)

// NewStatusRefresher returns a refresher of store running every interval
// (Defaults to a minute).
func NewStatusRefresher(store Refreshable, interval time.Duration, log *slog.Logger) *StatusRefresher {
	return &StatusRefresher{store: store, interval: cmp.Or(interval, time.Minute), log: cmp.Or(log, slog.Default())}
}

// Run refreshes at once and then every interval until ctx ends. A run that
// fails is covered by the next, which reaches back as far.
func (r *StatusRefresher) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	since := time.Now().Add(-refreshFirst)
	for {
		start := time.Now()
		n, err := r.store.RefreshStatus(ctx, since)
		switch {
		case err != nil && ctx.Err() == nil:
			r.log.Error("refreshing events' status from their jobs failed; trying again later", "err", err, "in", r.interval)
		case err == nil:
			since = start.Add(-refreshMargin)
		}
		if n > 0 {
			r.log.Info("refreshed the status of events whose jobs changed outside hookd", "events", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
