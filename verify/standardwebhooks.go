package verify

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Standard Webhooks header names, as the specification writes them.
const (
	swID        = "webhook-id"
	swTimestamp = "webhook-timestamp"
	swSignature = "webhook-signature"
)

// Secret prefixes of the Standard Webhooks specification (and Svix).
const (
	prefixSymmetric  = "whsec_" // base64 HMAC key
	prefixPublicKey  = "whpk_"  // base64 ed25519 public key (verifies v1a)
	prefixPrivateKey = "whsk_"  // base64 ed25519 private key (signs and verifies v1a)
)

// minSymmetricKey is the shortest accepted v1 key (the specification asks
// for 24 to 64 bytes).
const minSymmetricKey = 24

// StandardWebhooks verifies the Standard Webhooks scheme (used by Svix and
// its customers): headers webhook-id, webhook-timestamp and
// webhook-signature, the last a space-separated list of "v1,<base64>"
// (HMAC-SHA256) and "v1a,<base64>" (ed25519) signatures of
// "<id>.<timestamp>.<body>". Secrets are "whsec_<base64 key>" (or the bare
// base64 key) for v1, "whpk_<base64 public key>" for v1a, and
// "whsk_<base64 private key>" to sign v1a (it verifies too).
type StandardWebhooks struct {
	keys    []swKey
	secrets []string // as configured, for Diagnose
	clock   clock
}

var _ hookd.Verifier = (*StandardWebhooks)(nil)

// swKey is one configured secret: an HMAC key, or an ed25519 public key with
// its private key when it can sign.
type swKey struct {
	hmac []byte
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newStandardWebhooks(c Config) (*StandardWebhooks, error) {
	v := &StandardWebhooks{clock: newClock(c), secrets: c.Secrets}
	for i, s := range c.Secrets {
		k, err := parseSWKey(s)
		if err != nil {
			return nil, fieldError(secretField(i), "%v", err)
		}
		v.keys = append(v.keys, k)
	}
	return v, nil
}

// parseSWKey decodes one secret. Its errors describe the expected form and
// never quote the secret.
func parseSWKey(s string) (swKey, error) {
	switch {
	case strings.HasPrefix(s, prefixPublicKey):
		b, ok := decodeBase64(s[len(prefixPublicKey):])
		if !ok || len(b) != ed25519.PublicKeySize {
			return swKey{}, fmt.Errorf("a %s key must be base64 of a %d-byte ed25519 public key", prefixPublicKey, ed25519.PublicKeySize)
		}
		return swKey{pub: b}, nil
	case strings.HasPrefix(s, prefixPrivateKey):
		b, ok := decodeBase64(s[len(prefixPrivateKey):])
		var priv ed25519.PrivateKey
		switch {
		case ok && len(b) == ed25519.SeedSize:
			priv = ed25519.NewKeyFromSeed(b)
		case ok && len(b) == ed25519.PrivateKeySize:
			priv = ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
			if !hmac.Equal(priv[ed25519.SeedSize:], b[ed25519.SeedSize:]) {
				ok = false // the public half does not belong to the seed
			}
		default:
			ok = false
		}
		if !ok {
			return swKey{}, fmt.Errorf("a %s key must be base64 of a %d-byte ed25519 private key (or its %d-byte seed)", prefixPrivateKey, ed25519.PrivateKeySize, ed25519.SeedSize)
		}
		return swKey{pub: priv.Public().(ed25519.PublicKey), priv: priv}, nil
	case strings.HasPrefix(s, prefixSymmetric):
		b, ok := decodeBase64(s[len(prefixSymmetric):])
		if !ok || len(b) < minSymmetricKey {
			return swKey{}, fmt.Errorf("a %s secret must be base64 of at least %d bytes", prefixSymmetric, minSymmetricKey)
		}
		return swKey{hmac: b}, nil
	default:
		b, ok := decodeBase64(s)
		if !ok || len(b) < minSymmetricKey {
			return swKey{}, fmt.Errorf("a secret without the %s prefix must be base64 of at least %d bytes", prefixSymmetric, minSymmetricKey)
		}
		return swKey{hmac: b}, nil
	}
}

// decodeBase64 decodes standard base64, padding optional.
func decodeBase64(s string) ([]byte, bool) {
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	return b, err == nil
}

// Verify checks webhook-signature against webhook-id, webhook-timestamp and
// the body, then the timestamp.
func (v *StandardWebhooks) Verify(r *hookd.Request) error {
	id, err := headerValue(r.Header, swID)
	if err != nil {
		return err
	}
	t, err := headerValue(r.Header, swTimestamp)
	if err != nil {
		return err
	}
	ts, ok := parseUnix(t)
	if !ok {
		return malformed(swTimestamp)
	}
	value, err := headerValue(r.Header, swSignature)
	if err != nil {
		return err
	}
	parts, ok := splitBounded(value, " ", maxSignatures)
	if !ok {
		return malformed(swSignature)
	}
	var v1, v1a [][]byte
	for _, p := range parts {
		version, sig, ok := strings.Cut(p, ",")
		if !ok {
			continue // an empty element (two spaces) or an unknown form
		}
		b, ok := decodeBase64(sig)
		switch {
		case version == "v1" && ok && len(b) == sha256.Size:
			v1 = append(v1, b)
		case version == "v1a" && ok && len(b) == ed25519.SignatureSize:
			v1a = append(v1a, b)
		}
		// Unknown versions (v2, …) are ignored, as the specification asks.
	}
	if len(v1) == 0 && len(v1a) == 0 {
		return malformed(swSignature)
	}
	content := swContent(id, t, r.Body)
	matched := false
	for _, k := range v.keys {
		if k.hmac != nil && len(v1) > 0 {
			want := swMAC(k.hmac, content)
			for _, sig := range v1 {
				if hmac.Equal(sig, want) {
					matched = true
				}
			}
		}
		if k.pub != nil {
			for _, sig := range v1a {
				if ed25519.Verify(k.pub, content, sig) {
					matched = true
				}
			}
		}
	}
	if !matched {
		return mismatch(swSignature)
	}
	return v.clock.check(swTimestamp, ts)
}

func swContent(id, t string, body []byte) []byte {
	content := make([]byte, 0, len(id)+len(t)+2+len(body))
	content = append(content, id...)
	content = append(content, '.')
	content = append(content, t...)
	content = append(content, '.')
	return append(content, body...)
}

func swMAC(key, content []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(content)
	return h.Sum(nil)
}

// sign returns the webhook-signature element for content, or "" when k
// cannot sign.
func (k swKey) sign(content []byte) string {
	switch {
	case k.hmac != nil:
		return "v1," + base64.StdEncoding.EncodeToString(swMAC(k.hmac, content))
	case k.priv != nil:
		return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(k.priv, content))
	}
	return ""
}

// Sign returns webhook-id (a new random msg_… id), webhook-timestamp (now)
// and webhook-signature for body, signed with the first secret that can sign
// (a whsec_ secret or a whsk_ private key; a whpk_ public key cannot). With
// only public keys configured it returns an error wrapping ErrCannotSign.
func (v *StandardWebhooks) Sign(body []byte, _ string, now time.Time) (http.Header, error) {
	id := "msg_" + rand.Text()
	t := strconv.FormatInt(now.Unix(), 10)
	content := swContent(id, t, body)
	for _, k := range v.keys {
		if sig := k.sign(content); sig != "" {
			h := http.Header{}
			h.Set(swID, id)
			h.Set(swTimestamp, t)
			h.Set(swSignature, sig)
			return h, nil
		}
	}
	return nil, fmt.Errorf("standard-webhooks: only public keys (%s) are configured: %w", prefixPublicKey, ErrCannotSign)
}

// KeySources returns header webhook-id, the message ID the sender keeps
// across retries.
func (v *StandardWebhooks) KeySources() []hookd.KeySource {
	return []hookd.KeySource{{From: "header", Name: swID}}
}
