package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/pgtest"
)

func TestWithSearchPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://u@h:5432/db?sslmode=disable": "postgres://u@h:5432/db?search_path=s&sslmode=disable",
		"postgresql://u@h/db":                    "postgresql://u@h/db?search_path=s",
		"host=h user=u dbname=db":                "host=h user=u dbname=db search_path=s",
	} {
		got, err := pgtest.WithSearchPath(in, "s")
		if err != nil || got != want {
			t.Errorf("WithSearchPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var schema string
	t.Run("fresh schema", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(schema, "hookd_test_") {
			t.Fatalf("current_schema() = %q, want hookd_test_…", schema)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE t (x int)`); err != nil {
			t.Fatalf("create a table in the schema: %v", err)
		}
	})
	if schema == "" {
		return // skipped or failed
	}
	conn, err := pgx.Connect(ctx, pgtest.BaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("schema %s still exists after the test ended", schema)
	}
}

// TestNewSchema checks that a schema of NewSchema is named by its prefix,
// is what the URL selects, and is gone after drop.
func TestNewSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := pgtest.BaseURL(t)
	u, drop, err := pgtest.NewSchema(ctx, base, "hookd_pgtest_")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(schema, "hookd_pgtest_") {
		t.Fatalf("current_schema() = %q, want hookd_pgtest_…", schema)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE t (x int)`); err != nil {
		t.Fatalf("create a table in the schema: %v", err)
	}
	if err := drop(ctx); err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("schema %s still exists after drop", schema)
	}
}
