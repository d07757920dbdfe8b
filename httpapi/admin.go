package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
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
	// Replays runs bulk replays (POST /api/replays); nil makes one.
	Replays *admin.Replays
	// Dashboard, when set, serves every other path: the web pages at /.
	Dashboard http.Handler

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
	if a.Replays == nil {
		a.Replays = admin.NewReplays(a.Store, a.Services)
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
	api.HandleFunc("POST /api/replays", a.handle(a.startReplay))
	api.HandleFunc("GET /api/replays/{id}", a.handle(a.getReplay))
	// Profiles, for finding where a busy hookd spends its time; guarded
	// like the API, since they show internals.
	api.HandleFunc("GET /debug/pprof/", pprof.Index)
	api.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	api.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.Handle("/api/", a.authorize(api))
	mux.Handle("/debug/pprof/", a.authorize(api))
	if a.Dashboard != nil {
		mux.Handle("/", a.Dashboard)
	}
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

func (a *Admin) listEvents(r *http.Request) (int, any, error) {
	f, err := admin.ParseEventFilter(r.URL.Query())
	if err != nil {
		return 0, nil, err
	}
	events, next, err := a.Store.Events(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, admin.NewEventList(events, next), nil
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
	limit, err := admin.ParseLimit(q)
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

// replayRequest is the body of POST /api/replays.
type replayRequest struct {
	admin.ReplayFilter
	DryRun bool `json:"dry_run"`
}

// startReplay answers a dry run with the count of events the filter
// selects, else starts a bulk replay and answers 202 with its progress.
func (a *Admin) startReplay(r *http.Request) (int, any, error) {
	var req replayRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return 0, nil, hookd.Errorf(hookd.EInvalid, "the body must be a JSON object with service, status, action, since, until (RFC 3339) and dry_run: %v", err)
	}
	if req.DryRun {
		n, err := a.Replays.Count(r.Context(), req.ReplayFilter)
		if err != nil {
			return 0, nil, err
		}
		_ = req.ReplayFilter.Validate(a.Services) // fills in the default status shown
		return http.StatusOK, map[string]any{"dry_run": true, "events": n, "filter": req.ReplayFilter}, nil
	}
	run, err := a.Replays.Start(r.Context(), req.ReplayFilter)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, run, nil
}

func (a *Admin) getReplay(r *http.Request) (int, any, error) {
	run, ok := a.Replays.Get(r.PathValue("id"))
	if !ok {
		return 0, nil, hookd.Errorf(hookd.ENotFound, "no bulk replay %q (progress is kept in memory until a restart)", r.PathValue("id"))
	}
	return http.StatusOK, run, nil
}
