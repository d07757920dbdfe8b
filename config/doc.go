// Package config turns hookd's YAML configuration and environment into plain
// structs, checks them, and builds the domain's services from them.
//
// The file format is the README's (Configuration): a top-level listen
// address, an admin listener, a database URL, SMTP settings and a map of
// services, each with a verify block (README: Signature schemes) and a list
// of actions (README: Actions). ${VAR} references in values are replaced
// from the environment when the file is parsed; Config.ApplyEnv applies the
// HOOKD_* overrides.
//
// The package never reads files or the process environment itself: callers
// pass the bytes and a lookup function (os.LookupEnv in production), which
// keeps every function here deterministic and testable.
//
// A typical start-up is
//
//	cfg, err := config.Load(path, data, os.LookupEnv) // Parse, or Default without a file; then ApplyEnv
//	services, err := cfg.Build()                      // hookd's verifiers; every problem, one each
//
// (Build is Services with the verify package's verifiers, plus the email
// templates' checks.)
//
// Problems are reported one per line as "field.path: problem; fix" (see
// FieldError), and no message ever contains a secret: parse errors do not
// quote values that came from ${VAR}s, and validation never quotes secrets,
// tokens or URLs.
package config
