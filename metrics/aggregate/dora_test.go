package aggregate_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/aggregate/aggregatetest"
	"github.com/flowmeter/flowmeter/metrics/dora"
)

// undefined marks a figure expected to be undefined (null).
var undefined = struct{}{}

// flat lists a Figures' numbers by their JSON names, undefined Values as undefined
// and tiers by name, so expectations read like the report.
func flat(f aggregate.Figures) map[string]any {
	v := func(x aggregate.Value) any {
		if n, ok := x.Get(); ok {
			return n
		}
		return undefined
	}
	return map[string]any{
		"deployments":                            f.Deployments,
		"deployment_frequency_per_day":           v(f.DeploymentFrequencyPerDay),
		"deploy_days_per_week_median":            v(f.DeployDaysPerWeekMedian),
		"deploy_days_per_month_median":           v(f.DeployDaysPerMonthMedian),
		"changes_shipped":                        f.ChangesShipped,
		"untracked":                              f.Untracked,
		"undeployed":                             f.Undeployed,
		"undeployed_age_seconds.p50":             v(f.UndeployedAgeSeconds),
		"lead_time_seconds.p50":                  v(f.LeadTimeSeconds.P50),
		"lead_time_seconds.p85":                  v(f.LeadTimeSeconds.P85),
		"lead_time_seconds.p95":                  v(f.LeadTimeSeconds.P95),
		"lead_time_parts_seconds.coding":         v(f.LeadTimePartsSeconds.Coding),
		"lead_time_parts_seconds.pickup":         v(f.LeadTimePartsSeconds.Pickup),
		"lead_time_parts_seconds.review":         v(f.LeadTimePartsSeconds.Review),
		"lead_time_parts_seconds.deploy":         v(f.LeadTimePartsSeconds.Deploy),
		"failed_deployments":                     f.FailedDeployments,
		"failed_deploy_attempts":                 f.FailedDeployAttempts,
		"change_failure_rate":                    v(f.ChangeFailureRate),
		"failed_deployment_recovery_seconds.p50": v(f.FailedDeploymentRecoverySeconds.P50),
		"failed_deployment_recovery_seconds.p85": v(f.FailedDeploymentRecoverySeconds.P85),
		"time_to_restore_seconds.p50":            v(f.TimeToRestoreSeconds.P50),
		"time_to_restore_seconds.p85":            v(f.TimeToRestoreSeconds.P85),
		"rework_rate":                            v(f.ReworkRate),
		"tiers.deployment_frequency":             f.Tiers.DeploymentFrequency.String(),
		"tiers.lead_time":                        f.Tiers.LeadTime.String(),
		"tiers.change_failure_rate":              f.Tiers.ChangeFailureRate.String(),
		"tiers.failed_deployment_recovery":       f.Tiers.FailedDeploymentRecovery.String(),
	}
}

func checkFigures(t *testing.T, who string, got aggregate.Figures, want map[string]any) {
	t.Helper()
	g := flat(got)
	if len(want) != len(g) {
		t.Errorf("%s: the test expects %d figures, Figures has %d", who, len(want), len(g))
	}
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w, ok := want[k]
		if !ok {
			t.Errorf("%s: no expectation for %s (got %v)", who, k, g[k])
			continue
		}
		if !same(g[k], w) {
			t.Errorf("%s: %s = %v, want %v", who, k, g[k], w)
		}
	}
}

func same(got, want any) bool {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		return ok && math.Abs(g-w) <= 1e-9*math.Max(1, math.Abs(w))
	case int:
		if g, ok := got.(float64); ok {
			return g == float64(w)
		}
		return got == w
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

// Hours and days in seconds, for reading the expectations.
const (
	h = 3600.0
	d = 24 * h
)

// The fixture (aggregatetest) over [Jun 1, Jun 29) 2026: four whole weeks (Mondays
// Jun 1, 8, 15, 22) in one month. Every number below is worked out by hand from the
// facts listed in aggregatetest/fixture.go.
var (
	// payments/checkout: production deployments in the window d1..d7 (Jun 1, 2, 2, 9,
	// 16, 16, 23; d8 is staging, d10 finished before, d12 at the window's end).
	checkout = map[string]any{
		"deployments":                  7,
		"deployment_frequency_per_day": 7.0 / 28, // 0.25
		// Deploy days Jun 1, 2 | 9 | 16 | 23: weeks [2 1 1 1], median (h=1.5) 1.
		"deploy_days_per_week_median":  1.0,
		"deploy_days_per_month_median": 5.0,
		// Shipped c1 (by repository name), c2, c3, c5 (no lead time); c6 before.
		"changes_shipped":            4,
		"untracked":                  1, // c7; c8 merged in May
		"undeployed":                 1, // c10, 3 days old; c12 merged in July
		"undeployed_age_seconds.p50": 3 * d,
		// Lead times [10h 1d 2d] = [36000 86400 172800]: p50 = 86400;
		// p85: h = 2*0.85 = 1.7 -> 86400 + 0.7*86400 = 146880;
		// p95: h = 1.9 -> 86400 + 0.9*86400 = 164160.
		"lead_time_seconds.p50": 86400.0,
		"lead_time_seconds.p85": 146880.0,
		"lead_time_seconds.p95": 164160.0,
		// Parts over c1..c3 only (c5's known deploy part is left out with it):
		// coding [2h 12h 1d] -> 12h; pickup [1h 2h] (c2 unknown) -> 1.5h;
		// review [5h 6h 10h] -> 6h; deploy [2h 6h 12h] -> 6h.
		"lead_time_parts_seconds.coding": 12 * h,
		"lead_time_parts_seconds.pickup": 1.5 * h,
		"lead_time_parts_seconds.review": 6 * h,
		"lead_time_parts_seconds.deploy": 6 * h,
		"failed_deployments":             2, // d2, d5
		"failed_deploy_attempts":         1, // d9; d11 started May 31 (finished Jun 1)
		"change_failure_rate":            2.0 / 7,
		// Recovery [1h 2h]: p50 = 5400; p85: h = 0.85 -> 3600 + 0.85*3600 = 6660.
		"failed_deployment_recovery_seconds.p50": 5400.0,
		"failed_deployment_recovery_seconds.p85": 6660.0,
		// Incidents i1 (1h, linked) and i3 (30m, unlinked); i5 opened in May.
		// [1800 3600]: p50 = 2700; p85 = 1800 + 0.85*1800 = 3330.
		"time_to_restore_seconds.p50": 2700.0,
		"time_to_restore_seconds.p85": 3330.0,
		"rework_rate":                 2.0 / 7, // d3 hotfix, d6 rollback
		// Median week 1 -> high; lead time exactly 1 day -> high; 28.6% -> low;
		// 1.5h -> high (< 1 day).
		"tiers.deployment_frequency":       "high",
		"tiers.lead_time":                  "high",
		"tiers.change_failure_rate":        "low",
		"tiers.failed_deployment_recovery": "high",
	}
	// payments/ledger: d20, d21, d22 on Jun 3, 4, 5; d22 failed, not recovered.
	ledger = map[string]any{
		"deployments":                  3,
		"deployment_frequency_per_day": 3.0 / 28,
		// Weeks [3 0 0 0] sorted [0 0 0 3], median (h=1.5) 0; the month has 3.
		"deploy_days_per_week_median":  0.0,
		"deploy_days_per_month_median": 3.0,
		"changes_shipped":              1, // c4
		"untracked":                    0,
		// c9 (9 days) and c11 (19 days): median 14 days.
		"undeployed":                     2,
		"undeployed_age_seconds.p50":     14 * d,
		"lead_time_seconds.p50":          3 * d,
		"lead_time_seconds.p85":          3 * d,
		"lead_time_seconds.p95":          3 * d,
		"lead_time_parts_seconds.coding": 2 * d,
		"lead_time_parts_seconds.pickup": 4 * h,
		"lead_time_parts_seconds.review": 10 * h,
		"lead_time_parts_seconds.deploy": 10 * h,
		"failed_deployments":             1,
		"failed_deploy_attempts":         1, // d13, started Jun 28 23:55, finished after the window
		"change_failure_rate":            1.0 / 3,
		// d22 has not recovered: no recovery time, no tier.
		"failed_deployment_recovery_seconds.p50": undefined,
		"failed_deployment_recovery_seconds.p85": undefined,
		// i4 (3h); i2 is still open.
		"time_to_restore_seconds.p50": 3 * h,
		"time_to_restore_seconds.p85": 3 * h,
		"rework_rate":                 0.0,
		// Median week 0 but median month 3 -> medium; 3 days -> high; 33% -> low.
		"tiers.deployment_frequency":       "medium",
		"tiers.lead_time":                  "high",
		"tiers.change_failure_rate":        "low",
		"tiers.failed_deployment_recovery": "",
	}
	// payments: checkout and ledger together.
	payments = map[string]any{
		"deployments":                  10,
		"deployment_frequency_per_day": 10.0 / 28,
		// Deploy days Jun 1-5 | 9 | 16 | 23: weeks [5 1 1 1] -> 1; the month 8.
		"deploy_days_per_week_median":  1.0,
		"deploy_days_per_month_median": 8.0,
		"changes_shipped":              5,
		"untracked":                    1,
		// Ages [3d 9d 19d] -> 9 days.
		"undeployed":                 3,
		"undeployed_age_seconds.p50": 9 * d,
		// Lead times [36000 86400 172800 259200]:
		// p50: h = 1.5 -> 86400 + 0.5*86400 = 129600;
		// p85: h = 2.55 -> 172800 + 0.55*86400 = 220320;
		// p95: h = 2.85 -> 172800 + 0.85*86400 = 246240.
		"lead_time_seconds.p50": 129600.0,
		"lead_time_seconds.p85": 220320.0,
		"lead_time_seconds.p95": 246240.0,
		// coding [2h 12h 1d 2d] -> (12h+24h)/2 = 18h; pickup [1h 2h 4h] -> 2h;
		// review [5h 6h 10h 10h] -> 8h; deploy [2h 6h 10h 12h] -> 8h.
		"lead_time_parts_seconds.coding":         18 * h,
		"lead_time_parts_seconds.pickup":         2 * h,
		"lead_time_parts_seconds.review":         8 * h,
		"lead_time_parts_seconds.deploy":         8 * h,
		"failed_deployments":                     3,
		"failed_deploy_attempts":                 2, // d9, d13
		"change_failure_rate":                    0.3,
		"failed_deployment_recovery_seconds.p50": 5400.0,
		"failed_deployment_recovery_seconds.p85": 6660.0,
		// [1800 3600 10800]: p50 3600; p85: h = 1.7 -> 3600 + 0.7*7200 = 8640.
		"time_to_restore_seconds.p50": 3600.0,
		"time_to_restore_seconds.p85": 8640.0,
		"rework_rate":                 0.2,
		// 1.5 days -> high; 30% -> low; 1.5 h -> high.
		"tiers.deployment_frequency":       "high",
		"tiers.lead_time":                  "high",
		"tiers.change_failure_rate":        "low",
		"tiers.failed_deployment_recovery": "high",
	}
	// search/indexer, the team's only service: Mon+Tue+Wed every week.
	search = map[string]any{
		"deployments":                  12,
		"deployment_frequency_per_day": 12.0 / 28,
		"deploy_days_per_week_median":  3.0,
		"deploy_days_per_month_median": 12.0,
		"changes_shipped":              3,
		"untracked":                    0,
		"undeployed":                   0,
		"undeployed_age_seconds.p50":   undefined,
		// [1800 3600 5400]: p50 3600; p85 h=1.7 -> 3600+0.7*1800 = 4860;
		// p95 h=1.9 -> 3600+0.9*1800 = 5220.
		"lead_time_seconds.p50":                  3600.0,
		"lead_time_seconds.p85":                  4860.0,
		"lead_time_seconds.p95":                  5220.0,
		"lead_time_parts_seconds.coding":         1200.0,
		"lead_time_parts_seconds.pickup":         600.0,
		"lead_time_parts_seconds.review":         1200.0,
		"lead_time_parts_seconds.deploy":         600.0,
		"failed_deployments":                     0,
		"failed_deploy_attempts":                 0,
		"change_failure_rate":                    0.0,
		"failed_deployment_recovery_seconds.p50": undefined,
		"failed_deployment_recovery_seconds.p85": undefined,
		"time_to_restore_seconds.p50":            undefined,
		"time_to_restore_seconds.p85":            undefined,
		"rework_rate":                            0.0,
		// Median week 3 -> elite; 1 hour < 1 day -> elite; 0% -> elite.
		"tiers.deployment_frequency":       "elite",
		"tiers.lead_time":                  "elite",
		"tiers.change_failure_rate":        "elite",
		"tiers.failed_deployment_recovery": "",
	}
	// idle: a configured team without any fact, listed with nothing defined but
	// counts, the per-day frequency and the deploy-day medians (all 0).
	idle = map[string]any{
		"deployments": 0, "deployment_frequency_per_day": 0.0,
		"deploy_days_per_week_median": 0.0, "deploy_days_per_month_median": 0.0,
		"changes_shipped": 0, "untracked": 0, "undeployed": 0, "undeployed_age_seconds.p50": undefined,
		"lead_time_seconds.p50": undefined, "lead_time_seconds.p85": undefined, "lead_time_seconds.p95": undefined,
		"lead_time_parts_seconds.coding": undefined, "lead_time_parts_seconds.pickup": undefined,
		"lead_time_parts_seconds.review": undefined, "lead_time_parts_seconds.deploy": undefined,
		"failed_deployments": 0, "failed_deploy_attempts": 0, "change_failure_rate": undefined,
		"failed_deployment_recovery_seconds.p50": undefined, "failed_deployment_recovery_seconds.p85": undefined,
		"time_to_restore_seconds.p50": undefined, "time_to_restore_seconds.p85": undefined,
		"rework_rate":                undefined,
		"tiers.deployment_frequency": "", "tiers.lead_time": "", "tiers.change_failure_rate": "",
		"tiers.failed_deployment_recovery": "",
	}
	// (no team): d50 (billing-batch, team ""), c50 (team "ghost", repository
	// acme/tools) and i50 (no team, no service).
	noTeam = map[string]any{
		"deployments": 1, "deployment_frequency_per_day": 1.0 / 28,
		// Jun 10: weeks [0 1 0 0] -> 0; the month 1 -> medium.
		"deploy_days_per_week_median": 0.0, "deploy_days_per_month_median": 1.0,
		"changes_shipped": 1, "untracked": 0, "undeployed": 0, "undeployed_age_seconds.p50": undefined,
		"lead_time_seconds.p50": 2 * h, "lead_time_seconds.p85": 2 * h, "lead_time_seconds.p95": 2 * h,
		"lead_time_parts_seconds.coding": 1 * h, "lead_time_parts_seconds.pickup": 600.0,
		"lead_time_parts_seconds.review": 1200.0, "lead_time_parts_seconds.deploy": 1200.0,
		"failed_deployments": 0, "failed_deploy_attempts": 0, "change_failure_rate": 0.0,
		"failed_deployment_recovery_seconds.p50": undefined, "failed_deployment_recovery_seconds.p85": undefined,
		"time_to_restore_seconds.p50": 600.0, "time_to_restore_seconds.p85": 600.0,
		"rework_rate":                0.0,
		"tiers.deployment_frequency": "medium", "tiers.lead_time": "elite", "tiers.change_failure_rate": "elite",
		"tiers.failed_deployment_recovery": "",
	}
)

func names[T any](xs []T, name func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = name(x)
	}
	return out
}

func teamNames(r aggregate.Report) []string {
	return names(r.Teams, func(t aggregate.Team) string { return t.Name })
}

func serviceNames(t aggregate.Team) []string {
	return names(t.Services, func(s aggregate.Service) string { return s.Name })
}

func TestDORA(t *testing.T) {
	r := aggregate.DORA(aggregatetest.Input())
	if !r.From.Equal(aggregatetest.From) || !r.To.Equal(aggregatetest.To) || r.Table != "2023" {
		t.Errorf("window %s..%s, table %s", r.From, r.To, r.Table)
	}
	// Config order, then (no team) last because it has data.
	if got, want := teamNames(r), []string{"payments", "search", "idle", aggregate.NoTeam}; !slices.Equal(got, want) {
		t.Fatalf("teams %v, want %v", got, want)
	}
	pay, srch, idl, none := r.Teams[0], r.Teams[1], r.Teams[2], r.Teams[3]
	checkFigures(t, "payments", pay.Figures, payments)
	if got := serviceNames(pay); !slices.Equal(got, []string{"checkout", "ledger"}) {
		t.Fatalf("payments services %v", got)
	}
	checkFigures(t, "payments/checkout", pay.Services[0].Figures, checkout)
	checkFigures(t, "payments/ledger", pay.Services[1].Figures, ledger)
	checkFigures(t, "search", srch.Figures, search)
	if got := serviceNames(srch); !slices.Equal(got, []string{"indexer"}) {
		t.Fatalf("search services %v", got)
	}
	checkFigures(t, "search/indexer", srch.Services[0].Figures, search)
	checkFigures(t, "idle", idl.Figures, idle)
	if len(idl.Services) != 0 {
		t.Errorf("idle has services %v", serviceNames(idl))
	}
	checkFigures(t, "(no team)", none.Figures, noTeam)
	// Sorted by name: "(" sorts before letters.
	if got, want := serviceNames(none), []string{aggregate.NoService, "billing-batch", "tools"}; !slices.Equal(got, want) {
		t.Errorf("(no team) services %v, want %v", got, want)
	}
	if none.Services[2].Figures.ChangesShipped != 1 || none.Services[1].Figures.Deployments != 1 ||
		none.Services[0].Figures.TimeToRestoreSeconds.P50.Float() != 600 {
		t.Errorf("(no team) services: %+v", none.Services)
	}
	// Without Explain, no ids.
	if pay.Explain != nil || pay.Services[0].Explain != nil {
		t.Errorf("explain without asking: %v", pay.Explain)
	}
}

func TestDORAOtherTables(t *testing.T) {
	in := aggregatetest.Input()
	in.Table = "2021"
	r := aggregate.DORA(in)
	s := r.Teams[1].Tiers
	// search under 2021: median week 3 -> elite; lead time exactly 1 hour -> high
	// (elite is "less than one hour"); 0% -> elite.
	if r.Table != "2021" || s.DeploymentFrequency != dora.Elite || s.LeadTime != dora.High || s.ChangeFailureRate != dora.Elite {
		t.Errorf("2021: table %s, search tiers %+v", r.Table, s)
	}
	// payments under 2021: median week 1, month 8 -> high; 1.5 days -> high;
	// 30% -> high (16%-30%); 1.5 h -> high.
	if p := r.Teams[0].Tiers; p != (aggregate.Tiers{DeploymentFrequency: dora.High, LeadTime: dora.High, ChangeFailureRate: dora.High, FailedDeploymentRecovery: dora.High}) {
		t.Errorf("2021 payments tiers %+v", p)
	}
	// The default table when none is named.
	in.Table = ""
	if r := aggregate.DORA(in); r.Table != "2023" || r.Teams[1].Tiers.LeadTime != dora.Elite {
		t.Errorf("default table: %s, %+v", r.Table, r.Teams[1].Tiers)
	}
	// An unknown table grades nothing.
	in.Table = "1999"
	if r := aggregate.DORA(in); r.Teams[1].Tiers != (aggregate.Tiers{}) || r.Teams[1].Deployments != 12 {
		t.Errorf("unknown table: %+v", r.Teams[1].Figures)
	}
}

func TestDORATeamFilterAndNoTeam(t *testing.T) {
	in := aggregatetest.Input()
	in.Team = "search"
	r := aggregate.DORA(in)
	if got := teamNames(r); !slices.Equal(got, []string{"search"}) {
		t.Fatalf("--team search: %v", got)
	}
	checkFigures(t, "search", r.Teams[0].Figures, search)

	in.Team = aggregate.NoTeam
	r = aggregate.DORA(in)
	if got := teamNames(r); !slices.Equal(got, []string{aggregate.NoTeam}) {
		t.Fatalf("--team '(no team)': %v", got)
	}
	checkFigures(t, "(no team)", r.Teams[0].Figures, noTeam)

	// A window without the (no team) facts (July): configured teams are listed,
	// (no team) is not.
	in = aggregatetest.Input()
	in.From, in.To = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	r = aggregate.DORA(in)
	if got := teamNames(r); !slices.Equal(got, []string{"payments", "search", "idle"}) {
		t.Fatalf("July: %v", got)
	}
	// July has one fact: c12, undeployed, merged Jul 1 12:00; its age at Now (Jun
	// 28 12:00) is -3 days, which the figure reports as it is.
	if p := r.Teams[0]; p.Undeployed != 1 || p.Deployments != 0 || p.ChangeFailureRate.Defined() || len(p.Services) != 1 {
		t.Errorf("payments in July: %+v", p)
	}

	// Teams not in the config go to (no team): with no teams configured, all do.
	in = aggregatetest.Input()
	in.Teams = nil
	r = aggregate.DORA(in)
	if got := teamNames(r); !slices.Equal(got, []string{aggregate.NoTeam}) {
		t.Fatalf("no configured teams: %v", got)
	}
	if n := r.Teams[0]; n.Deployments != 10+12+1 || n.FailedDeployAttempts != 2 || len(n.Services) != 6 {
		t.Errorf("everything under (no team): %d deployments, %d attempts, services %v", n.Deployments, n.FailedDeployAttempts, serviceNames(n))
	}
}

func TestDORAExplain(t *testing.T) {
	in := aggregatetest.Input()
	in.Explain = true
	r := aggregate.DORA(in)
	pay := r.Teams[0]
	want := map[string][]string{
		// Sorted as strings: "gh:d2" < "gh:d22" < "gh:d5".
		aggregate.KeyFailedDeployments:               {"gh:d2", "gh:d22", "gh:d5"},
		aggregate.KeyChangeFailureRate:               {"gh:d2", "gh:d22", "gh:d5"},
		aggregate.KeyFailedDeploymentRecoverySeconds: {"gh:d2", "gh:d5"},
		aggregate.KeyFailedDeployAttempts:            {"gh:d13", "gh:d9"},
		aggregate.KeyReworkRate:                      {"gh:d3", "gh:d6"},
		aggregate.KeyDeployments:                     {"gh:d1", "gh:d2", "gh:d20", "gh:d21", "gh:d22", "gh:d3", "gh:d4", "gh:d5", "gh:d6", "gh:d7"},
		aggregate.KeyChangesShipped:                  {"gh:c1", "gh:c2", "gh:c3", "gh:c4", "gh:c5"},
		aggregate.KeyLeadTimeSeconds:                 {"gh:c1", "gh:c2", "gh:c3", "gh:c4"},
		aggregate.KeyLeadTimePickup:                  {"gh:c1", "gh:c3", "gh:c4"},
		aggregate.KeyUntracked:                       {"gh:c7"},
		aggregate.KeyUndeployed:                      {"gh:c10", "gh:c11", "gh:c9"},
		aggregate.KeyTimeToRestoreSeconds:            {"pd:i1", "pd:i3", "pd:i4"},
	}
	for k, ids := range want {
		if got := pay.Explain[k]; !slices.Equal(got, ids) {
			t.Errorf("payments explain %s = %v, want %v", k, got, ids)
		}
	}
	if got := len(pay.Explain); got != len(aggregate.ExplainKeys()) {
		t.Errorf("payments explain has %d keys, want %d", got, len(aggregate.ExplainKeys()))
	}
	// Keys without facts are empty lists, not missing.
	if got, ok := r.Teams[1].Explain[aggregate.KeyTimeToRestoreSeconds]; !ok || got == nil || len(got) != 0 {
		t.Errorf("search TTR explain = %#v", got)
	}
	if got := pay.Services[1].Explain[aggregate.KeyFailedDeployments]; !slices.Equal(got, []string{"gh:d22"}) {
		t.Errorf("ledger failed deployments explain = %v", got)
	}
}
