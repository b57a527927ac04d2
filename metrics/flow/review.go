package flow

import (
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

// Review is the quarterly flow-efficiency review.
type Review struct {
	Current Report
}

// BuildReview computes the review.
func BuildReview(in ReviewInput) Review {
	teams := in.Teams
	if in.Team != "" {
		teams = []string{in.Team}
	}
	rep := Aggregate(in.Items, teams, in.From, in.To, in.Now, in.Rules)
	if in.Team != "" {
		kept := rep.Teams[:0:0]
		for _, t := range rep.Teams {
			if t.Name == in.Team {
				kept = append(kept, t)
			}
		}
		rep.Teams = kept
	}
	return Review{Current: rep}
}
