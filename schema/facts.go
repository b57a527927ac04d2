package schema

import "time"

// Facts are what derivation makes of the records: one per merged pull request, per
// deployment and per incident, each carrying the ids of the records behind it, so
// every number on a dashboard or in a report can be traced to them. They are
// rewritten whenever derivation finds them different, never edited by hand.

// The fact kinds; each is also the name of its table.
const (
	KindChangeFact     Kind = "change_facts"
	KindDeploymentFact Kind = "deployment_facts"
	KindIncidentFact   Kind = "incident_facts"
)

// FactKinds lists the fact kinds in a stable order.
var FactKinds = []Kind{KindChangeFact, KindDeploymentFact, KindIncidentFact, KindFlowItemFact, KindToilFact}

// Unknown is the value of a duration that cannot be computed, such as the pickup
// time of a pull request nobody reviewed.
const Unknown int64 = -1

// ChangeState says where a merged pull request is on its way to production.
type ChangeState string

// The change states, as docs/metrics.md defines them.
const (
	// ChangeShipped: a production deployment shipped it.
	ChangeShipped ChangeState = "shipped"
	// ChangeUndeployed: merged, not yet shipped.
	ChangeUndeployed ChangeState = "undeployed"
	// ChangeUntracked: merged before the first production deployment flowmeter saw.
	ChangeUntracked ChangeState = "untracked"
	// ChangeExcluded: authored by a bot; kept so that the exclusion is traceable.
	ChangeExcluded ChangeState = "excluded"
)

// Attribution says how a change was matched to the deployment that shipped it.
type Attribution string

// Ship attributions.
const (
	// ByAncestry: the deployed commit contains the merge commit.
	ByAncestry Attribution = "ancestry"
	// ByTime: ancestry could not be known; the first production deployment of the
	// repository finishing at or after the merge.
	ByTime Attribution = "time"
)

// ChangeFact is the lead time of one merged pull request.
type ChangeFact struct {
	Source  string // the pull request's source and id
	ID      string
	Team    string
	Repo    string
	Service string // of the deployment that shipped it
	State   ChangeState
	// ShippedBy is the id of the deployment that shipped it (same source as the
	// deployment record), empty unless shipped.
	ShippedBy     string
	Attribution   Attribution
	FirstCommitAt time.Time
	OpenedAt      time.Time
	ReadyAt       time.Time
	FirstReviewAt time.Time
	MergedAt      time.Time
	ShippedAt     time.Time
	// Durations in seconds; Unknown where they cannot be computed.
	LeadTimeSeconds int64
	CodingSeconds   int64
	PickupSeconds   int64
	ReviewSeconds   int64
	DeploySeconds   int64
	// Unplanned: a fix (a bug-fix or hotfix label, or a reference to an incident).
	Unplanned bool
	// Reverts are the ids of the pull requests this one reverts.
	Reverts   []string
	UpdatedAt time.Time // when it was derived
}

// The reasons a production deployment failed, in the order facts list them.
const (
	// ReasonIncidentNamed: an incident names it, its commit, or a pull request it shipped.
	ReasonIncidentNamed = "incident_named"
	// ReasonIncidentWindow: inferred; an incident of its service opened after it,
	// within the failure window and before the service's next production deployment.
	ReasonIncidentWindow = "incident_window"
	// ReasonRolledBack: a later deployment of its service and environment went back
	// to an older commit, or was marked rollback, and replaced it.
	ReasonRolledBack = "rolled_back"
	// ReasonReverted: a later deployment shipped a revert of a pull request it shipped.
	ReasonReverted = "reverted"
	// ReasonHotfixed: the hotfix that replaced it in its service and environment came
	// within the failure window.
	ReasonHotfixed = "hotfixed"
)

// FailureReasons lists the failure reasons in the order facts list them.
var FailureReasons = []string{ReasonIncidentNamed, ReasonIncidentWindow, ReasonRolledBack, ReasonReverted, ReasonHotfixed}

// The reasons a production deployment is unplanned (rework), in the order facts
// list them.
const (
	UnplannedRollback = "rollback"
	UnplannedHotfix   = "hotfix"
	UnplannedRevert   = "revert"     // it ships a revert of a pull request
	UnplannedFixes    = "fixes_only" // every pull request it ships is a fix
)

// UnplannedReasons lists the rework reasons in the order facts list them.
var UnplannedReasons = []string{UnplannedRollback, UnplannedHotfix, UnplannedRevert, UnplannedFixes}

// DeploymentFact is what one deployment means for DORA.
type DeploymentFact struct {
	Source      string // the deployment's source and id
	ID          string
	Team        string
	Repo        string
	Service     string
	Environment string
	// Production: a successful deployment to an environment matching the team's
	// production pattern.
	Production bool
	Status     string
	// FailedAttempt: a deployment whose status is failure or error; not a DORA
	// change failure.
	FailedAttempt bool
	CommitSHA     string
	StartedAt     time.Time
	FinishedAt    time.Time
	// Failed production deployments, once however many reasons hold.
	Failed          bool
	FailureReasons  []string
	CausedIncidents []string // ids of the incidents attributed to it
	// RecoveredAt: the earliest of the linked incidents' resolution and the rollback or
	// hotfix deployment's finish; RecoveredBy is that record's id.
	RecoveredAt     time.Time
	RecoveredBy     string
	RecoverySeconds int64
	// Rollback and Hotfix: this deployment is one (its own mark, an older commit
	// deployed, a hotfix ref or label).
	Rollback         bool
	Hotfix           bool
	Unplanned        bool
	UnplannedReasons []string
	// Revert: it ships a revert of a pull request.
	Revert bool
	// Changes is the number of pull requests it shipped.
	Changes int64
	// Rollout lists, on the deployment a rollout counts as, the other production
	// deployments of the same service and commit (other regions, clusters);
	// RolloutOf names, on each of those, the deployment the rollout counts as. A
	// deployment with a RolloutOf counts in no DORA figure.
	Rollout   []string
	RolloutOf string
	UpdatedAt time.Time
}

// IncidentFact is the time to restore of one incident.
type IncidentFact struct {
	Source         string // the incident's source and id
	ID             string
	Team           string
	Service        string
	Severity       string
	OpenedAt       time.Time
	ResolvedAt     time.Time
	RestoreSeconds int64 // Unknown while open
	// Deployment is the id of the production deployment it was attributed to, and
	// LinkReason how: ReasonIncidentNamed, or ReasonIncidentWindow when inferred.
	Deployment string
	LinkReason string
	UpdatedAt  time.Time
}

// ChangeFacts describes the change_facts table.
var ChangeFacts = &Table[ChangeFact]{
	Kind:       KindChangeFact,
	TimeColumn: "merged_at",
	Updated:    func(r *ChangeFact) *time.Time { return &r.UpdatedAt },
	Columns: []Column[ChangeFact]{
		{Name: "source", Field: func(r *ChangeFact) any { return &r.Source }},
		{Name: "id", Field: func(r *ChangeFact) any { return &r.ID }},
		{Name: "team", Field: func(r *ChangeFact) any { return &r.Team }},
		{Name: "repo", Field: func(r *ChangeFact) any { return &r.Repo }},
		{Name: "service", Field: func(r *ChangeFact) any { return &r.Service }},
		{Name: "state", Field: func(r *ChangeFact) any { return (*string)(&r.State) }},
		{Name: "shipped_by", Field: func(r *ChangeFact) any { return &r.ShippedBy }},
		{Name: "attribution", Field: func(r *ChangeFact) any { return (*string)(&r.Attribution) }},
		{Name: "first_commit_at", Nullable: true, Field: func(r *ChangeFact) any { return &r.FirstCommitAt }},
		{Name: "opened_at", Nullable: true, Field: func(r *ChangeFact) any { return &r.OpenedAt }},
		{Name: "ready_at", Nullable: true, Field: func(r *ChangeFact) any { return &r.ReadyAt }},
		{Name: "first_review_at", Nullable: true, Field: func(r *ChangeFact) any { return &r.FirstReviewAt }},
		{Name: "merged_at", Field: func(r *ChangeFact) any { return &r.MergedAt }},
		{Name: "shipped_at", Nullable: true, Field: func(r *ChangeFact) any { return &r.ShippedAt }},
		{Name: "lead_time_seconds", Field: func(r *ChangeFact) any { return &r.LeadTimeSeconds }},
		{Name: "coding_seconds", Field: func(r *ChangeFact) any { return &r.CodingSeconds }},
		{Name: "pickup_seconds", Field: func(r *ChangeFact) any { return &r.PickupSeconds }},
		{Name: "review_seconds", Field: func(r *ChangeFact) any { return &r.ReviewSeconds }},
		{Name: "deploy_seconds", Field: func(r *ChangeFact) any { return &r.DeploySeconds }},
		{Name: "unplanned", Field: func(r *ChangeFact) any { return &r.Unplanned }},
		{Name: "reverts", Field: func(r *ChangeFact) any { return &r.Reverts }},
	},
}

// DeploymentFacts describes the deployment_facts table.
var DeploymentFacts = &Table[DeploymentFact]{
	Kind:       KindDeploymentFact,
	TimeColumn: "started_at",
	Updated:    func(r *DeploymentFact) *time.Time { return &r.UpdatedAt },
	Columns: []Column[DeploymentFact]{
		{Name: "source", Field: func(r *DeploymentFact) any { return &r.Source }},
		{Name: "id", Field: func(r *DeploymentFact) any { return &r.ID }},
		{Name: "team", Field: func(r *DeploymentFact) any { return &r.Team }},
		{Name: "repo", Field: func(r *DeploymentFact) any { return &r.Repo }},
		{Name: "service", Field: func(r *DeploymentFact) any { return &r.Service }},
		{Name: "environment", Field: func(r *DeploymentFact) any { return &r.Environment }},
		{Name: "production", Field: func(r *DeploymentFact) any { return &r.Production }},
		{Name: "status", Field: func(r *DeploymentFact) any { return &r.Status }},
		{Name: "failed_attempt", Field: func(r *DeploymentFact) any { return &r.FailedAttempt }},
		{Name: "commit_sha", Field: func(r *DeploymentFact) any { return &r.CommitSHA }},
		{Name: "started_at", Field: func(r *DeploymentFact) any { return &r.StartedAt }},
		{Name: "finished_at", Nullable: true, Field: func(r *DeploymentFact) any { return &r.FinishedAt }},
		{Name: "failed", Field: func(r *DeploymentFact) any { return &r.Failed }},
		{Name: "failure_reasons", Field: func(r *DeploymentFact) any { return &r.FailureReasons }},
		{Name: "caused_incidents", Field: func(r *DeploymentFact) any { return &r.CausedIncidents }},
		{Name: "recovered_at", Nullable: true, Field: func(r *DeploymentFact) any { return &r.RecoveredAt }},
		{Name: "recovered_by", Field: func(r *DeploymentFact) any { return &r.RecoveredBy }},
		{Name: "recovery_seconds", Field: func(r *DeploymentFact) any { return &r.RecoverySeconds }},
		{Name: "rollback", Field: func(r *DeploymentFact) any { return &r.Rollback }},
		{Name: "hotfix", Field: func(r *DeploymentFact) any { return &r.Hotfix }},
		{Name: "unplanned", Field: func(r *DeploymentFact) any { return &r.Unplanned }},
		{Name: "unplanned_reasons", Field: func(r *DeploymentFact) any { return &r.UnplannedReasons }},
		{Name: "changes", Field: func(r *DeploymentFact) any { return &r.Changes }},
		{Name: "rollout_of", Field: func(r *DeploymentFact) any { return &r.RolloutOf }},
		{Name: "rollout", Field: func(r *DeploymentFact) any { return &r.Rollout }},
		{Name: "revert", Field: func(r *DeploymentFact) any { return &r.Revert }},
	},
}

// IncidentFacts describes the incident_facts table.
var IncidentFacts = &Table[IncidentFact]{
	Kind:       KindIncidentFact,
	TimeColumn: "opened_at",
	Updated:    func(r *IncidentFact) *time.Time { return &r.UpdatedAt },
	Columns: []Column[IncidentFact]{
		{Name: "source", Field: func(r *IncidentFact) any { return &r.Source }},
		{Name: "id", Field: func(r *IncidentFact) any { return &r.ID }},
		{Name: "team", Field: func(r *IncidentFact) any { return &r.Team }},
		{Name: "service", Field: func(r *IncidentFact) any { return &r.Service }},
		{Name: "severity", Field: func(r *IncidentFact) any { return &r.Severity }},
		{Name: "opened_at", Field: func(r *IncidentFact) any { return &r.OpenedAt }},
		{Name: "resolved_at", Nullable: true, Field: func(r *IncidentFact) any { return &r.ResolvedAt }},
		{Name: "restore_seconds", Field: func(r *IncidentFact) any { return &r.RestoreSeconds }},
		{Name: "deployment", Field: func(r *IncidentFact) any { return &r.Deployment }},
		{Name: "link_reason", Field: func(r *IncidentFact) any { return &r.LinkReason }},
	},
}
