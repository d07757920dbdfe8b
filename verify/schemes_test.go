package verify

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// now is the fixed clock of the table tests.
const now = 1700000000

// scheme describes one scheme for the shared table: how to configure it,
// which headers it uses, and what it signs.
type scheme struct {
	name       string
	cfg        Config   // Scheme and options, without Secrets
	secret     string   // the sender's secret
	verifyWith []string // the receiver's secrets when they differ (public keys)
	other      string   // a valid secret that is not the sender's
	body       []byte
	jsonTwilio bool   // sign TwilioURL(cfg.URL, body)
	sigHeader  string // the header that carries the signature
	tsHeader   string // "" for schemes without a timestamp
	signsBody  bool
}

func key24(c byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{c}, 24)) }

func edKeys(c byte) (priv, pub string) {
	k := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{c}, ed25519.SeedSize))
	return "whsk_" + base64.StdEncoding.EncodeToString(k), "whpk_" + base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
}

func schemes() []scheme {
	jsonBody := []byte(`{"id":"evt_1","idempotency_key":"k1","email":"a@example.com"}`)
	form := []byte("CallSid=CA1&From=%2B14158675309&Body=hi+there")
	edPriv, edPub := edKeys(1)
	_, edOther := edKeys(2)
	return []scheme{
		{name: "hmac-sha256", cfg: Config{}, secret: "s3cret-one-0123456789", other: "s3cret-two-0123456789", body: jsonBody, sigHeader: "X-Signature", signsBody: true},
		{name: "hmac-sha256/base64/sha512", cfg: Config{Encoding: "base64", Algorithm: "sha512", Header: "X-Hub-Sig"}, secret: "s3cret-one-0123456789", other: "s3cret-two-0123456789", body: jsonBody, sigHeader: "X-Hub-Sig", signsBody: true},
		{name: "hmac-sha256/base64url/sha1", cfg: Config{Encoding: "base64url", Algorithm: "sha1", Prefix: "v1:"}, secret: "s3cret-one-0123456789", other: "s3cret-two-0123456789", body: jsonBody, sigHeader: "X-Signature", signsBody: true},
		{name: "github", cfg: Config{Scheme: SchemeGitHub}, secret: "gh-secret-one-0123456789", other: "gh-secret-two-0123456789", body: jsonBody, sigHeader: "X-Hub-Signature-256", signsBody: true},
		{name: "stripe", cfg: Config{Scheme: SchemeStripe}, secret: "whsec_stripe_one", other: "whsec_stripe_two", body: jsonBody, sigHeader: "Stripe-Signature", tsHeader: "Stripe-Signature", signsBody: true},
		{name: "standard-webhooks/v1", cfg: Config{Scheme: SchemeStandardWebhooks}, secret: "whsec_" + key24('a'), other: "whsec_" + key24('b'), body: jsonBody, sigHeader: "webhook-signature", tsHeader: "webhook-timestamp", signsBody: true},
		{name: "standard-webhooks/v1a", cfg: Config{Scheme: SchemeStandardWebhooks}, secret: edPriv, verifyWith: []string{edPub}, other: edOther, body: jsonBody, sigHeader: "webhook-signature", tsHeader: "webhook-timestamp", signsBody: true},
		{name: "shopify", cfg: Config{Scheme: SchemeShopify}, secret: "shpss_one-0123456789", other: "shpss_two-0123456789", body: jsonBody, sigHeader: "X-Shopify-Hmac-Sha256", signsBody: true},
		{name: "slack", cfg: Config{Scheme: SchemeSlack}, secret: "slack-one-0123456789", other: "slack-two-0123456789", body: jsonBody, sigHeader: "X-Slack-Signature", tsHeader: "X-Slack-Request-Timestamp", signsBody: true},
		{name: "twilio/form", cfg: Config{Scheme: SchemeTwilio, URL: "https://hooks.example.com/webhooks/twilio"}, secret: "token-one-0123456789", other: "token-two-0123456789", body: form, sigHeader: "X-Twilio-Signature", signsBody: true},
		{name: "twilio/json", cfg: Config{Scheme: SchemeTwilio, URL: "https://hooks.example.com/webhooks/twilio"}, secret: "token-one-0123456789", other: "token-two-0123456789", body: jsonBody, jsonTwilio: true, sigHeader: "X-Twilio-Signature", signsBody: true},
		{name: "basic", cfg: Config{Scheme: SchemeBasic}, secret: "hooks:pa55word-0123456789", other: "hooks:other-0123456789ab", body: jsonBody, sigHeader: "Authorization"},
		{name: "api-key/bearer", cfg: Config{Scheme: SchemeAPIKey}, secret: "key-one-0123456789", other: "key-two-0123456789", body: jsonBody, sigHeader: "Authorization"},
		{name: "api-key/custom", cfg: Config{Scheme: SchemeAPIKey, Header: "X-Api-Key"}, secret: "key-one-0123456789", other: "key-two-0123456789", body: jsonBody, sigHeader: "X-Api-Key"},
	}
}

// signed is one request under test and the secrets of the receiver.
type signed struct {
	h       http.Header
	body    []byte
	rawURL  string
	secrets []string
	ignore  bool // IgnoreTimestamp
}

// signAt returns a genuine request of s signed at time ts.
func (s scheme) signAt(t *testing.T, ts int64) *signed {
	t.Helper()
	c := s.cfg
	c.Secrets = []string{s.secret}
	v := newVerifier(t, c)
	target, rawURL := "", "/webhooks/x"
	if s.jsonTwilio {
		target = TwilioURL(c.URL, s.body)
		u, _ := url.Parse(target)
		rawURL = "/webhooks/x?" + u.RawQuery
	}
	h, err := v.Sign(s.body, target, time.Unix(ts, 0))
	if err != nil {
		t.Fatal(err)
	}
	secrets := s.verifyWith
	if secrets == nil {
		secrets = []string{s.secret}
	}
	return &signed{h: h, body: bytes.Clone(s.body), rawURL: rawURL, secrets: secrets}
}

func (s scheme) verify(t *testing.T, r *signed) error {
	t.Helper()
	c := s.cfg
	c.Secrets = r.secrets
	c.Now = at(now)
	c.IgnoreTimestamp = r.ignore
	return newVerifier(t, c).Verify(request(t, r.h, r.body, r.rawURL))
}

// TestSchemes changes one thing in a valid signed request of each scheme
// (in the spirit of standard-webhooks' modifyPayload).
func TestSchemes(t *testing.T) {
	t.Parallel()
	tol := int64(DefaultTolerance / time.Second)
	type mod struct {
		name     string
		signedAt int64 // 0: now
		modify   func(s scheme, r *signed)
		code     string
		sentinel error
		only     func(s scheme) bool // nil: every scheme
	}
	timestamped := func(s scheme) bool { return s.tsHeader != "" }
	mods := []mod{
		{name: "valid", modify: func(scheme, *signed) {}},
		{name: "signature header missing", modify: func(s scheme, r *signed) { r.h.Del(s.sigHeader) },
			code: hookd.EInvalidSignature, sentinel: ErrMissingHeader},
		{name: "signature header empty", modify: func(s scheme, r *signed) { r.h.Set(s.sigHeader, "") },
			code: hookd.EInvalidSignature, sentinel: ErrMissingHeader},
		{name: "signature header duplicated", modify: func(s scheme, r *signed) { r.h.Add(s.sigHeader, r.h.Get(s.sigHeader)) },
			code: hookd.EInvalidSignature, sentinel: ErrDuplicateHeader},
		{name: "signature truncated", modify: func(s scheme, r *signed) {
			v := strings.TrimRight(r.h.Get(s.sigHeader), "=")
			r.h.Set(s.sigHeader, v[:len(v)-4])
		}, code: hookd.EInvalidSignature},
		{name: "signature one character changed", modify: func(s scheme, r *signed) {
			v := []byte(strings.TrimRight(r.h.Get(s.sigHeader), "="))
			if v[len(v)-2] == 'A' {
				v[len(v)-2] = 'B'
			} else {
				v[len(v)-2] = 'A'
			}
			r.h.Set(s.sigHeader, string(v))
		}, code: hookd.EInvalidSignature},
		{name: "body changed by one byte", modify: func(_ scheme, r *signed) { r.body[len(r.body)-2] ^= 1 },
			code: hookd.EInvalidSignature, only: func(s scheme) bool { return s.signsBody }},
		{name: "body unsigned by this scheme", modify: func(_ scheme, r *signed) { r.body[len(r.body)-2] ^= 1 },
			only: func(s scheme) bool { return !s.signsBody }},
		{name: "wrong secret", modify: func(s scheme, r *signed) { r.secrets = []string{s.other} },
			code: hookd.EInvalidSignature, sentinel: ErrSignatureMismatch},
		{name: "rotated secret accepted", modify: func(s scheme, r *signed) { r.secrets = append([]string{s.other}, r.secrets...) }},
		{name: "timestamp just inside tolerance (past)", signedAt: now - tol, modify: func(scheme, *signed) {}, only: timestamped},
		{name: "timestamp just inside tolerance (future)", signedAt: now + tol, modify: func(scheme, *signed) {}, only: timestamped},
		{name: "timestamp just outside tolerance (past)", signedAt: now - tol - 1, modify: func(scheme, *signed) {},
			code: hookd.ETimestampOutOfTolerance, sentinel: ErrTimestampOutOfTolerance, only: timestamped},
		{name: "timestamp just outside tolerance (future)", signedAt: now + tol + 1, modify: func(scheme, *signed) {},
			code: hookd.ETimestampOutOfTolerance, sentinel: ErrTimestampOutOfTolerance, only: timestamped},
		{name: "old timestamp with wrong secret is a signature error", signedAt: now - 3600,
			modify: func(s scheme, r *signed) { r.secrets = []string{s.other} },
			code:   hookd.EInvalidSignature, sentinel: ErrSignatureMismatch, only: timestamped},
		{name: "old timestamp accepted when ignored", signedAt: now - 86400,
			modify: func(_ scheme, r *signed) { r.ignore = true }, only: timestamped},
		{name: "timestamp changed", modify: func(s scheme, r *signed) { shiftTimestamp(r.h, s.tsHeader, 1) },
			code: hookd.EInvalidSignature, sentinel: ErrSignatureMismatch, only: timestamped},
		{name: "timestamp malformed", modify: func(s scheme, r *signed) { shiftTimestamp(r.h, s.tsHeader, 0) },
			code: hookd.EInvalidSignature, sentinel: ErrMalformedHeader, only: timestamped},
	}
	for _, s := range schemes() {
		for _, m := range mods {
			if m.only != nil && !m.only(s) {
				continue
			}
			t.Run(s.name+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				r := s.signAt(t, cmpOr(m.signedAt, now))
				m.modify(s, r)
				checkErr(t, s.verify(t, r), m.code, m.sentinel, s.secret, s.other)
			})
		}
	}
}

func cmpOr(a, b int64) int64 {
	if a != 0 {
		return a
	}
	return b
}

// shiftTimestamp adds delta seconds to the signed timestamp in header (in
// place, for stripe's t=), or makes it malformed when delta is 0.
func shiftTimestamp(h http.Header, header string, delta int64) {
	v := h.Get(header)
	start, end := 0, len(v)
	if strings.HasPrefix(v, "t=") {
		start, end = 2, strings.IndexByte(v, ',')
	}
	ts, _ := strconv.ParseInt(v[start:end], 10, 64)
	repl := strconv.FormatInt(ts+delta, 10)
	if delta == 0 {
		repl = "17e8"
	}
	h.Set(header, v[:start]+repl+v[end:])
}

// TestStandardWebhooksHeaders covers the id and timestamp headers and the
// signature list.
func TestStandardWebhooksHeaders(t *testing.T) {
	t.Parallel()
	secret := "whsec_" + key24('a')
	v := newVerifier(t, Config{Scheme: SchemeStandardWebhooks, Secrets: []string{secret}, Now: at(now)})
	body := []byte(`{"a":1}`)
	sign := func() http.Header {
		h, err := v.Sign(body, "", time.Unix(now, 0))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := sign()
	if id := h.Get("webhook-id"); !strings.HasPrefix(id, "msg_") || len(id) < 20 || id == sign().Get("webhook-id") {
		t.Errorf("webhook-id %q is not a fresh msg_ id", id)
	}
	tests := []struct {
		name     string
		modify   func(h http.Header)
		code     string
		sentinel error
	}{
		{"id missing", func(h http.Header) { h.Del("webhook-id") }, hookd.EInvalidSignature, ErrMissingHeader},
		{"id changed", func(h http.Header) { h.Set("webhook-id", h.Get("webhook-id")+"x") }, hookd.EInvalidSignature, ErrSignatureMismatch},
		{"id duplicated", func(h http.Header) { h.Add("webhook-id", "msg_other") }, hookd.EInvalidSignature, ErrDuplicateHeader},
		{"timestamp missing", func(h http.Header) { h.Del("webhook-timestamp") }, hookd.EInvalidSignature, ErrMissingHeader},
		{"timestamp duplicated", func(h http.Header) { h.Add("webhook-timestamp", strconv.Itoa(now)) }, hookd.EInvalidSignature, ErrDuplicateHeader},
		{"timestamp negative", func(h http.Header) { h.Set("webhook-timestamp", "-1") }, hookd.EInvalidSignature, ErrMalformedHeader},
		{"timestamp huge", func(h http.Header) { h.Set("webhook-timestamp", strings.Repeat("9", 40)) }, hookd.EInvalidSignature, ErrMalformedHeader},
		{"several signatures, one valid", func(h http.Header) {
			h.Set("webhook-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "+h.Get("webhook-signature")+" v2,abc")
		}, "", nil},
		{"9 signatures", func(h http.Header) {
			h.Set("webhook-signature", strings.Repeat("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ", 8)+h.Get("webhook-signature"))
		}, hookd.EInvalidSignature, ErrMalformedHeader},
		{"unknown version only", func(h http.Header) {
			h.Set("webhook-signature", strings.Replace(h.Get("webhook-signature"), "v1,", "v9,", 1))
		}, hookd.EInvalidSignature, ErrMalformedHeader},
		{"v1 signature labelled v1a", func(h http.Header) {
			h.Set("webhook-signature", strings.Replace(h.Get("webhook-signature"), "v1,", "v1a,", 1))
		}, hookd.EInvalidSignature, ErrMalformedHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := sign()
			tt.modify(h)
			checkErr(t, v.Verify(request(t, h, body, "")), tt.code, tt.sentinel, secret)
		})
	}
}

// TestStripeHeader covers Stripe-Signature's list syntax.
func TestStripeHeader(t *testing.T) {
	t.Parallel()
	const secret = "whsec_test_secret"
	v := newVerifier(t, Config{Scheme: SchemeStripe, Secrets: []string{secret}, Now: at(now)})
	body := []byte(`{"id":"evt_1"}`)
	h, err := v.Sign(body, "", time.Unix(now, 0))
	if err != nil {
		t.Fatal(err)
	}
	valid := h.Get("Stripe-Signature")
	t1, v1, _ := strings.Cut(valid, ",")
	other := "v1=" + strings.Repeat("ab", 32)
	tests := []struct {
		name     string
		header   string
		code     string
		sentinel error
	}{
		{"valid", valid, "", nil},
		{"v0 and other schemes ignored", t1 + ",v0=" + strings.Repeat("cd", 32) + ",foo=bar," + v1, "", nil},
		{"signature first, spaces", " " + v1 + " , " + t1, "", nil},
		{"rotation: old signature too", t1 + "," + other + "," + v1, "", nil},
		{"v0 only", t1 + ",v0=" + v1[len("v1="):], hookd.EInvalidSignature, ErrMalformedHeader},
		{"no timestamp", v1, hookd.EInvalidSignature, ErrMalformedHeader},
		{"two timestamps", t1 + "," + t1 + "," + v1, hookd.EInvalidSignature, ErrMalformedHeader},
		{"element without =", t1 + ",v1," + v1, hookd.EInvalidSignature, ErrMalformedHeader},
		{"9 signatures", t1 + strings.Repeat(","+other, 8) + "," + v1, hookd.EInvalidSignature, ErrMalformedHeader},
		{"17 elements", t1 + strings.Repeat(",x=y", 15) + "," + v1, hookd.EInvalidSignature, ErrMalformedHeader},
		{"only a wrong signature", t1 + "," + other, hookd.EInvalidSignature, ErrSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkErr(t, v.Verify(request(t, headers("Stripe-Signature", tt.header), body, "")), tt.code, tt.sentinel, secret)
		})
	}
}

// TestHMACHeaderForms covers the generic scheme's accepted spellings.
func TestHMACHeaderForms(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-0123456789ab"
	body := []byte(`{"a":1}`)
	v := newVerifier(t, Config{Secrets: []string{secret}})
	h, _ := v.Sign(body, "", time.Time{})
	sig := h.Get("X-Signature")
	if !strings.HasPrefix(sig, "sha256=") {
		t.Fatalf("Sign = %q, want a sha256= prefix", sig)
	}
	hexSig := sig[len("sha256="):]
	for _, tt := range []struct {
		name, value, code string
	}{
		{"prefixed", sig, ""},
		{"bare", hexSig, ""},
		{"upper case", strings.ToUpper(hexSig), ""},
		{"upper-case prefix", "SHA256=" + hexSig, ""},
		{"surrounding spaces", "  " + sig + " ", ""},
		{"other prefix", "sha1=" + hexSig, hookd.EInvalidSignature},
		{"odd length", hexSig[1:], hookd.EInvalidSignature},
		{"not hex", strings.Repeat("zz", 32), hookd.EInvalidSignature},
		{"double prefix", "sha256=" + sig, hookd.EInvalidSignature},
	} {
		checkErr(t, v.Verify(request(t, headers("X-Signature", tt.value), body, "")), tt.code, nil, secret)
	}
}

// TestShopifyBase64 accepts the signature with and without padding.
func TestShopifyBase64(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, Config{Scheme: SchemeShopify, Secrets: []string{"shpss_0123456789abcdef"}})
	body := []byte(`{"id":1}`)
	h, _ := v.Sign(body, "", time.Time{})
	sig := h.Get("X-Shopify-Hmac-Sha256")
	for _, value := range []string{sig, strings.TrimRight(sig, "=")} {
		checkErr(t, v.Verify(request(t, headers("X-Shopify-Hmac-Sha256", value), body, "")), "", nil)
	}
	if _, err := base64.StdEncoding.DecodeString(sig); err != nil {
		t.Errorf("Sign: %q is not padded base64: %v", sig, err)
	}
}

// TestBasicAndAPIKey covers the header forms of the two static schemes.
func TestBasicAndAPIKey(t *testing.T) {
	t.Parallel()
	const pw, k1 = "p-0123456789abcdef", "key-0123456789abcdef"
	basic := newVerifier(t, Config{Scheme: SchemeBasic, Secrets: []string{"u:" + pw, "hooks:pa:ss-0123456789ab"}})
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tt := range []struct{ value, code string }{
		{"Basic " + b64("u:"+pw), ""},
		{"basic " + b64("hooks:pa:ss-0123456789ab"), ""},
		{"Basic " + b64("u:"+pw+"2"), hookd.EInvalidSignature},
		{"Basic " + b64("u:"), hookd.EInvalidSignature},
		{"Basic " + b64("u"+pw), hookd.EInvalidSignature},
		{"Bearer " + b64("u:"+pw), hookd.EInvalidSignature},
		{"Basic !!!", hookd.EInvalidSignature},
	} {
		checkErr(t, basic.Verify(request(t, headers("Authorization", tt.value), nil, "")), tt.code, nil, "pa:ss")
	}
	bearer := newVerifier(t, Config{Scheme: SchemeAPIKey, Secrets: []string{k1}})
	for _, tt := range []struct{ value, code string }{
		{"Bearer " + k1, ""},
		{"bearer " + k1, ""},
		{k1, hookd.EInvalidSignature},
		{"Bearer key-0123456789abcdeX", hookd.EInvalidSignature},
		{"Bearer " + k1[:len(k1)-1], hookd.EInvalidSignature},
		{"Bearer " + k1 + k1, hookd.EInvalidSignature},
	} {
		checkErr(t, bearer.Verify(request(t, headers("Authorization", tt.value), nil, "")), tt.code, nil, k1)
	}
	custom := newVerifier(t, Config{Scheme: SchemeAPIKey, Header: "X-Api-Key", Prefix: "Token ", Secrets: []string{k1}})
	checkErr(t, custom.Verify(request(t, headers("X-Api-Key", "Token "+k1), nil, "")), "", nil)
	checkErr(t, custom.Verify(request(t, headers("X-Api-Key", k1), nil, "")), hookd.EInvalidSignature, ErrMalformedHeader)
	checkErr(t, custom.Verify(request(t, headers("Authorization", "Bearer "+k1), nil, "")), hookd.EInvalidSignature, ErrMissingHeader)
}

func TestNone(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, Config{Scheme: SchemeNone, IUnderstandThisIsUnsafe: true})
	checkErr(t, v.Verify(request(t, headers(), []byte("anything"), "")), "", nil)
	h, err := v.Sign([]byte("x"), "", time.Time{})
	if err != nil || len(h) != 0 {
		t.Errorf("Sign = %v, %v; want no headers", h, err)
	}
}

func TestTwilioMalformed(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, Config{Scheme: SchemeTwilio, Secrets: []string{"token-0123456789abcdef"}, URL: "https://h.example.com/t"})
	h, err := v.Sign([]byte("a=1"), "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	checkErr(t, v.Verify(request(t, h, []byte("a=1"), "/t")), "", nil)
	checkErr(t, v.Verify(request(t, h, []byte("a=%zz"), "/t")), hookd.EInvalidSignature, ErrMalformedBody)
	checkErr(t, v.Verify(request(t, h, []byte(`{}`), "/t?bodySHA256=12")), hookd.EInvalidSignature, ErrMalformedBody)
	checkErr(t, v.Verify(request(t, h, []byte(`{}`), "/t?bodySHA256=a&bodySHA256=b")), hookd.EInvalidSignature, ErrMalformedBody)
	// A signed URL without bodySHA256 does not cover a JSON body as form.
	jh, err := v.Sign([]byte(`{"a":1}`), TwilioURL("https://h.example.com/t", []byte(`{"a":1}`)), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	checkErr(t, v.Verify(request(t, jh, []byte(`{"a":1}`), "/t")), hookd.EInvalidSignature, ErrSignatureMismatch)
	if _, err := v.Sign([]byte("a=%zz"), "", time.Time{}); err == nil {
		t.Error("Sign of a body that is not a form without bodySHA256: nil error")
	}
}

func TestSlackChallenge(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, Config{Scheme: SchemeSlack, Secrets: []string{"slack-0123456789abcdef"}}).(*Slack)
	// The handshake body from Slack's Events API documentation.
	c, ok := v.Challenge([]byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`))
	if !ok || c != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("Challenge = %q, %v", c, ok)
	}
	for _, body := range []string{`{"type":"event_callback","challenge":"x"}`, `{"type":"url_verification"}`, `not json`, ``} {
		if c, ok := v.Challenge([]byte(body)); ok {
			t.Errorf("Challenge(%s) = %q, true", body, c)
		}
	}
}

func TestKeySources(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"hmac-sha256":       "[header:Idempotency-Key json:idempotency_key]",
		"github":            "[header:X-GitHub-Delivery]",
		"stripe":            "[json:id]",
		"standard-webhooks": "[header:webhook-id]",
		"shopify":           "[header:X-Shopify-Webhook-Id]",
		"slack":             "[json:event_id form:trigger_id]",
		"twilio":            "[header:I-Twilio-Idempotency-Token]",
		"basic":             "[header:Idempotency-Key json:idempotency_key]",
		"api-key":           "[header:Idempotency-Key json:idempotency_key]",
		"none":              "[header:Idempotency-Key json:idempotency_key]",
	}
	for _, name := range Schemes() {
		secret := "user:secret-0123456789ab"
		if name == SchemeStandardWebhooks {
			secret = "whsec_" + key24('a')
		}
		v := newVerifier(t, Config{Scheme: name, Secrets: []string{secret}, URL: "https://h.example.com/", IUnderstandThisIsUnsafe: true})
		if got := fmtKeys(v.KeySources()); got != want[name] {
			t.Errorf("%s: KeySources = %s, want %s", name, got, want[name])
		}
	}
}

func fmtKeys(ks []hookd.KeySource) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = k.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}
