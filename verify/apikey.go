package verify

import (
	"cmp"
	"net/http"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// APIKey verifies a static key sent in a header: by default
// "Authorization: Bearer <key>", or any header with an optional value
// prefix. Each secret is one accepted key. It signs nothing, so use it only
// over TLS and only for senders that offer nothing better.
type APIKey struct {
	header string
	prefix string
	keys   []string
}

var _ hookd.Verifier = (*APIKey)(nil)

func newAPIKey(c Config) (*APIKey, error) {
	header := cmp.Or(c.Header, authorization)
	if !validHeaderName(header) {
		return nil, fieldError("header", "%q is not a valid header name", header)
	}
	prefix := c.Prefix
	if prefix == "" && strings.EqualFold(header, authorization) {
		prefix = "Bearer "
	}
	for i, s := range c.Secrets {
		if strings.ContainsAny(s, "\r\n") || strings.TrimSpace(s) != s {
			return nil, fieldError(secretField(i), "an api key must not contain line breaks or surrounding spaces")
		}
	}
	return &APIKey{header: header, prefix: prefix, keys: c.Secrets}, nil
}

// Verify checks the key header.
func (v *APIKey) Verify(r *hookd.Request) error {
	value, err := headerValue(r.Header, v.header)
	if err != nil {
		return err
	}
	if !hasPrefixFold(value, v.prefix) {
		return malformed(v.header)
	}
	got := strings.TrimSpace(value[len(v.prefix):])
	matched := false
	for _, k := range v.keys {
		if equalSecret(got, k) {
			matched = true
		}
	}
	if !matched {
		return invalid(ErrSignatureMismatch, "the %s header does not hold a configured key", v.header)
	}
	return nil
}

// Sign returns the key header with the first key.
func (v *APIKey) Sign(_ []byte, _ string, _ time.Time) (http.Header, error) {
	h := http.Header{}
	h.Set(v.header, v.prefix+v.keys[0])
	return h, nil
}

// KeySources returns header Idempotency-Key, then JSON field idempotency_key.
func (v *APIKey) KeySources() []hookd.KeySource { return defaultKeySources() }

// CredentialHeaders names the header that carries the key: it is a secret,
// so it must not be stored with the event.
func (v *APIKey) CredentialHeaders() []string { return []string{v.header} }
