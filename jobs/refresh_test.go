package jobs

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// refreshes records the look-backs a refresher asks for; its first run
// fails.
type refreshes struct {
	since chan time.Time
	runs  int // only the refresher's goroutine touches it
}

func (r *refreshes) RefreshStatus(_ context.Context, since time.Time) (int, error) {
	r.runs++
	r.since <- since
	if r.runs == 1 {
		return 0, errors.New("database gone")
	}
	return 1, nil
}

// The first run reaches back an hour; each next one to the previous run's
// start less a margin, or as far as before when that run failed.
func TestStatusRefresherLooksBack(t *testing.T) {
	t.Parallel()
	store := &refreshes{since: make(chan time.Time)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go NewStatusRefresher(store, time.Millisecond, slog.New(slog.DiscardHandler)).Run(ctx)
	first := <-store.since
	if d := time.Since(first); d < refreshFirst || d > refreshFirst+time.Minute {
		t.Fatalf("first run looks back %s, want %s", d, refreshFirst)
	}
	if again := <-store.since; !again.Equal(first) {
		t.Fatalf("after a failed run: since %v, want %v again", again, first)
	}
	if d := time.Since(<-store.since); d < refreshMargin || d > refreshMargin+time.Minute {
		t.Fatalf("after a run: looks back %s, want about %s", d, refreshMargin)
	}
}
