package bench

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store/sqlite"
)

// Fill writes the events asked for, spread over the days asked for, with
// dead letters and retries among their jobs.
func TestFill(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "fill.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Fill(ctx, db, FillSettings{Events: 3000, Days: 3, Batch: 700}, io.Discard); err != nil {
		t.Fatal(err)
	}
	count := func(f hookd.EventFilter) int {
		t.Helper()
		n := 0
		for {
			f.Limit = 500
			events, next, err := db.Events(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			n += len(events)
			if next == "" {
				return n
			}
			f.Cursor = next
		}
	}
	if n := count(hookd.EventFilter{}); n != 3000 {
		t.Errorf("%d events, want 3000", n)
	}
	failed, pending := count(hookd.EventFilter{Status: hookd.EventFailed}), count(hookd.EventFilter{Status: hookd.EventPending})
	if failed < 5 || failed > 80 || pending < 60 || pending > 250 {
		t.Errorf("%d failed and %d pending of 3000 events (90%% with a job), want about 1%% and 5%% of those", failed, pending)
	}
	day := count(hookd.EventFilter{Since: time.Now().Add(-24 * time.Hour)})
	if day < 900 || day > 1100 {
		t.Errorf("%d events in the last of 3 days, want about 1000", day)
	}
	if n := count(hookd.EventFilter{Service: "noop", Status: hookd.EventSucceeded}); n < 200 || n > 400 {
		t.Errorf("%d noop events, want about 10%%", n)
	}
}
