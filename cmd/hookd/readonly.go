package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/internal/logging"
)

// openReader opens the configured database read-only: it must exist and
// hold hookd's current schema, and is neither created nor migrated.
func openReader(ctx context.Context, path string) (*config.Config, database, error) {
	cfg, err := readConfig(path)
	if err != nil {
		return nil, nil, err
	}
	db, err := open(ctx, cfg, slog.New(slog.DiscardHandler), true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w\n  hookd serve and hookd migrate create it; if hookd's database is elsewhere, run this where it is, or name it with database (--config) or HOOKD_DATABASE_URL", err)
	} else if err != nil {
		return nil, nil, err
	}
	if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%s: %w", logging.RedactURL(cfg.Database), err)
	}
	return cfg, db, nil
}
