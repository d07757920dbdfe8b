package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/internal/shellquote"
)

const eventsUsage = `usage:
  hookd events list [--service S] [--status pending|succeeded|failed] [--since T] [--until T]
                    [--limit N] [--cursor C] [--json]
  hookd events show ID [--json]
  hookd events replay ID... | --failed [--service S] [--since T]

list and show only read the database: they need no secrets and never
create or migrate it. Run "hookd events COMMAND --help" for the flags.`

// events runs "hookd events …", straight on the database.
func (c *cli) events(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(c.stderr, eventsUsage)
		return errUsage
	}
	if isHelp(args[0]) {
		fmt.Fprintln(c.stdout, eventsUsage)
		return errHelp
	}
	switch args[0] {
	case "list":
		return c.eventsList(ctx, args[1:])
	case "show":
		return c.eventsShow(ctx, args[1:])
	case "replay":
		return c.eventsReplay(ctx, args[1:])
	}
	fmt.Fprintf(c.stderr, "hookd events: unknown command %q\n%s\n", args[0], eventsUsage)
	return errUsage
}

// openStore loads the configuration and opens its database.
func openStore(ctx context.Context, path string) (*loaded, database, error) {
	l, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	db, err := open(ctx, l.cfg, slog.New(slog.DiscardHandler), false)
	if err != nil {
		return nil, nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return l, db, nil
}

func (c *cli) eventsList(ctx context.Context, args []string) error {
	fs := c.flags("events list", "Lists events, newest first. Reads the database only.")
	path := fs.String("config", "", "configuration `file`")
	service := fs.String("service", "", "only this service's events")
	status := fs.String("status", "", "only events with this status: pending, succeeded or failed")
	limit := fs.Int("limit", 50, "at most this many events (1 to 500)")
	cursor := fs.String("cursor", "", "the next page, after the page that printed this cursor")
	since := fs.String("since", "", "only events received at or after this time (RFC 3339) or this long ago (24h)")
	until := fs.String("until", "", "only events received before this time (RFC 3339) or this long ago (1h)")
	asJSON := fs.Bool("json", false, "print JSON, like GET /api/events")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if !admin.ValidEventStatus(hookd.EventStatus(*status)) {
		fmt.Fprintf(c.stderr, "hookd events list: --status: %q is not one of pending, succeeded, failed\n", *status)
		return errUsage
	}
	if !admin.ValidLimit(*limit) {
		fmt.Fprintf(c.stderr, "hookd events list: --limit: %d is not from 1 to %d\n", *limit, admin.MaxLimit)
		return errUsage
	}
	var from, to time.Time
	for _, t := range []struct {
		name string
		s    string
		at   *time.Time
	}{{"since", *since, &from}, {"until", *until, &to}} {
		if t.s == "" {
			continue
		}
		var err error
		if *t.at, err = parseSince(t.s); err != nil {
			fmt.Fprintf(c.stderr, "hookd events list: --%s: %v\n", t.name, err)
			return errUsage
		}
	}
	cfg, db, err := openReader(ctx, *path)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := cfg.CheckService(*service); err != nil {
		fmt.Fprintf(c.stderr, "hookd events list: --service: %v\n", err)
		return errUsage
	}
	events, next, err := db.Events(ctx, hookd.EventFilter{Service: *service, Status: hookd.EventStatus(*status),
		Since: from, Until: to, Limit: *limit, Cursor: *cursor})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(admin.NewEventList(events, next))
	}
	if err := admin.WriteEvents(c.stdout, events); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(c.stdout, "\nmore: %s\n", nextPage(fs, next))
	}
	return nil
}

// nextPage is the command that lists the page after this one: the same
// flags (--json prints its cursor itself), with the next cursor.
func nextPage(fs *flag.FlagSet, cursor string) string {
	cmd := []string{"hookd", "events", "list"}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "cursor" && f.Name != "json" {
			cmd = append(cmd, "--"+f.Name, shellquote.Word(f.Value.String()))
		}
	})
	return strings.Join(append(cmd, "--cursor", shellquote.Word(cursor)), " ")
}

func (c *cli) eventsShow(ctx context.Context, args []string) error {
	fs := c.flags("events show ID", "Shows one event with its jobs. Reads the database only.")
	path := fs.String("config", "", "configuration `file`")
	asJSON := fs.Bool("json", false, "print JSON, like GET /api/events/{id}")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	_, db, err := openReader(ctx, *path)
	if err != nil {
		return err
	}
	defer db.Close()
	ev, err := db.Event(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(admin.NewEventJSON(ev, true))
	}
	return admin.WriteEvent(c.stdout, ev)
}

func (c *cli) eventsReplay(ctx context.Context, args []string) error {
	fs := c.flags("events replay ID... | --failed", "Enqueues events' actions again: the failed ones, or all when none failed.")
	path := fs.String("config", "", "configuration `file`")
	failed := fs.Bool("failed", false, "replay every failed event (with --service and --since to narrow)")
	service := fs.String("service", "", "with --failed: only this service's events")
	since := fs.String("since", "", "with --failed: only events received since `T` (RFC 3339 time, or a duration such as 24h)")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	if *failed == (fs.NArg() > 0) {
		fs.Usage()
		return errUsage
	}
	var from time.Time
	if *since != "" {
		var err error
		if from, err = parseSince(*since); err != nil {
			fmt.Fprintf(c.stderr, "hookd events replay: --since: %v\n", err)
			return errUsage
		}
	}
	l, db, err := openStore(ctx, *path)
	if err != nil {
		return err
	}
	defer db.Close()
	ids := fs.Args()
	var only *admin.ReplayFilter
	if *failed {
		if ids, err = admin.FailedEvents(ctx, db, *service, from); err != nil {
			return err
		}
		// Listed as failed: one replayed meanwhile is left alone.
		only = &admin.ReplayFilter{Status: string(hookd.EventFailed)}
	}
	return admin.ReplayEvents(ctx, db, l.services, ids, only, c.stdout, c.stderr)
}

func parseSince(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return t, nil
}

// reorder moves flags before positional arguments, so "show ID --json"
// works like "show --json ID". Which flags take a value, fs says.
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			// A flag in two words ("--config FILE") keeps its value.
			if f := fs.Lookup(strings.TrimLeft(a, "-")); f != nil && !strings.Contains(a, "=") && i+1 < len(args) && !isBool(f) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		rest = append(rest, a)
	}
	return append(flags, rest...)
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
