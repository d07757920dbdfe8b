package config

import (
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Services builds the domain services, sorted by name, with every default
// filled in. It reports every problem Validate reports, then calls
// newVerifier for each service whose verify block passed validation; a
// verifier's error, which names a field of the verify block ("secrets[1]:
// …"), is reported as "services.NAME.verify.secrets[1]: …". Every problem
// is one line; all are joined with errors.Join, and no service is returned
// when there is any. Callers need not call Validate first.
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

// startsWithField matches a message that begins with a field of the verify
// block: "secrets[1]: …", "scheme: …", "tolerance.x: …".
var startsWithField = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\[\d+\])?[.:\[]`)

// verifierErrors turns a verifier's error into one *FieldError per line,
// each under services.NAME.verify, with any configured secret masked.
func verifierErrors(name string, secrets []string, err error) []error {
	p := "services." + name + ".verify"
	var out []error
	for line := range strings.SplitSeq(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		for _, s := range secrets {
			if len(s) >= 4 {
				line = strings.ReplaceAll(line, s, "[secret]")
			}
		}
		fe := &FieldError{Field: p, Problem: line}
		if startsWithField.MatchString(line) {
			field, problem, found := strings.Cut(line, ": ")
			if found && !strings.Contains(field, " ") {
				if strings.HasPrefix(field, "[") {
					fe.Field += field
				} else {
					fe.Field += "." + field
				}
				fe.Problem = problem
			}
		}
		out = append(out, fe)
	}
	return out
}
