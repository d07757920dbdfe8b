package admin

import (
	"net/url"
	"strconv"
	"time"

	"github.com/hookd/hookd"
)

// MaxLimit is the most events or jobs one page lists, from the API
// (?limit=) or the CLI (--limit).
const MaxLimit = 500

// ValidLimit reports whether n is a page size the API and the CLI accept.
func ValidLimit(n int) bool { return n >= 1 && n <= MaxLimit }

// ValidEventStatus reports whether s may select events: empty (any),
// pending, succeeded or failed.
func ValidEventStatus(s hookd.EventStatus) bool {
	switch s {
	case "", hookd.EventPending, hookd.EventSucceeded, hookd.EventFailed:
		return true
	}
	return false
}

// ParseLimit reads the API's limit parameter; 0 when there is none.
func ParseLimit(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || !ValidLimit(n) {
		return 0, hookd.Errorf(hookd.EInvalid, "limit: must be a whole number from 1 to %d", MaxLimit)
	}
	return n, nil
}

// ParseEventFilter reads the API's parameters for listing events: service,
// status, idempotency_key, limit and cursor.
func ParseEventFilter(q url.Values) (hookd.EventFilter, error) {
	limit, err := ParseLimit(q)
	if err != nil {
		return hookd.EventFilter{}, err
	}
	status := hookd.EventStatus(q.Get("status"))
	if !ValidEventStatus(status) {
		return hookd.EventFilter{}, hookd.Errorf(hookd.EInvalid, "status: must be pending, succeeded or failed")
	}
	since, err := timeParam(q, "since")
	if err != nil {
		return hookd.EventFilter{}, err
	}
	until, err := timeParam(q, "until")
	if err != nil {
		return hookd.EventFilter{}, err
	}
	return hookd.EventFilter{
		Service: q.Get("service"), Status: status, IdempotencyKey: q.Get("idempotency_key"),
		Since: since, Until: until, Limit: limit, Cursor: q.Get("cursor"),
	}, nil
}

// timeParam reads an RFC 3339 time ("" is the zero time).
func timeParam(q url.Values, name string) (time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, hookd.Errorf(hookd.EInvalid, "%s: must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
}

// EventList is a page of events as the API and the CLI show it.
type EventList struct {
	Events     []EventJSON `json:"events"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// NewEventList converts a page of events; next is the next page's cursor.
func NewEventList(events []*hookd.Event, next string) EventList {
	out := EventList{Events: []EventJSON{}, NextCursor: next}
	for _, ev := range events {
		out.Events = append(out.Events, NewEventJSON(ev, false))
	}
	return out
}
