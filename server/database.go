package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/groupcommit"
	"github.com/hookd/hookd/internal/logging"
	"github.com/hookd/hookd/jobs"
	"github.com/hookd/hookd/store/postgres"
	"github.com/hookd/hookd/store/sqlite"
)

// Database is an opened store with what a server needs beside it.
type Database interface {
	hookd.Store
	// FinishAttempt keeps the events' stored status in step with the
	// workers' attempts (jobs.EventReader), RefreshStatus with what River
	// changes without hookd (jobs.Refreshable).
	jobs.EventReader
	jobs.Refreshable
	Migrate(ctx context.Context) error
	// CheckSchema fails unless hookd's current schema is there.
	CheckSchema(ctx context.Context) error
	// Workers returns a River client working hookd's jobs on this database.
	Workers(w *jobs.Worker) (jobs.Runner, error)
	// GroupCommit is how the ingest path batches its writes here.
	GroupCommit() groupcommit.Config
}

// Open opens the configured backend. readOnly is for the commands that
// only read: nothing is created, and PostgreSQL is not waited for;
// otherwise a PostgreSQL that cannot be reached yet is waited for up to
// wait.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, readOnly bool, wait time.Duration) (Database, error) {
	if path, ok := cfg.SQLitePath(); ok {
		db, err := sqlite.Open(path, sqlite.Options{Logger: log, ReadOnly: readOnly})
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	if url, ok := cfg.PostgresURL(); ok {
		opts := postgres.Options{Logger: log, ReadOnly: readOnly, Wait: wait}
		if readOnly {
			opts.Wait = 0
		}
		db, err := postgres.Open(ctx, url, opts)
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	return nil, fmt.Errorf("database: unsupported URL %s (use sqlite:PATH or postgres://…)", logging.RedactURL(cfg.Database))
}
