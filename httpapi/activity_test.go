package httpapi

import (
	"testing"
	"time"
)

func TestActivityCountsTheLastHourByMinute(t *testing.T) {
	a := NewActivity()
	now := time.Date(2026, 1, 31, 14, 5, 30, 0, time.UTC)
	a.accepted(AcceptedEvent{ID: "e1", Service: "shop", ReceivedAt: now})
	a.count("shop", "duplicate", now)
	a.count("shop", "rejected", now.Add(-2*time.Minute))
	a.count("shop", "accepted", now.Add(-61*time.Minute)) // gone from the hour
	a.count("crm", "rejected", now.Add(-59*time.Minute))

	hour := a.LastHour(now)
	shop := hour["shop"]
	if len(shop) != 60 || shop[59] != (Counts{Accepted: 1, Duplicate: 1}) || shop[57] != (Counts{Rejected: 1}) {
		t.Fatalf("shop = %v; want this minute 1 accepted and 1 duplicate, two minutes ago 1 rejected", shop)
	}
	total := Counts{}
	for _, c := range shop {
		total.Accepted += c.Accepted
	}
	if total.Accepted != 1 {
		t.Errorf("shop accepted %d in the hour; the one from 61 minutes ago must be gone", total.Accepted)
	}
	if crm := hour["crm"]; crm == nil || crm[0] != (Counts{Rejected: 1}) {
		t.Errorf("crm = %v; want 59 minutes ago, the oldest minute, 1 rejected", crm)
	}
	// An hour later the slots are reused, not added to.
	a.count("shop", "accepted", now.Add(time.Hour))
	if got := a.LastHour(now.Add(time.Hour))["shop"][59]; got != (Counts{Accepted: 1}) {
		t.Errorf("a slot reused an hour later = %v; want only the new count", got)
	}
}

func TestActivityFeedsWatchersOnly(t *testing.T) {
	a := NewActivity()
	ev := AcceptedEvent{ID: "e1", Service: "shop", ReceivedAt: time.Now()}
	a.accepted(ev) // nobody watches: nothing kept, nothing blocks
	events, stop := a.Watch()
	a.accepted(ev)
	select {
	case got := <-events:
		if got != ev {
			t.Errorf("watched %v, want %v", got, ev)
		}
	default:
		t.Fatal("the watcher got nothing")
	}
	if len(events) != 0 {
		t.Errorf("the watcher got %d events from before it watched", len(events))
	}
	stop()
	stop() // twice is harmless
	for range cap(events) + 1 {
		a.accepted(ev) // no longer delivered, and never blocks
	}
	if len(events) != 0 || a.watchers.Load() != 0 {
		t.Errorf("after stop: %d events delivered, %d watchers", len(events), a.watchers.Load())
	}
	var nilActivity *Activity
	nilActivity.accepted(ev) // ingest without a dashboard
}
