// Package sqlite is hookd's default store: one embedded SQLite file through
// modernc.org/sqlite (pure Go), with River's SQLite driver for the job queue
// living in the same file, so an event and its jobs commit in one
// transaction.
//
// Every write goes through one connection (more writers only add
// SQLITE_BUSY storms, never speed), in WAL mode, with synchronous=FULL so
// that a 2xx means the event survives a power cut. Reads (the admin API,
// the CLI, a worker reading its event) use a small pool of read-only
// connections beside it: WAL lets them read while the writer commits, so
// a slow read never delays ingest. Each read is bounded in time.
package sqlite
