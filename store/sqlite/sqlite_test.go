package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store/sqlite"
	"github.com/hookd/hookd/store/storetest"
)

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) hookd.Store {
		return open(t)
	})
}

func open(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMigrateTwice(t *testing.T) {
	t.Parallel()
	db := open(t)
	defer db.Close()
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}

func openB(b *testing.B) (*sqlite.DB, error) {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "hookd.db"), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	return db, db.Migrate(context.Background())
}
