package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/store/sqlite"
	"github.com/hookd/hookd/verify"
)

// FuzzIngest feeds arbitrary bodies, keys and signature headers to the
// ingest handler over a real SQLite store. It must never panic, must
// always answer a status of the README's ingest table with a well-formed
// body, and must never store a request that is not correctly signed.
func FuzzIngest(f *testing.F) {
	f.Add([]byte(`{"idempotency_key":"k","email":"ada@example.com"}`), "", true, "")
	f.Add([]byte(`{"idempotency_key":"k","email":"not an address"}`), "", true, "")
	f.Add([]byte(`{"email":"ada@example.com"}`), "key-in-header", true, "")
	f.Add([]byte(`not json`), "k", true, "")
	f.Add([]byte(`{"idempotency_key":"k","email":"ada@example.com"}`), "", false, "sha256=00")
	f.Add([]byte(`{}`), "\x00\xff", true, "")
	f.Add([]byte(`{"idempotency_key":{"nested":1},"email":"a@b.co"}`), "", false, "")

	db, err := sqlite.Open(filepath.Join(f.TempDir(), "hookd.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		f.Fatal(err)
	}
	v, err := verify.New(verify.Config{Secrets: []string{secret}})
	if err != nil {
		f.Fatal(err)
	}
	svc := &hookd.Service{Name: "mail", Verifier: v, MaxBody: 4096, IdempotencyTTL: time.Hour, Actions: []hookd.Action{
		{Type: hookd.ActionEmail, MaxAttempts: 4, Email: &hookd.EmailAction{Field: "email"}},
	}}
	h := (&httpapi.Ingest{Services: map[string]*hookd.Service{"mail": svc}, Accepter: db}).Handler()

	allowed := map[int]bool{200: true, 202: true, 400: true, 401: true, 413: true, 422: true}
	f.Fuzz(func(t *testing.T, body []byte, key string, sign bool, signature string) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/mail", bytes.NewReader(body))
		genuine, _ := v.Sign(body, "", time.Now())
		if sign {
			req.Header.Set("X-Signature", genuine.Get("X-Signature"))
		} else {
			req.Header.Set("X-Signature", signature)
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("status %d is not one of the contract's", rec.Code)
		}
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("status %d with a body that is not JSON: %q", rec.Code, rec.Body.Bytes())
		}
		isGenuine := sign || signature == genuine.Get("X-Signature")
		if rec.Code < 300 && !isGenuine {
			t.Fatalf("status %d for a request that is not correctly signed", rec.Code)
		}
		if rec.Code == 401 && isGenuine {
			t.Fatalf("a correctly signed request was refused: %v", answer)
		}
	})
}
