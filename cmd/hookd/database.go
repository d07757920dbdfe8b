package main

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

// database is an opened store with what serve needs beside it.
type database interface {
	hookd.Store
	Migrate(ctx context.Context) error
	// CheckSchema fails unless hookd's current schema is there.
	CheckSchema(ctx context.Context) error
	// Workers returns a River client working hookd's jobs on this database.
	Workers(w *jobs.Worker) (workers, error)
	// GroupCommit is how the ingest path batches its writes here.
	GroupCommit() groupcommit.Config
}

// workers is a started or startable River client.
type workers = jobs.Runner

// openDatabase opens the configured backend for serve and migrate.
func openDatabase(ctx context.Context, cfg *config.Config, log *slog.Logger) (database, error) {
	return open(ctx, cfg, log, false)
}

// postgresWait bounds how long serve and migrate wait at start-up for a
// PostgreSQL server that cannot be reached yet. Tests shorten it.
var postgresWait = 60 * time.Second

// open opens the configured backend; readOnly for the commands that only
// read: nothing is created, and PostgreSQL is not waited for.
func open(ctx context.Context, cfg *config.Config, log *slog.Logger, readOnly bool) (database, error) {
	if path, ok := cfg.SQLitePath(); ok {
		db, err := sqlite.Open(path, sqlite.Options{Logger: log, ReadOnly: readOnly})
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	if url, ok := cfg.PostgresURL(); ok {
		opts := postgres.Options{Logger: log, ReadOnly: readOnly, Wait: postgresWait}
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

// migrate runs "hookd migrate".
func (c *cli) migrate(ctx context.Context, args []string) error {
	fs := c.flags("migrate", "Applies hookd's and the job queue's schema. Safe to run concurrently and repeatedly.")
	path := fs.String("config", "", "configuration `file` (default $HOOKD_CONFIG, else the zero-config defaults)")
	if err := parse(fs, args); err != nil {
		return err
	}
	// The schema needs the database only: no secrets, no SMTP.
	cfg, err := readConfig(*path)
	if err != nil {
		return err
	}
	// Warnings only: waiting for PostgreSQL, and River's.
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "migrated %s\n", logging.RedactURL(cfg.Database))
	return nil
}
