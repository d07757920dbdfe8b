package main

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/shellquote"
	"github.com/hookd/hookd/verify"
)

// sign runs "hookd sign": it prints a correctly signed request to a service
// so anyone can try it by hand.
func (c *cli) sign(args []string) error {
	fs := c.flags("sign", "Prints the headers and a ready curl line for a correctly signed request to a service.")
	path := fs.String("config", "", "configuration `file` (default $HOOKD_CONFIG, else the zero-config defaults)")
	name := fs.String("service", "", "the service to sign for (required)")
	bodyFrom := fs.String("body", "", "the body: a `file`, or - for standard input (default: a sample JSON body)")
	asJSON := fs.Bool("json", false, "print {\"url\", \"headers\", \"body\"} as JSON instead")
	base := fs.String("url", "", "where to send it: a base `URL` (/webhooks/NAME is appended) or the full URL, path included (default: the listen address)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprintln(c.stderr, "hookd sign: --service is required")
		return errUsage
	}
	if u, err := url.Parse(*base); *base != "" && (err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https") {
		fmt.Fprintf(c.stderr, "hookd sign: --url: %q is not an http:// or https:// URL with a host\n", *base)
		return errUsage
	}
	l, err := loadConfig(*path)
	if err != nil {
		return err
	}
	svc := l.services[*name]
	if svc == nil {
		return fmt.Errorf("sign: no service %q is configured", *name)
	}
	var body []byte
	switch *bodyFrom {
	case "":
		body = sampleBody(randomID())
	case "-":
		body, err = io.ReadAll(io.LimitReader(c.stdin, 64<<20))
	default:
		body, err = os.ReadFile(*bodyFrom)
	}
	if err != nil {
		return fmt.Errorf("sign: body: %w", err)
	}
	target := cmp.Or(*base, publicURL(l.cfg.Listen))
	if u, _ := url.Parse(target); strings.Trim(u.Path, "/") == "" {
		target = strings.TrimRight(target, "/") + "/webhooks/" + svc.Name
	}
	signed := target
	if _, ok := svc.Verifier.(*verify.Twilio); ok {
		// Twilio signs the public URL it calls, which a proxy may rewrite
		// into ours; a JSON body's hash travels in the query.
		signed = l.cfg.ServiceConfigs[svc.Name].Verify.URL
		if json.Valid(body) {
			signed = verify.TwilioURL(signed, body)
		}
		if i := strings.IndexByte(signed, '?'); i >= 0 {
			target += signed[i:]
		}
	}
	h, err := svc.Verifier.Sign(body, signed, time.Now())
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
		if !json.Valid(body) {
			h.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	// A body that carries its key is signed as it is, so that signing it
	// again makes a retry of the same webhook; only a body without one
	// gets a fresh key, in the header the service reads.
	if _, err := httpapi.IdempotencyKey(svc, h, body); hookd.ErrorCode(err) == hookd.EMissingIdempotencyKey {
		addKeyHeader(svc, h, randomID())
	}

	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]any{"url": target, "headers": h, "body": string(body)})
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	fmt.Fprintf(c.stdout, "POST %s\n", target)
	curl := []string{"curl", "-sS", "-i", "-X", "POST", shellquote.Quote(target)}
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(c.stdout, "%s: %s\n", k, v)
			curl = append(curl, "-H", shellquote.Quote(k+": "+v))
		}
	}
	line := ""
	switch {
	case *bodyFrom != "" && *bodyFrom != "-":
		curl = append(curl, "--data-binary", shellquote.Quote("@"+*bodyFrom)) // the file's exact bytes
	case shellquote.Plain(body):
		fmt.Fprintf(c.stdout, "\n%s\n", body)
		curl = append(curl, "--data-binary", shellquote.Quote(string(body)))
	default:
		// Newlines and control characters: printf writes them from
		// escapes, so the line stays one line and sends the exact bytes.
		fmt.Fprintf(c.stdout, "\n%s\n", shellquote.Visible(string(body)))
		line = shellquote.Printf(body) + " | "
		curl = append(curl, "--data-binary", "@-")
	}
	fmt.Fprintf(c.stdout, "\n%s%s\n", line, strings.Join(curl, " "))
	return nil
}

// sampleBody is a body every built-in scheme and action accepts: it has an
// address for email actions and a fresh key where schemes look for one.
func sampleBody(id string) []byte {
	b, _ := json.Marshal(map[string]string{
		"id": "evt_" + id, "idempotency_key": id, "event_id": "Ev" + id, "email": "ada@example.com",
	})
	return b
}

// addKeyHeader sets key as the idempotency key where the service reads it
// from a header and the signature did not already set one.
func addKeyHeader(svc *hookd.Service, h http.Header, key string) {
	sources := svc.KeySources()
	if len(sources) > 0 && sources[0].From == "header" && h.Get(sources[0].Name) == "" {
		h.Set(sources[0].Name, key)
	}
}

func randomID() string {
	return strings.ToLower(rand.Text()[:20])
}

// publicURL turns a listen address into a URL a local client can use.
func publicURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
