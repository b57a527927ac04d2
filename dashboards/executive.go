package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// The quarters the executive overview compares, fixed to the calendar rather than
// the time picker: this one up to now, and the last one whole.
const (
	// Quarters are UTC's whatever the server's time zone.
	quarterWith = "WITH toDateTime(toStartOfQuarter(now(), 'UTC'), 'UTC') AS this_q, toDateTime(addMonths(toStartOfQuarter(now(), 'UTC'), -3), 'UTC') AS last_q"
	// quarterDays is the days of the period elapsed: per-day rates of the current
	// quarter count only its days up to now (docs/metrics.md).
	quarterDays = "(if(period = 'this quarter', toUInt32(now()) - toUInt32(this_q), toUInt32(this_q) - toUInt32(last_q)) / 86400)"
	// trendWith is the four quarters of the trend: this one and the three before.
	trendWith = "WITH toDateTime(addMonths(toStartOfQuarter(now(), 'UTC'), -9), 'UTC') AS first_q"
	// quarterLabel names a quarter like 2026-Q3.
	quarterLabel = "concat(toString(toYear(q)), '-Q', toString(toQuarter(q)))"
)

// periodOf names the quarter a time falls in.
func periodOf(column string) string {
	return "if(" + column + " >= this_q, 'this quarter', 'last quarter')"
}

// deploymentsThisQuarter is the counted production deployments of the chosen teams
// finished this quarter.
func deploymentsThisQuarter(figure string) string {
	return sqlf(quarterWith,
		"SELECT "+figure,
		"FROM deployment_facts FINAL",
		"WHERE "+countedDeployments+" AND finished_at >= this_q AND "+teamFilter)
}

func executive() *dashboard.DashboardBuilder {
	d := newDashboard("flowmeter-executive", "Executive overview",
		"The DORA figures of the chosen teams, this quarter against the last, and their trend over four quarters (docs/metrics.md defines each).",
		"now-1y").
		WithVariable(teamVariable("deployment_facts", "change_facts", "flow_item_facts", "toil_facts"))
	g := &grid{}
	add(d, g,
		panel{kind: kindStat, title: "Deployment frequency", unit: unitPerDay, w: 5, h: 5, thresholds: frequencyTiers, decimals: cog.ToPtr(2.0),
			description: "Counted production deployments per day this quarter, up to today; colours read the rate as daily, weekly or monthly deployment (reports grade on deploy days).",
			targets:     queries(deploymentsThisQuarter("count() / ((toUInt32(now()) - toUInt32(this_q)) / 86400) AS deployments_per_day"))},
		panel{kind: kindStat, title: "Lead time (median)", unit: "s", w: 5, h: 5, thresholds: leadTimeTiers,
			description: "Median change lead time (first commit to production) of the changes shipped this quarter, interpolated like the reports'; DORA tier colours.",
			targets: queries(sqlf(quarterWith,
				"SELECT "+percentile(0.5, "lead_time_seconds", "")+" AS lead_time_p50",
				"FROM change_facts FINAL",
				"WHERE state = 'shipped' AND lead_time_seconds >= 0 AND shipped_at >= this_q AND "+teamFilter))},
		panel{kind: kindStat, title: "Change failure rate", unit: "percentunit", w: 5, h: 5, thresholds: cfrTiers, decimals: cog.ToPtr(1.0),
			description: "Failed counted production deployments over counted production deployments finished this quarter; DORA tier colours.",
			targets:     queries(deploymentsThisQuarter("if(count() = 0, NULL, sum(failed) / count()) AS change_failure_rate"))},
		panel{kind: kindStat, title: "Failed deployment recovery (median)", unit: "s", w: 5, h: 5, thresholds: recoveryTiers,
			description: "Median time from a failed deployment's finish to its recovery, over the recovered failures finished this quarter; DORA tier colours.",
			targets:     queries(deploymentsThisQuarter(percentile(0.5, "recovery_seconds", "failed = 1 AND recovery_seconds >= 0") + " AS recovery_p50"))},
		panel{kind: kindStat, title: "Rework rate", unit: "percentunit", w: 4, h: 5, decimals: cog.ToPtr(1.0),
			description: "Unplanned counted production deployments (rollbacks, hotfixes, reverts, fixes only) over counted production deployments this quarter.",
			targets:     queries(deploymentsThisQuarter("if(count() = 0, NULL, sum(unplanned) / count()) AS rework_rate"))},
	)
	add(d, g, panel{kind: kindTable, title: "By team: this quarter and last", w: 24, h: 10, decimals: cog.ToPtr(2.0),
		description: "Each team's DORA figures this quarter (up to today) and last quarter, side by side.",
		overrides: []override{
			unitOverride("deployments", "none"),
			unitOverride("deployments_per_day", unitPerDay),
			unitOverride("lead_time_p50", "s"),
			unitOverride("change_failure_rate", "percentunit"),
			unitOverride("recovery_p50", "s"),
			unitOverride("rework_rate", "percentunit"),
		},
		unit: "none",
		targets: queries(sqlf(quarterWith,
			"SELECT team_name AS team, period, deployments, deployments / "+quarterDays+" AS deployments_per_day,",
			"    lead_time_p50, change_failure_rate, recovery_p50, rework_rate",
			"FROM (",
			"    "+quarterWith,
			"    SELECT "+teamExpr+" AS team_name, "+periodOf("finished_at")+" AS period, count() AS deployments,",
			"        sum(failed) / count() AS change_failure_rate,",
			"        "+percentile(0.5, "recovery_seconds", "failed = 1 AND recovery_seconds >= 0")+" AS recovery_p50,",
			"        sum(unplanned) / count() AS rework_rate",
			"    FROM deployment_facts FINAL",
			"    WHERE "+countedDeployments+" AND finished_at >= last_q AND "+teamFilter,
			"    GROUP BY team_name, period",
			") ANY LEFT JOIN (",
			"    "+quarterWith,
			"    SELECT "+teamExpr+" AS team_name, "+periodOf("shipped_at")+" AS period,",
			"        "+percentile(0.5, "lead_time_seconds", "")+" AS lead_time_p50",
			"    FROM change_facts FINAL",
			"    WHERE state = 'shipped' AND lead_time_seconds >= 0 AND shipped_at >= last_q AND "+teamFilter,
			"    GROUP BY team_name, period",
			") USING (team_name, period)",
			"ORDER BY team, period DESC"))})

	trend := func(title, unit, description, sql string) panel {
		return panel{kind: kindBarChart, title: title, unit: unit, w: 6, h: 8, description: description, min: cog.ToPtr(0.0), targets: queries(sql)}
	}
	deployTrend := func(figure string) string {
		return sqlf(trendWith,
			"SELECT "+quarterLabel+" AS quarter, "+figure,
			"FROM deployment_facts FINAL",
			"ARRAY JOIN [toDateTime(toStartOfQuarter(assumeNotNull(finished_at), 'UTC'), 'UTC')] AS q",
			"WHERE "+countedDeployments+" AND finished_at >= first_q AND "+teamFilter,
			"GROUP BY quarter",
			"ORDER BY quarter")
	}
	add(d, g,
		trend("Deployment frequency by quarter", unitPerDay,
			"Counted production deployments per day of each of the last four quarters (the current one up to today).",
			deployTrend("count() / ((least(toUInt32(now()), toUInt32(addMonths(any(q), 3))) - toUInt32(any(q))) / 86400) AS deployments_per_day")),
		trend("Lead time median by quarter", "s",
			"Median change lead time of the changes shipped in each of the last four quarters.",
			sqlf(trendWith,
				"SELECT "+quarterLabel+" AS quarter, "+percentile(0.5, "lead_time_seconds", "")+" AS lead_time_p50",
				"FROM change_facts FINAL",
				"ARRAY JOIN [toDateTime(toStartOfQuarter(assumeNotNull(shipped_at), 'UTC'), 'UTC')] AS q",
				"WHERE state = 'shipped' AND lead_time_seconds >= 0 AND shipped_at >= first_q AND "+teamFilter,
				"GROUP BY quarter",
				"ORDER BY quarter")),
		trend("Change failure and rework rate by quarter", "percentunit",
			"Change failure rate and rework rate of the counted production deployments of each of the last four quarters.",
			deployTrend("sum(failed) / count() AS change_failure_rate, sum(unplanned) / count() AS rework_rate")),
		trend("Recovery median by quarter", "s",
			"Median failed deployment recovery time of the failures finished in each of the last four quarters.",
			deployTrend(percentile(0.5, "recovery_seconds", "failed = 1 AND recovery_seconds >= 0")+" AS recovery_p50")),
	)
	d.WithRow(dashboard.NewRowBuilder("Flow and toil").GridPos(g.newRow()))
	add(d, g,
		panel{kind: kindTable, title: "Flow efficiency by team: this quarter and last", unit: "percentunit", w: 12, h: 9, decimals: cog.ToPtr(1.0),
			description: "Each team's flow efficiency (Σ active / Σ flow time of the items finished in the quarter) and median item efficiency, this quarter (up to today) and last quarter, with the items finished.",
			overrides:   []override{unitOverride("finished", "none")},
			targets: queries(sqlf(quarterWith,
				"SELECT "+teamExpr+" AS team_name, "+periodOf("done_at")+" AS period, count() AS finished, "+efficiencyFigures,
				"FROM flow_item_facts FINAL",
				"WHERE done_at IS NOT NULL AND flow_seconds >= 0 AND done_at >= last_q AND "+teamFilter,
				"GROUP BY team_name, period",
				"ORDER BY team_name, period DESC"))},
		panel{kind: kindTable, title: "Toil by team: this quarter and last", unit: "s", w: 12, h: 9, decimals: cog.ToPtr(1.0),
			description: "Each team's toil time and entries this quarter (up to today) and last quarter, and its toil time per week of the quarter elapsed. flowmeter does not know a team's working time, so it shows toil hours rather than a share of time.",
			overrides:   []override{unitOverride("entries", "none")},
			targets: queries(sqlf(quarterWith,
				"SELECT team_name, period, entries, toil_seconds, toil_seconds / ("+quarterDays+" / 7) AS toil_seconds_per_week",
				"FROM (",
				"    "+quarterWith,
				"    SELECT "+teamExpr+" AS team_name, "+periodOf("started_at")+" AS period, count() AS entries, sum(seconds) AS toil_seconds",
				"    FROM toil_facts FINAL",
				"    WHERE retired = 0 AND started_at >= last_q AND "+teamFilter,
				"    GROUP BY team_name, period",
				")",
				"ORDER BY team_name, period DESC"))},
	)
	return d
}
