package flow

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// randomInput makes n items of the test config's projects with random histories:
// statuses of every flow state, mapped and unmapped, changes out of order, some at
// the same instant, some dated before the previous one or before creation.
func randomInput(rng *rand.Rand, n int) Input {
	statuses := []struct{ name, cat string }{
		{"To Do", todo}, {"Backlog", todo}, {"In Progress", progress}, {"Blocked", progress}, {"Review", progress},
		{"Waiting for QA", todo}, {"Done", doneCat}, {"Closed", doneCat}, {"Won't Do", doneCat}, {"Cancelled", doneCat},
	}
	projects := []string{"PAY", "OPS", "BER", "XX"}
	base := utc("2026-03-01 00:00")
	in := Input{Now: utc("2026-05-01 00:00")}
	for i := range n {
		key := fmt.Sprintf("%s-%d", projects[rng.IntN(len(projects))], i)
		created := base.Add(time.Duration(rng.IntN(30*24*60)) * time.Minute)
		at := created
		prev := statuses[rng.IntN(len(statuses))]
		k := rng.IntN(8)
		for j := range k {
			next := statuses[rng.IntN(len(statuses))]
			switch rng.IntN(6) {
			case 0: // same instant
			case 1:
				at = at.Add(-time.Duration(rng.IntN(600)) * time.Minute) // skewed backwards
			default:
				at = at.Add(time.Duration(rng.IntN(4*24*60)) * time.Minute)
			}
			in.Changes = append(in.Changes, schema.StatusChange{Source: "jira", ID: fmt.Sprintf("%s/%d", key, j), ItemID: key,
				At: at, From: prev.name, FromCategory: prev.cat, To: next.name, ToCategory: next.cat})
			prev = next
		}
		it := schema.WorkItem{Source: "jira", ID: key, Project: key[:len(key)-len(fmt.Sprint(i))-1], Status: prev.name,
			StatusCategory: prev.cat, CreatedAt: created}
		if rng.IntN(5) == 0 {
			it.Resolution = "Duplicate"
		}
		in.Items = append(in.Items, it)
	}
	rng.Shuffle(len(in.Changes), func(i, j int) { in.Changes[i], in.Changes[j] = in.Changes[j], in.Changes[i] })
	return in
}

// TestFlowTimeProperties: for random histories, active + wait = flow, no duration
// is negative, the time per status of a finished item adds up to its flow time,
// the wall-clock flow time is DoneAt − CommittedAt, and derivation is
// deterministic whatever the order of the changes.
func TestFlowTimeProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	in := randomInput(rng, 3000)
	facts := Derive(in, NewRules(testConfig()))
	finished := 0
	for _, f := range facts {
		if f.FlowSeconds == schema.Unknown {
			if f.ActiveSeconds != schema.Unknown || f.WaitSeconds != schema.Unknown {
				t.Fatalf("%s: active %d wait %d without a flow time", f.ID, f.ActiveSeconds, f.WaitSeconds)
			}
			if f.State == schema.FlowDone && !f.CommittedAt.IsZero() {
				t.Fatalf("%s: done and committed without a flow time", f.ID)
			}
			continue
		}
		finished++
		if f.FlowSeconds < 0 || f.ActiveSeconds < 0 || f.WaitSeconds < 0 || f.ActiveSeconds+f.WaitSeconds != f.FlowSeconds {
			t.Fatalf("%s: flow %d active %d wait %d", f.ID, f.FlowSeconds, f.ActiveSeconds, f.WaitSeconds)
		}
		if f.State != schema.FlowDone || f.DoneAt.Before(f.CommittedAt) {
			t.Fatalf("%s: flow time in state %s, committed %s done %s", f.ID, f.State, f.CommittedAt, f.DoneAt)
		}
		var sum int64
		for _, e := range f.TimePerStatus {
			_, s, ok := schema.ParseStatusTime(e)
			if !ok || s < 0 {
				t.Fatalf("%s: time per status %q", f.ID, e)
			}
			sum += s
		}
		if sum != f.FlowSeconds {
			t.Fatalf("%s: time per status %v sums to %d, flow %d", f.ID, f.TimePerStatus, sum, f.FlowSeconds)
		}
		if f.Calendar == "" && f.FlowSeconds != f.DoneAt.Unix()-f.CommittedAt.Unix() {
			t.Fatalf("%s: wall-clock flow %d, want %d", f.ID, f.FlowSeconds, f.DoneAt.Unix()-f.CommittedAt.Unix())
		}
		if f.DeliverySeconds != f.FlowSeconds {
			t.Fatalf("%s: no pull requests, yet delivery %d differs from flow %d", f.ID, f.DeliverySeconds, f.FlowSeconds)
		}
	}
	if finished < 300 {
		t.Fatalf("only %d finished items: the generator needs fixing", finished)
	}
	rng.Shuffle(len(in.Changes), func(i, j int) { in.Changes[i], in.Changes[j] = in.Changes[j], in.Changes[i] })
	if again := Derive(in, NewRules(testConfig())); !reflect.DeepEqual(again, facts) {
		t.Fatal("derivation depends on the order of the changes")
	}
}

// TestLoadDailyMatchesLoaded: the difference-array daily load equals counting the
// items loaded at each sample one by one, for random facts and windows.
func TestLoadDailyMatchesLoaded(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	facts := Derive(randomInput(rng, 2000), NewRules(testConfig()))
	ptrs := make([]*schema.FlowItemFact, len(facts))
	for i := range facts {
		ptrs[i] = &facts[i]
	}
	for range 20 {
		from := utc("2026-02-20 00:00").Add(time.Duration(rng.IntN(40*24*60)) * time.Minute)
		asOf := from.Add(time.Duration(rng.IntN(60*24*60)) * time.Minute)
		for _, s := range loadDaily(ptrs, from, asOf) {
			want := map[string]int{}
			total := 0
			for _, f := range ptrs {
				if loaded(f, s.At) {
					total++
					want[f.FlowType]++
				}
			}
			if s.At.Before(from) || s.At.After(asOf) || s.Total != total || s.ByType[schema.FlowFeature] != want[schema.FlowFeature] {
				t.Fatalf("sample %s in [%s, %s]: total %d by type %v, want %d and %v", s.At, from, asOf, s.Total, s.ByType, total, want)
			}
		}
	}
}
