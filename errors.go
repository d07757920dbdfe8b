package hookd

import (
	"errors"
	"fmt"
)

// Error codes. Each is also the suffix of an RFC 9457 problem type; the HTTP
// layer owns the one table that maps them to statuses.
const (
	EUnknownService          = "unknown-service"
	EMethodNotAllowed        = "method-not-allowed"
	EPayloadTooLarge         = "payload-too-large"
	EInvalidSignature        = "invalid-signature"
	ETimestampOutOfTolerance = "timestamp-out-of-tolerance"
	EMissingIdempotencyKey   = "missing-idempotency-key"
	EInvalidIdempotencyKey   = "invalid-idempotency-key"
	EInvalidJSON             = "invalid-json"
	EMissingField            = "missing-field"
	EInvalidEmail            = "invalid-email"
	EIdempotencyKeyReused    = "idempotency-key-reused"
	ENotFound                = "not-found"
	EConflict                = "conflict"
	EInvalid                 = "invalid-request"
	EUnauthorized            = "unauthorized"
	EUnavailable             = "unavailable"
	EInternal                = "internal"
)

// Error is an error meant to be shown to a client: Message is safe to send,
// Err (the cause) is for logs only.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a formatted, client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err: the *Error's message,
// or a generic one that hides internal causes.
func ErrorMessage(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "internal error"
}

// permanentError marks a job failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying cannot fix (an SMTP 5xx, an
// HTTP 4xx): the job fails at once instead of using its remaining attempts.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	_, ok := errors.AsType[*permanentError](err)
	return ok
}
