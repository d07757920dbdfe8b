package email

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Default ports, timeout and connection reuse.
const (
	DefaultPort        = 25  // for smtp:// URLs
	DefaultPortTLS     = 465 // for smtps:// URLs
	DefaultSendTimeout = 30 * time.Second

	DefaultMaxConns    = 16
	DefaultIdleTimeout = 30 * time.Second
	DefaultMaxMessages = 100
	DefaultMaxConnAge  = 5 * time.Minute
)

// Config configures a Sender. It is plain data: the config package fills it
// from YAML and the environment.
type Config struct {
	// URL is the SMTP server: smtp://host[:port] (STARTTLS when the server
	// offers it, plain otherwise) or smtps://host[:port] (implicit TLS).
	// Optional user:password@ credentials are sent with AUTH PLAIN (or
	// LOGIN) and only ever over TLS: with credentials, an smtp:// server
	// must offer STARTTLS. The port defaults to 25 for smtp and 465 for
	// smtps. Required.
	URL string

	// From is the sender, an RFC 5322 address with an optional display
	// name, e.g. "hookd <noreply@example.com>". Required.
	From string

	// Timeout bounds one Send: waiting for a free connection, connecting,
	// the SMTP conversation and the message transfer. Defaults to 30s.
	Timeout time.Duration

	// MaxConns bounds the connections open to the server, and so the
	// messages in flight: a Send waits for a free connection. hookd serve
	// sets it to workers.max_per_destination, the cap on attempts in
	// flight to one destination. Defaults to DefaultMaxConns.
	MaxConns int

	// A connection is kept open for further messages until it has been
	// idle for IdleTimeout (servers drop idle clients, and an idle
	// connection holds one of theirs), has carried MaxMessages messages,
	// or is MaxConnAge old (so that a server's DNS or certificate change
	// is seen). They default to DefaultIdleTimeout, DefaultMaxMessages and
	// DefaultMaxConnAge.
	IdleTimeout time.Duration
	MaxMessages int
	MaxConnAge  time.Duration

	// TLSConfig, when set, is used for STARTTLS and implicit TLS instead of
	// the system's roots; its ServerName defaults to the URL's host. Tests
	// use it to trust a self-signed certificate.
	TLSConfig *tls.Config
}

// Endpoint is a parsed Config.URL.
type Endpoint struct {
	Host        string
	Port        int
	ImplicitTLS bool // smtps://
	Username    string
	Password    string
}

// String returns the endpoint as a URL with the password replaced by "xxxxx",
// fit for logs and error messages.
func (e Endpoint) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(e.Host, strconv.Itoa(e.Port))}
	if e.ImplicitTLS {
		u.Scheme = "smtps"
	}
	switch {
	case e.Password != "":
		u.User = url.UserPassword(e.Username, "xxxxx")
	case e.Username != "":
		u.User = url.User(e.Username)
	}
	return u.String()
}

// ParseURL parses an smtp:// or smtps:// URL (see Config.URL). Its errors
// start with "smtp.url: " and never contain the password.
func ParseURL(raw string) (Endpoint, error) {
	if strings.TrimSpace(raw) == "" {
		return Endpoint{}, errors.New("smtp.url: required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, password included, and even its
		// reason can quote part of a password that was not percent-encoded
		// (an unescaped "#" or "/" moves the rest into the host or path).
		// With credentials in the URL, say nothing about its parts.
		if strings.Contains(raw, "@") {
			return Endpoint{}, errors.New("smtp.url: not a valid URL (percent-encode special characters in the user name and password)")
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Endpoint{}, fmt.Errorf("smtp.url: %v", err)
	}
	var e Endpoint
	switch u.Scheme {
	case "smtp":
		e.Port = DefaultPort
	case "smtps":
		e.Port, e.ImplicitTLS = DefaultPortTLS, true
	default:
		return Endpoint{}, fmt.Errorf("smtp.url: scheme %q is not smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" {
		return Endpoint{}, errors.New("smtp.url: want smtp://host:port or smtps://host:port")
	}
	e.Host = u.Hostname()
	if e.Host == "" {
		return Endpoint{}, errors.New("smtp.url: missing host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Endpoint{}, fmt.Errorf("smtp.url: invalid port %q", p)
		}
		e.Port = n
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, errors.New("smtp.url: unexpected path, query or fragment (want smtp://host:port)")
	}
	if u.User != nil {
		e.Username = u.User.Username()
		e.Password, _ = u.User.Password()
		if e.Username == "" {
			return Endpoint{}, errors.New("smtp.url: empty user name before @")
		}
	}
	return e, nil
}

// Validate reports every problem with c, one error per field, joined.
// Each error names its field ("smtp.url: …", "smtp.from: …") and none
// contains the password.
func (c Config) Validate() error {
	var errs []error
	if _, err := ParseURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	if err := validateFrom(c.From); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("smtp.timeout: %v is negative", c.Timeout))
	}
	// Not read from the configuration file: these are programming errors.
	if c.MaxConns < 0 || c.IdleTimeout < 0 || c.MaxMessages < 0 || c.MaxConnAge < 0 {
		errs = append(errs, errors.New("email: MaxConns, IdleTimeout, MaxMessages and MaxConnAge must not be negative"))
	}
	return errors.Join(errs...)
}

func validateFrom(from string) error {
	if strings.TrimSpace(from) == "" {
		return errors.New("smtp.from: required")
	}
	if strings.ContainsAny(from, "\r\n") {
		return errors.New("smtp.from: contains a line break")
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return fmt.Errorf("smtp.from: %q is not an address like \"hookd <noreply@example.com>\": %v", from, err)
	}
	return nil
}
