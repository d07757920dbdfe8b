package httpapi

import (
	"net/http"
	"sync"
	"time"
)

// Rejection is one refused webhook, kept in memory only: a flood of bad
// requests must not write to disk.
type Rejection struct {
	Time       time.Time `json:"time"`
	Service    string    `json:"service"`
	Reason     string    `json:"reason"`
	RemoteAddr string    `json:"remote_addr"`
	BodySize   int64     `json:"body_size"` // as declared; -1 when unknown (chunked)
}

// Rejections is a fixed-size ring of the most recent rejections.
type Rejections struct {
	mu   sync.Mutex
	ring []Rejection
	next int
	full bool
}

// NewRejections keeps the last n rejections. Defaults to 1,000 for n ≤ 0.
func NewRejections(n int) *Rejections {
	if n <= 0 {
		n = 1000
	}
	return &Rejections{ring: make([]Rejection, n)}
}

// Record notes a rejection of r for service with reason (an error code).
func (rs *Rejections) Record(r *http.Request, service, reason string) {
	rj := Rejection{Time: time.Now().UTC(), Service: service, Reason: reason, RemoteAddr: r.RemoteAddr, BodySize: r.ContentLength}
	rs.mu.Lock()
	rs.ring[rs.next] = rj
	rs.next++
	if rs.next == len(rs.ring) {
		rs.next, rs.full = 0, true
	}
	rs.mu.Unlock()
}

// List returns the kept rejections, newest first.
func (rs *Rejections) List() []Rejection {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	n := rs.next
	if rs.full {
		n = len(rs.ring)
	}
	out := make([]Rejection, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, rs.ring[(rs.next-i+len(rs.ring))%len(rs.ring)])
	}
	return out
}
