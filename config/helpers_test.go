package config

import (
	"errors"
	"strings"
	"testing"
)

// env returns a lookup function over m.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// contractEnv sets every variable the contract example refers to.
var contractEnv = map[string]string{
	"HOOKD_ADMIN_TOKEN":     "admin-token-0123456789",
	"ADAPTER_1_SECRET":      "adapter-one-secret-value",
	"ADAPTER_2_SECRET":      "adapter-two-secret-value",
	"GITHUB_WEBHOOK_SECRET": "github-secret-value",
}

// mustParse parses src with the variables in m.
func mustParse(t *testing.T, src string, m map[string]string) *Config {
	t.Helper()
	c, err := Parse([]byte(src), env(m))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	return c
}

// lines returns the messages of errs (or of a joined error), one per line.
func lines(errs ...error) []string {
	var out []string
	for _, err := range errs {
		if err == nil {
			continue
		}
		out = append(out, strings.Split(err.Error(), "\n")...)
	}
	return out
}

// hasLine reports whether some line starts with prefix.
func hasLine(ls []string, prefix string) bool {
	for _, l := range ls {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// fieldErrors asserts that every error is a single-line *FieldError.
func fieldErrors(t *testing.T, errs []error) {
	t.Helper()
	for _, err := range errs {
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%T is not a *FieldError: %v", err, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("multi-line error: %q", err)
		}
	}
}
