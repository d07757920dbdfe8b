package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/hookd/hookd"
)

// ProblemTypeBase prefixes every problem type: a problem's type is this and
// the error code, e.g. https://hookd.dev/problems/invalid-signature.
const ProblemTypeBase = "https://hookd.dev/problems/"

// problems is the one table from error codes to HTTP statuses and titles.
var problems = map[string]struct {
	status int
	title  string
}{
	hookd.EUnknownService:          {http.StatusNotFound, "Unknown service"},
	hookd.EMethodNotAllowed:        {http.StatusMethodNotAllowed, "Method not allowed"},
	hookd.EPayloadTooLarge:         {http.StatusRequestEntityTooLarge, "Payload too large"},
	hookd.EInvalidSignature:        {http.StatusUnauthorized, "Invalid signature"},
	hookd.ETimestampOutOfTolerance: {http.StatusUnauthorized, "Timestamp out of tolerance"},
	hookd.EMissingIdempotencyKey:   {http.StatusBadRequest, "Missing idempotency key"},
	hookd.EInvalidIdempotencyKey:   {http.StatusBadRequest, "Invalid idempotency key"},
	hookd.EInvalidJSON:             {http.StatusBadRequest, "Invalid JSON"},
	hookd.EMissingField:            {http.StatusBadRequest, "Missing field"},
	hookd.EInvalidEmail:            {http.StatusBadRequest, "Invalid email"},
	hookd.EIdempotencyKeyReused:    {http.StatusUnprocessableEntity, "Idempotency key reused"},
	hookd.ENotFound:                {http.StatusNotFound, "Not found"},
	hookd.EConflict:                {http.StatusConflict, "Conflict"},
	hookd.EInvalid:                 {http.StatusBadRequest, "Invalid request"},
	hookd.EUnauthorized:            {http.StatusUnauthorized, "Unauthorized"},
	hookd.EUnavailable:             {http.StatusServiceUnavailable, "Service unavailable"},
	hookd.EInternal:                {http.StatusInternalServerError, "Internal error"},
}

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// EventID is, for idempotency-key-reused, the event holding the key.
	EventID string `json:"event_id,omitempty"`
}

// writeError answers with err as a problem. The client sees the error's
// safe message; an internal cause goes to the log only.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	writeProblem(w, r, log, err, "")
}

// writeProblem is writeError with the problem's event_id member.
func writeProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, eventID string) {
	code := hookd.ErrorCode(err)
	p, ok := problems[code]
	if !ok {
		code, p = hookd.EInternal, problems[hookd.EInternal]
	}
	if p.status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	switch code {
	case hookd.EMethodNotAllowed:
		w.Header().Set("Allow", http.MethodPost)
	case hookd.EUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.status)
	_ = json.NewEncoder(w).Encode(Problem{
		Type:    ProblemTypeBase + code,
		Title:   p.title,
		Status:  p.status,
		Detail:  hookd.ErrorMessage(err),
		EventID: eventID,
	})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
