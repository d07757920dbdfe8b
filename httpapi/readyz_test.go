package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store/sqlite"
)

// countingStore counts heartbeats.
type countingStore struct {
	hookd.Store
	beats atomic.Int32
}

func (s *countingStore) Heartbeat(ctx context.Context) error {
	s.beats.Add(1)
	return s.Store.Heartbeat(ctx)
}

// /readyz is 503 when the database answers but cannot commit (here a
// trigger fails the heartbeat's write, as a full disk would), and a storm of
// probes writes once.
func TestReadyzNeedsACommit(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: db}
	a := &Admin{Store: store, Logger: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	probe := func() (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Status, Detail string }
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Status + body.Detail
	}

	for i := range 10 {
		if status, body := probe(); status != http.StatusOK {
			t.Fatalf("probe %d: %d %s", i, status, body)
		}
	}
	if n := store.beats.Load(); n != 1 {
		t.Errorf("10 probes in a row wrote %d heartbeats, want 1", n)
	}

	if _, err := db.SQL().ExecContext(ctx, `CREATE TRIGGER heartbeat_fails BEFORE UPDATE ON hookd_heartbeat
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	a.readyMu.Lock()
	a.readyUntil = time.Time{} // the last heartbeat's interval is over
	a.readyMu.Unlock()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("the database should still answer: %v", err)
	}
	status, body := probe()
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "cannot commit") {
		t.Errorf("/readyz with commits failing: %d %q, want 503 saying the database cannot commit", status, body)
	}
}

// A listing that runs out of time is a 503 that says so, through the real
// handler and store.
func TestSlowReadIs503(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookd.db"), sqlite.Options{ReadTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&Admin{Store: db, Logger: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/events?service=a")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p Problem
	json.NewDecoder(resp.Body).Decode(&p)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(p.Detail, "took longer than 1ns") {
		t.Errorf("GET /api/events with reads timing out: %d %q, want 503 saying the read took too long", resp.StatusCode, p.Detail)
	}
}
