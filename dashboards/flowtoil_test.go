package dashboards

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// TestFlowAndToilAgreeWithReports checks the Flow and Toil dashboards against
// flow.Aggregate and toil.Aggregate for one team over the last whole quarter: the
// reports' window is [from, to), $__timeFilter's is [from, to − 1s] in whole
// seconds, both in UTC.
func TestFlowAndToilAgreeWithReports(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour)
	conn, cfg, st := demoStore(t, now)
	ctx := context.Background()
	team := cfg.Teams[0].Name
	y, m, _ := now.Date()
	to := time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, time.UTC)
	from := to.AddDate(0, -3, 0)
	e := expansion{vars: map[string]string{"team": team, "bucket": "toMonday"}, from: from, to: to.Add(-time.Second)}

	var flowFacts []flowFact
	for f, err := range st.FlowItemFacts(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		flowFacts = append(flowFacts, f)
	}
	var toilFacts []toilFact
	for f, err := range st.ToilFacts(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		toilFacts = append(toilFacts, f)
	}
	if len(flowFacts) == 0 || len(toilFacts) == 0 {
		t.Fatalf("the demo organisation has %d flow item and %d toil facts", len(flowFacts), len(toilFacts))
	}

	var ft *flow.Team
	frep := flow.Aggregate(flowFacts, cfg.TeamNames(), from, to, now, nil)
	for i := range frep.Teams {
		if frep.Teams[i].Name == team {
			ft = &frep.Teams[i]
		}
	}
	if ft == nil || ft.Finished == 0 {
		t.Fatalf("the flow report has no finished items for %s: %+v", team, ft)
	}
	rows := func(d, p string) [][]any { return panelRows(t, ctx, conn, e, d, p) }
	same := func(what string, got any, want aggregate.Value) {
		t.Helper()
		w, ok := want.Get()
		if !ok {
			t.Errorf("%s: the report has no value", what)
			return
		}
		g := toFloat(t, got)
		t.Logf("%s of %s: dashboard %v, report %v", what, team, g, w)
		if math.Abs(g-w) > 1e-6*math.Max(1, math.Abs(w)) {
			t.Errorf("%s of %s: dashboard %v, report %v", what, team, g, w)
		}
	}
	eff := rows("flowmeter-flow", "Flow efficiency")
	same("flow efficiency", eff[0][0], ft.Efficiency)
	same("median efficiency", eff[0][1], ft.EfficiencyMedian)
	same("flow time p50", rows("flowmeter-flow", "Flow time (median)")[0][0], ft.All.FlowTime.P50)
	same("velocity", rows("flowmeter-flow", "Flow velocity")[0][0], ft.All.VelocityPerWeek)
	same("done, not delivered", rows("flowmeter-flow", "Done, not delivered")[0][0], ft.DoneNotDeliveredShare)
	same("time to delivery p50", rows("flowmeter-flow", "Time to delivery (median)")[0][0], ft.TimeToDelivery.P50)
	byType := rows("flowmeter-flow", "By flow type")
	i := 0
	for _, tf := range ft.ByType {
		if tf.Finished == 0 {
			continue
		}
		if i >= len(byType) || text(byType[i][0]) != tf.FlowType {
			t.Fatalf("by flow type: row %d is not %s: %v", i, tf.FlowType, byType)
		}
		same(tf.FlowType+" finished", byType[i][1], aggregate.Some(float64(tf.Finished)))
		same(tf.FlowType+" flow time p85", byType[i][4], tf.FlowTime.P85)
		same(tf.FlowType+" velocity", byType[i][7], tf.VelocityPerWeek)
		i++
	}
	waits := rows("flowmeter-flow", "Where work waits")
	for i, w := range ft.Waits {
		if i >= len(waits) || text(waits[i][0]) != w.Status {
			t.Errorf("where work waits: row %d is not %s: %v", i, w.Status, waits)
			break
		}
		same(w.Status+" wait", waits[i][1], aggregate.Some(float64(w.Seconds)))
		same(w.Status+" items", waits[i][2], aggregate.Some(float64(w.Items)))
	}
	load := map[time.Time]float64{}
	for _, r := range rows("flowmeter-flow", "Flow load (daily)") {
		for _, v := range r[1:] {
			load[(*r[0].(*time.Time)).UTC()] += toFloat(t, v)
		}
	}
	for _, s := range ft.LoadDaily {
		if load[s.At] != float64(s.Total) {
			t.Errorf("load at %v: dashboard %v, report %v", s.At, load[s.At], s.Total)
		}
	}

	var tt *toil.Team
	trep := toil.Aggregate(toilFacts, cfg.TeamNames(), from, to, now)
	for i := range trep.Teams {
		if trep.Teams[i].Name == team {
			tt = &trep.Teams[i]
		}
	}
	if tt == nil || tt.Entries == 0 {
		t.Fatalf("the toil report has no entries for %s", team)
	}
	same("toil time", rows("flowmeter-toil", "Toil time")[0][0], aggregate.Some(float64(tt.Seconds)))
	same("toil entries", rows("flowmeter-toil", "Toil entries")[0][0], aggregate.Some(float64(tt.Entries)))
	snake := rows("flowmeter-toil", "Toil snake")
	if len(snake) != len(tt.Categories) {
		t.Fatalf("toil snake: %d categories, report %d", len(snake), len(tt.Categories))
	}
	for i, c := range tt.Categories {
		if text(snake[i][0]) != c.Category {
			t.Fatalf("toil snake: row %d is %v, report %s", i, snake[i][0], c.Category)
		}
		same(c.Category+" entries", snake[i][1], aggregate.Some(float64(c.Entries)))
		same(c.Category+" total", snake[i][2], aggregate.Some(float64(c.Seconds)))
		same(c.Category+" median", snake[i][3], c.Median)
		same(c.Category+" per year", snake[i][4], c.PerYear)
		same(c.Category+" automation budget", snake[i][5], c.AutomationBudget)
	}
}

// panelRows runs the first query of a dashboard's panel, expanded by e.
func panelRows(t *testing.T, ctx context.Context, conn driver.Conn, e expansion, dashboard, panel string) [][]any {
	t.Helper()
	for _, tg := range clickHouseTargets(t) {
		if tg.dashboard != dashboard || tg.panel != panel {
			continue
		}
		rows, err := query(ctx, conn, e.expand(t, tg.sql))
		if err != nil || len(rows) == 0 {
			t.Fatalf("%s / %s: %v, %d rows", dashboard, panel, err, len(rows))
		}
		return rows
	}
	t.Fatalf("no panel %s / %s", dashboard, panel)
	return nil
}

// text reads a scanned string.
func text(v any) string {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.String {
		return rv.String()
	}
	return ""
}

type (
	flowFact = schema.FlowItemFact
	toilFact = schema.ToilFact
)
