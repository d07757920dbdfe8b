package email

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/hookd/hookd"
)

// Message is one email to send.
type Message struct {
	To      string // a bare address, e.g. "ada@example.com"
	Subject string // one line: no CR or LF
	Body    string // plain text
}

// Sender sends messages to one SMTP server. It is safe for concurrent use.
// It keeps up to Config.MaxConns connections open and sends many messages
// on each; Close closes them.
type Sender struct {
	endpoint Endpoint
	from     string
	timeout  time.Duration
	tls      *tls.Config
	pool     *pool
}

// NewSender validates c and returns a Sender for it. It does not connect.
func NewSender(c Config) (*Sender, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	e, _ := ParseURL(c.URL) // validated above
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSConfig != nil {
		tc = c.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = e.Host
	}
	c.MaxConns = cmp.Or(c.MaxConns, DefaultMaxConns)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.MaxMessages = cmp.Or(c.MaxMessages, DefaultMaxMessages)
	c.MaxConnAge = cmp.Or(c.MaxConnAge, DefaultMaxConnAge)
	s := &Sender{
		endpoint: e,
		from:     c.From,
		timeout:  cmp.Or(c.Timeout, DefaultSendTimeout),
		tls:      tc,
	}
	s.pool = newPool(s, c)
	return s, nil
}

// Send delivers m, taking at most the configured timeout and giving up when
// ctx ends. It returns nil once the server has accepted the message, a
// hookd.Permanent error when retrying cannot help (an SMTP 5xx reply, an
// invalid recipient or subject), and a plain error otherwise (an SMTP 4xx
// reply, a connection failure, a timeout). No error contains the password.
//
// The Reply is the server's last: on success, its reply to the message's
// data (250 and its text, often a queue ID); on failure, the reply that
// refused it, or none when the server said nothing (a connection failure,
// a timeout).
func (s *Sender) Send(ctx context.Context, m Message) (hookd.Reply, error) {
	if !hookd.ValidEmail(m.To) {
		return hookd.Reply{}, hookd.Permanent(fmt.Errorf("email: invalid recipient address %q", m.To))
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		// Render never produces one; a caller that does would inject headers.
		return hookd.Reply{}, hookd.Permanent(errors.New("email: subject contains a line break"))
	}

	msg := mail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return hookd.Reply{}, hookd.Permanent(fmt.Errorf("email: from: %w", err))
	}
	if err := msg.To(m.To); err != nil {
		return hookd.Reply{}, hookd.Permanent(fmt.Errorf("email: to: %w", err))
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetUserAgent("hookd")
	msg.SetBodyString(mail.TypeTextPlain, m.Body)

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	text, err := s.send(ctx, msg)
	if err == nil {
		// The text of the server's reply to the data; the code is 250,
		// the only one the client takes for success there.
		return hookd.Reply{Code: 250, Text: hookd.Snippet(s.redact(oneLine(text)), hookd.MaxReply)}, nil
	}
	var reply hookd.Reply
	if code, text, ok := replyOf(err); ok {
		reply = hookd.Reply{Code: code, Text: hookd.Snippet(s.redact(text), hookd.MaxReply)}
	}
	err = classify(err)
	if !hookd.IsPermanent(err) && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
	}
	return reply, s.wrap(err)
}

// Close closes the connections kept open between messages. A Send after
// Close fails; one under way finishes and closes its connection.
func (s *Sender) Close() error {
	s.pool.close()
	return nil
}

// send sends msg on a pooled connection. When a connection that was kept
// open fails before the server accepted anything (the server closed it
// while it was idle), msg is sent once more on a new connection.
func (s *Sender) send(ctx context.Context, msg *mail.Msg) (reply string, err error) {
	c, err := s.pool.get(ctx)
	if err != nil {
		return "", err
	}
	reply, healthy, err := c.send(ctx, msg)
	if err != nil && c.reused && unsent(err) && ctx.Err() == nil {
		if c, err = s.pool.redial(ctx, c); err != nil {
			return "", err
		}
		reply, healthy, err = c.send(ctx, msg)
	}
	s.pool.put(c, healthy)
	return reply, err
}

// unsent reports whether err shows that the server took nothing of the
// message: the failure came before its data, and was no reply refusing it
// (a connection error, or 421: the server is closing the connection).
func unsent(err error) bool {
	te, ok := errors.AsType[*txError](err)
	if !ok {
		return false
	}
	switch te.step {
	case stepMail, stepRcpt, stepData:
		code, _, _ := replyOf(err)
		return code == 0 || code == 421
	}
	return false
}

// dial opens a connection to the server: TCP (and TLS for smtps), the
// greeting, EHLO, STARTTLS and AUTH. When ctx ends meanwhile, the
// connection is closed (go-mail only uses its context to connect).
func (s *Sender) dial(ctx context.Context) (*conn, error) {
	c := &conn{created: time.Now()}
	var stop func() bool
	mc, err := s.client(func(dctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := s.connect(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		c.nc = nc
		stop = context.AfterFunc(ctx, func() { _ = nc.Close() })
		return nc, nil
	})
	if err != nil {
		return nil, hookd.Permanent(err) // an option go-mail refuses
	}
	c.mc = mc
	c.sc, err = mc.DialToSMTPClientWithContext(ctx)
	if stop != nil && !stop() && err == nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		// go-mail leaves the connection open when the greeting, EHLO,
		// STARTTLS or AUTH fails.
		if c.nc != nil {
			_ = c.nc.Close()
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	return c, nil
}

// client builds the go-mail client of one connection, dialing with dial.
func (s *Sender) client(dial mail.DialContextFunc) (*mail.Client, error) {
	e := s.endpoint
	opts := []mail.Option{
		mail.WithPort(e.Port),
		mail.WithTimeout(s.timeout),
		mail.WithTLSConfig(s.tls),
		mail.WithDialContextFunc(dial),
		// A NOOP before each message and its RSET costs a round trip; a
		// connection the server dropped shows at MAIL instead, before
		// anything of the message was sent.
		mail.WithoutNoop(),
	}
	if e.ImplicitTLS {
		// The dialer does the handshake; WithSSL tells go-mail not to try
		// STARTTLS on top of it.
		opts = append(opts, mail.WithSSL())
	} else if e.Username != "" {
		// Never send a password in clear: with credentials, STARTTLS is
		// mandatory.
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if e.Username != "" {
		opts = append(opts,
			mail.WithUsername(e.Username),
			mail.WithPassword(e.Password),
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlain, mail.SMTPAuthLogin),
		)
	}
	return mail.NewClient(e.Host, opts...)
}

// connect opens a TCP connection, with a TLS handshake for smtps.
func (s *Sender) connect(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if s.endpoint.ImplicitTLS {
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, err
		}
		conn = tc
	}
	return conn, nil
}

// classify marks err permanent when retrying cannot help.
func classify(err error) error {
	if te, ok := errors.AsType[*txError](err); ok && te.step == stepCompose {
		return hookd.Permanent(err)
	}
	// A reply in the transaction, or before it: the greeting, EHLO,
	// STARTTLS, AUTH (535 for bad credentials).
	if code, _, _ := replyOf(err); code >= 500 && code <= 599 {
		return hookd.Permanent(err)
	}
	return err
}

// wrap prefixes err with the endpoint and, in the unlikely case that some
// layer quoted the password, hides it, keeping err's chain intact. When the
// server replied, the message is that reply (e.g. "550 5.1.1 user
// unknown"): go-mail's own words around it ("send failed: closing SMTP
// DATA writer: … affected message ID: …") only hide what the server said.
func (s *Sender) wrap(err error) error {
	text := err.Error()
	if code, r, ok := replyOf(err); ok {
		text = strconv.Itoa(code) + " " + r
	}
	msg := fmt.Sprintf("email: send via %s: %s", s.endpoint, s.redact(text))
	e := &sendError{msg: msg, err: err}
	if hookd.IsPermanent(err) {
		return hookd.Permanent(e)
	}
	return e
}

// replyOf returns the server's reply that err carries: its code and its
// text on one line; ok is false when the server said nothing (a broken
// connection, a timeout).
func replyOf(err error) (code int, text string, ok bool) {
	if te, ok := errors.AsType[*textproto.Error](err); ok {
		return te.Code, oneLine(te.Msg), true
	}
	// go-mail's dialling errors keep the reply only in their text.
	return serverReply(err.Error())
}

// replyText finds an SMTP reply as net/textproto prints it: the code, then
// the server's text quoted by Go, e.g. `550 "5.1.1 user unknown"`.
var replyText = regexp.MustCompile(`\b([2-5][0-9][0-9]) ("(?:[^"\\]|\\.)*")`)

// serverReply returns the first SMTP reply in msg as the server wrote it:
// its code and its text ("5.1.1 user unknown"); ok is false when msg holds
// none.
func serverReply(msg string) (code int, text string, ok bool) {
	m := replyText.FindStringSubmatch(msg)
	if m == nil {
		return 0, "", false
	}
	text, err := strconv.Unquote(m[2])
	if err != nil {
		return 0, "", false
	}
	code, _ = strconv.Atoi(m[1]) // three digits
	return code, oneLine(text), true
}

// oneLine makes a reply's text one line: a multi-line reply arrives joined
// with newlines; one line reads better in a table and cannot fake another
// log line.
func oneLine(text string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, text)
}

func (s *Sender) redact(msg string) string {
	if p := s.endpoint.Password; p != "" {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	return msg
}

// sendError is a Send failure: a redacted message over the original chain,
// so errors.As still finds *mail.SendError.
type sendError struct {
	msg string
	err error
}

func (e *sendError) Error() string { return e.msg }
func (e *sendError) Unwrap() error { return e.err }
