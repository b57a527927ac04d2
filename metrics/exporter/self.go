package exporter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Self is flowmeter's own health: how its collector runs and derivations go. The
// scheduler reports to it; it is a prometheus.Collector, registered by NewRegistry.
// Each Self has its own metrics, so tests and several registries never share
// state.
type Self struct {
	runs        *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.HistogramVec
	records     *prometheus.CounterVec
	rateLimit   *prometheus.GaugeVec
	derive      prometheus.Histogram
	// deriveFailures and deriveLastSuccess tell a derivation that keeps failing
	// from one that has nothing to do, for alerts.
	deriveFailures    prometheus.Counter
	deriveLastSuccess prometheus.Gauge
}

// collectorBuckets span a collector run from an incremental poll of a quiet source
// (a fraction of a second) to a first full collection of a large organisation
// (an hour or more).
var collectorBuckets = []float64{0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// deriveBuckets span a derivation from the demo organisation (well under a second)
// to a million pull requests (seconds to a minute, BENCHMARKS.md).
var deriveBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// NewSelf returns the self-metrics, with no series until something is reported.
func NewSelf() *Self {
	return &Self{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowmeter_collector_runs_total",
			Help: `Collector runs by source instance and result: ok, or error when the run failed (it is retried with backoff).`,
		}, []string{"source", "result"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flowmeter_collector_last_success_timestamp_seconds",
			Help: `Unix time at which the source's last successful collector run ended; alert on time() minus it.`,
		}, []string{"source"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flowmeter_collector_duration_seconds",
			Help:    `Duration of collector runs by source instance, successful or not.`,
			Buckets: collectorBuckets,
		}, []string{"source"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowmeter_records_written_total",
			Help: `Records written to the store by source instance and kind of record (pull_requests, deployments, incidents, ...); rewriting a record counts again.`,
		}, []string{"source", "kind"}),
		rateLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flowmeter_github_rate_limit_remaining",
			Help: `Requests or GraphQL points left in the scarcer of a GitHub source instance's rate-limit windows (REST and GraphQL are counted apart), as GitHub last reported; absent while unknown.`,
		}, []string{"source"}),
		derive: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "flowmeter_derive_duration_seconds",
			Help:    `Duration of successful derivations (records to facts, including reading and writing the store).`,
			Buckets: deriveBuckets,
		}),
		deriveFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowmeter_derive_failures_total",
			Help: `Derivations that failed (each is retried with backoff); one stopped by a shutdown or reload is no failure.`,
		}),
		deriveLastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flowmeter_derive_last_success_timestamp_seconds",
			Help: `Unix time at which the last successful derivation ended; 0 before the first.`,
		}),
	}
}

// Describe sends the descriptors of the self-metrics.
func (s *Self) Describe(ch chan<- *prometheus.Desc) {
	s.runs.Describe(ch)
	s.lastSuccess.Describe(ch)
	s.duration.Describe(ch)
	s.records.Describe(ch)
	s.rateLimit.Describe(ch)
	s.derive.Describe(ch)
	s.deriveFailures.Describe(ch)
	s.deriveLastSuccess.Describe(ch)
}

// Collect sends the self-metrics.
func (s *Self) Collect(ch chan<- prometheus.Metric) {
	s.runs.Collect(ch)
	s.lastSuccess.Collect(ch)
	s.duration.Collect(ch)
	s.records.Collect(ch)
	s.rateLimit.Collect(ch)
	s.derive.Collect(ch)
	s.deriveFailures.Collect(ch)
	s.deriveLastSuccess.Collect(ch)
}

// ObserveRun records one collector run of source that ended at at, took took and
// failed with err (nil for success). Both results' series exist from a source's
// first run on, so a rate of errors reads 0 rather than nothing.
func (s *Self) ObserveRun(source string, err error, took time.Duration, at time.Time) {
	ok, failed := s.runs.WithLabelValues(source, "ok"), s.runs.WithLabelValues(source, "error")
	if err != nil {
		failed.Inc()
	} else {
		ok.Inc()
		s.lastSuccess.WithLabelValues(source).Set(float64(at.UnixNano()) / 1e9)
	}
	s.duration.WithLabelValues(source).Observe(max(took.Seconds(), 0))
}

// AddRecords counts n records of a kind written for source; n < 0 is ignored, as a
// counter cannot go down.
func (s *Self) AddRecords(source, kind string, n int) {
	if n < 0 {
		return
	}
	s.records.WithLabelValues(source, kind).Add(float64(n))
}

// SetRateLimit records the requests left in source's rate-limit window; a negative
// remaining means unknown and removes the series.
func (s *Self) SetRateLimit(source string, remaining int) {
	if remaining < 0 {
		s.rateLimit.DeleteLabelValues(source)
		return
	}
	s.rateLimit.WithLabelValues(source).Set(float64(remaining))
}

// ObserveDerive records one derivation that ended at at: how long it took when it
// succeeded, and that it failed when err is not nil.
func (s *Self) ObserveDerive(took time.Duration, err error, at time.Time) {
	if err != nil {
		s.deriveFailures.Inc()
		return
	}
	s.derive.Observe(max(took.Seconds(), 0))
	s.deriveLastSuccess.Set(float64(at.UnixNano()) / 1e9)
}
