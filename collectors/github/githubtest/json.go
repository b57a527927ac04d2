package githubtest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// The JSON shapes below follow GitHub's REST reference (the schemas "simple-user",
// "repository", "pull-request-simple", "pull-request", the timeline event schemas,
// "deployment", "deployment-status", "workflow", "workflow-run", "release",
// "commit-comparison", "commit" and "rate-limit-overview"). They are written from the
// documentation, not from any client's types.

// ts formats a timestamp as GitHub does: RFC 3339 in UTC, whole seconds.
func ts(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// tsOrNull is ts, or null for the zero time.
func tsOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

func strOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nodeID makes a stable GraphQL node id in GitHub's legacy form.
func nodeID(kind string, id int64) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%03d:%s%d", len(kind), kind, id))
}

func commitNodeID(repoID int64, sha string) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "06:Commit%d:%s", repoID, sha))
}

func (s *Server) api(format string, args ...any) string {
	return s.root + "/api/v3" + fmt.Sprintf(format, args...)
}

func (s *Server) html(format string, args ...any) string {
	return s.root + fmt.Sprintf(format, args...)
}

type jUser struct {
	Login      string `json:"login"`
	ID         int64  `json:"id"`
	NodeID     string `json:"node_id"`
	AvatarURL  string `json:"avatar_url"`
	GravatarID string `json:"gravatar_id"`
	URL        string `json:"url"`
	HTMLURL    string `json:"html_url"`
	Type       string `json:"type"`
	SiteAdmin  bool   `json:"site_admin"`
}

// user renders a login; a login ending in "[bot]" is a Bot.
func (s *Server) user(login string) jUser {
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	a := s.account(login, typ)
	kind := "User"
	if a.typ == "Organization" {
		kind = "Organization"
	}
	return jUser{
		Login:     a.login,
		ID:        a.id,
		NodeID:    nodeID(kind, a.id),
		AvatarURL: s.html("/avatars/u/%d", a.id),
		URL:       s.api("/users/%s", a.login),
		HTMLURL:   s.html("/%s", a.login),
		Type:      a.typ,
	}
}

func (s *Server) userPtr(login string) *jUser {
	if login == "" {
		return nil
	}
	u := s.user(login)
	return &u
}

type jRepo struct {
	ID             int64   `json:"id"`
	NodeID         string  `json:"node_id"`
	Name           string  `json:"name"`
	FullName       string  `json:"full_name"`
	Private        bool    `json:"private"`
	Owner          jUser   `json:"owner"`
	HTMLURL        string  `json:"html_url"`
	Description    *string `json:"description"`
	Fork           bool    `json:"fork"`
	URL            string  `json:"url"`
	PullsURL       string  `json:"pulls_url"`
	DeploymentsURL string  `json:"deployments_url"`
	ReleasesURL    string  `json:"releases_url"`
	CompareURL     string  `json:"compare_url"`
	Archived       bool    `json:"archived"`
	Disabled       bool    `json:"disabled"`
	Visibility     string  `json:"visibility"`
	DefaultBranch  string  `json:"default_branch"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
	PushedAt       *string `json:"pushed_at"`
}

func (s *Server) repoJSON(r *Repo) jRepo {
	full := r.FullName()
	vis := "public"
	if r.info.Private {
		vis = "private"
	}
	return jRepo{
		ID:             r.id,
		NodeID:         nodeID("Repository", r.id),
		Name:           r.info.Name,
		FullName:       full,
		Private:        r.info.Private,
		Owner:          s.user(r.info.Owner),
		HTMLURL:        s.html("/%s", full),
		Description:    strOrNull(r.info.Description),
		Fork:           r.info.Fork,
		URL:            s.api("/repos/%s", full),
		PullsURL:       s.api("/repos/%s/pulls{/number}", full),
		DeploymentsURL: s.api("/repos/%s/deployments", full),
		ReleasesURL:    s.api("/repos/%s/releases{/id}", full),
		CompareURL:     s.api("/repos/%s/compare/{base}...{head}", full),
		Archived:       r.info.Archived,
		Disabled:       r.info.Disabled,
		Visibility:     vis,
		DefaultBranch:  r.info.DefaultBranch,
		CreatedAt:      ts(r.info.CreatedAt),
		UpdatedAt:      ts(r.updatedAt()),
		PushedAt:       tsOrNull(r.info.PushedAt),
	}
}

// forkJSON renders the author's fork that a pull request's head lives in.
func (s *Server) forkJSON(r *Repo, ps *pullState) jRepo {
	owner := strings.TrimSuffix(ps.pr.Author, "[bot]")
	full := owner + "/" + r.info.Name
	return jRepo{
		ID:             ps.forkRepoID,
		NodeID:         nodeID("Repository", ps.forkRepoID),
		Name:           r.info.Name,
		FullName:       full,
		Private:        r.info.Private,
		Owner:          s.user(ps.pr.Author),
		HTMLURL:        s.html("/%s", full),
		Fork:           true,
		URL:            s.api("/repos/%s", full),
		PullsURL:       s.api("/repos/%s/pulls{/number}", full),
		DeploymentsURL: s.api("/repos/%s/deployments", full),
		ReleasesURL:    s.api("/repos/%s/releases{/id}", full),
		CompareURL:     s.api("/repos/%s/compare/{base}...{head}", full),
		Visibility:     "public",
		DefaultBranch:  r.info.DefaultBranch,
		CreatedAt:      ts(ps.pr.CreatedAt.Add(-time.Hour)),
		UpdatedAt:      ts(ps.pr.CreatedAt),
		PushedAt:       tsOrNull(ps.pr.CreatedAt),
	}
}

type jLabel struct {
	ID          int64   `json:"id"`
	NodeID      string  `json:"node_id"`
	URL         string  `json:"url"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Color       string  `json:"color"`
	Default     bool    `json:"default"`
}

func (s *Server) labelJSON(r *Repo, name string) jLabel {
	id := r.label(name)
	sum := sha1.Sum([]byte(name))
	return jLabel{
		ID:     id,
		NodeID: nodeID("Label", id),
		URL:    s.api("/repos/%s/labels/%s", r.FullName(), name),
		Name:   name,
		Color:  hex.EncodeToString(sum[:3]),
	}
}

type jBranch struct {
	Label string `json:"label"`
	Ref   string `json:"ref"`
	SHA   string `json:"sha"`
	User  jUser  `json:"user"`
	Repo  *jRepo `json:"repo"`
}

type jHref struct {
	Href string `json:"href"`
}

type jPullLinks struct {
	Self           jHref `json:"self"`
	HTML           jHref `json:"html"`
	Issue          jHref `json:"issue"`
	Comments       jHref `json:"comments"`
	ReviewComments jHref `json:"review_comments"`
	ReviewComment  jHref `json:"review_comment"`
	Commits        jHref `json:"commits"`
	Statuses       jHref `json:"statuses"`
}

// jPullSimple is the "pull request simple" of the list endpoint: no merged, mergeable,
// comments, commits, additions, deletions or changed_files.
type jPullSimple struct {
	URL                string     `json:"url"`
	ID                 int64      `json:"id"`
	NodeID             string     `json:"node_id"`
	HTMLURL            string     `json:"html_url"`
	DiffURL            string     `json:"diff_url"`
	PatchURL           string     `json:"patch_url"`
	IssueURL           string     `json:"issue_url"`
	CommitsURL         string     `json:"commits_url"`
	ReviewCommentsURL  string     `json:"review_comments_url"`
	ReviewCommentURL   string     `json:"review_comment_url"`
	CommentsURL        string     `json:"comments_url"`
	StatusesURL        string     `json:"statuses_url"`
	Number             int        `json:"number"`
	State              string     `json:"state"`
	Locked             bool       `json:"locked"`
	Title              string     `json:"title"`
	User               jUser      `json:"user"`
	Body               *string    `json:"body"`
	Labels             []jLabel   `json:"labels"`
	Milestone          any        `json:"milestone"`
	ActiveLockReason   *string    `json:"active_lock_reason"`
	CreatedAt          string     `json:"created_at"`
	UpdatedAt          string     `json:"updated_at"`
	ClosedAt           *string    `json:"closed_at"`
	MergedAt           *string    `json:"merged_at"`
	MergeCommitSHA     *string    `json:"merge_commit_sha"`
	Assignee           *jUser     `json:"assignee"`
	Assignees          []jUser    `json:"assignees"`
	RequestedReviewers []jUser    `json:"requested_reviewers"`
	RequestedTeams     []any      `json:"requested_teams"`
	Head               jBranch    `json:"head"`
	Base               jBranch    `json:"base"`
	Links              jPullLinks `json:"_links"`
	AuthorAssociation  string     `json:"author_association"`
	AutoMerge          any        `json:"auto_merge"`
	Draft              bool       `json:"draft"`
}

// jPull is the full "pull request" of the get endpoint.
type jPull struct {
	jPullSimple
	Merged              bool   `json:"merged"`
	Mergeable           *bool  `json:"mergeable"`
	Rebaseable          *bool  `json:"rebaseable"`
	MergeableState      string `json:"mergeable_state"`
	MergedBy            *jUser `json:"merged_by"`
	Comments            int    `json:"comments"`
	ReviewComments      int    `json:"review_comments"`
	MaintainerCanModify bool   `json:"maintainer_can_modify"`
	Commits             int    `json:"commits"`
	Additions           int    `json:"additions"`
	Deletions           int    `json:"deletions"`
	ChangedFiles        int    `json:"changed_files"`
}

func (s *Server) pullSimpleJSON(r *Repo, ps *pullState) jPullSimple {
	pr := &ps.pr
	full := r.FullName()
	self := s.api("/repos/%s/pulls/%d", full, pr.Number)
	htmlURL := s.html("/%s/pull/%d", full, pr.Number)
	issue := s.api("/repos/%s/issues/%d", full, pr.Number)
	state := "open"
	if !pr.ClosedAt.IsZero() {
		state = "closed"
	}
	labels := make([]jLabel, 0, len(pr.Labels))
	for _, l := range pr.Labels {
		labels = append(labels, s.labelJSON(r, l))
	}
	baseRepo := s.repoJSON(r)
	head := jBranch{
		Label: r.info.Owner + ":" + pr.HeadRef,
		Ref:   pr.HeadRef,
		SHA:   pr.HeadSHA,
		User:  s.user(r.info.Owner),
		Repo:  &baseRepo,
	}
	if pr.FromFork {
		head.Label = strings.TrimSuffix(pr.Author, "[bot]") + ":" + pr.HeadRef
		head.User = s.user(pr.Author)
		if pr.ForkDeleted {
			head.Repo = nil
		} else {
			fork := s.forkJSON(r, ps)
			head.Repo = &fork
		}
	}
	return jPullSimple{
		URL:                self,
		ID:                 pr.ID,
		NodeID:             nodeID("PullRequest", pr.ID),
		HTMLURL:            htmlURL,
		DiffURL:            htmlURL + ".diff",
		PatchURL:           htmlURL + ".patch",
		IssueURL:           issue,
		CommitsURL:         self + "/commits",
		ReviewCommentsURL:  self + "/comments",
		ReviewCommentURL:   s.api("/repos/%s/pulls/comments{/number}", full),
		CommentsURL:        issue + "/comments",
		StatusesURL:        s.api("/repos/%s/statuses/%s", full, pr.HeadSHA),
		Number:             pr.Number,
		State:              state,
		Locked:             pr.Locked,
		Title:              pr.Title,
		User:               s.user(pr.Author),
		Body:               strOrNull(pr.Body),
		Labels:             labels,
		CreatedAt:          ts(pr.CreatedAt),
		UpdatedAt:          ts(ps.updated()),
		ClosedAt:           tsOrNull(pr.ClosedAt),
		MergedAt:           tsOrNull(pr.MergedAt),
		MergeCommitSHA:     strOrNull(pr.MergeCommitSHA),
		Assignees:          []jUser{},
		RequestedReviewers: []jUser{},
		RequestedTeams:     []any{},
		Head:               head,
		Base: jBranch{
			Label: r.info.Owner + ":" + pr.BaseRef,
			Ref:   pr.BaseRef,
			SHA:   pr.BaseSHA,
			User:  s.user(r.info.Owner),
			Repo:  &baseRepo,
		},
		Links: jPullLinks{
			Self:           jHref{self},
			HTML:           jHref{htmlURL},
			Issue:          jHref{issue},
			Comments:       jHref{issue + "/comments"},
			ReviewComments: jHref{self + "/comments"},
			ReviewComment:  jHref{s.api("/repos/%s/pulls/comments{/number}", full)},
			Commits:        jHref{self + "/commits"},
			Statuses:       jHref{s.api("/repos/%s/statuses/%s", full, pr.HeadSHA)},
		},
		AuthorAssociation: pr.AuthorAssociation,
		Draft:             pr.Draft,
	}
}

func (s *Server) pullJSON(r *Repo, ps *pullState) jPull {
	pr := &ps.pr
	out := jPull{jPullSimple: s.pullSimpleJSON(r, ps)}
	out.Merged = !pr.MergedAt.IsZero()
	if pr.ClosedAt.IsZero() {
		yes := true
		out.Mergeable, out.Rebaseable = &yes, &yes
		out.MergeableState = "clean"
		if pr.Draft {
			out.MergeableState = "draft"
		}
	} else {
		out.MergeableState = "unknown"
	}
	if out.Merged {
		out.MergedBy = s.userPtr(pr.MergedBy)
	}
	out.Comments = pr.Comments
	if out.Comments == 0 {
		for _, e := range pr.Events {
			if e.Kind == "commented" {
				out.Comments++
			}
		}
	}
	out.ReviewComments = pr.ReviewComments
	out.MaintainerCanModify = pr.FromFork && !pr.ForkDeleted
	out.Commits = len(pr.Commits)
	out.Additions, out.Deletions, out.ChangedFiles = pr.Additions, pr.Deletions, pr.ChangedFiles
	return out
}

// Git identities and commits, as in the timeline's committed events and comparisons.

type jGitActor struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

type jTree struct {
	SHA string `json:"sha"`
	URL string `json:"url"`
}

type jParent struct {
	SHA     string `json:"sha"`
	URL     string `json:"url"`
	HTMLURL string `json:"html_url"`
}

type jVerification struct {
	Verified   bool    `json:"verified"`
	Reason     string  `json:"reason"`
	Signature  *string `json:"signature"`
	Payload    *string `json:"payload"`
	VerifiedAt *string `json:"verified_at"`
}

func (s *Server) parentsJSON(r *Repo, c *commit) []jParent {
	out := make([]jParent, 0, len(c.parents))
	for _, p := range c.parents {
		out = append(out, jParent{SHA: p, URL: s.api("/repos/%s/commits/%s", r.FullName(), p), HTMLURL: s.html("/%s/commit/%s", r.FullName(), p)})
	}
	return out
}

// jGitCommit is the "commit" object inside a commit: git data only.
type jGitCommit struct {
	URL          string        `json:"url"`
	Author       jGitActor     `json:"author"`
	Committer    jGitActor     `json:"committer"`
	Message      string        `json:"message"`
	Tree         jTree         `json:"tree"`
	CommentCount int           `json:"comment_count"`
	Verification jVerification `json:"verification"`
}

// jCommit is the "commit" schema of comparisons.
type jCommit struct {
	URL         string     `json:"url"`
	SHA         string     `json:"sha"`
	NodeID      string     `json:"node_id"`
	HTMLURL     string     `json:"html_url"`
	CommentsURL string     `json:"comments_url"`
	Commit      jGitCommit `json:"commit"`
	Author      *jUser     `json:"author"`
	Committer   *jUser     `json:"committer"`
	Parents     []jParent  `json:"parents"`
}

// knownUser is the GitHub user a git name belongs to, when the server knows it.
func (s *Server) knownUser(name string) *jUser {
	if a, ok := s.users[strings.ToLower(name)]; ok && a.typ != "Organization" {
		u := s.user(a.login)
		return &u
	}
	return nil
}

func (s *Server) commitJSON(r *Repo, c *commit) jCommit {
	full := r.FullName()
	return jCommit{
		URL:         s.api("/repos/%s/commits/%s", full, c.sha),
		SHA:         c.sha,
		NodeID:      commitNodeID(r.id, c.sha),
		HTMLURL:     s.html("/%s/commit/%s", full, c.sha),
		CommentsURL: s.api("/repos/%s/commits/%s/comments", full, c.sha),
		Commit: jGitCommit{
			URL:          s.api("/repos/%s/git/commits/%s", full, c.sha),
			Author:       jGitActor{Name: c.author, Email: c.authorEmail, Date: ts(c.authorDate)},
			Committer:    jGitActor{Name: c.committer, Email: c.committerEmail, Date: ts(c.commitDate)},
			Message:      c.message,
			Tree:         jTree{SHA: c.tree, URL: s.api("/repos/%s/git/trees/%s", full, c.tree)},
			Verification: jVerification{Reason: "unsigned"},
		},
		Author:    s.knownUser(c.author),
		Committer: s.knownUser(c.committer),
		Parents:   s.parentsJSON(r, c),
	}
}

// Timeline events. A committed event has no id, actor or created_at (schema
// "timeline-committed-event"); a reviewed event has the review's fields and
// submitted_at ("timeline-reviewed-event"); a comment has the issue comment's fields
// ("timeline-comment-event"); the rest are issue events with id, actor, event,
// commit_id, commit_url and created_at.

type jCommitted struct {
	Event        string        `json:"event"`
	SHA          string        `json:"sha"`
	NodeID       string        `json:"node_id"`
	URL          string        `json:"url"`
	HTMLURL      string        `json:"html_url"`
	Author       jGitActor     `json:"author"`
	Committer    jGitActor     `json:"committer"`
	Message      string        `json:"message"`
	Tree         jTree         `json:"tree"`
	Parents      []jParent     `json:"parents"`
	Verification jVerification `json:"verification"`
}

type jReviewLinks struct {
	HTML        jHref `json:"html"`
	PullRequest jHref `json:"pull_request"`
}

type jReviewed struct {
	Event             string       `json:"event"`
	ID                int64        `json:"id"`
	NodeID            string       `json:"node_id"`
	User              jUser        `json:"user"`
	Body              *string      `json:"body"`
	State             string       `json:"state"`
	HTMLURL           string       `json:"html_url"`
	PullRequestURL    string       `json:"pull_request_url"`
	Links             jReviewLinks `json:"_links"`
	SubmittedAt       string       `json:"submitted_at"`
	CommitID          string       `json:"commit_id"`
	AuthorAssociation string       `json:"author_association"`
}

type jCommented struct {
	Event                 string `json:"event"`
	Actor                 jUser  `json:"actor"`
	ID                    int64  `json:"id"`
	NodeID                string `json:"node_id"`
	URL                   string `json:"url"`
	HTMLURL               string `json:"html_url"`
	IssueURL              string `json:"issue_url"`
	User                  jUser  `json:"user"`
	Body                  string `json:"body"`
	CreatedAt             string `json:"created_at"`
	UpdatedAt             string `json:"updated_at"`
	AuthorAssociation     string `json:"author_association"`
	PerformedViaGithubApp any    `json:"performed_via_github_app"`
}

type jLabelRef struct {
	Name  string `json:"name"`
	Color string `json:"color"`
}

type jIssueEvent struct {
	ID                    int64      `json:"id"`
	NodeID                string     `json:"node_id"`
	URL                   string     `json:"url"`
	Actor                 jUser      `json:"actor"`
	Event                 string     `json:"event"`
	CommitID              *string    `json:"commit_id"`
	CommitURL             *string    `json:"commit_url"`
	CreatedAt             string     `json:"created_at"`
	PerformedViaGithubApp any        `json:"performed_via_github_app"`
	Label                 *jLabelRef `json:"label,omitempty"`
	ReviewRequester       *jUser     `json:"review_requester,omitempty"`
	RequestedReviewer     *jUser     `json:"requested_reviewer,omitempty"`
	Assignee              *jUser     `json:"assignee,omitempty"`
	Assigner              *jUser     `json:"assigner,omitempty"`
}

type jDeployment struct {
	URL                   string         `json:"url"`
	ID                    int64          `json:"id"`
	NodeID                string         `json:"node_id"`
	SHA                   string         `json:"sha"`
	Ref                   string         `json:"ref"`
	Task                  string         `json:"task"`
	Payload               map[string]any `json:"payload"`
	OriginalEnvironment   string         `json:"original_environment"`
	Environment           string         `json:"environment"`
	Description           *string        `json:"description"`
	Creator               jUser          `json:"creator"`
	CreatedAt             string         `json:"created_at"`
	UpdatedAt             string         `json:"updated_at"`
	StatusesURL           string         `json:"statuses_url"`
	RepositoryURL         string         `json:"repository_url"`
	TransientEnvironment  bool           `json:"transient_environment"`
	ProductionEnvironment bool           `json:"production_environment"`
	PerformedViaGithubApp any            `json:"performed_via_github_app"`
}

func (s *Server) deploymentJSON(r *Repo, ds *deploymentState) jDeployment {
	d := &ds.d
	payload := d.Payload
	if payload == nil {
		payload = map[string]any{}
	}
	self := s.api("/repos/%s/deployments/%d", r.FullName(), d.ID)
	return jDeployment{
		URL:                   self,
		ID:                    d.ID,
		NodeID:                nodeID("Deployment", d.ID),
		SHA:                   d.SHA,
		Ref:                   d.Ref,
		Task:                  d.Task,
		Payload:               payload,
		OriginalEnvironment:   d.OriginalEnvironment,
		Environment:           d.Environment,
		Description:           strOrNull(d.Description),
		Creator:               s.user(d.Creator),
		CreatedAt:             ts(d.CreatedAt),
		UpdatedAt:             ts(ds.updated()),
		StatusesURL:           self + "/statuses",
		RepositoryURL:         s.api("/repos/%s", r.FullName()),
		TransientEnvironment:  d.TransientEnvironment,
		ProductionEnvironment: *d.ProductionEnvironment,
	}
}

type jDeploymentStatus struct {
	URL                   string `json:"url"`
	ID                    int64  `json:"id"`
	NodeID                string `json:"node_id"`
	State                 string `json:"state"`
	Creator               jUser  `json:"creator"`
	Description           string `json:"description"`
	Environment           string `json:"environment"`
	TargetURL             string `json:"target_url"`
	CreatedAt             string `json:"created_at"`
	UpdatedAt             string `json:"updated_at"`
	DeploymentURL         string `json:"deployment_url"`
	RepositoryURL         string `json:"repository_url"`
	EnvironmentURL        string `json:"environment_url"`
	LogURL                string `json:"log_url"`
	PerformedViaGithubApp any    `json:"performed_via_github_app"`
}

func (s *Server) statusJSON(r *Repo, ds *deploymentState, st *DeploymentStatus) jDeploymentStatus {
	dep := s.api("/repos/%s/deployments/%d", r.FullName(), ds.d.ID)
	return jDeploymentStatus{
		URL:            fmt.Sprintf("%s/statuses/%d", dep, st.ID),
		ID:             st.ID,
		NodeID:         nodeID("DeploymentStatus", st.ID),
		State:          st.State,
		Creator:        s.user(st.Creator),
		Description:    st.Description,
		Environment:    st.Environment,
		TargetURL:      st.TargetURL,
		CreatedAt:      ts(st.At),
		UpdatedAt:      ts(st.UpdatedAt),
		DeploymentURL:  dep,
		RepositoryURL:  s.api("/repos/%s", r.FullName()),
		EnvironmentURL: st.EnvironmentURL,
		LogURL:         st.LogURL,
	}
}

type jWorkflow struct {
	ID        int64  `json:"id"`
	NodeID    string `json:"node_id"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	State     string `json:"state"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	URL       string `json:"url"`
	HTMLURL   string `json:"html_url"`
	BadgeURL  string `json:"badge_url"`
}

func (s *Server) workflowJSON(r *Repo, w *Workflow) jWorkflow {
	full := r.FullName()
	return jWorkflow{
		ID:        w.ID,
		NodeID:    nodeID("Workflow", w.ID),
		Name:      w.Name,
		Path:      w.Path,
		State:     w.State,
		CreatedAt: ts(w.CreatedAt),
		UpdatedAt: ts(w.UpdatedAt),
		URL:       s.api("/repos/%s/actions/workflows/%d", full, w.ID),
		HTMLURL:   s.html("/%s/blob/%s/%s", full, r.info.DefaultBranch, w.Path),
		BadgeURL:  s.html("/%s/workflows/%s/badge.svg", full, w.Name),
	}
}

type jWorkflowList struct {
	TotalCount int         `json:"total_count"`
	Workflows  []jWorkflow `json:"workflows"`
}

type jSimpleActor struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type jHeadCommit struct {
	ID        string       `json:"id"`
	TreeID    string       `json:"tree_id"`
	Message   string       `json:"message"`
	Timestamp string       `json:"timestamp"`
	Author    jSimpleActor `json:"author"`
	Committer jSimpleActor `json:"committer"`
}

type jMinimalRepo struct {
	ID       int64  `json:"id"`
	NodeID   string `json:"node_id"`
	Name     string `json:"name"`
	FullName string `json:"full_name"`
	Owner    jUser  `json:"owner"`
	Private  bool   `json:"private"`
	HTMLURL  string `json:"html_url"`
	Fork     bool   `json:"fork"`
	URL      string `json:"url"`
}

type jRun struct {
	ID                  int64        `json:"id"`
	Name                string       `json:"name"`
	NodeID              string       `json:"node_id"`
	HeadBranch          string       `json:"head_branch"`
	HeadSHA             string       `json:"head_sha"`
	Path                string       `json:"path"`
	DisplayTitle        string       `json:"display_title"`
	RunNumber           int          `json:"run_number"`
	Event               string       `json:"event"`
	Status              string       `json:"status"`
	Conclusion          *string      `json:"conclusion"`
	WorkflowID          int64        `json:"workflow_id"`
	CheckSuiteID        int64        `json:"check_suite_id"`
	CheckSuiteNodeID    string       `json:"check_suite_node_id"`
	URL                 string       `json:"url"`
	HTMLURL             string       `json:"html_url"`
	PullRequests        []any        `json:"pull_requests"`
	CreatedAt           string       `json:"created_at"`
	UpdatedAt           string       `json:"updated_at"`
	Actor               jUser        `json:"actor"`
	TriggeringActor     jUser        `json:"triggering_actor"`
	RunAttempt          int          `json:"run_attempt"`
	ReferencedWorkflows []any        `json:"referenced_workflows"`
	RunStartedAt        string       `json:"run_started_at"`
	JobsURL             string       `json:"jobs_url"`
	LogsURL             string       `json:"logs_url"`
	CheckSuiteURL       string       `json:"check_suite_url"`
	ArtifactsURL        string       `json:"artifacts_url"`
	CancelURL           string       `json:"cancel_url"`
	RerunURL            string       `json:"rerun_url"`
	PreviousAttemptURL  *string      `json:"previous_attempt_url"`
	WorkflowURL         string       `json:"workflow_url"`
	HeadCommit          *jHeadCommit `json:"head_commit"`
	Repository          jMinimalRepo `json:"repository"`
	HeadRepository      jMinimalRepo `json:"head_repository"`
}

func (s *Server) minimalRepoJSON(r *Repo) jMinimalRepo {
	return jMinimalRepo{
		ID:       r.id,
		NodeID:   nodeID("Repository", r.id),
		Name:     r.info.Name,
		FullName: r.FullName(),
		Owner:    s.user(r.info.Owner),
		Private:  r.info.Private,
		HTMLURL:  s.html("/%s", r.FullName()),
		Fork:     r.info.Fork,
		URL:      s.api("/repos/%s", r.FullName()),
	}
}

func (s *Server) runJSON(r *Repo, run *WorkflowRun) jRun {
	full := r.FullName()
	self := s.api("/repos/%s/actions/runs/%d", full, run.ID)
	out := jRun{
		ID:                  run.ID,
		Name:                run.Name,
		NodeID:              nodeID("WorkflowRun", run.ID),
		HeadBranch:          run.HeadBranch,
		HeadSHA:             run.HeadSHA,
		Path:                run.Workflow,
		DisplayTitle:        run.DisplayTitle,
		RunNumber:           run.RunNumber,
		Event:               run.Event,
		Status:              run.Status,
		Conclusion:          strOrNull(run.Conclusion),
		WorkflowID:          run.WorkflowID,
		CheckSuiteID:        run.ID + 1_000_000,
		CheckSuiteNodeID:    nodeID("CheckSuite", run.ID+1_000_000),
		URL:                 self,
		HTMLURL:             s.html("/%s/actions/runs/%d", full, run.ID),
		PullRequests:        []any{},
		CreatedAt:           ts(run.CreatedAt),
		UpdatedAt:           ts(run.UpdatedAt),
		Actor:               s.user(run.Actor),
		TriggeringActor:     s.user(run.TriggeringActor),
		RunAttempt:          run.RunAttempt,
		ReferencedWorkflows: []any{},
		RunStartedAt:        ts(run.RunStartedAt),
		JobsURL:             self + "/jobs",
		LogsURL:             self + "/logs",
		CheckSuiteURL:       s.api("/repos/%s/check-suites/%d", full, run.ID+1_000_000),
		ArtifactsURL:        self + "/artifacts",
		CancelURL:           self + "/cancel",
		RerunURL:            self + "/rerun",
		WorkflowURL:         s.api("/repos/%s/actions/workflows/%d", full, run.WorkflowID),
		Repository:          s.minimalRepoJSON(r),
		HeadRepository:      s.minimalRepoJSON(r),
	}
	if run.RunAttempt > 1 {
		prev := fmt.Sprintf("%s/attempts/%d", self, run.RunAttempt-1)
		out.PreviousAttemptURL = &prev
	}
	if c := r.commits[run.HeadSHA]; c != nil {
		out.HeadCommit = &jHeadCommit{
			ID:        c.sha,
			TreeID:    c.tree,
			Message:   c.message,
			Timestamp: ts(c.commitDate),
			Author:    jSimpleActor{Name: c.author, Email: c.authorEmail},
			Committer: jSimpleActor{Name: c.committer, Email: c.committerEmail},
		}
	}
	return out
}

// jRef is a git reference; a lightweight tag, as the fake makes them, points at a
// commit.
type jRef struct {
	Ref    string     `json:"ref"`
	NodeID string     `json:"node_id"`
	URL    string     `json:"url"`
	Object jGitObject `json:"object"`
}

type jGitObject struct {
	Type string `json:"type"`
	SHA  string `json:"sha"`
	URL  string `json:"url"`
}

type jRunList struct {
	TotalCount   int    `json:"total_count"`
	WorkflowRuns []jRun `json:"workflow_runs"`
}

type jRelease struct {
	URL             string  `json:"url"`
	HTMLURL         string  `json:"html_url"`
	AssetsURL       string  `json:"assets_url"`
	UploadURL       string  `json:"upload_url"`
	TarballURL      *string `json:"tarball_url"`
	ZipballURL      *string `json:"zipball_url"`
	ID              int64   `json:"id"`
	NodeID          string  `json:"node_id"`
	TagName         string  `json:"tag_name"`
	TargetCommitish string  `json:"target_commitish"`
	Name            *string `json:"name"`
	Body            *string `json:"body"`
	Draft           bool    `json:"draft"`
	Prerelease      bool    `json:"prerelease"`
	CreatedAt       string  `json:"created_at"`
	PublishedAt     *string `json:"published_at"`
	Author          jUser   `json:"author"`
	Assets          []any   `json:"assets"`
}

func (s *Server) releaseJSON(r *Repo, rel *Release) jRelease {
	full := r.FullName()
	self := s.api("/repos/%s/releases/%d", full, rel.ID)
	tarball := s.api("/repos/%s/tarball/%s", full, rel.TagName)
	zipball := s.api("/repos/%s/zipball/%s", full, rel.TagName)
	return jRelease{
		URL:             self,
		HTMLURL:         s.html("/%s/releases/tag/%s", full, rel.TagName),
		AssetsURL:       self + "/assets",
		UploadURL:       s.root + "/api/uploads/repos/" + full + fmt.Sprintf("/releases/%d/assets{?name,label}", rel.ID),
		TarballURL:      &tarball,
		ZipballURL:      &zipball,
		ID:              rel.ID,
		NodeID:          nodeID("Release", rel.ID),
		TagName:         rel.TagName,
		TargetCommitish: rel.TargetCommitish,
		Name:            strOrNull(rel.Name),
		Body:            strOrNull(rel.Body),
		Draft:           rel.Draft,
		Prerelease:      rel.Prerelease,
		CreatedAt:       ts(rel.CreatedAt),
		PublishedAt:     tsOrNull(rel.PublishedAt),
		Author:          s.user(rel.Author),
		Assets:          []any{},
	}
}

type jComparison struct {
	URL             string    `json:"url"`
	HTMLURL         string    `json:"html_url"`
	PermalinkURL    string    `json:"permalink_url"`
	DiffURL         string    `json:"diff_url"`
	PatchURL        string    `json:"patch_url"`
	BaseCommit      jCommit   `json:"base_commit"`
	MergeBaseCommit jCommit   `json:"merge_base_commit"`
	Status          string    `json:"status"`
	AheadBy         int       `json:"ahead_by"`
	BehindBy        int       `json:"behind_by"`
	TotalCommits    int       `json:"total_commits"`
	Commits         []jCommit `json:"commits"`
	Files           []any     `json:"files"`
}

type jRate struct {
	Limit     int   `json:"limit"`
	Used      int   `json:"used"`
	Remaining int   `json:"remaining"`
	Reset     int64 `json:"reset"`
}

type jRateLimit struct {
	Resources map[string]jRate `json:"resources"`
	Rate      jRate            `json:"rate"`
}
