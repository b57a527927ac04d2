package toil

import (
	"cmp"
	"slices"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/schema"
)

// AutomationYears is the horizon of the automation budget: xkcd 1205 ("Is It Worth
// the Time?") weighs the time automation saves over five years.
const AutomationYears = 5

// Aggregate turns the toil facts of the window [from, to) into the toil report:
// per team, in the order of teams, then under aggregate.NoTeam the facts of no
// listed team when there are any (in its place when teams lists it), each team's entries by category. Only entries that started in
// [from, AsOf) count, AsOf being the earlier of now and to (from when now is
// before from), so a window still running is scaled over the time it has run.
func Aggregate(facts []schema.ToilFact, teams []string, from, to, now time.Time) Report {
	asOf := to
	if now.Before(asOf) {
		asOf = now
	}
	if asOf.Before(from) {
		asOf = from
	}
	rep := Report{From: from, To: to, AsOf: asOf}

	listed := map[string]int{}
	byTeam := make([][]*schema.ToilFact, len(teams))
	for i, t := range teams {
		if _, ok := listed[t]; !ok {
			listed[t] = i
		}
	}
	var unlisted []*schema.ToilFact
	for i := range facts {
		f := &facts[i]
		if f.Retired || f.StartedAt.Before(from) || !f.StartedAt.Before(asOf) {
			continue
		}
		if t, ok := listed[f.Team]; ok {
			byTeam[t] = append(byTeam[t], f)
		} else if t, ok := listed[aggregate.NoTeam]; ok {
			byTeam[t] = append(byTeam[t], f) // listed: it takes the unlisted teams' toil in its place
		} else {
			unlisted = append(unlisted, f)
		}
	}
	days := asOf.Sub(from).Hours() / 24
	for i, t := range teams {
		if listed[t] == i {
			rep.Teams = append(rep.Teams, team(t, byTeam[i], days))
		}
	}
	if len(unlisted) > 0 {
		rep.Teams = append(rep.Teams, team(aggregate.NoTeam, unlisted, days))
	}
	return rep
}

// team is one team's toil: its facts by category, over a window of days.
func team(name string, facts []*schema.ToilFact, days float64) Team {
	t := Team{Name: name, Entries: len(facts)}
	byCat := map[string][]*schema.ToilFact{}
	for _, f := range facts {
		t.Seconds += f.Seconds
		byCat[f.Category] = append(byCat[f.Category], f)
	}
	for name, fs := range byCat {
		t.Categories = append(t.Categories, category(name, fs, days))
	}
	slices.SortFunc(t.Categories, func(a, b Category) int {
		return cmp.Or(cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(a.Category, b.Category))
	})
	return t
}

// category is the figures of one category's facts over a window of days.
func category(name string, facts []*schema.ToilFact, days float64) Category {
	c := Category{Category: name, Entries: len(facts), Kinds: map[string]int{}}
	secs := make([]int64, 0, len(facts))
	for _, f := range facts {
		c.Seconds += f.Seconds
		secs = append(secs, f.Seconds)
		c.Kinds[f.Kind]++
		c.Items = append(c.Items, Entry{
			Ref: aggregate.Ref(f.Source, f.ID), Kind: f.Kind, Record: f.Record, Who: f.Who, Title: f.Title,
			StartedAt: f.StartedAt, Seconds: f.Seconds, Basis: f.Basis, Rule: f.Rule,
		})
	}
	slices.SortFunc(c.Items, func(a, b Entry) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.Ref, b.Ref))
	})
	c.Median = aggregate.Percentile(secs, 0.5)
	c.PerYear, c.AutomationBudget = aggregate.None(), aggregate.None()
	if days > 0 {
		perYear := float64(c.Entries) / days * 365
		c.PerYear = aggregate.Some(perYear)
		if m, ok := c.Median.Get(); ok {
			c.AutomationBudget = aggregate.Some(AutomationYears * perYear * m)
		}
	}
	return c
}
