package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hookd/hookd/internal/pgtest"
)

// child is a server process started by "hookd bench".
type child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}

	mu   sync.Mutex
	tail []string // its last output lines, for error messages
}

// Bounds on waiting for a child process.
const (
	startTimeout = 60 * time.Second // includes migrations
	stopTimeout  = 20 * time.Second // hookd's own shutdown takes ≤ 10s
	tailLines    = 20
)

// startChild runs bin with args in dir and waits until one of its output
// lines (stdout or stderr) matches ready; it returns the submatches.
func startChild(ctx context.Context, name, bin string, args []string, dir string, env []string, ready *regexp.Regexp) (*child, []string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	dieWithParent(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, exited: make(chan struct{})}
	matched := make(chan []string, 1)
	var readers sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		// Both pipes are read to the end, always: a child blocked on a full
		// pipe would stall the benchmark.
		readers.Go(func() {
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				c.mu.Lock()
				c.tail = append(c.tail, line)
				if len(c.tail) > tailLines {
					c.tail = c.tail[1:]
				}
				c.mu.Unlock()
				if m := ready.FindStringSubmatch(line); m != nil {
					select {
					case matched <- m:
					default:
					}
				}
			}
		})
	}
	go func() {
		readers.Wait() // Wait must not close the pipes before they are read
		cmd.Wait()
		close(c.exited)
	}()

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case m := <-matched:
		return c, m, nil
	case <-c.exited:
		return nil, nil, fmt.Errorf("%s exited before it was ready: %s\n%s", name, cmd.ProcessState, c.output())
	case <-timer.C:
		c.kill()
		return nil, nil, fmt.Errorf("%s was not ready within %v:\n%s", name, startTimeout, c.output())
	case <-ctx.Done():
		c.kill()
		return nil, nil, ctx.Err()
	}
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// output returns the child's last output lines.
func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return "  " + strings.Join(c.tail, "\n  ")
}

// stop asks the child to shut down gracefully (SIGTERM: hookd finishes its
// requests and closes its database cleanly) and kills it if it takes too
// long.
func (c *child) stop() error {
	select {
	case <-c.exited:
		return nil
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		if !c.cmd.ProcessState.Success() {
			return fmt.Errorf("%s: %s\n%s", c.name, c.cmd.ProcessState, c.output())
		}
		return nil
	case <-time.After(stopTimeout):
		c.kill()
		return fmt.Errorf("%s did not stop within %v; killed", c.name, stopTimeout)
	}
}

// kill ends the child at once and waits for it; it is safe to call on a
// child that has exited.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// childEnv is the environment of a hookd child: this process's, without
// HOOKD_* variables, which would override the benchmark's configuration
// (its database, its listeners), plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// hookdConfig is the configuration of the hookd children and of the
// baseline, which serves the same services on its listen address: four
// hmac-sha256 services sharing secret (email: one email job per event,
// with the built-in template; noop: store only; fwd: one forward job per
// event, to forwardURL; mail: one email job per event, whose body names
// the event for the SMTP sink at smtpURL). The workers have hookd's
// defaults, as "hookd serve" runs for its users. The database comes from
// HOOKD_DATABASE_URL, so that no URL needs quoting in YAML.
func hookdConfig(secret, forwardURL, smtpURL string) string {
	return fmt.Sprintf(`# written by "hookd bench"
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
smtp: {url: %q}
services:
  email:
    verify: {scheme: hmac-sha256, secrets: [%q]}
    actions:
      - email: {field: email}
  noop:
    verify: {scheme: hmac-sha256, secrets: [%q]}
    actions: [noop]
  fwd:
    verify: {scheme: hmac-sha256, secrets: [%q]}
    actions:
      - forward: {url: %q, timeout: 10s}
  mail:
    verify: {scheme: hmac-sha256, secrets: [%q]}
    actions:
      - email: {field: email, body: "hookd-bench {{.EventID}}"}
`, smtpURL, secret, secret, secret, forwardURL, secret)
}

// hookdStarted is hookd's start-up log line (slog text); the worker
// role's has no ingest address.
var hookdStarted = regexp.MustCompile(`msg="hookd started" role=\S+(?: ingest=(\S+))? admin=(\S+)`)

// The roles of the hookd children ("hookd serve --role"); roleDefault
// passes no --role, so that hookd runs as its users run it by default.
const (
	roleDefault = ""
	roleIngest  = "ingest"
	roleWorker  = "worker"
)

// startHookd runs "hookd serve --config cfg --role role" on database and
// returns it with its ingest address ("" for the worker role).
func startHookd(ctx context.Context, bin, dir, cfg, role, database string) (*child, string, error) {
	name, args := "hookd serve", []string{"serve", "--config", cfg}
	if role != roleDefault {
		name, args = name+" --role "+role, append(args, "--role", role)
	}
	c, m, err := startChild(ctx, name, bin, args, dir,
		childEnv("HOOKD_DATABASE_URL="+database), hookdStarted)
	if err != nil {
		return nil, "", err
	}
	return c, strings.Trim(m[1], `"`), nil
}

// databases hands out the benchmark's databases: files in a temporary
// directory, or fresh schemas in a PostgreSQL server, dropped by cleanup.
type databases struct {
	dir      string // the temporary directory
	postgres string // the server's URL, "" for SQLite
	drops    []func(context.Context) error
	n        int
}

// newDatabase returns the URL of a new, empty database.
func (d *databases) newDatabase(ctx context.Context) (string, error) {
	d.n++
	if d.postgres == "" {
		return "sqlite:" + filepath.Join(d.dir, fmt.Sprintf("bench%d.db", d.n)), nil
	}
	conn, drop, err := pgtest.NewSchema(ctx, d.postgres, "hookd_bench_")
	if err != nil {
		return "", fmt.Errorf("database: %w", err)
	}
	d.drops = append(d.drops, drop)
	return conn, nil
}

// cleanup drops the schemas it created.
func (d *databases) cleanup() error {
	var errs []error
	for _, drop := range d.drops {
		// A fresh context: cleanup also runs after Ctrl-C.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := drop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("database: %w", err))
		}
		cancel()
	}
	return errors.Join(errs...)
}
