package email

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/smtptest"
)

const waitFor = 5 * time.Second

var testMessage = Message{
	To:      "ada@example.com",
	Subject: "Grüße, Ada",
	Body:    "Hello Ada,\n\nthis line is long enough to be wrapped by quoted-printable encoding, which go-mail uses by default.\nBye.\n",
}

// newSender returns a Sender for url with a short timeout; tlsConfig may be nil.
func newSender(t testing.TB, url string, tlsConfig *tls.Config) *Sender {
	t.Helper()
	s, err := NewSender(Config{URL: url, From: "hookd <noreply@example.com>", Timeout: waitFor, TLSConfig: tlsConfig})
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return s
}

// checkDelivered checks the one message srv received against testMessage.
func checkDelivered(t *testing.T, srv *smtptest.Server, wantTLS bool) smtptest.Message {
	t.Helper()
	msgs := srv.WaitMessages(t, 1, waitFor)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "noreply@example.com" {
		t.Errorf("envelope from = %q", m.From)
	}
	if len(m.To) != 1 || m.To[0] != testMessage.To {
		t.Errorf("envelope to = %q", m.To)
	}
	if m.Subject != testMessage.Subject {
		t.Errorf("Subject = %q, want %q", m.Subject, testMessage.Subject)
	}
	if got := strings.TrimRight(m.Body, "\n"); got != strings.TrimRight(testMessage.Body, "\n") {
		t.Errorf("Body = %q, want %q", m.Body, testMessage.Body)
	}
	data := string(m.Data)
	for _, h := range []string{"From: \"hookd\" <noreply@example.com>", "To: <ada@example.com>", "Date: ", "Message-ID: "} {
		if !strings.Contains(data, h) {
			t.Errorf("message lacks %q:\n%s", h, data)
		}
	}
	if m.TLS != wantTLS {
		t.Errorf("TLS = %v, want %v", m.TLS, wantTLS)
	}
	return m
}

func TestSendPlain(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL(), nil)
	reply, err := s.Send(t.Context(), testMessage)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	// go-smtp's server answers the data with "250 2.0.0 OK: queued".
	if reply != (hookd.Reply{Code: 250, Text: "2.0.0 OK: queued"}) {
		t.Errorf("reply = %+v, want the server's 250 and its text", reply)
	}
	checkDelivered(t, srv, false)
}

func TestSendTransientReply(t *testing.T) {
	t.Parallel()
	for _, code := range []int{421, 450, 451, 452} {
		srv := smtptest.Start(t)
		srv.FailNext(1, code)
		s := newSender(t, srv.URL(), nil)
		reply, err := s.Send(t.Context(), testMessage)
		if err == nil {
			t.Fatalf("%d: Send succeeded", code)
		}
		if hookd.IsPermanent(err) {
			t.Errorf("%d: error is permanent: %v", code, err)
		}
		if reply.Code != code || !strings.HasPrefix(reply.Text, "4.3.") || !strings.HasSuffix(reply.Text, "(smtptest)") {
			t.Errorf("%d: reply = %+v, want the server's code and text", code, reply)
		}
		if te, ok := errors.AsType[*textproto.Error](err); !ok || te.Code != code {
			t.Errorf("%d: error %v does not carry the reply code", code, err)
		}
		if !strings.HasPrefix(err.Error(), "email: send via smtp://127.0.0.1:") {
			t.Errorf("%d: error %q lacks context", code, err)
		}
		// The retry succeeds.
		if _, err := s.Send(t.Context(), testMessage); err != nil {
			t.Fatalf("%d: second Send: %v", code, err)
		}
		checkDelivered(t, srv, false)
	}
}

func TestSendPermanentReply(t *testing.T) {
	t.Parallel()
	for _, code := range []int{550, 552, 554} {
		srv := smtptest.Start(t)
		srv.FailAlways(code)
		s := newSender(t, srv.URL(), nil)
		reply, err := s.Send(t.Context(), testMessage)
		if !hookd.IsPermanent(err) {
			t.Errorf("%d: error is not permanent: %v", code, err)
		}
		if reply.Code != code || !strings.HasPrefix(reply.Text, "5.") || !strings.HasSuffix(err.Error(), reply.Text) {
			t.Errorf("%d: reply = %+v, want the server's code and the text the error ends with (%q)", code, reply, err)
		}
		if te, ok := errors.AsType[*textproto.Error](err); !ok || te.Code != code {
			t.Errorf("%d: error %v does not carry the reply code", code, err)
		}
		if srv.Attempts() != 1 {
			t.Errorf("%d: Attempts() = %d, want 1", code, srv.Attempts())
		}
		// The message is the server's reply, unquoted, after the endpoint:
		// no go-mail wrapper text, no message ID.
		want := "email: send via smtp://" + strings.TrimPrefix(srv.URL(), "smtp://") + ": " + strconv.Itoa(code) + " 5."
		if !strings.HasPrefix(err.Error(), want) || strings.ContainsAny(err.Error(), `"<`) || strings.Contains(err.Error(), "DATA writer") {
			t.Errorf("%d: error %q, want %q and the server's words", code, err, want+"…")
		}
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestSendConnectionRefused(t *testing.T) {
	t.Parallel()
	s := newSender(t, "smtp://"+closedAddr(t), nil)
	reply, err := s.Send(t.Context(), testMessage)
	if err == nil {
		t.Fatal("Send succeeded")
	}
	if reply != (hookd.Reply{}) {
		t.Errorf("reply = %+v, want none: the server said nothing", reply)
	}
	if hookd.IsPermanent(err) {
		t.Errorf("error is permanent: %v", err)
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("error = %q, want connection refused", err)
	}
}

// silentServer accepts connections and never says a word.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	addr := silentServer(t)
	s, err := NewSender(Config{URL: "smtp://" + addr, From: "noreply@example.com", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Send(t.Context(), testMessage)
	if err == nil || hookd.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %v with a 200ms timeout", d)
	}
}

func TestSendContextCanceled(t *testing.T) {
	t.Parallel()
	addr := silentServer(t)
	s := newSender(t, "smtp://"+addr, nil) // 5s timeout: only ctx can end it early
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	start := time.Now()
	go func() { _, err := s.Send(ctx, testMessage); errc <- err }()
	cancel()
	err := <-errc
	if err == nil || hookd.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient error", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want it to wrap context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %v after cancel", d)
	}
}

func TestSendStartTLS(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := smtptest.SelfSignedTLS(t)
	srv := smtptest.StartWith(t, smtptest.Options{TLSConfig: serverTLS})
	s := newSender(t, srv.URL(), clientTLS)
	if _, err := s.Send(t.Context(), testMessage); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, srv, true)
}

func TestSendStartTLSUntrusted(t *testing.T) {
	t.Parallel()
	serverTLS, _ := smtptest.SelfSignedTLS(t)
	srv := smtptest.StartWith(t, smtptest.Options{TLSConfig: serverTLS})
	s := newSender(t, srv.URL(), nil) // system roots: the certificate is not trusted
	_, err := s.Send(t.Context(), testMessage)
	if err == nil {
		t.Fatal("Send trusted a self-signed certificate")
	}
	if len(srv.Messages()) != 0 {
		t.Error("message delivered over an untrusted connection")
	}
}

func TestSendImplicitTLS(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := smtptest.SelfSignedTLS(t)
	srv := smtptest.StartWith(t, smtptest.Options{TLSConfig: serverTLS, ImplicitTLS: true})
	if !strings.HasPrefix(srv.URL(), "smtps://") {
		t.Fatalf("URL() = %q", srv.URL())
	}
	s := newSender(t, srv.URL(), clientTLS)
	if _, err := s.Send(t.Context(), testMessage); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, srv, true)
}

func TestSendAuth(t *testing.T) {
	t.Parallel()
	const password = "c0rrect-h0rse"
	serverTLS, clientTLS := smtptest.SelfSignedTLS(t)

	for _, implicit := range []bool{false, true} {
		srv := smtptest.StartWith(t, smtptest.Options{TLSConfig: serverTLS, ImplicitTLS: implicit, Username: "hookd", Password: password})
		url := strings.Replace(srv.URL(), "://", "://hookd:"+password+"@", 1)

		s := newSender(t, url, clientTLS)
		if _, err := s.Send(t.Context(), testMessage); err != nil {
			t.Fatalf("implicit=%v: Send: %v", implicit, err)
		}
		if m := checkDelivered(t, srv, true); m.User != "hookd" {
			t.Errorf("implicit=%v: User = %q, want hookd", implicit, m.User)
		}

		wrong := strings.Replace(srv.URL(), "://", "://hookd:wr0ng-pa55@", 1)
		_, err := newSender(t, wrong, clientTLS).Send(t.Context(), testMessage)
		if !hookd.IsPermanent(err) {
			t.Errorf("implicit=%v: bad credentials: err = %v, want permanent (535)", implicit, err)
		}
		if err != nil && strings.Contains(err.Error(), "wr0ng-pa55") {
			t.Errorf("implicit=%v: error %q contains the password", implicit, err)
		}
		if err != nil && !strings.Contains(err.Error(), "hookd:xxxxx@") {
			t.Errorf("implicit=%v: error %q does not name the redacted endpoint", implicit, err)
		}
	}
}

func TestSendAuthNeedsTLS(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t) // no STARTTLS
	url := strings.Replace(srv.URL(), "://", "://hookd:s3cr3t-pw@", 1)
	_, err := newSender(t, url, nil).Send(t.Context(), testMessage)
	if err == nil {
		t.Fatal("Send sent credentials without TLS")
	}
	if strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Errorf("error %q contains the password", err)
	}
	if srv.Attempts() != 0 {
		t.Errorf("Attempts() = %d, want 0", srv.Attempts())
	}
}

func TestSendRejectsBadMessages(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL(), nil)
	for _, m := range []Message{
		{To: "not an address", Subject: "x", Body: "x"},
		{To: "Ada <ada@example.com>", Subject: "x", Body: "x"},
		{To: "ada@example.com", Subject: "x\r\nBcc: eve@example.com", Body: "x"},
		{To: "ada@example.com", Subject: "x\nBcc: eve@example.com", Body: "x"},
	} {
		if _, err := s.Send(t.Context(), m); !hookd.IsPermanent(err) {
			t.Errorf("Send(%+v) = %v, want a permanent error", m, err)
		}
	}
	if srv.Attempts() != 0 {
		t.Errorf("Attempts() = %d, want 0", srv.Attempts())
	}
}

func TestSendConcurrent(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL(), nil)
	const n = 8
	errc := make(chan error, n)
	for range n {
		go func() { _, err := s.Send(t.Context(), testMessage); errc <- err }()
	}
	for range n {
		if err := <-errc; err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	srv.WaitMessages(t, n, waitFor)
}
