package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/config"
)

// writeConfig writes yaml to a file in a fresh directory, which becomes the
// working directory (so no .env is read), and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	t.Setenv("HOOKD_CONFIG", "")
	dir := t.TempDir()
	t.Chdir(dir)
	path := filepath.Join(dir, "hookd.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// freePort returns a loopback address that nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serveRefused runs "hookd serve" on the configuration at path, which
// listens on addr, and asserts that it exits 2 without ever listening on
// addr. It returns stderr.
func serveRefused(t *testing.T, path, addr string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", path}, nil, &stdout, &stderr) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case code := <-done:
			if code != 2 {
				t.Errorf("serve: exit %d, want 2", code)
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				t.Errorf("something listens on %s after a refused start", addr)
			}
			return stderr.String()
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			cancel()
			<-done
			t.Fatalf("serve started and listened on %s:\n%s", addr, stderr.String())
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("serve neither exited nor listened:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// configCheck runs "hookd config check" and returns its exit status and
// output.
func configCheck(t *testing.T, path string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"config", "check", "--config", path}, nil, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestSecretWithUnsetVariableRefused: a secret that only contains an unset
// or empty ${VAR} ("partner:${PARTNER_PASSWORD}") stops start-up like a bare
// one, naming the variable, for every scheme that has secrets.
func TestSecretWithUnsetVariableRefused(t *testing.T) {
	for _, tt := range []struct{ scheme, secret, extra string }{
		{"hmac-sha256", "hmac-${HOOKD_TEST_PART}", ""},
		{"github", "gh-${HOOKD_TEST_PART}", ""},
		{"stripe", "whsec_${HOOKD_TEST_PART}", ""},
		{"standard-webhooks", "whsec_${HOOKD_TEST_PART}", ""},
		{"shopify", "shpss_${HOOKD_TEST_PART}", ""},
		{"slack", "${HOOKD_TEST_PART}-slack", ""},
		{"twilio", "${HOOKD_TEST_PART}", ", url: \"https://h.example.com/webhooks/s\""},
		{"basic", "partner:${HOOKD_TEST_PART}", ""},
		{"api-key", "key-${HOOKD_TEST_PART}", ""},
	} {
		for _, unset := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/unset=%v", tt.scheme, unset), func(t *testing.T) {
				t.Setenv("HOOKD_TEST_PART", "")
				if unset {
					os.Unsetenv("HOOKD_TEST_PART")
				}
				addr := freePort(t)
				path := writeConfig(t, fmt.Sprintf(`
listen: %s
admin: {listen: "127.0.0.1:0"}
services:
  s:
    verify: {scheme: %s, secrets: [%q, "${HOOKD_TEST_GOOD}"]%s}
`, addr, tt.scheme, tt.secret, tt.extra))
				good := "0123456789abcdef0123456789abcdef"
				if tt.scheme == "basic" {
					good = "partner:" + good
				} else if tt.scheme == "standard-webhooks" {
					good = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
				}
				t.Setenv("HOOKD_TEST_GOOD", good)
				const want = "hookd: services.s.verify.secrets[0]: uses an unset or empty variable; set HOOKD_TEST_PART (referenced as ${HOOKD_TEST_PART})\n"
				code, stdout, stderr := configCheck(t, path)
				if code != 2 || stderr != want {
					t.Errorf("config check: exit %d\n%s%s\nwant exit 2 and\n%s", code, stdout, stderr, want)
				}
				if out := serveRefused(t, path, addr); out != want {
					t.Errorf("serve printed\n%s\nwant\n%s", out, want)
				}
			})
		}
	}
}

// TestBasicEmptyUserOrPassword: "user:" and ":password" are refused.
func TestBasicEmptyUserOrPassword(t *testing.T) {
	for _, secret := range []string{"partner:", ":password-0123456789"} {
		addr := freePort(t)
		path := writeConfig(t, fmt.Sprintf("listen: %s\nadmin: {listen: \"127.0.0.1:0\"}\nservices: {s: {verify: {scheme: basic, secrets: [%q]}}}\n", addr, secret))
		code, _, stderr := configCheck(t, path)
		want := `services.s.verify.secrets[0]: a basic secret must be "user:password" with a non-empty user and password`
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("%q: config check exit %d: %s", secret, code, stderr)
		}
		if strings.Contains(stderr, "password-0123456789") {
			t.Errorf("the password leaked: %s", stderr)
		}
		if out := serveRefused(t, path, addr); !strings.Contains(out, want) {
			t.Errorf("%q: serve printed %s", secret, out)
		}
	}
}

// TestShortSecretsRefused: secrets under 16 bytes stop start-up unless the
// service sets allow_short_secrets: true.
func TestShortSecretsRefused(t *testing.T) {
	for _, tt := range []struct{ scheme, secret, extra, what string }{
		{"hmac-sha256", "dev-secret-1", "", "secret"},
		{"github", "short-secret", "", "secret"},
		{"stripe", "whsec_short", "", "secret"},
		{"shopify", "shpss_short", "", "secret"},
		{"slack", "short-secret", "", "secret"},
		{"twilio", "12345", ", url: \"https://h.example.com/t\"", "secret"},
		{"basic", "partner:hunter2", "", "password"},
		{"api-key", "k1", "", "key"},
	} {
		t.Run(tt.scheme, func(t *testing.T) {
			addr := freePort(t)
			yaml := fmt.Sprintf("listen: %s\nadmin: {listen: \"127.0.0.1:0\"}\nservices: {s: {verify: {scheme: %s, secrets: [%q]%s}}}\n", addr, tt.scheme, tt.secret, tt.extra)
			path := writeConfig(t, yaml)
			want := fmt.Sprintf("hookd: services.s.verify.secrets[0]: the %s is shorter than 16 bytes", tt.what)
			code, _, stderr := configCheck(t, path)
			if code != 2 || !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, "allow_short_secrets: true") {
				t.Errorf("config check: exit %d: %s\nwant exit 2 and %q…", code, stderr, want)
			}
			if _, pw, ok := strings.Cut(tt.secret, ":"); ok && strings.Contains(stderr, pw) || strings.Contains(stderr, tt.secret) {
				t.Errorf("the secret leaked: %s", stderr)
			}
			if out := serveRefused(t, path, addr); !strings.HasPrefix(out, want) {
				t.Errorf("serve printed %s", out)
			}
			// The opt-out.
			os.WriteFile(path, []byte(strings.Replace(yaml, "verify: {", "verify: {allow_short_secrets: true, ", 1)), 0o600)
			if code, stdout, stderr := configCheck(t, path); code != 0 {
				t.Errorf("with allow_short_secrets: exit %d: %s%s", code, stdout, stderr)
			}
		})
	}
}

// TestSchemeNoneWarns: every start with a scheme none service logs a
// warning naming it.
func TestSchemeNoneWarns(t *testing.T) {
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
database: %q
services:
  open: {verify: {scheme: none, i_understand_this_is_unsafe: true}}
  signed: {verify: {secrets: [signed-secret-0123456789]}}
`, "sqlite:"+filepath.Join(t.TempDir(), "hookd.db"))), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	l, err := build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	m := &Main{Config: l.cfg, Services: l.services, Role: roleIngest,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var warned []string
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "scheme none") {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "service=open") {
		t.Errorf("want one warning for service open, got:\n%s", logs.String())
	}
}
