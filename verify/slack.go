package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/hookd/hookd"
)

const (
	slackSignature = "X-Slack-Signature"
	slackTimestamp = "X-Slack-Request-Timestamp"
)

// Slack verifies Slack requests (Events API, slash commands,
// interactivity): X-Slack-Signature: v0=<hex>, the HMAC-SHA256 of
// "v0:<timestamp>:<body>" keyed with the UTF-8 bytes of the signing secret,
// where timestamp is X-Slack-Request-Timestamp and must be within the
// tolerance, in both directions.
type Slack struct {
	keys  [][]byte
	clock clock
}

var _ hookd.Verifier = (*Slack)(nil)

func newSlack(c Config) *Slack {
	return &Slack{keys: byteKeys(c.Secrets), clock: newClock(c)}
}

// Verify checks X-Slack-Signature against X-Slack-Request-Timestamp and the
// body, then the timestamp.
func (v *Slack) Verify(r *hookd.Request) error {
	t, err := headerValue(r.Header, slackTimestamp)
	if err != nil {
		return err
	}
	ts, ok := parseUnix(t)
	if !ok {
		return malformed(slackTimestamp)
	}
	value, err := headerValue(r.Header, slackSignature)
	if err != nil {
		return err
	}
	if !hasPrefixFold(value, "v0=") {
		return malformed(slackSignature)
	}
	sig, err := hex.DecodeString(value[len("v0="):])
	if err != nil || len(sig) != sha256.Size {
		return malformed(slackSignature)
	}
	matched := false
	for _, key := range v.keys {
		if hmac.Equal(sig, slackMAC(key, t, r.Body)) {
			matched = true
		}
	}
	if !matched {
		return mismatch(slackSignature)
	}
	return v.clock.check(slackTimestamp, ts)
}

func slackMAC(key []byte, t string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("v0:"))
	h.Write([]byte(t))
	h.Write([]byte{':'})
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns X-Slack-Request-Timestamp (now) and X-Slack-Signature for
// body, made with the first secret.
func (v *Slack) Sign(body []byte, _ string, now time.Time) (http.Header, error) {
	t := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set(slackTimestamp, t)
	h.Set(slackSignature, "v0="+hex.EncodeToString(slackMAC(v.keys[0], t, body)))
	return h, nil
}

// KeySources returns JSON field event_id (Events API), then form field
// trigger_id (slash commands and interactivity).
func (v *Slack) KeySources() []hookd.KeySource {
	return []hookd.KeySource{{From: "json", Name: "event_id"}, {From: "form", Name: "trigger_id"}}
}

// Challenge returns the challenge of a Slack url_verification body
// ({"type":"url_verification","challenge":"…"}), which the HTTP layer
// echoes back, without storing anything, after Verify succeeded. ok is
// false for any other body.
func (v *Slack) Challenge(body []byte) (challenge string, ok bool) {
	var m struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if json.Unmarshal(body, &m) != nil || m.Type != "url_verification" || m.Challenge == "" {
		return "", false
	}
	return m.Challenge, true
}
