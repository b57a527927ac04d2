package flow

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/schema"
)

// checkValue compares a Value with a hand-computed figure.
func checkValue(t *testing.T, what string, v aggregate.Value, want float64, defined bool) {
	t.Helper()
	got, ok := v.Get()
	if ok != defined || defined && math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v (defined %v), want %v (defined %v)", what, got, ok, want, defined)
	}
}

func checkQuantiles(t *testing.T, what string, q aggregate.Quantiles, count int, sum, p50, p85, p95 float64) {
	t.Helper()
	if q.Count != count || q.Sum != sum {
		t.Errorf("%s: count %d sum %v, want %d and %v", what, q.Count, q.Sum, count, sum)
	}
	checkValue(t, what+" p50", q.P50, p50, count > 0)
	checkValue(t, what+" p85", q.P85, p85, count > 0)
	checkValue(t, what+" p95", q.P95, p95, count > 0)
}

// fact builds a hand-made flow fact.
func fact(id, team, flowType string, committed, done, canceled time.Time, flow, active int64) schema.FlowItemFact {
	f := schema.FlowItemFact{Source: "jira", ID: id, Team: team, Project: "PAY", FlowType: flowType,
		CommittedAt: committed, DoneAt: done, CanceledAt: canceled,
		FlowSeconds: flow, ActiveSeconds: active, WaitSeconds: schema.Unknown, DeliverySeconds: schema.Unknown}
	if flow != schema.Unknown {
		f.WaitSeconds = flow - active
	}
	return f
}

// TestAggregate checks a report over a small hand-computed set. The window is
// [2 March, 16 March 2026) and now 12 March 00:00, so AsOf is 12 March: 10 days,
// 10/7 weeks.
func TestAggregate(t *testing.T) {
	var zero time.Time
	d := func(day, hm string) time.Time { return utc("2026-03-" + day + " " + hm) }
	un := schema.Unknown

	f1 := fact("PAY-1", "pay", "feature", d("02", "00:00"), d("03", "00:00"), zero, 100, 50)
	f1.TimePerStatus = []string{"In Progress=50", "Blocked=30", "Waiting for QA=20", "Review=10"}
	f1.Unmapped = []string{"Review"}
	f1.DeliveredAt, f1.DeliverySeconds = d("04", "00:00"), 200
	f2 := fact("PAY-2", "pay", "feature", d("02", "12:00"), d("05", "00:00"), zero, 200, 20)
	f2.TimePerStatus = []string{"In Progress=20", "Waiting for QA=150", "Blocked=30"}
	f2.Unmapped = []string{"QA", "Review"}
	f2.Reopens = 1 // and not delivered: a pull request undeployed
	f3 := fact("PAY-3", "pay", "defect", d("07", "00:00"), d("10", "12:00"), zero, 300, 270)
	f3.TimePerStatus = []string{"In Progress=270", "Blocked=30"}
	f3.DeliveredAt, f3.DeliverySeconds = d("10", "12:00"), 300
	f4 := fact("PAY-4", "pay", "defect", d("11", "00:00"), d("13", "00:00"), zero, 500, 500) // done after AsOf
	f5 := fact("PAY-5", "pay", "feature", d("04", "00:00"), zero, d("06", "00:00"), un, un)  // canceled
	f6 := fact("PAY-6", "pay", "debt", d("09", "00:00"), zero, zero, un, un)                 // open
	f7 := fact("PAY-7", "pay", "feature", utc("2026-02-28 00:00"), d("01", "00:00"), zero, 10, 10)
	f8 := fact("PAY-8", "pay", "feature", zero, d("08", "00:00"), zero, un, un) // never committed
	g1 := fact("OPS-1", "ops", "feature", d("03", "00:00"), d("04", "00:00"), zero, 50, 50)
	g1.Calendar = "ops"
	g2 := fact("OPS-2", "ops", "risk", d("06", "15:00"), zero, zero, un, un)
	g2.Calendar = "ops"
	x1 := fact("XX-1", "nobody", "feature", d("03", "00:00"), d("05", "00:00"), zero, 10, 10)

	facts := []schema.FlowItemFact{x1, f1, g1, f2, f3, f4, f5, f6, f7, f8, g2}
	rep := Aggregate(facts, []string{"pay", "ops"}, d("02", "00:00"), d("16", "00:00"), d("12", "00:00"), NewRules(testConfig()))

	if !rep.AsOf.Equal(d("12", "00:00")) {
		t.Fatalf("AsOf %s", rep.AsOf)
	}
	if len(rep.Teams) != 3 || rep.Teams[0].Name != "pay" || rep.Teams[1].Name != "ops" || rep.Teams[2].Name != aggregate.NoTeam {
		t.Fatalf("teams %+v", rep.Teams)
	}
	pay := rep.Teams[0]
	// Finished: PAY-1, 2, 3 (PAY-4 after AsOf, PAY-7 before from, PAY-8 uncommitted).
	if pay.Finished != 3 || pay.Canceled != 1 || pay.Reopened != 1 {
		t.Errorf("finished %d canceled %d reopened %d, want 3, 1, 1", pay.Finished, pay.Canceled, pay.Reopened)
	}
	// Weighted: (50 + 20 + 270) / (100 + 200 + 300) = 340/600; median of 0.5, 0.1, 0.9.
	checkValue(t, "efficiency", pay.Efficiency, 340.0/600, true)
	checkValue(t, "efficiency median", pay.EfficiencyMedian, 0.5, true)
	if pay.ActiveSeconds != 340 || pay.FlowSeconds != 600 {
		t.Errorf("sums %d/%d, want 340/600", pay.ActiveSeconds, pay.FlowSeconds)
	}
	// Flow times 100, 200, 300: p50 200; p85 at rank 1.7 = 270; p95 at 1.9 = 290.
	checkQuantiles(t, "all flow time", pay.All.FlowTime, 3, 600, 200, 270, 290)
	if pay.All.FlowType != "all" || pay.All.Finished != 3 || pay.All.Load != 2 {
		t.Errorf("all %+v", pay.All)
	}
	checkValue(t, "all velocity", pay.All.VelocityPerWeek, 3/(10.0/7), true)
	checkValue(t, "all distribution", pay.All.Distribution, 1, true)
	checkValue(t, "all efficiency", pay.All.Efficiency, 340.0/600, true)

	types := []string{}
	for _, tf := range pay.ByType {
		types = append(types, tf.FlowType)
	}
	if !reflect.DeepEqual(types, schema.FlowTypes) {
		t.Fatalf("types %v", types)
	}
	feature, defect, risk, debt := pay.ByType[0], pay.ByType[1], pay.ByType[2], pay.ByType[3]
	// feature: 100, 200 → p50 150, p85 185, p95 195; efficiency 70/300.
	checkQuantiles(t, "feature flow time", feature.FlowTime, 2, 300, 150, 185, 195)
	checkValue(t, "feature efficiency", feature.Efficiency, 70.0/300, true)
	checkValue(t, "feature velocity", feature.VelocityPerWeek, 2/(10.0/7), true)
	checkValue(t, "feature distribution", feature.Distribution, 2.0/3, true)
	checkValue(t, "defect distribution", defect.Distribution, 1.0/3, true)
	checkValue(t, "defect efficiency", defect.Efficiency, 0.9, true)
	checkValue(t, "risk efficiency", risk.Efficiency, 0, false)
	checkValue(t, "risk distribution", risk.Distribution, 0, true)
	checkValue(t, "risk velocity", risk.VelocityPerWeek, 0, true)
	checkQuantiles(t, "risk flow time", risk.FlowTime, 0, 0, 0, 0, 0)
	if feature.Load != 0 || defect.Load != 1 || risk.Load != 0 || debt.Load != 1 {
		t.Errorf("loads %d %d %d %d, want 0 1 0 1", feature.Load, defect.Load, risk.Load, debt.Load)
	}

	// Open at AsOf: PAY-4 (1 day old) and PAY-6 (3 days): p50 2 days, p85 and p95
	// interpolated: 86400 + 0.85·172800 and 86400 + 0.95·172800.
	if pay.OpenItems != 2 {
		t.Errorf("open %d, want 2", pay.OpenItems)
	}
	checkQuantiles(t, "age", pay.Age, 2, 86400+259200, 172800, 233280, 250560)

	// Wait statuses of PAY: Blocked (mapped), Waiting for QA (by name); Review is
	// not a wait status (unmapped, no wait word); In Progress is active.
	wantWaits := []StatusWait{{Status: "Waiting for QA", Seconds: 170, Items: 2}, {Status: "Blocked", Seconds: 90, Items: 3}}
	if !reflect.DeepEqual(pay.Waits, wantWaits) {
		t.Errorf("waits %+v, want %+v", pay.Waits, wantWaits)
	}

	// Delivered PAY-1 and PAY-3; PAY-2 done, not delivered.
	if pay.Delivered != 2 || pay.DoneNotDelivered != 1 {
		t.Errorf("delivered %d, done not delivered %d; want 2, 1", pay.Delivered, pay.DoneNotDelivered)
	}
	checkValue(t, "done not delivered share", pay.DoneNotDeliveredShare, 1.0/3, true)
	checkQuantiles(t, "time to delivery", pay.TimeToDelivery, 2, 500, 250, 285, 295)

	if !reflect.DeepEqual(pay.Unmapped, []string{"QA", "Review"}) || pay.Calendar != "" {
		t.Errorf("unmapped %v calendar %q", pay.Unmapped, pay.Calendar)
	}

	// Load at 00:00 UTC from 2 to 12 March: PAY-1 on the 2nd; PAY-2 3rd–4th (done
	// at 00:00 on the 5th); PAY-5 4th–5th (canceled at 00:00 on the 6th); PAY-3
	// 7th–10th (done at noon); PAY-6 from the 9th; PAY-4 from the 11th.
	wantTotals := []int{1, 1, 2, 1, 0, 1, 1, 2, 2, 2, 2}
	if len(pay.LoadDaily) != len(wantTotals) {
		t.Fatalf("%d load samples, want %d", len(pay.LoadDaily), len(wantTotals))
	}
	for i, s := range pay.LoadDaily {
		at := d("02", "00:00").AddDate(0, 0, i)
		sum := 0
		for _, n := range s.ByType {
			sum += n
		}
		if !s.At.Equal(at) || s.Total != wantTotals[i] || sum != s.Total || len(s.ByType) != 4 {
			t.Errorf("load sample %d: %s total %d by type %v; want %s total %d", i, s.At, s.Total, s.ByType, at, wantTotals[i])
		}
	}
	if s := pay.LoadDaily[9]; s.ByType["defect"] != 1 || s.ByType["debt"] != 1 {
		t.Errorf("load on the 11th by type %v, want a defect and a debt", s.ByType)
	}

	ops := rep.Teams[1]
	// OPS-2 is open since Friday 6 March 15:00; in ops's 09:00–17:00 Mon–Fri its
	// age at Thursday 12 March 00:00 is 2 h + 3 × 8 h = 26 h.
	if ops.Calendar != "ops" || ops.Finished != 1 || ops.OpenItems != 1 {
		t.Errorf("ops %+v", ops)
	}
	checkQuantiles(t, "ops age", ops.Age, 1, 26*3600, 26*3600, 26*3600, 26*3600)

	if rest := rep.Teams[2]; rest.Finished != 1 || rest.All.Finished != 1 {
		t.Errorf("team \"\" %+v", rest)
	}
}

// TestAggregateAsOf: now caps the window, and before from no time has elapsed.
func TestAggregateAsOf(t *testing.T) {
	from, to := utc("2026-03-02 00:00"), utc("2026-03-09 00:00")
	f := fact("PAY-1", "pay", "feature", utc("2026-03-02 10:00"), utc("2026-03-04 10:00"), time.Time{}, 100, 50)
	cases := []struct {
		name     string
		now      time.Time
		asOf     time.Time
		finished int
		velocity float64
		defined  bool
		samples  int
	}{
		{"now after to", utc("2026-04-01 00:00"), to, 1, 1, true, 8}, // 2 to 9 March, AsOf included
		{"now inside", utc("2026-03-04 10:00"), utc("2026-03-04 10:00"), 0, 0, true, 3},
		{"now before from", utc("2026-03-01 00:00"), from, 0, 0, false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := Aggregate([]schema.FlowItemFact{f}, []string{"pay"}, from, to, c.now, nil)
			if !rep.AsOf.Equal(c.asOf) || len(rep.Teams) != 1 {
				t.Fatalf("AsOf %s teams %d, want %s and 1", rep.AsOf, len(rep.Teams), c.asOf)
			}
			tm := rep.Teams[0]
			if tm.Finished != c.finished || len(tm.LoadDaily) != c.samples {
				t.Errorf("finished %d samples %d, want %d and %d", tm.Finished, len(tm.LoadDaily), c.finished, c.samples)
			}
			checkValue(t, "velocity", tm.All.VelocityPerWeek, c.velocity, c.defined)
			checkValue(t, "efficiency", tm.Efficiency, 0.5, c.finished > 0)
			checkValue(t, "share", tm.DoneNotDeliveredShare, 1, c.finished > 0)
		})
	}
}
