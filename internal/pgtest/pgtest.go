package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable that names the test server, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvURL = "HOOKD_TEST_POSTGRES_URL"

// BaseURL returns the URL in HOOKD_TEST_POSTGRES_URL, skipping t when it is
// unset.
func BaseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" && os.Getenv("CI") == "true" {
		// CI must run them: a skipped backend would pass unnoticed.
		t.Fatal(EnvURL + " is not set in CI; .ci/run sets it")
	}
	if base == "" {
		t.Skip(EnvURL + " is not set; PostgreSQL tests skipped (.ci/run sets it)")
	}
	return base
}

// URL returns a PostgreSQL URL whose connections use a fresh schema of
// their own (search_path), dropped when the test ends, so tests run in
// parallel. Skips t when HOOKD_TEST_POSTGRES_URL is unset.
func URL(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	u, drop, err := NewSchema(ctx, base, "hookd_test_")
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := drop(ctx); err != nil {
			t.Errorf("pgtest: %s: %v", EnvURL, err)
		}
	})
	return u
}

// timeout bounds each statement URL runs.
const timeout = 30 * time.Second

// NewSchema creates a schema named prefix and random hex digits in the
// server at base, and returns base with search_path set to it, and a
// function that drops it with everything in it. It is URL without a test:
// "hookd bench" measures on such schemas.
func NewSchema(ctx context.Context, base, prefix string) (conn string, drop func(context.Context) error, err error) {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails
	schema := prefix + hex.EncodeToString(b[:])
	if conn, err = WithSearchPath(base, schema); err != nil {
		return "", nil, err
	}
	if err := exec(ctx, base, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	drop = func(ctx context.Context) error {
		return exec(ctx, base, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	}
	return conn, drop, nil
}

// WithSearchPath returns the connection string conn (a postgres:// URL or
// key=value pairs) with search_path set to schema.
func WithSearchPath(conn, schema string) (string, error) {
	if !strings.HasPrefix(conn, "postgres://") && !strings.HasPrefix(conn, "postgresql://") {
		return conn + " search_path=" + schema, nil
	}
	u, err := url.Parse(conn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// exec runs one statement on a connection of its own.
func exec(ctx context.Context, conn, sql string) error {
	c, err := pgx.Connect(ctx, conn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// Closed even when ctx was cancelled (Ctrl-C in "hookd bench").
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}
