package exporter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/schema"
)

// AllFlowTypes is the flow_type label value of a team's figures over every flow type.
const AllFlowTypes = "all"

// aggregators compute the flow and toil reports a refresh publishes; the Exporter
// uses metrics/flow's and metrics/toil's Aggregate (defaultAggregators); tests use
// hand-built reports. A nil function publishes no family of its kind.
type aggregators struct {
	flow func(facts []schema.FlowItemFact, teams []string, from, to, now time.Time) flow.Report
	toil func(facts []schema.ToilFact, teams []string, from, to, now time.Time) toil.Report
}

// defaultAggregators are the aggregators of every Exporter New makes: the ones the
// reports use, so /metrics and a report never disagree. The exporter publishes
// neither waits nor ages, the two figures that need the flow rules, so it passes none.
func defaultAggregators() aggregators {
	return aggregators{
		flow: func(facts []schema.FlowItemFact, teams []string, from, to, now time.Time) flow.Report {
			return flow.Aggregate(facts, teams, from, to, now, nil)
		},
		toil: toil.Aggregate,
	}
}

const flowTypeHelp = ` flow_type is feature, defect, risk or debt (the flow type the project's issue-type mapping gives each item), or "all" for every flow type together (computed from the items, not from the flow types' series).`

const calendarHelp = ` Durations are wall-clock seconds, or the working seconds of the team's calendar when the team has one.`

var (
	flowEfficiencyDesc = prometheus.NewDesc(
		"flowmeter_flow_efficiency_ratio",
		`Flow efficiency (work-weighted): the sum of the active time of the items finished in the window (last entry into done in the window) / the sum of their flow time. `+
			`Flow time = last entry into done - commitment point (the first entry into a wait or active state); active time + wait time = flow time. Not published without finished items.`+calendarHelp+windowHelp,
		[]string{"team", "window"}, nil)
	flowTimeDesc = prometheus.NewDesc(
		"flowmeter_flow_time_seconds",
		`Flow time of the items finished in the window: last entry into done - commitment point (the first entry into a wait or active state). `+
			`Quantiles 0.5, 0.85 and 0.95 with linear interpolation; _count and _sum are over the same items (not a counter over time). Not published without finished items.`+calendarHelp+flowTypeHelp+windowHelp,
		[]string{"flow_type", "team", "window"}, nil)
	flowLoadDesc = prometheus.NewDesc(
		"flowmeter_flow_load_items",
		`Flow load: the team's items in a wait or active state at the last refresh.`+flowTypeHelp,
		[]string{"flow_type", "team"}, nil)
	flowVelocityDesc = prometheus.NewDesc(
		"flowmeter_flow_velocity_items_per_week",
		`Flow velocity: items entering done for the last time in the window, divided by the window's length in weeks.`+flowTypeHelp+windowHelp,
		[]string{"flow_type", "team", "window"}, nil)
	toilSecondsDesc = prometheus.NewDesc(
		"flowmeter_toil_seconds",
		`Total time of the toil entries of the category that started in the window, in seconds, measured as each entry's basis says (acknowledged or opened to resolved for incidents and pages, worklogs or active time for tickets, the run for manual deployments, rollbacks and re-runs), wall-clock except the active time of tickets of teams with a calendar, which counts working hours. `+
			`category is the category of the first toil rule an entry matches, "unclassified" when none does, or "other" for the team's categories not published by name, summed. Published for the categories with entries in the window; sum by (team) for a team's toil.`+windowHelp,
		[]string{"category", "team", "window"}, nil)
	toilEntriesDesc = prometheus.NewDesc(
		"flowmeter_toil_entries",
		`Toil entries of the category that started in the window: each incident, page that was no incident, toil ticket, manual deployment or rollback, and re-run of a failed deployment workflow is one entry. `+
			`category is as for flowmeter_toil_seconds.`+windowHelp,
		[]string{"category", "team", "window"}, nil)
)

// flowToilDescs are the descriptors of the flow and toil families.
var flowToilDescs = []*prometheus.Desc{
	flowEfficiencyDesc, flowTimeDesc, flowLoadDesc, flowVelocityDesc, toilSecondsDesc, toilEntriesDesc,
}

// flowFigures adds the flow families of one window's report; the load, which is
// counted at the refresh whatever the window, only with load set.
func (b *builder) flowFigures(r flow.Report, win string, load bool) {
	for _, t := range r.Teams {
		team := clean(t.Name)
		if v, ok := t.Efficiency.Get(); ok {
			b.gauge(flowEfficiencyDesc, v, team, win)
		}
		all := t.All
		all.FlowType = AllFlowTypes
		for _, f := range append([]flow.TypeFigures{all}, t.ByType...) {
			ft := clean(f.FlowType)
			ftq := f.FlowTime
			b.summary(flowTimeDesc, ftq, []quantile{{0.5, ftq.P50}, {0.85, ftq.P85}, {0.95, ftq.P95}}, ft, team, win)
			if v, ok := f.VelocityPerWeek.Get(); ok {
				b.gauge(flowVelocityDesc, v, ft, team, win)
			}
			if load {
				b.gauge(flowLoadDesc, float64(f.Load), ft, team)
			}
		}
	}
}

// toilFigures adds the toil families of one window's report.
func (b *builder) toilFigures(r toil.Report, win string) {
	for _, t := range r.Teams {
		team := clean(t.Name)
		for _, c := range t.Categories {
			category := clean(c.Category)
			b.gauge(toilSecondsDesc, float64(c.Seconds), category, team, win)
			b.gauge(toilEntriesDesc, float64(c.Entries), category, team, win)
		}
	}
}

// toilLabelled returns the toil facts with each category replaced by its label
// (Other for those not published by name), so the aggregation computes Other's
// figures from all its categories' facts together.
func toilLabelled(facts []schema.ToilFact, l *labels) []schema.ToilFact {
	out := make([]schema.ToilFact, len(facts))
	for i, f := range facts {
		f.Category = l.toilCategory(l.team(f.Team), orNone(f.Category, schema.ToilUnclassified))
		out[i] = f
	}
	return out
}

// buildFlowToil adds the flow and toil families of every window.
func buildFlowToil(b *builder, f facts, teams []string, l *labels, now time.Time, agg aggregators) {
	var labelled []schema.ToilFact
	if agg.toil != nil {
		labelled = toilLabelled(f.toil, l)
	}
	for i, w := range windows {
		from := now.AddDate(0, 0, -w.days)
		if agg.flow != nil {
			b.flowFigures(agg.flow(f.flowItems, teams, from, now, now), w.label, i == 0)
		}
		if agg.toil != nil {
			b.toilFigures(agg.toil(labelled, teams, from, now, now), w.label)
		}
	}
}
