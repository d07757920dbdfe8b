package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/joho/godotenv"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/internal/logging"
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

// readConfig reads --config, else $HOOKD_CONFIG, else the zero-config
// defaults, and applies the HOOKD_* overrides (config.Load). It builds no
// service: what only needs the database needs no secret and no SMTP setting.
func readConfig(path string) (*config.Config, error) {
	lookup, err := envLookup()
	if err != nil {
		return nil, &configError{[]error{err}}
	}
	if path == "" {
		path, _ = lookup("HOOKD_CONFIG")
	}
	var data []byte
	if path != "" {
		if data, err = os.ReadFile(path); err != nil {
			return nil, &configError{[]error{fmt.Errorf("config: %w", err)}}
		}
	}
	cfg, err := config.Load(path, data, lookup)
	if err != nil {
		return nil, &configError{config.Problems(err)}
	}
	return cfg, nil
}

// loadConfig reads the configuration (readConfig), validates it and
// builds the services.
func loadConfig(path string) (*loaded, error) {
	cfg, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	return build(cfg)
}

// build validates cfg, whose defaults Parse or Default filled in, and
// builds its services (config.Config.Build).
func build(cfg *config.Config) (*loaded, error) {
	services, err := cfg.Build()
	if err != nil {
		return nil, &configError{config.Problems(err)}
	}
	return &loaded{cfg: cfg, services: services}, nil
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
	fmt.Fprintf(c.stdout, "configuration OK: %d %s, database %s\n", len(l.services), services, logging.RedactURL(l.cfg.Database))
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
