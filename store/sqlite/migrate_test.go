package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store/storetest"
)

// A database written by an earlier hookd keeps its events, their outbox
// and their keys' uniqueness across the move to a rowid table.
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
	if _, err := db.Accept(ctx, []hookd.Submission{withJob, stored}); err != nil {
		t.Fatal(err)
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
