package dashboards

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// The SQL is written for ClickHouse 18.16 and later: no window functions, no
// toStartOfInterval, no LowCardinality. Facts are read with FINAL, so each fact is
// its latest version.

// teamExpr is a fact's team as reports name it: facts of no team are "(no team)".
const teamExpr = "if(team = '', '(no team)', team)"

// teamFilter keeps the facts of the teams chosen in $team; at All it is 1=1.
const teamFilter = "$__conditionalAll(" + teamExpr + " IN (${team:singlequote}), $team)"

// deployServiceExpr is a deployment's service as reports name it.
const deployServiceExpr = "if(service = '', '(no service)', service)"

// changeServiceExpr is a change's service as reports name it (aggregate.ChangeService):
// the service that shipped it, else its repository's name.
const changeServiceExpr = "multiIf(service != '', service, repo != '', splitByChar('/', repo)[-1], '(no service)')"

// The service filters: the services chosen in $service; at All, 1=1.
const (
	deployServiceFilter = "$__conditionalAll(" + deployServiceExpr + " IN (${service:singlequote}), $service)"
	changeServiceFilter = "$__conditionalAll(" + changeServiceExpr + " IN (${service:singlequote}), $service)"
)

// countedDeployments is the condition of a counted production deployment
// (metrics/aggregate.DORA): production (successful, to a production environment),
// finished, and not a later region of a rollout counted as another.
const countedDeployments = "production = 1 AND rollout_of = '' AND finished_at IS NOT NULL"

// inferredFailure is a failed deployment whose only failure reason is an incident
// in the failure window (aggregate.InferredFailure).
const inferredFailure = "failed = 1 AND failure_reasons = ['incident_window']"

// bucketExpr is the start of the $bucket (day, week, month or quarter) a time falls
// in, as a DateTime in UTC whatever the server's time zone.
func bucketExpr(column string) string {
	return "toDateTime(${bucket}(assumeNotNull(" + column + "), 'UTC'), 'UTC')"
}

// percentile is the q-quantile of the values of expr in the group (those where
// cond holds, when cond is set) with linear interpolation between the closest ranks,
// as metrics/aggregate.Percentile computes it (type 7), so the dashboards show the
// figures the reports and /metrics show. ClickHouse's quantile is approximate and
// its quantileExact picks a value without interpolating; ClickHouse 18.16 has no
// quantileExactInclusive. So the values are sorted into an array and interpolated
// here. It is NULL for no values.
func percentile(q float64, expr, cond string) string {
	agg := "groupArray(toFloat64(" + expr + "))"
	if cond != "" {
		agg = "groupArrayIf(toFloat64(" + expr + "), " + cond + ")"
	}
	qs := strconv.FormatFloat(q, 'f', -1, 64)
	h := "((length(xs) - 1) * " + qs + ")"
	lo := "toUInt64(floor(" + h + "))"
	x := func(i string) string { return "xs[" + i + "]" }
	return fmt.Sprintf("arrayElement(arrayMap(xs -> if(length(xs) = 0, NULL, %s + (%s - floor(%s)) * (%s - %s)), [arraySort(%s)]), 1)",
		x(lo+" + 1"), h, h, x("least("+lo+" + 2, length(xs))"), x(lo+" + 1"), agg)
}

// sqlf joins lines of SQL.
func sqlf(lines ...string) string { return strings.Join(lines, "\n") }

// Tier colours: elite, high, medium, low.
const (
	colourElite  = "green"
	colourHigh   = "blue"
	colourMedium = "orange"
	colourLow    = "red"
)

func steps(values []float64, colours ...string) []dashboard.Threshold {
	out := []dashboard.Threshold{{Value: nil, Color: colours[0]}}
	for i, v := range values {
		out = append(out, dashboard.Threshold{Value: cog.ToPtr(v), Color: colours[i+1]})
	}
	return out
}

// The DORA 2023 tiers (docs/metrics.md) as thresholds. A duration exactly at a
// bound falls to the slower tier, except low's (more than 30 days); a change failure
// rate exactly at a bound stays in the better tier.
var (
	leadTimeTiers = steps([]float64{86400, 604800, 2592000 + 1e-9}, colourElite, colourHigh, colourMedium, colourLow)
	recoveryTiers = steps([]float64{3600, 86400, 604800 + 1e-9}, colourElite, colourHigh, colourMedium, colourLow)
	cfrTiers      = steps([]float64{0.05 + 1e-9, 0.10 + 1e-9, 0.15 + 1e-9}, colourElite, colourHigh, colourMedium, colourLow)
	// Deployment frequency is graded on deploy days, which a rate cannot show; the
	// colours read the rate as daily (elite and high), weekly (medium) and monthly
	// (low) deployment, an approximation the panel descriptions state.
	frequencyTiers = steps([]float64{1.0 / 30, 1.0 / 7, 1}, colourLow, colourMedium, colourHigh, colourElite)
)

// unitPerDay is Grafana's custom unit for a rate per day.
const unitPerDay = "suffix:/day"
