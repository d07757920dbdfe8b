package admin

import (
	"fmt"
	"io"
	"strings"
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
// their attempts, then its body.
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
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\n", j.ID, j.Action, j.State, j.Attempts, j.MaxAttempts, cell(j.LastError))
		}
		tw.Flush()
		writeAttempts(w, ev.Jobs)
	}
	// The body is the sender's: escaped, so it cannot drive the terminal.
	_, err := fmt.Fprintf(w, "\n%s\n", shellquote.Visible(string(ev.Body)))
	return err
}

// writeAttempts writes the attempts of jobs, a table of one line each,
// when there are any.
func writeAttempts(w io.Writer, jobs []*hookd.Job) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := false
	for _, j := range jobs {
		for _, a := range j.History {
			if !header {
				fmt.Fprintln(w)
				fmt.Fprintln(tw, "JOB\tACTION\t#\tSTARTED\tDURATION\tOUTCOME\tCODE\tREPLY\tERROR")
				header = true
			}
			code := "-"
			if a.Code != 0 {
				code = fmt.Sprint(a.Code)
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Action, a.Number,
				a.StartedAt.Local().Format("2006-01-02 15:04:05.000"), Duration(a.Duration), a.Outcome, code, cell(a.Reply), cell(a.Error))
		}
	}
	tw.Flush()
}

// Duration shows how long an attempt took: to the microsecond under a
// millisecond, to a tenth of one under a second, to the millisecond
// above; "-" when unknown (an attempt known only from the queue's error
// log).
func Duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// cell is text from the other side of an attempt (a reply, an error) as
// one cell of a table: what could drive the terminal escaped
// (shellquote.Visible), and newlines and tabs too, which would break the
// table.
func cell(s string) string {
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(shellquote.Visible(s))
}
