package dashboards

import (
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/schema"
)

// toilInRange is the toil entries of the chosen teams that started in the range;
// retired entries count in no figure.
const toilInRange = "FROM toil_facts FINAL\nWHERE retired = 0 AND $__timeFilter(started_at) AND " + teamFilter

// perYear is the entries of a group scaled to a year: entries / days of the range
// elapsed × 365 (toil.Aggregate's PerYear).
const perYear = "count() / (" + rangeSeconds + " / 86400) * 365"

// automationBudget is 5 years × occurrences per year × the median duration.
var automationBudget = strconv.Itoa(toil.AutomationYears) + " * " + perYear + " * " + percentile(0.5, "seconds", "")

func toilDashboard() *dashboard.DashboardBuilder {
	d := newDashboard("flowmeter-toil", "Toil",
		"The chosen teams' toil: manual, repetitive operations work from pages, incidents, toil tickets, manual deployments and re-runs, by category, with the toil snake and each category's automation budget (docs/metrics.md, Toil).",
		"now-90d").
		WithVariable(teamVariable("toil_facts")).
		WithVariable(bucketVariable())
	g := &grid{}
	add(d, g,
		panel{kind: kindStat, title: "Toil time", unit: "s", w: 6, h: 4,
			description: "Total time of the toil entries that started in the range.",
			targets:     queries(sqlf("SELECT sum(seconds) AS toil_seconds", toilInRange))},
		panel{kind: kindStat, title: "Toil entries", unit: "none", w: 6, h: 4,
			description: "Toil entries that started in the range: pages, incidents, toil tickets, manual deployments and re-runs.",
			targets:     queries(sqlf("SELECT count() AS entries", toilInRange))},
		panel{kind: kindStat, title: "Toil per week", unit: "s", w: 6, h: 4,
			description: "Toil time per week of the range elapsed.",
			targets:     queries(sqlf("SELECT sum(seconds) / ("+rangeSeconds+" / 604800) AS toil_seconds_per_week", toilInRange))},
		panel{kind: kindStat, title: "Unclassified toil", unit: "percentunit", w: 6, h: 4, decimals: cog.ToPtr(1.0),
			thresholds:  steps([]float64{0.25, 0.5}, "green", "orange", "red"),
			description: "Share of the toil time that no toil rule classified: a high share says the rules need work.",
			targets:     queries(sqlf("SELECT if(sum(seconds) = 0, NULL, sumIf(seconds, category = '"+schema.ToilUnclassified+"') / sum(seconds)) AS unclassified_share", toilInRange))},
	)
	kinds := make([]string, len(schema.ToilSources))
	for i, k := range schema.ToilSources {
		kinds[i] = "countIf(kind = '" + k + "') AS " + k
	}
	add(d, g,
		panel{kind: kindTimeSeries, title: "Toil by category", unit: "s", w: 12, h: 8, bars: true, stacked: true, min: cog.ToPtr(0.0),
			description: "Toil time per bucket by category, stacked: the entries that started in each bucket.",
			targets:     series(toilByCategorySQL())},
		panel{kind: kindTimeSeries, title: "Toil entries by kind", unit: "none", w: 12, h: 8, bars: true, stacked: true, min: cog.ToPtr(0.0),
			description: "Toil entries per bucket by the kind of record they came from: incident, alert (a page that was no incident), ticket, deployment (manual or rollback), rerun.",
			targets:     series(overTime("started_at", strings.Join(kinds, ", "), toilInRange))},
	)
	add(d, g,
		panel{kind: kindTable, title: "Toil snake", unit: "s", w: 16, h: 9, decimals: cog.ToPtr(1.0),
			description: "One row per category, longest total first: its entries, total time, median duration, occurrences per year (entries / days of the range elapsed × 365) and automation budget (5 years × per year × median): how long automating it may take before it costs more than it saves.",
			overrides:   []override{unitOverride("entries", "none"), unitOverride("per_year", "none")},
			targets: queries(sqlf("SELECT category, count() AS entries, sum(seconds) AS total_seconds,",
				"    "+percentile(0.5, "seconds", "")+" AS median_seconds,",
				"    "+perYear+" AS per_year,",
				"    "+automationBudget+" AS automation_budget_seconds",
				toilInRange,
				"GROUP BY category",
				"ORDER BY total_seconds DESC, category"))},
		panel{kind: kindTable, title: "Toil by kind", unit: "s", w: 8, h: 9,
			description: "Toil entries and time by the kind of record they came from, and each kind's median duration.",
			overrides:   []override{unitOverride("entries", "none")},
			targets: queries(sqlf("SELECT kind, count() AS entries, sum(seconds) AS total_seconds, "+percentile(0.5, "seconds", "")+" AS median_seconds",
				toilInRange,
				"GROUP BY kind",
				"ORDER BY total_seconds DESC, kind"))},
	)
	add(d, g,
		panel{kind: kindBarChart, title: "Toil time by category", unit: "s", w: 12, h: 8, min: cog.ToPtr(0.0), xField: "category",
			description: "Total toil time of each category in the range, longest first: the toil snake's rows.",
			targets: queries(sqlf("SELECT category, sum(seconds) AS total_seconds",
				toilInRange, "GROUP BY category", "ORDER BY total_seconds DESC, category"))},
		panel{kind: kindBarChart, title: "Automation budget by category", unit: "s", w: 12, h: 8, min: cog.ToPtr(0.0), xField: "category",
			description: "Each category's automation budget: 5 years × occurrences per year × median duration, the time automating it may take before it costs more than it saves.",
			targets: queries(sqlf("SELECT category, "+automationBudget+" AS automation_budget_seconds",
				toilInRange, "GROUP BY category", "ORDER BY automation_budget_seconds DESC, category"))},
	)
	add(d, g,
		panel{kind: kindTable, title: "Longest toil entries", unit: "s", w: 24, h: 9,
			description: "The 20 longest toil entries that started in the range: who did it (incidents name no one), what, when, how long, how the time was measured (basis) and the rule that classified it.",
			overrides:   []override{unitOverride("started_at", "dateTimeAsIso")},
			targets: queries(sqlf("SELECT who, title, started_at, seconds, basis, rule, category, kind, "+teamExpr+" AS team_name, id",
				toilInRange,
				"ORDER BY seconds DESC, started_at, id",
				"LIMIT 20"))},
	)
	return d
}

// toilByCategorySQL is the toil time per bucket in long format (time, category,
// seconds): categories come from the config, so the plugin turns each into a series.
func toilByCategorySQL() string {
	return sqlf("SELECT "+bucketExpr("started_at")+" AS time, category, sum(seconds) AS seconds",
		toilInRange, "GROUP BY time, category", "ORDER BY time, category")
}
