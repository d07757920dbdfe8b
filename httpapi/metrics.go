package httpapi

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ingest path's Prometheus metrics.
type Metrics struct {
	received *prometheus.CounterVec
	rejected *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them with reg, if not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_webhooks_total",
			Help: "Verified webhooks by service and outcome (accepted, duplicate, conflict, error).",
		}, []string{"service", "outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_webhooks_rejected_total",
			Help: "Refused webhooks by service (\"(unknown)\" where no service is configured) and precise reason (header-missing, no-secret-matched, timestamp-skew, …).",
		}, []string{"service", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookd_ingest_duration_seconds",
			Help:    "Time from request to answer for verified webhooks, storage included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"service"}),
	}
	if reg != nil {
		reg.MustRegister(m.received, m.rejected, m.latency)
	}
	return m
}

func (m *Metrics) reject(service, reason string) {
	m.rejected.WithLabelValues(service, reason).Inc()
}

func (m *Metrics) outcome(service, outcome string, start time.Time) {
	m.received.WithLabelValues(service, outcome).Inc()
	m.latency.WithLabelValues(service).Observe(time.Since(start).Seconds())
}
