// Command hookd receives webhooks, proves them genuine, stores each exactly
// once and runs their follow-up work in the background.
//
// Run "hookd --help" for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `hookd receives webhooks, verifies their signatures, stores each exactly once
and runs their follow-up work (emails, forwards) in the background.

Usage:
  hookd serve [--config FILE] [--role ingest|worker|all]   run the server
  hookd migrate [--config FILE]                            apply the database schema
  hookd sign --service NAME [--body FILE|-]                print a signed request to try by hand
  hookd events list [--service S] [--status STATUS] [--json]
  hookd events show ID [--json]
  hookd events replay ID... | --failed [--service S] [--since T]
  hookd config check [--config FILE]                       validate the configuration
  hookd bench [--connections N] [--duration D] [--database URL]   measure ingest throughput

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
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
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
