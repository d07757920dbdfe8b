package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// load is one signed load sent to one target by "hookd bench".
type load struct {
	URL         string // http://ADDR/webhooks/SERVICE
	Secret      []byte // the hmac-sha256 secret of the service
	Connections int
	BodySize    int
	Duplicates  float64 // fraction of requests that resend an earlier one exactly
	KeyPrefix   string  // makes the idempotency keys unique to one run and target

	// Warmup and Duration bound a timed load: requests answered during
	// Duration, after Warmup, are measured.
	Warmup, Duration time.Duration
	// Count, when positive, sends exactly Count unique requests instead,
	// and measures all of them.
	Count int

	// PID is the server process whose CPU time is read (Linux); 0 for none.
	PID int

	// Track records the event ID and arrival time of every 202, warm-up
	// and late answers included, for the delivery measurements.
	Track bool
}

// ack is a 202 answer: the event it acknowledged and when it arrived.
type ack struct {
	id string
	at time.Time
}

// loadResult is what a load measured in its window.
type loadResult struct {
	Window     time.Duration
	Latencies  []time.Duration // of the 2xx answers, sorted
	Accepted   int             // 202
	Duplicates int             // 200
	Other2xx   int
	Non2xx     int
	Errors     int // no answer at all
	DupsSent   int // requests that resent an earlier one
	FirstError string

	// Acks are the 202 answers of a load with Track, in no order.
	Acks []ack
	// Start and End bound the measured window; Stopped is when the last
	// answer arrived. They are set on a load's result, not on sums.
	Start, End, Stopped time.Time

	// ServerCPU and ClientCPU are the CPU time used in the window by the
	// server process and by this process; -1 when unknown.
	ServerCPU, ClientCPU time.Duration
}

// answered is every request answered (or failed) in the window.
func (r *loadResult) answered() int {
	return r.Accepted + r.Duplicates + r.Other2xx + r.Non2xx + r.Errors
}

// add adds o, the tally of another connection or window of the same
// target, to r.
func (r *loadResult) add(o *loadResult) {
	r.Window += o.Window
	r.Latencies = append(r.Latencies, o.Latencies...)
	r.Accepted += o.Accepted
	r.Duplicates += o.Duplicates
	r.Other2xx += o.Other2xx
	r.Non2xx += o.Non2xx
	r.Errors += o.Errors
	r.DupsSent += o.DupsSent
	r.Acks = append(r.Acks, o.Acks...)
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
	for _, cpu := range []struct{ sum, add *time.Duration }{{&r.ServerCPU, &o.ServerCPU}, {&r.ClientCPU, &o.ClientCPU}} {
		if *cpu.sum < 0 || *cpu.add < 0 {
			*cpu.sum = -1 // unknown in one window: unknown in all
		} else {
			*cpu.sum += *cpu.add
		}
	}
}

// ok is the number of 2xx answers in the window.
func (r *loadResult) ok() int { return r.Accepted + r.Duplicates + r.Other2xx }

// keyDigits is the width of the per-connection counter in a key: keys have
// a fixed length, so every body has the same size.
const keyDigits = 10

// run sends l's load and returns what was measured. It stops at the end of
// the window (or after Count requests) and waits for the requests in
// flight, at most a grace period.
func (l *load) run(ctx context.Context) (*loadResult, error) {
	u, err := url.Parse(l.URL)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	wStart, wEnd := t0.Add(l.Warmup), t0.Add(l.Warmup+l.Duration)
	deadline := wEnd.Add(15 * time.Second) // requests in flight at wEnd get this long
	if l.Count > 0 {
		wStart, wEnd = t0, t0.Add(100*365*24*time.Hour) // everything counts
		deadline = t0.Add(10 * time.Minute)
	}
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tmpl, err := http.NewRequestWithContext(rctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return nil, err
	}

	// CPU times are read at the edges of the window, by the clock rather
	// than by the requests, so that both processes are measured over the
	// same wall time as accepted/s.
	res := &loadResult{ServerCPU: -1, ClientCPU: -1}
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		if l.Count > 0 {
			return
		}
		if !sleepUntil(rctx, wStart) {
			return
		}
		s0, c0 := processCPU(l.PID), selfCPU()
		if !sleepUntil(rctx, wEnd) {
			return
		}
		s1, c1 := processCPU(l.PID), selfCPU()
		if s0 >= 0 && s1 >= 0 {
			res.ServerCPU = s1 - s0
		}
		if c0 >= 0 && c1 >= 0 {
			res.ClientCPU = c1 - c0
		}
	}()

	var sent atomic.Int64 // requests started, in count mode
	stats := make([]*loadResult, l.Connections)
	var wg sync.WaitGroup
	for i := range l.Connections {
		s := &loadResult{}
		stats[i] = s
		c := &conn{load: l, tmpl: tmpl, stats: s, id: i, wStart: wStart, wEnd: wEnd}
		wg.Go(func() { c.loop(rctx, &sent) })
	}
	wg.Wait()
	stopped := time.Now()
	<-sampled
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	res.Window = l.Duration
	if l.Count > 0 {
		res.Window = time.Since(t0)
	}
	// The connections' tallies have no CPU times of their own (zero, which
	// add counts as known), so adding them keeps the sampled ones.
	for _, s := range stats {
		res.add(s)
	}
	res.Start, res.End, res.Stopped = wStart, wEnd, stopped
	slices.Sort(res.Latencies)
	return res, nil
}

// sleepUntil waits until t, false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// conn is one goroutine sending requests back to back on its own
// keep-alive connection.
type conn struct {
	*load
	tmpl         *http.Request
	stats        *loadResult // this connection's tally: the hot loop shares nothing
	id           int
	wStart, wEnd time.Time
}

// loop sends requests until the window ends (or the count is reached).
func (c *conn) loop(ctx context.Context, sent *atomic.Int64) {
	// A Transport per goroutine rather than one shared: each goroutine then
	// owns exactly one connection for the whole run. A shared pool hands a
	// connection back only after the response is consumed, so a goroutine
	// that is quick to send again can find none idle and dial an extra one,
	// which the pool later closes: connection churn the server would pay
	// for, and which a webhook provider's steady connections do not cause.
	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
	defer tr.CloseIdleConnections()

	// The body is built once with this connection's part of the key in
	// place; each request copies it and writes its counter into the key.
	key := fmt.Sprintf("%s-%04d-%0*d", c.KeyPrefix, c.id, keyDigits, 0)
	body, keyAt := makeBody(key, c.BodySize)
	counterAt := keyAt + len(key) - keyDigits
	mac := hmac.New(sha256.New, c.Secret)
	var sum [sha256.Size]byte
	var hexSum [2 * sha256.Size]byte
	contentType := []string{"application/json"}
	rng := rand.New(rand.NewPCG(uint64(c.id), uint64(time.Now().UnixNano())))

	var prevBody []byte
	var prevSig string
	for n := 0; ; n++ {
		if c.Count > 0 {
			if sent.Add(1) > int64(c.Count) {
				return
			}
		} else if !time.Now().Before(c.wEnd) {
			return
		}
		if ctx.Err() != nil {
			return
		}
		var b []byte
		var sig string
		dup := prevBody != nil && c.Duplicates > 0 && rng.Float64() < c.Duplicates
		if dup {
			b, sig = prevBody, prevSig
		} else {
			// A fresh slice per request: the Transport may still hold the
			// previous body, and a duplicate resends it.
			b = slices.Clone(body)
			putDigits(b[counterAt:counterAt+keyDigits], n)
			mac.Reset()
			mac.Write(b)
			hex.Encode(hexSum[:], mac.Sum(sum[:0]))
			sig = string(hexSum[:])
			prevBody, prevSig = b, sig
		}
		req := new(http.Request)
		*req = *c.tmpl // shares the parsed URL and the context
		req.Header = http.Header{"Content-Type": contentType, "X-Signature": {sig}}
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))

		start := time.Now()
		resp, err := tr.RoundTrip(req)
		status := 0
		var errText string
		if err == nil {
			status = resp.StatusCode
			var snippet [512]byte
			k, _ := io.ReadFull(resp.Body, snippet[:])
			_, err = io.Copy(io.Discard, resp.Body) // to EOF: keeps the connection
			resp.Body.Close()
			if status/100 != 2 {
				errText = fmt.Sprintf("HTTP %d: %.200s", status, snippet[:k])
			} else if c.Track && status == http.StatusAccepted && err == nil {
				c.stats.Acks = append(c.stats.Acks, ack{eventID(snippet[:k]), time.Now()})
			}
		}
		end := time.Now()
		if err != nil && ctx.Err() != nil {
			return // cut off by the deadline or Ctrl-C: not an answer
		}
		if err != nil {
			errText = err.Error()
		}
		if end.Before(c.wStart) || !end.Before(c.wEnd) {
			continue // warm-up, or answered after the window
		}
		s := c.stats
		if dup {
			s.DupsSent++
		}
		switch {
		case err != nil:
			s.Errors++
		case status == http.StatusAccepted:
			s.Accepted++
		case status == http.StatusOK:
			s.Duplicates++
		case status/100 == 2:
			s.Other2xx++
		default:
			s.Non2xx++
		}
		if errText != "" && s.FirstError == "" {
			s.FirstError = errText
		}
		if err == nil && status/100 == 2 {
			s.Latencies = append(s.Latencies, end.Sub(start))
		}
	}
}

// eventID returns the event_id of a 202 answer's body, "" if it has none.
// The body is hookd's, written by hand in a fixed form, so a search does.
func eventID(body []byte) string {
	const field = `"event_id":"`
	_, rest, ok := bytes.Cut(body, []byte(field))
	if !ok {
		return ""
	}
	id, _, ok := bytes.Cut(rest, []byte(`"`))
	if !ok {
		return ""
	}
	return string(id)
}

// makeBody returns a JSON body of about size bytes (never less than the
// fields need) with key as its idempotency_key, and the offset of the key.
func makeBody(key string, size int) (body []byte, keyAt int) {
	head := `{"idempotency_key":"`
	tail := `","email":"bench@example.com","padding":"`
	pad := max(size-len(head)-len(key)-len(tail)-len(`"}`), 0)
	body = make([]byte, 0, len(head)+len(key)+len(tail)+pad+2)
	body = append(body, head...)
	body = append(body, key...)
	body = append(body, tail...)
	for range pad {
		body = append(body, 'x')
	}
	body = append(body, `"}`...)
	return body, len(head)
}

// putDigits writes n in decimal into b, zero-padded to len(b).
func putDigits(b []byte, n int) {
	s := strconv.Itoa(n)
	for i := range b {
		b[i] = '0'
	}
	copy(b[max(len(b)-len(s), 0):], s[max(len(s)-len(b), 0):])
}

// percentile returns the p-th percentile (0–100) of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
