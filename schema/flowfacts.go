package schema

import (
	"strconv"
	"strings"
	"time"
)

// The flow and toil fact kinds; each is also the name of its table.
const (
	KindFlowItemFact Kind = "flow_item_facts"
	KindToilFact     Kind = "toil_facts"
)

// The flow states every ticket status maps to, as docs/metrics.md defines them.
const (
	FlowNew      = "new"
	FlowWait     = "wait"
	FlowActive   = "active"
	FlowDone     = "done"
	FlowCanceled = "canceled"
)

// FlowStates lists the flow states in workflow order.
var FlowStates = []string{FlowNew, FlowWait, FlowActive, FlowDone, FlowCanceled}

// The flow types of work items, after the Flow Framework.
const (
	FlowFeature = "feature"
	FlowDefect  = "defect"
	FlowRisk    = "risk"
	FlowDebt    = "debt"
)

// FlowTypes lists the flow types in the order reports show them.
var FlowTypes = []string{FlowFeature, FlowDefect, FlowRisk, FlowDebt}

// FlowItemFact is what one ticket means for flow: where it stands, and for a
// finished one its flow, active and wait time and when its value reached users.
type FlowItemFact struct {
	Source    string // the work item's source and id (its key)
	ID        string
	Team      string
	Project   string
	IssueType string
	FlowType  string
	Title     string
	// Status is its current status and State that status's flow state.
	Status    string
	State     string
	CreatedAt time.Time
	// CommittedAt is the commitment point: its first entry into a wait or active
	// state; zero while it never left new.
	CommittedAt time.Time
	// DoneAt is its last entry into done, zero unless it is done now; CanceledAt
	// when it entered canceled, zero unless it is canceled now.
	DoneAt     time.Time
	CanceledAt time.Time
	// Flow, active and wait time of a finished item (done, not canceled, with a
	// commitment point), in seconds, counted as Calendar says; Unknown otherwise.
	// Active + wait = flow.
	FlowSeconds   int64
	ActiveSeconds int64
	WaitSeconds   int64
	// Reopens counts the times it left done for another state.
	Reopens int64
	// TimePerStatus is the time spent in each status from the commitment point to
	// DoneAt (CanceledAt for canceled items; for unfinished ones, to their last
	// status change, so the fact does not change with the clock), as
	// "status=seconds" in order of first entry; see FormatStatusTime.
	TimePerStatus []string
	// Unmapped are the statuses it passed through that the project's mapping does
	// not name: they were counted under their tracker category.
	Unmapped []string
	// Calendar is the team calendar durations were counted in (working hours), or
	// empty for wall-clock time.
	Calendar string
	// PullRequests are the ids of the pull requests that name its key.
	PullRequests []string
	// DeliveredAt is when its value reached users: the latest production
	// deployment that shipped one of its merged pull requests, or DoneAt when it has
	// none; zero while done but not delivered (a merged pull request not shipped
	// yet). DeliveredBy is that deployment's id, empty when DoneAt stands in.
	DeliveredAt time.Time
	DeliveredBy string
	// DeliverySeconds is DeliveredAt − CommittedAt, counted as Calendar says;
	// Unknown until delivered.
	DeliverySeconds int64
	UpdatedAt       time.Time
}

// The kinds of records toil entries come from.
const (
	ToilFromIncident   = "incident"   // an incident (acknowledged or opened → resolved)
	ToilFromAlert      = "alert"      // a page that was no incident
	ToilFromTicket     = "ticket"     // a ticket a toil rule or label matched
	ToilFromDeployment = "deployment" // a manual deployment or a rollback
	ToilFromRerun      = "rerun"      // a re-run of a failed deployment workflow
)

// ToilSources lists the toil entry kinds in the order reports show them.
var ToilSources = []string{ToilFromIncident, ToilFromAlert, ToilFromTicket, ToilFromDeployment, ToilFromRerun}

// ToilUnclassified is the category of toil no rule matched.
const ToilUnclassified = "unclassified"

// ToilFact is one toil entry: one occurrence of manual operations work.
type ToilFact struct {
	Source string // the record's source
	// ID is "<kind>:<record id>", unique within the source across kinds.
	ID       string
	Team     string
	Category string
	// Rule names the toil rule that classified it, empty when unclassified.
	Rule string
	// Kind is one of the ToilFrom kinds; Record is the record's id.
	Kind   string
	Record string
	Who    string
	Title  string
	// StartedAt is when the work began; Seconds how long it took.
	StartedAt time.Time
	Seconds   int64
	// Basis says how Seconds was measured: acknowledged_to_resolved,
	// opened_to_resolved, worklogs, active_time, deployment or rerun.
	Basis string
	// Retired marks an entry derivation no longer makes (its ticket lost its toil
	// label, the toil rules changed): stores keep rows rather than delete them, so
	// the entry is replaced by this retired copy, which no figure counts.
	Retired   bool
	UpdatedAt time.Time
}

// FlowItemFacts describes the flow_item_facts table.
var FlowItemFacts = &Table[FlowItemFact]{
	Kind:       KindFlowItemFact,
	TimeColumn: "created_at",
	Updated:    func(r *FlowItemFact) *time.Time { return &r.UpdatedAt },
	Columns: []Column[FlowItemFact]{
		{Name: "source", Field: func(r *FlowItemFact) any { return &r.Source }},
		{Name: "id", Field: func(r *FlowItemFact) any { return &r.ID }},
		{Name: "team", Field: func(r *FlowItemFact) any { return &r.Team }},
		{Name: "project", Field: func(r *FlowItemFact) any { return &r.Project }},
		{Name: "issue_type", Field: func(r *FlowItemFact) any { return &r.IssueType }},
		{Name: "flow_type", Field: func(r *FlowItemFact) any { return &r.FlowType }},
		{Name: "title", Field: func(r *FlowItemFact) any { return &r.Title }},
		{Name: "status", Field: func(r *FlowItemFact) any { return &r.Status }},
		{Name: "state", Field: func(r *FlowItemFact) any { return &r.State }},
		{Name: "created_at", Field: func(r *FlowItemFact) any { return &r.CreatedAt }},
		{Name: "committed_at", Nullable: true, Field: func(r *FlowItemFact) any { return &r.CommittedAt }},
		{Name: "done_at", Nullable: true, Field: func(r *FlowItemFact) any { return &r.DoneAt }},
		{Name: "canceled_at", Nullable: true, Field: func(r *FlowItemFact) any { return &r.CanceledAt }},
		{Name: "flow_seconds", Field: func(r *FlowItemFact) any { return &r.FlowSeconds }},
		{Name: "active_seconds", Field: func(r *FlowItemFact) any { return &r.ActiveSeconds }},
		{Name: "wait_seconds", Field: func(r *FlowItemFact) any { return &r.WaitSeconds }},
		{Name: "reopens", Field: func(r *FlowItemFact) any { return &r.Reopens }},
		{Name: "time_per_status", Field: func(r *FlowItemFact) any { return &r.TimePerStatus }},
		{Name: "unmapped", Field: func(r *FlowItemFact) any { return &r.Unmapped }},
		{Name: "calendar", Field: func(r *FlowItemFact) any { return &r.Calendar }},
		{Name: "pull_requests", Field: func(r *FlowItemFact) any { return &r.PullRequests }},
		{Name: "delivered_at", Nullable: true, Field: func(r *FlowItemFact) any { return &r.DeliveredAt }},
		{Name: "delivered_by", Field: func(r *FlowItemFact) any { return &r.DeliveredBy }},
		{Name: "delivery_seconds", Field: func(r *FlowItemFact) any { return &r.DeliverySeconds }},
	},
}

// ToilFacts describes the toil_facts table.
var ToilFacts = &Table[ToilFact]{
	Kind:       KindToilFact,
	TimeColumn: "started_at",
	Updated:    func(r *ToilFact) *time.Time { return &r.UpdatedAt },
	Columns: []Column[ToilFact]{
		{Name: "source", Field: func(r *ToilFact) any { return &r.Source }},
		{Name: "id", Field: func(r *ToilFact) any { return &r.ID }},
		{Name: "team", Field: func(r *ToilFact) any { return &r.Team }},
		{Name: "category", Field: func(r *ToilFact) any { return &r.Category }},
		{Name: "rule", Field: func(r *ToilFact) any { return &r.Rule }},
		{Name: "kind", Field: func(r *ToilFact) any { return &r.Kind }},
		{Name: "record", Field: func(r *ToilFact) any { return &r.Record }},
		{Name: "who", Field: func(r *ToilFact) any { return &r.Who }},
		{Name: "title", Field: func(r *ToilFact) any { return &r.Title }},
		{Name: "started_at", Field: func(r *ToilFact) any { return &r.StartedAt }},
		{Name: "seconds", Field: func(r *ToilFact) any { return &r.Seconds }},
		{Name: "basis", Field: func(r *ToilFact) any { return &r.Basis }},
		{Name: "retired", Field: func(r *ToilFact) any { return &r.Retired }},
	},
}

// FormatStatusTime is one entry of FlowItemFact.TimePerStatus.
func FormatStatusTime(status string, seconds int64) string {
	return status + "=" + strconv.FormatInt(seconds, 10)
}

// ParseStatusTime splits an entry of FlowItemFact.TimePerStatus at its last "=",
// so a status whose name holds one is read back whole.
func ParseStatusTime(entry string) (status string, seconds int64, ok bool) {
	i := strings.LastIndexByte(entry, '=')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(entry[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return entry[:i], n, true
}
