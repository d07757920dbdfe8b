package email

import (
	"errors"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/smtptest"
)

// poolSender returns a Sender for srv configured by c's pool fields.
func poolSender(t *testing.T, srv *smtptest.Server, c Config) *Sender {
	t.Helper()
	c.URL, c.From, c.Timeout = srv.URL(), "hookd <noreply@example.com>", waitFor
	s, err := NewSender(c)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitUntil waits for cond, failing the test after waitFor.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", waitFor, what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSendReusesConnection(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := smtptest.SelfSignedTLS(t)
	srv := smtptest.StartWith(t, smtptest.Options{TLSConfig: serverTLS, Username: "hookd", Password: "c0rrect-h0rse"})
	s, err := NewSender(Config{
		URL:  strings.Replace(srv.URL(), "://", "://hookd:c0rrect-h0rse@", 1),
		From: "hookd <noreply@example.com>", Timeout: waitFor, TLSConfig: clientTLS,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 5
	for i := range n {
		if _, err := s.Send(t.Context(), testMessage); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	msgs := srv.WaitMessages(t, n, waitFor)
	if got := srv.Connections(); got != 1 {
		t.Errorf("%d messages took %d connections, want 1", n, got)
	}
	for i, m := range msgs {
		if !m.TLS || m.User != "hookd" || m.Subject != testMessage.Subject {
			t.Errorf("message %d: TLS %v, user %q, subject %q", i, m.TLS, m.User, m.Subject)
		}
	}
}

func TestSendMaxMessagesPerConnection(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := poolSender(t, srv, Config{MaxMessages: 2})
	for i := range 5 {
		if _, err := s.Send(t.Context(), testMessage); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	srv.WaitMessages(t, 5, waitFor)
	if got := srv.Connections(); got != 3 {
		t.Errorf("5 messages, 2 per connection: %d connections, want 3", got)
	}
}

func TestSendIdleConnectionClosed(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := poolSender(t, srv, Config{IdleTimeout: 20 * time.Millisecond})
	if _, err := s.Send(t.Context(), testMessage); err != nil {
		t.Fatal(err)
	}
	// The sweep closes the idle connection: the pool holds none.
	waitUntil(t, "the idle connection to be closed", func() bool {
		s.pool.mu.Lock()
		defer s.pool.mu.Unlock()
		return len(s.pool.idle) == 0
	})
	if _, err := s.Send(t.Context(), testMessage); err != nil {
		t.Fatal(err)
	}
	srv.WaitMessages(t, 2, waitFor)
	if got := srv.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2 (the first closed when idle)", got)
	}
}

func TestSendMaxConnAge(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := poolSender(t, srv, Config{MaxConnAge: time.Nanosecond})
	for i := range 3 {
		if _, err := s.Send(t.Context(), testMessage); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	srv.WaitMessages(t, 3, waitFor)
	if got := srv.Connections(); got != 3 {
		t.Errorf("connections = %d, want 3 (none young enough to reuse)", got)
	}
}

// A server that closed a connection while it was idle (its own timeout, a
// restart): the message goes on a new connection, once.
func TestSendServerDroppedIdleConnection(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := poolSender(t, srv, Config{})
	if _, err := s.Send(t.Context(), testMessage); err != nil {
		t.Fatal(err)
	}
	srv.WaitMessages(t, 1, waitFor)
	srv.CloseConnections()
	if _, err := s.Send(t.Context(), testMessage); err != nil {
		t.Fatalf("Send after the server dropped the connection: %v", err)
	}
	if msgs := srv.WaitMessages(t, 2, waitFor); len(msgs) != 2 {
		t.Errorf("server has %d messages, want 2", len(msgs))
	}
	if got := srv.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
	// The new connection is kept.
	if _, err := s.Send(t.Context(), testMessage); err != nil {
		t.Fatal(err)
	}
	srv.WaitMessages(t, 3, waitFor)
	if got := srv.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
}

// A connection lost after the message data went out, before the server's
// reply: the server may have the message, so Send does not send it again;
// the error is transient, for the job's own retry.
func TestSendConnectionLostAfterData(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := poolSender(t, srv, Config{})
	if _, err := s.Send(t.Context(), testMessage); err != nil {
		t.Fatal(err)
	}
	srv.DropNext(1)
	_, err := s.Send(t.Context(), testMessage)
	if err == nil || hookd.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient error", err)
	}
	if got := srv.Attempts(); got != 2 {
		t.Errorf("transactions = %d, want 2: the message was sent again", got)
	}
	if _, err := s.Send(t.Context(), testMessage); err != nil {
		t.Fatalf("Send after the lost connection: %v", err)
	}
	srv.WaitMessages(t, 2, waitFor)
	if got := srv.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2 (the broken one discarded)", got)
	}
}

// A refusal on a reused connection keeps its class and the server's
// words, and is not sent again.
func TestSendReusedConnectionReplies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code      int
		permanent bool
	}{{421, false}, {451, false}, {550, true}, {554, true}} {
		srv := smtptest.Start(t)
		s := poolSender(t, srv, Config{})
		if _, err := s.Send(t.Context(), testMessage); err != nil {
			t.Fatal(err)
		}
		srv.FailNext(1, tc.code)
		_, err := s.Send(t.Context(), testMessage)
		if err == nil || hookd.IsPermanent(err) != tc.permanent {
			t.Fatalf("%d: err = %v, want permanent=%v", tc.code, err, tc.permanent)
		}
		if te, ok := errors.AsType[*textproto.Error](err); !ok || te.Code != tc.code {
			t.Errorf("%d: error %v does not carry the reply code", tc.code, err)
		}
		if !strings.Contains(err.Error(), "(smtptest)") {
			t.Errorf("%d: error %q lacks the server's words", tc.code, err)
		}
		if got := srv.Attempts(); got != 2 {
			t.Errorf("%d: transactions = %d, want 2", tc.code, got)
		}
		if _, err := s.Send(t.Context(), testMessage); err != nil {
			t.Fatalf("%d: Send after the refusal: %v", tc.code, err)
		}
		srv.WaitMessages(t, 2, waitFor)
	}
}

// With every connection in use, a Send waits for one rather than opening
// more.
func TestSendConcurrencyBoundedByPool(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := poolSender(t, srv, Config{MaxConns: 2})
	release := srv.HoldData()
	const n = 8
	errc := make(chan error, n)
	for range n {
		go func() { _, err := s.Send(t.Context(), testMessage); errc <- err }()
	}
	waitUntil(t, "2 transactions in flight and 6 Sends waiting", func() bool {
		s.pool.mu.Lock()
		defer s.pool.mu.Unlock()
		return srv.Attempts() == 2 && s.pool.waiters == n-2
	})
	release()
	for range n {
		if err := <-errc; err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	srv.WaitMessages(t, n, waitFor)
	if got := srv.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
}

func TestSendAfterClose(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := poolSender(t, srv, Config{})
	if _, err := s.Send(t.Context(), testMessage); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Send(t.Context(), testMessage); err == nil {
		t.Error("Send after Close succeeded")
	}
	if got := srv.Connections(); got != 1 {
		t.Errorf("connections = %d, want 1", got)
	}
}
