package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store/storetest"
)

func openInternal(t *testing.T, opts Options) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "hookd.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// A read held open (an admin listing being streamed, a slow query) must not
// keep ingest from committing: reads have connections of their own.
func TestLongReadDoesNotBlockAccept(t *testing.T) {
	t.Parallel()
	db := openInternal(t, Options{})
	ctx := context.Background()
	for i := range 3 {
		if _, err := db.Accept(ctx, []hookd.Submission{storetest.Submission("svc", "k"+string(rune('a'+i)), `{}`, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM hookd_event`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() { // the read transaction is now open, and stays open
		t.Fatal("no rows")
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sub := storetest.Submission("svc", "during", `{}`, 1)
	if _, err := db.Accept(wctx, []hookd.Submission{sub}); err != nil {
		t.Fatalf("Accept while a read is open: %v", err)
	}
	if n, err := db.Dispatch(wctx, 10); err != nil || n != 4 {
		t.Fatalf("Dispatch while a read is open = %d, %v; want 4", n, err)
	}
	// Another read runs beside the open one, and sees the new commit.
	if _, err := db.Event(wctx, sub.Event.ID); err != nil {
		t.Fatalf("Event while a read is open: %v", err)
	}
}

// A read that runs out of time says so, with the code the admin API
// answers 503 for.
func TestReadTimeout(t *testing.T) {
	t.Parallel()
	db := openInternal(t, Options{ReadTimeout: time.Nanosecond})
	_, _, err := db.Events(context.Background(), hookd.EventFilter{})
	if hookd.ErrorCode(err) != hookd.EUnavailable {
		t.Fatalf("Events = %v, want code %s", err, hookd.EUnavailable)
	}
	if msg := hookd.ErrorMessage(err); msg == "" || !contains(msg, "took longer than 1ns") {
		t.Errorf("message %q does not say the read ran out of time", msg)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
