package logging_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/internal/logging"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestNew: the flags win over the variables, which win over info and
// text; a bad value names the flag or variable it came from.
func TestNew(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	log, err := logging.New(&b, "", "", env(map[string]string{"HOOKD_LOG_LEVEL": "WARN", "HOOKD_LOG_FORMAT": "json"}))
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown")
	var line map[string]any
	if err := json.Unmarshal(b.Bytes(), &line); err != nil || line["msg"] != "shown" {
		t.Errorf("from the variables: %q, %v; want one JSON line at warn", b.String(), err)
	}
	b.Reset()
	log, err = logging.New(&b, "debug", "text", env(map[string]string{"HOOKD_LOG_LEVEL": "error", "HOOKD_LOG_FORMAT": "json"}))
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("shown")
	if !strings.HasPrefix(b.String(), "time=") || !strings.Contains(b.String(), "level=DEBUG msg=shown") {
		t.Errorf("from the flags: %q, want a text line at debug", b.String())
	}
	for _, tt := range []struct {
		level, format string
		env           map[string]string
		want          string
	}{
		{"loud", "", nil, `--log-level: "loud" is not one of debug, info, warn, error`},
		{"", "xml", nil, `--log-format: "xml" is not one of text, json`},
		{"", "", map[string]string{"HOOKD_LOG_LEVEL": "verbose"}, `HOOKD_LOG_LEVEL: "verbose" is not one of debug, info, warn, error`},
		{"", "", map[string]string{"HOOKD_LOG_FORMAT": "yaml"}, `HOOKD_LOG_FORMAT: "yaml" is not one of text, json`},
	} {
		if _, err := logging.New(&b, tt.level, tt.format, env(tt.env)); err == nil || err.Error() != tt.want {
			t.Errorf("New(%q, %q, %v) = %v, want %s", tt.level, tt.format, tt.env, err, tt.want)
		}
	}
}

// TestNames: the start-up line's database and SMTP server, no secret.
func TestNames(t *testing.T) {
	t.Parallel()
	abs, _ := filepath.Abs("hookd.db")
	for db, want := range map[string]string{
		"sqlite:hookd.db": "sqlite:" + abs,
		"postgres://u:secret@db:5432/hookd?sslmode=disable":   "postgres://u:xxxxx@db:5432/hookd?sslmode=disable",
		"postgres://db/hookd?password=secret&sslmode=disable": "postgres://db/hookd?password=xxxxx&sslmode=disable",
	} {
		if got := logging.Database(&config.Config{Database: db}); got != want {
			t.Errorf("Database(%q) = %q, want %q", db, got, want)
		}
	}
	for raw, want := range map[string]string{
		"smtp://user:secret@mail.example.com:2525": "mail.example.com:2525",
		"smtp://user:pa#ss@mail.example.com":       "(invalid smtp.url)",
	} {
		if got := logging.SMTP(raw); got != want {
			t.Errorf("SMTP(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]string{
		"postgres://u:secret@db/hookd":                        "postgres://u:xxxxx@db/hookd",
		"postgres://db/hookd":                                 "postgres://db/hookd",
		"sqlite:hookd.db":                                     "sqlite:hookd.db",
		"postgres://db/hookd?password=secret&sslmode=disable": "postgres://db/hookd?password=xxxxx&sslmode=disable",
		"postgres://db/%zz?password=secret":                   "(unparsable URL)",
	} {
		if got := logging.RedactURL(s); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", s, got, want)
		}
	}
}
