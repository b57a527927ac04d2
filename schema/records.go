// Package schema holds the Go types of the records sources produce and the facts
// flowmeter derives, the description of how each is stored, and the migrations that
// create the tables in each store.
package schema

import "time"

// Kind names one kind of raw record; it is also the name of the record's table.
type Kind string

// The record kinds every store keeps.
const (
	KindPullRequest  Kind = "pull_requests"
	KindDeployment   Kind = "deployments"
	KindIncident     Kind = "incidents"
	KindWorkItem     Kind = "work_items"
	KindStatusChange Kind = "status_changes"
	KindWorklog      Kind = "worklogs"
	KindAncestry     Kind = "commit_ancestry"
)

// Kinds lists every record kind in a stable order.
var Kinds = []Kind{KindPullRequest, KindDeployment, KindIncident, KindWorkItem, KindStatusChange, KindWorklog, KindAncestry}

// Times are stored with one-second precision (ClickHouse DateTime); a zero
// time.Time means "not known / not happened" and is stored as NULL.

// PullRequest is one pull request as its source last reported it.
type PullRequest struct {
	Source string // name of the source instance in the config
	ID     string // natural id, "owner/repo#number"
	Repo   string // "owner/repo"
	Number int64
	Author string
	Title  string
	Labels []string
	// BaseBranch is the branch the pull request merges into.
	BaseBranch string
	Draft      bool
	CreatedAt  time.Time
	// ReadyAt is when the pull request was marked ready for review; CreatedAt when it
	// was never a draft, zero while it is still a draft.
	ReadyAt time.Time
	// FirstCommitAt is the earliest author date among its commits, which survives
	// squash merges.
	FirstCommitAt time.Time
	CommitCount   int64
	Additions     int64
	Deletions     int64
	// FirstReviewAt and FirstReviewer: the first review or review comment by someone
	// other than the author and not a bot.
	FirstReviewAt   time.Time
	FirstReviewer   string
	FirstApprovalAt time.Time
	MergedAt        time.Time
	ClosedAt        time.Time
	MergeCommitSHA  string
	URL             string
	// Reverts are what the pull request says it reverts, from its body: the full
	// sha of each commit ("This reverts commit <sha>") and "owner/repo#N" of each
	// pull request ("Reverts owner/repo#N"). A title `Revert "<title>"` is matched by
	// derivation against the titles of earlier pull requests.
	Reverts []string
	// TicketRefs are the tickets the pull request names, for delivery linkage: each
	// key shaped like a Jira key ("PAY-123") found in its title, head branch or body,
	// upper-cased, and "owner/repo#N" for each issue it closes ("fixes #N").
	// Derivation keeps only the keys of tickets it knows.
	TicketRefs []string
	UpdatedAt  time.Time // the record's version: a later one replaces an earlier one
}

// DeploymentStatus is the outcome of a deployment attempt.
type DeploymentStatus string

// Deployment statuses, after GitHub's deployment states.
const (
	DeploymentSuccess    DeploymentStatus = "success"
	DeploymentFailure    DeploymentStatus = "failure"
	DeploymentError      DeploymentStatus = "error"
	DeploymentInProgress DeploymentStatus = "in_progress"
	DeploymentQueued     DeploymentStatus = "queued"
	DeploymentCanceled   DeploymentStatus = "canceled"
	DeploymentInactive   DeploymentStatus = "inactive"
)

// Trigger says whether a person or automation started a deployment.
type Trigger string

// Deployment triggers.
const (
	TriggerAutomatic Trigger = "automatic"
	TriggerManual    Trigger = "manual"
)

// Deployment is one attempt to put a service's code into an environment.
type Deployment struct {
	Source      string
	ID          string // natural id within the source
	Repo        string
	Service     string
	Environment string
	CommitSHA   string
	Ref         string
	Status      DeploymentStatus
	Trigger     Trigger
	Rollback    bool
	Hotfix      bool
	// Attempt is 1 for a first run and counts re-runs of the same deployment job.
	Attempt int64
	// StartedAt never changes for a deployment: it places the record in its partition.
	StartedAt  time.Time
	FinishedAt time.Time
	URL        string
	UpdatedAt  time.Time
}

// The kinds of incident records.
const (
	// IncidentKindIncident is an incident: it counts in time to restore and can fail
	// a deployment. The empty kind means the same.
	IncidentKindIncident = "incident"
	// IncidentKindAlert is a page or alert that was not declared an incident
	// (Opsgenie alerts): toil, but no DORA figure counts it.
	IncidentKindAlert = "alert"
)

// Incident is one incident or page from an incident tool.
type Incident struct {
	Source string
	ID     string
	// Kind is IncidentKindIncident (or empty) or IncidentKindAlert.
	Kind     string
	Service  string
	Severity string
	// Urgency and Priority are the tool's own (PagerDuty: urgency high|low and a
	// priority name such as P1; Opsgenie: priority P1…P5), for toil rules.
	Urgency        string
	Priority       string
	Title          string
	Labels         []string
	OpenedAt       time.Time
	AcknowledgedAt time.Time
	ResolvedAt     time.Time
	// CauseDeploymentID and CauseCommitSHA are what the incident names as its cause.
	CauseDeploymentID string
	CauseCommitSHA    string
	// CausePullRequest is the pull request it names as its cause, "owner/repo#N".
	CausePullRequest string
	URL              string
	UpdatedAt        time.Time
}

// WorkItem is one ticket.
type WorkItem struct {
	Source    string
	ID        string // the ticket key, e.g. "PAY-123"
	Project   string
	IssueType string
	Title     string
	Labels    []string
	Assignee  string
	Priority  string
	Status    string
	// StatusCategory is the tracker's category of Status (Jira: "To Do",
	// "In Progress", "Done"), used when no flow-state mapping is configured.
	StatusCategory string
	// Resolution is the tracker's resolution ("Done", "Won't Do", "Duplicate"),
	// empty while unresolved: a done status with a canceling resolution is canceled.
	Resolution string
	Components []string
	CreatedAt  time.Time
	ResolvedAt time.Time
	URL        string
	UpdatedAt  time.Time
}

// StatusChange is one transition of a work item between statuses.
type StatusChange struct {
	Source       string
	ID           string
	ItemID       string
	At           time.Time
	From         string
	To           string
	FromCategory string
	ToCategory   string
	Author       string
	UpdatedAt    time.Time
}

// Worklog is time someone logged against a work item.
type Worklog struct {
	Source    string
	ID        string
	ItemID    string
	Author    string
	StartedAt time.Time
	Seconds   int64
	UpdatedAt time.Time
}

// Ancestry is a source's answer to "does commit Head contain commit Base?" (is Base
// Head itself or one of its ancestors). Ship attribution asks it of a deployed commit
// and a merge commit; the answer never changes for a pair, so it is asked once ever.
type Ancestry struct {
	Source    string
	ID        string // "owner/repo:base...head"
	Repo      string
	Base      string
	Head      string
	Contains  bool
	CheckedAt time.Time
	UpdatedAt time.Time
}

// CommitPair asks whether commit Head contains commit Base in a repository: does a
// deployed commit contain a pull request's merge commit?
type CommitPair struct {
	Repo, Base, Head string
}

// CommitRange is GitHub's comparison of two commits deployed one after the other
// (Base, the one replaced, and Head): how they relate and, when Head is ahead,
// every commit Head has that Base has not, which is everything the deployment
// shipped.
type CommitRange struct {
	CommitPair
	// BaseInHead: Base is Head or one of its ancestors ("ahead" or "identical").
	// HeadInBase: Head is Base or one of its ancestors ("behind" or "identical").
	BaseInHead, HeadInBase bool
	// Commits lists the commits Head has and Base has not: all of them, or, from a
	// listing cut short, those it listed (nothing is said of the others).
	Commits []string
}

// AncestryID is the natural id of the answer for a pair of commits in a repository.
func AncestryID(repo, base, head string) string { return repo + ":" + base + "..." + head }

// Cursor is how far a collector got in one stream of one source instance.
type Cursor struct {
	Source    string
	Stream    string // e.g. "pulls:acme/api"
	Value     string // opaque to the store: a timestamp, a page token, an ETag
	UpdatedAt time.Time
}

// Batch is a set of records written together. Cursors are written after the records,
// so a cursor never moves past records that were not stored.
type Batch struct {
	PullRequests  []PullRequest
	Deployments   []Deployment
	Incidents     []Incident
	WorkItems     []WorkItem
	StatusChanges []StatusChange
	Worklogs      []Worklog
	Ancestries    []Ancestry
	// Facts, written by derivation.
	ChangeFacts     []ChangeFact
	DeploymentFacts []DeploymentFact
	IncidentFacts   []IncidentFact
	FlowItemFacts   []FlowItemFact
	ToilFacts       []ToilFact
	Cursors         []Cursor
}

// Len is the number of records and facts in the batch, cursors excluded.
func (b *Batch) Len() int {
	return len(b.PullRequests) + len(b.Deployments) + len(b.Incidents) +
		len(b.WorkItems) + len(b.StatusChanges) + len(b.Worklogs) + len(b.Ancestries) +
		len(b.ChangeFacts) + len(b.DeploymentFacts) + len(b.IncidentFacts) + len(b.FlowItemFacts) + len(b.ToilFacts)
}

// Append adds o's records, facts and cursors after b's, in order: kept beside the
// fields, so that a new kind is merged where it is declared.
func (b *Batch) Append(o *Batch) {
	b.PullRequests = append(b.PullRequests, o.PullRequests...)
	b.Deployments = append(b.Deployments, o.Deployments...)
	b.Incidents = append(b.Incidents, o.Incidents...)
	b.WorkItems = append(b.WorkItems, o.WorkItems...)
	b.StatusChanges = append(b.StatusChanges, o.StatusChanges...)
	b.Worklogs = append(b.Worklogs, o.Worklogs...)
	b.Ancestries = append(b.Ancestries, o.Ancestries...)
	b.ChangeFacts = append(b.ChangeFacts, o.ChangeFacts...)
	b.DeploymentFacts = append(b.DeploymentFacts, o.DeploymentFacts...)
	b.IncidentFacts = append(b.IncidentFacts, o.IncidentFacts...)
	b.FlowItemFacts = append(b.FlowItemFacts, o.FlowItemFacts...)
	b.ToilFacts = append(b.ToilFacts, o.ToilFacts...)
	b.Cursors = append(b.Cursors, o.Cursors...)
}

// Counts is how many records and facts of each kind the batch holds, kinds it has
// none of left out; cursors are not counted.
func (b *Batch) Counts() map[Kind]int {
	m := map[Kind]int{}
	for k, n := range map[Kind]int{
		KindPullRequest: len(b.PullRequests), KindDeployment: len(b.Deployments), KindIncident: len(b.Incidents),
		KindWorkItem: len(b.WorkItems), KindStatusChange: len(b.StatusChanges), KindWorklog: len(b.Worklogs),
		KindAncestry: len(b.Ancestries), KindChangeFact: len(b.ChangeFacts), KindDeploymentFact: len(b.DeploymentFacts),
		KindIncidentFact: len(b.IncidentFacts), KindFlowItemFact: len(b.FlowItemFacts), KindToilFact: len(b.ToilFacts),
	} {
		if n > 0 {
			m[k] = n
		}
	}
	return m
}
