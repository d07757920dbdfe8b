package jobs

import (
	"context"
	"sync"
	"testing"
	"time"
)

type fakePrunable struct {
	mu    sync.Mutex
	left  int
	calls chan int
}

func (f *fakePrunable) Prune(_ context.Context, _ time.Time, limit int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := min(f.left, limit)
	f.left -= n
	f.calls <- n
	return n, nil
}

func TestPrunerDeletesInBoundedBatches(t *testing.T) {
	t.Parallel()
	f := &fakePrunable{left: 2500, calls: make(chan int, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go NewPruner(f, time.Hour, nil).Run(ctx)
	for _, want := range []int{1000, 1000, 500} {
		select {
		case got := <-f.calls:
			if got != want {
				t.Fatalf("pruned %d, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the pruner stopped before the backlog was gone")
		}
	}
	select {
	case n := <-f.calls:
		t.Fatalf("pruned again (%d) before the interval", n)
	default:
	}
}
