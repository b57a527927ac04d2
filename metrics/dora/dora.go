// Package dora grades DORA's four keys against the tier tables DORA published: the
// 2023 table (the default) and the 2021 one. Both live in one table below, each
// threshold beside the words of the report it comes from, so a reader can check the
// grading against the source and the docs can quote it.
//
// The published tables describe clusters found in survey answers, not rules: their
// rows leave gaps (2021: nothing between a lead time of one hour and one day) and
// overlap (2021: high, medium and low all have a change failure rate of 16-30%). To
// grade every value the same way, flowmeter reads each tier by the one bound that
// separates it from the tier below it:
//
//   - durations (lead time, failed deployment recovery): a tier holds the values
//     strictly below its published upper bound; a value at the bound or in a gap
//     after it falls to the next tier (a lead time of exactly one day is "high" in
//     2023, where elite is "less than one day");
//   - change failure rate: a tier holds the rates at or below its published upper
//     bound ("<= 5%" is elite in 2023), as the report writes them;
//   - deployment frequency: a tier holds the cadences at or above the slowest one it
//     names ("between once per week and once per month" accepts once a month).
//
// Deployment frequency is graded on deploy days, not deployment counts, the way
// Google's Four Keys dashboard does it, so a team that deploys ten times on one day
// a week deploys weekly; elite also needs several deployments on the median deploy
// day, because both reports call elite "multiple deploys per day".
package dora

import (
	"fmt"
	"math"
	"time"
)

// Tier is a DORA performance tier. Its number orders tiers so the exporter can
// publish it as a gauge (1 low up to 4 elite), and the zero Tier means no tier,
// because the figure it would grade is not defined.
type Tier int

// The tiers, worst to best.
const (
	NoTier Tier = iota
	Low
	Medium
	High
	Elite
)

// String is the tier's name as reports and JSON print it; NoTier is "".
func (t Tier) String() string {
	switch t {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	case Elite:
		return "elite"
	}
	return ""
}

// Period is the span deploy days are counted over for a deployment-frequency tier.
type Period int

// The periods of deployment-frequency cadences.
const (
	// Week: the median over the window's weeks (Monday 00:00 UTC) of deploy days.
	Week Period = iota + 1
	// Month: the median over the window's calendar months (UTC) of deploy days.
	Month
	// SixMonths: deploy days in the window scaled to 180 days. Report windows are
	// usually a quarter, too short to hold a six-month period to take a median over,
	// so the window's rate stands in for it.
	SixMonths
)

// Cadence is a minimum deploy cadence: at least Days deploy days per Period.
type Cadence struct {
	Period Period
	Days   float64
}

// DeployDays is when a team or service deployed to production in a window: the
// evidence its deployment-frequency tier is graded on. A deploy day is a UTC day with
// at least one production deployment; only days inside the window, up to now, count.
type DeployDays struct {
	// WeekMedian is the median (linear interpolation) over the weeks overlapping the
	// window that have started of each week's deploy days; a week without
	// deployments counts as 0.
	WeekMedian float64
	// MonthMedian is the same over the calendar months.
	MonthMedian float64
	// PerDayMedian is the median number of production deployments on a deploy day.
	PerDayMedian float64
	// Days is the number of deploy days in the window.
	Days int
	// WindowDays is the length in days of the part of the window that has elapsed.
	WindowDays float64
	// SeenBefore says production deployments were seen before the window, so a
	// window without any is graded low rather than left without a tier.
	SeenBefore bool
}

func (d DeployDays) per(p Period) float64 {
	switch p {
	case Week:
		return d.WeekMedian
	case Month:
		return d.MonthMedian
	case SixMonths:
		if d.WindowDays <= 0 {
			return 0
		}
		return float64(d.Days) * sixMonths.Hours() / 24 / d.WindowDays
	}
	return 0
}

// Words are what a report says for each tier of one metric, quoted in reports and
// docs so readers see the source beside the grade.
type Words struct {
	Elite, High, Medium, Low string
}

// FrequencyRule grades deployment frequency: the slowest cadence each tier accepts.
type FrequencyRule struct {
	Elite, High, Medium Cadence
	// ElitePerDay is the fewest production deployments the median deploy day needs
	// for elite, the reports' "multiple deploys per day".
	ElitePerDay float64
	Words       Words
}

// DurationRule grades a duration: each tier holds the values strictly below its
// bound.
type DurationRule struct {
	Elite, High, Medium time.Duration
	Words               Words
}

// RateRule grades a rate (0..1): each tier holds the rates at or below its bound.
type RateRule struct {
	Elite, High, Medium float64
	Words               Words
}

// Table is one year's tier table as flowmeter reads it.
type Table struct {
	// Name is the year, as config's rules.dora_table names it.
	Name string
	// Source is the publication the thresholds come from.
	Source string
	// DeploymentFrequency, LeadTime, Recovery and ChangeFailureRate are the rules;
	// Recovery grades failed deployment recovery time (2023) and time to restore
	// service (2021, its predecessor).
	DeploymentFrequency FrequencyRule
	LeadTime            DurationRule
	Recovery            DurationRule
	ChangeFailureRate   RateRule
	// Notes say, for the docs and the report legend, how the table's gaps, overlaps
	// and bounds were read.
	Notes []string
}

const (
	hour = time.Hour
	day  = 24 * time.Hour
	week = 7 * day
	// month and sixMonths are the calendar words of the reports as durations: 30 and
	// 180 days, the lengths Apache DevLake grades with too.
	month     = 30 * day
	sixMonths = 180 * day
)

// DefaultTable is the table used when the config names none, DORA's latest with
// four tiers.
const DefaultTable = "2023"

// tables is the one place the published thresholds live. Every bound cites the cell
// of the report it comes from.
var tables = []Table{
	{
		Name:   "2023",
		Source: `DORA, "Accelerate State of DevOps Report 2023", Google Cloud`,
		DeploymentFrequency: FrequencyRule{
			// 2023 elite: "on demand (multiple deploys per day)". Four Keys' "Daily"
			// bucket, the median week has at least 3 deploy days, and "multiple per
			// day": the median deploy day has at least 2 production deployments.
			Elite:       Cadence{Week, 3},
			ElitePerDay: 2,
			// 2023 high: "between once per day and once per week": the median week
			// has at least 1 deploy day (Four Keys' "Weekly").
			High: Cadence{Week, 1},
			// 2023 medium: "between once per week and once per month": the median
			// month has at least 1 deploy day (Four Keys' "Monthly").
			Medium: Cadence{Month, 1},
			// 2023 low: "fewer than once per month": everything slower.
			Words: Words{
				Elite: "on demand (multiple deploys per day)", High: "between once per day and once per week",
				Medium: "between once per week and once per month", Low: "fewer than once per month",
			},
		},
		LeadTime: DurationRule{
			Elite:  day,   // 2023 elite: "less than one day"
			High:   week,  // 2023 high: "between one day and one week"
			Medium: month, // 2023 medium: "between one week and one month"
			// 2023 low: "more than one month".
			Words: Words{
				Elite: "less than one day", High: "between one day and one week",
				Medium: "between one week and one month", Low: "more than one month",
			},
		},
		Recovery: DurationRule{
			Elite:  hour, // 2023 elite: "less than one hour"
			High:   day,  // 2023 high: "less than one day"
			Medium: week, // 2023 medium: "between one day and one week"
			// 2023 low: "more than one week".
			Words: Words{
				Elite: "less than one hour", High: "less than one day",
				Medium: "between one day and one week", Low: "more than one week",
			},
		},
		ChangeFailureRate: RateRule{
			Elite:  0.05, // 2023 elite: 5%
			High:   0.10, // 2023 high: 10%
			Medium: 0.15, // 2023 medium: 15%
			// 2023 low: above 15%.
			Words: Words{Elite: "<= 5%", High: "<= 10%", Medium: "<= 15%", Low: "> 15%"},
		},
		Notes: []string{
			"A lead time or recovery time exactly at a bound falls to the slower tier, except at low's, which the report gives as more than the bound: 1 day of lead time is high, 1 hour of recovery is high, 1 week of lead time is medium, 30 days of lead time and 1 week of recovery are still medium.",
			"A change failure rate exactly at a bound stays in the better tier: 5% is elite, 10% high, 15% medium; above 15% is low.",
			"Deployment frequency: elite when the median week has at least 3 deploy days and the median deploy day at least 2 production deployments, high when the median week has at least 1 deploy day, medium when the median month has at least 1, else low, also when the window has none but earlier ones were seen.",
		},
	},
	{
		Name:   "2021",
		Source: `DORA, "Accelerate State of DevOps 2021", Google Cloud`,
		DeploymentFrequency: FrequencyRule{
			// 2021 elite: "On-demand (multiple deploys per day)", the same words as
			// 2023, so the same test: the median week has at least 3 deploy days and
			// the median deploy day at least 2 production deployments.
			Elite:       Cadence{Week, 3},
			ElitePerDay: 2,
			// 2021 high: "Between once per week and once per month": the median
			// month has at least 1 deploy day. The report has no row for "between
			// once per day and once per week"; such teams are high, the nearest tier
			// whose slowest cadence they beat.
			High: Cadence{Month, 1},
			// 2021 medium: "Between once per month and once every 6 months": at least
			// 1 deploy day per 180 days of the window.
			Medium: Cadence{SixMonths, 1},
			// 2021 low: "Fewer than once per six months": everything slower.
			Words: Words{
				Elite: "on-demand (multiple deploys per day)", High: "between once per week and once per month",
				Medium: "between once per month and once every 6 months", Low: "fewer than once per six months",
			},
		},
		LeadTime: DurationRule{
			Elite: hour, // 2021 elite: "Less than one hour"
			// 2021 high: "Between one day and one week"; the gap from one hour to one
			// day falls here, below elite's bound.
			High: week,
			// 2021 medium: "Between one month and six months"; the gap from one week
			// to one month falls here.
			Medium: sixMonths,
			// 2021 low: "More than six months".
			Words: Words{
				Elite: "less than one hour", High: "between one day and one week",
				Medium: "between one month and six months", Low: "more than six months",
			},
		},
		Recovery: DurationRule{
			Elite:  hour, // 2021 elite: "Less than one hour" (time to restore service)
			High:   day,  // 2021 high: "Less than one day"
			Medium: week, // 2021 medium: "Between one day and one week"
			// 2021 low: "More than six months"; the gap from one week to six months
			// falls here, below medium.
			Words: Words{
				Elite: "less than one hour", High: "less than one day",
				Medium: "between one day and one week", Low: "more than six months",
			},
		},
		ChangeFailureRate: RateRule{
			Elite: 0.15, // 2021 elite: "0%-15%"
			// 2021 high, medium and low: all "16%-30%". The report gives medium no
			// range of its own, so a rate above 15% and up to 30% is high, the best
			// tier whose range holds it, and medium is never given.
			High:   0.30,
			Medium: 0.30,
			// Above 30% is beyond every published range: low.
			Words: Words{Elite: "0%-15%", High: "16%-30%", Medium: "16%-30%", Low: "16%-30%"},
		},
		Notes: []string{
			"Ranges the report leaves uncovered fall to the slower neighbouring tier: a lead time from 1 hour to 1 day is high, from 1 week to 1 month medium; a recovery time from 1 week to 6 months is low.",
			"High, medium and low all have a change failure rate of 16%-30% in the report: above 15% up to 30% is high, above 30% low, and medium is never given for it.",
			"Deployment frequency: elite as in 2023 (at least 3 deploy days in the median week and 2 production deployments on the median deploy day). Between daily and weekly has no row in the report; it is high, down to 1 deploy day in the median month. Medium needs at least one deploy day per 180 days of the window; anything less is low.",
			"A duration exactly at a bound falls to the slower tier, except at low's, which the report gives as more than the bound: 1 hour of lead time is high; 6 months of lead time and 1 week of recovery are medium.",
		},
	},
}

// Tables returns the known tables, the default first, for docs and reports that
// quote them.
func Tables() []Table {
	out := make([]Table, len(tables))
	copy(out, tables)
	return out
}

// Lookup returns the table of a year; "" means the default, so callers need not know
// it.
func Lookup(name string) (*Table, error) {
	if name == "" {
		name = DefaultTable
	}
	for i := range tables {
		if tables[i].Name == name {
			t := tables[i]
			return &t, nil
		}
	}
	return nil, fmt.Errorf("unknown DORA table %q (want \"2023\" or \"2021\")", name)
}

// GradeDeploymentFrequency grades deploy days. A window without a deploy day is low
// when production deployments were seen before it, and gets no tier when none ever
// were: flowmeter cannot tell a team that never deployed from one whose deployments
// are not collected. A window that has not started yet gets no tier either.
func (t *Table) GradeDeploymentFrequency(d DeployDays) Tier {
	if d.WindowDays <= 0 || d.Days <= 0 && !d.SeenBefore {
		return NoTier
	}
	r := t.DeploymentFrequency
	switch {
	case d.per(r.Elite.Period) >= r.Elite.Days && d.PerDayMedian >= r.ElitePerDay:
		return Elite
	case d.per(r.High.Period) >= r.High.Days:
		return High
	case d.per(r.Medium.Period) >= r.Medium.Days:
		return Medium
	}
	return Low
}

// GradeLeadTime grades a change lead time in seconds, usually the median.
func (t *Table) GradeLeadTime(seconds float64) Tier {
	return gradeDuration(t.LeadTime, seconds)
}

// GradeRecovery grades a failed deployment recovery time in seconds, usually the
// median.
func (t *Table) GradeRecovery(seconds float64) Tier {
	return gradeDuration(t.Recovery, seconds)
}

// GradeChangeFailureRate grades a change failure rate between 0 and 1.
func (t *Table) GradeChangeFailureRate(rate float64) Tier {
	r := t.ChangeFailureRate
	switch {
	case math.IsNaN(rate) || rate < 0 || rate > 1:
		return NoTier
	case rate <= r.Elite:
		return Elite
	case rate <= r.High:
		return High
	case rate <= r.Medium:
		return Medium
	}
	return Low
}

func gradeDuration(r DurationRule, seconds float64) Tier {
	switch {
	case math.IsNaN(seconds) || seconds < 0:
		return NoTier
	case seconds < r.Elite.Seconds():
		return Elite
	case seconds < r.High.Seconds():
		return High
	case seconds <= r.Medium.Seconds(): // low is "more than" the bound in both reports
		return Medium
	}
	return Low
}
