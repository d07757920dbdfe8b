package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// openLoad is an open-loop load: requests are sent on a fixed schedule,
// Rate per second for Duration, whether or not earlier ones were answered,
// as webhook providers send them. Latency is measured from each request's
// scheduled time, not from when it was actually sent, so that a server
// that holds the sender back is charged for the wait (no coordinated
// omission).
type openLoad struct {
	URL       string
	Secret    []byte
	BodySize  int
	KeyPrefix string
	Rate      float64 // requests per second
	Duration  time.Duration
	// MaxOutstanding bounds the requests in flight. A request due while
	// that many are unanswered waits for one to finish; its latency still
	// counts from its scheduled time.
	MaxOutstanding int
}

// openResult is what an open-loop load measured.
type openResult struct {
	Scheduled int // requests the schedule called for
	Sent      int
	HeldBack  int // sent late because MaxOutstanding requests were in flight
	Accepted  int // 202
	Other2xx  int
	Non2xx    int
	Errors    int // no answer, or cut off after the grace period
	FirstErr  string
	// AckLatencies are the 202s' times from scheduled send to answer.
	AckLatencies []time.Duration
	Acks         []ack
	Start        time.Time // the schedule's start
	Stopped      time.Time // when the last answer arrived
}

// openGrace is how long requests still in flight when the schedule ends
// may take to be answered; later ones count as errors.
const openGrace = 30 * time.Second

// run sends the load and returns what it measured.
func (o *openLoad) run(ctx context.Context) (*openResult, error) {
	// Connections are shared, as a provider's would be: a request takes an
	// idle one or opens another, up to MaxOutstanding.
	tr := &http.Transport{MaxIdleConnsPerHost: o.MaxOutstanding, DisableCompression: true}
	defer tr.CloseIdleConnections()
	start := time.Now()
	res := &openResult{Start: start, Scheduled: int(o.Rate * o.Duration.Seconds())}
	end := start.Add(o.Duration)
	rctx, cancel := context.WithDeadline(ctx, end.Add(openGrace))
	defer cancel()

	var mu sync.Mutex // guards res from the senders
	slots := make(chan struct{}, o.MaxOutstanding)
	var wg sync.WaitGroup
schedule:
	for i := range res.Scheduled {
		due := start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))
		if d := time.Until(due); d > 0 && !sleepUntil(ctx, due) {
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			res.HeldBack++
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				break schedule
			}
			if !time.Now().Before(end) {
				<-slots
				res.HeldBack--
				break schedule // the rest of the schedule is past: not sent
			}
		}
		res.Sent++
		key := fmt.Sprintf("%s-%0*d", o.KeyPrefix, keyDigits, i)
		wg.Go(func() {
			defer func() { <-slots }()
			status, id, at, errText := o.send(rctx, tr, key)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errText != "" && status == 0:
				res.Errors++
			case status == http.StatusAccepted:
				res.Accepted++
				res.AckLatencies = append(res.AckLatencies, at.Sub(due))
				res.Acks = append(res.Acks, ack{id, at})
			case status/100 == 2:
				res.Other2xx++
			default:
				res.Non2xx++
			}
			if errText != "" && res.FirstErr == "" {
				res.FirstErr = errText
			}
		})
	}
	wg.Wait()
	res.Stopped = time.Now()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// send sends one signed request with idempotency key key and returns the
// status (0 for no answer), the event ID of a 202, when the answer arrived
// and what went wrong, if anything.
func (o *openLoad) send(ctx context.Context, tr *http.Transport, key string) (status int, id string, at time.Time, errText string) {
	body, _ := makeBody(key, o.BodySize)
	mac := hmac.New(sha256.New, o.Secret)
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "", time.Now(), err.Error()
	}
	req.Header = http.Header{"Content-Type": {"application/json"}, "X-Signature": {hex.EncodeToString(mac.Sum(nil))}}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return 0, "", time.Now(), err.Error()
	}
	var snippet [512]byte
	k, _ := io.ReadFull(resp.Body, snippet[:])
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	at = time.Now()
	switch {
	case err != nil:
		return 0, "", at, err.Error()
	case resp.StatusCode/100 != 2:
		return resp.StatusCode, "", at, fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, snippet[:k])
	}
	return resp.StatusCode, eventID(snippet[:k]), at, ""
}
