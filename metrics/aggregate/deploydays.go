package aggregate

import (
	"time"

	"github.com/flowmeter/flowmeter/metrics/dora"
)

const day = 24 * time.Hour

// DeployDays counts the UTC days of [from, to) with at least one of the given
// production deployment finish times, and their medians over the weeks (Monday 00:00
// UTC) and calendar months overlapping the window, counting only days inside it and
// a period without deployments as 0, and the median number of deployments on a
// deploy day: the evidence DORA's deployment-frequency tier is graded on, the weeks
// and months as Google's Four Keys computes them. Times outside the window are
// ignored; pass the elapsed part of a window ending in the future as to, so weeks and
// months that have not started are not counted as weeks without deployments.
func DeployDays(finished []time.Time, from, to time.Time) dora.DeployDays {
	from, to = from.UTC(), to.UTC()
	if !from.Before(to) {
		return dora.DeployDays{}
	}
	perDay := map[time.Time]int64{}
	for _, t := range finished {
		if inWindow(t, from, to) {
			perDay[dayStart(t)]++
		}
	}
	var weeks, months []int64
	for start := weekStart(from); start.Before(to); start = start.AddDate(0, 0, 7) {
		weeks = append(weeks, countDays(perDay, start, start.AddDate(0, 0, 7)))
	}
	for start := monthStart(from); start.Before(to); start = start.AddDate(0, 1, 0) {
		months = append(months, countDays(perDay, start, start.AddDate(0, 1, 0)))
	}
	counts := make([]int64, 0, len(perDay))
	for _, n := range perDay {
		counts = append(counts, n)
	}
	return dora.DeployDays{
		WeekMedian:   Percentile(weeks, 0.5).Float(),
		MonthMedian:  Percentile(months, 0.5).Float(),
		PerDayMedian: Percentile(counts, 0.5).Float(),
		Days:         len(perDay),
		WindowDays:   windowDays(from, to),
	}
}

func countDays(perDay map[time.Time]int64, from, to time.Time) int64 {
	var n int64
	for d := range perDay {
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
