package aggregate

import (
	"time"

	"github.com/flowmeter/flowmeter/metrics/dora"
)

const day = 24 * time.Hour

// DeployDays counts the UTC days of [from, to) with at least one of the given
// production deployment finish times, and their medians over the weeks (Monday 00:00
// UTC) and calendar months overlapping the window, counting only days inside it and
// a period without deployments as 0: the evidence DORA's deployment-frequency tier is
// graded on, as Google's Four Keys computes it. Times outside the window are ignored.
func DeployDays(finished []time.Time, from, to time.Time) dora.DeployDays {
	from, to = from.UTC(), to.UTC()
	if !from.Before(to) {
		return dora.DeployDays{}
	}
	days := map[time.Time]bool{}
	for _, t := range finished {
		if inWindow(t, from, to) {
			days[dayStart(t)] = true
		}
	}
	var weeks, months []int64
	for start := weekStart(from); start.Before(to); start = start.AddDate(0, 0, 7) {
		weeks = append(weeks, countDays(days, start, start.AddDate(0, 0, 7)))
	}
	for start := monthStart(from); start.Before(to); start = start.AddDate(0, 1, 0) {
		months = append(months, countDays(days, start, start.AddDate(0, 1, 0)))
	}
	return dora.DeployDays{
		WeekMedian:  Percentile(weeks, 0.5).Float(),
		MonthMedian: Percentile(months, 0.5).Float(),
		Days:        len(days),
		WindowDays:  windowDays(from, to),
	}
}

func countDays(days map[time.Time]bool, from, to time.Time) int64 {
	var n int64
	for d := range days {
		if !d.Before(from) && d.Before(to) {
			n++
		}
	}
	return n
}

func windowDays(from, to time.Time) float64 {
	return to.Sub(from).Hours() / 24
}

func inWindow(t, from, to time.Time) bool {
	return !t.IsZero() && !t.Before(from) && t.Before(to)
}

func dayStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func weekStart(t time.Time) time.Time {
	d := dayStart(t)
	// time.Weekday counts from Sunday = 0; weeks start on Monday.
	back := (int(d.Weekday()) + 6) % 7
	return d.AddDate(0, 0, -back)
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
