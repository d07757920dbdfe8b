package httpapi

import (
	"sync"
	"sync/atomic"
	"time"
)

// Activity is what the dashboard shows of the ingest path, kept in memory:
// per service and minute, the webhooks accepted, duplicate and rejected
// over the last hour, and a feed of accepted events for the live tail.
// The feed costs one atomic load per event while nobody watches.
type Activity struct {
	mu      sync.Mutex
	minutes [activityMinutes]activityMinute

	watchers atomic.Int32
	subsMu   sync.Mutex
	subs     map[chan AcceptedEvent]struct{}
}

const activityMinutes = 60

// Counts of one service in one minute.
type Counts struct {
	Accepted  int `json:"accepted"`
	Duplicate int `json:"duplicate"`
	Rejected  int `json:"rejected"`
}

type activityMinute struct {
	minute   int64 // Unix minute this slot holds
	services map[string]*Counts
}

// AcceptedEvent is what the live tail shows of a new event: what
// ingest knows at once, no database read.
type AcceptedEvent struct {
	ID             string    `json:"id"`
	Service        string    `json:"service"`
	IdempotencyKey string    `json:"idempotency_key"`
	ReceivedAt     time.Time `json:"received_at"`
}

// NewActivity returns an empty Activity.
func NewActivity() *Activity {
	return &Activity{subs: map[chan AcceptedEvent]struct{}{}}
}

// count adds one outcome of service at now; a nil Activity counts nothing.
func (a *Activity) count(service, outcome string, now time.Time) {
	if a == nil {
		return
	}
	m := now.Unix() / 60
	a.mu.Lock()
	slot := &a.minutes[m%activityMinutes]
	if slot.minute != m || slot.services == nil {
		slot.minute, slot.services = m, map[string]*Counts{}
	}
	c := slot.services[service]
	if c == nil {
		c = &Counts{}
		slot.services[service] = c
	}
	switch outcome {
	case "accepted":
		c.Accepted++
	case "duplicate":
		c.Duplicate++
	default:
		c.Rejected++
	}
	a.mu.Unlock()
}

// LastHour returns, per service seen in the last hour, its counts minute
// by minute, oldest first (60 entries, the last one the current minute).
func (a *Activity) LastHour(now time.Time) map[string][]Counts {
	out := map[string][]Counts{}
	cur := now.Unix() / 60
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range activityMinutes {
		m := cur - activityMinutes + 1 + int64(i)
		slot := &a.minutes[m%activityMinutes]
		if slot.minute != m {
			continue
		}
		for svc, c := range slot.services {
			if out[svc] == nil {
				out[svc] = make([]Counts, activityMinutes)
			}
			out[svc][i] = *c
		}
	}
	return out
}

// accepted counts an accepted event and hands it to the watchers, if any.
func (a *Activity) accepted(ev AcceptedEvent) {
	if a == nil {
		return
	}
	a.count(ev.Service, "accepted", ev.ReceivedAt)
	if a.watchers.Load() == 0 {
		return
	}
	a.subsMu.Lock()
	for ch := range a.subs {
		select {
		case ch <- ev:
		default: // a slow watcher misses events rather than slow ingest
		}
	}
	a.subsMu.Unlock()
}

// Watch returns a channel of newly accepted events and the function that
// ends the watch. A watcher that falls behind misses events.
func (a *Activity) Watch() (<-chan AcceptedEvent, func()) {
	ch := make(chan AcceptedEvent, 64)
	a.subsMu.Lock()
	a.subs[ch] = struct{}{}
	a.watchers.Add(1)
	a.subsMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			a.subsMu.Lock()
			delete(a.subs, ch)
			a.watchers.Add(-1)
			a.subsMu.Unlock()
		})
	}
}
