package verify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// The fuzz targets feed arbitrary header values and bodies to Verify. Each
// asserts that Verify never panics, that every error is a *hookd.Error with
// a signature code whose text holds no secret, and — the point — that a
// request is accepted only if an independent oracle (a plain reading of the
// provider's documentation, or Sign) says it carries a genuine signature.
// A valid seed is added for each, so the fuzzer also explores near-valid
// inputs. More seeds are checked in under testdata/fuzz/<target>/.

const fuzzSecret = "fuzz-secret-不要"

// fuzzCheck asserts the shape of a Verify error.
func fuzzCheck(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	var he *hookd.Error
	if !errors.As(err, &he) {
		t.Fatalf("Verify error %v is not a *hookd.Error", err)
	}
	if he.Code != hookd.EInvalidSignature && he.Code != hookd.ETimestampOutOfTolerance {
		t.Fatalf("Verify error code %q", he.Code)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("Verify error %q contains a secret", err)
		}
	}
}

// diagnoseCheck runs a refused request's diagnosis, as the ingest path
// does: it must not fail on any input, nor show the secret.
func diagnoseCheck(t *testing.T, v hookd.Verifier, r *hookd.Request, err error) {
	t.Helper()
	d, ok := v.(Diagnoser)
	if err == nil || !ok {
		return
	}
	b, jerr := json.Marshal(d.Diagnose(r))
	if jerr != nil || bytes.Contains(b, []byte(fuzzSecret)) {
		t.Fatalf("Diagnose: %s, %v", b, jerr)
	}
}

func mac(newHash func() hash.Hash, key string, parts ...[]byte) []byte {
	h := hmac.New(newHash, []byte(key))
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// cutPrefixFold removes prefix from s ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// b64Equal reports whether s is a base64 spelling (padding optional) of want.
func b64Equal(s string, want []byte) bool {
	got, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	return err == nil && hmac.Equal(got, want)
}

func FuzzHMAC(f *testing.F) {
	v := newVerifierF(f, Config{Secrets: []string{fuzzSecret}})
	body := []byte(`{"idempotency_key":"k"}`)
	h, _ := v.Sign(body, "", time.Time{})
	f.Add(h.Get("X-Signature"), body)
	f.Add(strings.ToUpper(h.Get("X-Signature")), body)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		req := request(t, headers("X-Signature", header), body, "")
		err := v.Verify(req)
		diagnoseCheck(t, v, req, err)
		fuzzCheck(t, err, fuzzSecret)
		want := hex.EncodeToString(mac(sha256.New, fuzzSecret, body))
		rest, _ := cutPrefixFold(strings.TrimSpace(header), "sha256=")
		if genuine := strings.ToLower(rest) == want; (err == nil) != genuine {
			t.Fatalf("Verify(%q) = %v; genuine = %v", header, err, genuine)
		}
		roundTrip(t, v, body, "")
	})
}

func FuzzGitHub(f *testing.F) {
	v := newVerifierF(f, Config{Scheme: SchemeGitHub, Secrets: []string{fuzzSecret}})
	f.Add("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", []byte("Hello, World!"))
	h, _ := v.Sign([]byte("Hello, World!"), "", time.Time{})
	f.Add(h.Get("X-Hub-Signature-256"), []byte("Hello, World!"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		req := request(t, headers("X-Hub-Signature-256", header), body, "")
		err := v.Verify(req)
		diagnoseCheck(t, v, req, err)
		fuzzCheck(t, err, fuzzSecret)
		want := hex.EncodeToString(mac(sha256.New, fuzzSecret, body))
		rest, ok := cutPrefixFold(strings.TrimSpace(header), "sha256=")
		if genuine := ok && strings.ToLower(rest) == want; (err == nil) != genuine {
			t.Fatalf("Verify(%q) = %v; genuine = %v", header, err, genuine)
		}
		roundTrip(t, v, body, "")
	})
}

func FuzzShopify(f *testing.F) {
	v := newVerifierF(f, Config{Scheme: SchemeShopify, Secrets: []string{fuzzSecret}})
	h, _ := v.Sign([]byte(`{"id":1}`), "", time.Time{})
	f.Add(h.Get("X-Shopify-Hmac-Sha256"), []byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		req := request(t, headers("X-Shopify-Hmac-Sha256", header), body, "")
		err := v.Verify(req)
		diagnoseCheck(t, v, req, err)
		fuzzCheck(t, err, fuzzSecret)
		if genuine := b64Equal(strings.TrimSpace(header), mac(sha256.New, fuzzSecret, body)); (err == nil) != genuine {
			t.Fatalf("Verify(%q) = %v; genuine = %v", header, err, genuine)
		}
		roundTrip(t, v, body, "")
	})
}

func FuzzStripe(f *testing.F) {
	v := newVerifierF(f, Config{Scheme: SchemeStripe, Secrets: []string{fuzzSecret}, Now: at(now)})
	body := []byte(`{"id":"evt_1"}`)
	h, _ := v.Sign(body, "", time.Unix(now, 0))
	f.Add(h.Get("Stripe-Signature"), body)
	h, _ = v.Sign(body, "", time.Unix(now-301, 0))
	f.Add(h.Get("Stripe-Signature")+",v0=00", body)
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		req := request(t, headers("Stripe-Signature", header), body, "")
		err := v.Verify(req)
		diagnoseCheck(t, v, req, err)
		fuzzCheck(t, err, fuzzSecret)
		// The oracle: Stripe's documented reading of the header.
		var ts []string
		var v1 []string
		for _, p := range strings.Split(strings.TrimSpace(header), ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			switch k {
			case "t":
				ts = append(ts, val)
			case "v1":
				v1 = append(v1, strings.ToLower(val))
			}
		}
		signed, inTime := false, false
		if len(ts) == 1 {
			want := hex.EncodeToString(mac(sha256.New, fuzzSecret, []byte(ts[0]), []byte{'.'}, body))
			for _, s := range v1 {
				signed = signed || s == want
			}
			n, perr := strconv.ParseInt(ts[0], 10, 64)
			inTime = perr == nil && n >= now-300 && n <= now+300
		}
		if err == nil && (!signed || !inTime) {
			t.Fatalf("Verify(%q) accepted: signed = %v, in time = %v", header, signed, inTime)
		}
		if hookd.ErrorCode(err) == hookd.ETimestampOutOfTolerance && !signed {
			t.Fatalf("Verify(%q): timestamp error for an unsigned request", header)
		}
		roundTrip(t, v, body, "")
	})
}

func FuzzStandardWebhooks(f *testing.F) {
	edPriv, edPub := edKeys(7)
	hmacKey := key24('k')
	pub, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(edPub, "whpk_"))
	v := newVerifierF(f, Config{Scheme: SchemeStandardWebhooks, Secrets: []string{"whsec_" + hmacKey, edPub}, Now: at(now)})
	signer := newVerifierF(f, Config{Scheme: SchemeStandardWebhooks, Secrets: []string{edPriv}, Now: at(now)})
	body := []byte(`{"type":"user.created"}`)
	for _, s := range []hookd.Verifier{v, signer} {
		h, _ := s.Sign(body, "", time.Unix(now, 0))
		f.Add(h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"), body)
	}
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1a,"+strings.Repeat("A", 86)+"==", []byte(`{"test": 2432232314}`))
	key, _ := base64.StdEncoding.DecodeString(hmacKey)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := headers("webhook-id", id, "webhook-timestamp", ts, "webhook-signature", sig)
		req := request(t, h, body, "")
		err := v.Verify(req)
		diagnoseCheck(t, v, req, err)
		fuzzCheck(t, err, hmacKey, edPriv)
		id, ts = strings.TrimSpace(id), strings.TrimSpace(ts)
		content := []byte(id + "." + ts + "." + string(body))
		want := mac(sha256.New, string(key), content)
		signed := false
		for _, e := range strings.Split(strings.TrimSpace(sig), " ") {
			version, s, _ := strings.Cut(e, ",")
			switch version {
			case "v1":
				signed = signed || b64Equal(s, want)
			case "v1a":
				b, derr := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
				signed = signed || (derr == nil && len(b) == ed25519.SignatureSize && ed25519.Verify(pub, content, b))
			}
		}
		n, perr := strconv.ParseInt(ts, 10, 64)
		inTime := perr == nil && ts[0] != '+' && n >= now-300 && n <= now+300
		if err == nil && (!signed || !inTime || id == "") {
			t.Fatalf("Verify(%q, %q, %q) accepted: signed = %v, in time = %v", id, ts, sig, signed, inTime)
		}
		if hookd.ErrorCode(err) == hookd.ETimestampOutOfTolerance && !signed {
			t.Fatalf("Verify(%q, %q, %q): timestamp error for an unsigned request", id, ts, sig)
		}
		roundTrip(t, v, body, "")
		roundTrip(t, signer, body, "")
	})
}

func FuzzSlack(f *testing.F) {
	v := newVerifierF(f, Config{Scheme: SchemeSlack, Secrets: []string{fuzzSecret}, Now: at(now)})
	body := []byte(`{"type":"event_callback","event_id":"Ev1"}`)
	h, _ := v.Sign(body, "", time.Unix(now, 0))
	f.Add(h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature"), body)
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		req := request(t, headers("X-Slack-Request-Timestamp", ts, "X-Slack-Signature", sig), body, "")
		err := v.Verify(req)
		diagnoseCheck(t, v, req, err)
		fuzzCheck(t, err, fuzzSecret)
		ts = strings.TrimSpace(ts)
		want := hex.EncodeToString(mac(sha256.New, fuzzSecret, []byte("v0:"+ts+":"), body))
		rest, ok := cutPrefixFold(strings.TrimSpace(sig), "v0=")
		signed := ok && strings.ToLower(rest) == want
		n, perr := strconv.ParseInt(ts, 10, 64)
		inTime := perr == nil && ts[0] != '+' && n >= now-300 && n <= now+300
		if err == nil && (!signed || !inTime) {
			t.Fatalf("Verify(%q, %q) accepted: signed = %v, in time = %v", ts, sig, signed, inTime)
		}
		if err != nil && signed && inTime {
			t.Fatalf("Verify(%q, %q) = %v for a genuine request", ts, sig, err)
		}
		if hookd.ErrorCode(err) == hookd.ETimestampOutOfTolerance && !signed {
			t.Fatalf("Verify(%q, %q): timestamp error for an unsigned request", ts, sig)
		}
		roundTrip(t, v, body, "")
	})
}

func FuzzTwilio(f *testing.F) {
	const base = "https://hooks.example.com/twilio"
	v := newVerifierF(f, Config{Scheme: SchemeTwilio, Secrets: []string{fuzzSecret}, URL: base})
	form := []byte("CallSid=CA1&From=%2B14158675309&Digits=1&Digits=2")
	h, _ := v.Sign(form, base+"?a=1", time.Time{})
	f.Add(h.Get("X-Twilio-Signature"), "a=1", form)
	jsonBody := []byte(`{"a":1}`)
	target := TwilioURL(base, jsonBody)
	h, _ = v.Sign(jsonBody, target, time.Time{})
	f.Add(h.Get("X-Twilio-Signature"), target[len(base)+1:], jsonBody)
	f.Fuzz(func(t *testing.T, sig, query string, body []byte) {
		u, perr := url.Parse("/twilio?" + query)
		if perr != nil {
			t.Skip()
		}
		req := &hookd.Request{Header: headers("X-Twilio-Signature", sig), Body: body, URL: u}
		err := v.Verify(req)
		diagnoseCheck(t, v, req, err)
		fuzzCheck(t, err, fuzzSecret)
		if err != nil {
			return
		}
		// Accepted: the signature must be what Sign makes for the URL with
		// or without the default port, and a JSON body must match its hash.
		full := base
		if u.RawQuery != "" {
			full += "?" + u.RawQuery
		}
		genuine := false
		for _, target := range []string{full, strings.Replace(full, "example.com/", "example.com:443/", 1)} {
			h, serr := v.Sign(body, target, time.Time{})
			genuine = genuine || (serr == nil && b64Equal(strings.TrimSpace(sig), mustB64(t, h.Get("X-Twilio-Signature"))))
		}
		if q, _ := url.ParseQuery(u.RawQuery); q.Has("bodySHA256") {
			sum := sha256.Sum256(body)
			genuine = genuine && len(q["bodySHA256"]) == 1 && strings.EqualFold(q.Get("bodySHA256"), hex.EncodeToString(sum[:]))
		}
		if !genuine {
			t.Fatalf("Verify(%q, %q) accepted a request Sign would not make", sig, query)
		}
	})
}

func mustB64(t *testing.T, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzBasic(f *testing.F) {
	secrets := []string{"hooks:" + fuzzSecret, "other:pa:ss-0123456789ab"}
	v := newVerifierF(f, Config{Scheme: SchemeBasic, Secrets: secrets})
	h, _ := v.Sign(nil, "", time.Time{})
	f.Add(h.Get("Authorization"))
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte("other:pa:ss-0123456789ab")))
	f.Fuzz(func(t *testing.T, header string) {
		err := v.Verify(request(t, headers("Authorization", header), nil, ""))
		fuzzCheck(t, err, fuzzSecret, "pa:ss")
		rest, ok := cutPrefixFold(strings.TrimSpace(header), "Basic ")
		decoded, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		genuine := ok && derr == nil && (string(decoded) == secrets[0] || string(decoded) == secrets[1])
		if (err == nil) != genuine {
			t.Fatalf("Verify(%q) = %v; genuine = %v", header, err, genuine)
		}
	})
}

func FuzzAPIKey(f *testing.F) {
	v := newVerifierF(f, Config{Scheme: SchemeAPIKey, Secrets: []string{fuzzSecret}})
	f.Add("Bearer " + fuzzSecret)
	f.Add("bearer  " + fuzzSecret + " ")
	f.Fuzz(func(t *testing.T, header string) {
		err := v.Verify(request(t, headers("Authorization", header), nil, ""))
		fuzzCheck(t, err, fuzzSecret)
		rest, ok := cutPrefixFold(strings.TrimSpace(header), "Bearer ")
		if genuine := ok && strings.TrimSpace(rest) == fuzzSecret; (err == nil) != genuine {
			t.Fatalf("Verify(%q) = %v; genuine = %v", header, err, genuine)
		}
	})
}

// roundTrip asserts that what Sign makes for body verifies.
func roundTrip(t *testing.T, v hookd.Verifier, body []byte, target string) {
	t.Helper()
	h, err := v.Sign(body, target, time.Unix(now, 0))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if err := v.Verify(request(t, h, body, "")); err != nil {
		t.Fatalf("Verify(Sign(%q)) = %v", body, err)
	}
}

func newVerifierF(f *testing.F, c Config) hookd.Verifier {
	f.Helper()
	v, err := New(c)
	if err != nil {
		f.Fatal(err)
	}
	return v
}
