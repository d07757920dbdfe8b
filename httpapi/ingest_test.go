package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/store/sqlite"
	"github.com/hookd/hookd/verify"
)

const secret = "s3cret-for-tests"

// The services' limits, which the configuration always sets.
const (
	maxBody = 1 << 20
	ttl     = 7 * 24 * time.Hour
)

type testBundle struct {
	url      string
	db       *sqlite.DB
	services map[string]*hookd.Service
	rej      *httpapi.Rejections
}

func newVerifier(t *testing.T, c verify.Config) hookd.Verifier {
	t.Helper()
	v, err := verify.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	t.Parallel()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	hmacV := newVerifier(t, verify.Config{Secrets: []string{secret}})
	services := map[string]*hookd.Service{
		"mail": {Name: "mail", Verifier: hmacV, MaxBody: maxBody, IdempotencyTTL: ttl, Actions: []hookd.Action{
			{Type: hookd.ActionEmail, MaxAttempts: 4, Email: &hookd.EmailAction{Field: "user.email", Template: "welcome"}},
		}},
		"store": {Name: "store", Verifier: hmacV, MaxBody: 64, IdempotencyTTL: ttl, Actions: []hookd.Action{{Type: hookd.ActionNoop}}},
		"stripe": {Name: "stripe", Verifier: newVerifier(t, verify.Config{Scheme: "stripe", Secrets: []string{"whsec_test_0123456789"}}),
			MaxBody: maxBody, IdempotencyTTL: ttl, Actions: []hookd.Action{{Type: hookd.ActionNoop}}},
	}
	rej := httpapi.NewRejections(10)
	in := &httpapi.Ingest{Services: services, Accepter: db, Rejections: rej}
	srv := httptest.NewServer(in.Handler())
	t.Cleanup(srv.Close)
	return &testBundle{url: srv.URL, db: db, services: services, rej: rej}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// post sends body to service, signed unless unsigned, with extra headers.
func (b *testBundle) post(t *testing.T, service, body string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.url+"/webhooks/"+service, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if svc := b.services[service]; svc != nil {
		h, err := svc.Verifier.Sign([]byte(body), "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range h {
			req.Header[k] = v
		}
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
		}
	}
	return a
}

// wantProblem checks a problem answer.
func wantProblem(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d (body %v)", a.status, status, a.body)
	}
	if got := a.header.Get("Content-Type"); got != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", got)
	}
	if a.body["type"] != httpapi.ProblemTypeBase+code || a.body["status"] != float64(status) ||
		a.body["title"] == "" || a.body["detail"] == "" {
		t.Errorf("problem = %v, want type …/%s", a.body, code)
	}
}

// wantNothingStored checks that the store holds no event and no job.
func (b *testBundle) wantNothingStored(t *testing.T) {
	t.Helper()
	events, _, err := b.db.Events(context.Background(), hookd.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := b.db.Dispatch(context.Background(), 100); n != 0 || err != nil {
		t.Fatalf("Dispatch = %d, %v: jobs were stored", n, err)
	}
	jobs, _, err := b.db.Jobs(context.Background(), hookd.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 || len(jobs) != 0 {
		t.Fatalf("%d events and %d jobs stored for a rejected request", len(events), len(jobs))
	}
}

const goodBody = `{"idempotency_key":"k-1","user":{"email":"ada@example.com"}}`

// TestContractTable walks the README's table "How a webhook is handled",
// one row per subtest.
func TestContractTable(t *testing.T) {
	t.Parallel()
	rejected := []struct {
		name    string
		service string
		method  string
		body    string
		header  map[string]string
		status  int
		code    string
	}{
		{"UnknownService", "nope", "POST", goodBody, nil, 404, hookd.EUnknownService},
		{"MethodNotPost", "mail", "GET", "", nil, 405, hookd.EMethodNotAllowed},
		{"BodyOverLimit", "store", "POST", `{"idempotency_key":"k","pad":"` + strings.Repeat("x", 64) + `"}`, nil, 413, hookd.EPayloadTooLarge},
		{"SignatureMissing", "mail", "POST", goodBody, map[string]string{"X-Signature": ""}, 401, hookd.EInvalidSignature},
		{"SignatureMalformed", "mail", "POST", goodBody, map[string]string{"X-Signature": "sha256=zz"}, 401, hookd.EInvalidSignature},
		{"SignatureWrong", "mail", "POST", goodBody, map[string]string{"X-Signature": "sha256=" + strings.Repeat("ab", 32)}, 401, hookd.EInvalidSignature},
		{"TimestampOutOfTolerance", "stripe", "POST", `{"id":"evt_1"}`, nil, 401, hookd.ETimestampOutOfTolerance},
		{"IdempotencyKeyMissing", "mail", "POST", `{"user":{"email":"ada@example.com"}}`, nil, 400, hookd.EMissingIdempotencyKey},
		{"IdempotencyKeyTooLong", "mail", "POST", goodBody, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 400, hookd.EInvalidIdempotencyKey},
		{"IdempotencyKeyControlChar", "mail", "POST", `{"idempotency_key":"a\u0001b","user":{"email":"ada@example.com"}}`, nil, 400, hookd.EInvalidIdempotencyKey},
		{"PayloadNotJSON", "mail", "POST", `email=ada@example.com`, map[string]string{"Idempotency-Key": "k"}, 400, hookd.EInvalidJSON},
		{"EmailMissing", "mail", "POST", `{"idempotency_key":"k","user":{}}`, nil, 400, hookd.EMissingField},
		{"EmailInvalid", "mail", "POST", `{"idempotency_key":"k","user":{"email":"not-an-address"}}`, nil, 400, hookd.EInvalidEmail},
		{"EmailNotString", "mail", "POST", `{"idempotency_key":"k","user":{"email":42}}`, nil, 400, hookd.EInvalidEmail},
	}
	for _, tt := range rejected {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t)
			var a answer
			if tt.name == "TimestampOutOfTolerance" {
				// Signed correctly, but ten minutes ago.
				h, _ := b.services["stripe"].Verifier.Sign([]byte(tt.body), "", time.Now().Add(-10*time.Minute))
				tt.header = map[string]string{"Stripe-Signature": h.Get("Stripe-Signature")}
			}
			if tt.method == "POST" {
				a = b.post(t, tt.service, tt.body, tt.header)
			} else {
				req, _ := http.NewRequest(tt.method, b.url+"/webhooks/"+tt.service, nil)
				a = do(t, req)
			}
			wantProblem(t, a, tt.status, tt.code)
			if tt.code == hookd.EMethodNotAllowed && a.header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", a.header.Get("Allow"))
			}
			if strings.Contains(a.body["detail"].(string), secret) {
				t.Errorf("detail echoes the secret: %v", a.body["detail"])
			}
			b.wantNothingStored(t)
		})
	}

	t.Run("AcceptedThenDuplicateThenConflict", func(t *testing.T) {
		b := setup(t)
		a := b.post(t, "mail", goodBody, nil)
		if a.status != http.StatusAccepted || a.body["status"] != "accepted" || a.body["service"] != "mail" ||
			a.body["idempotency_key"] != "k-1" || !strings.HasPrefix(a.body["event_id"].(string), "evt_") {
			t.Fatalf("first: %d %v", a.status, a.body)
		}
		id := a.body["event_id"]
		ev, err := b.db.Event(context.Background(), id.(string))
		if err != nil || len(ev.Jobs) != 1 || string(ev.Body) != goodBody {
			t.Fatalf("stored event = %+v, %v", ev, err)
		}

		d := b.post(t, "mail", goodBody, nil)
		if d.status != http.StatusOK || d.body["status"] != "duplicate" || d.body["event_id"] != id {
			t.Fatalf("duplicate: %d %v", d.status, d.body)
		}
		c := b.post(t, "mail", `{"idempotency_key":"k-1","user":{"email":"bob@example.com"}}`, nil)
		wantProblem(t, c, http.StatusUnprocessableEntity, hookd.EIdempotencyKeyReused)
		events, _, _ := b.db.Events(context.Background(), hookd.EventFilter{})
		b.db.Dispatch(context.Background(), 100)
		jobs, _, _ := b.db.Jobs(context.Background(), hookd.JobFilter{})
		if len(events) != 1 || len(jobs) != 1 {
			t.Fatalf("%d events, %d jobs after accepted+duplicate+conflict; want 1, 1", len(events), len(jobs))
		}
	})

	t.Run("TrailingSlashAndHeaderKey", func(t *testing.T) {
		b := setup(t)
		req, _ := http.NewRequest(http.MethodPost, b.url+"/webhooks/store/", strings.NewReader(`{}`))
		h, _ := b.services["store"].Verifier.Sign([]byte(`{}`), "", time.Now())
		req.Header = h
		req.Header.Set("Idempotency-Key", "from-header")
		a := do(t, req)
		if a.status != http.StatusAccepted || a.body["idempotency_key"] != "from-header" {
			t.Fatalf("%d %v", a.status, a.body)
		}
	})

	t.Run("KeyNeedingJSONEscapes", func(t *testing.T) {
		b := setup(t)
		key := `quote" back\slash ünïcødé <tag>`
		a := b.post(t, "store", `{}`, map[string]string{"Idempotency-Key": key})
		if a.status != http.StatusAccepted || a.body["idempotency_key"] != key || a.body["status"] != "accepted" {
			t.Fatalf("%d %v, want the key back intact", a.status, a.body)
		}
	})

	t.Run("ChunkedBodyOverLimit", func(t *testing.T) {
		b := setup(t)
		body := strings.Repeat("x", 65)
		req, _ := http.NewRequest(http.MethodPost, b.url+"/webhooks/store", io.NopCloser(strings.NewReader(body)))
		req.ContentLength = -1 // sent chunked: no declared length to refuse early
		a := do(t, req)
		wantProblem(t, a, http.StatusRequestEntityTooLarge, hookd.EPayloadTooLarge)
		b.wantNothingStored(t)
	})

	t.Run("RejectionsAreRecorded", func(t *testing.T) {
		b := setup(t)
		b.post(t, "mail", goodBody, map[string]string{"X-Signature": ""})
		b.post(t, "nope", goodBody, nil) // counted under one fixed service name
		list := b.rej.List()
		if len(list) != 2 || list[1].Service != "mail" || list[1].Code != hookd.EInvalidSignature ||
			list[1].Reason != "header-missing" || list[1].RemoteAddr == "" ||
			list[0].Service != "(unknown)" || list[0].Path != "/webhooks/nope" || list[0].Reason != "unknown-service" {
			t.Fatalf("rejections = %+v", list)
		}
	})
}
