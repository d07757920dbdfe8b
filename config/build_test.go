package config

import (
	"strings"
	"testing"

	"github.com/hookd/hookd/verify"
)

// TestLoad reads a file, or the defaults without one, and applies the
// HOOKD_* overrides; a file's problems each name the file.
func TestLoad(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"ADAPTER_1_SECRET": "adapter-one-secret-value", "HOOKD_LISTEN": "127.0.0.1:9999"}
	c, err := Load("", nil, env(vars))
	if err != nil || c.ServiceConfigs["adapter1"] == nil || c.ServiceConfigs["adapter2"] == nil || c.Listen != "127.0.0.1:9999" {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	c, err = Load("hookd.yaml", []byte("services: {a: {verify: {secrets: [a-secret-0123456789]}}}\n"), env(vars))
	if err != nil || len(c.ServiceConfigs) != 1 || c.Listen != "127.0.0.1:9999" {
		t.Fatalf("file: %+v, %v", c, err)
	}
	_, err = Load("hookd.yaml", []byte("services:\n  a: {bogus: 1}\n  b: {bogus2: 2}\n"), env(vars))
	got := lines(Problems(err)...)
	if len(got) != 2 || len(Problems(err)) != 2 || !strings.HasPrefix(got[0], "hookd.yaml: line 2: services.a.bogus: ") ||
		!strings.HasPrefix(got[1], "hookd.yaml: line 3: services.b.bogus2: ") {
		t.Errorf("problems = %q, want one per field, each naming the file", got)
	}
}

// TestBuild builds the services with the real verifiers, and reports
// every problem, the email templates' included, one each.
func TestBuild(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `
services:
  a: {verify: {scheme: github, secrets: [github-secret-0123456789]}, actions: [noop]}
  b: {verify: {scheme: twilio, secrets: [twilio-token-0123456789], url: "https://x.example/b"}}
`, nil)
	services, err := c.Build()
	if err != nil || len(services) != 2 || services["a"].Name != "a" || services["b"] == nil {
		t.Fatalf("Build = %v, %v", services, err)
	}
	if _, ok := services["b"].Verifier.(*verify.Twilio); !ok {
		t.Errorf("b's verifier is %T, want *verify.Twilio", services["b"].Verifier)
	}
	c = mustParse(t, `
services:
  a:
    verify: {secrets: ["${MISSING}"]}
    actions: [{email: {subject: "{{.Nope"}}]
  b: {verify: {scheme: standard-webhooks, secrets: [whsec_c2hvcnQ=]}}
`, nil)
	services, err = c.Build()
	got := lines(Problems(err)...)
	if services != nil || len(got) != 3 || len(Problems(err)) != 3 {
		t.Fatalf("Build = %v, problems %q; want 3", services, got)
	}
	for i, prefix := range []string{"services.a.verify.secrets", "services.b.verify.secrets[0]", "services.a.actions[0].email.subject: "} {
		if !strings.HasPrefix(got[i], prefix) {
			t.Errorf("problem %d = %q, want it to start with %q", i, got[i], prefix)
		}
	}
}

func TestCheckService(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "services: {b: {verify: {secrets: [b-secret-0123456789]}}, a: {verify: {secrets: [a-secret-0123456789]}}}\n", nil)
	if err := c.CheckService("a"); err != nil {
		t.Errorf("a: %v", err)
	}
	if err := c.CheckService(""); err != nil {
		t.Errorf("any service: %v", err)
	}
	if err := c.CheckService("c"); err == nil || err.Error() != `no service "c" is configured (services: a, b)` {
		t.Errorf("c: %v", err)
	}
}
