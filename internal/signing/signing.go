// Package signing makes correctly signed requests to a hookd service, for
// "hookd sign": what to send, and how to show it to a person who sends it
// by hand.
package signing

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/shellquote"
	"github.com/hookd/hookd/verify"
)

// Request is a webhook request signed for a service.
type Request struct {
	URL    string
	Header http.Header
	Body   []byte
}

// Sign signs body as svc's sender would, at now, for sending to target: a
// URL, to which a missing path adds /webhooks/NAME. The request has a
// Content-Type (JSON, or a form for other bodies) and, unless body or the
// signature carries one, a fresh idempotency key where svc reads it.
func Sign(svc *hookd.Service, target string, body []byte, now time.Time) (*Request, error) {
	return sign(svc, target, body, nil, now)
}

// Resend signs a stored event's body again, for sending it anew: like
// Sign, but an idempotency key the event was received with in a header
// (stored) is kept where the signature does not set that header itself,
// so that the re-send is a duplicate of it.
func Resend(svc *hookd.Service, target string, body []byte, stored http.Header, now time.Time) (*Request, error) {
	return sign(svc, target, body, stored, now)
}

func sign(svc *hookd.Service, target string, body []byte, stored http.Header, now time.Time) (*Request, error) {
	if u, err := url.Parse(target); err != nil || strings.Trim(u.Path, "/") == "" {
		target = strings.TrimRight(target, "/") + "/webhooks/" + svc.Name
	}
	signed := target
	if tw, ok := svc.Verifier.(*verify.Twilio); ok {
		// Twilio signs the public URL it calls, which a proxy may rewrite
		// into ours; a JSON body's hash travels in the query.
		signed = tw.URL()
		if json.Valid(body) {
			signed = verify.TwilioURL(signed, body)
		}
		if i := strings.IndexByte(signed, '?'); i >= 0 {
			target += signed[i:]
		}
	}
	h, err := svc.Verifier.Sign(body, signed, now)
	if err != nil {
		return nil, err
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
		if !json.Valid(body) {
			h.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	for _, src := range svc.KeySources() {
		if v := stored.Get(src.Name); src.From == "header" && h.Get(src.Name) == "" && v != "" {
			h.Set(src.Name, v)
		}
	}
	// A body that carries its key is signed as it is, so that signing it
	// again makes a retry of the same webhook; only a body without one
	// gets a fresh key, in the header the service reads.
	if _, err := httpapi.IdempotencyKey(svc, h, body); hookd.ErrorCode(err) == hookd.EMissingIdempotencyKey {
		addKeyHeader(svc, h, RandomID())
	}
	return &Request{URL: target, Header: h, Body: body}, nil
}

// Write shows r to a person: the request line, the headers, the body
// (escaped when it is not plain text), then Curl's command line. bodyFile,
// if not empty, is the file the body came from: it is not shown.
func (r *Request) Write(w io.Writer, bodyFile string) error {
	fmt.Fprintf(w, "POST %s\n", r.URL)
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	switch {
	case bodyFile != "":
	case shellquote.Plain(r.Body):
		fmt.Fprintf(w, "\n%s\n", r.Body)
	default:
		fmt.Fprintf(w, "\n%s\n", shellquote.Visible(string(r.Body)))
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.Curl(bodyFile))
	return err
}

// Curl is a shell command line that sends r with curl, the body's exact
// bytes: from bodyFile when it is not empty, else inline, or through
// printf when the body has newlines or control characters (so that the
// line stays one line).
func (r *Request) Curl(bodyFile string) string {
	curl := []string{"curl", "-sS", "-i", "-X", "POST", shellquote.Quote(r.URL)}
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[k] {
			curl = append(curl, "-H", shellquote.Quote(k+": "+v))
		}
	}
	switch {
	case bodyFile != "":
		return strings.Join(append(curl, "--data-binary", shellquote.Quote("@"+bodyFile)), " ")
	case shellquote.Plain(r.Body):
		return strings.Join(append(curl, "--data-binary", shellquote.Quote(string(r.Body))), " ")
	}
	return shellquote.Printf(r.Body) + " | " + strings.Join(append(curl, "--data-binary", "@-"), " ")
}

// MarshalJSON is {"url", "headers", "body"}, the body as a string.
func (r *Request) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"url": r.URL, "headers": r.Header, "body": string(r.Body)})
}

// SampleBody is a body every built-in scheme and action accepts: it has an
// address for email actions and the key id where schemes look for one.
func SampleBody(id string) []byte {
	b, _ := json.Marshal(map[string]string{
		"id": "evt_" + id, "idempotency_key": id, "event_id": "Ev" + id, "email": "ada@example.com",
	})
	return b
}

// RandomID is a fresh idempotency key.
func RandomID() string {
	return strings.ToLower(rand.Text()[:20])
}

// addKeyHeader sets key as the idempotency key where the service reads it
// from a header and the signature did not already set one.
func addKeyHeader(svc *hookd.Service, h http.Header, key string) {
	sources := svc.KeySources()
	if len(sources) > 0 && sources[0].From == "header" && h.Get(sources[0].Name) == "" {
		h.Set(sources[0].Name, key)
	}
}

// PublicURL turns a listen address into a URL a local client can use.
func PublicURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
