package verify

import (
	"crypto/sha256"
	"net/http"
	"time"

	"github.com/hookd/hookd"
)

// Shopify verifies Shopify webhooks: X-Shopify-Hmac-Sha256: <base64>, the
// HMAC-SHA256 of the raw body keyed with the UTF-8 bytes of the app's secret.
type Shopify struct{ bodyMAC }

var _ hookd.Verifier = (*Shopify)(nil)

func newShopify(c Config) *Shopify {
	return &Shopify{bodyMAC{
		header:   "X-Shopify-Hmac-Sha256",
		encoding: "base64",
		newHash:  sha256.New,
		keys:     byteKeys(c.Secrets),
	}}
}

// Verify checks X-Shopify-Hmac-Sha256 against the body.
func (v *Shopify) Verify(r *hookd.Request) error { return v.verify(r) }

// Sign returns X-Shopify-Hmac-Sha256 for body, made with the first secret.
func (v *Shopify) Sign(body []byte, _ string, _ time.Time) (http.Header, error) {
	return v.sign(body), nil
}

// KeySources returns header X-Shopify-Webhook-Id.
func (v *Shopify) KeySources() []hookd.KeySource {
	return []hookd.KeySource{{From: "header", Name: "X-Shopify-Webhook-Id"}}
}
