package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/verify"
)

// Rejection is one refused webhook, kept in memory only: a flood of bad
// requests must not write to disk. Path and the diagnosis hold sender
// text; they reach operators JSON-escaped.
type Rejection struct {
	Time    time.Time `json:"time"`
	Service string    `json:"service"` // unknownService for a path no service is at
	Path    string    `json:"path"`    // at most maxPath bytes
	// Code is the problem type's code the sender was answered with, Reason
	// the precise cause (see reasonOf), Detail the answer's detail.
	Code   string `json:"code"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
	// SkewSeconds is, for timestamp-skew, how far the signed timestamp was
	// from the receiver's clock (positive: in the past).
	SkewSeconds *int64 `json:"skew_seconds,omitempty"`
	// EventID is, for idempotency-key-reused, the event holding the key.
	EventID string `json:"event_id,omitempty"`
	// Diagnosis is, for signature failures, what the verifier could tell
	// about the cause; DiagnosisSkipped is set when rejections came too
	// fast to diagnose each.
	Diagnosis        *verify.Diagnosis `json:"diagnosis,omitempty"`
	DiagnosisSkipped bool              `json:"diagnosis_skipped,omitempty"`
	RemoteAddr       string            `json:"remote_addr"`
	BodySize         int64             `json:"body_size"` // as declared; -1 when unknown (chunked)
}

// unknownService is the service of a request to a path where no service
// is configured, in rejections and in metrics: the path itself is sender
// text and would make the metric's labels unbounded.
const unknownService = "(unknown)"

// maxPath bounds the path kept with a rejection.
const maxPath = 256

// Rejection reasons: the metric's reason label, so a small fixed set.
const (
	reasonUnknownService  = "unknown-service"
	reasonMethod          = "method-not-allowed"
	reasonBodyTooLarge    = "body-too-large"
	reasonBodyUnreadable  = "body-unreadable"
	reasonHeaderMissing   = "header-missing"
	reasonHeaderRepeated  = "header-repeated"
	reasonHeaderMalformed = "header-malformed"
	reasonBodyMalformed   = "body-malformed"
	reasonNoSecretMatched = "no-secret-matched"
	reasonTimestampSkew   = "timestamp-skew"
)

// reasonOf returns the precise reason for a refusal: the verifier's
// sentinel when there is one, else the problem code (itself one of a
// fixed set).
func reasonOf(err error) string {
	switch code := hookd.ErrorCode(err); {
	case code == hookd.EUnknownService:
		return reasonUnknownService
	case code == hookd.EMethodNotAllowed:
		return reasonMethod
	case code == hookd.EPayloadTooLarge:
		return reasonBodyTooLarge
	case code == hookd.EInvalid:
		return reasonBodyUnreadable
	case errors.Is(err, verify.ErrMissingHeader):
		return reasonHeaderMissing
	case errors.Is(err, verify.ErrDuplicateHeader):
		return reasonHeaderRepeated
	case errors.Is(err, verify.ErrMalformedHeader):
		return reasonHeaderMalformed
	case errors.Is(err, verify.ErrMalformedBody):
		return reasonBodyMalformed
	case errors.Is(err, verify.ErrSignatureMismatch):
		return reasonNoSecretMatched
	case errors.Is(err, verify.ErrTimestampOutOfTolerance):
		return reasonTimestampSkew
	default:
		if _, ok := problems[code]; ok {
			return code
		}
		return hookd.EInternal
	}
}

// newRejection describes the refusal of r with err, at now (the ingest
// clock, which also dates accepted events in the activity counts).
func newRejection(r *http.Request, service string, err error, now time.Time) Rejection {
	rj := Rejection{
		Time: now.UTC(), Service: service, Path: truncate(r.URL.Path, maxPath),
		Code: hookd.ErrorCode(err), Reason: reasonOf(err), Detail: hookd.ErrorMessage(err),
		RemoteAddr: r.RemoteAddr, BodySize: r.ContentLength,
	}
	if _, ok := problems[rj.Code]; !ok {
		rj.Code = hookd.EInternal
	}
	if skew, ok := verify.Skew(err); ok {
		s := int64(skew / time.Second)
		rj.SkewSeconds = &s
	}
	return rj
}

// truncate cuts s to at most n bytes, at a rune boundary, and makes it
// valid UTF-8.
func truncate(s string, n int) string {
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
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

// Record keeps rj.
func (rs *Rejections) Record(rj Rejection) {
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

// bucket is a token bucket: at most burst at once, refilled at rate per
// second. It bounds the work and the log lines spent on rejections, which
// a sender can make as many of as it likes.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate, burst float64) *bucket {
	return &bucket{rate: rate, burst: burst, tokens: burst}
}

// take reports whether n tokens were available at now, and takes them.
func (b *bucket) take(now time.Time, n float64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// rejectionLog writes one INFO line per rejection, at most rejectionLines
// a second; the lines it drops are counted and reported in one line after
// a second.
type rejectionLog struct {
	log        *slog.Logger
	bucket     *bucket
	mu         sync.Mutex
	suppressed int
}

const rejectionLines = 5 // per second, on average; as many at once

func newRejectionLog(log *slog.Logger) *rejectionLog {
	return &rejectionLog{log: log, bucket: newBucket(rejectionLines, rejectionLines)}
}

func (l *rejectionLog) write(rj *Rejection, status int) {
	if l.bucket.take(time.Now(), 1) {
		attrs := []any{"service", rj.Service, "status", status, "code", rj.Code, "reason", rj.Reason, "remote_addr", rj.RemoteAddr}
		if rj.Service == unknownService {
			attrs = append(attrs, "path", rj.Path) // slog quotes it
		}
		if rj.SkewSeconds != nil {
			attrs = append(attrs, "skew_seconds", *rj.SkewSeconds)
		}
		if rj.EventID != "" {
			attrs = append(attrs, "event_id", rj.EventID)
		}
		l.log.Info("webhook rejected", attrs...)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.suppressed == 0 {
		time.AfterFunc(time.Second, l.flush)
	}
	l.suppressed++
}

// flush reports the lines dropped since the first one was.
func (l *rejectionLog) flush() {
	l.mu.Lock()
	n := l.suppressed
	l.suppressed = 0
	l.mu.Unlock()
	l.log.Info("webhook rejections not logged: too many", "suppressed", n, "see", "GET /api/rejections and hookd_webhooks_rejected_total")
}
