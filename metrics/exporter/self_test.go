package exporter

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// observeSome reports what a scheduler would after a few runs.
func observeSome(s *Self) {
	at := time.Date(2026, 6, 29, 10, 0, 0, 0, time.UTC) // Unix 1782727200
	s.ObserveRun("github", nil, 2*time.Second, at)
	s.ObserveRun("github", errors.New("502 Bad Gateway"), 40*time.Second, at.Add(time.Minute))
	s.ObserveRun("github", nil, 700*time.Millisecond, at.Add(2*time.Minute))
	s.ObserveRun("pagerduty", errors.New("timeout"), 90*time.Second, at)
	s.AddRecords("github", "pull_requests", 120)
	s.AddRecords("github", "pull_requests", 30)
	s.AddRecords("github", "deployments", 0)
	s.AddRecords("github", "deployments", -5) // ignored
	s.SetRateLimit("github", 4000)
	s.SetRateLimit("github", 3990)
	s.SetRateLimit("github-enterprise", 5000)
	s.SetRateLimit("github-enterprise", -1) // unknown: the series goes
	s.ObserveDerive(300*time.Millisecond, nil, at)
	s.ObserveDerive(time.Second, errors.New("store down"), at.Add(time.Minute))
	s.ObserveDerive(4*time.Second, nil, at.Add(2*time.Minute))
}

func TestSelf(t *testing.T) {
	s := NewSelf()
	observeSome(s)
	// github: two successful runs and one failed; pagerduty: one failed run, and
	// its ok series exists at 0. The last success of github ended at 10:02 UTC on
	// 29 June 2026: 1782727200 + 120. pagerduty never succeeded: no timestamp.
	// Durations: github 2 s, 40 s, 0.7 s (sum 42.7; buckets le 1: 1, le 5: 2,
	// le 60: 3); pagerduty 90 s (le 120). Records: 150 pull requests, 0
	// deployments (the negative count ignored). Rate limit: github's last value;
	// github-enterprise went unknown, so it has no series. Derivations 0.3 s and
	// 4 s: sum 4.3; one failed between them; the last success ended at 10:02.
	want := `
# HELP flowmeter_collector_runs_total Collector runs by source instance and result: ok, or error when the run failed (it is retried with backoff).
# TYPE flowmeter_collector_runs_total counter
flowmeter_collector_runs_total{result="error",source="github"} 1
flowmeter_collector_runs_total{result="ok",source="github"} 2
flowmeter_collector_runs_total{result="error",source="pagerduty"} 1
flowmeter_collector_runs_total{result="ok",source="pagerduty"} 0
# HELP flowmeter_collector_last_success_timestamp_seconds Unix time at which the source's last successful collector run ended; alert on time() minus it.
# TYPE flowmeter_collector_last_success_timestamp_seconds gauge
flowmeter_collector_last_success_timestamp_seconds{source="github"} 1.78272732e+09
# HELP flowmeter_collector_duration_seconds Duration of collector runs by source instance, successful or not.
# TYPE flowmeter_collector_duration_seconds histogram
flowmeter_collector_duration_seconds_bucket{source="github",le="0.1"} 0
flowmeter_collector_duration_seconds_bucket{source="github",le="0.5"} 0
flowmeter_collector_duration_seconds_bucket{source="github",le="1"} 1
flowmeter_collector_duration_seconds_bucket{source="github",le="5"} 2
flowmeter_collector_duration_seconds_bucket{source="github",le="10"} 2
flowmeter_collector_duration_seconds_bucket{source="github",le="30"} 2
flowmeter_collector_duration_seconds_bucket{source="github",le="60"} 3
flowmeter_collector_duration_seconds_bucket{source="github",le="120"} 3
flowmeter_collector_duration_seconds_bucket{source="github",le="300"} 3
flowmeter_collector_duration_seconds_bucket{source="github",le="600"} 3
flowmeter_collector_duration_seconds_bucket{source="github",le="1800"} 3
flowmeter_collector_duration_seconds_bucket{source="github",le="3600"} 3
flowmeter_collector_duration_seconds_bucket{source="github",le="+Inf"} 3
flowmeter_collector_duration_seconds_sum{source="github"} 42.7
flowmeter_collector_duration_seconds_count{source="github"} 3
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="0.1"} 0
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="0.5"} 0
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="1"} 0
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="5"} 0
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="10"} 0
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="30"} 0
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="60"} 0
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="120"} 1
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="300"} 1
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="600"} 1
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="1800"} 1
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="3600"} 1
flowmeter_collector_duration_seconds_bucket{source="pagerduty",le="+Inf"} 1
flowmeter_collector_duration_seconds_sum{source="pagerduty"} 90
flowmeter_collector_duration_seconds_count{source="pagerduty"} 1
# HELP flowmeter_records_written_total Records written to the store by source instance and kind of record (pull_requests, deployments, incidents, ...); rewriting a record counts again.
# TYPE flowmeter_records_written_total counter
flowmeter_records_written_total{kind="deployments",source="github"} 0
flowmeter_records_written_total{kind="pull_requests",source="github"} 150
# HELP flowmeter_github_rate_limit_remaining Requests or GraphQL points left in the scarcer of a GitHub source instance's rate-limit windows (REST and GraphQL are counted apart), as GitHub last reported; absent while unknown.
# TYPE flowmeter_github_rate_limit_remaining gauge
flowmeter_github_rate_limit_remaining{source="github"} 3990
# HELP flowmeter_derive_duration_seconds Duration of successful derivations (records to facts, including reading and writing the store).
# TYPE flowmeter_derive_duration_seconds histogram
flowmeter_derive_duration_seconds_bucket{le="0.01"} 0
flowmeter_derive_duration_seconds_bucket{le="0.05"} 0
flowmeter_derive_duration_seconds_bucket{le="0.1"} 0
flowmeter_derive_duration_seconds_bucket{le="0.25"} 0
flowmeter_derive_duration_seconds_bucket{le="0.5"} 1
flowmeter_derive_duration_seconds_bucket{le="1"} 1
flowmeter_derive_duration_seconds_bucket{le="2.5"} 1
flowmeter_derive_duration_seconds_bucket{le="5"} 2
flowmeter_derive_duration_seconds_bucket{le="10"} 2
flowmeter_derive_duration_seconds_bucket{le="30"} 2
flowmeter_derive_duration_seconds_bucket{le="60"} 2
flowmeter_derive_duration_seconds_bucket{le="120"} 2
flowmeter_derive_duration_seconds_bucket{le="+Inf"} 2
flowmeter_derive_duration_seconds_sum 4.3
flowmeter_derive_duration_seconds_count 2
# HELP flowmeter_derive_failures_total Derivations that failed (each is retried with backoff); one stopped by a shutdown or reload is no failure.
# TYPE flowmeter_derive_failures_total counter
flowmeter_derive_failures_total 1
# HELP flowmeter_derive_last_success_timestamp_seconds Unix time at which the last successful derivation ended; 0 before the first.
# TYPE flowmeter_derive_last_success_timestamp_seconds gauge
flowmeter_derive_last_success_timestamp_seconds 1.78272732e+09
`
	if err := testutil.CollectAndCompare(s, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestSelfInstancesAreIndependent: two Selfs (two registries, or two tests) share
// no series, which a package-level metric would.
func TestSelfInstancesAreIndependent(t *testing.T) {
	a, b := NewSelf(), NewSelf()
	a.ObserveRun("github", nil, time.Second, time.Now())
	if n := testutil.CollectAndCount(b, "flowmeter_collector_runs_total"); n != 0 {
		t.Errorf("a fresh Self has %d run series", n)
	}
	// Both register side by side in their own registries.
	NewRegistry(nil, a)
	NewRegistry(nil, b)
}
