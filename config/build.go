package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/email"
	"github.com/hookd/hookd/verify"
)

// Load is the configuration a hookd command runs with: the file path,
// whose contents are data, or the zero-config defaults (Default) when path
// is empty; then the HOOKD_* overrides (ApplyEnv). It is not validated
// (Build does that). Parse's problems come joined with errors.Join, one
// per line of its message, each prefixed with path.
func Load(path string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	var c *Config
	if path == "" {
		c = Default(lookup)
	} else {
		var err error
		if c, err = Parse(data, lookup); err != nil {
			var problems []error
			for _, p := range Problems(err) {
				for line := range strings.SplitSeq(p.Error(), "\n") {
					if line = strings.TrimSpace(line); line != "" {
						problems = append(problems, fmt.Errorf("%s: %s", path, line))
					}
				}
			}
			return nil, errors.Join(problems...)
		}
	}
	c.ApplyEnv(lookup)
	return c, nil
}

// Build validates c and builds its services, by name, with hookd's
// verifiers (verify.New), after checking the email actions' templates
// (email.CheckTemplates). Every problem (see Services) is reported; they
// come joined with errors.Join (see Problems), and then no service is
// returned.
func (c *Config) Build() (map[string]*hookd.Service, error) {
	var problems []error
	list, err := c.Services(newVerifier)
	if err != nil {
		problems = Problems(err) // one line each
	}
	for _, name := range slices.Sorted(maps.Keys(c.ServiceConfigs)) {
		for i, a := range c.ServiceConfigs[name].Actions {
			if e := a.Email; e != nil {
				err := email.CheckTemplates(&hookd.EmailAction{Field: e.Field, Template: e.Template, Subject: e.Subject, Body: e.Body})
				if err != nil {
					problems = append(problems, fmt.Errorf("services.%s.actions[%d].email.%v", name, i, err))
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	services := make(map[string]*hookd.Service, len(list))
	for _, s := range list {
		services[s.Name] = s
	}
	return services, nil
}

// Problems returns the problems joined in err (by Load, Build or Parse),
// or err alone when it is not a join.
func Problems(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}

func newVerifier(_ string, v Verify) (hookd.Verifier, error) {
	return verify.New(verify.Config{
		Scheme:                  v.Scheme,
		Secrets:                 v.Secrets,
		Header:                  v.Header,
		Prefix:                  v.Prefix,
		Encoding:                v.Encoding,
		Algorithm:               v.Algorithm,
		Tolerance:               time.Duration(v.Tolerance),
		IgnoreTimestamp:         v.IgnoreTimestamp,
		URL:                     v.URL,
		IUnderstandThisIsUnsafe: v.IUnderstandThisIsUnsafe,
		AllowShortSecrets:       v.AllowShortSecrets,
	})
}

// CheckService refuses a service name that c does not configure; "" (any
// service) passes, and so does any name when c has no services.
func (c *Config) CheckService(name string) error {
	if name == "" || len(c.ServiceConfigs) == 0 || c.ServiceConfigs[name] != nil {
		return nil
	}
	return fmt.Errorf("no service %q is configured (services: %s)", name,
		strings.Join(slices.Sorted(maps.Keys(c.ServiceConfigs)), ", "))
}
