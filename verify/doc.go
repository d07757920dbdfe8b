// Package verify proves that a webhook request comes from its sender. It
// implements hookd.Verifier once per signature scheme (README: Signature
// schemes):
//
//   - hmac-sha256 (default): an HMAC of the raw body in a configurable header
//     (X-Signature), hex in any case with an optional "sha256=" prefix, or
//     base64/base64url; SHA-1 and SHA-512 optional.
//   - github: X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>.
//   - stripe: Stripe-Signature: t=<unix>,v1=<hex>[,v1=…] over "<t>.<body>".
//   - standard-webhooks: webhook-id, webhook-timestamp and webhook-signature
//     ("v1,<base64 HMAC>" and "v1a,<base64 ed25519>") over "<id>.<t>.<body>".
//   - shopify: X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>.
//   - slack: X-Slack-Signature: v0=<hex> over "v0:<t>:<body>" with
//     X-Slack-Request-Timestamp; Slack.Challenge answers the URL handshake.
//   - twilio: X-Twilio-Signature: base64 HMAC-SHA1 over the public URL and
//     the sorted form parameters (JSON bodies: the bodySHA256 query parameter).
//   - basic: Authorization: Basic with "user:password" secrets.
//   - api-key: a static key in a header (default Authorization: Bearer <key>).
//   - none: accepts everything; only with Config.IUnderstandThisIsUnsafe.
//
// New turns one service's Config into a Verifier. Every scheme accepts any of
// several secrets (rotation), compares in constant time, and reports failures
// as *hookd.Error values with code hookd.EInvalidSignature or
// hookd.ETimestampOutOfTolerance whose Err is one of this package's sentinel
// errors (ErrMissingHeader, ErrSignatureMismatch, …), so both
// hookd.ErrorCode and errors.Is work. Messages name the header at fault and
// never contain a secret or an expected signature.
//
// Timestamped schemes (stripe, standard-webhooks, slack) check the signature
// before the timestamp, so an unsigned request cannot probe the clock, and
// accept timestamps up to Config.Tolerance away from Config.Now in both
// directions.
//
// Every verifier also signs: Sign returns the headers a genuine sender would
// send, which is what `hookd sign` prints and what the tests use to build
// valid requests.
package verify
