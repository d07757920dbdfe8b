package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// CheckStatus checks that event id's status is want both as its jobs give
// it (Event: hookd.StatusOf) and as the store keeps it for listings: every
// status filter finds the event exactly when it is want's, alone and with
// each other filter (service, key, received time), and the listing shows
// want.
func CheckStatus(t *testing.T, s hookd.Store, id string, want hookd.EventStatus) {
	t.Helper()
	ctx := context.Background()
	ev, err := s.Event(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != want {
		t.Errorf("event %s (%s): status %s from its jobs, want %s; jobs %s", id, ev.IdempotencyKey, ev.Status, want, jobsString(ev.Jobs))
	}
	since, until := ev.ReceivedAt, ev.ReceivedAt.Add(time.Microsecond)
	for _, status := range []hookd.EventStatus{"", hookd.EventPending, hookd.EventSucceeded, hookd.EventFailed} {
		for _, f := range []hookd.EventFilter{
			{},
			{Service: ev.Service},
			{IdempotencyKey: ev.IdempotencyKey},
			{Service: ev.Service, IdempotencyKey: ev.IdempotencyKey},
			{Since: since, Until: until},
			{Service: ev.Service, Since: since},
			{Until: until, Limit: 1},
		} {
			f.Status = status
			listed, found := listedAs(t, s, f, id)
			if wanted := status == "" || status == want; found != wanted {
				t.Errorf("event %s (%s), %s: Events(%s) found it: %v, want %v", id, ev.IdempotencyKey, want, describe(f), found, wanted)
			} else if found && listed != want {
				t.Errorf("event %s (%s): Events(%s) lists it as %s, want %s", id, ev.IdempotencyKey, describe(f), listed, want)
			}
		}
	}
}

// describe shows the filters f sets.
func describe(f hookd.EventFilter) string {
	var parts []string
	for _, p := range [][2]string{{"status", string(f.Status)}, {"service", f.Service}, {"key", f.IdempotencyKey}} {
		if p[1] != "" {
			parts = append(parts, p[0]+"="+p[1])
		}
	}
	if !f.Since.IsZero() {
		parts = append(parts, "since="+f.Since.Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		parts = append(parts, "until="+f.Until.Format(time.RFC3339Nano))
	}
	if f.Limit > 0 {
		parts = append(parts, fmt.Sprint("limit=", f.Limit))
	}
	return strings.Join(parts, " ")
}

// listedAs pages through the events f selects, and returns the status
// listed for event id, and whether it was. It checks that CountEvents
// counts as many events as the pages hold.
func listedAs(t *testing.T, s hookd.Store, f hookd.EventFilter, id string) (status hookd.EventStatus, found bool) {
	t.Helper()
	all := f
	n := 0
	for {
		events, next, err := s.Events(context.Background(), f)
		if err != nil {
			t.Fatalf("Events(%s): %v", describe(f), err)
		}
		for _, e := range events {
			if f.Status != "" && e.Status != f.Status {
				t.Errorf("Events(%s) listed %s as %s", describe(f), e.ID, e.Status)
			}
			if e.ID == id {
				status, found = e.Status, true
			}
		}
		n += len(events)
		if next == "" {
			break
		}
		f.Cursor = next
	}
	if c, err := s.CountEvents(context.Background(), all, 1000); err != nil || c != n {
		t.Errorf("CountEvents(%s) = %d, %v; its pages list %d", describe(all), c, err, n)
	}
	return status, found
}

// runStatus checks the status kept for listings (see CheckStatus) after
// each way a store changes an event's work: accept, settlement, replay,
// dispatch, retry now. The queue's own attempts are RunWorkers'.
func runStatus(t *testing.T, s hookd.Store) {
	ctx := context.Background()
	until := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	claimed := func(service, key string, jobs int) hookd.Submission {
		sub := Submission(service, key, `{}`, jobs)
		sub.ClaimedUntil = until
		return sub
	}
	settle := func(sub hookd.Submission, attempts ...hookd.Attempt) {
		t.Helper()
		got, err := s.Settle(ctx, []hookd.Settlement{{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil},
			Attempts: attempts, Replayed: sub.Replayed}})
		if err != nil || len(got) != 1 {
			t.Fatalf("Settle %s = %v, %v", sub.Event.IdempotencyKey, got, err)
		}
	}
	outcome := func(sub hookd.Submission, i int, errText string, retry, permanent bool) hookd.Attempt {
		a := attempts(sub, errText)[i]
		if retry {
			a.RetryAt = time.Now().Add(time.Hour)
		}
		a.Permanent = permanent
		return a
	}
	// claimAgain claims a replayed event's outbox, as the delivery
	// engine does: marked replayed when it has queued jobs (not when its
	// work all succeeded at the first attempts, settled in its row).
	claimAgain := func(sub hookd.Submission, replayed bool) hookd.Submission {
		t.Helper()
		got, err := s.ClaimDue(ctx, 1, until)
		if err != nil || len(got) != 1 || got[0].Event.ID != sub.Event.ID || got[0].Replayed != replayed {
			t.Fatalf("ClaimDue = %+v, %v; want %s, replayed %v", got, err, sub.Event.ID, replayed)
		}
		return got[0]
	}

	// Accepted: pending with jobs (claimed or not), succeeded without.
	noJobs, due, ok := Submission("a", "no-jobs", `{}`, 0), Submission("a", "due", `{}`, 1), claimed("a", "ok", 1)
	retrying, permanent, exhausted := claimed("b", "retrying", 1), claimed("b", "permanent", 1), claimed("b", "exhausted", 1)
	mixed, mixedRetry := claimed("c", "one-fails-one-succeeds", 2), claimed("c", "one-retries-one-fails", 2)
	mustAccept(t, s, noJobs, due, ok, retrying, permanent, exhausted, mixed, mixedRetry)
	CheckStatus(t, s, noJobs.Event.ID, hookd.EventSucceeded)
	CheckStatus(t, s, due.Event.ID, hookd.EventPending)
	CheckStatus(t, s, ok.Event.ID, hookd.EventPending)

	// Settled.
	settle(ok, attempts(ok, "")...)
	settle(retrying, outcome(retrying, 0, "503", true, false))
	settle(permanent, outcome(permanent, 0, "550", false, true))
	settle(exhausted, outcome(exhausted, 0, "connection refused", false, false))
	settle(mixed, outcome(mixed, 0, "550", false, true), outcome(mixed, 1, "", false, false))
	settle(mixedRetry, outcome(mixedRetry, 0, "503", true, false), outcome(mixedRetry, 1, "550", false, true))
	for sub, want := range map[*hookd.Submission]hookd.EventStatus{&ok: hookd.EventSucceeded, &retrying: hookd.EventPending,
		&permanent: hookd.EventFailed, &exhausted: hookd.EventFailed, &mixed: hookd.EventFailed, &mixedRetry: hookd.EventPending} {
		CheckStatus(t, s, sub.Event.ID, want)
	}

	// Dispatched: still pending, its jobs now queued.
	mustDispatch(t, s, 1)
	CheckStatus(t, s, due.Event.ID, hookd.EventPending)

	// Replayed: pending at once; then settled as its replay went, after
	// its earlier jobs.
	if err := s.Replay(ctx, permanent.Event.ID, permanent.Jobs); err != nil {
		t.Fatal(err)
	}
	CheckStatus(t, s, permanent.Event.ID, hookd.EventPending)
	again := claimAgain(permanent, true)
	settle(again, attempts(again, "")...)
	CheckStatus(t, s, permanent.Event.ID, hookd.EventSucceeded)
	// ... failed again,
	if err := s.Replay(ctx, exhausted.Event.ID, exhausted.Jobs); err != nil {
		t.Fatal(err)
	}
	again = claimAgain(exhausted, true)
	settle(again, outcome(again, 0, "550", false, true))
	CheckStatus(t, s, exhausted.Event.ID, hookd.EventFailed)
	// ... a settled success re-delivered, and failing this time,
	if err := s.Replay(ctx, ok.Event.ID, ok.Jobs); err != nil {
		t.Fatal(err)
	}
	again = claimAgain(ok, false)
	settle(again, outcome(again, 0, "503", true, false))
	CheckStatus(t, s, ok.Event.ID, hookd.EventPending)
	// ... and the failed action beside one still retrying: pending until
	// that one is done, however the replay went.
	if err := s.Replay(ctx, mixedRetry.Event.ID, mixedRetry.Jobs[1:]); err != nil {
		t.Fatal(err)
	}
	again = claimAgain(mixedRetry, true)
	settle(again, attempts(again, "")...)
	CheckStatus(t, s, mixedRetry.Event.ID, hookd.EventPending)

	// Retried now: pending, as it was.
	ev, err := s.Event(ctx, retrying.Event.ID)
	if err != nil || len(ev.Jobs) != 1 || ev.Jobs[0].ID == 0 {
		t.Fatalf("event = %v, %v", ev, err)
	}
	if err := s.RetryNow(ctx, []int64{ev.Jobs[0].ID}); err != nil {
		t.Fatal(err)
	}
	CheckStatus(t, s, retrying.Event.ID, hookd.EventPending)

	// Outboxes whose claim was given up (an until in the past), or
	// expired with its process: pending once dispatched, or claimed
	// again and settled.
	gaveUp, expired, dispatched := claimed("e", "gave-up", 1), claimed("e", "expired", 1), claimed("e", "dispatched", 1)
	expired.ClaimedUntil = time.Now().Add(-time.Second).Truncate(time.Microsecond)
	dispatched.ClaimedUntil = expired.ClaimedUntil.Add(-time.Second) // due first
	mustAccept(t, s, gaveUp, expired, dispatched)
	CheckStatus(t, s, gaveUp.Event.ID, hookd.EventPending)
	if got, err := s.RenewClaims(ctx, []hookd.Claim{{EventID: gaveUp.Event.ID, Until: gaveUp.ClaimedUntil}},
		time.Now().Add(-time.Second).Truncate(time.Microsecond)); err != nil || len(got) != 1 {
		t.Fatalf("RenewClaims into the past = %v, %v", got, err)
	}
	CheckStatus(t, s, gaveUp.Event.ID, hookd.EventPending)
	if n, err := s.Dispatch(ctx, 1); err != nil || n != 1 { // the oldest due: dispatched's
		t.Fatalf("Dispatch = %d, %v", n, err)
	}
	CheckStatus(t, s, dispatched.Event.ID, hookd.EventPending)
	reclaimed, err := s.ClaimDue(ctx, 10, until)
	if err != nil || len(reclaimed) != 2 {
		t.Fatalf("ClaimDue = %d, %v; want the given-up and expired events", len(reclaimed), err)
	}
	for _, sub := range reclaimed {
		CheckStatus(t, s, sub.Event.ID, hookd.EventPending)
		settle(sub, attempts(sub, "")...)
		CheckStatus(t, s, sub.Event.ID, hookd.EventSucceeded)
	}

	// An expired key's row taken over by a new event: the new event's.
	old := Submission("d", "reused", `{"a":1}`, 1)
	old.Event.ReceivedAt = old.Event.ReceivedAt.Add(-2 * time.Hour)
	old.Event.ExpiresAt = old.Event.ReceivedAt.Add(time.Hour)
	mustAccept(t, s, old)
	for _, jobs := range []int{0, 1} {
		fresh := Submission("d", "reused", fmt.Sprintf(`{"a":%d}`, 2+jobs), jobs)
		fresh.Event.ExpiresAt = time.Now().Add(-time.Minute) // the next one takes it over too
		if res := mustAccept(t, s, fresh); res[0].Outcome != hookd.Accepted {
			t.Fatalf("take-over = %+v", res[0])
		}
		CheckStatus(t, s, fresh.Event.ID, map[int]hookd.EventStatus{0: hookd.EventSucceeded, 1: hookd.EventPending}[jobs])
	}
}

// runStatusPages lists events by status across services and pages: the
// listing merges each service's events, newest first.
func runStatusPages(t *testing.T, s hookd.Store) {
	ctx := context.Background()
	until := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	var subs []hookd.Submission
	var settlements []hookd.Settlement
	for i := range 12 {
		sub := Submission(fmt.Sprint("svc", i%3), fmt.Sprint("k", i), `{}`, 1)
		sub.ClaimedUntil = until
		subs = append(subs, sub)
		a := attempts(sub, "")
		if i%4 != 3 { // 3, 7, 11 succeed; the others fail
			a[0].Error, a[0].Permanent = "550", true
		}
		settlements = append(settlements, hookd.Settlement{Claim: hookd.Claim{EventID: sub.Event.ID, Until: until}, Attempts: a})
	}
	mustAccept(t, s, subs...)
	if _, err := s.Settle(ctx, settlements); err != nil {
		t.Fatal(err)
	}
	if err := s.Replay(ctx, subs[4].Event.ID, subs[4].Jobs); err != nil { // pending now
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    hookd.EventFilter
		want string
	}{
		{hookd.EventFilter{Status: hookd.EventFailed, Limit: 2}, "[k10 k9 k8 k6 k5 k2 k1 k0]"},
		{hookd.EventFilter{Status: hookd.EventFailed, Limit: 3, Service: "svc0"}, "[k9 k6 k0]"},
		{hookd.EventFilter{Status: hookd.EventFailed, Since: subs[2].Event.ReceivedAt, Until: subs[9].Event.ReceivedAt, Limit: 1},
			"[k8 k6 k5 k2]"},
		{hookd.EventFilter{Status: hookd.EventPending}, "[k4]"},
		{hookd.EventFilter{Status: hookd.EventSucceeded, Limit: 1}, "[k11 k7 k3]"},
		{hookd.EventFilter{Status: hookd.EventFailed, IdempotencyKey: "k6"}, "[k6]"},
		{hookd.EventFilter{Status: hookd.EventPending, Service: "svc2"}, "[]"},
	} {
		var got []string
		f := c.f
		for {
			events, next, err := s.Events(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if f.Limit > 0 && len(events) > f.Limit {
				t.Errorf("Events(%+v) = %d events, over its limit", f, len(events))
			}
			for _, ev := range events {
				got = append(got, ev.IdempotencyKey)
			}
			if next == "" {
				break
			}
			f.Cursor = next
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("Events(%+v) = %v, want %s", c.f, got, c.want)
		}
		if n, err := s.CountEvents(ctx, c.f, 100); err != nil || n != len(got) {
			t.Errorf("CountEvents(%+v) = %d, %v; want %d", c.f, n, err, len(got))
		}
	}
	// A count stops past its max: 8 failed events counted up to 3 say 4.
	if n, err := s.CountEvents(ctx, hookd.EventFilter{Status: hookd.EventFailed}, 3); err != nil || n != 4 {
		t.Errorf("CountEvents(failed, max 3) = %d, %v; want 4 (more than 3)", n, err)
	}
}
