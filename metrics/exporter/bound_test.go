package exporter

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/aggregate/aggregatetest"
	"github.com/flowmeter/flowmeter/schema"
)

// TestTenThousandServices: a sender names 10,000 services of alpha and one of
// 900 KiB, and 25 of a team the config does not list; /metrics grows by a fixed
// number of series, worked out below, and still adds up to the teams' figures.
//
// Every deployment finishes in the last 7 days, so every figure is defined in every
// window. alpha: api (configured) deploys 5 times, once to an environment with a
// 900 KiB name; svc-00000 .. svc-09999 once each, and those whose number is a
// multiple of 500 twice more (the 20 with the most deployments); the 900 KiB
// service 50 times. Each first deployment ships a change; one in seven fails.
// ghost (not listed): g-00 .. g-24 once each, tied, so g-00 .. g-19 by name.
func TestTenThousandServices(t *testing.T) {
	hugeService := strings.Repeat("s", 900<<10)
	hugeEnvironment := strings.Repeat("e", 900<<10)
	var f facts
	n := 0
	deploy := func(team, service string, ship bool) *schema.DeploymentFact {
		n++
		id := fmt.Sprint(n)
		finished := fixtureNow.Add(-time.Duration(1+n%150) * time.Hour)
		d := aggregatetest.Production(id, team, service, finished, fixtureNow)
		if n%7 == 0 {
			d = aggregatetest.Failed(d, schema.Unknown)
		}
		f.deployments = append(f.deployments, d)
		if ship {
			u := schema.Unknown
			f.changes = append(f.changes, schema.ChangeFact{
				Source: "gh", ID: "c" + id, Team: team, Repo: "acme/" + service, Service: service,
				State: schema.ChangeShipped, MergedAt: finished.Add(-time.Hour), ShippedAt: finished,
				LeadTimeSeconds: int64(3600 + n), CodingSeconds: u, PickupSeconds: u, ReviewSeconds: u, DeploySeconds: u,
			})
		}
		return &f.deployments[len(f.deployments)-1]
	}
	for range 5 {
		deploy("alpha", "api", true)
	}
	d := deploy("alpha", "api", false)
	d.Environment, d.Production = hugeEnvironment, false
	for i := range 10_000 {
		service := fmt.Sprintf("svc-%05d", i)
		deploy("alpha", service, true)
		if i%500 == 0 {
			deploy("alpha", service, false)
			deploy("alpha", service, false)
		}
	}
	for range 50 {
		deploy("alpha", hugeService, false)
	}
	for i := range 25 {
		deploy("ghost", fmt.Sprintf("g-%02d", i), true)
	}

	e := New()
	e.agg = aggregators{} // counts the DORA families' series only
	e.SetLimits(Limits{
		Services:    ConfiguredServices([]config.Team{{Name: "alpha", Services: []string{"api"}}}),
		TopServices: DefaultTopServices, TopEnvironments: DefaultTopEnvironments,
	})
	if err := e.Refresh(context.Background(), &factStore{f: f}, []string{"alpha"}, "", fixtureNow); err != nil {
		t.Fatal(err)
	}
	got := gatherSamples(t, e)

	alpha := []string{"api"}
	for i := 0; i < 10_000; i += 500 {
		alpha = append(alpha, fmt.Sprintf("svc-%05d", i))
	}
	alpha = append(alpha, Other)
	var ghost []string
	for i := range 20 {
		ghost = append(ghost, fmt.Sprintf("g-%02d", i))
	}
	ghost = append(ghost, Other)
	want := map[string][]string{"alpha": alpha, aggregate.NoTeam: ghost}
	for team, services := range want {
		for _, w := range []string{"7d", "30d", "90d"} {
			if got := servicesOf(got, "flowmeter_deployment_frequency_per_day", team, w); !slices.Equal(got, sorted(services)) {
				t.Errorf("%s %s: %d services published: %.300v; want %d: %v", team, w, len(got), got, len(services), services)
			}
		}
	}

	// Per team and window, each service and service="all" have a frequency, a
	// change failure ratio, its two failed counts and a lead time summary: (22 + 1)
	// * 3 * 5 for alpha, (21 + 1) * 3 * 5 for (no team). The counter: alpha's 22
	// services in production, and api in the environment "other"; (no team)'s 21.
	// Per team, rework in 3 windows and 3 tiers (no recovery: none recovered).
	// No lead time parts (unknown), no restore time (no incidents), and the cache age.
	const series = (22+1)*3*5 + (21+1)*3*5 + 23 + 21 + 2*(3+3) + 1
	if metrics := len(collect(e)); metrics != series {
		t.Errorf("%d series published, want %d", metrics, series)
	}

	// Other is summed from what it holds: alpha's 9,980 services with one
	// deployment and a change, and the 900 KiB one's 50 deployments.
	for _, c := range []struct {
		name, labels, field string
		want                float64
	}{
		{"flowmeter_deployment_frequency_per_day", "team=alpha,service=other,window=7d", "", (9980 + 50) / 7.0},
		{"flowmeter_change_lead_time_seconds", "team=alpha,service=other,window=7d", "count", 9980},
		{"flowmeter_deployments_total", "team=alpha,service=other,environment=production,result=success", "", 9980 + 50},
		{"flowmeter_deployments_total", "team=alpha,service=api,environment=other,result=success", "", 1},
		{"flowmeter_deployment_frequency_per_day", "team=(no team),service=other,window=7d", "", 5 / 7.0},
	} {
		k := key(c.name, c.labels, c.field)
		if v, ok := got[k]; !ok || v != c.want {
			t.Errorf("%s = %v (published: %v), want %v", k, v, ok, c.want)
		}
	}

	checkTotals(t, got, f.deployments, 2)

	text := exposition(t, NewRegistry(e, nil))
	for _, huge := range []string{hugeService, hugeEnvironment} {
		if bytes.Contains(text, []byte(huge[:MaxLabelBytes+1])) {
			t.Errorf("the exposition holds a %d-byte name", len(huge))
		}
	}
	for _, m := range collect(e) {
		for _, l := range metricLabels(t, m) {
			if len(l) > MaxLabelBytes {
				t.Errorf("a %d-byte label value is published: %.40q...", len(l), l)
			}
		}
	}
	t.Run("promtool", func(t *testing.T) {
		promtool := findTool(t, "promtool", "/usr/bin/promtool")
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})
}

// checkTotals checks that the services of each of the teams (alpha, and (no team)
// when there are 2) add up to the team's figure: the counts and sums behind each
// window's figures, and the counter to the team's deployments, all finished.
func checkTotals(t *testing.T, got map[string]float64, deployments []schema.DeploymentFact, teams int) {
	t.Helper()
	type total struct{ team, service, what string }
	sums := map[total]float64{}
	for k, v := range got {
		name, rest, _ := strings.Cut(k, "{")
		labels, field, _ := strings.Cut(rest, "}")
		l := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			l[k] = v
		}
		service := "services"
		if l["service"] == AllServices {
			service = AllServices
		}
		switch {
		case name == "flowmeter_deployments_total":
			sums[total{l["team"], service, name}] += v
		case name == "flowmeter_deployment_frequency_per_day", name == "flowmeter_failed_deployments",
			name == "flowmeter_failed_deployments_inferred",
			name == "flowmeter_change_lead_time_seconds" && (field == "count" || field == "sum"):
			sums[total{l["team"], service, name + field + " " + l["window"]}] += v
		}
	}
	for _, d := range deployments {
		team := aggregate.NoTeam
		if d.Team == "alpha" {
			team = "alpha"
		}
		sums[total{team, AllServices, "flowmeter_deployments_total"}]++
	}
	checked := 0
	for k, services := range sums {
		if k.service == AllServices {
			continue
		}
		all, ok := sums[total{k.team, AllServices, k.what}]
		if !ok || math.Abs(services-all) > 1e-9*math.Max(1, all) {
			t.Errorf("%s %s: the services add up to %v, the team to %v", k.team, k.what, services, all)
		}
		checked++
	}
	// Per team, the counter, and 3 windows of frequency, the 2 failed counts and
	// lead time's count and sum.
	if want := teams * (1 + 3*5); checked != want {
		t.Errorf("checked %d totals, want %d", checked, want)
	}
}

// TestLimits covers the choice of the services published by name, and what Other
// holds. alpha's facts (production deployments unless said):
//
//	service   deployments                              changes (lead time)
//	api       1, 100 days ago (before every window)    -
//	a         3, in 7 days; 1 to staging               -
//	other     5, 40 days ago (in 90 days only)         -
//	b         2, in 7 days; 1 to qa                    -
//	c         2, in 7 days                             shipped 100, 200, 900
//	d         1, in 7 days, failed                     shipped 1000
//	web       -                                        1 undeployed, repository acme/web
//	x * 128   10, in 7 days                            -
//	y * 129   10, in 7 days                            -
func TestLimits(t *testing.T) {
	x128, y129 := strings.Repeat("x", 128), strings.Repeat("y", 129)
	var f facts
	dep := func(service string, ago time.Duration) *schema.DeploymentFact {
		id := fmt.Sprint(len(f.deployments))
		f.deployments = append(f.deployments, aggregatetest.Production(id, "alpha", service, fixtureNow.Add(-ago), fixtureNow))
		return &f.deployments[len(f.deployments)-1]
	}
	days := func(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }
	dep("api", days(100))
	for i := range 3 {
		dep("a", days(1)+time.Duration(i)*time.Hour)
	}
	staging := dep("a", days(1))
	staging.Environment, staging.Production = "staging", false
	for i := range 5 {
		dep(Other, days(40)+time.Duration(i)*time.Hour)
	}
	for i := range 2 {
		dep("b", days(2)+time.Duration(i)*time.Hour)
		dep("c", days(3)+time.Duration(i)*time.Hour)
	}
	qa := dep("b", days(1))
	qa.Environment, qa.Production = "qa", false
	failed := dep("d", days(4))
	*failed = aggregatetest.Failed(*failed, 600)
	for i := range 10 {
		dep(x128, days(5)+time.Duration(i)*time.Hour)
		dep(y129, days(5)+time.Duration(i)*time.Hour)
	}
	u := schema.Unknown
	for i, c := range []struct {
		service string
		lead    int64
	}{{"c", 100}, {"c", 200}, {"c", 900}, {"d", 1000}} {
		shipped := fixtureNow.Add(-days(3))
		f.changes = append(f.changes, schema.ChangeFact{
			Source: "gh", ID: fmt.Sprint("c", i), Team: "alpha", Repo: "acme/" + c.service, Service: c.service,
			State: schema.ChangeShipped, MergedAt: shipped.Add(-time.Minute), ShippedAt: shipped,
			LeadTimeSeconds: c.lead, CodingSeconds: u, PickupSeconds: u, ReviewSeconds: u, DeploySeconds: u,
		})
	}
	f.changes = append(f.changes, schema.ChangeFact{
		Source: "gh", ID: "w", Team: "alpha", Repo: "acme/web", State: schema.ChangeUndeployed, MergedAt: fixtureNow.Add(-days(2)),
		LeadTimeSeconds: u, CodingSeconds: u, PickupSeconds: u, ReviewSeconds: u, DeploySeconds: u,
	})

	const (
		freq = "flowmeter_deployment_frequency_per_day"
		lead = "flowmeter_change_lead_time_seconds"
		cfr  = "flowmeter_change_failure_ratio"
		all  = "flowmeter_deployments_total"
	)
	tests := []struct {
		name     string
		limits   *Limits // nil: never set
		services []string
		want     map[string]float64 // by key(name, labels, field)
	}{
		{
			name: "defaults: all but the too long name",
			services: []string{
				renamedOtherService, "a", "api", "b", "c", "d", Other, "web", x128,
			},
			want: map[string]float64{
				key(freq, "team=alpha,service=other,window=7d", ""):                                      10 / 7.0,
				key(freq, "team=alpha,service=(service) other,window=90d", ""):                           5 / 90.0,
				key(freq, "team=alpha,service=web,window=7d", ""):                                        0,
				key(all, "team=alpha,service=a,environment=staging,result=success", ""):                  1,
				key(all, "team=alpha,service=b,environment=qa,result=success", ""):                       1,
				key(all, "team=alpha,service=other,environment=production,result=success", ""):           10,
				key(all, "team=alpha,service="+x128+",environment=production,result=success", ""):        10,
				key(all, "team=alpha,service=(service) other,environment=production,result=success", ""): 5,
			},
		},
		{
			// Configured: api and web; the glob names none. Ranked by production
			// deployments in 90 days: x128 10, other 5, a 3, then b and c tie at 2:
			// neither is in the top 3. Other holds b, c, d and y129.
			name: "top 3 and the configured",
			limits: &Limits{
				Services: ConfiguredServices([]config.Team{
					{Name: "alpha", Services: []string{"api"}, Repositories: []string{"acme/web", "acme/*"}},
				}),
				TopServices: 3, TopEnvironments: 1,
			},
			services: []string{renamedOtherService, "a", "api", Other, "web", x128},
			want: map[string]float64{
				// b 2 + c 2 + d 1 + y129 10; d failed.
				key(freq, "team=alpha,service=other,window=7d", ""): 15 / 7.0,
				key(cfr, "team=alpha,service=other,window=7d", ""):  1 / 15.0,
				// The union of c's and d's: 100 200 900 1000, p50 550; c's median is
				// 200, d's 1000, and the median of medians 600.
				key(lead, "team=alpha,service=other,window=7d", "0.5"):   550,
				key(lead, "team=alpha,service=other,window=7d", "count"): 4,
				key(lead, "team=alpha,service=other,window=7d", "sum"):   2200,
				key(freq, "team=alpha,service=api,window=90d", ""):       0,
				// One environment by name: production; staging and qa are other.
				key(all, "team=alpha,service=a,environment=other,result=success", ""):          1,
				key(all, "team=alpha,service=other,environment=other,result=success", ""):      1,
				key(all, "team=alpha,service=other,environment=production,result=success", ""): 15,
			},
		},
		{
			name:     "the configured only",
			limits:   &Limits{Services: map[string][]string{"alpha": {"api"}}},
			services: []string{"api", Other},
			want: map[string]float64{
				// Everything but api's 1, 100 days ago: a 3, other 5, b 2, c 2, d 1,
				// x128 10, y129 10.
				key(freq, "team=alpha,service=other,window=90d", ""):                      33 / 90.0,
				key(freq, "team=alpha,service=all,window=90d", ""):                        33 / 90.0,
				key(all, "team=alpha,service=other,environment=other,result=success", ""): 35,
				key(all, "team=alpha,service=api,environment=other,result=success", ""):   1,
			},
		},
		{
			name:     "a configured name too long",
			limits:   &Limits{Services: map[string][]string{"alpha": {x128, y129}}},
			services: []string{Other, x128},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			if tt.limits != nil {
				e.SetLimits(*tt.limits)
			}
			if err := e.Refresh(context.Background(), &factStore{f: f}, []string{"alpha"}, "", fixtureNow); err != nil {
				t.Fatal(err)
			}
			got := gatherSamples(t, e)
			if services := servicesOf(got, freq, "alpha", "90d"); !slices.Equal(services, sorted(tt.services)) {
				t.Errorf("services %q, want %q", services, sorted(tt.services))
			}
			for k, want := range tt.want {
				if v, ok := got[k]; !ok || math.Abs(v-want) > 1e-9 {
					t.Errorf("%s = %v (published: %v), want %v", k, v, ok, want)
				}
			}
			checkTotals(t, got, f.deployments, 1)
		})
	}
}

func TestConfiguredServices(t *testing.T) {
	tests := []struct {
		name  string
		teams []config.Team
		want  map[string][]string
	}{
		{"none", nil, map[string][]string{}},
		{"a team without services", []config.Team{{Name: "a"}}, map[string][]string{"a": nil}},
		{
			"every list, once each, globs left out",
			[]config.Team{
				{
					Name:               "payments",
					Repositories:       []string{"acme/checkout", "acme/pay-*", "acme/ledger?", "acme/[lp]edger", "standalone"},
					Services:           []string{"checkout", "ledger"},
					IncidentServices:   []string{"Payments API"},
					IncidentServiceMap: map[string]string{"Checkout (prod)": "checkout"},
				},
				{Name: "search", Services: []string{"indexer"}},
			},
			map[string][]string{
				"payments": {"Checkout (prod)", "Payments API", "checkout", "ledger", "standalone"},
				"search":   {"indexer"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ConfiguredServices(tt.teams); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// servicesOf lists the service label values of a family's series of team and
// window, service="all" left out.
func servicesOf(got map[string]float64, name, team, window string) []string {
	var out []string
	for k := range got {
		rest, ok := strings.CutPrefix(k, name+"{")
		if !ok || !strings.Contains(rest, "team="+team+",") || !strings.Contains(rest, "window="+window+"}") {
			continue
		}
		for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
			if s, ok := strings.CutPrefix(kv, "service="); ok && s != AllServices {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	return slices.Sorted(slices.Values(s))
}

// collect returns every metric c sends.
func collect(c prometheus.Collector) []prometheus.Metric {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var out []prometheus.Metric
	for m := range ch {
		out = append(out, m)
	}
	return out
}

// metricLabels are a metric's label values.
func metricLabels(t *testing.T, m prometheus.Metric) []string {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range pb.GetLabel() {
		out = append(out, l.GetValue())
	}
	return out
}
