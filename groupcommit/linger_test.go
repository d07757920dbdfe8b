package groupcommit

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestLingers(t *testing.T) {
	t.Parallel()
	on := &Committer{cfg: Config{Linger: time.Millisecond}}
	off := &Committer{cfg: Config{}}
	for _, tt := range []struct {
		c           *Committer
		waited      bool
		batch, prev int
		want        bool
	}{
		{on, true, 2, 0, true},     // idle writer, concurrent requests
		{on, true, 1, 5, true},     // idle writer, the last batch had several
		{on, true, 1, 1, false},    // one request at a time: never delayed
		{on, false, 12, 12, false}, // requests were queued: the writer is busy
		{off, true, 12, 12, false},
	} {
		if got := tt.c.lingers(tt.waited, tt.batch, tt.prev); got != tt.want {
			t.Errorf("lingers(waited=%v, batch=%d, prev=%d) with Linger %v = %v, want %v",
				tt.waited, tt.batch, tt.prev, tt.c.cfg.Linger, got, tt.want)
		}
	}
}

// unstarted returns a Committer whose queue nobody reads, to drive linger.
func unstarted(cfg Config) *Committer {
	return &Committer{cfg: cfg, queue: make(chan *request, 16), closing: make(chan struct{})}
}

func req(n int) *request { return &request{subs: make([]hookd.Submission, n)} }

// lingerAsync runs linger on a batch of one request of one submission.
func lingerAsync(c *Committer) <-chan []*request {
	done := make(chan []*request, 1)
	go func() { done <- c.linger([]*request{req(1)}, 1) }()
	return done
}

func wait(t *testing.T, done <-chan []*request) []*request {
	t.Helper()
	select {
	case b := <-done:
		return b
	case <-time.After(time.Minute): // Linger is an hour in these tests
		t.Fatal("linger did not end")
		return nil
	}
}

func TestLingerTakesArrivalsUntilTheBatchIsFull(t *testing.T) {
	t.Parallel()
	c := unstarted(Config{MaxBatch: 4, Linger: time.Hour})
	done := lingerAsync(c)
	c.queue <- req(1)
	c.queue <- req(2) // 4 submissions: full
	c.queue <- req(1) // for the next batch
	if b := wait(t, done); len(b) != 3 {
		t.Errorf("batch of %d requests, want 3: the arrivals up to MaxBatch submissions", len(b))
	}
	if len(c.queue) != 1 {
		t.Errorf("%d requests left queued, want 1", len(c.queue))
	}
}

func TestLingerEndsOnClose(t *testing.T) {
	t.Parallel()
	c := unstarted(Config{MaxBatch: 128, Linger: time.Hour})
	done := lingerAsync(c)
	c.queue <- req(1)
	close(c.closing)
	if b := wait(t, done); len(b) < 1 || len(b) > 2 {
		t.Errorf("batch of %d requests, want the first and perhaps the arrival", len(b))
	}
}

func TestLingerEndsAtALull(t *testing.T) {
	t.Parallel()
	c := unstarted(Config{MaxBatch: 128, Linger: 50 * time.Millisecond}) // a lull of 10 ms
	if b := wait(t, lingerAsync(c)); len(b) != 1 {
		t.Errorf("batch of %d requests, want the first alone", len(b))
	}
}
