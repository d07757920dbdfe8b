package jobs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd"
)

// Metrics counts the attempts of both paths, first attempts in the
// delivery engine and queued jobs alike, since both run through
// Worker.run. A nil *Metrics counts nothing.
type Metrics struct {
	attempts *prometheus.CounterVec
	delivery *prometheus.HistogramVec
}

// Outcomes of an attempt, the values of hookd_attempts_total's outcome.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeRetry     = "retry"  // failed; the job runs again
	OutcomeFailed    = "failed" // failed for good: a dead letter
)

// NewMetrics returns the attempt metrics, registered on reg when it is
// not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_attempts_total",
			Help: "Attempts of actions by action (email, forward) and outcome (succeeded; retry: failed, will run again; failed: failed for good).",
		}, []string{"action", "outcome"}),
		delivery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hookd_delivery_seconds",
			Help: "Time from an event's acceptance (its 202) to the end of its action's successful attempt, first attempts and retries alike.",
			// From a first attempt right after the commit to retries
			// after hours of backoff.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 3 * 3600, 12 * 3600},
		}, []string{"action"}),
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.delivery)
	}
	return m
}

// observe counts one attempt of action for ev that ended with err; last
// says whether it was the job's last allowed attempt.
func (m *Metrics) observe(action string, ev *hookd.Event, err error, last bool) {
	if m == nil {
		return
	}
	outcome := OutcomeSucceeded
	switch {
	case err == nil:
		m.delivery.WithLabelValues(action).Observe(time.Since(ev.ReceivedAt).Seconds())
	case last || hookd.IsPermanent(err):
		outcome = OutcomeFailed
	default:
		outcome = OutcomeRetry
	}
	m.attempts.WithLabelValues(action, outcome).Inc()
}

// BacklogReader reads the work waiting: a hookd.Store.
type BacklogReader interface {
	Backlog(ctx context.Context) (hookd.Backlog, error)
}

// backlogTimeout bounds the query of one scrape: a database that does not
// answer leaves the backlog gauges out rather than holding the scrape.
const backlogTimeout = 2 * time.Second

// BacklogCollector reports the store's backlog as gauges, read when
// Prometheus scrapes. They are the database's, so every process that
// shares it reports the same values.
type BacklogCollector struct {
	store    BacklogReader
	outbox   *prometheus.Desc
	jobs     *prometheus.Desc
	oldest   *prometheus.Desc
	failures prometheus.Counter
}

// NewBacklogCollector returns a collector of store's backlog, to register.
func NewBacklogCollector(store BacklogReader) *BacklogCollector {
	return &BacklogCollector{
		store: store,
		outbox: prometheus.NewDesc("hookd_backlog_events",
			"Accepted events whose jobs wait in their outbox: not yet queued, nor settled after a first attempt in memory.", nil, nil),
		jobs: prometheus.NewDesc("hookd_backlog_jobs",
			"Queued jobs waiting, by what for: first_attempt, or retry after a failed attempt.", []string{"waiting_for"}, nil),
		oldest: prometheus.NewDesc("hookd_backlog_oldest_seconds",
			"Age of the oldest waiting work: an event in its outbox since it was accepted, a job since it was queued; 0 when nothing waits.", nil, nil),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_backlog_errors_total",
			Help: "Scrapes whose backlog query failed or timed out; the backlog gauges are missing from those.",
		}),
	}
}

// Describe implements prometheus.Collector.
func (c *BacklogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.outbox
	ch <- c.jobs
	ch <- c.oldest
	c.failures.Describe(ch)
}

// Collect implements prometheus.Collector: it queries the store.
func (c *BacklogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	b, err := c.store.Backlog(ctx)
	if err != nil {
		c.failures.Inc()
	} else {
		age := 0.0
		if !b.Oldest.IsZero() {
			age = max(time.Since(b.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(b.Outbox))
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(b.Queued), "first_attempt")
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(b.Retrying), "retry")
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
	}
	c.failures.Collect(ch)
}
