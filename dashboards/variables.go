package dashboards

import (
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// queries makes ClickHouse table-format queries of sqls, with reference ids A, B, ...
func queries(sqls ...string) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(sqls))
	for i, s := range sqls {
		out[i] = NewClickHouseQuery(s).RefID(string(rune('A' + i)))
	}
	return out
}

// series makes ClickHouse time-series queries of sqls: each selects the time first.
func series(sqls ...string) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(sqls))
	for i, s := range sqls {
		out[i] = NewClickHouseQuery(s).RefID(string(rune('A' + i))).TimeSeries()
	}
	return out
}

func allOption() dashboard.VariableOption {
	return dashboard.VariableOption{
		Selected: cog.ToPtr(true),
		Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
		Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
	}
}

// teamVariable is $team: the teams of the facts of tables (the deployment and
// change facts when none is named), several at once, All by default.
func teamVariable(tables ...string) *dashboard.QueryVariableBuilder {
	if len(tables) == 0 {
		tables = []string{"deployment_facts", "change_facts"}
	}
	var parts []string
	for _, t := range tables {
		parts = append(parts, "SELECT DISTINCT "+teamExpr+" AS name FROM "+t+" FINAL")
	}
	q := strings.Join(parts, "\nUNION ALL\n")
	return dashboard.NewQueryVariableBuilder("team").
		Label("Team").
		Description("The teams whose facts the panels show; facts of no configured team are (no team).").
		Datasource(ClickHouseDatasource()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnDashboardLoad).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllowCustomValue(false).
		Current(allOption())
}

// serviceVariable is $service: the services of the chosen teams' deployments and
// changes.
func serviceVariable() *dashboard.QueryVariableBuilder {
	q := sqlf("SELECT DISTINCT "+deployServiceExpr+" AS name FROM deployment_facts FINAL WHERE "+teamFilter,
		"UNION ALL",
		"SELECT DISTINCT "+changeServiceExpr+" AS name FROM change_facts FINAL WHERE "+teamFilter)
	return dashboard.NewQueryVariableBuilder("service").
		Label("Service").
		Description("The services whose facts the panels show, among the chosen teams'.").
		Datasource(ClickHouseDatasource()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnDashboardLoad).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllowCustomValue(false).
		Current(allOption())
}

// Buckets maps the $bucket choices to the ClickHouse function that starts each
// bucket (weeks start on Monday, in UTC).
var Buckets = []struct{ Name, Function string }{
	{"day", "toStartOfDay"},
	{"week", "toMonday"},
	{"month", "toStartOfMonth"},
	{"quarter", "toStartOfQuarter"},
}

// bucketVariable is $bucket: the length of the time buckets of the panels over
// time, whose value is the ClickHouse function that starts a bucket.
func bucketVariable() *dashboard.CustomVariableBuilder {
	values := ""
	var options []dashboard.VariableOption
	for i, b := range Buckets {
		if i > 0 {
			values += ","
		}
		values += b.Name + " : " + b.Function
		options = append(options, dashboard.VariableOption{
			Selected: cog.ToPtr(b.Name == "week"),
			Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr(b.Name)},
			Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr(b.Function)},
		})
	}
	return dashboard.NewCustomVariableBuilder("bucket").
		Label("Bucket").
		Description("The length of the time buckets of the panels over time.").
		Values(dashboard.StringOrMap{String: cog.ToPtr(values)}).
		Options(options).
		Current(options[1])
}
