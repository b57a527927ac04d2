package exporter

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/schema"
)

// budgetUnits are the columns of docs/prometheus.md's series budget: what one more
// of each costs.
var budgetUnits = [...]string{"team", "service", "deployment series", "toil category", "once"}

// budgetRow is the series one more of each unit adds to a family.
type budgetRow [len(budgetUnits)]int

// docBudget reads the first table of the "Series budget" section of
// docs/prometheus.md: a row per family, a cell per unit, and a total row that must
// be the column sums.
func docBudget(t *testing.T) map[string]budgetRow {
	t.Helper()
	f, err := os.Open("../../docs/prometheus.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]budgetRow{}
	var total *budgetRow
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Series budget"
			continue
		}
		// The section's first table is the budget; its total row ends it.
		if !in || total != nil || !strings.HasPrefix(line, "| `flowmeter_") && !strings.HasPrefix(line, "| total |") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) != 1+len(budgetUnits) {
			t.Fatalf("docs/prometheus.md: series budget row %q: %d cells, want %d", line, len(cells), 1+len(budgetUnits))
		}
		var row budgetRow
		for i, c := range cells[1:] {
			n, err := strconv.Atoi(strings.TrimSpace(c))
			if err != nil {
				t.Fatalf("docs/prometheus.md: series budget row %q: %v", line, err)
			}
			row[i] = n
		}
		name := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if name == "total" {
			total = &row
			continue
		}
		if _, dup := rows[name]; dup {
			t.Fatalf("docs/prometheus.md: series budget lists %s twice", name)
		}
		rows[name] = row
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || total == nil {
		t.Fatal(`docs/prometheus.md: no "## Series budget" table with a total row`)
	}
	var sum budgetRow
	for _, r := range rows {
		for i := range r {
			sum[i] += r[i]
		}
	}
	if sum != *total {
		t.Errorf("docs/prometheus.md: series budget total row %v, but the families add up to %v", *total, sum)
	}
	return rows
}

// budgetOrg is an organisation to count the series of: teams × services with
// every DORA figure defined in every window (benchFacts: each service deploys
// successfully and fails attempts in production and deploys to staging, three
// deployment series), every flow figure of every flow type, toilCategories toil
// categories with entries per team, and with canary one more deployment series:
// the first service's deployment to an environment of its own.
type budgetOrg struct {
	teams, services, toilCategories int
	canary                          bool
}

// deploymentSeries is how many deployments_total series benchFacts gives a service.
const deploymentSeries = 3

// expected is the series the doc's budget gives each family for o.
func (o budgetOrg) expected(doc map[string]budgetRow) map[string]int {
	units := budgetRow{
		o.teams,
		o.teams * o.services,
		o.teams * o.services * deploymentSeries,
		o.teams * o.toilCategories,
		1,
	}
	if o.canary {
		units[2]++
	}
	out := map[string]int{}
	for name, row := range doc {
		for i, n := range row {
			out[name] += n * units[i]
		}
	}
	return out
}

// series counts each family's series (a summary's quantiles, _sum and _count
// each one) in the exporter's output for o.
func (o budgetOrg) series(t *testing.T) map[string]int {
	t.Helper()
	now := time.Date(2026, 6, 29, 0, 0, 0, 0, time.UTC)
	f, teams := benchFacts(o.teams, o.services, now)
	if o.canary {
		f.deployments = append(f.deployments, schema.DeploymentFact{
			Source: "gh", ID: "canary", Team: teams[0], Service: f.deployments[0].Service, Environment: "canary",
			Status: "success", StartedAt: now.Add(-time.Hour), FinishedAt: now.Add(-time.Minute), RecoverySeconds: schema.Unknown,
		})
	}
	for _, team := range teams {
		for c := range o.toilCategories {
			f.toil = append(f.toil, schema.ToilFact{
				Source: "pd", ID: fmt.Sprintf("incident:%s-%d", team, c), Team: team, Category: fmt.Sprintf("category-%d", c),
				Kind: "incident", StartedAt: now.Add(-24 * time.Hour), Seconds: 600,
			})
		}
	}
	e := New()
	e.agg = aggregators{flow: everyFlowFigure, toil: toil.Aggregate}
	if err := e.update(context.Background(), f, teams, "", now); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for k := range gatherSamples(t, e) {
		name, _, _ := strings.Cut(k, "{")
		out[name]++
	}
	return out
}

// everyFlowFigure is a flow report in which every team has every flow figure of
// every flow type defined, as a team with finished and open items of each has.
func everyFlowFigure(_ []schema.FlowItemFact, teams []string, from, to, now time.Time) flow.Report {
	some := aggregate.Some
	figures := func(flowType string) flow.TypeFigures {
		return flow.TypeFigures{
			FlowType: flowType, Finished: 2,
			FlowTime:        aggregate.Quantiles{P50: some(3600), P85: some(7200), P95: some(9000), Count: 2, Sum: 10800},
			VelocityPerWeek: some(1), Load: 1,
		}
	}
	r := flow.Report{From: from, To: to, AsOf: now}
	for _, name := range teams {
		team := flow.Team{Name: name, Finished: 8, Efficiency: some(0.5), All: figures(AllFlowTypes)}
		for _, ft := range schema.FlowTypes {
			team.ByType = append(team.ByType, figures(ft))
		}
		r.Teams = append(r.Teams, team)
	}
	return r
}

// TestSeriesBudget checks the series count docs/prometheus.md gives each family
// per team, service, deployment series and toil category against the exporter's
// output for organisations that tell the units apart (one more service, team,
// deployment series or category than the smallest) and a larger one, so the doc
// cannot drift from the code: cutting or adding a family, label value, window or
// quantile fails here until the table says so.
func TestSeriesBudget(t *testing.T) {
	doc := docBudget(t)
	for _, o := range []budgetOrg{
		{teams: 1, services: 1},
		{teams: 1, services: 2},
		{teams: 2, services: 1},
		{teams: 1, services: 1, canary: true},
		{teams: 1, services: 1, toilCategories: 1},
		{teams: 3, services: 4, toilCategories: 2, canary: true},
	} {
		got, want := o.series(t), o.expected(doc)
		for name, n := range got {
			if _, ok := doc[name]; !ok {
				t.Errorf("%+v: %s has %d series but is not in the series budget of docs/prometheus.md", o, name, n)
			}
		}
		for name, n := range want {
			if got[name] != n {
				t.Errorf("%+v: %s has %d series; the series budget in docs/prometheus.md makes it %d", o, name, got[name], n)
			}
		}
	}
}
