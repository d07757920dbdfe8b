package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/logtest"
	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/store/postgres"
	"github.com/hookd/hookd/store/storetest"
)

// A server that comes up while Open waits is used; Open logged the wait.
func TestOpenWaitsForTheServer(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr, server := l.Addr().String(), u.Host
	l.Close() // refused until the proxy below listens there
	u.Host = addr

	var logs logtest.Buffer
	opened := make(chan error, 1)
	go func() {
		db, err := postgres.Open(context.Background(), u.String(), postgres.Options{
			Wait: time.Minute, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err == nil {
			db.Close()
		}
		opened <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "waiting for PostgreSQL") {
		if time.Now().After(deadline) {
			t.Fatalf("no wait logged: %q", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	proxy, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	go func() {
		for {
			c, err := proxy.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", server)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	if err := <-opened; err != nil {
		t.Fatalf("Open after the server came up: %v", err)
	}
}

func TestCheckSchemaAndReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.URL(t)
	r, err := postgres.Open(ctx, u, postgres.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "no hookd tables") {
		t.Fatalf("CheckSchema of an empty schema: %v", err)
	}
	w := open(t, u) // migrated
	if _, err := w.Accept(ctx, []hookd.Submission{storetest.Submission("svc", "k1", `{}`, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := r.CheckSchema(ctx); err != nil {
		t.Errorf("CheckSchema of a migrated schema: %v", err)
	}
	if events, _, err := r.Events(ctx, hookd.EventFilter{}); err != nil || len(events) != 1 {
		t.Errorf("Events = %d, %v", len(events), err)
	}
	if _, err := r.Accept(ctx, []hookd.Submission{storetest.Submission("svc", "k2", `{}`, 0)}); err == nil {
		t.Error("a read-only store accepted a write")
	}
}
