package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// promql makes Prometheus range queries of exprs, each with its legend.
func promql(exprs ...[2]string) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(exprs))
	for i, e := range exprs {
		out[i] = prometheus.NewDataqueryBuilder().
			RefId(string(rune('A' + i))).
			Datasource(PrometheusDatasource()).
			Expr(e[0]).
			LegendFormat(e[1]).
			Range()
	}
	return out
}

// sourceVariable is $source: the source instances flowmeter has run collectors of.
func sourceVariable() *dashboard.QueryVariableBuilder {
	q := "label_values(flowmeter_collector_runs_total, source)"
	return dashboard.NewQueryVariableBuilder("source").
		Label("Source").
		Description("The source instances of the config whose collectors the panels show.").
		Datasource(PrometheusDatasource()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnDashboardLoad).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(allOption())
}

// The families are flowmeter's own (docs/prometheus.md, metrics/exporter/self.go).
func health() *dashboard.DashboardBuilder {
	d := newDashboard("flowmeter-health", "flowmeter health",
		"Whether flowmeter itself is well: collector runs and errors, freshness, records written, GitHub rate limit, the webhook spool, derivation and scrape durations.",
		"now-24h").
		WithVariable(sourceVariable())
	src := `source=~"$source"`
	g := &grid{}
	add(d, g,
		panel{kind: kindStat, prometheus: true, title: "Ready", unit: "bool_yes_no", w: 4, h: 4,
			thresholds:  steps([]float64{1}, "red", "green"),
			description: "1 when /readyz answers ready: the store answers and no spooled batch is older than server.max_spool_age.",
			targets:     promql([2]string{"min(flowmeter_ready)", "ready"})},
		panel{kind: kindStat, prometheus: true, title: "Since last derivation", unit: "s", w: 4, h: 4,
			thresholds:  steps([]float64{3600, 4 * 3600}, "green", "orange", "red"),
			description: "Time since the last successful derivation of the facts.",
			targets:     promql([2]string{"time() - max(flowmeter_derive_last_success_timestamp_seconds > 0)", "age"})},
		panel{kind: kindStat, prometheus: true, title: "Exporter cache age", unit: "s", w: 4, h: 4,
			thresholds:  steps([]float64{3600, 4 * 3600}, "green", "orange", "red"),
			description: "Time since the exporter's figures were last rebuilt; it grows when collections stop.",
			targets:     promql([2]string{"max(flowmeter_exporter_cache_age_seconds)", "age"})},
		panel{kind: kindStat, prometheus: true, title: "Derivation failures (24h)", unit: "none", w: 4, h: 4,
			thresholds:  steps([]float64{1}, "green", "red"),
			description: "Derivations that failed over the last day; each is retried with backoff.",
			targets:     promql([2]string{"sum(increase(flowmeter_derive_failures_total[24h]))", "failures"})},
		panel{kind: kindStat, prometheus: true, title: "Spool backlog", unit: "none", w: 4, h: 4,
			thresholds:  steps([]float64{1}, "green", "orange"),
			description: "Webhook batches on disk waiting for the store (pending) or refused by it for good (dead).",
			targets:     promql([2]string{"sum by (state) (flowmeter_spool_batches)", "{{state}}"})},
		panel{kind: kindStat, prometheus: true, title: "Oldest pending batch", unit: "s", w: 4, h: 4,
			thresholds:  steps([]float64{600, 3600}, "green", "orange", "red"),
			description: "How long the oldest pending webhook batch has waited for the store; 0 when none waits.",
			targets:     promql([2]string{"max(flowmeter_spool_oldest_pending_age_seconds)", "age"})},
	)
	add(d, g,
		panel{kind: kindTimeSeries, prometheus: true, title: "Collector runs", unit: "none", w: 12, h: 8, bars: true, stacked: true, min: cog.ToPtr(0.0),
			description: "Collector runs per source and result (ok or error) in each interval.",
			targets:     promql([2]string{"sum by (source, result) (increase(flowmeter_collector_runs_total{" + src + "}[$__rate_interval]))", "{{source}} {{result}}"})},
		panel{kind: kindTimeSeries, prometheus: true, title: "Collector errors", unit: "none", w: 12, h: 8, bars: true, min: cog.ToPtr(0.0),
			thresholds:  steps([]float64{1}, "green", "red"),
			description: "Collector runs that ended in an error, per source, in each interval.",
			targets:     promql([2]string{"sum by (source) (increase(flowmeter_collector_runs_total{result=\"error\"," + src + "}[$__rate_interval]))", "{{source}}"})},
		panel{kind: kindTable, prometheus: true, title: "Last success per source", unit: "s", w: 12, h: 8,
			thresholds:  steps([]float64{3600, 4 * 3600}, "green", "orange", "red"),
			description: "Time since each source's last successful collector run ended.",
			targets:     promql([2]string{"time() - max by (source) (flowmeter_collector_last_success_timestamp_seconds{" + src + "})", "{{source}}"})},
		panel{kind: kindTimeSeries, prometheus: true, title: "Records written", unit: "wps", w: 12, h: 8, min: cog.ToPtr(0.0),
			description: "Records written to the store per second, by source and kind.",
			targets:     promql([2]string{"sum by (source, kind) (rate(flowmeter_records_written_total{" + src + "}[$__rate_interval]))", "{{source}} {{kind}}"})},
		panel{kind: kindTimeSeries, prometheus: true, title: "GitHub rate limit left", unit: "none", w: 12, h: 8, min: cog.ToPtr(0.0),
			thresholds:  steps([]float64{100, 1000}, "red", "orange", "green"),
			description: "Requests left in each GitHub source's rate-limit window; absent while unknown.",
			targets:     promql([2]string{"min by (source) (flowmeter_github_rate_limit_remaining{" + src + "})", "{{source}}"})},
		panel{kind: kindTimeSeries, prometheus: true, title: "Spool backlog over time", unit: "none", w: 12, h: 8, min: cog.ToPtr(0.0),
			description: "Webhook batches on disk by state, and the age of the oldest pending one.",
			overrides:   []override{unitOverride("oldest pending age", "s")},
			targets: promql([2]string{"sum by (state) (flowmeter_spool_batches)", "{{state}}"},
				[2]string{"max(flowmeter_spool_oldest_pending_age_seconds)", "oldest pending age"})},
		panel{kind: kindTimeSeries, prometheus: true, title: "Collector run duration (p95)", unit: "s", w: 8, h: 8, min: cog.ToPtr(0.0),
			description: "95th percentile of collector run durations per source, from the histogram.",
			targets:     promql([2]string{"histogram_quantile(0.95, sum by (le, source) (rate(flowmeter_collector_duration_seconds_bucket{" + src + "}[$__rate_interval])))", "{{source}}"})},
		panel{kind: kindTimeSeries, prometheus: true, title: "Derivation duration", unit: "s", w: 8, h: 8, min: cog.ToPtr(0.0),
			description: "Median and 95th percentile of successful derivation durations, from the histogram.",
			targets: promql(
				[2]string{"histogram_quantile(0.5, sum by (le) (rate(flowmeter_derive_duration_seconds_bucket[$__rate_interval])))", "p50"},
				[2]string{"histogram_quantile(0.95, sum by (le) (rate(flowmeter_derive_duration_seconds_bucket[$__rate_interval])))", "p95"})},
		panel{kind: kindTimeSeries, prometheus: true, title: "Scrape duration", unit: "s", w: 8, h: 8, min: cog.ToPtr(0.0),
			description: "How long Prometheus takes to scrape flowmeter's /metrics (served from the exporter's cache).",
			targets:     promql([2]string{`max by (instance) (scrape_duration_seconds{job="flowmeter"})`, "{{instance}}"})},
	)
	return d
}
