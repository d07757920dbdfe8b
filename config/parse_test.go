package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestParseContractExample(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/contract-example.yaml")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("AllSet", func(t *testing.T) {
		t.Parallel()
		c, err := Parse(data, env(contractEnv))
		if err != nil {
			t.Fatal(err)
		}
		if errs := c.Validate(); len(errs) > 0 {
			t.Fatalf("Validate: %v", errs)
		}
		if c.Listen != ":8080" || c.Admin.Listen != "127.0.0.1:8081" || c.Admin.Token != "admin-token-0123456789" {
			t.Errorf("listeners = %q, %+v", c.Listen, c.Admin)
		}
		if c.Database != "sqlite:hookd.db" || c.SMTP.URL != "smtp://127.0.0.1:2525" || c.SMTP.From != "hookd <noreply@example.com>" {
			t.Errorf("database %q, smtp %+v", c.Database, c.SMTP)
		}
		if len(c.ServiceConfigs) != 3 {
			t.Fatalf("services = %v", c.ServiceConfigs)
		}
		gh := c.ServiceConfigs["github"]
		if gh.Verify.Scheme != "github" || !reflect.DeepEqual(gh.Verify.Secrets, []string{"github-secret-value"}) {
			t.Errorf("github verify = %+v", gh.Verify)
		}
		if gh.MaxBody != 5<<20 || time.Duration(gh.IdempotencyTTL) != 72*time.Hour {
			t.Errorf("github max_body %v ttl %v", gh.MaxBody, gh.IdempotencyTTL)
		}
		want := []ActionConfig{{
			Type: hookd.ActionForward, MaxAttempts: DefaultMaxAttempts,
			Backoff: BackoffConfig{Min: Duration(DefaultBackoffMin), Max: Duration(DefaultBackoffMax)},
			Forward: &ForwardConfig{URL: "http://127.0.0.1:9000/github", Timeout: Duration(10 * time.Second)},
		}}
		if !reflect.DeepEqual(gh.Actions, want) {
			t.Errorf("github actions = %+v", gh.Actions)
		}
		a1 := c.ServiceConfigs["adapter1"]
		if a1.Actions[0].Type != hookd.ActionEmail || *a1.Actions[0].Email != (EmailConfig{Field: "email", Template: "welcome"}) {
			t.Errorf("adapter1 actions = %+v", a1.Actions)
		}
		if a1.MaxBody != 1<<20 || time.Duration(a1.IdempotencyTTL) != 7*24*time.Hour {
			t.Errorf("adapter1 defaults: max_body %v ttl %v", a1.MaxBody, a1.IdempotencyTTL)
		}
		if c.ServiceConfigs["adapter2"].Actions[0].Type != hookd.ActionNoop {
			t.Errorf("adapter2 actions = %+v", c.ServiceConfigs["adapter2"].Actions)
		}
	})

	t.Run("GitHubSecretUnset", func(t *testing.T) {
		t.Parallel()
		m := map[string]string{}
		for k, v := range contractEnv {
			if k != "GITHUB_WEBHOOK_SECRET" {
				m[k] = v
			}
		}
		c, err := Parse(data, env(m))
		if err != nil {
			t.Fatal(err)
		}
		errs := c.Validate()
		fieldErrors(t, errs)
		want := "services.github.verify.secrets: no secret configured; set GITHUB_WEBHOOK_SECRET (referenced as ${GITHUB_WEBHOOK_SECRET})"
		if len(errs) != 1 || errs[0].Error() != want {
			t.Errorf("Validate() = %q, want [%q]", lines(errs...), want)
		}
	})

	t.Run("NothingSet", func(t *testing.T) {
		t.Parallel()
		c, err := Parse(data, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		// The admin token is optional on loopback; the three secrets are not.
		if errs := c.Validate(); len(errs) != 3 {
			t.Errorf("Validate() = %q, want the three secrets", lines(errs...))
		}
	})
}

func TestParseExpansion(t *testing.T) {
	t.Parallel()
	m := map[string]string{
		"SECRET": `we"ird\ #secret: [x]`,
		"NUM":    "6",
		"DIGITS": "12345",
		"TILDE":  "~",
		"HOST":   "127.0.0.1",
		"EMPTY":  "",
	}
	src := `
listen: "${HOST}:8080"
admin:
  token: ${DIGITS}
smtp:
  from: "Pay $5 <billing@example.com>"
services:
  a:
    verify: {secrets: ["${SECRET}", '${TILDE}', "${UNSET}", "${EMPTY}"]}
    actions:
      - email: {subject: "Costs $5, $HOME and $${LITERAL}", body: "${DIGITS}$", max_attempts: ${NUM}}
`
	c := mustParse(t, src, m)
	if c.Listen != "127.0.0.1:8080" {
		t.Errorf("listen = %q", c.Listen)
	}
	if c.Admin.Token != "12345" {
		t.Errorf("token = %q (a number from the environment stays text)", c.Admin.Token)
	}
	if c.SMTP.From != "Pay $5 <billing@example.com>" {
		t.Errorf("from = %q", c.SMTP.From)
	}
	a := c.ServiceConfigs["a"]
	if want := []string{m["SECRET"], "~", "", ""}; !reflect.DeepEqual(a.Verify.Secrets, want) {
		t.Errorf("secrets = %q, want %q", a.Verify.Secrets, want)
	}
	e := a.Actions[0]
	if e.Email.Subject != "Costs $5, $HOME and ${LITERAL}" || e.Email.Body != "12345$" {
		t.Errorf("email = %+v", e.Email)
	}
	if e.MaxAttempts != 6 {
		t.Errorf("max_attempts = %d, want 6 from ${NUM}", e.MaxAttempts)
	}
	if got := c.missingUnder("services.a.verify.secrets"); !reflect.DeepEqual(got, []string{"EMPTY", "UNSET"}) {
		t.Errorf("missing = %q", got)
	}

	t.Run("UnquotedInFlow", func(t *testing.T) {
		t.Parallel()
		c := mustParse(t, "services:\n  a:\n    verify: {secrets: [${SECRET}, x${NUM}y]}\n", m)
		if got := c.ServiceConfigs["a"].Verify.Secrets; !reflect.DeepEqual(got, []string{m["SECRET"], "x6y"}) {
			t.Errorf("secrets = %q", got)
		}
	})
	t.Run("KeysAndComments", func(t *testing.T) {
		t.Parallel()
		// A reference in a comment is ignored, even a broken one; keys keep
		// their text.
		_, err := Parse([]byte("# see ${HOST} and ${\nservices:\n  ${HOST}: {}\n"), env(m))
		if err != nil {
			t.Fatal(err)
		}
		c := mustParse(t, "services:\n  \"${HOST}\": {}\n", m)
		if _, ok := c.ServiceConfigs["${HOST}"]; !ok {
			t.Errorf("services = %v", c.ServiceConfigs)
		}
	})
	t.Run("PlainTilde", func(t *testing.T) {
		t.Parallel()
		c := mustParse(t, "admin: {token: ${TILDE}}\n", m)
		if c.Admin.Token != "~" {
			t.Errorf("token = %q", c.Admin.Token)
		}
	})
	t.Run("PlainUnset", func(t *testing.T) {
		t.Parallel()
		c := mustParse(t, "admin:\n  token: ${NOPE}\n", m)
		if c.Admin.Token != "" || !reflect.DeepEqual(c.missingUnder("admin.token"), []string{"NOPE"}) {
			t.Errorf("token = %q, missing %v", c.Admin.Token, c.missing)
		}
	})
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		src  string
		env  map[string]string
		want string // a line of the error starts with this
	}{
		{"UnknownTopLevel", "lisen: :8080\n", nil,
			"line 1: lisen: unknown field; known fields: listen, admin, database, smtp, services"},
		{"UnknownNested", "services:\n  a:\n    verify:\n      secret: x\n", nil,
			"line 4: services.a.verify.secret: unknown field; known fields: scheme, secrets,"},
		{"UnknownInFlow", "services:\n  a:\n    verify: {scheme: github, secrest: [x]}\n", nil,
			"line 3: services.a.verify.secrest: unknown field"},
		{"UnknownActionSetting", "services:\n  a:\n    actions:\n      - email: {feild: email}\n", nil,
			"line 4: services.a.actions[0].email.feild: unknown field; known fields: field, template, subject, body, max_attempts, backoff"},
		{"UnknownBackoffSetting", "services:\n  a:\n    actions:\n      - forward: {backoff: {minimum: 1s}}\n", nil,
			"line 4: services.a.actions[0].forward.backoff.minimum: unknown field; known fields: min, max"},
		{"UnknownAction", "services:\n  a:\n    actions: [mail]\n", nil,
			`line 3: services.a.actions[0]: unknown action "mail"; an action is a name`},
		{"UnknownActionKey", "services:\n  a:\n    actions:\n      - mail: {}\n", nil,
			`line 4: services.a.actions[0]: unknown action "mail"`},
		{"ActionTwoKeys", "services:\n  a:\n    actions:\n      - email: {}\n        forward: {}\n", nil,
			"line 4: services.a.actions[0]: an action is a name (email, forward, noop) or a one-key map such as {email: {field: email}}; this map has 2 keys"},
		{"ActionList", "services:\n  a:\n    actions:\n      - [email]\n", nil,
			"line 4: services.a.actions[0]: an action is a name"},
		{"NoopSettings", "services:\n  a:\n    actions:\n      - noop: {x: 1}\n", nil,
			"line 4: services.a.actions[0].noop.x: unknown field"},
		{"NotANumber", "services:\n  a:\n    actions:\n      - email: {max_attempts: many}\n", nil,
			`line 4: services.a.actions[0].email.max_attempts: expected a whole number, got "many"`},
		{"NotABool", "services:\n  a:\n    verify: {ignore_timestamp: maybe}\n", nil,
			`line 3: services.a.verify.ignore_timestamp: expected true or false, got "maybe"`},
		{"BadSize", "services:\n  a:\n    max_body: 5XB\n", nil,
			"line 3: services.a.max_body: invalid size: unknown unit"},
		{"BadDuration", "services:\n  a:\n    idempotency_ttl: 7\n", nil,
			"line 3: services.a.idempotency_ttl: invalid duration: missing unit"},
		{"BadKeepFailed", "services:\n  a:\n    keep_failed: maybe\n", nil,
			"line 3: services.a.keep_failed: expected true or false"},
		{"BadTimeout", "services:\n  a:\n    actions:\n      - forward: {timeout: soon}\n", nil,
			"line 4: services.a.actions[0].forward.timeout: invalid duration"},
		{"SecretsNotList", "services:\n  a:\n    verify: {secrets: abc}\n", nil,
			"line 3: services.a.verify.secrets: expected a list"},
		{"VerifyNotMap", "services:\n  a:\n    verify: hmac-sha256\n", nil,
			"line 3: services.a.verify: expected a map of settings"},
		{"ListenList", "listen: [a, b]\n", nil,
			"line 1: listen: expected a single value"},
		{"ServicesList", "services: [a]\n", nil,
			"line 1: services: expected a map"},
		{"RootList", "- a\n", nil,
			"line 1: expected a map of settings"},
		{"Duplicate", "listen: :1\nadmin: {}\nlisten: :2\n", nil,
			"line 3: listen: set twice (first on line 1); keep one"},
		{"Unterminated", "admin:\n  token: ${TOKEN\n", nil,
			`line 2: admin.token: unterminated "${"`},
		{"BadVarName", "admin:\n  token: ${1TOKEN}\n", nil,
			`line 2: admin.token: invalid variable reference "${1TOKEN}"`},
		{"NumberFromEnv", "services:\n  a:\n    actions:\n      - email: {max_attempts: ${N}}\n", map[string]string{"N": "six"},
			"line 4: services.a.actions[0].email.max_attempts: expected a whole number"},
		{"Syntax", "listen: [\n", nil, "line 2: invalid YAML: did not find expected node content"},
		{"SyntaxAfterReference", "smtp: {from: \"${FROM}\"}\nservices:\n  a:\n    verify: {secrets: [\"${S}\"]}\n   actions: [noop]\n", nil,
			"line 5: invalid YAML: did not find expected key (while parsing a block mapping from line 3)"},
		{"TwoDocuments", "listen: :1\n---\nlisten: :2\n", nil,
			"line 2: a second YAML document"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.src), env(tt.env))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if ls := lines(err); !hasLine(ls, tt.want) {
				t.Errorf("Parse error:\n%s\nwant a line starting with\n%s", err, tt.want)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("lisen: x\nservices:\n  a:\n    verify: {secret: x}\n    max_body: lots\n"), env(nil))
	if got := lines(err); len(got) != 3 {
		t.Errorf("got %d problems, want 3:\n%s", len(got), err)
	}
}

func TestParseActionForms(t *testing.T) {
	t.Parallel()
	defaultBackoff := BackoffConfig{Min: Duration(DefaultBackoffMin), Max: Duration(DefaultBackoffMax)}
	for _, tt := range []struct {
		name string
		yaml string
		want ActionConfig
	}{
		{"BareNoop", "noop", ActionConfig{Type: "noop", MaxAttempts: DefaultMaxAttempts, Backoff: defaultBackoff}},
		{"NoopNull", "noop:", ActionConfig{Type: "noop", MaxAttempts: DefaultMaxAttempts, Backoff: defaultBackoff}},
		{"NoopEmpty", "noop: {}", ActionConfig{Type: "noop", MaxAttempts: DefaultMaxAttempts, Backoff: defaultBackoff}},
		{"BareEmail", "email", ActionConfig{Type: "email", MaxAttempts: DefaultMaxAttempts, Backoff: defaultBackoff,
			Email: &EmailConfig{Field: "email", Template: "welcome"}}},
		{"EmailNull", "email:", ActionConfig{Type: "email", MaxAttempts: DefaultMaxAttempts, Backoff: defaultBackoff,
			Email: &EmailConfig{Field: "email", Template: "welcome"}}},
		{"EmailFull", `email: {field: user.email, template: receipt, subject: "Hi {{.name}}", body: "…", max_attempts: 6, backoff: {min: 100ms, max: 1s}}`,
			ActionConfig{Type: "email", MaxAttempts: 6,
				Backoff: BackoffConfig{Min: Duration(100 * time.Millisecond), Max: Duration(time.Second)},
				Email:   &EmailConfig{Field: "user.email", Template: "receipt", Subject: "Hi {{.name}}", Body: "…"}}},
		{"EmailBlock", "email:\n          field: contact\n          backoff: {max: 2h}",
			ActionConfig{Type: "email", MaxAttempts: DefaultMaxAttempts,
				Backoff: BackoffConfig{Min: Duration(DefaultBackoffMin), Max: Duration(2 * time.Hour)},
				Email:   &EmailConfig{Field: "contact", Template: "welcome"}}},
		{"BareForward", "forward", ActionConfig{Type: "forward", MaxAttempts: DefaultMaxAttempts, Backoff: defaultBackoff,
			Forward: &ForwardConfig{Timeout: Duration(10 * time.Second)}}},
		{"ForwardFull", `forward: {url: "http://svc:9000/x", timeout: 3s, headers: [X-GitHub-Event, X-GitHub-Delivery], max_attempts: 2}`,
			ActionConfig{Type: "forward", MaxAttempts: 2, Backoff: defaultBackoff,
				Forward: &ForwardConfig{URL: "http://svc:9000/x", Timeout: Duration(3 * time.Second), Headers: []string{"X-GitHub-Event", "X-GitHub-Delivery"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustParse(t, "services:\n  a:\n    actions:\n      - "+tt.yaml+"\n", nil)
			got := c.ServiceConfigs["a"].Actions
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("actions = %s, want %s", dump(got), dump([]ActionConfig{tt.want}))
			}
		})
	}
}

// dump formats actions with their settings, not their pointers.
func dump(as []ActionConfig) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "{%s max_attempts=%d backoff=%v", a.Type, a.MaxAttempts, a.Backoff)
		if a.Email != nil {
			fmt.Fprintf(&b, " email=%+v", *a.Email)
		}
		if a.Forward != nil {
			fmt.Fprintf(&b, " forward=%+v", *a.Forward)
		}
		b.WriteString("} ")
	}
	return b.String()
}

func TestParseEmpty(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "# nothing\n", "---\n"} {
		c := mustParse(t, src, nil)
		if c.Listen != ":8080" || c.Admin.Listen != "127.0.0.1:8081" || c.Database != "sqlite:hookd.db" ||
			c.SMTP.URL != "smtp://127.0.0.1:25" || c.SMTP.From != "hookd <noreply@localhost>" {
			t.Errorf("Parse(%q) defaults = %+v", src, c)
		}
		if !hasLine(lines(c.Validate()...), "services: none configured") {
			t.Errorf("Parse(%q).Validate() does not ask for a service", src)
		}
	}
}

func TestParseMergeKeys(t *testing.T) {
	t.Parallel()
	src := `
common: &common
  max_body: 2MiB
services:
  a:
    <<: *common
    verify: {secrets: [x]}
`
	// "common" is not a known key: anchors must live inside known fields.
	if _, err := Parse([]byte(src), env(nil)); err == nil || !strings.Contains(err.Error(), "line 2: common: unknown field") {
		t.Errorf("err = %v", err)
	}
	src = `
services:
  a: &a
    max_body: 2MiB
    verify: {secrets: [x]}
  b:
    <<: *a
    idempotency_ttl: 1h
    verify: {secrets: [y], secret: z}
`
	_, err := Parse([]byte(src), env(nil))
	if err == nil || !strings.Contains(err.Error(), "line 9: services.b.verify.secret: unknown field") {
		t.Errorf("err = %v", err)
	}
	c := mustParse(t, strings.Replace(src, ", secret: z", "", 1), nil)
	if c.ServiceConfigs["b"].MaxBody != 2<<20 || c.ServiceConfigs["b"].Verify.Secrets[0] != "y" {
		t.Errorf("merged service = %+v", c.ServiceConfigs["b"])
	}
}
