package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// The facts of the chosen teams and services in the time picker's range.
const (
	deploymentsInRange = "FROM deployment_facts FINAL\nWHERE " + countedDeployments +
		" AND $__timeFilter(finished_at) AND " + teamFilter + " AND " + deployServiceFilter
	shippedInRange = "FROM change_facts FINAL\nWHERE state = 'shipped' AND lead_time_seconds >= 0 AND shipped_at IS NOT NULL" +
		" AND $__timeFilter(shipped_at) AND " + teamFilter + " AND " + changeServiceFilter
	undeployedInRange = "FROM change_facts FINAL\nWHERE state = 'undeployed' AND $__timeFilter(merged_at) AND " +
		teamFilter + " AND " + changeServiceFilter
)

// overTime groups the rows of from by the $bucket of column, time first.
func overTime(column, figures, from string) string {
	return sqlf("SELECT "+bucketExpr(column)+" AS time, "+figures, from, "GROUP BY time", "ORDER BY time")
}

func teamDelivery() *dashboard.DashboardBuilder {
	d := newDashboard("flowmeter-team-delivery", "Team delivery",
		"How the chosen teams and services deliver: deployments, lead time and its parts, failures, recovery, rework and undeployed changes over the time picker's range.",
		"now-90d").
		WithVariable(teamVariable()).
		WithVariable(serviceVariable()).
		WithVariable(bucketVariable())
	g := &grid{}
	recovered := "failed = 1 AND recovery_seconds >= 0"
	add(d, g,
		panel{kind: kindStat, title: "Deployment frequency", unit: unitPerDay, w: 4, h: 4, thresholds: frequencyTiers, decimals: cog.ToPtr(2.0),
			description: "Counted production deployments per day of the range, up to now; colours read the rate as daily, weekly or monthly deployment.",
			targets:     queries(sqlf("SELECT count() / ((least(toUInt32(now()), toUInt32($__toTime)) - toUInt32($__fromTime)) / 86400) AS deployments_per_day", deploymentsInRange))},
		panel{kind: kindStat, title: "Lead time (median)", unit: "s", w: 4, h: 4, thresholds: leadTimeTiers,
			description: "Median change lead time of the changes shipped in the range; DORA tier colours.",
			targets:     queries(sqlf("SELECT "+percentile(0.5, "lead_time_seconds", "")+" AS lead_time_p50", shippedInRange))},
		panel{kind: kindStat, title: "Change failure rate", unit: "percentunit", w: 4, h: 4, thresholds: cfrTiers, decimals: cog.ToPtr(1.0),
			description: "Failed counted production deployments over counted production deployments finished in the range; DORA tier colours.",
			targets:     queries(sqlf("SELECT if(count() = 0, NULL, sum(failed) / count()) AS change_failure_rate", deploymentsInRange))},
		panel{kind: kindStat, title: "Recovery (median)", unit: "s", w: 4, h: 4, thresholds: recoveryTiers,
			description: "Median failed deployment recovery time of the recovered failures finished in the range; DORA tier colours.",
			targets:     queries(sqlf("SELECT "+percentile(0.5, "recovery_seconds", recovered)+" AS recovery_p50", deploymentsInRange))},
		panel{kind: kindStat, title: "Rework rate", unit: "percentunit", w: 4, h: 4, decimals: cog.ToPtr(1.0),
			description: "Unplanned counted production deployments over counted production deployments finished in the range.",
			targets:     queries(sqlf("SELECT if(count() = 0, NULL, sum(unplanned) / count()) AS rework_rate", deploymentsInRange))},
		panel{kind: kindStat, title: "Undeployed changes", unit: "none", w: 4, h: 4,
			description: "Pull requests merged in the range that no production deployment has shipped yet, and the median of their age.",
			overrides:   []override{unitOverride("median_age", "s")},
			targets: queries(sqlf("SELECT count() AS undeployed, "+
				percentile(0.5, "greatest(toInt64(least(toUInt32(now()), toUInt32($__toTime))) - toInt64(toUInt32(merged_at)), 0)", "")+" AS median_age",
				undeployedInRange))},
	)
	add(d, g,
		panel{kind: kindTimeSeries, title: "Deployments", unit: "none", w: 12, h: 8, bars: true, stacked: true, min: cog.ToPtr(0.0),
			description: "Counted production deployments per bucket, failed and not.",
			targets:     series(overTime("finished_at", "countIf(failed = 0) AS without_failure, countIf(failed = 1) AS with_failure", deploymentsInRange))},
		panel{kind: kindTimeSeries, title: "Lead time", unit: "s", w: 12, h: 8, min: cog.ToPtr(0.0),
			description: "Median and 85th percentile of the lead time of the changes shipped in each bucket.",
			targets:     series(overTime("shipped_at", percentile(0.5, "lead_time_seconds", "")+" AS p50, "+percentile(0.85, "lead_time_seconds", "")+" AS p85", shippedInRange))},
		panel{kind: kindTimeSeries, title: "Lead time parts (medians)", unit: "s", w: 12, h: 8, min: cog.ToPtr(0.0),
			description: "Median coding, pickup, review and deploy time of the changes shipped in each bucket; unknown parts are left out.",
			targets: series(overTime("shipped_at",
				percentile(0.5, "coding_seconds", "coding_seconds >= 0")+" AS coding, "+
					percentile(0.5, "pickup_seconds", "pickup_seconds >= 0")+" AS pickup, "+
					percentile(0.5, "review_seconds", "review_seconds >= 0")+" AS review, "+
					percentile(0.5, "deploy_seconds", "deploy_seconds >= 0")+" AS deploy",
				shippedInRange))},
		panel{kind: kindTimeSeries, title: "Change failure rate", unit: "percentunit", w: 12, h: 8, min: cog.ToPtr(0.0), thresholds: cfrTiers,
			description: "Change failure rate per bucket, and the inferred part: failures whose only reason is an incident in the failure window.",
			targets: series(overTime("finished_at",
				"sum(failed) / count() AS change_failure_rate, countIf("+inferredFailure+") / count() AS inferred_only",
				deploymentsInRange))},
		panel{kind: kindTimeSeries, title: "Failed deployment recovery", unit: "s", w: 12, h: 8, min: cog.ToPtr(0.0),
			description: "Median and 85th percentile of the recovery time of the failed deployments finished in each bucket.",
			targets: series(overTime("finished_at",
				percentile(0.5, "recovery_seconds", recovered)+" AS p50, "+percentile(0.85, "recovery_seconds", recovered)+" AS p85",
				deploymentsInRange))},
		panel{kind: kindTimeSeries, title: "Rework rate", unit: "percentunit", w: 12, h: 8, min: cog.ToPtr(0.0),
			description: "Unplanned counted production deployments over counted production deployments per bucket.",
			targets:     series(overTime("finished_at", "sum(unplanned) / count() AS rework_rate", deploymentsInRange))},
		panel{kind: kindTimeSeries, title: "Undeployed changes", unit: "none", w: 12, h: 8, bars: true, min: cog.ToPtr(0.0),
			description: "Pull requests merged in each bucket that no production deployment has shipped yet.",
			targets:     series(overTime("merged_at", "count() AS undeployed", undeployedInRange))},
		panel{kind: kindTable, title: "Slowest changes", unit: "s", w: 12, h: 8,
			description: "The 20 changes shipped in the range with the longest lead time, each linking to its pull request.",
			overrides: []override{
				{field: "change", props: []dashboard.DynamicConfigValue{{Id: "links", Value: []map[string]any{
					{"title": "Open the pull request", "url": "${__data.fields.url}", "targetBlank": true}}}}},
				{field: "url", props: []dashboard.DynamicConfigValue{{Id: "custom.hidden", Value: true}}},
				unitOverride("shipped_at", "dateTimeAsIso"),
			},
			targets: queries(sqlf("SELECT id AS change, "+changeServiceExpr+" AS service_name, shipped_at, lead_time_seconds,",
				"    coding_seconds, pickup_seconds, review_seconds, deploy_seconds,",
				"    if(repo != '' AND position(id, '#') > 0, concat('https://github.com/', repo, '/pull/', splitByChar('#', id)[-1]), '') AS url",
				shippedInRange,
				"ORDER BY lead_time_seconds DESC",
				"LIMIT 20"))},
	)
	return d
}
