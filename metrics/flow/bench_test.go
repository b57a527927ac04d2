package flow

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
)

// benchInput makes n work items of four projects (two teams on the wall clock, two
// with calendars, one of them in Europe/Berlin), each with 10 status changes
// through a workflow with waits, a reopen and a done, and one pull request per
// two items, shipped or undeployed.
func benchInput(n int) (Input, *Rules) {
	cfg := &config.Config{
		Teams: []config.Team{
			{Name: "pay", TicketProjects: []string{"PAY"}},
			{Name: "web", TicketProjects: []string{"WEB"}},
			{Name: "ops", TicketProjects: []string{"OPS"},
				Calendar: &config.Calendar{WorkingHours: "09:00-17:00", Holidays: []string{"2026-04-03", "2026-05-01"}}},
			{Name: "ber", TicketProjects: []string{"BER"},
				Calendar: &config.Calendar{TimeZone: "Europe/Berlin", WorkingHours: "08:30-17:30"}},
		},
		Flow: config.Flow{Projects: map[string]config.FlowProject{
			"PAY": {Statuses: map[string]string{"To Do": "new", "In Progress": "active", "Blocked": "wait", "Done": "done"}},
		}},
	}
	projects := []string{"PAY", "WEB", "OPS", "BER"}
	flow := []struct{ name, cat string }{
		{"To Do", todo}, {"Ready for Dev", todo}, {"In Progress", progress}, {"Blocked", progress}, {"In Progress", progress},
		{"Review", progress}, {"Waiting for QA", todo}, {"QA", progress}, {"Done", doneCat}, {"In Progress", progress}, {"Done", doneCat},
	}
	types := []string{"Story", "Bug", "Task", "Chore", "Security"}
	base := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	in := Input{
		Items:   make([]schema.WorkItem, n),
		Changes: make([]schema.StatusChange, 0, 10*n),
		Now:     time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := range n {
		p := projects[i%len(projects)]
		key := p + "-" + strconv.Itoa(i)
		created := base.Add(time.Duration(i%(150*24*60)) * time.Minute)
		in.Items[i] = schema.WorkItem{Source: "jira", ID: key, Project: p, IssueType: types[i%len(types)], Title: key,
			Status: "Done", StatusCategory: doneCat, CreatedAt: created}
		at := created
		for j := 1; j < len(flow); j++ {
			at = at.Add(time.Duration(30+(i*7+j*13)%(3*24*60)) * time.Minute)
			in.Changes = append(in.Changes, schema.StatusChange{Source: "jira", ID: key + "/" + strconv.Itoa(j), ItemID: key, At: at,
				From: flow[j-1].name, FromCategory: flow[j-1].cat, To: flow[j].name, ToCategory: flow[j].cat})
		}
		if i%2 == 0 {
			id := "acme/" + p + "#" + strconv.Itoa(i)
			in.PullRequests = append(in.PullRequests, schema.PullRequest{Source: "github", ID: id, TicketRefs: []string{key}})
			cf := schema.ChangeFact{Source: "github", ID: id, State: schema.ChangeShipped, MergedAt: at, ShippedAt: at.Add(time.Hour), ShippedBy: "dep-" + strconv.Itoa(i)}
			if i%10 == 0 {
				cf.State, cf.ShippedAt, cf.ShippedBy = schema.ChangeUndeployed, time.Time{}, ""
			}
			in.ChangeFacts = append(in.ChangeFacts, cf)
		}
	}
	// Interleave the items' changes as a store returns them: by time, not by item.
	half := len(in.Changes) / 2
	for i := 0; i < half; i += 2 {
		in.Changes[i], in.Changes[half+i] = in.Changes[half+i], in.Changes[i]
	}
	return in, NewRules(cfg)
}

// benchDerive derives the flow facts of n items, reporting the time and bytes
// allocated per item and the peak extra heap in use while deriving (sampled every
// 5 ms, so a lower bound), beside the heap the input takes.
func benchDerive(b *testing.B, n int) {
	in, rules := benchInput(n)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	b.ResetTimer()
	var facts []schema.FlowItemFact
	for range b.N {
		facts = Derive(in, rules)
	}
	b.StopTimer()
	close(done)
	<-sampled
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if len(facts) != n || facts[n-1].FlowSeconds == schema.Unknown {
		b.Fatalf("%d facts, the last %+v", len(facts), facts[len(facts)-1])
	}
	items := float64(n) * float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/items, "ns/item")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/items, "B/item")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), before.HeapInuse))/(1<<20), "peak-extra-heap-MiB")
	b.ReportMetric(float64(before.HeapInuse)/(1<<20), "input-heap-MiB")
}

// BenchmarkDerive100k derives 100,000 items with 10 status changes each.
//
//	go test ./metrics/flow -run '^$' -bench Derive -benchtime 1x
func BenchmarkDerive100k(b *testing.B) { benchDerive(b, 100_000) }

// BenchmarkDerive1M derives 1,000,000 items with 10 status changes each; skipped
// under -short. The target is under 30 s on two cores with flat memory per item.
func BenchmarkDerive1M(b *testing.B) {
	if testing.Short() {
		b.Skip("1M items: skipped under -short")
	}
	benchDerive(b, 1_000_000)
}
