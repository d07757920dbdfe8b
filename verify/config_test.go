package verify

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	short := base64.StdEncoding.EncodeToString([]byte("only-twenty-three-bytes"))
	tests := []struct {
		name   string
		cfg    Config
		want   string // the whole error, or a prefix ending in "…"
		secret string // must not appear in the error
	}{
		{"unknown scheme", Config{Scheme: "foo", Secrets: []string{"s"}},
			`scheme: unknown scheme "foo" (one of: hmac-sha256, github, stripe, standard-webhooks, shopify, slack, twilio, basic, api-key, none)`, ""},
		{"no secrets", Config{Scheme: SchemeGitHub},
			"secrets: at least one non-empty secret is required", ""},
		{"only an empty secret (an unset ${VAR})", Config{Secrets: []string{""}},
			"secrets: at least one non-empty secret is required", ""},
		{"one empty secret among others", Config{Scheme: SchemeSlack, Secrets: []string{"a", ""}},
			"secrets[1]: must not be empty", ""},
		{"whsec_ not base64", Config{Scheme: SchemeStandardWebhooks, Secrets: []string{"whsec_" + key24('a'), "whsec_not*base64*at*all*but*long*enough"}},
			"secrets[1]: a whsec_ secret must be base64 of at least 24 bytes", "not*base64"},
		{"whsec_ fewer than 24 bytes", Config{Scheme: SchemeStandardWebhooks, Secrets: []string{"whsec_" + short}},
			"secrets[0]: a whsec_ secret must be base64 of at least 24 bytes", short},
		{"bare secret not base64", Config{Scheme: SchemeStandardWebhooks, Secrets: []string{"plain-text-password-123456789"}},
			"secrets[0]: a secret without the whsec_ prefix must be base64 of at least 24 bytes", "plain-text-password"},
		{"whpk_ wrong length", Config{Scheme: SchemeStandardWebhooks, Secrets: []string{"whpk_" + key24('a')}},
			"secrets[0]: a whpk_ key must be base64 of a 32-byte ed25519 public key", key24('a')},
		{"whsk_ wrong length", Config{Scheme: SchemeStandardWebhooks, Secrets: []string{"whsk_" + key24('a')}},
			"secrets[0]: a whsk_ key must be base64 of a 64-byte ed25519 private key (or its 32-byte seed)", key24('a')},
		{"whsk_ with a foreign public half", Config{Scheme: SchemeStandardWebhooks, Secrets: []string{"whsk_" + base64.StdEncoding.EncodeToString(make([]byte, 64))}},
			"secrets[0]: a whsk_ key must be …", ""},
		{"none without the flag", Config{Scheme: SchemeNone},
			"i_understand_this_is_unsafe: …", ""},
		{"negative tolerance", Config{Scheme: SchemeStripe, Secrets: []string{"s"}, Tolerance: -time.Second},
			"tolerance: must not be negative …", ""},
		{"unknown encoding", Config{Secrets: []string{"s"}, Encoding: "base32"},
			`encoding: unknown encoding "base32" (one of: hex, base64, base64url)`, ""},
		{"unknown algorithm", Config{Secrets: []string{"s"}, Algorithm: "md5"},
			`algorithm: unknown algorithm "md5" (one of: sha256, sha1, sha512)`, ""},
		{"bad header name", Config{Secrets: []string{"s"}, Header: "X Sig"},
			`header: "X Sig" is not a valid header name`, ""},
		{"twilio without url", Config{Scheme: SchemeTwilio, Secrets: []string{"tok"}},
			"url: required for scheme twilio: …", ""},
		{"twilio relative url", Config{Scheme: SchemeTwilio, Secrets: []string{"tok"}, URL: "/webhooks/twilio"},
			`url: "/webhooks/twilio" is not an absolute http(s) URL without a fragment`, ""},
		{"basic without colon", Config{Scheme: SchemeBasic, Secrets: []string{"u:p", "justapassword"}},
			`secrets[1]: a basic secret must be "user:password" with a non-empty user and password`, "justapassword"},
		{"basic with an empty password (an unset ${VAR} after the colon)", Config{Scheme: SchemeBasic, Secrets: []string{"partner:"}},
			`secrets[0]: a basic secret must be "user:password" with a non-empty user and password`, ""},
		{"basic with an empty user", Config{Scheme: SchemeBasic, Secrets: []string{":password-0123456789"}},
			`secrets[0]: a basic secret must be "user:password" with a non-empty user and password`, "password-0123"},
		{"basic with a short password", Config{Scheme: SchemeBasic, Secrets: []string{"partner:hunter2"}},
			"secrets[0]: the password is shorter than 16 bytes, too short to stay secret; …", "hunter2"},
		{"short hmac secret", Config{Secrets: []string{"secret-0123456789", "dev-secret-1"}},
			"secrets[1]: the secret is shorter than 16 bytes, too short to stay secret; …", "dev-secret-1"},
		{"short api key", Config{Scheme: SchemeAPIKey, Secrets: []string{"k1"}},
			"secrets[0]: the key is shorter than 16 bytes, too short to stay secret; …", ""},
		{"api key with a newline", Config{Scheme: SchemeAPIKey, Secrets: []string{"key\nX-Evil: 1"}},
			"secrets[0]: an api key must not contain line breaks or surrounding spaces", "X-Evil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := New(tt.cfg)
			if err == nil {
				t.Fatalf("New = %T, nil; want error %q", v, tt.want)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("New: %T is not a *ConfigError", err)
			}
			if field, _, _ := strings.Cut(tt.want, ": "); ce.Field != field {
				t.Errorf("ConfigError.Field = %q, want %q", ce.Field, field)
			}
			got := err.Error()
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !strings.HasPrefix(got, prefix) {
					t.Errorf("New: %q, want prefix %q", got, prefix)
				}
			} else if got != tt.want {
				t.Errorf("New: %q\nwant       %q", got, tt.want)
			}
			if strings.Contains(got, "\n") {
				t.Errorf("New: %q is not one line", got)
			}
			if tt.secret != "" && strings.Contains(got, tt.secret) {
				t.Errorf("New: %q contains the secret", got)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	// The default scheme is hmac-sha256.
	v := newVerifier(t, Config{Secrets: []string{"secret-0123456789"}})
	if _, ok := v.(*HMAC); !ok {
		t.Errorf("New with no scheme = %T, want *HMAC", v)
	}
	if got := Schemes()[0]; got != SchemeHMACSHA256 {
		t.Errorf("Schemes()[0] = %q", got)
	}
	// Every scheme builds with a suitable secret.
	for _, name := range Schemes() {
		secret := "user:secret-0123456789ab"
		if name == SchemeStandardWebhooks {
			secret = "whsec_" + key24('a')
		}
		if _, err := New(Config{Scheme: name, Secrets: []string{secret}, URL: "https://h.example.com/", IUnderstandThisIsUnsafe: true}); err != nil {
			t.Errorf("New(%s): %v", name, err)
		}
	}
}

// TestToleranceZeroMeansDefault: a zero Tolerance is 300s, not "disabled"
// and not "zero seconds".
func TestToleranceZeroMeansDefault(t *testing.T) {
	t.Parallel()
	for _, name := range []string{SchemeStripe, SchemeSlack, SchemeStandardWebhooks} {
		secret := "s3cret-0123456789ab"
		if name == SchemeStandardWebhooks {
			secret = "whsec_" + key24('a')
		}
		v := newVerifier(t, Config{Scheme: name, Secrets: []string{secret}, Now: at(now)})
		body := []byte(`{}`)
		for _, tt := range []struct {
			signedAt int64
			code     string
		}{
			{now - 299, ""},
			{now - 300, ""},
			{now + 300, ""},
			{now - 301, hookd.ETimestampOutOfTolerance},
			{now + 301, hookd.ETimestampOutOfTolerance},
			{now - 10*365*86400, hookd.ETimestampOutOfTolerance},
		} {
			h, err := v.Sign(body, "", time.Unix(tt.signedAt, 0))
			if err != nil {
				t.Fatal(err)
			}
			if got := hookd.ErrorCode(v.Verify(request(t, h, body, ""))); got != tt.code {
				t.Errorf("%s signed %+ds: code %q, want %q", name, tt.signedAt-now, got, tt.code)
			}
		}
	}
	// An explicit tolerance is used as given.
	v := newVerifier(t, Config{Scheme: SchemeSlack, Secrets: []string{"slack-0123456789abcdef"}, Now: at(now), Tolerance: 10 * time.Second})
	h, _ := v.Sign([]byte("x"), "", time.Unix(now-11, 0))
	checkErr(t, v.Verify(request(t, h, []byte("x"), "")), hookd.ETimestampOutOfTolerance, ErrTimestampOutOfTolerance)
}

// TestErrorShape: errors are *hookd.Error with a client-safe message naming
// the header, and never contain the expected signature.
func TestErrorShape(t *testing.T) {
	t.Parallel()
	const secret = "It's a Secret to Everybody"
	v := newVerifier(t, Config{Scheme: SchemeGitHub, Secrets: []string{secret}})
	good, _ := v.Sign([]byte("Hello, World!"), "", time.Time{})
	err := v.Verify(request(t, good, []byte("Hello, World?"), ""))
	checkErr(t, err, hookd.EInvalidSignature, ErrSignatureMismatch, secret, good.Get("X-Hub-Signature-256")[len("sha256="):])
	msg := hookd.ErrorMessage(err)
	if !strings.Contains(msg, "X-Hub-Signature-256") {
		t.Errorf("message %q does not name the header", msg)
	}
}

// TestShortSecrets: every scheme whose secret is a shared string refuses
// one shorter than MinSecretLength, unless AllowShortSecrets says the
// sender offers nothing longer.
func TestShortSecrets(t *testing.T) {
	t.Parallel()
	short, long := strings.Repeat("s", MinSecretLength-1), strings.Repeat("s", MinSecretLength)
	for _, name := range []string{SchemeHMACSHA256, SchemeGitHub, SchemeShopify, SchemeSlack, SchemeStripe, SchemeTwilio, SchemeAPIKey, SchemeBasic} {
		prefix := ""
		if name == SchemeBasic {
			prefix = "partner:" // the user does not count
		}
		c := Config{Scheme: name, URL: "https://h.example.com/", Secrets: []string{prefix + long, prefix + short}}
		_, err := New(c)
		if err == nil || !strings.HasPrefix(err.Error(), "secrets[1]: ") || !strings.Contains(err.Error(), "allow_short_secrets") {
			t.Errorf("New(%s) with a %d-byte secret: %v, want secrets[1] refused", name, len(short), err)
		} else if strings.Contains(err.Error(), short) {
			t.Errorf("New(%s): %q quotes the secret", name, err)
		}
		c.AllowShortSecrets = true
		if _, err := New(c); err != nil {
			t.Errorf("New(%s) with AllowShortSecrets: %v", name, err)
		}
		c.AllowShortSecrets, c.Secrets = false, c.Secrets[:1]
		if _, err := New(c); err != nil {
			t.Errorf("New(%s) with a %d-byte secret: %v", name, len(long), err)
		}
	}
}
