package verify

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// at returns a clock stopped at the Unix time sec.
func at(sec int64) func() time.Time {
	return func() time.Time { return time.Unix(sec, 0) }
}

// newVerifier is New that fails the test on error.
func newVerifier(t *testing.T, c Config) hookd.Verifier {
	t.Helper()
	v, err := New(c)
	if err != nil {
		t.Fatalf("New(%+v): %v", c.Scheme, err)
	}
	return v
}

// request builds a hookd.Request; rawURL may be "" (path only).
func request(t testing.TB, h http.Header, body []byte, rawURL string) *hookd.Request {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return &hookd.Request{Header: h, Body: body, URL: u}
}

// headers builds an http.Header from name, value pairs (canonicalising
// names, as net/http does).
func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// checkErr asserts that err is nil when code is "", else that it carries
// code and wraps sentinel, and that its message leaks none of secrets.
func checkErr(t *testing.T, err error, code string, sentinel error, secrets ...string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("Verify: %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Verify: nil, want %s (%v)", code, sentinel)
	}
	if got := hookd.ErrorCode(err); got != code {
		t.Errorf("ErrorCode = %q, want %q (err: %v)", got, code, err)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("err = %v, want errors.Is %v", err, sentinel)
	}
	if hookd.ErrorMessage(err) == "internal error" {
		t.Errorf("err %v is not a *hookd.Error", err)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains a secret", err)
		}
	}
}
