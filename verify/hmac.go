package verify

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// HMAC verifies the default hmac-sha256 scheme: an HMAC of the raw body,
// keyed with the UTF-8 bytes of a secret, in one header (X-Signature by
// default), hex in any case with an optional "sha256=" prefix, or base64 /
// base64url; the hash may be SHA-256 (default), SHA-1 or SHA-512.
type HMAC struct{ bodyMAC }

var _ hookd.Verifier = (*HMAC)(nil)

func newHMAC(c Config) (*HMAC, error) {
	algorithm := cmp.Or(c.Algorithm, "sha256")
	var newHash func() hash.Hash
	switch algorithm {
	case "sha256":
		newHash = sha256.New
	case "sha1":
		newHash = sha1.New
	case "sha512":
		newHash = sha512.New
	default:
		return nil, fieldError("algorithm", "unknown algorithm %q (one of: sha256, sha1, sha512)", c.Algorithm)
	}
	encoding := cmp.Or(c.Encoding, "hex")
	if encoding != "hex" && encoding != "base64" && encoding != "base64url" {
		return nil, fieldError("encoding", "unknown encoding %q (one of: hex, base64, base64url)", c.Encoding)
	}
	header := cmp.Or(c.Header, "X-Signature")
	if !validHeaderName(header) {
		return nil, fieldError("header", "%q is not a valid header name", header)
	}
	return &HMAC{bodyMAC{
		header:   header,
		prefix:   cmp.Or(c.Prefix, algorithm+"="),
		encoding: encoding,
		newHash:  newHash,
		keys:     byteKeys(c.Secrets),
	}}, nil
}

// Verify checks the signature header against the body.
func (v *HMAC) Verify(r *hookd.Request) error { return v.verify(r) }

// Sign returns the signature header (prefix included) for body, made with
// the first secret.
func (v *HMAC) Sign(body []byte, _ string, _ time.Time) (http.Header, error) {
	return v.sign(body), nil
}

// KeySources returns header Idempotency-Key, then JSON field idempotency_key.
func (v *HMAC) KeySources() []hookd.KeySource { return defaultKeySources() }

// bodyMAC is the core shared by the schemes that sign the raw body alone
// (hmac-sha256, github, shopify).
type bodyMAC struct {
	header         string
	prefix         string // "" for none
	prefixRequired bool
	encoding       string // hex, base64 or base64url
	newHash        func() hash.Hash
	keys           [][]byte
}

func (m *bodyMAC) verify(r *hookd.Request) error {
	value, err := headerValue(r.Header, m.header)
	if err != nil {
		return err
	}
	if m.prefix != "" {
		if hasPrefixFold(value, m.prefix) {
			value = value[len(m.prefix):]
		} else if m.prefixRequired {
			return malformed(m.header)
		}
	}
	got, ok := decodeMAC(m.encoding, value)
	if !ok || len(got) != m.newHash().Size() {
		return malformed(m.header)
	}
	for _, key := range m.keys {
		if hmac.Equal(got, m.mac(key, r.Body)) {
			return nil
		}
	}
	return mismatch(m.header)
}

func (m *bodyMAC) mac(key, body []byte) []byte {
	h := hmac.New(m.newHash, key)
	h.Write(body)
	return h.Sum(nil)
}

func (m *bodyMAC) sign(body []byte) http.Header {
	h := http.Header{}
	h.Set(m.header, m.prefix+encodeMAC(m.encoding, m.mac(m.keys[0], body)))
	return h
}

// decodeMAC decodes a received MAC. Hex is accepted in any case, base64
// with or without padding.
func decodeMAC(encoding, s string) ([]byte, bool) {
	var b []byte
	var err error
	switch encoding {
	case "hex":
		b, err = hex.DecodeString(s)
	case "base64":
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	case "base64url":
		b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	default:
		return nil, false
	}
	return b, err == nil
}

func encodeMAC(encoding string, mac []byte) string {
	switch encoding {
	case "base64":
		return base64.StdEncoding.EncodeToString(mac)
	case "base64url":
		return base64.URLEncoding.EncodeToString(mac)
	default:
		return hex.EncodeToString(mac)
	}
}
