// Package web is hookd's dashboard: server-rendered pages on the admin
// listener, signed in with the admin token. Templates and static files are
// embedded, so the single binary serves them; the pages read without
// JavaScript, and a little of it (static/app.js) adds the live tail, the
// copy button and progress updates.
//
// Everything a sender controls (bodies, headers, paths, keys) reaches the
// page through html/template, as escaped text.
package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/httpapi"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// BacklogFunc reports the delivery backlog: the work waiting (events in
// their outbox, jobs queued or waiting to retry), and since when the
// oldest of it waits; serve sums hookd.Backlog's counts.
type BacklogFunc func(ctx context.Context) (events int, oldest time.Time, err error)

// Dashboard serves the pages. Set the fields, then call Handler.
type Dashboard struct {
	Store      hookd.Store
	Services   map[string]*hookd.Service
	Rejections *httpapi.Rejections
	Activity   *httpapi.Activity
	Replays    *admin.Replays
	// Token is the admin token that signs in; empty leaves the pages open
	// (the admin listener is then loopback only).
	Token string
	// IngestURL is where senders reach hookd (http://host:port), for the
	// services' URLs and the curl lines.
	IngestURL string
	// Schemes names each service's signature scheme as configured; a
	// service missing from it is named after its verifier's type.
	Schemes map[string]string
	// Backlog, when set, feeds the overview's delivery backlog.
	Backlog BacklogFunc
	// RiverUI, when set, is River's own UI, served under /riverui/ behind
	// the same sign-in and linked from the navigation. It is started with
	// the dashboard and stopped by Close when it has Start(ctx).
	RiverUI http.Handler
	Logger  *slog.Logger
	Now     func() time.Time // Defaults to time.Now.

	pages    map[string]*template.Template
	sessions *sessions
	done     chan struct{}
	doneOnce sync.Once
	stopUI   context.CancelFunc
}

// sessionTTL is how long a sign-in lasts.
const sessionTTL = 12 * time.Hour

const cookieName = "hookd_session"

// maxSessions bounds the sessions kept: with no token, every client that
// keeps no cookie (a script polling a page) makes one. Past it, arbitrary
// ones are forgotten; their browsers sign in again.
const maxSessions = 10000

// Handler returns the dashboard's handler, for every path of the admin
// listener that the API does not take.
func (d *Dashboard) Handler() http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rejections == nil {
		d.Rejections = httpapi.NewRejections(0)
	}
	if d.Activity == nil {
		d.Activity = httpapi.NewActivity()
	}
	if d.Replays == nil {
		d.Replays = admin.NewReplays(d.Store, d.Services)
	}
	d.pages = parsePages()
	d.sessions = &sessions{m: map[string]*session{}}
	d.done = make(chan struct{})

	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /signin", d.signinForm)
	mux.HandleFunc("POST /signin", d.signin)
	mux.Handle("POST /signout", d.guard(d.signout))
	mux.Handle("GET /{$}", d.guard(d.overview))
	mux.Handle("GET /events", d.guard(d.events))
	mux.Handle("GET /events/tail", d.guard(d.tail))
	mux.Handle("GET /events/{id}", d.guard(d.event))
	mux.Handle("POST /events/{id}/replay", d.guard(d.replay))
	mux.Handle("GET /dead-letters", d.guard(d.deadLetters))
	mux.Handle("POST /dead-letters/replay", d.guard(d.bulkReplay))
	mux.Handle("GET /replays/{id}", d.guard(d.replayProgress))
	mux.Handle("GET /rejections", d.guard(d.rejections))
	mux.Handle("GET /services", d.guard(d.services))
	mux.Handle("/", d.guard(func(w http.ResponseWriter, r *http.Request, s *session) {
		d.fail(w, r, s, hookd.Errorf(hookd.ENotFound, "there is no page at this address"))
	}))
	if d.RiverUI == nil {
		return securityHeaders(mux, csp)
	}
	if ui, ok := d.RiverUI.(interface{ Start(context.Context) error }); ok {
		ctx, cancel := context.WithCancel(context.Background())
		d.stopUI = cancel
		if err := ui.Start(ctx); err != nil {
			d.Logger.Error("River UI did not start", "err", err)
		}
	}
	outer := http.NewServeMux()
	outer.Handle("/", securityHeaders(mux, csp))
	// River's UI calls its JSON API with fetch, so it cannot carry the
	// forms' CSRF field: the session cookie (SameSite=Strict) and Go's
	// cross-origin protection (Sec-Fetch-Site, Origin) stand for it.
	outer.Handle("/riverui/", securityHeaders(d.signedIn(http.NewCrossOriginProtection().Handler(d.RiverUI)), riverUICSP))
	return outer
}

// Close ends the live tails, so that a graceful shutdown need not wait
// for the browsers watching them.
func (d *Dashboard) Close() {
	if d.done != nil {
		d.doneOnce.Do(func() {
			close(d.done)
			if d.stopUI != nil {
				d.stopUI()
			}
		})
	}
}

// csp lets the pages load only their own script, styles and images: no
// inline script, so an escaped body that slipped through could not run.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// riverUICSP is River UI's: its own scripts, and the inline styles its
// components set.
const riverUICSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(next http.Handler, policy string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// session is one signed-in browser. Sessions are random IDs kept in
// memory: the cookie never holds the token, and a restart signs every
// browser out.
type session struct {
	csrf    string
	expires time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func (ss *sessions) create(now time.Time) (string, *session) {
	id := rand.Text() + rand.Text()
	s := &session{csrf: rand.Text(), expires: now.Add(sessionTTL)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, old := range ss.m { // forget expired sessions as new ones come
		if now.After(old.expires) || len(ss.m) >= maxSessions {
			delete(ss.m, k)
		}
	}
	ss.m[id] = s
	return id, s
}

func (ss *sessions) get(id string, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil || now.After(s.expires) {
		return nil
	}
	return s
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

func (d *Dashboard) setCookie(w http.ResponseWriter, r *http.Request, id string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: id, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

// guard runs h for a signed-in browser, checking the CSRF token of every
// POST. Signed out, a page redirects to the sign-in form; with no token
// configured, every browser gets a session at once.
func (d *Dashboard) guard(h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := d.session(w, r)
		if s == nil {
			return
		}
		if r.Method == http.MethodPost {
			got := r.PostFormValue("csrf")
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
				http.Error(w, "Forbidden: the form's CSRF token is missing or wrong; reload the page and try again.", http.StatusForbidden)
				return
			}
		}
		h(w, r, s)
	})
}

// session returns the browser's session, or answers (a redirect to the
// sign-in form, or 403) and returns nil.
func (d *Dashboard) session(w http.ResponseWriter, r *http.Request) *session {
	var s *session
	if c, err := r.Cookie(cookieName); err == nil {
		s = d.sessions.get(c.Value, d.Now())
	}
	if s == nil && r.Method == http.MethodGet {
		if d.Token == "" {
			var id string
			id, s = d.sessions.create(d.Now())
			d.setCookie(w, r, id, int(sessionTTL/time.Second))
		} else {
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil
		}
	}
	if s == nil {
		http.Error(w, "Forbidden: sign in first.", http.StatusForbidden)
	}
	return s
}

// signedIn runs h for a signed-in browser; h checks its own requests.
func (d *Dashboard) signedIn(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.session(w, r) != nil {
			h.ServeHTTP(w, r)
		}
	})
}

func (d *Dashboard) signinForm(w http.ResponseWriter, r *http.Request) {
	if d.Token == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	d.render(w, r, http.StatusOK, "signin", nil, map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

func (d *Dashboard) signin(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	if d.Token == "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	got, want := sha256.Sum256([]byte(r.PostFormValue("token"))), sha256.Sum256([]byte(d.Token))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		d.Logger.Warn("dashboard sign-in with a wrong token", "remote", r.RemoteAddr)
		d.render(w, r, http.StatusUnauthorized, "signin", nil, map[string]any{
			"Next": next, "Error": "That is not the admin token (admin.token or HOOKD_ADMIN_TOKEN).",
		})
		return
	}
	id, _ := d.sessions.create(d.Now())
	d.setCookie(w, r, id, int(sessionTTL/time.Second))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (d *Dashboard) signout(w http.ResponseWriter, r *http.Request, _ *session) {
	if c, err := r.Cookie(cookieName); err == nil {
		d.sessions.delete(c.Value)
	}
	d.setCookie(w, r, "", -1)
	target := "/signin"
	if d.Token == "" {
		target = "/"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.IsAbs() || u.Host != "" || len(next) < 1 || next[0] != '/' || (len(next) > 1 && (next[1] == '/' || next[1] == '\\')) {
		return "/"
	}
	return next
}
