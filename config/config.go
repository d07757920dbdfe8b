package config

import (
	"cmp"
	"net"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/verify"
)

// The defaults, each stated here once. SetDefaults writes them into the
// zero fields of a Config; Validate and Services see a copy with them
// written in; and the packages that use the values (httpapi, jobs, forward)
// take them as given.
const (
	DefaultListen            = ":8080"
	DefaultAdminListen       = "127.0.0.1:8081"
	DefaultDatabase          = "sqlite:hookd.db"
	DefaultSMTPURL           = "smtp://127.0.0.1:25"
	DefaultSMTPFrom          = "hookd <noreply@localhost>"
	DefaultWorkersMax        = 50
	DefaultPollInterval      = time.Second
	DefaultFetchCooldown     = 100 * time.Millisecond
	DefaultDispatchInterval  = 100 * time.Millisecond
	DefaultInFlight          = 1000
	DefaultClaimLease        = 5 * time.Second
	DefaultMaxPerDestination = 16
	DefaultJobTimeout        = time.Minute
	DefaultRescueAfter       = 2 * time.Minute
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultScheme            = verify.SchemeHMACSHA256
	DefaultMaxBody           = 1 << 20
	DefaultIdempotencyTTL    = 7 * 24 * time.Hour
	DefaultMaxAttempts       = 10
	DefaultBackoffMin        = 30 * time.Second
	DefaultBackoffMax        = time.Hour
	DefaultEmailField        = "email"
	DefaultEmailTemplate     = "welcome"
	DefaultForwardTimeout    = 10 * time.Second
)

// Limits checked by Validate.
const (
	maxMaxBody     = 64 << 20
	maxMaxAttempts = 100
)

// Config is hookd's whole configuration (README: Configuration). Zero fields take the
// default written on them; SetDefaults writes the defaults in.
type Config struct {
	// Listen is the address of the webhook listener. Defaults to ":8080".
	Listen string `yaml:"listen"`

	// Admin is the second listener: health, metrics and the admin API.
	Admin Admin `yaml:"admin"`

	// Database is "sqlite:PATH" or a "postgres://" / "postgresql://" URL.
	// Defaults to "sqlite:hookd.db".
	Database string `yaml:"database"`

	// SMTP is where email actions send their messages.
	SMTP SMTP `yaml:"smtp"`

	// ServiceConfigs are the webhook senders ("services:" in YAML), by name;
	// the name is the {service} path segment of POST /webhooks/{service}.
	// (The method Services builds the domain services from them.)
	ServiceConfigs map[string]*ServiceConfig `yaml:"services"`

	// Workers tunes the background workers of the worker and all roles.
	Workers Workers `yaml:"workers"`

	// missing maps the path of a value (e.g. "services.a.verify.secrets[0]")
	// to the ${VAR}s it referenced that were unset or empty, so Validate
	// can say which variable to set.
	missing map[string][]string
}

// Admin configures the admin listener (README: Admin listener).
type Admin struct {
	// Listen is the admin listener's address. Defaults to "127.0.0.1:8081".
	Listen string `yaml:"listen"`

	// Token is the bearer token of the admin API. Required when Listen is not
	// a loopback address; without it on loopback the API is open to local
	// clients. No default.
	Token string `yaml:"token"`
}

// Workers tunes the background workers.
type Workers struct {
	// Max is how many queued jobs (retries) River runs at once in this
	// process; first attempts are the delivery engine's (InFlight).
	// Defaults to 50.
	Max int `yaml:"max"`

	// PollInterval is how often workers look for new jobs when nothing
	// announced one. Defaults to 1s.
	PollInterval Duration `yaml:"poll_interval"`

	// FetchCooldown is the shortest time between two looks for jobs.
	// Defaults to 100ms.
	FetchCooldown Duration `yaml:"fetch_cooldown"`

	// DispatchInterval is how often the dispatcher looks in the outbox for
	// work to hand this process's delivery engine: replays, other
	// processes' events, expired claims (the engine wakes it for events it
	// stored for want of room). Defaults to 100ms.
	DispatchInterval Duration `yaml:"dispatch_interval"`

	// InFlight is how many events may have their first attempts running in
	// this process's delivery engine at once (roles all and worker);
	// beyond it, events wait in the outbox until there is room. Defaults
	// to 1000.
	InFlight int `yaml:"in_flight"`

	// ClaimLease is how long this process's hold on an event it attempts
	// lasts without renewal: if the process dies, another (or, on SQLite,
	// its restart) takes the work over after at most this. Defaults to 5s.
	ClaimLease Duration `yaml:"claim_lease"`

	// MaxPerDestination caps the attempts in flight to one destination (a
	// forward URL's scheme and host, or the mail server). Defaults to 16.
	MaxPerDestination int `yaml:"max_per_destination"`

	// JobTimeout bounds one attempt of a job. Defaults to 1m.
	JobTimeout Duration `yaml:"job_timeout"`

	// RescueAfter is how long a job may stay running before it is taken to
	// belong to a dead process and retried. Defaults to 2m; it must be
	// longer than JobTimeout.
	RescueAfter Duration `yaml:"rescue_after"`

	// ShutdownTimeout is how long running jobs and requests get to finish
	// on SIGINT or SIGTERM. Defaults to 10s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// SMTP configures the mail server used by email actions.
type SMTP struct {
	// URL is "smtp://[user:pass@]host[:port]" (STARTTLS when offered) or
	// "smtps://…" (implicit TLS). Defaults to "smtp://127.0.0.1:25".
	URL string `yaml:"url"`

	// From is the sender of every message. Defaults to
	// "hookd <noreply@localhost>".
	From string `yaml:"from"`
}

// ServiceConfig is one webhook sender.
type ServiceConfig struct {
	// Verify says how requests are proven genuine (README: Signature schemes).
	Verify Verify `yaml:"verify"`

	// MaxBody is the largest accepted body, at most 64MiB. Defaults to 1MiB.
	MaxBody ByteSize `yaml:"max_body"`

	// IdempotencyTTL is how long an idempotency key is remembered. Defaults
	// to 7 days ("7d").
	IdempotencyTTL Duration `yaml:"idempotency_ttl"`

	// Retention is how long after it was received an event is kept once
	// its work all succeeded (and a failed one, when KeepFailed is false);
	// then it is deleted with its jobs. At least IdempotencyTTL, its
	// default: an event's row is what remembers its key.
	Retention Duration `yaml:"retention"`

	// KeepFailed keeps failed events (dead letters) until replayed and
	// done; false deletes them too once Retention has passed. Defaults to
	// true.
	KeepFailed *bool `yaml:"keep_failed"`

	// IdempotencyKey overrides where the idempotency key is read from:
	// "header:NAME", "json:PATH" (a dotted path such as "json:data.id") or
	// "form:NAME"; several, separated by commas, are tried in order.
	// Defaults to the scheme's natural place.
	IdempotencyKey string `yaml:"idempotency_key"`

	// Actions run in the background for every accepted event. Defaults to
	// none: events are only stored.
	Actions []ActionConfig `yaml:"actions"`
}

// Verify is a service's verify block. It mirrors verify.Config: callers of
// Services turn it into a verifier.
type Verify struct {
	// Scheme is one of verify.Schemes(). Defaults to "hmac-sha256".
	Scheme string `yaml:"scheme"`

	// Secrets are the accepted secrets (several during a rotation). Required
	// for every scheme but "none"; usually "${VAR}" references.
	Secrets []string `yaml:"secrets"`

	// Header, Prefix, Encoding and Algorithm tune the hmac-sha256 and
	// api-key schemes. They default to the scheme's own.
	Header    string `yaml:"header"`
	Prefix    string `yaml:"prefix"`
	Encoding  string `yaml:"encoding"`
	Algorithm string `yaml:"algorithm"`

	// Tolerance is how far a signed timestamp may be from now, in both
	// directions. Zero means verify.DefaultTolerance (300s): the verify
	// package owns that default and applies it.
	Tolerance Duration `yaml:"tolerance"`

	// IgnoreTimestamp turns the timestamp check off. Defaults to false.
	IgnoreTimestamp bool `yaml:"ignore_timestamp"`

	// URL is the public URL the sender signs (twilio). No default.
	URL string `yaml:"url"`

	// IUnderstandThisIsUnsafe must be true for scheme "none".
	IUnderstandThisIsUnsafe bool `yaml:"i_understand_this_is_unsafe"`

	// AllowShortSecrets accepts secrets (basic: passwords) shorter than 16
	// bytes, for senders that offer nothing longer. Defaults to false.
	AllowShortSecrets bool `yaml:"allow_short_secrets"`
}

// Default returns the zero-config start: services adapter1
// (hmac-sha256, secret from ADAPTER_1_SECRET, action email) and adapter2
// (hmac-sha256, secret from ADAPTER_2_SECRET, action noop) on
// sqlite:hookd.db, with every other default filled in. A secret variable
// that lookup does not find is left out and remembered, so Validate names it.
func Default(lookup func(string) (string, bool)) *Config {
	c := &Config{ServiceConfigs: map[string]*ServiceConfig{}}
	for _, s := range []struct{ name, env, action string }{
		{"adapter1", "ADAPTER_1_SECRET", hookd.ActionEmail},
		{"adapter2", "ADAPTER_2_SECRET", hookd.ActionNoop},
	} {
		svc := &ServiceConfig{
			Verify:  Verify{Scheme: DefaultScheme},
			Actions: []ActionConfig{{Type: s.action}},
		}
		if v, ok := lookup(s.env); ok && v != "" {
			svc.Verify.Secrets = []string{v}
		} else {
			c.addMissing("services."+s.name+".verify.secrets", s.env)
		}
		c.ServiceConfigs[s.name] = svc
	}
	c.SetDefaults()
	return c
}

func (c *Config) addMissing(path, name string) {
	if c.missing == nil {
		c.missing = map[string][]string{}
	}
	c.missing[path] = append(c.missing[path], name)
}

// SetDefaults writes the default into every zero field that has one,
// including the services' and actions'. Parse and Default call it.
func (c *Config) SetDefaults() {
	c.Listen = cmp.Or(c.Listen, DefaultListen)
	c.Admin.Listen = cmp.Or(c.Admin.Listen, DefaultAdminListen)
	c.Database = cmp.Or(c.Database, DefaultDatabase)
	c.SMTP.URL = cmp.Or(c.SMTP.URL, DefaultSMTPURL)
	c.SMTP.From = cmp.Or(c.SMTP.From, DefaultSMTPFrom)
	c.Workers.Max = cmp.Or(c.Workers.Max, DefaultWorkersMax)
	c.Workers.PollInterval = cmp.Or(c.Workers.PollInterval, Duration(DefaultPollInterval))
	c.Workers.FetchCooldown = cmp.Or(c.Workers.FetchCooldown, Duration(DefaultFetchCooldown))
	c.Workers.DispatchInterval = cmp.Or(c.Workers.DispatchInterval, Duration(DefaultDispatchInterval))
	c.Workers.InFlight = cmp.Or(c.Workers.InFlight, DefaultInFlight)
	c.Workers.ClaimLease = cmp.Or(c.Workers.ClaimLease, Duration(DefaultClaimLease))
	c.Workers.MaxPerDestination = cmp.Or(c.Workers.MaxPerDestination, DefaultMaxPerDestination)
	c.Workers.JobTimeout = cmp.Or(c.Workers.JobTimeout, Duration(DefaultJobTimeout))
	c.Workers.RescueAfter = cmp.Or(c.Workers.RescueAfter, Duration(DefaultRescueAfter))
	c.Workers.ShutdownTimeout = cmp.Or(c.Workers.ShutdownTimeout, Duration(DefaultShutdownTimeout))
	for name, s := range c.ServiceConfigs {
		if s == nil {
			s = &ServiceConfig{}
			c.ServiceConfigs[name] = s
		}
		s.Verify.Scheme = cmp.Or(s.Verify.Scheme, DefaultScheme)
		s.MaxBody = cmp.Or(s.MaxBody, DefaultMaxBody)
		s.IdempotencyTTL = cmp.Or(s.IdempotencyTTL, Duration(DefaultIdempotencyTTL))
		s.Retention = cmp.Or(s.Retention, s.IdempotencyTTL)
		if s.KeepFailed == nil {
			s.KeepFailed = new(true)
		}
		for i := range s.Actions {
			s.Actions[i].setDefaults()
		}
	}
}

// withDefaults returns a copy of c, sharing nothing that SetDefaults
// writes, with the defaults written in: Validate and Services check and
// build from it without changing c.
func (c *Config) withDefaults() *Config {
	d := *c
	d.ServiceConfigs = make(map[string]*ServiceConfig, len(c.ServiceConfigs))
	for name, s := range c.ServiceConfigs {
		if s == nil {
			d.ServiceConfigs[name] = nil
			continue
		}
		sc := *s
		sc.Actions = make([]ActionConfig, len(s.Actions))
		for i, a := range s.Actions {
			if a.Email != nil {
				e := *a.Email
				a.Email = &e
			}
			if a.Forward != nil {
				f := *a.Forward
				a.Forward = &f
			}
			sc.Actions[i] = a
		}
		d.ServiceConfigs[name] = &sc
	}
	d.SetDefaults()
	return &d
}

// ApplyEnv applies the environment overrides: HOOKD_LISTEN,
// HOOKD_ADMIN_LISTEN, HOOKD_ADMIN_TOKEN, HOOKD_DATABASE_URL, HOOKD_SMTP_URL
// and HOOKD_EMAIL_FROM. A variable that is unset or empty changes nothing.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) {
	for _, o := range []struct {
		env   string
		field *string
	}{
		{"HOOKD_LISTEN", &c.Listen},
		{"HOOKD_ADMIN_LISTEN", &c.Admin.Listen},
		{"HOOKD_ADMIN_TOKEN", &c.Admin.Token},
		{"HOOKD_DATABASE_URL", &c.Database},
		{"HOOKD_SMTP_URL", &c.SMTP.URL},
		{"HOOKD_EMAIL_FROM", &c.SMTP.From},
	} {
		if v, ok := lookup(o.env); ok && v != "" {
			*o.field = v
		}
	}
}

// IsLoopback reports whether the listen address listen ("HOST:PORT") binds
// only to the local machine: its host is in 127.0.0.0/8, is ::1, or is
// "localhost". An empty host (":8081") listens on every interface and is not
// loopback; neither is an address that does not parse.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SQLitePath returns the file of a "sqlite:PATH" database and true, or ""
// and false for any other database. "sqlite://PATH" is accepted too, so
// "sqlite:///var/lib/hookd.db" is an absolute path and "sqlite://hookd.db" a
// relative one. The path is returned as written, query string included (for
// driver options), and an empty Database means the default,
// "sqlite:hookd.db".
func (c *Config) SQLitePath() (string, bool) {
	db := cmp.Or(c.Database, DefaultDatabase)
	path, ok := strings.CutPrefix(db, "sqlite:")
	if !ok {
		return "", false
	}
	if p, ok := strings.CutPrefix(path, "//"); ok {
		path = p
	}
	return path, path != ""
}

// PostgresURL returns the database URL and true when it is a "postgres://"
// or "postgresql://" URL, and "" and false otherwise.
func (c *Config) PostgresURL() (string, bool) {
	if strings.HasPrefix(c.Database, "postgres://") || strings.HasPrefix(c.Database, "postgresql://") {
		return c.Database, true
	}
	return "", false
}
