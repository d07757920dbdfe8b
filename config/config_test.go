package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

func TestDefault(t *testing.T) {
	t.Parallel()

	t.Run("SecretsSet", func(t *testing.T) {
		t.Parallel()
		c := Default(env(map[string]string{"ADAPTER_1_SECRET": "one", "ADAPTER_2_SECRET": "two"}))
		if errs := c.Validate(); len(errs) > 0 {
			t.Fatalf("Validate() = %v", errs)
		}
		if c.Listen != ":8080" || c.Admin.Listen != "127.0.0.1:8081" || c.Admin.Token != "" || c.Database != "sqlite:hookd.db" {
			t.Errorf("Default = %+v", c)
		}
		if path, ok := c.SQLitePath(); !ok || path != "hookd.db" {
			t.Errorf("SQLitePath() = %q, %v", path, ok)
		}
		a1, a2 := c.ServiceConfigs["adapter1"], c.ServiceConfigs["adapter2"]
		if len(c.ServiceConfigs) != 2 || a1 == nil || a2 == nil {
			t.Fatalf("services = %v", c.ServiceConfigs)
		}
		if a1.Verify.Scheme != "hmac-sha256" || !reflect.DeepEqual(a1.Verify.Secrets, []string{"one"}) ||
			a2.Verify.Scheme != "hmac-sha256" || !reflect.DeepEqual(a2.Verify.Secrets, []string{"two"}) {
			t.Errorf("verify = %+v, %+v", a1.Verify, a2.Verify)
		}
		if len(a1.Actions) != 1 || a1.Actions[0].Type != hookd.ActionEmail || a1.Actions[0].Email.Field != "email" || a1.Actions[0].Email.Template != "welcome" {
			t.Errorf("adapter1 actions = %s", dump(a1.Actions))
		}
		if len(a2.Actions) != 1 || a2.Actions[0].Type != hookd.ActionNoop {
			t.Errorf("adapter2 actions = %s", dump(a2.Actions))
		}
	})

	t.Run("SecretUnset", func(t *testing.T) {
		t.Parallel()
		c := Default(env(map[string]string{"ADAPTER_2_SECRET": "two", "ADAPTER_1_SECRET": ""}))
		got := lines(c.Validate()...)
		want := "services.adapter1.verify.secrets: no secret configured; set ADAPTER_1_SECRET (referenced as ${ADAPTER_1_SECRET})"
		if len(got) != 1 || got[0] != want {
			t.Errorf("Validate() = %q, want [%q]", got, want)
		}
	})
}

func TestApplyEnv(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "listen: \":1\"\nadmin: {listen: \"127.0.0.1:2\", token: file}\ndatabase: sqlite:a.db\nsmtp: {url: \"smtp://a\", from: \"a@example.com\"}\n", nil)

	unchanged := *c
	c.ApplyEnv(env(map[string]string{"HOOKD_LISTEN": "", "OTHER": "x"}))
	if !reflect.DeepEqual(*c, unchanged) {
		t.Errorf("empty or unrelated variables changed the config: %+v", c)
	}

	c.ApplyEnv(env(map[string]string{
		"HOOKD_LISTEN":       ":9090",
		"HOOKD_ADMIN_LISTEN": "0.0.0.0:9091",
		"HOOKD_ADMIN_TOKEN":  "from-env",
		"HOOKD_DATABASE_URL": "postgres://hookd@db/hookd",
		"HOOKD_SMTP_URL":     "smtps://mail:465",
		"HOOKD_EMAIL_FROM":   "ops@example.com",
	}))
	want := Admin{Listen: "0.0.0.0:9091", Token: "from-env"}
	if c.Listen != ":9090" || c.Admin != want || c.Database != "postgres://hookd@db/hookd" ||
		c.SMTP != (SMTP{URL: "smtps://mail:465", From: "ops@example.com"}) {
		t.Errorf("after ApplyEnv: %+v", c)
	}
	if u, ok := c.PostgresURL(); !ok || u != "postgres://hookd@db/hookd" {
		t.Errorf("PostgresURL() = %q, %v", u, ok)
	}
	if _, ok := c.SQLitePath(); ok {
		t.Error("SQLitePath() ok for a postgres database")
	}
}

func TestApplyEnvSatisfiesAdminToken(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "admin: {listen: \"0.0.0.0:8081\", token: \"${HOOKD_ADMIN_TOKEN}\"}\n"+validService, nil)
	if !hasLine(lines(c.Validate()...), "admin.token: required") {
		t.Fatal("no admin.token problem before ApplyEnv")
	}
	c.ApplyEnv(env(map[string]string{"HOOKD_ADMIN_TOKEN": "t"}))
	if errs := c.Validate(); len(errs) > 0 {
		t.Errorf("Validate() after ApplyEnv = %v", errs)
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8081":      true,
		"127.1.2.3:8081":      true,
		"[::1]:8081":          true,
		"localhost:8081":      true,
		"LocalHost:8081":      true,
		":8081":               false,
		"0.0.0.0:8081":        false,
		"[::]:8081":           false,
		"10.0.0.1:8081":       false,
		"example.com:8081":    false,
		"localhost.evil:8081": false,
		"127.0.0.1":           false, // no port: does not parse
		"":                    false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestDatabaseHelpers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		db       string
		sqlite   string
		isSQLite bool
		isPG     bool
	}{
		{db: "", sqlite: "hookd.db", isSQLite: true},
		{db: "sqlite:hookd.db", sqlite: "hookd.db", isSQLite: true},
		{db: "sqlite:/var/lib/hookd/hookd.db", sqlite: "/var/lib/hookd/hookd.db", isSQLite: true},
		{db: "sqlite:///var/lib/hookd.db", sqlite: "/var/lib/hookd.db", isSQLite: true},
		{db: "sqlite://data/hookd.db", sqlite: "data/hookd.db", isSQLite: true},
		{db: "sqlite:hookd.db?_pragma=busy_timeout(5000)", sqlite: "hookd.db?_pragma=busy_timeout(5000)", isSQLite: true},
		{db: "sqlite:"},
		{db: "postgres://u@h/db", isPG: true},
		{db: "postgresql://u@h/db", isPG: true},
		{db: "mysql://u@h/db"},
	} {
		c := &Config{Database: tt.db}
		path, ok := c.SQLitePath()
		if ok != tt.isSQLite || path != tt.sqlite {
			t.Errorf("SQLitePath(%q) = %q, %v", tt.db, path, ok)
		}
		if u, ok := c.PostgresURL(); ok != tt.isPG || ok && u != tt.db {
			t.Errorf("PostgresURL(%q) = %q, %v", tt.db, u, ok)
		}
	}
}

func TestSetDefaultsKeepsValues(t *testing.T) {
	t.Parallel()
	c := mustParse(t, validService+"    max_body: 2KiB\n    actions: [email: {field: to, max_attempts: 1}]\n", nil)
	before := dump(c.ServiceConfigs["a"].Actions)
	c.SetDefaults()
	if after := dump(c.ServiceConfigs["a"].Actions); after != before || c.ServiceConfigs["a"].MaxBody != 2048 {
		t.Errorf("SetDefaults changed set values: %s -> %s", before, after)
	}
	if !strings.Contains(before, "Field:to") || !strings.Contains(before, "max_attempts=1") {
		t.Errorf("actions = %s", before)
	}
}
