package aggregate_test

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/dora"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		q      float64
		want   float64
		ok     bool
	}{
		// [1 2 3 4], q=0.5: h = 3*0.5 = 1.5 -> x[1] + 0.5*(x[2]-x[1]) = 2 + 0.5 = 2.5.
		{"median of four", []float64{1, 2, 3, 4}, 0.5, 2.5, true},
		// q=0.85: h = 3*0.85 = 2.55 -> x[2] + 0.55*(x[3]-x[2]) = 3 + 0.55 = 3.55.
		{"p85 of four", []float64{1, 2, 3, 4}, 0.85, 3.55, true},
		// q=0.95: h = 2.85 -> 3 + 0.85 = 3.85.
		{"p95 of four", []float64{4, 3, 2, 1}, 0.95, 3.85, true},
		// Unsorted input, odd count: median is the middle value.
		{"median of three", []float64{30, 10, 20}, 0.5, 20, true},
		{"single value", []float64{7}, 0.5, 7, true},
		{"single value p95", []float64{7}, 0.95, 7, true},
		{"min", []float64{5, 1, 9}, 0, 1, true},
		{"max", []float64{5, 1, 9}, 1, 9, true},
		// [0 0 0 3]: h = 1.5 -> 0 + 0.5*(0-0) = 0.
		{"zeros", []float64{3, 0, 0, 0}, 0.5, 0, true},
		{"empty", nil, 0.5, 0, false},
		{"q above 1", []float64{1}, 1.5, 0, false},
		{"q below 0", []float64{1}, -0.1, 0, false},
		{"q NaN", []float64{1}, math.NaN(), 0, false},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.values)
		got, ok := aggregate.Percentile(tt.values, tt.q).Get()
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: Percentile(%v, %v) = %v, %v; want %v, %v", tt.name, tt.values, tt.q, got, ok, tt.want, tt.ok)
		}
		if !slices.Equal(in, tt.values) {
			t.Errorf("%s: the input was modified: %v", tt.name, tt.values)
		}
	}
	// int64 values: [3600 7200], q=0.85: h = 0.85 -> 3600 + 0.85*3600 = 6660.
	if got := aggregate.Percentile([]int64{7200, 3600}, 0.85).Float(); math.Abs(got-6660) > 1e-9 {
		t.Errorf("int64 p85 = %v, want 6660", got)
	}
}

func TestValueJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		A, B aggregate.Value
	}{aggregate.Some(2.5), aggregate.None()})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"A":2.5,"B":null}` {
		t.Errorf("got %s", b)
	}
	if aggregate.None().String() != "" || aggregate.Some(0.25).String() != "0.25" {
		t.Errorf("String: %q %q", aggregate.None(), aggregate.Some(0.25))
	}
}

// days returns noon of each given day of a month.
func days(year int, month time.Month, ds ...int) []time.Time {
	var out []time.Time
	for _, d := range ds {
		out = append(out, time.Date(year, month, d, 12, 0, 0, 0, time.UTC))
	}
	return out
}

// The deploy-day buckets over 2026Q3, [Jul 1, Oct 1): Jul 1 is a Wednesday, so 14
// weeks overlap it (Mon Jun 29 .. Mon Sep 28), and 3 months.
func TestDeployDaysBuckets(t *testing.T) {
	from := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var monTueWed, thursdays []time.Time
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		switch d.Weekday() {
		case time.Monday, time.Tuesday, time.Wednesday:
			// Twice a day: deploy days, not deployments, are counted, and the
			// median deploy day has 2 deployments, as elite needs.
			monTueWed = append(monTueWed, d.Add(9*time.Hour), d.Add(15*time.Hour))
		case time.Thursday:
			thursdays = append(thursdays, d.Add(9*time.Hour))
		}
	}
	// Outside the window: never counted.
	monTueWed = append(monTueWed, time.Date(2026, 6, 30, 9, 0, 0, 0, time.UTC), to)
	tests := []struct {
		name      string
		finished  []time.Time
		week, mon float64
		perDay    float64
		days      int
		tier, t21 dora.Tier
	}{
		// Week of Jun 29 has only Wed Jul 1 in the window (1), the 12 weeks after it
		// 3 each, the week of Sep 28 Mon+Tue+Wed (3): median of [1, 3 x 13] = 3 ->
		// elite in both tables. Months: Jul 13, Aug 13, Sep 14 deploy days -> 13;
		// 1 + 12*3 + 3 = 40 deploy days in all.
		{"Mon+Tue+Wed every week", monTueWed, 3, 13, 2, 40, dora.Elite, dora.Elite},
		// Thursdays Jul 2 .. Sep 24: 13 weeks with 1, the week of Sep 28 (Thursday Oct
		// 1 is outside) with 0: median of [0, 1 x 13] = 1 -> high. Months 5, 4, 4.
		{"one day a week", thursdays, 1, 4, 1, 13, dora.High, dora.High},
		// Jul 1, Jul 15, Aug 1, Aug 15, Sep 1, Sep 15 fall in 6 different weeks: 6
		// weeks with 1, 8 with 0, median (h = 6.5) 0. Each month has 2 -> medium
		// (2023); 2021 high accepts once a month.
		{"twice a month", append(days(2026, 7, 1, 15), append(days(2026, 8, 1, 15), days(2026, 9, 1, 15)...)...), 0, 2, 1, 6, dora.Medium, dora.High},
		// Once a quarter: months [0, 1, 0], median 0 -> low (2023); 2021: 1 deploy
		// day in 92 days is 1.96 per 180 days -> medium.
		{"once a quarter", days(2026, 8, 12), 0, 0, 1, 1, dora.Low, dora.Medium},
		{"never", nil, 0, 0, 0, 0, dora.NoTier, dora.NoTier},
	}
	t23, _ := dora.Lookup("2023")
	t21, _ := dora.Lookup("2021")
	for _, tt := range tests {
		got := aggregate.DeployDays(tt.finished, from, to)
		if got.WeekMedian != tt.week || got.MonthMedian != tt.mon || got.PerDayMedian != tt.perDay || got.Days != tt.days || got.WindowDays != 92 {
			t.Errorf("%s: %+v, want week %v, month %v, %v a deploy day, %d days of 92", tt.name, got, tt.week, tt.mon, tt.perDay, tt.days)
		}
		if tier := t23.GradeDeploymentFrequency(got); tier != tt.tier {
			t.Errorf("%s: 2023 tier %q, want %q", tt.name, tier, tt.tier)
		}
		if tier := t21.GradeDeploymentFrequency(got); tier != tt.t21 {
			t.Errorf("%s: 2021 tier %q, want %q", tt.name, tier, tt.t21)
		}
	}
	// A year with one deploy day: 180/365 < 1 per 180 days -> 2021 low.
	year := aggregate.DeployDays(days(2026, 3, 3), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if tier := t21.GradeDeploymentFrequency(year); tier != dora.Low {
		t.Errorf("one deploy day in a year: 2021 %q, want low", tier)
	}
	if got := aggregate.DeployDays(monTueWed, to, from); got != (dora.DeployDays{}) {
		t.Errorf("empty window: %+v", got)
	}
}

// Weeks start on Monday 00:00 UTC: over [Jun 1, Jun 15) 2026 (Mondays Jun 1 and 8),
// deploys on Sunday Jun 7, Monday Jun 8 (twice) and Sunday Jun 14 give weeks [1 2],
// median 1.5. Weeks from Sunday would give [0 2 1] and a median of 1. Deployments a
// deploy day [1 2 1]: median 1.
func TestDeployDaysWeeksStartOnMonday(t *testing.T) {
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	finished := []time.Time{
		time.Date(2026, 6, 7, 23, 59, 0, 0, time.UTC),
		time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 6, 8, 9, 0, 0, 0, time.UTC),
		// 23:30 on Jun 14 in New York is Jun 15 03:30 UTC: outside the window.
		time.Date(2026, 6, 14, 23, 30, 0, 0, time.FixedZone("EDT", -4*3600)),
		time.Date(2026, 6, 14, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600)),
	}
	got := aggregate.DeployDays(finished, from, to)
	if got.WeekMedian != 1.5 || got.MonthMedian != 3 || got.PerDayMedian != 1 || got.Days != 3 || got.WindowDays != 14 {
		t.Errorf("%+v, want week median 1.5, month 3, 1 a deploy day, 3 days of 14", got)
	}
}
