package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dashboardConfig has a forward destination that retries for an hour
// (shop), one that gives up at the first failure (bulk: dead letters at
// once), and a service without work (plain).
const dashboardConfig = `
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0, token: %q}
database: %q
workers: {poll_interval: 50ms, fetch_cooldown: 5ms}
services:
  shop:
    verify: {secrets: [secret-shop-0123456789abcdef]}
    actions:
      - forward: {url: %q, max_attempts: 3, backoff: {min: 1h, max: 1h}}
  bulk:
    verify: {secrets: [secret-bulk-0123456789abcdef]}
    actions:
      - forward: {url: %q, max_attempts: 1}
  plain:
    verify: {secrets: [secret-plain-0123456789abcdef]}
    actions: [noop]
`

const dashboardToken = "admin-token-for-dashboard-tests"

// startDashboard runs hookd with dashboardConfig; shop forwards to shop,
// bulk to bulk. An empty token leaves the admin listener open.
func startDashboard(t *testing.T, database, token string, shop, bulk *sink) *testBundle {
	t.Helper()
	yaml := fmt.Sprintf(dashboardConfig, token, database, shop.URL, bulk.URL)
	if token == "" {
		yaml = strings.Replace(yaml, `, token: ""`, "", 1)
	}
	return &testBundle{main: runMain(t, yaml, roleAll), token: token}
}

// apiBody calls the admin API with the token and a JSON body.
func (b *testBundle) apiBody(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, "http://"+b.main.AdminAddr+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "application/json")
	return doJSON(t, req)
}

// deadLetters sends n events to bulk and waits until each failed.
func (b *testBundle) deadLetters(t *testing.T, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		status, body := b.send(t, "bulk", fmt.Sprintf(`{"idempotency_key":"%s-%d"}`, prefix, i))
		if status != http.StatusAccepted {
			t.Fatalf("send: %d %v", status, body)
		}
		ids = append(ids, body["event_id"].(string))
	}
	for _, id := range ids {
		b.waitStatus(t, id, "failed")
	}
	return ids
}

// A bulk replay counts first (changing nothing), then replays each
// selected event exactly once more.
func TestBulkReplayThroughTheAPI(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		shop, bulk := newSink(t, http.StatusNoContent), newSink(t, http.StatusServiceUnavailable)
		b := startDashboard(t, database, dashboardToken, shop, bulk)
		ids := b.deadLetters(t, "bulk", 3)
		if status, body := b.send(t, "plain", `{"idempotency_key":"p1"}`); status != http.StatusAccepted {
			t.Fatalf("send plain: %d %v", status, body)
		}
		hits := bulk.hits.Load()

		status, body := b.apiBody(t, "POST", "/api/replays", map[string]any{"service": "bulk", "dry_run": true})
		if status != http.StatusOK || body["events"] != float64(3) {
			t.Fatalf("dry run: %d %v; want 200 and 3 events", status, body)
		}
		if status, body := b.apiBody(t, "POST", "/api/replays", map[string]any{"dry_run": true, "action": "forward"}); status != http.StatusOK || body["events"] != float64(3) {
			t.Fatalf("dry run by action: %d %v; want 3 events", status, body)
		}
		if status, body := b.apiBody(t, "POST", "/api/replays", map[string]any{"dry_run": true, "service": "bulk", "since": time.Now().Add(time.Hour)}); status != http.StatusOK || body["events"] != float64(0) {
			t.Fatalf("dry run since an hour ahead: %d %v; want 0 events", status, body)
		}
		for _, bad := range []map[string]any{{"status": "lost"}, {"service": "nope"}, {"action": "fax"}, {"colour": "red"}} {
			if status, body := b.apiBody(t, "POST", "/api/replays", bad); status != http.StatusBadRequest {
				t.Errorf("filter %v: %d %v; want 400", bad, status, body)
			}
		}
		for _, id := range ids {
			if ev := b.event(t, id); ev["status"] != "failed" || len(ev["jobs"].([]any)) != 1 {
				t.Fatalf("after the dry runs, event %s = %v; want it failed with its one job", id, ev)
			}
		}
		if bulk.hits.Load() != hits {
			t.Fatalf("a dry run sent requests")
		}

		bulk.status.Store(http.StatusNoContent)
		status, body = b.apiBody(t, "POST", "/api/replays", map[string]any{"service": "bulk"})
		if status != http.StatusAccepted || body["total"] != float64(3) || body["id"] == nil {
			t.Fatalf("replay: %d %v; want 202 with an id and a total of 3", status, body)
		}
		id := body["id"].(string)
		waitFor(t, 15*time.Second, "the bulk replay to finish", func() bool {
			_, body = b.api(t, "GET", "/api/replays/"+id)
			return body["done"] == true
		})
		if body["replayed"] != float64(3) || body["failed"] != float64(0) {
			t.Fatalf("progress %v; want 3 replayed, none failed", body)
		}
		for _, id := range ids {
			b.waitStatus(t, id, "succeeded")
		}
		if got := bulk.hits.Load(); got != hits+3 {
			t.Errorf("the destination got %d requests after the replay; want exactly one per event, 3", got-hits)
		}
		if status, body := b.apiBody(t, "POST", "/api/replays", map[string]any{"service": "bulk", "dry_run": true}); body["events"] != float64(0) {
			t.Errorf("dry run after the replay: %d %v; want 0", status, body)
		}
		if status, body := b.api(t, "GET", "/api/replays/rpl_nope"); status != http.StatusNotFound {
			t.Errorf("unknown replay: %d %v", status, body)
		}
		req, _ := http.NewRequest("POST", "http://"+b.main.AdminAddr+"/api/replays", strings.NewReader(`{"dry_run":true}`))
		if status, _ := doJSON(t, req); status != http.StatusUnauthorized {
			t.Errorf("POST /api/replays without the token: %d, want 401", status)
		}
	})
}

// browserClient is an HTTP client that keeps cookies and does not follow
// redirects, so a test sees each answer.
func browserClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func fetchPage(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// Sign-in with the token, a session cookie that is not the token, CSRF on
// every form, sign-out.
func TestDashboardSignInAndCSRF(t *testing.T) {
	t.Parallel()
	shop, bulk := newSink(t, http.StatusNoContent), newSink(t, http.StatusNoContent)
	b := startDashboard(t, "sqlite:"+filepath.Join(t.TempDir(), "hookd.db"), dashboardToken, shop, bulk)
	base := "http://" + b.main.AdminAddr
	c := browserClient(t)

	resp, _ := fetchPage(t, c, "GET", base+"/events", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next=%2Fevents" {
		t.Fatalf("signed out GET /events: %d %q; want 303 to the sign-in form", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := fetchPage(t, c, "POST", base+"/signin", url.Values{"token": {"wrong-token"}, "next": {"/events"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "not the admin token") || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: %d, cookies %v; want 401, no cookie, and a message", resp.StatusCode, resp.Cookies())
	}
	resp, _ = fetchPage(t, c, "POST", base+"/signin", url.Values{"token": {dashboardToken}, "next": {"//evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign-in: %d to %q; want 303 to / (never off the site)", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || strings.Contains(cookies[0].Value, dashboardToken) {
		t.Fatalf("session cookie %+v; want one, HttpOnly, SameSite=Strict, without the token", cookies)
	}
	resp, page = fetchPage(t, c, "GET", base+"/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<h1>Overview</h1>") {
		t.Fatalf("signed in GET /: %d %s", resp.StatusCode, page)
	}
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the overview has no CSRF field in its sign-out form")
	}
	csrf := m[1]

	status, ev := b.send(t, "shop", `{"idempotency_key":"csrf-1"}`)
	if status != http.StatusAccepted {
		t.Fatalf("send: %d %v", status, ev)
	}
	b.waitStatus(t, ev["event_id"].(string), "succeeded") // so that a replay has work to do
	replay := base + "/events/" + ev["event_id"].(string) + "/replay"
	for name, form := range map[string]url.Values{"no token": {}, "a wrong token": {"csrf": {csrf + "x"}}} {
		resp, _ := fetchPage(t, c, "POST", replay, form)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("replay with %s: %d, want 403", name, resp.StatusCode)
		}
	}
	// Without the session cookie the right CSRF token is no use either.
	resp, _ = fetchPage(t, &http.Client{CheckRedirect: c.CheckRedirect}, "POST", replay, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("replay without a session: %d, want 403", resp.StatusCode)
	}
	resp, _ = fetchPage(t, c, "POST", replay, url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("replay with the CSRF token: %d, want 303", resp.StatusCode)
	}

	// River's UI is behind the same sign-in, and refuses cross-site
	// requests.
	resp, page = fetchPage(t, c, "GET", base+"/riverui/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<title>River</title>") {
		t.Errorf("signed in GET /riverui/: %d %.300s", resp.StatusCode, page)
	}
	// A first attempt that failed leaves a River job, waiting to retry
	// (one that succeeded never enters River's queue).
	shop.status.Store(http.StatusServiceUnavailable)
	if status, body := b.send(t, "shop", `{"idempotency_key":"csrf-2"}`); status != http.StatusAccepted {
		t.Fatalf("send: %d %v", status, body)
	}
	waitFor(t, 15*time.Second, "the failed job in River UI's list", func() bool {
		resp, page = fetchPage(t, c, "GET", base+"/riverui/api/jobs?state=retryable&limit=5", nil)
		return resp.StatusCode == http.StatusOK && strings.Contains(page, `"hookd_action"`)
	})
	req, _ := http.NewRequest("POST", base+"/riverui/api/jobs/retry", strings.NewReader(`{"ids":["1"]}`))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp3, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp3.Body.Close()
	if resp3.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST to River UI's API: %d, want 403", resp3.StatusCode)
	}
	resp, _ = fetchPage(t, &http.Client{CheckRedirect: c.CheckRedirect}, "GET", base+"/riverui/", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Errorf("signed out GET /riverui/: %d to %q; want 303 to the sign-in form", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp, _ = fetchPage(t, c, "POST", base+"/signout", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	// The old cookie is no longer a session, even if a browser kept it.
	old := &http.Cookie{Name: cookies[0].Name, Value: cookies[0].Value}
	req, _ = http.NewRequest("GET", base+"/", nil)
	req.AddCookie(old)
	resp2, err := (&http.Client{CheckRedirect: c.CheckRedirect}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / with the signed-out session: %d, want 303 to sign in", resp2.StatusCode)
	}
}

// What a sender wrote, and what a destination answered, reaches the pages
// as text, under a policy that runs no inline script.
func TestDashboardEscapesSenderText(t *testing.T) {
	t.Parallel()
	shop, bulk := newSink(t, http.StatusNoContent), newSink(t, http.StatusServiceUnavailable)
	answer := `<img src=x onerror=alert(3)>`
	bulk.body.Store(&answer)
	b := startDashboard(t, "sqlite:"+filepath.Join(t.TempDir(), "hookd.db"), "", shop, bulk)
	base := "http://" + b.main.AdminAddr
	c := browserClient(t)
	status, ev := b.send(t, "plain", `{"idempotency_key":"<script>alert(1)</script>","note":"<img src=x onerror=alert(2)>"}`)
	if status != http.StatusAccepted {
		t.Fatalf("send: %d %v", status, ev)
	}
	for _, path := range []string{"/events", "/events/" + ev["event_id"].(string)} {
		resp, page := fetchPage(t, c, "GET", base+path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("open dashboard GET %s: %d", path, resp.StatusCode)
		}
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
			t.Errorf("GET %s shows the sender's markup unescaped:\n%s", path, page)
		}
		if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("GET %s does not show the key as text", path)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: Content-Security-Policy %q; want script-src 'self' only", path, csp)
		}
		if !strings.Contains(page, "No admin token is set") {
			t.Errorf("GET %s of an open dashboard does not warn", path)
		}
	}
	// The destination's answer, in the attempts of a dead letter.
	status, ev = b.send(t, "bulk", `{"idempotency_key":"answer"}`)
	if status != http.StatusAccepted {
		t.Fatalf("send: %d %v", status, ev)
	}
	b.waitStatus(t, ev["event_id"].(string), "failed")
	_, page := fetchPage(t, c, "GET", base+"/events/"+ev["event_id"].(string), nil)
	if strings.Contains(page, "<img src=x") || !strings.Contains(page, `id="attempts"`) ||
		!strings.Contains(page, "&lt;img src=x onerror=alert(3)&gt;") {
		t.Errorf("the event page does not show the destination's answer as text in its attempts:\n%s", page)
	}
}

// The events page filters and pages by keyset; the services page names no
// secret; an event's jobs link to their attempts in River UI.
func TestDashboardEventsAndServicesPages(t *testing.T) {
	t.Parallel()
	shop, bulk := newSink(t, http.StatusNoContent), newSink(t, http.StatusNoContent)
	b := startDashboard(t, "sqlite:"+filepath.Join(t.TempDir(), "hookd.db"), "", shop, bulk)
	base := "http://" + b.main.AdminAddr
	c := browserClient(t)
	for i := range 52 {
		if status, body := b.send(t, "plain", fmt.Sprintf(`{"idempotency_key":"page-%d"}`, i)); status != http.StatusAccepted {
			t.Fatalf("send: %d %v", status, body)
		}
	}
	status, body := b.send(t, "shop", `{"idempotency_key":"shop-1"}`)
	if status != http.StatusAccepted {
		t.Fatalf("send: %d %v", status, body)
	}
	shopEvent := body["event_id"].(string)
	rows := regexp.MustCompile(`<a href="/events/(evt_[^"]+)">`)
	next := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)

	_, page := fetchPage(t, c, "GET", base+"/events?service=plain", nil)
	first := rows.FindAllStringSubmatch(page, -1)
	m := next.FindStringSubmatch(page)
	if len(first) != 50 || m == nil || strings.Contains(page, shopEvent) {
		t.Fatalf("first page of plain: %d events, next %v; want 50 of plain only and a next link", len(first), m)
	}
	_, page = fetchPage(t, c, "GET", base+strings.ReplaceAll(m[1], "&amp;", "&"), nil)
	second := rows.FindAllStringSubmatch(page, -1)
	if len(second) != 2 || next.MatchString(page) || second[0][1] == first[49][1] {
		t.Fatalf("second page: %d events, next link %v; want the 2 oldest and no next link", len(second), next.MatchString(page))
	}
	if strings.Contains(page, "data-tail") {
		t.Error("an older page has the live tail")
	}
	_, page = fetchPage(t, c, "GET", base+"/events?key=page-7", nil)
	if got := rows.FindAllStringSubmatch(page, -1); len(got) != 1 || !strings.Contains(page, "page-7") {
		t.Errorf("key filter: %d events; want the one with key page-7", len(got))
	}
	_, page = fetchPage(t, c, "GET", base+"/events?until="+url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04")), nil)
	if got := rows.FindAllStringSubmatch(page, -1); len(got) != 0 {
		t.Errorf("until an hour ago: %d events; want none", len(got))
	}
	if resp, _ := fetchPage(t, c, "GET", base+"/events?since=yesterday", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("since=yesterday: %d, want 400", resp.StatusCode)
	}

	b.waitStatus(t, shopEvent, "succeeded")
	riverLink := regexp.MustCompile(`<a href="/riverui/jobs/\d+"`)
	_, page = fetchPage(t, c, "GET", base+"/events/"+shopEvent, nil)
	if riverLink.MatchString(page) {
		t.Errorf("a first attempt settled without the queue links to River UI:\n%s", page)
	}
	// A failed first attempt goes to River's queue, and links to it.
	shop.status.Store(http.StatusServiceUnavailable)
	status, body = b.send(t, "shop", `{"idempotency_key":"fails-first"}`)
	if status != http.StatusAccepted {
		t.Fatalf("send: %d %v", status, body)
	}
	waitFor(t, 15*time.Second, "the failed job to link to River UI", func() bool {
		_, page = fetchPage(t, c, "GET", base+"/events/"+body["event_id"].(string), nil)
		return riverLink.MatchString(page)
	})

	_, page = fetchPage(t, c, "GET", base+"/services", nil)
	for _, want := range []string{"/webhooks/shop", "header:Idempotency-Key, json:idempotency_key", "hmac-sha256", shop.URL,
		"<dd>168h0m0s; failed ones until replayed</dd>"} {
		if !strings.Contains(page, want) {
			t.Errorf("services page lacks %q", want)
		}
	}
	if strings.Contains(page, "secret-shop") {
		t.Error("the services page shows a secret")
	}
}
