package verify

import (
	"crypto/sha256"
	"net/http"
	"time"

	"github.com/hookd/hookd"
)

// GitHub verifies GitHub webhooks: X-Hub-Signature-256: sha256=<hex>, the
// HMAC-SHA256 of the raw body keyed with the UTF-8 bytes of the secret. The
// "sha256=" prefix is required, as GitHub always sends it.
type GitHub struct{ bodyMAC }

var _ hookd.Verifier = (*GitHub)(nil)

func newGitHub(c Config) *GitHub {
	return &GitHub{bodyMAC{
		header:         "X-Hub-Signature-256",
		prefix:         "sha256=",
		prefixRequired: true,
		encoding:       "hex",
		newHash:        sha256.New,
		keys:           byteKeys(c.Secrets),
	}}
}

// Verify checks X-Hub-Signature-256 against the body.
func (v *GitHub) Verify(r *hookd.Request) error { return v.verify(r) }

// Sign returns X-Hub-Signature-256 for body, made with the first secret.
func (v *GitHub) Sign(body []byte, _ string, _ time.Time) (http.Header, error) {
	return v.sign(body), nil
}

// KeySources returns header X-GitHub-Delivery, GitHub's delivery GUID.
func (v *GitHub) KeySources() []hookd.KeySource {
	return []hookd.KeySource{{From: "header", Name: "X-GitHub-Delivery"}}
}
