package flow

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/reports/render"
)

// WindowName names a window for people: "2026Q3" when it is exactly one
// calendar quarter, its first and last days when it runs from midnight to
// midnight ("2026-06-01 – 2026-06-30"), else its instants.
func WindowName(from, to time.Time) string {
	from, to = from.UTC(), to.UTC()
	if isMidnight(from) && from.Day() == 1 && (from.Month()-1)%3 == 0 && from.AddDate(0, 3, 0).Equal(to) {
		return fmt.Sprintf("%dQ%d", from.Year(), (from.Month()-1)/3+1)
	}
	if isMidnight(from) && isMidnight(to) {
		return from.Format(time.DateOnly) + " – " + to.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return render.Window(from, to)
}

func isMidnight(t time.Time) bool { return t.Equal(t.Truncate(24 * time.Hour)) }

// windowNames are the names of the review's three windows.
type windowNames struct{ current, previous, yearEarlier string }

func namesOf(r flow.Review) windowNames {
	return windowNames{
		current:     WindowName(r.Current.From, r.Current.To),
		previous:    WindowName(r.Previous.From, r.Previous.To),
		yearEarlier: WindowName(r.YearEarlier.From, r.YearEarlier.To),
	}
}

// ReviewDurations says how a review's durations were counted: as Durations
// says for one clock, or "mixed: …" naming each when its items were counted on
// several (the organisation of teams with and without calendars).
func ReviewDurations(t flow.TeamReview) string {
	var calendars []string
	wallClock := false
	for _, c := range t.Calendars {
		if c == "" {
			wallClock = true
		} else {
			calendars = append(calendars, c)
		}
	}
	var working string
	switch len(calendars) {
	case 0:
		return "wall-clock"
	case 1:
		working = Durations(flow.Team{Name: calendars[0], Calendar: calendars[0]})
	default:
		working = "working hours of the calendars of " + andList(calendars)
	}
	if wallClock {
		return "mixed: wall-clock and " + working
	}
	return working
}

// andList joins names as "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// mixedNote warns that a review's sums mix clocks, empty when they do not.
func mixedNote(t flow.TeamReview) string {
	if !t.Mixed() {
		return ""
	}
	return "Its teams count durations on different clocks (" + ReviewDurations(t)[len("mixed: "):] +
		"): sums, shares, percentiles and histogram bins that mix them are approximate."
}

// reviewDuration prints a review's durations: in hours beyond a day when any
// of them counts working hours, as the flow report does.
func reviewDuration(t flow.TeamReview) func(aggregate.Value) string {
	for _, c := range t.Calendars {
		if c != "" {
			return render.Hours
		}
	}
	return render.Duration
}

// itemDuration prints an item's durations in its own clock.
func itemDuration(calendar string) func(aggregate.Value) string {
	if calendar != "" {
		return render.Hours
	}
	return render.Duration
}

func secs[T int64 | float64](s T) aggregate.Value { return aggregate.Some(float64(s)) }

// signed writes x with a sign, "−" for negatives as typeset text has it.
func signed(x float64, places int) string {
	s := render.Trim(math.Abs(x), places)
	switch {
	case s == "0":
		return "±0"
	case x < 0:
		return "−" + s
	}
	return "+" + s
}

// points writes a difference of two shares in percentage points.
func points(v aggregate.Value) string {
	d, ok := v.Get()
	if !ok {
		return render.Dash
	}
	return signed(d*100, 1) + " points"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// noWorkSentence is what a review says of a team with nothing finished or in
// progress, instead of empty charts.
func noWorkSentence(team, window string) string {
	return fmt.Sprintf("No tickets were finished or in progress for %s in %s.", team, window)
}

// sentence writes an observation as a sentence with its numbers; durations as
// the team's review prints them.
func sentence(o flow.Observation, t flow.TeamReview, names windowNames) string {
	dur := reviewDuration(t)
	switch o.Kind {
	case flow.ObserveLargestWait:
		return fmt.Sprintf("Work waited longest in %s: %s in total across %s, %s of all wait time.",
			o.Subject, dur(secs(o.Seconds)), plural(o.Count, "item", "items"), render.Percent(aggregate.Some(o.Share)))
	case flow.ObserveChange, flow.ObserveChangeYear:
		since := names.previous
		if o.Kind == flow.ObserveChangeYear {
			since = names.yearEarlier + ", a year earlier"
		}
		verb := "rose"
		if o.Now < o.Was {
			verb = "fell"
		}
		relative := signed((o.Now/o.Was-1)*100, 0) + "%"
		switch o.Subject {
		case flow.FigureEfficiency:
			return fmt.Sprintf("Flow efficiency %s from %s to %s (%s) since %s.", verb,
				render.Percent(aggregate.Some(o.Was)), render.Percent(aggregate.Some(o.Now)), points(aggregate.Some(o.Now-o.Was)), since)
		case flow.FigureFlowTimeP50:
			return fmt.Sprintf("Flow time p50 %s from %s to %s (%s) since %s.", verb, dur(secs(o.Was)), dur(secs(o.Now)), relative, since)
		case flow.FigureVelocity:
			return fmt.Sprintf("Velocity %s from %s to %s items a week (%s) since %s.", verb,
				render.Trim(o.Was, 2), render.Trim(o.Now, 2), relative, since)
		case flow.FigureDistribution:
			return fmt.Sprintf("The %s share of finished items %s from %s to %s (%s) since %s.", o.FlowType, verb,
				render.Percent(aggregate.Some(o.Was)), render.Percent(aggregate.Some(o.Now)), points(aggregate.Some(o.Now-o.Was)), since)
		}
	case flow.ObserveDoneNotDelivered:
		verb := "were"
		if o.Count == 1 {
			verb = "was"
		}
		return fmt.Sprintf("%d of %s (%s) %s done but not yet delivered at the end of the window: a linked pull request had not shipped by then.",
			o.Count, plural(o.Of, "finished item", "finished items"), render.Percent(aggregate.Some(o.Share)), verb)
	case flow.ObserveSlowestStage:
		return fmt.Sprintf("The slowest value-stream stage is %s: a median of %s (wall-clock) over %s with shipped pull requests.",
			o.Subject, render.Hours(secs(o.Seconds)), plural(o.Count, "item", "items"))
	case flow.ObserveUnmapped:
		return "Statuses not in the mapping were counted under their tracker category: " + strings.Join(o.Statuses, ", ") + "."
	}
	return ""
}

// table is a table both Markdown and HTML print, so that they show the same
// figures the same way.
type table struct {
	head []string
	// numeric marks the columns of figures, aligned right.
	numeric []bool
	rows    [][]cell
}

// cell is a table cell; href makes it a link.
type cell struct{ text, href string }

func texts(s ...string) []cell {
	out := make([]cell, len(s))
	for i, t := range s {
		out[i] = cell{text: t}
	}
	return out
}

// figures marks every column but the first as numeric.
func figures(head ...string) table {
	num := make([]bool, len(head))
	for i := 1; i < len(num); i++ {
		num[i] = true
	}
	return table{head: head, numeric: num}
}

// efficiencyTable is the efficiency of the three windows, each earlier one with
// the change from it to now.
func efficiencyTable(t flow.TeamReview, n windowNames) table {
	tb := figures("window", "finished", "efficiency", "median efficiency", "change to "+n.current)
	for _, w := range []struct {
		name   string
		team   flow.Team
		change string
	}{
		{n.current, t.Current, ""},
		{n.previous + " (previous)", t.Previous, points(t.EfficiencyChange)},
		{n.yearEarlier + " (a year earlier)", t.YearEarlier, points(t.EfficiencyChangeYear)},
	} {
		tb.rows = append(tb.rows, texts(w.name, strconv.Itoa(w.team.Finished), render.Percent(w.team.Efficiency),
			render.Percent(w.team.EfficiencyMedian), w.change))
	}
	return tb
}

func activeWaitTable(t flow.TeamReview) table {
	dur := reviewDuration(t)
	if t.Current.Finished == 0 {
		// Nothing finished: no data, not zero time.
		dur = func(aggregate.Value) string { return render.Dash }
	}
	tb := figures("time of the finished items", "total", "share of flow time")
	tb.rows = [][]cell{
		texts("active", dur(secs(t.Time.ActiveSeconds)), render.Percent(t.Time.ActiveShare)),
		texts("wait", dur(secs(t.Time.WaitSeconds)), render.Percent(t.Time.WaitShare)),
	}
	return tb
}

// openWorkTable is what is still open at the end of the window and how much of
// the finished work reached users.
func openWorkTable(t flow.TeamReview) table {
	dur := reviewDuration(t)
	c := t.Current
	tb := figures("open at the end", "age p50", "delivered", "done, not delivered", "share of finished", "time to delivery p50")
	tb.numeric[0] = true
	tb.rows = [][]cell{texts(strconv.Itoa(c.OpenItems), dur(c.Age.P50), strconv.Itoa(c.Delivered), strconv.Itoa(c.DoneNotDelivered),
		render.Percent(c.DoneNotDeliveredShare), dur(c.TimeToDelivery.P50))}
	return tb
}

func waitsTable(t flow.TeamReview) table {
	dur := reviewDuration(t)
	tb := figures("status", "time waiting", "items", "share of all wait time")
	for _, w := range t.Waits {
		tb.rows = append(tb.rows, texts(w.Status, dur(secs(w.Seconds)), strconv.Itoa(w.Items), render.Percent(w.Share)))
	}
	return tb
}

func flowTimeTable(t flow.TeamReview) table {
	dur := reviewDuration(t)
	tb := figures("flow type", "finished", "flow time p50", "p85", "p95", "efficiency", "velocity/week")
	for _, f := range append([]flow.TypeFigures{t.Current.All}, t.Current.ByType...) {
		tb.rows = append(tb.rows, texts(orAll(f.FlowType), strconv.Itoa(f.Finished), dur(f.FlowTime.P50), dur(f.FlowTime.P85),
			dur(f.FlowTime.P95), render.Percent(f.Efficiency), render.Number(f.VelocityPerWeek, 1)))
	}
	return tb
}

// binLabels name the histogram's bins: "<1 d", "1–2 d" … "≥80 d".
func binLabels() []string {
	e := flow.FlowTimeBinEdges
	out := make([]string, len(e))
	for i := range e {
		switch {
		case i == 0:
			out[i] = "<" + render.Trim(e[1], 0) + " d"
		case i == len(e)-1:
			out[i] = "≥" + render.Trim(e[i], 0) + " d"
		default:
			out[i] = render.Trim(e[i], 0) + "–" + render.Trim(e[i+1], 0) + " d"
		}
	}
	return out
}

// dayUnit says what a day of the histogram is.
func dayUnit(t flow.TeamReview) string {
	switch {
	case t.Histogram.DaySeconds == 0:
		return "days: 24 hours for wall-clock items, a working day of its calendar for the others"
	case len(t.Calendars) == 1 && t.Calendars[0] != "":
		return "working days of " + render.Hours(secs(t.Histogram.DaySeconds)) + " (" + ReviewDurations(t) + ")"
	}
	return "days of " + render.Hours(secs(t.Histogram.DaySeconds))
}

func histogramTable(t flow.TeamReview) table {
	tb := figures("flow time", "items")
	for i, l := range binLabels() {
		tb.rows = append(tb.rows, texts(l, strconv.Itoa(t.Histogram.Counts[i])))
	}
	return tb
}

// markersLine lists the histogram's percentiles in days.
func markersLine(t flow.TeamReview) string {
	var parts []string
	for _, m := range t.Histogram.Markers {
		parts = append(parts, m.Label+" "+render.Trim(m.Days, 1)+" d")
	}
	return strings.Join(parts, ", ")
}

// weekName names an ISO week, "2026-W27".
func weekName(w flow.Week) string {
	y, n := w.Start.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, n)
}

func weeksTable(t flow.TeamReview) table {
	tb := figures("ISO week", "starts", "load (daily average)", "finished")
	tb.numeric[1] = false
	for _, w := range t.Weeks {
		name := weekName(w)
		if w.Partial {
			name += " (partial)"
		}
		tb.rows = append(tb.rows, texts(name, w.Start.Format(time.DateOnly), render.Number(w.Load, 1), strconv.Itoa(w.Finished)))
	}
	return tb
}

func distributionTable(t flow.TeamReview, n windowNames) table {
	tb := figures("flow type", n.current, n.previous+" (previous)", "change")
	for _, s := range t.Distribution {
		tb.rows = append(tb.rows, texts(s.FlowType, render.Percent(s.Current), render.Percent(s.Previous), points(s.Change)))
	}
	return tb
}

// worstTable lists the least efficient items, with their team in the
// organisation's review.
func worstTable(t flow.TeamReview, withTeam bool) table {
	head := []string{"item", "title", "flow type", "flow time", "active", "wait", "efficiency"}
	if withTeam {
		head = append([]string{"team"}, head...)
	}
	tb := figures(head...)
	first := len(head) - 4
	for i := range first {
		tb.numeric[i] = false
	}
	for _, it := range t.Worst {
		dur := itemDuration(it.Calendar)
		row := []cell{{text: it.ID, href: it.URL}, {text: it.Title}, {text: it.FlowType},
			{text: dur(secs(it.FlowSeconds))}, {text: dur(secs(it.ActiveSeconds))}, {text: dur(secs(it.WaitSeconds))},
			{text: render.Percent(aggregate.Some(it.Efficiency))}}
		if withTeam {
			row = append([]cell{{text: it.Team}}, row...)
		}
		tb.rows = append(tb.rows, row)
	}
	return tb
}

// valueStreamLine says how many items the map covers and how to read it.
func valueStreamLine(vs flow.ValueStream) string {
	if vs.Finished == 0 {
		return "No item was finished in the window: there is no value-stream map."
	}
	if vs.Mapped == 0 {
		return fmt.Sprintf("None of the %s had linked pull requests that all shipped: there is no value-stream map.",
			plural(vs.Finished, "finished item", "finished items"))
	}
	return fmt.Sprintf("%d of %s had shipped pull requests (every linked pull request shipped); the map covers them. "+
		"Times are wall-clock hours, even for a team with a calendar, and each stage is the median over those items: "+
		"the medians of the stages do not add up to the median of the whole.",
		vs.Mapped, plural(vs.Finished, "finished item", "finished items"))
}

func valueStreamTable(vs flow.ValueStream) table {
	tb := figures("stage", "kind", "median (wall-clock)")
	tb.numeric[1] = false
	for _, s := range vs.Stages {
		tb.rows = append(tb.rows, texts(s.Name, kind(s.Wait), render.Hours(s.Median)))
	}
	tb.rows = append(tb.rows,
		texts("work, the sum of its medians", "", render.Hours(secs(vs.WorkSeconds))),
		texts("wait, the sum of its medians", "", render.Hours(secs(vs.WaitSeconds))),
		texts("work share of the sum", "", render.Percent(vs.WorkShare)))
	return tb
}

func kind(wait bool) string {
	if wait {
		return "wait"
	}
	return "work"
}

func doraTable(rows []flow.DORARow) table {
	tb := figures("team", "deployments/day", "lead time p50", "change failure rate", "recovery p50",
		"deployment frequency tier", "lead time tier", "change failure rate tier", "recovery tier")
	for i := 5; i < len(tb.numeric); i++ {
		tb.numeric[i] = false
	}
	for _, d := range rows {
		tb.rows = append(tb.rows, texts(d.Team, render.Number(d.DeploymentsPerDay, 2), render.Duration(d.LeadTimeP50),
			render.Percent(d.ChangeFailureRate), render.Duration(d.RecoveryP50),
			tierName(d.Tiers.DeploymentFrequency), tierName(d.Tiers.LeadTime), tierName(d.Tiers.ChangeFailureRate),
			tierName(d.Tiers.FailedDeploymentRecovery)))
	}
	return tb
}

func tierName(t dora.Tier) string {
	if t == dora.NoTier {
		return render.Dash
	}
	return t.String()
}

// doraLine says where the DORA figures come from, or that there are none.
func doraLine(t flow.TeamReview, organisation bool) string {
	switch {
	case organisation && len(t.DORA) > 0:
		return "The DORA report's rows of each team, side by side: DORA figures of teams do not add up to the organisation's."
	case len(t.DORA) == 0:
		return "No DORA figures for " + t.Name + " in the window."
	}
	return "From the DORA report of the same window; durations wall-clock."
}

// howMade is the closing paragraph: the definitions, short, and each review's clock.
func howMade(r flow.Review) string {
	var clocks []string
	for _, t := range r.Teams {
		clocks = append(clocks, t.Name+": "+ReviewDurations(t))
	}
	if o := r.Organisation; o != nil {
		clocks = append(clocks, o.Name+": "+ReviewDurations(*o))
	}
	edges := binLabels()
	return "An item's flow time runs from its commitment point (its first entry into a wait or active status) to its last " +
		"entry into done; its active time is the part spent in active statuses and its wait time the rest. Flow efficiency " +
		"is Σ active / Σ flow time of the items finished in the window (work-weighted), beside the median of the items' own " +
		"efficiencies. The previous window is the quarter, month or window of the same length before; a window in which " +
		"nothing was finished has no data, not 0. Waits are the wait statuses where finished items spent the most time, " +
		"each with its share of all their wait time. The histogram counts finished items' flow times in days (" +
		strings.Join(edges, ", ") + "), a day being 24 hours, or a working day of a team's calendar, with the p50, p85 and " +
		"p95 of all flow types marked. Weeks are ISO weeks from Monday 00:00 UTC: the load is the average of the daily " +
		"00:00 UTC samples in the window, and the finished items those done in the week. The least efficient items are " +
		"ordered by efficiency, then longer flow time first. The value-stream map covers finished items whose linked pull " +
		"requests all shipped, in wall-clock time: commitment to first commit (wait), coding to ready for review (work), " +
		"pickup to first review (wait), review to merge (work), deploy to shipped (wait) and shipped to done (wait), each " +
		"the median over those items. Observations are made only where the data supports them; a change is remarked when " +
		"it is at least a tenth of the earlier value. Durations: " + strings.Join(clocks, "; ") + "."
}
