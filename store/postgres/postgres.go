package postgres

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/jobs"
	"github.com/hookd/hookd/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a hookd store in a PostgreSQL database.
type DB struct {
	pool   *pgxpool.Pool
	river  *river.Client[pgx.Tx] // insert-only: workers run elsewhere
	logger *slog.Logger
	// readSlots bounds the listings and event reads in flight, so that
	// admin and CLI reads never hold every connection the writers need;
	// each read is also bounded in time (readTimeout).
	readSlots   chan struct{}
	readTimeout time.Duration
}

var _ hookd.Store = (*DB)(nil)

// Options tune the connection pool.
type Options struct {
	// Logger receives River's logs. Defaults to River's default (warnings
	// and errors on standard output).
	Logger *slog.Logger
	// MaxConns is the size of the connection pool. Defaults to pgxpool's
	// default (the greater of 4 and the number of CPUs), or pool_max_conns
	// in the URL.
	MaxConns int32
	// Wait is how long Open waits for a server that cannot be reached yet
	// (starting up, restarting), retrying every second and logging to
	// Logger every few seconds. Zero fails at once.
	Wait time.Duration
	// ReadOnly makes every transaction read-only.
	ReadOnly bool
	// ReadTimeout bounds each read (store.DefaultReadTimeout when zero):
	// one that runs longer is cancelled on the server, with an error that
	// says so.
	ReadTimeout time.Duration
}

// DefaultConnectTimeout bounds each attempt to connect when the URL sets
// no connect_timeout, so that callers fail fast when the database is down.
const DefaultConnectTimeout = 3 * time.Second

// Open connects to the database at url (a postgres:// URL or key=value
// pairs, as pgx accepts) and checks that it answers: it fails, with code
// hookd.EUnavailable, when the database cannot be reached at start-up.
// Call Migrate before first use.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if opts.MaxConns < 0 {
		return nil, fmt.Errorf("postgres: MaxConns must not be negative, got %d", opts.MaxConns)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err) // pgconn redacts the password
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.ReadOnly {
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", where, err)
	}
	if err := ping(ctx, pool, where, opts); err != nil {
		pool.Close()
		return nil, err
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: opts.Logger})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: river client: %w", err)
	}
	return &DB{pool: pool, river: rc, logger: opts.Logger, readTimeout: opts.ReadTimeout,
		readSlots: make(chan struct{}, max(1, cfg.MaxConns/2))}, nil
}

// beginRead waits for a read slot and bounds the read in time. The
// returned context is the read's; done releases both.
func (db *DB) beginRead(ctx context.Context) (context.Context, func(), error) {
	rctx, cancel := store.ReadContext(ctx, db.readTimeout)
	select {
	case db.readSlots <- struct{}{}:
	case <-rctx.Done():
		cancel()
		return nil, nil, store.ReadError("read", rctx.Err(), rctx, ctx, db.readTimeout)
	}
	return rctx, func() { <-db.readSlots; cancel() }, nil
}

// Pool returns the connection pool, for River's workers
// (riverpgxv5.New(db.Pool())).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Close closes the pool, waiting for connections in use to be released.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Backlog counts the work waiting in one statement (one snapshot): the
// outbox through its partial index, the jobs through River's index on
// state.
func (db *DB) Backlog(ctx context.Context) (hookd.Backlog, error) {
	var b hookd.Backlog
	var outboxOldest, jobOldest *time.Time
	err := db.pool.QueryRow(ctx, `SELECT o.n, o.oldest, j.queued, j.retrying, j.oldest FROM
		(SELECT count(*) AS n, min(received_at) AS oldest FROM hookd_event WHERE pending_jobs IS NOT NULL) o,
		(SELECT count(*) FILTER (WHERE state = 'available' AND attempt = 0) AS queued,
			count(*) FILTER (WHERE state = 'retryable' OR attempt > 0) AS retrying,
			min(created_at) AS oldest
		FROM river_job WHERE state IN ('available', 'retryable') AND kind = `+jobKind+`) j`,
	).Scan(&b.Outbox, &outboxOldest, &b.Queued, &b.Retrying, &jobOldest)
	if err != nil {
		return hookd.Backlog{}, wrap("backlog", err)
	}
	for _, t := range []*time.Time{outboxOldest, jobOldest} {
		if t != nil && (b.Oldest.IsZero() || t.Before(b.Oldest)) {
			b.Oldest = *t
		}
	}
	return b, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

// Heartbeat commits a write to the heartbeat row.
func (db *DB) Heartbeat(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, `INSERT INTO hookd_heartbeat (id, at) VALUES (1, now())
		ON CONFLICT (id) DO UPDATE SET at = excluded.at`); err != nil {
		return &hookd.Error{Code: hookd.EUnavailable, Message: "the database cannot commit a write", Err: err}
	}
	return nil
}

// migrationLock is the first key of the advisory lock Migrate holds; the
// second is the schema's, so that migrations of different schemas in one
// database (tests) do not wait for each other.
const migrationLock = 0x686f6f6b // "hook"

// Migrate applies River's migrations, then hookd's, each at most once.
// Safe to run from several processes at once: every transaction it runs
// first takes an advisory lock, then sees what the others committed.
//
// River's versions are applied one per transaction, each committed with
// its version row: a new enum value (River's version 4) cannot be used in
// the transaction that adds it, so one transaction for all cannot migrate a
// new database. The transaction that finds no River version left applies
// hookd's migrations; on an up-to-date database that is the only one.
func (db *DB) Migrate(ctx context.Context) error { return db.migrateTo(ctx, 0) }

// migrateTo is Migrate stopping after hookd's version upTo (0: the last),
// for tests of a later migration.
func (db *DB) migrateTo(ctx context.Context, upTo int) error {
	var cfg *rivermigrate.Config
	if db.logger != nil {
		cfg = &rivermigrate.Config{Logger: db.logger}
	}
	m, err := rivermigrate.New(riverpgxv5.New(db.pool), cfg)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for {
		done, err := db.migrateStep(ctx, m, upTo)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies River's next version or, when none is left, hookd's
// migrations, in one transaction. It reports whether it found nothing left
// of River's.
func (db *DB) migrateStep(ctx context.Context, m *rivermigrate.Migrator[pgx.Tx], upTo int) (done bool, err error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return false, wrap("migrate", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))`,
		migrationLock); err != nil {
		return false, wrap("migrate: lock", err)
	}
	// MigrateTx is deprecated because a whole run cannot share one
	// transaction (see Migrate); one step at a time it can, and it
	// keeps each step atomic under the lock. Should River remove it: a
	// session-level advisory lock on a connection of its own around
	// m.Migrate, then hookd's migrations.
	//lint:ignore SA1019 one River version per transaction under the lock; see above
	res, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1})
	if err != nil {
		return false, wrap("migrate river", err)
	}
	done = len(res.Versions) == 0
	if done {
		if err := migrate(ctx, tx, upTo); err != nil {
			return false, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return false, wrap("migrate: commit", err)
	}
	return done, nil
}

// migrate applies hookd's numbered migrations not yet recorded in
// hookd_migration, up to version upTo (0: all of them).
func migrate(ctx context.Context, tx pgx.Tx, upTo int) error {
	all, err := store.Migrations(migrations)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS hookd_migration (
		version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return wrap("migrate", err)
	}
	for _, m := range all {
		version, name := m.Version, m.Name
		var applied bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM hookd_migration WHERE version = $1)`,
			version).Scan(&applied); err != nil {
			return wrap("migrate", err)
		}
		if applied || upTo > 0 && version > upTo {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
			return wrap("migrate "+name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO hookd_migration (version) VALUES ($1)`, version); err != nil {
			return wrap("migrate", err)
		}
	}
	return nil
}

// insertEvents stores a batch of new events in one statement, or takes
// over the rows of expired keys (one statement per event cost PostgreSQL
// more than the rows did). It returns the IDs it stored: a key held by a
// live event returns none. Rows go in in the order given (WITH
// ORDINALITY), which Accept makes key order. The keys must be distinct: a
// statement may not touch one row twice.
const insertEvents = `
INSERT INTO hookd_event (id, service, idempotency_key, payload_hash, body, header, received_at, expires_at, pending_jobs, due_at, status)
SELECT id, service, key, hash, body, header::json, received_at, expires_at, pending::jsonb, due_at, status
FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::bytea[], $6::text[],
            $7::timestamptz[], $8::timestamptz[], $9::text[], $10::timestamptz[], $11::text[])
     WITH ORDINALITY AS u(id, service, key, hash, body, header, received_at, expires_at, pending, due_at, status, n)
ORDER BY n
ON CONFLICT (service, idempotency_key) DO UPDATE SET
    id = excluded.id, payload_hash = excluded.payload_hash, body = excluded.body, header = excluded.header,
    received_at = excluded.received_at, expires_at = excluded.expires_at, pending_jobs = excluded.pending_jobs,
    due_at = excluded.due_at, status = excluded.status, settled_jobs = NULL
WHERE hookd_event.expires_at <= excluded.received_at
RETURNING id`

// lookupEvent reads the event that holds a key.
const lookupEvent = `SELECT id, payload_hash FROM hookd_event WHERE service = $1 AND idempotency_key = $2`

// errRetry marks an Accept transaction worth running again.
var errRetry = errors.New("an idempotency key was deleted while being read; try again")

// maxAcceptAttempts bounds the runs of an Accept transaction that lost a
// race it cannot settle inside itself (a deadlock, a key pruned between
// the insert and the look-up).
const maxAcceptAttempts = 3

// Accept stores the submissions in one transaction, each event with its
// jobs in the outbox column, claimed or due (see hookd.Store.Accept).
func (db *DB) Accept(ctx context.Context, subs []hookd.Submission) ([]hookd.Result, error) {
	if len(subs) == 0 {
		return []hookd.Result{}, nil
	}
	for _, sub := range subs {
		if !storable(sub.Event.Service) || !storable(sub.Event.IdempotencyKey) {
			// The HTTP layer admits printable UTF-8 only; PostgreSQL's text
			// would refuse the statement, and with it the whole batch.
			return nil, hookd.Errorf(hookd.EInvalidIdempotencyKey, "service and idempotency key must be UTF-8 without NUL")
		}
	}
	// Write the first submission of each key, in key order: concurrent
	// batches then wait for each other's keys in one order, never in a
	// cycle. Repeats of a key in the batch are answered from its first.
	first, writes := store.FirstOfKey(subs)
	slices.SortFunc(writes, func(a, b int) int {
		ea, eb := subs[a].Event, subs[b].Event
		return cmp.Or(strings.Compare(ea.Service, eb.Service), strings.Compare(ea.IdempotencyKey, eb.IdempotencyKey))
	})
	for attempt := 1; ; attempt++ {
		results, err := db.accept(ctx, subs, first, writes)
		if (errors.Is(err, errRetry) || isRetryable(err)) && attempt < maxAcceptAttempts && ctx.Err() == nil {
			continue
		}
		return results, err
	}
}

func (db *DB) accept(ctx context.Context, subs []hookd.Submission, first, writes []int) ([]hookd.Result, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, wrap("accept", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	n := len(writes)
	ids, services, keys, headers := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	hashes, bodies := make([][]byte, n), make([][]byte, n)
	received, expires := make([]time.Time, n), make([]time.Time, n)
	pending, due, status := make([]*string, n), make([]*time.Time, n), make([]*string, n)
	for w, i := range writes {
		ev := subs[i].Event
		ids[w], services[w], keys[w], headers[w] = ev.ID, ev.Service, ev.IdempotencyKey, string(store.HeaderJSON(ev))
		hashes[w], bodies[w], received[w], expires[w] = ev.PayloadHash, ev.Body, ev.ReceivedAt, ev.ExpiresAt
		pending[w], due[w], status[w] = pendingParam(subs[i].Jobs), dueAt(subs[i]), store.AcceptedStatus(subs[i])
	}
	rows, err := tx.Query(ctx, insertEvents, ids, services, keys, hashes, bodies, headers, received, expires, pending, due, status)
	if err != nil {
		return nil, wrap("accept", err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("accept", err)
	}

	results := make([]hookd.Result, len(subs))
	var held []int // writes whose key a live event holds
	for _, i := range writes {
		results[i] = hookd.Result{Outcome: hookd.Accepted, EventID: subs[i].Event.ID}
		if len(stored) < len(writes) && !slices.Contains(stored, subs[i].Event.ID) {
			held = append(held, i)
		}
	}
	// A second round trip reads the holders, now committed: each
	// statement of a READ COMMITTED transaction sees the latest commits.
	heldHash := map[int][]byte{}
	if len(held) > 0 {
		batch := &pgx.Batch{}
		for _, i := range held {
			batch.Queue(lookupEvent, subs[i].Event.Service, subs[i].Event.IdempotencyKey)
		}
		if err := readBatch(tx.SendBatch(ctx, batch), held, func(i int, row pgx.Row) error {
			var id string
			var hash []byte
			if err := row.Scan(&id, &hash); errors.Is(err, pgx.ErrNoRows) {
				return errRetry // deleted since the insert (pruned): start again
			} else if err != nil {
				return err
			}
			results[i], heldHash[i] = hookd.Result{Outcome: hookd.Duplicate, EventID: id}, hash
			if string(hash) != string(subs[i].Event.PayloadHash) {
				results[i].Outcome = hookd.Conflict
			}
			return nil
		}); err != nil {
			return nil, wrap("accept", err)
		}
	}
	store.ResolveRepeats(subs, results, first, heldHash)

	if err := tx.Commit(ctx); err != nil {
		return nil, wrap("accept: commit", err)
	}
	return results, nil
}

// Dispatch moves the jobs of up to limit events, oldest first, from the
// outbox into River's queue, in one transaction. SKIP LOCKED lets several
// processes dispatch at once, each taking other events.
func (db *DB) Dispatch(ctx context.Context, limit int) (int, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return 0, wrap("dispatch", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, `SELECT id, service, pending_jobs::text FROM hookd_event
		WHERE pending_jobs IS NOT NULL AND due_at <= now() ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
	if err != nil {
		return 0, wrap("dispatch", err)
	}
	var ids []string
	var params []river.InsertManyParams
	for rows.Next() {
		var id, service, pending string
		if err := rows.Scan(&id, &service, &pending); err != nil {
			rows.Close()
			return 0, wrap("dispatch", err)
		}
		nj, err := store.DecodePending(id, service, []byte(pending))
		if err != nil {
			rows.Close()
			return 0, err
		}
		ids, params = append(ids, id), jobs.InsertParams(params, nj)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, wrap("dispatch", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := db.river.InsertManyFastTx(ctx, tx, params); err != nil {
		return 0, wrap("dispatch: enqueue", err)
	}
	// Queued jobs keep their event pending: say so for an event whose
	// claim expired, which may have left its status NULL (AcceptedStatus).
	if _, err := tx.Exec(ctx, `UPDATE hookd_event SET pending_jobs = NULL, due_at = NULL, status = 'pending' WHERE id = ANY($1)`,
		ids); err != nil {
		return 0, wrap("dispatch", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, wrap("dispatch: commit", err)
	}
	return len(ids), nil
}

// actionIndexes returns the actions jobs are for.
func actionIndexes(jobs []hookd.NewJob) []int {
	out := make([]int, len(jobs))
	for i, j := range jobs {
		out[i] = j.Args.ActionIndex
	}
	return out
}

// RetryNow makes jobs waiting to retry available at once (River's
// JobRetry, which leaves a running job alone). Their events are pending:
// the status says so in the same transaction, should a job have finished
// since the caller saw it waiting (JobRetry runs a finished job again).
func (db *DB) RetryNow(ctx context.Context, jobIDs []int64) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return wrap("retry now", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, id := range jobIDs {
		// The event's row first, then the job's: the order of every
		// writer of the status (finishAttempt), so none waits for the
		// other in a cycle.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM hookd_event
			WHERE id = (SELECT args ->> 'event_id' FROM river_job WHERE id = $1) COLLATE "C" FOR UPDATE`, id); err != nil {
			return wrap("retry now", err)
		}
		job, err := db.river.JobRetryTx(ctx, tx, id)
		if err != nil {
			return wrap("retry now", err)
		}
		var args hookd.JobArgs
		_ = json.Unmarshal(job.EncodedArgs, &args) // written by hookd; no event on damage
		if _, err := tx.Exec(ctx, `UPDATE hookd_event SET status = 'pending' WHERE id = $1 AND status IS DISTINCT FROM 'pending'`,
			args.EventID); err != nil {
			return wrap("retry now", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap("retry now: commit", err)
	}
	return nil
}

// FinishAttempt records the status the event of job, which a worker just
// attempted, has once River records that attempt's outcome, state
// (hookd.JobSucceeded, JobRetrying or JobFailed): StatusOf over the
// event's jobs with job in that state. A success is recorded in the
// transaction that completes the job in River (river.JobCompleteTx), so
// the two cannot disagree; a failure before River records it in its own
// (jobs.Worker.Work says what a crash in between leaves).
func (db *DB) FinishAttempt(ctx context.Context, job *river.Job[hookd.JobArgs], state hookd.JobState) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return wrap("finish attempt", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := writeStatus(ctx, tx, job.Args.EventID, job.ID, state); err != nil {
		return wrap("finish attempt", err)
	}
	if state == hookd.JobSucceeded {
		if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
			return wrap(fmt.Sprintf("finish attempt: complete job %d", job.ID), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap("finish attempt: commit", err)
	}
	return nil
}

// writeStatus writes the status of event id once its queued job jobID is
// in state (jobID 0: its jobs as they stand), and reports whether that
// changed it. It takes the event's row first, as every writer of the
// status does, so that two attempts of its jobs finishing at once each
// read the other's outcome or wait for it. A job waiting to retry keeps
// its event pending, whatever the others: nothing to read.
func writeStatus(ctx context.Context, tx pgx.Tx, id string, jobID int64, state hookd.JobState) (bool, error) {
	status := hookd.EventPending
	if jobID == 0 || state != hookd.JobRetrying {
		var pending, settled *string
		err := tx.QueryRow(ctx, `SELECT pending_jobs::text, settled_jobs::text FROM hookd_event WHERE id = $1 FOR UPDATE`,
			id).Scan(&pending, &settled)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil // pruned meanwhile: no status to keep
		} else if err != nil {
			return false, err
		}
		queued, _, err := queryJobs(ctx, tx, eventJobs, id)
		if err != nil {
			return false, err
		}
		if status, err = store.AfterOutcome(id, queued, bytesOf(pending), bytesOf(settled), jobID, state); err != nil {
			return false, err
		}
	}
	tag, err := tx.Exec(ctx, `UPDATE hookd_event SET status = $1 WHERE id = $2 AND status IS DISTINCT FROM $1`,
		store.StatusColumn(status), id)
	return tag.RowsAffected() > 0, err
}

// RefreshStatus writes again the stored status of the events whose queued
// jobs finished at or after since and whose stored status their jobs may
// contradict (one of them succeeded while the event is not succeeded, or
// failed while it is not failed), and returns how many it changed. hookd
// writes the status with each change it makes; this catches the changes
// made without it: River's rescuer discarding a job whose process died
// during its last attempt, River's UI. River's index on (state,
// finalized_at) finds those jobs.
func (db *DB) RefreshStatus(ctx context.Context, since time.Time) (int, error) {
	rows, err := db.pool.Query(ctx, `SELECT DISTINCT e.id FROM river_job j
		JOIN hookd_event e ON e.id = j.args ->> 'event_id' COLLATE "C"
		WHERE j.state IN ('completed', 'discarded', 'cancelled') AND j.finalized_at >= $1 AND j.kind = `+jobKind+`
		AND (j.state = 'completed' AND e.status IS NOT NULL OR j.state <> 'completed' AND e.status IS DISTINCT FROM 'failed')`,
		since)
	if err != nil {
		return 0, wrap("refresh status", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, wrap("refresh status", err)
	}
	changed := 0
	for _, id := range ids {
		n, err := db.refreshStatus(ctx, id)
		if err != nil {
			return changed, err
		}
		changed += n
	}
	return changed, nil
}

// refreshStatus writes again the stored status of event id from its jobs.
func (db *DB) refreshStatus(ctx context.Context, id string) (int, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return 0, wrap("refresh status", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	changed, err := writeStatus(ctx, tx, id, 0, "")
	if err != nil {
		return 0, wrap("refresh status", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, wrap("refresh status: commit", err)
	}
	if changed {
		return 1, nil
	}
	return 0, nil
}

// dueAt is when sub's outbox is due for a dispatcher: the end of its
// claim, else at once; nil when it has no jobs.
func dueAt(sub hookd.Submission) *time.Time {
	switch {
	case len(sub.Jobs) == 0:
		return nil
	case !sub.ClaimedUntil.IsZero():
		return &sub.ClaimedUntil
	}
	return &sub.Event.ReceivedAt
}

// Settle records the first attempts made under claims, in one
// transaction: each claim that still holds empties its event's outbox, and
// its jobs are written into River's table as those attempts left them. The
// event's status is written in the same statement, computed from the
// attempts alone (all the event's jobs); a replayed event's, which depends
// on its earlier jobs too, once the statement holds its row.
func (db *DB) Settle(ctx context.Context, settlements []hookd.Settlement) ([]hookd.Claim, error) {
	if len(settlements) == 0 {
		return nil, nil
	}
	ids, untils := make([]string, len(settlements)), make([]time.Time, len(settlements))
	succeeded, queued := make([]*string, len(settlements)), make([][]hookd.Attempt, len(settlements))
	status := make([]*string, len(settlements))
	for i, st := range settlements {
		ids[i], untils[i] = st.Claim.EventID, st.Claim.Until
		var b []byte
		if b, queued[i] = store.SplitSettlement(st); b != nil {
			s := string(b)
			succeeded[i] = &s
		}
		status[i] = store.StatusColumn(store.SettledStatus(st))
		if st.Replayed {
			status[i] = store.StatusColumn(hookd.EventPending) // as it is, until set below
		}
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, wrap("settle", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// A settlement need not wait for the WAL's flush: lost to a crash, it
	// leaves the claims to expire and the work to be done again, as the
	// delivery guarantee allows; the events themselves were committed
	// durably by Accept.
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return nil, wrap("settle", err)
	}
	rows, err := tx.Query(ctx, `UPDATE hookd_event e SET pending_jobs = NULL, due_at = NULL, settled_jobs = coalesce(c.settled::jsonb, e.settled_jobs),
		status = c.status
		FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[]) AS c(id, until, settled, status)
		WHERE e.id = c.id AND e.due_at = c.until AND e.pending_jobs IS NOT NULL
		RETURNING e.id`, ids, untils, succeeded, status)
	if err != nil {
		return nil, wrap("settle", err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("settle", err)
	}
	var settled []hookd.Claim
	var params []*riverdriver.JobInsertFullParams
	var queuedAttempts []hookd.Attempt
	held := make(map[string]bool, len(done))
	for _, id := range done {
		held[id] = true
	}
	for i, st := range settlements {
		if !held[st.Claim.EventID] {
			continue // the claim expired and another dispatcher took the work
		}
		settled = append(settled, st.Claim)
		for _, a := range queued[i] {
			params = append(params, jobs.FullInsertParams(a))
		}
		if st.Replayed {
			if err := replayedStatus(ctx, tx, st); err != nil {
				return nil, wrap("settle", err)
			}
		}
		queuedAttempts = append(queuedAttempts, queued[i]...)
	}
	// Failed attempts go in one by one: the driver's many-row insert drops
	// the errors column.
	exec := riverpgxv5.New(db.pool).UnwrapExecutor(tx)
	jobIDs, jobArgs := make([]int64, len(params)), make([][]byte, len(params))
	for i, p := range params {
		row, err := exec.JobInsertFull(ctx, p)
		if err != nil {
			return nil, wrap("settle: enqueue", err)
		}
		jobIDs[i], jobArgs[i] = row.ID, row.EncodedArgs
	}
	if len(params) > 0 {
		if err := insertAttempts(ctx, tx, store.NewAttemptRows(queuedAttempts, jobIDs, jobArgs)); err != nil {
			return nil, wrap("settle", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, wrap("settle: commit", err)
	}
	return settled, nil
}

// replayedStatus writes the status of a replayed event once st is settled:
// its earlier jobs (queued, and settled in its row), then st's attempts.
// The transaction holds the event's row (Settle's update), and every other
// writer of its status takes that row first, so the jobs it reads are the
// latest and no other write of the status comes between.
func replayedStatus(ctx context.Context, tx pgx.Tx, st hookd.Settlement) error {
	id := st.Claim.EventID
	var settled *string
	if err := tx.QueryRow(ctx, `SELECT settled_jobs::text FROM hookd_event WHERE id = $1`, id).Scan(&settled); err != nil {
		return err
	}
	queued, _, err := queryJobs(ctx, tx, eventJobs, id)
	if err != nil {
		return err
	}
	status, err := store.AfterAttempts(id, queued, bytesOf(settled), st.Attempts)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE hookd_event SET status = $1 WHERE id = $2`, store.StatusColumn(status), id)
	return err
}

// bytesOf is a nullable text column as bytes (nil for NULL).
func bytesOf(s *string) []byte {
	if s == nil {
		return nil
	}
	return []byte(*s)
}

// insertAttempts writes records into hookd_attempt, in one statement.
func insertAttempts(ctx context.Context, tx pgx.Tx, records []store.AttemptInsert) error {
	n := len(records)
	events, actions, jobIDs, numbers := make([]string, n), make([]int32, n), make([]int64, n), make([]int32, n)
	started, durations, outcomes := make([]time.Time, n), make([]int64, n), make([]string, n)
	codes, replies, errs := make([]int32, n), make([]string, n), make([]string, n)
	for i, r := range records {
		events[i], actions[i], jobIDs[i], numbers[i] = r.EventID, int32(r.Action), r.JobID, int32(r.Number)
		started[i], durations[i], outcomes[i] = r.StartedAt, r.Duration.Microseconds(), string(r.Outcome)
		codes[i], replies[i], errs[i] = int32(r.Code), r.Reply, r.Error
	}
	_, err := tx.Exec(ctx, `INSERT INTO hookd_attempt
		(event_id, action, job_id, number, started_at, duration_us, outcome, code, reply, error)
		SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[], $5::timestamptz[], $6::bigint[],
			$7::text[], $8::int[], $9::text[], $10::text[])`,
		events, actions, jobIDs, numbers, started, durations, outcomes, codes, replies, errs)
	if err != nil {
		return fmt.Errorf("record attempts: %w", err)
	}
	return nil
}

// RecordAttempt records an attempt of a queued job, in a transaction of
// its own.
func (db *DB) RecordAttempt(ctx context.Context, args hookd.JobArgs, jobID int64, r hookd.AttemptRecord) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return wrap("record attempt", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := insertAttempts(ctx, tx, []store.AttemptInsert{store.NewAttemptInsert(args, jobID, r)}); err != nil {
		return wrap("record attempt", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap("record attempt: commit", err)
	}
	return nil
}

// ClaimDue claims the events whose outbox is due, oldest due first,
// skipping those another process is claiming.
func (db *DB) ClaimDue(ctx context.Context, limit int, until time.Time) ([]hookd.Submission, error) {
	rows, err := db.pool.Query(ctx, `UPDATE hookd_event e SET due_at = $2
		FROM (SELECT id FROM hookd_event WHERE pending_jobs IS NOT NULL AND due_at <= now()
		      ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED) c
		WHERE e.id = c.id
		RETURNING e.id, e.service, e.idempotency_key, e.payload_hash, e.body, e.header::text, e.received_at,
			e.expires_at, e.pending_jobs::text, EXISTS (SELECT 1 FROM river_job
				WHERE args ->> 'event_id' = e.id COLLATE "default" AND kind = `+jobKind+`)`, limit, until)
	if err != nil {
		return nil, wrap("claim due", err)
	}
	defer rows.Close()
	var subs []hookd.Submission
	for rows.Next() {
		ev := &hookd.Event{}
		var header, pending string
		var replayed bool
		if err := rows.Scan(&ev.ID, &ev.Service, &ev.IdempotencyKey, &ev.PayloadHash, &ev.Body, &header,
			&ev.ReceivedAt, &ev.ExpiresAt, &pending, &replayed); err != nil {
			return nil, wrap("claim due", err)
		}
		ev.Header = store.DecodeHeader([]byte(header))
		ev.ReceivedAt, ev.ExpiresAt = ev.ReceivedAt.UTC(), ev.ExpiresAt.UTC()
		jobs, err := store.DecodePending(ev.ID, ev.Service, []byte(pending))
		if err != nil {
			return nil, err
		}
		subs = append(subs, hookd.Submission{Event: ev, Jobs: jobs, ClaimedUntil: until, Replayed: replayed})
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("claim due", err)
	}
	return subs, nil
}

// RenewClaims extends the claims that still hold.
func (db *DB) RenewClaims(ctx context.Context, claims []hookd.Claim, until time.Time) ([]hookd.Claim, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	ids, untils := make([]string, len(claims)), make([]time.Time, len(claims))
	for i, c := range claims {
		ids[i], untils[i] = c.EventID, c.Until
	}
	// Given up (until in the past), an outbox no longer shows in listings
	// through its claim: its status says pending.
	set := `due_at = $3`
	if !until.After(time.Now()) {
		set += `, status = 'pending'`
	}
	rows, err := db.pool.Query(ctx, `UPDATE hookd_event e SET `+set+`
		FROM unnest($1::text[], $2::timestamptz[]) AS c(id, until)
		WHERE e.id = c.id AND e.due_at = c.until AND e.pending_jobs IS NOT NULL
		RETURNING e.id`, ids, untils, until)
	if err != nil {
		return nil, wrap("renew claims", err)
	}
	renewed, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (hookd.Claim, error) {
		c := hookd.Claim{Until: until}
		return c, row.Scan(&c.EventID)
	})
	if err != nil {
		return nil, wrap("renew claims", err)
	}
	return renewed, nil
}

// pendingParam is the outbox column's value: NULL for an event without jobs.
func pendingParam(jobs []hookd.NewJob) *string {
	b := store.EncodePending(jobs)
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

// readBatch hands the result of the batch's n-th statement to read with
// the n-th index, then closes the batch.
func readBatch(br pgx.BatchResults, indexes []int, read func(i int, row pgx.Row) error) error {
	for _, i := range indexes {
		if err := read(i, br.QueryRow()); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

// Replay puts jobs into the outbox of event id if it has no work
// outstanding. Two concurrent replays queue on the row's lock; the second
// then sees the first's outbox (or, dispatched since, its queued jobs).
func (db *DB) Replay(ctx context.Context, id string, jobs []hookd.NewJob) error {
	if !storable(id) {
		return hookd.Errorf(hookd.ENotFound, "no event %q", id)
	}
	tag, err := db.pool.Exec(ctx, `UPDATE hookd_event SET pending_jobs = $1, due_at = now(), status = 'pending'
		WHERE id = $2 AND pending_jobs IS NULL AND NOT EXISTS (
			SELECT 1 FROM river_job WHERE args ->> 'event_id' = hookd_event.id COLLATE "default" AND kind = `+jobKind+`
			AND (args ->> 'action')::int = ANY($3) AND state NOT IN ('completed', 'discarded', 'cancelled'))`,
		pendingParam(jobs), id, actionIndexes(jobs))
	if err != nil {
		return wrap("replay", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if _, err := db.EventWithoutJobs(ctx, id); err != nil { // one query: whether it exists
		return err // not found, or the database failed
	}
	return hookd.Errorf(hookd.EConflict, "event %s has work outstanding for these actions; replay it once their jobs have finished", id)
}

// jobKind is the River kind of hookd's jobs, as an SQL literal.
const jobKind = `'hookd_action'`

// Prune deletes a batch of events past their retention, with their jobs
// and attempts.
// It finds them outside the transaction, walking the index on (service,
// id) of each service from the cursor (store.PruneCandidates); the
// transaction checks them again, locking them, and deletes them by ID.
// SKIP LOCKED leaves events another process is touching for next time.
func (db *DB) Prune(ctx context.Context, r hookd.PruneRequest) (hookd.PruneResult, error) {
	names, err := db.serviceNames(ctx)
	if err != nil {
		return hookd.PruneResult{}, wrap("prune", err)
	}
	ids, next, done, err := store.PruneCandidates(ctx, r, names, db.pruneScan)
	if err != nil {
		return hookd.PruneResult{}, wrap("prune", err)
	}
	res := hookd.PruneResult{Next: next, Done: done}
	if len(ids) == 0 {
		return res, nil
	}
	res.Deleted, res.Held, err = db.deleteEvents(ctx, r.Retention, ids)
	return res, err
}

// pruneScan is store.PruneScan. The row comparisons are what the index
// on (service, id) serves and the primary key cannot: on e.id alone the
// planner walks the primary key, in the heap's order, and filters on
// the service, reading every other service's events on the way. The
// statement is planned for its parameters each time (an unnamed
// statement): the generic plan a cached statement gets after five runs
// does not see that the service and range pick one stretch of that index.
func (db *DB) pruneScan(ctx context.Context, service, after, before string, cutoff, now time.Time, n int) ([]store.PruneRow, error) {
	rows, err := db.pool.Query(ctx, `SELECT e.id,
		CASE WHEN e.received_at < $1 AND e.expires_at < $2 AND e.pending_jobs IS NULL THEN coalesce(e.status, 'succeeded') ELSE '' END
		FROM hookd_event e WHERE e.service = $3 AND (e.service, e.id) > ($3, $4) AND (e.service, e.id) < ($3, $5)
		ORDER BY e.service, e.id LIMIT $6`,
		pgx.QueryExecModeCacheDescribe, cutoff, now, service, after, before, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.PruneRow, error) {
		var r store.PruneRow
		err := row.Scan(&r.ID, &r.Status)
		return r, err
	})
}

// serviceNames lists the services that have events, in name order.
func (db *DB) serviceNames(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT service FROM `+services+` s ORDER BY service`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// deleteEvents deletes, with their jobs, those of ids that their service's
// retention still lets go: found outside the transaction, an event may
// have been replayed since. It returns how many it deleted and how long
// the transaction took.
func (db *DB) deleteEvents(ctx context.Context, retention map[string]hookd.Retention, ids []string) (int, time.Duration, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return 0, 0, wrap("prune", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	start := time.Now()
	rows, err := tx.Query(ctx, `SELECT e.id, e.service, coalesce(e.status, 'succeeded') FROM hookd_event e
		WHERE e.id = ANY($1) AND e.pending_jobs IS NULL FOR UPDATE SKIP LOCKED`, ids)
	if err != nil {
		return 0, 0, wrap("prune", err)
	}
	var del []string
	var id, service string
	var status hookd.EventStatus
	if _, err := pgx.ForEachRow(rows, []any{&id, &service, &status}, func() error {
		if retention[service].Prunable(status) {
			del = append(del, id)
		}
		return nil
	}); err != nil {
		return 0, 0, wrap("prune", err)
	}
	if len(del) == 0 {
		return 0, time.Since(start), nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM river_job WHERE args ->> 'event_id' = ANY($1) AND kind = `+jobKind, del); err != nil {
		return 0, 0, wrap("prune", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM hookd_attempt WHERE event_id = ANY($1)`, del); err != nil {
		return 0, 0, wrap("prune", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM hookd_event WHERE id = ANY($1)`, del); err != nil {
		return 0, 0, wrap("prune", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, wrap("prune: commit", err)
	}
	return len(del), time.Since(start), nil
}

// Event returns one event with its body and jobs.
func (db *DB) Event(ctx context.Context, id string) (*hookd.Event, error) {
	ev, pending, settled, err := db.event(ctx, id)
	if err != nil {
		return nil, err
	}
	queued, errs, err := db.jobs(ctx, eventJobs, id)
	if err != nil {
		return nil, err
	}
	attempts, err := db.attempts(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := store.SetJobs(ev, store.EventJobs{Queued: queued, RiverErrors: errs, Pending: pending, Settled: settled,
		Attempts: attempts}); err != nil {
		return nil, err
	}
	return ev, nil
}

// attempts reads the rows of hookd_attempt of event id. Their order is
// the history's (store.SetJobs sorts each job's by number).
func (db *DB) attempts(ctx context.Context, id string) ([]store.AttemptRow, error) {
	rctx, done, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := db.pool.Query(rctx, `SELECT job_id, number, started_at, duration_us, outcome, code, reply, error
		FROM hookd_attempt WHERE event_id = $1`, id)
	if err != nil {
		return nil, readError("attempts", err, rctx, ctx, db.readTimeout)
	}
	defer rows.Close()
	var out []store.AttemptRow
	for rows.Next() {
		var a store.AttemptRow
		var duration int64
		if err := rows.Scan(&a.JobID, &a.Number, &a.StartedAt, &duration, &a.Outcome, &a.Code, &a.Reply, &a.Error); err != nil {
			return nil, readError("attempts", err, rctx, ctx, db.readTimeout)
		}
		a.StartedAt, a.Duration = a.StartedAt.UTC(), time.Duration(duration)*time.Microsecond
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, readError("attempts", err, rctx, ctx, db.readTimeout)
	}
	return out, nil
}

// EventWithoutJobs returns one event without its jobs and status: what a worker
// needs, in one query.
func (db *DB) EventWithoutJobs(ctx context.Context, id string) (*hookd.Event, error) {
	ev, _, _, err := db.event(ctx, id)
	return ev, err
}

// event reads an event's row, its outbox column and its settled column.
func (db *DB) event(ctx context.Context, id string) (ev *hookd.Event, pending, settled []byte, err error) {
	if !storable(id) {
		return nil, nil, nil, hookd.Errorf(hookd.ENotFound, "no event %q", id)
	}
	ev = &hookd.Event{}
	var header string
	// A worker reads its event here: a bound in time, but no read slot,
	// so listings never delay deliveries.
	rctx, cancel := store.ReadContext(ctx, db.readTimeout)
	defer cancel()
	err = db.pool.QueryRow(rctx, `SELECT id, service, idempotency_key, payload_hash, body, header::text, received_at, expires_at,
		pending_jobs::text, settled_jobs::text FROM hookd_event WHERE id = $1`, id).Scan(&ev.ID, &ev.Service, &ev.IdempotencyKey,
		&ev.PayloadHash, &ev.Body, &header, &ev.ReceivedAt, &ev.ExpiresAt, &pending, &settled)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, nil, hookd.Errorf(hookd.ENotFound, "no event %q", id)
	} else if err != nil {
		return nil, nil, nil, readError("event", err, rctx, ctx, db.readTimeout)
	}
	ev.Header = store.DecodeHeader([]byte(header))
	ev.ReceivedAt, ev.ExpiresAt = ev.ReceivedAt.UTC(), ev.ExpiresAt.UTC()
	return ev, pending, settled, nil
}

const jobColumns = `SELECT id, coalesce(args ->> 'event_id', ''), coalesce(args ->> 'service', ''),
	coalesce(args ->> 'type', ''), coalesce((args ->> 'action')::int, 0), state::text, attempt, max_attempts,
	coalesce(array_to_json(errors)::text, '[]')
	FROM river_job `

// eventJobs selects the queued jobs of one event, in the order they were
// queued.
const eventJobs = `WHERE args ->> 'event_id' = $1 AND kind = ` + jobKind + ` ORDER BY id`

// jobs reads River's jobs, and their errors columns.
func (db *DB) jobs(ctx context.Context, where string, args ...any) ([]*hookd.Job, [][]byte, error) {
	rctx, done, err := db.beginRead(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	jobs, errs, err := queryJobs(rctx, db.pool, where, args...)
	if err != nil {
		return nil, nil, readError("jobs", err, rctx, ctx, db.readTimeout)
	}
	return jobs, errs, nil
}

// querier is the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// queryJobs reads the jobs where selects, through q.
func queryJobs(ctx context.Context, q querier, where string, args ...any) ([]*hookd.Job, [][]byte, error) {
	rows, err := q.Query(ctx, jobColumns+where, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var jobs []*hookd.Job
	var allErrs [][]byte
	for rows.Next() {
		j := &hookd.Job{}
		var state, errs string
		if err := rows.Scan(&j.ID, &j.EventID, &j.Service, &j.Action, &j.ActionIndex, &state, &j.Attempts,
			&j.MaxAttempts, &errs); err != nil {
			return nil, nil, err
		}
		j.State = store.JobState(state, j.Attempts)
		j.LastError = store.LastError([]byte(errs))
		jobs, allErrs = append(jobs, j), append(allErrs, []byte(errs))
	}
	return jobs, allErrs, rows.Err()
}

// params collects the arguments of a query and names their placeholders.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// services lists the services that have events, one index look-up each
// (a loose index scan): they are few, the events many.
const services = `(WITH RECURSIVE s(service) AS (
	SELECT min(service) FROM hookd_event
	UNION ALL SELECT (SELECT min(service) FROM hookd_event WHERE service > s.service) FROM s WHERE s.service IS NOT NULL)
	SELECT service FROM s WHERE service IS NOT NULL)`

// CountEvents counts the events f selects, as Events lists them, up to
// max+1.
func (db *DB) CountEvents(ctx context.Context, f hookd.EventFilter, max int) (int, error) {
	f.Cursor, f.Limit = "", max+1
	q, args, err := eventsQuery(f, true)
	if err != nil || q == "" {
		return 0, err
	}
	rctx, done, err := db.beginRead(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	var n int
	if err := db.pool.QueryRow(rctx, q, args...).Scan(&n); err != nil {
		return 0, readError("count events", err, rctx, ctx, db.readTimeout)
	}
	return n, nil
}

// eventsQuery is the query of Events, or with count the query of
// CountEvents (of at most f.Limit events); "" when f matches nothing
// stored.
func eventsQuery(f hookd.EventFilter, count bool) (string, params, error) {
	after, err := store.DecodeCursor(f.Cursor)
	if err != nil {
		return "", nil, err
	}
	switch f.Status {
	case "", hookd.EventSucceeded, hookd.EventPending, hookd.EventFailed:
	default:
		return "", nil, hookd.Errorf(hookd.EInvalid, "status: must be pending, succeeded or failed")
	}
	if !storable(f.Service) || !storable(f.IdempotencyKey) || !storable(after) {
		return "", nil, nil // matches nothing stored
	}
	var filters []string
	var args params
	if f.Service != "" {
		filters = append(filters, "e.service = "+args.add(f.Service))
	}
	if f.IdempotencyKey != "" {
		if f.Service == "" {
			// The unique (service, idempotency_key) finds a key once its
			// service is known: try each service there is.
			filters = append(filters, "e.service IN "+services)
		}
		filters = append(filters, "e.idempotency_key = "+args.add(f.IdempotencyKey))
	}
	from, to := store.IDRange(f.Since, f.Until)
	if !f.Since.IsZero() {
		filters = append(filters, "e.id >= "+args.add(from)+" AND e.received_at >= "+args.add(f.Since))
	}
	if !f.Until.IsZero() {
		filters = append(filters, "e.id < "+args.add(to)+" AND e.received_at < "+args.add(f.Until))
	}
	if after != "" {
		filters = append(filters, "e.id < "+args.add(after))
	}
	if count {
		// At most f.Limit of them, in no order: a count need not sort
		// what an index range gives, and for a status all services' are
		// one range. Pending adds the claimed outboxes.
		lim := args.add(f.Limit)
		part := func(conds ...string) string {
			q := "(SELECT count(*) FROM (SELECT 1 FROM hookd_event e"
			if conds = append(conds, filters...); len(conds) > 0 {
				q += " WHERE " + strings.Join(conds, " AND ")
			}
			return q + " LIMIT " + lim + ") c)"
		}
		switch {
		case f.Status == "":
			return "SELECT " + part(), args, nil
		case f.Status == hookd.EventSucceeded:
			return "SELECT " + part("e.status IS NULL AND e.pending_jobs IS NULL"), args, nil
		case f.IdempotencyKey != "":
			return "SELECT " + part("(CASE WHEN e.pending_jobs IS NOT NULL THEN 'pending' ELSE e.status END) = "+args.add(string(f.Status))), args, nil
		case f.Status == hookd.EventPending:
			return "SELECT " + part("e.status = 'pending'") + " + " +
				part("e.pending_jobs IS NOT NULL AND e.due_at > now() AND e.status IS NULL"), args, nil
		}
		return "SELECT " + part("e.status = "+args.add(string(f.Status))), args, nil
	}
	lim := args.add(store.Limit(f.Limit) + 1)
	// query selects the events that match conds and the filters, newest
	// first, at most a page.
	query := func(conds ...string) string {
		q := `SELECT e.id, e.service, e.idempotency_key, e.received_at, e.expires_at, e.status,
			e.pending_jobs IS NOT NULL AS outbox FROM hookd_event e`
		if conds = append(conds, filters...); len(conds) > 0 {
			q += " WHERE " + strings.Join(conds, " AND ")
		}
		return q + " ORDER BY e.id DESC LIMIT " + lim
	}
	var q string
	switch {
	case f.Status == "":
		q = query()
	case f.Status == hookd.EventSucceeded:
		q = query("e.status IS NULL AND e.pending_jobs IS NULL")
	case f.IdempotencyKey != "":
		q = query("(CASE WHEN e.pending_jobs IS NOT NULL THEN 'pending' ELSE e.status END) = " + args.add(string(f.Status)))
	default:
		// One range of hookd_event_status per service that has events
		// of this status (a loose scan of it), or the one asked for;
		// for pending, the claimed outboxes too: merged.
		status := args.add(string(f.Status))
		cte, parts := "", []string{"(" + query("e.status = "+status) + ")"}
		if f.Service == "" {
			cte = `WITH RECURSIVE s(service) AS (
				SELECT min(service) FROM hookd_event WHERE status = ` + status + `
				UNION ALL SELECT (SELECT min(service) FROM hookd_event WHERE status = ` + status + ` AND service > s.service)
				FROM s WHERE s.service IS NOT NULL) `
			parts[0] = "(SELECT l.* FROM s CROSS JOIN LATERAL (" + query("e.status = "+status, "e.service = s.service") +
				") l WHERE s.service IS NOT NULL)"
		}
		if f.Status == hookd.EventPending {
			parts = append(parts, "("+query("e.pending_jobs IS NOT NULL AND e.due_at > now() AND e.status IS NULL")+")")
		}
		q = cte + "SELECT * FROM (" + strings.Join(parts, " UNION ALL ") + ") u ORDER BY u.id DESC LIMIT " + lim
	}
	return q, args, nil
}

// Events lists events newest first. Each filter reads an index, in ID
// order: service (hookd_event_service_id), idempotency key (the unique
// (service, idempotency_key), for each service), received time (a range
// of IDs: see store.IDRange). A status of pending or failed reads
// hookd_event_status, which holds just those events by service: one range
// per service, merged; pending adds the events whose first attempts are
// in flight under a claim (hookd_event_due: as many as processes hold).
// Succeeded, nearly every event, walks the others newest first, skipping
// the few that are not.
func (db *DB) Events(ctx context.Context, f hookd.EventFilter) ([]*hookd.Event, string, error) {
	q, args, err := eventsQuery(f, false)
	if err != nil || q == "" {
		return nil, "", err
	}
	limit := store.Limit(f.Limit)
	rctx, done, err := db.beginRead(ctx)
	if err != nil {
		return nil, "", err
	}
	defer done()
	rows, err := db.pool.Query(rctx, q, args...)
	if err != nil {
		return nil, "", readError("events", err, rctx, ctx, db.readTimeout)
	}
	defer rows.Close()
	var events []*hookd.Event
	for rows.Next() {
		ev := &hookd.Event{}
		var status *string
		var outbox bool
		if err := rows.Scan(&ev.ID, &ev.Service, &ev.IdempotencyKey, &ev.ReceivedAt, &ev.ExpiresAt, &status, &outbox); err != nil {
			return nil, "", readError("events", err, rctx, ctx, db.readTimeout)
		}
		ev.ReceivedAt, ev.ExpiresAt = ev.ReceivedAt.UTC(), ev.ExpiresAt.UTC()
		ev.Status = store.ListedStatus(status, outbox)
		events = append(events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, "", readError("events", err, rctx, ctx, db.readTimeout)
	}
	events, next := store.EventPage(events, limit)
	return events, next, nil
}

// Jobs lists hookd's jobs newest first.
func (db *DB) Jobs(ctx context.Context, f hookd.JobFilter) ([]*hookd.Job, string, error) {
	after, err := store.DecodeJobCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	if !storable(f.Service) {
		return nil, "", nil // matches nothing stored
	}
	where := []string{"kind = " + jobKind}
	var args params
	if f.Service != "" {
		where = append(where, "args ->> 'service' = "+args.add(f.Service))
	}
	if f.State != "" {
		states, err := store.RiverStates(f.State)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "state = ANY("+args.add(states)+"::text[]::river_job_state[])")
	}
	if after > 0 {
		where = append(where, "id < "+args.add(after))
	}
	limit := store.Limit(f.Limit)
	jobs, _, err := db.jobs(ctx, "WHERE "+strings.Join(where, " AND ")+" ORDER BY id DESC LIMIT "+args.add(limit+1), args...)
	if err != nil {
		return nil, "", err
	}
	jobs, next := store.JobPage(jobs, limit)
	return jobs, next, nil
}

// storable reports whether s can be compared with PostgreSQL text: valid
// UTF-8 without NUL. No stored value matches any other string.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// unavailable is the error callers answer with 503.
func unavailable(err error) error {
	return &hookd.Error{Code: hookd.EUnavailable, Message: "database unavailable", Err: err}
}

// readError is store.ReadError, and wrap's unavailable when the database
// cannot be reached.
func readError(op string, err error, rctx, ctx context.Context, d time.Duration) error {
	if rctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		return store.ReadError(op, err, rctx, ctx, d)
	}
	return wrap(op, err)
}

// wrap adds context to err, and marks it unavailable when it means the
// database cannot be reached.
func wrap(op string, err error) error {
	if isUnavailable(err) {
		return unavailable(fmt.Errorf("%s: %w", op, err))
	}
	return fmt.Errorf("%s: %w", op, err)
}

// isUnavailable reports whether err means that the database cannot be
// reached or does not answer in time, rather than that it refused the
// statement. A cancelled context (the caller gave up) is not.
func isUnavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection_exception
			pe.Code == "53300", // too_many_connections
			pe.Code == "57P01", // admin_shutdown
			pe.Code == "57P02", // crash_shutdown
			pe.Code == "57P03": // cannot_connect_now
			return true
		}
		return false
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed)
}

// isRetryable reports whether err is a transaction's loss in a race that
// running it again settles: a deadlock or a serialization failure.
func isRetryable(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (pe.Code == "40P01" || pe.Code == "40001")
}
