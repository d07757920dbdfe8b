// Package storetest is the conformance suite every hookd.Store passes, in
// the spirit of River's riverdrivertest: the SQLite and PostgreSQL stores
// run the very same tests.
package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store"
)

// Run runs the suite. open returns a new, migrated, empty store; the suite
// closes it.
func Run(t *testing.T, open func(t *testing.T) hookd.Store) {
	setup := func(t *testing.T) (hookd.Store, context.Context) {
		t.Helper()
		t.Parallel()
		s := open(t)
		t.Cleanup(func() { s.Close() })
		return s, context.Background()
	}

	t.Run("AcceptNewEvent", func(t *testing.T) {
		s, ctx := setup(t)
		sub := Submission("svc", "key-1", `{"email":"a@example.com"}`, 1)
		sub.Event.Header.Set("Authorization", "Bearer secret")
		res := mustAccept(t, s, sub)
		if res[0].Outcome != hookd.Accepted || res[0].EventID != sub.Event.ID {
			t.Fatalf("result = %+v, want accepted %s", res[0], sub.Event.ID)
		}
		ev, err := s.Event(ctx, sub.Event.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(ev.Body) != `{"email":"a@example.com"}` || ev.Service != "svc" || ev.IdempotencyKey != "key-1" {
			t.Errorf("event = %+v", ev)
		}
		if got := ev.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type header = %q", got)
		}
		if got := ev.Header.Get("Authorization"); got != "" {
			t.Errorf("credentials stored: Authorization = %q", got)
		}
		if !ev.ReceivedAt.Equal(sub.Event.ReceivedAt) {
			t.Errorf("received_at = %v, want %v", ev.ReceivedAt, sub.Event.ReceivedAt)
		}
		if len(ev.Jobs) != 1 || ev.Jobs[0].State != hookd.JobPending || ev.Jobs[0].Action != hookd.ActionEmail ||
			ev.Jobs[0].MaxAttempts != 4 || ev.Jobs[0].EventID != ev.ID {
			t.Fatalf("jobs = %+v", jobsString(ev.Jobs))
		}
		if ev.Status != hookd.EventPending {
			t.Errorf("status = %s, want pending", ev.Status)
		}
		body, err := s.EventWithoutJobs(ctx, sub.Event.ID)
		if err != nil || string(body.Body) != string(ev.Body) || body.Header.Get("Content-Type") != "application/json" ||
			!body.ReceivedAt.Equal(ev.ReceivedAt) || body.Jobs != nil {
			t.Errorf("EventWithoutJobs = %+v, %v; want the event without its jobs", body, err)
		}
	})

	t.Run("EventNotFound", func(t *testing.T) {
		s, ctx := setup(t)
		_, err := s.Event(ctx, "evt_nope")
		if hookd.ErrorCode(err) != hookd.ENotFound {
			t.Fatalf("err = %v, want not-found", err)
		}
		if _, err := s.EventWithoutJobs(ctx, "evt_nope"); hookd.ErrorCode(err) != hookd.ENotFound {
			t.Fatalf("EventWithoutJobs: err = %v, want not-found", err)
		}
	})

	t.Run("NoopEventSucceeded", func(t *testing.T) {
		s, ctx := setup(t)
		sub := Submission("svc", "k", `{}`, 0)
		mustAccept(t, s, sub)
		ev, err := s.Event(ctx, sub.Event.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Status != hookd.EventSucceeded || len(ev.Jobs) != 0 {
			t.Fatalf("status = %s, jobs = %d; want succeeded, 0", ev.Status, len(ev.Jobs))
		}
	})

	t.Run("DuplicateAndConflict", func(t *testing.T) {
		s, ctx := setup(t)
		first := Submission("svc", "k", `{"a":1}`, 1)
		mustAccept(t, s, first)
		res := mustAccept(t, s, Submission("svc", "k", `{"a":1}`, 1), Submission("svc", "k", `{"a":2}`, 1),
			Submission("other", "k", `{"a":1}`, 1))
		want := []hookd.Outcome{hookd.Duplicate, hookd.Conflict, hookd.Accepted}
		for i, r := range res {
			if r.Outcome != want[i] {
				t.Errorf("result %d = %v, want %v", i, r.Outcome, want[i])
			}
		}
		if res[0].EventID != first.Event.ID || res[1].EventID != first.Event.ID {
			t.Errorf("duplicate/conflict event IDs = %s, %s; want the original %s", res[0].EventID, res[1].EventID, first.Event.ID)
		}
		ev, err := s.Event(ctx, first.Event.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Jobs) != 1 {
			t.Errorf("original event has %d jobs, want 1 (a duplicate enqueues nothing)", len(ev.Jobs))
		}
		mustDispatch(t, s, 2)
		if jobs, _, _ := s.Jobs(ctx, hookd.JobFilter{}); len(jobs) != 2 {
			t.Errorf("%d jobs in all, want 2", len(jobs))
		}
	})

	t.Run("DuplicatesInsideOneBatch", func(t *testing.T) {
		s, ctx := setup(t)
		a, b, c := Submission("svc", "k", `{"a":1}`, 1), Submission("svc", "k", `{"a":1}`, 1), Submission("svc", "k", `{"a":2}`, 1)
		res := mustAccept(t, s, a, b, c)
		if res[0].Outcome != hookd.Accepted || res[1].Outcome != hookd.Duplicate || res[2].Outcome != hookd.Conflict {
			t.Fatalf("results = %+v", res)
		}
		if res[1].EventID != a.Event.ID {
			t.Errorf("duplicate points at %s, want %s", res[1].EventID, a.Event.ID)
		}
		events, _, err := s.Events(ctx, hookd.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		mustDispatch(t, s, 1)
		jobs, _, _ := s.Jobs(ctx, hookd.JobFilter{})
		if len(events) != 1 || len(jobs) != 1 {
			t.Fatalf("%d events, %d jobs; want 1, 1", len(events), len(jobs))
		}
	})

	t.Run("ResultsInSubmissionOrder", func(t *testing.T) {
		s, _ := setup(t)
		held := Submission("m", "k", `{"a":1}`, 1)
		mustAccept(t, s, held)
		subs := []hookd.Submission{
			Submission("z", "k", `{}`, 1), Submission("m", "k", `{"a":2}`, 1), Submission("a", "k2", `{}`, 1),
			Submission("a", "k1", `{}`, 1), Submission("m", "k", `{"a":1}`, 1), Submission("a", "k1", `{}`, 1),
		}
		res := mustAccept(t, s, subs...)
		want := []hookd.Result{
			{Outcome: hookd.Accepted, EventID: subs[0].Event.ID}, {Outcome: hookd.Conflict, EventID: held.Event.ID},
			{Outcome: hookd.Accepted, EventID: subs[2].Event.ID}, {Outcome: hookd.Accepted, EventID: subs[3].Event.ID},
			{Outcome: hookd.Duplicate, EventID: held.Event.ID}, {Outcome: hookd.Duplicate, EventID: subs[3].Event.ID},
		}
		for i := range want {
			if res[i] != want[i] {
				t.Errorf("result %d = %+v, want %+v", i, res[i], want[i])
			}
		}
	})

	t.Run("AcceptNothing", func(t *testing.T) {
		s, ctx := setup(t)
		res, err := s.Accept(ctx, nil)
		if err != nil || len(res) != 0 {
			t.Fatalf("Accept(nil) = %v, %v; want no results, no error", res, err)
		}
	})

	t.Run("ExpiredKeyIsANewEvent", func(t *testing.T) {
		s, ctx := setup(t)
		old := Submission("svc", "k", `{"a":1}`, 1)
		old.Event.ReceivedAt = time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Microsecond)
		old.Event.ExpiresAt = old.Event.ReceivedAt.Add(time.Hour)
		mustAccept(t, s, old)
		fresh := Submission("svc", "k", `{"a":2}`, 1)
		res := mustAccept(t, s, fresh)
		if res[0].Outcome != hookd.Accepted || res[0].EventID != fresh.Event.ID {
			t.Fatalf("result = %+v, want a new accepted event", res[0])
		}
		ev, err := s.Event(ctx, fresh.Event.ID)
		if err != nil || string(ev.Body) != `{"a":2}` {
			t.Fatalf("event = %v, %v", ev, err)
		}
		if _, err := s.Event(ctx, old.Event.ID); hookd.ErrorCode(err) != hookd.ENotFound {
			t.Errorf("expired event still readable: %v", err)
		}
	})

	t.Run("FailingBatchStoresNothing", func(t *testing.T) {
		s, ctx := setup(t)
		a, b := Submission("svc", "k1", `{}`, 1), Submission("svc", "k2", `{}`, 1)
		b.Event.ID = a.Event.ID // a primary key violation fails the whole batch
		if _, err := s.Accept(ctx, []hookd.Submission{a, b}); err == nil {
			t.Fatal("Accept succeeded, want an error")
		}
		events, _, _ := s.Events(ctx, hookd.EventFilter{})
		jobs, _, _ := s.Jobs(ctx, hookd.JobFilter{})
		if len(events) != 0 || len(jobs) != 0 {
			t.Fatalf("%d events, %d jobs after a failed batch; want none", len(events), len(jobs))
		}
	})

	t.Run("CancelledContextStoresNothing", func(t *testing.T) {
		s, _ := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Accept(ctx, []hookd.Submission{Submission("svc", "k", `{}`, 1)}); err == nil {
			t.Fatal("Accept succeeded on a cancelled context")
		}
		events, _, _ := s.Events(context.Background(), hookd.EventFilter{})
		if len(events) != 0 {
			t.Fatalf("%d events stored", len(events))
		}
	})

	t.Run("EventsPagesAndFilters", func(t *testing.T) {
		s, ctx := setup(t)
		var ids []string
		for i := range 5 {
			svc := "a"
			if i%2 == 1 {
				svc = "b"
			}
			sub := Submission(svc, fmt.Sprint("k", i), `{}`, i%2) // service a: no jobs
			mustAccept(t, s, sub)
			ids = append(ids, sub.Event.ID)
		}
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			events, next, err := s.Events(ctx, hookd.EventFilter{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			if page < 2 && len(events) != 2 || page == 2 && (len(events) != 1 || next != "") {
				t.Fatalf("page %d: %d events, next %q", page, len(events), next)
			}
			for _, e := range events {
				got = append(got, e.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pages = %v, want newest first %v", got, want)
		}
		check := func(f hookd.EventFilter, want ...string) {
			t.Helper()
			events, _, err := s.Events(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range events {
				got = append(got, e.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Events(%+v) = %v, want %v", f, got, want)
			}
		}
		check(hookd.EventFilter{Service: "b"}, ids[3], ids[1])
		check(hookd.EventFilter{IdempotencyKey: "k2"}, ids[2])
		check(hookd.EventFilter{Service: "b", IdempotencyKey: "k2"})
		check(hookd.EventFilter{Status: hookd.EventPending}, ids[3], ids[1])
		check(hookd.EventFilter{Status: hookd.EventSucceeded}, ids[4], ids[2], ids[0])
		check(hookd.EventFilter{Status: hookd.EventFailed})
		check(hookd.EventFilter{Since: time.Now().Add(time.Hour)})
		if _, _, err := s.Events(ctx, hookd.EventFilter{Cursor: "%%%"}); hookd.ErrorCode(err) != hookd.EInvalid {
			t.Errorf("bad cursor: err = %v, want invalid", err)
		}
	})

	t.Run("EventsByStatusTimeAndKey", func(t *testing.T) {
		s, ctx := setup(t)
		base := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Microsecond)
		at := func(sub hookd.Submission, hours int) hookd.Submission {
			t := base.Add(time.Duration(hours) * time.Hour)
			sub.Event.ID, sub.Event.ReceivedAt = store.NewEventIDAt(t), t
			for i := range sub.Jobs {
				sub.Jobs[i].Args.EventID = sub.Event.ID
			}
			return sub
		}
		until := time.Now().Add(time.Hour).Truncate(time.Microsecond)
		claimed := func(sub hookd.Submission) hookd.Submission { sub.ClaimedUntil = until; return sub }
		// In received order: a succeeded, failed, retrying, succeeded,
		// failed, outbox (not yet dispatched), no jobs; two services.
		subs := []hookd.Submission{
			claimed(at(Submission("a", "k0", `{}`, 1), 0)),
			claimed(at(Submission("a", "k1", `{}`, 2), 10)),
			claimed(at(Submission("b", "k2", `{}`, 1), 20)),
			claimed(at(Submission("b", "k1", `{}`, 1), 30)),
			claimed(at(Submission("b", "k4", `{}`, 1), 40)),
			at(Submission("a", "k5", `{}`, 1), 50),
			at(Submission("a", "k6", `{}`, 0), 60),
		}
		mustAccept(t, s, subs...)
		retry := attempts(subs[2], "503")
		retry[0].RetryAt = time.Now().Add(time.Hour)
		oneFails := attempts(subs[1], "")
		oneFails[1].Error, oneFails[1].Permanent = "550", true
		var settlements []hookd.Settlement
		for i, a := range [][]hookd.Attempt{attempts(subs[0], ""), oneFails, retry, attempts(subs[3], ""), attempts(subs[4], "550")} {
			a[0].Permanent = a[0].Error != "" && a[0].RetryAt.IsZero()
			settlements = append(settlements, hookd.Settlement{Claim: hookd.Claim{EventID: subs[i].Event.ID, Until: until}, Attempts: a})
		}
		if got, err := s.Settle(ctx, settlements); err != nil || len(got) != 5 {
			t.Fatalf("Settle = %v, %v", got, err)
		}
		id := func(i ...int) []string {
			var out []string
			for _, n := range i {
				out = append(out, subs[n].Event.ID)
			}
			return out
		}
		list := func(f hookd.EventFilter) []string {
			t.Helper()
			var got []string
			for {
				events, next, err := s.Events(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range events {
					got = append(got, e.ID)
					if f.Status != "" && e.Status != f.Status {
						t.Errorf("Events(%+v) listed %s with status %s", f, e.ID, e.Status)
					}
				}
				if next == "" {
					return got
				}
				f.Cursor = next
			}
		}
		for _, c := range []struct {
			f    hookd.EventFilter
			want []string
		}{
			{hookd.EventFilter{Status: hookd.EventFailed, Limit: 1}, id(4, 1)},
			{hookd.EventFilter{Status: hookd.EventPending, Limit: 1}, id(5, 2)},
			{hookd.EventFilter{Status: hookd.EventSucceeded, Limit: 2}, id(6, 3, 0)},
			{hookd.EventFilter{Status: hookd.EventFailed, Service: "a"}, id(1)},
			{hookd.EventFilter{Status: hookd.EventFailed, Until: base.Add(20 * time.Hour)}, id(1)},
			{hookd.EventFilter{Status: hookd.EventFailed, Since: base.Add(20 * time.Hour), Limit: 1}, id(4)},
			{hookd.EventFilter{IdempotencyKey: "k1"}, id(3, 1)},
			{hookd.EventFilter{IdempotencyKey: "k1", Status: hookd.EventFailed}, id(1)},
			{hookd.EventFilter{Since: base.Add(20 * time.Hour), Limit: 2}, id(6, 5, 4, 3, 2)},
			{hookd.EventFilter{Until: base.Add(20 * time.Hour)}, id(1, 0)},
			{hookd.EventFilter{Since: base.Add(10 * time.Hour), Until: base.Add(40*time.Hour + time.Microsecond), Service: "b"}, id(4, 3, 2)},
			{hookd.EventFilter{Since: base.Add(10*time.Hour + time.Microsecond), Until: base.Add(40 * time.Hour)}, id(3, 2)},
			{hookd.EventFilter{Since: base.Add(-time.Hour), Until: base.Add(time.Hour), Status: hookd.EventSucceeded}, id(0)},
		} {
			if got := list(c.f); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("Events(%+v) = %v, want %v", c.f, got, c.want)
			}
		}
		// A replayed dead letter is pending again, no longer failed.
		if err := s.Replay(ctx, subs[4].Event.ID, subs[4].Jobs); err != nil {
			t.Fatal(err)
		}
		if got := list(hookd.EventFilter{Status: hookd.EventFailed}); fmt.Sprint(got) != fmt.Sprint(id(1)) {
			t.Errorf("failed after a replay = %v, want %v", got, id(1))
		}
		if got := list(hookd.EventFilter{Status: hookd.EventPending}); fmt.Sprint(got) != fmt.Sprint(id(5, 4, 2)) {
			t.Errorf("pending after a replay = %v, want %v", got, id(5, 4, 2))
		}
	})

	t.Run("JobsPagesAndFilters", func(t *testing.T) {
		s, ctx := setup(t)
		for i := range 3 {
			mustAccept(t, s, Submission("svc", fmt.Sprint("k", i), `{}`, 2))
		}
		mustDispatch(t, s, 3)
		var n int
		cursor := ""
		for {
			jobs, next, err := s.Jobs(ctx, hookd.JobFilter{Limit: 4, Cursor: cursor, State: hookd.JobPending})
			if err != nil {
				t.Fatal(err)
			}
			n += len(jobs)
			if next == "" {
				break
			}
			cursor = next
		}
		if n != 6 {
			t.Errorf("paged through %d pending jobs, want 6", n)
		}
		if jobs, _, _ := s.Jobs(ctx, hookd.JobFilter{State: hookd.JobFailed}); len(jobs) != 0 {
			t.Errorf("%d failed jobs, want 0", len(jobs))
		}
		if jobs, _, _ := s.Jobs(ctx, hookd.JobFilter{Service: "other"}); len(jobs) != 0 {
			t.Errorf("%d jobs of service other, want 0", len(jobs))
		}
		if _, _, err := s.Jobs(ctx, hookd.JobFilter{State: "bogus"}); hookd.ErrorCode(err) != hookd.EInvalid {
			t.Errorf("bogus state: err = %v, want invalid", err)
		}
	})

	t.Run("ReplayWaitsForOutstandingWork", func(t *testing.T) {
		s, ctx := setup(t)
		sub := Submission("svc", "k", `{}`, 1)
		mustAccept(t, s, sub)
		if err := s.Replay(ctx, sub.Event.ID, sub.Jobs); hookd.ErrorCode(err) != hookd.EConflict {
			t.Fatalf("replay with jobs in the outbox: %v, want conflict", err)
		}
		mustDispatch(t, s, 1)
		if err := s.Replay(ctx, sub.Event.ID, sub.Jobs); hookd.ErrorCode(err) != hookd.EConflict {
			t.Fatalf("replay with a queued job: %v, want conflict", err)
		}
		if err := s.Replay(ctx, "evt_nope", sub.Jobs); hookd.ErrorCode(err) != hookd.ENotFound {
			t.Fatalf("replay of an unknown event: %v, want not-found", err)
		}
	})

	t.Run("ConcurrentReplaysEnqueueOnce", func(t *testing.T) {
		s, ctx := setup(t)
		sub := Submission("svc", "k", `{}`, 0) // no work outstanding
		mustAccept(t, s, sub)
		jobs := Submission("svc", "k", `{}`, 2).Jobs
		for i := range jobs {
			jobs[i].Args.EventID = sub.Event.ID
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 8 {
			wg.Go(func() {
				err := s.Replay(ctx, sub.Event.ID, jobs)
				switch hookd.ErrorCode(err) {
				case "":
					mu.Lock()
					won++
					mu.Unlock()
				case hookd.EConflict:
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d replays won, want exactly 1", won)
		}
		mustDispatch(t, s, 1)
		ev, err := s.Event(ctx, sub.Event.ID)
		if err != nil || len(ev.Jobs) != 2 || ev.Jobs[0].ID == 0 || ev.Status != hookd.EventPending {
			t.Fatalf("after the replay: %v, jobs %s", err, jobsString(ev.Jobs))
		}
	})

	t.Run("DispatchMovesTheOutboxOnce", func(t *testing.T) {
		s, ctx := setup(t)
		withJobs, noop, other := Submission("svc", "k1", `{}`, 2), Submission("svc", "k2", `{}`, 0), Submission("svc", "k3", `{}`, 1)
		mustAccept(t, s, withJobs, noop, other)
		if jobs, _, _ := s.Jobs(ctx, hookd.JobFilter{}); len(jobs) != 0 {
			t.Fatalf("%d jobs queued before dispatch, want 0 (they wait in the outbox)", len(jobs))
		}
		ev, _ := s.Event(ctx, withJobs.Event.ID)
		if ev.Status != hookd.EventPending || len(ev.Jobs) != 2 || ev.Jobs[1].ActionIndex != 1 || ev.Jobs[1].State != hookd.JobPending {
			t.Fatalf("undispatched event: status %s, jobs %s", ev.Status, jobsString(ev.Jobs))
		}
		if events, _, _ := s.Events(ctx, hookd.EventFilter{Status: hookd.EventPending}); len(events) != 2 {
			t.Fatalf("%d pending events listed, want 2", len(events))
		}
		mustDispatch(t, s, 1, 1) // oldest first, limit respected
		mustDispatch(t, s, 1, 10)
		mustDispatch(t, s, 0, 10)
		jobs, _, _ := s.Jobs(ctx, hookd.JobFilter{})
		if len(jobs) != 3 {
			t.Fatalf("%d jobs after dispatch, want 3", len(jobs))
		}
		ev, _ = s.Event(ctx, withJobs.Event.ID)
		if ev.Status != hookd.EventPending || len(ev.Jobs) != 2 || ev.Jobs[0].ID == 0 || ev.Jobs[1].MaxAttempts != 4 {
			t.Fatalf("dispatched event: status %s, jobs %s", ev.Status, jobsString(ev.Jobs))
		}
	})

	t.Run("ConcurrentDispatchMovesEachEventOnce", func(t *testing.T) {
		s, ctx := setup(t)
		var subs []hookd.Submission
		for i := range 200 {
			subs = append(subs, Submission("svc", fmt.Sprint("k", i), `{}`, 1))
		}
		mustAccept(t, s, subs...)
		var wg sync.WaitGroup
		var mu sync.Mutex
		moved := 0
		for range 4 {
			wg.Go(func() {
				for {
					n, err := s.Dispatch(ctx, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if n == 0 {
						return
					}
					mu.Lock()
					moved += n
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		jobs, _, _ := s.Jobs(ctx, hookd.JobFilter{Limit: 500})
		if moved != 200 || len(jobs) != 200 {
			t.Fatalf("dispatched %d events into %d jobs, want 200 and 200", moved, len(jobs))
		}
	})

	t.Run("ClaimedOutboxWaitsForItsClaim", func(t *testing.T) {
		s, ctx := setup(t)
		claimed, free := Submission("svc", "k1", `{}`, 1), Submission("svc", "k2", `{}`, 1)
		claimed.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
		mustAccept(t, s, claimed, free)
		mustDispatch(t, s, 1) // only the unclaimed event
		if ev, _ := s.Event(ctx, claimed.Event.ID); ev.Status != hookd.EventPending || ev.Jobs[0].ID != 0 {
			t.Fatalf("claimed event after dispatch: status %s, jobs %s", ev.Status, jobsString(ev.Jobs))
		}
		// A renewed claim is a new claim: the old one no longer settles.
		old := hookd.Claim{EventID: claimed.Event.ID, Until: claimed.ClaimedUntil}
		until := old.Until.Add(time.Minute)
		renewed, err := s.RenewClaims(ctx, []hookd.Claim{old, {EventID: free.Event.ID, Until: old.Until}}, until)
		if err != nil || len(renewed) != 1 || renewed[0] != (hookd.Claim{EventID: old.EventID, Until: until}) {
			t.Fatalf("RenewClaims = %v, %v; want the claimed event's alone", renewed, err)
		}
		if got, err := s.Settle(ctx, []hookd.Settlement{{Claim: old, Attempts: attempts(claimed, "")}}); err != nil || len(got) != 0 {
			t.Fatalf("Settle with a stale claim = %v, %v; want nothing settled", got, err)
		}
		// Expired, the claim is the dispatchers': a late outcome is dropped.
		expired, err := s.RenewClaims(ctx, renewed, time.Now().Add(-time.Second).Truncate(time.Microsecond))
		if err != nil || len(expired) != 1 {
			t.Fatalf("RenewClaims into the past = %v, %v", expired, err)
		}
		mustDispatch(t, s, 1)
		if got, _ := s.Settle(ctx, []hookd.Settlement{{Claim: expired[0], Attempts: attempts(claimed, "")}}); len(got) != 0 {
			t.Fatalf("Settle after the claim expired = %v; want nothing settled: the queue has the work", got)
		}
		if jobs, _, _ := s.Jobs(ctx, hookd.JobFilter{}); len(jobs) != 2 {
			t.Fatalf("%d jobs queued, want 2 (one per event)", len(jobs))
		}
	})

	t.Run("ClaimDueTakesEachWaitingEventOnce", func(t *testing.T) {
		s, ctx := setup(t)
		waiting, claimed, noop := Submission("svc", "k1", `{"n":1}`, 2), Submission("svc", "k2", `{}`, 1), Submission("svc", "k3", `{}`, 0)
		claimed.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
		mustAccept(t, s, waiting, claimed, noop)
		until := time.Now().Add(time.Minute).Truncate(time.Microsecond)
		got, err := s.ClaimDue(ctx, 10, until)
		if err != nil || len(got) != 1 {
			t.Fatalf("ClaimDue = %d, %v; want the one unclaimed event with jobs", len(got), err)
		}
		ev := got[0].Event
		if ev.ID != waiting.Event.ID || string(ev.Body) != `{"n":1}` || ev.Header.Get("Content-Type") != "application/json" ||
			len(got[0].Jobs) != 2 || got[0].Jobs[1].Args.ActionIndex != 1 || !got[0].ClaimedUntil.Equal(until) {
			t.Fatalf("claimed %+v, jobs %+v", ev, got[0].Jobs)
		}
		if again, _ := s.ClaimDue(ctx, 10, until); len(again) != 0 {
			t.Fatalf("a second ClaimDue took %d events; they are claimed", len(again))
		}
		mustDispatch(t, s, 0)
		if settled, err := s.Settle(ctx, []hookd.Settlement{{Claim: hookd.Claim{EventID: ev.ID, Until: until},
			Attempts: attempts(got[0], "")}}); err != nil || len(settled) != 1 {
			t.Fatalf("Settle of a claimed event = %v, %v", settled, err)
		}
		// An expired claim is due again.
		if _, err := s.RenewClaims(ctx, []hookd.Claim{{EventID: claimed.Event.ID, Until: claimed.ClaimedUntil}},
			time.Now().Add(-time.Second).Truncate(time.Microsecond)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ClaimDue(ctx, 10, until); len(got) != 1 || got[0].Event.ID != claimed.Event.ID {
			t.Fatalf("ClaimDue after the claim expired took %d events; want the expired one", len(got))
		}

		// Concurrent claimers take each event once.
		var subs []hookd.Submission
		for i := range 100 {
			subs = append(subs, Submission("svc", fmt.Sprint("c", i), `{}`, 1))
		}
		mustAccept(t, s, subs...)
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					got, err := s.ClaimDue(ctx, 7, until)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, sub := range got {
						seen[sub.Event.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != 100 {
			t.Errorf("%d events claimed, want 100", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("event %s claimed %d times", id, n)
			}
		}
	})

	t.Run("ReplayedEventSettlesAfterItsQueuedJobs", func(t *testing.T) {
		s, ctx := setup(t)
		sub := Submission("svc", "k1", `{}`, 1)
		sub.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
		mustAccept(t, s, sub)
		failed := attempts(sub, "550 no such user")
		failed[0].Permanent = true
		if got, err := s.Settle(ctx, []hookd.Settlement{{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil},
			Attempts: failed}}); err != nil || len(got) != 1 {
			t.Fatalf("Settle = %v, %v", got, err)
		}
		if err := s.Replay(ctx, sub.Event.ID, sub.Jobs); err != nil {
			t.Fatal(err)
		}
		until := time.Now().Add(time.Minute).Truncate(time.Microsecond)
		got, err := s.ClaimDue(ctx, 10, until)
		if err != nil || len(got) != 1 || !got[0].Replayed {
			t.Fatalf("ClaimDue = %+v, %v; want the replayed event, marked so", got, err)
		}
		if _, err := s.Settle(ctx, []hookd.Settlement{{Claim: hookd.Claim{EventID: sub.Event.ID, Until: until},
			Attempts: attempts(got[0], ""), Replayed: true}}); err != nil {
			t.Fatal(err)
		}
		ev, _ := s.Event(ctx, sub.Event.ID)
		if ev.Status != hookd.EventSucceeded || len(ev.Jobs) != 2 || ev.Jobs[1].ID <= ev.Jobs[0].ID || ev.Jobs[1].State != hookd.JobSucceeded {
			t.Fatalf("after the replay's success: status %s, jobs %s; want it queued after the failure", ev.Status, jobsString(ev.Jobs))
		}
		if events, _, _ := s.Events(ctx, hookd.EventFilter{Status: hookd.EventSucceeded}); len(events) != 1 {
			t.Errorf("%d succeeded events listed, want 1", len(events))
		}
	})

	t.Run("SettleRecordsFirstAttempts", func(t *testing.T) {
		s, ctx := setup(t)
		until := time.Now().Add(time.Hour).Truncate(time.Microsecond)
		var subs []hookd.Submission
		for _, key := range []string{"ok", "retry", "permanent", "exhausted"} {
			sub := Submission("svc", key, `{}`, 1)
			sub.ClaimedUntil = until
			subs = append(subs, sub)
		}
		subs[3].Jobs[0].MaxAttempts = 1
		mustAccept(t, s, subs...)
		retry := attempts(subs[1], "503 Service Unavailable")
		retry[0].RetryAt = time.Now().Add(time.Hour)
		permanent := attempts(subs[2], "550 5.1.1 user unknown")
		permanent[0].Permanent = true
		var settlements []hookd.Settlement
		for i, a := range [][]hookd.Attempt{attempts(subs[0], ""), retry, permanent, attempts(subs[3], "connection refused")} {
			settlements = append(settlements, hookd.Settlement{Claim: hookd.Claim{EventID: subs[i].Event.ID, Until: until}, Attempts: a})
		}
		got, err := s.Settle(ctx, settlements)
		if err != nil || len(got) != 4 {
			t.Fatalf("Settle = %v, %v; want 4 settled", got, err)
		}
		mustDispatch(t, s, 0) // the outboxes are empty
		for i, want := range []struct {
			status hookd.EventStatus
			state  hookd.JobState
			err    string
		}{
			{hookd.EventSucceeded, hookd.JobSucceeded, ""},
			{hookd.EventPending, hookd.JobRetrying, "503 Service Unavailable"},
			{hookd.EventFailed, hookd.JobFailed, "550 5.1.1 user unknown"},
			{hookd.EventFailed, hookd.JobFailed, "connection refused"},
		} {
			ev, err := s.Event(ctx, subs[i].Event.ID)
			// A success needs no queue job: it is settled in the event's
			// row; a failure is a queued job, with its retries.
			queued := want.err != ""
			if err != nil || ev.Status != want.status || len(ev.Jobs) != 1 || (ev.Jobs[0].ID != 0) != queued ||
				ev.Jobs[0].Settled == queued || ev.Jobs[0].State != want.state || ev.Jobs[0].Attempts != 1 ||
				ev.Jobs[0].LastError != want.err {
				t.Errorf("%s: %v, status %s, jobs %s; want %s, one %s job with attempt 1 and error %q",
					subs[i].Event.IdempotencyKey, err, ev.Status, jobsString(ev.Jobs), want.status, want.state, want.err)
			}
		}
		if failed, _, _ := s.Jobs(ctx, hookd.JobFilter{State: hookd.JobFailed}); len(failed) != 2 {
			t.Errorf("%d dead letters, want 2", len(failed))
		}
		// The listing's status (computed by the backend's SQL from the
		// queue's states) agrees with the event's (hookd.StatusOf).
		for status, want := range map[hookd.EventStatus]int{hookd.EventSucceeded: 1, hookd.EventPending: 1, hookd.EventFailed: 2} {
			if events, _, _ := s.Events(ctx, hookd.EventFilter{Status: status}); len(events) != want {
				t.Errorf("%d %s events listed, want %d", len(events), status, want)
			}
		}
		// Replayed, the settled success is followed by a queued job, which
		// is the one that tells the action's state.
		if err := s.Replay(ctx, subs[0].Event.ID, subs[0].Jobs); err != nil {
			t.Fatalf("replay of a settled success: %v", err)
		}
		mustDispatch(t, s, 1)
		if ev, _ := s.Event(ctx, subs[0].Event.ID); len(ev.Jobs) != 2 || ev.Status != hookd.EventPending ||
			!ev.Jobs[0].Settled || ev.Jobs[1].ID == 0 {
			t.Errorf("after replaying a settled success: status %s, jobs %s", ev.Status, jobsString(ev.Jobs))
		}
		// A settled event replays like any other.
		if err := s.Replay(ctx, subs[2].Event.ID, subs[2].Jobs); err != nil {
			t.Errorf("replay of a settled, failed event: %v", err)
		}
	})

	t.Run("AttemptHistory", func(t *testing.T) {
		s, ctx := setup(t)
		until := time.Now().Add(time.Hour).Truncate(time.Microsecond)
		sub := Submission("svc", "k", `{}`, 2)
		sub.ClaimedUntil = until
		mustAccept(t, s, sub)
		start := time.Now().UTC().Truncate(time.Microsecond)
		// Job 0's first attempt succeeds, with a long reply: the event's
		// row keeps its start. Job 1's fails and retries.
		ok := hookd.Attempt{Job: sub.Jobs[0], StartedAt: start, FinishedAt: start.Add(1500 * time.Microsecond),
			Reply: hookd.Reply{Code: 250, Text: "2.0.0 Ok: queued as " + strings.Repeat("é", 100)}}
		failed := hookd.Attempt{Job: sub.Jobs[1], StartedAt: start.Add(time.Millisecond), FinishedAt: start.Add(3 * time.Millisecond),
			Reply: hookd.Reply{Code: 503, Text: "<h1>down for maintenance</h1>"}, Error: "forward: POST http://x: 503 Service Unavailable",
			RetryAt: time.Now().Add(time.Hour)}
		if got, err := s.Settle(ctx, []hookd.Settlement{{Claim: hookd.Claim{EventID: sub.Event.ID, Until: until},
			Attempts: []hookd.Attempt{ok, failed}}}); err != nil || len(got) != 1 {
			t.Fatalf("Settle = %v, %v", got, err)
		}
		ev, err := s.Event(ctx, sub.Event.ID)
		if err != nil || len(ev.Jobs) != 2 || !ev.Jobs[0].Settled || ev.Jobs[1].ID == 0 {
			t.Fatalf("Event = %v, jobs %s; want the success settled and the failure queued", err, jobsString(ev.Jobs))
		}
		// River runs job 1 twice more: a failure without an answer, then
		// a success.
		jobID := ev.Jobs[1].ID
		second := hookd.AttemptRecord{Number: 2, StartedAt: start.Add(time.Minute), Duration: 10 * time.Second,
			Outcome: hookd.AttemptRetrying, Error: "forward: POST http://x: context deadline exceeded"}
		third := hookd.AttemptRecord{Number: 3, StartedAt: start.Add(2 * time.Minute), Duration: 2 * time.Millisecond,
			Outcome: hookd.AttemptSucceeded, Code: 200, Reply: "ok\x00" + strings.Repeat("x", 300)}
		for _, r := range []hookd.AttemptRecord{second, third} {
			if err := s.RecordAttempt(ctx, sub.Jobs[1].Args, jobID, r); err != nil {
				t.Fatalf("RecordAttempt(%d): %v", r.Number, err)
			}
		}
		ev, err = s.Event(ctx, sub.Event.ID)
		if err != nil || len(ev.Jobs) != 2 {
			t.Fatalf("Event = %v, jobs %s", err, jobsString(ev.Jobs))
		}
		// The settled success keeps 64 bytes of its reply, whole runes.
		settledReply := "2.0.0 Ok: queued as " + strings.Repeat("é", 22)
		want := [][]hookd.AttemptRecord{
			{{Number: 1, StartedAt: start, Duration: 1500 * time.Microsecond, Outcome: hookd.AttemptSucceeded, Code: 250, Reply: settledReply}},
			{
				{Number: 1, StartedAt: failed.StartedAt, Duration: 2 * time.Millisecond, Outcome: hookd.AttemptRetrying, Code: 503,
					Reply: "<h1>down for maintenance</h1>", Error: failed.Error},
				second,
				// NUL is replaced, the reply cut to 256 bytes.
				{Number: 3, StartedAt: third.StartedAt, Duration: third.Duration, Outcome: hookd.AttemptSucceeded, Code: 200,
					Reply: "ok\uFFFD" + strings.Repeat("x", 256-len("ok\uFFFD"))},
			},
		}
		for i, j := range ev.Jobs {
			if len(j.History) != len(want[i]) {
				t.Errorf("job %d: history %+v, want %d attempts", i, j.History, len(want[i]))
				continue
			}
			for n, got := range j.History {
				if w := want[i][n]; got.Number != w.Number || !got.StartedAt.Equal(w.StartedAt) || got.Duration != w.Duration ||
					got.Outcome != w.Outcome || got.Code != w.Code || got.Reply != w.Reply || got.Error != w.Error {
					t.Errorf("job %d attempt %d:\n got %+v\nwant %+v", i, n+1, got, w)
				}
			}
		}
	})

	t.Run("ReplayOfOneActionBesideAnotherRetrying", func(t *testing.T) {
		s, ctx := setup(t)
		sub := Submission("svc", "k", `{}`, 2)
		sub.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
		mustAccept(t, s, sub)
		failed, retrying := attempts(sub, "550 no such user"), attempts(sub, "503 busy")
		failed[0].Permanent, retrying[1].RetryAt = true, time.Now().Add(time.Hour)
		if got, err := s.Settle(ctx, []hookd.Settlement{{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil},
			Attempts: []hookd.Attempt{failed[0], retrying[1]}}}); err != nil || len(got) != 1 {
			t.Fatalf("Settle = %v, %v", got, err)
		}
		if err := s.Replay(ctx, sub.Event.ID, sub.Jobs[1:]); hookd.ErrorCode(err) != hookd.EConflict {
			t.Fatalf("replay of the action waiting to retry: %v, want conflict", err)
		}
		if err := s.Replay(ctx, sub.Event.ID, sub.Jobs[:1]); err != nil {
			t.Fatalf("replay of the failed action beside one retrying: %v", err)
		}
		ev, _ := s.Event(ctx, sub.Event.ID)
		var retryID int64
		for _, j := range ev.Jobs {
			if j.State == hookd.JobRetrying {
				retryID = j.ID
			}
		}
		if retryID == 0 {
			t.Fatalf("no job retrying: %s", jobsString(ev.Jobs))
		}
		if err := s.RetryNow(ctx, []int64{retryID}); err != nil {
			t.Fatalf("RetryNow: %v", err)
		}
	})

	t.Run("BacklogCountsWaitingWork", func(t *testing.T) {
		s, ctx := setup(t)
		if b, err := s.Backlog(ctx); err != nil || b != (hookd.Backlog{}) {
			t.Fatalf("empty store: Backlog = %+v, %v; want nothing waiting", b, err)
		}
		old := Submission("svc", "old", `{}`, 1)
		old.Event.ReceivedAt = old.Event.ReceivedAt.Add(-time.Hour)
		mustAccept(t, s, old, Submission("svc", "new", `{}`, 2))
		b, err := s.Backlog(ctx)
		if err != nil || b.Outbox != 2 || b.Queued != 0 || b.Retrying != 0 || !b.Oldest.Equal(old.Event.ReceivedAt) {
			t.Fatalf("two events in their outboxes: Backlog = %+v, %v; want 2 in the outbox since %v", b, err, old.Event.ReceivedAt)
		}
		before := time.Now()
		mustDispatch(t, s, 2)
		after := time.Now()
		b, err = s.Backlog(ctx)
		// The jobs wait since they were queued; a second either side
		// allows for the database's clock and rounding.
		if err != nil || b.Outbox != 0 || b.Queued != 3 || b.Retrying != 0 ||
			b.Oldest.Before(before.Add(-time.Second)) || b.Oldest.After(after.Add(time.Second)) {
			t.Fatalf("three jobs queued: Backlog = %+v, %v; want 3 queued since about %v", b, err, before)
		}

		// First attempts made in memory: one job waits to retry, one is
		// due again at once (available, attempt 1), one succeeded.
		sub := Submission("svc", "claimed", `{}`, 3)
		sub.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
		mustAccept(t, s, sub)
		if b, err := s.Backlog(ctx); err != nil || b.Outbox != 1 {
			t.Fatalf("a claimed event: Backlog = %+v, %v; want 1 in the outbox", b, err)
		}
		a := attempts(sub, "503 busy")
		a[0].RetryAt = time.Now().Add(time.Hour)
		a[1].RetryAt = time.Now().Add(time.Second)
		a[2].Error = ""
		if got, err := s.Settle(ctx, []hookd.Settlement{{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil}, Attempts: a}}); err != nil || len(got) != 1 {
			t.Fatalf("Settle = %v, %v", got, err)
		}
		if b, err := s.Backlog(ctx); err != nil || b.Outbox != 0 || b.Queued != 3 || b.Retrying != 2 {
			t.Fatalf("after the first attempts: Backlog = %+v, %v; want 3 queued, 2 retrying", b, err)
		}
	})

	t.Run("PruneDeletesOnlyExpiredAndDone", func(t *testing.T) {
		s, ctx := setup(t)
		// Received two days ago, keys remembered for a day: expired. The
		// zero retention (a service not configured) deletes them once
		// their work all succeeded.
		done, done2 := Received(Submission("svc", "done", `{}`, 0), 48*time.Hour, 24*time.Hour), Received(Submission("svc", "done2", `{}`, 0), 48*time.Hour, 24*time.Hour)
		working, live := Received(Submission("svc", "working", `{}`, 1), 48*time.Hour, 24*time.Hour), Submission("svc", "live", `{}`, 0)
		mustAccept(t, s, done, done2, working, live)
		mustDispatch(t, s, 1) // working's job is queued, unfinished
		// Each event has an attempt recorded: the pruned ones' go with them.
		counter, ok := s.(interface {
			AttemptRows(ctx context.Context, eventID string) (int, error)
		})
		if !ok {
			t.Fatal("the store does not count its attempt rows: give it AttemptRows in an export_test.go")
		}
		for _, sub := range []hookd.Submission{done, done2, working, live} {
			args := hookd.JobArgs{EventID: sub.Event.ID, Service: "svc", Action: hookd.ActionEmail}
			r := hookd.AttemptRecord{Number: 1, StartedAt: time.Now(), Outcome: hookd.AttemptSucceeded, Code: 250}
			if err := s.RecordAttempt(ctx, args, 1, r); err != nil {
				t.Fatal(err)
			}
		}
		now, oldest := time.Now(), min(done.Event.ID, done2.Event.ID)
		res, err := s.Prune(ctx, hookd.PruneRequest{Now: now, Limit: 1})
		if err != nil || res.Deleted != 1 || res.Done || res.Next.Service != "svc" || res.Next.After != oldest {
			t.Fatalf("Prune(limit 1) = %+v, %v; want 1 deleted, the pass to go on after %s", res, err, oldest)
		}
		res, err = s.Prune(ctx, hookd.PruneRequest{Now: now, Limit: 100, From: res.Next})
		if err != nil || res.Deleted != 1 || !res.Done {
			t.Fatalf("Prune = %+v, %v; want the other expired, succeeded event, and the pass done", res, err)
		}
		for _, sub := range []hookd.Submission{done, done2} {
			if _, err := s.Event(ctx, sub.Event.ID); hookd.ErrorCode(err) != hookd.ENotFound {
				t.Errorf("%s: %v, want pruned", sub.Event.IdempotencyKey, err)
			}
		}
		for _, sub := range []hookd.Submission{working, live} {
			if _, err := s.Event(ctx, sub.Event.ID); err != nil {
				t.Errorf("%s was pruned: %v", sub.Event.IdempotencyKey, err)
			}
		}
		if jobs, _, _ := s.Jobs(ctx, hookd.JobFilter{}); len(jobs) != 1 {
			t.Errorf("%d jobs left, want working's 1", len(jobs))
		}
		for sub, want := range map[*hookd.Submission]int{&done: 0, &done2: 0, &working: 1, &live: 1} {
			if n, err := counter.AttemptRows(ctx, sub.Event.ID); err != nil || n != want {
				t.Errorf("%s: %d attempt rows, %v; want %d", sub.Event.IdempotencyKey, n, err, want)
			}
		}
		if n := prunePass(t, s, hookd.PruneRequest{Now: now, Limit: 100}); n != 0 {
			t.Errorf("a second pass pruned %d, want 0", n)
		}
	})

	t.Run("PruneRetention", func(t *testing.T) {
		s, ctx := setup(t)
		const ttl = time.Hour
		retention := map[string]hookd.Retention{"short": {Keep: ttl}, "long": {Keep: 72 * ttl}}
		// Each settled after a first attempt that succeeded.
		shortOld := Received(Submission("short", "old", `{}`, 1), 2*ttl, ttl)
		shortNew := Received(Submission("short", "new", `{}`, 1), ttl/2, ttl)
		longOld := Received(Submission("long", "old", `{}`, 1), 100*ttl, ttl)
		longMid := Received(Submission("long", "mid", `{}`, 1), 2*ttl, ttl)
		// Past its service's retention, but its key was stored to be
		// remembered longer (the TTL was longer then): kept until it expires.
		shortKey := Received(Submission("short", "key", `{}`, 1), 2*ttl, 3*ttl)
		all := []hookd.Submission{shortOld, shortNew, longOld, longMid, shortKey}
		for _, sub := range all {
			settle(t, s, sub, "", time.Time{})
		}
		if n := prunePass(t, s, hookd.PruneRequest{Now: time.Now(), Retention: retention, Limit: 2}); n != 2 {
			t.Fatalf("pruned %d, want 2 (short/old, long/old)", n)
		}
		for _, sub := range all {
			_, err := s.Event(ctx, sub.Event.ID)
			if gone := hookd.ErrorCode(err) == hookd.ENotFound; gone != (sub.Event == shortOld.Event || sub.Event == longOld.Event) {
				t.Errorf("%s/%s: pruned %v (%v)", sub.Event.Service, sub.Event.IdempotencyKey, gone, err)
			}
		}
		if n := prunePass(t, s, hookd.PruneRequest{Now: time.Now().Add(2 * ttl), Retention: retention, Limit: 100}); n != 2 {
			t.Fatalf("two hours on, pruned %d, want 2 (short/new, short/key)", n)
		}
	})

	t.Run("PruneKeepFailed", func(t *testing.T) {
		s, ctx := setup(t)
		const ttl = time.Hour
		retention := map[string]hookd.Retention{"keep": {Keep: ttl}, "drop": {Keep: ttl, DeleteFailed: true}}
		var kept, pruned []hookd.Submission
		for _, svc := range []string{"keep", "drop"} {
			failed := Received(Submission(svc, "failed", `{}`, 2), 2*ttl, ttl)
			settle(t, s, failed, "550 no such user", time.Time{}) // both jobs failed for good
			retrying := Received(Submission(svc, "retrying", `{}`, 1), 2*ttl, ttl)
			settle(t, s, retrying, "503 busy", time.Now().Add(time.Hour))
			outbox := Received(Submission(svc, "outbox", `{}`, 1), 2*ttl, ttl)
			mustAccept(t, s, outbox)
			succeeded := Received(Submission(svc, "succeeded", `{}`, 1), 2*ttl, ttl)
			settle(t, s, succeeded, "", time.Time{})
			kept, pruned = append(kept, retrying, outbox), append(pruned, succeeded)
			if svc == "keep" {
				kept = append(kept, failed)
			} else {
				pruned = append(pruned, failed)
			}
		}
		if n := prunePass(t, s, hookd.PruneRequest{Now: time.Now(), Retention: retention, Limit: 100}); n != len(pruned) {
			t.Fatalf("pruned %d, want %d", n, len(pruned))
		}
		for _, sub := range pruned {
			if _, err := s.Event(ctx, sub.Event.ID); hookd.ErrorCode(err) != hookd.ENotFound {
				t.Errorf("%s/%s: %v, want pruned", sub.Event.Service, sub.Event.IdempotencyKey, err)
			}
		}
		for _, sub := range kept {
			if _, err := s.Event(ctx, sub.Event.ID); err != nil {
				t.Errorf("%s/%s was pruned: %v", sub.Event.Service, sub.Event.IdempotencyKey, err)
			}
		}
		// The dropped dead letter's jobs went with it; the kept one's stay.
		failed, _, err := s.Jobs(ctx, hookd.JobFilter{State: hookd.JobFailed})
		if err != nil || len(failed) != 2 || failed[0].Service != "keep" || failed[1].Service != "keep" {
			t.Errorf("failed jobs left = %s, %v; want keep/failed's 2", jobsString(failed), err)
		}
	})

	t.Run("PruneWalksPastKeptEvents", func(t *testing.T) {
		s, ctx := setup(t)
		// Dead letters first, many more than a call looks at: the pass
		// goes on from where each call stopped, and reaches the events
		// behind them.
		var dead []hookd.Submission
		for i := range 30 {
			sub := Received(Submission("svc", fmt.Sprint("dead-", i), `{}`, 1), 3*time.Hour, time.Hour)
			sub.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
			dead = append(dead, sub)
		}
		mustAccept(t, s, dead...)
		var settlements []hookd.Settlement
		for _, sub := range dead {
			settlements = append(settlements, hookd.Settlement{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil},
				Attempts: attempts(sub, "550 no such user")})
		}
		if got, err := s.Settle(ctx, settlements); err != nil || len(got) != len(dead) {
			t.Fatalf("Settle = %d, %v", len(got), err)
		}
		done := Received(Submission("svc", "done", `{}`, 0), 2*time.Hour, time.Hour)
		mustAccept(t, s, done)
		r := hookd.PruneRequest{Now: time.Now(), Limit: 1}
		calls := 0
		for deleted := 0; ; calls++ {
			res, err := s.Prune(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if deleted += res.Deleted; res.Done {
				if deleted != 1 {
					t.Fatalf("the pass deleted %d, want 1", deleted)
				}
				break
			}
			if calls > 100 {
				t.Fatalf("the pass is not done after %d calls: %+v", calls, res)
			}
			r.From = res.Next
		}
		if calls < 2 {
			t.Errorf("one call looked at all %d events; want a bounded look (a few times its limit)", len(dead)+1)
		}
		if _, err := s.Event(ctx, done.Event.ID); hookd.ErrorCode(err) != hookd.ENotFound {
			t.Errorf("done: %v, want pruned", err)
		}
	})

	t.Run("StatusFollowsTheWork", func(t *testing.T) {
		s, _ := setup(t)
		runStatus(t, s)
	})

	t.Run("StatusListingMergesServices", func(t *testing.T) {
		s, _ := setup(t)
		runStatusPages(t, s)
	})

	t.Run("Ping", func(t *testing.T) {
		s, ctx := setup(t)
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the first writes the row, the second updates it
			if err := s.Heartbeat(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// Submission returns a submission for service and key with body and n email
// jobs.
func Submission(service, key, body string, n int) hookd.Submission {
	now := time.Now().UTC().Truncate(time.Microsecond)
	sum := sha256.Sum256([]byte(body))
	ev := &hookd.Event{
		ID:             store.NewEventIDAt(now),
		Service:        service,
		IdempotencyKey: key,
		PayloadHash:    sum[:],
		Body:           []byte(body),
		Header:         http.Header{"Content-Type": {"application/json"}},
		ReceivedAt:     now,
		ExpiresAt:      now.Add(7 * 24 * time.Hour),
	}
	var jobs []hookd.NewJob
	for i := range n {
		jobs = append(jobs, hookd.NewJob{
			Args:        hookd.JobArgs{EventID: ev.ID, Service: service, ActionIndex: i, Action: hookd.ActionEmail},
			MaxAttempts: 4,
		})
	}
	return hookd.Submission{Event: ev, Jobs: jobs}
}

// Received returns sub as received ago, its key remembered for ttl: its
// ID made from that time, as ingest makes it.
func Received(sub hookd.Submission, ago, ttl time.Duration) hookd.Submission {
	ev := *sub.Event
	ev.ReceivedAt = ev.ReceivedAt.Add(-ago)
	ev.ExpiresAt = ev.ReceivedAt.Add(ttl)
	ev.ID = store.NewEventIDAt(ev.ReceivedAt)
	sub.Event = &ev
	sub.Jobs = slices.Clone(sub.Jobs)
	for i := range sub.Jobs {
		sub.Jobs[i].Args.EventID = ev.ID
	}
	return sub
}

// settle accepts sub claimed and settles its first attempts: succeeded
// when errText is "", else failed, to retry at retryAt (zero: for good).
func settle(t *testing.T, s hookd.Store, sub hookd.Submission, errText string, retryAt time.Time) {
	t.Helper()
	sub.ClaimedUntil = time.Now().Add(time.Hour).Truncate(time.Microsecond)
	mustAccept(t, s, sub)
	a := attempts(sub, errText)
	for i := range a {
		a[i].RetryAt = retryAt
	}
	if got, err := s.Settle(context.Background(), []hookd.Settlement{{Claim: hookd.Claim{EventID: sub.Event.ID, Until: sub.ClaimedUntil},
		Attempts: a}}); err != nil || len(got) != 1 {
		t.Fatalf("Settle = %v, %v", got, err)
	}
}

// prunePass runs a pruning pass from r (a call, then one from each
// result's Next until one is Done) and returns how many it deleted.
func prunePass(t *testing.T, s hookd.Store, r hookd.PruneRequest) int {
	t.Helper()
	deleted := 0
	for range 1000 {
		res, err := s.Prune(context.Background(), r)
		if err != nil {
			t.Fatalf("Prune: %v", err)
		}
		if deleted += res.Deleted; res.Done {
			return deleted
		}
		r.From = res.Next
	}
	t.Fatalf("the pass is not done after 1000 calls")
	return 0
}

// attempts returns a first attempt, failed with errText or succeeded when
// it is "", for each job of sub.
func attempts(sub hookd.Submission, errText string) []hookd.Attempt {
	now := time.Now()
	var out []hookd.Attempt
	for _, j := range sub.Jobs {
		out = append(out, hookd.Attempt{Job: j, StartedAt: now.Add(-time.Millisecond), FinishedAt: now, Error: errText})
	}
	return out
}

func mustAccept(t *testing.T, s hookd.Store, subs ...hookd.Submission) []hookd.Result {
	t.Helper()
	res, err := s.Accept(context.Background(), subs)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if len(res) != len(subs) {
		t.Fatalf("Accept returned %d results for %d submissions", len(res), len(subs))
	}
	return res
}

// mustDispatch dispatches until the outbox is empty, or once with the
// given limit, and checks how many events moved.
func mustDispatch(t *testing.T, s hookd.Store, want int, limit ...int) {
	t.Helper()
	if len(limit) > 0 {
		n, err := s.Dispatch(context.Background(), limit[0])
		if err != nil || n != want {
			t.Fatalf("Dispatch(%d) = %d, %v; want %d", limit[0], n, err, want)
		}
		return
	}
	total := 0
	for {
		n, err := s.Dispatch(context.Background(), 100)
		if err != nil {
			t.Fatalf("Dispatch: %v", err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != want {
		t.Fatalf("dispatched %d events, want %d", total, want)
	}
}

func jobsString(jobs []*hookd.Job) string {
	var s string
	for _, j := range jobs {
		s += fmt.Sprintf("%+v ", *j)
	}
	return s
}
