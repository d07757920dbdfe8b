package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/admin"
)

func TestWriteEvents(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	local := at.Local().Format(time.DateTime)
	var b strings.Builder
	if err := admin.WriteEvents(&b, []*hookd.Event{
		{ID: "evt_2", Service: "github", Status: hookd.EventFailed, ReceivedAt: at, IdempotencyKey: "delivery-2"},
		{ID: "evt_1", Service: "a", Status: hookd.EventSucceeded, ReceivedAt: at, IdempotencyKey: "k"},
	}); err != nil {
		t.Fatal(err)
	}
	want := "ID     SERVICE  STATUS     RECEIVED             IDEMPOTENCY KEY\n" +
		"evt_2  github   failed     " + local + "  delivery-2\n" +
		"evt_1  a        succeeded  " + local + "  k\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	admin.WriteEvents(&b, nil)
	if b.String() != "no events\n" {
		t.Errorf("no events: %q", b.String())
	}
}

// TestWriteEvent shows an event with and without jobs; the sender's body
// is escaped so that it cannot drive the terminal.
func TestWriteEvent(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	ev := &hookd.Event{ID: "evt_1", Service: "a", IdempotencyKey: "k", ReceivedAt: at, Status: hookd.EventPending,
		Body: []byte("{\"x\":\"\x1b[31mred\"}"),
		Jobs: []*hookd.Job{
			{ID: 7, Action: "email", State: hookd.JobRetrying, Attempts: 2, MaxAttempts: 25, LastError: "421 try later",
				History: []hookd.AttemptRecord{
					{Number: 1, StartedAt: at, Duration: 1234567 * time.Nanosecond, Outcome: hookd.AttemptRetrying, Code: 421,
						Reply: "4.3.2 try later", Error: "421 try later"},
					{Number: 2, StartedAt: at.Add(time.Minute), Outcome: hookd.AttemptRetrying, Error: "connection refused"},
				}},
			{ID: 8, Action: "forward", State: hookd.JobSucceeded, Attempts: 1, MaxAttempts: 25,
				History: []hookd.AttemptRecord{{Number: 1, StartedAt: at, Duration: 12 * time.Second, Outcome: hookd.AttemptSucceeded,
					Code: 200, Reply: "ok\x1b[2J\n\tdone"}}},
		}}
	var b strings.Builder
	if err := admin.WriteEvent(&b, ev); err != nil {
		t.Fatal(err)
	}
	want := "ID               evt_1\nService          a\nIdempotency key  k\nReceived         " + at.Local().Format(time.RFC3339) + "\nStatus           pending\n" +
		"\nJOB  ACTION   STATE      ATTEMPTS  LAST ERROR\n" +
		"7    email    retrying   2/25      421 try later\n" +
		"8    forward  succeeded  1/25      \n" +
		"\nJOB  ACTION   #  STARTED                  DURATION  OUTCOME    CODE  REPLY              ERROR\n" +
		"7    email    1  " + stamp(at) + "  1.2ms     retrying   421   4.3.2 try later    421 try later\n" +
		"7    email    2  " + stamp(at.Add(time.Minute)) + "  -         retrying   -                        connection refused\n" +
		"8    forward  1  " + stamp(at) + "  12s       succeeded  200   ok\\x1b[2J\\n\\tdone  \n" +
		"\n{\"x\":\"\\x1b[31mred\"}\n"
	if b.String() != want {
		t.Errorf("event:\n%q\nwant:\n%q", b.String(), want)
	}
	ev.Jobs = nil
	b.Reset()
	admin.WriteEvent(&b, ev)
	if !strings.Contains(b.String(), "pending\n\nno jobs\n\n{") {
		t.Errorf("event without jobs:\n%s", b.String())
	}
}

// stamp is an attempt's start as the CLI shows it.
func stamp(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05.000") }

func TestDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0:                        "-",
		350 * time.Microsecond:   "350µs",
		1234567:                  "1.2ms",
		12345 * time.Millisecond: "12.345s",
	} {
		if got := admin.Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
