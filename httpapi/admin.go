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
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/admin"
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

	// readyUntil is when the last successful heartbeat stops vouching for
	// readiness (see readyz).
	readyMu    sync.Mutex
	readyUntil time.Time
}

// readyFor is how long a successful heartbeat answers /readyz: a storm of
// probes writes at most once per interval. Failures are not remembered,
// so a database that recovers is ready at the next probe.
const readyFor = time.Second

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

// readyz answers 200 when the database can commit a write (a heartbeat),
// not only answer: a full disk answers pings and takes no webhook. The
// heartbeat's lock serialises probes, so concurrent ones share a write.
func (a *Admin) readyz(w http.ResponseWriter, r *http.Request) {
	a.readyMu.Lock()
	defer a.readyMu.Unlock()
	if time.Now().Before(a.readyUntil) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.Store.Heartbeat(ctx); err != nil {
		if hookd.ErrorCode(err) != hookd.EUnavailable {
			err = &hookd.Error{Code: hookd.EUnavailable, Message: "the database cannot commit a write", Err: err}
		}
		writeError(w, r, a.Logger, err)
		return
	}
	a.readyUntil = time.Now().Add(readyFor)
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

// timeParam reads an RFC 3339 time from the query ("" is the zero time).
func timeParam(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, hookd.Errorf(hookd.EInvalid, "%s: must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
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
	since, err := timeParam(r, "since")
	if err != nil {
		return 0, nil, err
	}
	until, err := timeParam(r, "until")
	if err != nil {
		return 0, nil, err
	}
	events, next, err := a.Store.Events(r.Context(), hookd.EventFilter{
		Service: q.Get("service"), Status: status, IdempotencyKey: q.Get("idempotency_key"),
		Since: since, Until: until, Limit: limit, Cursor: q.Get("cursor"),
	})
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Events     []admin.EventJSON `json:"events"`
		NextCursor string            `json:"next_cursor,omitempty"`
	}{Events: []admin.EventJSON{}, NextCursor: next}
	for _, ev := range events {
		out.Events = append(out.Events, admin.NewEventJSON(ev, false))
	}
	return http.StatusOK, out, nil
}

func (a *Admin) getEvent(r *http.Request) (int, any, error) {
	ev, err := a.Store.Event(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, admin.NewEventJSON(ev, true), nil
}

func (a *Admin) replay(r *http.Request) (int, any, error) {
	plan, err := admin.Replay(r.Context(), a.Store, a.Services, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, map[string]any{"status": "replaying", "event_id": r.PathValue("id"),
		"jobs": len(plan.Jobs), "retrying_now": len(plan.RetryNow), "actions": plan.Actions}, nil
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
		Jobs       []admin.JobJSON `json:"jobs"`
		NextCursor string          `json:"next_cursor,omitempty"`
	}{Jobs: []admin.JobJSON{}, NextCursor: next}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, admin.NewJobJSON(j))
	}
	return http.StatusOK, out, nil
}

func (a *Admin) listRejections(r *http.Request) (int, any, error) {
	return http.StatusOK, map[string]any{"rejections": a.Rejections.List()}, nil
}
