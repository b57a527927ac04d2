package toil

import (
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
)

// Report is the toil of every team over one window [From, To).
type Report struct {
	From, To time.Time
	// AsOf is the earlier of the caller's now and To; occurrences per year are
	// counted over the window up to it.
	AsOf  time.Time
	Teams []Team
}

// Team is one team's toil, by category.
type Team struct {
	Name    string
	Entries int
	// Seconds is the total time of its entries.
	Seconds int64
	// Categories are sorted by total time, longest first (the toil snake's rows).
	Categories []Category
}

// Category is the toil of one category of one team.
type Category struct {
	Category string
	Entries  int
	Seconds  int64
	// Median is the median duration of its entries, in seconds.
	Median aggregate.Value
	// PerYear is Entries scaled to a year: Entries / days of the window up to AsOf × 365.
	PerYear aggregate.Value
	// AutomationBudget = 5 years × PerYear × Median, in seconds: how long automating
	// it may take before the automation costs more than it saves.
	AutomationBudget aggregate.Value
	// Kinds counts its entries by kind (incident, alert, ticket, deployment, rerun).
	Kinds map[string]int
	// Entries in time order, for the toil snake.
	Items []Entry
}

// Entry is one toil entry as reports show it.
type Entry struct {
	Ref       string // aggregate.Ref(source, id) of the toil fact
	Kind      string
	Record    string
	Who       string
	Title     string
	StartedAt time.Time
	Seconds   int64
	Basis     string
	Rule      string
}
