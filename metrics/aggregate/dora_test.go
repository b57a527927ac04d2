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
	"github.com/flowmeter/flowmeter/schema"
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
		"deployments":                              f.Deployments,
		"deployment_frequency_per_day":             v(f.DeploymentFrequencyPerDay),
		"deploy_days_per_week_median":              v(f.DeployDaysPerWeekMedian),
		"deploy_days_per_month_median":             v(f.DeployDaysPerMonthMedian),
		"deployments_per_deploy_day_median":        v(f.DeploymentsPerDeployDayMedian),
		"changes_shipped":                          f.ChangesShipped,
		"untracked":                                f.Untracked,
		"undeployed":                               f.Undeployed,
		"undeployed_age_seconds.p50":               v(f.UndeployedAgeSeconds),
		"lead_time_seconds.p50":                    v(f.LeadTimeSeconds.P50),
		"lead_time_seconds.p85":                    v(f.LeadTimeSeconds.P85),
		"lead_time_seconds.p95":                    v(f.LeadTimeSeconds.P95),
		"lead_time_seconds.count":                  f.LeadTimeSeconds.Count,
		"lead_time_seconds.sum":                    f.LeadTimeSeconds.Sum,
		"lead_time_parts_seconds.coding":           v(f.LeadTimePartsSeconds.Coding.P50),
		"lead_time_parts_seconds.pickup":           v(f.LeadTimePartsSeconds.Pickup.P50),
		"lead_time_parts_seconds.review":           v(f.LeadTimePartsSeconds.Review.P50),
		"lead_time_parts_seconds.deploy":           v(f.LeadTimePartsSeconds.Deploy.P50),
		"failed_deployments":                       f.FailedDeployments,
		"failed_deployments_inferred":              f.FailedDeploymentsInferred,
		"failed_deploy_attempts":                   f.FailedDeployAttempts,
		"change_failure_rate":                      v(f.ChangeFailureRate),
		"failed_deployment_recovery_seconds.p50":   v(f.FailedDeploymentRecoverySeconds.P50),
		"failed_deployment_recovery_seconds.p85":   v(f.FailedDeploymentRecoverySeconds.P85),
		"failed_deployment_recovery_seconds.count": f.FailedDeploymentRecoverySeconds.Count,
		"failed_deployment_recovery_seconds.sum":   f.FailedDeploymentRecoverySeconds.Sum,
		"time_to_restore_seconds.p50":              v(f.TimeToRestoreSeconds.P50),
		"time_to_restore_seconds.p85":              v(f.TimeToRestoreSeconds.P85),
		"time_to_restore_seconds.count":            f.TimeToRestoreSeconds.Count,
		"time_to_restore_seconds.sum":              f.TimeToRestoreSeconds.Sum,
		"rework_rate":                              v(f.ReworkRate),
		"tiers.deployment_frequency":               f.Tiers.DeploymentFrequency.String(),
		"tiers.lead_time":                          f.Tiers.LeadTime.String(),
		"tiers.change_failure_rate":                f.Tiers.ChangeFailureRate.String(),
		"tiers.failed_deployment_recovery":         f.Tiers.FailedDeploymentRecovery.String(),
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
// Jun 1, 8, 15, 22) in one month. Now is Jun 28 12:00, so per-day figures divide by
// the 27.5 days elapsed, and every week and the month have started. Every number
// below is worked out by hand from the facts listed in aggregatetest/fixture.go.
var (
	// payments/checkout: production deployments in the window d1..d7 (Jun 1, 2, 2, 9,
	// 16, 16, 23; d8 is staging, d10 finished before, d12 at the window's end).
	checkout = map[string]any{
		"deployments":                  7,
		"deployment_frequency_per_day": 7.0 / 27.5, // 0.2545...
		// Deploy days Jun 1, 2 | 9 | 16 | 23: weeks [2 1 1 1], median (h=1.5) 1.
		"deploy_days_per_week_median":  1.0,
		"deploy_days_per_month_median": 5.0,
		// Deployments on those days [1 2 1 2 1]: median 1.
		"deployments_per_deploy_day_median": 1.0,
		// Shipped c1 (by repository name), c2, c3, c5 (no lead time); c6 before.
		"changes_shipped":            4,
		"untracked":                  1, // c7; c8 merged in May
		"undeployed":                 1, // c10, 3 days old; c12 merged in July
		"undeployed_age_seconds.p50": 3 * d,
		// Lead times [10h 1d 2d] = [36000 86400 172800]: p50 = 86400;
		// p85: h = 2*0.85 = 1.7 -> 86400 + 0.7*86400 = 146880;
		// p95: h = 1.9 -> 86400 + 0.9*86400 = 164160.
		"lead_time_seconds.p50":   86400.0,
		"lead_time_seconds.p85":   146880.0,
		"lead_time_seconds.p95":   164160.0,
		"lead_time_seconds.count": 3,
		"lead_time_seconds.sum":   295200.0, // 36000 + 86400 + 172800
		// Parts over c1..c3 only (c5's known deploy part is left out with it):
		// coding [2h 12h 1d] -> 12h; pickup [1h 2h] (c2 unknown) -> 1.5h;
		// review [5h 6h 10h] -> 6h; deploy [2h 6h 12h] -> 6h.
		"lead_time_parts_seconds.coding": 12 * h,
		"lead_time_parts_seconds.pickup": 1.5 * h,
		"lead_time_parts_seconds.review": 6 * h,
		"lead_time_parts_seconds.deploy": 6 * h,
		"failed_deployments":             2, // d2, d5
		"failed_deployments_inferred":    0, // d2 is named by i1, d5 rolled back
		"failed_deploy_attempts":         1, // d9; d11 started May 31 (finished Jun 1)
		"change_failure_rate":            2.0 / 7,
		// Recovery [1h 2h]: p50 = 5400; p85: h = 0.85 -> 3600 + 0.85*3600 = 6660.
		"failed_deployment_recovery_seconds.p50":   5400.0,
		"failed_deployment_recovery_seconds.p85":   6660.0,
		"failed_deployment_recovery_seconds.count": 2,
		"failed_deployment_recovery_seconds.sum":   10800.0,
		// Incidents i1 (1h, linked) and i3 (30m, unlinked); i5 opened in May.
		// [1800 3600]: p50 = 2700; p85 = 1800 + 0.85*1800 = 3330.
		"time_to_restore_seconds.p50":   2700.0,
		"time_to_restore_seconds.p85":   3330.0,
		"time_to_restore_seconds.count": 2,
		"time_to_restore_seconds.sum":   5400.0,
		"rework_rate":                   2.0 / 7, // d3 hotfix, d6 rollback
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
		"deployment_frequency_per_day": 3.0 / 27.5,
		// Weeks [3 0 0 0] sorted [0 0 0 3], median (h=1.5) 0; the month has 3.
		"deploy_days_per_week_median":       0.0,
		"deploy_days_per_month_median":      3.0,
		"deployments_per_deploy_day_median": 1.0,
		"changes_shipped":                   1, // c4
		"untracked":                         0,
		// c9 (9 days) and c11 (19 days): median 14 days.
		"undeployed":                     2,
		"undeployed_age_seconds.p50":     14 * d,
		"lead_time_seconds.p50":          3 * d,
		"lead_time_seconds.p85":          3 * d,
		"lead_time_seconds.p95":          3 * d,
		"lead_time_seconds.count":        1,
		"lead_time_seconds.sum":          3 * d,
		"lead_time_parts_seconds.coding": 2 * d,
		"lead_time_parts_seconds.pickup": 4 * h,
		"lead_time_parts_seconds.review": 10 * h,
		"lead_time_parts_seconds.deploy": 10 * h,
		// d22, whose only reason is incident_window: inferred.
		"failed_deployments":          1,
		"failed_deployments_inferred": 1,
		"failed_deploy_attempts":      1, // d13, started Jun 28 23:55, finished after the window
		"change_failure_rate":         1.0 / 3,
		// d22 has not recovered: no recovery time, no tier.
		"failed_deployment_recovery_seconds.p50":   undefined,
		"failed_deployment_recovery_seconds.p85":   undefined,
		"failed_deployment_recovery_seconds.count": 0,
		"failed_deployment_recovery_seconds.sum":   0.0,
		// i4 (3h); i2 is still open.
		"time_to_restore_seconds.p50":   3 * h,
		"time_to_restore_seconds.p85":   3 * h,
		"time_to_restore_seconds.count": 1,
		"time_to_restore_seconds.sum":   3 * h,
		"rework_rate":                   0.0,
		// Median week 0 but median month 3 -> medium; 3 days -> high; 33% -> low.
		"tiers.deployment_frequency":       "medium",
		"tiers.lead_time":                  "high",
		"tiers.change_failure_rate":        "low",
		"tiers.failed_deployment_recovery": "",
	}
	// payments: checkout and ledger together.
	payments = map[string]any{
		"deployments":                  10,
		"deployment_frequency_per_day": 10.0 / 27.5,
		// Deploy days Jun 1-5 | 9 | 16 | 23: weeks [5 1 1 1] -> 1; the month 8.
		"deploy_days_per_week_median":  1.0,
		"deploy_days_per_month_median": 8.0,
		// [1 2 1 1 1 1 2 1] sorted [1 1 1 1 1 1 2 2]: h = 3.5 -> 1.
		"deployments_per_deploy_day_median": 1.0,
		"changes_shipped":                   5,
		"untracked":                         1,
		// Ages [3d 9d 19d] -> 9 days.
		"undeployed":                 3,
		"undeployed_age_seconds.p50": 9 * d,
		// Lead times [36000 86400 172800 259200]:
		// p50: h = 1.5 -> 86400 + 0.5*86400 = 129600;
		// p85: h = 2.55 -> 172800 + 0.55*86400 = 220320;
		// p95: h = 2.85 -> 172800 + 0.85*86400 = 246240.
		"lead_time_seconds.p50":   129600.0,
		"lead_time_seconds.p85":   220320.0,
		"lead_time_seconds.p95":   246240.0,
		"lead_time_seconds.count": 4,
		"lead_time_seconds.sum":   554400.0,
		// coding [2h 12h 1d 2d] -> (12h+24h)/2 = 18h; pickup [1h 2h 4h] -> 2h;
		// review [5h 6h 10h 10h] -> 8h; deploy [2h 6h 10h 12h] -> 8h.
		"lead_time_parts_seconds.coding":           18 * h,
		"lead_time_parts_seconds.pickup":           2 * h,
		"lead_time_parts_seconds.review":           8 * h,
		"lead_time_parts_seconds.deploy":           8 * h,
		"failed_deployments":                       3,
		"failed_deployments_inferred":              1, // d22
		"failed_deploy_attempts":                   2, // d9, d13
		"change_failure_rate":                      0.3,
		"failed_deployment_recovery_seconds.p50":   5400.0,
		"failed_deployment_recovery_seconds.p85":   6660.0,
		"failed_deployment_recovery_seconds.count": 2,
		"failed_deployment_recovery_seconds.sum":   10800.0,
		// [1800 3600 10800]: p50 3600; p85: h = 1.7 -> 3600 + 0.7*7200 = 8640.
		"time_to_restore_seconds.p50":   3600.0,
		"time_to_restore_seconds.p85":   8640.0,
		"time_to_restore_seconds.count": 3,
		"time_to_restore_seconds.sum":   16200.0,
		"rework_rate":                   0.2,
		// 1.5 days -> high; 30% -> low; 1.5 h -> high.
		"tiers.deployment_frequency":       "high",
		"tiers.lead_time":                  "high",
		"tiers.change_failure_rate":        "low",
		"tiers.failed_deployment_recovery": "high",
	}
	// search/indexer, the team's only service: Mon+Tue+Wed every week, once a day.
	search = map[string]any{
		"deployments":                       12,
		"deployment_frequency_per_day":      12.0 / 27.5,
		"deploy_days_per_week_median":       3.0,
		"deploy_days_per_month_median":      12.0,
		"deployments_per_deploy_day_median": 1.0,
		"changes_shipped":                   3,
		"untracked":                         0,
		"undeployed":                        0,
		"undeployed_age_seconds.p50":        undefined,
		// [1800 3600 5400]: p50 3600; p85 h=1.7 -> 3600+0.7*1800 = 4860;
		// p95 h=1.9 -> 3600+0.9*1800 = 5220.
		"lead_time_seconds.p50":                    3600.0,
		"lead_time_seconds.p85":                    4860.0,
		"lead_time_seconds.p95":                    5220.0,
		"lead_time_seconds.count":                  3,
		"lead_time_seconds.sum":                    10800.0,
		"lead_time_parts_seconds.coding":           1200.0,
		"lead_time_parts_seconds.pickup":           600.0,
		"lead_time_parts_seconds.review":           1200.0,
		"lead_time_parts_seconds.deploy":           600.0,
		"failed_deployments":                       0,
		"failed_deployments_inferred":              0,
		"failed_deploy_attempts":                   0,
		"change_failure_rate":                      0.0,
		"failed_deployment_recovery_seconds.p50":   undefined,
		"failed_deployment_recovery_seconds.p85":   undefined,
		"failed_deployment_recovery_seconds.count": 0,
		"failed_deployment_recovery_seconds.sum":   0.0,
		"time_to_restore_seconds.p50":              undefined,
		"time_to_restore_seconds.p85":              undefined,
		"time_to_restore_seconds.count":            0,
		"time_to_restore_seconds.sum":              0.0,
		"rework_rate":                              0.0,
		// Median week 3 deploy days, but one deployment on the median deploy day:
		// not "multiple deploys per day", so high, not elite; 1 hour < 1 day ->
		// elite; 0% -> elite.
		"tiers.deployment_frequency":       "high",
		"tiers.lead_time":                  "elite",
		"tiers.change_failure_rate":        "elite",
		"tiers.failed_deployment_recovery": "",
	}
	// idle: a configured team without any fact, listed with nothing defined but
	// counts, the per-day frequency and the deploy-day medians (all 0).
	// idle never deployed: no deployment-frequency tier, not low.
	idle = map[string]any{
		"deployments": 0, "deployment_frequency_per_day": 0.0,
		"deploy_days_per_week_median": 0.0, "deploy_days_per_month_median": 0.0,
		"deployments_per_deploy_day_median": undefined,
		"changes_shipped":                   0, "untracked": 0, "undeployed": 0, "undeployed_age_seconds.p50": undefined,
		"lead_time_seconds.p50": undefined, "lead_time_seconds.p85": undefined, "lead_time_seconds.p95": undefined,
		"lead_time_seconds.count": 0, "lead_time_seconds.sum": 0.0,
		"lead_time_parts_seconds.coding": undefined, "lead_time_parts_seconds.pickup": undefined,
		"lead_time_parts_seconds.review": undefined, "lead_time_parts_seconds.deploy": undefined,
		"failed_deployments": 0, "failed_deployments_inferred": 0, "failed_deploy_attempts": 0, "change_failure_rate": undefined,
		"failed_deployment_recovery_seconds.p50": undefined, "failed_deployment_recovery_seconds.p85": undefined,
		"failed_deployment_recovery_seconds.count": 0, "failed_deployment_recovery_seconds.sum": 0.0,
		"time_to_restore_seconds.p50": undefined, "time_to_restore_seconds.p85": undefined,
		"time_to_restore_seconds.count": 0, "time_to_restore_seconds.sum": 0.0,
		"rework_rate":                undefined,
		"tiers.deployment_frequency": "", "tiers.lead_time": "", "tiers.change_failure_rate": "",
		"tiers.failed_deployment_recovery": "",
	}
	// (no team): d50 (billing-batch, team ""), c50 (team "ghost", repository
	// acme/tools) and i50 (no team, no service).
	noTeam = map[string]any{
		"deployments": 1, "deployment_frequency_per_day": 1.0 / 27.5,
		// Jun 10: weeks [0 1 0 0] -> 0; the month 1 -> medium.
		"deploy_days_per_week_median": 0.0, "deploy_days_per_month_median": 1.0,
		"deployments_per_deploy_day_median": 1.0,
		"changes_shipped":                   1, "untracked": 0, "undeployed": 0, "undeployed_age_seconds.p50": undefined,
		"lead_time_seconds.p50": 2 * h, "lead_time_seconds.p85": 2 * h, "lead_time_seconds.p95": 2 * h,
		"lead_time_seconds.count": 1, "lead_time_seconds.sum": 2 * h,
		"lead_time_parts_seconds.coding": 1 * h, "lead_time_parts_seconds.pickup": 600.0,
		"lead_time_parts_seconds.review": 1200.0, "lead_time_parts_seconds.deploy": 1200.0,
		"failed_deployments": 0, "failed_deployments_inferred": 0, "failed_deploy_attempts": 0, "change_failure_rate": 0.0,
		"failed_deployment_recovery_seconds.p50": undefined, "failed_deployment_recovery_seconds.p85": undefined,
		"failed_deployment_recovery_seconds.count": 0, "failed_deployment_recovery_seconds.sum": 0.0,
		"time_to_restore_seconds.p50": 600.0, "time_to_restore_seconds.p85": 600.0,
		"time_to_restore_seconds.count": 1, "time_to_restore_seconds.sum": 600.0,
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
	// search under 2021: median week 3 deploy days, but one deployment on the
	// median deploy day -> high, as in 2023; lead time exactly 1 hour -> high (elite
	// is "less than one hour"); 0% -> elite.
	if r.Table != "2021" || s.DeploymentFrequency != dora.High || s.LeadTime != dora.High || s.ChangeFailureRate != dora.Elite {
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

	// July, reported on Aug 1: no fact but c12 (undeployed, merged Jul 1 12:00, 30.5
	// days old on Aug 1) is in it, yet every service that deployed to production in
	// June is listed, graded low: checkout and ledger, indexer, and billing-batch
	// under (no team). tools (a change only) and the incident without a service are
	// not; idle never deployed and has no tier.
	in = aggregatetest.Input()
	in.From, in.To = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	in.Now = in.To
	r = aggregate.DORA(in)
	if got := teamNames(r); !slices.Equal(got, []string{"payments", "search", "idle", aggregate.NoTeam}) {
		t.Fatalf("July: %v", got)
	}
	for _, tt := range []struct {
		team     string
		services []string
		tier     dora.Tier
	}{
		{"payments", []string{"checkout", "ledger"}, dora.Low},
		{"search", []string{"indexer"}, dora.Low},
		{"idle", nil, dora.NoTier},
		{aggregate.NoTeam, []string{"billing-batch"}, dora.Low},
	} {
		tm := r.Teams[slices.Index(teamNames(r), tt.team)]
		if got := serviceNames(tm); !slices.Equal(got, tt.services) {
			t.Errorf("July %s: services %v, want %v", tt.team, got, tt.services)
		}
		if tm.Tiers.DeploymentFrequency != tt.tier || tm.Deployments != 0 || tm.DeploymentFrequencyPerDay != aggregate.Some(0) {
			t.Errorf("July %s: tier %q, %d deployments, %v a day; want %q, none", tt.team, tm.Tiers.DeploymentFrequency, tm.Deployments, tm.DeploymentFrequencyPerDay, tt.tier)
		}
		for _, s := range tm.Services {
			if s.Tiers.DeploymentFrequency != tt.tier {
				t.Errorf("July %s/%s: tier %q, want %q", tt.team, s.Name, s.Tiers.DeploymentFrequency, tt.tier)
			}
		}
	}
	if p := r.Teams[0]; p.Undeployed != 1 || p.UndeployedAgeSeconds != aggregate.Some(30.5*d) || p.ChangeFailureRate.Defined() {
		t.Errorf("payments in July: %+v", p.Figures)
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

// TestDORAReportAs folds payments' two services into one and (no team)'s three
// into one, and keeps search's: a folded service's figures are computed from all
// its facts together, so with every service of a team folded they are the team's.
func TestDORAReportAs(t *testing.T) {
	in := aggregatetest.Input()
	asked := map[string]bool{}
	in.ReportAs = func(team, service string) string {
		asked[team+"/"+service] = true
		if team == "search" {
			return service
		}
		return "folded"
	}
	r := aggregate.DORA(in)
	pay, srch, none := r.Teams[0], r.Teams[1], r.Teams[3]
	for _, c := range []struct {
		team aggregate.Team
		want map[string]any
	}{{pay, payments}, {none, noTeam}} {
		if got := serviceNames(c.team); !slices.Equal(got, []string{"folded"}) {
			t.Fatalf("%s services %v, want [folded]", c.team.Name, got)
		}
		checkFigures(t, c.team.Name+"/folded", c.team.Services[0].Figures, c.want)
		checkFigures(t, c.team.Name, c.team.Figures, c.want)
	}
	if got := serviceNames(srch); !slices.Equal(got, []string{"indexer"}) {
		t.Fatalf("search services %v, want [indexer]", got)
	}
	checkFigures(t, "search/indexer", srch.Services[0].Figures, search)
	// Asked by the team a fact is reported under and the service its facts name:
	// a change's repository's name when it has no service, NoService for none.
	for _, k := range []string{
		"payments/checkout", "payments/ledger", "search/indexer",
		aggregate.NoTeam + "/billing-batch", aggregate.NoTeam + "/tools", aggregate.NoTeam + "/" + aggregate.NoService,
	} {
		if !asked[k] {
			t.Errorf("ReportAs never asked about %s (asked: %v)", k, asked)
		}
	}
	if len(asked) != 6 {
		t.Errorf("ReportAs asked about %v, want only the 6 services of the facts", asked)
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
		aggregate.KeyFailedDeploymentsInferred:       {"gh:d22"},
		aggregate.KeyChangeFailureRate:               {"gh:d2", "gh:d22", "gh:d5"},
		aggregate.KeyFailedDeploymentRecoverySeconds: {"gh:d2", "gh:d5"},
		aggregate.KeyFailedDeployAttempts:            {"gh:d13", "gh:d9"},
		aggregate.KeyReworkRate:                      {"gh:d3", "gh:d6"},
		aggregate.KeyDeployments:                     {"gh:d1", "gh:d2", "gh:d20", "gh:d21", "gh:d22", "gh:d3", "gh:d4", "gh:d5", "gh:d6", "gh:d7"},
		aggregate.KeyDeploymentsPerDeployDayMedian:   {"gh:d1", "gh:d2", "gh:d20", "gh:d21", "gh:d22", "gh:d3", "gh:d4", "gh:d5", "gh:d6", "gh:d7"},
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
	if got := len(pay.Explain); got != len(aggregate.ExplainFigures()) {
		t.Errorf("payments explain has %d keys, want %d", got, len(aggregate.ExplainFigures()))
	}
	// Keys without facts are empty lists, not missing.
	if got, ok := r.Teams[1].Explain[aggregate.KeyTimeToRestoreSeconds]; !ok || got == nil || len(got) != 0 {
		t.Errorf("search TTR explain = %#v", got)
	}
	if got := pay.Services[1].Explain[aggregate.KeyFailedDeployments]; !slices.Equal(got, []string{"gh:d22"}) {
		t.Errorf("ledger failed deployments explain = %v", got)
	}

	// Every fact behind a figure is in Facts once, sorted by ref, with its values:
	// payments' 9 changes, search's 3 and c50; payments' 10 production deployments
	// and 2 attempts, search's 12 and d50; the 4 resolved incidents (i2 is open and
	// behind no figure).
	ref := func(source, id string) string { return aggregate.Ref(source, id) }
	var changes, deployments, incidents []string
	for _, c := range r.Facts.Changes {
		changes = append(changes, ref(c.Source, c.ID))
	}
	for _, d := range r.Facts.Deployments {
		deployments = append(deployments, ref(d.Source, d.ID))
	}
	for _, i := range r.Facts.Incidents {
		incidents = append(incidents, ref(i.Source, i.ID))
	}
	wantChanges := []string{"gh:c1", "gh:c10", "gh:c11", "gh:c2", "gh:c20", "gh:c21", "gh:c22", "gh:c3", "gh:c4", "gh:c5", "gh:c50", "gh:c7", "gh:c9"}
	wantDeployments := []string{"gh:d1", "gh:d13", "gh:d2", "gh:d20", "gh:d21", "gh:d22", "gh:d3", "gh:d30", "gh:d31", "gh:d32",
		"gh:d33", "gh:d34", "gh:d35", "gh:d36", "gh:d37", "gh:d38", "gh:d39", "gh:d4", "gh:d40", "gh:d41", "gh:d5", "gh:d50", "gh:d6", "gh:d7", "gh:d9"}
	wantIncidents := []string{"pd:i1", "pd:i3", "pd:i4", "pd:i50"}
	if !slices.Equal(changes, wantChanges) || !slices.Equal(deployments, wantDeployments) || !slices.Equal(incidents, wantIncidents) {
		t.Errorf("facts:\n changes %v\n   want %v\n deployments %v\n   want %v\n incidents %v\n   want %v",
			changes, wantChanges, deployments, wantDeployments, incidents, wantIncidents)
	}
	if d := r.Facts.Deployments[slices.Index(deployments, "gh:d22")]; !slices.Equal(d.FailureReasons, []string{"incident_window"}) {
		t.Errorf("d22's reasons %v", d.FailureReasons)
	}

	// Without Explain, no facts.
	if r := aggregate.DORA(aggregatetest.Input()); r.Facts != nil {
		t.Errorf("facts without asking: %+v", r.Facts)
	}
}

// day is 00:00 UTC of a day in 2026.
func day(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }

// deploys are production deployments of team a's service svc finishing at the given
// times.
func deploys(svc string, at ...time.Time) []schema.DeploymentFact {
	var out []schema.DeploymentFact
	for i, t := range at {
		out = append(out, aggregatetest.Production(fmt.Sprintf("%s-%d", svc, i), "a", svc, t, t))
	}
	return out
}

// TestDeploymentFrequencyTier grades deploy days, over June 2026 (four whole weeks,
// [Jun 1, Jun 29), reported on Jun 29), with both tables.
func TestDeploymentFrequencyTier(t *testing.T) {
	var monWedFri, twiceMonWedFri, tenOnMondays []time.Time
	for d := day(6, 1); d.Before(day(6, 29)); d = d.AddDate(0, 0, 1) {
		switch d.Weekday() {
		case time.Monday, time.Wednesday, time.Friday:
			monWedFri = append(monWedFri, d.Add(10*time.Hour))
			twiceMonWedFri = append(twiceMonWedFri, d.Add(10*time.Hour), d.Add(15*time.Hour))
		}
		if d.Weekday() == time.Monday {
			for i := range 10 {
				tenOnMondays = append(tenOnMondays, d.Add(time.Duration(9+i)*time.Hour))
			}
		}
	}
	tests := []struct {
		name     string
		facts    []schema.DeploymentFact
		from     time.Time
		tier     dora.Tier // the same under 2023 and 2021
		perDay   aggregate.Value
		services []string
	}{
		// Weeks [3 3 3 3] -> 3 deploy days; one deployment on each: median 1, not
		// "multiple deploys per day": high, not elite.
		{"once on Mon, Wed, Fri", deploys("svc", monWedFri...), day(6, 1), dora.High, aggregate.Some(1), []string{"svc"}},
		// The same days, twice each: median 2 -> elite.
		{"twice on Mon, Wed, Fri", deploys("svc", twiceMonWedFri...), day(6, 1), dora.Elite, aggregate.Some(2), []string{"svc"}},
		// Ten a day on Mondays: weeks [1 1 1 1] -> 1 deploy day: high.
		{"ten on Mondays", deploys("svc", tenOnMondays...), day(6, 1), dora.High, aggregate.Some(10), []string{"svc"}},
		// Nothing in June, one deployment on May 20: low, and listed.
		{"deployed before the window", deploys("svc", day(5, 20)), day(6, 1), dora.Low, aggregate.None(), []string{"svc"}},
		// A rollout member before the window counts for nothing: never deployed.
		{"only a rollout member before", func() []schema.DeploymentFact {
			d := deploys("svc", day(5, 20))
			d[0].RolloutOf = "other"
			return d
		}(), day(6, 1), dora.NoTier, aggregate.None(), nil},
		// Deployed only after the window: never deployed as far as June knows.
		{"deployed after the window", deploys("svc", day(7, 2)), day(6, 1), dora.NoTier, aggregate.None(), nil},
		{"never deployed", nil, day(6, 1), dora.NoTier, aggregate.None(), nil},
	}
	for _, tt := range tests {
		for _, table := range []string{"2023", "2021"} {
			r := aggregate.DORA(aggregate.Input{
				Deployments: tt.facts, From: tt.from, To: day(6, 29), Now: day(6, 29), Table: table, Teams: []string{"a"},
			})
			a := r.Teams[0]
			if a.Tiers.DeploymentFrequency != tt.tier || a.DeploymentsPerDeployDayMedian != tt.perDay {
				t.Errorf("%s, %s: team tier %q, %v deployments on the median deploy day; want %q, %v",
					tt.name, table, a.Tiers.DeploymentFrequency, a.DeploymentsPerDeployDayMedian, tt.tier, tt.perDay)
			}
			if got := serviceNames(a); !slices.Equal(got, tt.services) {
				t.Fatalf("%s, %s: services %v, want %v", tt.name, table, got, tt.services)
			}
			for _, s := range a.Services {
				if s.Tiers.DeploymentFrequency != tt.tier {
					t.Errorf("%s, %s: service tier %q, want %q", tt.name, table, s.Tiers.DeploymentFrequency, tt.tier)
				}
			}
		}
	}
}

// TestWindowEndingInTheFuture: on Wednesday Nov 4 2026 12:00, a service that has
// deployed every Thursday since Oct 1 (Oct 1, 8, 15, 22, 29) reads the same over
// the current quarter [Oct 1, Jan 1), over [Oct 1, Nov 5) (to tomorrow) and over
// [Oct 1, Nov 4 12:00) (to now): 34.5 days have elapsed.
//
//   - per day: 5 / 34.5 = 0.1449..., not 5 / 92 = 0.054;
//   - weeks that have started: from Mon Sep 28 (only Thu Oct 1 of it in the window) to
//     Mon Nov 2 (no Thursday yet): [1 1 1 1 1 0], median 1 -> high. Counting the 8
//     weeks that have not started as weeks without deployments would give a median
//     of 0 over 14 weeks;
//   - months that have started: October 5, November 0: median 2.5. Counting
//     December too would give [5 0 0] and a median of 0, and the tier low.
func TestWindowEndingInTheFuture(t *testing.T) {
	now := time.Date(2026, 11, 4, 12, 0, 0, 0, time.UTC)
	thursdays := deploys("svc", day(10, 1).Add(9*time.Hour), day(10, 8).Add(9*time.Hour),
		day(10, 15).Add(9*time.Hour), day(10, 22).Add(9*time.Hour), day(10, 29).Add(9*time.Hour))
	for _, to := range []time.Time{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), day(11, 5), now} {
		for _, table := range []string{"2023", "2021"} {
			r := aggregate.DORA(aggregate.Input{
				Deployments: thursdays, From: day(10, 1), To: to, Now: now, Table: table, Teams: []string{"a"},
			})
			a := r.Teams[0]
			if !r.AsOf.Equal(now) || r.ElapsedDays() != 34.5 {
				t.Errorf("to %s: as of %s, %v days elapsed; want %s, 34.5", to, r.AsOf, r.ElapsedDays(), now)
			}
			checkValue(t, fmt.Sprintf("to %s, %s: per day", to, table), a.DeploymentFrequencyPerDay, 5/34.5)
			checkValue(t, fmt.Sprintf("to %s, %s: week median", to, table), a.DeployDaysPerWeekMedian, 1)
			checkValue(t, fmt.Sprintf("to %s, %s: month median", to, table), a.DeployDaysPerMonthMedian, 2.5)
			if a.Tiers.DeploymentFrequency != dora.High {
				t.Errorf("to %s, %s: tier %q, want high", to, table, a.Tiers.DeploymentFrequency)
			}
		}
	}
	// A window that has not started has nothing elapsed: no rate and no tier.
	r := aggregate.DORA(aggregate.Input{Deployments: thursdays, From: day(12, 1), To: day(12, 8), Now: now, Teams: []string{"a"}})
	if a := r.Teams[0]; a.DeploymentFrequencyPerDay.Defined() || a.Tiers.DeploymentFrequency != dora.NoTier || !r.AsOf.Equal(day(12, 1)) {
		t.Errorf("December, seen from November: %v a day, tier %q, as of %s", a.DeploymentFrequencyPerDay, a.Tiers.DeploymentFrequency, r.AsOf)
	}
}

func checkValue(t *testing.T, who string, got aggregate.Value, want float64) {
	t.Helper()
	if v, ok := got.Get(); !ok || math.Abs(v-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", who, got, want)
	}
}

// TestUndeployedAge: undeployed changes are aged at the earlier of now and the
// window's end, and never negatively. c10 was merged Jun 25 12:00, c9 Jun 19 12:00,
// c11 Jun 9 12:00 (payments, June).
func TestUndeployedAge(t *testing.T) {
	for _, tt := range []struct {
		name string
		now  time.Time
		want float64 // median over c10, c9, c11
	}{
		// Reported Jul 15, the window ended Jun 29 00:00: ages 3.5, 9.5 and 19.5
		// days, median 9.5 (not the 25.5 days to Jul 15).
		{"after the window", time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC), 9.5 * d},
		// Reported Jun 20 00:00: c10 was merged after it (a generator's or a
		// clock's future) and is 0 days old, not -5.5; c9 0.5 and c11 10.5 days:
		// median 0.5 day.
		{"merged after now", day(6, 20), 0.5 * d},
	} {
		in := aggregatetest.Input()
		in.Now = tt.now
		checkValue(t, tt.name, aggregate.DORA(in).Teams[0].UndeployedAgeSeconds, tt.want)
	}
	if got := aggregate.AgeSeconds(day(6, 2), day(6, 1)); got != 0 {
		t.Errorf("AgeSeconds of a change merged a day after: %d, want 0", got)
	}
}

// TestRollouts: api is deployed to production-eu (eu1, eu2) and, as part of the same
// rollouts, to production-us (us1 counted as eu1, us2 as eu2). eu2 failed (rolled
// back by eu3, recovered in 1 h) and us2 is marked failed and unplanned too; us3 was
// rolled out with eu3 and us4 with nothing in the window (eu4 finished in May). The
// rollout members count in no figure: 3 deployments (eu1, eu2, eu3), 1 failed,
// 1 unplanned (eu3), deploy days Jun 1, 2, 3.
func TestRollouts(t *testing.T) {
	dep := func(id, env string, finished time.Time, of string) schema.DeploymentFact {
		d := aggregatetest.Production(id, "a", "api", finished, finished)
		d.Environment, d.RolloutOf = env, of
		return d
	}
	eu2 := aggregatetest.Failed(dep("eu2", "production-eu", day(6, 2).Add(10*time.Hour), ""), 3600)
	eu2.FailureReasons = []string{"rolled_back"}
	us2 := aggregatetest.Failed(dep("us2", "production-us", day(6, 2).Add(10*time.Hour+5*time.Minute), "eu2"), 3000)
	facts := []schema.DeploymentFact{
		dep("eu4", "production-eu", day(5, 20), ""),
		dep("eu1", "production-eu", day(6, 1).Add(10*time.Hour), ""),
		dep("us1", "production-us", day(6, 1).Add(10*time.Hour+5*time.Minute), "eu1"),
		eu2, aggregatetest.Unplanned(us2, "rollback"),
		aggregatetest.Unplanned(dep("eu3", "production-eu", day(6, 2).Add(11*time.Hour), ""), "rollback"),
		aggregatetest.Unplanned(dep("us3", "production-us", day(6, 3).Add(11*time.Hour), "eu3"), "rollback"),
		dep("us4", "production-us", day(6, 4).Add(9*time.Hour), "eu4"),
	}
	facts[1].Rollout, facts[3].Rollout, facts[5].Rollout = []string{"us1"}, []string{"us2"}, []string{"us3"}
	r := aggregate.DORA(aggregate.Input{
		Deployments: facts, From: day(6, 1), To: day(6, 29), Now: day(6, 29), Teams: []string{"a"}, Explain: true,
	})
	for _, f := range []aggregate.Figures{r.Teams[0].Figures, r.Teams[0].Services[0].Figures} {
		checkFigures(t, "api with rollouts", f, map[string]any{
			"deployments": 3, "deployment_frequency_per_day": 3.0 / 28,
			// Deploy days Jun 1 and 2 (us3 and us4 on Jun 3 and 4 do not count):
			// weeks [2 0 0 0] -> 0; the month 2; [1 2] -> 1.5 a deploy day.
			"deploy_days_per_week_median": 0.0, "deploy_days_per_month_median": 2.0,
			"deployments_per_deploy_day_median": 1.5,
			"changes_shipped":                   0, "untracked": 0, "undeployed": 0, "undeployed_age_seconds.p50": undefined,
			"lead_time_seconds.p50": undefined, "lead_time_seconds.p85": undefined, "lead_time_seconds.p95": undefined,
			"lead_time_seconds.count": 0, "lead_time_seconds.sum": 0.0,
			"lead_time_parts_seconds.coding": undefined, "lead_time_parts_seconds.pickup": undefined,
			"lead_time_parts_seconds.review": undefined, "lead_time_parts_seconds.deploy": undefined,
			"failed_deployments": 1, "failed_deployments_inferred": 0, "failed_deploy_attempts": 0,
			"change_failure_rate": 1.0 / 3,
			// eu2 alone: 3600 s (us2's 3000 s does not count).
			"failed_deployment_recovery_seconds.p50": 3600.0, "failed_deployment_recovery_seconds.p85": 3600.0,
			"failed_deployment_recovery_seconds.count": 1, "failed_deployment_recovery_seconds.sum": 3600.0,
			"time_to_restore_seconds.p50": undefined, "time_to_restore_seconds.p85": undefined,
			"time_to_restore_seconds.count": 0, "time_to_restore_seconds.sum": 0.0,
			"rework_rate": 1.0 / 3,
			// Median week 0, month 2 -> medium; 33% -> low; 1 h -> high.
			"tiers.deployment_frequency": "medium", "tiers.lead_time": "", "tiers.change_failure_rate": "low",
			"tiers.failed_deployment_recovery": "high",
		})
	}
	if got := r.Teams[0].Explain[aggregate.KeyDeployments]; !slices.Equal(got, []string{"gh:eu1", "gh:eu2", "gh:eu3"}) {
		t.Errorf("explain deployments %v", got)
	}
	if got := len(r.Facts.Deployments); got != 3 || !slices.Equal(r.Facts.Deployments[0].Rollout, []string{"us1"}) {
		t.Errorf("explained deployments: %+v", r.Facts.Deployments)
	}
}
