package smtptest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const waitFor = 5 * time.Second

// rawMessage is a quoted-printable message with an RFC 2047 subject, the
// way go-mail writes one.
const rawMessage = "From: <a@example.com>\r\n" +
	"To: <b@example.com>\r\n" +
	"Subject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Hello =C3=BCber a long line that was soft-=\r\n" +
	"wrapped.\r\n" +
	"Second line.\r\n"

// send delivers one message over a plain connection with go-smtp's client.
func send(t *testing.T, addr, from, to, data string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	return c.SendMail(from, []string{to}, strings.NewReader(data))
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	if !strings.HasPrefix(srv.URL(), "smtp://127.0.0.1:") || !strings.HasSuffix(srv.URL(), srv.Addr()) {
		t.Fatalf("URL() = %q, Addr() = %q", srv.URL(), srv.Addr())
	}
	if err := send(t, srv.Addr(), "a@example.com", "b@example.com", rawMessage); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := srv.WaitMessages(t, 1, waitFor)
	m := msgs[0]
	if m.From != "a@example.com" || len(m.To) != 1 || m.To[0] != "b@example.com" {
		t.Errorf("envelope = %q -> %q", m.From, m.To)
	}
	if m.Subject != "Grüße" {
		t.Errorf("Subject = %q, want %q", m.Subject, "Grüße")
	}
	if want := "Hello über a long line that was soft-wrapped.\nSecond line.\n"; m.Body != want {
		t.Errorf("Body = %q, want %q", m.Body, want)
	}
	if !strings.Contains(string(m.Data), "Content-Transfer-Encoding: quoted-printable") {
		t.Errorf("Data is not the raw message: %q", m.Data)
	}
	if m.TLS || m.User != "" {
		t.Errorf("TLS = %v, User = %q; want a plain, unauthenticated transaction", m.TLS, m.User)
	}
	if got := srv.Attempts(); got != 1 {
		t.Errorf("Attempts() = %d, want 1", got)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	for _, code := range []int{421, 450, 550, 554} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			srv := Start(t)
			srv.FailNext(2, code)
			for i := range 2 {
				err := send(t, srv.Addr(), "a@example.com", "b@example.com", rawMessage)
				if smtpCode(err) != code {
					t.Fatalf("send %d: err = %v, want code %d", i, err, code)
				}
				var se *smtp.SMTPError
				errors.As(err, &se)
				if se.EnhancedCode[0] != code/100 {
					t.Errorf("enhanced code %v does not match %d", se.EnhancedCode, code)
				}
			}
			if err := send(t, srv.Addr(), "a@example.com", "b@example.com", rawMessage); err != nil {
				t.Fatalf("third send: %v", err)
			}
			if got := len(srv.WaitMessages(t, 1, waitFor)); got != 1 {
				t.Errorf("got %d messages, want 1 (failed ones are not recorded)", got)
			}
			if got := srv.Attempts(); got != 3 {
				t.Errorf("Attempts() = %d, want 3", got)
			}
		})
	}
}

func TestFailNext421Enhanced(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	srv.FailNext(1, 421)
	err := send(t, srv.Addr(), "a@example.com", "b@example.com", rawMessage)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 421 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 2}) {
		t.Fatalf("err = %#v, want 421 4.3.2", err)
	}
}

func TestFailAlways(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	srv.FailAlways(550)
	for range 3 {
		if err := send(t, srv.Addr(), "a@example.com", "b@example.com", rawMessage); smtpCode(err) != 550 {
			t.Fatalf("err = %v, want 550", err)
		}
	}
	srv.FailAlways(0)
	if err := send(t, srv.Addr(), "a@example.com", "b@example.com", rawMessage); err != nil {
		t.Fatalf("after FailAlways(0): %v", err)
	}
	if got := srv.Attempts(); got != 4 {
		t.Errorf("Attempts() = %d, want 4", got)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Errorf("len(Messages()) = %d, want 1", got)
	}
}

func TestFailCodeValidated(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	for _, code := range []int{0, 250, 600} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FailNext(1, %d) did not panic", code)
				}
			}()
			srv.FailNext(1, code)
		}()
	}
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	const n = 20
	srv.FailNext(5, 451)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			data := strings.Replace(rawMessage, "Second line.", fmt.Sprintf("Message %d.", i), 1)
			errs <- send(t, srv.Addr(), "a@example.com", fmt.Sprintf("rcpt%d@example.com", i), data)
		})
	}
	// Readers run concurrently with the sends (for the race detector).
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			_ = srv.Messages()
			_ = srv.Attempts()
		}
	}()
	wg.Wait()
	<-done
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if smtpCode(err) != 451 {
				t.Errorf("unexpected error: %v", err)
			}
			failed++
		}
	}
	if failed != 5 {
		t.Errorf("%d sends failed, want 5", failed)
	}
	if got := len(srv.WaitMessages(t, n-5, waitFor)); got != n-5 {
		t.Errorf("got %d messages, want %d", got, n-5)
	}
	if got := srv.Attempts(); got != n {
		t.Errorf("Attempts() = %d, want %d", got, n)
	}
}

func TestWaitMessagesWakesUp(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	got := make(chan int, 1)
	go func() { got <- len(srv.WaitMessages(t, 2, waitFor)) }()
	for range 2 {
		if err := send(t, srv.Addr(), "a@example.com", "b@example.com", rawMessage); err != nil {
			t.Fatal(err)
		}
	}
	if n := <-got; n != 2 {
		t.Errorf("WaitMessages returned %d messages, want 2", n)
	}
}

// fatalTB records Fatalf and ends the calling goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func TestWaitMessagesTimeout(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	if err := send(t, srv.Addr(), "a@example.com", "b@example.com", rawMessage); err != nil {
		t.Fatal(err)
	}
	ftb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.WaitMessages(ftb, 2, 50*time.Millisecond)
		t.Error("WaitMessages returned instead of failing the test")
	}()
	<-done
	ftb.mu.Lock()
	defer ftb.mu.Unlock()
	if !strings.Contains(ftb.msg, "got 1") || !strings.Contains(ftb.msg, `subject "Grüße"`) {
		t.Errorf("timeout message = %q; want it to list what arrived", ftb.msg)
	}
}

func TestStartTLSAndAuth(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := SelfSignedTLS(t)
	srv := StartWith(t, Options{TLSConfig: serverTLS, Username: "user", Password: "s3cret"})
	clientTLS.ServerName = "127.0.0.1"

	t.Run("no auth over plain", func(t *testing.T) {
		c, err := smtp.Dial(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("localhost"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := c.Extension("STARTTLS"); !ok {
			t.Error("STARTTLS not offered")
		}
		if ok, _ := c.Extension("AUTH"); ok {
			t.Error("AUTH offered before TLS")
		}
		if err := c.Mail("a@example.com", nil); smtpCode(err) != 502 {
			t.Errorf("MAIL without AUTH: err = %v, want 502", err)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		c, err := smtp.DialStartTLS(srv.Addr(), clientTLS)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", "user", "wrong")); smtpCode(err) != 535 {
			t.Errorf("AUTH with a wrong password: err = %v, want 535", err)
		}
	})

	t.Run("deliver", func(t *testing.T) {
		c, err := smtp.DialStartTLS(srv.Addr(), clientTLS)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", "user", "s3cret")); err != nil {
			t.Fatalf("AUTH: %v", err)
		}
		if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(rawMessage)); err != nil {
			t.Fatalf("send: %v", err)
		}
		m := srv.WaitMessages(t, 1, waitFor)[0]
		if !m.TLS || m.User != "user" {
			t.Errorf("TLS = %v, User = %q; want true, user", m.TLS, m.User)
		}
	})
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := SelfSignedTLS(t)
	srv := StartWith(t, Options{TLSConfig: serverTLS, ImplicitTLS: true})
	if !strings.HasPrefix(srv.URL(), "smtps://127.0.0.1:") {
		t.Errorf("URL() = %q, want smtps://", srv.URL())
	}
	clientTLS.ServerName = "127.0.0.1"
	c, err := smtp.DialTLS(srv.Addr(), clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(rawMessage)); err != nil {
		t.Fatalf("send: %v", err)
	}
	if m := srv.WaitMessages(t, 1, waitFor)[0]; !m.TLS || m.Subject != "Grüße" {
		t.Errorf("TLS = %v, Subject = %q", m.TLS, m.Subject)
	}

	// A client that does not trust the certificate fails the handshake.
	if _, err := smtp.DialTLS(srv.Addr(), &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Error("handshake with an untrusted certificate succeeded")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, subject, body string
	}{
		{
			name:    "plain 7bit",
			data:    "Subject: Hi\r\n\r\nline 1\r\nline 2\r\n",
			subject: "Hi", body: "line 1\nline 2\n",
		},
		{
			name: "base64",
			data: "Subject: =?UTF-8?b?w5xiZXI=?=\r\nContent-Type: text/plain; charset=UTF-8\r\n" +
				"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n",
			subject: "Über", body: "hello world",
		},
		{
			name: "multipart alternative",
			data: "Subject: M\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n" +
				"--XX\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
				"caf=C3=A9\r\n--XX\r\nContent-Type: text/html\r\n\r\n<p>café</p>\r\n--XX--\r\n",
			subject: "M", body: "café",
		},
		{name: "not a message", data: "garbage", subject: "", body: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			subject, body := parse([]byte(tt.data))
			if subject != tt.subject || body != tt.body {
				t.Errorf("parse() = %q, %q; want %q, %q", subject, body, tt.subject, tt.body)
			}
		})
	}
}

func TestConnectionsCloseAndDrop(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(rawMessage)); err != nil {
			t.Fatalf("SendMail: %v", err)
		}
	}
	if n := s.Connections(); n != 1 {
		t.Errorf("two messages on one connection: Connections() = %d, want 1", n)
	}

	// A dropped transaction gets no reply and is not kept.
	s.DropNext(1)
	if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(rawMessage)); err == nil || smtpCode(err) != 0 {
		t.Errorf("dropped transaction: err = %v, want a connection error", err)
	}
	if n := len(s.Messages()); n != 2 {
		t.Errorf("%d messages kept, want 2", n)
	}

	// CloseConnections ends the client's connection from the server's side.
	c2, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Noop(); err != nil {
		t.Fatal(err)
	}
	s.CloseConnections()
	if err := c2.Noop(); err == nil {
		t.Error("NOOP succeeded on a connection the server closed")
	}
	if n := s.Connections(); n != 2 {
		t.Errorf("Connections() = %d, want 2", n)
	}
}

func TestHoldData(t *testing.T) {
	t.Parallel()
	s := Start(t)
	release := s.HoldData()
	errc := make(chan error, 1)
	go func() {
		c, err := smtp.Dial(s.Addr())
		if err == nil {
			defer c.Close()
			err = c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(rawMessage))
		}
		errc <- err
	}()
	// The transaction has begun; its message is not accepted until release.
	deadline := time.Now().Add(waitFor)
	for s.Attempts() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no transaction began")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-errc:
		t.Fatalf("send finished while DATA was held: %v", err)
	default:
	}
	release()
	if err := <-errc; err != nil {
		t.Fatalf("send: %v", err)
	}
	s.WaitMessages(t, 1, waitFor)
}
