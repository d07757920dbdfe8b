package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/bench"
)

// bench runs "hookd bench" (package internal/bench).
func (c *cli) bench(ctx context.Context, args []string) error {
	fs := c.flags("bench", bench.Doc)
	var s bench.Settings
	s.AddFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "hookd bench: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if err := s.Check(); err != nil {
		fmt.Fprintf(c.stderr, "hookd bench: %v\n", err)
		return errUsage
	}
	report, err := bench.Run(ctx, s, c.stderr)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return report.Write(c.stdout, s.JSON)
}

// benchBaseline runs the baseline server "hookd bench" starts: the
// services of --config, built as serve builds them, behind hookd's ingest
// handler and listener, with storage that keeps nothing. It prints its
// address on stdout and serves until ctx ends.
func (c *cli) benchBaseline(ctx context.Context, args []string) error {
	fs := c.flags("bench-baseline", `Serves the baseline of "hookd bench". Not for direct use.`)
	path := fs.String("config", "", "configuration `file`; the baseline listens on its listen address")
	if err := parse(fs, args); err != nil {
		return err
	}
	l, err := loadConfig(*path)
	if err != nil {
		return err
	}
	tuneGC()
	// hookd's own server settings, in front of hookd's own ingest handler.
	ln, err := net.Listen("tcp", l.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log := slog.New(slog.NewTextHandler(c.stderr, nil))
	srv := httpapi.NewServer(bench.Baseline(l.services, log), log)
	fmt.Fprintf(c.stdout, "listening on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	return errors.Join(err, srv.Shutdown(context.WithoutCancel(ctx)))
}
