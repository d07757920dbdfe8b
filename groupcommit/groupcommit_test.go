package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/groupcommit"
	"github.com/hookd/hookd/store/sqlite"
	"github.com/hookd/hookd/store/storetest"
)

func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// gate holds the first batch until released, so the requests sent
// meanwhile queue up behind it; it records batch sizes.
type gate struct {
	next     groupcommit.Accepter
	entered  chan struct{} // closed when the first batch arrives
	release  chan struct{}
	once     sync.Once
	mu       sync.Mutex
	sizes    []int
	failWith error
}

func newGate(next groupcommit.Accepter) *gate {
	return &gate{next: next, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) Accept(ctx context.Context, subs []hookd.Submission) ([]hookd.Result, error) {
	first := false
	g.once.Do(func() { first = true; close(g.entered); <-g.release })
	g.mu.Lock()
	if !first {
		g.sizes = append(g.sizes, len(subs))
	}
	g.mu.Unlock()
	if g.failWith != nil && !first {
		return nil, g.failWith
	}
	return g.next.Accept(ctx, subs)
}

// acceptAll holds the writer on a blocker request, sends subs
// concurrently, each in its own Accept call, waits until they are queued
// (up to queueCap), then lets the writer go: they are batched behind it.
func acceptAll(t *testing.T, c *groupcommit.Committer, g *gate, subs []hookd.Submission, queueCap int) ([]hookd.Result, []error) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := c.Accept(context.Background(), []hookd.Submission{storetest.Submission("blocker", "b", `{}`, 0)}); err != nil {
			t.Errorf("blocker: %v", err)
		}
	})
	<-g.entered
	results := make([]hookd.Result, len(subs))
	errs := make([]error, len(subs))
	for i, s := range subs {
		wg.Go(func() {
			res, err := c.Accept(context.Background(), []hookd.Submission{s})
			errs[i] = err
			if err == nil {
				results[i] = res[0]
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Queued() < min(len(subs), queueCap) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling a condition, with a deadline
	}
	close(g.release)
	wg.Wait()
	return results, errs
}

func TestDuplicatesInOneBatchYieldOneAccepted(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	g := newGate(db)
	c := groupcommit.New(g, groupcommit.Config{MaxBatch: 128})
	defer c.Close()

	const n = 50
	var subs []hookd.Submission
	for range n {
		subs = append(subs, storetest.Submission("svc", "same-key", `{"a":1}`, 1))
	}
	results, errs := acceptAll(t, c, g, subs, 128)
	var accepted, duplicate int
	var original string
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		switch r.Outcome {
		case hookd.Accepted:
			accepted++
			original = r.EventID
		case hookd.Duplicate:
			duplicate++
		}
	}
	if accepted != 1 || duplicate != n-1 {
		t.Fatalf("%d accepted, %d duplicates; want 1, %d", accepted, duplicate, n-1)
	}
	for _, r := range results {
		if r.EventID != original {
			t.Fatalf("a duplicate points at %s, want the original %s", r.EventID, original)
		}
	}
	if len(g.sizes) != 1 {
		t.Fatalf("batch sizes %v: the queued requests were not batched", g.sizes)
	}
	if n, err := db.Dispatch(context.Background(), 100); n != 1 || err != nil {
		t.Fatalf("Dispatch = %d, %v; want the one event's jobs", n, err)
	}
	jobs, _, err := db.Jobs(context.Background(), hookd.JobFilter{})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("%d jobs (%v), want exactly 1", len(jobs), err)
	}
}

func TestUniqueKeysAllStoredInBatches(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	g := newGate(db)
	c := groupcommit.New(g, groupcommit.Config{MaxBatch: 16})
	defer c.Close()
	var subs []hookd.Submission
	for i := range 100 {
		subs = append(subs, storetest.Submission("svc", fmt.Sprint("k", i), `{}`, 1))
	}
	results, errs := acceptAll(t, c, g, subs, 16)
	for i, r := range results {
		if errs[i] != nil || r.Outcome != hookd.Accepted || r.EventID != subs[i].Event.ID {
			t.Fatalf("request %d: %+v, %v", i, r, errs[i])
		}
	}
	for _, s := range g.sizes {
		if s > 16 {
			t.Fatalf("batch of %d exceeds MaxBatch 16 (sizes %v)", s, g.sizes)
		}
	}
	if len(g.sizes) >= 100 {
		t.Fatalf("%d batches for 100 queued requests: nothing was batched", len(g.sizes))
	}
	events, _, _ := db.Events(context.Background(), hookd.EventFilter{Service: "svc", Limit: 500})
	if len(events) != 100 {
		t.Fatalf("%d events stored, want 100", len(events))
	}
}

func TestFailingBatchAnswersEveryWaiterAndStoresNothing(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	g := newGate(db)
	c := groupcommit.New(g, groupcommit.Config{})
	defer c.Close()
	var subs []hookd.Submission
	for i := range 20 {
		subs = append(subs, storetest.Submission("svc", fmt.Sprint("k", i), `{}`, 1))
	}
	// Two events with one ID: the primary key fails the batch they share.
	subs[19].Event.ID = subs[18].Event.ID
	_, errs := acceptAll(t, c, g, subs, 128)
	if len(g.sizes) != 1 {
		t.Fatalf("batches %v, want the 20 requests in one", g.sizes)
	}
	for i, err := range errs {
		if err == nil {
			t.Errorf("request %d of the failing batch got no error", i)
		}
	}
	events, _, _ := db.Events(context.Background(), hookd.EventFilter{Service: "svc", Limit: 500})
	if len(events) != 0 {
		t.Fatalf("%d events of the failing batch stored, want none", len(events))
	}
	if n, _ := db.Dispatch(context.Background(), 100); n != 0 {
		t.Fatalf("%d events' jobs stored, want none", n)
	}
}
func TestStoreErrorReachesEveryWaiter(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	g := newGate(openStore(t))
	g.failWith = boom
	c := groupcommit.New(g, groupcommit.Config{})
	defer c.Close()
	var subs []hookd.Submission
	for i := range 10 {
		subs = append(subs, storetest.Submission("svc", fmt.Sprint("k", i), `{}`, 0))
	}
	_, errs := acceptAll(t, c, g, subs, 128)
	for i, err := range errs {
		if !errors.Is(err, boom) {
			t.Errorf("request %d: err = %v, want %v", i, err, boom)
		}
	}
}

func TestCancelledRequestIsNotWritten(t *testing.T) {
	t.Parallel()
	db := openStore(t)
	c := groupcommit.New(db, groupcommit.Config{})
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Accept(ctx, []hookd.Submission{storetest.Submission("svc", "k", `{}`, 0)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	events, _, _ := db.Events(context.Background(), hookd.EventFilter{})
	if len(events) != 0 {
		t.Fatalf("%d events stored for a cancelled request", len(events))
	}
}

func TestAcceptAfterClose(t *testing.T) {
	t.Parallel()
	c := groupcommit.New(openStore(t), groupcommit.Config{})
	c.Close()
	if _, err := c.Accept(context.Background(), []hookd.Submission{storetest.Submission("svc", "k", `{}`, 0)}); !errors.Is(err, groupcommit.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

func TestLingerNeverDelaysALoneRequest(t *testing.T) {
	t.Parallel()
	c := groupcommit.New(openStore(t), groupcommit.Config{Linger: time.Hour})
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Accept(context.Background(), []hookd.Submission{storetest.Submission("svc", "alone", `{}`, 0)})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // the linger would last an hour
		t.Fatal("a lone request waited for company")
	}
}
