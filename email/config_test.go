package email

import (
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want Endpoint
	}{
		{"smtp://mail.example.com", Endpoint{Host: "mail.example.com", Port: 25}},
		{"smtp://127.0.0.1:2525", Endpoint{Host: "127.0.0.1", Port: 2525}},
		{"smtp://127.0.0.1:2525/", Endpoint{Host: "127.0.0.1", Port: 2525}},
		{"smtps://mail.example.com", Endpoint{Host: "mail.example.com", Port: 465, ImplicitTLS: true}},
		{"smtps://[::1]:4650", Endpoint{Host: "::1", Port: 4650, ImplicitTLS: true}},
		{"smtp://ada:p%40ss%3Aw0rd@mail.example.com:587", Endpoint{Host: "mail.example.com", Port: 587, Username: "ada", Password: "p@ss:w0rd"}},
		{"smtp://ada@mail.example.com", Endpoint{Host: "mail.example.com", Port: 25, Username: "ada"}},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.raw, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseURL(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	t.Parallel()
	const secret = "Sup3rSecret"
	tests := []struct {
		raw, want string
	}{
		{"", "smtp.url: required"},
		{"http://mail.example.com", `scheme "http"`},
		{"mail.example.com:25", "scheme"},
		{"smtp://", "missing host"},
		{"smtp://:25", "missing host"},
		{"smtp://host:0", "invalid port"},
		{"smtp://host:70000", "invalid port"},
		{"smtp://host:25/path", "unexpected path"},
		{"smtp://host:25?x=1", "unexpected path"},
		{"smtp://:" + secret + "@host", "empty user name"},
		{"smtp://user:" + secret + "@host:x25", "not a valid URL"},
		{"smtp://user:Sup3r#Secret@host", "not a valid URL"},
		{"smtp://user:Sup3r/Secret@host", "not a valid URL"},
		{"smtp://user:" + secret + "@host/" + secret, "unexpected path"},
		{"smtp://user:" + secret + "@%zz", "not a valid URL"},
	}
	for _, tt := range tests {
		_, err := ParseURL(tt.raw)
		if err == nil {
			t.Errorf("ParseURL(%q): no error", tt.raw)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "smtp.url: ") || !strings.Contains(msg, tt.want) {
			t.Errorf("ParseURL(%q) = %q, want smtp.url: …%s…", tt.raw, msg, tt.want)
		}
		for _, part := range []string{secret, "Sup3r", "Secret"} {
			if strings.Contains(msg, part) {
				t.Errorf("ParseURL(%q) error %q contains the password", tt.raw, msg)
			}
		}
	}
}

func TestEndpointStringRedacts(t *testing.T) {
	t.Parallel()
	e, err := ParseURL("smtps://ada:hunter2@mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.String(), "smtps://ada:xxxxx@mail.example.com:465"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	e, _ = ParseURL("smtp://[::1]")
	if got, want := e.String(), "smtp://[::1]:25"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := Config{URL: "smtp://127.0.0.1:2525", From: "hookd <noreply@example.com>"}
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string
	}{
		{"no url", func(c *Config) { c.URL = "" }, []string{"smtp.url: required"}},
		{"no from", func(c *Config) { c.From = "" }, []string{"smtp.from: required"}},
		{"bad from", func(c *Config) { c.From = "hookd" }, []string{"smtp.from: "}},
		{"from with CRLF", func(c *Config) { c.From = "a@example.com\r\nBcc: x@example.com" }, []string{"smtp.from: "}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"smtp.timeout: "}},
		{"several", func(c *Config) { c.URL, c.From = "ftp://x", "" }, []string{"smtp.url: ", "smtp.from: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid
			tt.modify(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("Validate() = %q, want %d lines", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
				}
			}
			if _, err := NewSender(c); err == nil {
				t.Error("NewSender accepted an invalid config")
			}
		})
	}
}
