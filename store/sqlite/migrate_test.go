package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// A database written by an earlier hookd keeps its events, their outbox
// and their keys' uniqueness across the move to a rowid table, and its
// outboxes are due at once after due_at appears.
func TestMigrateFromWithoutRowid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "hookd.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.migrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	withJob := storetest.Submission("svc", "k1", `{"n":1}`, 1)
	stored := storetest.Submission("svc", "k2", `{"n":2}`, 0)
	// Rows as hookd wrote them then: no due_at column yet.
	for _, sub := range []hookd.Submission{withJob, stored} {
		ev := sub.Event
		if _, err := db.db.ExecContext(ctx, `INSERT INTO hookd_event
			(id, service, idempotency_key, payload_hash, body, header, received_at, expires_at, pending_jobs)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ev.ID, ev.Service, ev.IdempotencyKey, ev.PayloadHash, ev.Body,
			store.HeaderJSON(ev), ev.ReceivedAt.UnixMicro(), ev.ExpiresAt.UnixMicro(), nullable(store.EncodePending(sub.Jobs))); err != nil {
			t.Fatal(err)
		}
	}

	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	var schema string
	if err := db.db.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = 'hookd_event'`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(schema, "WITHOUT ROWID") {
		t.Errorf("hookd_event is still WITHOUT ROWID: %s", schema)
	}
	for _, sub := range []hookd.Submission{withJob, stored} {
		ev, err := db.Event(ctx, sub.Event.ID)
		if err != nil {
			t.Fatalf("event %s after migrating: %v", sub.Event.ID, err)
		}
		if string(ev.Body) != string(sub.Event.Body) || ev.IdempotencyKey != sub.Event.IdempotencyKey {
			t.Errorf("event %s changed: %+v", sub.Event.ID, ev)
		}
	}
	again := storetest.Submission("svc", "k2", `{"n":2}`, 0)
	res, err := db.Accept(ctx, []hookd.Submission{again})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != hookd.Duplicate || res[0].EventID != stored.Event.ID {
		t.Errorf("resending k2 after migrating = %+v, want a duplicate of %s", res[0], stored.Event.ID)
	}
	if n, err := db.Dispatch(ctx, 10); err != nil || n != 1 {
		t.Errorf("Dispatch after migrating = %d, %v; want the one event with a pending job", n, err)
	}
}

// River's migration 8 rebuilds river_job by copy and rename, which drops
// the index hookd keeps on it; Migrate puts it back.
func TestMigrateKeepsRiverJobIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMigrated(t)
	hasIndex := func() bool {
		var n int
		if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema
			WHERE type = 'index' AND name = 'hookd_river_job_event_id'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	if !hasIndex() {
		t.Fatal("no index on river_job after Migrate")
	}
	m, err := rivermigrate.New(riversqlite.New(db.db), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{TargetVersion: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	if hasIndex() {
		t.Fatal("River's migration kept the index; this test no longer shows anything")
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if !hasIndex() {
		t.Error("Migrate did not restore the index on river_job")
	}
}

// After a restart, what the previous process held is taken back at once:
// its claims are due, and its running jobs run again.
func TestReclaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMigrated(t)
	claimed := storetest.Submission("svc", "k1", `{}`, 1)
	claimed.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
	if _, err := db.Accept(ctx, []hookd.Submission{claimed}); err != nil {
		t.Fatal(err)
	}
	exec := riversqlite.New(db.db).GetExecutor()
	started := time.Now().Add(-time.Second)
	for _, attempt := range []int{1, 4} { // one with attempts left, one at its last
		if _, err := exec.JobInsertFull(ctx, &riverdriver.JobInsertFullParams{
			Attempt: attempt, AttemptedAt: &started, EncodedArgs: []byte(`{"event_id":"evt_x"}`), Kind: "hookd_action",
			MaxAttempts: 4, Metadata: []byte("{}"), Priority: 1, Queue: "default", State: rivertype.JobStateRunning, Tags: []string{},
		}); err != nil {
			t.Fatal(err)
		}
	}
	claims, running, err := db.Reclaim(ctx)
	if err != nil || claims != 1 || running != 2 {
		t.Fatalf("Reclaim = %d claims, %d running jobs, %v; want 1 and 2", claims, running, err)
	}
	var available, discarded int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE state = 'available'),
		count(*) FILTER (WHERE state = 'discarded') FROM river_job`).Scan(&available, &discarded); err != nil {
		t.Fatal(err)
	}
	if available != 1 || discarded != 1 {
		t.Errorf("after Reclaim: %d available, %d discarded; want 1 and 1", available, discarded)
	}
	if n, err := db.Dispatch(ctx, 10); n != 1 || err != nil {
		t.Errorf("Dispatch after Reclaim = %d, %v; want the claimed event", n, err)
	}
}

// Settle commits without an fsync of its own; every other transaction
// keeps synchronous=FULL.
func TestSettleLeavesSynchronousFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMigrated(t)
	sub := storetest.Submission("svc", "k1", `{}`, 1)
	sub.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
	if _, err := db.Accept(ctx, []hookd.Submission{sub}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	got, err := db.Settle(ctx, []hookd.Settlement{{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil},
		Attempts: []hookd.Attempt{{Job: sub.Jobs[0], StartedAt: now, FinishedAt: now}}}})
	if err != nil || len(got) != 1 {
		t.Fatalf("Settle = %v, %v", got, err)
	}
	var level int
	if err := db.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&level); err != nil || level != 2 {
		t.Fatalf("synchronous after Settle = %d, %v; want 2 (FULL)", level, err)
	}
}

// openMigrated opens a new, migrated store in a temporary directory,
// closed when the test ends.
func openMigrated(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "hookd.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// statusVersion is the migration that adds the status column.
const statusVersion = 10

// Events written before the status column get the status their jobs
// give them, and are listed by it.
func TestMigrateFillsInStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "hookd.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.migrateTo(ctx, statusVersion-1); err != nil {
		t.Fatal(err)
	}
	exec := riversqlite.New(db.db).GetExecutor()
	legacy := storetest.LegacyEvents()
	for _, l := range legacy {
		ev := l.Sub.Event
		var due any
		if l.Outbox != nil {
			due = ev.ReceivedAt.UnixMicro()
		}
		if _, err := db.db.ExecContext(ctx, `INSERT INTO hookd_event
			(id, service, idempotency_key, payload_hash, body, header, received_at, expires_at, pending_jobs, due_at, settled_jobs)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ev.ID, ev.Service, ev.IdempotencyKey, ev.PayloadHash, ev.Body,
			store.HeaderJSON(ev), ev.ReceivedAt.UnixMicro(), ev.ExpiresAt.UnixMicro(), nullable(l.Outbox), due,
			nullable(l.Settled)); err != nil {
			t.Fatal(err)
		}
		for _, p := range l.Queued {
			if _, err := exec.JobInsertFull(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	for _, l := range legacy {
		storetest.CheckStatus(t, db, l.Sub.Event.ID, l.Want)
	}
}

// A job whose process died during its last attempt is discarded at the
// next start (Reclaim) without an attempt to record its event's status:
// RefreshStatus finds the event among those whose jobs just finished.
func TestRefreshStatusAfterReclaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMigrated(t)
	sub := storetest.Submission("svc", "k1", `{}`, 1)
	sub.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
	if _, err := db.Accept(ctx, []hookd.Submission{sub}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := db.Settle(ctx, []hookd.Settlement{{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil},
		Attempts: []hookd.Attempt{{Job: sub.Jobs[0], StartedAt: now, FinishedAt: now, Error: "503", RetryAt: now.Add(time.Hour)}}}}); err != nil {
		t.Fatal(err)
	}
	// River fetched the job for its last attempt, and the process died.
	if _, err := db.db.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = max_attempts,
		attempted_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 second')`); err != nil {
		t.Fatal(err)
	}
	storetest.CheckStatus(t, db, sub.Event.ID, hookd.EventPending)
	since := time.Now().Add(-time.Second)
	if _, running, err := db.Reclaim(ctx); err != nil || running != 1 {
		t.Fatalf("Reclaim = %d running, %v", running, err)
	}
	if n, err := db.RefreshStatus(ctx, time.Now().Add(time.Minute)); err != nil || n != 0 {
		t.Fatalf("RefreshStatus from after the job finished = %d, %v; want none", n, err)
	}
	if n, err := db.RefreshStatus(ctx, since); err != nil || n != 1 {
		t.Fatalf("RefreshStatus = %d, %v; want the one event", n, err)
	}
	storetest.CheckStatus(t, db, sub.Event.ID, hookd.EventFailed)
	if n, err := db.RefreshStatus(ctx, since); err != nil || n != 0 {
		t.Fatalf("RefreshStatus again = %d, %v; want nothing left to change", n, err)
	}
}
