package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookd/hookd"
)

// Admin serves the admin listener: health, readiness, metrics and the API.
type Admin struct {
	Store      hookd.Store
	Services   map[string]*hookd.Service
	Rejections *Rejections
	Gatherer   prometheus.Gatherer // Defaults to prometheus.DefaultGatherer.
	// Token guards /api/. Empty leaves the API open; configuration refuses
	// that on a non-loopback address.
	Token  string
	Logger *slog.Logger
}

// Handler returns the admin handler.
func (a *Admin) Handler() http.Handler {
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	if a.Gatherer == nil {
		a.Gatherer = prometheus.DefaultGatherer
	}
	if a.Rejections == nil {
		a.Rejections = NewRejections(0)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Gatherer, promhttp.HandlerOpts{}))
	api := http.NewServeMux()
	api.HandleFunc("GET /api/events", a.handle(a.listEvents))
	api.HandleFunc("GET /api/events/{id}", a.handle(a.getEvent))
	api.HandleFunc("POST /api/events/{id}/replay", a.handle(a.replay))
	api.HandleFunc("GET /api/jobs", a.handle(a.listJobs))
	api.HandleFunc("GET /api/rejections", a.handle(a.listRejections))
	// Profiles, for finding where a busy hookd spends its time; guarded
	// like the API, since they show internals.
	api.HandleFunc("GET /debug/pprof/", pprof.Index)
	api.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	api.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.Handle("/api/", a.authorize(api))
	mux.Handle("/debug/pprof/", a.authorize(api))
	return mux
}

func (a *Admin) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.Store.Ping(ctx); err != nil {
		writeError(w, r, a.Logger, &hookd.Error{Code: hookd.EUnavailable, Message: "the database does not answer", Err: err})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// authorize checks the bearer token in constant time.
func (a *Admin) authorize(next http.Handler) http.Handler {
	if a.Token == "" {
		return next
	}
	want := sha256.Sum256([]byte(a.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(token))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hookd admin"`)
			writeError(w, r, a.Logger, hookd.Errorf(hookd.EUnauthorized, "a valid admin token is required (Authorization: Bearer <token>)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handle adapts a handler that returns its answer or an error.
func (a *Admin) handle(fn func(r *http.Request) (int, any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, body, err := fn(r)
		if err != nil {
			writeError(w, r, a.Logger, err)
			return
		}
		writeJSON(w, status, body)
	}
}

// EventJSON is an event as the API and the CLI show it.
type EventJSON struct {
	ID             string      `json:"id"`
	Service        string      `json:"service"`
	IdempotencyKey string      `json:"idempotency_key"`
	ReceivedAt     time.Time   `json:"received_at"`
	Status         string      `json:"status"`
	Jobs           []JobJSON   `json:"jobs,omitempty"`
	Header         http.Header `json:"headers,omitempty"`
	Body           *string     `json:"body,omitempty"`
}

// JobJSON is a job as the API and the CLI show it.
type JobJSON struct {
	ID          int64  `json:"id"`
	EventID     string `json:"event_id"`
	Service     string `json:"service"`
	Action      string `json:"action"`
	State       string `json:"state"`
	Attempts    int    `json:"attempts"`
	MaxAttempts int    `json:"max_attempts"`
	LastError   string `json:"last_error"`
}

// NewEventJSON converts ev; detail adds its jobs, headers and body.
func NewEventJSON(ev *hookd.Event, detail bool) EventJSON {
	e := EventJSON{ID: ev.ID, Service: ev.Service, IdempotencyKey: ev.IdempotencyKey, ReceivedAt: ev.ReceivedAt, Status: string(ev.Status)}
	if detail {
		e.Jobs = []JobJSON{}
		for _, j := range ev.Jobs {
			e.Jobs = append(e.Jobs, NewJobJSON(j))
		}
		e.Header = ev.Header
		body := string(ev.Body)
		e.Body = &body
	}
	return e
}

// NewJobJSON converts j.
func NewJobJSON(j *hookd.Job) JobJSON {
	return JobJSON{ID: j.ID, EventID: j.EventID, Service: j.Service, Action: j.Action, State: string(j.State),
		Attempts: j.Attempts, MaxAttempts: j.MaxAttempts, LastError: j.LastError}
}

func limitParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 500 {
		return 0, hookd.Errorf(hookd.EInvalid, "limit: must be a whole number from 1 to 500")
	}
	return n, nil
}

func (a *Admin) listEvents(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		return 0, nil, err
	}
	status := hookd.EventStatus(q.Get("status"))
	switch status {
	case "", hookd.EventPending, hookd.EventSucceeded, hookd.EventFailed:
	default:
		return 0, nil, hookd.Errorf(hookd.EInvalid, "status: must be pending, succeeded or failed")
	}
	events, next, err := a.Store.Events(r.Context(), hookd.EventFilter{
		Service: q.Get("service"), Status: status, IdempotencyKey: q.Get("idempotency_key"),
		Limit: limit, Cursor: q.Get("cursor"),
	})
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Events     []EventJSON `json:"events"`
		NextCursor string      `json:"next_cursor,omitempty"`
	}{Events: []EventJSON{}, NextCursor: next}
	for _, ev := range events {
		out.Events = append(out.Events, NewEventJSON(ev, false))
	}
	return http.StatusOK, out, nil
}

func (a *Admin) getEvent(r *http.Request) (int, any, error) {
	ev, err := a.Store.Event(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, NewEventJSON(ev, true), nil
}

func (a *Admin) replay(r *http.Request) (int, any, error) {
	jobs, err := Replay(r.Context(), a.Store, a.Services, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, map[string]any{"status": "replaying", "event_id": r.PathValue("id"), "jobs": len(jobs)}, nil
}

// Replay enqueues an event's actions again (see hookd.ReplayJobs) and
// returns the jobs it enqueued.
func Replay(ctx context.Context, s hookd.Store, services map[string]*hookd.Service, id string) ([]hookd.NewJob, error) {
	ev, err := s.Event(ctx, id)
	if err != nil {
		return nil, err
	}
	svc := services[ev.Service]
	if svc == nil {
		return nil, hookd.Errorf(hookd.EConflict, "event %s belongs to service %q, which is no longer configured", id, ev.Service)
	}
	jobs, err := hookd.ReplayJobs(svc, ev)
	if err != nil {
		return nil, err
	}
	return jobs, s.Replay(ctx, id, jobs)
}

func (a *Admin) listJobs(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		return 0, nil, err
	}
	jobs, next, err := a.Store.Jobs(r.Context(), hookd.JobFilter{
		Service: q.Get("service"), State: hookd.JobState(q.Get("state")), Limit: limit, Cursor: q.Get("cursor"),
	})
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Jobs       []JobJSON `json:"jobs"`
		NextCursor string    `json:"next_cursor,omitempty"`
	}{Jobs: []JobJSON{}, NextCursor: next}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, NewJobJSON(j))
	}
	return http.StatusOK, out, nil
}

func (a *Admin) listRejections(r *http.Request) (int, any, error) {
	return http.StatusOK, map[string]any{"rejections": a.Rejections.List()}, nil
}
