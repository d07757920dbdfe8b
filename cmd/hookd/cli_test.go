package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/logtest"
	"github.com/hookd/hookd/internal/pgtest"
)

// runCLI runs one command through run and returns its exit status and
// output.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// noSecrets empties the environment of everything hookd would read, and
// moves the test into dir (no .env there).
func noSecrets(t *testing.T, dir string) {
	for _, v := range []string{"HOOKD_CONFIG", "HOOKD_DATABASE_URL", "ADAPTER_1_SECRET", "ADAPTER_2_SECRET",
		"HOOKD_SMTP_URL", "HOOKD_ADMIN_LISTEN", "HOOKD_LISTEN"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Chdir(dir)
}

// The read-only commands read a database a real hookd filled, with no
// secret anywhere, from the zero-config defaults and from a file whose
// secrets and SMTP settings are unset.
func TestEventsReadOnlyWithoutSecrets(t *testing.T) {
	dir := t.TempDir()
	b := startMain(t, "sqlite:"+filepath.Join(dir, "hookd.db"))
	var ids []string
	for i := range 3 {
		status, body := b.send(t, "adapter2", fmt.Sprintf(`{"idempotency_key":"ro-%d"}`, i))
		if status != http.StatusAccepted {
			t.Fatalf("%d %v", status, body)
		}
		ids = append(ids, body["event_id"].(string))
	}
	cfgPath := filepath.Join(dir, "hookd.yaml")
	os.WriteFile(cfgPath, []byte(`
database: sqlite:`+filepath.Join(dir, "hookd.db")+`
services:
  adapter2: {verify: {secrets: ["${ADAPTER_2_SECRET}"]}, actions: [noop]}
  github: {verify: {scheme: github, secrets: ["${GITHUB_WEBHOOK_SECRET}"]}}
`), 0o600)
	noSecrets(t, dir)
	t.Setenv("GITHUB_WEBHOOK_SECRET", "")

	for _, config := range [][]string{nil, {"--config", cfgPath}} {
		code, out, errOut := runCLI(t, "", append([]string{"events", "list"}, config...)...)
		if code != 0 || !strings.Contains(out, ids[2]) || !strings.Contains(out, "ro-0") {
			t.Fatalf("events list %v: exit %d\n%s%s", config, code, out, errOut)
		}
		code, out, errOut = runCLI(t, "", append([]string{"events", "show", ids[1]}, config...)...)
		if code != 0 || !strings.Contains(out, `{"idempotency_key":"ro-1"}`) {
			t.Fatalf("events show %v: exit %d\n%s%s", config, code, out, errOut)
		}
	}

	// The database named in a .env file, from another directory.
	elsewhere := t.TempDir()
	os.WriteFile(filepath.Join(elsewhere, ".env"), []byte("HOOKD_DATABASE_URL=sqlite:"+filepath.Join(dir, "hookd.db")+"\n"), 0o600)
	t.Chdir(elsewhere)
	if code, out, errOut := runCLI(t, "", "events", "list"); code != 0 || !strings.Contains(out, ids[0]) {
		t.Fatalf("events list with the database in .env: exit %d\n%s%s", code, out, errOut)
	}

	// Pages: the table says how to get the next one.
	code, out, errOut := runCLI(t, "", "events", "list", "--service", "adapter2", "--limit", "2")
	more := regexp.MustCompile(`(?m)^more: hookd (events list --limit 2 --service adapter2 --cursor \S+)$`).FindStringSubmatch(out)
	if code != 0 || more == nil || strings.Contains(out, ids[0]) {
		t.Fatalf("first page: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", strings.Fields(more[1])...)
	if code != 0 || !strings.Contains(out, ids[0]) || strings.Contains(out, ids[1]) || strings.Contains(out, "more:") {
		t.Fatalf("second page: exit %d\n%s%s", code, out, errOut)
	}

	// Flags are checked like the admin API checks its parameters.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--status", "bogus"}, `--status: "bogus" is not one of pending, succeeded, failed`},
		{[]string{"--limit", "0"}, "--limit: 0 is not from 1 to 500"},
		{[]string{"--until", "yesterday"}, `--until: "yesterday" is neither an RFC 3339 time nor a duration`},
		{[]string{"--limit", "501"}, "--limit: 501 is not from 1 to 500"},
		{[]string{"--service", "nope"}, `--service: no service "nope" is configured (services: adapter1, adapter2)`},
	} {
		code, out, errOut := runCLI(t, "", append([]string{"events", "list"}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("events list %v: exit %d, want 2 and %q\n%s%s", c.args, code, c.want, out, errOut)
		}
	}
}

// In a directory without the database, events list and show say so and
// create nothing; a database of an older hookd is named as such.
func TestEventsWithoutTheDatabase(t *testing.T) {
	dir := t.TempDir()
	noSecrets(t, dir)
	for _, args := range [][]string{{"events", "list"}, {"events", "show", "evt_x"}} {
		code, out, errOut := runCLI(t, "", args...)
		if code != 1 || !strings.Contains(errOut, filepath.Join(dir, "hookd.db")+": file does not exist") ||
			!strings.Contains(errOut, "hookd serve and hookd migrate create it") {
			t.Errorf("%v: exit %d, want 1 and the missing file\n%s%s", args, code, out, errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("events left %v in the directory", entries)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "hookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`CREATE TABLE hookd_migration (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
		INSERT INTO hookd_migration VALUES (1, 0)`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "events", "list")
	if code != 1 || !strings.Contains(errOut, "older schema (version 1, this hookd needs ") || !strings.Contains(errOut, "run hookd migrate") {
		t.Errorf("older schema: exit %d\n%s%s", code, out, errOut)
	}
}

// TestMain runs "hookd" instead of the tests when HOOKD_TEST_RUN holds its
// arguments (runAsNobody).
func TestMain(m *testing.M) {
	if args := os.Getenv("HOOKD_TEST_RUN"); args != "" {
		os.Exit(run(context.Background(), strings.Fields(args), os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runCLI(t, "", args...)
		if code != 0 || !strings.HasPrefix(out, "hookd ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-11-30T06:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := version(bi), "hookd v1.2.3 0123456789ab+modified 2026-11-30T06:00:00Z "+runtime.Version(); got != want {
		t.Errorf("version = %q, want %q", got, want)
	}
	for _, c := range []struct {
		args   []string
		stdout bool // help on stdout, else in the flags' usage on stderr
		want   string
	}{
		{[]string{"events", "--help"}, true, "hookd events show ID"},
		{[]string{"config", "--help"}, true, "hookd config check"},
		{[]string{"events", "show", "--help"}, false, "usage: hookd events show ID [flags]"},
		{[]string{"events", "replay", "--help"}, false, "usage: hookd events replay ID... | --failed [flags]"},
		{[]string{"events", "list", "--help"}, false, "usage: hookd events list [flags]"},
		{[]string{"sign", "--help"}, false, "-url URL"},
	} {
		code, out, errOut := runCLI(t, "", c.args...)
		got := errOut
		if c.stdout {
			got = out
		}
		if code != 0 || !strings.Contains(got, c.want) {
			t.Errorf("%v: exit %d, want 0 and %q\nstdout: %s\nstderr: %s", c.args, code, c.want, out, errOut)
		}
	}
}

// A PostgreSQL that does not answer at start-up is waited for, with log
// lines, up to a bound; then the error says what was tried.
func TestMigrateWaitsForPostgres(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	defer func(d time.Duration) { postgresWait = d }(postgresWait)
	postgresWait = 2 * time.Second
	t.Setenv("HOOKD_DATABASE_URL", "postgres://hookd@"+addr+"/hookd?sslmode=disable")
	code, out, errOut := runCLI(t, "", "migrate")
	attempts := regexp.MustCompile(`did not answer within 2s \((\d+) attempts\); is it running and reachable\?`).FindStringSubmatch(errOut)
	if code != 1 || !strings.Contains(errOut, "waiting for PostgreSQL") || attempts == nil || attempts[1] == "1" {
		t.Fatalf("exit %d, want 1 after retries with a log line\n%s%s", code, out, errOut)
	}
}

// serveInBackground runs "hookd serve args…" until the test ends and
// returns its log once it started.
func serveInBackground(t *testing.T, args ...string) *logtest.Buffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &logtest.Buffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), nil, log, log) }()
	var exited bool
	t.Cleanup(func() {
		cancel()
		if code := <-done; !exited && code != 0 {
			t.Errorf("serve %v: exit %d\n%s", args, code, log)
		}
	})
	waitFor(t, 20*time.Second, "serve to start", func() bool {
		select {
		case code := <-done:
			exited = true
			done <- code
			t.Fatalf("serve %v: exit %d\n%s", args, code, log)
		default:
		}
		return strings.Contains(log.String(), "hookd started")
	})
	return log
}

// Scaling out on one host: an ingest and a worker started with one
// configuration file. The worker cannot have the admin address too; its
// error names the variable to set, and with it the worker runs.
func TestIngestAndWorkerOnOneHost(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := l.Addr().(*net.TCPAddr)
	l.Close() // for the configuration file: the ingest process takes it
	dir := t.TempDir()
	noSecrets(t, dir)
	cfgPath := filepath.Join(dir, "hookd.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {listen: %q}
database: sqlite:%s
workers: {poll_interval: 50ms, fetch_cooldown: 5ms}
services:
  adapter2: {verify: {secrets: [secret-two-0123456789]}, actions: [noop]}
`, admin.String(), filepath.Join(dir, "hookd.db"))), 0o600)

	ingestLog := serveInBackground(t, "--config", cfgPath, "--role", "ingest")
	code, out, errOut := runCLI(t, "", "serve", "--config", cfgPath, "--role", "worker")
	want := fmt.Sprintf("admin.listen: %s is in use, by another hookd on this host (another role?) or another program; give this process its own with HOOKD_ADMIN_LISTEN=127.0.0.1:%d", admin, admin.Port+1)
	if code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("second process on the admin address: exit %d, want 1 and %q\n%s%s", code, want, out, errOut)
	}

	t.Setenv("HOOKD_ADMIN_LISTEN", "127.0.0.1:0")
	serveInBackground(t, "--config", cfgPath, "--role", "worker")
	ingest := regexp.MustCompile(`ingest=(\S+)`).FindStringSubmatch(ingestLog.String())
	l2, err := loadConfig(cfgPath)
	if err != nil || ingest == nil {
		t.Fatalf("%v; %s", err, ingestLog)
	}
	b := &testBundle{main: &Main{Services: l2.services, IngestAddr: ingest[1], AdminAddr: admin.String()}}
	status, body := b.send(t, "adapter2", `{"idempotency_key":"one-host"}`)
	if status != http.StatusAccepted {
		t.Fatalf("%d %v", status, body)
	}
	b.waitStatus(t, body["event_id"].(string), "succeeded") // the worker ran its job
}

// "hookd sign --body FILE" twice gives one webhook delivered twice: the
// body's own key is used. Its curl line, run by sh, sends the file's exact
// bytes, as does the printf line of a body from stdin with newlines and
// control characters.
func TestSignedRequestsThroughCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	dir := t.TempDir()
	yaml := fmt.Sprintf(testConfig, "", "sqlite:"+filepath.Join(dir, "hookd.db"), "smtp://127.0.0.1:1")
	b := &testBundle{main: runMain(t, yaml, roleAll)}
	cfgPath := filepath.Join(dir, "hookd.yaml")
	os.WriteFile(cfgPath, []byte(yaml), 0o600)
	bodyPath := filepath.Join(dir, "body.json")
	fileBody := "{\"idempotency_key\":\"file-1\"}\n"
	os.WriteFile(bodyPath, []byte(fileBody), 0o600)
	sign := func(stdin string, args ...string) string {
		t.Helper()
		args = append([]string{"sign", "--config", cfgPath, "--service", "adapter2", "--url", "http://" + b.main.IngestAddr}, args...)
		code, out, errOut := runCLI(t, stdin, args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) == 0 {
			t.Fatalf("sign: exit %d\n%s%s", code, out, errOut)
		}
		return lines[len(lines)-1]
	}
	curl := func(line string) (status int, id string) {
		t.Helper()
		out, err := exec.Command("sh", "-c", line).CombinedOutput()
		m := regexp.MustCompile(`(?s)^HTTP/1.1 (\d+) .*"event_id":"([^"]+)"`).FindSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("sh -c %s: %v\n%s", line, err, out)
		}
		fmt.Sscan(string(m[1]), &status)
		return status, string(m[2])
	}
	first, second := sign("", "--body", bodyPath), sign("", "--body", bodyPath)
	s1, id1 := curl(first)
	s2, id2 := curl(second)
	if s1 != http.StatusAccepted || s2 != http.StatusOK || id1 != id2 {
		t.Fatalf("the same body signed twice: %d %s, then %d %s; want 202, then 200 for the same event", s1, id1, s2, id2)
	}
	stdinBody := "line one\n%s 'quoted' \\ back\x01\t\n"
	line := sign(stdinBody, "--body", "-")
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, "printf ") {
		t.Fatalf("curl line for a body with control characters: %q", line)
	}
	_, id3 := curl(line)
	for id, want := range map[string]string{id1: fileBody, id3: stdinBody} {
		if got := b.event(t, id)["body"]; got != want {
			t.Errorf("event %s stored body %q, want %q", id, got, want)
		}
	}
}

// Database errors say what to fix. Root may write anywhere, so as root
// (the usual case here) the permission cases run in a child process as
// nobody; where that is not possible they are skipped.
func TestDatabaseErrorsSayWhatToDo(t *testing.T) {
	dir := worldReadableDir(t)
	noSecrets(t, dir)
	regular := filepath.Join(dir, "file")
	os.WriteFile(regular, nil, 0o644)
	locked := filepath.Join(dir, "locked")
	os.Mkdir(locked, 0o555)
	readOnlyFile := filepath.Join(dir, "ro.db")
	os.WriteFile(readOnlyFile, nil, 0o444)
	for _, c := range []struct {
		database, want string
		permission     bool
	}{
		{filepath.Join(dir, "missing", "hookd.db"), "directory " + filepath.Join(dir, "missing") + " does not exist; create it or change database", false},
		{filepath.Join(regular, "hookd.db"), regular + " is not a directory; change database", false},
		{filepath.Join(locked, "hookd.db"), "cannot create " + filepath.Join(locked, "hookd.db") + ": permission denied", true},
		{readOnlyFile, "cannot write " + readOnlyFile + ": permission denied", true},
	} {
		t.Setenv("HOOKD_DATABASE_URL", "sqlite:"+c.database)
		code, out, errOut := 0, "", ""
		if c.permission && os.Geteuid() == 0 {
			code, errOut = runAsNobody(t, dir, "migrate")
		} else {
			code, out, errOut = runCLI(t, "", "migrate")
		}
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("migrate on %s: exit %d, want 1 and %q\n%s%s", c.database, code, c.want, out, errOut)
		}
	}
}

// On PostgreSQL too, the read-only commands need no secret, migrate
// nothing, and say when hookd's tables are not there.
func TestEventsReadOnlyOnPostgres(t *testing.T) {
	url := pgtest.URL(t)
	noSecrets(t, t.TempDir())
	t.Setenv("HOOKD_DATABASE_URL", url)
	code, out, errOut := runCLI(t, "", "events", "list")
	if code != 1 || !strings.Contains(errOut, "no hookd tables") {
		t.Fatalf("events list before any migration: exit %d\n%s%s", code, out, errOut)
	}
	b := startMain(t, url)
	status, body := b.send(t, "adapter2", `{"idempotency_key":"pg-ro"}`)
	if status != http.StatusAccepted {
		t.Fatalf("%d %v", status, body)
	}
	code, out, errOut = runCLI(t, "", "events", "show", body["event_id"].(string))
	if code != 0 || !strings.Contains(out, `{"idempotency_key":"pg-ro"}`) {
		t.Fatalf("events show: exit %d\n%s%s", code, out, errOut)
	}
}
