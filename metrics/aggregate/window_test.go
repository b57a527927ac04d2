package aggregate

import (
	"testing"
	"time"
)

func TestPreviousWindow(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, c := range []struct{ from, to, wantFrom, wantTo string }{
		{"2026-07-01", "2026-10-01", "2026-04-01", "2026-07-01"}, // Q3 (92 days) → Q2 (91 days)
		{"2026-01-01", "2026-04-01", "2025-10-01", "2026-01-01"}, // across a year
		{"2026-03-01", "2026-04-01", "2026-02-01", "2026-03-01"}, // a month → the month before (28 days)
		{"2026-02-01", "2026-05-01", "2025-11-04", "2026-02-01"}, // three months, not a quarter: the 89 days before
		{"2026-09-02", "2026-12-01", "2026-06-04", "2026-09-02"}, // 90 days
	} {
		f, to := PreviousWindow(day(c.from), day(c.to))
		if !f.Equal(day(c.wantFrom)) || !to.Equal(day(c.wantTo)) {
			t.Errorf("PreviousWindow(%s, %s) = %s, %s; want %s, %s", c.from, c.to,
				f.Format(time.DateOnly), to.Format(time.DateOnly), c.wantFrom, c.wantTo)
		}
	}
	f, to := YearEarlier(day("2026-07-01"), day("2026-10-01"))
	if !f.Equal(day("2025-07-01")) || !to.Equal(day("2025-10-01")) {
		t.Errorf("YearEarlier(2026Q3) = %s, %s", f, to)
	}
}
