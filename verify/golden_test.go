package verify

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// Published test vectors. Each asserts the exact signature and at least one
// request that must fail.

// Source: github/docs, content/webhooks/using-webhooks/validating-webhook-deliveries.md
// ("Testing the webhook payload validation").
func TestGoldenGitHub(t *testing.T) {
	t.Parallel()
	const (
		secret = "It's a Secret to Everybody"
		body   = "Hello, World!"
		want   = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	)
	v := newVerifier(t, Config{Scheme: SchemeGitHub, Secrets: []string{secret}})
	h, err := v.Sign([]byte(body), "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Hub-Signature-256"); got != want {
		t.Fatalf("Sign: X-Hub-Signature-256 = %q, want %q", got, want)
	}
	tests := []struct {
		name   string
		sig    string
		body   string
		secret string
		code   string
	}{
		{"published", want, body, secret, ""},
		{"published, upper-case hex", "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17", body, secret, ""},
		{"body changed", want, "Hello, World?", secret, hookd.EInvalidSignature},
		{"other secret", want, body, "It's a Secret to Nobody", hookd.EInvalidSignature},
		{"prefix missing (GitHub always sends it)", want[len("sha256="):], body, secret, hookd.EInvalidSignature},
		{"sha1 prefix", "sha1=" + want[len("sha256="):], body, secret, hookd.EInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(t, Config{Scheme: SchemeGitHub, Secrets: []string{tt.secret}})
			err := v.Verify(request(t, headers("X-Hub-Signature-256", tt.sig), []byte(tt.body), "/webhooks/github"))
			checkErr(t, err, tt.code, nil)
		})
	}
	// The same vector through the generic scheme: hex, optional prefix.
	g := newVerifier(t, Config{Secrets: []string{secret}})
	for _, sig := range []string{want, want[len("sha256="):]} {
		checkErr(t, g.Verify(request(t, headers("X-Signature", sig), []byte(body), "")), "", nil)
	}
}

// swVector is one Standard Webhooks signing vector.
type swVector struct {
	source  string
	secret  string
	id      string
	ts      int64
	payload string
	want    string
}

func TestGoldenStandardWebhooks(t *testing.T) {
	t.Parallel()
	vectors := []swVector{
		{
			// standard-webhooks/standard-webhooks, libraries/go/webhook_test.go (TestWebhookSign);
			// also svix/svix-webhooks, server/svix-server/src/worker.rs
			// (test_generate_msg_headers_with_signing_key), with the bare key.
			source:  "libraries/go/webhook_test.go",
			secret:  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			id:      "msg_p5jXN8AQM9LWM0D4loKWxJek",
			ts:      1614265330,
			payload: `{"test": 2432232314}`,
			want:    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		},
		{
			// The same without the whsec_ prefix (TestWebhookPrefix).
			source:  "libraries/go/webhook_test.go, bare key",
			secret:  "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			id:      "msg_p5jXN8AQM9LWM0D4loKWxJek",
			ts:      1614265330,
			payload: `{"test": 2432232314}`,
			want:    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		},
		{
			// standard-webhooks/standard-webhooks, libraries/rust/src/lib.rs (test_sign).
			source:  "libraries/rust/src/lib.rs",
			secret:  "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
			id:      "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
			ts:      1649367553,
			payload: `{"email":"test@example.com","username":"test_user"}`,
			want:    "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
		},
		{
			// svix/svix-webhooks, server/svix-server/src/worker.rs
			// (test_asymmetric_key_signing): an ed25519 private key
			// (seed then public key), signing deterministically.
			source:  "server/svix-server/src/worker.rs",
			secret:  "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==",
			id:      "msg_p5jXN8AQM9LWM0D4loKWxJek",
			ts:      1614265330,
			payload: `{"test": 2432232314}`,
			want:    "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
		},
	}
	for _, vec := range vectors {
		t.Run(vec.source, func(t *testing.T) {
			t.Parallel()
			key, err := parseSWKey(vec.secret)
			if err != nil {
				t.Fatal(err)
			}
			content := swContent(vec.id, itoa(vec.ts), []byte(vec.payload))
			if got := key.sign(content); got != vec.want {
				t.Fatalf("signature = %q, want %q", got, vec.want)
			}
			v := newVerifier(t, Config{Scheme: SchemeStandardWebhooks, Secrets: []string{vec.secret}, Now: at(vec.ts)})
			h := headers("webhook-id", vec.id, "webhook-timestamp", itoa(vec.ts), "webhook-signature", vec.want)
			checkErr(t, v.Verify(request(t, h, []byte(vec.payload), "")), "", nil)
			// One byte more in the body must fail.
			checkErr(t, v.Verify(request(t, h, []byte(vec.payload+" "), "")), hookd.EInvalidSignature, ErrSignatureMismatch)
		})
	}
}

// Source: svix/svix-webhooks, server/svix-server/src/worker.rs
// (test_asymmetric_key_signing): the v1a signature verifies with the public
// half alone (whpk_), and not with another key.
func TestGoldenStandardWebhooksPublicKey(t *testing.T) {
	t.Parallel()
	priv, err := base64.StdEncoding.DecodeString("6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==")
	if err != nil {
		t.Fatal(err)
	}
	pub := "whpk_" + base64.StdEncoding.EncodeToString(priv[ed25519.SeedSize:])
	other := "whpk_" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey))
	const sig = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
	h := headers("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp", "1614265330", "webhook-signature", sig)
	body := []byte(`{"test": 2432232314}`)

	v := newVerifier(t, Config{Scheme: SchemeStandardWebhooks, Secrets: []string{pub}, Now: at(1614265330)})
	checkErr(t, v.Verify(request(t, h, body, "")), "", nil)
	if _, err := v.Sign(body, "", time.Unix(1614265330, 0)); err == nil {
		t.Error("Sign with only a public key: nil error")
	}

	v = newVerifier(t, Config{Scheme: SchemeStandardWebhooks, Secrets: []string{other}, Now: at(1614265330)})
	checkErr(t, v.Verify(request(t, h, body, "")), hookd.EInvalidSignature, ErrSignatureMismatch)
}

// Must-fail and multi-signature vectors of
// standard-webhooks/standard-webhooks, libraries/go/webhook_test.go
// (TestWebhook) and libraries/rust/src/lib.rs (test_no_verify,
// test_verify_with_multiple_signatures, test_no_verify_with_multiple_signatures).
func TestGoldenStandardWebhooksMultiple(t *testing.T) {
	t.Parallel()
	goV := newVerifier(t, Config{Scheme: SchemeStandardWebhooks, Secrets: []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, Now: at(1614265330)})
	goH := func(sig string) *hookd.Request {
		return request(t, headers("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp", "1614265330", "webhook-signature", sig), []byte(`{"test": 2432232314}`), "")
	}
	const goValid = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	checkErr(t, goV.Verify(goH("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")), hookd.EInvalidSignature, ErrSignatureMismatch)
	checkErr(t, goV.Verify(goH("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "+goValid+" v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")), "", nil)
	// A different version tag on the valid MAC must not count.
	checkErr(t, goV.Verify(goH("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")), hookd.EInvalidSignature, ErrMalformedHeader)

	rsV := newVerifier(t, Config{Scheme: SchemeStandardWebhooks, Secrets: []string{"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"}, Now: at(1649367553)})
	rsH := func(sig string) *hookd.Request {
		return request(t, headers("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "webhook-timestamp", "1649367553", "webhook-signature", sig), []byte(`{"email":"test@example.com","username":"test_user"}`), "")
	}
	const (
		rsValid = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
		bad1    = "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ="
		bad2    = "v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q="
		bad3    = "v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE="
	)
	checkErr(t, rsV.Verify(rsH("v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=")), hookd.EInvalidSignature, ErrSignatureMismatch)
	checkErr(t, rsV.Verify(rsH(bad1+" "+bad2+" "+rsValid+" "+bad3)), "", nil)
	checkErr(t, rsV.Verify(rsH(bad1+" "+bad2+" "+bad3)), hookd.EInvalidSignature, ErrSignatureMismatch)
}

// Source: slackapi/python-slack-sdk, tests/slack_sdk/signature/test_signature_verifier.py
// (signing_secret, body, timestamp, valid_signature; MockClock at 1531420618).
func TestGoldenSlack(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("testdata/slack_slash_command.txt")
	if err != nil {
		t.Fatal(err)
	}
	const (
		secret = "8f742231b10e8888abcd99yyyzzz85a5"
		ts     = 1531420618
		want   = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	)
	v := newVerifier(t, Config{Scheme: SchemeSlack, Secrets: []string{secret}, Now: at(ts)})
	h, err := v.Sign(body, "", time.Unix(ts, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Slack-Signature"); got != want {
		t.Fatalf("Sign: X-Slack-Signature = %q, want %q", got, want)
	}
	valid := headers("X-Slack-Request-Timestamp", itoa(ts), "X-Slack-Signature", want)
	checkErr(t, v.Verify(request(t, valid, body, "")), "", nil)
	// test_is_valid_request_invalid_body: the body with "------" appended.
	checkErr(t, v.Verify(request(t, valid, append(body[:len(body):len(body)], "------"...), "")), hookd.EInvalidSignature, ErrSignatureMismatch)
	// test_is_valid_request_expiration: the real clock is years later.
	late := newVerifier(t, Config{Scheme: SchemeSlack, Secrets: []string{secret}})
	checkErr(t, late.Verify(request(t, valid, body, "")), hookd.ETimestampOutOfTolerance, ErrTimestampOutOfTolerance)
	// test_is_valid_request_none: no headers at all.
	checkErr(t, v.Verify(request(t, headers(), body, "")), hookd.EInvalidSignature, ErrMissingHeader)

	// A slash command's natural key is its trigger_id form field.
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	ks := v.KeySources()
	if len(ks) != 2 || ks[1].From != "form" || form.Get(ks[1].Name) != "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c" {
		t.Errorf("KeySources = %v do not find the recorded trigger_id", ks)
	}
}

// Source: twilio/twilio-python, tests/unit/test_request_validator.py (token
// "12345", uri, params and the expected signatures).
func TestGoldenTwilio(t *testing.T) {
	t.Parallel()
	const token = "12345" // Twilio's published test token: short, hence AllowShortSecrets
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Digits":  {"1234"},
		"From":    {"+14158675309"},
		"To":      {"+18005551212"},
		"Caller":  {"+14158675309"},
	}
	form := []byte(params.Encode())
	jsonBody := []byte(`{"property": "value", "boolean": true}`)
	const bodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"

	tests := []struct {
		name      string
		configURL string
		received  string // the request URL as hookd sees it
		body      []byte
		sig       string
		code      string
	}{
		// test_compute_signature, test_validation
		{"published", "https://mycompany.com/myapp.php?foo=1&bar=2", "/webhooks/twilio?foo=1&bar=2", form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", ""},
		// The query comes from the received request when the URL has none.
		{"query from request", "https://mycompany.com/myapp.php", "/webhooks/twilio?foo=1&bar=2", form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", ""},
		// test_validation_removes_port_on_https
		{"removes port on https", "https://mycompany.com:1234/myapp.php?foo=1&bar=2", "", form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", ""},
		// test_validation_removes_port_on_http: the hash of the http URI with port 1234
		{"keeps port on http", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", "", form, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", ""},
		// test_validation_adds_port_on_https: the hash of the URI with port 443
		{"adds port on https", "https://mycompany.com/myapp.php?foo=1&bar=2", "", form, "kvajT1Ptam85bY51eRf/AJRuM3w=", ""},
		// test_validation_adds_port_on_http: the hash of the URI with port 80
		{"adds port on http", "http://mycompany.com/myapp.php?foo=1&bar=2", "", form, "0ZXoZLH/DfblKGATFgpif+LLRf4=", ""},
		// test_validation_of_body_succeeds
		{"json body", "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=" + bodyHash, "", jsonBody, "a9nBmqA0ju/hNViExpshrM61xv4=", ""},
		{"json body, query from request", "https://mycompany.com/myapp.php", "/webhooks/twilio?foo=1&bar=2&bodySHA256=" + bodyHash, jsonBody, "a9nBmqA0ju/hNViExpshrM61xv4=", ""},
		// Must fail: a parameter changed, the query changed, the JSON body changed.
		{"param changed", "https://mycompany.com/myapp.php?foo=1&bar=2", "", []byte(params.Encode() + "&Extra=1"), "RSOYDt4T1cUTdK1PDd93/VVr8B8=", hookd.EInvalidSignature},
		{"query changed", "https://mycompany.com/myapp.php", "/webhooks/twilio?foo=1&bar=3", form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", hookd.EInvalidSignature},
		{"http signature on https", "https://mycompany.com/myapp.php?foo=1&bar=2", "", form, "0ZXoZLH/DfblKGATFgpif+LLRf4=", hookd.EInvalidSignature},
		{"json body changed", "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=" + bodyHash, "", []byte(`{"property": "value", "boolean": false}`), "a9nBmqA0ju/hNViExpshrM61xv4=", hookd.EInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(t, Config{Scheme: SchemeTwilio, Secrets: []string{token}, AllowShortSecrets: true, URL: tt.configURL})
			err := v.Verify(request(t, headers("X-Twilio-Signature", tt.sig), tt.body, tt.received))
			checkErr(t, err, tt.code, nil)
		})
	}

	v := newVerifier(t, Config{Scheme: SchemeTwilio, Secrets: []string{token}, AllowShortSecrets: true, URL: "https://mycompany.com/myapp.php?foo=1&bar=2"})
	// Sign reproduces test_compute_signature.
	h, err := v.Sign(form, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Twilio-Signature"); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Errorf("Sign = %q, want RSOYDt4T1cUTdK1PDd93/VVr8B8=", got)
	}
	// test_compute_signature_duplicate_query_dict: repeated names, values sorted.
	h, err = v.Sign([]byte("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"), "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Twilio-Signature"); got != "IK+Dwps556ElfBT0I3Rgjkr1wJU=" {
		t.Errorf("Sign(duplicate params) = %q, want IK+Dwps556ElfBT0I3Rgjkr1wJU=", got)
	}
	// test_compute_hash_unicode and test_validation_of_body_succeeds via TwilioURL.
	target := TwilioURL("https://mycompany.com/myapp.php?foo=1&bar=2", jsonBody)
	if want := "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=" + bodyHash; target != want {
		t.Errorf("TwilioURL = %q, want %q", target, want)
	}
	h, err = v.Sign(jsonBody, target, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Twilio-Signature"); got != "a9nBmqA0ju/hNViExpshrM61xv4=" {
		t.Errorf("Sign(json) = %q, want a9nBmqA0ju/hNViExpshrM61xv4=", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
