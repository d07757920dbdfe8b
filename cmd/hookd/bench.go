package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/bench"
)

// bench runs "hookd bench" (package internal/bench).
func (c *cli) bench(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "fill":
			return c.benchFill(ctx, args[1:])
		case "reads":
			return c.benchReads(ctx, args[1:])
		}
	}
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

// benchFill runs "hookd bench fill" (bench.Fill) on the database at --database.
func (c *cli) benchFill(ctx context.Context, args []string) error {
	fs := c.flags("bench fill", bench.FillDoc)
	dbURL := fs.String("database", "", "the database to fill: sqlite:`PATH` or a postgres:// URL (migrated first)")
	var s bench.FillSettings
	fs.IntVar(&s.Events, "events", 100000, "how many events to write")
	fs.Float64Var(&s.Days, "days", 7, "received times spread over this many `days`, ending now")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dbURL == "" || s.Events < 1 || s.Days <= 0 || fs.NArg() > 0 {
		fmt.Fprintln(c.stderr, "hookd bench fill: --database is required, --events and --days must be positive")
		return errUsage
	}
	return bench.FillDatabase(ctx, *dbURL, s, c.stderr)
}

// benchReads runs "hookd bench reads" (bench.Reads).
func (c *cli) benchReads(ctx context.Context, args []string) error {
	fs := c.flags("bench reads", bench.ReadsDoc)
	var s bench.ReadsSettings
	fs.StringVar(&s.Database, "database", "", "a filled database: sqlite:`PATH` or a postgres:// URL")
	fs.IntVar(&s.Count, "count", 20, "times each read is measured")
	fs.Float64Var(&s.Rate, "rate", 1000, "ingest `requests` per second")
	fs.DurationVar(&s.Duration, "duration", 10*time.Second, "how long each ingest load sends")
	fs.StringVar(&s.Binary, "hookd-binary", "", "the hookd `binary` to serve (default this executable)")
	fs.StringVar(&s.Loop, "loop", "", "the admin API `path` read in a loop during the second ingest load (default the slowest read)")
	asJSON := fs.Bool("json", false, "print the results as one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if s.Database == "" || s.Count < 1 || s.Rate <= 0 || s.Duration <= 0 || fs.NArg() > 0 {
		fmt.Fprintln(c.stderr, "hookd bench reads: --database is required; --count, --rate and --duration must be positive")
		return errUsage
	}
	report, err := bench.Reads(ctx, s, c.stderr)
	if err != nil {
		return fmt.Errorf("bench reads: %w", err)
	}
	return report.Write(c.stdout, *asJSON)
}
