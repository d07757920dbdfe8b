package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeOutbox holds n events and records each Dispatch call.
type fakeOutbox struct {
	mu    sync.Mutex
	n     int
	calls int
	fail  bool
	moved chan int
}

func (o *fakeOutbox) Dispatch(_ context.Context, limit int) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.fail {
		return 0, errors.New("database unavailable")
	}
	k := min(o.n, limit)
	o.n -= k
	if k > 0 {
		o.moved <- k
	}
	return k, nil
}

func (o *fakeOutbox) add(n int) {
	o.mu.Lock()
	o.n += n
	o.mu.Unlock()
}

func TestDispatcherDrainsAndWakes(t *testing.T) {
	t.Parallel()
	o := &fakeOutbox{n: 2500, moved: make(chan int, 100)}
	d := NewDispatcher(o, time.Hour, nil) // no polling: only the start and Wake
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()

	for _, want := range []int{1000, 1000, 500} { // a full batch means: look again at once
		select {
		case got := <-o.moved:
			if got != want {
				t.Fatalf("moved %d, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the outbox was not drained")
		}
	}
	o.add(3)
	d.Wake()
	select {
	case got := <-o.moved:
		if got != 3 {
			t.Fatalf("moved %d after Wake, want 3", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wake did not dispatch")
	}
	cancel()
	<-done
}

func TestDispatcherKeepsPollingThroughErrors(t *testing.T) {
	t.Parallel()
	o := &fakeOutbox{fail: true, moved: make(chan int, 10)}
	d := NewDispatcher(o, 5*time.Millisecond, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for calls := 0; calls < 3; time.Sleep(time.Millisecond) { // wait, with a deadline, for failed tries
		o.mu.Lock()
		calls = o.calls
		o.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the dispatcher stopped trying")
		}
	}
	o.mu.Lock()
	o.fail, o.n = false, 1 // the database is back
	o.mu.Unlock()
	select {
	case <-o.moved:
	case <-time.After(10 * time.Second):
		t.Fatal("the dispatcher gave up after an error")
	}
}
