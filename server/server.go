// Package server assembles a running hookd from its configuration: the
// database, the ingest and admin listeners, the delivery engine and the
// workers of a process's role. "hookd serve" runs one Main; end-to-end
// tests start one on ":0" addresses.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/email"
	"github.com/hookd/hookd/forward"
	"github.com/hookd/hookd/groupcommit"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/logging"
	"github.com/hookd/hookd/jobs"
	"github.com/hookd/hookd/verify"
	"github.com/hookd/hookd/web"
)

// Roles of a hookd process.
const (
	RoleAll    = "all"    // ingest, admin and workers
	RoleIngest = "ingest" // ingest and admin
	RoleWorker = "worker" // workers and admin
)

// Main is one running hookd server. Tests start it on ":0" addresses.
type Main struct {
	Config   *config.Config
	Services map[string]*hookd.Service
	Role     string       // Defaults to RoleAll.
	Logger   *slog.Logger // Defaults to slog.Default().
	// PostgresWait bounds how long Run waits at start-up for a PostgreSQL
	// server that cannot be reached yet.
	PostgresWait time.Duration

	// IngestAddr and AdminAddr are the bound addresses once Run returned.
	IngestAddr, AdminAddr string

	db         Database
	committer  *groupcommit.Committer
	engine     *delivery.Engine
	engineDone chan struct{}
	dispatcher *jobs.Dispatcher
	workers    jobs.Runner
	mailer     *email.Sender
	stop       context.CancelFunc // ends the dispatcher and the pruner
	stopped    chan struct{}
	servers    []*http.Server
	dashboard  *web.Dashboard
	replays    *admin.Replays
	errc       chan error
}

// Run opens and migrates the database, then starts the listeners and
// workers of m's role. It returns once they are serving.
func (m *Main) Run(ctx context.Context) (err error) {
	if m.Role == "" {
		m.Role = RoleAll
	}
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	log, cfg := m.Logger, m.Config
	m.errc = make(chan error, 2)
	defer func() {
		if err != nil {
			m.Close()
		}
	}()

	if m.db, err = Open(ctx, cfg, log, false, m.PostgresWait); err != nil {
		return err
	}
	if err := m.db.Migrate(ctx); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(jobs.NewBacklogCollector(m.db)) // the database's backlog, read at each scrape
	rejections := httpapi.NewRejections(0)
	activity := httpapi.NewActivity()
	// Bulk replays are started from the API or the dashboard, and seen
	// from both.
	m.replays = admin.NewReplays(m.db, m.Services)

	var worker *jobs.Worker
	if m.Role == RoleAll || m.Role == RoleWorker {
		// As many connections to the mail server as attempts to it in flight.
		mailer, err := email.NewSender(email.Config{URL: cfg.SMTP.URL, From: cfg.SMTP.From, MaxConns: cfg.Workers.MaxPerDestination})
		if err != nil {
			return err
		}
		m.mailer = mailer
		worker = jobs.NewWorker(jobs.Config{
			Events:            m.db,
			Attempts:          m.db,
			Services:          m.Services,
			Mailer:            mailer,
			Forwarder:         &forward.Forwarder{},
			Logger:            log,
			Metrics:           jobs.NewMetrics(reg),
			MaxWorkers:        cfg.Workers.Max,
			MaxPerDestination: cfg.Workers.MaxPerDestination,
			FetchCooldown:     time.Duration(cfg.Workers.FetchCooldown),
			FetchPollInterval: time.Duration(cfg.Workers.PollInterval),
			JobTimeout:        time.Duration(cfg.Workers.JobTimeout),
			RescueAfter:       time.Duration(cfg.Workers.RescueAfter),
		})
		if r, ok := m.db.(interface {
			Reclaim(context.Context) (int, int, error)
		}); ok {
			// SQLite: the file is this machine's, so what its claims and
			// running jobs hold belongs to a process that is gone.
			claims, running, err := r.Reclaim(ctx)
			if err != nil {
				return err
			}
			if claims+running > 0 {
				log.Info("took back the work of a previous run", "claimed_events", claims, "running_jobs", running)
			}
		}
	}
	var accepter httpapi.Accepter
	if m.Role == RoleAll || m.Role == RoleIngest {
		// Requests are stored by a group committer: one transaction for
		// whatever is pending, each answer after its own commit.
		m.committer = groupcommit.New(m.db, m.db.GroupCommit())
		accepter = m.committer
	}
	if worker != nil {
		// First attempts run in this process's delivery engine: right
		// after the commit for the events it accepts (role all), and for
		// whatever waits in the outbox, which the dispatcher hands it as
		// it has room: woken by the engine when room frees up after work
		// was left waiting, polling for other processes' events and for
		// expired claims.
		ec := delivery.Config{
			Store: m.db, Attempter: worker, Logger: log,
			OnRoom:         func() { m.dispatcher.Wake() },
			Capacity:       cfg.Workers.InFlight,
			Lease:          time.Duration(cfg.Workers.ClaimLease),
			AttemptTimeout: time.Duration(cfg.Workers.JobTimeout),
		}
		if m.committer != nil {
			ec.Next = m.committer
		}
		m.engine = delivery.New(ec)
		m.engineDone = make(chan struct{})
		go func() { defer close(m.engineDone); m.engine.Run(context.WithoutCancel(ctx)) }()
		m.dispatcher = jobs.NewDispatcher(m.engine, time.Duration(cfg.Workers.DispatchInterval), log)
		if accepter != nil {
			accepter = m.engine // the first attempt right after the commit
		}
	}
	if accepter != nil {
		ingest := &httpapi.Ingest{
			Services: m.Services, Accepter: accepter, Rejections: rejections,
			Metrics: httpapi.NewMetrics(reg), Activity: activity, Logger: log,
		}
		if m.IngestAddr, err = m.listen(cfg.Listen, ingest.Handler()); err != nil {
			return config.ListenError("listen", "HOOKD_LISTEN", cfg.Listen, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Services)) {
		if _, ok := m.Services[name].Verifier.(*verify.None); ok {
			log.Warn("service accepts unsigned requests from anyone (verify scheme none)", "service", name)
		}
	}
	if cfg.Admin.Token == "" {
		log.Warn("the admin API has no token and is open to local clients; set admin.token or HOOKD_ADMIN_TOKEN", "admin", cfg.Admin.Listen)
	}
	if m.dashboard, err = m.newDashboard(rejections, activity, m.replays); err != nil {
		return err
	}
	dashboard := m.dashboard.Handler()
	api := &httpapi.Admin{Store: m.db, Services: m.Services, Rejections: rejections, Gatherer: reg, Token: cfg.Admin.Token, Logger: log,
		Replays: m.replays, Dashboard: dashboard}
	if m.AdminAddr, err = m.listen(cfg.Admin.Listen, api.Handler()); err != nil {
		return config.ListenError("admin.listen", "HOOKD_ADMIN_LISTEN", cfg.Admin.Listen, err)
	}

	if worker != nil {
		if m.workers, err = m.db.Workers(worker); err != nil {
			return fmt.Errorf("workers: %w", err)
		}
		if err := m.workers.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("workers: %w", err)
		}
		dctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		m.stop, m.stopped = stop, make(chan struct{})
		retention := map[string]hookd.Retention{}
		for name, svc := range m.Services {
			retention[name] = svc.Retention
		}
		pruner := jobs.NewPruner(m.db, jobs.PrunerConfig{Retention: retention, Logger: log})
		refresher := jobs.NewStatusRefresher(m.db, 0, log)
		go func() {
			defer close(m.stopped)
			var wg sync.WaitGroup
			wg.Go(func() { pruner.Run(dctx) })
			wg.Go(func() { refresher.Run(dctx) })
			m.dispatcher.Run(dctx)
			wg.Wait()
		}()
	}
	// Only what this role runs: a worker has no webhook listener, an
	// ingest process sends no mail.
	attrs := []any{"role", m.Role}
	if m.IngestAddr != "" {
		attrs = append(attrs, "ingest", m.IngestAddr)
	}
	attrs = append(attrs, "admin", m.AdminAddr, "database", logging.Database(cfg))
	if m.workers != nil {
		attrs = append(attrs, "smtp", logging.SMTP(cfg.SMTP.URL))
	}
	log.Info("hookd started", append(attrs, "services", len(m.Services))...)
	return nil
}

// listen serves h on addr with limits on everything a client controls.
func (m *Main) listen(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := httpapi.NewServer(h, m.Logger)
	m.servers = append(m.servers, srv)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			m.errc <- err
		}
	}()
	return ln.Addr().String(), nil
}

// RunsWorkers reports whether m runs the background workers: its role is
// all or worker, and Run succeeded.
func (m *Main) RunsWorkers() bool { return m.workers != nil || m.dispatcher != nil }

// Err reports a listener that stopped by itself.
func (m *Main) Err() <-chan error { return m.errc }

// Close shuts down gracefully: listeners stop accepting and finish their
// requests, running jobs get the shutdown timeout to finish (unfinished
// ones run again after a restart), then the database closes.
func (m *Main) Close() error {
	timeout := time.Duration(m.Config.Workers.ShutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	if m.dashboard != nil {
		m.dashboard.Close() // live tails end, so the admin server can
	}
	for _, srv := range m.servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.stop != nil {
		// The dispatcher, which hands the engine its work, and the pruner.
		m.stop()
		<-m.stopped
	}
	if m.engine != nil {
		// Nothing adds work now: let the first attempts finish.
		if err := m.engine.Close(ctx); err != nil {
			errs = append(errs, err)
		}
		<-m.engineDone
	}
	if m.committer != nil {
		m.committer.Close()
	}
	if m.replays != nil {
		m.replays.Close() // before the store closes
	}
	if m.workers != nil {
		if err := m.workers.Stop(ctx); err != nil {
			// Out of time: cancel the jobs; River leaves them to be retried.
			cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
			errs = append(errs, m.workers.StopAndCancel(cctx))
			ccancel()
		}
	}
	if m.mailer != nil {
		errs = append(errs, m.mailer.Close())
	}
	if m.db != nil {
		errs = append(errs, m.db.Close())
	}
	return errors.Join(errs...)
}
