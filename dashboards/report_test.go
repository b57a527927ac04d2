package dashboards

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/store"
)

// allTeams stands for the team variable at All.
const allTeams = "All"

// TestExecutiveMatchesDORAReport checks that the executive overview shows, for every
// team of the demo organisation and for All, this quarter's and last quarter's
// figures as the DORA report (aggregate.DORA, what `flowmeter report dora` renders)
// gives them for the same calendar quarter in UTC: deployments, deployment frequency
// per day, lead time median, change failure rate, recovery median and rework rate,
// from the stat panels (this quarter), the by-team table (both quarters) and the
// trend panels (both quarters).
//
// Windows: the executive overview does not use $__timeFilter; its quarters are fixed
// bounds, this_q <= t for this quarter (no upper bound) and last_q <= t < this_q for
// the last, which is the report's half-open [from, to). The report's window of this
// quarter ends at the next quarter's start, so the test checks that no fact sits at
// or after it, where the SQL (no upper bound) and the report would part.
//
// Now: the SQL's now() is replaced with a fixed time, the report's Now, in the middle
// of a quarter, so both sides count the same days elapsed of the current quarter
// (docs/metrics.md: a window ending in the future counts its days up to now).
//
// All: the report has no figures over every team; they are the report's with every
// fact pooled into one team (aggregate.Input with no Teams puts every fact under
// "(no team)").
func TestExecutiveMatchesDORAReport(t *testing.T) {
	now := time.Date(2026, time.November, 18, 14, 0, 0, 0, time.UTC)
	conn, cfg, st := demoStore(t, now)
	ctx := context.Background()

	thisQ := time.Date(now.Year(), now.Month()-(now.Month()-1)%3, 1, 0, 0, 0, 0, time.UTC)
	lastQ, nextQ := thisQ.AddDate(0, -3, 0), thisQ.AddDate(0, 3, 0)
	windows := []struct {
		period, label string
		from, to      time.Time
	}{
		{"this quarter", quarterName(thisQ), thisQ, nextQ},
		{"last quarter", quarterName(lastQ), lastQ, thisQ},
	}

	var base aggregate.Input
	var err error
	if base.Changes, err = store.All(st.ChangeFacts(ctx, store.Filter{})); err != nil {
		t.Fatal(err)
	}
	if base.Deployments, err = store.All(st.DeploymentFacts(ctx, store.Filter{})); err != nil {
		t.Fatal(err)
	}
	if base.Incidents, err = store.All(st.IncidentFacts(ctx, store.Filter{})); err != nil {
		t.Fatal(err)
	}
	for _, d := range base.Deployments {
		if !d.FinishedAt.Before(nextQ) {
			t.Fatalf("deployment %s finished at %v, not before the next quarter", d.ID, d.FinishedAt)
		}
	}
	for _, c := range base.Changes {
		if !c.ShippedAt.Before(nextQ) {
			t.Fatalf("change %s shipped at %v, not before the next quarter", c.ID, c.ShippedAt)
		}
	}
	report := func(team string, from, to time.Time) aggregate.Figures {
		in := base
		in.From, in.To, in.Now = from, to, now
		if team != allTeams {
			in.Teams, in.Team = cfg.TeamNames(), team
		}
		r := aggregate.DORA(in)
		if len(r.Teams) == 0 {
			return aggregate.Figures{}
		}
		return r.Teams[0].Figures
	}

	// The teams as the dashboard's $team variable lists them: every configured team,
	// and (no team) if some facts have none.
	var teams []string
	for _, tg := range clickHouseTargets(t) {
		if tg.dashboard == "flowmeter-executive" && tg.panel == "variable team" {
			rows := namedRows(t, ctx, conn, expansion{vars: map[string]string{}}.expand(t, tg.sql))
			for _, r := range rows {
				if name := fmt.Sprint(deref(r["name"])); !slices.Contains(teams, name) {
					teams = append(teams, name)
				}
			}
		}
	}
	for _, name := range cfg.TeamNames() {
		if !slices.Contains(teams, name) {
			t.Fatalf("the team variable lists %v, not %s", teams, name)
		}
	}
	slices.Sort(teams)
	teams = append(teams, allTeams)

	panelSQL := func(title string, team string) string {
		t.Helper()
		for _, tg := range clickHouseTargets(t) {
			if tg.dashboard != "flowmeter-executive" || tg.panel != title {
				continue
			}
			if strings.Contains(tg.sql, "$__timeFilter") {
				t.Fatalf("%s uses $__timeFilter: the test's windows assume fixed quarters", title)
			}
			v := team
			if team == allTeams {
				v = ""
			}
			// The time range is not used by the executive overview's SQL.
			sql := expansion{vars: map[string]string{"team": v}, from: lastQ, to: now}.expand(t, tg.sql)
			return strings.ReplaceAll(sql, "now()", fmt.Sprintf("toDateTime(%d, 'UTC')", now.Unix()))
		}
		t.Fatalf("no executive panel %q", title)
		return ""
	}

	compared := 0
	check := func(where, figure string, got any, want aggregate.Value) {
		t.Helper()
		compared++
		g, gok := number(got)
		w, wok := want.Get()
		switch {
		case gok != wok:
			t.Errorf("%s, %s: dashboard %v (defined %v), report %v (defined %v)", where, figure, g, gok, w, wok)
		case gok && !closeTo(g, w):
			t.Errorf("%s, %s: dashboard %v, report %v", where, figure, g, w)
		}
	}
	count := func(n int) aggregate.Value { return aggregate.Some(float64(n)) }

	for _, team := range teams {
		// The stat panels: this quarter.
		this := report(team, windows[0].from, windows[0].to)
		for _, s := range []struct {
			panel string
			want  aggregate.Value
		}{
			{"Deployment frequency", this.DeploymentFrequencyPerDay},
			{"Lead time (median)", this.LeadTimeSeconds.P50},
			{"Change failure rate", this.ChangeFailureRate},
			{"Failed deployment recovery (median)", this.FailedDeploymentRecoverySeconds.P50},
			{"Rework rate", this.ReworkRate},
		} {
			rows := namedRows(t, ctx, conn, panelSQL(s.panel, team))
			if len(rows) != 1 {
				t.Fatalf("%s / %s: %d rows", team, s.panel, len(rows))
			}
			for _, v := range rows[0] {
				check(team+", this quarter, stat", s.panel, v, s.want)
			}
		}

		// The table: each team of the selection, both quarters.
		table := namedRows(t, ctx, conn, panelSQL("By team: this quarter and last", team))
		selected := []string{team}
		if team == allTeams {
			selected = teams[:len(teams)-1]
		}
		for _, name := range selected {
			for _, w := range windows {
				want := report(name, w.from, w.to)
				var row map[string]any
				for _, r := range table {
					if deref(r["team"]) == name && deref(r["period"]) == w.period {
						row = r
					}
				}
				where := fmt.Sprintf("%s, %s, table row %s", team, w.period, name)
				if row == nil {
					// The table's rows come from the deployments; a team shipping
					// changes with no deployment of its own would lose its lead time.
					if want.Deployments > 0 || want.LeadTimeSeconds.Count > 0 {
						t.Errorf("%s: no row; the report has %d deployments and %d lead times", where, want.Deployments, want.LeadTimeSeconds.Count)
					}
					continue
				}
				check(where, "deployments", row["deployments"], count(want.Deployments))
				check(where, "deployments_per_day", row["deployments_per_day"], want.DeploymentFrequencyPerDay)
				check(where, "lead_time_p50", row["lead_time_p50"], want.LeadTimeSeconds.P50)
				check(where, "change_failure_rate", row["change_failure_rate"], want.ChangeFailureRate)
				check(where, "recovery_p50", row["recovery_p50"], want.FailedDeploymentRecoverySeconds.P50)
				check(where, "rework_rate", row["rework_rate"], want.ReworkRate)
			}
		}
		for _, r := range table {
			if team != allTeams && deref(r["team"]) != team {
				t.Errorf("%s: table row of team %v", team, deref(r["team"]))
			}
		}

		// The trends: both quarters.
		for _, tr := range []struct {
			panel   string
			figures func(aggregate.Figures) map[string]aggregate.Value
			some    func(aggregate.Figures) bool
		}{
			{"Deployment frequency by quarter",
				func(f aggregate.Figures) map[string]aggregate.Value {
					return map[string]aggregate.Value{"deployments_per_day": f.DeploymentFrequencyPerDay}
				},
				func(f aggregate.Figures) bool { return f.Deployments > 0 }},
			{"Lead time median by quarter",
				func(f aggregate.Figures) map[string]aggregate.Value {
					return map[string]aggregate.Value{"lead_time_p50": f.LeadTimeSeconds.P50}
				},
				func(f aggregate.Figures) bool { return f.LeadTimeSeconds.Count > 0 }},
			{"Change failure and rework rate by quarter",
				func(f aggregate.Figures) map[string]aggregate.Value {
					return map[string]aggregate.Value{"change_failure_rate": f.ChangeFailureRate, "rework_rate": f.ReworkRate}
				},
				func(f aggregate.Figures) bool { return f.Deployments > 0 }},
			{"Recovery median by quarter",
				func(f aggregate.Figures) map[string]aggregate.Value {
					return map[string]aggregate.Value{"recovery_p50": f.FailedDeploymentRecoverySeconds.P50}
				},
				func(f aggregate.Figures) bool { return f.Deployments > 0 }},
		} {
			rows := namedRows(t, ctx, conn, panelSQL(tr.panel, team))
			for _, w := range windows {
				want := report(team, w.from, w.to)
				where := fmt.Sprintf("%s, %s, %s", team, w.period, tr.panel)
				var row map[string]any
				for _, r := range rows {
					if deref(r["quarter"]) == w.label {
						row = r
					}
				}
				if row == nil {
					if tr.some(want) {
						t.Errorf("%s: no row for %s", where, w.label)
					}
					continue
				}
				for column, v := range tr.figures(want) {
					check(where, column, row[column], v)
				}
			}
		}
	}
	t.Logf("%d figures compared over %d team selections and two quarters", compared, len(teams))
	if compared < 100 {
		t.Errorf("only %d figures compared", compared)
	}
}

// quarterName is a quarter's label as the trend panels write it, like 2026-Q3.
func quarterName(start time.Time) string {
	return fmt.Sprintf("%d-Q%d", start.Year(), (int(start.Month())-1)/3+1)
}

// closeTo compares two figures with a relative tolerance of 1e-9.
func closeTo(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) || a == b
}

// namedRows runs sql and returns its rows as maps from column name to the value as
// the driver scans it.
func namedRows(t *testing.T, ctx context.Context, conn driver.Conn, sql string) []map[string]any {
	t.Helper()
	rows, err := query(ctx, conn, sql)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	names, err := columns(ctx, conn, sql)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		out[i] = map[string]any{}
		for j, v := range r {
			out[i][names[j]] = v
		}
	}
	return out
}

// columns is the names of sql's result columns.
func columns(ctx context.Context, conn driver.Conn, sql string) ([]string, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns(), nil
}

// deref is a scanned value with its pointers followed; nil for NULL.
func deref(v any) any {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	return rv.Interface()
}

// number reads a scanned number; false for NULL, NaN or a value not there.
func number(v any) (float64, bool) {
	switch x := deref(v).(type) {
	case nil:
		return 0, false
	default:
		rv := reflect.ValueOf(x)
		var f float64
		switch {
		case rv.CanFloat():
			f = rv.Float()
		case rv.CanInt():
			f = float64(rv.Int())
		case rv.CanUint():
			f = float64(rv.Uint())
		default:
			return 0, false
		}
		return f, !math.IsNaN(f)
	}
}
