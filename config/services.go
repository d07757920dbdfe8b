package config

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/verify"
)

// Services builds the domain services, sorted by name, with every default
// filled in (c is not changed). It reports every problem Validate reports,
// then calls newVerifier for each service whose verify block passed
// validation; a *verify.ConfigError it returns (or several, joined with
// errors.Join) for field "secrets[1]" is reported as
// "services.NAME.verify.secrets[1]: …". Every problem is one line; all are
// joined with errors.Join, and no service is returned when there is any.
// Callers need not call Validate first.
//
// A service's IdempotencyKey is the parsed idempotency_key override, or nil
// when there is none: the HTTP layer then asks the verifier's KeySources.
func (c *Config) Services(newVerifier func(name string, v Verify) (hookd.Verifier, error)) ([]*hookd.Service, error) {
	errs := c.Validate()
	c = c.withDefaults()
	bad := map[string]bool{} // services whose verify block has problems
	for _, err := range errs {
		if fe, ok := err.(*FieldError); ok {
			if name, rest, ok := strings.Cut(strings.TrimPrefix(fe.Field, "services."), "."); ok && strings.HasPrefix(rest, "verify") {
				bad[name] = true
			}
		}
	}
	var out []*hookd.Service
	for _, name := range slices.Sorted(maps.Keys(c.ServiceConfigs)) {
		s := c.ServiceConfigs[name] // not nil: SetDefaults replaced nil ones
		vc := s.Verify
		vc.Secrets = slices.Clone(vc.Secrets)
		svc := &hookd.Service{
			Name:           name,
			MaxBody:        int64(s.MaxBody),
			IdempotencyTTL: time.Duration(s.IdempotencyTTL),
			Retention:      hookd.Retention{Keep: time.Duration(s.Retention), DeleteFailed: !*s.KeepFailed},
		}
		if s.IdempotencyKey != "" {
			svc.IdempotencyKey, _ = parseKeySources(s.IdempotencyKey) // checked by Validate
		}
		for _, a := range s.Actions {
			svc.Actions = append(svc.Actions, a.action())
		}
		if !bad[name] {
			v, err := newVerifier(name, vc)
			if err != nil {
				errs = append(errs, verifierErrors(name, vc.Secrets, err)...)
			}
			svc.Verifier = v
		}
		out = append(out, svc)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// verifierErrors turns a verifier's error into *FieldErrors under
// services.NAME.verify: one per *verify.ConfigError (joined errors are
// walked), and for any other error one per line. Any configured secret is
// masked, although verify never quotes one.
func verifierErrors(name string, secrets []string, err error) []error {
	p := "services." + name + ".verify"
	mask := func(s string) string {
		for _, secret := range secrets {
			if len(secret) >= 4 {
				s = strings.ReplaceAll(s, secret, "[secret]")
			}
		}
		return s
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, verifierErrors(name, secrets, e)...)
		}
		return out
	}
	if ce, ok := errors.AsType[*verify.ConfigError](err); ok {
		field := p + "." + ce.Field
		if ce.Field == "" {
			field = p
		}
		return []error{&FieldError{Field: field, Problem: mask(ce.Problem)}}
	}
	var out []error
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, &FieldError{Field: p, Problem: mask(line)})
		}
	}
	return out
}
