// Command hookd receives webhooks, proves them genuine, stores each exactly
// once and runs their follow-up work in the background.
//
// Run "hookd --help" for the commands.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
)

const usage = `hookd receives webhooks, verifies their signatures, stores each exactly once
and runs their follow-up work (emails, forwards) in the background.

Usage:
  hookd serve [--config FILE] [--role ingest|worker|all] [--log-level L] [--log-format text|json]
  hookd migrate [--config FILE]
  hookd sign --service NAME [--body FILE|-] [--url URL] [--json]
  hookd events list [--service S] [--status STATUS] [--since T] [--until T] [--limit N] [--cursor C] [--json]
  hookd events show ID [--json]
  hookd events replay ID... | --failed [--service S] [--since T]
  hookd config check [--config FILE]
  hookd bench [flags]                        measure ingest and end-to-end delivery
  hookd bench fill --database URL --events N [--days D]
  hookd bench reads --database URL [flags]   measure admin reads on a filled database
  hookd version

Every command reads the same configuration: --config FILE, else $HOOKD_CONFIG,
else the zero-config defaults (services adapter1 and adapter2, sqlite:hookd.db);
then the HOOKD_* environment variables; a .env file in the working directory
fills in variables the environment lacks.

Run "hookd COMMAND --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// errUsage reports bad command-line use; its message was printed already.
var errUsage = errors.New("usage")

// run executes one command and returns the process's exit status: 0 on
// success, 1 when the command failed, 2 on bad usage or configuration.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "version" || args[0] == "--version" {
		bi, _ := debug.ReadBuildInfo()
		fmt.Fprintln(stdout, version(bi))
		return 0
	}
	if args[0] == "config" && len(args) > 1 && isHelp(args[1]) {
		fmt.Fprintln(stdout, "usage: hookd config check [--config FILE]\n\nRun \"hookd config check --help\" for the flags.")
		return 0
	}
	env := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	var err error
	switch args[0] {
	case "serve":
		err = env.serve(ctx, args[1:])
	case "migrate":
		err = env.migrate(ctx, args[1:])
	case "sign":
		err = env.sign(args[1:])
	case "events":
		err = env.events(ctx, args[1:])
	case "config":
		err = env.config(args[1:])
	case "bench":
		err = env.bench(ctx, args[1:])
	case "bench-baseline": // started by "hookd bench", not for people
		err = env.benchBaseline(ctx, args[1:])
	default:
		fmt.Fprintf(stderr, "hookd: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ce *configError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &ce):
		for _, p := range ce.problems {
			fmt.Fprintf(stderr, "hookd: %v\n", p)
		}
		return 2
	default:
		fmt.Fprintf(stderr, "hookd: %v\n", err)
		return 1
	}
}

// cli carries the standard streams to the commands.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// version is hookd's module version, the commit it was built from when
// known, and the Go version, from bi (debug.ReadBuildInfo).
func version(bi *debug.BuildInfo) string {
	v, rev := "(devel)", ""
	if bi != nil {
		v = cmp.Or(bi.Main.Version, v)
		vcs := map[string]string{}
		for _, s := range bi.Settings {
			vcs[s.Key] = s.Value
		}
		if r := vcs["vcs.revision"]; r != "" {
			rev = " " + r[:min(len(r), 12)]
			if vcs["vcs.modified"] == "true" {
				rev += "+modified"
			}
			if t := vcs["vcs.time"]; t != "" {
				rev += " " + t
			}
		}
	}
	return "hookd " + v + rev + " " + runtime.Version()
}
