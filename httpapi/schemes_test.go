package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/store/sqlite"
	"github.com/hookd/hookd/verify"
)

// TestEverySchemeEndToEnd sends, for each scheme, a genuine request (202),
// the same again (200), a tampered one (401) and, for schemes that sign a
// timestamp, a stale one (401 timestamp-out-of-tolerance), through real
// HTTP into a real SQLite store.
func TestEverySchemeEndToEnd(t *testing.T) {
	t.Parallel()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	signingKey := "whsk_" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed))
	publicKey := "whpk_" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	const twilioURL = "https://hooks.example.com/webhooks/scheme"

	schemes := []struct {
		name        string
		cfg         verify.Config
		signer      *verify.Config // signs instead of cfg (asymmetric keys)
		body        string
		keyHeader   string // set to a fresh key when the scheme reads one from a header
		timestamped bool
		twilio      bool
	}{
		{name: "hmac-sha256", cfg: verify.Config{Secrets: []string{"old-secret-0123456789", "current-secret-0123456789"}}, body: `{"idempotency_key":"k1"}`},
		{name: "hmac-sha256-base64-sha512", cfg: verify.Config{Secrets: []string{"secret-0123456789abcdef"}, Encoding: "base64", Algorithm: "sha512", Header: "X-Sig"}, body: `{}`, keyHeader: "Idempotency-Key"},
		{name: "github", cfg: verify.Config{Scheme: "github", Secrets: []string{"gh-secret-0123456789"}}, body: `{"zen":"hi"}`, keyHeader: "X-GitHub-Delivery"},
		{name: "stripe", cfg: verify.Config{Scheme: "stripe", Secrets: []string{"whsec_stripe_0123456789"}}, body: `{"id":"evt_123","type":"charge.succeeded"}`, timestamped: true},
		{name: "standard-webhooks-v1", cfg: verify.Config{Scheme: "standard-webhooks", Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}, body: `{"type":"user.created"}`, timestamped: true},
		{name: "standard-webhooks-v1a", cfg: verify.Config{Scheme: "standard-webhooks", Secrets: []string{publicKey}},
			signer: &verify.Config{Scheme: "standard-webhooks", Secrets: []string{signingKey}}, body: `{"type":"user.created"}`, timestamped: true},
		{name: "shopify", cfg: verify.Config{Scheme: "shopify", Secrets: []string{"shpss_0123456789abcdef"}}, body: `{"id":1}`, keyHeader: "X-Shopify-Webhook-Id"},
		{name: "slack", cfg: verify.Config{Scheme: "slack", Secrets: []string{"slack-secret-0123456789"}}, body: `{"type":"event_callback","event_id":"Ev1"}`, timestamped: true},
		{name: "slack-form", cfg: verify.Config{Scheme: "slack", Secrets: []string{"slack-secret-0123456789"}}, body: `command=%2Fhi&trigger_id=13345224609.738474920.8088930838d88f008e0`, timestamped: true},
		{name: "twilio-form", cfg: verify.Config{Scheme: "twilio", Secrets: []string{"auth-token-0123456789"}, URL: twilioURL}, body: `CallSid=CA1&From=%2B14158675310`, keyHeader: "I-Twilio-Idempotency-Token", twilio: true},
		{name: "twilio-json", cfg: verify.Config{Scheme: "twilio", Secrets: []string{"auth-token-0123456789"}, URL: twilioURL}, body: `{"CallSid":"CA1"}`, keyHeader: "I-Twilio-Idempotency-Token", twilio: true},
		{name: "basic", cfg: verify.Config{Scheme: "basic", Secrets: []string{"partner:pa55-0123456789abcdef"}}, body: `{"idempotency_key":"b1"}`},
		{name: "api-key", cfg: verify.Config{Scheme: "api-key", Secrets: []string{"key-0123456789abcdef"}}, body: `{"idempotency_key":"a1"}`},
		{name: "api-key-custom-header", cfg: verify.Config{Scheme: "api-key", Secrets: []string{"key-0123456789abcdef"}, Header: "X-Api-Key"}, body: `{"idempotency_key":"a2"}`},
	}
	for _, s := range schemes {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookd.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			v := newVerifier(t, s.cfg)
			signer := v
			if s.signer != nil {
				signer = newVerifier(t, *s.signer)
			}
			svc := &hookd.Service{Name: "scheme", Verifier: v, MaxBody: maxBody, IdempotencyTTL: ttl, Actions: []hookd.Action{{Type: hookd.ActionNoop}}}
			srv := httptest.NewServer((&httpapi.Ingest{Services: map[string]*hookd.Service{"scheme": svc}, Accepter: db}).Handler())
			defer srv.Close()

			key := "key-" + s.name
			target, signed := srv.URL+"/webhooks/scheme", ""
			if s.twilio {
				signed = twilioURL
				if strings.HasPrefix(s.body, "{") {
					signed = verify.TwilioURL(twilioURL, []byte(s.body))
					target += signed[strings.Index(signed, "?"):]
				}
			}
			sign := func(at time.Time) http.Header {
				h, err := signer.Sign([]byte(s.body), signed, at) // always the genuine body
				if err != nil {
					t.Fatal(err)
				}
				return h
			}
			genuine := sign(time.Now())
			request := func(body string, h http.Header) *http.Request {
				req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
				req.Header = h.Clone()
				if strings.Contains(body, "=") && !strings.HasPrefix(body, "{") {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				if s.keyHeader != "" {
					req.Header.Set(s.keyHeader, key)
				}
				return req
			}

			a := do(t, request(s.body, genuine))
			if a.status != http.StatusAccepted {
				t.Fatalf("genuine: %d %v", a.status, a.body)
			}
			// A provider's retry: the very same request.
			if d := do(t, request(s.body, genuine)); d.status != http.StatusOK || d.body["event_id"] != a.body["event_id"] {
				t.Fatalf("duplicate: %d %v, want 200 naming %v", d.status, d.body, a.body["event_id"])
			}
			if s.cfg.Scheme == "basic" || s.cfg.Scheme == "api-key" {
				// These sign no bytes: tampering means wrong credentials.
				forged := genuine.Clone()
				for k, v := range forged {
					forged.Set(k, v[0][:len(v[0])-2]+"xx")
				}
				wantProblem(t, do(t, request(s.body, forged)), http.StatusUnauthorized, hookd.EInvalidSignature)
			} else {
				tampered := strings.Replace(s.body, "1", "2", 1)
				if tampered == s.body {
					tampered = s.body + " " // still the same JSON, but other bytes
				}
				wantProblem(t, do(t, request(tampered, genuine)), http.StatusUnauthorized, hookd.EInvalidSignature)
			}
			if s.timestamped {
				stale := do(t, request(s.body, sign(time.Now().Add(-6*time.Minute))))
				wantProblem(t, stale, http.StatusUnauthorized, hookd.ETimestampOutOfTolerance)
				future := do(t, request(s.body, sign(time.Now().Add(6*time.Minute))))
				wantProblem(t, future, http.StatusUnauthorized, hookd.ETimestampOutOfTolerance)
			}
			events, _, _ := db.Events(context.Background(), hookd.EventFilter{})
			if len(events) != 1 {
				t.Fatalf("%d events stored, want 1", len(events))
			}
			ev, err := db.Event(context.Background(), events[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			for name := range ev.Header {
				if name == "Authorization" || name == "X-Api-Key" {
					t.Errorf("the credential header %s was stored with the event", name)
				}
			}
		})
	}
}

// TestSlackURLVerification answers Slack's handshake and stores nothing.
func TestSlackURLVerification(t *testing.T) {
	b := setup(t)
	v := newVerifier(t, verify.Config{Scheme: "slack", Secrets: []string{"slack-secret-0123456789"}})
	b.services["slack"] = &hookd.Service{Name: "slack", Verifier: v, MaxBody: maxBody, IdempotencyTTL: ttl}
	srv := httptest.NewServer((&httpapi.Ingest{Services: b.services, Accepter: b.db}).Handler())
	defer srv.Close()
	body := `{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
	h, _ := v.Sign([]byte(body), "", time.Now())
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/slack", strings.NewReader(body))
	req.Header = h
	a := do(t, req)
	if a.status != http.StatusOK || a.body["challenge"] != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("%d %v", a.status, a.body)
	}
	b.wantNothingStored(t)
	// Unsigned, the handshake is refused like anything else.
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/webhooks/slack", strings.NewReader(body))
	wantProblem(t, do(t, req), http.StatusUnauthorized, hookd.EInvalidSignature)
}
