package admin_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/store/sqlite"
	"github.com/hookd/hookd/store/storetest"
)

// gatedStore holds every Event read until gate is closed: a bulk replay's
// run then waits before its first event, after it listed them.
type gatedStore struct {
	hookd.Store
	gate chan struct{}
}

func (g *gatedStore) Event(ctx context.Context, id string) (*hookd.Event, error) {
	<-g.gate
	return g.Store.Event(ctx, id)
}

// openStore opens a fresh, migrated SQLite store, closed with the test.
func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookd.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// deadLetters opens a fresh SQLite store holding n events of service a,
// each with one email job that failed for good.
func deadLetters(t *testing.T, n int) (*sqlite.DB, []string) {
	t.Helper()
	ctx := context.Background()
	db := openStore(t)
	until := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	var subs []hookd.Submission
	var settlements []hookd.Settlement
	var ids []string
	for i := range n {
		sub := storetest.Submission("a", fmt.Sprint("k", i), `{}`, 1)
		sub.ClaimedUntil = until
		a := hookd.Attempt{Job: sub.Jobs[0], StartedAt: time.Now(), FinishedAt: time.Now(), Error: "550 no such user", Permanent: true}
		subs = append(subs, sub)
		settlements = append(settlements, hookd.Settlement{Claim: hookd.Claim{EventID: sub.Event.ID, Until: until}, Attempts: []hookd.Attempt{a}})
		ids = append(ids, sub.Event.ID)
	}
	if _, err := db.Accept(ctx, subs); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Settle(ctx, settlements); err != nil {
		t.Fatal(err)
	}
	return db, ids
}

// deliver does what a delivery engine does with the replayed events: it
// claims their outboxes and settles their first attempts as successes.
func deliver(t *testing.T, db hookd.Store) {
	t.Helper()
	ctx := context.Background()
	subs, err := db.ClaimDue(ctx, 100, time.Now().Add(time.Minute).Truncate(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	var settlements []hookd.Settlement
	for _, sub := range subs {
		st := hookd.Settlement{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil}, Replayed: sub.Replayed}
		for _, j := range sub.Jobs {
			st.Attempts = append(st.Attempts, hookd.Attempt{Job: j, StartedAt: time.Now(), FinishedAt: time.Now()})
		}
		settlements = append(settlements, st)
	}
	if _, err := db.Settle(ctx, settlements); err != nil {
		t.Fatal(err)
	}
}

var replayServices = map[string]*hookd.Service{"a": {Name: "a", Actions: []hookd.Action{{Type: hookd.ActionEmail, MaxAttempts: 4}}}}

// waitDone waits for run id of r to finish and returns its progress.
func waitDone(t *testing.T, r *admin.Replays, id string) admin.ReplayRun {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		run, ok := r.Get(id)
		if !ok {
			t.Fatalf("no run %s", id)
		}
		if run.Done {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s not done by the deadline: %+v", id, run)
		}
		time.Sleep(time.Millisecond)
	}
}

// jobCount is how many jobs event id has had.
func jobCount(t *testing.T, db hookd.Store, id string) (int, hookd.EventStatus) {
	t.Helper()
	ev, err := db.Event(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return len(ev.Jobs), ev.Status
}

// An event that a bulk replay listed, but which was replayed otherwise
// (by hand, or by a request to another process) and delivered before its
// turn came, is skipped: it no longer matches the filter, and replaying
// it again would deliver it twice.
func TestBulkReplaySkipsWhatNoLongerMatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ids := deadLetters(t, 3)
	gated := &gatedStore{Store: db, gate: make(chan struct{})}
	r := admin.NewReplays(gated, replayServices)
	defer r.Close()
	run, err := r.Start(ctx, admin.ReplayFilter{Service: "a"})
	if err != nil || run.Total != 3 {
		t.Fatalf("Start = %+v, %v; want a run of 3", run, err)
	}
	if _, err := admin.Replay(ctx, db, replayServices, ids[1]); err != nil {
		t.Fatal(err)
	}
	deliver(t, db)
	close(gated.gate)
	got := waitDone(t, r, run.ID)
	if got.Replayed != 2 || got.Skipped != 1 || got.Failed != 0 {
		t.Errorf("progress %+v; want 2 replayed, 1 skipped", got)
	}
	if n, status := jobCount(t, db, ids[1]); n != 2 || status != hookd.EventSucceeded {
		t.Errorf("the event replayed by hand has %d jobs and is %s; want 2 (its failure and its one replay), succeeded", n, status)
	}
	for _, id := range []string{ids[0], ids[2]} {
		if n, status := jobCount(t, db, id); n != 2 || status != hookd.EventPending {
			t.Errorf("event %s has %d jobs and is %s; want 2, pending (replayed once)", id, n, status)
		}
	}
}

// Of two bulk replays started at once in one process, the second skips
// the events the first holds, whether or not it has reached them yet:
// each event is replayed once.
func TestConcurrentBulkReplaysReplayEachEventOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ids := deadLetters(t, 3)
	gated := &gatedStore{Store: db, gate: make(chan struct{})}
	r := admin.NewReplays(gated, replayServices)
	defer r.Close()
	first, err := r.Start(ctx, admin.ReplayFilter{Service: "a"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Start(ctx, admin.ReplayFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Total != 3 || second.Skipped != 3 {
		t.Errorf("second run %+v; want its 3 events skipped at once (the first run has them)", second)
	}
	close(gated.gate)
	if got := waitDone(t, r, first.ID); got.Replayed != 3 {
		t.Errorf("first run %+v; want 3 replayed", got)
	}
	if got := waitDone(t, r, second.ID); got.Replayed != 0 || got.Skipped != 3 || got.Failed != 0 {
		t.Errorf("second run %+v; want 3 skipped", got)
	}
	deliver(t, db)
	// Once the first is done, a new request finds nothing failed.
	third, err := r.Start(ctx, admin.ReplayFilter{Service: "a"})
	if err != nil || third.Total != 0 {
		t.Errorf("third run %+v, %v; want nothing to replay", third, err)
	}
	for _, id := range ids {
		if n, status := jobCount(t, db, id); n != 2 || status != hookd.EventSucceeded {
			t.Errorf("event %s has %d jobs and is %s; want 2 (its failure and one replay), succeeded", id, n, status)
		}
	}
}
