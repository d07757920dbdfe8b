package config

import (
	"fmt"
	"maps"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/verify"
)

// serviceName is the form of a service name: it is a URL path segment.
var serviceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate returns every problem of c, one *FieldError per problem, each a
// single line "field.path: problem; fix", in a stable order. Zero fields are
// checked as their defaults (c itself is not changed). Messages quote
// addresses, names and paths but never a secret, a token or a URL (which
// may carry credentials). An empty result means c is valid as far as this
// package can tell; Services also asks the verifiers.
func (c *Config) Validate() []error {
	c = c.withDefaults()
	v := &validator{c: c}
	v.listen("listen", c.Listen)
	adminListen := c.Admin.Listen
	if v.listen("admin.listen", adminListen) {
		if adminListen == c.Listen && !strings.HasSuffix(adminListen, ":0") {
			v.add("admin.listen", "same address as listen; give the admin API its own port, e.g. 127.0.0.1:8081")
		}
		if c.Admin.Token == "" && !IsLoopback(adminListen) {
			v.add("admin.token", "required when admin.listen is not a loopback address (%s); %s",
				adminListen, v.fix("admin.token", "set HOOKD_ADMIN_TOKEN or admin.token, or listen on 127.0.0.1"))
		}
	}
	v.database(c.Database)
	v.workers()
	v.smtp()
	if len(c.ServiceConfigs) == 0 {
		v.add("services", "none configured; add at least one, e.g. services: {adapter1: {verify: {secrets: [\"${ADAPTER_1_SECRET}\"]}}}")
	}
	for _, name := range slices.Sorted(maps.Keys(c.ServiceConfigs)) {
		v.service(name, c.ServiceConfigs[name])
	}
	return v.errs
}

type validator struct {
	c    *Config
	errs []error
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

// fix returns the advice for an empty field: the ${VAR}s it referenced that
// were unset, or def.
func (v *validator) fix(path, def string) string {
	names := v.c.missingUnder(path)
	if len(names) == 0 {
		return def
	}
	refs := make([]string, len(names))
	for i, n := range names {
		refs[i] = "${" + n + "}"
	}
	return fmt.Sprintf("set %s (referenced as %s)", strings.Join(names, ", "), strings.Join(refs, ", "))
}

// missingUnder returns, sorted, the unset variables referenced at path or
// below it.
func (c *Config) missingUnder(path string) []string {
	var names []string
	for p, ns := range c.missing {
		if p == path || strings.HasPrefix(p, path+"[") || strings.HasPrefix(p, path+".") {
			names = append(names, ns...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// listen checks a listen address and reports whether it is usable.
func (v *validator) listen(field, addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		reason := err.Error()
		if ae, ok := err.(*net.AddrError); ok {
			reason = ae.Err
		}
		v.add(field, "invalid address %q (%s); use HOST:PORT, e.g. \":8080\" or \"127.0.0.1:8081\"", addr, reason)
		return false
	}
	if n, err := strconv.Atoi(port); port == "" || err == nil && (n < 0 || n > 65535) {
		v.add(field, "invalid port in %q; use a port from 0 to 65535", addr)
		return false
	}
	return true
}

func (v *validator) database(db string) {
	const use = "use sqlite:PATH or postgres://USER@HOST:5432/DB"
	if strings.HasPrefix(db, "sqlite:") {
		if _, ok := v.c.SQLitePath(); !ok {
			v.add("database", "sqlite: needs a file path; %s, e.g. sqlite:hookd.db", use)
		}
		return
	}
	u, err := url.Parse(db)
	switch {
	case err != nil || u.Scheme == "":
		v.add("database", "not a URL; %s", use)
	case u.Scheme != "postgres" && u.Scheme != "postgresql":
		v.add("database", "unsupported URL scheme %q (%s)", u.Scheme, use)
	case u.Host == "" && u.Query().Get("host") == "":
		v.add("database", "postgres URL without a host; %s", use)
	}
}

func (v *validator) smtp() {
	u, err := url.Parse(v.c.SMTP.URL)
	switch {
	case err != nil || u.Scheme == "":
		v.add("smtp.url", "not a URL; use smtp://HOST:PORT (STARTTLS when offered) or smtps://HOST:PORT")
	case u.Scheme != "smtp" && u.Scheme != "smtps":
		v.add("smtp.url", "unsupported URL scheme %q; use smtp:// (STARTTLS when offered) or smtps://", u.Scheme)
	case u.Hostname() == "":
		v.add("smtp.url", "no host; use smtp://HOST:PORT, e.g. smtp://127.0.0.1:25")
	}
	if _, err := mail.ParseAddress(v.c.SMTP.From); err != nil {
		v.add("smtp.from", "not an email address; use e.g. \"hookd <noreply@example.com>\"")
	}
}

func (v *validator) service(name string, s *ServiceConfig) {
	p := "services." + name
	if !serviceName.MatchString(name) {
		v.add(p, "invalid service name %q; it is a URL path segment: 1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit", name)
	}
	if s == nil {
		s = &ServiceConfig{}
	}
	v.verify(p+".verify", name, &s.Verify)
	switch mb := s.MaxBody; {
	case mb < 0:
		v.add(p+".max_body", "must be positive; use e.g. 1MiB")
	case mb > maxMaxBody:
		v.add(p+".max_body", "%s is over the 64MiB limit", mb)
	}
	if s.IdempotencyTTL < 0 {
		v.add(p+".idempotency_ttl", "must be positive; use e.g. 72h or 7d")
	}
	switch {
	case s.Retention < 0:
		v.add(p+".retention", "must be positive; use e.g. 30d")
	case s.Retention < s.IdempotencyTTL:
		// An event's row is what remembers its key: deleting it sooner
		// would take a retried delivery for a new event.
		v.add(p+".retention", "%s is shorter than idempotency_ttl %s; raise it or lower idempotency_ttl",
			shortDuration(time.Duration(s.Retention)), shortDuration(time.Duration(s.IdempotencyTTL)))
	}
	if s.IdempotencyKey != "" {
		if _, err := parseKeySources(s.IdempotencyKey); err != nil {
			v.add(p+".idempotency_key", "%v", err)
		}
	}
	for i, a := range s.Actions {
		v.action(fmt.Sprintf("%s.actions[%d]", p, i), a)
	}
}

func (v *validator) verify(p, name string, vc *Verify) {
	scheme := vc.Scheme
	if !slices.Contains(verify.Schemes(), scheme) {
		v.add(p+".scheme", "unknown scheme %q; use one of %s", scheme, strings.Join(verify.Schemes(), ", "))
	}
	if scheme == "none" {
		if !vc.IUnderstandThisIsUnsafe {
			v.add(p+".scheme", "none accepts unsigned requests from anyone; set i_understand_this_is_unsafe: true to allow it")
		}
	} else {
		v.secrets(p+".secrets", name, vc.Secrets)
	}
	if vc.Tolerance < 0 {
		v.add(p+".tolerance", "must be positive; use e.g. 300s, or ignore_timestamp: true")
	}
}

func (v *validator) secrets(p, name string, secrets []string) {
	var empty []int
	for i, s := range secrets {
		if s == "" {
			empty = append(empty, i)
		}
	}
	if len(empty) == len(secrets) {
		env := strings.ToUpper(strings.NewReplacer("-", "_").Replace(name)) + "_SECRET"
		v.add(p, "no secret configured; %s", v.fix(p, fmt.Sprintf("add one, e.g. secrets: [\"${%s}\"], and set %s", env, env)))
		return
	}
	for i, s := range secrets {
		ip := fmt.Sprintf("%s[%d]", p, i)
		switch {
		case len(v.c.missingUnder(ip)) > 0:
			// Whether the secret is left empty or not: with its variable
			// unset, "partner:${PARTNER_PASSWORD}" is "partner:", a secret
			// anyone can guess.
			v.add(ip, "uses an unset or empty variable; %s", v.fix(ip, ""))
		case s == "":
			v.add(ip, "empty secret; remove the entry or give it a value")
		}
	}
}

func (v *validator) action(p string, a ActionConfig) {
	switch a.Type {
	case hookd.ActionEmail:
		if f := a.Email.Field; !validPath(f) {
			v.add(p+".email.field", "invalid JSON path %q; use a dotted path such as email or user.email", f)
		}
	case hookd.ActionForward:
		v.forward(p+".forward", a.Forward)
	case hookd.ActionNoop:
		return
	default:
		v.add(p, "unknown action %q; %s", a.Type, actionForms)
		return
	}
	ap := p + "." + a.Type
	if a.MaxAttempts < 0 || a.MaxAttempts > maxMaxAttempts {
		v.add(ap+".max_attempts", "%d is out of range; use 1 to %d (default %d)", a.MaxAttempts, maxMaxAttempts, DefaultMaxAttempts)
	}
	lo, hi := a.Backoff.Min, a.Backoff.Max
	switch {
	case lo < 0:
		v.add(ap+".backoff.min", "must be positive, e.g. 1s")
	case hi < 0:
		v.add(ap+".backoff.max", "must be positive, e.g. 10m")
	case lo > hi:
		v.add(ap+".backoff.min", "%s is greater than backoff.max (%s); lower min or raise max", lo, hi)
	}
}

func (v *validator) forward(p string, f *ForwardConfig) {
	if f.URL == "" {
		v.add(p+".url", "required; %s", v.fix(p+".url", "give the internal URL to POST to, e.g. forward: {url: \"http://127.0.0.1:9000/hook\"}"))
	} else if u, err := url.Parse(f.URL); err != nil || !u.IsAbs() {
		v.add(p+".url", "not an absolute URL; use http://HOST[:PORT]/PATH or https://…")
	} else if u.Scheme != "http" && u.Scheme != "https" {
		v.add(p+".url", "unsupported URL scheme %q; use http:// or https://", u.Scheme)
	} else if u.Host == "" {
		v.add(p+".url", "no host; use http://HOST[:PORT]/PATH")
	}
	if f.Timeout < 0 {
		v.add(p+".timeout", "must be positive, e.g. 10s")
	}
	for i, h := range f.Headers {
		if !validToken(h) {
			v.add(fmt.Sprintf("%s.headers[%d]", p, i), "invalid header name %q", h)
		}
	}
}

// parseKeySources parses an idempotency_key override: comma-separated
// "header:NAME", "json:PATH" or "form:NAME".
func parseKeySources(s string) ([]hookd.KeySource, error) {
	var out []hookd.KeySource
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		from, name, _ := strings.Cut(part, ":")
		ok := false
		switch from {
		case "header", "form":
			ok = validToken(name)
		case "json":
			ok = validPath(name)
		}
		if !ok {
			return nil, fmt.Errorf("invalid source %q; use header:NAME, json:PATH (dotted, e.g. json:data.id) or form:NAME", part)
		}
		out = append(out, hookd.KeySource{From: from, Name: name})
	}
	return out, nil
}

// validPath reports whether s is a dotted JSON path of non-empty names.
func validPath(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	for seg := range strings.SplitSeq(s, ".") {
		if seg == "" {
			return false
		}
	}
	return true
}

// validToken reports whether s is an RFC 9110 token (a header or field
// name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func (v *validator) workers() {
	w := v.c.Workers
	if w.Max < 0 || w.Max > 10000 {
		v.add("workers.max", "%d is out of range; use 1 to 10000", w.Max)
	}
	for _, d := range []struct {
		field string
		value Duration
	}{
		{"workers.poll_interval", w.PollInterval}, {"workers.fetch_cooldown", w.FetchCooldown},
		{"workers.dispatch_interval", w.DispatchInterval},
		{"workers.job_timeout", w.JobTimeout}, {"workers.rescue_after", w.RescueAfter},
		{"workers.shutdown_timeout", w.ShutdownTimeout},
	} {
		if d.value < 0 {
			v.add(d.field, "must not be negative")
		}
	}
	if w.InFlight < 0 || w.InFlight > 100000 {
		v.add("workers.in_flight", "%d is out of range; use 1 to 100000", w.InFlight)
	}
	if w.MaxPerDestination < 0 || w.MaxPerDestination > 10000 {
		v.add("workers.max_per_destination", "%d is out of range; use 1 to 10000", w.MaxPerDestination)
	}
	if w.ClaimLease < 0 || w.ClaimLease > 0 && w.ClaimLease < Duration(time.Second) {
		v.add("workers.claim_lease", "must be at least 1s, e.g. 5s")
	}
	if w.PollInterval > 0 && w.FetchCooldown > w.PollInterval {
		v.add("workers.fetch_cooldown", "longer than workers.poll_interval (%s); make it shorter", w.PollInterval)
	}
	if w.RescueAfter > 0 && w.JobTimeout > 0 && w.RescueAfter <= w.JobTimeout {
		v.add("workers.rescue_after", "must be longer than workers.job_timeout (%s), or running jobs would be retried while they run", w.JobTimeout)
	}
}

// shortDuration formats d as it would be written in the file: whole days
// as "7d", else without zero units ("1h", not "1h0m0s").
func shortDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
