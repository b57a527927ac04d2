package flow

import (
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/config"
)

// clock turns instants into a running count of counted seconds, so that every
// duration is the difference of two readings: wall-clock seconds without a team
// calendar, working seconds with one. Because durations are differences of the
// same readings, the parts of a flow time (active, wait, per status) add up to it
// exactly.
type clock struct {
	cal *workCalendar // nil: wall clock
}

// at is the clock's reading at t.
func (c clock) at(t time.Time) int64 {
	if c.cal == nil {
		return t.Unix()
	}
	return c.cal.at(t)
}

// between is the counted seconds from a to b, never negative.
func (c clock) between(a, b time.Time) int64 {
	return max(0, c.at(b)-c.at(a))
}

// workCalendar is a team calendar prepared for O(1) working-time readings: whole
// weeks are counted arithmetically, holidays and days whose working window a
// daylight-saving change shortens or lengthens are looked up by binary search in
// sorted lists built once.
type workCalendar struct {
	name string
	loc  *time.Location
	days [7]bool // by time.Weekday
	// perWeek is the number of working weekdays; upTo[r] the number of working
	// weekdays among day numbers 0 … r-1 (day 0, 1970-01-01, is a Thursday).
	perWeek int64
	upTo    [8]int64
	// The working window of a day, as wall-clock hours and minutes in loc
	// (toH may be 24), and its nominal length in seconds.
	fromH, fromM, toH, toM int
	nominal                int64
	// holidays are the day numbers of holidays falling on working weekdays, sorted.
	holidays []int64
	// dstDays are the working days whose window is not nominal long (a clock
	// change falls inside it), sorted; dstCum[i] is the sum of (actual − nominal)
	// over dstDays[:i].
	dstDays []int64
	dstCum  []int64
}

// dstYears bounds the years whose clock changes are looked up when a calendar is
// prepared; instants outside count every working day as nominal long.
const dstFirstYear, dstLastYear = 1900, 2200

// weekdayNamed reads a day name of config.Calendar.WorkingDays.
func weekdayNamed(name string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(name, d.String()[:3]) {
			return d, true
		}
	}
	return 0, false
}

// newWorkCalendar prepares a team calendar. It parses a copy, so the config is not
// changed, and reads the same settings config.Calendar.WorkingDay and Hours do.
func newWorkCalendar(name string, src *config.Calendar) *workCalendar {
	parsed := *src
	_ = parsed.Parse() // a loaded config was validated; invalid settings keep their defaults
	w := &workCalendar{name: name, loc: parsed.Location()}
	days := parsed.WorkingDays
	if days == nil {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	for _, d := range days {
		if wd, ok := weekdayNamed(d); ok {
			w.days[wd] = true
		}
	}
	for r := range 7 {
		w.upTo[r+1] = w.upTo[r]
		if w.days[weekdayOf(int64(r))] {
			w.upTo[r+1]++
		}
	}
	w.perWeek = w.upTo[7]
	from, to := parsed.Hours()
	w.fromH, w.fromM = int(from/time.Hour), int(from%time.Hour/time.Minute)
	w.toH, w.toM = int(to/time.Hour), int(to%time.Hour/time.Minute)
	w.nominal = int64((to - from) / time.Second)
	for _, h := range parsed.Holidays {
		d, err := time.Parse("2006-01-02", h)
		if err != nil {
			continue
		}
		n := dayNumber(d.Date())
		if w.days[weekdayOf(n)] {
			w.holidays = append(w.holidays, n)
		}
	}
	slices.Sort(w.holidays)
	w.holidays = slices.Compact(w.holidays)
	w.findClockChanges()
	return w
}

// findClockChanges lists the working days on which a clock change makes the
// working window differ from its nominal length.
func (w *workCalendar) findClockChanges() {
	t := time.Date(dstFirstYear, 1, 1, 0, 0, 0, 0, w.loc)
	deltas := map[int64]int64{}
	for {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.After(t) || end.Year() > dstLastYear {
			break
		}
		for _, at := range []time.Time{end.Add(-time.Second), end} {
			n := dayNumber(at.In(w.loc).Date())
			if !w.working(n) {
				continue
			}
			if d := w.windowLength(n) - w.nominal; d != 0 {
				deltas[n] = d
			}
		}
		t = end
	}
	for n := range deltas {
		w.dstDays = append(w.dstDays, n)
	}
	slices.Sort(w.dstDays)
	w.dstCum = make([]int64, len(w.dstDays)+1)
	for i, n := range w.dstDays {
		w.dstCum[i+1] = w.dstCum[i] + deltas[n]
	}
}

// window is the working window of day n as Unix seconds.
func (w *workCalendar) window(n int64) (start, end int64) {
	y, m, d := civilOf(n)
	start = time.Date(y, m, d, w.fromH, w.fromM, 0, 0, w.loc).Unix()
	end = time.Date(y, m, d, w.toH, w.toM, 0, 0, w.loc).Unix()
	return start, max(start, end)
}

func (w *workCalendar) windowLength(n int64) int64 {
	s, e := w.window(n)
	return e - s
}

// working says whether day n is a working day: a working weekday, no holiday.
func (w *workCalendar) working(n int64) bool {
	if !w.days[weekdayOf(n)] {
		return false
	}
	_, found := slices.BinarySearch(w.holidays, n)
	return !found
}

// before is the working seconds of the whole days before day n, counted from day 0
// (negative before it): only differences are meaningful.
func (w *workCalendar) before(n int64) int64 {
	q, r := floorDiv(n, 7)
	workdays := q*w.perWeek + w.upTo[r]
	h, _ := slices.BinarySearch(w.holidays, n)
	c, _ := slices.BinarySearch(w.dstDays, n)
	return (workdays-int64(h))*w.nominal + w.dstCum[c]
}

// at is the working seconds from the start of day 0 to t.
func (w *workCalendar) at(t time.Time) int64 {
	n := dayNumber(t.In(w.loc).Date())
	base := w.before(n)
	if !w.working(n) {
		return base
	}
	s, e := w.window(n)
	return base + min(max(t.Unix(), s), e) - s
}

func floorDiv(n, d int64) (q, r int64) {
	q, r = n/d, n%d
	if r < 0 {
		q, r = q-1, r+d
	}
	return q, r
}

// weekdayOf is the weekday of day number n (day 0, 1970-01-01, was a Thursday).
func weekdayOf(n int64) time.Weekday {
	_, r := floorDiv(n+4, 7)
	return time.Weekday(r)
}

// dayNumber is the number of days from 1970-01-01 to the civil date (proleptic
// Gregorian), after Howard Hinnant's days_from_civil.
func dayNumber(y int, m time.Month, d int) int64 {
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era, _ := floorDiv(yy, 400)
	yoe := yy - era*400
	mm := int64(m)
	if mm > 2 {
		mm -= 3
	} else {
		mm += 9
	}
	doy := (153*mm+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilOf is the civil date of day number n, the inverse of dayNumber.
func civilOf(n int64) (int, time.Month, int) {
	n += 719468
	era, _ := floorDiv(n, 146097)
	doe := n - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return int(y), time.Month(m), int(d)
}
