package bench

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/email"
	"github.com/hookd/hookd/verify"
)

// TestSinkMail checks that the SMTP sink finds the event of a message as
// hookd sends it: rendered from the e2e mail service's body template and
// sent by hookd's own sender, quoted-printable and all.
func TestSinkMail(t *testing.T) {
	t.Parallel()
	sk := newSink()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sk.serveSMTP(l).Close()
	sender, err := email.NewSender(email.Config{URL: "smtp://" + l.Addr().String(), From: "hookd <noreply@localhost>"})
	if err != nil {
		t.Fatal(err)
	}
	const id = "evt_01KB2Z3Y4X5W6V7T8S9R0QPNMK"
	subject, body, err := email.Render(&hookd.EmailAction{Field: "email", Body: "hookd-bench {{.EventID}}"}, email.Data{EventID: id, Email: "bench@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := sender.Send(context.Background(), email.Message{To: "bench@example.com", Subject: subject, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	at := make([]time.Time, 1)
	if repeats := sk.arrivals([]string{id}, at); at[0].IsZero() || repeats != 1 {
		t.Errorf("after two messages for %s: arrived %v, %d repeats; want arrived, 1 repeat", id, at[0], repeats)
	}
	if n, _, _ := sk.progress(); n != 1 {
		t.Errorf("%d events recorded, want 1", n)
	}
}

// TestSinkForward checks that the HTTP sink answers 204 and records the
// event of X-Hookd-Event-Id, counting a second delivery as a repeat.
func TestSinkForward(t *testing.T) {
	t.Parallel()
	sk := newSink()
	srv := httptest.NewServer(sk)
	defer srv.Close()
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/fwd", strings.NewReader(`{}`))
		req.Header.Set("X-Hookd-Event-Id", "evt_1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d, want 204", resp.StatusCode)
		}
	}
	at := make([]time.Time, 2)
	if repeats := sk.arrivals([]string{"evt_1", "evt_2"}, at); at[0].IsZero() || !at[1].IsZero() || repeats != 1 {
		t.Errorf("arrivals %v, %d repeats; want evt_1 only, 1 repeat", at, repeats)
	}
	sk.reset()
	if n, _, _ := sk.progress(); n != 0 || sk.arrivals(nil, nil) != 0 {
		t.Errorf("after reset: %d events, %d repeats", n, sk.arrivals(nil, nil))
	}
}

// TestAwaitDeliveries checks what awaitDeliveries makes of acknowledged
// events: those arrived in the window, the backlog at the stop, the time
// to drain it, and the latency from each 202. The deliveries are recorded
// before it is called, so nothing depends on timing.
func TestAwaitDeliveries(t *testing.T) {
	t.Parallel()
	t0 := time.Now().Add(-time.Minute) // everything happened in the past
	s := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	start, end, stopped := s(1), s(3), s(4)
	sk := newSink()
	sk.record("before", s(0)) // a warm-up event, delivered before the window
	sk.record("in", s(2))
	sk.record("in", s(5)) // a repeat
	sk.record("after", s(6))
	sk.record("late", s(9)) // ends the drain
	sk.record("stranger", s(2))
	acks := []ack{{"before", s(0).Add(-time.Second)}, {"in", s(2).Add(-time.Second)}, {"after", s(3)}, {"late", s(10)}}
	b := &runner{flags: Settings{DrainWait: time.Hour}}
	srv := &child{name: "hookd", exited: make(chan struct{})}
	d, err := b.awaitDeliveries(context.Background(), sk, srv, acks, start, end, stopped)
	if err != nil {
		t.Fatal(err)
	}
	if d.inWindow != 1 || d.backlog != 2 || d.drain != 5*time.Second || d.undelivered != 0 || d.repeats != 1 {
		t.Errorf("%+v; want 1 in the window, a backlog of 2 drained in 5s, 1 repeat", d)
	}
	// The delivery that came before its 202 was read counts as 0.
	want := []time.Duration{time.Second, time.Second, 3 * time.Second, 0}
	if len(d.latencies) != len(want) {
		t.Fatalf("latencies %v, want %v", d.latencies, want)
	}
	for i := range want {
		if d.latencies[i] != want[i] {
			t.Errorf("latencies %v, want %v", d.latencies, want)
			break
		}
	}

	// An event never delivered: the wait ends at --drain-wait and says so.
	stopped = s(20)
	b.flags.DrainWait = time.Since(stopped) + 100*time.Millisecond
	d, err = b.awaitDeliveries(context.Background(), sk, srv, append(acks, ack{"never", s(2)}), start, end, stopped)
	if err != nil {
		t.Fatal(err)
	}
	if d.undelivered != 1 || d.drain != -1 || d.backlog != 1 {
		t.Errorf("%+v; want 1 undelivered, the backlog of 1 not drained", d)
	}
}

// TestOpenLoad sends an open-loop load to the baseline handler and checks
// that the schedule was kept to the request, every 202 was recorded with
// its event ID, and each latency counts from the scheduled time.
func TestOpenLoad(t *testing.T) {
	t.Parallel()
	const secret = "bench-test-secret"
	v, err := verify.New(verify.Config{Scheme: "hmac-sha256", Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]*hookd.Service{"noop": {Name: "noop", Verifier: v, MaxBody: 1 << 20, IdempotencyTTL: time.Hour, Actions: []hookd.Action{{Type: hookd.ActionNoop}}}}
	srv := httptest.NewServer(Baseline(services, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	o := &openLoad{URL: srv.URL + "/webhooks/noop", Secret: []byte(secret), BodySize: 200, KeyPrefix: "t",
		Rate: 200, Duration: 250 * time.Millisecond, MaxOutstanding: 4}
	r, err := o.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Scheduled != 50 || r.Sent != 50 || r.Accepted != 50 || len(r.Acks) != 50 || len(r.AckLatencies) != 50 {
		t.Fatalf("%d scheduled, %d sent, %d accepted, %d acks, %d latencies (first error: %s); want 50 each",
			r.Scheduled, r.Sent, r.Accepted, len(r.Acks), len(r.AckLatencies), r.FirstErr)
	}
	ids := map[string]bool{}
	for i, a := range r.Acks {
		ids[a.id] = true
		if !strings.HasPrefix(a.id, "evt_") || a.at.Before(r.Start) || a.at.After(r.Stopped) || r.AckLatencies[i] <= 0 {
			t.Errorf("ack %d: %q at %v, latency %v; want an event ID, within the load, a positive latency", i, a.id, a.at, r.AckLatencies[i])
		}
	}
	if len(ids) != 50 {
		t.Errorf("%d distinct event IDs, want 50", len(ids))
	}

	// A server that holds its first answer 100ms, with one request in
	// flight at most: the requests due meanwhile are held back, and their
	// latencies count the wait from their scheduled time. Measured from
	// when they were sent, only the first would be slow.
	var first sync.Once
	base := Baseline(services, slog.New(slog.DiscardHandler))
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first.Do(func() { time.Sleep(100 * time.Millisecond) })
		base.ServeHTTP(w, r)
	}))
	defer slow.Close()
	o.URL, o.MaxOutstanding, o.KeyPrefix = slow.URL+"/webhooks/noop", 1, "u"
	if r, err = o.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	slowOnes := 0
	for _, d := range r.AckLatencies {
		if d >= 50*time.Millisecond {
			slowOnes++
		}
	}
	if r.HeldBack == 0 || slowOnes < 2 || r.Accepted != r.Sent {
		t.Errorf("%d held back, %d of %d latencies over 50ms, %d of %d sent accepted; want some held back, more than the first slow, all accepted",
			r.HeldBack, slowOnes, len(r.AckLatencies), r.Accepted, r.Sent)
	}
}

// TestEventID checks the reading of the event ID from hookd's 202 body.
func TestEventID(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"status":"accepted","event_id":"evt_01ABC","service":"s","idempotency_key":"k"}`: "evt_01ABC",
		`{"status":"accepted"}`: "",
		`{"event_id":"evt_01AB`: "",
	} {
		if got := eventID([]byte(body)); got != want {
			t.Errorf("eventID(%s) = %q, want %q", body, got, want)
		}
	}
}
