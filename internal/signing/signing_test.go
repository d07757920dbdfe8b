package signing_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/signing"
)

func services(t *testing.T) map[string]*hookd.Service {
	t.Helper()
	cfg, err := config.Load("hookd.yaml", []byte(`
services:
  hmac: {verify: {scheme: hmac-sha256, secrets: [hmac-secret-0123456789]}}
  github: {verify: {scheme: github, secrets: [github-secret-0123456789]}}
  stripe: {verify: {scheme: stripe, secrets: [whsec_stripe_0123456789]}}
  slack: {verify: {scheme: slack, secrets: [slack-secret-0123456789]}}
  twilio: {verify: {scheme: twilio, secrets: [twilio-token-0123456789], url: "https://public.example.com/webhooks/twilio"}}
  apikey: {verify: {scheme: api-key, secrets: [api-key-0123456789]}}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	s, err := cfg.Build()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSignVerifies checks that each signed request passes its service's
// verifier, and that the sample body has the key each service reads.
func TestSignVerifies(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for name, svc := range services(t) {
		for _, body := range []string{string(signing.SampleBody("k1")), `{"n":1}`, "CallSid=CA1&trigger_id=t1"} {
			if name != "twilio" && name != "slack" && strings.HasPrefix(body, "CallSid") {
				continue // form bodies: only for the schemes whose senders use them
			}
			req, err := signing.Sign(svc, "http://127.0.0.1:8080", []byte(body), now)
			if err != nil {
				t.Fatalf("%s, %q: %v", name, body, err)
			}
			u, err := url.Parse(req.URL)
			if err != nil || u.Path != "/webhooks/"+name {
				t.Errorf("%s: URL %q, want path /webhooks/%s", name, req.URL, name)
				continue
			}
			if err := svc.Verifier.Verify(&hookd.Request{Header: req.Header, Body: req.Body, URL: u}); err != nil {
				t.Errorf("%s, %q: does not verify: %v", name, body, err)
			}
			// The sample body has a key where every scheme looks; others
			// get one only where the service reads a header.
			if _, err := httpapi.IdempotencyKey(svc, req.Header, req.Body); err != nil && body == string(signing.SampleBody("k1")) {
				t.Errorf("%s, %q: no idempotency key: %v", name, body, err)
			}
		}
	}
}

// TestSignKeyAndURL: a body that has its key keeps it (signing it again
// makes a retry); one without gets a fresh key. A URL with a path is kept.
func TestSignKeyAndURL(t *testing.T) {
	t.Parallel()
	svc := services(t)["hmac"]
	req, err := signing.Sign(svc, "https://x.example/in/hmac?a=1", []byte(`{"idempotency_key":"mine"}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if req.URL != "https://x.example/in/hmac?a=1" || req.Header.Get("Idempotency-Key") != "" || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("body with a key: %s %v", req.URL, req.Header)
	}
	req, err = signing.Sign(svc, "https://x.example/", []byte("a=b"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if req.URL != "https://x.example/webhooks/hmac" || len(req.Header.Get("Idempotency-Key")) != 20 ||
		req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("body without a key: %s %v", req.URL, req.Header)
	}
	if tw, _ := signing.Sign(services(t)["twilio"], "http://127.0.0.1:8080", []byte(`{"a":1}`), time.Now()); !strings.HasPrefix(tw.URL, "http://127.0.0.1:8080/webhooks/twilio?bodySHA256=") {
		t.Errorf("twilio JSON body: URL %q, want the body's hash in the query", tw.URL)
	}
}

// TestWrite shows a request with a plain body, a body with control
// characters (escaped on screen, sent exactly through printf) and a file.
func TestWrite(t *testing.T) {
	t.Parallel()
	req := &signing.Request{URL: "http://h/webhooks/a", Header: map[string][]string{"X-Sig": {"s"}, "Content-Type": {"application/json"}}, Body: []byte(`{"it's":1}`)}
	var b strings.Builder
	req.Write(&b, "")
	want := "POST http://h/webhooks/a\nContent-Type: application/json\nX-Sig: s\n\n{\"it's\":1}\n\n" +
		`curl -sS -i -X POST 'http://h/webhooks/a' -H 'Content-Type: application/json' -H 'X-Sig: s' --data-binary '{"it'\''s":1}'` + "\n"
	if b.String() != want {
		t.Errorf("plain body:\n%s\nwant:\n%s", b.String(), want)
	}
	req.Body = []byte("a\x1b[2Jb\n")
	b.Reset()
	req.Write(&b, "")
	if !strings.Contains(b.String(), "\n\na\\x1b[2Jb\n") || !strings.Contains(b.String(), `printf 'a\033[2Jb\012' | curl `) ||
		!strings.HasSuffix(b.String(), " --data-binary @-\n") {
		t.Errorf("control characters:\n%s", b.String())
	}
	b.Reset()
	req.Write(&b, "my body.json")
	if strings.Contains(b.String(), "a\\x1b") || !strings.HasSuffix(b.String(), ` --data-binary '@my body.json'`+"\n") {
		t.Errorf("body from a file:\n%s", b.String())
	}
}

func TestPublicURL(t *testing.T) {
	t.Parallel()
	for listen, want := range map[string]string{
		":8080": "http://127.0.0.1:8080", "0.0.0.0:80": "http://127.0.0.1:80", "[::]:8080": "http://127.0.0.1:8080",
		"[::1]:8080": "http://[::1]:8080", "hooks.local:9000": "http://hooks.local:9000", "nonsense": "http://nonsense",
	} {
		if got := signing.PublicURL(listen); got != want {
			t.Errorf("PublicURL(%q) = %q, want %q", listen, got, want)
		}
	}
}

// TestResendKeepsTheStoredKey: a stored event's body signed again for the
// dashboard's curl line verifies, Twilio's signed URL included, and keeps
// the key the event came with in a header the signature does not set, so
// the re-send is a duplicate.
func TestResendKeepsTheStoredKey(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for name, svc := range services(t) {
		body := []byte(`{"n":1}`)
		// A key header that the signature sets itself (GitHub's delivery
		// ID, standard-webhooks' signed message ID) stays the signer's.
		own, _ := svc.Verifier.Sign(body, "", now)
		stored := http.Header{}
		for _, src := range svc.KeySources() {
			if src.From == "header" && own.Get(src.Name) == "" {
				stored.Set(src.Name, "stored-key-1")
			}
		}
		req, err := signing.Resend(svc, "http://127.0.0.1:8080", body, stored, now)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		u, _ := url.Parse(req.URL)
		if err := svc.Verifier.Verify(&hookd.Request{Header: req.Header, Body: req.Body, URL: u}); err != nil {
			t.Errorf("%s: the re-sent request does not verify: %v", name, err)
		}
		if key, err := httpapi.IdempotencyKey(svc, req.Header, req.Body); len(stored) > 0 && (err != nil || key != "stored-key-1") {
			t.Errorf("%s: key %q, %v; want the stored one", name, key, err)
		}
		if !strings.Contains(req.Curl(""), "curl -sS -i -X POST '"+req.URL+"'") {
			t.Errorf("%s: curl line %q", name, req.Curl(""))
		}
	}
}
