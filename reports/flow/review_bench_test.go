package flow

import (
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/reports/render"
	"github.com/flowmeter/flowmeter/schema"
)

// benchReviewInput is teams × perTeam items spread over the five quarters from
// 2025Q3 to 2026Q3 (so every window of the review has data), every fifth team on a
// calendar, one item in ten still open, and every other finished item linked to
// a shipped pull request.
func benchReviewInput(teams, perTeam int) flow.ReviewInput {
	cfg := &config.Config{}
	in := flow.ReviewInput{
		From: at("2026-07-01 00:00"), To: at("2026-10-01 00:00"), Now: at("2026-10-15 00:00"),
		URLs: map[string]string{},
	}
	start := at("2025-07-01 00:00")
	span := at("2026-10-01 00:00").Sub(start)
	types := schema.FlowTypes
	for ti := range teams {
		name := "team-" + strconv.Itoa(ti)
		team := config.Team{Name: name, TicketProjects: []string{name}}
		calendar := ""
		if ti%5 == 0 {
			team.Calendar = &config.Calendar{WorkingHours: "09:00-17:00"}
			calendar = name
		}
		cfg.Teams = append(cfg.Teams, team)
		in.Teams = append(in.Teams, name)
		in.DORA.Teams = append(in.DORA.Teams, aggregate.Team{Name: name, Figures: aggregate.Figures{
			DeploymentFrequencyPerDay: aggregate.Some(0.5), LeadTimeSeconds: aggregate.Quantiles{P50: aggregate.Some(86400)}}})
		for i := range perTeam {
			id := name + "-" + strconv.Itoa(i)
			committed := start.Add(span * time.Duration(i) / time.Duration(perTeam)).Add(time.Duration(ti) * time.Hour)
			flowTime := time.Duration(4+(i*7+ti)%300) * time.Hour
			active := flowTime * time.Duration(1+(i+ti)%9) / 10
			f := schema.FlowItemFact{Source: "jira", ID: id, Team: name, Project: name, FlowType: types[(i+ti)%len(types)],
				Title: "Item " + id, CommittedAt: committed, Calendar: calendar,
				FlowSeconds: schema.Unknown, ActiveSeconds: schema.Unknown, WaitSeconds: schema.Unknown, DeliverySeconds: schema.Unknown}
			if i%10 != 9 {
				wait := int64((flowTime - active) / time.Second)
				f.DoneAt = committed.Add(flowTime)
				f.DeliveredAt = f.DoneAt
				f.FlowSeconds, f.ActiveSeconds, f.WaitSeconds = int64(flowTime/time.Second), int64(active/time.Second), wait
				f.TimePerStatus = []string{"In Progress=" + strconv.FormatInt(f.ActiveSeconds, 10),
					"Code Review=" + strconv.FormatInt(wait/2, 10), "Blocked=" + strconv.FormatInt(wait-wait/2, 10)}
				if i%2 == 0 {
					pr := "pr-" + id
					f.PullRequests = []string{pr}
					in.Changes = append(in.Changes, schema.ChangeFact{Source: "github", ID: pr, Team: name, State: schema.ChangeShipped,
						FirstCommitAt: committed.Add(flowTime / 10), OpenedAt: committed.Add(flowTime / 3), ReadyAt: committed.Add(flowTime / 3),
						FirstReviewAt: committed.Add(flowTime / 2), MergedAt: committed.Add(flowTime * 6 / 10), ShippedAt: committed.Add(flowTime * 8 / 10)})
				}
			}
			in.Items = append(in.Items, f)
			in.URLs[id] = "https://tracker.example/browse/" + id
		}
	}
	in.Rules = flow.NewRules(cfg)
	return in
}

// BenchmarkReview50Teams builds and writes as HTML the review of 50 teams of 200
// items each over five quarters.
func BenchmarkReview50Teams(b *testing.B) {
	in := benchReviewInput(50, 200)
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(io.Discard, flow.BuildReview(in), render.HTML); err != nil {
			b.Fatal(err)
		}
	}
}
