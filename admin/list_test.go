package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/store/storetest"
)

// TestParseEventFilter checks the rules the API and the CLI share: a
// limit from 1 to 500, and a status of pending, succeeded or failed.
func TestParseEventFilter(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		query string
		want  hookd.EventFilter
		err   string
	}{
		{"", hookd.EventFilter{}, ""},
		{"service=a&status=failed&idempotency_key=k&limit=500&cursor=c",
			hookd.EventFilter{Service: "a", Status: hookd.EventFailed, IdempotencyKey: "k", Limit: 500, Cursor: "c"}, ""},
		{"limit=1&status=pending", hookd.EventFilter{Limit: 1, Status: hookd.EventPending}, ""},
		{"status=succeeded", hookd.EventFilter{Status: hookd.EventSucceeded}, ""},
		{"limit=0", hookd.EventFilter{}, "limit: must be a whole number from 1 to 500"},
		{"limit=501", hookd.EventFilter{}, "limit: must be a whole number from 1 to 500"},
		{"limit=ten", hookd.EventFilter{}, "limit: must be a whole number from 1 to 500"},
		{"status=bogus", hookd.EventFilter{}, "status: must be pending, succeeded or failed"},
	} {
		q, _ := url.ParseQuery(tt.query)
		got, err := admin.ParseEventFilter(q)
		if tt.err != "" {
			if hookd.ErrorCode(err) != hookd.EInvalid || hookd.ErrorMessage(err) != tt.err {
				t.Errorf("%q: err = %v, want invalid: %s", tt.query, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %+v, %v; want %+v", tt.query, got, err, tt.want)
		}
	}
	for n, want := range map[int]bool{0: false, 1: true, 500: true, 501: false, -1: false} {
		if admin.ValidLimit(n) != want {
			t.Errorf("ValidLimit(%d) = %t", n, !want)
		}
	}
}

// TestFailedEvents lists the failed events to replay across pages of
// MaxLimit, by service and by time received.
func TestFailedEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openStore(t)
	until := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	var subs []hookd.Submission
	var settlements []hookd.Settlement
	add := func(service string, failed bool, age time.Duration) string {
		// Received age ago, with an ID of that time, as ingest makes it.
		sub := storetest.Received(storetest.Submission(service, fmt.Sprint("k", len(subs)), `{}`, 1), age, 7*24*time.Hour)
		sub.ClaimedUntil = until
		a := hookd.Attempt{Job: sub.Jobs[0], StartedAt: time.Now(), FinishedAt: time.Now()}
		if failed {
			a.Error, a.Permanent = "550 no such user", true
		}
		subs = append(subs, sub)
		settlements = append(settlements, hookd.Settlement{Claim: hookd.Claim{EventID: sub.Event.ID, Until: until}, Attempts: []hookd.Attempt{a}})
		return sub.Event.ID
	}
	var wantA []string
	for range admin.MaxLimit + 1 {
		wantA = append(wantA, add("a", true, 0))
	}
	old := add("a", true, 48*time.Hour)
	add("a", false, 0)
	wantB := add("b", true, 0)
	if _, err := db.Accept(ctx, subs); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Settle(ctx, settlements); err != nil {
		t.Fatal(err)
	}
	check := func(service string, since time.Time, want []string) {
		t.Helper()
		got, err := admin.FailedEvents(ctx, db, service, since)
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("FailedEvents(%q, %v) = %d IDs, %v; want %d", service, since, len(got), err, len(want))
		}
	}
	check("a", time.Time{}, append(slices.Clone(wantA), old))
	check("a", time.Now().Add(-time.Hour), wantA)
	check("b", time.Time{}, []string{wantB})
	check("", time.Time{}, append(append(slices.Clone(wantA), old), wantB))
	check("c", time.Time{}, nil)
}

// TestReplayEvents reports each event replayed or not, then the count.
func TestReplayEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openStore(t)
	sub := storetest.Submission("a", "k", `{}`, 1)
	sub.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
	if _, err := db.Accept(ctx, []hookd.Submission{sub}); err != nil {
		t.Fatal(err)
	}
	a := hookd.Attempt{Job: sub.Jobs[0], StartedAt: time.Now(), FinishedAt: time.Now(), Error: "550 no such user", Permanent: true}
	if _, err := db.Settle(ctx, []hookd.Settlement{{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil}, Attempts: []hookd.Attempt{a}}}); err != nil {
		t.Fatal(err)
	}
	services := map[string]*hookd.Service{"a": {Name: "a", Actions: []hookd.Action{{Type: hookd.ActionEmail, MaxAttempts: 4}}}}
	var out, errs strings.Builder
	err := admin.ReplayEvents(ctx, db, services, []string{sub.Event.ID, "evt_nope"}, nil, &out, &errs)
	if err == nil || err.Error() != "1 event(s) not replayed" {
		t.Errorf("err = %v, want 1 event(s) not replayed", err)
	}
	if want := sub.Event.ID + ": 1 job(s) enqueued, 0 retrying now\nreplayed 1 of 2 event(s)\n"; out.String() != want {
		t.Errorf("out = %q, want %q", out.String(), want)
	}
	if want := "hookd: evt_nope: no event \"evt_nope\"\n"; errs.String() != want {
		t.Errorf("errs = %q, want %q", errs.String(), want)
	}

	// Listed as failed (--failed), but replayed since: it is skipped.
	out.Reset()
	errs.Reset()
	err = admin.ReplayEvents(ctx, db, services, []string{sub.Event.ID}, &admin.ReplayFilter{Status: "failed"}, &out, &errs)
	if want := sub.Event.ID + ": skipped: no longer failed\nreplayed 0 of 1 event(s), 1 skipped\n"; err != nil || out.String() != want || errs.Len() > 0 {
		t.Errorf("replay of a failed event replayed since: %v, out %q, errs %q; want out %q", err, out.String(), errs.String(), want)
	}
}
