package httpapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/jsonx"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/verify"
)

// Accepter stores verified webhooks: a hookd.Store, or a group committer
// in front of one.
type Accepter interface {
	Accept(ctx context.Context, subs []hookd.Submission) ([]hookd.Result, error)
}

// Challenger is a verifier that answers a provider's set-up handshake (Slack's
// url_verification) instead of storing the request.
type Challenger interface {
	Challenge(body []byte) (challenge string, ok bool)
}

// CredentialBearer is a verifier whose credentials travel in headers that
// must not be stored with the event (an API key in a custom header).
// Authorization, Proxy-Authorization and Cookie are never stored anyway.
type CredentialBearer interface {
	CredentialHeaders() []string
}

// Ingest serves POST /webhooks/{service}.
type Ingest struct {
	Services   map[string]*hookd.Service
	Accepter   Accepter
	Rejections *Rejections // Defaults to an unrecorded one.
	Metrics    *Metrics    // Defaults to unregistered metrics.
	Activity   *Activity   // For the dashboard; nil keeps none.
	Logger     *slog.Logger
	Now        func() time.Time // Defaults to time.Now.

	rejectLog *rejectionLog
	diagnoses *bucket // bounds the work spent diagnosing refused signatures
}

const maxIdempotencyKey = 255

// Handler returns the ingest handler, mounted at /webhooks/.
func (in *Ingest) Handler() http.Handler {
	if in.Rejections == nil {
		in.Rejections = NewRejections(0)
	}
	if in.Metrics == nil {
		in.Metrics = NewMetrics(nil)
	}
	if in.Logger == nil {
		in.Logger = slog.Default()
	}
	if in.Now == nil {
		in.Now = time.Now
	}
	in.rejectLog = newRejectionLog(in.Logger)
	in.diagnoses = newBucket(maxDiagnoses, maxDiagnoses)
	mux := http.NewServeMux()
	mux.HandleFunc("/webhooks/{service}", in.serve)
	mux.HandleFunc("/webhooks/{service}/{$}", in.serve) // a trailing slash is accepted
	return mux
}

// writeAccepted writes the body of 202 and 200 answers,
// {"status","event_id","service","idempotency_key"}, by hand (package
// jsonx says why).
func writeAccepted(w http.ResponseWriter, status int, outcome, eventID, service, key string) {
	b := make([]byte, 0, 128+len(key))
	b = append(b, `{"status":"`...)
	b = append(b, outcome...) // a constant
	b = append(b, `","event_id":`...)
	b = jsonx.AppendString(b, eventID)
	b = append(b, `,"service":`...)
	b = jsonx.AppendString(b, service)
	b = append(b, `,"idempotency_key":`...)
	b = jsonx.AppendString(b, key)
	b = append(b, "}\n"...)
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// serve handles one webhook; each step is a row of the README's table "How
// a webhook is handled", and the first failing step answers.
func (in *Ingest) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name := r.PathValue("service")
	svc := in.Services[name]
	ev, err := in.receive(w, r, svc)
	if err != nil {
		if svc == nil {
			name = unknownService
		}
		in.reject(w, r, name, err)
		return
	}
	if ev == nil { // a handshake, already answered
		return
	}
	res, err := in.Accepter.Accept(r.Context(), []hookd.Submission{{Event: ev, Jobs: hookd.JobsFor(svc, ev.ID)}})
	if err != nil {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return // the client left; nothing was acknowledged
		}
		if hookd.ErrorCode(err) != hookd.EUnavailable {
			err = &hookd.Error{Code: hookd.EUnavailable, Message: "the event could not be stored; retry later", Err: err}
		}
		in.Metrics.outcome(name, "error", start)
		writeError(w, r, in.Logger, err)
		return
	}
	switch res[0].Outcome {
	case hookd.Accepted:
		in.Metrics.outcome(name, "accepted", start)
		in.Activity.accepted(AcceptedEvent{ID: res[0].EventID, Service: name, IdempotencyKey: ev.IdempotencyKey, ReceivedAt: ev.ReceivedAt})
		in.logStored(r, "webhook accepted", name, res[0].EventID, ev.IdempotencyKey)
		writeAccepted(w, http.StatusAccepted, "accepted", res[0].EventID, name, ev.IdempotencyKey)
	case hookd.Duplicate:
		in.Metrics.outcome(name, "duplicate", start)
		in.Activity.count(name, "duplicate", ev.ReceivedAt)
		in.logStored(r, "webhook duplicate", name, res[0].EventID, ev.IdempotencyKey)
		writeAccepted(w, http.StatusOK, "duplicate", res[0].EventID, name, ev.IdempotencyKey)
	default:
		// The event holding the key is named: the sender, or whoever
		// investigates, can compare the two payloads.
		in.Metrics.outcome(name, "conflict", start)
		err := hookd.Errorf(hookd.EIdempotencyKeyReused,
			"idempotency key %q was already used for a different payload, by event %s", ev.IdempotencyKey, res[0].EventID)
		rj := newRejection(r, name, err, in.Now())
		rj.EventID = res[0].EventID
		in.record(rj)
		writeProblem(w, r, in.Logger, err, res[0].EventID)
	}
}

// logStored writes the DEBUG line of a stored or duplicate webhook.
func (in *Ingest) logStored(r *http.Request, msg, service, eventID, key string) {
	if in.Logger.Enabled(r.Context(), slog.LevelDebug) { // spares the hot path the arguments
		in.Logger.Debug(msg, "service", service, "event_id", eventID, "idempotency_key", key)
	}
}

// maxDiagnoses bounds the signature diagnoses per second: each costs a few
// HMACs over the body, and refused requests are free to send. A body
// costs one more diagnosis per MiB.
const maxDiagnoses = 20

// reject records, counts, logs and answers a refused request.
func (in *Ingest) reject(w http.ResponseWriter, r *http.Request, service string, err error) {
	rj := newRejection(r, service, err, in.Now())
	if de, ok := errors.AsType[*diagnosedError](err); ok {
		rj.Diagnosis, rj.DiagnosisSkipped = de.diagnosis, de.diagnosis == nil
	}
	in.Metrics.reject(service, rj.Reason)
	in.record(rj)
	writeError(w, r, in.Logger, err)
}

// record keeps, counts and logs a refused request: a rejection, or a key
// reused for another payload (which the metrics count as an outcome).
func (in *Ingest) record(rj Rejection) {
	in.Rejections.Record(rj)
	in.Activity.count(rj.Service, "rejected", rj.Time)
	in.rejectLog.write(&rj, problems[rj.Code].status)
}

// diagnose adds the verifier's diagnosis to a refused signature, when the
// verifier has one for it and the rate allows.
func (in *Ingest) diagnose(v hookd.Verifier, req *hookd.Request, err error) error {
	d, ok := v.(verify.Diagnoser)
	if !ok || !(errors.Is(err, verify.ErrSignatureMismatch) || errors.Is(err, verify.ErrMalformedHeader) || errors.Is(err, verify.ErrMalformedBody)) {
		return err
	}
	de := &diagnosedError{err: err}
	if in.diagnoses.take(in.Now(), 1+float64(len(req.Body))/(1<<20)) {
		de.diagnosis = d.Diagnose(req)
	}
	return de
}

// diagnosedError is a verifier's refusal with its diagnosis (nil when it
// was skipped), for the rejection entry only.
type diagnosedError struct {
	err       error
	diagnosis *verify.Diagnosis
}

func (e *diagnosedError) Error() string { return e.err.Error() }
func (e *diagnosedError) Unwrap() error { return e.err }

// receive runs every step before storage and returns the event to store,
// nil and no error when the request was a handshake it answered itself.
func (in *Ingest) receive(w http.ResponseWriter, r *http.Request, svc *hookd.Service) (*hookd.Event, error) {
	if svc == nil {
		return nil, hookd.Errorf(hookd.EUnknownService, "no service is configured at %s", r.URL.Path)
	}
	if r.Method != http.MethodPost {
		return nil, hookd.Errorf(hookd.EMethodNotAllowed, "webhooks are sent with POST, not %s", r.Method)
	}
	body, err := readBody(w, r, svc.MaxBody)
	if err != nil {
		return nil, err
	}
	req := &hookd.Request{Header: r.Header, Body: body, URL: r.URL}
	if err := svc.Verifier.Verify(req); err != nil {
		return nil, in.diagnose(svc.Verifier, req, err)
	}
	if c, ok := svc.Verifier.(Challenger); ok {
		if challenge, ok := c.Challenge(body); ok {
			writeJSON(w, http.StatusOK, map[string]string{"challenge": challenge})
			return nil, nil
		}
	}
	key, err := IdempotencyKey(svc, r.Header, body)
	if err != nil {
		return nil, err
	}
	if err := checkPayload(svc, body); err != nil {
		return nil, err
	}
	header := r.Header
	if cb, ok := svc.Verifier.(CredentialBearer); ok {
		header = header.Clone()
		for _, name := range cb.CredentialHeaders() {
			header.Del(name)
		}
	}
	now := in.Now().UTC()
	sum := sha256.Sum256(body)
	ev := &hookd.Event{
		ID:             store.NewEventIDAt(now),
		Service:        svc.Name,
		IdempotencyKey: key,
		PayloadHash:    sum[:],
		Body:           body,
		Header:         header,
		ReceivedAt:     now,
		ExpiresAt:      now.Add(svc.IdempotencyTTL),
	}
	// Encoded here, in parallel, rather than on the store's single writer.
	ev.StoredHeader = store.EncodeHeader(header)
	return ev, nil
}

// readBody reads at most limit bytes; a declared or actual larger body
// (chunked included) is refused without reading it all.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	tooLarge := hookd.Errorf(hookd.EPayloadTooLarge, "the body is larger than this service's limit of %d bytes", limit)
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, tooLarge
	} else if err != nil {
		return nil, &hookd.Error{Code: hookd.EInvalid, Message: "the body could not be read", Err: err}
	}
	return body, nil
}

// IdempotencyKey is the idempotency key of a request to svc, taken from the
// first of svc.KeySources() that has one: what ingest stores the event
// under. A missing key has code EMissingIdempotencyKey.
func IdempotencyKey(svc *hookd.Service, h http.Header, body []byte) (string, error) {
	sources := svc.KeySources()
	var key string
	var form url.Values
	for _, s := range sources {
		switch s.From {
		case "header":
			key = h.Get(s.Name)
		case "json":
			if v := gjson.GetBytes(body, s.Name); v.Type == gjson.String || v.Type == gjson.Number {
				key = v.String()
			}
		case "form":
			if form == nil {
				form, _ = url.ParseQuery(string(body)) // a malformed body just has no key
			}
			key = form.Get(s.Name)
		}
		if key != "" {
			break
		}
	}
	switch {
	case key == "":
		return "", hookd.Errorf(hookd.EMissingIdempotencyKey, "no idempotency key found (looked in %s)", describe(sources))
	case len(key) > maxIdempotencyKey:
		return "", hookd.Errorf(hookd.EInvalidIdempotencyKey, "the idempotency key is %d bytes long; at most %d are allowed", len(key), maxIdempotencyKey)
	case !printable(key):
		return "", hookd.Errorf(hookd.EInvalidIdempotencyKey, "the idempotency key must be printable UTF-8 text")
	}
	return key, nil
}

func describe(sources []hookd.KeySource) string {
	var s string
	for i, src := range sources {
		if i > 0 {
			s += ", "
		}
		s += src.String()
	}
	return s
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// checkPayload validates what the service's actions will need from the
// body, so that a job never fails for want of it.
func checkPayload(svc *hookd.Service, body []byte) error {
	checkedJSON := false
	for _, a := range svc.Actions {
		if a.Type != hookd.ActionEmail {
			continue
		}
		if !checkedJSON && !gjson.ValidBytes(body) {
			return hookd.Errorf(hookd.EInvalidJSON, "the body must be JSON: this service sends an email to an address taken from it")
		}
		checkedJSON = true
		v := gjson.GetBytes(body, a.Email.Field)
		if !v.Exists() || v.Type == gjson.Null || v.String() == "" {
			return hookd.Errorf(hookd.EMissingField, "the field %q is required", a.Email.Field)
		}
		if v.Type != gjson.String || !hookd.ValidEmail(v.Str) {
			return hookd.Errorf(hookd.EInvalidEmail, "the field %q is not a valid email address", a.Email.Field)
		}
	}
	return nil
}
