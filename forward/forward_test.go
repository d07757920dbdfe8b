package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func testEvent() *hookd.Event {
	return &hookd.Event{
		ID:             "01JEVENT",
		Service:        "github",
		IdempotencyKey: "delivery-1",
		Body:           []byte(`{"action":"opened"}`),
		Header: http.Header{
			"Content-Type":        {"application/json; charset=utf-8"},
			"X-Github-Event":      {"pull_request"},
			"X-Multi":             {"a", "b"},
			"X-Hub-Signature-256": {"sha256=secret-signature"},
			"Content-Length":      {"999"},
			"Connection":          {"close"},
			"X-Hookd-Event-Id":    {"spoofed"},
		},
	}
}

// received is what a test server saw.
type received struct {
	method string
	header http.Header
	body   []byte
}

// server starts an httptest server answering with status and body, and
// returns the requests it saw.
func server(t *testing.T, status int, respBody string, extra func(http.ResponseWriter)) (*httptest.Server, chan received) {
	t.Helper()
	reqs := make(chan received, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs <- received{method: r.Method, header: r.Header.Clone(), body: b}
		if extra != nil {
			extra(w)
		}
		w.WriteHeader(status)
		io.WriteString(w, respBody)
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

// testTimeout is the timeout of the tests' actions: the configuration
// always gives one.
const testTimeout = 10 * time.Second

func TestForwardSuccess(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 201, 202, 204, 299} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			srv, reqs := server(t, status, " queued as 7\n", nil)
			a := &hookd.ForwardAction{
				Timeout: testTimeout,
				URL:     srv.URL + "/github?token=abc",
				Headers: []string{"x-github-event", "X-Multi", "X-Missing", "Content-Length", "connection", "X-Hookd-Event-Id"},
			}
			var f Forwarder
			reply, err := f.Forward(t.Context(), a, testEvent())
			if err != nil {
				t.Fatalf("Forward: %v", err)
			}
			// 204 has no body: the server drops what the handler writes.
			if want := (hookd.Reply{Code: status, Text: "queued as 7"}); status == 204 && reply != (hookd.Reply{Code: 204}) ||
				status != 204 && reply != want {
				t.Errorf("reply = %+v, want the status and the trimmed body", reply)
			}
			r := <-reqs
			if r.method != http.MethodPost {
				t.Errorf("method = %s", r.method)
			}
			if string(r.body) != `{"action":"opened"}` {
				t.Errorf("body = %q", r.body)
			}
			want := map[string]string{
				"Content-Type":            "application/json; charset=utf-8",
				"X-Github-Event":          "pull_request",
				"X-Hookd-Event-Id":        "01JEVENT",
				"X-Hookd-Service":         "github",
				"X-Hookd-Idempotency-Key": "delivery-1",
				"User-Agent":              "hookd",
				"Content-Length":          "19",
			}
			for k, v := range want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := r.header.Values("X-Multi"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
				t.Errorf("X-Multi = %q, want [a b]", got)
			}
			if got := r.header.Values("X-Hookd-Event-Id"); len(got) != 1 {
				t.Errorf("X-Hookd-Event-Id = %q, want hookd's value only", got)
			}
			for _, k := range []string{"X-Hub-Signature-256", "X-Missing"} {
				if _, ok := r.header[k]; ok {
					t.Errorf("%s forwarded but not selected", k)
				}
			}
		})
	}
}

func TestForwardNoContentType(t *testing.T) {
	t.Parallel()
	srv, reqs := server(t, 200, "", nil)
	ev := testEvent()
	ev.Header = nil
	var f Forwarder
	if _, err := f.Forward(t.Context(), &hookd.ForwardAction{Timeout: testTimeout, URL: srv.URL, Headers: []string{"X-Any"}}, ev); err != nil {
		t.Fatal(err)
	}
	if r := <-reqs; r.header.Get("Content-Type") != "" {
		t.Errorf("Content-Type = %q, want none", r.header.Get("Content-Type"))
	}
}

func TestForwardStatusClasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		permanent bool
	}{
		{408, false}, {429, false}, {500, false}, {502, false}, {503, false}, {504, false}, {599, false},
		{400, true}, {401, true}, {403, true}, {404, true}, {405, true}, {409, true}, {410, true}, {413, true}, {422, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			srv, _ := server(t, tt.status, "  details: the thing broke\n", nil)
			var f Forwarder
			reply, err := f.Forward(t.Context(), &hookd.ForwardAction{Timeout: testTimeout, URL: srv.URL + "/hook"}, testEvent())
			if err == nil {
				t.Fatal("Forward succeeded")
			}
			if reply != (hookd.Reply{Code: tt.status, Text: "details: the thing broke"}) {
				t.Errorf("reply = %+v, want the status and the trimmed body", reply)
			}
			if hookd.IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v: %v", hookd.IsPermanent(err), tt.permanent, err)
			}
			se, ok := errors.AsType[*StatusError](err)
			if !ok || se.StatusCode != tt.status {
				t.Fatalf("err = %v, want a *StatusError with %d", err, tt.status)
			}
			msg := err.Error()
			for _, want := range []string{"forward: POST " + srv.URL + "/hook: ", fmt.Sprint(tt.status), `"details: the thing broke"`} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
		})
	}
}

func TestForwardRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	var followed atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed.Store(true) }))
	t.Cleanup(other.Close)
	for _, status := range []int{301, 302, 303, 307, 308} {
		srv, _ := server(t, status, "", func(w http.ResponseWriter) {
			w.Header().Set("Location", other.URL+"/elsewhere?sig=secret")
		})
		for _, client := range []*http.Client{nil, {}} { // a caller's client that would follow
			f := Forwarder{Client: client}
			_, err := f.Forward(t.Context(), &hookd.ForwardAction{Timeout: testTimeout, URL: srv.URL}, testEvent())
			if !hookd.IsPermanent(err) {
				t.Errorf("%d: err = %v, want permanent", status, err)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprint(status)) || !strings.Contains(msg, other.URL+"/elsewhere?…") {
				t.Errorf("%d: error %q lacks the status or the Location", status, msg)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("%d: error %q contains the Location's query", status, msg)
			}
		}
	}
	if followed.Load() {
		t.Error("a redirect was followed")
	}
}

func TestForwardBodyLimits(t *testing.T) {
	t.Parallel()
	// A long body: the error quotes 256 bytes of it (cut at a rune), and
	// Forward does not read more than 64 KiB.
	long := strings.Repeat("é", 100_000) // 200,000 bytes
	srv, _ := server(t, 500, long, nil)
	var f Forwarder
	reply, err := f.Forward(t.Context(), &hookd.ForwardAction{Timeout: testTimeout, URL: srv.URL}, testEvent())
	se, ok := errors.AsType[*StatusError](err)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	if len(se.Body) != 256 || se.Body != strings.Repeat("é", 128) || reply.Text != se.Body {
		t.Errorf("len(Body) = %d, reply %d bytes; want 256 bytes of whole runes", len(se.Body), len(reply.Text))
	}

	odd := "x" + strings.Repeat("é", 200) // the cut at 256 splits a rune
	srv, _ = server(t, 500, odd, nil)
	_, err = f.Forward(t.Context(), &hookd.ForwardAction{Timeout: testTimeout, URL: srv.URL}, testEvent())
	se, _ = errors.AsType[*StatusError](err)
	if se == nil || len(se.Body) != 255 || !strings.HasPrefix(odd, se.Body) {
		t.Errorf("Body = %q (%d bytes), want the first 255 bytes", se.Body, len(se.Body))
	}
}

func TestForwardDrainsBoundedBody(t *testing.T) {
	t.Parallel()
	// The handler writes far more than 64 KiB and records how much the
	// client accepted before closing; Forward must return without reading
	// it all.
	wrote := make(chan int64, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		chunk := []byte(strings.Repeat("z", 32<<10))
		var n int64
		for range 1024 { // 32 MiB
			m, err := w.Write(chunk)
			n += int64(m)
			if err != nil {
				break
			}
		}
		wrote <- n
	}))
	t.Cleanup(srv.Close)
	var f Forwarder
	_, err := f.Forward(t.Context(), &hookd.ForwardAction{URL: srv.URL, Timeout: 5 * time.Second}, testEvent())
	if err == nil || hookd.IsPermanent(err) {
		t.Fatalf("err = %v, want transient", err)
	}
	if n := <-wrote; n >= 32<<20 {
		t.Errorf("the whole 32 MiB body was accepted; want Forward to stop reading")
	}
}

func TestForwardNetworkErrors(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	var f Forwarder
	reply, err := f.Forward(t.Context(), &hookd.ForwardAction{Timeout: testTimeout, URL: closed + "/x?token=hunter2"}, testEvent())
	if err == nil || hookd.IsPermanent(err) {
		t.Fatalf("connection refused: err = %v, want transient", err)
	}
	if reply != (hookd.Reply{}) {
		t.Errorf("connection refused: reply = %+v, want none", reply)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q contains the query", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("error %v does not wrap the *net.OpError", err)
	}
}

func TestForwardTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })

	var f Forwarder
	start := time.Now()
	_, err := f.Forward(t.Context(), &hookd.ForwardAction{URL: srv.URL, Timeout: 100 * time.Millisecond}, testEvent())
	if err == nil || hookd.IsPermanent(err) {
		t.Fatalf("err = %v, want transient", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Forward took %v with a 100ms timeout", d)
	}

	// The caller's context ends it too.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = f.Forward(ctx, &hookd.ForwardAction{Timeout: testTimeout, URL: srv.URL}, testEvent())
	if !errors.Is(err, context.Canceled) || hookd.IsPermanent(err) {
		t.Errorf("canceled: err = %v, want transient context.Canceled", err)
	}
}

func TestForwardInvalidURL(t *testing.T) {
	t.Parallel()
	var f Forwarder
	for _, u := range []string{"", "ftp://example.com/x", "http://[::1", "://nope"} {
		_, err := f.Forward(t.Context(), &hookd.ForwardAction{Timeout: testTimeout, URL: u}, testEvent())
		if !hookd.IsPermanent(err) {
			t.Errorf("URL %q: err = %v, want permanent", u, err)
		}
	}
}

func TestForwardUsesClient(t *testing.T) {
	t.Parallel()
	srv, _ := server(t, 200, "", nil)
	var used atomic.Int32
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	f := Forwarder{Client: client}
	if _, err := f.Forward(t.Context(), &hookd.ForwardAction{Timeout: testTimeout, URL: srv.URL}, testEvent()); err != nil {
		t.Fatal(err)
	}
	if used.Load() != 1 {
		t.Errorf("the Forwarder's Client was used %d times, want 1", used.Load())
	}
	if client.CheckRedirect != nil {
		t.Error("Forward modified the caller's Client")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                             "",
		"http://127.0.0.1:9000/github": "http://127.0.0.1:9000/github",
		"https://user:pass@host/p":     "https://user:xxxxx@host/p",
		"https://host/p?token=abc":     "https://host/p?…",
		"http://[::1":                  "(invalid URL)",
	}
	for in, want := range tests {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
