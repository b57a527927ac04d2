package githubtest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// defaultEpoch is the creation time of repositories that do not give one.
var defaultEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Repository describes a repository for AddRepository.
type Repository struct {
	Owner         string // the organisation, created on first use
	Name          string
	DefaultBranch string // default "main"
	Description   string
	Private       bool
	Fork          bool
	Archived      bool
	Disabled      bool
	CreatedAt     time.Time // default 2025-01-01T00:00:00Z
	UpdatedAt     time.Time // default the later of CreatedAt and PushedAt
	PushedAt      time.Time // default the latest commit date
}

// Commit describes a commit for AddCommit.
type Commit struct {
	Message        string    // default "Change N"
	Author         string    // the author's name, default "octocat"
	AuthorEmail    string    // default "<author>@users.noreply.github.com"
	AuthorDate     time.Time // default the server clock
	Committer      string    // default Author
	CommitterEmail string    // default AuthorEmail, or the committer's noreply address
	CommitDate     time.Time // default AuthorDate
}

// PullRequest describes a pull request for AddPullRequest; the server fills the fields
// marked as set by it.
type PullRequest struct {
	Number            int    // default the next number
	Title             string // default "Pull request N"
	Body              string
	Author            string // login, default "octocat"
	AuthorIsBot       bool   // a Bot account; "[bot]" is appended to the login as GitHub shows it
	AuthorAssociation string // default "MEMBER", "CONTRIBUTOR" from a fork, "NONE" for a bot
	Labels            []string
	Draft             bool
	Locked            bool
	CreatedAt         time.Time // default the server clock
	UpdatedAt         time.Time // default the latest activity
	ClosedAt          time.Time // zero while open; defaults to MergedAt when merged
	MergedAt          time.Time // zero unless merged
	MergedBy          string    // default Author
	MergeMethod       string    // "merge" (default), "squash" or "rebase"
	BaseRef           string    // default the repository's default branch
	HeadRef           string    // default "feature-N"
	FromFork          bool      // the head is in the author's fork
	ForkDeleted       bool      // the fork is gone: head.repo is null
	Additions         int       // default 10 per commit
	Deletions         int       // default 3 per commit
	ChangedFiles      int       // default 1 per commit
	Comments          int       // default the number of "commented" events
	ReviewComments    int
	Commits           []PRCommit // default one commit by Author at CreatedAt
	Events            []Event    // timeline events besides "committed"

	ID             int64  // set by the server
	HeadSHA        string // set by the server
	BaseSHA        string // set by the server: the base branch head when the pull request was opened
	MergeCommitSHA string // set by the server when merged
}

// PRCommit is one commit of a pull request, shown as a "committed" timeline event.
type PRCommit struct {
	Author      string    // default the pull request's author
	AuthorEmail string    // default "<author>@users.noreply.github.com"
	AuthorDate  time.Time // default the pull request's CreatedAt
	CommitDate  time.Time // default AuthorDate
	Message     string    // default the title for the first commit, "Change N" after
	SHA         string    // set by the server
}

// Event is a timeline event of a pull request: Kind is GitHub's event name,
// "reviewed", "ready_for_review", "convert_to_draft", "labeled", "unlabeled",
// "commented", "review_requested", "head_ref_force_pushed", "merged", "closed",
// "reopened" or any other (shown with the generic issue-event fields).
type Event struct {
	Kind       string
	Actor      string // login, default the pull request's author
	ActorIsBot bool
	At         time.Time // created_at, or submitted_at for "reviewed"
	State      string    // "reviewed": approved, commented, changes_requested or dismissed (any case)
	Body       string    // "reviewed" and "commented"
	Label      string    // "labeled" and "unlabeled"
	Reviewer   string    // "review_requested" and "review_request_removed"
	CommitID   string    // "reviewed": default the head at At; "merged": default the merge commit
	ID         int64     // set by the server
}

// Deployment describes a deployment for AddDeployment.
type Deployment struct {
	ID                    int64  // set by the server
	SHA                   string // default the head of Ref
	Ref                   string // default the default branch
	Task                  string // default "deploy"
	Environment           string // default "production"
	OriginalEnvironment   string // default Environment
	Description           string
	Payload               map[string]any
	Creator               string // default "octocat"
	CreatorIsBot          bool
	CreatedAt             time.Time // default the server clock
	UpdatedAt             time.Time // default the latest status, or CreatedAt
	TransientEnvironment  bool
	ProductionEnvironment *bool // default true for "production", as documented
	Statuses              []DeploymentStatus
}

// DeploymentStatus describes a deployment status: State is "error", "failure",
// "inactive", "pending", "success", "queued" or "in_progress".
type DeploymentStatus struct {
	ID             int64 // set by the server
	State          string
	Description    string
	Creator        string // default the deployment's creator
	CreatorIsBot   bool
	Environment    string // default the deployment's environment
	TargetURL      string
	LogURL         string
	EnvironmentURL string
	At             time.Time // created_at, default the server clock
	UpdatedAt      time.Time // default At
}

// Workflow describes a GitHub Actions workflow for AddWorkflow.
type Workflow struct {
	ID        int64  // set by the server
	Name      string // default the file name
	Path      string // ".github/workflows/deploy.yml"
	State     string // default "active"
	CreatedAt time.Time
	UpdatedAt time.Time
}

// WorkflowRun describes a workflow run for AddWorkflowRun.
type WorkflowRun struct {
	ID              int64  // set by the server
	Workflow        string // the workflow's path, file name or name
	WorkflowID      int64  // or its id
	Name            string // default the workflow's name
	HeadBranch      string // default the default branch; a tag's name for a run on a tag push
	HeadSHA         string // default the commit HeadBranch names
	Event           string // default "push"
	Status          string // "queued", "in_progress", "completed" (default), ...
	Conclusion      string // default "success" when completed; null otherwise
	RunNumber       int    // default the workflow's next number
	RunAttempt      int    // default 1
	RunStartedAt    time.Time
	CreatedAt       time.Time // default the server clock
	UpdatedAt       time.Time // default RunStartedAt or CreatedAt
	Actor           string    // login, default "octocat"
	TriggeringActor string    // default Actor
	DisplayTitle    string    // default the head commit's subject
}

// Release describes a release for AddRelease; its tag is created on TargetCommitish.
type Release struct {
	ID              int64 // set by the server
	TagName         string
	TargetCommitish string // default the default branch
	Name            string // default TagName
	Body            string
	Draft           bool
	Prerelease      bool
	CreatedAt       time.Time // default the server clock
	PublishedAt     time.Time // default CreatedAt; null for a draft
	Author          string    // default "octocat"
}

// Repo is a repository of the fake server; its methods add history to it and are
// safe to call while the server answers requests.
type Repo struct {
	s          *Server
	id         int64
	info       Repository
	autoPushed bool

	commits  map[string]*commit
	branches map[string]string
	tags     map[string]string
	labels   map[string]int64
	seq      int

	pulls       map[int]*pullState
	nextNumber  int
	deployments []*deploymentState
	workflows   []*Workflow
	runs        []*WorkflowRun
	releases    []*Release
}

type commit struct {
	sha            string
	parents        []string
	tree           string
	message        string
	author         string
	authorEmail    string
	authorDate     time.Time
	committer      string
	committerEmail string
	commitDate     time.Time
	gen            int // 1 + the largest parent generation
}

type pullState struct {
	repo       *Repo
	pr         PullRequest
	forkRepoID int64
	autoIDs    map[string]int64 // ids of events the server adds: "merged", "closed", "labeled:<name>"
}

type deploymentState struct {
	d Deployment
}

// fatal reports a misuse of the builder API from the test's goroutine.
func (s *Server) fatal(err error) {
	if err != nil {
		s.t.Helper()
		s.t.Fatalf("githubtest: %v", err)
	}
}

// AddRepo adds a repository with its default branch; the owner is an organisation
// created on first use.
func (s *Server) AddRepo(owner, name, defaultBranch string) *Repo {
	s.t.Helper()
	return s.AddRepository(Repository{Owner: owner, Name: name, DefaultBranch: defaultBranch})
}

// AddRepository adds a repository described in full.
func (s *Server) AddRepository(info Repository) *Repo {
	s.t.Helper()
	var r *Repo
	s.fatal(func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		var err error
		r, err = s.addRepo(info)
		return err
	}())
	return r
}

func (s *Server) addRepo(info Repository) (*Repo, error) {
	if info.Owner == "" || info.Name == "" {
		return nil, fmt.Errorf("a repository needs an owner and a name")
	}
	key := strings.ToLower(info.Owner + "/" + info.Name)
	if _, ok := s.repos[key]; ok {
		return nil, fmt.Errorf("repository %s/%s added twice", info.Owner, info.Name)
	}
	if info.DefaultBranch == "" {
		info.DefaultBranch = "main"
	}
	if info.CreatedAt.IsZero() {
		info.CreatedAt = defaultEpoch
	}
	s.account(info.Owner, "Organization")
	s.owners[strings.ToLower(info.Owner)] = true
	r := &Repo{
		s:          s,
		id:         s.id(),
		info:       info,
		autoPushed: info.PushedAt.IsZero(),
		commits:    map[string]*commit{},
		branches:   map[string]string{},
		tags:       map[string]string{},
		labels:     map[string]int64{},
		pulls:      map[int]*pullState{},
		nextNumber: 1,
	}
	if r.autoPushed {
		r.info.PushedAt = info.CreatedAt
	}
	s.repos[key] = r
	s.repoOrder = append(s.repoOrder, r)
	return r, nil
}

// Repo returns the repository owner/name, or nil.
func (s *Server) Repo(owner, name string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repos[strings.ToLower(owner+"/"+name)]
}

// FullName returns "owner/name".
func (r *Repo) FullName() string {
	return r.info.Owner + "/" + r.info.Name
}

// updatedAt is the repository's updated_at.
func (r *Repo) updatedAt() time.Time {
	if !r.info.UpdatedAt.IsZero() {
		return r.info.UpdatedAt
	}
	return latest(r.info.CreatedAt, r.info.PushedAt)
}

// do runs fn under the server lock and fails the test with its error.
func (r *Repo) do(fn func() error) {
	r.s.t.Helper()
	r.s.fatal(func() error {
		r.s.mu.Lock()
		defer r.s.mu.Unlock()
		return fn()
	}())
}

// Commit appends a commit by author at the given time to branch and returns its SHA.
// A branch that does not exist yet starts from the default branch's head.
func (r *Repo) Commit(branch, author string, at time.Time) string {
	r.s.t.Helper()
	return r.AddCommit(branch, Commit{Author: author, AuthorDate: at})
}

// AddCommit appends a commit described in full to branch and returns its SHA.
func (r *Repo) AddCommit(branch string, c Commit) string {
	r.s.t.Helper()
	var sha string
	r.do(func() error {
		var parents []string
		if head, ok := r.branches[branch]; ok {
			parents = []string{head}
		} else if head, ok := r.branches[r.info.DefaultBranch]; ok {
			parents = []string{head}
		}
		sha = r.newCommit(c, parents).sha
		r.branches[branch] = sha
		return nil
	})
	return sha
}

// Orphan starts branch with a root commit of its own, as git checkout --orphan does:
// it shares no history with the other branches until merged into one. It returns
// the commit's SHA.
func (r *Repo) Orphan(branch, author string, at time.Time) string {
	r.s.t.Helper()
	var sha string
	r.do(func() error {
		sha = r.newCommit(Commit{Author: author, AuthorDate: at}, nil).sha
		r.branches[branch] = sha
		return nil
	})
	return sha
}

// Merge records a merge commit of from (a branch, tag or SHA) into the branch into
// and returns its SHA.
func (r *Repo) Merge(into, from, author string, at time.Time) string {
	r.s.t.Helper()
	var sha string
	r.do(func() error {
		head, ok := r.branches[into]
		if !ok {
			return fmt.Errorf("%s: no branch %q", r.FullName(), into)
		}
		other := r.resolve(from)
		if other == "" {
			return fmt.Errorf("%s: unknown ref %q", r.FullName(), from)
		}
		sha = r.newCommit(Commit{Message: fmt.Sprintf("Merge branch '%s' into %s", from, into), Author: author, AuthorDate: at}, []string{head, other}).sha
		r.branches[into] = sha
		return nil
	})
	return sha
}

// Branch points the branch name at from (a branch, tag or SHA) and returns name.
func (r *Repo) Branch(name, from string) string {
	r.s.t.Helper()
	r.do(func() error {
		sha := r.resolve(from)
		if sha == "" {
			return fmt.Errorf("%s: unknown ref %q", r.FullName(), from)
		}
		r.branches[name] = sha
		return nil
	})
	return name
}

// Tag points the tag name at target (a branch, tag or SHA).
func (r *Repo) Tag(name, target string) {
	r.s.t.Helper()
	r.do(func() error {
		sha := r.resolve(target)
		if sha == "" {
			return fmt.Errorf("%s: unknown ref %q", r.FullName(), target)
		}
		r.tags[name] = sha
		return nil
	})
}

// Head returns the SHA a branch, tag or (abbreviated) SHA names, or "".
func (r *Repo) Head(ref string) string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.resolve(ref)
}

// resolve finds the commit a branch, tag, full SHA or unique abbreviated SHA (7 or more
// hex digits) names.
func (r *Repo) resolve(ref string) string {
	if sha, ok := r.branches[ref]; ok {
		return sha
	}
	if sha, ok := r.tags[ref]; ok {
		return sha
	}
	if _, ok := r.commits[ref]; ok {
		return ref
	}
	if len(ref) >= 7 && len(ref) < 40 && isHex(ref) {
		found := ""
		for sha := range r.commits {
			if strings.HasPrefix(sha, ref) {
				if found != "" {
					return ""
				}
				found = sha
			}
		}
		return found
	}
	return ""
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// newCommit stores a commit with the given parents, filling defaults; its SHA is
// derived from the repository, a sequence number and the commit's content.
func (r *Repo) newCommit(c Commit, parents []string) *commit {
	r.seq++
	if c.Author == "" {
		c.Author = "octocat"
	}
	if c.AuthorEmail == "" {
		c.AuthorEmail = noreply(c.Author)
	}
	if c.AuthorDate.IsZero() {
		c.AuthorDate = r.s.now()
	}
	if c.Committer == "" {
		c.Committer = c.Author
		if c.CommitterEmail == "" {
			c.CommitterEmail = c.AuthorEmail
		}
	}
	if c.CommitterEmail == "" {
		c.CommitterEmail = noreply(c.Committer)
	}
	if c.CommitDate.IsZero() {
		c.CommitDate = c.AuthorDate
	}
	if c.Message == "" {
		c.Message = fmt.Sprintf("Change %d", r.seq)
	}
	h := sha1.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%s\x00%d\x00%s\x00%d", r.FullName(), r.seq, strings.Join(parents, ","), c.Message,
		c.Author, c.AuthorDate.Unix(), c.Committer, c.CommitDate.Unix())
	sha := hex.EncodeToString(h.Sum(nil))
	tree := sha1.Sum([]byte("tree " + sha))
	gen := 1
	for _, p := range parents {
		if pc := r.commits[p]; pc != nil && pc.gen+1 > gen {
			gen = pc.gen + 1
		}
	}
	cm := &commit{
		sha: sha, parents: parents, tree: hex.EncodeToString(tree[:]), message: c.Message,
		author: c.Author, authorEmail: c.AuthorEmail, authorDate: c.AuthorDate,
		committer: c.Committer, committerEmail: c.CommitterEmail, commitDate: c.CommitDate, gen: gen,
	}
	r.commits[sha] = cm
	if r.autoPushed && cm.commitDate.After(r.info.PushedAt) {
		r.info.PushedAt = cm.commitDate
	}
	return cm
}

func noreply(login string) string {
	return strings.ToLower(strings.ReplaceAll(login, " ", ".")) + "@users.noreply.github.com"
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

func botLogin(login string, bot bool) string {
	if bot && !strings.HasSuffix(login, "[bot]") {
		return login + "[bot]"
	}
	return login
}

// AddPullRequest adds a pull request: its commits go on a head branch started from
// the base branch's head, and a merged one is merged into the base branch (a merge
// commit, a squash commit dated MergedAt, or rebased commits). It returns the pull
// request with the fields the server sets.
func (r *Repo) AddPullRequest(pr PullRequest) PullRequest {
	r.s.t.Helper()
	var out PullRequest
	r.do(func() error {
		ps, err := r.addPull(pr)
		if err != nil {
			return err
		}
		out = clonePull(ps.pr)
		return nil
	})
	return out
}

func (r *Repo) addPull(pr PullRequest) (*pullState, error) {
	if pr.Number == 0 {
		pr.Number = r.nextNumber
	}
	if _, ok := r.pulls[pr.Number]; ok {
		return nil, fmt.Errorf("%s: pull request #%d added twice", r.FullName(), pr.Number)
	}
	r.nextNumber = max(r.nextNumber, pr.Number+1)
	if pr.Author == "" {
		pr.Author = "octocat"
	}
	pr.Author = botLogin(pr.Author, pr.AuthorIsBot)
	if pr.Title == "" {
		pr.Title = fmt.Sprintf("Pull request %d", pr.Number)
	}
	if pr.CreatedAt.IsZero() {
		pr.CreatedAt = r.s.now()
	}
	if pr.BaseRef == "" {
		pr.BaseRef = r.info.DefaultBranch
	}
	if pr.HeadRef == "" {
		pr.HeadRef = fmt.Sprintf("feature-%d", pr.Number)
	}
	if pr.AuthorAssociation == "" {
		switch {
		case pr.AuthorIsBot:
			pr.AuthorAssociation = "NONE"
		case pr.FromFork:
			pr.AuthorAssociation = "CONTRIBUTOR"
		default:
			pr.AuthorAssociation = "MEMBER"
		}
	}
	if pr.ForkDeleted {
		pr.FromFork = true
	}
	base, ok := r.branches[pr.BaseRef]
	if !ok {
		if pr.BaseRef != r.info.DefaultBranch {
			return nil, fmt.Errorf("%s: pull request #%d: no base branch %q", r.FullName(), pr.Number, pr.BaseRef)
		}
		base = r.newCommit(Commit{Message: "Initial commit", Author: r.info.Owner, AuthorDate: pr.CreatedAt.Add(-24 * time.Hour)}, nil).sha
		r.branches[pr.BaseRef] = base
	}
	pr.BaseSHA = base
	pr.ID = r.s.id()
	pr.HeadSHA = base
	pr.MergeCommitSHA = ""
	if len(pr.Commits) == 0 {
		pr.Commits = []PRCommit{{}}
	}
	pr.Commits = slices.Clone(pr.Commits)
	for i := range pr.Commits {
		r.addPullCommit(&pr, i)
	}
	pr.Labels = slices.Clone(pr.Labels)
	for _, l := range pr.Labels {
		r.label(l)
	}
	ps := &pullState{repo: r, pr: pr, autoIDs: map[string]int64{}}
	if pr.FromFork {
		ps.forkRepoID = r.s.id()
	}
	if err := r.settle(ps, PullRequest{}); err != nil {
		return nil, err
	}
	r.pulls[pr.Number] = ps
	return ps, nil
}

// addPullCommit stores the i-th commit of pr on its head.
func (r *Repo) addPullCommit(pr *PullRequest, i int) {
	c := &pr.Commits[i]
	if c.Author == "" {
		c.Author = pr.Author
	}
	if c.AuthorDate.IsZero() {
		c.AuthorDate = pr.CreatedAt
	}
	if c.Message == "" && i == 0 {
		c.Message = pr.Title
	}
	cm := r.newCommit(Commit{Message: c.Message, Author: c.Author, AuthorEmail: c.AuthorEmail, AuthorDate: c.AuthorDate, CommitDate: c.CommitDate}, []string{pr.HeadSHA})
	c.SHA, c.Message, c.AuthorEmail, c.CommitDate = cm.sha, cm.message, cm.authorEmail, cm.commitDate
	pr.HeadSHA = cm.sha
	if !pr.FromFork {
		r.branches[pr.HeadRef] = cm.sha
	}
}

func (r *Repo) label(name string) int64 {
	if id, ok := r.labels[name]; ok {
		return id
	}
	id := r.s.id()
	r.labels[name] = id
	return id
}

// settle fills the derived fields of a pull request after it was added or changed
// (old is the state before a change, zero when added), merging it when it became merged.
func (r *Repo) settle(ps *pullState, old PullRequest) error {
	pr := &ps.pr
	if !old.MergedAt.IsZero() && !pr.MergedAt.Equal(old.MergedAt) {
		return fmt.Errorf("%s: pull request #%d: a merge cannot be changed or undone", r.FullName(), pr.Number)
	}
	if !pr.MergedAt.IsZero() && pr.ClosedAt.IsZero() {
		pr.ClosedAt = pr.MergedAt
	}
	for i := range pr.Events {
		e := &pr.Events[i]
		if e.Kind == "committed" {
			return fmt.Errorf("%s: pull request #%d: committed events come from Commits, not Events", r.FullName(), pr.Number)
		}
		if e.Kind == "" {
			return fmt.Errorf("%s: pull request #%d: an event without a Kind", r.FullName(), pr.Number)
		}
		if e.ID == 0 {
			e.ID = r.s.id()
		}
		if e.Actor == "" {
			e.Actor = pr.Author
			e.ActorIsBot = pr.AuthorIsBot
		}
		e.Actor = botLogin(e.Actor, e.ActorIsBot)
		e.State = strings.ToLower(e.State)
		if e.Kind == "reviewed" && e.State == "" {
			e.State = "commented"
		}
		if e.At.IsZero() {
			e.At = pr.CreatedAt
		}
		if e.Label != "" {
			r.label(e.Label)
		}
	}
	if old.MergedAt.IsZero() && !pr.MergedAt.IsZero() {
		if pr.MergedBy == "" {
			pr.MergedBy = pr.Author
		}
		if err := r.merge(pr); err != nil {
			return err
		}
	}
	// The events the server adds to the timeline get their ids now, so ids do not
	// depend on when the timeline is first read.
	for _, l := range pr.Labels {
		ps.autoID("labeled:" + l)
	}
	if !pr.MergedAt.IsZero() {
		ps.autoID("merged")
	}
	if !pr.ClosedAt.IsZero() {
		ps.autoID("closed")
	}
	if pr.Additions == 0 && pr.Deletions == 0 && pr.ChangedFiles == 0 {
		pr.Additions, pr.Deletions, pr.ChangedFiles = 10*len(pr.Commits), 3*len(pr.Commits), len(pr.Commits)
	}
	return nil
}

// merge records the merge of pr into its base branch.
func (r *Repo) merge(pr *PullRequest) error {
	base, ok := r.branches[pr.BaseRef]
	if !ok {
		base = pr.BaseSHA
	}
	gh := Commit{Committer: "GitHub", CommitterEmail: "noreply@github.com", CommitDate: pr.MergedAt}
	var sha string
	switch pr.MergeMethod {
	case "", "merge":
		pr.MergeMethod = "merge"
		c := gh
		c.Message = fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s", pr.Number, r.headOwner(pr), pr.HeadRef, pr.Title)
		c.Author, c.AuthorDate = pr.MergedBy, pr.MergedAt
		sha = r.newCommit(c, []string{base, pr.HeadSHA}).sha
	case "squash":
		c := gh
		c.Message = fmt.Sprintf("%s (#%d)", pr.Title, pr.Number)
		c.Author, c.AuthorDate = pr.Author, pr.MergedAt
		sha = r.newCommit(c, []string{base}).sha
	case "rebase":
		sha = base
		for _, pc := range pr.Commits {
			c := gh
			c.Message, c.Author, c.AuthorEmail, c.AuthorDate = pc.Message, pc.Author, pc.AuthorEmail, pc.AuthorDate
			sha = r.newCommit(c, []string{sha}).sha
		}
	default:
		return fmt.Errorf("%s: pull request #%d: unknown merge method %q", r.FullName(), pr.Number, pr.MergeMethod)
	}
	r.branches[pr.BaseRef] = sha
	pr.MergeCommitSHA = sha
	return nil
}

func (r *Repo) headOwner(pr *PullRequest) string {
	if pr.FromFork {
		return strings.TrimSuffix(pr.Author, "[bot]")
	}
	return r.info.Owner
}

// lastActivity is the latest time anything happened to a pull request.
func lastActivity(pr *PullRequest) time.Time {
	t := latest(pr.CreatedAt, pr.ClosedAt, pr.MergedAt)
	for _, c := range pr.Commits {
		t = latest(t, c.CommitDate)
	}
	for _, e := range pr.Events {
		t = latest(t, e.At)
	}
	return t
}

// UpdatePullRequest changes a pull request with fn and bumps its updated_at (unless fn
// set it) past both its last activity and the server clock. Commits appended by fn go
// on the head; setting MergedAt merges it; existing commits cannot be changed.
func (r *Repo) UpdatePullRequest(number int, fn func(*PullRequest)) PullRequest {
	r.s.t.Helper()
	// fn runs without the lock, so it may call the server.
	next := r.PullRequest(number)
	fn(&next)
	var out PullRequest
	r.do(func() error {
		ps := r.pulls[number]
		old := clonePull(ps.pr)
		oldUpdated := ps.updated()
		// What the server owns is kept.
		next.Number, next.ID, next.HeadSHA, next.BaseSHA, next.MergeCommitSHA = old.Number, old.ID, old.HeadSHA, old.BaseSHA, old.MergeCommitSHA
		next.Author = botLogin(next.Author, next.AuthorIsBot)
		if len(next.Commits) < len(old.Commits) {
			return fmt.Errorf("%s: pull request #%d: commits can only be appended", r.FullName(), number)
		}
		copy(next.Commits, old.Commits)
		for i := len(old.Commits); i < len(next.Commits); i++ {
			r.addPullCommit(&next, i)
		}
		for _, l := range next.Labels {
			r.label(l)
		}
		ps.pr = next
		if err := r.settle(ps, old); err != nil {
			ps.pr = old
			return err
		}
		if next.UpdatedAt.Equal(old.UpdatedAt) {
			ps.pr.UpdatedAt = latest(r.s.now(), lastActivity(&ps.pr), oldUpdated.Add(time.Second))
		}
		out = clonePull(ps.pr)
		return nil
	})
	return out
}

// PullRequest returns pull request number as the server holds it.
func (r *Repo) PullRequest(number int) PullRequest {
	r.s.t.Helper()
	var out PullRequest
	r.do(func() error {
		ps, ok := r.pulls[number]
		if !ok {
			return fmt.Errorf("%s: no pull request #%d", r.FullName(), number)
		}
		out = clonePull(ps.pr)
		return nil
	})
	return out
}

func clonePull(pr PullRequest) PullRequest {
	pr.Labels = slices.Clone(pr.Labels)
	pr.Commits = slices.Clone(pr.Commits)
	pr.Events = slices.Clone(pr.Events)
	return pr
}

// autoID returns the id of an event the server adds to the timeline, drawing it once.
func (ps *pullState) autoID(key string) int64 {
	id, ok := ps.autoIDs[key]
	if !ok {
		id = ps.repo.s.id()
		ps.autoIDs[key] = id
	}
	return id
}

// updated returns the pull request's updated_at.
func (ps *pullState) updated() time.Time {
	if !ps.pr.UpdatedAt.IsZero() {
		return ps.pr.UpdatedAt
	}
	return lastActivity(&ps.pr)
}

// AddDeployment adds a deployment with its statuses and returns its id.
func (r *Repo) AddDeployment(d Deployment) int64 {
	r.s.t.Helper()
	var id int64
	r.do(func() error {
		var err error
		id, err = r.addDeployment(d)
		return err
	})
	return id
}

func (r *Repo) addDeployment(d Deployment) (int64, error) {
	if d.Ref == "" {
		d.Ref = r.info.DefaultBranch
	}
	if d.SHA == "" {
		d.SHA = r.resolve(d.Ref)
		if d.SHA == "" {
			return 0, fmt.Errorf("%s: deployment of unknown ref %q", r.FullName(), d.Ref)
		}
	}
	if d.Task == "" {
		d.Task = "deploy"
	}
	if d.Environment == "" {
		d.Environment = "production"
	}
	if d.OriginalEnvironment == "" {
		d.OriginalEnvironment = d.Environment
	}
	if d.Creator == "" {
		d.Creator = "octocat"
	}
	d.Creator = botLogin(d.Creator, d.CreatorIsBot)
	if d.CreatedAt.IsZero() {
		d.CreatedAt = r.s.now()
	}
	if d.ProductionEnvironment == nil {
		prod := d.Environment == "production"
		d.ProductionEnvironment = &prod
	}
	d.ID = r.s.id()
	statuses := d.Statuses
	d.Statuses = nil
	ds := &deploymentState{d: d}
	r.deployments = append(r.deployments, ds)
	for _, st := range statuses {
		r.addStatus(ds, st)
	}
	return d.ID, nil
}

// AddDeploymentStatus adds a status to a deployment and returns its id.
func (r *Repo) AddDeploymentStatus(deploymentID int64, st DeploymentStatus) int64 {
	r.s.t.Helper()
	var id int64
	r.do(func() error {
		for _, ds := range r.deployments {
			if ds.d.ID == deploymentID {
				id = r.addStatus(ds, st)
				return nil
			}
		}
		return fmt.Errorf("%s: no deployment %d", r.FullName(), deploymentID)
	})
	return id
}

func (r *Repo) addStatus(ds *deploymentState, st DeploymentStatus) int64 {
	if st.Creator == "" {
		st.Creator = ds.d.Creator
		st.CreatorIsBot = ds.d.CreatorIsBot
	}
	st.Creator = botLogin(st.Creator, st.CreatorIsBot)
	if st.Environment == "" {
		st.Environment = ds.d.Environment
	}
	if st.At.IsZero() {
		st.At = r.s.now()
	}
	if st.UpdatedAt.IsZero() {
		st.UpdatedAt = st.At
	}
	st.ID = r.s.id()
	ds.d.Statuses = append(ds.d.Statuses, st)
	return st.ID
}

func (ds *deploymentState) updated() time.Time {
	if !ds.d.UpdatedAt.IsZero() {
		return ds.d.UpdatedAt
	}
	t := ds.d.CreatedAt
	for _, st := range ds.d.Statuses {
		t = latest(t, st.UpdatedAt)
	}
	return t
}

// AddWorkflow adds a GitHub Actions workflow and returns its id.
func (r *Repo) AddWorkflow(w Workflow) int64 {
	r.s.t.Helper()
	var id int64
	r.do(func() error {
		var err error
		id, err = r.addWorkflow(w)
		return err
	})
	return id
}

func (r *Repo) addWorkflow(w Workflow) (int64, error) {
	if w.Path == "" {
		return 0, fmt.Errorf("%s: a workflow needs a Path", r.FullName())
	}
	if w.Name == "" {
		w.Name = fileName(w.Path)
	}
	if w.State == "" {
		w.State = "active"
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = r.info.CreatedAt
	}
	if w.UpdatedAt.IsZero() {
		w.UpdatedAt = w.CreatedAt
	}
	w.ID = r.s.id()
	r.workflows = append(r.workflows, &w)
	return w.ID, nil
}

func fileName(path string) string {
	return path[strings.LastIndex(path, "/")+1:]
}

// workflow finds a workflow by id, path, file name or name.
func (r *Repo) workflow(id int64, ref string) *Workflow {
	for _, w := range r.workflows {
		if (id != 0 && w.ID == id) || (ref != "" && (w.Path == ref || fileName(w.Path) == ref || w.Name == ref)) {
			return w
		}
	}
	return nil
}

// AddWorkflowRun adds a run of a workflow added before and returns its id.
func (r *Repo) AddWorkflowRun(run WorkflowRun) int64 {
	r.s.t.Helper()
	var id int64
	r.do(func() error {
		var err error
		id, err = r.addRun(run)
		return err
	})
	return id
}

func (r *Repo) addRun(run WorkflowRun) (int64, error) {
	w := r.workflow(run.WorkflowID, run.Workflow)
	if w == nil {
		return 0, fmt.Errorf("%s: no workflow %q (id %d)", r.FullName(), run.Workflow, run.WorkflowID)
	}
	run.WorkflowID, run.Workflow = w.ID, w.Path
	if run.Name == "" {
		run.Name = w.Name
	}
	if run.HeadBranch == "" {
		run.HeadBranch = r.info.DefaultBranch
	}
	if run.HeadSHA == "" {
		run.HeadSHA = r.resolve(run.HeadBranch)
		if run.HeadSHA == "" {
			return 0, fmt.Errorf("%s: workflow run on unknown branch %q", r.FullName(), run.HeadBranch)
		}
	}
	if run.Event == "" {
		run.Event = "push"
	}
	if run.Status == "" {
		run.Status = "completed"
	}
	if run.Status == "completed" && run.Conclusion == "" {
		run.Conclusion = "success"
	}
	if run.RunNumber == 0 {
		for _, other := range r.runs {
			if other.WorkflowID == w.ID {
				run.RunNumber = max(run.RunNumber, other.RunNumber)
			}
		}
		run.RunNumber++
	}
	if run.RunAttempt == 0 {
		run.RunAttempt = 1
	}
	if run.CreatedAt.IsZero() {
		run.CreatedAt = r.s.now()
	}
	if run.RunStartedAt.IsZero() {
		run.RunStartedAt = run.CreatedAt
	}
	if run.UpdatedAt.IsZero() {
		run.UpdatedAt = latest(run.CreatedAt, run.RunStartedAt)
	}
	if run.Actor == "" {
		run.Actor = "octocat"
	}
	if run.TriggeringActor == "" {
		run.TriggeringActor = run.Actor
	}
	if run.DisplayTitle == "" {
		if c := r.commits[run.HeadSHA]; c != nil {
			run.DisplayTitle, _, _ = strings.Cut(c.message, "\n")
		} else {
			run.DisplayTitle = run.Name
		}
	}
	run.ID = r.s.id()
	r.runs = append(r.runs, &run)
	return run.ID, nil
}

// AddRelease adds a release, tagging TargetCommitish when the tag does not exist, and
// returns its id.
func (r *Repo) AddRelease(rel Release) int64 {
	r.s.t.Helper()
	var id int64
	r.do(func() error {
		if rel.TagName == "" {
			return fmt.Errorf("%s: a release needs a TagName", r.FullName())
		}
		if rel.TargetCommitish == "" {
			rel.TargetCommitish = r.info.DefaultBranch
		}
		if rel.Name == "" {
			rel.Name = rel.TagName
		}
		if rel.Author == "" {
			rel.Author = "octocat"
		}
		if rel.CreatedAt.IsZero() {
			rel.CreatedAt = r.s.now()
		}
		if rel.PublishedAt.IsZero() && !rel.Draft {
			rel.PublishedAt = rel.CreatedAt
		}
		if _, ok := r.tags[rel.TagName]; !ok {
			if sha := r.resolve(rel.TargetCommitish); sha != "" {
				r.tags[rel.TagName] = sha
			}
		}
		rel.ID = r.s.id()
		id = rel.ID
		r.releases = append(r.releases, &rel)
		return nil
	})
	return id
}
