package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/logtest"
	"github.com/hookd/hookd/store/sqlite"
	"github.com/hookd/hookd/verify"
)

// server is an ingest and an admin listener over one SQLite store, the
// way hookd serve wires them.
type server struct {
	ingest, admin string
	services      map[string]*hookd.Service
	log           *logtest.Buffer
}

func startServer(t *testing.T, services map[string]*hookd.Service) *server {
	t.Helper()
	for _, svc := range services { // the limits config would give them
		if svc.MaxBody == 0 {
			svc.MaxBody = 1 << 20
		}
		if svc.IdempotencyTTL == 0 {
			svc.IdempotencyTTL = time.Hour
		}
	}
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	rej := httpapi.NewRejections(0)
	in := &httpapi.Ingest{Services: services, Accepter: db, Rejections: rej, Metrics: httpapi.NewMetrics(reg), Logger: log}
	ad := &httpapi.Admin{Store: db, Services: services, Rejections: rej, Gatherer: reg, Logger: log}
	is, as := httptest.NewServer(in.Handler()), httptest.NewServer(ad.Handler())
	t.Cleanup(is.Close)
	t.Cleanup(as.Close)
	return &server{ingest: is.URL, admin: as.URL, services: services, log: logs}
}

func (s *server) send(t *testing.T, path string, body string, header http.Header) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.ingest+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

// rejections returns GET /api/rejections, raw and decoded.
func (s *server) rejections(t *testing.T) (string, []map[string]any) {
	t.Helper()
	resp, err := http.Get(s.admin + "/api/rejections")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v struct {
		Rejections []map[string]any `json:"rejections"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("GET /api/rejections: %d %q", resp.StatusCode, raw)
	}
	return string(raw), v.Rejections
}

// metrics returns the /metrics lines of hookd_webhooks_rejected_total.
func (s *server) rejectedMetric(t *testing.T) []string {
	t.Helper()
	resp, err := http.Get(s.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		if strings.HasPrefix(line, "hookd_webhooks_rejected_total{") {
			out = append(out, line)
		}
	}
	return out
}

func hmacHex(key, body string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func TestUnknownServiceIsCountedWithoutItsPath(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]*hookd.Service{
		"mail": {Name: "mail", Verifier: newVerifier(t, verify.Config{Secrets: []string{secret}}), Actions: []hookd.Action{{Type: hookd.ActionNoop}}},
	})
	// A sender-chosen path: long, with a quote, an escaped newline and
	// something that looks like a label.
	name := `evil"%0Aservice="x` + strings.Repeat("A", 1000)
	a := s.send(t, "/webhooks/"+name, `{}`, nil)
	wantProblem(t, a, http.StatusNotFound, hookd.EUnknownService)

	raw, list := s.rejections(t)
	if len(list) != 1 || list[0]["service"] != "(unknown)" || list[0]["reason"] != "unknown-service" || list[0]["code"] != hookd.EUnknownService {
		t.Fatalf("rejections = %s", raw)
	}
	path, _ := list[0]["path"].(string)
	if !strings.HasPrefix(path, `/webhooks/evil"`) || len(path) > 256+len("…") || !strings.HasSuffix(path, "…") {
		t.Errorf("path = %q, want the path cut to 256 bytes", path)
	}
	if strings.Contains(strings.TrimSpace(raw), "\n") { // the path holds a decoded %0A
		t.Errorf("the answer holds a raw newline: %s", raw)
	}
	m := s.rejectedMetric(t)
	if !slices.Equal(m, []string{`hookd_webhooks_rejected_total{reason="unknown-service",service="(unknown)"} 1`}) {
		t.Errorf("metric = %q, want one series with the fixed service label", m)
	}
}

func TestRejectionsGiveThePreciseReason(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	s := startServer(t, map[string]*hookd.Service{
		"mail": {Name: "mail", MaxBody: 64, Verifier: newVerifier(t, verify.Config{Secrets: []string{secret}}), Actions: []hookd.Action{{Type: hookd.ActionNoop}}},
		"stripe": {Name: "stripe", Verifier: newVerifier(t, verify.Config{Scheme: "stripe", Secrets: []string{"whsec_test-secret-0123456789"}, Now: func() time.Time { return now }}),
			Actions: []hookd.Action{{Type: hookd.ActionNoop}}},
	})
	body := `{"idempotency_key":"k1"}`
	stripeSig := func(ts int64) http.Header {
		t := strconv.FormatInt(ts, 10)
		return http.Header{"Stripe-Signature": {"t=" + t + ",v1=" + hmacHex("whsec_test-secret-0123456789", t+"."+body)}}
	}
	for _, c := range []struct {
		path   string
		body   string
		header http.Header
		reason string
	}{
		{"/webhooks/mail", body, nil, "header-missing"},
		{"/webhooks/mail", body, http.Header{"X-Signature": {"sha256=zz"}}, "header-malformed"},
		{"/webhooks/mail", body, http.Header{"X-Signature": {"a", "b"}}, "header-repeated"},
		{"/webhooks/mail", body, http.Header{"X-Signature": {hmacHex("not-the-secret", body)}}, "no-secret-matched"},
		{"/webhooks/mail", strings.Repeat("x", 65), nil, "body-too-large"},
		{"/webhooks/stripe", body, stripeSig(now.Unix() - 600), "timestamp-skew"},
	} {
		a := s.send(t, c.path, c.body, c.header)
		if a.status < 400 || a.body["diagnosis"] != nil || a.body["reason"] != nil {
			t.Errorf("%s: %d %v: want a refusal without the admin's details", c.reason, a.status, a.body)
		}
		_, list := s.rejections(t)
		if list[0]["reason"] != c.reason {
			t.Errorf("rejection reason = %v, want %s (%v)", list[0]["reason"], c.reason, list[0])
		}
	}
	_, list := s.rejections(t)
	if list[0]["skew_seconds"] != float64(600) {
		t.Errorf("timestamp-skew rejection: %v, want skew_seconds 600", list[0])
	}
	m := s.rejectedMetric(t)
	for _, want := range []string{
		`{reason="header-missing",service="mail"} 1`, `{reason="header-malformed",service="mail"} 1`,
		`{reason="header-repeated",service="mail"} 1`, `{reason="no-secret-matched",service="mail"} 1`,
		`{reason="body-too-large",service="mail"} 1`, `{reason="timestamp-skew",service="stripe"} 1`,
	} {
		if !slices.Contains(m, "hookd_webhooks_rejected_total"+want) {
			t.Errorf("metric lacks %s: %q", want, m)
		}
	}
}

func TestSignatureMismatchDiagnosis(t *testing.T) {
	t.Parallel()
	rawKey := []byte("0123456789abcdef-raw-key-bytes")
	b64Secret := base64.StdEncoding.EncodeToString(rawKey)
	s := startServer(t, map[string]*hookd.Service{
		"mail":   {Name: "mail", Verifier: newVerifier(t, verify.Config{Secrets: []string{secret}}), Actions: []hookd.Action{{Type: hookd.ActionNoop}}},
		"b64":    {Name: "b64", Verifier: newVerifier(t, verify.Config{Secrets: []string{b64Secret}}), Actions: []hookd.Action{{Type: hookd.ActionNoop}}},
		"github": {Name: "github", Verifier: newVerifier(t, verify.Config{Scheme: "github", Secrets: []string{secret}}), Actions: []hookd.Action{{Type: hookd.ActionNoop}}},
		"twilio": {Name: "twilio", Verifier: newVerifier(t, verify.Config{Scheme: "twilio", Secrets: []string{secret}, URL: "https://hooks.example.com/webhooks/twilio"}),
			Actions: []hookd.Action{{Type: hookd.ActionNoop}}},
	})
	body := `{"idempotency_key":"k1"}`
	m := hmac.New(sha256.New, rawKey)
	m.Write([]byte(body))
	decodedSig := hex.EncodeToString(m.Sum(nil))
	sent := map[string]string{ // what each case sends in its signature header
		"newline": "sha256=" + hmacHex(secret, body+"\n"),
		"base64":  "sha256=" + decodedSig,
		"prefix":  hmacHex(secret, body),
		"wrong":   "sha256=" + strings.ToUpper(hmacHex("another", body)),
	}
	for _, c := range []struct {
		name, path, header, wantShape, wantMatch string
	}{
		// The sender signed the body with a newline a proxy then removed.
		{"newline", "/webhooks/mail", "X-Signature", "sha256=<64 hex>", "the body ended with a newline"},
		// The sender used the bytes the base64 secret encodes.
		{"base64", "/webhooks/b64", "X-Signature", "sha256=<64 hex>", "the secret were base64-decoded before use"},
		// GitHub requires the prefix.
		{"prefix", "/webhooks/github", "X-Hub-Signature-256", "<64 hex>", `the value began with the "sha256=" prefix`},
		// Nothing explains it.
		{"wrong", "/webhooks/mail", "X-Signature", "sha256=<64 HEX>", ""},
	} {
		a := s.send(t, c.path, body, http.Header{c.header: {sent[c.name]}})
		if a.status != http.StatusUnauthorized || len(a.body) != 4 {
			t.Fatalf("%s: %d %v, want a plain 401 problem", c.name, a.status, a.body)
		}
		raw, list := s.rejections(t)
		d, _ := list[0]["diagnosis"].(map[string]any)
		sum := sha256.Sum256([]byte(body))
		if d == nil || d["header"] != c.header || d["header_shape"] != c.wantShape ||
			d["body_length"] != float64(len(body)) || d["body_sha256"] != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: diagnosis = %v", c.name, list[0])
		}
		matches, _ := d["would_match_if"].([]any)
		if (c.wantMatch == "" && len(matches) != 0) || (c.wantMatch != "" && !slices.Contains(matches, any(c.wantMatch))) {
			t.Errorf("%s: would_match_if = %v, want %q", c.name, matches, c.wantMatch)
		}
		// Neither the secret, nor what was sent, nor a valid signature.
		for _, never := range []string{secret, b64Secret, strings.TrimPrefix(sent[c.name], "sha256="), hmacHex(secret, body), decodedSig} {
			if strings.Contains(strings.ToLower(raw), strings.ToLower(never)) {
				t.Errorf("%s: GET /api/rejections shows %q", c.name, never)
			}
		}
	}

	// Twilio: the URL the signature was checked against.
	a := s.send(t, "/webhooks/twilio?From=%2B1555", "a=1", http.Header{"X-Twilio-Signature": {base64.StdEncoding.EncodeToString(make([]byte, 20))}})
	if a.status != http.StatusUnauthorized {
		t.Fatalf("twilio: %d %v", a.status, a.body)
	}
	_, list := s.rejections(t)
	d, _ := list[0]["diagnosis"].(map[string]any)
	if d == nil || d["signed_url"] != "https://hooks.example.com/webhooks/twilio?From=%2B1555" || d["header_shape"] != "<28 base64>" {
		t.Fatalf("twilio diagnosis = %v", list[0])
	}
}

// A flood of refused signatures is diagnosed only at a bounded rate, and
// logged at a bounded rate with a count of the lines left out.
func TestRejectionFloodIsBounded(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]*hookd.Service{
		"mail": {Name: "mail", Verifier: newVerifier(t, verify.Config{Secrets: []string{secret}}), Actions: []hookd.Action{{Type: hookd.ActionNoop}}},
	})
	const n = 200
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := i; j < n; j += 8 {
				body := fmt.Sprintf(`{"n":%d}`, j)
				req, _ := http.NewRequest(http.MethodPost, s.ingest+"/webhooks/mail", strings.NewReader(body))
				req.Header.Set("X-Signature", hmacHex("forged", body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	_, list := s.rejections(t)
	skipped := 0
	for _, r := range list {
		if r["diagnosis_skipped"] == true {
			skipped++
		}
	}
	if len(list) != n || skipped == 0 || skipped == n {
		t.Errorf("%d rejections, %d not diagnosed: want %d, some diagnosed and some not", len(list), skipped, n)
	}

	// Every rejection is either logged or counted in a later summary.
	var logged, suppressed int
	waitUntil(t, "the suppressed lines to be counted", func() bool {
		logged, suppressed = 0, 0
		for _, r := range s.log.Records() {
			switch r["msg"] {
			case "webhook rejected":
				logged++
				if r["level"] != "INFO" || r["reason"] != "no-secret-matched" {
					t.Fatalf("log line %v", r)
				}
			case "webhook rejections not logged: too many":
				suppressed += int(r["suppressed"].(float64))
			}
		}
		return logged+suppressed == n
	})
	if suppressed == 0 {
		t.Errorf("all %d rejections were logged", n)
	}
}

func TestConflictNamesTheEventHoldingTheKey(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]*hookd.Service{
		"mail": {Name: "mail", Verifier: newVerifier(t, verify.Config{Secrets: []string{secret}}), Actions: []hookd.Action{{Type: hookd.ActionNoop}}},
	})
	post := func(body string) answer {
		return s.send(t, "/webhooks/mail", body, http.Header{"X-Signature": {hmacHex(secret, body)}})
	}
	first := post(`{"idempotency_key":"k1","n":1}`)
	dup := post(`{"idempotency_key":"k1","n":1}`)
	id, _ := first.body["event_id"].(string)
	if first.status != http.StatusAccepted || dup.status != http.StatusOK || id == "" {
		t.Fatalf("first %d %v, duplicate %d", first.status, first.body, dup.status)
	}
	a := post(`{"idempotency_key":"k1","n":2}`)
	wantProblem(t, a, http.StatusUnprocessableEntity, hookd.EIdempotencyKeyReused)
	if a.body["event_id"] != id || !strings.Contains(a.body["detail"].(string), id) {
		t.Errorf("422 = %v, want it to name %s", a.body, id)
	}
	_, list := s.rejections(t)
	if list[0]["event_id"] != id || list[0]["reason"] != hookd.EIdempotencyKeyReused {
		t.Errorf("rejection = %v", list[0])
	}

	// One DEBUG line each for the accepted and the duplicate request, one
	// INFO line for the conflict.
	var lines []string
	for _, r := range s.log.Records() {
		lines = append(lines, fmt.Sprint(r["level"], " ", r["msg"], " ", r["event_id"]))
	}
	want := []string{"DEBUG webhook accepted " + id, "DEBUG webhook duplicate " + id, "INFO webhook rejected " + id}
	if !slices.Equal(lines, want) {
		t.Errorf("log = %q, want %q", lines, want)
	}
}

// waitUntil polls cond until it holds, failing the test after a deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
