package main

import (
	"fmt"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"riverqueue.com/riverui"
)

// riverUIPrefix is where River's own UI is mounted on the admin listener,
// behind the dashboard's sign-in.
const riverUIPrefix = "/riverui"

// newRiverUI returns River's UI over the job queue of db. Its River client
// only reads and changes job rows for the UI; it runs no workers.
func newRiverUI(db database, log *slog.Logger) (*riverui.Handler, error) {
	switch d := db.(type) {
	case *sqliteDB:
		return riverUIFor(riversqlite.New(d.SQL()), log)
	case *postgresDB:
		return riverUIFor(riverpgxv5.New(d.Pool()), log)
	}
	return nil, fmt.Errorf("river UI: no driver for %T", db)
}

func riverUIFor[TTx any](driver riverdriver.Driver[TTx], log *slog.Logger) (*riverui.Handler, error) {
	client, err := river.NewClient(driver, &river.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("river UI: %w", err)
	}
	return riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    log,
		Prefix:    riverUIPrefix,
	})
}
