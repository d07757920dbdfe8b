package web

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/signing"
)

var pageNames = []string{"signin", "overview", "events", "event", "deadletters", "confirm", "replay", "rejections", "services", "error"}

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"join": strings.Join,
	// An attempt's start, to the millisecond: attempts come close together.
	"stamp": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05.000Z")
	},
	"duration": admin.Duration,
}

func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

// render writes page with the layout around it.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, page string, s *session, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["Page"] = page
	data["Open"] = d.Token == ""
	data["RiverUI"] = d.RiverUI != nil
	if s != nil {
		data["CSRF"] = s.csrf
		data["SignedIn"] = true
	}
	var buf bytes.Buffer
	if err := d.pages[page].Execute(&buf, data); err != nil {
		d.Logger.Error("dashboard: rendering a page failed", "page", page, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows err as a page, with the status the API would answer.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status := http.StatusInternalServerError
	msg := "something went wrong; the log says what"
	switch hookd.ErrorCode(err) {
	case hookd.ENotFound:
		status, msg = http.StatusNotFound, hookd.ErrorMessage(err)
	case hookd.EInvalid:
		status, msg = http.StatusBadRequest, hookd.ErrorMessage(err)
	case hookd.EConflict:
		status, msg = http.StatusConflict, hookd.ErrorMessage(err)
	case hookd.EUnavailable:
		status, msg = http.StatusServiceUnavailable, hookd.ErrorMessage(err)
	default:
		d.Logger.Error("dashboard", "path", r.URL.Path, "err", err)
	}
	d.render(w, r, status, "error", s, map[string]any{"Title": http.StatusText(status), "Message": msg})
}

// serviceNames returns the configured services' names, sorted.
func (d *Dashboard) serviceNames() []string {
	return slices.Sorted(maps.Keys(d.Services))
}

// chart is one service's last hour as an inline SVG's bars.
type chart struct {
	Service                       string
	Accepted, Duplicate, Rejected int
	Bars                          []bar
}

type bar struct {
	X                                  int
	AccY, AccH, DupY, DupH, RejY, RejH int
	Label                              string
}

const chartHeight = 60

func makeChart(service string, minutes []httpapi.Counts, now time.Time) chart {
	c := chart{Service: service}
	peak := 1
	for _, m := range minutes {
		c.Accepted += m.Accepted
		c.Duplicate += m.Duplicate
		c.Rejected += m.Rejected
		peak = max(peak, m.Accepted+m.Duplicate+m.Rejected)
	}
	scale := func(n int) int {
		if n == 0 {
			return 0
		}
		return max(1, n*chartHeight/peak)
	}
	for i, m := range minutes {
		if m == (httpapi.Counts{}) {
			continue
		}
		b := bar{X: i * 5, Label: fmt.Sprintf("%d min ago: %d accepted, %d duplicate, %d rejected",
			len(minutes)-1-i, m.Accepted, m.Duplicate, m.Rejected)}
		y := chartHeight
		b.AccH = scale(m.Accepted)
		y -= b.AccH
		b.AccY = y
		b.DupH = scale(m.Duplicate)
		y -= b.DupH
		b.DupY = y
		b.RejH = scale(m.Rejected)
		y -= b.RejH
		b.RejY = y
		c.Bars = append(c.Bars, b)
	}
	return c
}

// countCap bounds the rows counted for the overview.
const countCap = 10000

func (d *Dashboard) countJobs(r *http.Request, state hookd.JobState) (int, []*hookd.Job, error) {
	var n int
	var first []*hookd.Job
	cursor := ""
	for n < countCap {
		jobs, next, err := d.Store.Jobs(r.Context(), hookd.JobFilter{State: state, Limit: 500, Cursor: cursor})
		if err != nil {
			return 0, nil, err
		}
		if first == nil {
			first = jobs
		}
		n += len(jobs)
		if next == "" {
			break
		}
		cursor = next
	}
	return n, first, nil
}

// failing is a destination failing now: an action of a service with jobs
// waiting to retry.
type failing struct {
	Service, Action string
	Jobs            int
	LastError       string
	EventID         string
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, s *session) {
	now := d.Now()
	hour := d.Activity.LastHour(now)
	var charts []chart
	for _, name := range d.serviceNames() {
		minutes := hour[name]
		if minutes == nil {
			minutes = make([]httpapi.Counts, 60)
		}
		charts = append(charts, makeChart(name, minutes, now))
	}
	dead, _, err := d.countJobs(r, hookd.JobFailed)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	retrying, jobs, err := d.countJobs(r, hookd.JobRetrying)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	byDest := map[string]*failing{}
	var fails []*failing
	for _, j := range jobs { // newest first: the first seen has the latest error
		k := j.Service + "\x00" + j.Action
		if f := byDest[k]; f != nil {
			f.Jobs++
			continue
		}
		f := &failing{Service: j.Service, Action: j.Action, Jobs: 1, LastError: j.LastError, EventID: j.EventID}
		byDest[k] = f
		fails = append(fails, f)
	}
	data := map[string]any{"Title": "Overview", "Charts": charts, "DeadLetters": dead, "Retrying": retrying,
		"Failing": fails, "CountCap": countCap}
	if d.Backlog != nil {
		n, oldest, err := d.Backlog(r.Context())
		if err != nil {
			d.fail(w, r, s, err)
			return
		}
		data["Backlog"] = map[string]any{"Events": n, "Oldest": oldest, "Age": ageOf(now, oldest)}
	}
	d.render(w, r, http.StatusOK, "overview", s, data)
}

func ageOf(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return now.Sub(t).Round(time.Second).String()
}

// formTime is the format of datetime-local inputs, read as UTC.
const formTime = "2006-01-02T15:04"

func parseFormTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{formTime, "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, hookd.Errorf(hookd.EInvalid, "%s: %q is not a time like 2026-01-31T14:05 (UTC)", field, v)
}

func (d *Dashboard) events(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	status := hookd.EventStatus(q.Get("status"))
	if !admin.ValidEventStatus(status) {
		d.fail(w, r, s, hookd.Errorf(hookd.EInvalid, "status: must be pending, succeeded or failed"))
		return
	}
	since, err := parseFormTime("since", q.Get("since"))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	until, err := parseFormTime("until", q.Get("until"))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	events, next, err := d.Store.Events(r.Context(), hookd.EventFilter{
		Service: q.Get("service"), Status: status, IdempotencyKey: q.Get("key"), Since: since, Until: until,
		Limit: 50, Cursor: q.Get("cursor"),
	})
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	nextURL := ""
	if next != "" {
		nq := r.URL.Query()
		nq.Set("cursor", next)
		nextURL = "/events?" + nq.Encode()
	}
	// New events are pending and recent: the tail is for the first page
	// of a filter they can match.
	tail := ""
	if q.Get("cursor") == "" && (status == "" || status == hookd.EventPending) && until.IsZero() {
		tq := r.URL.Query()
		tq.Del("status")
		tq.Del("since")
		tail = "/events/tail?" + tq.Encode()
	}
	d.render(w, r, http.StatusOK, "events", s, map[string]any{
		"Title": "Events", "Events": events, "Next": nextURL, "Tail": tail, "Services": d.serviceNames(),
		"Q": map[string]string{"service": q.Get("service"), "status": string(status), "key": q.Get("key"),
			"since": q.Get("since"), "until": q.Get("until")},
	})
}

// tailKeepAlive is how often an idle tail sends a comment, so proxies and
// browsers keep the stream open.
const tailKeepAlive = 15 * time.Second

// tail streams newly accepted events as server-sent events.
func (d *Dashboard) tail(w http.ResponseWriter, r *http.Request, s *session) {
	service, key := r.URL.Query().Get("service"), r.URL.Query().Get("key")
	rc := http.NewResponseController(w)
	// The admin server's write timeout is for pages, not for a stream.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	events, stop := d.Activity.Watch()
	defer stop()
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, "retry: 1000\n: watching\n\n")
	if rc.Flush() != nil {
		return
	}
	keepAlive := time.NewTicker(tailKeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-d.done:
			return
		case <-keepAlive.C:
			_, _ = fmt.Fprint(w, ": still here\n\n")
		case ev := <-events:
			if (service != "" && ev.Service != service) || (key != "" && ev.IdempotencyKey != key) {
				continue
			}
			b, _ := json.Marshal(ev)
			_, _ = fmt.Fprintf(w, "event: accepted\ndata: %s\n\n", b)
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// prettyBody is the body as shown: indented when it is JSON, as received
// otherwise (the template escapes it either way).
func prettyBody(body []byte) (string, bool) {
	if json.Valid(body) {
		var buf bytes.Buffer
		if json.Indent(&buf, body, "", "  ") == nil {
			return buf.String(), true
		}
	}
	return strings.ToValidUTF8(string(body), "\uFFFD"), false
}

type header struct{ Name, Value string }

func (d *Dashboard) event(w http.ResponseWriter, r *http.Request, s *session) {
	ev, err := d.Store.Event(r.Context(), r.PathValue("id"))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	var headers []header
	for _, name := range slices.Sorted(maps.Keys(ev.Header)) {
		for _, v := range ev.Header[name] {
			headers = append(headers, header{name, v})
		}
	}
	body, isJSON := prettyBody(ev.Body)
	attempts := 0
	for _, j := range ev.Jobs {
		attempts += len(j.History)
	}
	data := map[string]any{"Title": "Event " + ev.ID, "Event": ev, "Headers": headers, "Body": body, "JSON": isJSON,
		"Attempts": attempts, "Replayed": r.URL.Query().Get("replayed") != ""}
	if svc := d.Services[ev.Service]; svc != nil && d.IngestURL != "" {
		if req, err := signing.Resend(svc, d.IngestURL, ev.Body, ev.Header, d.Now()); err == nil {
			data["Curl"] = req.Curl("")
		}
	}
	d.render(w, r, http.StatusOK, "event", s, data)
}

func (d *Dashboard) replay(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if _, err := admin.Replay(r.Context(), d.Store, d.Services, id); err != nil {
		d.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/events/"+id+"?replayed=1", http.StatusSeeOther)
}

// deadGroup counts the dead letters of one service and action.
type deadGroup struct {
	Service, Action string
	Jobs            int
}

func (d *Dashboard) deadLetters(w http.ResponseWriter, r *http.Request, s *session) {
	n, jobs, err := d.countJobs(r, hookd.JobFailed)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	groups := map[string]*deadGroup{}
	for _, j := range jobs {
		k := j.Service + "\x00" + j.Action
		if groups[k] == nil {
			groups[k] = &deadGroup{Service: j.Service, Action: j.Action}
		}
		groups[k].Jobs++
	}
	list := slices.SortedFunc(maps.Values(groups), func(a, b *deadGroup) int {
		return strings.Compare(a.Service+"\x00"+a.Action, b.Service+"\x00"+b.Action)
	})
	d.render(w, r, http.StatusOK, "deadletters", s, map[string]any{
		"Title": "Dead letters", "Total": n, "Groups": list, "Jobs": jobs, "Services": d.serviceNames(),
	})
}

// filterFrom reads a bulk replay's filter from a form.
func filterFrom(r *http.Request) (admin.ReplayFilter, error) {
	f := admin.ReplayFilter{Service: r.PostFormValue("service"), Action: r.PostFormValue("action"), Status: string(hookd.EventFailed)}
	var err error
	if f.Since, err = parseFormTime("since", r.PostFormValue("since")); err != nil {
		return f, err
	}
	f.Until, err = parseFormTime("until", r.PostFormValue("until"))
	return f, err
}

// bulkReplay shows first how many events the filter selects (a dry run),
// and replays them once the operator confirms.
func (d *Dashboard) bulkReplay(w http.ResponseWriter, r *http.Request, s *session) {
	f, err := filterFrom(r)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	if r.PostFormValue("confirm") == "" {
		n, err := d.Replays.Count(r.Context(), f)
		if err != nil {
			d.fail(w, r, s, err)
			return
		}
		d.render(w, r, http.StatusOK, "confirm", s, map[string]any{"Title": "Replay dead letters", "Count": n,
			"Form": map[string]string{"service": r.PostFormValue("service"), "action": r.PostFormValue("action"),
				"since": r.PostFormValue("since"), "until": r.PostFormValue("until")}})
		return
	}
	run, err := d.Replays.Start(r.Context(), f)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/replays/"+run.ID, http.StatusSeeOther)
}

func (d *Dashboard) replayProgress(w http.ResponseWriter, r *http.Request, s *session) {
	run, ok := d.Replays.Get(r.PathValue("id"))
	if !ok {
		d.fail(w, r, s, hookd.Errorf(hookd.ENotFound, "no bulk replay with this ID (progress is kept in memory until a restart)"))
		return
	}
	d.render(w, r, http.StatusOK, "replay", s, map[string]any{"Title": "Bulk replay", "Run": run})
}

func (d *Dashboard) rejections(w http.ResponseWriter, r *http.Request, s *session) {
	list := d.Rejections.List()
	d.render(w, r, http.StatusOK, "rejections", s, map[string]any{"Title": "Rejections", "Rejections": list})
}

// serviceView is a service as the services page shows it: no secret.
type serviceView struct {
	Name, URL, Scheme string
	KeySources        []string
	MaxBody           int64
	IdempotencyTTL    time.Duration
	Retention         time.Duration
	KeepFailed        bool
	Actions           []actionView
}

type actionView struct {
	Type, Target           string
	MaxAttempts            int
	BackoffMin, BackoffMax time.Duration
}

func (d *Dashboard) services(w http.ResponseWriter, r *http.Request, s *session) {
	var list []serviceView
	for _, name := range d.serviceNames() {
		svc := d.Services[name]
		v := serviceView{Name: name, URL: d.IngestURL + "/webhooks/" + name, Scheme: cmp.Or(d.Schemes[name], schemeOf(svc.Verifier)),
			MaxBody: svc.MaxBody, IdempotencyTTL: svc.IdempotencyTTL, Retention: svc.Retention.Keep, KeepFailed: !svc.Retention.DeleteFailed}
		for _, k := range svc.KeySources() {
			v.KeySources = append(v.KeySources, k.String())
		}
		for _, a := range svc.Actions {
			av := actionView{Type: a.Type, MaxAttempts: a.MaxAttempts, BackoffMin: a.Backoff.Min, BackoffMax: a.Backoff.Max}
			switch {
			case a.Forward != nil:
				av.Target = redactURL(a.Forward.URL)
			case a.Email != nil:
				av.Target = "to the address in " + a.Email.Field + ", template " + a.Email.Template
			}
			v.Actions = append(v.Actions, av)
		}
		list = append(list, v)
	}
	d.render(w, r, http.StatusOK, "services", s, map[string]any{"Title": "Services", "Services": list})
}

// schemeOf names a verifier's scheme after its type (*verify.Stripe is
// "stripe").
func schemeOf(v hookd.Verifier) string {
	name := fmt.Sprintf("%T", v)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return strings.ToLower(name)
}

// redactURL hides a password in a destination URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
