package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/verify"
)

// benchSecretEnv carries the services' secret to the baseline server, which
// keeps it off the command line that ps shows.
const benchSecretEnv = "HOOKD_BENCH_SECRET"

// benchBaseline runs the bare baseline server for "hookd bench": for every
// POST /webhooks/{service} it does what hookd does before storage (verify,
// take the key, check the JSON and its email field) and answers 202 with
// hookd's body, storing nothing. It prints its bound address on stdout and
// serves until ctx ends.
func (c *cli) benchBaseline(ctx context.Context, args []string) error {
	fs := c.flags("bench-baseline", "Serves the bare baseline of \"hookd bench\". Not for direct use.")
	listen := fs.String("listen", "127.0.0.1:0", "listen `address`")
	if err := parse(fs, args); err != nil {
		return err
	}
	secret := os.Getenv(benchSecretEnv)
	if secret == "" {
		return fmt.Errorf("bench-baseline: $%s is not set", benchSecretEnv)
	}
	v, err := verify.New(verify.Config{Scheme: "hmac-sha256", Secrets: []string{secret}})
	if err != nil {
		return fmt.Errorf("bench-baseline: %w", err)
	}
	mux := http.NewServeMux()
	h := &baseline{verifier: v}
	mux.HandleFunc("/webhooks/{service}", h.serve)
	mux.HandleFunc("/webhooks/{service}/{$}", h.serve)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("bench-baseline: %w", err)
	}
	log := slog.New(slog.NewTextHandler(c.stderr, nil))
	// The settings of hookd's listener (Main.listen), so that the baseline
	// differs from hookd only by what happens after verification.
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(c.stdout, "listening on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// baseline is the baseline server's handler.
type baseline struct{ verifier hookd.Verifier }

// serve handles one webhook as hookd's ingest does up to storage.
func (b *baseline) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	} else if err != nil {
		http.Error(w, "the body could not be read", http.StatusBadRequest)
		return
	}
	if err := b.verifier.Verify(&hookd.Request{Header: r.Header, Body: body, URL: r.URL}); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		if v := gjson.GetBytes(body, "idempotency_key"); v.Type == gjson.String || v.Type == gjson.Number {
			key = v.String()
		}
	}
	if key == "" || len(key) > 255 {
		http.Error(w, "missing or invalid idempotency key", http.StatusBadRequest)
		return
	}
	if !gjson.ValidBytes(body) {
		http.Error(w, "invalid JSON", http.StatusBadRequest)
		return
	}
	if v := gjson.GetBytes(body, "email"); v.Type != gjson.String || !hookd.ValidEmail(v.Str) {
		http.Error(w, "missing or invalid email", http.StatusBadRequest)
		return
	}
	// The answer hookd writes (httpapi's writeJSON), with a fresh event id.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(benchAccepted{
		Status: "accepted", EventID: store.NewEventID(), Service: r.PathValue("service"), IdempotencyKey: key,
	})
}

// benchAccepted is hookd's 202 body (httpapi's, which is not exported).
type benchAccepted struct {
	Status         string `json:"status"`
	EventID        string `json:"event_id"`
	Service        string `json:"service"`
	IdempotencyKey string `json:"idempotency_key"`
}
