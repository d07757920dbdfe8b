package verify

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

const authorization = "Authorization"

// Basic verifies HTTP Basic authentication (RFC 7617): Authorization: Basic
// <base64 of user:password>, where each secret is one accepted
// "user:password" pair. It signs nothing, so use it only over TLS and only
// for senders that offer nothing better.
type Basic struct {
	credentials []string
}

var _ hookd.Verifier = (*Basic)(nil)

func newBasic(c Config) (*Basic, error) {
	for i, s := range c.Secrets {
		// An empty user or password would let "curl -u 'partner:'" in
		// when a ${VAR} behind it was left unset.
		if user, password, ok := strings.Cut(s, ":"); !ok || user == "" || password == "" {
			return nil, fieldError(secretField(i), `a basic secret must be "user:password" with a non-empty user and password`)
		}
	}
	return &Basic{credentials: c.Secrets}, nil
}

// Verify checks the Authorization header's credentials.
func (v *Basic) Verify(r *hookd.Request) error {
	value, err := headerValue(r.Header, authorization)
	if err != nil {
		return err
	}
	if !hasPrefixFold(value, "Basic ") {
		return malformed(authorization)
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value[len("Basic "):]))
	if err != nil || !strings.Contains(string(decoded), ":") {
		return malformed(authorization)
	}
	matched := false
	for _, c := range v.credentials {
		if equalSecret(string(decoded), c) {
			matched = true
		}
	}
	if !matched {
		return invalid(ErrSignatureMismatch, "the %s header's credentials do not match", authorization)
	}
	return nil
}

// Sign returns the Authorization header with the first credentials.
func (v *Basic) Sign(_ []byte, _ string, _ time.Time) (http.Header, error) {
	h := http.Header{}
	h.Set(authorization, "Basic "+base64.StdEncoding.EncodeToString([]byte(v.credentials[0])))
	return h, nil
}

// KeySources returns header Idempotency-Key, then JSON field idempotency_key.
func (v *Basic) KeySources() []hookd.KeySource { return defaultKeySources() }
