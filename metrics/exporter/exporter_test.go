package exporter

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/metrics/aggregate/aggregatetest"
	"github.com/flowmeter/flowmeter/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedClock is a clock tests move by hand.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixtureExporter is an Exporter refreshed from the fixture, whose cache is 90
// seconds old by its clock.
func fixtureExporter(t testing.TB) (*Exporter, *factStore) {
	t.Helper()
	clock := &fixedClock{t: fixtureNow.Add(5 * time.Minute)}
	e := New()
	e.clock = clock.now
	// The fixture holds DORA facts only, and these tests check the DORA families
	// alone (flow_test.go tests the flow and toil ones).
	e.agg = aggregators{}
	st := &factStore{f: fixtureFacts()}
	if err := e.Refresh(context.Background(), st, fixtureTeams, "2023", fixtureNow); err != nil {
		t.Fatal(err)
	}
	clock.add(90 * time.Second)
	return e, st
}

func TestGolden(t *testing.T) {
	e, _ := fixtureExporter(t)
	golden := filepath.Join("testdata", "fixture.prom")
	if *update {
		// (testutil.CollectAndFormat without names formats nothing.)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(e)
		if err := os.WriteFile(golden, exposition(t, reg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.CollectAndCompare(e, f); err != nil {
		t.Fatalf("%v\n(run 'go test ./metrics/exporter -run TestGolden -update' if the change is intended)", err)
	}
}

// sample is one expected value: a gauge's or counter's value, or a summary's
// quantile ("q"), "sum" or "count".
type sample struct {
	name   string
	labels string // "k=v,k=v", in any order
	field  string // "" for gauges and counters
	want   float64
}

// TestHandWorked checks the fixture's figures against the values worked out by
// hand from the table in fixture_test.go, independently of the golden file.
func TestHandWorked(t *testing.T) {
	e, _ := fixtureExporter(t)
	got := gatherSamples(t, e)

	var want []sample
	add := func(name, labels, field string, v float64) {
		want = append(want, sample{name, labels, field, v})
	}
	// Every deployment over all time, by team, service, environment and status:
	// alpha/api production success a1..a5; the failed attempt a6; the staging a7;
	// alpha/web a0 (January), w1, w2; beta/db b1..b4; the error attempt b5.
	for _, c := range []struct {
		labels string
		n      float64
	}{
		{"team=alpha,service=api,environment=production,result=success", 5},
		{"team=alpha,service=api,environment=production,result=failure", 1},
		{"team=alpha,service=api,environment=staging,result=success", 1},
		{"team=alpha,service=web,environment=production,result=success", 3},
		{"team=beta,service=db,environment=production,result=success", 4},
		{"team=beta,service=db,environment=production,result=error", 1},
	} {
		add("flowmeter_deployments_total", c.labels, "", c.n)
	}

	// Deployment frequency = production deployments finished in the window / days.
	//   alpha: 7d a4 a5 w2 = 3; 30d + a2 a3 = 5; 90d + a1 w1 = 7.
	//   api: 7d a4 a5 = 2; 30d a2..a5 = 4; 90d a1..a5 = 5.
	//   web: 7d w2 = 1; 30d w2 = 1; 90d w1 w2 = 2.
	//   beta (= db): 7d b3 b4 = 2; 30d and 90d b1..b4 = 4.
	freq := map[string][3]float64{
		"alpha/all": {3.0 / 7, 5.0 / 30, 7.0 / 90},
		"alpha/api": {2.0 / 7, 4.0 / 30, 5.0 / 90},
		"alpha/web": {1.0 / 7, 1.0 / 30, 2.0 / 90},
		"beta/all":  {2.0 / 7, 4.0 / 30, 4.0 / 90},
		"beta/db":   {2.0 / 7, 4.0 / 30, 4.0 / 90},
	}
	// Change failure ratio = failed / production deployments of the window.
	//   alpha: 7d a5 of 3; 30d a2 a5 of 5; 90d a2 a5 w1 of 7.
	//   api: 7d 1 of 2; 30d 2 of 4; 90d 2 of 5. web: 0 of 1; 0 of 1; w1 of 2.
	//   beta: 7d b4 of 2; 30d and 90d b2 b4 of 4.
	cfr := map[string][3]float64{
		"alpha/all": {1.0 / 3, 2.0 / 5, 3.0 / 7},
		"alpha/api": {1.0 / 2, 2.0 / 4, 2.0 / 5},
		"alpha/web": {0, 0, 1.0 / 2},
		"beta/all":  {1.0 / 2, 2.0 / 4, 2.0 / 4},
		"beta/db":   {1.0 / 2, 2.0 / 4, 2.0 / 4},
	}
	// Failed production deployments of the window (the numerator above), and those
	// of them inferred: only b4, whose one reason is incident_window.
	failed := map[string][3]float64{
		"alpha/all": {1, 2, 3}, "alpha/api": {1, 2, 2}, "alpha/web": {0, 0, 1},
		"beta/all": {1, 2, 2}, "beta/db": {1, 2, 2},
	}
	inferred := map[string][3]float64{
		"alpha/all": {0, 0, 0}, "alpha/api": {0, 0, 0}, "alpha/web": {0, 0, 0},
		"beta/all": {1, 1, 1}, "beta/db": {1, 1, 1},
	}
	// Lead time quantiles (type 7: h = (n-1)q, x[h] + frac(h)(x[h+1]-x[h])),
	// then count and sum; 0.95 is not published (docs/prometheus.md, "Series budget").
	//   alpha 7d: c3 14400, c5 21600, c2 172800: p50 = 21600;
	//     p85 h=1.7: 21600 + .7*151200 = 127440.
	//   alpha 30d: + c1 86400 -> 14400 21600 86400 172800: p50 h=1.5: 54000;
	//     p85 h=2.55: 86400 + .55*86400 = 133920.
	//   alpha 90d: + c4 259200: p50 = 86400; p85 h=3.4: 172800 + .4*86400 = 207360.
	//   api 7d: 14400 172800: p50 93600; p85 14400 + .85*158400 = 149040.
	//   api 30d and 90d: 14400 86400 172800: p50 86400; p85 h=1.7: 146880.
	//   web 7d and 30d: c5 21600 alone. web 90d: 21600 259200: p50 140400;
	//     p85 21600 + .85*237600 = 223560.
	//   beta (= db) 7d: c7 3600 alone (c9 has no lead time). 30d and 90d: 3600 28800:
	//     p50 16200; p85 3600 + .85*25200 = 25020.
	lead := map[string][3][4]float64{ // p50 p85 count sum
		"alpha/all": {{21600, 127440, 3, 208800}, {54000, 133920, 4, 295200}, {86400, 207360, 5, 554400}},
		"alpha/api": {{93600, 149040, 2, 187200}, {86400, 146880, 3, 273600}, {86400, 146880, 3, 273600}},
		"alpha/web": {{21600, 21600, 1, 21600}, {21600, 21600, 1, 21600}, {140400, 223560, 2, 280800}},
		"beta/all":  {{3600, 3600, 1, 3600}, {16200, 25020, 2, 32400}, {16200, 25020, 2, 32400}},
		"beta/db":   {{3600, 3600, 1, 3600}, {16200, 25020, 2, 32400}, {16200, 25020, 2, 32400}},
	}
	wins := []string{"7d", "30d", "90d"}
	for key, v := range freq {
		team, service, _ := strings.Cut(key, "/")
		for i, w := range wins {
			labels := fmt.Sprintf("team=%s,service=%s,window=%s", team, service, w)
			add("flowmeter_deployment_frequency_per_day", labels, "", v[i])
			add("flowmeter_change_failure_ratio", labels, "", cfr[key][i])
			add("flowmeter_failed_deployments", labels, "", failed[key][i])
			add("flowmeter_failed_deployments_inferred", labels, "", inferred[key][i])
			l := lead[key][i]
			add("flowmeter_change_lead_time_seconds", labels, "0.5", l[0])
			add("flowmeter_change_lead_time_seconds", labels, "0.85", l[1])
			add("flowmeter_change_lead_time_seconds", labels, "count", l[2])
			add("flowmeter_change_lead_time_seconds", labels, "sum", l[3])
		}
	}

	// Lead time parts, medians (count, sum) over the changes with the part known.
	//   alpha 7d (c2 c3 c5): coding 86400 3600 7200 -> 7200 (3, 97200);
	//     pickup 7200 1800 -> 4500 (2, 9000); review 43200 7200 5400 -> 7200 (3, 55800);
	//     deploy 36000 3600 7200 -> 7200 (3, 46800).
	//   alpha 30d (+ c1): coding 3600 7200 36000 86400 -> 21600 (4, 133200);
	//     pickup 1800 3600 7200 -> 3600 (3, 12600); review 5400 7200 18000 43200 ->
	//     12600 (4, 73800); deploy 3600 7200 28800 36000 -> 18000 (4, 75600).
	//   alpha 90d (+ c4): coding -> 36000 (5, 306000); pickup 1800 3600 7200 14400 ->
	//     5400 (4, 27000); review -> 18000 (5, 109800); deploy -> 28800 (5, 111600).
	//   beta 7d (c7): 1200 600 600 1200, one change each.
	//   beta 30d and 90d (c6 c7): coding 1200 14400 -> 7800 (2, 15600); pickup
	//     600 3600 -> 2100 (2, 4200); review the same; deploy 1200 7200 -> 4200 (2, 8400).
	parts := map[string][3][3]float64{ // team/part: per window p50 count sum
		"alpha/coding": {{7200, 3, 97200}, {21600, 4, 133200}, {36000, 5, 306000}},
		"alpha/pickup": {{4500, 2, 9000}, {3600, 3, 12600}, {5400, 4, 27000}},
		"alpha/review": {{7200, 3, 55800}, {12600, 4, 73800}, {18000, 5, 109800}},
		"alpha/deploy": {{7200, 3, 46800}, {18000, 4, 75600}, {28800, 5, 111600}},
		"beta/coding":  {{1200, 1, 1200}, {7800, 2, 15600}, {7800, 2, 15600}},
		"beta/pickup":  {{600, 1, 600}, {2100, 2, 4200}, {2100, 2, 4200}},
		"beta/review":  {{600, 1, 600}, {2100, 2, 4200}, {2100, 2, 4200}},
		"beta/deploy":  {{1200, 1, 1200}, {4200, 2, 8400}, {4200, 2, 8400}},
	}
	for key, v := range parts {
		team, part, _ := strings.Cut(key, "/")
		for i, w := range wins {
			labels := fmt.Sprintf("team=%s,part=%s,window=%s", team, part, w)
			add("flowmeter_change_lead_time_part_seconds", labels, "0.5", v[i][0])
			add("flowmeter_change_lead_time_part_seconds", labels, "count", v[i][1])
			add("flowmeter_change_lead_time_part_seconds", labels, "sum", v[i][2])
		}
	}

	// Failed deployment recovery, p50 p85 count sum.
	//   alpha 7d: a5 3600. 30d: 3600 7200 -> p50 5400, p85 3600 + .85*3600 = 6660.
	//   90d: 3600 7200 14400 -> p50 7200, p85 h=1.7: 7200 + .7*7200 = 12240.
	//   beta 7d: only b4, not recovered: nothing. 30d and 90d: b2 604800.
	// Time to restore, p50 p85 count sum.
	//   alpha 7d: i4 1200 (i3 is open). 30d: + i1 5400 -> p50 3300, p85 1200 +
	//   .85*4200 = 4770. 90d: + i2 10800 -> p50 5400, p85 5400 + .7*5400 = 9180.
	//   beta 7d: no incident: nothing. 30d and 90d: i5 7200.
	// Rework = unplanned / production deployments.
	//   alpha 7d: 0 of 3; 30d: a3 of 5; 90d: a3 of 7. beta 7d: b3 of 2; 30d, 90d: b3 of 4.
	for _, c := range []struct {
		team, window      string
		recovery, restore []float64 // p50 p85 count sum, or nil for none
		rework            float64
	}{
		{"alpha", "7d", []float64{3600, 3600, 1, 3600}, []float64{1200, 1200, 1, 1200}, 0},
		{"alpha", "30d", []float64{5400, 6660, 2, 10800}, []float64{3300, 4770, 2, 6600}, 1.0 / 5},
		{"alpha", "90d", []float64{7200, 12240, 3, 25200}, []float64{5400, 9180, 3, 17400}, 1.0 / 7},
		{"beta", "7d", nil, nil, 1.0 / 2},
		{"beta", "30d", []float64{604800, 604800, 1, 604800}, []float64{7200, 7200, 1, 7200}, 1.0 / 4},
		{"beta", "90d", []float64{604800, 604800, 1, 604800}, []float64{7200, 7200, 1, 7200}, 1.0 / 4},
	} {
		labels := "team=" + c.team + ",window=" + c.window
		for _, s := range []struct {
			name string
			v    []float64
		}{{"flowmeter_failed_deployment_recovery_seconds", c.recovery}, {"flowmeter_time_to_restore_seconds", c.restore}} {
			if s.v == nil {
				if _, ok := got[key(s.name, labels, "count")]; ok {
					t.Errorf("%s{%s} published without data", s.name, labels)
				}
				continue
			}
			add(s.name, labels, "0.5", s.v[0])
			add(s.name, labels, "0.85", s.v[1])
			add(s.name, labels, "count", s.v[2])
			add(s.name, labels, "sum", s.v[3])
		}
		add("flowmeter_rework_ratio", labels, "", c.rework)
	}

	// Tiers (2023) over 90d.
	//   alpha: deploy days Apr 15, May 20, Jun 10, 24, 25, 26; the median week has
	//   0, the median month (Mar 0, Apr 1, May 1, Jun 4) has 1: medium (2). Lead
	//   time p50 86400 is not below one day: high (3). 3/7 failed: low (1).
	//   Recovery p50 7200 is below one day: high (3).
	//   beta: months 0 0 0 4, median 0: low (1). Lead time p50 16200: elite (4).
	//   2/4 failed: low (1). Recovery p50 604800 is exactly one week, not more:
	//   medium (2), as low is "more than one week".
	for _, c := range []struct {
		team, metric string
		tier         float64
	}{
		{"alpha", "deployment_frequency", 2}, {"alpha", "lead_time", 3},
		{"alpha", "change_failure_rate", 1}, {"alpha", "failed_deployment_recovery", 3},
		{"beta", "deployment_frequency", 1}, {"beta", "lead_time", 4},
		{"beta", "change_failure_rate", 1}, {"beta", "failed_deployment_recovery", 2},
	} {
		add("flowmeter_dora_tier", "team="+c.team+",metric="+c.metric, "", c.tier)
	}
	add(CacheAgeMetric, "", "", 90)

	seen := map[string]bool{}
	for _, w := range want {
		k := key(w.name, w.labels, w.field)
		seen[k] = true
		v, ok := got[k]
		if !ok {
			t.Errorf("no %s", k)
			continue
		}
		if math.Abs(v-w.want) > 1e-9*math.Max(1, math.Abs(w.want)) {
			t.Errorf("%s = %v, want %v", k, v, w.want)
		}
	}
	// Nothing published that was not worked out above.
	var extra []string
	for k := range got {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("published but not expected:\n%s", strings.Join(extra, "\n"))
	}
}

// key names one sample: the metric, its labels sorted, and the field.
func key(name, labels, field string) string {
	var ls []string
	if labels != "" {
		ls = strings.Split(labels, ",")
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}" + field
}

// gatherSamples collects c through a pedantic registry (which checks each metric
// against its description) and flattens it into samples by key.
func gatherSamples(t testing.TB, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	put := func(k string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s = %v: undefined figures must not be published", k, v)
		}
		if _, dup := out[k]; dup {
			t.Errorf("%s twice", k)
		}
		out[k] = v
	}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			labels := strings.Join(ls, ",")
			switch mf.GetType() {
			case dto.MetricType_GAUGE:
				put(key(mf.GetName(), labels, ""), m.GetGauge().GetValue())
			case dto.MetricType_COUNTER:
				put(key(mf.GetName(), labels, ""), m.GetCounter().GetValue())
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					put(key(mf.GetName(), labels, fmt.Sprint(q.GetQuantile())), q.GetValue())
				}
				put(key(mf.GetName(), labels, "count"), float64(s.GetSampleCount()))
				put(key(mf.GetName(), labels, "sum"), s.GetSampleSum())
			default:
				t.Errorf("%s: unexpected type %v", mf.GetName(), mf.GetType())
			}
		}
	}
	return out
}

func TestNothingBeforeFirstRefresh(t *testing.T) {
	if n := testutil.CollectAndCount(New()); n != 0 {
		t.Errorf("%d metrics before the first refresh, want none", n)
	}
}

func TestScrapesNeverReadTheStore(t *testing.T) {
	e, st := fixtureExporter(t)
	if st.reads != 5 {
		t.Fatalf("refresh read %d fact kinds, want 5", st.reads)
	}
	for range 5 {
		if n := testutil.CollectAndCount(e); n == 0 {
			t.Fatal("no metrics")
		}
	}
	if st.reads != 5 {
		t.Errorf("scrapes read the store: %d reads after 5 scrapes, want 5", st.reads)
	}
}

func TestFailedRefreshKeepsTheCache(t *testing.T) {
	e, st := fixtureExporter(t)
	before := gatherSamples(t, e)
	st.err = errors.New("connection reset")
	st.f = facts{} // had it been read, every figure would change
	err := e.Refresh(context.Background(), st, fixtureTeams, "2023", fixtureNow.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "deployment facts") || !errors.Is(err, st.err) {
		t.Fatalf("err = %v, want the store's error wrapped", err)
	}
	after := gatherSamples(t, e)
	if len(after) != len(before) {
		t.Fatalf("%d samples after a failed refresh, %d before", len(after), len(before))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed from %v to %v", k, v, after[k])
		}
	}
}

func TestCanceledRefresh(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := New()
	if err := e.Refresh(ctx, &factStore{f: fixtureFacts()}, fixtureTeams, "", fixtureNow); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := testutil.CollectAndCount(e); n != 0 {
		t.Errorf("a canceled refresh installed %d metrics", n)
	}
}

// TestLabelScheme covers the names that are not plain services: a service really
// called "all", facts without a service, a team the config does not list, a listed
// team without facts, and an environment really called "other".
func TestLabelScheme(t *testing.T) {
	finished := fixtureNow.Add(-2 * 24 * time.Hour)
	prod := func(id, team, service string) schema.DeploymentFact {
		return schema.DeploymentFact{
			Source: "gh", ID: id, Team: team, Service: service, Environment: "production",
			Production: true, Status: "success", StartedAt: finished.Add(-time.Minute), FinishedAt: finished,
			RecoverySeconds: schema.Unknown,
		}
	}
	f := facts{deployments: []schema.DeploymentFact{
		prod("1", "alpha", "all"),
		prod("2", "alpha", "all"),
		prod("3", "alpha", "api"),
		prod("4", "ghost", "tools"),
		prod("5", "alpha", ""),
	}}
	f.deployments[0].Failed = true
	otherEnv := prod("6", "alpha", "api")
	otherEnv.Environment, otherEnv.Production = "other", false
	f.deployments = append(f.deployments, otherEnv)
	e := New()
	e.agg = aggregators{} // the DORA families' label scheme; flow_test.go has the flow and toil ones
	if err := e.Refresh(context.Background(), &factStore{f: f}, []string{"alpha", "idle"}, "", fixtureNow); err != nil {
		t.Fatal(err)
	}
	got := gatherSamples(t, e)
	for _, c := range []struct {
		k    string
		want float64
	}{
		// The team: 1 failed of 4 deployments.
		{key("flowmeter_change_failure_ratio", "team=alpha,service=all,window=7d", ""), 0.25},
		// The service called "all": 1 of 2.
		{key("flowmeter_change_failure_ratio", "team=alpha,service=(service) all,window=7d", ""), 0.5},
		{key("flowmeter_deployments_total", "team=alpha,service=(service) all,environment=production,result=success", ""), 2},
		{key("flowmeter_change_failure_ratio", "team=alpha,service=(no service),window=7d", ""), 0},
		{key("flowmeter_deployments_total", "team=alpha,service=(no service),environment=production,result=success", ""), 1},
		{key("flowmeter_deployments_total", "team=alpha,service=api,environment=(environment) other,result=success", ""), 1},
		// A team the config does not list.
		{key("flowmeter_change_failure_ratio", "team=(no team),service=tools,window=7d", ""), 0},
		{key("flowmeter_deployments_total", "team=(no team),service=tools,environment=production,result=success", ""), 1},
		// A listed team without facts deployed 0 times a day, and nothing else is
		// defined for it.
		{key("flowmeter_deployment_frequency_per_day", "team=idle,service=all,window=90d", ""), 0},
	} {
		if v, ok := got[c.k]; !ok || v != c.want {
			t.Errorf("%s = %v (published: %v), want %v", c.k, v, ok, c.want)
		}
	}
	for k := range got {
		if strings.Contains(k, "team=idle") && !strings.HasPrefix(k, "flowmeter_deployment_frequency_per_day{") {
			t.Errorf("%s published for a team without facts", k)
		}
		if strings.Contains(k, "service=,") || strings.Contains(k, "service=}") {
			t.Errorf("%s has an empty service", k)
		}
	}
	// The counter has no service="all" series: summing it over services is right.
	for k := range got {
		if strings.HasPrefix(k, "flowmeter_deployments_total{") && strings.Contains(k, "service=all") {
			t.Errorf("%s: the counter must not have a team series", k)
		}
	}
}

// TestScrapeDuringRefresh runs scrapes, gathered and served, and refreshes at
// once; run with -race.
func TestScrapeDuringRefresh(t *testing.T) {
	e, _ := fixtureExporter(t)
	want := testutil.CollectAndCount(e)
	reg := NewRegistry(e, NewSelf())
	h := Handler(e, NewRegistry(nil, NewSelf()))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := reg.Gather(); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, body := scrape(t, h, "", "gzip"); len(parse(t, body)) == 0 {
					t.Error("empty scrape")
					return
				}
			}
		})
	}
	for i := range 5 {
		if err := e.Refresh(context.Background(), &factStore{f: fixtureFacts()}, fixtureTeams, "", fixtureNow.Add(time.Duration(i)*time.Second)); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if got := testutil.CollectAndCount(e); got != want {
		t.Errorf("%d metrics after the refreshes, want %d", got, want)
	}
}

func TestLint(t *testing.T) {
	e, _ := fixtureExporter(t)
	s := NewSelf()
	observeSome(s)
	problems, err := testutil.GatherAndLint(NewRegistry(e, s))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// exposition is the registry's text exposition as served to a scraper.
func exposition(t testing.TB, reg *prometheus.Registry) []byte {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestDeploymentsUnderWayAreNotCounted: counted while running, a deployment would
// drop out of its in_progress series when it finished, and a counter must not drop.
func TestDeploymentsUnderWayAreNotCounted(t *testing.T) {
	at := fixtureNow.Add(-time.Hour)
	f := facts{deployments: []schema.DeploymentFact{
		{Source: "gh", ID: "1", Team: "alpha", Service: "api", Environment: "production", Status: "in_progress", StartedAt: at, RecoverySeconds: schema.Unknown},
		{Source: "gh", ID: "2", Team: "alpha", Service: "api", Environment: "production", Status: "queued", StartedAt: at, RecoverySeconds: schema.Unknown},
		{Source: "gh", ID: "3", Team: "alpha", Service: "api", Environment: "production", Status: "failure", StartedAt: at, FinishedAt: at, FailedAttempt: true, RecoverySeconds: schema.Unknown},
	}}
	e := New()
	if err := e.Refresh(context.Background(), &factStore{f: f}, []string{"alpha"}, "", fixtureNow); err != nil {
		t.Fatal(err)
	}
	var counted []string
	for k, v := range gatherSamples(t, e) {
		if strings.HasPrefix(k, "flowmeter_deployments_total{") {
			counted = append(counted, fmt.Sprintf("%s %v", k, v))
		}
	}
	want := key("flowmeter_deployments_total", "team=alpha,service=api,environment=production,result=failure", "") + " 1"
	if len(counted) != 1 || counted[0] != want {
		t.Errorf("counted %v, want only the finished deployment: %s", counted, want)
	}
}

// TestRollouts: alpha's api is rolled out to production-eu and production-us; each
// us deployment counts as the eu one of its rollout (RolloutOf) and in nothing at
// all: not in the counter, not in the window's figures. In the 7 days: eu1 (Jun 27),
// eu2 (Jun 28, failed, rolled back by eu3 an hour later), eu3 (Jun 28, a rollback);
// us1, us2 and us3 five minutes after each, us2 marked failed and unplanned as well.
func TestRollouts(t *testing.T) {
	dep := func(id, env string, finished time.Time, of string) schema.DeploymentFact {
		d := aggregatetest.Production(id, "alpha", "api", finished, fixtureNow)
		d.Environment, d.RolloutOf = env, of
		return d
	}
	eu2 := aggregatetest.Failed(dep("eu2", "production-eu", jun(28, 10, 0), ""), hour)
	eu2.FailureReasons = []string{schema.ReasonRolledBack}
	us2 := aggregatetest.Failed(dep("us2", "production-us", jun(28, 10, 5), "eu2"), hour)
	us2.FailureReasons = []string{schema.ReasonIncidentWindow}
	f := facts{deployments: []schema.DeploymentFact{
		dep("eu1", "production-eu", jun(27, 10, 0), ""),
		dep("us1", "production-us", jun(27, 10, 5), "eu1"),
		eu2, aggregatetest.Unplanned(us2, schema.UnplannedRollback),
		aggregatetest.Unplanned(dep("eu3", "production-eu", jun(28, 11, 0), ""), schema.UnplannedRollback),
		aggregatetest.Unplanned(dep("us3", "production-us", jun(28, 11, 5), "eu3"), schema.UnplannedRollback),
	}}
	e := New()
	if err := e.Refresh(context.Background(), &factStore{f: f}, []string{"alpha"}, "", fixtureNow); err != nil {
		t.Fatal(err)
	}
	got := gatherSamples(t, e)
	for _, c := range []struct {
		name, labels, field string
		want                float64
	}{
		{"flowmeter_deployments_total", "team=alpha,service=api,environment=production-eu,result=success", "", 3},
		// 3 deployments in 7 days; 1 failed of 3, not inferred (us2's reason does
		// not count); 1 rollback of 3; eu2 recovered in 1 h.
		{"flowmeter_deployment_frequency_per_day", "team=alpha,service=api,window=7d", "", 3.0 / 7},
		{"flowmeter_change_failure_ratio", "team=alpha,service=all,window=7d", "", 1.0 / 3},
		{"flowmeter_failed_deployments", "team=alpha,service=api,window=7d", "", 1},
		{"flowmeter_failed_deployments_inferred", "team=alpha,service=api,window=7d", "", 0},
		{"flowmeter_rework_ratio", "team=alpha,window=7d", "", 1.0 / 3},
		{"flowmeter_failed_deployment_recovery_seconds", "team=alpha,window=7d", "count", 1},
		{"flowmeter_failed_deployment_recovery_seconds", "team=alpha,window=7d", "sum", 3600},
	} {
		k := key(c.name, c.labels, c.field)
		if v, ok := got[k]; !ok || v != c.want {
			t.Errorf("%s = %v (published: %v), want %v", k, v, ok, c.want)
		}
	}
	for k := range got {
		if strings.Contains(k, "production-us") {
			t.Errorf("%s: a rollout member is counted", k)
		}
	}
}

// TestDeploymentFrequencyTierAfterDeploying: a team that deployed to production
// before the 90 days and not in them is low (1); a team that never deployed has no
// deployment-frequency tier at all.
func TestDeploymentFrequencyTierAfterDeploying(t *testing.T) {
	f := facts{deployments: []schema.DeploymentFact{
		aggregatetest.Production("1", "stopped", "api", time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC), fixtureNow),
	}}
	e := New()
	if err := e.Refresh(context.Background(), &factStore{f: f}, []string{"stopped", "never"}, "", fixtureNow); err != nil {
		t.Fatal(err)
	}
	got := gatherSamples(t, e)
	if v, ok := got[key("flowmeter_dora_tier", "team=stopped,metric=deployment_frequency", "")]; !ok || v != 1 {
		t.Errorf("stopped: tier %v (published: %v), want 1 (low)", v, ok)
	}
	if v, ok := got[key("flowmeter_dora_tier", "team=never,metric=deployment_frequency", "")]; ok {
		t.Errorf("never: tier %v published for a team that never deployed", v)
	}
	// The stopped team's service is still published, deploying 0 times a day.
	if v, ok := got[key("flowmeter_deployment_frequency_per_day", "team=stopped,service=api,window=7d", "")]; !ok || v != 0 {
		t.Errorf("stopped/api 7d frequency %v (published: %v), want 0", v, ok)
	}
}

// TestUpdateFromMemoryEqualsRefresh: the daemon hands the exporter the facts it has
// just derived instead of reading them back; the figures must be the same.
func TestUpdateFromMemoryEqualsRefresh(t *testing.T) {
	f := fixtureFacts()
	teams := []string{"alpha", "beta"}
	fromStore := New()
	if err := fromStore.Refresh(context.Background(), &factStore{f: f}, teams, "", fixtureNow); err != nil {
		t.Fatal(err)
	}
	fromMemory := New()
	all := Facts{DORA: metrics.Facts{Changes: f.changes, Deployments: f.deployments, Incidents: f.incidents}, FlowItems: f.flowItems, Toil: f.toil}
	if err := fromMemory.Update(context.Background(), all, teams, "", fixtureNow); err != nil {
		t.Fatal(err)
	}
	want, got := gatherSamples(t, fromStore), gatherSamples(t, fromMemory)
	delete(want, key(CacheAgeMetric, "", "")) // seconds since each was built
	delete(got, key(CacheAgeMetric, "", ""))
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("Update published %d samples, Refresh %d, or they differ", len(got), len(want))
	}
}
