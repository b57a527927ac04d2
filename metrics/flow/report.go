package flow

import (
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
)

// Report is the flow figures of every team over one window [From, To).
type Report struct {
	From, To time.Time
	// AsOf is the earlier of the caller's now and To: open items are aged and the
	// load is counted at it, and velocity divides by the weeks up to it.
	AsOf  time.Time
	Teams []Team
}

// Team is one team's flow figures over the window.
type Team struct {
	Name string
	// Calendar is the team calendar durations were counted in (working hours),
	// empty for wall-clock time; every output that shows durations says which.
	Calendar string
	// Finished: items whose last entry into done lies in the window; Canceled:
	// items canceled in the window; Reopened: finished items reopened at least once.
	Finished, Canceled, Reopened int
	// Efficiency is Σ active / Σ flow time of the finished items (work-weighted);
	// EfficiencyMedian is the median of their own efficiencies.
	Efficiency, EfficiencyMedian aggregate.Value
	// ActiveSeconds and FlowSeconds are the sums behind Efficiency.
	ActiveSeconds, FlowSeconds int64
	// All is the figures of every flow type together; ByType one entry per flow
	// type, in schema.FlowTypes order, each present even without items.
	All    TypeFigures
	ByType []TypeFigures
	// LoadDaily samples the load (items in wait or active) at 00:00 UTC of each day
	// of the window up to AsOf.
	LoadDaily []LoadSample
	// OpenItems are the committed, unfinished items at AsOf; Age the quantiles of
	// their work item age (AsOf − commitment point) in seconds.
	OpenItems int
	Age       aggregate.Quantiles
	// Waits are the statuses where the finished items waited longest (wait
	// statuses by total time within flow time), longest first, at most five.
	Waits []StatusWait
	// Delivered: finished items whose value reached users; DoneNotDelivered:
	// finished items done but not yet delivered (a linked pull request merged and
	// not shipped), and DoneNotDeliveredShare their share of the finished items.
	Delivered, DoneNotDelivered int
	DoneNotDeliveredShare       aggregate.Value
	// TimeToDelivery is the quantiles of delivered_at − commitment point of the
	// delivered finished items, in seconds.
	TimeToDelivery aggregate.Quantiles
	// Unmapped are the statuses the team's items passed through that no project
	// mapping names (counted under their tracker category), sorted.
	Unmapped []string
}

// TypeFigures are the figures of one flow type ("all" for every type together).
type TypeFigures struct {
	FlowType string
	Finished int
	// FlowTime is the quantiles (p50, p85, p95) of the finished items' flow time.
	FlowTime   aggregate.Quantiles
	Efficiency aggregate.Value
	// VelocityPerWeek: finished items per week of the window up to AsOf.
	VelocityPerWeek aggregate.Value
	// Distribution: this type's share of the finished items.
	Distribution aggregate.Value
	// Load: items of this type in wait or active at AsOf.
	Load int
}

// LoadSample is the flow load at one instant.
type LoadSample struct {
	At     time.Time
	Total  int
	ByType map[string]int
}

// StatusWait is the time finished items spent in one wait status.
type StatusWait struct {
	Status  string
	Seconds int64
	Items   int
}
