package flow

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDayNumberRoundTrip(t *testing.T) {
	for n := int64(-800000); n <= 800000; n += 97 {
		y, m, d := civilOf(n)
		if got := dayNumber(y, m, d); got != n {
			t.Fatalf("dayNumber(civilOf(%d)) = %d", n, got)
		}
		want := time.Unix(n*86400, 0).UTC()
		if want.Year() != y || want.Month() != m || want.Day() != d {
			t.Fatalf("civilOf(%d) = %d-%d-%d, want %s", n, y, m, d, want)
		}
		if weekdayOf(n) != want.Weekday() {
			t.Fatalf("weekdayOf(%d) = %s, want %s", n, weekdayOf(n), want.Weekday())
		}
	}
}

// TestWorkingSeconds checks hand-computed working times.
func TestWorkingSeconds(t *testing.T) {
	const h = 3600
	office := &config.Calendar{WorkingHours: "09:00-17:00", Holidays: []string{"2026-03-16"}}
	berlin := &config.Calendar{TimeZone: "Europe/Berlin", WorkingHours: "09:00-17:00"}
	berlinAllDay := &config.Calendar{TimeZone: "Europe/Berlin", WorkingDays: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}}
	bl := mustLoc(t, "Europe/Berlin")
	utc := func(s string) time.Time { x, _ := time.Parse("2006-01-02 15:04", s); return x }
	ber := func(s string) time.Time { x, _ := time.ParseInLocation("2006-01-02 15:04", s, bl); return x }
	cases := []struct {
		name string
		cal  *config.Calendar
		a, b time.Time
		want int64
	}{
		// Fri 15:00 → Mon 11:00, 09–17 Mon–Fri: 2 h Friday + 2 h Monday.
		{"weekend", office, utc("2026-03-06 15:00"), utc("2026-03-09 11:00"), 4 * h},
		// Fri 13th 15:00 → Tue 17th 11:00, Monday 16th a holiday: 2 h + 0 + 2 h.
		{"holiday", office, utc("2026-03-13 15:00"), utc("2026-03-17 11:00"), 4 * h},
		// Within one day, before and after hours.
		{"same day", office, utc("2026-03-04 07:00"), utc("2026-03-04 10:30"), 90 * 60},
		{"night", office, utc("2026-03-04 18:00"), utc("2026-03-05 08:00"), 0},
		// Two whole weeks: 10 working days × 8 h.
		{"two weeks", office, utc("2026-03-02 00:00"), utc("2026-03-16 00:00"), 80 * h},
		// Fri 27 Mar 15:00 CET → Mon 30 Mar 11:00 CEST: clocks went forward on
		// Sunday, the working hours are local: still 2 h + 2 h (wall clock: 67 h).
		{"berlin dst", berlin, ber("2026-03-27 15:00"), ber("2026-03-30 11:00"), 4 * h},
		// A whole-day calendar counts the 23-hour Sunday as 23 h: Sat 24 h + Sun 23 h.
		{"berlin spring forward all day", berlinAllDay, ber("2026-03-28 00:00"), ber("2026-03-30 00:00"), 47 * h},
		// and the 25-hour Sunday in October as 25 h.
		{"berlin fall back all day", berlinAllDay, ber("2026-10-25 00:00"), ber("2026-10-26 00:00"), 25 * h},
		{"backwards", office, utc("2026-03-09 11:00"), utc("2026-03-06 15:00"), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := clock{cal: newWorkCalendar("team", c.cal)}
			if got := clk.between(c.a, c.b); got != c.want {
				t.Errorf("between(%s, %s) = %d s, want %d s", c.a, c.b, got, c.want)
			}
		})
	}
}

// bruteWorking counts working minutes one by one as config.Calendar defines them:
// minutes whose day is a working day (WorkingDay) and whose local wall-clock time
// lies within Hours.
func bruteWorking(cal *config.Calendar, a, b time.Time) int64 {
	from, to := cal.Hours()
	var n int64
	for t := a; t.Before(b); t = t.Add(time.Minute) {
		lt := t.In(cal.Location())
		off := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute
		if cal.WorkingDay(t) && off >= from && off < to {
			n += 60
		}
	}
	return n
}

// TestWorkingSecondsAgainstBruteForce compares the O(1) count with a minute by
// minute count over random intervals around clock changes, weekends and holidays.
func TestWorkingSecondsAgainstBruteForce(t *testing.T) {
	cals := []*config.Calendar{
		{TimeZone: "Europe/Berlin", WorkingHours: "09:00-17:00", Holidays: []string{"2026-03-30", "2026-10-26"}},
		{TimeZone: "Europe/Berlin", WorkingDays: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
		{TimeZone: "Europe/Berlin", WorkingHours: "01:00-04:00", WorkingDays: []string{"sun", "sat"}},
		{TimeZone: "America/New_York", WorkingHours: "08:30-18:15", WorkingDays: []string{"mon", "wed", "sun"}},
		{TimeZone: "Australia/Lord_Howe", WorkingHours: "00:00-24:00"},
		{},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	anchors := []time.Time{
		time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 23, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 3, 0, 0, 0, 0, time.UTC),
	}
	for ci, src := range cals {
		if err := src.Parse(); err != nil {
			t.Fatal(err)
		}
		clk := clock{cal: newWorkCalendar("team", src)}
		for range 60 {
			base := anchors[rng.IntN(len(anchors))]
			a := base.Add(time.Duration(rng.IntN(6*24*60)) * time.Minute)
			b := a.Add(time.Duration(rng.IntN(9*24*60)) * time.Minute)
			if got, want := clk.between(a, b), bruteWorking(src, a, b); got != want {
				t.Fatalf("calendar %d: between(%s, %s) = %d, brute force %d", ci, a, b, got, want)
			}
		}
	}
}

// TestCalendarLeavesConfigAlone: preparing rules parses a copy of the calendar.
func TestCalendarLeavesConfigAlone(t *testing.T) {
	cal := &config.Calendar{TimeZone: "Europe/Berlin", WorkingHours: "09:00-17:00"}
	newWorkCalendar("team", cal)
	if from, to := cal.Hours(); from != 0 || to != 24*time.Hour {
		t.Errorf("the config's calendar was parsed: hours %s-%s", from, to)
	}
}
