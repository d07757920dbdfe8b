package postgres_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/store/postgres"
	"github.com/hookd/hookd/store/storetest"
)

func TestStore(t *testing.T) {
	t.Parallel()
	pgtest.BaseURL(t) // skip before starting the subtests
	storetest.Run(t, func(t *testing.T) hookd.Store {
		return open(t, pgtest.URL(t))
	})
}

// open opens and migrates the database at u; the test closes it.
func open(t testing.TB, u string) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, u, postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMigrateConcurrentlyAndTwice(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	ctx := context.Background()
	dbs := make([]*postgres.DB, 4)
	for i := range dbs {
		db, err := postgres.Open(ctx, u, postgres.Options{MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Go(func() { errs[i] = db.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
	}
	versions := func() string {
		t.Helper()
		var river, hookd string
		err := dbs[0].Pool().QueryRow(ctx, `SELECT
			(SELECT string_agg(version::text, ',' ORDER BY version) FROM river_migration),
			(SELECT string_agg(version::text, ',' ORDER BY version) FROM hookd_migration)`).Scan(&river, &hookd)
		if err != nil {
			t.Fatal(err)
		}
		return "river " + river + "; hookd " + hookd
	}
	before := versions()
	if err := dbs[1].Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if after := versions(); after != before {
		t.Errorf("second migrate changed the versions: %s, then %s", before, after)
	}
	if before != "river 1,2,3,4,5,6,7,8; hookd 1" {
		t.Logf("applied: %s", before) // River may add versions; the run must only be stable
	}
	if _, err := dbs[2].Accept(ctx, []hookd.Submission{storetest.Submission("svc", "k", `{}`, 1)}); err != nil {
		t.Fatalf("Accept after migrating: %v", err)
	}
}

// TestConcurrentAcceptSameKey is a guarantee of the README: concurrent
// requests with one key, on different processes sharing the database, give
// one 202.
func TestConcurrentAcceptSameKey(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	a := open(t, u)
	b, err := postgres.Open(context.Background(), u, postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const n = 50
	results := make([]hookd.Result, n)
	errs := make([]error, n)
	var start sync.WaitGroup
	start.Add(1)
	var wg sync.WaitGroup
	for i := range n {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Go(func() {
			start.Wait()
			res, err := db.Accept(context.Background(), []hookd.Submission{storetest.Submission("svc", "same-key", `{"a":1}`, 1)})
			if err == nil {
				results[i] = res[0]
			}
			errs[i] = err
		})
	}
	start.Done()
	wg.Wait()
	var accepted []string
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("Accept %d: %v", i, errs[i])
		}
		if r.Outcome == hookd.Accepted {
			accepted = append(accepted, r.EventID)
		}
	}
	if len(accepted) != 1 {
		t.Fatalf("%d accepted, want exactly 1", len(accepted))
	}
	for i, r := range results {
		if r.Outcome != hookd.Accepted && (r.Outcome != hookd.Duplicate || r.EventID != accepted[0]) {
			t.Errorf("result %d = %+v, want a duplicate of %s", i, r, accepted[0])
		}
	}
	events, _, err := a.Events(context.Background(), hookd.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := b.Dispatch(context.Background(), 100); n != 1 || err != nil {
		t.Fatalf("Dispatch = %d, %v; want the one event", n, err)
	}
	jobs, _, err := b.Jobs(context.Background(), hookd.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || len(jobs) != 1 {
		t.Fatalf("%d events, %d jobs stored; want 1, 1", len(events), len(jobs))
	}
}

// TestConcurrentBatchesOverlap sends batches that share keys, each in its
// own order, from two handles: none deadlocks, every key is accepted once.
func TestConcurrentBatchesOverlap(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	dbs := []*postgres.DB{open(t, u), open(t, u)}
	const workers, keys = 16, 40
	accepted := make([]int, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := range workers {
		wg.Go(func() {
			perm := rand.Perm(keys)
			subs := make([]hookd.Submission, keys)
			for i, k := range perm {
				subs[i] = storetest.Submission(fmt.Sprint("svc", k%3), fmt.Sprint("key-", k), `{}`, 1)
			}
			res, err := dbs[w%2].Accept(context.Background(), subs)
			if err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, err)
				mu.Unlock()
				return
			}
			for _, r := range res {
				if r.Outcome == hookd.Accepted {
					accepted[w]++
				} else if r.Outcome != hookd.Duplicate {
					t.Errorf("outcome %v, want accepted or duplicate", r.Outcome)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	var total int
	for _, n := range accepted {
		total += n
	}
	if total != keys {
		t.Errorf("%d accepted in all, want %d (one per key)", total, keys)
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	start := time.Now()
	_, err = postgres.Open(context.Background(), "postgres://postgres@"+addr+"/test?sslmode=disable", postgres.Options{})
	if hookd.ErrorCode(err) != hookd.EUnavailable {
		t.Fatalf("Open: err = %v, want code %s", err, hookd.EUnavailable)
	}
	if d := time.Since(start); d > 2*postgres.DefaultConnectTimeout {
		t.Errorf("Open took %v to fail", d)
	}
	if _, err := postgres.Open(context.Background(), "postgres://x@127.0.0.1:5432/test?pool_max_conns=oops", postgres.Options{}); err == nil {
		t.Error("Open accepted a bad URL")
	}
	if _, err := postgres.Open(context.Background(), "postgres://x@127.0.0.1:5432/test", postgres.Options{MaxConns: -1}); err == nil {
		t.Error("Open accepted MaxConns -1")
	}
}

// TestLostDatabase cuts the connection to the database under an open
// store: every method fails fast with code unavailable (HTTP 503).
func TestLostDatabase(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil || u.Host == "" {
		t.Skipf("%s is not a URL with a host", pgtest.EnvURL)
	}
	p := newProxy(t, u.Host)
	migrated := open(t, u.String())
	sub := storetest.Submission("svc", "k", `{}`, 1)
	if _, err := migrated.Accept(context.Background(), []hookd.Submission{sub}); err != nil {
		t.Fatal(err)
	}
	u.Host = p.addr()
	db, err := postgres.Open(context.Background(), u.String(), postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Event(context.Background(), sub.Event.ID); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	checks := map[string]func() error{
		"Ping":  func() error { return db.Ping(ctx) },
		"Event": func() error { _, err := db.Event(ctx, sub.Event.ID); return err },
		"Accept": func() error {
			_, err := db.Accept(ctx, []hookd.Submission{storetest.Submission("svc", "k2", `{}`, 1)})
			return err
		},
		"Events":  func() error { _, _, err := db.Events(ctx, hookd.EventFilter{}); return err },
		"Jobs":    func() error { _, _, err := db.Jobs(ctx, hookd.JobFilter{}); return err },
		"Replay":  func() error { return db.Replay(ctx, sub.Event.ID, sub.Jobs) },
		"Migrate": func() error { return db.Migrate(ctx) },
	}
	for name, check := range checks {
		start := time.Now()
		err := check()
		t.Logf("%s: %v", name, err)
		if hookd.ErrorCode(err) != hookd.EUnavailable {
			t.Errorf("%s: err = %v, want code %s", name, err, hookd.EUnavailable)
		}
		if d := time.Since(start); d > 2*postgres.DefaultConnectTimeout {
			t.Errorf("%s took %v to fail", name, d)
		}
	}
}

// proxy forwards TCP connections to a server until closed.
type proxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	t.Cleanup(p.close)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

// close stops accepting and cuts every forwarded connection.
func (p *proxy) close() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// BenchmarkAccept measures batches of 100 webhooks, one job each, from
// one process with 1 and 8 batches in flight (b.N counts webhooks).
func BenchmarkAccept(b *testing.B) {
	for _, inFlight := range []int{1, 8} {
		b.Run(fmt.Sprint("inflight=", inFlight), func(b *testing.B) {
			db := open(b, pgtest.URL(b))
			const batch = 100
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range inFlight {
				wg.Go(func() {
					for {
						i := next.Add(batch) - batch
						if i >= int64(b.N) {
							return
						}
						subs := make([]hookd.Submission, batch)
						for j := range subs {
							subs[j] = storetest.Submission("svc", fmt.Sprint("key-", i+int64(j)), `{"email":"a@example.com"}`, 1)
						}
						if _, err := db.Accept(context.Background(), subs); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
		})
	}
}

// TestStatusFromRiverState finishes jobs the way River's workers do and
// reads back states, last errors and the event's status, which follows the
// latest job of each action.
func TestStatusFromRiverState(t *testing.T) {
	t.Parallel()
	db := open(t, pgtest.URL(t))
	ctx := context.Background()
	sub := storetest.Submission("svc", "k", `{}`, 2)
	if _, err := db.Accept(ctx, []hookd.Submission{sub}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Dispatch(ctx, 10); n != 1 || err != nil {
		t.Fatalf("Dispatch = %d, %v", n, err)
	}
	finish := func(action int, state, errMsg string) {
		t.Helper()
		_, err := db.Pool().Exec(ctx, `UPDATE river_job SET state = $1::text::river_job_state, attempt = attempt + 1,
			attempted_at = now(), finalized_at = now(),
			errors = CASE WHEN $2 = '' THEN errors ELSE array_append(errors, jsonb_build_object('error', $2::text, 'attempt', attempt + 1)) END
			WHERE id = (SELECT max(id) FROM river_job WHERE args ->> 'event_id' = $3 AND (args ->> 'action')::int = $4)`,
			state, errMsg, sub.Event.ID, action)
		if err != nil {
			t.Fatal(err)
		}
	}
	// The jobs change behind hookd's back, as River's UI would change
	// them: the event's detail shows it at once, listings once
	// RefreshStatus has seen the jobs that finished.
	began := time.Now().Add(-time.Second)
	status := func(want hookd.EventStatus) *hookd.Event {
		t.Helper()
		if _, err := db.RefreshStatus(ctx, began); err != nil {
			t.Fatal(err)
		}
		storetest.CheckStatus(t, db, sub.Event.ID, want)
		ev, err := db.Event(ctx, sub.Event.ID)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	status(hookd.EventPending)
	finish(0, "discarded", "smtp: 550 no such user")
	finish(1, "completed", "")
	ev := status(hookd.EventFailed)
	if j := ev.Jobs[0]; j.State != hookd.JobFailed || j.LastError != "smtp: 550 no such user" || j.Attempts != 1 {
		t.Errorf("failed job = %+v", *j)
	}
	if j := ev.Jobs[1]; j.State != hookd.JobSucceeded || j.LastError != "" {
		t.Errorf("succeeded job = %+v", *j)
	}
	failed, _, err := db.Jobs(ctx, hookd.JobFilter{State: hookd.JobFailed, Service: "svc"})
	if err != nil || len(failed) != 1 || failed[0].ActionIndex != 0 {
		t.Fatalf("failed jobs = %v, %v; want action 0's", failed, err)
	}

	// A failed event is a dead letter: pruning keeps it, even long expired.
	later := time.Now().Add(30 * 24 * time.Hour)
	if res, err := db.Prune(ctx, hookd.PruneRequest{Now: later, Limit: 100}); res.Deleted != 0 || err != nil {
		t.Fatalf("Prune of a failed event = %+v, %v; want 0", res, err)
	}

	// A replay of action 0: pending again, then succeeded once it completes.
	if err := db.Replay(ctx, sub.Event.ID, sub.Jobs[:1]); err != nil {
		t.Fatal(err)
	}
	status(hookd.EventPending)
	if n, err := db.Dispatch(ctx, 10); n != 1 || err != nil {
		t.Fatalf("Dispatch = %d, %v", n, err)
	}
	finish(0, "completed", "")
	if ev := status(hookd.EventSucceeded); len(ev.Jobs) != 3 {
		t.Errorf("%d jobs, want 3", len(ev.Jobs))
	}
	// Succeeded and expired: pruned with all three jobs.
	if res, err := db.Prune(ctx, hookd.PruneRequest{Now: later, Limit: 100}); res.Deleted != 1 || err != nil {
		t.Fatalf("Prune = %+v, %v; want 1", res, err)
	}
	var left int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d jobs left after pruning (%v), want 0", left, err)
	}
}

// TestStringsTextRefuses: strings PostgreSQL's text cannot hold match
// nothing when read, and are refused cleanly when stored.
func TestStringsTextRefuses(t *testing.T) {
	t.Parallel()
	db := open(t, pgtest.URL(t))
	ctx := context.Background()
	if _, err := db.Event(ctx, "evt_\xff\x00"); hookd.ErrorCode(err) != hookd.ENotFound {
		t.Errorf("Event: err = %v, want not-found", err)
	}
	if events, _, err := db.Events(ctx, hookd.EventFilter{Service: "a\x00", IdempotencyKey: "\xff"}); err != nil || len(events) != 0 {
		t.Errorf("Events = %v, %v; want none", events, err)
	}
	if jobs, _, err := db.Jobs(ctx, hookd.JobFilter{Service: "\xff"}); err != nil || len(jobs) != 0 {
		t.Errorf("Jobs = %v, %v; want none", jobs, err)
	}
	sub := storetest.Submission("svc", "key-\xff", `{}`, 1)
	if _, err := db.Accept(ctx, []hookd.Submission{sub}); hookd.ErrorCode(err) != hookd.EInvalidIdempotencyKey {
		t.Errorf("Accept: err = %v, want %s", err, hookd.EInvalidIdempotencyKey)
	}
	// Headers are JSON that json (not jsonb) keeps as is, NUL escapes too.
	sub = storetest.Submission("svc", "k", `{}`, 0)
	sub.Event.Header.Set("X-Odd", "a\x00b\xff")
	if _, err := db.Accept(ctx, []hookd.Submission{sub}); err != nil {
		t.Fatal(err)
	}
	if ev, err := db.Event(ctx, sub.Event.ID); err != nil || ev.Header.Get("X-Odd") != "a\x00b\uFFFD" {
		t.Errorf("Event = %v, %v", ev, err)
	}
}

// A read that runs out of time is stopped and says so, with the code the
// admin API answers 503 for.
func TestReadTimeout(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	open(t, u) // migrates
	ctx := context.Background()
	db, err := postgres.Open(ctx, u, postgres.Options{MaxConns: 2, ReadTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, _, err = db.Events(ctx, hookd.EventFilter{})
	if hookd.ErrorCode(err) != hookd.EUnavailable || !strings.Contains(hookd.ErrorMessage(err), "took longer than 1ns") {
		t.Fatalf("Events = %v, want %s saying the read took too long", err, hookd.EUnavailable)
	}
}
