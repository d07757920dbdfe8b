package config

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/verify"
)

// fakeVerifier stands in for the verify package's verifiers.
type fakeVerifier struct{ v Verify }

func (*fakeVerifier) Verify(*hookd.Request) error { return nil }
func (*fakeVerifier) Sign([]byte, string, time.Time) (http.Header, error) {
	return http.Header{}, nil
}
func (*fakeVerifier) KeySources() []hookd.KeySource { return nil }

var _ hookd.Verifier = (*fakeVerifier)(nil)

// recorder is a newVerifier that records its calls and fails for the
// services in fail.
type recorder struct {
	mu    sync.Mutex
	calls map[string]Verify
	fail  map[string]error
}

func (r *recorder) newVerifier(name string, v Verify) (hookd.Verifier, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]Verify{}
	}
	r.calls[name] = v
	if err := r.fail[name]; err != nil {
		return nil, err
	}
	return &fakeVerifier{v: v}, nil
}

func TestServicesContractExample(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/contract-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, env(contractEnv))
	if err != nil {
		t.Fatal(err)
	}
	var r recorder
	svcs, err := c.Services(r.newVerifier)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range svcs {
		names = append(names, s.Name)
		if s.Verifier == nil {
			t.Errorf("%s: no verifier", s.Name)
		}
		if s.IdempotencyKey != nil {
			t.Errorf("%s: IdempotencyKey = %v, want nil (the verifier's)", s.Name, s.IdempotencyKey)
		}
	}
	if !reflect.DeepEqual(names, []string{"adapter1", "adapter2", "github"}) {
		t.Fatalf("names = %v", names)
	}
	if want := (Verify{Scheme: "github", Secrets: []string{"github-secret-value"}}); !reflect.DeepEqual(r.calls["github"], want) {
		t.Errorf("newVerifier(github) got %+v", r.calls["github"])
	}
	backoff := hookd.Backoff{Min: DefaultBackoffMin, Max: DefaultBackoffMax}
	a1, a2, gh := svcs[0], svcs[1], svcs[2]
	// Retention defaults to the key's TTL, and dead letters stay.
	if a1.MaxBody != 1<<20 || a1.IdempotencyTTL != 7*24*time.Hour || a1.Retention != (hookd.Retention{Keep: 7 * 24 * time.Hour}) {
		t.Errorf("adapter1 = %+v", a1)
	}
	if want := []hookd.Action{{Type: hookd.ActionEmail, MaxAttempts: DefaultMaxAttempts, Backoff: backoff,
		Email: &hookd.EmailAction{Field: "email", Template: "welcome"}}}; !reflect.DeepEqual(a1.Actions, want) {
		t.Errorf("adapter1 actions = %+v", a1.Actions)
	}
	if len(a2.Actions) != 1 || a2.Actions[0].Type != hookd.ActionNoop || len(hookd.JobsFor(a2, "e")) != 0 {
		t.Errorf("adapter2 actions = %+v", a2.Actions)
	}
	if gh.MaxBody != 5<<20 || gh.IdempotencyTTL != 72*time.Hour || gh.Retention != (hookd.Retention{Keep: 72 * time.Hour}) {
		t.Errorf("github = %+v", gh)
	}
	if want := []hookd.Action{{Type: hookd.ActionForward, MaxAttempts: DefaultMaxAttempts, Backoff: backoff,
		Forward: &hookd.ForwardAction{URL: "http://127.0.0.1:9000/github", Timeout: 10 * time.Second}}}; !reflect.DeepEqual(gh.Actions, want) {
		t.Errorf("github actions = %+v", gh.Actions[0])
	}
}

func TestServicesSettings(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `
services:
  a:
    verify: {scheme: stripe, secrets: [whsec_x, whsec_y], tolerance: 10m, ignore_timestamp: true, header: H, prefix: P, encoding: base64, algorithm: sha512, url: "https://x/y"}
    idempotency_key: "header:X-Request-Id, json:data.id"
    max_body: 512KiB
    idempotency_ttl: 1d
    retention: 30d
    keep_failed: false
    actions:
      - email: {field: user.email, template: receipt, subject: "S {{.x}}", body: B, max_attempts: 6, backoff: {min: 100ms, max: 1s}}
      - forward: {url: "https://h/x", timeout: 2s, headers: [X-A, X-B], max_attempts: 1}
      - noop
`, nil)
	var r recorder
	svcs, err := c.Services(r.newVerifier)
	if err != nil {
		t.Fatal(err)
	}
	s := svcs[0]
	wantVerify := Verify{Scheme: "stripe", Secrets: []string{"whsec_x", "whsec_y"}, Tolerance: Duration(10 * time.Minute),
		IgnoreTimestamp: true, Header: "H", Prefix: "P", Encoding: "base64", Algorithm: "sha512", URL: "https://x/y"}
	if !reflect.DeepEqual(r.calls["a"], wantVerify) {
		t.Errorf("verify = %+v", r.calls["a"])
	}
	if want := []hookd.KeySource{{From: "header", Name: "X-Request-Id"}, {From: "json", Name: "data.id"}}; !reflect.DeepEqual(s.IdempotencyKey, want) {
		t.Errorf("IdempotencyKey = %v", s.IdempotencyKey)
	}
	if s.MaxBody != 512<<10 || s.IdempotencyTTL != 24*time.Hour || s.Retention != (hookd.Retention{Keep: 30 * 24 * time.Hour, DeleteFailed: true}) {
		t.Errorf("service = %+v", s)
	}
	want := []hookd.Action{
		{Type: "email", MaxAttempts: 6, Backoff: hookd.Backoff{Min: 100 * time.Millisecond, Max: time.Second},
			Email: &hookd.EmailAction{Field: "user.email", Template: "receipt", Subject: "S {{.x}}", Body: "B"}},
		{Type: "forward", MaxAttempts: 1, Backoff: hookd.Backoff{Min: DefaultBackoffMin, Max: DefaultBackoffMax},
			Forward: &hookd.ForwardAction{URL: "https://h/x", Timeout: 2 * time.Second, Headers: []string{"X-A", "X-B"}}},
		{Type: "noop", MaxAttempts: DefaultMaxAttempts, Backoff: hookd.Backoff{Min: DefaultBackoffMin, Max: DefaultBackoffMax}},
	}
	for i := range want {
		if !reflect.DeepEqual(s.Actions[i], want[i]) {
			t.Errorf("action %d = %+v, want %+v", i, s.Actions[i], want[i])
		}
	}
	// The domain values are copies: changing them leaves the config alone.
	s.Actions[1].Forward.Headers[0] = "changed"
	r.calls["a"].Secrets[0] = "changed"
	if c.ServiceConfigs["a"].Actions[1].Forward.Headers[0] != "X-A" || c.ServiceConfigs["a"].Verify.Secrets[0] != "whsec_x" {
		t.Error("Services shares slices with the config")
	}
}

func TestServicesHandBuilt(t *testing.T) {
	t.Parallel()
	c := &Config{ServiceConfigs: map[string]*ServiceConfig{
		"a": {Verify: Verify{Secrets: []string{"x"}}, Actions: []ActionConfig{{Type: "email"}, {Type: "forward", Forward: &ForwardConfig{URL: "http://h"}}}},
	}}
	var r recorder
	svcs, err := c.Services(r.newVerifier)
	if err != nil {
		t.Fatal(err)
	}
	if r.calls["a"].Scheme != "hmac-sha256" {
		t.Errorf("scheme = %q, want the default", r.calls["a"].Scheme)
	}
	got := svcs[0]
	if got.MaxBody != 1<<20 || got.IdempotencyTTL != 7*24*time.Hour || got.Actions[0].Email.Field != "email" ||
		got.Actions[0].MaxAttempts != DefaultMaxAttempts || got.Actions[1].Forward.Timeout != 10*time.Second {
		t.Errorf("defaults not filled: %+v %+v %+v", got, got.Actions[0], got.Actions[1].Forward)
	}
	if c.ServiceConfigs["a"].Actions[0].Email != nil {
		t.Error("Services changed the config")
	}
}

func TestServicesVerifierErrors(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "services:\n  a: {verify: {secrets: [x]}}\n  b: {verify: {secrets: [x]}}\n  c: {verify: {secrets: [x]}}\n  d: {verify: {secrets: [x]}}\n", nil)
	r := recorder{fail: map[string]error{
		"a": &verify.ConfigError{Field: "secrets[0]", Problem: "too short; use at least 24 bytes"},
		"b": errors.Join(&verify.ConfigError{Field: "scheme", Problem: "twilio needs url"}, &verify.ConfigError{Field: "url", Problem: "required for twilio"}),
		"c": errors.New("something went wrong"),
	}}
	svcs, err := c.Services(r.newVerifier)
	if svcs != nil {
		t.Errorf("services returned despite errors: %v", svcs)
	}
	want := []string{
		"services.a.verify.secrets[0]: too short; use at least 24 bytes",
		"services.b.verify.scheme: twilio needs url",
		"services.b.verify.url: required for twilio",
		"services.c.verify: something went wrong",
	}
	if got := lines(err); !reflect.DeepEqual(got, want) {
		t.Errorf("Services error =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestServicesReportsValidationFirst(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "listen: bad\nservices:\n  a: {verify: {secrets: [\"${A_SECRET}\"]}}\n  b: {verify: {secrets: [x]}}\n", nil)
	r := recorder{fail: map[string]error{"b": &verify.ConfigError{Field: "secrets[0]", Problem: "weak"}}}
	_, err := c.Services(r.newVerifier)
	got := lines(err)
	if len(got) != 3 || !strings.HasPrefix(got[0], "listen:") ||
		got[1] != "services.a.verify.secrets: no secret configured; set A_SECRET (referenced as ${A_SECRET})" ||
		got[2] != "services.b.verify.secrets[0]: weak" {
		t.Errorf("Services error = %q", got)
	}
	if _, called := r.calls["a"]; called {
		t.Error("newVerifier called for a service whose verify block is invalid")
	}
}

func TestNoSecretInErrors(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{
		"SECRET":     "hunter2-very-secret",
		"DB_PASS":    "db-pass-9f8e7d",
		"SMTP_PASS":  "smtp-pass-1a2b3c",
		"FWD_TOKEN":  "fwd-token-4d5e6f",
		"ADMIN_PASS": "admin-pass-7a8b9c",
	}
	var msgs []string

	// Values from the environment in places where they do not parse.
	for _, src := range []string{
		"services:\n  a:\n    actions: [email: {max_attempts: ${SECRET}}]\n",
		"services:\n  a:\n    verify: {ignore_timestamp: ${SECRET}}\n",
		"services:\n  a:\n    idempotency_ttl: ${SECRET}\n",
		"services:\n  a:\n    max_body: ${SECRET}\n",
		"services:\n  a:\n    actions: [${SECRET}]\n",
		"services:\n  a:\n    verify: {secrets: ${SECRET}}\n",
		"admin: {token: \"${ADMIN_PASS}\"}\nadmin: {}\n",
	} {
		_, err := Parse([]byte(src), env(secrets))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", src)
		}
		msgs = append(msgs, lines(err)...)
	}

	// Secrets inside values that fail validation.
	c := mustParse(t, `
listen: "0.0.0.0:8080"
admin: {listen: "0.0.0.0:8081"}
database: "mysql://root:${DB_PASS}@db/hookd"
smtp: {url: "http://u:${SMTP_PASS}@mail", from: "${ADMIN_PASS}"}
services:
  A: {verify: {scheme: nope, secrets: ["${SECRET}", ""], tolerance: -1s}}
  b:
    verify: {scheme: hmac-sha256, secrets: ["${SECRET}"]}
    idempotency_key: "header:x"
    actions: [forward: {url: "ftp://x/?token=${FWD_TOKEN}"}, forward: {url: "${FWD_TOKEN}"}]
  c: {verify: {secrets: ["${SECRET}"]}}
`, secrets)
	verrs := c.Validate()
	if len(verrs) < 8 {
		t.Errorf("only %d problems: %q", len(verrs), lines(verrs...))
	}
	msgs = append(msgs, lines(verrs...)...)

	// A verifier that echoes its secret is masked.
	r := recorder{fail: map[string]error{"c": &verify.ConfigError{Field: "secrets[0]", Problem: fmt.Sprintf("%q is weak", secrets["SECRET"])}}}
	_, err := c.Services(r.newVerifier)
	msgs = append(msgs, lines(err)...)
	if !hasLine(msgs, `services.c.verify.secrets[0]: "[secret]" is weak`) {
		t.Errorf("verifier error not reported: %q", lines(err))
	}

	for _, m := range msgs {
		for name, s := range secrets {
			for _, part := range []string{s, s[:7]} {
				if strings.Contains(m, part) {
					t.Errorf("message shows %s: %s", name, m)
				}
			}
		}
	}
}
