package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/hookd/hookd/internal/logging"
	"github.com/hookd/hookd/server"
)

// serve runs "hookd serve" until ctx ends (SIGINT or SIGTERM).
func (c *cli) serve(ctx context.Context, args []string) error {
	fs := c.flags("serve", "Runs hookd: the webhook listener, the admin listener and the background workers.")
	path := fs.String("config", "", "configuration `file` (default $HOOKD_CONFIG, else the zero-config defaults)")
	role := fs.String("role", server.RoleAll, "what this process does: ingest (listener only), worker (background jobs only) or all")
	logLevel := fs.String("log-level", "", "least `level` logged: debug, info, warn or error (default $HOOKD_LOG_LEVEL, else info)")
	logFormat := fs.String("log-format", "", "log `format`: text or json (default $HOOKD_LOG_FORMAT, else text)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch *role {
	case server.RoleAll, server.RoleIngest, server.RoleWorker:
	default:
		fmt.Fprintf(c.stderr, "hookd: --role: %q is not one of ingest, worker, all\n", *role)
		return errUsage
	}
	lookup, err := envLookup()
	if err != nil {
		return &configError{[]error{err}}
	}
	logger, err := logging.New(c.stderr, *logLevel, *logFormat, lookup)
	if err != nil {
		fmt.Fprintf(c.stderr, "hookd: %v\n", err)
		return errUsage
	}
	l, err := loadConfig(*path)
	if err != nil {
		return err
	}
	tuneGC()
	m := &server.Main{Config: l.cfg, Services: l.services, Role: *role, Logger: logger, PostgresWait: postgresWait}
	if err := m.Run(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		m.Logger.Info("shutting down")
	case err = <-m.Err():
	}
	return errors.Join(err, m.Close())
}

// tuneGC sets the collector for a burst of webhooks, which allocates fast
// and keeps little: with Go's default GOGC of 100 the collector runs every
// few milliseconds on a small heap. 400 trades some tens of MB for much
// less collector work; a soft limit of 128 MiB on Go's memory makes the
// collector work harder instead when a flood of requests would grow it
// further. GOGC and GOMEMLIMIT in the environment win.
func tuneGC() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(400)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(128 << 20)
	}
}
