package verify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Diagnosis is what an operator needs to find why a request's signature
// was refused, for the admin API only: never in the answer to the sender,
// and never holding a secret, the received signature or a computed one.
// Only its shape and yes/no findings.
type Diagnosis struct {
	BodyLength int    `json:"body_length"`
	BodySHA256 string `json:"body_sha256"`
	// Header is the signature header checked, HeaderShape its value with
	// every run of digits, hex or base64 replaced by its length and
	// alphabet, e.g. "sha256=<64 hex>" or "t=<10 digits>,v1=<64 hex>".
	Header      string `json:"header"`
	HeaderShape string `json:"header_shape"`
	// SignedURL is, for twilio, the URL the signature was checked against.
	SignedURL string `json:"signed_url,omitempty"`
	// WouldMatchIf lists the common mistakes under which a configured
	// secret would have produced the received signature, e.g. "the body
	// ended with a newline". Empty when none of those checked does.
	WouldMatchIf []string `json:"would_match_if,omitempty"`
}

// Diagnoser is a verifier that can explain why it refused r. It is called
// only for refused requests, and costs at most a few HMACs per configured
// secret (of the first two).
type Diagnoser interface {
	Diagnose(r *hookd.Request) *Diagnosis
}

// maxDiagnosedKeys bounds the secrets a diagnosis tries its variants with.
const maxDiagnosedKeys = 2

// Skew returns how far the signed timestamp of a request refused with
// ErrTimestampOutOfTolerance was from the receiver's clock (positive: in
// the past), and whether err is such a refusal.
func Skew(err error) (time.Duration, bool) {
	if se, ok := errors.AsType[*skewError](err); ok {
		return se.skew, true
	}
	return 0, false
}

// skewError carries a timestamp's distance from the clock to Skew.
type skewError struct{ skew time.Duration }

func (e *skewError) Error() string { return ErrTimestampOutOfTolerance.Error() }
func (e *skewError) Unwrap() error { return ErrTimestampOutOfTolerance }

// newDiagnosis describes r's body and the shape of header's value.
func newDiagnosis(r *hookd.Request, header string) *Diagnosis {
	sum := sha256.Sum256(r.Body)
	d := &Diagnosis{BodyLength: len(r.Body), BodySHA256: hex.EncodeToString(sum[:]), Header: header}
	switch vs := r.Header.Values(header); {
	case len(vs) == 0:
		d.HeaderShape = "(absent)"
	case len(vs) > 1:
		d.HeaderShape = fmt.Sprintf("(repeated %d times)", len(vs))
	default:
		d.HeaderShape = Shape(vs[0])
	}
	return d
}

// maxShapeParts bounds the parts Shape describes.
const maxShapeParts = 16

// Shape describes a header value without revealing it: separators (",",
// ";" and spaces) and short words before "=" (sha256=, t=, v1=) are kept,
// every other run is replaced by its length and alphabet, e.g. <64 hex>,
// <64 HEX>, <10 digits>, <44 base64>, <12 chars>.
func Shape(v string) string {
	var b strings.Builder
	parts := 0
	for len(v) > 0 {
		if parts == maxShapeParts {
			b.WriteString("…")
			break
		}
		parts++
		i := strings.IndexAny(v, ", ;")
		if i == 0 {
			b.WriteByte(v[0])
			v = v[1:]
			continue
		}
		if i < 0 {
			i = len(v)
		}
		part := v[:i]
		v = v[i:]
		if k, rest, ok := strings.Cut(part, "="); ok && rest != "" && isWord(k) {
			b.WriteString(k + "=")
			part = rest
		}
		b.WriteString(shapeOf(part))
	}
	return b.String()
}

// isWord reports whether s is a short label such as sha256, t, v1 or v0.
func isWord(s string) bool {
	if len(s) == 0 || len(s) > 8 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// shapeOf names the alphabet of s.
func shapeOf(s string) string {
	if isWord(s) && len(s) <= 3 { // a label on its own, as in "v1,<sig>"
		return s
	}
	var digits, lower, upper, hexLetters, other, plusSlash, dashUnderscore, pad int
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z':
			lower++
			if c <= 'f' {
				hexLetters++
			}
		case c >= 'A' && c <= 'Z':
			upper++
			if c <= 'F' {
				hexLetters++
			}
		case c == '+' || c == '/':
			plusSlash++
		case c == '-' || c == '_':
			dashUnderscore++
		case c == '=':
			pad++
		default:
			other++
		}
	}
	n := len(s)
	padded := pad > 0 && strings.TrimRight(s, "=") == s[:n-pad]
	switch {
	case other > 0 || (pad > 0 && !padded):
		return fmt.Sprintf("<%d chars>", n)
	case digits == n:
		return fmt.Sprintf("<%d digits>", n)
	case hexLetters == lower+upper && pad == 0 && plusSlash == 0 && dashUnderscore == 0:
		switch {
		case upper == 0:
			return fmt.Sprintf("<%d hex>", n)
		case lower == 0:
			return fmt.Sprintf("<%d HEX>", n)
		}
		return fmt.Sprintf("<%d hex, mixed case>", n)
	case dashUnderscore == 0:
		return fmt.Sprintf("<%d base64>", n)
	case plusSlash == 0:
		return fmt.Sprintf("<%d base64url>", n)
	}
	return fmt.Sprintf("<%d chars>", n)
}

// tryVariants adds to d the common mistakes under which one of the first
// keys would have made a signature that matches: each variant is one HMAC
// per key, at most.
func (d *Diagnosis) tryVariants(keys [][]byte, body []byte, matches func(key, body []byte) bool) {
	keys = keys[:min(len(keys), maxDiagnosedKeys)]
	try := func(what string, key, body []byte) {
		if !slices.Contains(d.WouldMatchIf, what) && matches(key, body) {
			d.WouldMatchIf = append(d.WouldMatchIf, what)
		}
	}
	for _, key := range keys {
		try("the body ended with a newline", key, append(bytes.Clone(body), '\n'))
		if trimmed, ok := bytes.CutSuffix(body, []byte("\n")); ok {
			trimmed, _ = bytes.CutSuffix(trimmed, []byte("\r"))
			try("the body had no trailing newline", key, trimmed)
		}
		if b, ok := decodeAnyBase64(string(key)); ok && len(b) > 0 {
			try("the secret were base64-decoded before use", b, body)
		}
		if t := bytes.TrimSpace(key); len(t) != len(key) && len(t) > 0 {
			try("the secret had no surrounding whitespace", t, body)
		}
	}
}

// decodeAnyBase64 decodes s as standard or URL base64, padded or not.
func decodeAnyBase64(s string) ([]byte, bool) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return b, err == nil
}

// equalAny reports whether mac is one of sigs.
func equalAny(sigs [][]byte, mac []byte) bool {
	for _, s := range sigs {
		if hmac.Equal(s, mac) {
			return true
		}
	}
	return false
}

// Diagnose explains a refused request: the body and header's shapes, and
// whether a missing or extra prefix or another common mistake explains a
// mismatch.
func (m *bodyMAC) Diagnose(r *hookd.Request) *Diagnosis {
	d := newDiagnosis(r, m.header)
	value, err := headerValue(r.Header, m.header)
	if err != nil {
		return d
	}
	// A prefix sent twice, or one the scheme does not use, makes the value
	// malformed; say so when the rest would match.
	var note string
	switch {
	case m.prefix != "" && hasPrefixFold(value, m.prefix):
		value = value[len(m.prefix):]
		if hasPrefixFold(value, m.prefix) {
			value, note = value[len(m.prefix):], fmt.Sprintf("the %q prefix were sent once, not twice", m.prefix)
		}
	case m.prefix != "" && m.prefixRequired:
		note = fmt.Sprintf("the value began with the %q prefix", m.prefix)
	default:
		if k, rest, ok := strings.Cut(value, "="); ok && isWord(k) && rest != "" {
			value, note = rest, fmt.Sprintf("the value had no %q prefix", k+"=")
		}
	}
	got, ok := decodeMAC(m.encoding, value)
	if !ok || len(got) != m.newHash().Size() {
		return d
	}
	matches := func(key, body []byte) bool { return hmac.Equal(got, m.mac(key, body)) }
	if note != "" {
		for _, key := range m.keys[:min(len(m.keys), maxDiagnosedKeys)] {
			if matches(key, r.Body) {
				d.WouldMatchIf = append(d.WouldMatchIf, note)
				return d
			}
		}
	}
	d.tryVariants(m.keys, r.Body, matches)
	return d
}

// Diagnose explains a refused Stripe request.
func (v *Stripe) Diagnose(r *hookd.Request) *Diagnosis {
	d := newDiagnosis(r, stripeHeader)
	value, err := headerValue(r.Header, stripeHeader)
	if err != nil {
		return d
	}
	parts, ok := splitBounded(value, ",", maxHeaderParts)
	if !ok {
		return d
	}
	var t string
	var sigs [][]byte
	for _, p := range parts {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if sig, err := hex.DecodeString(val); k == "v1" && err == nil && len(sig) == sha256.Size && len(sigs) < maxSignatures {
			sigs = append(sigs, sig)
		} else if k == "t" {
			t = val
		}
	}
	if t != "" && len(sigs) > 0 {
		d.tryVariants(v.keys, r.Body, func(key, body []byte) bool { return equalAny(sigs, stripeMAC(key, t, body)) })
	}
	return d
}

// Diagnose explains a refused Slack request.
func (v *Slack) Diagnose(r *hookd.Request) *Diagnosis {
	d := newDiagnosis(r, slackSignature)
	t, err1 := headerValue(r.Header, slackTimestamp)
	value, err2 := headerValue(r.Header, slackSignature)
	if err1 != nil || err2 != nil || !hasPrefixFold(value, "v0=") {
		return d
	}
	sig, err := hex.DecodeString(value[len("v0="):])
	if err == nil && len(sig) == sha256.Size {
		d.tryVariants(v.keys, r.Body, func(key, body []byte) bool { return hmac.Equal(sig, slackMAC(key, t, body)) })
	}
	return d
}

// Diagnose explains a refused Standard Webhooks request. Besides the
// common mistakes, it checks whether the sender used the secret's text as
// the key instead of the bytes it encodes.
func (v *StandardWebhooks) Diagnose(r *hookd.Request) *Diagnosis {
	d := newDiagnosis(r, swSignature)
	id, err1 := headerValue(r.Header, swID)
	t, err2 := headerValue(r.Header, swTimestamp)
	value, err3 := headerValue(r.Header, swSignature)
	if err1 != nil || err2 != nil || err3 != nil {
		return d
	}
	parts, ok := splitBounded(value, " ", maxSignatures)
	if !ok {
		return d
	}
	var sigs [][]byte
	for _, p := range parts {
		if version, sig, ok := strings.Cut(p, ","); ok && version == "v1" {
			if b, ok := decodeBase64(sig); ok && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if len(sigs) == 0 {
		return d
	}
	matches := func(key, body []byte) bool { return equalAny(sigs, swMAC(key, swContent(id, t, body))) }
	var keys [][]byte
	for i, k := range v.keys {
		if k.hmac == nil {
			continue
		}
		if len(keys) == maxDiagnosedKeys {
			break
		}
		keys = append(keys, k.hmac)
		if text := []byte(v.secrets[i]); matches(text, r.Body) {
			d.WouldMatchIf = append(d.WouldMatchIf, "the secret's text were the key, not the bytes its base64 encodes")
		} else if rest, ok := bytes.CutPrefix(text, []byte(prefixSymmetric)); ok && matches(rest, r.Body) {
			d.WouldMatchIf = append(d.WouldMatchIf, "the secret's base64 text, without "+prefixSymmetric+", were the key")
		}
	}
	d.tryVariants(keys, r.Body, matches)
	return d
}

// maxSignedURL bounds the signed URL a diagnosis reports: its query comes
// from the sender.
const maxSignedURL = 512

// Diagnose explains a refused Twilio request: the URL the signature was
// checked against, and whether the other scheme or a toggled trailing
// slash would have matched (a proxy in front of hookd changes both).
func (v *Twilio) Diagnose(r *hookd.Request) *Diagnosis {
	d := newDiagnosis(r, twilioHeader)
	u := v.url
	if !strings.Contains(u, "?") && r.URL != nil && r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	d.SignedURL = u
	if len(u) > maxSignedURL {
		d.SignedURL = strings.ToValidUTF8(u[:maxSignedURL], "") + "…"
	}
	value, err := headerValue(r.Header, twilioHeader)
	if err != nil {
		return d
	}
	sig, ok := decodeBase64(value)
	_, jsonBody, err := twilioBodyHash(u)
	if !ok || len(sig) != sha1.Size || err != nil {
		return d
	}
	var params url.Values
	if !jsonBody {
		q, err := url.ParseQuery(string(r.Body))
		if err != nil {
			return d
		}
		params = q
	}
	path, query, _ := strings.Cut(u, "?")
	if query != "" {
		query = "?" + query
	}
	var variants []struct{ what, url string }
	if p, ok := strings.CutSuffix(path, "/"); ok {
		variants = append(variants, struct{ what, url string }{"the signed URL had no trailing /", p + query})
	} else {
		variants = append(variants, struct{ what, url string }{"the signed URL ended with /", path + "/" + query})
	}
	if rest, ok := strings.CutPrefix(u, "https://"); ok {
		variants = append(variants, struct{ what, url string }{"the signed URL began with http://", "http://" + rest})
	} else if rest, ok := strings.CutPrefix(u, "http://"); ok {
		variants = append(variants, struct{ what, url string }{"the signed URL began with https://", "https://" + rest})
	}
	for _, key := range v.keys[:min(len(v.keys), maxDiagnosedKeys)] {
		for _, vr := range variants {
			if !slices.Contains(d.WouldMatchIf, vr.what) && hmac.Equal(sig, twilioMAC(key, vr.url, params)) {
				d.WouldMatchIf = append(d.WouldMatchIf, vr.what)
			}
		}
	}
	return d
}
