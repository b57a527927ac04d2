package flow

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/schema"
)

// maxWaits is how many wait statuses a team's report lists.
const maxWaits = 5

// Aggregate computes the flow Report of the window [from, to) for the teams in
// order; facts of no listed team go under aggregate.NoTeam (last, or in its place
// when teams lists it), when there are any. now
// caps the window: AsOf = min(now, to), and from when now is before from.
//
// rules tell which statuses are wait statuses (for Waits) and which calendar a
// team counts in (for the age of open items); nil rules use the default name rules
// and wall-clock ages. Aggregate only reads rules, so aggregations may share them.
func Aggregate(facts []schema.FlowItemFact, teams []string, from, to, now time.Time, rules *Rules) Report {
	asOf := to
	if now.Before(asOf) {
		asOf = now
	}
	if asOf.Before(from) {
		asOf = from
	}
	rep := Report{From: from, To: to, AsOf: asOf}

	groups := make([][]*schema.FlowItemFact, len(teams)+1)
	slot := make(map[string]int, len(teams))
	for i, t := range teams {
		if _, dup := slot[t]; !dup {
			slot[t] = i
		}
	}
	for i := range facts {
		j, ok := slot[facts[i].Team]
		if !ok {
			// Facts of no listed team go under aggregate.NoTeam: in its slot when
			// it is listed (a report of that team alone), else last.
			if j, ok = slot[aggregate.NoTeam]; !ok {
				j = len(teams)
			}
		}
		groups[j] = append(groups[j], &facts[i])
	}
	for i, t := range teams {
		if slot[t] == i {
			rep.Teams = append(rep.Teams, teamFigures(t, groups[i], from, asOf, rules))
		}
	}
	if len(groups[len(teams)]) > 0 {
		rep.Teams = append(rep.Teams, teamFigures(aggregate.NoTeam, groups[len(teams)], from, asOf, rules))
	}
	return rep
}

// loaded says whether an item is in the load (wait or active) at t: committed at
// or before t and neither done nor canceled by t. Facts keep only the last entry
// into done, so an item reopened and done again counts as loaded until then.
func loaded(f *schema.FlowItemFact, t time.Time) bool {
	if f.CommittedAt.IsZero() || f.CommittedAt.After(t) {
		return false
	}
	if !f.DoneAt.IsZero() && !f.DoneAt.After(t) {
		return false
	}
	return f.CanceledAt.IsZero() || f.CanceledAt.After(t)
}

// typeSums gathers one flow type's finished items.
type typeSums struct {
	flows          []int64
	active, flow   int64
	finished, load int
}

func teamFigures(name string, facts []*schema.FlowItemFact, from, asOf time.Time, rules *Rules) Team {
	t := Team{Name: name}
	inWindow := func(at time.Time) bool { return !at.IsZero() && !at.Before(from) && at.Before(asOf) }

	all := &typeSums{}
	byType := make(map[string]*typeSums, len(schema.FlowTypes))
	for _, ft := range schema.FlowTypes {
		byType[ft] = &typeSums{}
	}
	var (
		ages, deliveries []int64
		effs             []float64
		waits            []StatusWait
		unmapped         []string
	)
	for _, f := range facts {
		if t.Calendar == "" && f.Calendar != "" {
			t.Calendar = f.Calendar
		}
		for _, s := range f.Unmapped {
			if !slices.Contains(unmapped, s) {
				unmapped = append(unmapped, s)
			}
		}
		ts := byType[f.FlowType]
		if inWindow(f.CanceledAt) {
			t.Canceled++
		}
		if loaded(f, asOf) {
			t.OpenItems++
			all.load++
			if ts != nil {
				ts.load++
			}
			ages = append(ages, age(f, asOf, rules))
		}
		if !inWindow(f.DoneAt) || f.FlowSeconds == schema.Unknown {
			continue
		}
		t.Finished++
		if f.Reopens > 0 {
			t.Reopened++
		}
		for _, s := range []*typeSums{all, ts} {
			if s != nil {
				s.finished++
				s.flows = append(s.flows, f.FlowSeconds)
				s.active += f.ActiveSeconds
				s.flow += f.FlowSeconds
			}
		}
		if f.FlowSeconds > 0 {
			effs = append(effs, float64(f.ActiveSeconds)/float64(f.FlowSeconds))
		}
		if !f.DeliveredAt.IsZero() && !f.DeliveredAt.After(asOf) {
			t.Delivered++
			if f.DeliverySeconds != schema.Unknown {
				deliveries = append(deliveries, f.DeliverySeconds)
			}
		} else {
			t.DoneNotDelivered++
		}
		for _, e := range f.TimePerStatus {
			status, secs, ok := schema.ParseStatusTime(e)
			if !ok || !isWait(rules, f.Project, status) {
				continue
			}
			j := slices.IndexFunc(waits, func(w StatusWait) bool { return strings.EqualFold(w.Status, status) })
			if j < 0 {
				waits = append(waits, StatusWait{Status: status})
				j = len(waits) - 1
			}
			waits[j].Seconds += secs
			waits[j].Items++
		}
	}

	t.ActiveSeconds, t.FlowSeconds = all.active, all.flow
	t.Efficiency = ratio(float64(all.active), float64(all.flow))
	t.EfficiencyMedian = aggregate.Percentile(effs, 0.5)
	weeks := asOf.Sub(from).Hours() / 24 / 7
	t.All = typeFigures("all", all, all.finished, weeks)
	for _, ft := range schema.FlowTypes {
		t.ByType = append(t.ByType, typeFigures(ft, byType[ft], all.finished, weeks))
	}
	t.Age = aggregate.QuantilesOf(ages)
	t.DoneNotDeliveredShare = ratio(float64(t.DoneNotDelivered), float64(t.Finished))
	t.TimeToDelivery = aggregate.QuantilesOf(deliveries)

	waits = slices.DeleteFunc(waits, func(w StatusWait) bool { return w.Seconds <= 0 })
	slices.SortFunc(waits, func(a, b StatusWait) int {
		if c := cmp.Compare(b.Seconds, a.Seconds); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Items, a.Items); c != 0 {
			return c
		}
		return cmp.Compare(a.Status, b.Status)
	})
	if len(waits) > maxWaits {
		waits = waits[:maxWaits]
	}
	t.Waits = waits

	slices.Sort(unmapped)
	t.Unmapped = unmapped
	t.LoadDaily = loadDaily(facts, from, asOf)
	return t
}

func typeFigures(name string, s *typeSums, allFinished int, weeks float64) TypeFigures {
	tf := TypeFigures{
		FlowType: name, Finished: s.finished, FlowTime: aggregate.QuantilesOf(s.flows),
		Efficiency:   ratio(float64(s.active), float64(s.flow)),
		Distribution: ratio(float64(s.finished), float64(allFinished)),
		Load:         s.load,
	}
	if weeks > 0 {
		tf.VelocityPerWeek = aggregate.Some(float64(s.finished) / weeks)
	}
	return tf
}

// loadDaily samples the load at each 00:00 UTC in [from, asOf]. Each item is in
// the load over [CommittedAt, its DoneAt or CanceledAt), so it adds one to a run
// of samples: a difference array makes this O(items + days).
func loadDaily(facts []*schema.FlowItemFact, from, asOf time.Time) []LoadSample {
	const day = 24 * time.Hour
	first := from.UTC().Truncate(day)
	if first.Before(from) {
		first = first.Add(day)
	}
	if first.After(asOf) {
		return nil
	}
	n := int(asOf.Sub(first)/day) + 1
	// sampleAtOrAfter is the index of the first sample at or after t.
	sampleAtOrAfter := func(t time.Time) int {
		d := t.Sub(first)
		if d <= 0 {
			return 0
		}
		return int(min((d+day-1)/day, time.Duration(n)))
	}
	total := make([]int, n+1)
	byType := make([][]int, len(schema.FlowTypes))
	for i := range byType {
		byType[i] = make([]int, n+1)
	}
	for _, f := range facts {
		if f.CommittedAt.IsZero() {
			continue
		}
		lo, hi := sampleAtOrAfter(f.CommittedAt), n
		for _, end := range []time.Time{f.DoneAt, f.CanceledAt} {
			if !end.IsZero() {
				hi = min(hi, sampleAtOrAfter(end)) // the samples before end
			}
		}
		if lo >= hi {
			continue
		}
		total[lo]++
		total[hi]--
		if j := slices.Index(schema.FlowTypes, f.FlowType); j >= 0 {
			byType[j][lo]++
			byType[j][hi]--
		}
	}
	out := make([]LoadSample, n)
	run := make([]int, len(schema.FlowTypes)+1)
	for k := range out {
		run[0] += total[k]
		s := LoadSample{At: first.Add(time.Duration(k) * day), Total: run[0], ByType: make(map[string]int, len(schema.FlowTypes))}
		for j, ft := range schema.FlowTypes {
			run[j+1] += byType[j][k]
			s.ByType[ft] = run[j+1]
		}
		out[k] = s
	}
	return out
}

// age is an open item's age at asOf, counted in its calendar when rules know it.
func age(f *schema.FlowItemFact, asOf time.Time, rules *Rules) int64 {
	clk := clock{}
	if rules != nil && f.Calendar != "" {
		clk = rules.clockOf(f.Calendar)
	}
	return clk.between(f.CommittedAt, asOf)
}

func isWait(rules *Rules, project, status string) bool {
	if rules == nil {
		return defaultState(status, "") == schema.FlowWait
	}
	return rules.isWait(project, status)
}

func ratio(a, b float64) aggregate.Value {
	if b == 0 {
		return aggregate.None()
	}
	return aggregate.Some(a / b)
}
