package bench

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store/sqlite"
)

// Fill writes the events asked for, spread over the days asked for, with
// dead letters and retries among their jobs.
func TestFill(t *testing.T) {
	t.Parallel()
	db := filled(t, filepath.Join(t.TempDir(), "fill.db"), 3000)
	ctx := context.Background()
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

// filled returns a store at path filled with n events over 3 days.
func filled(t *testing.T, path string, n int) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(path, sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Fill(ctx, db, FillSettings{Events: n, Days: 3, Batch: 700}, io.Discard); err != nil {
		t.Fatal(err)
	}
	return db
}

// Reads measures every read on a real hookd serve, each of them
// answered, and ingest twice. No timings are asserted.
func TestReads(t *testing.T) {
	t.Parallel()
	bin := hookdBinary(t)
	path := filepath.Join(t.TempDir(), "fill.db")
	filled(t, path, 2000).Close()
	var progress bytes.Buffer
	r, err := Reads(context.Background(), ReadsSettings{Database: "sqlite:" + path, Count: 2, Rate: 50,
		Duration: time.Second, Binary: bin}, &progress)
	if err != nil {
		t.Fatalf("Reads: %v\n%s", err, progress.String())
	}
	var out bytes.Buffer
	if err := r.Write(&out, false); err != nil {
		t.Fatal(err)
	}
	for _, x := range r.Reads {
		// A dry run's rows are its count, which a small fill can leave at 0.
		if x.Err != "" || x.Rows == 0 && x.Body == "" {
			t.Errorf("%s (%s): %d rows, error %q\n%s", x.Name, x.Path, x.Rows, x.Err, out.String())
		}
	}
	if r.Slowest == "" || r.IngestP99ms <= 0 || r.LoadedP99ms <= 0 || r.Non2xx != 0 || !strings.Contains(out.String(), "ratio") {
		t.Errorf("ingest figures missing or requests refused:\n%s", out.String())
	}
}
