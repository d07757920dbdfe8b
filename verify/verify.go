package verify

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Scheme names, as written in a service's `verify.scheme`.
const (
	SchemeHMACSHA256       = "hmac-sha256"
	SchemeGitHub           = "github"
	SchemeStripe           = "stripe"
	SchemeStandardWebhooks = "standard-webhooks"
	SchemeShopify          = "shopify"
	SchemeSlack            = "slack"
	SchemeTwilio           = "twilio"
	SchemeBasic            = "basic"
	SchemeAPIKey           = "api-key"
	SchemeNone             = "none"
)

// DefaultTolerance is how far a signed timestamp may be from the clock, in
// either direction, when Config.Tolerance is zero.
const DefaultTolerance = 300 * time.Second

// MinSecretLength is the shortest secret accepted, in bytes, unless
// Config.AllowShortSecrets is set: HMAC secrets (hmac-sha256, github,
// shopify, slack, stripe, twilio), api-key keys and basic passwords. A
// shorter one can be guessed offline from a single signed request, or
// online by trying. standard-webhooks has its own rule (24 decoded bytes).
const MinSecretLength = 16

// maxSignatures bounds the signatures parsed from one header, and
// maxHeaderParts the comma- or space-separated elements, so that hostile
// input costs a bounded amount of work. Genuine senders send one signature
// per active secret, rarely more than two.
const (
	maxSignatures  = 8
	maxHeaderParts = 16
)

// timestamped are the schemes that sign a timestamp, which Tolerance and
// IgnoreTimestamp apply to.
var timestamped = []string{SchemeStripe, SchemeStandardWebhooks, SchemeSlack}

// Schemes lists the scheme names New accepts, the default first.
func Schemes() []string {
	return []string{
		SchemeHMACSHA256, SchemeGitHub, SchemeStripe, SchemeStandardWebhooks,
		SchemeShopify, SchemeSlack, SchemeTwilio, SchemeBasic, SchemeAPIKey, SchemeNone,
	}
}

// Config is one service's `verify:` block, already parsed.
type Config struct {
	// Scheme is one of Schemes(). Defaults to "hmac-sha256".
	Scheme string

	// Secrets are the accepted secrets; any one matching is enough, so
	// several allow rotation. Sign uses the first (for standard-webhooks,
	// the first that can sign). At least one non-empty secret is required,
	// except for scheme none.
	Secrets []string

	// Header is, for hmac-sha256, the signature header (defaults to
	// X-Signature) and, for api-key, the key header (defaults to
	// Authorization).
	Header string

	// Prefix is, for hmac-sha256, the prefix before the signature, optional
	// in the received value (defaults to "<algorithm>=", i.e. "sha256=");
	// for api-key, the required value prefix (defaults to "Bearer " when
	// Header is Authorization, else none). Prefixes match case-insensitively.
	Prefix string

	// Encoding is, for hmac-sha256, how the MAC is written: "hex" (any
	// case), "base64" or "base64url" (padding optional). Defaults to "hex".
	Encoding string

	// Algorithm is, for hmac-sha256, the hash: "sha256", "sha1" or
	// "sha512". Defaults to "sha256".
	Algorithm string

	// Tolerance is, for the timestamped schemes (stripe, standard-webhooks,
	// slack), how far the signed timestamp may be from Now, in both
	// directions. Defaults to 300s when zero; set on another scheme, it is
	// an error.
	Tolerance time.Duration

	// IgnoreTimestamp disables the tolerance check of timestamped schemes
	// (the timestamp is still signed and must still parse). It is the only
	// way to disable the check; set on another scheme, it is an error.
	IgnoreTimestamp bool

	// URL is, for twilio, the public URL the provider calls (hookd may sit
	// behind a proxy, so the received URL cannot be trusted to match). When
	// it has no query, the received request's query is appended. Required
	// for twilio.
	URL string

	// IUnderstandThisIsUnsafe must be set for scheme none.
	IUnderstandThisIsUnsafe bool

	// AllowShortSecrets accepts secrets shorter than MinSecretLength: for
	// the senders that only offer short ones. Defaults to false.
	AllowShortSecrets bool

	// Now is the clock for timestamp checks. Defaults to time.Now.
	Now func() time.Time
}

// New validates c and returns the verifier for its scheme. Its errors are
// *ConfigError: they name the field at fault and never contain a secret.
func New(c Config) (hookd.Verifier, error) {
	c.Scheme = cmp.Or(strings.TrimSpace(c.Scheme), SchemeHMACSHA256)
	if c.Tolerance < 0 {
		return nil, fieldError("tolerance", "must not be negative (0 means the default, 300s)")
	}
	if !slices.Contains(Schemes(), c.Scheme) {
		return nil, fieldError("scheme", "unknown scheme %q (one of: %s)", c.Scheme, strings.Join(Schemes(), ", "))
	}
	// A tolerance on a scheme without timestamps would read as protection
	// against replays that is not there.
	if !slices.Contains(timestamped, c.Scheme) {
		if c.Tolerance != 0 {
			return nil, fieldError("tolerance", "scheme %s signs no timestamp, so nothing would be checked; remove it (only %s take it)", c.Scheme, strings.Join(timestamped, ", "))
		}
		if c.IgnoreTimestamp {
			return nil, fieldError("ignore_timestamp", "scheme %s signs no timestamp; remove it (only %s take it)", c.Scheme, strings.Join(timestamped, ", "))
		}
	}
	c.Tolerance = cmp.Or(c.Tolerance, DefaultTolerance)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Scheme == SchemeNone {
		if !c.IUnderstandThisIsUnsafe {
			return nil, fieldError("i_understand_this_is_unsafe", "scheme none accepts any request; set it to true to allow that")
		}
		return &None{}, nil
	}
	if err := checkSecrets(c.Secrets); err != nil {
		return nil, err
	}
	v, err := newScheme(c)
	if err != nil {
		return nil, err
	}
	if err := checkLength(c); err != nil {
		return nil, err
	}
	return v, nil
}

// newScheme returns the verifier of c.Scheme, a known scheme other than
// none.
func newScheme(c Config) (hookd.Verifier, error) {
	switch c.Scheme {
	case SchemeHMACSHA256:
		return newHMAC(c)
	case SchemeGitHub:
		return newGitHub(c), nil
	case SchemeStripe:
		return newStripe(c), nil
	case SchemeStandardWebhooks:
		return newStandardWebhooks(c)
	case SchemeShopify:
		return newShopify(c), nil
	case SchemeSlack:
		return newSlack(c), nil
	case SchemeTwilio:
		return newTwilio(c)
	case SchemeBasic:
		return newBasic(c)
	default: // SchemeAPIKey
		return newAPIKey(c)
	}
}

// ConfigError is a problem with one field of a Config, which New returns.
// Field is the field's name in a service's verify block ("secrets[1]",
// "url"), Problem what is wrong and how to fix it. Neither ever contains a
// secret.
type ConfigError struct {
	Field   string
	Problem string
}

// Error formats e as "field: problem".
func (e *ConfigError) Error() string { return e.Field + ": " + e.Problem }

func fieldError(field, format string, args ...any) error {
	return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

func secretField(i int) string { return fmt.Sprintf("secrets[%d]", i) }

// checkSecrets requires at least one secret and no empty one. The first
// message is what an unset ${VAR} in the configuration produces.
func checkSecrets(secrets []string) error {
	nonEmpty := 0
	for _, s := range secrets {
		if s != "" {
			nonEmpty++
		}
	}
	if nonEmpty == 0 {
		return fieldError("secrets", "at least one non-empty secret is required")
	}
	for i, s := range secrets {
		if s == "" {
			return fieldError(secretField(i), "must not be empty")
		}
	}
	return nil
}

// checkLength refuses secrets shorter than MinSecretLength, unless
// c.AllowShortSecrets. For basic, the password is what must be long.
// Messages never quote the secret.
func checkLength(c Config) error {
	if c.AllowShortSecrets || c.Scheme == SchemeStandardWebhooks {
		return nil
	}
	what := "secret"
	switch c.Scheme {
	case SchemeBasic:
		what = "password"
	case SchemeAPIKey:
		what = "key"
	}
	for i, s := range c.Secrets {
		if c.Scheme == SchemeBasic {
			_, s, _ = strings.Cut(s, ":")
		}
		if len(s) < MinSecretLength {
			return fieldError(secretField(i), "the %s is shorter than %d bytes, too short to stay secret; use a long random one (e.g. openssl rand -hex 32), or set allow_short_secrets: true if the sender offers nothing longer",
				what, MinSecretLength)
		}
	}
	return nil
}

// Sentinel errors. Verify returns them wrapped in a *hookd.Error; test with
// errors.Is.
var (
	// ErrMissingHeader: a header the scheme requires is absent or empty.
	ErrMissingHeader = errors.New("verify: missing header")
	// ErrDuplicateHeader: a header the scheme requires appears more than once.
	ErrDuplicateHeader = errors.New("verify: header repeated")
	// ErrMalformedHeader: a header does not have the scheme's syntax
	// (including a timestamp that is not a Unix time, or too many signatures).
	ErrMalformedHeader = errors.New("verify: malformed header")
	// ErrMalformedBody: the body cannot be read the way the scheme signs it
	// (twilio form parameters).
	ErrMalformedBody = errors.New("verify: malformed body")
	// ErrSignatureMismatch: no configured secret produces a signature that
	// was sent.
	ErrSignatureMismatch = errors.New("verify: signature mismatch")
	// ErrTimestampOutOfTolerance: the signature is valid but its signed
	// timestamp is too far from the clock.
	ErrTimestampOutOfTolerance = errors.New("verify: timestamp out of tolerance")
	// ErrCannotSign: Sign was asked to sign with a secret that only verifies
	// (a standard-webhooks whpk_ public key).
	ErrCannotSign = errors.New("verify: no secret can sign")
)

// invalid returns an EInvalidSignature error with a client-safe message.
func invalid(sentinel error, format string, args ...any) error {
	return &hookd.Error{Code: hookd.EInvalidSignature, Message: fmt.Sprintf(format, args...), Err: sentinel}
}

func missing(header string) error {
	return invalid(ErrMissingHeader, "the %s header is missing", header)
}

func malformed(header string) error {
	return invalid(ErrMalformedHeader, "the %s header is malformed", header)
}

func mismatch(header string) error {
	return invalid(ErrSignatureMismatch, "the %s header does not match the request for any configured secret", header)
}

// headerValue returns the one value of header name. A missing or empty
// header is ErrMissingHeader. A repeated header is rejected
// (ErrDuplicateHeader) rather than tried value by value: every provider sends
// these headers once, so a second copy was added on the way (a proxy, or an
// attacker probing), and for timestamp and id headers there would be no
// telling which value the signature covers. Rejecting keeps the work per
// request bounded and the decision unambiguous.
func headerValue(h http.Header, name string) (string, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0:
		return "", missing(name)
	case len(vs) > 1:
		return "", invalid(ErrDuplicateHeader, "the %s header appears more than once", name)
	}
	v := strings.TrimSpace(vs[0])
	if v == "" {
		return "", missing(name)
	}
	return v, nil
}

// parseUnix parses a signed timestamp: 1 to 18 ASCII digits, no sign, so
// that arithmetic on it cannot overflow.
func parseUnix(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// clock checks signed timestamps against an injected clock.
type clock struct {
	now       func() time.Time
	tolerance time.Duration
	ignore    bool
}

func newClock(c Config) clock {
	return clock{now: c.Now, tolerance: c.Tolerance, ignore: c.IgnoreTimestamp}
}

// check returns nil when ts (Unix seconds) is at most the tolerance away
// from now, in either direction, or when the check is disabled.
func (c clock) check(header string, ts int64) error {
	if c.ignore {
		return nil
	}
	diff := c.now().Unix() - ts // cannot overflow: ts < 10^18
	limit := int64(c.tolerance / time.Second)
	if diff > limit || diff < -limit {
		return &hookd.Error{
			Code:    hookd.ETimestampOutOfTolerance,
			Message: fmt.Sprintf("the %s header is more than %s away from the receiver's clock", header, c.tolerance),
			Err:     &skewError{skew: time.Duration(diff) * time.Second}, // for Skew; wraps ErrTimestampOutOfTolerance
		}
	}
	return nil
}

// equalSecret compares two secrets in constant time, whatever their
// lengths: both are hashed first, so the comparison does not return early
// on a length difference.
func equalSecret(a, b string) bool {
	ha := sha256.Sum256([]byte(a))
	hb := sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// defaultKeySources is where generic senders put the idempotency key.
func defaultKeySources() []hookd.KeySource {
	return []hookd.KeySource{
		{From: "header", Name: "Idempotency-Key"},
		{From: "json", Name: "idempotency_key"},
	}
}

// validHeaderName reports whether name is an HTTP token (RFC 9110 §5.1).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// byteKeys converts secrets to HMAC keys (their UTF-8 bytes).
func byteKeys(secrets []string) [][]byte {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		keys[i] = []byte(s)
	}
	return keys
}

// splitBounded splits s at sep, or reports false when s has more than max
// parts, before allocating anything for them.
func splitBounded(s, sep string, max int) ([]string, bool) {
	if strings.Count(s, sep) >= max {
		return nil, false
	}
	return strings.Split(s, sep), true
}
