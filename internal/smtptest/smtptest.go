package smtptest

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configure a server started with StartWith. The zero value is what
// Start uses: plain SMTP, no authentication.
type Options struct {
	// TLSConfig, when set, makes the server offer STARTTLS (or, with
	// ImplicitTLS, speak TLS from the first byte). See SelfSignedTLS.
	TLSConfig *tls.Config

	// ImplicitTLS makes every connection start with a TLS handshake, like
	// port 465 (smtps). It requires TLSConfig.
	ImplicitTLS bool

	// Username and Password, when Username is set, make the server require
	// AUTH PLAIN with these credentials before MAIL. AUTH is only offered
	// over TLS, so they also need TLSConfig.
	Username string
	Password string
}

// Message is one accepted message.
type Message struct {
	From string   // the MAIL FROM address
	To   []string // the RCPT TO addresses, in order
	Data []byte   // the raw message as received, headers included

	// Subject is the decoded Subject header (RFC 2047 words decoded).
	Subject string
	// Body is the first text part, with its transfer encoding
	// (quoted-printable or base64) undone and CRLF turned into LF.
	Body string

	// TLS reports whether the transaction ran over TLS (STARTTLS or implicit).
	TLS bool
	// User is the authenticated user name, "" without AUTH.
	User string
}

// Server is an SMTP server listening on 127.0.0.1. Create one with Start
// or StartWith.
type Server struct {
	opts Options
	addr string
	srv  *smtp.Server

	mu         sync.Mutex
	msgs       []Message
	changed    chan struct{} // closed and replaced whenever msgs or attempts change
	attempts   int
	failNext   int
	failCode   int
	failAlways int
	dropNext   int
	closed     bool
	t          testing.TB

	conns    map[net.Conn]bool // open client connections
	accepted int               // connections accepted so far
	held     chan struct{}     // while set, DATA waits until it is closed
}

// Start starts a plain SMTP server (no TLS, no authentication) on
// 127.0.0.1:0. It is closed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a server configured by o on 127.0.0.1:0. It is closed
// when the test ends.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	if o.ImplicitTLS && o.TLSConfig == nil {
		t.Fatal("smtptest: ImplicitTLS needs a TLSConfig")
	}
	if o.Username != "" && o.TLSConfig == nil {
		t.Fatal("smtptest: AUTH needs a TLSConfig (it is only offered over TLS)")
	}
	s := &Server{opts: o, changed: make(chan struct{}), t: t, conns: map[net.Conn]bool{}}

	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = tl.Addr().String()
	var l net.Listener = &countingListener{Listener: tl, s: s}
	if o.ImplicitTLS {
		l = tls.NewListener(l, o.TLSConfig)
	}

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.TLSConfig = o.TLSConfig
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = testLogger{s}
	s.srv = srv

	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		s.mu.Lock()
		s.closed = true
		if s.held != nil {
			close(s.held)
			s.held = nil
		}
		s.mu.Unlock()
		_ = srv.Close()
		// Close only closes listeners that Serve has registered; if the
		// test ends before the goroutine got there, close it ourselves.
		_ = l.Close()
		<-served
	})
	return s
}

// URL returns the server's address as "smtp://127.0.0.1:PORT", or with the
// scheme "smtps" when it was started with ImplicitTLS.
func (s *Server) URL() string {
	if s.opts.ImplicitTLS {
		return "smtps://" + s.addr
	}
	return "smtp://" + s.addr
}

// Addr returns the server's "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.addr }

// Messages returns a copy of the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// WaitMessages waits until at least n messages have been accepted and
// returns them all. After timeout it fails the test, listing what it has.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			msgs := slices.Clone(s.msgs)
			s.mu.Unlock()
			return msgs
		}
		changed := s.changed
		s.mu.Unlock()

		select {
		case <-changed:
		case <-timer.C:
			msgs := s.Messages()
			var b strings.Builder
			for i, m := range msgs {
				fmt.Fprintf(&b, "\n  %d: from %s to %v subject %q", i, m.From, m.To, m.Subject)
			}
			t.Fatalf("smtptest: waited %v for %d messages, got %d (%d transactions attempted)%s",
				timeout, n, len(msgs), s.Attempts(), b.String())
			return nil
		}
	}
}

// FailNext makes the next n transactions fail with the reply code (4xx or
// 5xx, e.g. 421 or 550) at the end of DATA; later ones are accepted again.
// A transaction counts from its MAIL command. A FailAlways code in effect
// takes precedence.
func (s *Server) FailNext(n int, code int) {
	mustFailCode(code)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failCode = n, code
}

// FailAlways makes every transaction fail with the reply code until
// FailAlways(0) is called.
func (s *Server) FailAlways(code int) {
	if code != 0 {
		mustFailCode(code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAlways = code
}

// Attempts returns the number of transactions (MAIL commands) seen so far,
// failed and accepted ones alike.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// DropNext makes the next n transactions end with the connection closed
// after the message data arrived and before any reply: the client cannot
// tell whether the message was accepted (it was not).
func (s *Server) DropNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropNext = n
}

// Connections returns the number of client connections accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// CloseConnections closes every open client connection, as a server does
// to clients idle too long or when it restarts; the listener stays open.
func (s *Server) CloseConnections() {
	s.mu.Lock()
	conns := slices.Collect(maps.Keys(s.conns))
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// HoldData makes every transaction wait at the end of DATA, before it is
// accepted or refused, until the returned release is called. Tests use it
// to keep transactions in flight.
func (s *Server) HoldData() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := make(chan struct{})
	s.held = held
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.held == held {
			close(held)
			s.held = nil
		}
	}
}

func mustFailCode(code int) {
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("smtptest: reply code %d is not 4xx or 5xx", code))
	}
}

// smtpError is the reply for a failing transaction, with an enhanced status
// code (RFC 3463) that fits the reply code.
func smtpError(code int) *smtp.SMTPError {
	enh := smtp.EnhancedCode{code / 100, 0, 0}
	msg := "Transaction failed (smtptest)"
	switch code {
	case 421:
		enh, msg = smtp.EnhancedCode{4, 3, 2}, "Service not available, closing transmission channel (smtptest)"
	case 450, 451:
		enh, msg = smtp.EnhancedCode{4, 3, 0}, "Temporary failure, try again later (smtptest)"
	case 452:
		enh, msg = smtp.EnhancedCode{4, 3, 1}, "Insufficient system storage (smtptest)"
	case 550:
		enh, msg = smtp.EnhancedCode{5, 7, 1}, "Message refused (smtptest)"
	case 552:
		enh, msg = smtp.EnhancedCode{5, 3, 4}, "Message too big (smtptest)"
	case 554:
		enh, msg = smtp.EnhancedCode{5, 6, 0}, "Transaction failed (smtptest)"
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
}

// begin counts a transaction and decides whether it fails: it returns the
// reply code to fail with, or 0.
func (s *Server) begin() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	s.notifyLocked()
	switch {
	case s.failAlways != 0:
		return s.failAlways
	case s.failNext > 0:
		s.failNext--
		return s.failCode
	}
	return 0
}

func (s *Server) deliver(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	s.notifyLocked()
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{srv: s, conn: c}, nil
}

// session is one client connection's state; go-smtp makes a new one after
// STARTTLS.
type session struct {
	srv  *Server
	conn *smtp.Conn
	user string

	from     string
	to       []string
	failCode int
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

func (ss *session) AuthMechanisms() []string {
	if ss.srv.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.srv.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if (identity != "" && identity != username) ||
			username != ss.srv.opts.Username || password != ss.srv.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from, ss.to = from, nil
	ss.failCode = ss.srv.begin()
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.srv
	s.mu.Lock()
	held, drop := s.held, s.dropNext > 0
	if drop {
		s.dropNext--
	}
	s.mu.Unlock()
	if held != nil {
		<-held
	}
	if drop {
		_ = ss.conn.Close()
		return errors.New("smtptest: connection dropped")
	}
	if ss.failCode != 0 {
		return smtpError(ss.failCode)
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m := Message{From: ss.from, To: slices.Clone(ss.to), Data: data, TLS: isTLS, User: ss.user}
	m.Subject, m.Body = parse(data)
	ss.srv.deliver(m)
	return nil
}

func (ss *session) Reset() {
	ss.from, ss.to, ss.failCode = "", nil, 0
}

func (ss *session) Logout() error { return nil }

// parse extracts the decoded subject and the first text part's body; a
// message it cannot parse gives empty strings (the raw Data is kept).
func parse(data []byte) (subject, body string) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return "", ""
	}
	subject = msg.Header.Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = dec
	}
	b, _ := textBody(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return subject, strings.ReplaceAll(string(b), "\r\n", "\n")
}

// textBody returns the decoded content of the first text/* part of an
// entity with the given headers.
func textBody(contentType, encoding string, r io.Reader) ([]byte, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain" // RFC 2045's default
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart() // raw: we undo the transfer encoding ourselves
			if err != nil {
				return nil, err
			}
			b, err := textBody(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			if err == nil {
				return b, nil
			}
		}
	}
	if !strings.HasPrefix(mediaType, "text/") {
		return nil, errors.New("not text")
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &crlfStripper{r: r})
	}
	return io.ReadAll(r)
}

// crlfStripper drops CR and LF, which base64 bodies contain every 76 bytes.
type crlfStripper struct{ r io.Reader }

func (c *crlfStripper) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		j := 0
		for _, b := range p[:n] {
			if b != '\r' && b != '\n' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// countingListener counts and tracks the connections it accepts, so that
// tests can count connections and close them from the server's side.
type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	l.s.accepted++
	l.s.conns[tc] = true
	l.s.notifyLocked()
	l.s.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	s *Server
}

func (c *trackedConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	return c.Conn.Close()
}

// testLogger sends the go-smtp server's error log to the test log while
// the test runs (logging after the test ends would panic).
type testLogger struct{ s *Server }

func (l testLogger) Printf(format string, v ...any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if !l.s.closed {
		l.s.t.Logf("smtptest: "+format, v...)
	}
}

func (l testLogger) Println(v ...any) {
	l.Printf("%s", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
