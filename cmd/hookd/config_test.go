package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheck runs "hookd config check" on good and bad files: one
// line per problem, each naming its field, exit status 2.
func TestConfigCheck(t *testing.T) {
	t.Setenv("HOOKD_CONFIG", "")
	t.Setenv("MISSING_SECRET_FOR_TEST", "")
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "services: {a: {verify: {secrets: [a-secret-0123456789]}, actions: [noop]}}\n")
	bad := write("bad.yaml", `
admin: {listen: "0.0.0.0:8081"}
services:
  a:
    verify: {secrets: ["${MISSING_SECRET_FOR_TEST}"]}
    actions:
      - email: {subject: "{{.Nope"}
  b:
    verify: {scheme: standard-webhooks, secrets: [whsec_c2hvcnQ=]}
`)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"config", "check", "--config", good}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("good config: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "configuration OK") {
		t.Errorf("good config printed %q", stdout.String())
	}
	stdout.Reset()
	code := run(context.Background(), []string{"config", "check", "--config", bad}, nil, &stdout, &stderr)
	if code != 2 {
		t.Fatalf("bad config: exit %d, want 2", code)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	for _, field := range []string{"admin.token", "services.a.verify.secrets", "MISSING_SECRET_FOR_TEST",
		"services.a.actions[0].email.subject", "services.b.verify.secrets[0]"} {
		if !strings.Contains(stderr.String(), field) {
			t.Errorf("no line names %s:\n%s", field, stderr.String())
		}
	}
	seen := map[string]bool{}
	for _, l := range lines {
		if !strings.HasPrefix(l, "hookd: ") {
			t.Errorf("line %q is not one problem per line", l)
		}
		if seen[l] {
			t.Errorf("problem reported twice: %q", l)
		}
		seen[l] = true
	}
	if strings.Contains(stderr.String(), "c2hvcnQ") {
		t.Errorf("a secret leaked into the output:\n%s", stderr.String())
	}
}

// TestZeroConfigWithoutSecretsRefusesToStart: a service with no secret
// refuses to start, naming the variable to set.
func TestZeroConfigWithoutSecretsRefusesToStart(t *testing.T) {
	t.Setenv("HOOKD_CONFIG", "")
	t.Setenv("ADAPTER_1_SECRET", "")
	t.Setenv("ADAPTER_2_SECRET", "adapter-two-secret-0123456789")
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"serve"}, nil, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "ADAPTER_1_SECRET") || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
		t.Fatalf("want one line naming ADAPTER_1_SECRET, got:\n%s", stderr.String())
	}
	if _, err := os.Stat("hookd.db"); err == nil {
		t.Errorf("a refused start created hookd.db")
	}
}

// TestDotEnvFillsSecrets reads secrets from a .env file in the working
// directory.
func TestDotEnvFillsSecrets(t *testing.T) {
	t.Setenv("HOOKD_CONFIG", "")
	t.Setenv("ADAPTER_1_SECRET", "")
	t.Setenv("ADAPTER_2_SECRET", "")
	os.Unsetenv("ADAPTER_1_SECRET")
	os.Unsetenv("ADAPTER_2_SECRET")
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile(filepath.Join(dir, ".env"), []byte("ADAPTER_1_SECRET=from-dotenv-adapter-1\nADAPTER_2_SECRET=from-dotenv-adapter-2\n"), 0o600)
	l, err := loadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.services) != 2 || l.services["adapter1"] == nil || l.services["adapter2"] == nil {
		t.Fatalf("services = %v", l.services)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"sign", "--help"}, {"migrate", "-h"},
		{"config", "check", "--help"}, {"events", "list", "--help"}, {"events", "replay", "--help"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, nil, &stdout, &stderr); code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
		if stdout.Len()+stderr.Len() < 50 {
			t.Errorf("%v printed little help: %q%q", args, stdout.String(), stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, nil, &stdout, &stderr); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

// TestConfigCheckReport: "config check" counts services in good English,
// prefixes every problem of a file with its path, points a YAML syntax
// error at the file's line, and refuses timestamp settings on schemes that
// sign no timestamp.
func TestConfigCheckReport(t *testing.T) {
	t.Setenv("HOOKD_TEST_HOST", "127.0.0.1")
	t.Setenv("HOOKD_TEST_SECRET", "a-secret-0123456789")
	for _, tt := range []struct {
		name, yaml string
		code       int
		want       []string // the whole output, one line each; "PATH" is the file
	}{
		{"OneService", "services: {a: {verify: {secrets: [a-secret-0123456789]}}}\n", 0,
			[]string{"configuration OK: 1 service, database sqlite:hookd.db"}},
		{"TwoServices", "services:\n  a: {verify: {secrets: [a-secret-0123456789]}}\n  b: {verify: {secrets: [b-secret-0123456789]}}\n", 0,
			[]string{"configuration OK: 2 services, database sqlite:hookd.db"}},
		{"EveryParseProblemNamesTheFile", "listen: \":8080\"\nlisten_port: 8080\nservices:\n  a:\n    verfiy: {}\n    max_body: 2 lots\n", 2,
			[]string{
				"hookd: PATH: line 2: listen_port: unknown field; known fields: listen, admin, database, smtp, services, workers",
				"hookd: PATH: line 5: services.a.verfiy: unknown field; known fields: verify, max_body, idempotency_ttl, retention, keep_failed, idempotency_key, actions",
				"hookd: PATH: line 6: services.a.max_body: invalid size: unknown unit; use bytes or KiB, MiB, GiB, KB, MB, GB (e.g. 5MiB)",
			}},
		{"SyntaxErrorAtItsLine", "listen: \"${HOOKD_TEST_HOST}:8080\"\nservices:\n  a:\n    verify: {secrets: [\"${HOOKD_TEST_SECRET}\"]}\n   actions: [noop]\n", 2,
			[]string{"hookd: PATH: line 5: invalid YAML: did not find expected key (while parsing a block mapping from line 3)"}},
		{"UnclosedFlowMapping", "services:\n  a:\n    verify: {secrets: [\"${HOOKD_TEST_SECRET}\"]\n    actions: [noop]\n", 2,
			[]string{"hookd: PATH: line 4: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping from line 3)"}},
		{"ToleranceWithoutTimestamp", "services:\n  gh: {verify: {scheme: github, secrets: [a-secret-0123456789], tolerance: 60s}}\n" +
			"  key: {verify: {scheme: api-key, secrets: [a-secret-0123456789], ignore_timestamp: true}}\n" +
			"  stripe: {verify: {scheme: stripe, secrets: [whsec_0123456789abcdef], tolerance: 60s, ignore_timestamp: false}}\n", 2,
			[]string{
				"hookd: services.gh.verify.tolerance: scheme github signs no timestamp, so nothing would be checked; remove it (only stripe, standard-webhooks, slack take it)",
				"hookd: services.key.verify.ignore_timestamp: scheme api-key signs no timestamp; remove it (only stripe, standard-webhooks, slack take it)",
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			code, stdout, stderr := configCheck(t, path)
			got := strings.TrimSpace(stdout + stderr)
			want := strings.ReplaceAll(strings.Join(tt.want, "\n"), "PATH", path)
			if code != tt.code || got != want {
				t.Errorf("exit %d, want %d; output:\n%s\nwant:\n%s", code, tt.code, got, want)
			}
		})
	}
}
