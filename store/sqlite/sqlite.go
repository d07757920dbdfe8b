package sqlite

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/jobs"
	"github.com/hookd/hookd/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a hookd store in one SQLite file.
type DB struct {
	db   *sql.DB
	sync string // the synchronous pragma of every transaction but Settle's
	// read is a pool of read-only connections on the same file, for
	// every read that is not part of a write: in WAL mode they read
	// beside the one writer, so an admin or CLI read never holds the
	// connection that ingest, the dispatcher and the queue need.
	read        *sql.DB
	readTimeout time.Duration
	river       *river.Client[*sql.Tx] // insert-only: workers run elsewhere

	// The ingest path's statements, prepared once: parsing SQL costs more
	// than running it.
	mu            sync.Mutex
	inserts       map[int]*sql.Stmt // by row count
	existingEvent *sql.Stmt
	settleEvent   *sql.Stmt // prepared by the first Settle

	// checkpointer is a connection of its own, opened by the first Prune,
	// on which the pruner copies its deletes from the WAL into the file
	// beside the writer (see deleteEvents).
	checkpointDSN string
	checkpointMu  sync.Mutex
	checkpointer  *sql.DB
}

var _ hookd.Store = (*DB)(nil)

// Options tune how the file is opened.
type Options struct {
	// Synchronous is SQLite's synchronous pragma. Defaults to "FULL": a
	// committed event survives a power cut. "NORMAL" survives a crash of
	// hookd but may lose the last commits on power loss.
	Synchronous string
	// Logger receives River's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// ReadOnly opens an existing file for reading only: a missing file is
	// an error rather than created, and nothing can be written (Migrate
	// and every write fail).
	ReadOnly bool
	// ReadTimeout bounds each read (store.DefaultReadTimeout when zero):
	// one that runs longer is stopped with an error that says so.
	ReadTimeout time.Duration
}

// JournalSizeLimit is the size the write-ahead log is cut back to after
// it grew beyond it (SQLite's journal_size_limit).
const JournalSizeLimit = 16 << 20

// readConns is the size of the read pool: a few reads at once (admin
// API, CLI, workers reading their event); SQLite serves them in parallel.
const readConns = 4

// Open opens (creating if needed, unless opts.ReadOnly) the SQLite file at
// path. Call Migrate before first use.
func Open(path string, opts Options) (*DB, error) {
	sync := strings.ToUpper(cmp.Or(opts.Synchronous, "FULL"))
	if !slices.Contains([]string{"OFF", "NORMAL", "FULL", "EXTRA"}, sync) {
		return nil, fmt.Errorf("sqlite: synchronous must be OFF, NORMAL, FULL or EXTRA, not %q", opts.Synchronous)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	if opts.ReadOnly {
		// SQLite would create a missing file even with mode=ro.
		if _, err := os.Stat(filePath(path)); err != nil {
			return nil, openError(path, err, true)
		}
		q.Set("mode", "ro")
		q.Add("_pragma", "query_only(1)")
		if !exists(filePath(path)+"-wal") && !exists(filePath(path)+"-shm") {
			// No writer has it open, and the file holds every commit.
			// Reading it as it is creates no -wal and -shm files, which
			// would belong to this user (root, say) and lock a writer run
			// as another out. A writer starting meanwhile can make this
			// read fail, never the file.
			q.Set("immutable", "1")
		}
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+sync+")")
		q.Add("_pragma", "foreign_keys(ON)")
		// 64 MiB of page cache (the default is 2 MiB): the idempotency-key
		// index takes inserts at random places, and a miss is a read from
		// disk on the single writer's path.
		q.Add("_pragma", "cache_size(-65536)")
		// A statement journal past 64 KiB goes to a temporary file, opened,
		// written and closed per commit; in memory it is a copy per page.
		q.Add("_pragma", "temp_store(MEMORY)")
		// The WAL is reused from its start after each complete checkpoint,
		// so it stays at its largest size: a read held open for long (a
		// slow listing) can grow it far beyond the ~4 MiB of ordinary
		// load. After such a spike it is cut back to this at its next
		// reuse; at ordinary load it never reaches it, so this costs nothing.
		q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", JournalSizeLimit))
		q.Set("_txlock", "immediate") // writers queue on BEGIN, not fail at COMMIT
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One connection: see the package doc. Inside a transaction every
	// statement, River's included, must use that transaction.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, openError(path, err, opts.ReadOnly)
	}
	read := db
	if !opts.ReadOnly {
		// The writer's open made the file and set WAL mode, which is what
		// lets these read while it writes.
		r := url.Values{}
		r.Add("_pragma", "busy_timeout(5000)")
		r.Add("_pragma", "query_only(1)")
		r.Set("mode", "ro")
		if read, err = sql.Open("sqlite", "file:"+path+"?"+r.Encode()); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		read.SetMaxOpenConns(readConns)
		read.SetMaxIdleConns(readConns)
	}
	rc, err := river.NewClient(riversqlite.New(db), &river.Config{Logger: opts.Logger})
	if err != nil {
		db.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: river client: %w", err)
	}
	c := url.Values{}
	c.Add("_pragma", "busy_timeout(5000)")
	c.Add("_pragma", "synchronous("+sync+")")
	return &DB{db: db, sync: sync, read: read, readTimeout: opts.ReadTimeout, river: rc, inserts: map[int]*sql.Stmt{},
		checkpointDSN: "file:" + path + "?" + c.Encode()}, nil
}

// readContext bounds one read (see Options.ReadTimeout).
func (db *DB) readContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return store.ReadContext(ctx, db.readTimeout)
}

// SQL returns the underlying database, for River's workers.
func (db *DB) SQL() *sql.DB { return db.db }

// Close closes the database.
func (db *DB) Close() error {
	db.mu.Lock()
	for _, st := range db.inserts {
		st.Close()
	}
	db.mu.Unlock()
	if db.existingEvent != nil {
		db.existingEvent.Close()
	}
	if db.settleEvent != nil {
		db.settleEvent.Close()
	}
	if db.read != db.db {
		db.read.Close()
	}
	db.checkpointMu.Lock()
	if db.checkpointer != nil {
		db.checkpointer.Close()
	}
	db.checkpointMu.Unlock()
	return db.db.Close()
}

// Backlog counts the work waiting in one statement (one snapshot): the
// outbox through its partial index, the jobs through River's index on
// state.
func (db *DB) Backlog(ctx context.Context) (hookd.Backlog, error) {
	var b hookd.Backlog
	var outboxOldest sql.NullInt64
	var jobOldest sql.NullString
	err := db.db.QueryRowContext(ctx, `SELECT o.n, o.oldest, j.queued, j.retrying, j.oldest FROM
		(SELECT count(*) AS n, min(received_at) AS oldest FROM hookd_event WHERE pending_jobs IS NOT NULL) o,
		(SELECT count(*) FILTER (WHERE state = 'available' AND attempt = 0) AS queued,
			count(*) FILTER (WHERE state = 'retryable' OR attempt > 0) AS retrying,
			min(created_at) AS oldest
		FROM river_job WHERE state IN ('available', 'retryable') AND kind = 'hookd_action') j`,
	).Scan(&b.Outbox, &outboxOldest, &b.Queued, &b.Retrying, &jobOldest)
	if err != nil {
		return hookd.Backlog{}, fmt.Errorf("backlog: %w", err)
	}
	if outboxOldest.Valid {
		b.Oldest = time.UnixMicro(outboxOldest.Int64)
	}
	if jobOldest.Valid {
		// River writes SQLite times as UTC text with milliseconds.
		t, err := time.Parse("2006-01-02 15:04:05.999999999", jobOldest.String)
		if err != nil {
			return hookd.Backlog{}, fmt.Errorf("backlog: job created_at %q: %w", jobOldest.String, err)
		}
		if b.Oldest.IsZero() || t.Before(b.Oldest) {
			b.Oldest = t
		}
	}
	return b, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.db.PingContext(ctx); err != nil {
		return &hookd.Error{Code: hookd.EUnavailable, Message: "database unavailable", Err: err}
	}
	return nil
}

// Heartbeat commits a write to the heartbeat row.
func (db *DB) Heartbeat(ctx context.Context) error {
	_, err := db.db.ExecContext(ctx, `INSERT INTO hookd_heartbeat (id, at) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET at = excluded.at`, time.Now().UnixMicro())
	if err != nil {
		return &hookd.Error{Code: hookd.EUnavailable, Message: "the database cannot commit a write", Err: err}
	}
	return nil
}

// Migrate applies River's migrations, then hookd's, each at most once.
// Safe to run from several processes: SQLite serialises the writers.
func (db *DB) Migrate(ctx context.Context) error { return db.migrateTo(ctx, 0) }

// migrateTo is Migrate stopping after hookd's version upTo (0: the last),
// for tests of a later migration.
func (db *DB) migrateTo(ctx context.Context, upTo int) error {
	m, err := rivermigrate.New(riversqlite.New(db.db), nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	if err := migrate(ctx, db.db, upTo); err != nil {
		return err
	}
	// River's SQLite migrations may rebuild river_job by copy and rename,
	// which drops the indexes hookd keeps on it: make sure they are there.
	for _, index := range riverJobIndexes {
		if _, err := db.db.ExecContext(ctx, index); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return db.prepare(ctx)
}

// prepare prepares the ingest path's statements (the tables must exist).
func (db *DB) prepare(ctx context.Context) (err error) {
	if db.existingEvent != nil {
		return nil
	}
	if db.existingEvent, err = db.db.PrepareContext(ctx, existingEvent); err != nil {
		return fmt.Errorf("sqlite: prepare: %w", err)
	}
	return nil
}

// settleEvent ends a claim that still holds, records the first attempts
// that succeeded and the event's status after them.
const settleEvent = `UPDATE hookd_event SET pending_jobs = NULL, due_at = NULL, settled_jobs = coalesce(?, settled_jobs), status = ?
WHERE id = ? AND due_at = ? AND pending_jobs IS NOT NULL`

// riverJobIndexes are hookd's indexes on River's table: an event's jobs.
// (The events with failed or unfinished jobs, which migration 0007
// indexed, are found through their stored status since 0010.)
var riverJobIndexes = []string{
	`CREATE INDEX IF NOT EXISTS hookd_river_job_event_id ON river_job (json_extract(args, '$.event_id'))`,
}

// migrate applies hookd's migrations up to version upTo (0: all of them).
func migrate(ctx context.Context, db *sql.DB, upTo int) error {
	all, err := store.Migrations(migrations)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil) // immediate: one migrator at a time
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS hookd_migration (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range all {
		version, name := m.Version, m.Name
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM hookd_migration WHERE version = ?`, version).Scan(&n); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if n > 0 || upTo > 0 && version > upTo {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO hookd_migration (version, applied_at) VALUES (?, ?)`,
			version, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return tx.Commit()
}

// insertEvents stores new events, a batch in one statement (a statement
// costs far more than a row). A key already held is left alone: the
// statement needs no upsert, no RETURNING and no statement journal, and
// when it stored every row (the usual case) Accept needs nothing else.
const (
	insertEvents = `INSERT OR IGNORE INTO hookd_event
    (id, service, idempotency_key, payload_hash, body, header, received_at, expires_at, pending_jobs, due_at, status) VALUES `
	insertEventRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// maxInsertRows bounds one statement, and so the number of prepared
	// statements (one per row count).
	maxInsertRows = 64
)

// existingEvent finds the event that holds a key.
const existingEvent = `SELECT id, payload_hash, expires_at FROM hookd_event WHERE service = ? AND idempotency_key = ?`

// takeOver gives an expired key's row to a new event.
const takeOver = `UPDATE hookd_event SET
    id = ?, payload_hash = ?, body = ?, header = ?, received_at = ?, expires_at = ?, pending_jobs = ?, due_at = ?,
    status = ?, settled_jobs = NULL
WHERE service = ? AND idempotency_key = ? AND expires_at <= ?`

// insertStmt returns the prepared insert of n rows.
func (db *DB) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if st := db.inserts[n]; st != nil {
		return st, nil
	}
	q := insertEvents + insertEventRow + strings.Repeat(", "+insertEventRow, n-1)
	st, err := db.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	db.inserts[n] = st
	return st, nil
}

// Accept stores the submissions in one transaction, each event with its
// jobs in the outbox column, claimed or due (see hookd.Store.Accept).
func (db *DB) Accept(ctx context.Context, subs []hookd.Submission) ([]hookd.Result, error) {
	results := make([]hookd.Result, len(subs))
	if len(subs) == 0 {
		return results, nil
	}
	first, writes := store.FirstOfKey(subs) // writes: the first submission of each key
	// Prepare before the transaction: with one connection, the pool has
	// none to prepare on while a transaction holds it.
	stmts := map[int]*sql.Stmt{}
	for chunk := range slices.Chunk(writes, maxInsertRows) {
		st, err := db.insertStmt(ctx, len(chunk))
		if err != nil {
			return nil, err
		}
		stmts[len(chunk)] = st
	}
	if err := db.prepare(ctx); err != nil {
		return nil, err
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, unavailable(err)
	}
	defer tx.Rollback()

	var inserted int64
	for chunk := range slices.Chunk(writes, maxInsertRows) {
		args := make([]any, 0, 11*len(chunk))
		for _, i := range chunk {
			args = appendEventArgs(args, subs[i])
		}
		res, err := tx.StmtContext(ctx, stmts[len(chunk)]).ExecContext(ctx, args...)
		if err != nil {
			return nil, fmt.Errorf("accept: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("accept: %w", err)
		}
		inserted += n
	}

	held := map[int][]byte{} // first submissions whose key a live event holds: its payload hash
	for _, i := range writes {
		ev := subs[i].Event
		results[i] = hookd.Result{Outcome: hookd.Accepted, EventID: ev.ID}
		if inserted == int64(len(writes)) {
			continue
		}
		// Some key was held: find out which, and whether it has expired.
		var id string
		var hash []byte
		var expires int64
		err := tx.StmtContext(ctx, db.existingEvent).QueryRowContext(ctx, ev.Service, ev.IdempotencyKey).Scan(&id, &hash, &expires)
		if errors.Is(err, sql.ErrNoRows) { // ignored for another constraint, e.g. a reused event ID
			return nil, fmt.Errorf("accept: event %s was not stored and no event holds its key", ev.ID)
		}
		if err != nil {
			return nil, fmt.Errorf("accept: %w", err)
		}
		switch {
		case id == ev.ID: // inserted
		case expires <= ev.ReceivedAt.UnixMicro():
			if _, err := tx.ExecContext(ctx, takeOver, ev.ID, ev.PayloadHash, ev.Body, store.HeaderJSON(ev),
				ev.ReceivedAt.UnixMicro(), ev.ExpiresAt.UnixMicro(), nullable(store.EncodePending(subs[i].Jobs)), dueAt(subs[i]),
				store.AcceptedStatus(subs[i]), ev.Service, ev.IdempotencyKey, ev.ReceivedAt.UnixMicro()); err != nil {
				return nil, fmt.Errorf("accept: %w", err)
			}
		default:
			results[i], held[i] = hookd.Result{Outcome: hookd.Duplicate, EventID: id}, hash
			if !bytes.Equal(hash, ev.PayloadHash) {
				results[i].Outcome = hookd.Conflict
			}
		}
	}
	store.ResolveRepeats(subs, results, first, held)
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("accept: commit: %w", err)
	}
	return results, nil
}

// appendEventArgs appends sub's event, outbox and status as insertEvents'
// columns.
func appendEventArgs(args []any, sub hookd.Submission) []any {
	ev := sub.Event
	return append(args, ev.ID, ev.Service, ev.IdempotencyKey, ev.PayloadHash, ev.Body, store.HeaderJSON(ev),
		ev.ReceivedAt.UnixMicro(), ev.ExpiresAt.UnixMicro(), nullable(store.EncodePending(sub.Jobs)), dueAt(sub),
		store.AcceptedStatus(sub))
}

// dueAt is when sub's outbox is due for a dispatcher: the end of its
// claim, else at once; nil when it has no jobs.
func dueAt(sub hookd.Submission) any {
	switch {
	case len(sub.Jobs) == 0:
		return nil
	case !sub.ClaimedUntil.IsZero():
		return sub.ClaimedUntil.UnixMicro()
	}
	return sub.Event.ReceivedAt.UnixMicro()
}

// nullable stores an empty byte slice as NULL.
func nullable(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// Dispatch moves the jobs of up to limit events, oldest first, from the
// outbox into River's queue, in one transaction.
func (db *DB) Dispatch(ctx context.Context, limit int) (int, error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, unavailable(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, service, pending_jobs FROM hookd_event
		WHERE pending_jobs IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?`, time.Now().UnixMicro(), limit)
	if err != nil {
		return 0, fmt.Errorf("dispatch: %w", err)
	}
	var ids []any
	var params []river.InsertManyParams
	for rows.Next() {
		var id, service string
		var pending []byte
		if err := rows.Scan(&id, &service, &pending); err != nil {
			rows.Close()
			return 0, fmt.Errorf("dispatch: %w", err)
		}
		nj, err := store.DecodePending(id, service, pending)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("dispatch: %w", err)
		}
		ids, params = append(ids, id), jobs.InsertParams(params, nj)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("dispatch: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := db.river.InsertManyFastTx(ctx, tx, params); err != nil {
		return 0, fmt.Errorf("dispatch: enqueue: %w", err)
	}
	// Queued jobs keep their event pending: say so for an event whose
	// claim expired, which may have left its status NULL (AcceptedStatus).
	if _, err := tx.ExecContext(ctx, `UPDATE hookd_event SET pending_jobs = NULL, due_at = NULL, status = 'pending' WHERE id IN (?`+
		strings.Repeat(", ?", len(ids)-1)+`)`, ids...); err != nil {
		return 0, fmt.Errorf("dispatch: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("dispatch: commit: %w", err)
	}
	return len(ids), nil
}

// Settle records the first attempts made under claims, in one
// transaction: each claim that still holds empties its event's outbox, and
// its jobs are written into River's table as those attempts left them. The
// event's status is written in the same statement: computed from the
// attempts alone (all the event's jobs), except for a replayed event,
// whose earlier jobs are read first.
func (db *DB) Settle(ctx context.Context, settlements []hookd.Settlement) ([]hookd.Claim, error) {
	if len(settlements) == 0 {
		return nil, nil
	}
	// Prepare before the transaction: with one connection, the pool has
	// none to prepare on while a transaction holds it.
	db.mu.Lock()
	if db.settleEvent == nil {
		st, err := db.db.PrepareContext(ctx, settleEvent)
		if err != nil {
			db.mu.Unlock()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
		db.settleEvent = st
	}
	db.mu.Unlock()
	// A settlement need not survive a power cut: lost, it leaves the claim
	// in place, and the work is done again after it expires.
	conn, release, err := db.withoutFsync(ctx)
	if err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	defer release()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, unavailable(err)
	}
	defer tx.Rollback()
	var settled []hookd.Claim
	var rows []*riverdriver.JobInsertFullParams
	var queuedAttempts []hookd.Attempt
	update := tx.StmtContext(ctx, db.settleEvent)
	for _, st := range settlements {
		settledJobs, queued := store.SplitSettlement(st)
		status := store.SettledStatus(st)
		if st.Replayed {
			if status, err = replayedStatus(ctx, tx, st); err != nil {
				return nil, fmt.Errorf("settle: %w", err)
			}
		}
		res, err := update.ExecContext(ctx, nullable(settledJobs), store.StatusColumn(status), st.Claim.EventID, st.Claim.Until.UnixMicro())
		if err != nil {
			return nil, fmt.Errorf("settle: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // the claim expired and another dispatcher took the work
		}
		settled = append(settled, st.Claim)
		for _, a := range queued {
			rows = append(rows, jobs.FullInsertParams(a))
		}
		queuedAttempts = append(queuedAttempts, queued...)
	}
	if len(rows) > 0 {
		exec := riversqlite.New(db.db).UnwrapExecutor(tx)
		inserted, err := exec.JobInsertFullMany(ctx, &riverdriver.JobInsertFullManyParams{Jobs: rows})
		if err != nil {
			return nil, fmt.Errorf("settle: enqueue: %w", err)
		}
		ids, args := make([]int64, len(inserted)), make([][]byte, len(inserted))
		for i, j := range inserted {
			ids[i], args[i] = j.ID, j.EncodedArgs
		}
		if err := insertAttempts(ctx, tx, store.NewAttemptRows(queuedAttempts, ids, args)); err != nil {
			return nil, fmt.Errorf("settle: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("settle: commit: %w", err)
	}
	return settled, nil
}

// replayedStatus is the status of a replayed event once st is settled:
// its earlier jobs (queued, and settled in its row), then st's attempts.
// The transaction holds the write lock, so they cannot change meanwhile.
func replayedStatus(ctx context.Context, tx *sql.Tx, st hookd.Settlement) (hookd.EventStatus, error) {
	id := st.Claim.EventID
	var settled []byte
	if err := tx.QueryRowContext(ctx, `SELECT settled_jobs FROM hookd_event WHERE id = ?`, id).Scan(&settled); err != nil {
		return "", err // a claimed event is there: no ErrNoRows to allow for
	}
	queued, _, err := queryJobs(ctx, tx, eventJobs, id)
	if err != nil {
		return "", err
	}
	return store.AfterAttempts(id, queued, settled, st.Attempts)
}

// withoutFsync returns the writer's connection set to commit without an
// fsync of its own (synchronous=NORMAL), for writes that need not survive
// a power cut: the next ingest commit's fsync makes them durable with the
// rest of the WAL. The pragma is the connection's: it is held until
// release sets it back.
func (db *DB) withoutFsync(ctx context.Context) (conn *sql.Conn, release func(), err error) {
	conn, err = db.db.Conn(ctx)
	if err != nil {
		return nil, nil, unavailable(err)
	}
	if db.sync != "FULL" && db.sync != "EXTRA" {
		return conn, func() { conn.Close() }, nil
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = "+db.sync); err != nil {
			// Never hand on a connection that would commit ingest
			// without its fsync.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}

// insertAttempt writes one row of hookd_attempt.
const insertAttempt = `INSERT INTO hookd_attempt
	(event_id, action, job_id, number, started_at, duration_us, outcome, code, reply, error)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertAttempts writes records into hookd_attempt, a row at a time: they
// are the failures of a settlement, few beside its successes, and a
// statement costs microseconds in process.
func insertAttempts(ctx context.Context, tx *sql.Tx, records []store.AttemptInsert) error {
	for _, r := range records {
		if _, err := tx.ExecContext(ctx, insertAttempt, r.EventID, r.Action, r.JobID, r.Number, r.StartedAt.UnixMicro(),
			r.Duration.Microseconds(), string(r.Outcome), r.Code, r.Reply, r.Error); err != nil {
			return fmt.Errorf("record attempts: %w", err)
		}
	}
	return nil
}

// RecordAttempt records an attempt of a queued job, in a transaction of
// its own on the writer's connection, like River's own writes. It commits
// without an fsync (withoutFsync): lost to a power cut, the attempt shows
// as River recorded it (see store.SetJobs).
func (db *DB) RecordAttempt(ctx context.Context, args hookd.JobArgs, jobID int64, r hookd.AttemptRecord) error {
	conn, release, err := db.withoutFsync(ctx)
	if err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	defer release()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	if err := insertAttempts(ctx, tx, []store.AttemptInsert{store.NewAttemptInsert(args, jobID, r)}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record attempt: commit: %w", err)
	}
	return nil
}

// ClaimDue claims the events whose outbox is due, oldest due first.
func (db *DB) ClaimDue(ctx context.Context, limit int, until time.Time) ([]hookd.Submission, error) {
	rows, err := db.db.QueryContext(ctx, `UPDATE hookd_event SET due_at = ?
		WHERE id IN (SELECT id FROM hookd_event WHERE pending_jobs IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?)
		RETURNING id, service, idempotency_key, payload_hash, body, header, received_at, expires_at, pending_jobs,
			EXISTS (SELECT 1 FROM river_job WHERE json_extract(args, '$.event_id') = +hookd_event.id)`,
		until.UnixMicro(), time.Now().UnixMicro(), limit)
	if err != nil {
		return nil, unavailable(fmt.Errorf("claim due: %w", err))
	}
	defer rows.Close()
	var subs []hookd.Submission
	for rows.Next() {
		ev := &hookd.Event{}
		var header, pending []byte
		var received, expires int64
		var replayed bool
		if err := rows.Scan(&ev.ID, &ev.Service, &ev.IdempotencyKey, &ev.PayloadHash, &ev.Body, &header,
			&received, &expires, &pending, &replayed); err != nil {
			return nil, fmt.Errorf("claim due: %w", err)
		}
		ev.Header = store.DecodeHeader(header)
		ev.ReceivedAt, ev.ExpiresAt = time.UnixMicro(received).UTC(), time.UnixMicro(expires).UTC()
		jobs, err := store.DecodePending(ev.ID, ev.Service, pending)
		if err != nil {
			return nil, fmt.Errorf("claim due: %w", err)
		}
		subs = append(subs, hookd.Submission{Event: ev, Jobs: jobs, ClaimedUntil: until, Replayed: replayed})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim due: %w", err)
	}
	return subs, nil
}

// RenewClaims extends the claims that still hold.
func (db *DB) RenewClaims(ctx context.Context, claims []hookd.Claim, until time.Time) ([]hookd.Claim, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, unavailable(err)
	}
	defer tx.Rollback()
	// Given up (until in the past), an outbox no longer shows in listings
	// through its claim: its status says pending.
	set := `due_at = ?`
	if !until.After(time.Now()) {
		set += `, status = 'pending'`
	}
	var renewed []hookd.Claim
	for _, c := range claims {
		res, err := tx.ExecContext(ctx, `UPDATE hookd_event SET `+set+`
			WHERE id = ? AND due_at = ? AND pending_jobs IS NOT NULL`, until.UnixMicro(), c.EventID, c.Until.UnixMicro())
		if err != nil {
			return nil, fmt.Errorf("renew claims: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			renewed = append(renewed, hookd.Claim{EventID: c.EventID, Until: until})
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("renew claims: commit: %w", err)
	}
	return renewed, nil
}

// Reclaim takes back at once what a process that is gone held in this
// file: claimed outboxes become due, and River's jobs left running are
// made available again (or discarded when that was their last attempt),
// as River's rescuer would do after workers.rescue_after. Call it at
// start, before any worker of this process runs: the file is one
// machine's, so nothing else is working on it.
func (db *DB) Reclaim(ctx context.Context) (claims, running int, err error) {
	if claims, err = db.ReleaseClaims(ctx); err != nil {
		return 0, 0, err
	}
	exec := riversqlite.New(db.db).GetExecutor()
	now := time.Now().UTC()
	for {
		stuck, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{Max: 1000, StuckHorizon: now.Add(time.Second)})
		if err != nil {
			return claims, running, fmt.Errorf("reclaim: %w", err)
		}
		if len(stuck) == 0 {
			return claims, running, nil
		}
		p := &riverdriver.JobRescueManyParams{StuckHorizon: now.Add(time.Second)}
		for _, j := range stuck {
			e, _ := json.Marshal(rivertype.AttemptError{At: now, Attempt: j.Attempt, Error: "hookd restarted while this attempt ran"})
			state, finalized := rivertype.JobStateAvailable, (*time.Time)(nil)
			if j.Attempt >= j.MaxAttempts {
				state, finalized = rivertype.JobStateDiscarded, &now
			}
			p.ID, p.Error = append(p.ID, j.ID), append(p.Error, e)
			p.FinalizedAt, p.ScheduledAt, p.State = append(p.FinalizedAt, finalized), append(p.ScheduledAt, now), append(p.State, string(state))
		}
		if _, err := exec.JobRescueMany(ctx, p); err != nil {
			return claims, running, fmt.Errorf("reclaim: %w", err)
		}
		running += len(stuck)
	}
}

// ReleaseClaims makes every claimed outbox entry due now.
func (db *DB) ReleaseClaims(ctx context.Context) (int, error) {
	now := time.Now().UnixMicro()
	res, err := db.db.ExecContext(ctx, `UPDATE hookd_event SET due_at = ?, status = 'pending'
		WHERE pending_jobs IS NOT NULL AND due_at > ?`, now, now) // no longer claimed: see RenewClaims
	if err != nil {
		return 0, fmt.Errorf("release claims: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func unavailable(err error) error {
	return &hookd.Error{Code: hookd.EUnavailable, Message: "database unavailable", Err: err}
}

// Replay puts jobs into the outbox of event id if it has no work
// outstanding.
func (db *DB) Replay(ctx context.Context, id string, jobs []hookd.NewJob) error {
	actions := make([]any, len(jobs))
	for i, j := range jobs {
		actions[i] = j.Args.ActionIndex
	}
	args := append([]any{nullable(store.EncodePending(jobs)), time.Now().UnixMicro(), id}, actions...)
	res, err := db.db.ExecContext(ctx, `UPDATE hookd_event SET pending_jobs = ?, due_at = ?, status = 'pending'
		WHERE id = ? AND pending_jobs IS NULL AND NOT EXISTS (
			SELECT 1 FROM river_job WHERE json_extract(args, '$.event_id') = +hookd_event.id -- +: takes e.id's text affinity off, which would keep SQLite from hookd_river_job_event_id
			AND json_extract(args, '$.action') IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(jobs)), ", ")+`)
			AND state NOT IN ('completed', 'discarded', 'cancelled'))`, args...)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := db.EventWithoutJobs(ctx, id); err != nil { // one query: whether it exists
		return err // not found, or the database failed
	}
	return hookd.Errorf(hookd.EConflict, "event %s has work outstanding for these actions; replay it once their jobs have finished", id)
}

// RetryNow makes jobs waiting to retry available at once (River's
// JobRetry, which leaves a running job alone). Their events are pending:
// the status says so in the same transaction, should a job have finished
// since the caller saw it waiting (JobRetry runs a finished job again).
func (db *DB) RetryNow(ctx context.Context, jobIDs []int64) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	for _, id := range jobIDs {
		job, err := db.river.JobRetryTx(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("retry now: %w", err)
		}
		var args hookd.JobArgs
		_ = json.Unmarshal(job.EncodedArgs, &args) // written by hookd; no event on damage
		if _, err := tx.ExecContext(ctx, `UPDATE hookd_event SET status = 'pending' WHERE id = ? AND status IS NOT 'pending'`,
			args.EventID); err != nil {
			return fmt.Errorf("retry now: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("retry now: commit: %w", err)
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
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	if _, err := writeStatus(ctx, tx, job.Args.EventID, job.ID, state); err != nil {
		return fmt.Errorf("finish attempt: %w", err)
	}
	if state == hookd.JobSucceeded {
		if _, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx, job); err != nil {
			return fmt.Errorf("finish attempt: complete job %d: %w", job.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish attempt: commit: %w", err)
	}
	return nil
}

// writeStatus writes the status of event id once its queued job jobID is
// in state (jobID 0: its jobs as they stand), and reports whether that
// changed it. A job waiting to retry keeps its event pending, whatever the
// others: nothing to read. The transaction holds the write lock, so the
// jobs read are the latest.
func writeStatus(ctx context.Context, tx *sql.Tx, id string, jobID int64, state hookd.JobState) (bool, error) {
	status := hookd.EventPending
	if jobID == 0 || state != hookd.JobRetrying {
		var pending, settled []byte
		err := tx.QueryRowContext(ctx, `SELECT pending_jobs, settled_jobs FROM hookd_event WHERE id = ?`, id).Scan(&pending, &settled)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil // pruned meanwhile: no status to keep
		} else if err != nil {
			return false, err
		}
		queued, _, err := queryJobs(ctx, tx, eventJobs, id)
		if err != nil {
			return false, err
		}
		if status, err = store.AfterOutcome(id, queued, pending, settled, jobID, state); err != nil {
			return false, err
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE hookd_event SET status = ? WHERE id = ? AND status IS NOT ?`,
		store.StatusColumn(status), id, store.StatusColumn(status))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RefreshStatus writes again the stored status of the events whose queued
// jobs finished at or after since and whose stored status their jobs may
// contradict (one of them succeeded while the event is not succeeded, or
// failed while it is not failed), and returns how many it changed. hookd
// writes the status with each change it makes; this catches the changes
// made without it: River's rescuer discarding a job whose process died
// during its last attempt, River's UI. River's index on (state,
// finalized_at) finds those jobs (+: not River's index on kind, which
// holds them all).
func (db *DB) RefreshStatus(ctx context.Context, since time.Time) (int, error) {
	rctx, cancel := db.readContext(ctx)
	defer cancel()
	rows, err := db.read.QueryContext(rctx, `SELECT DISTINCT e.id FROM river_job j
		JOIN hookd_event e ON e.id = json_extract(j.args, '$.event_id')
		WHERE j.state IN ('completed', 'discarded', 'cancelled') AND j.finalized_at >= ? AND +j.kind = 'hookd_action'
		AND (j.state = 'completed' AND e.status IS NOT NULL OR j.state <> 'completed' AND e.status IS NOT 'failed')`,
		// River's format for times (riversqlite): compared as text.
		since.UTC().Format("2006-01-02 15:04:05.000"))
	if err != nil {
		return 0, store.ReadError("refresh status", err, rctx, ctx, db.readTimeout)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, store.ReadError("refresh status", err, rctx, ctx, db.readTimeout)
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return 0, store.ReadError("refresh status", err, rctx, ctx, db.readTimeout)
	}
	changed := 0
	for _, id := range ids { // a transaction each: the writer is ingest's too
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
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, unavailable(err)
	}
	defer tx.Rollback()
	changed, err := writeStatus(ctx, tx, id, 0, "")
	if err != nil {
		return 0, fmt.Errorf("refresh status: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("refresh status: commit: %w", err)
	}
	if changed {
		return 1, nil
	}
	return 0, nil
}

// Prune deletes a batch of events past their retention, with their jobs
// and attempts.
// It finds them on a read connection, walking the index on (service, id)
// of each service from the cursor (store.PruneCandidates), so that the
// writer is held only to check them again and delete them by ID: a few
// milliseconds for a batch of a hundred (jobs.DefaultPruneBatch).
func (db *DB) Prune(ctx context.Context, r hookd.PruneRequest) (hookd.PruneResult, error) {
	rctx, cancel := db.readContext(ctx)
	defer cancel()
	names, err := db.serviceNames(rctx)
	if err != nil {
		return hookd.PruneResult{}, store.ReadError("prune", err, rctx, ctx, db.readTimeout)
	}
	ids, next, done, err := store.PruneCandidates(rctx, r, names, db.pruneScan)
	if err != nil {
		return hookd.PruneResult{}, store.ReadError("prune", err, rctx, ctx, db.readTimeout)
	}
	res := hookd.PruneResult{Next: next, Done: done}
	if len(ids) == 0 {
		return res, nil
	}
	res.Deleted, res.Held, err = db.deleteEvents(ctx, r.Retention, ids)
	return res, err
}

// pruneScan is store.PruneScan on the read pool.
func (db *DB) pruneScan(ctx context.Context, service, after, before string, cutoff, now time.Time, n int) ([]store.PruneRow, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT e.id,
		CASE WHEN e.received_at < ? AND e.expires_at < ? AND e.pending_jobs IS NULL THEN coalesce(e.status, 'succeeded') ELSE '' END
		FROM hookd_event e WHERE e.service = ? AND e.id > ? AND e.id < ? ORDER BY e.id LIMIT ?`,
		cutoff.UnixMicro(), now.UnixMicro(), service, after, before, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.PruneRow
	for rows.Next() {
		var row store.PruneRow
		if err := rows.Scan(&row.ID, &row.Status); err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// serviceNames lists the services that have events, in name order.
func (db *DB) serviceNames(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT service FROM `+services+` ORDER BY service`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// deleteEvents deletes, with their jobs, those of ids that their service's
// retention still lets go: found on a read connection, an event may have
// been replayed since. It returns how many it deleted and how long it held
// the writer.
//
// Deletes touch pages all over the file (the key index is in key order,
// not time order): a batch of a hundred writes up to a page per event to
// the WAL, and the commit that takes the WAL past 1,000 pages would copy
// them all into the file, fsync included, while holding the writer. So
// this transaction commits without that automatic checkpoint, and the
// pruner's own connection checkpoints right after, beside the writer
// (PASSIVE: it waits for no reader or writer, and an automatic checkpoint
// of ingest's meanwhile finds it busy and leaves the work to it).
func (db *DB) deleteEvents(ctx context.Context, retention map[string]hookd.Retention, ids []string) (n int, held time.Duration, err error) {
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return 0, 0, unavailable(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		return 0, 0, fmt.Errorf("prune: %w", err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", autocheckpoint)); err != nil {
			// Never hand on a connection that would let the WAL grow.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if n, held, err = db.deleteTx(ctx, conn, retention, ids); err != nil || n == 0 {
		return n, held, err
	}
	if err := db.checkpoint(ctx); err != nil {
		return n, held, fmt.Errorf("prune: checkpoint: %w", err)
	}
	return n, held, nil
}

// autocheckpoint is SQLite's wal_autocheckpoint, which the writer keeps:
// a checkpoint by the commit that takes the WAL past 1,000 pages.
const autocheckpoint = 1000

// deleteTx is deleteEvents' transaction, on conn.
func (db *DB) deleteTx(ctx context.Context, conn *sql.Conn, retention map[string]hookd.Retention, ids []string) (int, time.Duration, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, unavailable(err)
	}
	defer tx.Rollback()
	start := time.Now()
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	in := "(?" + strings.Repeat(", ?", len(ids)-1) + ")"
	rows, err := tx.QueryContext(ctx, `SELECT e.id, e.service, coalesce(e.status, 'succeeded') FROM hookd_event e
		WHERE e.id IN `+in+` AND e.pending_jobs IS NULL`, args...)
	if err != nil {
		return 0, 0, fmt.Errorf("prune: %w", err)
	}
	var del []any
	for rows.Next() {
		var id, service string
		var status hookd.EventStatus
		if err := rows.Scan(&id, &service, &status); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("prune: %w", err)
		}
		if retention[service].Prunable(status) {
			del = append(del, id)
		}
	}
	if err := rows.Close(); err != nil {
		return 0, 0, fmt.Errorf("prune: %w", err)
	}
	if len(del) == 0 {
		return 0, time.Since(start), nil
	}
	in = "(?" + strings.Repeat(", ?", len(del)-1) + ")"
	if _, err := tx.ExecContext(ctx, `DELETE FROM river_job WHERE json_extract(args, '$.event_id') IN `+in, del...); err != nil {
		return 0, 0, fmt.Errorf("prune: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM hookd_attempt WHERE event_id IN `+in, del...); err != nil {
		return 0, 0, fmt.Errorf("prune: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM hookd_event WHERE id IN `+in, del...); err != nil {
		return 0, 0, fmt.Errorf("prune: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("prune: commit: %w", err)
	}
	return len(del), time.Since(start), nil
}

// checkpoint copies what it can of the WAL into the file, on the
// checkpointer's connection (opened on first use).
func (db *DB) checkpoint(ctx context.Context) error {
	db.checkpointMu.Lock()
	defer db.checkpointMu.Unlock()
	if db.checkpointer == nil {
		c, err := sql.Open("sqlite", db.checkpointDSN)
		if err != nil {
			return err
		}
		c.SetMaxOpenConns(1)
		db.checkpointer = c
	}
	_, err := db.checkpointer.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	return err
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

// attempts reads the rows of hookd_attempt of event id, in the order they
// were written.
func (db *DB) attempts(ctx context.Context, id string) ([]store.AttemptRow, error) {
	rctx, cancel := db.readContext(ctx)
	defer cancel()
	rows, err := db.read.QueryContext(rctx, `SELECT job_id, number, started_at, duration_us, outcome, code, reply, error
		FROM hookd_attempt WHERE event_id = ? ORDER BY rowid`, id)
	if err != nil {
		return nil, store.ReadError("attempts", err, rctx, ctx, db.readTimeout)
	}
	defer rows.Close()
	var out []store.AttemptRow
	for rows.Next() {
		var a store.AttemptRow
		var started, duration int64
		if err := rows.Scan(&a.JobID, &a.Number, &started, &duration, &a.Outcome, &a.Code, &a.Reply, &a.Error); err != nil {
			return nil, store.ReadError("attempts", err, rctx, ctx, db.readTimeout)
		}
		a.StartedAt, a.Duration = time.UnixMicro(started).UTC(), time.Duration(duration)*time.Microsecond
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, store.ReadError("attempts", err, rctx, ctx, db.readTimeout)
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
	ev = &hookd.Event{}
	var header []byte
	var received, expires int64
	rctx, cancel := db.readContext(ctx)
	defer cancel()
	err = db.read.QueryRowContext(rctx, `SELECT id, service, idempotency_key, payload_hash, body, header, received_at, expires_at,
		pending_jobs, settled_jobs FROM hookd_event WHERE id = ?`, id).Scan(&ev.ID, &ev.Service, &ev.IdempotencyKey, &ev.PayloadHash,
		&ev.Body, &header, &received, &expires, &pending, &settled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil, hookd.Errorf(hookd.ENotFound, "no event %q", id)
	} else if err != nil {
		return nil, nil, nil, store.ReadError("event", err, rctx, ctx, db.readTimeout)
	}
	ev.Header = store.DecodeHeader(header)
	ev.ReceivedAt, ev.ExpiresAt = time.UnixMicro(received).UTC(), time.UnixMicro(expires).UTC()
	return ev, pending, settled, nil
}

const jobColumns = `SELECT id, json_extract(args, '$.event_id'), json_extract(args, '$.service'),
	json_extract(args, '$.type'), json_extract(args, '$.action'), state, attempt, max_attempts, json(coalesce(errors, '[]'))
	FROM river_job `

// eventJobs selects the queued jobs of one event, in the order they were
// queued.
const eventJobs = `WHERE json_extract(args, '$.event_id') = ? ORDER BY id`

// jobs reads River's jobs, and their errors columns.
func (db *DB) jobs(ctx context.Context, where string, args ...any) ([]*hookd.Job, [][]byte, error) {
	rctx, cancel := db.readContext(ctx)
	defer cancel()
	jobs, errs, err := queryJobs(rctx, db.read, where, args...)
	if err != nil {
		return nil, nil, store.ReadError("jobs", err, rctx, ctx, db.readTimeout)
	}
	return jobs, errs, nil
}

// querier is a database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryJobs reads the jobs where selects, through q.
func queryJobs(ctx context.Context, q querier, where string, args ...any) ([]*hookd.Job, [][]byte, error) {
	rows, err := q.QueryContext(ctx, jobColumns+where, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var jobs []*hookd.Job
	var allErrs [][]byte
	for rows.Next() {
		j := &hookd.Job{}
		var state string
		var errs []byte
		if err := rows.Scan(&j.ID, &j.EventID, &j.Service, &j.Action, &j.ActionIndex, &state, &j.Attempts,
			&j.MaxAttempts, &errs); err != nil {
			return nil, nil, err
		}
		j.State = store.JobState(state, j.Attempts)
		j.LastError = store.LastError(errs)
		jobs, allErrs = append(jobs, j), append(allErrs, errs)
	}
	return jobs, allErrs, rows.Err()
}

// services lists the services that have events, one index look-up each
// (a loose index scan): they are few, the events many.
const services = `(WITH RECURSIVE s(service) AS (
	SELECT min(service) FROM hookd_event
	UNION ALL SELECT (SELECT min(service) FROM hookd_event WHERE service > s.service) FROM s WHERE s.service IS NOT NULL)
	SELECT service FROM s WHERE service IS NOT NULL)`

// servicesWithStatus lists the services that have events of a status
// (pending or failed), a loose scan of hookd_event_status.
const servicesWithStatus = `WITH RECURSIVE s(service) AS (
	SELECT min(service) FROM hookd_event INDEXED BY hookd_event_status WHERE status = ?1
	UNION ALL SELECT (SELECT min(service) FROM hookd_event INDEXED BY hookd_event_status WHERE status = ?1 AND service > s.service)
	FROM s WHERE s.service IS NOT NULL)
	SELECT service FROM s WHERE service IS NOT NULL`

// servicesPerQuery bounds the services one listing query merges (SQLite
// allows 500 terms in a compound SELECT).
const servicesPerQuery = 100

// Events lists events newest first. Each filter reads an index, in ID
// order: service (hookd_event_service_id), idempotency key (the unique
// (service, idempotency_key), for each service), received time (a range of
// IDs: see store.IDRange). A status of pending or failed reads
// hookd_event_status, which holds just those events by service: one range
// per service, merged; pending adds the events whose first attempts are
// in flight under a claim (hookd_event_due: as many as processes hold).
// Succeeded, nearly every event, walks the others newest first, skipping
// the few that are not.
func (db *DB) Events(ctx context.Context, f hookd.EventFilter) ([]*hookd.Event, string, error) {
	if _, _, err := eventsQuery(f, scanAll, time.Time{}); err != nil {
		return nil, "", err // a bad cursor or status, before any read
	}
	limit := store.Limit(f.Limit)
	rctx, cancel := db.readContext(ctx)
	defer cancel()
	if !byStatusIndex(f) {
		q, args, _ := eventsQuery(f, scanAll, time.Time{})
		events, err := db.queryEvents(rctx, ctx, q, args)
		if err != nil {
			return nil, "", err
		}
		events, next := store.EventPage(events, limit)
		return events, next, nil
	}
	// One range of the index per service that has events of this status
	// (or the one asked for), each newest first and at most a page, and
	// for pending the claimed outboxes: merged, the newest page of all.
	svcs := []string{f.Service}
	if f.Service == "" {
		var err error
		if svcs, err = db.servicesWith(rctx, ctx, f.Status); err != nil {
			return nil, "", err
		}
	}
	var events []*hookd.Event
	if f.Status == hookd.EventPending {
		q, args, _ := eventsQuery(f, scanClaims, time.Now())
		found, err := db.queryEvents(rctx, ctx, q, args)
		if err != nil {
			return nil, "", err
		}
		events = append(events, found...)
	}
	for chunk := range slices.Chunk(svcs, servicesPerQuery) {
		var qs []string
		var args []any
		for _, svc := range chunk {
			f.Service = svc
			q, a, _ := eventsQuery(f, scanStatus, time.Time{})
			qs, args = append(qs, "SELECT * FROM ("+q+")"), append(args, a...)
		}
		found, err := db.queryEvents(rctx, ctx, strings.Join(qs, " UNION ALL "), args)
		if err != nil {
			return nil, "", err
		}
		events = append(events, found...)
	}
	slices.SortFunc(events, func(a, b *hookd.Event) int { return strings.Compare(b.ID, a.ID) })
	events, next := store.EventPage(events[:min(len(events), limit+1)], limit)
	return events, next, nil
}

// byStatusIndex reports whether f's listing reads hookd_event_status: a
// status it holds, and no idempotency key (whose index finds at most one
// event per service).
func byStatusIndex(f hookd.EventFilter) bool {
	return (f.Status == hookd.EventPending || f.Status == hookd.EventFailed) && f.IdempotencyKey == ""
}

// servicesWith returns the services that have events of status.
func (db *DB) servicesWith(rctx, ctx context.Context, status hookd.EventStatus) ([]string, error) {
	rows, err := db.read.QueryContext(rctx, servicesWithStatus, string(status))
	if err != nil {
		return nil, store.ReadError("events", err, rctx, ctx, db.readTimeout)
	}
	defer rows.Close()
	var svcs []string
	for rows.Next() {
		var svc string
		if err := rows.Scan(&svc); err != nil {
			return nil, store.ReadError("events", err, rctx, ctx, db.readTimeout)
		}
		svcs = append(svcs, svc)
	}
	if err := rows.Err(); err != nil {
		return nil, store.ReadError("events", err, rctx, ctx, db.readTimeout)
	}
	return svcs, nil
}

// queryEvents runs events queries (see eventsQuery) within rctx, the
// read's bound on the caller's ctx.
func (db *DB) queryEvents(rctx, ctx context.Context, q string, args []any) ([]*hookd.Event, error) {
	rows, err := db.read.QueryContext(rctx, q, args...)
	if err != nil {
		return nil, store.ReadError("events", err, rctx, ctx, db.readTimeout)
	}
	defer rows.Close()
	var events []*hookd.Event
	for rows.Next() {
		ev := &hookd.Event{}
		var received, expires int64
		var status *string
		var outbox bool
		if err := rows.Scan(&ev.ID, &ev.Service, &ev.IdempotencyKey, &received, &expires, &status, &outbox); err != nil {
			return nil, store.ReadError("events", err, rctx, ctx, db.readTimeout)
		}
		ev.ReceivedAt, ev.ExpiresAt = time.UnixMicro(received).UTC(), time.UnixMicro(expires).UTC()
		ev.Status = store.ListedStatus(status, outbox)
		events = append(events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, store.ReadError("events", err, rctx, ctx, db.readTimeout)
	}
	return events, nil
}

// How an events query finds its rows.
const (
	scanAll    = iota // by ID, service or key, checking the status per row
	scanStatus        // f.Service's range of hookd_event_status
	scanClaims        // the claimed outboxes whose status column is NULL
)

// eventsQuery is a query of Events with its arguments, reading as scan
// says; scanClaims takes the claims that hold at now.
func eventsQuery(f hookd.EventFilter, scan int, now time.Time) (string, []any, error) {
	from, args, err := eventsFrom(f, scan, now)
	if err != nil {
		return "", nil, err
	}
	q := `SELECT e.id, e.service, e.idempotency_key, e.received_at, e.expires_at, e.status, e.pending_jobs IS NOT NULL` + from
	return q + " ORDER BY e.id DESC LIMIT ?", append(args, store.Limit(f.Limit)+1), nil
}

// eventsFrom is the FROM and WHERE clauses of eventsQuery, with their
// arguments.
func eventsFrom(f hookd.EventFilter, scan int, now time.Time) (string, []any, error) {
	after, err := store.DecodeCursor(f.Cursor)
	if err != nil {
		return "", nil, err
	}
	var where []string
	var args []any
	add := func(cond string, arg ...any) { where = append(where, cond); args = append(args, arg...) }
	table := "hookd_event e"
	switch f.Status {
	case "", hookd.EventSucceeded, hookd.EventPending, hookd.EventFailed:
	default:
		return "", nil, hookd.Errorf(hookd.EInvalid, "status: must be pending, succeeded or failed")
	}
	switch {
	case scan == scanStatus:
		// Without statistics SQLite may prefer the (service, id) index,
		// and read every event of the service.
		table += " INDEXED BY hookd_event_status"
		add("e.status = ?", string(f.Status))
	case scan == scanClaims:
		table += " INDEXED BY hookd_event_due"
		add("e.pending_jobs IS NOT NULL AND e.due_at > ? AND e.status IS NULL", now.UnixMicro())
	case f.Status == hookd.EventSucceeded:
		add("e.status IS NULL AND e.pending_jobs IS NULL")
	case f.Status != "":
		// A key is one event per service: + keeps SQLite from walking
		// a service's events of this status for it.
		add("(CASE WHEN e.pending_jobs IS NOT NULL THEN 'pending' ELSE +e.status END) = ?", string(f.Status))
	}
	if f.Service != "" {
		add("e.service = ?", f.Service)
	}
	if f.IdempotencyKey != "" {
		if f.Service == "" {
			// The unique (service, idempotency_key) finds a key once its
			// service is known: try each service there is.
			add("e.service IN " + services)
		}
		add("e.idempotency_key = ?", f.IdempotencyKey)
	}
	// The received time is read (from the table) only for IDs within the
	// slack of a bound: beyond, the ID says (SQLite seeks a row only
	// once a term needs one of its columns).
	from, sinceSure, untilSure, to := store.IDBounds(f.Since, f.Until)
	if !f.Since.IsZero() {
		add("e.id >= ? AND (e.id >= ? OR e.received_at >= ?)", from, sinceSure, f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		add("e.id < ? AND (e.id < ? OR e.received_at < ?)", to, untilSure, f.Until.UnixMicro())
	}
	if after != "" {
		add("e.id < ?", after)
	}
	clauses := " FROM " + table
	if len(where) > 0 {
		clauses += " WHERE " + strings.Join(where, " AND ")
	}
	return clauses, args, nil
}

// CountEvents counts the events f selects, as Events lists them, up to
// max+1. A status the status index holds reads only its range (all
// services at once: a count needs no order), and for pending the claimed
// outboxes too.
func (db *DB) CountEvents(ctx context.Context, f hookd.EventFilter, max int) (int, error) {
	f.Cursor = ""
	scans := []int{scanAll}
	if byStatusIndex(f) {
		scans = []int{scanStatus}
		if f.Status == hookd.EventPending {
			scans = append(scans, scanClaims)
		}
	}
	rctx, cancel := db.readContext(ctx)
	defer cancel()
	n, now := 0, time.Now()
	for _, scan := range scans {
		from, args, err := eventsFrom(f, scan, now)
		if err != nil {
			return 0, err
		}
		// No order: a count need not sort what an index range gives.
		var c int
		if err := db.read.QueryRowContext(rctx, `SELECT count(*) FROM (SELECT 1`+from+` LIMIT ?)`,
			append(args, max+1-n)...).Scan(&c); err != nil {
			return 0, store.ReadError("count events", err, rctx, ctx, db.readTimeout)
		}
		if n += c; n > max {
			break
		}
	}
	return n, nil
}

// Jobs lists hookd's jobs newest first.
func (db *DB) Jobs(ctx context.Context, f hookd.JobFilter) ([]*hookd.Job, string, error) {
	after, err := store.DecodeJobCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	where := []string{"kind = ?"}
	args := []any{hookd.JobArgs{}.Kind()}
	if f.Service != "" {
		where = append(where, "json_extract(args, '$.service') = ?")
		args = append(args, f.Service)
	}
	if f.State != "" {
		states, err := store.RiverStates(f.State)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "state IN ("+strings.Repeat("?, ", len(states)-1)+"?)")
		for _, s := range states {
			args = append(args, s)
		}
	}
	if after > 0 {
		where = append(where, "id < ?")
		args = append(args, after)
	}
	limit := store.Limit(f.Limit)
	args = append(args, limit+1)
	jobs, _, err := db.jobs(ctx, "WHERE "+strings.Join(where, " AND ")+" ORDER BY id DESC LIMIT ?", args...)
	if err != nil {
		return nil, "", err
	}
	jobs, next := store.JobPage(jobs, limit)
	return jobs, next, nil
}
