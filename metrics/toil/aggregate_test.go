package toil

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/schema"
)

// From starts a 91-day window (13 weeks) ending at To.
var (
	From = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	To   = From.AddDate(0, 0, 91)
)

func day(d float64) time.Time { return From.Add(time.Duration(d * 24 * float64(time.Hour))) }

func tf(team, category, kind, id string, d float64, secs int64) schema.ToilFact {
	return schema.ToilFact{
		Source: "src", ID: kind + ":" + id, Team: team, Category: category, Kind: kind, Record: id,
		StartedAt: day(d), Seconds: secs, Basis: "b", Rule: category,
	}
}

// toilFixture is payments' toil of three categories over the 91 days, web's two
// categories of equal total, and toil of a team no one listed.
func toilFixture() []schema.ToilFact {
	var facts []schema.ToilFact
	// production_interrupts: 13 entries, one a week, 10 incidents then 3 alerts;
	// 6 × 600 s, 1 × 1800 s, 6 × 3600 s.
	durations := []int64{600, 3600, 600, 3600, 600, 3600, 1800, 600, 3600, 600, 3600, 600, 3600}
	for i, s := range durations {
		kind := "incident"
		if i >= 10 {
			kind = "alert"
		}
		facts = append(facts, tf("payments", "production_interrupts", kind, fmt.Sprintf("p%02d", i), float64(90-7*i), s))
	}
	facts = append(facts,
		// business_processes: 4 tickets of 7200, 3600, 1800 and 900 s; the first
		// starts exactly at From, so counts.
		tf("payments", "business_processes", "ticket", "PAY-1", 0, 7200),
		tf("payments", "business_processes", "ticket", "PAY-2", 10, 3600),
		tf("payments", "business_processes", "ticket", "PAY-3", 10, 1800),
		tf("payments", "business_processes", "ticket", "PAY-4", 20, 900),
		// release_shepherding: a manual deployment of 600 s and a re-run of 1200 s.
		tf("payments", "release_shepherding", "rerun", "d2", 40, 1200),
		tf("payments", "release_shepherding", "deployment", "d1", 30, 600),
		// Outside the window: before From, and at To.
		tf("payments", "business_processes", "ticket", "PAY-0", -0.001, 99999),
		tf("payments", "release_shepherding", "deployment", "d9", 91, 99999),
		// web: two categories of 1800 s each, ordered by name.
		tf("web", "toil_b", "ticket", "WEB-1", 5, 1800),
		tf("web", "migrations", "ticket", "WEB-2", 6, 900),
		tf("web", "migrations", "ticket", "WEB-3", 7, 900),
		// A team no one listed, and no team: both under "".
		tf("ops", "unclassified", "ticket", "OPS-1", 3, 100),
		tf("", "unclassified", "alert", "A1", 2, 50),
	)
	return facts
}

func near(t *testing.T, what string, got aggregate.Value, want float64) {
	t.Helper()
	v, ok := got.Get()
	if !ok || math.Abs(v-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v (defined %v), want %v", what, v, ok, want)
	}
}

// TestAggregate works the figures of the fixture out by hand, over the whole
// 91-day window.
func TestAggregate(t *testing.T) {
	rep := Aggregate(toilFixture(), []string{"payments", "web", "sre"}, From, To, To.Add(time.Hour))
	if !rep.AsOf.Equal(To) || !rep.From.Equal(From) || !rep.To.Equal(To) {
		t.Errorf("window %v %v as of %v", rep.From, rep.To, rep.AsOf)
	}
	var names []string
	for _, tm := range rep.Teams {
		names = append(names, tm.Name)
	}
	// Listed teams in order (sre with no toil too), then (no team) for ops and no team.
	if want := []string{"payments", "web", "sre", aggregate.NoTeam}; !reflect.DeepEqual(names, want) {
		t.Fatalf("teams %q, want %q", names, want)
	}

	pay := rep.Teams[0]
	// 13 + 4 + 2 = 19 entries; 27000 + 13500 + 1800 = 42300 s.
	if pay.Entries != 19 || pay.Seconds != 42300 {
		t.Errorf("payments: %d entries, %d s, want 19, 42300", pay.Entries, pay.Seconds)
	}
	var cats []string
	for _, c := range pay.Categories {
		cats = append(cats, c.Category)
	}
	// By total seconds, longest first: 27000, 13500, 1800.
	if want := []string{"production_interrupts", "business_processes", "release_shepherding"}; !reflect.DeepEqual(cats, want) {
		t.Fatalf("categories %q, want %q", cats, want)
	}

	for _, c := range []struct {
		cat      Category
		entries  int
		seconds  int64
		median   float64
		perYear  float64
		budget   float64
		kinds    map[string]int
		firstRef string
	}{
		{
			// 6×600 + 1800 + 6×3600 = 3600 + 1800 + 21600 = 27000 s; sorted, the 7th
			// of 13 is 1800; 13 / 91 days × 365 = 4745/91 = 52.142857…/year; budget
			// 5 × 52.142857… × 1800 = 42705000/91 = 469285.714… s (about 130 hours).
			pay.Categories[0], 13, 27000, 1800, 52.142857142857146, 469285.7142857143,
			map[string]int{"incident": 10, "alert": 3}, "src:alert:p12",
		},
		{
			// 7200 + 3600 + 1800 + 900 = 13500 s; median of 900, 1800, 3600, 7200 is
			// (1800 + 3600) / 2 = 2700; 4 / 91 × 365 = 1460/91 = 16.043956…/year;
			// budget 5 × 16.043956… × 2700 = 19710000/91 = 216593.406… s.
			pay.Categories[1], 4, 13500, 2700, 16.043956043956044, 216593.40659340657,
			map[string]int{"ticket": 4}, "src:ticket:PAY-1",
		},
		{
			// 600 + 1200 = 1800 s; median 900; 2 / 91 × 365 = 730/91 = 8.021978…;
			// budget 5 × 8.021978… × 900 = 3285000/91 = 36098.901… s.
			pay.Categories[2], 2, 1800, 900, 8.021978021978022, 36098.9010989011,
			map[string]int{"rerun": 1, "deployment": 1}, "src:deployment:d1",
		},
	} {
		t.Run(c.cat.Category, func(t *testing.T) {
			if c.cat.Entries != c.entries || c.cat.Seconds != c.seconds || len(c.cat.Items) != c.entries {
				t.Errorf("%d entries (%d items), %d s; want %d, %d s", c.cat.Entries, len(c.cat.Items), c.cat.Seconds, c.entries, c.seconds)
			}
			near(t, "median", c.cat.Median, c.median)
			near(t, "per year", c.cat.PerYear, c.perYear)
			near(t, "automation budget", c.cat.AutomationBudget, c.budget)
			if !reflect.DeepEqual(c.cat.Kinds, c.kinds) {
				t.Errorf("kinds %v, want %v", c.cat.Kinds, c.kinds)
			}
			if len(c.cat.Items) > 0 && c.cat.Items[0].Ref != c.firstRef {
				t.Errorf("first item %s, want %s", c.cat.Items[0].Ref, c.firstRef)
			}
			for i := 1; i < len(c.cat.Items); i++ {
				if c.cat.Items[i].StartedAt.Before(c.cat.Items[i-1].StartedAt) {
					t.Errorf("items out of time order at %d: %+v", i, c.cat.Items)
				}
			}
		})
	}

	// The business processes' items: PAY-2 and PAY-3 start together, by reference.
	var refs []string
	for _, it := range pay.Categories[1].Items {
		refs = append(refs, it.Ref)
	}
	if want := []string{"src:ticket:PAY-1", "src:ticket:PAY-2", "src:ticket:PAY-3", "src:ticket:PAY-4"}; !reflect.DeepEqual(refs, want) {
		t.Errorf("items %v, want %v", refs, want)
	}
	wantItem := Entry{Ref: "src:ticket:PAY-4", Kind: "ticket", Record: "PAY-4", StartedAt: day(20), Seconds: 900, Basis: "b", Rule: "business_processes"}
	if got := pay.Categories[1].Items[3]; got != wantItem {
		t.Errorf("item %+v, want %+v", got, wantItem)
	}

	// web: 1800 s each, ties by name.
	web := rep.Teams[1]
	if len(web.Categories) != 2 || web.Categories[0].Category != "migrations" || web.Categories[1].Category != "toil_b" {
		t.Errorf("web categories %+v", web.Categories)
	}
	if sre := rep.Teams[2]; sre.Entries != 0 || len(sre.Categories) != 0 {
		t.Errorf("sre %+v, want no toil", sre)
	}
	// ops's 100 s and no team's 50 s.
	if none := rep.Teams[3]; none.Entries != 2 || none.Seconds != 150 {
		t.Errorf("no team: %d entries, %d s; want 2, 150", none.Entries, none.Seconds)
	}
}

// TestAggregateAsOf checks how far into the window entries count and per-year
// scales: up to now while the window runs, nothing before it starts.
func TestAggregateAsOf(t *testing.T) {
	facts := toilFixture()
	t.Run("window running", func(t *testing.T) {
		now := day(35)
		rep := Aggregate(facts, []string{"payments"}, From, To, now)
		if !rep.AsOf.Equal(now) {
			t.Errorf("as of %v, want %v", rep.AsOf, now)
		}
		var rel *Category
		for i := range rep.Teams[0].Categories {
			if c := &rep.Teams[0].Categories[i]; c.Category == "release_shepherding" {
				rel = c
			}
		}
		// Only d1 (day 30) started before day 35: 1 / 35 days × 365 = 10.428571…/year;
		// budget 5 × 10.428571… × 600 = 31285.714… s.
		if rel == nil || rel.Entries != 1 {
			t.Fatalf("release shepherding %+v, want d1 alone", rel)
		}
		near(t, "per year", rel.PerYear, 365.0/35)
		near(t, "budget", rel.AutomationBudget, 5*365.0/35*600)
		// Interrupts start on days 90, 83, … 6: days 6, 13, 20, 27 and 34 count.
		if c := rep.Teams[0].Categories; c[0].Category != "business_processes" || c[0].Entries != 4 {
			t.Errorf("first category %+v, want business_processes' 13500 s", c[0])
		}
	})
	t.Run("before the window", func(t *testing.T) {
		rep := Aggregate(facts, []string{"payments"}, From, To, From.Add(-time.Hour))
		if !rep.AsOf.Equal(From) {
			t.Errorf("as of %v, want %v", rep.AsOf, From)
		}
		if len(rep.Teams) != 1 || rep.Teams[0].Entries != 0 {
			t.Errorf("teams %+v, want payments with nothing", rep.Teams)
		}
	})
	t.Run("teams listed twice or as none", func(t *testing.T) {
		rep := Aggregate(facts, []string{aggregate.NoTeam, "web", "web"}, From, To, To)
		var got []string
		for _, tm := range rep.Teams {
			got = append(got, fmt.Sprintf("%s:%d", tm.Name, tm.Entries))
		}
		// (no team) in its listed place takes payments' 19, ops's 1 and no team's 1 = 21.
		if want := []string{aggregate.NoTeam + ":21", "web:3"}; !reflect.DeepEqual(got, want) {
			t.Errorf("teams %v, want %v", got, want)
		}
	})
	t.Run("no time elapsed leaves per-year undefined", func(t *testing.T) {
		c := category("x", []*schema.ToilFact{{Seconds: 60}}, 0)
		if c.PerYear.Defined() || c.AutomationBudget.Defined() {
			t.Errorf("per year %v budget %v, want undefined", c.PerYear, c.AutomationBudget)
		}
		near(t, "median", c.Median, 60)
	})
}
