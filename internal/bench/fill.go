package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/postgres"
	"github.com/hookd/hookd/store/sqlite"
)

// FillDoc is the help text of "hookd bench fill".
const FillDoc = `Fills a database with --events realistic events, fast, for measuring reads
at scale ("hookd bench reads"). It writes through the store's batch paths
(Accept, then Settle for the first attempts), not over HTTP. The services are
those "hookd bench" configures: fwd (40%, one forward job), mail (30%, one
email job), email (20%, one email job), noop (10%, no job). Bodies are JSON of
about 600 bytes with realistic headers; received times are spread evenly over
--days, ending now; keys never expire during the measurement. Of the jobs, 1%
failed for good (dead letters), 5% failed once and wait to retry 30 days on
(so workers started on the database leave them alone; their events are
pending), the rest succeeded at the first attempt.`

// FillDatabase migrates the database at url (sqlite:PATH or postgres://…)
// and fills it (Fill).
func FillDatabase(ctx context.Context, url string, s FillSettings, progress io.Writer) error {
	cfg := &config.Config{Database: url}
	quiet := slog.New(slog.DiscardHandler)
	var db interface {
		hookd.Store
		Migrate(ctx context.Context) error
	}
	var pg *postgres.DB
	var err error
	if path, ok := cfg.SQLitePath(); ok {
		// A fill is rebuilt, not recovered: no fsync per batch.
		db, err = sqlite.Open(path, sqlite.Options{Synchronous: "OFF", Logger: quiet})
	} else if u, ok := cfg.PostgresURL(); ok {
		pg, err = postgres.Open(ctx, u, postgres.Options{Logger: quiet})
		db = pg
	} else {
		return fmt.Errorf("bench fill: --database: use sqlite:PATH or a postgres:// URL")
	}
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	if err := Fill(ctx, db, s, progress); err != nil {
		return err
	}
	if pg != nil {
		// Autovacuum would get to it in time; until then the planner
		// takes the bulk-filled tables for what they were.
		if _, err := pg.Pool().Exec(ctx, `ANALYZE hookd_event, river_job`); err != nil {
			return fmt.Errorf("bench fill: analyze: %w", err)
		}
	}
	return nil
}

// FillSettings are the settings of "hookd bench fill".
type FillSettings struct {
	Events int
	Days   float64
	Batch  int
}

// fillServices are the services of hookdConfig, with their share of the
// events and whether their action makes a job.
var fillServices = []struct {
	name  string
	share float64
	job   string // the action's type; "" for none
}{
	{"fwd", 0.4, hookd.ActionForward}, {"mail", 0.3, hookd.ActionEmail}, {"email", 0.2, hookd.ActionEmail}, {"noop", 0.1, ""},
}

// Fill writes s.Events events into db (migrated), oldest first, reporting
// progress every tenth.
func Fill(ctx context.Context, db hookd.Store, s FillSettings, progress io.Writer) error {
	if s.Batch <= 0 {
		s.Batch = 2000
	}
	if s.Days <= 0 {
		s.Days = 7
	}
	now := time.Now().UTC()
	start := now.Add(-time.Duration(s.Days * float64(24*time.Hour)))
	step := now.Sub(start) / time.Duration(max(s.Events, 1))
	rng := rand.New(rand.NewPCG(1, 2))
	claim := now.Add(time.Hour).Truncate(time.Microsecond)
	began := time.Now()
	for done := 0; done < s.Events; {
		n := min(s.Batch, s.Events-done)
		subs := make([]hookd.Submission, n)
		for i := range subs {
			subs[i] = fillSubmission(rng, start.Add(time.Duration(done+i)*step), done+i, claim)
		}
		results, err := db.Accept(ctx, subs)
		if err != nil {
			return fmt.Errorf("fill: accept: %w", err)
		}
		var settlements []hookd.Settlement
		for i, sub := range subs {
			if len(sub.Jobs) == 0 || results[i].Outcome != hookd.Accepted {
				continue
			}
			settlements = append(settlements, hookd.Settlement{Claim: hookd.Claim{EventID: sub.Event.ID, Until: claim},
				Attempts: []hookd.Attempt{fillAttempt(rng, sub, now)}})
		}
		if _, err := db.Settle(ctx, settlements); err != nil {
			return fmt.Errorf("fill: settle: %w", err)
		}
		prev := done * 10 / max(s.Events, 1)
		done += n
		if done*10/max(s.Events, 1) != prev || done == s.Events {
			fmt.Fprintf(progress, "fill: %d of %d events (%.0f/s)\n", done, s.Events, float64(done)/time.Since(began).Seconds())
		}
	}
	return nil
}

// fillSubmission is event number n, received at t.
func fillSubmission(rng *rand.Rand, t time.Time, n int, claim time.Time) hookd.Submission {
	t = t.Truncate(time.Microsecond)
	svc := fillServices[len(fillServices)-1]
	for x, i := rng.Float64(), 0; i < len(fillServices); i++ {
		if x -= fillServices[i].share; x < 0 {
			svc = fillServices[i]
			break
		}
	}
	key := fmt.Sprintf("fill-%010d", n)
	var pad [16]byte
	for i := range pad {
		pad[i] = byte(rng.Uint32())
	}
	body := fmt.Sprintf(`{"idempotency_key":%q,"type":"order.paid","email":"customer%d@example.com",`+
		`"data":{"order_id":"ord_%d","amount_cents":%d,"currency":"EUR","items":[{"sku":"SKU-%d","quantity":%d}],`+
		`"customer":{"name":"Customer %d","country":"FR"},"note":"%s"}}`,
		key, n%100000, n, rng.IntN(100000), rng.IntN(5000), 1+rng.IntN(4), n%100000,
		strings.Repeat(hex.EncodeToString(pad[:]), 10))
	sum := sha256.Sum256([]byte(body))
	header := http.Header{
		"Content-Type": {"application/json"},
		"User-Agent":   {"Provider-Webhooks/2.1"},
		"X-Request-Id": {fmt.Sprintf("req_%x", sum[:8])},
		"X-Delivery":   {fmt.Sprintf("%d", n)},
	}
	ev := &hookd.Event{
		ID: store.NewEventIDAt(t), Service: svc.name, IdempotencyKey: key, PayloadHash: sum[:], Body: []byte(body),
		Header: header, ReceivedAt: t, ExpiresAt: t.Add(365 * 24 * time.Hour),
	}
	sub := hookd.Submission{Event: ev}
	if svc.job != "" {
		sub.Jobs = []hookd.NewJob{{Args: hookd.JobArgs{EventID: ev.ID, Service: svc.name, Action: svc.job}, MaxAttempts: 8}}
		sub.ClaimedUntil = claim
	}
	return sub
}

// fillAttempt is the first attempt of sub's job: 1% failed for good, 5%
// failed and retrying in 30 days, the rest succeeded.
func fillAttempt(rng *rand.Rand, sub hookd.Submission, now time.Time) hookd.Attempt {
	at := sub.Event.ReceivedAt.Add(time.Duration(20+rng.IntN(200)) * time.Millisecond)
	a := hookd.Attempt{Job: sub.Jobs[0], StartedAt: at, FinishedAt: at.Add(time.Duration(5+rng.IntN(100)) * time.Millisecond)}
	switch x := rng.Float64(); {
	case x < 0.01:
		a.Error, a.Permanent = "HTTP 410 Gone: the endpoint was removed", true
	case x < 0.06:
		a.Error, a.RetryAt = "HTTP 503 Service Unavailable", now.Add(30*24*time.Hour)
	}
	return a
}
