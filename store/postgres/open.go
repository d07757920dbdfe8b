package postgres

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/store"
)

// ping checks that the server answers, for up to opts.Wait while it
// cannot be reached: a server starting beside hookd (a container, a
// restart) should not make hookd exit. Other errors (a wrong password, a
// missing database) fail at once.
func ping(ctx context.Context, pool *pgxpool.Pool, where string, opts Options) error {
	start := time.Now()
	var logged time.Time
	for attempt := 1; ; attempt++ {
		err := pool.Ping(ctx)
		if err == nil {
			return nil
		}
		if !isUnavailable(err) || ctx.Err() != nil {
			return fmt.Errorf("postgres: connect to %s: %w", where, err)
		}
		waited := time.Since(start)
		if waited+time.Second > opts.Wait {
			if opts.Wait > 0 {
				return fmt.Errorf("postgres: %s did not answer within %s (%d attempts); is it running and reachable? %w",
					where, opts.Wait, attempt, unavailable(err))
			}
			return fmt.Errorf("postgres: connect to %s: %w", where, unavailable(err))
		}
		if time.Since(logged) >= 5*time.Second {
			logged = time.Now()
			cmp.Or(opts.Logger, slog.Default()).Warn("waiting for PostgreSQL", "at", where,
				"waited", waited.Round(time.Second).String(), "up_to", opts.Wait.String(), "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres: connect to %s: %w", where, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// CheckSchema reports whether the database holds hookd's current schema
// (in the search_path), for readers that must not migrate it.
func (db *DB) CheckSchema(ctx context.Context) error {
	var exists bool
	var version int
	err := db.pool.QueryRow(ctx, `SELECT to_regclass('hookd_migration') IS NOT NULL`).Scan(&exists)
	if err == nil && exists {
		err = db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM hookd_migration`).Scan(&version)
	}
	if err != nil {
		return wrap("postgres", err)
	}
	return store.CheckSchema(version, migrations)
}
