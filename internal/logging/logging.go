// Package logging builds the logger of "hookd serve" and names, for its
// start-up line and hookd's messages, where data and mail go without
// saying a secret.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/email"
)

// levels are the values of --log-level.
var levels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// New returns a logger that writes to w, at level in format (the flags
// --log-level and --log-format), each falling back to its environment
// variable in lookup (HOOKD_LOG_LEVEL, HOOKD_LOG_FORMAT), then to info
// and text. A bad value is an error that names where it came from.
func New(w io.Writer, level, format string, lookup func(string) (string, bool)) (*slog.Logger, error) {
	// pick returns the value to use and where it came from, for messages.
	pick := func(value, flag, env, def string) (string, string) {
		if value != "" {
			return value, flag
		}
		if v, ok := lookup(env); ok && v != "" {
			return v, env
		}
		return def, ""
	}
	level, levelFrom := pick(level, "--log-level", "HOOKD_LOG_LEVEL", "info")
	format, formatFrom := pick(format, "--log-format", "HOOKD_LOG_FORMAT", "text")
	lv, ok := levels[strings.ToLower(level)]
	if !ok {
		return nil, fmt.Errorf("%s: %q is not one of debug, info, warn, error", levelFrom, level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%s: %q is not one of text, json", formatFrom, format)
}

// Database names the database for the start-up line: a SQLite file's
// absolute path, or the URL without its password.
func Database(cfg *config.Config) string {
	if path, ok := cfg.SQLitePath(); ok {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		return "sqlite:" + path
	}
	return RedactURL(cfg.Database)
}

// SMTP is where mail goes: host and port, never the credentials.
func SMTP(raw string) string {
	e, err := email.ParseURL(raw)
	if err != nil {
		return "(invalid smtp.url)"
	}
	return net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
}

// RedactURL hides a URL's password for printing: the one after the user
// name, and a password parameter (libpq takes it that way too). A URL that
// does not parse is not printed at all.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
