package forward

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Headers hookd adds to every forwarded request.
const (
	HeaderEventID        = "X-Hookd-Event-Id"
	HeaderService        = "X-Hookd-Service"
	HeaderIdempotencyKey = "X-Hookd-Idempotency-Key"
)

const (
	maxDrain   = 64 << 10       // response bytes read before closing, for connection reuse
	maxSnippet = hookd.MaxReply // response bytes kept in replies and quoted in errors
)

// Forwarder delivers events. The zero value is ready to use. It is safe for
// concurrent use.
type Forwarder struct {
	// Client sends the requests. Its redirect policy is ignored: redirects
	// are never followed. Defaults to a client with connection, TLS
	// handshake and header size limits (see DefaultClient).
	Client *http.Client
}

// defaultClient is shared by Forwarders without a Client; it is never
// modified after package initialisation.
var defaultClient = DefaultClient()

// DefaultClient returns the client a Forwarder uses when Client is nil: the
// standard transport's settings (proxy from the environment, HTTP/2) with
// dial and TLS handshake timeouts of 10s, response headers of at most
// 64 KiB and at most 16 idle connections per host. Request deadlines come
// from each action's timeout.
func DefaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 0 // the request's context bounds it
	t.MaxResponseHeaderBytes = 64 << 10
	t.MaxIdleConns = 100
	t.MaxIdleConnsPerHost = 16
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, CheckRedirect: noRedirects}
}

// noRedirects makes the client return 3xx responses instead of following
// them. A forward target is configured by an operator; a redirect would send
// the payload and its headers somewhere nobody configured (another host,
// possibly outside the network), and 301/302/303 would turn the POST into a
// body-less GET that "succeeds" without delivering anything. A target that
// redirects needs its URL fixed, so Forward reports it as a permanent
// failure, Location included.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// hopByHop are headers that describe one connection or that the client
// computes; copying them from the received request would corrupt the
// forwarded one, so a.Headers cannot select them.
var hopByHop = map[string]bool{
	"Connection":          true,
	"Content-Length":      true,
	"Host":                true,
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Proxy-Connection":    true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
}

// Forward POSTs ev.Body to a.URL within a.Timeout, which must be positive
// (config fills in its default).
// The request carries the event's received Content-Type, the received
// headers named in a.Headers (hop-by-hop headers excepted), and
// X-Hookd-Event-Id, X-Hookd-Service and X-Hookd-Idempotency-Key.
//
// It returns what the target answered (its status and the start of its
// body, whatever the status; nothing for a network error) and nil for a
// 2xx answer; a plain error for 408, 429, 5xx and network errors; and a
// hookd.Permanent error otherwise.
func (f *Forwarder) Forward(ctx context.Context, a *hookd.ForwardAction, ev *hookd.Event) (hookd.Reply, error) {
	target := redactURL(a.URL)
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(ev.Body))
	if err != nil {
		return hookd.Reply{}, hookd.Permanent(fmt.Errorf("forward: POST %s: %w", target, stripURL(err)))
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return hookd.Reply{}, hookd.Permanent(fmt.Errorf("forward: POST %s: scheme %q is not http or https", target, req.URL.Scheme))
	}
	for _, name := range a.Headers {
		name = http.CanonicalHeaderKey(name)
		if hopByHop[name] {
			continue
		}
		for _, v := range ev.Header.Values(name) {
			req.Header.Add(name, v)
		}
	}
	if ct := ev.Header.Get("Content-Type"); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "hookd")
	}
	req.Header.Set(HeaderEventID, ev.ID)
	req.Header.Set(HeaderService, ev.Service)
	req.Header.Set(HeaderIdempotencyKey, ev.IdempotencyKey)

	client := *cmp.Or(f.Client, defaultClient) // a copy, to override its redirect policy
	client.CheckRedirect = noRedirects
	resp, err := client.Do(req)
	if err != nil {
		// Network errors, timeouts and cancellation: worth another try.
		return hookd.Reply{}, fmt.Errorf("forward: POST %s: %w", target, stripURL(err))
	}
	defer resp.Body.Close()
	// Read (a bounded amount of) the body so the connection can be reused,
	// keeping its start for the reply and the error message.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxDrain))
	reply := hookd.Reply{Code: resp.StatusCode, Text: snippet(body)}

	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return reply, nil
	}
	serr := &StatusError{
		URL:        target,
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		Body:       reply.Text,
	}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		serr.Location = redactURL(resp.Header.Get("Location"))
	}
	if serr.Temporary() {
		return reply, serr
	}
	return reply, hookd.Permanent(serr)
}

// StatusError is a non-2xx answer from a forward target.
type StatusError struct {
	URL        string // the target, without credentials or query
	StatusCode int
	Status     string // e.g. "503 Service Unavailable"
	Location   string // for 3xx: where the target redirected to
	Body       string // at most the first 256 bytes of the response body
}

// Temporary reports whether the answer is worth retrying: 408 Request
// Timeout, 429 Too Many Requests and every 5xx.
func (e *StatusError) Temporary() bool {
	c := e.StatusCode
	return c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || (c >= 500 && c <= 599)
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "forward: POST %s: %s", e.URL, cmp.Or(e.Status, fmt.Sprint(e.StatusCode)))
	if e.StatusCode >= 300 && e.StatusCode <= 399 {
		fmt.Fprintf(&b, " (redirect to %q not followed)", e.Location)
	}
	if e.Body != "" {
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	return b.String()
}

// snippet returns at most maxSnippet bytes of body (hookd.Snippet),
// copying no more of it than that: it runs for every delivery. The byte
// past the cut lets Snippet see that it cuts.
func snippet(body []byte) string {
	return hookd.Snippet(string(body[:min(len(body), maxSnippet+1)]), maxSnippet)
}

// redactURL returns raw without its password and query, which may carry
// credentials (tokens in query strings are common), for error messages
// that end up in the admin API.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "", false
		return u.Redacted() + "?…"
	}
	return u.Redacted()
}

// stripURL replaces a *url.Error (whose message repeats the full URL,
// secrets included) by its cause; the caller names the redacted URL.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &causeError{err: ue}
	}
	return err
}

// causeError prints only a *url.Error's cause but keeps it in the chain,
// so errors.Is(err, context.DeadlineExceeded) and errors.As(err,
// *net.OpError) still work.
type causeError struct{ err *url.Error }

func (e *causeError) Error() string { return e.err.Err.Error() }
func (e *causeError) Unwrap() error { return e.err }
