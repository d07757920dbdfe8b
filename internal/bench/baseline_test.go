package bench

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/verify"
)

// TestBaseline checks that the baseline answers as hookd's ingest does up
// to storage: the load's signed requests get 202 with hookd's body, resent
// ones 202 again (nothing is stored), and requests hookd refuses before
// storage are refused alike.
func TestBaseline(t *testing.T) {
	t.Parallel()
	const secret = "bench-test-secret"
	v, err := verify.New(verify.Config{Scheme: "hmac-sha256", Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]*hookd.Service{"email": {Name: "email", Verifier: v, MaxBody: 1 << 20, IdempotencyTTL: time.Hour,
		Actions: []hookd.Action{{Type: hookd.ActionEmail, Email: &hookd.EmailAction{Field: "email"}}}}}
	srv := httptest.NewServer(Baseline(services, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	url := srv.URL + "/webhooks/email"

	l := &load{URL: url, Secret: []byte(secret), Connections: 2, BodySize: 200, Duplicates: 0.5, KeyPrefix: "t", Count: 40}
	r, err := l.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Accepted != 40 || r.answered() != 40 {
		t.Errorf("the load: %d of 40 answered 202 (%d duplicates sent, %d answered 200, %d non-2xx, %d errors; first: %s)",
			r.Accepted, r.DupsSent, r.Duplicates, r.Non2xx, r.Errors, r.FirstError)
	}

	post := func(body string, sign bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if sign {
			h, err := v.(interface {
				Sign([]byte, string, time.Time) (http.Header, error)
			}).Sign([]byte(body), url, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range h {
				req.Header[k] = vs
			}
		} else {
			req.Header.Set("X-Signature", strings.Repeat("0", 64))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post(`{"idempotency_key":"k1","email":"a@example.com"}`, true)
	var answer map[string]string
	if err := json.Unmarshal([]byte(body), &answer); code != http.StatusAccepted || err != nil ||
		answer["status"] != "accepted" || !strings.HasPrefix(answer["event_id"], "evt_") ||
		answer["service"] != "email" || answer["idempotency_key"] != "k1" {
		t.Errorf("a signed request: %d %s; want 202 with hookd's body", code, body)
	}
	if code, body := post(`{"idempotency_key":"k2","email":"a@example.com"}`, false); code != http.StatusUnauthorized {
		t.Errorf("a wrong signature: %d %s; want 401", code, body)
	}
	if code, body := post(`{"idempotency_key":"k3"}`, true); code != http.StatusBadRequest || !strings.Contains(body, "email") {
		t.Errorf("no email field: %d %s; want 400 naming the field", code, body)
	}
}
