package postgres_test

import (
	"context"
	"log"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/hookd/hookd/store/postgres"
)

// Open a shared database, apply the schema, and hand the same pool to
// River's workers.
func ExampleOpen() {
	ctx := context.Background()
	db, err := postgres.Open(ctx, "postgres://hookd@db.internal:5432/hookd", postgres.Options{MaxConns: 20})
	if err != nil {
		log.Fatal(err) // code hookd.EUnavailable when the database cannot be reached
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil { // safe from several processes at once
		log.Fatal(err)
	}
	driver := riverpgxv5.New(db.Pool()) // for river.NewClient with workers
	_ = driver
}
