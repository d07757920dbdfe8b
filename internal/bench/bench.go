// Package bench is "hookd bench": it starts a baseline and hookd as child
// processes of the hookd binary ("hookd bench-baseline", "hookd serve"),
// drives them with the same signed load in rounds, and reports throughput,
// latency and CPU per request, how fast "hookd serve" delivers what it
// accepts (closed and open loop, to sinks inside the benchmark), then how
// fast the workers drain. cmd/hookd only parses the flags and wires
// Baseline to its listener.
package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Doc is the help text of "hookd bench".
const Doc = `Measures ingest throughput and end-to-end delivery. In one run it starts
a baseline server (hookd's own ingest handler in front of storage that keeps
nothing: it verifies the signature, checks the JSON, answers 202), a real
"hookd serve --role ingest" and a real "hookd serve" (the default role: ingest
and workers) on temporary SQLite databases (or fresh schemas in --database),
drives each with the same signed load, in --rounds rounds that give each
target a window in turn (so that a drift in the machine's speed touches all
of them alike), and prints per target: accepted/s (2xx answers per second),
latency percentiles, non-2xx answers and errors, server CPU per request, and
the ratio to the baseline. Targets: the baseline, a service with an email
action (one job per event), a store-only (noop) service, and, end to end on
"hookd serve", a forward action to an HTTP server in the benchmark that
answers 204 and an email action to an SMTP server in the benchmark.

For the end-to-end targets it also prints delivered/s (distinct acknowledged
events that reached the sink during the windows), its ratios to accepted/s
and to the baseline's, the backlog when the load stopped, the time to
deliver it (at most --drain-wait), and the most memory hookd used. Then it
sends each end-to-end service an open-loop load on a fresh "hookd serve":
--rate requests per second for --open-duration, on a fixed schedule whatever
the answers (at most --max-outstanding in flight), and prints the latency of
the 202 from each request's scheduled time, the latency from the 202 to the
delivery, the backlog, whether every acknowledged event was delivered, and
the most memory hookd used.

Last it measures how fast the background work drains: it enqueues
--drain-events events of a forward service, starts "hookd serve --role worker"
on that database and times the forwards.

Everything runs on 127.0.0.1, load generator included, so the figures count
the load generator's CPU too (printed as client CPU per request).`

// Settings are the settings of one "hookd bench" run.
type Settings struct {
	Connections int           `json:"connections"`
	Duration    time.Duration `json:"-"`
	Warmup      time.Duration `json:"-"`
	Rounds      int           `json:"rounds"`
	BodySize    int           `json:"body_size"`
	Duplicates  float64       `json:"duplicates"`
	Database    string        `json:"-"`
	DrainEvents int           `json:"drain_events"`
	SkipDrain   bool          `json:"skip_drain"`
	JSON        bool          `json:"-"`
	Binary      string        `json:"-"`

	SkipE2E        bool          `json:"skip_e2e"`
	Rate           float64       `json:"rate"`
	OpenDuration   time.Duration `json:"-"`
	MaxOutstanding int           `json:"max_outstanding"`
	DrainWait      time.Duration `json:"-"`

	DurationSeconds     float64 `json:"duration_seconds"`
	WarmupSeconds       float64 `json:"warmup_seconds"`
	OpenDurationSeconds float64 `json:"open_duration_seconds"`
	DrainWaitSeconds    float64 `json:"drain_wait_seconds"`
	DatabaseKind        string  `json:"database"`
}

// Machine describes where the figures were measured.
type Machine struct {
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model,omitempty"`
	Go         string `json:"go"`
}

// Target is one target's figures.
type Target struct {
	Name            string  `json:"name"`
	AcceptedPerSec  float64 `json:"accepted_per_sec"`
	Accepted        int     `json:"accepted"`   // 202
	Duplicates      int     `json:"duplicates"` // 200
	DuplicatesSent  int     `json:"duplicates_sent"`
	Other2xx        int     `json:"other_2xx"`
	Non2xx          int     `json:"non_2xx"`
	Errors          int     `json:"errors"`
	FirstError      string  `json:"first_error,omitempty"`
	P50ms           float64 `json:"p50_ms"`
	P90ms           float64 `json:"p90_ms"`
	P99ms           float64 `json:"p99_ms"`
	MaxMs           float64 `json:"max_ms"`
	ServerCPUPerReq float64 `json:"server_cpu_per_request_us"` // -1: unknown
	ClientCPUPerReq float64 `json:"client_cpu_per_request_us"` // -1: unknown
	Ratio           float64 `json:"ratio_to_baseline"`
	// RoundRatios is accepted/s over the baseline's, in each round; -1
	// where the baseline answered nothing.
	RoundRatios []float64 `json:"round_ratios,omitempty"`
	// Delivery is the end-to-end figures of an end-to-end target.
	Delivery *Delivery `json:"delivery,omitempty"`
}

// Drain is the drain measurement.
type Drain struct {
	Events           int     `json:"events"`
	EnqueueSeconds   float64 `json:"enqueue_seconds"`
	EnqueueErrors    int     `json:"enqueue_errors"`
	Seconds          float64 `json:"seconds"`       // first forward to last
	TotalSeconds     float64 `json:"total_seconds"` // worker start to last forward
	JobsPerSec       float64 `json:"jobs_per_sec"`
	CompletedForward int     `json:"completed"`
}

// Report is the output of one run; --json prints it as is.
type Report struct {
	Settings Settings   `json:"settings"`
	Machine  Machine    `json:"machine"`
	Targets  []Target   `json:"targets"`
	OpenLoop []OpenLoop `json:"open_loop,omitempty"`
	Drain    *Drain     `json:"drain,omitempty"`
}

// AddFlags defines the flags of "hookd bench" on fs, writing to s.
func (s *Settings) AddFlags(fs *flag.FlagSet) {
	fs.IntVar(&s.Connections, "connections", 64, "concurrent keep-alive connections, each sending requests back to back")
	fs.DurationVar(&s.Duration, "duration", 10*time.Second, "how long each target is measured in all, split evenly over the rounds")
	fs.IntVar(&s.Rounds, "rounds", 5, "rounds of measurement; each measures every target in turn, so that the baseline and hookd see the same machine")
	fs.DurationVar(&s.Warmup, "warmup", 400*time.Millisecond, "load sent to a target before each of its measured windows")
	fs.IntVar(&s.BodySize, "body-size", 600, "size of each JSON body in `bytes` (idempotency_key, email, padding)")
	fs.Float64Var(&s.Duplicates, "duplicates", 0, "`fraction` of requests (0 to 1) that resend an earlier request exactly; hookd answers them 200")
	fs.StringVar(&s.Database, "database", "", "a postgres:// `URL` to measure PostgreSQL (a fresh schema is created and dropped); default a temporary SQLite file")
	fs.IntVar(&s.DrainEvents, "drain-events", 20000, "events enqueued for the drain measurement")
	fs.BoolVar(&s.SkipDrain, "skip-drain", false, "skip the drain measurement")
	fs.BoolVar(&s.SkipE2E, "skip-e2e", false, "skip the end-to-end measurements (closed and open loop)")
	fs.Float64Var(&s.Rate, "rate", 1000, "open-loop `requests` per second, sent on a fixed schedule whatever the answers; 0 skips the open loop")
	fs.DurationVar(&s.OpenDuration, "open-duration", 30*time.Second, "how long each open-loop load sends")
	fs.IntVar(&s.MaxOutstanding, "max-outstanding", 1000, "open-loop `requests` in flight at most; one due beyond that waits, and its latency counts the wait")
	fs.DurationVar(&s.DrainWait, "drain-wait", 2*time.Minute, "after each end-to-end load, how long to wait for the delivery of every acknowledged event")
	fs.BoolVar(&s.JSON, "json", false, "print the results as one JSON object")
	fs.StringVar(&s.Binary, "hookd-binary", "", "the hookd `binary` run as the servers (default this executable)")
}

// Check reports settings the benchmark cannot honour, naming the flags, so
// that the command stops before it starts anything.
func (s Settings) Check() error {
	switch {
	// At most 99 rounds: the round is two digits of every key, so that every
	// key, and so every body, has the same length.
	case s.Connections < 1, s.Duration <= 0, s.Rounds < 1, s.Rounds > 99, s.Warmup < 0, s.BodySize < 1, s.DrainEvents < 1,
		s.Duplicates < 0, s.Duplicates >= 1:
		return errors.New("--connections, --duration, --body-size and --drain-events must be positive, --rounds 1 to 99, --warmup not negative, --duplicates in [0, 1)")
	case s.Rate < 0, s.OpenDuration <= 0, s.MaxOutstanding < 1, s.DrainWait <= 0:
		return errors.New("--rate must not be negative (0 skips the open loop), --open-duration, --max-outstanding and --drain-wait must be positive")
	case s.Rate > 0 && s.Rate*s.OpenDuration.Seconds() < 1:
		return fmt.Errorf("--rate %g for --open-duration %v sends no request; raise either", s.Rate, s.OpenDuration)
	case s.Duration/time.Duration(s.Rounds) < minWindow:
		return fmt.Errorf("--duration %v in %d --rounds gives windows under %v, which measure nothing; lengthen --duration or lower --rounds",
			s.Duration, s.Rounds, minWindow)
	case s.Database != "" && !strings.HasPrefix(s.Database, "postgres://") && !strings.HasPrefix(s.Database, "postgresql://"):
		return errors.New("--database takes a postgres:// URL (SQLite is the default)")
	}
	return nil
}

// Run measures with settings s, which passed Check, printing its progress
// to progress. It removes what it created (children, files, schemas) before
// it returns, after errors and cancellation too.
func Run(ctx context.Context, s Settings, progress io.Writer) (*Report, error) {
	s.DatabaseKind = "sqlite (synchronous=FULL)" // the store's default, which serve uses
	if s.Database != "" {
		s.DatabaseKind = "postgres"
	}
	s.DurationSeconds, s.WarmupSeconds = s.Duration.Seconds(), s.Warmup.Seconds()
	s.OpenDurationSeconds, s.DrainWaitSeconds = s.OpenDuration.Seconds(), s.DrainWait.Seconds()
	if s.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		s.Binary = exe
	}
	b := &runner{flags: s, progress: progress}
	report, err := b.run(ctx)
	if cerr := b.cleanup(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return nil, err
	}
	return report, nil
}

// Write prints r to w: as one indented JSON object when asJSON, else as a
// header line and a table.
func (r *Report) Write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printReport(w, r)
	return nil
}

// runner is one run's state: what cleanup must undo.
type runner struct {
	flags    Settings
	progress io.Writer
	dir      string
	dbs      *databases
	secret   string
	runID    string

	mu       sync.Mutex
	children []*child
}

// run performs the measurements in order.
func (b *runner) run(ctx context.Context) (*Report, error) {
	f := b.flags
	report := &Report{Settings: f, Machine: machineInfo()}
	var err error
	if b.dir, err = os.MkdirTemp("", "hookd-bench-"); err != nil {
		return nil, err
	}
	b.dbs = &databases{dir: b.dir, postgres: f.Database}
	var rnd [16]byte
	_, _ = rand.Read(rnd[:]) // never fails
	b.secret, b.runID = hex.EncodeToString(rnd[:]), hex.EncodeToString(rnd[:4])

	// The sink of the forward and mail services' deliveries, over HTTP
	// and SMTP, recording when each event first arrived.
	sk := newSink()
	sinkLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sinkSrv := &http.Server{Handler: sk, ReadHeaderTimeout: 5 * time.Second}
	go sinkSrv.Serve(sinkLn)
	defer sinkSrv.Close()
	smtpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer sk.serveSMTP(smtpLn).Close()
	fwdURL, smtpURL := "http://"+sinkLn.Addr().String()+"/fwd", "smtp://"+smtpLn.Addr().String()
	cfgPath := filepath.Join(b.dir, "hookd.yaml")
	if err := os.WriteFile(cfgPath, []byte(hookdConfig(b.secret, fwdURL, smtpURL)), 0o600); err != nil {
		return nil, err
	}

	// 1. The servers: the baseline, hookd ingest only (its workers would
	// compete for the CPU) and, end to end, hookd as it runs by default.
	// All run for the whole measurement; those not under load are idle.
	b.logf("starting the baseline server")
	base, m, err := b.start(ctx, func() (*child, []string, error) {
		return startChild(ctx, "bench-baseline", f.Binary, []string{"bench-baseline", "--config", cfgPath},
			b.dir, childEnv(), baselineReady)
	})
	if err != nil {
		return nil, err
	}
	db, err := b.dbs.newDatabase(ctx)
	if err != nil {
		return nil, err
	}
	b.logf("starting hookd serve --role ingest on %s", f.DatabaseKind)
	var ingest string
	srv, _, err := b.start(ctx, func() (c *child, _ []string, err error) {
		c, ingest, err = startHookd(ctx, f.Binary, b.dir, cfgPath, roleIngest, db)
		return c, nil, err
	})
	if err != nil {
		return nil, err
	}
	servers := []*child{base, srv}
	targets := []subject{
		{name: "baseline", url: "http://" + m[1] + "/webhooks/email", tag: "b", srv: base},
		{name: "hookd email", url: "http://" + ingest + "/webhooks/email", tag: "e", srv: srv},
		{name: "hookd noop", url: "http://" + ingest + "/webhooks/noop", tag: "n", srv: srv},
	}
	if !f.SkipE2E {
		b.logf("starting hookd serve (all roles) on %s", f.DatabaseKind)
		all, addr, err := b.startServe(ctx, cfgPath)
		if err != nil {
			return nil, err
		}
		servers = append(servers, all)
		targets = append(targets,
			subject{name: "hookd forward (e2e)", url: "http://" + addr + "/webhooks/fwd", tag: "F", srv: all, e2e: true},
			subject{name: "hookd email (e2e)", url: "http://" + addr + "/webhooks/mail", tag: "M", srv: all, e2e: true})
	}

	// 2. The rounds. The machine's speed drifts (other tenants, CPU
	// frequency): measured one after the other, the baseline and hookd
	// could see different machines. In rounds, every target gets a window
	// in each, in an order that alternates, and its figures are the sum
	// of its windows: a drift touches them alike. An end-to-end window is
	// followed by the delivery of its backlog, so that the next window
	// starts on an idle hookd.
	window := f.Duration / time.Duration(f.Rounds)
	b.logf("measuring %d rounds; each target per round: %v warm-up, %v measured", f.Rounds, f.Warmup, window)
	sums := make([]loadResult, len(targets))
	tallies := make([]deliveryTally, len(targets))
	rates := make([][]float64, len(targets)) // accepted/s per round
	for round := range f.Rounds {
		order := make([]int, len(targets))
		for i := range order {
			order[i] = i
		}
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, i := range order {
			t := targets[i]
			// The window starts with the servers idle: hookd may still be
			// moving the last window's jobs out of its outbox.
			b.settle(ctx, servers...)
			l := &load{
				URL: t.url, Secret: []byte(b.secret), Connections: f.Connections, BodySize: f.BodySize,
				Duplicates: f.Duplicates, KeyPrefix: fmt.Sprintf("%s%s%02d", b.runID, t.tag, round),
				Warmup: f.Warmup, Duration: window, PID: t.srv.pid(),
			}
			var rss *rssSampler
			if t.e2e {
				// Every request a new event, so that delivered and
				// accepted count the same things.
				l.Duplicates, l.Track = 0, true
				sk.reset()
				rss = sampleRSS(t.srv.pid())
			}
			r, err := l.run(ctx)
			if err == nil && t.e2e {
				var d *delivered
				d, err = b.awaitDeliveries(ctx, sk, t.srv, r.Acks, r.Start, r.End, r.Stopped)
				maxRSS := rss.Stop()
				if err == nil {
					tallies[i].add(d, len(r.Acks), maxRSS)
					if d.undelivered > 0 {
						b.logf("%s: %d of %d acknowledged events not delivered within --drain-wait %v", t.name, d.undelivered, len(r.Acks), f.DrainWait)
					}
				}
				r.Acks = nil // not needed in the sums
			}
			if err != nil {
				return nil, err
			}
			sums[i].add(r)
			rates[i] = append(rates[i], float64(r.ok())/r.Window.Seconds())
		}
	}
	for _, c := range servers {
		if err := c.stop(); err != nil {
			return nil, err
		}
	}
	for i, t := range targets {
		tg := figures(t.name, &sums[i])
		if i > 0 {
			baseline := report.Targets[0].AcceptedPerSec
			tg.Ratio = 0
			if baseline > 0 {
				tg.Ratio = tg.AcceptedPerSec / baseline
			}
			for round, rate := range rates[i] {
				ratio := -1.0 // unknown: the baseline answered nothing
				if baseline := rates[0][round]; baseline > 0 {
					ratio = rate / baseline
				}
				tg.RoundRatios = append(tg.RoundRatios, ratio)
			}
			if t.e2e {
				tg.Delivery = tallies[i].figures(sums[i].Window, tg.AcceptedPerSec, baseline)
			}
		}
		report.Targets = append(report.Targets, tg)
	}

	// 3. The open loop, on a fresh hookd and database, so that neither
	// the rounds' events nor their memory count.
	if !f.SkipE2E && f.Rate > 0 {
		b.logf("starting hookd serve (all roles) for the open loop")
		all, addr, err := b.startServe(ctx, cfgPath)
		if err != nil {
			return nil, err
		}
		for _, t := range []struct{ name, service, tag string }{
			{"hookd forward (e2e)", "fwd", "of"}, {"hookd email (e2e)", "mail", "om"},
		} {
			b.settle(ctx, all)
			o, err := b.openLoop(ctx, t.name, "http://"+addr+"/webhooks/"+t.service, all, sk, t.tag)
			if err != nil {
				return nil, err
			}
			report.OpenLoop = append(report.OpenLoop, *o)
		}
		if err := all.stop(); err != nil {
			return nil, err
		}
	}

	if !f.SkipDrain {
		if report.Drain, err = b.drain(ctx, cfgPath, sk); err != nil {
			return nil, err
		}
	}
	return report, nil
}

// startServe starts "hookd serve" with its default role on a new database
// and returns it with its ingest address.
func (b *runner) startServe(ctx context.Context, cfgPath string) (*child, string, error) {
	db, err := b.dbs.newDatabase(ctx)
	if err != nil {
		return nil, "", err
	}
	var addr string
	c, _, err := b.start(ctx, func() (c *child, _ []string, err error) {
		c, addr, err = startHookd(ctx, b.flags.Binary, b.dir, cfgPath, roleDefault, db)
		return c, nil, err
	})
	return c, addr, err
}

// baselineReady is the line "hookd bench-baseline" prints once it listens.
var baselineReady = regexp.MustCompile(`^listening on (\S+)`)

// start starts a child with startFn and remembers it for cleanup.
func (b *runner) start(ctx context.Context, startFn func() (*child, []string, error)) (*child, []string, error) {
	c, m, err := startFn()
	if err != nil {
		return nil, nil, err
	}
	b.mu.Lock()
	b.children = append(b.children, c)
	b.mu.Unlock()
	return c, m, ctx.Err()
}

// minWindow is the shortest measured window --duration and --rounds
// may give.
const minWindow = 100 * time.Millisecond

// subject is one target of the load: a server and one of its services.
type subject struct {
	name, url string
	tag       string // in the idempotency keys, unique per target (the round follows it)
	srv       *child // the server process
	e2e       bool   // its deliveries are measured too
}

// settle waits until none of the servers uses more than a tenth of a CPU,
// at most settleMax each, and says so when one does not get there:
// its window then starts on a busy server.
func (b *runner) settle(ctx context.Context, servers ...*child) {
	const interval = 200 * time.Millisecond
	for _, c := range servers {
		deadline := time.Now().Add(settleMax)
		for prev := processCPU(c.pid()); prev >= 0; {
			if time.Now().After(deadline) {
				b.logf("%s still uses more than a tenth of a CPU after %v; measuring anyway", c.name, settleMax)
				break
			}
			if !sleepUntil(ctx, time.Now().Add(interval)) {
				return
			}
			cpu := processCPU(c.pid())
			if cpu-prev <= interval/10 {
				break
			}
			prev = cpu
		}
	}
}

// settleMax bounds settle's wait for one server.
const settleMax = 10 * time.Second

// figures turns what was measured of one target into its figures.
func figures(name string, r *loadResult) Target {
	slices.Sort(r.Latencies)
	perReq := func(cpu time.Duration) float64 {
		if cpu < 0 || r.answered() == 0 {
			return -1
		}
		return math.Round(float64(cpu)/float64(time.Microsecond)/float64(r.answered())*10) / 10
	}
	return Target{
		Name:            name,
		AcceptedPerSec:  float64(r.ok()) / r.Window.Seconds(),
		Accepted:        r.Accepted,
		Duplicates:      r.Duplicates,
		DuplicatesSent:  r.DupsSent,
		Other2xx:        r.Other2xx,
		Non2xx:          r.Non2xx,
		Errors:          r.Errors,
		FirstError:      r.FirstError,
		P50ms:           ms(percentile(r.Latencies, 50)),
		P90ms:           ms(percentile(r.Latencies, 90)),
		P99ms:           ms(percentile(r.Latencies, 99)),
		MaxMs:           ms(percentile(r.Latencies, 100)),
		ServerCPUPerReq: perReq(r.ServerCPU),
		ClientCPUPerReq: perReq(r.ClientCPU),
		Ratio:           1,
	}
}

// Bounds on the drain: it fails when no forward arrives for
// drainStall, and in any case after drainTimeout.
const (
	drainStall   = 60 * time.Second
	drainTimeout = 30 * time.Minute
)

// drain measures how fast the workers empty the queue: the events are
// enqueued by an ingest-only hookd on a fresh database (so that no email
// job of the throughput runs competes with the forwards, nor needs an SMTP
// server), which then stops; a worker-only hookd is started on that
// database and timed until every event was forwarded.
func (b *runner) drain(ctx context.Context, cfgPath string, sk *sink) (*Drain, error) {
	f := b.flags
	db, err := b.dbs.newDatabase(ctx)
	if err != nil {
		return nil, err
	}
	var ingest string
	in, _, err := b.start(ctx, func() (c *child, _ []string, err error) {
		c, ingest, err = startHookd(ctx, f.Binary, b.dir, cfgPath, roleIngest, db)
		return c, nil, err
	})
	if err != nil {
		return nil, err
	}
	b.logf("drain: enqueueing %d forward events", f.DrainEvents)
	l := &load{
		URL: "http://" + ingest + "/webhooks/fwd", Secret: []byte(b.secret), Connections: f.Connections,
		BodySize: f.BodySize, KeyPrefix: b.runID + "f", Count: f.DrainEvents,
	}
	r, err := l.run(ctx)
	if err != nil {
		return nil, err
	}
	res := &Drain{Events: r.Accepted, EnqueueSeconds: r.Window.Seconds(), EnqueueErrors: r.Non2xx + r.Errors + r.Other2xx + r.Duplicates}
	if res.EnqueueErrors > 0 {
		return nil, fmt.Errorf("drain: %d of %d events were not accepted (first: %s)", res.EnqueueErrors, f.DrainEvents, r.FirstError)
	}
	if err := in.stop(); err != nil {
		return nil, err
	}

	b.logf("drain: starting hookd serve --role worker")
	sk.reset()
	start := time.Now()
	w, _, err := b.start(ctx, func() (c *child, _ []string, err error) {
		c, _, err = startHookd(ctx, f.Binary, b.dir, cfgPath, roleWorker, db)
		return c, nil, err
	})
	if err != nil {
		return nil, err
	}
	deadline := time.NewTimer(drainTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last, lastChange := 0, time.Now()
	for {
		n, first, latest := sk.progress()
		res.CompletedForward = n
		if n >= res.Events {
			res.Seconds = latest.Sub(first).Seconds()
			res.TotalSeconds = latest.Sub(start).Seconds()
			if res.Seconds > 0 {
				// n-1 intervals between n arrivals.
				res.JobsPerSec = float64(n-1) / res.Seconds
			}
			break
		}
		if n != last {
			last, lastChange = n, time.Now()
		}
		if time.Since(lastChange) > drainStall {
			return nil, fmt.Errorf("drain: stalled at %d of %d forwards for %v:\n%s", n, res.Events, drainStall, w.output())
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-w.exited:
			return nil, fmt.Errorf("drain: the worker exited at %d of %d forwards:\n%s", n, res.Events, w.output())
		case <-deadline.C:
			return nil, fmt.Errorf("drain: %d of %d forwards after %v", n, res.Events, drainTimeout)
		case <-tick.C:
		}
	}
	if err := w.stop(); err != nil {
		return nil, err
	}
	return res, nil
}

// cleanup kills the children still running, drops PostgreSQL schemas and
// removes the temporary directory. It runs after errors and Ctrl-C too.
func (b *runner) cleanup() error {
	b.mu.Lock()
	children := b.children
	b.mu.Unlock()
	for _, c := range children {
		c.kill()
	}
	var err error
	if b.dbs != nil {
		err = b.dbs.cleanup()
	}
	if b.dir != "" {
		err = errors.Join(err, os.RemoveAll(b.dir))
	}
	return err
}

// logf prints progress to stderr, keeping stdout for the results.
func (b *runner) logf(format string, args ...any) {
	fmt.Fprintf(b.progress, "hookd bench: "+format+"\n", args...)
}

// machineInfo describes this machine.
func machineInfo() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version()}
	if fh, err := os.Open("/proc/cpuinfo"); err == nil {
		defer fh.Close()
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// printReport prints a report as a header line and a table.
func printReport(w io.Writer, r *Report) {
	s, m := r.Settings, r.Machine
	fmt.Fprintf(w, "hookd bench: %d connections, %v measured in %d rounds (%v warm-up before each window), %d-byte bodies, %g%% duplicates; %s; %d CPUs, GOMAXPROCS=%d, %s/%s, %s",
		s.Connections, time.Duration(s.DurationSeconds*float64(time.Second)), s.Rounds, time.Duration(s.WarmupSeconds*float64(time.Second)),
		s.BodySize, s.Duplicates*100, s.DatabaseKind, m.CPUs, m.GOMAXPROCS, m.OS, m.Arch, m.Go)
	if m.CPUModel != "" {
		fmt.Fprintf(w, ", %s", m.CPUModel)
	}
	fmt.Fprint(w, "\n\n")
	// Numbers align right; names, padded to one width, read left-aligned.
	width := len("target")
	for _, t := range r.Targets {
		width = max(width, len(t.Name))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\taccepted/s\tp50\tp90\tp99\tmax\tnon-2xx\terrors\tserver CPU/req\tclient CPU/req\tvs baseline\t\n", width, "target")
	cpu := func(us float64) string {
		if us < 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.0fµs", us)
	}
	for _, t := range r.Targets {
		fmt.Fprintf(tw, "%-*s\t%.0f\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t%d\t%d\t%s\t%s\t%.2f×\t\n",
			width, t.Name, t.AcceptedPerSec, t.P50ms, t.P90ms, t.P99ms, t.MaxMs, t.Non2xx, t.Errors,
			cpu(t.ServerCPUPerReq), cpu(t.ClientCPUPerReq), t.Ratio)
	}
	tw.Flush()
	for _, t := range r.Targets {
		if len(t.RoundRatios) > 1 {
			fmt.Fprintf(w, "%s vs baseline, round by round:", t.Name)
			for _, x := range t.RoundRatios {
				if x < 0 {
					fmt.Fprint(w, " n/a")
				} else {
					fmt.Fprintf(w, " %.2f", x)
				}
			}
			fmt.Fprintln(w)
		}
		// The baseline stores nothing, so it answers duplicates 202; the
		// end-to-end loads send none.
		if s.Duplicates > 0 && t.Name != "baseline" && t.Delivery == nil {
			fmt.Fprintf(w, "%s: %d duplicates sent, %d answered 200\n", t.Name, t.DuplicatesSent, t.Duplicates)
		}
		if t.FirstError != "" {
			fmt.Fprintf(w, "%s: first failure: %s\n", t.Name, t.FirstError)
		}
	}
	printDeliveries(w, r)
	if d := r.Drain; d != nil {
		fmt.Fprintf(w, "\ndrain: %d forward jobs completed in %.2fs (%.2fs from worker start): %.0f jobs/s; enqueued in %.2fs\n",
			d.CompletedForward, d.Seconds, d.TotalSeconds, d.JobsPerSec, d.EnqueueSeconds)
	}
}

// printDeliveries prints the end-to-end figures: the closed loop's, then
// the open loop's.
func printDeliveries(w io.Writer, r *Report) {
	width := len("target")
	var e2e []Target
	for _, t := range r.Targets {
		if t.Delivery != nil {
			e2e = append(e2e, t)
			width = max(width, len(t.Name))
		}
	}
	for _, o := range r.OpenLoop {
		width = max(width, len(o.Name))
	}
	drain := func(s float64) string {
		if s < 0 {
			return "not drained"
		}
		return fmt.Sprintf("%.2fs", s)
	}
	rss := func(mb float64) string {
		if mb < 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.0f MiB", mb)
	}
	undelivered := func(name string, n, of int) {
		if n > 0 {
			fmt.Fprintf(w, "%s: %d of %d acknowledged events NOT delivered within %v\n",
				name, n, of, time.Duration(r.Settings.DrainWaitSeconds*float64(time.Second)))
		}
	}
	if len(e2e) > 0 {
		fmt.Fprint(w, "\nend to end, closed loop (hookd serve, default role; the same windows as above; backlog when the load stopped, the most of any round; drain: its delivery, the longest of any round):\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%-*s\taccepted/s\tdelivered/s\tdelivered/accepted\tdelivered/baseline\tbacklog\tdrain\trepeats\tmax RSS\t\n", width, "target")
		for _, t := range e2e {
			d := t.Delivery
			fmt.Fprintf(tw, "%-*s\t%.0f\t%.0f\t%.2f×\t%.2f×\t%d\t%s\t%d\t%s\t\n", width, t.Name, t.AcceptedPerSec,
				d.DeliveredPerSec, d.PerAccepted, d.PerBaseline, d.Backlog, drain(d.DrainSeconds), d.Repeats, rss(d.MaxRSSMB))
		}
		tw.Flush()
		for _, t := range e2e {
			d := t.Delivery
			if len(d.RoundBacklogs) > 1 {
				fmt.Fprintf(w, "%s backlog and drain, round by round:", t.Name)
				for i, n := range d.RoundBacklogs {
					fmt.Fprintf(w, " %d/%s", n, drain(d.RoundDrainSeconds[i]))
				}
				fmt.Fprintln(w)
			}
			undelivered(t.Name, d.Undelivered, d.Acknowledged)
		}
	}
	if len(r.OpenLoop) > 0 {
		s := r.Settings
		fmt.Fprintf(w, "\nend to end, open loop (a fresh hookd serve; %g requests/s for %v, at most %d in flight; ack from the scheduled send time to the 202; delivery from the 202 to the sink):\n",
			s.Rate, time.Duration(s.OpenDurationSeconds*float64(time.Second)), s.MaxOutstanding)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%-*s\tsent\t202/s\tnon-2xx\terrors\tack p50\tp90\tp99\tmax\tdelivery p50\tp90\tp99\tmax\tbacklog\tdrain\tmax RSS\t\n", width, "target")
		for _, o := range r.OpenLoop {
			fmt.Fprintf(tw, "%-*s\t%d\t%.0f\t%d\t%d\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t%d\t%s\t%s\t\n",
				width, o.Name, o.Sent, o.AcceptedPerSec, o.Non2xx, o.Errors, o.AckP50ms, o.AckP90ms, o.AckP99ms, o.AckMaxMs,
				o.DeliveryP50ms, o.DeliveryP90ms, o.DeliveryP99ms, o.DeliveryMaxMs, o.Backlog, drain(o.DrainSeconds), rss(o.MaxRSSMB))
		}
		tw.Flush()
		for _, o := range r.OpenLoop {
			if o.Sent < o.Scheduled || o.HeldBack > 0 {
				fmt.Fprintf(w, "%s: %d of %d scheduled requests sent, %d of them late: --max-outstanding requests were in flight\n",
					o.Name, o.Sent, o.Scheduled, o.HeldBack)
			}
			if o.FirstError != "" {
				fmt.Fprintf(w, "%s: first failure: %s\n", o.Name, o.FirstError)
			}
			if o.AllDelivered {
				fmt.Fprintf(w, "%s: every acknowledged event (%d) delivered\n", o.Name, o.Accepted)
			}
			undelivered(o.Name, o.Undelivered, o.Accepted)
		}
	}
}
