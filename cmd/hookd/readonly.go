package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/hookd/hookd/config"
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
		return nil, nil, fmt.Errorf("%s: %w", redactURL(cfg.Database), err)
	}
	return cfg, db, nil
}

// checkService refuses a service the configuration does not name.
func checkService(cfg *config.Config, name string) error {
	if name == "" || len(cfg.ServiceConfigs) == 0 || cfg.ServiceConfigs[name] != nil {
		return nil
	}
	return fmt.Errorf("--service: no service %q is configured (services: %s)", name,
		strings.Join(slices.Sorted(maps.Keys(cfg.ServiceConfigs)), ", "))
}
