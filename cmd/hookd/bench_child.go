package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// benchChild is a server process started by "hookd bench".
type benchChild struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}

	mu   sync.Mutex
	tail []string // its last output lines, for error messages
}

// Bounds on waiting for a child process.
const (
	benchStartTimeout = 60 * time.Second // includes migrations
	benchStopTimeout  = 20 * time.Second // hookd's own shutdown takes ≤ 10s
	benchTailLines    = 20
)

// startBenchChild runs bin with args in dir and waits until one of its output
// lines (stdout or stderr) matches ready; it returns the submatches.
func startBenchChild(ctx context.Context, name, bin string, args []string, dir string, env []string, ready *regexp.Regexp) (*benchChild, []string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	benchDieWithParent(cmd)
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
	c := &benchChild{name: name, cmd: cmd, exited: make(chan struct{})}
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
				if len(c.tail) > benchTailLines {
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

	timer := time.NewTimer(benchStartTimeout)
	defer timer.Stop()
	select {
	case m := <-matched:
		return c, m, nil
	case <-c.exited:
		return nil, nil, fmt.Errorf("%s exited before it was ready: %s\n%s", name, cmd.ProcessState, c.output())
	case <-timer.C:
		c.kill()
		return nil, nil, fmt.Errorf("%s was not ready within %v:\n%s", name, benchStartTimeout, c.output())
	case <-ctx.Done():
		c.kill()
		return nil, nil, ctx.Err()
	}
}

// pid is the child's process id.
func (c *benchChild) pid() int { return c.cmd.Process.Pid }

// output returns the child's last output lines.
func (c *benchChild) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return "  " + strings.Join(c.tail, "\n  ")
}

// stop asks the child to shut down gracefully (SIGTERM: hookd finishes its
// requests and closes its database cleanly) and kills it if it takes too
// long.
func (c *benchChild) stop() error {
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
	case <-time.After(benchStopTimeout):
		c.kill()
		return fmt.Errorf("%s did not stop within %v; killed", c.name, benchStopTimeout)
	}
}

// kill ends the child at once and waits for it; it is safe to call on a
// child that has exited.
func (c *benchChild) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// benchChildEnv is the environment of a hookd child: this process's, without
// HOOKD_* variables, which would override the benchmark's configuration
// (its database, its listeners), plus extra.
func benchChildEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// benchConfig is the configuration of the hookd children: three
// hmac-sha256 services sharing secret (email: one email job per event;
// noop: store only; fwd: one forward job per event, to forwardURL) and
// workers tuned to drain quickly. The database comes from
// HOOKD_DATABASE_URL, so that no URL needs quoting in YAML.
func benchConfig(secret, forwardURL string) string {
	return fmt.Sprintf(`# written by "hookd bench"
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
smtp: {url: "smtp://127.0.0.1:1"}  # never used: the workers drain only fwd's jobs
workers: {poll_interval: 50ms, fetch_cooldown: 5ms, max: 100}
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
`, secret, secret, secret, forwardURL)
}

// benchHookdStarted is hookd's start-up log line (slog text); ingest is "" for
// the worker role.
var benchHookdStarted = regexp.MustCompile(`msg="hookd started".* ingest=(\S*) admin=(\S+)`)

// startBenchHookd runs "hookd serve --config cfg --role role" on database and
// returns it with its ingest address ("" for the worker role).
func startBenchHookd(ctx context.Context, bin, dir, cfg, role, database string) (*benchChild, string, error) {
	c, m, err := startBenchChild(ctx, "hookd serve --role "+role, bin,
		[]string{"serve", "--config", cfg, "--role", role}, dir,
		benchChildEnv("HOOKD_DATABASE_URL="+database), benchHookdStarted)
	if err != nil {
		return nil, "", err
	}
	return c, strings.Trim(m[1], `"`), nil
}

// benchDatabases hands out the benchmark's databases: files in a temporary
// directory, or fresh schemas in a PostgreSQL server, dropped by cleanup.
type benchDatabases struct {
	dir      string // the temporary directory
	postgres string // the server's URL, "" for SQLite
	schemas  []string
	n        int
}

// newDatabase returns the URL of a new, empty database.
func (d *benchDatabases) newDatabase(ctx context.Context) (string, error) {
	d.n++
	if d.postgres == "" {
		return "sqlite:" + filepath.Join(d.dir, fmt.Sprintf("bench%d.db", d.n)), nil
	}
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails
	schema := "hookd_bench_" + hex.EncodeToString(b[:])
	if err := benchPgExec(ctx, d.postgres, "CREATE SCHEMA "+schema); err != nil {
		return "", fmt.Errorf("database: %w", err)
	}
	d.schemas = append(d.schemas, schema)
	return benchSearchPath(d.postgres, schema)
}

// cleanup drops the schemas it created.
func (d *benchDatabases) cleanup() error {
	var errs []error
	for _, s := range d.schemas {
		// A fresh context: cleanup also runs after Ctrl-C.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := benchPgExec(ctx, d.postgres, "DROP SCHEMA IF EXISTS "+s+" CASCADE"); err != nil {
			errs = append(errs, fmt.Errorf("drop schema %s: %w", s, err))
		}
		cancel()
	}
	return errors.Join(errs...)
}

// benchPgExec runs one statement on its own connection.
func benchPgExec(ctx context.Context, conn, sql string) error {
	c, err := pgx.Connect(ctx, conn)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	_, err = c.Exec(ctx, sql)
	return err
}

// benchSearchPath returns the postgres:// URL conn with its connections'
// search_path set to schema.
func benchSearchPath(conn, schema string) (string, error) {
	u, err := url.Parse(conn)
	if err != nil {
		return "", fmt.Errorf("database: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
