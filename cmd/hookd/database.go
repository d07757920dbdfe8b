package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/internal/logging"
	"github.com/hookd/hookd/server"
)

// database is an opened store: what serve, migrate and events use.
type database = server.Database

// postgresWait bounds how long serve and migrate wait at start-up for a
// PostgreSQL server that cannot be reached yet. Tests shorten it.
var postgresWait = 60 * time.Second

// open opens the configured backend; readOnly for the commands that only
// read.
func open(ctx context.Context, cfg *config.Config, log *slog.Logger, readOnly bool) (database, error) {
	return server.Open(ctx, cfg, log, readOnly, postgresWait)
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
	db, err := open(ctx, cfg, log, false)
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
