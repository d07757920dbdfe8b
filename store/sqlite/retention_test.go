package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/jobs"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/sqlite"
)

// loadSim is sustained ingest in simulated time on a SQLite file: each
// simulated minute, perMinute events of ~600 bytes are accepted (in
// batches, as group commit stores them) and their first attempts settled
// as successes, as a healthy hookd does; then the pruner makes its pass,
// by the same clock.
type loadSim struct {
	db     *sqlite.DB
	path   string
	clock  time.Time
	pruner *jobs.Pruner // nil: no pruning
	rng    *rand.Rand
	n      int
	// held is how long each pruning transaction held the writer, accept
	// how long each ingest batch took, and deleted the events pruned.
	held, accept []time.Duration
	deleted      int
}

// recording is the store as the pruner sees it, noting each
// transaction's hold.
type recording struct {
	db   *sqlite.DB
	held *[]time.Duration
}

func (r recording) Prune(ctx context.Context, req hookd.PruneRequest) (hookd.PruneResult, error) {
	res, err := r.db.Prune(ctx, req)
	if res.Deleted > 0 {
		*r.held = append(*r.held, res.Held)
	}
	return res, err
}

// The simulated services: fwd (one forward job per event) and noop
// (none), both keeping events for the retention.
func newLoadSim(tb testing.TB, retention time.Duration, prune bool) *loadSim {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "hookd.db")
	// Durability is beside the point here; sizes are what they are.
	db, err := sqlite.Open(path, sqlite.Options{Synchronous: "NORMAL", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	s := &loadSim{db: db, path: path, clock: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), rng: rand.New(rand.NewPCG(1, 2))}
	if prune {
		r := hookd.Retention{Keep: retention}
		s.pruner = jobs.NewPruner(recording{db, &s.held}, jobs.PrunerConfig{
			Retention: map[string]hookd.Retention{"fwd": r, "noop": r},
			Now:       func() time.Time { return s.clock },
		})
	}
	return s
}

// minute ingests perMinute events over the next simulated minute, in
// batches of batch, then prunes as the pruner does once a minute.
func (s *loadSim) minute(tb testing.TB, perMinute, batch int, ttl time.Duration) {
	tb.Helper()
	ctx := context.Background()
	step := time.Minute / time.Duration(perMinute)
	for done := 0; done < perMinute; done += batch {
		subs := make([]hookd.Submission, min(batch, perMinute-done))
		for i := range subs {
			subs[i] = s.submission(s.clock.Add(time.Duration(done+i)*step), ttl)
		}
		start := time.Now()
		if _, err := s.db.Accept(ctx, subs); err != nil {
			tb.Fatal(err)
		}
		s.accept = append(s.accept, time.Since(start))
		var settlements []hookd.Settlement
		for _, sub := range subs {
			if len(sub.Jobs) == 0 {
				continue
			}
			at := sub.Event.ReceivedAt.Add(30 * time.Millisecond)
			settlements = append(settlements, hookd.Settlement{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil},
				Attempts: []hookd.Attempt{{Job: sub.Jobs[0], StartedAt: at, FinishedAt: at.Add(10 * time.Millisecond)}}})
		}
		if got, err := s.db.Settle(ctx, settlements); err != nil || len(got) != len(settlements) {
			tb.Fatalf("Settle = %d of %d, %v", len(got), len(settlements), err)
		}
	}
	s.clock = s.clock.Add(time.Minute)
	if s.pruner != nil {
		st, err := s.pruner.Pass(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		s.deleted += st.Deleted
	}
}

// submission is the next event, received at t: a JSON body of ~600 bytes
// with realistic headers, and a random key, as senders make them.
func (s *loadSim) submission(t time.Time, ttl time.Duration) hookd.Submission {
	t = t.Truncate(time.Microsecond)
	s.n++
	var key, pad [16]byte
	for i := range key {
		key[i], pad[i] = byte(s.rng.Uint32()), byte(s.rng.Uint32())
	}
	k := hex.EncodeToString(key[:])
	body := fmt.Sprintf(`{"id":%q,"type":"order.paid","email":"customer%d@example.com",`+
		`"data":{"order_id":"ord_%d","amount_cents":%d,"currency":"EUR","items":[{"sku":"SKU-%d","quantity":%d}],`+
		`"customer":{"name":"Customer %d","country":"FR"},"note":"%s"}}`,
		k, s.n%100000, s.n, s.rng.IntN(100000), s.rng.IntN(5000), 1+s.rng.IntN(4), s.n%100000,
		strings.Repeat(hex.EncodeToString(pad[:]), 10))
	sum := sha256.Sum256([]byte(body))
	svc := "fwd"
	if s.n%10 == 0 {
		svc = "noop"
	}
	ev := &hookd.Event{
		ID: store.NewEventIDAt(t), Service: svc, IdempotencyKey: k, PayloadHash: sum[:], Body: []byte(body),
		Header: http.Header{"Content-Type": {"application/json"}, "User-Agent": {"Provider-Webhooks/2.1"},
			"X-Request-Id": {fmt.Sprintf("req_%x", sum[:8])}},
		ReceivedAt: t, ExpiresAt: t.Add(ttl),
	}
	sub := hookd.Submission{Event: ev}
	if svc == "fwd" {
		sub.Jobs = []hookd.NewJob{{Args: hookd.JobArgs{EventID: ev.ID, Service: svc, Action: hookd.ActionForward}, MaxAttempts: 8}}
		sub.ClaimedUntil = t.Add(5 * time.Second)
	}
	return sub
}

// size is the file's size on disk, its write-ahead log included.
func (s *loadSim) size(tb testing.TB) (main, wal int64) {
	tb.Helper()
	st, err := os.Stat(s.path)
	if err != nil {
		tb.Fatal(err)
	}
	if w, err := os.Stat(s.path + "-wal"); err == nil {
		wal = w.Size()
	}
	return st.Size(), wal
}

// TestRetentionFileSizeLevelsOff: under sustained load with a short
// retention, once the retention's window is full, the file stops growing:
// the pruner deletes as much as ingest adds, and SQLite reuses the freed
// pages. Without pruning the size after 6 windows is twice that after 3.
func TestRetentionFileSizeLevelsOff(t *testing.T) {
	t.Parallel()
	const (
		retention = 10 * time.Minute // = the idempotency TTL
		perMinute = 300
		windows   = 6
	)
	s := newLoadSim(t, retention, true)
	var sizes []int64
	for w := 1; w <= windows; w++ {
		for range int(retention / time.Minute) {
			s.minute(t, perMinute, 50, retention)
		}
		main, wal := s.size(t)
		sizes = append(sizes, main+wal)
		t.Logf("after %v: %d KiB (main %d KiB, WAL %d KiB), %d pruned", time.Duration(w)*retention, (main+wal)>>10, main>>10, wal>>10, s.deleted)
	}
	half, last := sizes[windows/2-1], sizes[windows-1]
	if float64(last) > 1.1*float64(half) {
		t.Errorf("the file grew from %d KiB after %d windows to %d KiB after %d; want it to level off (within 10%%)",
			half>>10, windows/2, last>>10, windows)
	}
	// What is left is the last window's events: the pass at its end
	// deleted everything older.
	window := perMinute * int(retention/time.Minute)
	if left := s.n - s.deleted; left < window || left > window+perMinute {
		t.Errorf("%d events left of %d, want the last window's %d", left, s.n, window)
	}
}

// TestWALCutBackAfterSpike: a read held open keeps SQLite from reusing
// its write-ahead log, which grows meanwhile; once the read ends, the log
// is cut back to sqlite.JournalSizeLimit instead of keeping its largest
// size for good.
func TestWALCutBackAfterSpike(t *testing.T) {
	t.Parallel()
	s := newLoadSim(t, time.Hour, false)
	reader, err := sql.Open("sqlite", "file:"+s.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	tx, err := reader.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM hookd_event`).Scan(&n); err != nil { // the read's snapshot
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, wal := s.size(t); wal > 2*sqlite.JournalSizeLimit {
			break
		}
		if i == 100 {
			t.Fatal("the WAL did not grow while a read was held open")
		}
		s.minute(t, 1000, 50, time.Hour)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	// A checkpoint completes at the next commits; the log is cut back
	// when it is next reused.
	for range 5 {
		s.minute(t, 1000, 50, time.Hour)
	}
	if _, wal := s.size(t); wal > sqlite.JournalSizeLimit {
		t.Errorf("WAL of %d MiB after the read ended, want at most %d MiB", wal>>20, sqlite.JournalSizeLimit>>20)
	}
}

// BenchmarkRetentionFileSize prints the file's size (main file and WAL)
// every retention window under sustained load with a short retention,
// with the pruner and without, and how long the pruner's transactions
// held the writer beside how long ingest's batches of 100 took. It
// asserts nothing: see TestRetentionFileSizeLevelsOff.
//
//	go test -run '^$' -bench RetentionFileSize -benchtime 1x ./store/sqlite
func BenchmarkRetentionFileSize(b *testing.B) {
	const (
		retention = 10 * time.Minute // = the idempotency TTL
		perMinute = 2000
		windows   = 6
	)
	for _, prune := range []bool{true, false} {
		b.Run(fmt.Sprintf("prune=%v", prune), func(b *testing.B) {
			for b.Loop() {
				s := newLoadSim(b, retention, prune)
				var line []string
				var main, wal int64
				for w := 1; w <= windows; w++ {
					for range int(retention / time.Minute) {
						s.minute(b, perMinute, 100, retention)
					}
					main, wal = s.size(b)
					line = append(line, fmt.Sprintf("%.1f", float64(main+wal)/(1<<20)))
				}
				b.Logf("%d events/min for %v, retention %v: MiB after each %v: %s (main %.1f + WAL %.1f); %d pruned",
					perMinute, windows*retention, retention, retention, strings.Join(line, ", "),
					float64(main)/(1<<20), float64(wal)/(1<<20), s.deleted)
				b.Logf("ingest batch of 100: %s", percentiles(s.accept))
				b.ReportMetric(float64(main+wal)/(1<<20), "MiB")
				if prune {
					b.Logf("prune transaction (%d): %s", len(s.held), percentiles(s.held))
					b.ReportMetric(ms(slices.Max(s.held)), "max-prune-ms")
				}
			}
		})
	}
}

// percentiles formats the median, 99th percentile and maximum of d in ms.
func percentiles(d []time.Duration) string {
	d = slices.Sorted(slices.Values(d))
	return fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, max %.1f ms", ms(d[len(d)/2]), ms(d[len(d)*99/100]), ms(d[len(d)-1]))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// TestPruneKeepsAutocheckpoint: the pruner's transactions commit without
// SQLite's automatic checkpoint, and the writer has it back afterwards,
// or ingest would let the WAL grow.
func TestPruneKeepsAutocheckpoint(t *testing.T) {
	t.Parallel()
	s := newLoadSim(t, time.Minute, true)
	s.minute(t, 100, 50, time.Minute)
	s.minute(t, 100, 50, time.Minute)
	if s.deleted == 0 {
		t.Fatal("nothing pruned")
	}
	var pages int
	if err := s.db.SQL().QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&pages); err != nil || pages != 1000 {
		t.Fatalf("wal_autocheckpoint = %d, %v; want 1000", pages, err)
	}
}
