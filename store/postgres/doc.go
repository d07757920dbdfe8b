// Package postgres is hookd's scale-out store: PostgreSQL through a pgx v5
// pool, with River's pgx driver for the job queue in the same database, so
// an event and its jobs commit in one transaction and several hookd
// processes can share one database.
//
// Idempotency rests on the unique index over (service, idempotency_key):
// when two processes insert the same key at once, the second waits for the
// first's commit and then, under READ COMMITTED, reads the row it stored,
// so exactly one of them answers Accepted. Accept inserts a call's events
// in one multi-row statement, ordered by service and key, so that
// concurrent batches always take the key locks in the same order and cannot
// deadlock; a second round trip reads the events that already held a key.
//
// Errors that mean the database cannot be reached (refused or lost
// connections, a server shutting down, a deadline passed while waiting for
// it) come back with code hookd.EUnavailable, so that callers answer 503.
package postgres
