package aggregate

import "time"

// PreviousWindow is the window a report compares [from, to) with: the previous
// calendar quarter or month when the window is one (quarters and months differ in
// days), else the window of the same length that ends where this one starts.
func PreviousWindow(from, to time.Time) (time.Time, time.Time) {
	from, to = from.UTC(), to.UTC()
	for _, months := range []int{3, 1} {
		if startOfMonth(from) && from.AddDate(0, months, 0).Equal(to) && (months == 1 || (from.Month()-1)%3 == 0) {
			return from.AddDate(0, -months, 0), from
		}
	}
	return from.Add(-to.Sub(from)), from
}

// YearEarlier is the same window one year before, to compare a quarter with the
// same quarter of the previous year (seasons, holidays).
func YearEarlier(from, to time.Time) (time.Time, time.Time) {
	return from.UTC().AddDate(-1, 0, 0), to.UTC().AddDate(-1, 0, 0)
}

func startOfMonth(t time.Time) bool {
	return t.Day() == 1 && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}
