package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/flowmeter/flowmeter/collectors/synthetic"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/refresh"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
)

func TestMain(m *testing.M) { clickhousetest.Main(m) }

// expansion is what Grafana and the ClickHouse plugin put in place of the
// variables and macros of a query: a value per variable ("" for All) and the time
// range.
type expansion struct {
	vars     map[string]string
	from, to time.Time
}

var conditionalAll = "$__conditionalAll("

// expand rewrites sql the way the plugin does: $__conditionalAll first (1=1 when
// its variable is at All), then the variables (a multi-value variable's values
// quoted and joined by commas), then the backend's time macros.
func (e expansion) expand(t *testing.T, sql string) string {
	t.Helper()
	for {
		i := strings.LastIndex(sql, conditionalAll)
		if i < 0 {
			break
		}
		args, end := macroArgs(t, sql, i+len(conditionalAll))
		if len(args) != 2 {
			t.Fatalf("$__conditionalAll with %d arguments in %s", len(args), sql)
		}
		name := strings.Trim(strings.TrimSpace(args[1]), "${}")
		v, ok := e.vars[name]
		if !ok {
			t.Fatalf("$__conditionalAll names unknown variable %q", name)
		}
		phrase := args[0]
		if v == "" {
			phrase = "1=1"
		}
		sql = sql[:i] + phrase + sql[end:]
	}
	for name, v := range e.vars {
		value := "'" + v + "'"
		if name == "bucket" {
			value = v
		}
		// :singlequote wraps each value in quotes with its own quotes escaped.
		sql = strings.ReplaceAll(sql, "${"+name+":singlequote}", "'"+strings.ReplaceAll(v, "'", `\'`)+"'")
		sql = strings.ReplaceAll(sql, "${"+name+"}", value)
		sql = regexp.MustCompile(`\$`+name+`\b`).ReplaceAllLiteralString(sql, value)
	}
	from, to := fmt.Sprintf("toDateTime(%d)", e.from.Unix()), fmt.Sprintf("toDateTime(%d)", e.to.Unix())
	for {
		i := strings.Index(sql, "$__timeFilter(")
		if i < 0 {
			break
		}
		args, end := macroArgs(t, sql, i+len("$__timeFilter("))
		c := strings.TrimSpace(args[0])
		sql = sql[:i] + c + " >= " + from + " AND " + c + " <= " + to + sql[end:]
	}
	sql = strings.ReplaceAll(sql, "$__fromTime", from)
	sql = strings.ReplaceAll(sql, "$__toTime", to)
	if strings.Contains(sql, "$") {
		t.Fatalf("unexpanded $ in %s", sql)
	}
	return sql
}

// macroArgs splits the arguments of a macro whose "(" ends at open, at commas
// outside brackets, and returns them with the index just past its ")".
func macroArgs(t *testing.T, sql string, open int) ([]string, int) {
	depth, start := 1, open
	var args []string
	for i := open; i < len(sql); i++ {
		switch sql[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return append(args, sql[start:i]), i + 1
			}
		case ',':
			if depth == 1 {
				args = append(args, sql[start:i])
				start = i + 1
			}
		}
	}
	t.Fatalf("unclosed macro in %s", sql)
	return nil, 0
}

// target is one ClickHouse query of a dashboard: a panel's or a variable's.
type target struct {
	dashboard, panel, sql string
	stat                  bool
}

func clickHouseTargets(t *testing.T) []target {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	var out []target
	for _, b := range all {
		var d struct {
			Panels []struct {
				Type, Title string
				Targets     []struct {
					RawSQL string `json:"rawSql"`
				}
			}
			Templating struct {
				List []struct {
					Name       string
					Type       string
					Datasource struct{ UID string }
					Query      any
				}
			}
		}
		if err := json.Unmarshal(b.JSON, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			for _, q := range p.Targets {
				if q.RawSQL != "" {
					out = append(out, target{b.UID, p.Title, q.RawSQL, p.Type == kindStat})
				}
			}
		}
		for _, v := range d.Templating.List {
			if s, ok := v.Query.(string); ok && v.Datasource.UID == ClickHouseUID {
				out = append(out, target{b.UID, "variable " + v.Name, s, false})
			}
		}
	}
	return out
}

// demoStore is a migrated ClickHouse store holding a synthetic organisation's
// records and facts, ending now, so the quarters of the executive overview have
// data; it returns a connection to its database and the facts.
func demoStore(t *testing.T, now time.Time) (driver.Conn, *config.Config, store.Store) {
	t.Helper()
	ctx := context.Background()
	opts := clickhousetest.Open(t)
	st, err := clickhouse.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	o := synthetic.Options{Seed: 7, Now: now, Days: 190, ReposPerTeam: 2, PullRequestsPerRepoPerWeek: 6}
	if _, err := synthetic.Generate(ctx, o, func(b *schema.Batch) error { return st.Write(ctx, b) }); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	for _, team := range synthetic.NewOrg(o).Teams {
		cfg.Teams = append(cfg.Teams, config.Team{Name: team.Name, Repositories: team.Repositories, Services: team.Services,
			TicketProjects: []string{team.TicketProject}, Members: team.Members})
	}
	if _, err := refresh.Run(ctx, st, cfg, refresh.Options{Now: now}); err != nil {
		t.Fatal(err)
	}
	conn, err := ch.Open(&ch.Options{Addr: []string{opts.Addr}, Auth: ch.Auth{Database: opts.Database}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, cfg, st
}

// query runs sql and returns its rows, each value as the driver scans it.
func query(ctx context.Context, conn driver.Conn, sql string) ([][]any, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	types := rows.ColumnTypes()
	for rows.Next() {
		row := make([]any, len(types))
		for i, ct := range types {
			row[i] = newOf(ct.ScanType())
		}
		if err := rows.Scan(row...); err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// TestSQLRunsOnClickHouse runs every ClickHouse query of the dashboards, its
// variables and macros expanded as Grafana would, with the variables at All and at
// one team and service, against a store holding the demo organisation's facts.
func TestSQLRunsOnClickHouse(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour)
	conn, cfg, st := demoStore(t, now)
	ctx := context.Background()
	team := cfg.Teams[0].Name
	service := cfg.Teams[0].Services[0]
	from, to := now.Add(-90*24*time.Hour), now
	cases := map[string]expansion{
		"all":      {vars: map[string]string{"team": "", "service": "", "bucket": "toMonday"}, from: from, to: to},
		"one team": {vars: map[string]string{"team": team, "service": service, "bucket": "toStartOfMonth"}, from: from, to: to},
		"by day":   {vars: map[string]string{"team": "", "service": "", "bucket": "toStartOfDay"}, from: from, to: to},
		"quarter":  {vars: map[string]string{"team": team, "service": "", "bucket": "toStartOfQuarter"}, from: from, to: to},
	}
	targets := clickHouseTargets(t)
	if len(targets) < 20 {
		t.Fatalf("only %d ClickHouse queries", len(targets))
	}
	for name, e := range cases {
		for _, tg := range targets {
			sql := e.expand(t, tg.sql)
			rows, err := query(ctx, conn, sql)
			if err != nil {
				t.Errorf("%s, %s / %s: %v\n%s", name, tg.dashboard, tg.panel, err, sql)
				continue
			}
			if len(rows) == 0 && (name == "all" || tg.panel != "Undeployed changes") {
				t.Errorf("%s, %s / %s: no rows", name, tg.dashboard, tg.panel)
			}
			if strings.Contains(tg.sql, " AS time,") {
				// Panels over $bucket start each bucket; the others are weekly or daily.
				fn := "toStartOfDay"
				switch {
				case strings.Contains(tg.sql, "${bucket}"):
					fn = e.vars["bucket"]
				case strings.Contains(tg.sql, "toMonday("):
					fn = "toMonday"
				}
				for _, row := range rows {
					if at := *row[0].(*time.Time); !bucketStart(at.UTC(), fn) {
						t.Errorf("%s, %s / %s: %v does not start a UTC %s bucket", name, tg.dashboard, tg.panel, at, fn)
						break
					}
				}
			}
		}
	}

	// The figures agree with the report's for the same team and window.
	facts := aggregate.Input{From: from, To: to.Add(time.Second), Now: now, Teams: cfg.TeamNames(), Team: team}
	for c, err := range st.ChangeFacts(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		facts.Changes = append(facts.Changes, c)
	}
	for d, err := range st.DeploymentFacts(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		facts.Deployments = append(facts.Deployments, d)
	}
	report := aggregate.DORA(facts).Teams[0].Figures
	e := cases["one team"]
	e.vars["service"] = ""
	for _, check := range []struct {
		panel string
		want  aggregate.Value
	}{
		{"Lead time (median)", report.LeadTimeSeconds.P50},
		{"Change failure rate", report.ChangeFailureRate},
		{"Recovery (median)", report.FailedDeploymentRecoverySeconds.P50},
		{"Rework rate", report.ReworkRate},
	} {
		want, ok := check.want.Get()
		if !ok {
			t.Errorf("%s: the report has no value for team %s", check.panel, team)
			continue
		}
		got := statValue(t, ctx, conn, e, "flowmeter-team-delivery", check.panel)
		t.Logf("%s of %s: dashboard %v, report %v", check.panel, team, got, want)
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s of %s: dashboard %v, report %v", check.panel, team, got, want)
		}
	}
}

func statValue(t *testing.T, ctx context.Context, conn driver.Conn, e expansion, dashboard, panel string) float64 {
	t.Helper()
	for _, tg := range clickHouseTargets(t) {
		if tg.dashboard != dashboard || tg.panel != panel {
			continue
		}
		rows, err := query(ctx, conn, e.expand(t, tg.sql))
		if err != nil || len(rows) != 1 {
			t.Fatalf("%s: %v, %d rows", panel, err, len(rows))
		}
		return toFloat(t, rows[0][0])
	}
	t.Fatalf("no panel %s / %s", dashboard, panel)
	return 0
}

// TestPercentileMatchesReports checks the SQL percentile against
// aggregate.Percentile, interpolation included.
func TestPercentileMatchesReports(t *testing.T) {
	opts := clickhousetest.Open(t)
	if err := clickhousetest.Exec(opts.Addr, "CREATE DATABASE `"+opts.Database+"`"); err != nil {
		t.Fatal(err)
	}
	conn, err := ch.Open(&ch.Options{Addr: []string{opts.Addr}, Auth: ch.Auth{Database: opts.Database}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	for _, values := range [][]int64{{7}, {1, 2}, {10, 1, 4, 3}, {5, 100, 20, 3, 8, 13, 2}} {
		list := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(values)), ","), "[]")
		for _, q := range []float64{0.5, 0.85, 0.95} {
			rows, err := query(ctx, conn, "SELECT "+percentile(q, "v", "v > 0")+" FROM (SELECT arrayJoin(["+list+"]) AS v)")
			if err != nil {
				t.Fatal(err)
			}
			want, _ := aggregate.Percentile(values, q).Get()
			if got := toFloat(t, rows[0][0]); math.Abs(got-want) > 1e-9 {
				t.Errorf("p%v of %v: SQL %v, reports %v", q*100, values, got, want)
			}
		}
	}
	rows, err := query(ctx, conn, "SELECT "+percentile(0.5, "v", "v > 100")+" FROM (SELECT arrayJoin([1, 2]) AS v)")
	if err != nil {
		t.Fatal(err)
	}
	if p := reflect.ValueOf(rows[0][0]); p.Kind() != reflect.Pointer || !p.Elem().IsNil() {
		t.Errorf("percentile of no values: %v, want NULL", p.Elem())
	}
}

// bucketStart says whether at (in UTC) starts a bucket of the ClickHouse function fn.
func bucketStart(at time.Time, fn string) bool {
	if at.Hour() != 0 || at.Minute() != 0 || at.Second() != 0 {
		return false
	}
	switch fn {
	case "toMonday":
		return at.Weekday() == time.Monday
	case "toStartOfMonth":
		return at.Day() == 1
	case "toStartOfQuarter":
		return at.Day() == 1 && (at.Month()-1)%3 == 0
	}
	return true
}
