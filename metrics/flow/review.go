package flow

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/schema"
)

// ReviewInput is what the quarterly flow-efficiency review is computed from.
type ReviewInput struct {
	// Items are the flow item facts and Changes the change facts, of any time.
	Items   []schema.FlowItemFact
	Changes []schema.ChangeFact
	// Teams are the teams to review, in order; Team, when set, is the only one
	// reviewed (and the organisation is left out).
	Teams []string
	Team  string
	// From, To is the window under review (a quarter); Now the time of writing.
	From, To, Now time.Time
	Rules         *Rules
	// URLs links work items, by fact id, to their pages in the tracker.
	URLs map[string]string
	// DORA is the DORA report of the same window, shown beside the flow figures.
	DORA aggregate.Report
}

// OrganisationName names the review of every team's facts together.
const OrganisationName = "Organisation"

// Review is the quarterly flow-efficiency review: the window's flow report, the
// reports it is compared with, and per team what a review meeting looks at.
type Review struct {
	// Current is the window's flow report, the figures `report flow` shows;
	// Previous is that of aggregate.PreviousWindow and YearEarlier that of
	// aggregate.YearEarlier, with the same teams.
	Current, Previous, YearEarlier Report
	// Teams are the reviews of Current's teams, in its order.
	Teams []TeamReview
	// Organisation reviews the facts of every team and of none together; nil
	// when one team is reviewed.
	Organisation *TeamReview
}

// Reviewed says whether the review holds more than the window's report: a
// Review made by hand of a Report alone is written as the plain flow report.
func (r Review) Reviewed() bool {
	return len(r.Teams) > 0 || r.Organisation != nil
}

// TeamReview is the review of one team (or of the organisation).
type TeamReview struct {
	Name string
	// Calendars are the calendars its items' durations were counted in, sorted,
	// "" standing for wall-clock; more than one makes sums and percentiles that
	// mix them approximate (see Mixed).
	Calendars []string
	// Current, Previous and YearEarlier are its flow figures of the three windows.
	// An earlier window without finished items has undefined efficiencies: no
	// data, not 0.
	Current, Previous, YearEarlier Team
	// EfficiencyChange and EfficiencyChangeYear are the work-weighted efficiency
	// now minus that of the previous window and of a year earlier (fractions;
	// undefined without data in both).
	EfficiencyChange, EfficiencyChangeYear aggregate.Value
	// Time splits the finished items' flow time into active and wait.
	Time ActiveWait
	// Waits are Current.Waits with each status's share of all wait time.
	Waits []WaitShare
	// Histogram bins the finished items' flow times.
	Histogram Histogram
	// Weeks are the load and velocity of each ISO week of the window up to AsOf.
	Weeks []Week
	// Distribution is each flow type's share now and in the previous window.
	Distribution []TypeShare
	// Worst are the finished items with the lowest flow efficiency, at most ten.
	Worst []ItemEfficiency
	// ValueStream maps the finished items with shipped pull requests.
	ValueStream ValueStream
	// DORA are the DORA report's rows shown beside the flow figures: the team's
	// own, or for the organisation every team's side by side (DORA figures of
	// teams do not add up).
	DORA []DORARow
	// Observations are what the figures say, in a fixed order, only those the
	// data supports.
	Observations []Observation
}

// Mixed says whether the durations were counted on more than one clock.
func (t TeamReview) Mixed() bool { return len(t.Calendars) > 1 }

// NoWork says whether nothing was finished or in progress in the window, so a
// report writes a sentence instead of empty charts.
func (t TeamReview) NoWork() bool {
	if t.Current.Finished > 0 || t.Current.OpenItems > 0 {
		return false
	}
	return !slices.ContainsFunc(t.Current.LoadDaily, func(s LoadSample) bool { return s.Total > 0 })
}

// ActiveWait is the active and wait time of the finished items, counted as the
// team counts durations, with their shares of the flow time.
type ActiveWait struct {
	ActiveSeconds, WaitSeconds int64
	ActiveShare, WaitShare     aggregate.Value
}

// WaitShare is a wait status with its share of all the finished items' wait time
// (which also holds time back in new or done, so shares need not add up to 1).
type WaitShare struct {
	StatusWait
	Share aggregate.Value
}

// FlowTimeBinEdges are the histogram's bin edges in days, roughly doubling so
// that a day and a quarter both read: [0, 1), [1, 2), [2, 5) … [40, 80), and a
// last bin of 80 days and more.
var FlowTimeBinEdges = []float64{0, 1, 2, 5, 10, 20, 40, 80}

// Histogram counts the finished items' flow times in days: of 24 hours for
// wall-clock items, working days of their calendar's working hours for others.
type Histogram struct {
	// DaySeconds is the length of a day the bins count, 0 when the items'
	// calendars differ in it.
	DaySeconds int64
	// Counts has one count per FlowTimeBinEdges entry, the last open-ended.
	Counts []int
	// Markers are the p50, p85 and p95 of the items' flow times in days.
	Markers []Marker
}

// Marker is a percentile of the flow times, placed on the histogram: Position
// counts bins from the left edge, interpolated linearly inside a bin (the
// open-ended last bin is taken to end at twice its start).
type Marker struct {
	Label    string
	Days     float64
	Position float64
}

// Week is one ISO week (from Monday 00:00 UTC) of the window up to AsOf.
type Week struct {
	Start time.Time
	// Partial: the week starts before the window or ends after AsOf.
	Partial bool
	// Load is the average of the daily load samples taken in the week within the
	// window (00:00 UTC, before AsOf); undefined without one.
	Load aggregate.Value
	// Finished: items finished in the week's part of the window.
	Finished int
}

// TypeShare is a flow type's share of the finished items now and in the
// previous window, and their difference.
type TypeShare struct {
	FlowType                  string
	Current, Previous, Change aggregate.Value
}

// ItemEfficiency is a finished item with its flow, active and wait time (counted
// in Calendar, "" for wall-clock) and its efficiency.
type ItemEfficiency struct {
	Team, ID, Title, FlowType, Calendar     string
	FlowSeconds, ActiveSeconds, WaitSeconds int64
	Efficiency                              float64
	// URL is its page in the tracker, "" when unknown.
	URL string
}

// The value-stream stages, from the ticket's commitment to done.
const (
	StageCommitmentToCoding = "commitment → coding"
	StageCoding             = "coding"
	StagePickup             = "pickup"
	StageReview             = "review"
	StageDeploy             = "deploy"
	StageToDone             = "to done"
)

// valueStreamStages are the stages in order, each wait or work.
var valueStreamStages = []struct {
	name string
	wait bool
}{
	{StageCommitmentToCoding, true}, {StageCoding, false}, {StagePickup, true},
	{StageReview, false}, {StageDeploy, true}, {StageToDone, true},
}

// ValueStream is the value-stream map of the finished items whose linked pull
// requests all shipped, in wall-clock seconds whatever the team's calendar.
type ValueStream struct {
	// Mapped of Finished items had such pull requests.
	Mapped, Finished int
	Stages           []StageTime
	// WorkSeconds and WaitSeconds sum the stages' medians; WorkShare is
	// WorkSeconds over both. Medians of stages do not add up to the median of
	// the whole.
	WorkSeconds, WaitSeconds float64
	WorkShare                aggregate.Value
}

// StageTime is a stage's median over the mapped items.
type StageTime struct {
	Name   string
	Wait   bool
	Median aggregate.Value
}

// DORARow is a team's DORA figures as the review shows them.
type DORARow struct {
	Team                           string
	DeploymentsPerDay, LeadTimeP50 aggregate.Value
	ChangeFailureRate, RecoveryP50 aggregate.Value
	Tiers                          aggregate.Tiers
}

// ObservationKind says what an Observation remarks on.
type ObservationKind string

// The observations, in the order a review lists them.
const (
	// ObserveLargestWait: the wait status with the most time (Subject), its
	// Seconds, Count items and Share of all wait time.
	ObserveLargestWait ObservationKind = "largest_wait"
	// ObserveChange and ObserveChangeYear: the largest relative change of a
	// figure since the previous window and since a year earlier: Subject is one
	// of the Figure constants, FlowType the type for a distribution, Was and Now
	// the two values.
	ObserveChange     ObservationKind = "change_since_previous"
	ObserveChangeYear ObservationKind = "change_since_year_earlier"
	// ObserveDoneNotDelivered: Count of Of finished items done but not
	// delivered, Share their share.
	ObserveDoneNotDelivered ObservationKind = "done_not_delivered"
	// ObserveSlowestStage: the value-stream stage (Subject) with the longest
	// median, Seconds, over Count mapped items.
	ObserveSlowestStage ObservationKind = "slowest_stage"
	// ObserveUnmapped: the statuses not in the mapping (Statuses).
	ObserveUnmapped ObservationKind = "unmapped"
)

// The figures a change observation compares.
const (
	FigureEfficiency   = "efficiency"
	FigureFlowTimeP50  = "flow_time_p50"
	FigureVelocity     = "velocity"
	FigureDistribution = "distribution"
)

// minChange is the smallest relative change a review remarks on: below a tenth
// of the earlier value, a change is more likely noise than news.
const minChange = 0.1

// Observation is one thing the figures say; which fields it fills depends on
// its Kind.
type Observation struct {
	Kind     ObservationKind
	Subject  string
	FlowType string
	Was, Now float64
	Seconds  float64
	Count    int
	Of       int
	Share    float64
	Statuses []string
}

// maxWorst is how many least efficient items a review lists.
const maxWorst = 10

// BuildReview computes the review: the reports of the window, the previous
// window and a year earlier, and each team's review, then the organisation's.
func BuildReview(in ReviewInput) Review {
	// Every team is listed even for one team's review, so that the others' items
	// stay theirs rather than falling under aggregate.NoTeam, which may be the
	// team asked for.
	teams := in.Teams
	if in.Team != "" && !slices.Contains(teams, in.Team) {
		teams = append(slices.Clip(teams), in.Team)
	}
	prevFrom, prevTo := aggregate.PreviousWindow(in.From, in.To)
	yearFrom, yearTo := aggregate.YearEarlier(in.From, in.To)
	report := func(from, to time.Time) Report {
		rep := Aggregate(in.Items, teams, from, to, in.Now, in.Rules)
		if in.Team != "" {
			rep.Teams = slices.DeleteFunc(rep.Teams, func(t Team) bool { return t.Name != in.Team })
		}
		return rep
	}
	r := Review{Current: report(in.From, in.To), Previous: report(prevFrom, prevTo), YearEarlier: report(yearFrom, yearTo)}

	changes := make(map[string]*schema.ChangeFact, len(in.Changes))
	for i := range in.Changes {
		if _, dup := changes[in.Changes[i].ID]; !dup {
			changes[in.Changes[i].ID] = &in.Changes[i]
		}
	}
	groups := groupByTeam(in.Items, teams)
	b := reviewer{in: in, changes: changes, groups: groups, from: in.From, asOf: r.Current.AsOf}
	for _, cur := range r.Current.Teams {
		tr := b.review(cur, teamNamed(r.Previous, cur.Name), teamNamed(r.YearEarlier, cur.Name), groups[cur.Name])
		tr.DORA = doraRows(in.DORA, cur.Name)
		tr.Observations = observe(tr)
		r.Teams = append(r.Teams, tr)
	}
	if in.Team == "" {
		// Listing only NoTeam puts every fact in its group: the organisation.
		whole := func(rep Report) Team {
			t := Aggregate(in.Items, []string{aggregate.NoTeam}, rep.From, rep.To, in.Now, in.Rules).Teams[0]
			t.Name = OrganisationName
			return t
		}
		all := make([]*schema.FlowItemFact, len(in.Items))
		for i := range in.Items {
			all[i] = &in.Items[i]
		}
		org := b.review(whole(r.Current), whole(r.Previous), whole(r.YearEarlier), all)
		for _, t := range in.DORA.Teams {
			org.DORA = append(org.DORA, doraRow(t))
		}
		org.Observations = observe(org)
		r.Organisation = &org
	}
	return r
}

// groupByTeam groups facts as Aggregate does: under their team when listed,
// else under aggregate.NoTeam.
func groupByTeam(facts []schema.FlowItemFact, teams []string) map[string][]*schema.FlowItemFact {
	out := make(map[string][]*schema.FlowItemFact, len(teams)+1)
	for _, t := range teams {
		out[t] = nil
	}
	for i := range facts {
		name := facts[i].Team
		if _, listed := out[name]; !listed {
			name = aggregate.NoTeam
		}
		out[name] = append(out[name], &facts[i])
	}
	return out
}

func teamNamed(rep Report, name string) Team {
	for _, t := range rep.Teams {
		if t.Name == name {
			return t
		}
	}
	return Team{Name: name}
}

// reviewer computes the parts of a team's review that need its items.
type reviewer struct {
	in      ReviewInput
	changes map[string]*schema.ChangeFact
	// groups are the facts by the team they are reported under.
	groups     map[string][]*schema.FlowItemFact
	from, asOf time.Time
}

func (b reviewer) review(cur, prev, year Team, facts []*schema.FlowItemFact) TeamReview {
	tr := TeamReview{Name: cur.Name, Current: cur, Previous: prev, YearEarlier: year}
	tr.EfficiencyChange = difference(cur.Efficiency, prev.Efficiency)
	tr.EfficiencyChangeYear = difference(cur.Efficiency, year.Efficiency)

	wait := cur.FlowSeconds - cur.ActiveSeconds
	tr.Time = ActiveWait{
		ActiveSeconds: cur.ActiveSeconds, WaitSeconds: wait,
		ActiveShare: ratio(float64(cur.ActiveSeconds), float64(cur.FlowSeconds)),
		WaitShare:   ratio(float64(wait), float64(cur.FlowSeconds)),
	}
	for _, w := range cur.Waits {
		tr.Waits = append(tr.Waits, WaitShare{StatusWait: w, Share: ratio(float64(w.Seconds), float64(wait))})
	}
	for i, ft := range schema.FlowTypes {
		var was aggregate.Value
		if prev.Finished > 0 && i < len(prev.ByType) {
			was = prev.ByType[i].Distribution
		}
		now := aggregate.None()
		if i < len(cur.ByType) {
			now = cur.ByType[i].Distribution
		}
		tr.Distribution = append(tr.Distribution, TypeShare{FlowType: ft, Current: now, Previous: was, Change: difference(now, was)})
	}

	calendars := map[string]bool{}
	var finished []*schema.FlowItemFact
	for _, f := range facts {
		calendars[f.Calendar] = true
		if inWindow(f.DoneAt, b.from, b.asOf) && f.FlowSeconds != schema.Unknown {
			finished = append(finished, f)
		}
	}
	for c := range calendars {
		tr.Calendars = append(tr.Calendars, c)
	}
	slices.Sort(tr.Calendars)

	tr.Histogram = histogram(finished, b.in.Rules)
	tr.Weeks = weeks(cur.LoadDaily, finished, b.from, b.asOf)
	tr.Worst = b.worst(finished)
	tr.ValueStream = b.valueStream(finished)
	return tr
}

func inWindow(at, from, asOf time.Time) bool {
	return !at.IsZero() && !at.Before(from) && at.Before(asOf)
}

// difference is a − b, undefined unless both are defined.
func difference(a, b aggregate.Value) aggregate.Value {
	x, ok1 := a.Get()
	y, ok2 := b.Get()
	if !ok1 || !ok2 {
		return aggregate.None()
	}
	return aggregate.Some(x - y)
}

// daySeconds is the length of a day of an item's durations: its calendar's
// working hours, or 24 hours.
func daySeconds(f *schema.FlowItemFact, rules *Rules) int64 {
	if rules != nil && f.Calendar != "" {
		if c := rules.calendars[f.Calendar]; c != nil && c.nominal > 0 {
			return c.nominal
		}
	}
	return 24 * 60 * 60
}

func histogram(finished []*schema.FlowItemFact, rules *Rules) Histogram {
	h := Histogram{Counts: make([]int, len(FlowTimeBinEdges))}
	days := make([]float64, 0, len(finished))
	for i, f := range finished {
		ds := daySeconds(f, rules)
		if i == 0 {
			h.DaySeconds = ds
		} else if ds != h.DaySeconds {
			h.DaySeconds = 0
		}
		d := float64(f.FlowSeconds) / float64(ds)
		days = append(days, d)
		h.Counts[binOf(d)]++
	}
	for _, m := range []struct {
		label string
		q     float64
	}{{"p50", 0.5}, {"p85", 0.85}, {"p95", 0.95}} {
		if d, ok := aggregate.Percentile(days, m.q).Get(); ok {
			h.Markers = append(h.Markers, Marker{Label: m.label, Days: d, Position: position(d)})
		}
	}
	return h
}

// binOf is the bin of a flow time in days.
func binOf(days float64) int {
	i, _ := slices.BinarySearch(FlowTimeBinEdges, days)
	if i < len(FlowTimeBinEdges) && FlowTimeBinEdges[i] == days {
		return i
	}
	return max(i-1, 0)
}

// position places days on the histogram, in bins from its left edge.
func position(days float64) float64 {
	i := binOf(days)
	lo := FlowTimeBinEdges[i]
	hi := 2 * lo
	if i+1 < len(FlowTimeBinEdges) {
		hi = FlowTimeBinEdges[i+1]
	}
	return float64(i) + min(1, max(0, (days-lo)/(hi-lo)))
}

// weeks groups the daily load samples and the finished items by ISO week.
func weeks(load []LoadSample, finished []*schema.FlowItemFact, from, asOf time.Time) []Week {
	const day, week = 24 * time.Hour, 7 * 24 * time.Hour
	start := from.UTC().Truncate(day)
	start = start.AddDate(0, 0, -(int(start.Weekday())+6)%7) // back to Monday
	var out []Week
	for ; start.Before(asOf); start = start.Add(week) {
		end := start.Add(week)
		w := Week{Start: start, Partial: start.Before(from) || end.After(asOf)}
		total, n := 0, 0
		for _, s := range load {
			if !s.At.Before(start) && s.At.Before(end) && s.At.Before(asOf) {
				total += s.Total
				n++
			}
		}
		if n > 0 {
			w.Load = aggregate.Some(float64(total) / float64(n))
		}
		for _, f := range finished {
			if !f.DoneAt.Before(start) && f.DoneAt.Before(end) {
				w.Finished++
			}
		}
		out = append(out, w)
	}
	return out
}

// worst lists the finished items of lowest efficiency; ties go to the longer
// flow time, then to the id. Items with no flow time have no efficiency.
func (b reviewer) worst(finished []*schema.FlowItemFact) []ItemEfficiency {
	items := slices.DeleteFunc(slices.Clone(finished), func(f *schema.FlowItemFact) bool { return f.FlowSeconds <= 0 })
	slices.SortFunc(items, func(x, y *schema.FlowItemFact) int {
		// x.active/x.flow against y.active/y.flow, exactly, in integers.
		if c := cmp.Compare(x.ActiveSeconds*y.FlowSeconds, y.ActiveSeconds*x.FlowSeconds); c != 0 {
			return c
		}
		if c := cmp.Compare(y.FlowSeconds, x.FlowSeconds); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(x.ID, y.ID), cmp.Compare(x.Source, y.Source))
	})
	out := make([]ItemEfficiency, 0, min(len(items), maxWorst))
	for _, f := range items[:min(len(items), maxWorst)] {
		team := f.Team
		if _, listed := b.groups[team]; !listed {
			team = aggregate.NoTeam
		}
		out = append(out, ItemEfficiency{
			Team: team, ID: f.ID, Title: f.Title, FlowType: f.FlowType, Calendar: f.Calendar,
			FlowSeconds: f.FlowSeconds, ActiveSeconds: f.ActiveSeconds, WaitSeconds: f.FlowSeconds - f.ActiveSeconds,
			Efficiency: float64(f.ActiveSeconds) / float64(f.FlowSeconds), URL: b.in.URLs[f.ID],
		})
	}
	return out
}

// valueStream maps the finished items whose linked pull requests all have a
// change fact that shipped.
func (b reviewer) valueStream(finished []*schema.FlowItemFact) ValueStream {
	vs := ValueStream{Finished: len(finished)}
	spans := make([][]int64, len(valueStreamStages))
	for _, f := range finished {
		stages, ok := b.stagesOf(f)
		if !ok {
			continue
		}
		vs.Mapped++
		for i, s := range stages {
			spans[i] = append(spans[i], s)
		}
	}
	for i, st := range valueStreamStages {
		m := aggregate.Percentile(spans[i], 0.5)
		vs.Stages = append(vs.Stages, StageTime{Name: st.name, Wait: st.wait, Median: m})
		if st.wait {
			vs.WaitSeconds += m.Float()
		} else {
			vs.WorkSeconds += m.Float()
		}
	}
	vs.WorkShare = ratio(vs.WorkSeconds, vs.WorkSeconds+vs.WaitSeconds)
	return vs
}

// stagesOf is an item's value-stream stages in wall-clock seconds, from the
// boundaries commitment, first commit, ready for review, first review, merge,
// shipped and done: the earliest of its pull requests for the first three, the
// latest for merge and shipped. A boundary no pull request knows falls on the
// one before it; a span running backwards counts 0.
func (b reviewer) stagesOf(f *schema.FlowItemFact) ([]int64, bool) {
	if len(f.PullRequests) == 0 || f.CommittedAt.IsZero() {
		return nil, false
	}
	var firstCommit, ready, review, merged, shipped time.Time
	earliest := func(cur *time.Time, ts ...time.Time) {
		for _, t := range ts {
			if !t.IsZero() {
				if cur.IsZero() || t.Before(*cur) {
					*cur = t
				}
				return
			}
		}
	}
	latest := func(cur *time.Time, t time.Time) {
		if t.After(*cur) {
			*cur = t
		}
	}
	for _, id := range f.PullRequests {
		c := b.changes[id]
		if c == nil || c.ShippedAt.IsZero() {
			return nil, false
		}
		earliest(&firstCommit, c.FirstCommitAt, c.OpenedAt)
		earliest(&ready, c.ReadyAt, c.OpenedAt)
		earliest(&review, c.FirstReviewAt)
		latest(&merged, c.MergedAt)
		latest(&shipped, c.ShippedAt)
	}
	done := shipped
	if f.DoneAt.After(shipped) {
		done = f.DoneAt
	}
	bounds := []time.Time{f.CommittedAt, firstCommit, ready, review, merged, shipped, done}
	out := make([]int64, len(valueStreamStages))
	for i := 1; i < len(bounds); i++ {
		if bounds[i].IsZero() {
			bounds[i] = bounds[i-1]
		}
		out[i-1] = max(0, bounds[i].Unix()-bounds[i-1].Unix())
	}
	return out, true
}

func doraRows(rep aggregate.Report, team string) []DORARow {
	for _, t := range rep.Teams {
		if t.Name == team {
			return []DORARow{doraRow(t)}
		}
	}
	return nil
}

func doraRow(t aggregate.Team) DORARow {
	return DORARow{
		Team: t.Name, DeploymentsPerDay: t.DeploymentFrequencyPerDay, LeadTimeP50: t.LeadTimeSeconds.P50,
		ChangeFailureRate: t.ChangeFailureRate, RecoveryP50: t.FailedDeploymentRecoverySeconds.P50, Tiers: t.Tiers,
	}
}

// observe picks the observations the review's figures support, in kind order.
func observe(t TeamReview) []Observation {
	var out []Observation
	if len(t.Waits) > 0 {
		w := t.Waits[0]
		out = append(out, Observation{Kind: ObserveLargestWait, Subject: w.Status, Seconds: float64(w.Seconds),
			Count: w.Items, Share: w.Share.Float()})
	}
	for _, c := range []struct {
		kind ObservationKind
		was  Team
	}{{ObserveChange, t.Previous}, {ObserveChangeYear, t.YearEarlier}} {
		if o, ok := biggestChange(c.kind, c.was, t.Current); ok {
			out = append(out, o)
		}
	}
	if n := t.Current.DoneNotDelivered; n > 0 {
		out = append(out, Observation{Kind: ObserveDoneNotDelivered, Count: n, Of: t.Current.Finished,
			Share: t.Current.DoneNotDeliveredShare.Float()})
	}
	if vs := t.ValueStream; vs.Mapped > 0 {
		slowest := -1
		for i, s := range vs.Stages {
			if s.Median.Float() > 0 && (slowest < 0 || s.Median.Float() > vs.Stages[slowest].Median.Float()) {
				slowest = i
			}
		}
		if slowest >= 0 {
			out = append(out, Observation{Kind: ObserveSlowestStage, Subject: vs.Stages[slowest].Name,
				Seconds: vs.Stages[slowest].Median.Float(), Count: vs.Mapped})
		}
	}
	if len(t.Current.Unmapped) > 0 {
		out = append(out, Observation{Kind: ObserveUnmapped, Statuses: t.Current.Unmapped})
	}
	return out
}

// biggestChange is the largest relative change from was to now among
// efficiency, flow time p50, velocity and each flow type's share, when both
// windows finished items and it is at least minChange; ties go to the first.
func biggestChange(kind ObservationKind, was, now Team) (Observation, bool) {
	if was.Finished == 0 || now.Finished == 0 {
		return Observation{}, false
	}
	best, size := Observation{}, 0.0
	consider := func(subject, flowType string, a, b aggregate.Value) {
		x, ok1 := a.Get()
		y, ok2 := b.Get()
		if !ok1 || !ok2 || x <= 0 {
			return
		}
		if s := math.Abs(y/x - 1); s >= minChange && s > size {
			best, size = Observation{Kind: kind, Subject: subject, FlowType: flowType, Was: x, Now: y}, s
		}
	}
	consider(FigureEfficiency, "", was.Efficiency, now.Efficiency)
	consider(FigureFlowTimeP50, "", was.All.FlowTime.P50, now.All.FlowTime.P50)
	consider(FigureVelocity, "", was.All.VelocityPerWeek, now.All.VelocityPerWeek)
	for i := range min(len(was.ByType), len(now.ByType)) {
		consider(FigureDistribution, now.ByType[i].FlowType, was.ByType[i].Distribution, now.ByType[i].Distribution)
	}
	return best, size > 0
}
