package jobs

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// fakePrunable deletes up to the limit of what is left, and goes on from
// a cursor counting the calls.
type fakePrunable struct {
	left, n int
	calls   chan hookd.PruneRequest
}

func (f *fakePrunable) Prune(_ context.Context, r hookd.PruneRequest) (hookd.PruneResult, error) {
	n := min(f.left, r.Limit)
	f.left -= n
	f.n++
	f.calls <- r
	return hookd.PruneResult{Deleted: n, Done: f.left == 0, Next: hookd.PruneCursor{Service: "svc", After: fmt.Sprint(f.n)}}, nil
}

func TestPrunerDeletesInBoundedBatches(t *testing.T) {
	t.Parallel()
	f := &fakePrunable{left: 2*DefaultPruneBatch + 50, calls: make(chan hookd.PruneRequest, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	retention := map[string]hookd.Retention{"svc": {Keep: time.Hour}}
	go NewPruner(f, PrunerConfig{Retention: retention, Interval: time.Hour, Now: func() time.Time { return clock }}).Run(ctx)
	var prev hookd.PruneCursor
	for i := range 3 { // two full batches and the rest
		select {
		case r := <-f.calls:
			if r.Limit != DefaultPruneBatch || !r.Now.Equal(clock) || r.Retention["svc"] != retention["svc"] || r.From != prev {
				t.Fatalf("call %d: %+v; want limit %d at %v from %+v", i, r, DefaultPruneBatch, clock, prev)
			}
			prev = hookd.PruneCursor{Service: "svc", After: fmt.Sprint(i + 1)}
		case <-time.After(10 * time.Second):
			t.Fatal("the pruner stopped before the pass was done")
		}
	}
	select {
	case r := <-f.calls:
		t.Fatalf("pruned again (%+v) before the interval", r)
	default:
	}
}

func TestPassStats(t *testing.T) {
	t.Parallel()
	f := &fakePrunable{left: 250, calls: make(chan hookd.PruneRequest, 10)}
	st, err := NewPruner(f, PrunerConfig{Batch: 100}).Pass(context.Background())
	if err != nil || st.Deleted != 250 || st.Batches != 3 {
		t.Fatalf("Pass = %+v, %v; want 250 deleted in 3 transactions", st, err)
	}
}
