package build

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	now := time.Date(2026, 7, 15, 18, 30, 0, 0, time.FixedZone("CEST", 2*3600)) // 16:30 UTC
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		from, to, quarter string
		wantFrom, wantTo  time.Time
	}{
		// Default: 90 days ending at the start of tomorrow (UTC): [Apr 17, Jul 16).
		{"", "", "", day(4, 17), day(7, 16)},
		{"2026-07-01", "", "", day(7, 1), day(7, 16)},
		{"", "2026-07-01", "", day(4, 2), day(7, 1)},
		{"2026-06-01", "2026-06-29", "", day(6, 1), day(6, 29)},
		{"", "", "2026Q1", day(1, 1), day(4, 1)},
		{"", "", "2026Q3", day(7, 1), day(10, 1)},
		{"", "", "2026Q4", day(10, 1), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2016-07-15", "2026-07-15", "", time.Date(2016, 7, 15, 0, 0, 0, 0, time.UTC), day(7, 15)}, // ten years: the longest
	}
	for _, tt := range tests {
		from, to, err := Window(now, tt.from, tt.to, tt.quarter)
		if err != nil || !from.Equal(tt.wantFrom) || !to.Equal(tt.wantTo) {
			t.Errorf("from %q to %q quarter %q: [%s, %s) %v; want [%s, %s)", tt.from, tt.to, tt.quarter, from, to, err, tt.wantFrom, tt.wantTo)
		}
	}
	// Just after midnight UTC, "tomorrow" is the next UTC day whatever the local day.
	late := time.Date(2026, 7, 15, 23, 30, 0, 0, time.FixedZone("PDT", -7*3600)) // Jul 16 06:30 UTC
	if _, to, _ := Window(late, "", "", ""); !to.Equal(day(7, 17)) {
		t.Errorf("late: to %s", to)
	}
	for _, bad := range []struct{ from, to, quarter, want string }{
		{"2026-07-01", "", "2026Q3", "--quarter and --from/--to both name the window: give one or the other"},
		{"", "", "2026Q0", `--quarter "2026Q0": want a quarter like 2026Q3`},
		{"July", "", "", `--from "July": want a date like 2026-07-01`},
		{"", "2026-13-01", "", `--to "2026-13-01": want a date like 2026-10-01`},
		{"2026-07-01", "2026-07-01", "", "--from 2026-07-01 is not before --to 2026-07-01: the window [from, to) is empty"},
		{"", "", "1700Q1", "--quarter 1700Q1: reports cover 1970-01-01 to 2100-01-01"},
		{"0001-01-01", "0002-01-01", "", "--from 0001-01-01 --to 0002-01-01: reports cover 1970-01-01 to 2100-01-01"},
		{"2026-01-01", "9999-12-31", "", "--from 2026-01-01 --to 9999-12-31: reports cover 1970-01-01 to 2100-01-01"},
		{"2000-01-01", "2010-01-02", "", "--from 2000-01-01 --to 2010-01-02: a window is at most 10 years long"},
	} {
		if _, _, err := Window(now, bad.from, bad.to, bad.quarter); err == nil || err.Error() != bad.want {
			t.Errorf("from %q to %q quarter %q: %v, want %q", bad.from, bad.to, bad.quarter, err, bad.want)
		}
	}
}

func TestQuarter(t *testing.T) {
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "2026Q1"},
		{time.Date(2026, 3, 31, 23, 59, 0, 0, time.UTC), "2026Q1"},
		{time.Date(2026, 9, 30, 12, 0, 0, 0, time.UTC), "2026Q3"},
		{time.Date(2026, 12, 31, 23, 0, 0, 0, time.FixedZone("UTC-2", -2*3600)), "2027Q1"}, // Jan 1 01:00 UTC
	} {
		if got := Quarter(tt.at); got != tt.want {
			t.Errorf("Quarter(%s) = %s, want %s", tt.at, got, tt.want)
		}
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	if q, ok := QuarterOf(day(2026, 7, 1), day(2026, 10, 1)); !ok || q != "2026Q3" {
		t.Errorf("QuarterOf(Jul 1, Oct 1) = %s %v", q, ok)
	}
	// Not quarters: a day short, a month late, and no window (a year of one digit).
	for _, w := range [][2]time.Time{{day(2026, 7, 1), day(2026, 9, 30)}, {day(2026, 8, 1), day(2026, 11, 1)}, {{}, {}}} {
		if q, ok := QuarterOf(w[0], w[1]); ok {
			t.Errorf("QuarterOf(%s, %s) = %s, want no quarter", w[0], w[1], q)
		}
	}
}
