package dora

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	tiers "github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/reports/render"
	"github.com/flowmeter/flowmeter/schema"
)

// The detail tables: every figure of a team and its services, split by theme so
// that each table is narrow enough to read on a screen or a page. Markdown and
// HTML show the same tables.

// cellKind says how a cell is laid out: numbers align right, tiers are badges.
type cellKind int

const (
	textCell cellKind = iota
	numberCell
	tierCell
)

// column is one column of a detail table after the service's name.
type column struct {
	head string
	kind cellKind
	get  func(f aggregate.Figures) string
}

// detailTable is one theme's table.
type detailTable struct {
	title   string
	columns []column
}

// allServices labels a table's first row, the team's own figures, which are over
// all its facts rather than a sum or average of its services'.
const allServices = "all services"

// counted, number, percent, durationOf, tierOf and reasonsOf make the columns of
// each kind of figure.
func counted(head string, get func(aggregate.Figures) int) column {
	return column{head, numberCell, func(f aggregate.Figures) string { return strconv.Itoa(get(f)) }}
}

func number(head string, places int, get func(aggregate.Figures) aggregate.Value) column {
	return column{head, numberCell, func(f aggregate.Figures) string { return render.Number(get(f), places) }}
}

func percent(head string, get func(aggregate.Figures) aggregate.Value) column {
	return column{head, numberCell, func(f aggregate.Figures) string { return render.Percent(get(f)) }}
}

// durationOf writes a duration as the JSON has it, to the millisecond.
func durationOf(head string, get func(aggregate.Figures) aggregate.Value) column {
	return column{head, numberCell, func(f aggregate.Figures) string { return render.Duration(seconds(get(f))) }}
}

func tierOf(get func(aggregate.Tiers) tiers.Tier) column {
	return column{"tier", tierCell, func(f aggregate.Figures) string { return tierName(get(f.Tiers)) }}
}

func reasonsOf(head string, order []string, get func(aggregate.Figures) map[string]int) column {
	return column{head, textCell, func(f aggregate.Figures) string { return reasons(get(f), order) }}
}

// figures keeps the table below readable.
type figures = aggregate.Figures

var detailTables = []detailTable{
	{"Throughput: deployments", []column{
		counted("deploys", func(f figures) int { return f.Deployments }),
		number("deploys/day", 2, func(f figures) aggregate.Value { return f.DeploymentFrequencyPerDay }),
		number("deploy days/week (median)", 1, func(f figures) aggregate.Value { return f.DeployDaysPerWeekMedian }),
		number("deploy days/month (median)", 1, func(f figures) aggregate.Value { return f.DeployDaysPerMonthMedian }),
		number("deploys/deploy day (median)", 1, func(f figures) aggregate.Value { return f.DeploymentsPerDeployDayMedian }),
		tierOf(func(t aggregate.Tiers) tiers.Tier { return t.DeploymentFrequency }),
	}},
	{"Throughput: changes", []column{
		counted("shipped", func(f figures) int { return f.ChangesShipped }),
		counted("untracked", func(f figures) int { return f.Untracked }),
		counted("undeployed", func(f figures) int { return f.Undeployed }),
		durationOf("undeployed age (median)", func(f figures) aggregate.Value { return f.UndeployedAgeSeconds }),
	}},
	{"Lead time", []column{
		durationOf("p50", func(f figures) aggregate.Value { return f.LeadTimeSeconds.P50 }),
		durationOf("p85", func(f figures) aggregate.Value { return f.LeadTimeSeconds.P85 }),
		durationOf("p95", func(f figures) aggregate.Value { return f.LeadTimeSeconds.P95 }),
		tierOf(func(t aggregate.Tiers) tiers.Tier { return t.LeadTime }),
		durationOf("coding", func(f figures) aggregate.Value { return f.LeadTimePartsSeconds.Coding.P50 }),
		durationOf("pickup", func(f figures) aggregate.Value { return f.LeadTimePartsSeconds.Pickup.P50 }),
		durationOf("review", func(f figures) aggregate.Value { return f.LeadTimePartsSeconds.Review.P50 }),
		durationOf("deploy", func(f figures) aggregate.Value { return f.LeadTimePartsSeconds.Deploy.P50 }),
	}},
	{"Stability: failures", []column{
		counted("failed deploys", func(f figures) int { return f.FailedDeployments }),
		counted("of which inferred", func(f figures) int { return f.FailedDeploymentsInferred }),
		reasonsOf("failure reasons", schema.FailureReasons, func(f figures) map[string]int { return f.FailureReasons }),
		percent("change failure rate", func(f figures) aggregate.Value { return f.ChangeFailureRate }),
		tierOf(func(t aggregate.Tiers) tiers.Tier { return t.ChangeFailureRate }),
		counted("failed attempts", func(f figures) int { return f.FailedDeployAttempts }),
	}},
	{"Stability: recovery and rework", []column{
		durationOf("recovery p50", func(f figures) aggregate.Value { return f.FailedDeploymentRecoverySeconds.P50 }),
		durationOf("recovery p85", func(f figures) aggregate.Value { return f.FailedDeploymentRecoverySeconds.P85 }),
		tierOf(func(t aggregate.Tiers) tiers.Tier { return t.FailedDeploymentRecovery }),
		durationOf("time to restore p50", func(f figures) aggregate.Value { return f.TimeToRestoreSeconds.P50 }),
		durationOf("time to restore p85", func(f figures) aggregate.Value { return f.TimeToRestoreSeconds.P85 }),
		percent("rework rate", func(f figures) aggregate.Value { return f.ReworkRate }),
		reasonsOf("rework reasons", schema.UnplannedReasons, func(f figures) map[string]int { return f.ReworkReasons }),
	}},
}

// detailRow is one row of a detail table: the team's figures or a service's.
type detailRow struct {
	name    string
	team    bool
	figures aggregate.Figures
}

// detailRows are a team's rows: the team's own figures first, then each service.
func detailRows(t aggregate.Team) []detailRow {
	rows := []detailRow{{name: allServices, team: true, figures: t.Figures}}
	for _, s := range t.Services {
		rows = append(rows, detailRow{name: s.Name, figures: s.Figures})
	}
	return rows
}

// reasons lists the reasons some deployments hold, with how many, in their order:
// "rolled_back 2, hotfixed 1"; a render.Dash when none does.
func reasons(counts map[string]int, order []string) string {
	var parts []string
	for _, r := range order {
		if n := counts[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", r, n))
		}
	}
	if len(parts) == 0 {
		return render.Dash
	}
	return strings.Join(parts, ", ")
}
