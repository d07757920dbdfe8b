package config

import (
	"cmp"
	"fmt"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/hookd/hookd"
)

// ActionConfig is one item of a service's actions list. In YAML it is either
// a bare name ("noop", "email", "forward") or a map with exactly one of those
// keys, whose value holds the action's settings and its retry policy:
//
//	actions:
//	  - noop
//	  - email: {field: email, template: welcome, max_attempts: 6, backoff: {min: 100ms, max: 1s}}
//	  - forward: {url: "http://127.0.0.1:9000/hook", timeout: 10s, headers: [X-GitHub-Event]}
type ActionConfig struct {
	// Type is hookd.ActionEmail, hookd.ActionForward or hookd.ActionNoop.
	Type string

	// MaxAttempts is how many times the job may run, the first try
	// included; 1 to 100. Defaults to 10.
	MaxAttempts int

	// Backoff bounds the delay between attempts.
	Backoff BackoffConfig

	// Email is set when Type is "email".
	Email *EmailConfig

	// Forward is set when Type is "forward".
	Forward *ForwardConfig
}

// BackoffConfig bounds the exponential, jittered delay between attempts.
type BackoffConfig struct {
	// Min is the first delay. Defaults to 30s.
	Min Duration `yaml:"min"`
	// Max caps the delay. Defaults to 1h.
	Max Duration `yaml:"max"`
}

// EmailConfig is an email action's settings.
type EmailConfig struct {
	// Field is the dotted JSON path of the recipient's address. Defaults to
	// "email".
	Field string `yaml:"field"`
	// Template names a built-in template. Defaults to "welcome".
	Template string `yaml:"template"`
	// Subject and Body, when set, are text/template sources that override
	// the template's. No default.
	Subject string `yaml:"subject"`
	Body    string `yaml:"body"`
}

// ForwardConfig is a forward action's settings.
type ForwardConfig struct {
	// URL is the absolute http or https URL the body is POSTed to. Required.
	URL string `yaml:"url"`
	// Timeout bounds each attempt. Defaults to 10s.
	Timeout Duration `yaml:"timeout"`
	// Headers are the names of received headers passed on. Defaults to none.
	Headers []string `yaml:"headers"`
}

// retryYAML is the retry policy every action map may carry.
type retryYAML struct {
	MaxAttempts int           `yaml:"max_attempts"`
	Backoff     BackoffConfig `yaml:"backoff"`
}

// The YAML shapes of the one-key action maps' values.
type (
	emailYAML struct {
		EmailConfig `yaml:",inline"`
		retryYAML   `yaml:",inline"`
	}
	forwardYAML struct {
		ForwardConfig `yaml:",inline"`
		retryYAML     `yaml:",inline"`
	}
	noopYAML struct{}
)

// actionTypes lists the action names and the shape of their settings.
var actionTypes = map[string]any{
	hookd.ActionEmail:   emailYAML{},
	hookd.ActionForward: forwardYAML{},
	hookd.ActionNoop:    noopYAML{},
}

const actionForms = `an action is a name (email, forward, noop) or a one-key map such as {email: {field: email}}`

// UnmarshalYAML implements yaml.Unmarshaler for both forms of an action.
// Parse checks the shape beforehand and reports problems with their field
// paths; these errors only get the line, from the decoder.
func (a *ActionConfig) UnmarshalYAML(n *yaml.Node) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf(format, args...) // the decoder adds the line
	}
	var settings *yaml.Node
	switch {
	case n.Kind == yaml.ScalarNode:
		a.Type = n.Value
	case n.Kind == yaml.MappingNode && len(n.Content) == 2:
		a.Type, settings = n.Content[0].Value, n.Content[1]
	default:
		return fail("%s", actionForms)
	}
	*a = ActionConfig{Type: a.Type}
	switch a.Type {
	case hookd.ActionEmail:
		var v emailYAML
		if settings != nil {
			if err := settings.Decode(&v); err != nil {
				return err
			}
		}
		a.Email, a.MaxAttempts, a.Backoff = &v.EmailConfig, v.MaxAttempts, v.Backoff
	case hookd.ActionForward:
		var v forwardYAML
		if settings != nil {
			if err := settings.Decode(&v); err != nil {
				return err
			}
		}
		a.Forward, a.MaxAttempts, a.Backoff = &v.ForwardConfig, v.MaxAttempts, v.Backoff
	case hookd.ActionNoop:
		if settings != nil && len(settings.Content) > 0 {
			return fail("noop takes no settings")
		}
	default:
		return fail("unknown action; %s", actionForms)
	}
	return nil
}

func (a *ActionConfig) setDefaults() {
	a.MaxAttempts = cmp.Or(a.MaxAttempts, DefaultMaxAttempts)
	a.Backoff.Min = cmp.Or(a.Backoff.Min, Duration(DefaultBackoffMin))
	a.Backoff.Max = cmp.Or(a.Backoff.Max, Duration(DefaultBackoffMax))
	switch a.Type {
	case hookd.ActionEmail:
		if a.Email == nil {
			a.Email = &EmailConfig{}
		}
		a.Email.Field = cmp.Or(a.Email.Field, DefaultEmailField)
		a.Email.Template = cmp.Or(a.Email.Template, DefaultEmailTemplate)
	case hookd.ActionForward:
		if a.Forward == nil {
			a.Forward = &ForwardConfig{}
		}
		a.Forward.Timeout = cmp.Or(a.Forward.Timeout, Duration(DefaultForwardTimeout))
	}
}

// action returns the domain action of a, whose defaults are written in.
func (a ActionConfig) action() hookd.Action {
	out := hookd.Action{
		Type:        a.Type,
		MaxAttempts: a.MaxAttempts,
		Backoff:     hookd.Backoff{Min: time.Duration(a.Backoff.Min), Max: time.Duration(a.Backoff.Max)},
	}
	switch a.Type {
	case hookd.ActionEmail:
		out.Email = &hookd.EmailAction{Field: a.Email.Field, Template: a.Email.Template, Subject: a.Email.Subject, Body: a.Email.Body}
	case hookd.ActionForward:
		out.Forward = &hookd.ForwardAction{URL: a.Forward.URL, Timeout: time.Duration(a.Forward.Timeout), Headers: append([]string(nil), a.Forward.Headers...)}
	}
	return out
}
