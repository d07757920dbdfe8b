package main

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/email"
	"github.com/hookd/hookd/verify"
)

// configError carries every configuration problem, one line each.
type configError struct{ problems []error }

func (e *configError) Error() string { return errors.Join(e.problems...).Error() }

// loaded is a validated configuration and the services built from it.
type loaded struct {
	cfg      *config.Config
	services map[string]*hookd.Service
}

// envLookup reads the environment, then a .env file in the working
// directory for what the environment lacks.
func envLookup() (func(string) (string, bool), error) {
	dotenv, err := godotenv.Read(".env")
	if errors.Is(err, os.ErrNotExist) {
		dotenv = nil
	} else if err != nil {
		return nil, fmt.Errorf(".env: %w", err)
	}
	return func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		v, ok := dotenv[name]
		return v, ok
	}, nil
}

// loadConfig reads --config, else $HOOKD_CONFIG, else the zero-config
// defaults; applies the HOOKD_* overrides; validates; builds the services.
func loadConfig(path string) (*loaded, error) {
	lookup, err := envLookup()
	if err != nil {
		return nil, &configError{[]error{err}}
	}
	if path == "" {
		path, _ = lookup("HOOKD_CONFIG")
	}
	var cfg *config.Config
	if path == "" {
		cfg = config.Default(lookup)
	} else {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, &configError{[]error{fmt.Errorf("config: %w", err)}}
		}
		cfg, err = config.Parse(data, lookup)
		if err != nil {
			return nil, &configError{inFile(path, err)}
		}
	}
	cfg.ApplyEnv(lookup)
	return build(cfg)
}

// inFile returns the problems of err, which Parse may have joined, one per
// line, each prefixed with the file's path.
func inFile(path string, err error) []error {
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	var out []error
	for _, e := range errs {
		for line := range strings.SplitSeq(e.Error(), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, fmt.Errorf("%s: %s", path, line))
			}
		}
	}
	return out
}

// build validates cfg, whose defaults Parse or Default filled in, and
// builds its services. Services reports every problem Validate finds, and
// the verifiers' own.
func build(cfg *config.Config) (*loaded, error) {
	var problems []error
	list, err := cfg.Services(newVerifier)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			problems = append(problems, errors.New(line))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.ServiceConfigs)) {
		for i, a := range cfg.ServiceConfigs[name].Actions {
			if e := a.Email; e != nil {
				err := email.CheckTemplates(&hookd.EmailAction{Field: e.Field, Template: e.Template, Subject: e.Subject, Body: e.Body})
				if err != nil {
					problems = append(problems, fmt.Errorf("services.%s.actions[%d].email.%v", name, i, err))
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, &configError{problems}
	}
	services := make(map[string]*hookd.Service, len(list))
	for _, s := range list {
		services[s.Name] = s
	}
	return &loaded{cfg: cfg, services: services}, nil
}

func newVerifier(_ string, v config.Verify) (hookd.Verifier, error) {
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

// config runs "hookd config check".
func (c *cli) config(args []string) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(c.stderr, "usage: hookd config check [--config FILE]")
		return errUsage
	}
	fs := c.flags("config check", "Validates the configuration: one line per problem, exit status 2 if any.")
	path := fs.String("config", "", "configuration `file` (default $HOOKD_CONFIG, else the zero-config defaults)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	l, err := loadConfig(*path)
	if err != nil {
		return err
	}
	services := "services"
	if len(l.services) == 1 {
		services = "service"
	}
	fmt.Fprintf(c.stdout, "configuration OK: %d %s, database %s\n", len(l.services), services, redactURL(l.cfg.Database))
	return nil
}

// flags returns a flag set that prints its usage to stderr.
func (c *cli) flags(name, doc string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "usage: hookd %s [flags]\n\n%s\n\nFlags:\n", name, doc)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; --help is a success, anything else wrong is usage.
func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	} else if err != nil {
		return errUsage
	}
	return nil
}

// errHelp ends a command after it printed its help.
var errHelp = errors.New("help")
