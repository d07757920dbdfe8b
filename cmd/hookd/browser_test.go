package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The dashboard in a real browser: Debian's chromium, headless, driven
// over the DevTools protocol against an in-process hookd serving real
// HTTP. Without chromium the tests skip, except under CI, where .ci/run
// installs it.

// stepTimeout bounds each step: every wait in these tests is on a
// condition, with this deadline.
const stepTimeout = 20 * time.Second

type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // the admin listener, http://host:port
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
		}
		t.Skip("skipping the browser tests: chromium is not installed (apt-get install chromium)")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI's container
		chromedp.Headless,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base}
	// The first run starts the browser, on the context that owns it: a
	// deadline on it would close the browser when it ends.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// do runs steps with the step deadline, failing the test with what.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval returns a JavaScript expression's value.
func eval[T any](b *browser, what, expr string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is truthy.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	b.do(what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout)))
}

// text is the text of the element with id.
func (b *browser) text(id string) string {
	return eval[string](b, "read #"+id, fmt.Sprintf(`document.getElementById(%q)?.textContent ?? ""`, id))
}

// shot saves a screenshot of the whole page as name.png in the folder
// HOOKD_SCREENSHOTS names, when it is set (README's pictures come from
// here).
func (b *browser) shot(name string) {
	dir := os.Getenv("HOOKD_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Error(err)
	}
}

// a11yProblems lists what keeps the page from basic accessibility: a
// control without a label, a heading that skips a level.
const a11yProblems = `(() => {
  const problems = [];
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea, button')) {
    const named = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') ||
      (el.labels && el.labels.length > 0) || (el.tagName === 'BUTTON' && el.textContent.trim() !== '');
    if (!named) problems.push('no label: ' + el.outerHTML.slice(0, 100));
  }
  let last = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = Number(h.tagName[1]);
    if (level > last + 1) problems.push(h.tagName + ' after h' + last + ': ' + h.textContent.trim());
    last = level;
  }
  if (document.querySelectorAll('h1').length !== 1) problems.push('not one h1');
  return problems;
})()`

// markControls numbers the visible controls a keyboard should reach and
// returns how many there are.
const markControls = `(() => {
  let n = 0;
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')) {
    if (el.hidden || el.getClientRects().length === 0) continue;
    el.dataset.tabcheck = String(n++);
  }
  return n;
})()`

// checkAccessible checks labels and headings, then presses Tab until
// every visible control had the focus (a date input takes a press for each
// of its fields, hence the bound).
func (b *browser) checkAccessible(page string) {
	b.t.Helper()
	if problems := eval[[]string](b, "accessibility of "+page, a11yProblems); len(problems) > 0 {
		b.t.Errorf("%s: %s", page, strings.Join(problems, "; "))
	}
	n := eval[int](b, "mark the controls of "+page, markControls)
	eval[chromedp.Void](b, "blur", `document.activeElement && document.activeElement.blur()`)
	seen := map[string]bool{}
	for i := 0; i < 8*n+8 && len(seen) <= n; i++ {
		b.do("press Tab on "+page, chromedp.KeyEvent(kb.Tab))
		seen[eval[string](b, "focused element", `document.activeElement?.dataset?.tabcheck ?? ""`)] = true
	}
	for i := range n {
		if !seen[fmt.Sprint(i)] {
			html := eval[string](b, "unreached control", fmt.Sprintf(`document.querySelector('[data-tabcheck="%d"]').outerHTML`, i))
			b.t.Errorf("%s: Tab never reaches %s", page, html)
		}
	}
}

func (b *browser) signIn(token string) {
	b.t.Helper()
	b.do("open the dashboard signed out", chromedp.Navigate(b.base+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	b.do("type the token", chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("signin")))
}

// Sign in, watch a webhook arrive in the live tail, see its forward fail
// with the destination's 503, fix the destination, replay, see it
// succeed, with both attempts and what the destination said; a forged
// POST is refused.
func TestBrowserEventLifecycle(t *testing.T) {
	t.Parallel()
	shop, bulk := newSink(t, http.StatusServiceUnavailable), newSink(t, http.StatusNoContent)
	closed := "<b>closed for inventory</b>"
	shop.body.Store(&closed)
	hookd := startDashboard(t, "sqlite:"+filepath.Join(t.TempDir(), "hookd.db"), dashboardToken, shop, bulk)
	b := newBrowser(t, "http://"+hookd.main.AdminAddr)

	b.signIn("not-the-token")
	b.do("see the wrong token refused", chromedp.WaitVisible(chromedp.ID("signin-error")))
	b.checkAccessible("sign-in")
	b.shot("signin-refused")
	b.do("type the token again", chromedp.SendKeys(chromedp.ID("token"), dashboardToken), chromedp.Click(chromedp.ID("signin")))
	b.do("see the overview", chromedp.WaitVisible(chromedp.CSS(`nav a[aria-current="page"][href="/"]`)))

	b.do("open the events", chromedp.Navigate(b.base+"/events"), chromedp.WaitVisible(chromedp.ID("events")))
	b.waitJS("the live tail to connect", `document.getElementById("tail-status").textContent.startsWith("Live")`)
	eval[chromedp.Void](b, "mark the page", `window.notReloaded = true`)
	status, body := hookd.send(t, "shop", `{"idempotency_key":"order-1001","total":"<script>alert(1)</script>"}`)
	if status != http.StatusAccepted {
		t.Fatalf("send: %d %v", status, body)
	}
	id := body["event_id"].(string)
	link := fmt.Sprintf(`#event-rows a[href="/events/%s"]`, id)
	b.do("see the event arrive in the tail", chromedp.WaitVisible(chromedp.CSS(link)))
	if !eval[bool](b, "check the page was not reloaded", `window.notReloaded === true`) {
		t.Fatal("the page reloaded; the event should have come through the live tail")
	}
	b.checkAccessible("events")
	b.shot("events-live-tail")

	b.do("open the event", chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.ID("event-status")))
	b.waitJS("the destination's 503 to show", `document.querySelector("#jobs .answer")?.textContent.includes("503")`)
	if got := b.text("jobs"); !strings.Contains(got, "retrying") || !strings.Contains(got, "1 of 3") {
		t.Errorf("jobs table %q; want the forward retrying after 1 of 3 attempts", got)
	}
	if got := b.text("attempts"); !strings.Contains(got, "retrying") || !strings.Contains(got, "503") || !strings.Contains(got, closed) {
		t.Errorf("attempts table %q; want the first attempt retrying after the 503, its body as text", got)
	}
	if got := b.text("body"); !strings.Contains(got, `"total": "<script>alert(1)</script>"`) {
		t.Errorf("body shown as %q; want the JSON indented, the script as text", got)
	}
	if n := eval[int](b, "count scripts", `document.scripts.length`); n != 1 {
		t.Errorf("the event page has %d scripts; want only app.js", n)
	}
	if !strings.Contains(b.text("curl"), "curl -sS -i -X POST") {
		t.Errorf("no curl line on the event page")
	}
	b.checkAccessible("event")
	b.shot("event-failed")

	// A form posted from elsewhere has no CSRF token.
	got := eval[int](b, "forge a replay", fmt.Sprintf(
		`fetch("/events/%s/replay", {method: "POST", body: new URLSearchParams({x: "1"})}).then(r => r.status)`, id), chromedp.EvalAwaitPromise)
	if got != http.StatusForbidden {
		t.Errorf("forged POST without the CSRF token: %d, want 403", got)
	}

	shop.status.Store(http.StatusNoContent)
	shop.body.Store(nil)
	b.do("replay", chromedp.Click(chromedp.ID("replay")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	b.waitJS("the event to succeed", `document.getElementById("event-status").textContent === "succeeded"`)
	rows := eval[[]string](b, "read the attempts", `[...document.querySelectorAll("#attempts tbody tr")].map(r => r.textContent)`)
	if len(rows) != 2 || !strings.Contains(rows[0], "503") || !strings.Contains(rows[0], closed) ||
		!strings.Contains(rows[1], "succeeded") || !strings.Contains(rows[1], "204") {
		t.Errorf("attempts %q; want the 503 with its body, then the 204", rows)
	}
	if n := eval[int](b, "look for the destination's markup", `document.querySelectorAll("#attempts b").length`); n != 0 {
		t.Errorf("the destination's <b> became %d elements; want it shown as text", n)
	}
	b.shot("event-succeeded")

	// A refused request shows on the rejections page.
	req, _ := http.NewRequest("POST", "http://"+hookd.main.IngestAddr+"/webhooks/shop", strings.NewReader(`{"idempotency_key":"x"}`))
	req.Header.Set("X-Signature", "sha256="+strings.Repeat("0", 64))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	b.do("open the rejections", chromedp.Navigate(b.base+"/rejections"), chromedp.WaitVisible(chromedp.ID("rejections")))
	if got := b.text("rejections"); !strings.Contains(got, "no-secret-matched") || !strings.Contains(got, "sha256=<64 digits>") {
		t.Errorf("rejections %q; want the reason and the diagnosis's header shape", got)
	}
	b.checkAccessible("rejections")
	b.shot("rejections")
	b.do("open the services", chromedp.Navigate(b.base+"/services"), chromedp.WaitVisible(chromedp.ID("svc-shop")))
	b.checkAccessible("services")
	b.shot("services")
	b.do("find River's UI in the navigation", chromedp.WaitVisible(chromedp.CSS(`nav a[href="/riverui/"]`)))
	b.do("open River's UI", chromedp.Navigate(b.base+"/riverui/jobs?state=completed"))
	b.waitJS("River's UI to list the jobs", `document.body.innerText.includes("hookd_action")`)
	b.shot("riverui")
	b.do("open the overview", chromedp.Navigate(b.base+"/"), chromedp.WaitVisible(chromedp.ID("dead-count")))
	b.checkAccessible("overview")
	b.shot("overview")

	b.do("sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("token")))
}

// Dead letters replayed by filter: the dry run counts them, then each is
// replayed and succeeds.
func TestBrowserBulkReplay(t *testing.T) {
	t.Parallel()
	shop, bulk := newSink(t, http.StatusNoContent), newSink(t, http.StatusServiceUnavailable)
	hookd := startDashboard(t, "sqlite:"+filepath.Join(t.TempDir(), "hookd.db"), dashboardToken, shop, bulk)
	ids := hookd.deadLetters(t, "browser", 3)
	hits := bulk.hits.Load()
	bulk.status.Store(http.StatusNoContent)

	b := newBrowser(t, "http://"+hookd.main.AdminAddr)
	b.signIn(dashboardToken)
	b.do("see the overview", chromedp.WaitVisible(chromedp.ID("dead-count")))
	if got := b.text("dead-count"); got != "3 failed jobs" {
		t.Errorf("overview dead letters %q; want 3 failed jobs", got)
	}
	b.do("open the dead letters", chromedp.Navigate(b.base+"/dead-letters"), chromedp.WaitVisible(chromedp.ID("dead-groups")))
	b.checkAccessible("dead letters")
	b.shot("dead-letters")
	b.do("count them", chromedp.SetValue(chromedp.ID("r-service"), "bulk"), chromedp.Click(chromedp.ID("dry-run")),
		chromedp.WaitVisible(chromedp.ID("dry-run-count")))
	if got := b.text("dry-run-count"); !strings.HasPrefix(got, "3 failed events would be replayed") {
		t.Errorf("dry run says %q; want 3 events", got)
	}
	if bulk.hits.Load() != hits {
		t.Error("the dry run sent requests")
	}
	b.checkAccessible("dry run")
	b.shot("bulk-replay-dry-run")
	b.do("confirm", chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("replay-progress")))
	b.waitJS("the bulk replay to finish", `document.getElementById("replay-progress").textContent.startsWith("Done")`)
	if got := b.text("replay-progress"); !strings.Contains(got, "3 of 3 events replayed") {
		t.Errorf("progress %q; want 3 of 3", got)
	}
	b.shot("bulk-replay-done")
	for _, id := range ids {
		hookd.waitStatus(t, id, "succeeded")
	}
	if got := bulk.hits.Load() - hits; got != 3 {
		t.Errorf("the destination got %d requests; want one per replayed event, 3", got)
	}
}
