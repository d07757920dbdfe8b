package postgres

import (
	"context"
	"testing"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// statusVersion is the migration that adds the status column.
const statusVersion = 7

// Events written before the status column get the status their jobs
// give them, and are listed by it.
func TestMigrateFillsInStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.URL(t), Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.migrateTo(ctx, statusVersion-1); err != nil {
		t.Fatal(err)
	}
	exec := riverpgxv5.New(db.pool).GetExecutor()
	legacy := storetest.LegacyEvents()
	for _, l := range legacy {
		ev := l.Sub.Event
		var due any
		if l.Outbox != nil {
			due = ev.ReceivedAt
		}
		if _, err := db.pool.Exec(ctx, `INSERT INTO hookd_event
			(id, service, idempotency_key, payload_hash, body, header, received_at, expires_at, pending_jobs, due_at, settled_jobs)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11::jsonb)`, ev.ID, ev.Service, ev.IdempotencyKey,
			ev.PayloadHash, ev.Body, string(store.HeaderJSON(ev)), ev.ReceivedAt, ev.ExpiresAt, textOrNull(l.Outbox), due,
			textOrNull(l.Settled)); err != nil {
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

func textOrNull(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}
