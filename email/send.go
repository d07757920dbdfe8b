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

// Sender sends messages to one SMTP server. It is safe for concurrent use;
// every Send opens its own connection.
type Sender struct {
	endpoint Endpoint
	from     string
	timeout  time.Duration
	tls      *tls.Config
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
	return &Sender{
		endpoint: e,
		from:     c.From,
		timeout:  cmp.Or(c.Timeout, DefaultSendTimeout),
		tls:      tc,
	}, nil
}

// Send delivers m, taking at most the configured timeout and giving up when
// ctx ends. It returns nil once the server has accepted the message, a
// hookd.Permanent error when retrying cannot help (an SMTP 5xx reply, an
// invalid recipient or subject), and a plain error otherwise (an SMTP 4xx
// reply, a connection failure, a timeout). No error contains the password.
func (s *Sender) Send(ctx context.Context, m Message) error {
	if !hookd.ValidEmail(m.To) {
		return hookd.Permanent(fmt.Errorf("email: invalid recipient address %q", m.To))
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		// Render never produces one; a caller that does would inject headers.
		return hookd.Permanent(errors.New("email: subject contains a line break"))
	}

	msg := mail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return hookd.Permanent(fmt.Errorf("email: from: %w", err))
	}
	if err := msg.To(m.To); err != nil {
		return hookd.Permanent(fmt.Errorf("email: to: %w", err))
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetUserAgent("hookd")
	msg.SetBodyString(mail.TypeTextPlain, m.Body)

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	client, err := s.client(ctx)
	if err != nil {
		return hookd.Permanent(fmt.Errorf("email: %s", s.redact(err.Error())))
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	err = classify(err)
	if !hookd.IsPermanent(err) && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
	}
	return s.wrap(err)
}

// client builds a go-mail client for one Send. Building one per Send keeps
// Sender free of shared connection state (go-mail's Client is not meant for
// concurrent dials with different outcomes).
func (s *Sender) client(ctx context.Context) (*mail.Client, error) {
	e := s.endpoint
	opts := []mail.Option{
		mail.WithPort(e.Port),
		mail.WithTimeout(s.timeout),
		mail.WithTLSConfig(s.tls),
		mail.WithDialContextFunc(s.dialer(ctx)),
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

// dialer connects (with a TLS handshake for smtps) and ties the connection
// to ctx: when ctx ends, the connection is closed. go-mail only uses its
// context to dial; closing the connection is what interrupts a conversation
// that is under way, and it also closes connections that go-mail leaves
// open when the greeting or EHLO fails.
func (s *Sender) dialer(ctx context.Context) mail.DialContextFunc {
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		if s.endpoint.ImplicitTLS {
			tc := tls.Client(conn, s.tls)
			if err := tc.HandshakeContext(dctx); err != nil {
				_ = conn.Close()
				return nil, err
			}
			conn = tc
		}
		context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
}

// classify marks err permanent when retrying cannot help.
func classify(err error) error {
	if se, ok := errors.AsType[*mail.SendError](err); ok {
		switch se.Reason {
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
			return hookd.Permanent(err)
		}
		// IsTemp is false for errors without a reply code too (a broken
		// connection while writing), so decide by the reply code.
		if code := se.ErrorCode(); code >= 500 && code <= 599 {
			return hookd.Permanent(err)
		}
		return err
	}
	// Replies before the transaction: the greeting, EHLO, STARTTLS, AUTH
	// (535 for bad credentials).
	if te, ok := errors.AsType[*textproto.Error](err); ok && te.Code >= 500 && te.Code <= 599 {
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
	if r := serverReply(text); r != "" {
		text = r
	}
	msg := fmt.Sprintf("email: send via %s: %s", s.endpoint, s.redact(text))
	e := &sendError{msg: msg, err: err}
	if hookd.IsPermanent(err) {
		return hookd.Permanent(e)
	}
	return e
}

// replyText finds an SMTP reply as net/textproto prints it: the code, then
// the server's text quoted by Go, e.g. `550 "5.1.1 user unknown"`.
var replyText = regexp.MustCompile(`\b([2-5][0-9][0-9]) ("(?:[^"\\]|\\.)*")`)

// serverReply returns the first SMTP reply in msg as the server wrote it
// ("550 5.1.1 user unknown"), or "" when msg holds none.
func serverReply(msg string) string {
	m := replyText.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	text, err := strconv.Unquote(m[2])
	if err != nil {
		return ""
	}
	// A multi-line reply arrives joined with newlines; one line reads
	// better in a table and cannot fake another log line.
	text = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, text)
	return m[1] + " " + text
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
