package schema

import (
	"math"
	"time"
)

// Column maps one record field to one table column. Field returns a pointer to the
// field, always one of *string, *int64, *bool, *time.Time or *[]string (string types
// such as DeploymentStatus are converted to *string), so one accessor serves writing
// and reading without allocating, and a store handles just those five.
type Column[R any] struct {
	Name string
	// Nullable columns store a zero time.Time as NULL.
	Nullable bool
	Field    func(r *R) any
}

// Table describes how records of one kind are stored. Every table also has the
// columns updated_at (the record's UpdatedAt, whole seconds, for people writing SQL)
// and version (UpdatedAt in nanoseconds, which decides which copy of a record wins).
type Table[R any] struct {
	Kind Kind
	// TimeColumn is the record's immutable event time: ClickHouse partitions by its
	// month and Filter.From/To select on it. It must never change for a record, or
	// two versions would land in different partitions and never replace each other.
	TimeColumn string
	Columns    []Column[R]
	// Updated returns a pointer to the record's UpdatedAt.
	Updated func(r *R) *time.Time
}

// Key is a record's natural key, source and id, as one string.
func (t *Table[R]) Key(r *R) string {
	source, id := t.Identity(r)
	return source + "\x00" + id
}

// Identity is a record's source and id: every table's first two columns.
func (t *Table[R]) Identity(r *R) (source, id string) {
	return *t.Columns[0].Field(r).(*string), *t.Columns[1].Field(r).(*string)
}

// Name is the table's name, the same in every store.
func (t *Table[R]) Name() string { return string(t.Kind) }

// ColumnNames lists the stored columns in insert order, updated_at and version last.
func (t *Table[R]) ColumnNames() []string {
	names := make([]string, 0, len(t.Columns)+2)
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	return append(names, "updated_at", "version")
}

// Version is the value of the version column for a record: UpdatedAt in nanoseconds,
// clamped to the range where that is defined (1970 to 2262), with the zero time as 0.
func Version(updated time.Time) int64 {
	switch sec := updated.Unix(); {
	case sec < 0:
		return 0
	case sec >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	}
	return updated.UnixNano()
}

// FromVersion turns a version column value back into UpdatedAt; 0 is the zero time.
func FromVersion(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

// CeilSecond is t rounded up to a whole second in Unix seconds. Stored times are whole
// seconds, and for a whole second x, x >= t exactly when x >= CeilSecond(t), and
// x < t exactly when x < CeilSecond(t): every store bounds windows with it.
func CeilSecond(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

// PullRequests describes the pull_requests table.
var PullRequests = &Table[PullRequest]{
	Kind:       KindPullRequest,
	TimeColumn: "created_at",
	Updated:    func(r *PullRequest) *time.Time { return &r.UpdatedAt },
	Columns: []Column[PullRequest]{
		{Name: "source", Field: func(r *PullRequest) any { return &r.Source }},
		{Name: "id", Field: func(r *PullRequest) any { return &r.ID }},
		{Name: "repo", Field: func(r *PullRequest) any { return &r.Repo }},
		{Name: "number", Field: func(r *PullRequest) any { return &r.Number }},
		{Name: "author", Field: func(r *PullRequest) any { return &r.Author }},
		{Name: "title", Field: func(r *PullRequest) any { return &r.Title }},
		{Name: "labels", Field: func(r *PullRequest) any { return &r.Labels }},
		{Name: "base_branch", Field: func(r *PullRequest) any { return &r.BaseBranch }},
		{Name: "draft", Field: func(r *PullRequest) any { return &r.Draft }},
		{Name: "created_at", Field: func(r *PullRequest) any { return &r.CreatedAt }},
		{Name: "ready_at", Nullable: true, Field: func(r *PullRequest) any { return &r.ReadyAt }},
		{Name: "first_commit_at", Nullable: true, Field: func(r *PullRequest) any { return &r.FirstCommitAt }},
		{Name: "commit_count", Field: func(r *PullRequest) any { return &r.CommitCount }},
		{Name: "additions", Field: func(r *PullRequest) any { return &r.Additions }},
		{Name: "deletions", Field: func(r *PullRequest) any { return &r.Deletions }},
		{Name: "first_review_at", Nullable: true, Field: func(r *PullRequest) any { return &r.FirstReviewAt }},
		{Name: "first_reviewer", Field: func(r *PullRequest) any { return &r.FirstReviewer }},
		{Name: "first_approval_at", Nullable: true, Field: func(r *PullRequest) any { return &r.FirstApprovalAt }},
		{Name: "merged_at", Nullable: true, Field: func(r *PullRequest) any { return &r.MergedAt }},
		{Name: "closed_at", Nullable: true, Field: func(r *PullRequest) any { return &r.ClosedAt }},
		{Name: "merge_commit_sha", Field: func(r *PullRequest) any { return &r.MergeCommitSHA }},
		{Name: "url", Field: func(r *PullRequest) any { return &r.URL }},
		{Name: "reverts", Field: func(r *PullRequest) any { return &r.Reverts }},
		{Name: "ticket_refs", Field: func(r *PullRequest) any { return &r.TicketRefs }},
	},
}

// Deployments describes the deployments table.
var Deployments = &Table[Deployment]{
	Kind:       KindDeployment,
	TimeColumn: "started_at",
	Updated:    func(r *Deployment) *time.Time { return &r.UpdatedAt },
	Columns: []Column[Deployment]{
		{Name: "source", Field: func(r *Deployment) any { return &r.Source }},
		{Name: "id", Field: func(r *Deployment) any { return &r.ID }},
		{Name: "repo", Field: func(r *Deployment) any { return &r.Repo }},
		{Name: "service", Field: func(r *Deployment) any { return &r.Service }},
		{Name: "environment", Field: func(r *Deployment) any { return &r.Environment }},
		{Name: "commit_sha", Field: func(r *Deployment) any { return &r.CommitSHA }},
		{Name: "ref", Field: func(r *Deployment) any { return &r.Ref }},
		{Name: "status", Field: func(r *Deployment) any { return (*string)(&r.Status) }},
		{Name: "trigger", Field: func(r *Deployment) any { return (*string)(&r.Trigger) }},
		{Name: "rollback", Field: func(r *Deployment) any { return &r.Rollback }},
		{Name: "hotfix", Field: func(r *Deployment) any { return &r.Hotfix }},
		{Name: "attempt", Field: func(r *Deployment) any { return &r.Attempt }},
		{Name: "started_at", Field: func(r *Deployment) any { return &r.StartedAt }},
		{Name: "finished_at", Nullable: true, Field: func(r *Deployment) any { return &r.FinishedAt }},
		{Name: "url", Field: func(r *Deployment) any { return &r.URL }},
	},
}

// Incidents describes the incidents table.
var Incidents = &Table[Incident]{
	Kind:       KindIncident,
	TimeColumn: "opened_at",
	Updated:    func(r *Incident) *time.Time { return &r.UpdatedAt },
	Columns: []Column[Incident]{
		{Name: "source", Field: func(r *Incident) any { return &r.Source }},
		{Name: "id", Field: func(r *Incident) any { return &r.ID }},
		{Name: "service", Field: func(r *Incident) any { return &r.Service }},
		{Name: "severity", Field: func(r *Incident) any { return &r.Severity }},
		{Name: "title", Field: func(r *Incident) any { return &r.Title }},
		{Name: "labels", Field: func(r *Incident) any { return &r.Labels }},
		{Name: "opened_at", Field: func(r *Incident) any { return &r.OpenedAt }},
		{Name: "acknowledged_at", Nullable: true, Field: func(r *Incident) any { return &r.AcknowledgedAt }},
		{Name: "resolved_at", Nullable: true, Field: func(r *Incident) any { return &r.ResolvedAt }},
		{Name: "cause_deployment_id", Field: func(r *Incident) any { return &r.CauseDeploymentID }},
		{Name: "cause_commit_sha", Field: func(r *Incident) any { return &r.CauseCommitSHA }},
		{Name: "url", Field: func(r *Incident) any { return &r.URL }},
		{Name: "cause_pull_request", Field: func(r *Incident) any { return &r.CausePullRequest }},
		{Name: "kind", Field: func(r *Incident) any { return &r.Kind }},
		{Name: "urgency", Field: func(r *Incident) any { return &r.Urgency }},
		{Name: "priority", Field: func(r *Incident) any { return &r.Priority }},
	},
}

// WorkItems describes the work_items table.
var WorkItems = &Table[WorkItem]{
	Kind:       KindWorkItem,
	TimeColumn: "created_at",
	Updated:    func(r *WorkItem) *time.Time { return &r.UpdatedAt },
	Columns: []Column[WorkItem]{
		{Name: "source", Field: func(r *WorkItem) any { return &r.Source }},
		{Name: "id", Field: func(r *WorkItem) any { return &r.ID }},
		{Name: "project", Field: func(r *WorkItem) any { return &r.Project }},
		{Name: "issue_type", Field: func(r *WorkItem) any { return &r.IssueType }},
		{Name: "title", Field: func(r *WorkItem) any { return &r.Title }},
		{Name: "labels", Field: func(r *WorkItem) any { return &r.Labels }},
		{Name: "assignee", Field: func(r *WorkItem) any { return &r.Assignee }},
		{Name: "priority", Field: func(r *WorkItem) any { return &r.Priority }},
		{Name: "status", Field: func(r *WorkItem) any { return &r.Status }},
		{Name: "status_category", Field: func(r *WorkItem) any { return &r.StatusCategory }},
		{Name: "created_at", Field: func(r *WorkItem) any { return &r.CreatedAt }},
		{Name: "resolved_at", Nullable: true, Field: func(r *WorkItem) any { return &r.ResolvedAt }},
		{Name: "url", Field: func(r *WorkItem) any { return &r.URL }},
		{Name: "resolution", Field: func(r *WorkItem) any { return &r.Resolution }},
		{Name: "components", Field: func(r *WorkItem) any { return &r.Components }},
	},
}

// StatusChanges describes the status_changes table.
var StatusChanges = &Table[StatusChange]{
	Kind:       KindStatusChange,
	TimeColumn: "at",
	Updated:    func(r *StatusChange) *time.Time { return &r.UpdatedAt },
	Columns: []Column[StatusChange]{
		{Name: "source", Field: func(r *StatusChange) any { return &r.Source }},
		{Name: "id", Field: func(r *StatusChange) any { return &r.ID }},
		{Name: "item_id", Field: func(r *StatusChange) any { return &r.ItemID }},
		{Name: "at", Field: func(r *StatusChange) any { return &r.At }},
		{Name: "from_status", Field: func(r *StatusChange) any { return &r.From }},
		{Name: "to_status", Field: func(r *StatusChange) any { return &r.To }},
		{Name: "from_category", Field: func(r *StatusChange) any { return &r.FromCategory }},
		{Name: "to_category", Field: func(r *StatusChange) any { return &r.ToCategory }},
		{Name: "author", Field: func(r *StatusChange) any { return &r.Author }},
	},
}

// Worklogs describes the worklogs table.
var Worklogs = &Table[Worklog]{
	Kind:       KindWorklog,
	TimeColumn: "started_at",
	Updated:    func(r *Worklog) *time.Time { return &r.UpdatedAt },
	Columns: []Column[Worklog]{
		{Name: "source", Field: func(r *Worklog) any { return &r.Source }},
		{Name: "id", Field: func(r *Worklog) any { return &r.ID }},
		{Name: "item_id", Field: func(r *Worklog) any { return &r.ItemID }},
		{Name: "author", Field: func(r *Worklog) any { return &r.Author }},
		{Name: "started_at", Field: func(r *Worklog) any { return &r.StartedAt }},
		{Name: "seconds", Field: func(r *Worklog) any { return &r.Seconds }},
	},
}

// Ancestries describes the commit_ancestry table.
var Ancestries = &Table[Ancestry]{
	Kind:       KindAncestry,
	TimeColumn: "checked_at",
	Updated:    func(r *Ancestry) *time.Time { return &r.UpdatedAt },
	Columns: []Column[Ancestry]{
		{Name: "source", Field: func(r *Ancestry) any { return &r.Source }},
		{Name: "id", Field: func(r *Ancestry) any { return &r.ID }},
		{Name: "repo", Field: func(r *Ancestry) any { return &r.Repo }},
		{Name: "base", Field: func(r *Ancestry) any { return &r.Base }},
		{Name: "head", Field: func(r *Ancestry) any { return &r.Head }},
		{Name: "contains", Field: func(r *Ancestry) any { return &r.Contains }},
		{Name: "checked_at", Field: func(r *Ancestry) any { return &r.CheckedAt }},
	},
}

// TimeColumn returns the event time column of a kind's table.
func TimeColumn(k Kind) (string, bool) {
	switch k {
	case KindPullRequest:
		return PullRequests.TimeColumn, true
	case KindDeployment:
		return Deployments.TimeColumn, true
	case KindIncident:
		return Incidents.TimeColumn, true
	case KindWorkItem:
		return WorkItems.TimeColumn, true
	case KindStatusChange:
		return StatusChanges.TimeColumn, true
	case KindWorklog:
		return Worklogs.TimeColumn, true
	case KindAncestry:
		return Ancestries.TimeColumn, true
	case KindChangeFact:
		return ChangeFacts.TimeColumn, true
	case KindDeploymentFact:
		return DeploymentFacts.TimeColumn, true
	case KindIncidentFact:
		return IncidentFacts.TimeColumn, true
	case KindFlowItemFact:
		return FlowItemFacts.TimeColumn, true
	case KindToilFact:
		return ToilFacts.TimeColumn, true
	}
	return "", false
}
