package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

const stripeHeader = "Stripe-Signature"

// Stripe verifies Stripe webhooks: Stripe-Signature: t=<unix>,v1=<hex>[,v1=…],
// each v1 an HMAC-SHA256 of "<t>.<body>" keyed with the UTF-8 bytes of the
// endpoint secret (a whsec_… string used as is). Other signature schemes in
// the header (v0, the test-mode scheme) are ignored. The timestamp must be
// within the tolerance, in both directions.
type Stripe struct {
	keys  [][]byte
	clock clock
}

var _ hookd.Verifier = (*Stripe)(nil)

func newStripe(c Config) *Stripe {
	return &Stripe{keys: byteKeys(c.Secrets), clock: newClock(c)}
}

// Verify checks Stripe-Signature against the body, then the timestamp.
func (v *Stripe) Verify(r *hookd.Request) error {
	value, err := headerValue(r.Header, stripeHeader)
	if err != nil {
		return err
	}
	parts, ok := splitBounded(value, ",", maxHeaderParts)
	if !ok {
		return malformed(stripeHeader)
	}
	var (
		t    string
		sigs [][]byte
	)
	for _, p := range parts {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return malformed(stripeHeader)
		}
		switch k {
		case "t":
			if t != "" {
				return malformed(stripeHeader) // two timestamps: which one is signed?
			}
			t = val
		case "v1":
			if len(sigs) == maxSignatures {
				return malformed(stripeHeader)
			}
			// A v1 value that is not 32 bytes of hex can never match;
			// it is skipped like an unknown scheme.
			if sig, err := hex.DecodeString(val); err == nil && len(sig) == sha256.Size {
				sigs = append(sigs, sig)
			}
		}
	}
	ts, ok := parseUnix(t)
	if !ok || len(sigs) == 0 {
		return malformed(stripeHeader)
	}
	matched := false
	for _, key := range v.keys {
		want := stripeMAC(key, t, r.Body)
		for _, sig := range sigs {
			if hmac.Equal(sig, want) {
				matched = true
			}
		}
	}
	if !matched {
		return mismatch(stripeHeader)
	}
	return v.clock.check(stripeHeader, ts)
}

func stripeMAC(key []byte, t string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(t))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns Stripe-Signature for body at time now, made with the first
// secret.
func (v *Stripe) Sign(body []byte, _ string, now time.Time) (http.Header, error) {
	t := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set(stripeHeader, "t="+t+",v1="+hex.EncodeToString(stripeMAC(v.keys[0], t, body)))
	return h, nil
}

// KeySources returns JSON field id, the event's ID (evt_…).
func (v *Stripe) KeySources() []hookd.KeySource {
	return []hookd.KeySource{{From: "json", Name: "id"}}
}
