package dashboards

import (
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/flowmeter/flowmeter/schema"
)

// rangeEnd is the end of the time picker's range as Unix seconds, capped at now,
// as the reports' AsOf: $__timeFilter keeps times up to $__toTime inclusive, so the
// range's half-open end is one second later.
const rangeEnd = "least(toUInt32(now()), toUInt32($__toTime) + 1)"

// rangeSeconds is the length of the range up to now: the reports' window [from, AsOf).
const rangeSeconds = "(" + rangeEnd + " - toUInt32($__fromTime))"

// The flow facts of the chosen teams.
const (
	// finishedInRange is the items finished in the range (flow.Aggregate's
	// finished items): done in the range, with a flow time.
	finishedInRange = "FROM flow_item_facts FINAL\nWHERE done_at IS NOT NULL AND flow_seconds >= 0 AND $__timeFilter(done_at) AND " + teamFilter
	// openNow is the items in the load now: committed, neither done nor canceled.
	openNow = "FROM flow_item_facts FINAL\nWHERE committed_at IS NOT NULL AND done_at IS NULL AND canceled_at IS NULL AND " + teamFilter
)

// efficiencyFigures are the flow efficiency of a group (Σ active / Σ flow time)
// and the median of its items' efficiencies.
var efficiencyFigures = "if(sum(flow_seconds) = 0, NULL, sum(active_seconds) / sum(flow_seconds)) AS flow_efficiency, " +
	percentile(0.5, "active_seconds / flow_seconds", "flow_seconds > 0") + " AS median_efficiency"

// flowTypeColumns is a column per flow type of figure, which names the type as ft.
func flowTypeColumns(figure func(ft string) string) string {
	var cols []string
	for _, ft := range schema.FlowTypes {
		cols = append(cols, figure(ft)+" AS "+ft)
	}
	return strings.Join(cols, ", ")
}

// flowTypeOrder sorts the flow types as reports show them.
var flowTypeOrder = "indexOf(['" + strings.Join(schema.FlowTypes, "', '") + "'], flow_type)"

// The words of status names that make a status wait, or canceled before that, in
// flow's default name rules (metrics/flow, docs/metrics.md), matched ignoring case.
var (
	waitWords   = []string{"wait", "block", "ready", "queue", "hold", "pending"}
	cancelWords = []string{"won't", "wont", "cancel", "reject", "duplicate", "invalid", "declined", "obsolete"}
)

// containsAnyWord says whether the lower-cased expr contains one of words.
func containsAnyWord(expr string, words []string) string {
	var or []string
	for _, w := range words {
		or = append(or, "position(lowerUTF8("+expr+"), '"+strings.ReplaceAll(w, "'", `\'`)+"') > 0")
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// waitStatus says whether a status is a wait status by the default name rules:
// facts do not carry each status's state, so a project's configured mapping is not
// applied.
func waitStatus(expr string) string {
	return containsAnyWord(expr, waitWords) + " AND NOT " + containsAnyWord(expr, cancelWords)
}

func flowDashboard() *dashboard.DashboardBuilder {
	d := newDashboard("flowmeter-flow", "Flow",
		"How work flows through the chosen teams, from their tickets: efficiency, flow time, load, velocity, distribution, where work waits, the age of open work and delivery (docs/metrics.md, Flow).",
		"now-90d").
		WithVariable(teamVariable("flow_item_facts")).
		WithVariable(bucketVariable())
	g := &grid{}
	add(d, g,
		panel{kind: kindStat, title: "Flow efficiency", unit: "percentunit", w: 4, h: 4, decimals: cog.ToPtr(1.0),
			description: "Σ active time / Σ flow time of the items finished in the range (weighted by work), with the median of the items' efficiencies beside it.",
			targets:     queries(sqlf("SELECT "+efficiencyFigures, finishedInRange))},
		panel{kind: kindStat, title: "Flow time (median)", unit: "s", w: 4, h: 4,
			description: "Median flow time (commitment to done) of the items finished in the range, with the 85th and 95th percentiles.",
			targets: queries(sqlf("SELECT "+percentile(0.5, "flow_seconds", "")+" AS flow_time_p50, "+
				percentile(0.85, "flow_seconds", "")+" AS flow_time_p85, "+percentile(0.95, "flow_seconds", "")+" AS flow_time_p95", finishedInRange))},
		panel{kind: kindStat, title: "Flow velocity", unit: "suffix:/week", w: 4, h: 4, decimals: cog.ToPtr(1.0),
			description: "Items finished in the range per week of the range elapsed, fractions included.",
			targets:     queries(sqlf("SELECT count() / ("+rangeSeconds+" / 604800) AS items_per_week", finishedInRange))},
		panel{kind: kindStat, title: "Flow load (now)", unit: "none", w: 4, h: 4,
			description: "Items in a wait or active state now: committed, neither done nor canceled.",
			targets:     queries(sqlf("SELECT count() AS load", openNow))},
		panel{kind: kindStat, title: "Done, not delivered", unit: "percentunit", w: 4, h: 4, decimals: cog.ToPtr(1.0),
			description: "Share of the items finished in the range that were not delivered by the range's end: a merged pull request of theirs is not in production yet.",
			targets: queries(sqlf("SELECT if(count() = 0, NULL, countIf(delivered_at IS NULL OR toUInt32(assumeNotNull(delivered_at)) > "+rangeEnd+") / count()) AS done_not_delivered_share",
				finishedInRange))},
		panel{kind: kindStat, title: "Time to delivery (median)", unit: "s", w: 4, h: 4,
			description: "Median time from commitment to delivery (the production deployment that shipped the item's pull requests, else its done time) of the items finished and delivered in the range, with their median flow time beside it.",
			targets: queries(sqlf("SELECT "+percentile(0.5, "delivery_seconds", "delivery_seconds >= 0 AND delivered_at IS NOT NULL AND toUInt32(assumeNotNull(delivered_at)) <= "+rangeEnd)+" AS time_to_delivery_p50, "+
				percentile(0.5, "flow_seconds", "")+" AS flow_time_p50", finishedInRange))},
	)
	add(d, g,
		panel{kind: kindTable, title: "By flow type", unit: "none", w: 24, h: 7, decimals: cog.ToPtr(2.0),
			description: "For each flow type, the items finished in the range: their count, share (distribution), flow time percentiles, flow efficiency and velocity per week.",
			overrides: []override{
				unitOverride("distribution", "percentunit"),
				unitOverride("flow_time_p50", "s"), unitOverride("flow_time_p85", "s"), unitOverride("flow_time_p95", "s"),
				unitOverride("flow_efficiency", "percentunit"),
				unitOverride("items_per_week", "suffix:/week"),
			},
			targets: queries(sqlf("SELECT flow_type, count() AS finished,",
				"    count() / (SELECT count() "+strings.ReplaceAll(finishedInRange, "\n", " ")+") AS distribution,",
				"    "+percentile(0.5, "flow_seconds", "")+" AS flow_time_p50,",
				"    "+percentile(0.85, "flow_seconds", "")+" AS flow_time_p85,",
				"    "+percentile(0.95, "flow_seconds", "")+" AS flow_time_p95,",
				"    if(sum(flow_seconds) = 0, NULL, sum(active_seconds) / sum(flow_seconds)) AS flow_efficiency,",
				"    count() / ("+rangeSeconds+" / 604800) AS items_per_week",
				finishedInRange,
				"GROUP BY flow_type",
				"ORDER BY "+flowTypeOrder+", flow_type"))},
	)
	add(d, g,
		panel{kind: kindTimeSeries, title: "Flow time", unit: "s", w: 12, h: 8, min: cog.ToPtr(0.0),
			description: "Median, 85th and 95th percentile of the flow time of the items finished in each bucket.",
			targets: series(overTime("done_at", percentile(0.5, "flow_seconds", "")+" AS p50, "+
				percentile(0.85, "flow_seconds", "")+" AS p85, "+percentile(0.95, "flow_seconds", "")+" AS p95", finishedInRange))},
		panel{kind: kindTimeSeries, title: "Flow time by flow type (p85)", unit: "s", w: 12, h: 8, min: cog.ToPtr(0.0),
			description: "85th percentile of the flow time of the items of each flow type finished in each bucket.",
			targets: series(overTime("done_at", flowTypeColumns(func(ft string) string {
				return percentile(0.85, "flow_seconds", "flow_type = '"+ft+"'")
			}), finishedInRange))},
		panel{kind: kindTimeSeries, title: "Flow efficiency over time", unit: "percentunit", w: 12, h: 8, min: cog.ToPtr(0.0), max: cog.ToPtr(1.0),
			description: "Flow efficiency (Σ active / Σ flow time) and the median item efficiency of the items finished in each bucket.",
			targets:     series(overTime("done_at", efficiencyFigures, finishedInRange))},
		panel{kind: kindTimeSeries, title: "Flow load (daily)", unit: "none", w: 12, h: 8, min: cog.ToPtr(0.0), stacked: true,
			description: "Items in a wait or active state at 00:00 UTC of each day of the range, by flow type: committed at or before the sample, done and canceled after it. Days without load are left out.",
			targets: series(sqlf("SELECT toDateTime(first_sample + i * 86400, 'UTC') AS time, "+flowTypeColumns(func(ft string) string { return "countIf(flow_type = '" + ft + "')" }),
				"FROM (",
				"    SELECT flow_type, greatest(intDiv(toUInt32($__fromTime) + 86399, 86400), intDiv(toUInt32(assumeNotNull(committed_at)) + 86399, 86400)) * 86400 AS first_sample,",
				"        intDiv(least("+rangeEnd+", least(ifNull(toUInt32(done_at), 4294967295), ifNull(toUInt32(canceled_at), 4294967295)) - 1), 86400) * 86400 AS last_sample,",
				"        if(last_sample >= first_sample, intDiv(last_sample - first_sample, 86400) + 1, 0) AS samples",
				"    FROM flow_item_facts FINAL",
				"    WHERE committed_at IS NOT NULL AND "+teamFilter,
				")",
				"ARRAY JOIN range(toUInt64(samples)) AS i",
				"GROUP BY time",
				"ORDER BY time"))},
		panel{kind: kindTimeSeries, title: "Flow velocity per week", unit: "none", w: 12, h: 8, bars: true, stacked: true, min: cog.ToPtr(0.0),
			description: "Items finished in each week (Monday to Sunday, UTC) by flow type; the weeks at the range's edges are partial.",
			targets: series(sqlf("SELECT toDateTime(toMonday(assumeNotNull(done_at), 'UTC'), 'UTC') AS time, "+
				flowTypeColumns(func(ft string) string { return "countIf(flow_type = '" + ft + "')" }),
				finishedInRange, "GROUP BY time", "ORDER BY time"))},
		panel{kind: kindTimeSeries, title: "Flow distribution", unit: "percentunit", w: 12, h: 8, bars: true, stacked: true, min: cog.ToPtr(0.0), max: cog.ToPtr(1.0),
			description: "Share of each flow type among the items finished in each bucket.",
			targets: series(overTime("done_at", flowTypeColumns(func(ft string) string {
				return "countIf(flow_type = '" + ft + "') / count()"
			}), finishedInRange))},
	)
	waitSQL := sqlf("SELECT any(status_name) AS status, sum(secs) AS wait_seconds, count() AS items,",
		"    sum(secs) / count() AS mean_seconds_per_item",
		"FROM (",
		"    SELECT arrayJoin(time_per_status) AS entry, splitByChar('=', entry)[-1] AS tail,",
		"        substring(entry, 1, length(entry) - length(tail) - 1) AS status_name, toInt64OrZero(tail) AS secs",
		"    "+strings.ReplaceAll(finishedInRange, "\n", "\n    "),
		")",
		"WHERE position(entry, '=') > 0 AND "+waitStatus("status_name"),
		"GROUP BY lowerUTF8(status_name)",
		"HAVING wait_seconds > 0",
		"ORDER BY wait_seconds DESC, items DESC, status",
		"LIMIT 20")
	add(d, g,
		panel{kind: kindTable, title: "Where work waits", unit: "s", w: 12, h: 8,
			description: "Wait statuses by the total time the items finished in the range spent in them. A status counts as waiting by the default name rules only (its name contains wait, block, ready, queue, hold or pending, and no canceling word): facts do not carry each status's state, so a project's configured mapping is not applied here.",
			overrides:   []override{unitOverride("items", "none")},
			targets:     queries(waitSQL)},
		panel{kind: kindStat, title: "Work item age", unit: "s", w: 12, h: 8,
			description: "Median, 85th and 95th percentile of the age (now − commitment point) of the open items, in wall-clock time (reports count it in a team's working hours when it has a calendar). Ignores the time picker.",
			targets: queries(sqlf("SELECT "+percentile(0.5, "age", "")+" AS age_p50, "+percentile(0.85, "age", "")+" AS age_p85, "+percentile(0.95, "age", "")+" AS age_p95",
				"FROM (",
				"    SELECT toInt64(toUInt32(now())) - toInt64(toUInt32(assumeNotNull(committed_at))) AS age",
				"    "+strings.ReplaceAll(openNow, "\n", "\n    "),
				")"))},
	)
	add(d, g,
		panel{kind: kindTable, title: "Oldest open items", unit: "s", w: 16, h: 8,
			description: "The 20 open items (committed, neither done nor canceled) committed longest ago, with their age in wall-clock time. Ignores the time picker.",
			overrides:   []override{unitOverride("committed_at", "dateTimeAsIso")},
			targets: queries(sqlf("SELECT id, "+teamExpr+" AS team_name, flow_type, status, state, title, committed_at,",
				"    toInt64(toUInt32(now())) - toInt64(toUInt32(assumeNotNull(committed_at))) AS age_seconds",
				openNow,
				"ORDER BY committed_at, id",
				"LIMIT 20"))},
		panel{kind: kindTable, title: "Durations counted in", unit: "none", w: 8, h: 8,
			description: "Which teams count flow durations in working hours (a team calendar) and which in wall-clock time: flow, active, wait and delivery times of the former are working hours.",
			targets: queries(sqlf("SELECT "+teamExpr+" AS team_name,",
				"    if(countIf(calendar != '') = 0, 'wall-clock time', concat('working hours (', arrayStringConcat(groupUniqArrayIf(calendar, calendar != ''), ', '), ')')) AS counted_in,",
				"    count() AS items",
				"FROM flow_item_facts FINAL",
				"WHERE "+teamFilter,
				"GROUP BY team_name",
				"ORDER BY team_name"))},
	)
	return d
}
