package config

import (
	"strings"
	"testing"
)

// validService is a service that passes validation; cases add to it.
const validService = "services:\n  a:\n    verify: {secrets: [s3cret-value]}\n"

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		src  string
		env  map[string]string
		want string // the exact start of one error; "" means valid
	}{
		{"Valid", validService, nil, ""},
		{"ValidNone", "services:\n  open:\n    verify: {scheme: none, i_understand_this_is_unsafe: true}\n", nil, ""},
		{"ValidPostgres", "database: postgres://hookd@db:5432/hookd\n" + validService, nil, ""},
		{"ValidPostgresql", "database: postgresql://hookd@db/hookd?sslmode=disable\n" + validService, nil, ""},
		{"ValidPublicAdminWithToken", "admin: {listen: \"0.0.0.0:8081\", token: t0ken}\n" + validService, nil, ""},
		{"ValidEveryScheme", "services:\n" +
			"  a: {verify: {scheme: hmac-sha256, secrets: [x]}}\n  b: {verify: {scheme: github, secrets: [x]}}\n" +
			"  c: {verify: {scheme: stripe, secrets: [x]}}\n  d: {verify: {scheme: standard-webhooks, secrets: [x]}}\n" +
			"  e: {verify: {scheme: shopify, secrets: [x]}}\n  f: {verify: {scheme: slack, secrets: [x]}}\n" +
			"  g: {verify: {scheme: twilio, secrets: [x]}}\n  h: {verify: {scheme: basic, secrets: [x]}}\n" +
			"  i: {verify: {scheme: api-key, secrets: [x]}}\n", nil, ""},
		{"ValidNames", "services:\n  0-a_b: {verify: {secrets: [x]}}\n  " + strings.Repeat("x", 64) + ": {verify: {secrets: [x]}}\n", nil, ""},
		{"ValidActions", validService + "    idempotency_key: \"header:X-Request-Id, json:data.id, form:trigger_id\"\n    actions:\n" +
			"      - email: {field: user.email, max_attempts: 100, backoff: {min: 1m, max: 1m}}\n" +
			"      - forward: {url: \"https://svc.internal/x\", headers: [X-GitHub-Event]}\n      - noop\n", nil, ""},

		{"Listen", "listen: \"8080\"\n" + validService, nil, `listen: invalid address "8080" (missing port in address); use HOST:PORT`},
		{"ListenPort", "listen: \":70000\"\n" + validService, nil, `listen: invalid port in ":70000"`},
		{"ListenNoPort", "listen: \"localhost:\"\n" + validService, nil, `listen: invalid port`},
		{"AdminListen", "admin: {listen: nope}\n" + validService, nil, `admin.listen: invalid address "nope"`},
		{"AdminSameAsListen", "listen: \"127.0.0.1:8081\"\n" + validService, nil, "admin.listen: same address as listen"},
		{"AdminTokenAnyHost", "admin: {listen: \"0.0.0.0:8081\"}\n" + validService, nil,
			"admin.token: required when admin.listen is not a loopback address (0.0.0.0:8081); set HOOKD_ADMIN_TOKEN or admin.token"},
		{"AdminTokenEmptyHost", "admin: {listen: \":8081\"}\n" + validService, nil,
			"admin.token: required when admin.listen is not a loopback address (:8081)"},
		{"AdminTokenUnsetVar", "admin: {listen: \"10.0.0.1:8081\", token: \"${ADMIN_TOKEN}\"}\n" + validService, nil,
			"admin.token: required when admin.listen is not a loopback address (10.0.0.1:8081); set ADMIN_TOKEN (referenced as ${ADMIN_TOKEN})"},
		{"DatabaseScheme", "database: mysql://u@h/db\n" + validService, nil,
			`database: unsupported URL scheme "mysql" (use sqlite:PATH or postgres://`},
		{"DatabaseNotURL", "database: hookd.db\n" + validService, nil, "database: not a URL; use sqlite:PATH"},
		{"DatabaseSQLiteEmpty", "database: \"sqlite:\"\n" + validService, nil, "database: sqlite: needs a file path"},
		{"DatabasePostgresNoHost", "database: postgres:///db\n" + validService, nil, "database: postgres URL without a host"},
		{"SMTPScheme", "smtp: {url: \"http://mail:25\"}\n" + validService, nil, `smtp.url: unsupported URL scheme "http"; use smtp://`},
		{"SMTPNoHost", "smtp: {url: \"smtp://:25\"}\n" + validService, nil, "smtp.url: no host"},
		{"SMTPFrom", "smtp: {from: nobody}\n" + validService, nil, "smtp.from: not an email address"},
		{"NoServices", "listen: \":8080\"\n", nil, "services: none configured"},
		{"NoServicesEmptyMap", "services: {}\n", nil, "services: none configured"},
		{"ServiceNameUpper", "services:\n  GitHub: {verify: {secrets: [x]}}\n", nil, `services.GitHub: invalid service name "GitHub"`},
		{"ServiceNameSlash", "services:\n  \"a/b\": {verify: {secrets: [x]}}\n", nil, `services.a/b: invalid service name`},
		{"ServiceNameDash", "services:\n  -a: {verify: {secrets: [x]}}\n", nil, `services.-a: invalid service name`},
		{"ServiceNameLong", "services:\n  " + strings.Repeat("x", 65) + ": {verify: {secrets: [x]}}\n", nil, "services.xxxx"},
		{"ServiceNull", "services:\n  a:\n", nil, `services.a.verify.secrets: no secret configured; add one, e.g. secrets: ["${A_SECRET}"], and set A_SECRET`},
		{"NoSecrets", "services:\n  my-hook: {verify: {scheme: github}}\n", nil,
			`services.my-hook.verify.secrets: no secret configured; add one, e.g. secrets: ["${MY_HOOK_SECRET}"]`},
		{"SecretUnset", "services:\n  a: {verify: {secrets: [\"${A_SECRET}\"]}}\n", nil,
			"services.a.verify.secrets: no secret configured; set A_SECRET (referenced as ${A_SECRET})"},
		{"SecretEmptyVar", "services:\n  a: {verify: {secrets: [\"${A_SECRET}\", \"${B_SECRET}\"]}}\n", map[string]string{"A_SECRET": ""},
			"services.a.verify.secrets: no secret configured; set A_SECRET, B_SECRET (referenced as ${A_SECRET}, ${B_SECRET})"},
		{"SecretOneOfTwoUnset", "services:\n  a: {verify: {secrets: [new, \"${OLD_SECRET}\"]}}\n", nil,
			"services.a.verify.secrets[1]: uses an unset or empty variable; set OLD_SECRET (referenced as ${OLD_SECRET})"},
		{"SecretPartlyUnset", "services:\n  a: {verify: {scheme: basic, secrets: [\"partner:${PARTNER_PASSWORD}\"]}}\n", nil,
			"services.a.verify.secrets[0]: uses an unset or empty variable; set PARTNER_PASSWORD (referenced as ${PARTNER_PASSWORD})"},
		{"SecretPartlyEmpty", "services:\n  a: {verify: {secrets: [\"${A}${B}-0123456789abcdef\"]}}\n", map[string]string{"A": "set", "B": ""},
			"services.a.verify.secrets[0]: uses an unset or empty variable; set B (referenced as ${B})"},
		{"SecretEmptyLiteral", "services:\n  a: {verify: {secrets: [\"\", new]}}\n", nil,
			"services.a.verify.secrets[0]: empty secret; remove the entry or give it a value"},
		{"Scheme", "services:\n  a: {verify: {scheme: sha256, secrets: [x]}}\n", nil,
			`services.a.verify.scheme: unknown scheme "sha256"; use one of hmac-sha256, github,`},
		{"SchemeNoneUnacknowledged", "services:\n  a: {verify: {scheme: none}}\n", nil,
			"services.a.verify.scheme: none accepts unsigned requests from anyone; set i_understand_this_is_unsafe: true"},
		{"Tolerance", "services:\n  a: {verify: {secrets: [x], tolerance: -5s}}\n", nil, "services.a.verify.tolerance: must be positive"},
		{"MaxBodyTooBig", validService + "    max_body: 65MiB\n", nil, "services.a.max_body: 65MiB is over the 64MiB limit"},
		{"MaxBodyNegative", validService + "    max_body: -1\n", nil, "services.a.max_body: must be positive"},
		{"TTLNegative", validService + "    idempotency_ttl: -1d\n", nil, "services.a.idempotency_ttl: must be positive"},
		{"ValidRetention", validService + "    idempotency_ttl: 1d\n    retention: 30d\n    keep_failed: false\n", nil, ""},
		{"ValidRetentionTTL", validService + "    idempotency_ttl: 1h\n", nil, ""}, // retention defaults to it
		{"RetentionShorterThanTTL", validService + "    retention: 1h\n", nil,
			"services.a.retention: 1h is shorter than idempotency_ttl 7d; raise it or lower idempotency_ttl"},
		{"RetentionShorterThanTTLMinutes", validService + "    idempotency_ttl: 2h30m\n    retention: 90m\n", nil,
			"services.a.retention: 1h30m is shorter than idempotency_ttl 2h30m; raise it or lower idempotency_ttl"},
		{"RetentionNegative", validService + "    retention: -1d\n", nil, "services.a.retention: must be positive"},
		{"IdempotencyKeySource", validService + "    idempotency_key: \"cookie:id\"\n", nil,
			`services.a.idempotency_key: invalid source "cookie:id"; use header:NAME, json:PATH`},
		{"IdempotencyKeyPath", validService + "    idempotency_key: \"json:data..id\"\n", nil, `services.a.idempotency_key: invalid source "json:data..id"`},
		{"IdempotencyKeyHeader", validService + "    idempotency_key: \"header:Bad Header\"\n", nil, `services.a.idempotency_key: invalid source "header:Bad Header"`},
		{"IdempotencyKeyNoColon", validService + "    idempotency_key: \"Idempotency-Key\"\n", nil, `services.a.idempotency_key: invalid source "Idempotency-Key"`},
		{"IdempotencyKeyEmptyPart", validService + "    idempotency_key: \"header:X,\"\n", nil, `services.a.idempotency_key: invalid source ""`},
		{"ForwardNoURL", validService + "    actions: [forward]\n", nil, "services.a.actions[0].forward.url: required; give the internal URL"},
		{"ForwardURLUnset", validService + "    actions: [noop, forward: {url: \"${FORWARD_URL}\"}]\n", nil,
			"services.a.actions[1].forward.url: required; set FORWARD_URL (referenced as ${FORWARD_URL})"},
		{"ForwardURLScheme", validService + "    actions: [forward: {url: \"ftp://h/x\"}]\n", nil, `services.a.actions[0].forward.url: unsupported URL scheme "ftp"`},
		{"ForwardURLRelative", validService + "    actions: [forward: {url: \"/hook\"}]\n", nil, "services.a.actions[0].forward.url: not an absolute URL"},
		{"ForwardURLNoHost", validService + "    actions: [forward: {url: \"http:///hook\"}]\n", nil, "services.a.actions[0].forward.url: no host"},
		{"ForwardTimeout", validService + "    actions: [forward: {url: \"http://h\", timeout: -1s}]\n", nil, "services.a.actions[0].forward.timeout: must be positive"},
		{"ForwardHeader", validService + "    actions: [forward: {url: \"http://h\", headers: [ok, \"not ok\"]}]\n", nil,
			`services.a.actions[0].forward.headers[1]: invalid header name "not ok"`},
		{"EmailField", validService + "    actions: [email: {field: \"user..email\"}]\n", nil,
			`services.a.actions[0].email.field: invalid JSON path "user..email"`},
		{"MaxAttemptsHigh", validService + "    actions: [email: {max_attempts: 101}]\n", nil,
			"services.a.actions[0].email.max_attempts: 101 is out of range; use 1 to 100"},
		{"MaxAttemptsNegative", validService + "    actions: [forward: {url: \"http://h\", max_attempts: -1}]\n", nil,
			"services.a.actions[0].forward.max_attempts: -1 is out of range"},
		{"BackoffOrder", validService + "    actions: [email: {backoff: {min: 2s, max: 1s}}]\n", nil,
			"services.a.actions[0].email.backoff.min: 2s is greater than backoff.max (1s)"},
		{"BackoffOverDefaultMax", validService + "    actions: [email: {backoff: {min: 2h}}]\n", nil,
			"services.a.actions[0].email.backoff.min: 2h0m0s is greater than backoff.max (1h0m0s)"},
		{"BackoffNegative", validService + "    actions: [email: {backoff: {min: -1s}}]\n", nil,
			"services.a.actions[0].email.backoff.min: must be positive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustParse(t, tt.src, tt.env)
			errs := c.Validate()
			fieldErrors(t, errs)
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatalf("Validate() = %q, want no problems", lines(errs...))
				}
				return
			}
			if !hasLine(lines(errs...), tt.want) {
				t.Errorf("Validate() =\n%s\nwant a line starting with\n%s", strings.Join(lines(errs...), "\n"), tt.want)
			}
		})
	}
}

func TestValidateEveryProblemInOrder(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `
listen: nope
database: mysql://x
services:
  b: {verify: {scheme: nope, secrets: [x]}}
  a: {verify: {secrets: [x]}, max_body: 100MiB}
`, nil)
	got := lines(c.Validate()...)
	want := []string{"listen:", "database:", "services.a.max_body:", "services.b.verify.scheme:"}
	if len(got) != len(want) {
		t.Fatalf("Validate() = %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}

func TestValidateHandBuilt(t *testing.T) {
	t.Parallel()
	// A Config built in code, without defaults or Parse, validates the same.
	c := &Config{ServiceConfigs: map[string]*ServiceConfig{
		"a": {Verify: Verify{Secrets: []string{"x"}}, Actions: []ActionConfig{{Type: "email"}, {Type: "noop"}}},
		"b": {Verify: Verify{Secrets: []string{"x"}}, Actions: []ActionConfig{{Type: "sms"}}},
	}}
	got := lines(c.Validate()...)
	if len(got) != 1 || !strings.HasPrefix(got[0], `services.b.actions[0]: unknown action "sms"`) {
		t.Errorf("Validate() = %q", got)
	}
}
