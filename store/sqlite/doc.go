// Package sqlite is hookd's default store: one embedded SQLite file through
// modernc.org/sqlite (pure Go), with River's SQLite driver for the job queue
// living in the same file, so an event and its jobs commit in one
// transaction.
//
// SQLite is used through one connection (more connections only add
// SQLITE_BUSY storms, never speed), in WAL mode, with synchronous=FULL so that a
// 2xx means the event survives a power cut.
package sqlite
