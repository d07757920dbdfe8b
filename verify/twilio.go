package verify

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

const (
	twilioHeader    = "X-Twilio-Signature"
	twilioBodyParam = "bodySHA256"
)

// Twilio verifies Twilio webhooks the way Twilio's RequestValidator does:
// X-Twilio-Signature is the base64 HMAC-SHA1, keyed with the auth token, of
// the public URL followed, for form bodies, by every POST parameter sorted
// by name (values of a repeated name sorted too), each written as name then
// value. For JSON bodies Twilio adds a bodySHA256 query parameter (the hex
// SHA-256 of the body), which must match, and the signature covers the URL
// only.
//
// The URL is Config.URL, since hookd may sit behind a proxy that changes
// scheme, host or port; when Config.URL has no query, the received request's
// query is appended. As Twilio's validator does, the URL is tried both
// without its port and with the scheme's default port (443 or 80), because
// Twilio is not consistent about signing it.
type Twilio struct {
	url  string // Config.URL
	keys [][]byte
}

var _ hookd.Verifier = (*Twilio)(nil)

func newTwilio(c Config) (*Twilio, error) {
	if c.URL == "" {
		return nil, fieldError("url", "required for scheme twilio: the public URL Twilio calls, e.g. https://hooks.example.com/webhooks/twilio")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return nil, fieldError("url", "%q is not an absolute http(s) URL without a fragment", c.URL)
	}
	return &Twilio{url: c.URL, keys: byteKeys(c.Secrets)}, nil
}

// Verify checks X-Twilio-Signature against the public URL and the body.
func (v *Twilio) Verify(r *hookd.Request) error {
	value, err := headerValue(r.Header, twilioHeader)
	if err != nil {
		return err
	}
	sig, ok := decodeBase64(value)
	if !ok || len(sig) != sha1.Size {
		return malformed(twilioHeader)
	}
	u := v.url
	if !strings.Contains(u, "?") && r.URL != nil && r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	bodyHash, jsonBody, err := twilioBodyHash(u)
	if err != nil {
		return err
	}
	var params url.Values
	if !jsonBody {
		if params, err = url.ParseQuery(string(r.Body)); err != nil {
			return invalid(ErrMalformedBody, "the body is not a valid form and the URL has no %s parameter", twilioBodyParam)
		}
	}
	matched := false
	for _, candidate := range twilioPortVariants(u) {
		for _, key := range v.keys {
			if hmac.Equal(sig, twilioMAC(key, candidate, params)) {
				matched = true
			}
		}
	}
	if !matched {
		return mismatch(twilioHeader)
	}
	if jsonBody {
		sum := sha256.Sum256(r.Body)
		if !hmac.Equal(bodyHash, sum[:]) {
			return invalid(ErrSignatureMismatch, "the body does not match the %s query parameter", twilioBodyParam)
		}
	}
	return nil
}

// twilioBodyHash returns the decoded bodySHA256 parameter of rawURL and
// whether there is one.
func twilioBodyHash(rawURL string) ([]byte, bool, error) {
	_, query, ok := strings.Cut(rawURL, "?")
	if !ok {
		return nil, false, nil
	}
	// A query that does not entirely parse still yields its good pairs,
	// which is all that is needed to find bodySHA256.
	q, _ := url.ParseQuery(query)
	vs := q[twilioBodyParam]
	switch {
	case len(vs) == 0:
		return nil, false, nil
	case len(vs) > 1:
		return nil, false, invalid(ErrMalformedBody, "the %s query parameter appears more than once", twilioBodyParam)
	}
	b, err := hex.DecodeString(vs[0])
	if err != nil || len(b) != sha256.Size {
		return nil, false, invalid(ErrMalformedBody, "the %s query parameter is not a hex SHA-256", twilioBodyParam)
	}
	return b, true, nil
}

// twilioMAC is Twilio's signature of u and the form params.
func twilioMAC(key []byte, u string, params url.Values) []byte {
	h := hmac.New(sha1.New, key)
	h.Write([]byte(u))
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		values := slices.Clone(params[name])
		slices.Sort(values)
		for _, value := range values {
			h.Write([]byte(name))
			h.Write([]byte(value))
		}
	}
	return h.Sum(nil)
}

// twilioPortVariants returns rawURL without its port and with its port (the
// scheme's default when it has none), like Twilio's RequestValidator.
func twilioPortVariants(rawURL string) []string {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return []string{rawURL}
	}
	scheme, rest := strings.ToLower(rawURL[:i]), rawURL[i+len("://"):]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	hostStart := strings.LastIndexByte(rest[:end], '@') + 1
	hostport := rest[hostStart:end]
	host, port := hostport, ""
	if c := strings.LastIndexByte(hostport, ':'); c >= 0 && c > strings.LastIndexByte(hostport, ']') {
		host, port = hostport[:c], hostport[c+1:]
	}
	prefix := rawURL[:i+len("://")] + rest[:hostStart]
	suffix := rest[end:]
	without := prefix + host + suffix
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	with := prefix + host + ":" + port + suffix
	if with == without {
		return []string{without}
	}
	return []string{without, with}
}

// Sign returns X-Twilio-Signature for a request with body sent to target
// (Config.URL when target is empty), made with the first secret. A form body
// is signed with its parameters. For a JSON body the target must carry the
// bodySHA256 parameter, as Twilio's does: build it with TwilioURL and send
// the request to that URL.
func (v *Twilio) Sign(body []byte, target string, _ time.Time) (http.Header, error) {
	target = cmp.Or(target, v.url)
	_, jsonBody, err := twilioBodyHash(target)
	if err != nil {
		return nil, err
	}
	var params url.Values
	if !jsonBody {
		if params, err = url.ParseQuery(string(body)); err != nil {
			return nil, fmt.Errorf("twilio: the body is not a form; for a JSON body sign TwilioURL(url, body): %w", ErrMalformedBody)
		}
	}
	h := http.Header{}
	h.Set(twilioHeader, base64.StdEncoding.EncodeToString(twilioMAC(v.keys[0], target, params)))
	return h, nil
}

// URL is the public URL Twilio calls (Config.URL), which it signs.
func (v *Twilio) URL() string { return v.url }

// TwilioURL returns base with the bodySHA256 query parameter Twilio adds
// for a JSON body: the hex SHA-256 of body. Sign a JSON body for this URL
// and send the request to it.
func TwilioURL(base string, body []byte) string {
	sum := sha256.Sum256(body)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + twilioBodyParam + "=" + hex.EncodeToString(sum[:])
}

// KeySources returns header I-Twilio-Idempotency-Token, which Twilio keeps
// across retries of one callback.
func (v *Twilio) KeySources() []hookd.KeySource {
	return []hookd.KeySource{{From: "header", Name: "I-Twilio-Idempotency-Token"}}
}
