package admin

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/shellquote"
)

// WriteEvents writes a page of events as the CLI's table, one event a
// line, or "no events".
func WriteEvents(w io.Writer, events []*hookd.Event) error {
	if len(events) == 0 {
		_, err := fmt.Fprintln(w, "no events")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSERVICE\tSTATUS\tRECEIVED\tIDEMPOTENCY KEY")
	for _, ev := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ev.ID, ev.Service, ev.Status, ev.ReceivedAt.Local().Format(time.DateTime), ev.IdempotencyKey)
	}
	return tw.Flush()
}

// WriteEvent writes one event as the CLI shows it: its fields, its jobs,
// then its body.
func WriteEvent(w io.Writer, ev *hookd.Event) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\t%s\nService\t%s\nIdempotency key\t%s\nReceived\t%s\nStatus\t%s\n",
		ev.ID, ev.Service, ev.IdempotencyKey, ev.ReceivedAt.Local().Format(time.RFC3339), ev.Status)
	tw.Flush()
	if len(ev.Jobs) == 0 {
		fmt.Fprintln(w, "\nno jobs")
	} else {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tACTION\tSTATE\tATTEMPTS\tLAST ERROR")
		for _, j := range ev.Jobs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\n", j.ID, j.Action, j.State, j.Attempts, j.MaxAttempts, j.LastError)
		}
		tw.Flush()
	}
	// The body is the sender's: escaped, so it cannot drive the terminal.
	_, err := fmt.Fprintf(w, "\n%s\n", shellquote.Visible(string(ev.Body)))
	return err
}
