package dora

import (
	"math"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	tiers "github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/reports/render"
)

// The summary is what a reader wants first: per team, DORA's four keys, each with
// its tier and how it changed since the previous window. Markdown and HTML both
// show it from the same values, which are the JSON's (durations to the
// millisecond), so every number of the summary can be worked out from the JSON.

// fourKey is one of DORA's four keys as the summary shows it.
type fourKey struct {
	name string
	// value is the figure the change is measured on.
	value func(aggregate.Figures) aggregate.Value
	// show writes the figure for people; for deployment frequency, with the deploy
	// days its tier is graded on.
	show func(aggregate.Figures) string
	tier func(aggregate.Tiers) tiers.Tier
	// amount writes the size of a change: "0.33/day", "1.5 d", "70 points".
	amount func(float64) string
	// higherIsBetter: more deployments are better; a shorter lead time and
	// recovery and a lower failure rate are.
	higherIsBetter bool
	chart          keyChartUnit
}

// keyChartUnit is how a key is charted: in a unit a reader thinks in (hours,
// percent), each value the figure times scale, labelled by label.
type keyChartUnit struct {
	unit  string
	scale float64
	label func(float64) string
}

var fourKeys = []fourKey{
	{
		name:  "deployment frequency",
		value: func(f aggregate.Figures) aggregate.Value { return f.DeploymentFrequencyPerDay },
		show: func(f aggregate.Figures) string {
			if !f.DeploymentFrequencyPerDay.Defined() {
				return render.Dash
			}
			return perDay(f.DeploymentFrequencyPerDay.Float()) + ", " + deployDaysPerWeek(f.DeployDaysPerWeekMedian)
		},
		tier:           func(t aggregate.Tiers) tiers.Tier { return t.DeploymentFrequency },
		amount:         perDay,
		higherIsBetter: true,
		chart:          keyChartUnit{"deploys/day", 1, perDay},
	},
	{
		name:   "lead time (median)",
		value:  func(f aggregate.Figures) aggregate.Value { return seconds(f.LeadTimeSeconds.P50) },
		show:   func(f aggregate.Figures) string { return render.Duration(seconds(f.LeadTimeSeconds.P50)) },
		tier:   func(t aggregate.Tiers) tiers.Tier { return t.LeadTime },
		amount: duration,
		chart:  inHours,
	},
	{
		name:   "change failure rate",
		value:  func(f aggregate.Figures) aggregate.Value { return f.ChangeFailureRate },
		show:   func(f aggregate.Figures) string { return render.Percent(f.ChangeFailureRate) },
		tier:   func(t aggregate.Tiers) tiers.Tier { return t.ChangeFailureRate },
		amount: func(v float64) string { return render.Trim(v*100, 1) + " points" },
		chart:  keyChartUnit{"%", 100, func(v float64) string { return render.Trim(v, 1) + "%" }},
	},
	{
		name:  "failed-deployment recovery (median)",
		value: func(f aggregate.Figures) aggregate.Value { return seconds(f.FailedDeploymentRecoverySeconds.P50) },
		show: func(f aggregate.Figures) string {
			return render.Duration(seconds(f.FailedDeploymentRecoverySeconds.P50))
		},
		tier:   func(t aggregate.Tiers) tiers.Tier { return t.FailedDeploymentRecovery },
		amount: duration,
		chart:  inHours,
	},
}

// inHours charts durations in hours, labelled as the report writes durations.
var inHours = keyChartUnit{"hours", 1.0 / 3600, func(h float64) string { return duration(h * 3600) }}

func perDay(v float64) string { return render.Trim(v, 2) + "/day" }

func duration(v float64) string { return render.Duration(aggregate.Some(v)) }

// deployDaysPerWeek is "1 deploy day/week", "2.5 deploy days/week".
func deployDaysPerWeek(v aggregate.Value) string {
	n := render.Number(v, 1)
	if n == "1" {
		return n + " deploy day/week"
	}
	return n + " deploy days/week"
}

// A verdict says whether a change is for the better.
type verdict string

const (
	better verdict = "better"
	worse  verdict = "worse"
	same   verdict = "same"
)

// change is how a key moved since the previous window.
type change struct {
	// amount is "▲ 0.33/day", "no change", "new" (the previous window has no
	// figure) or a render.Dash (this window has none, or there is no previous
	// window to compare with).
	amount  string
	verdict verdict
}

func (c change) String() string {
	if c.verdict == better || c.verdict == worse {
		return c.amount + ", " + string(c.verdict)
	}
	return c.amount
}

// class is the HTML class of a change, so a page colours it.
func (c change) class() string {
	switch c.verdict {
	case better:
		return "good"
	case worse:
		return "bad"
	case same:
		return "same"
	}
	return ""
}

// changeOf compares a key's figure with the previous window's. A change too small
// to show in the figure's own precision is no change.
func changeOf(k fourKey, current, previous aggregate.Value) change {
	cur, ok := current.Get()
	if !ok {
		return change{amount: render.Dash}
	}
	prev, ok := previous.Get()
	if !ok {
		return change{amount: "new"}
	}
	diff := cur - prev
	amount := k.amount(math.Abs(diff))
	if amount == k.amount(0) {
		return change{amount: "no change", verdict: same}
	}
	arrow, v := "▲ ", better
	if diff < 0 {
		arrow = "▼ "
	}
	if (diff > 0) != k.higherIsBetter {
		v = worse
	}
	return change{amount: arrow + amount, verdict: v}
}

// keyFigure is one key of one team in the summary.
type keyFigure struct {
	name          string
	value         string
	tier          tiers.Tier
	previous      string
	previousTier  tiers.Tier
	change        change
	current, prev aggregate.Value
}

// teamSummary is one team's four keys.
type teamSummary struct {
	name string
	keys []keyFigure
	// quiet, when the team had nothing in this window nor, when there is one, the
	// previous one, says so: the team's summary is this sentence.
	quiet string
}

// summarize compares each team of the current report with the team of the same
// name in the previous one; a team the previous window does not list had no data
// there.
func summarize(rs Reports) []teamSummary {
	previous := map[string]aggregate.Figures{}
	for _, t := range rs.Previous.Teams {
		previous[t.Name] = t.Figures
	}
	compared := hasPrevious(rs)
	var out []teamSummary
	for _, t := range rs.Current.Teams {
		prev, listed := previous[t.Name]
		s := teamSummary{name: t.Name}
		if quiet(t.Figures) && (!listed || quiet(prev)) {
			s.quiet = quietSentence(t.Figures, compared)
		}
		for _, k := range fourKeys {
			kf := keyFigure{
				name: k.name, value: k.show(t.Figures), tier: k.tier(t.Tiers),
				previous: render.Dash, change: change{amount: render.Dash},
				current: k.value(t.Figures), prev: aggregate.None(),
			}
			if compared {
				if listed {
					kf.previous, kf.previousTier, kf.prev = k.show(prev), k.tier(prev.Tiers), k.value(prev)
				}
				kf.change = changeOf(k, kf.current, kf.prev)
			}
			s.keys = append(s.keys, kf)
		}
		out = append(out, s)
	}
	return out
}

// hasPrevious says whether the report was given a previous window to compare with.
func hasPrevious(rs Reports) bool {
	return !rs.Previous.From.IsZero() || !rs.Previous.To.IsZero()
}

// quiet says a team or service had nothing in the window: no deployment, no
// failed attempt, no change and no resolved incident.
func quiet(f aggregate.Figures) bool {
	return f.Deployments == 0 && f.FailedDeployAttempts == 0 && f.ChangesShipped == 0 && f.Untracked == 0 &&
		f.Undeployed == 0 && f.TimeToRestoreSeconds.Count == 0
}

// quietSentence says so in words (of this window, or of both when
// andPrevious), and why a quiet team still has a deployment-frequency tier when it
// has one.
func quietSentence(f aggregate.Figures, andPrevious bool) string {
	s := "No deployments, changes or incidents in the window."
	if andPrevious {
		s = "No deployments, changes or incidents in this window or the previous one."
	}
	if f.Tiers.DeploymentFrequency != tiers.NoTier {
		s += " It deployed to production before the window, so its deployment frequency is " + f.Tiers.DeploymentFrequency.String() + "."
	}
	return s
}

// tierName is a tier as the reports print it, a render.Dash for none.
func tierName(t tiers.Tier) string {
	if t == tiers.NoTier {
		return render.Dash
	}
	return t.String()
}
