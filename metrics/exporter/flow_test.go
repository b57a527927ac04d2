package exporter

import (
	"bytes"
	"cmp"
	"context"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/schema"
)

var flowNow = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

// fakeFlow returns a hand-built flow report for each window, checking it is asked
// for one of the published windows ending at the refresh. alpha's efficiency is
// undefined over 90d; beta has nothing finished; risk and debt no flow time. The
// load differs by window so a test sees which report it came from (the real
// reports all count it at now).
func fakeFlow(t *testing.T, items int) func([]schema.FlowItemFact, []string, time.Time, time.Time, time.Time) flow.Report {
	return func(facts []schema.FlowItemFact, teams []string, from, to, now time.Time) flow.Report {
		days := int(to.Sub(from).Hours() / 24)
		if !to.Equal(flowNow) || !now.Equal(flowNow) || (days != 7 && days != 30 && days != 90) || len(facts) != items {
			t.Errorf("flow asked for [%v, %v) at %v with %d facts", from, to, now, len(facts))
		}
		some, none := aggregate.Some, aggregate.None()
		eff, velocity := some(0.4), []float64{3, 2, 1, 0, 0}
		if days == 30 {
			eff, velocity = some(0.5), []float64{1.5, 1, 0.5, 0, 0}
		}
		if days == 90 {
			eff, velocity = none, []float64{0.5, 0.25, 0.25, 0, 0}
		}
		load := []int{5, 3, 1, 1, 0}
		if days != 7 {
			load = []int{99, 99, 99, 99, 99}
		}
		noTime := aggregate.Quantiles{P50: none, P85: none, P95: none}
		alpha := flow.Team{
			Name: "alpha", Calendar: "alpha", Finished: 3, Efficiency: eff,
			All: flow.TypeFigures{FlowType: "all", Finished: 3, FlowTime: aggregate.Quantiles{P50: some(3600), P85: some(7200), P95: some(9000), Count: 3, Sum: 15000},
				VelocityPerWeek: some(velocity[0]), Load: load[0]},
			ByType: []flow.TypeFigures{
				{FlowType: "feature", Finished: 2, FlowTime: aggregate.Quantiles{P50: some(6600), P85: some(7200), P95: some(7200), Count: 2, Sum: 13200},
					VelocityPerWeek: some(velocity[1]), Load: load[1]},
				{FlowType: "defect", Finished: 1, FlowTime: aggregate.Quantiles{P50: some(1800), P85: some(1800), P95: some(1800), Count: 1, Sum: 1800},
					VelocityPerWeek: some(velocity[2]), Load: load[2]},
				{FlowType: "risk", FlowTime: noTime, VelocityPerWeek: some(velocity[3]), Load: load[3]},
				{FlowType: "debt", FlowTime: noTime, VelocityPerWeek: some(velocity[4]), Load: load[4]},
			},
		}
		beta := flow.Team{Name: "beta", Efficiency: none, All: flow.TypeFigures{FlowType: "all", FlowTime: noTime, VelocityPerWeek: some(0)}}
		for _, ft := range schema.FlowTypes {
			beta.ByType = append(beta.ByType, flow.TypeFigures{FlowType: ft, FlowTime: noTime, VelocityPerWeek: some(0)})
		}
		return flow.Report{From: from, To: to, AsOf: now, Teams: []flow.Team{alpha, beta}}
	}
}

// fakeToil sums the toil facts it is given by team and category, the entries and
// seconds of those started in the window: enough to see which categories the
// exporter publishes by name and which it sums under "other".
func fakeToil(facts []schema.ToilFact, teams []string, from, to, now time.Time) toil.Report {
	r := toil.Report{From: from, To: to, AsOf: now}
	index := map[string]int{}
	team := func(name string) *toil.Team {
		if !slices.Contains(teams, name) {
			name = aggregate.NoTeam
		}
		i, ok := index[name]
		if !ok {
			i = len(r.Teams)
			index[name] = i
			r.Teams = append(r.Teams, toil.Team{Name: name})
		}
		return &r.Teams[i]
	}
	for _, name := range teams {
		team(name)
	}
	for _, f := range facts {
		if f.StartedAt.Before(from) || !f.StartedAt.Before(to) {
			continue
		}
		t := team(f.Team)
		t.Entries++
		t.Seconds += f.Seconds
		i := slices.IndexFunc(t.Categories, func(c toil.Category) bool { return c.Category == f.Category })
		if i < 0 {
			i = len(t.Categories)
			t.Categories = append(t.Categories, toil.Category{Category: f.Category})
		}
		t.Categories[i].Entries++
		t.Categories[i].Seconds += f.Seconds
	}
	for i := range r.Teams {
		slices.SortStableFunc(r.Teams[i].Categories, func(x, y toil.Category) int { return cmp.Compare(y.Seconds, x.Seconds) })
	}
	return r
}

func daysAgo(d float64) time.Time { return flowNow.Add(-time.Duration(d * 24 * float64(time.Hour))) }

// flowToilFacts: alpha's toil in three configured categories (one unclassified),
// one left over from earlier rules, one really called "other"; a team not in the
// config; and two flow items, which only the fake flow aggregation counts.
func flowToilFacts() facts {
	entry := func(team, category string, ago float64, seconds int64) schema.ToilFact {
		return schema.ToilFact{Source: "pd", ID: category + team, Team: team, Category: category, StartedAt: daysAgo(ago), Seconds: seconds}
	}
	return facts{
		flowItems: []schema.FlowItemFact{{Source: "jira", ID: "A-1", Team: "alpha"}, {Source: "jira", ID: "A-2", Team: "alpha"}},
		toil: []schema.ToilFact{
			entry("alpha", "production_interrupts", 1, 600),
			entry("alpha", "production_interrupts", 3, 1200),
			entry("alpha", "", 5, 300), // unclassified
			entry("alpha", "migrations", 20, 3600),
			entry("alpha", "legacy_cleanup", 40, 60), // from rules since removed
			entry("alpha", "other", 2, 120),
			entry("gamma", "production_interrupts", 1, 100), // not a team of the config
			entry("alpha", "migrations", 100, 999),          // before every window
		},
	}
}

func flowToilExporter(t *testing.T, l Limits) *Exporter {
	t.Helper()
	e := New()
	e.SetLimits(l)
	f := flowToilFacts()
	e.agg = aggregators{flow: fakeFlow(t, len(f.flowItems)), toil: fakeToil}
	if err := e.Refresh(context.Background(), &factStore{f: f}, []string{"alpha", "beta"}, "", flowNow); err != nil {
		t.Fatal(err)
	}
	return e
}

// flowToilSamples are the samples of the flow and toil families only.
func flowToilSamples(t *testing.T, e *Exporter) map[string]float64 {
	got := gatherSamples(t, e)
	for k := range got {
		if !strings.HasPrefix(k, "flowmeter_flow_") && !strings.HasPrefix(k, "flowmeter_toil_") {
			delete(got, k)
		}
	}
	return got
}

func diffSamples(t *testing.T, got, want map[string]float64) {
	t.Helper()
	var lines []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			lines = append(lines, "missing "+k)
		} else if g != w {
			lines = append(lines, k+": got "+fmtFloat(g)+", want "+fmtFloat(w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, "unexpected "+k+" = "+fmtFloat(got[k]))
		}
	}
	sort.Strings(lines)
	if len(lines) > 0 {
		t.Errorf("%d differences:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// TestFlowToilFamilies: exactly the series the hand-built reports give, and no
// series for an undefined figure.
func TestFlowToilFamilies(t *testing.T) {
	e := flowToilExporter(t, Limits{TopToilCategories: DefaultTopToilCategories, ToilCategories: []string{"production_interrupts", "migrations"}})
	want := map[string]float64{
		// Work-weighted efficiency: alpha's 90d and beta's are undefined.
		key("flowmeter_flow_efficiency_ratio", "team=alpha,window=7d", ""):  0.4,
		key("flowmeter_flow_efficiency_ratio", "team=alpha,window=30d", ""): 0.5,
		// The load of the refresh, from one report (the 7d one), all and every type.
		key("flowmeter_flow_load_items", "flow_type=all,team=alpha", ""):     5,
		key("flowmeter_flow_load_items", "flow_type=feature,team=alpha", ""): 3,
		key("flowmeter_flow_load_items", "flow_type=defect,team=alpha", ""):  1,
		key("flowmeter_flow_load_items", "flow_type=risk,team=alpha", ""):    1,
		key("flowmeter_flow_load_items", "flow_type=debt,team=alpha", ""):    0,
		key("flowmeter_flow_load_items", "flow_type=all,team=beta", ""):      0,
		key("flowmeter_flow_load_items", "flow_type=feature,team=beta", ""):  0,
		key("flowmeter_flow_load_items", "flow_type=defect,team=beta", ""):   0,
		key("flowmeter_flow_load_items", "flow_type=risk,team=beta", ""):     0,
		key("flowmeter_flow_load_items", "flow_type=debt,team=beta", ""):     0,
	}
	velocities := map[string][]float64{"7d": {3, 2, 1, 0, 0}, "30d": {1.5, 1, 0.5, 0, 0}, "90d": {0.5, 0.25, 0.25, 0, 0}}
	for _, w := range []string{"7d", "30d", "90d"} {
		for i, ft := range []string{"all", "feature", "defect", "risk", "debt"} {
			want[key("flowmeter_flow_velocity_items_per_week", "flow_type="+ft+",team=alpha,window="+w, "")] = velocities[w][i]
			want[key("flowmeter_flow_velocity_items_per_week", "flow_type="+ft+",team=beta,window="+w, "")] = 0
		}
		// Flow time of all and of the types with finished items; none for risk, debt
		// or beta.
		for field, v := range map[string]float64{"0.5": 3600, "0.85": 7200, "0.95": 9000, "count": 3, "sum": 15000} {
			want[key("flowmeter_flow_time_seconds", "flow_type=all,team=alpha,window="+w, field)] = v
		}
		for field, v := range map[string]float64{"0.5": 6600, "0.85": 7200, "0.95": 7200, "count": 2, "sum": 13200} {
			want[key("flowmeter_flow_time_seconds", "flow_type=feature,team=alpha,window="+w, field)] = v
		}
		for field, v := range map[string]float64{"0.5": 1800, "0.85": 1800, "0.95": 1800, "count": 1, "sum": 1800} {
			want[key("flowmeter_flow_time_seconds", "flow_type=defect,team=alpha,window="+w, field)] = v
		}
	}
	toilWant := []struct {
		category, team string
		windows        []string
		entries        float64
		seconds        float64
	}{
		{"production_interrupts", "alpha", []string{"7d", "30d", "90d"}, 2, 1800},
		{"unclassified", "alpha", []string{"7d", "30d", "90d"}, 1, 300},
		{"(category) other", "alpha", []string{"7d", "30d", "90d"}, 1, 120},
		{"migrations", "alpha", []string{"30d", "90d"}, 1, 3600},
		{"legacy_cleanup", "alpha", []string{"90d"}, 1, 60},
		{"production_interrupts", "(no team)", []string{"7d", "30d", "90d"}, 1, 100},
	}
	for _, c := range toilWant {
		for _, w := range c.windows {
			want[key("flowmeter_toil_entries", "category="+c.category+",team="+c.team+",window="+w, "")] = c.entries
			want[key("flowmeter_toil_seconds", "category="+c.category+",team="+c.team+",window="+w, "")] = c.seconds
		}
	}
	diffSamples(t, flowToilSamples(t, e), want)
}

// TestToilCategoriesBeyondTheBound: with no room for categories the rules do not
// name, the leftover ones (and one really called "other") are summed under "other".
func TestToilCategoriesBeyondTheBound(t *testing.T) {
	e := flowToilExporter(t, Limits{ToilCategories: []string{"production_interrupts", "migrations"}})
	got := flowToilSamples(t, e)
	for k, want := range map[string]float64{
		key("flowmeter_toil_entries", "category=other,team=alpha,window=7d", ""):  1,
		key("flowmeter_toil_seconds", "category=other,team=alpha,window=7d", ""):  120,
		key("flowmeter_toil_entries", "category=other,team=alpha,window=90d", ""): 2,
		key("flowmeter_toil_seconds", "category=other,team=alpha,window=90d", ""): 180,
		// Configured and unclassified ones keep their names.
		key("flowmeter_toil_seconds", "category=migrations,team=alpha,window=90d", ""):   3600,
		key("flowmeter_toil_seconds", "category=unclassified,team=alpha,window=90d", ""): 300,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	for k := range got {
		if strings.Contains(k, "legacy_cleanup") || strings.Contains(k, "(category) other") {
			t.Errorf("%s published by name beyond the bound", k)
		}
	}
}

// TestNoAggregatorsNoFamilies: an Exporter without the flow and toil aggregations
// publishes none of their families.
func TestNoAggregatorsNoFamilies(t *testing.T) {
	e := New()
	e.agg = aggregators{}
	if err := e.Refresh(context.Background(), &factStore{f: flowToilFacts()}, []string{"alpha"}, "", flowNow); err != nil {
		t.Fatal(err)
	}
	if got := flowToilSamples(t, e); len(got) != 0 {
		t.Errorf("published %d flow and toil samples without the aggregations", len(got))
	}
}

// TestUpdateFromMemoryEqualsRefreshFlowToil: Update publishes the flow and toil
// figures of the facts it is handed, as Refresh does of the stored ones.
func TestUpdateFromMemoryEqualsRefreshFlowToil(t *testing.T) {
	f := flowToilFacts()
	fromStore := flowToilExporter(t, DefaultLimits())
	fromMemory := New()
	fromMemory.agg = aggregators{flow: fakeFlow(t, len(f.flowItems)), toil: fakeToil}
	if err := fromMemory.Update(context.Background(), Facts{FlowItems: f.flowItems, Toil: f.toil}, []string{"alpha", "beta"}, "", flowNow); err != nil {
		t.Fatal(err)
	}
	want, got := flowToilSamples(t, fromStore), flowToilSamples(t, fromMemory)
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("Update published %d flow and toil samples, Refresh %d, or they differ", len(got), len(want))
	}
}

// TestFlowToilPromtool: promtool's linter and the client library's accept the
// flow and toil families.
func TestFlowToilPromtool(t *testing.T) {
	e := flowToilExporter(t, DefaultLimits())
	problems, err := testutil.GatherAndLint(NewRegistry(e, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	promtool := findTool(t, "promtool", "/usr/bin/promtool")
	text := exposition(t, NewRegistry(e, nil))
	for _, family := range []string{"flowmeter_flow_efficiency_ratio{", "flowmeter_flow_time_seconds{", "flowmeter_flow_load_items{",
		"flowmeter_flow_velocity_items_per_week{", "flowmeter_toil_seconds{", "flowmeter_toil_entries{"} {
		if !bytes.Contains(text, []byte(family)) {
			t.Errorf("exposition lacks %s", family)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
