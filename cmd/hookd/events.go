package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
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
	db, err := openDatabase(ctx, l.cfg, slog.New(slog.DiscardHandler))
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
	switch hookd.EventStatus(*status) {
	case "", hookd.EventPending, hookd.EventSucceeded, hookd.EventFailed:
	default:
		fmt.Fprintf(c.stderr, "hookd events list: --status: %q is not one of pending, succeeded, failed\n", *status)
		return errUsage
	}
	if *limit < 1 || *limit > 500 {
		fmt.Fprintf(c.stderr, "hookd events list: --limit: %d is not from 1 to 500\n", *limit)
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
	if err := checkService(cfg, *service); err != nil {
		fmt.Fprintf(c.stderr, "hookd events list: %v\n", err)
		return errUsage
	}
	events, next, err := db.Events(ctx, hookd.EventFilter{Service: *service, Status: hookd.EventStatus(*status),
		Since: from, Until: to, Limit: *limit, Cursor: *cursor})
	if err != nil {
		return err
	}
	if *asJSON {
		out := struct {
			Events     []admin.EventJSON `json:"events"`
			NextCursor string            `json:"next_cursor,omitempty"`
		}{Events: []admin.EventJSON{}, NextCursor: next}
		for _, ev := range events {
			out.Events = append(out.Events, admin.NewEventJSON(ev, false))
		}
		return json.NewEncoder(c.stdout).Encode(out)
	}
	if len(events) == 0 {
		fmt.Fprintln(c.stdout, "no events")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSERVICE\tSTATUS\tRECEIVED\tIDEMPOTENCY KEY")
	for _, ev := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ev.ID, ev.Service, ev.Status, ev.ReceivedAt.Local().Format(time.DateTime), ev.IdempotencyKey)
	}
	tw.Flush()
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
	if err := parse(fs, reorder(args)); err != nil {
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
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\t%s\nService\t%s\nIdempotency key\t%s\nReceived\t%s\nStatus\t%s\n",
		ev.ID, ev.Service, ev.IdempotencyKey, ev.ReceivedAt.Local().Format(time.RFC3339), ev.Status)
	tw.Flush()
	if len(ev.Jobs) == 0 {
		fmt.Fprintln(c.stdout, "\nno jobs")
	} else {
		fmt.Fprintln(c.stdout)
		tw = tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tACTION\tSTATE\tATTEMPTS\tLAST ERROR")
		for _, j := range ev.Jobs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\n", j.ID, j.Action, j.State, j.Attempts, j.MaxAttempts, j.LastError)
		}
		tw.Flush()
	}
	// The body is the sender's: escaped, so it cannot drive the terminal.
	fmt.Fprintf(c.stdout, "\n%s\n", shellquote.Visible(string(ev.Body)))
	return nil
}

func (c *cli) eventsReplay(ctx context.Context, args []string) error {
	fs := c.flags("events replay ID... | --failed", "Enqueues events' actions again: the failed ones, or all when none failed.")
	path := fs.String("config", "", "configuration `file`")
	failed := fs.Bool("failed", false, "replay every failed event (with --service and --since to narrow)")
	service := fs.String("service", "", "with --failed: only this service's events")
	since := fs.String("since", "", "with --failed: only events received since `T` (RFC 3339 time, or a duration such as 24h)")
	if err := parse(fs, reorder(args)); err != nil {
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
	if *failed {
		cursor := ""
		for {
			events, next, err := db.Events(ctx, hookd.EventFilter{Service: *service, Status: hookd.EventFailed, Since: from, Limit: 500, Cursor: cursor})
			if err != nil {
				return err
			}
			for _, ev := range events {
				ids = append(ids, ev.ID)
			}
			if cursor = next; cursor == "" {
				break
			}
		}
	}
	var problems int
	for _, id := range ids {
		plan, err := admin.Replay(ctx, db, l.services, id)
		if err != nil {
			fmt.Fprintf(c.stderr, "hookd: %s: %s\n", id, hookd.ErrorMessage(err))
			problems++
			continue
		}
		fmt.Fprintf(c.stdout, "%s: %d job(s) enqueued, %d retrying now\n", id, len(plan.Jobs), len(plan.RetryNow))
	}
	fmt.Fprintf(c.stdout, "replayed %d of %d event(s)\n", len(ids)-problems, len(ids))
	if problems > 0 {
		return fmt.Errorf("%d event(s) not replayed", problems)
	}
	return nil
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
// works like "show --json ID".
func reorder(args []string) []string {
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
			if !strings.Contains(a, "=") && i+1 < len(args) && takesValue(a) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		rest = append(rest, a)
	}
	return append(flags, rest...)
}

func takesValue(flag string) bool {
	switch strings.TrimLeft(flag, "-") {
	case "config", "service", "since", "until", "limit", "status", "cursor":
		return true
	}
	return false
}
