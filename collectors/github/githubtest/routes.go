package githubtest

import (
	"cmp"
	"container/heap"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// route is a parsed request path.
type route struct {
	kind   string // the endpoint kind counted by Count
	org    string
	owner  string
	repo   string
	number int    // pull request number or deployment id
	ref    string // workflow id or file name; "heads/<branch>" or "tags/<tag>" of a git ref; installation id
	spec   string // "BASE...HEAD" of a comparison
}

// parseRoute maps a path under /api/v3/ to an endpoint.
func parseRoute(r *http.Request) route {
	escaped := r.URL.EscapedPath()
	if escaped == graphqlPath {
		return route{kind: "graphql"}
	}
	if !strings.HasPrefix(escaped, apiPrefix) {
		return route{kind: "unknown"}
	}
	raw := strings.Split(strings.TrimSuffix(strings.TrimPrefix(escaped, apiPrefix), "/"), "/")
	seg := make([]string, len(raw))
	for i, p := range raw {
		u, err := url.PathUnescape(p)
		if err != nil {
			return route{kind: "unknown"}
		}
		seg[i] = u
	}
	n := len(seg)
	switch {
	case n == 1 && seg[0] == "rate_limit":
		return route{kind: "rate_limit"}
	case n == 3 && seg[0] == "orgs" && seg[2] == "repos":
		return route{kind: "repos", org: seg[1]}
	case n == 4 && seg[0] == "app" && seg[1] == "installations" && seg[3] == "access_tokens":
		return route{kind: "app.access_tokens", ref: seg[2]}
	case n < 3 || seg[0] != "repos":
		return route{kind: "unknown"}
	}
	rt := route{kind: "unknown", owner: seg[1], repo: seg[2]}
	rest := seg[3:]
	num := func(s string) bool {
		v, err := strconv.Atoi(s)
		rt.number = v
		return err == nil && v > 0
	}
	switch {
	case len(rest) == 0:
		rt.kind = "repo"
	case len(rest) == 1 && rest[0] == "pulls":
		rt.kind = "pulls.list"
	case len(rest) == 2 && rest[0] == "pulls" && num(rest[1]):
		rt.kind = "pulls.get"
	case len(rest) == 3 && rest[0] == "issues" && rest[2] == "timeline" && num(rest[1]):
		rt.kind = "timeline"
	case len(rest) == 1 && rest[0] == "deployments":
		rt.kind = "deployments"
	case len(rest) == 2 && rest[0] == "deployments" && num(rest[1]):
		rt.kind = "deployment"
	case len(rest) == 3 && rest[0] == "deployments" && rest[2] == "statuses" && num(rest[1]):
		rt.kind = "statuses"
	case len(rest) == 2 && rest[0] == "actions" && rest[1] == "workflows":
		rt.kind = "workflows"
	case len(rest) == 3 && rest[0] == "actions" && rest[1] == "workflows":
		rt.kind, rt.ref = "workflow", rest[2]
	case len(rest) == 4 && rest[0] == "actions" && rest[1] == "workflows" && rest[3] == "runs":
		rt.kind, rt.ref = "runs", rest[2]
	case len(rest) == 1 && rest[0] == "releases":
		rt.kind = "releases"
	case len(rest) >= 3 && rest[0] == "git" && rest[1] == "ref":
		// A branch or tag name may hold "/".
		rt.kind, rt.ref = "ref", strings.Join(rest[2:], "/")
	case len(rest) >= 2 && rest[0] == "compare":
		// A ref may hold "/" (escaped or not): take everything after "compare/".
		spec, err := url.PathUnescape(strings.Join(raw[4:], "/"))
		if err == nil {
			rt.kind, rt.spec = "compare", spec
		}
	}
	return rt
}

// dispatch answers a request that passed authentication and the rate limits.
func (s *Server) dispatch(r *http.Request, rt route) *response {
	switch rt.kind {
	case "rate_limit":
		return s.rateLimitJSON()
	case "repos":
		return s.listRepos(r, rt.org)
	case "unknown", "":
		return notFound()
	}
	key := strings.ToLower(rt.owner + "/" + rt.repo)
	if s.hidden[key] {
		return notFound()
	}
	if s.forbidden[key] {
		return errorResponse(http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest/repos/repos#get-a-repository")
	}
	repo := s.repos[key]
	if repo == nil {
		return notFound()
	}
	switch rt.kind {
	case "repo":
		return s.jsonResponse(s.repoJSON(repo))
	case "pulls.list":
		return s.listPulls(r, repo)
	case "pulls.get":
		ps := repo.pulls[rt.number]
		if ps == nil {
			return notFound()
		}
		return s.jsonResponse(s.pullJSON(repo, ps))
	case "timeline":
		ps := repo.pulls[rt.number]
		if ps == nil {
			return notFound()
		}
		return listResponse(s, r, s.timeline(repo, ps))
	case "deployments":
		return s.listDeployments(r, repo)
	case "deployment":
		for _, ds := range repo.deployments {
			if ds.d.ID == int64(rt.number) {
				return s.jsonResponse(s.deploymentJSON(repo, ds))
			}
		}
		return notFound()
	case "statuses":
		return s.listStatuses(r, repo, int64(rt.number))
	case "workflows":
		return s.listWorkflows(r, repo)
	case "workflow":
		w := s.findWorkflow(repo, rt.ref)
		if w == nil {
			return notFound()
		}
		return s.jsonResponse(s.workflowJSON(repo, w))
	case "runs":
		return s.listRuns(r, repo, rt.ref)
	case "releases":
		return s.listReleases(r, repo)
	case "ref":
		return s.gitRef(repo, rt.ref)
	case "compare":
		return s.compare(r, repo, rt.spec)
	}
	return notFound()
}

func (s *Server) rateLimitJSON() *response {
	core := jRate{Limit: s.core.limit, Used: s.core.limit - max(s.core.remaining, 0), Remaining: max(s.core.remaining, 0), Reset: s.core.reset.Unix()}
	full := func(limit int, window time.Duration) jRate {
		return jRate{Limit: limit, Remaining: limit, Reset: s.core.reset.Add(window - s.core.window).Unix()}
	}
	return s.jsonResponse(jRateLimit{
		Resources: map[string]jRate{
			"core":                 core,
			"search":               full(30, time.Minute),
			"graphql":              s.graphqlRate(),
			"integration_manifest": full(5000, time.Hour),
			"code_search":          full(10, time.Minute),
		},
		Rate: core,
	})
}

// direction reads "direction", whose default depends on the sort.
func direction(q url.Values, defaultDesc bool) (desc bool, ok bool) {
	switch q.Get("direction") {
	case "":
		return defaultDesc, true
	case "desc":
		return true, true
	case "asc":
		return false, true
	}
	return false, false
}

func validationFailed() *response {
	return errorResponse(http.StatusUnprocessableEntity, "Validation Failed", docREST)
}

// listRepos answers GET /orgs/{org}/repos: type all (default), public, private,
// forks, sources or member; sort created (default), updated, pushed or full_name;
// direction asc for full_name, desc otherwise, by default.
func (s *Server) listRepos(r *http.Request, org string) *response {
	if !s.owners[strings.ToLower(org)] {
		return notFound()
	}
	q := r.URL.Query()
	typ := cmp.Or(q.Get("type"), "all")
	sortBy := cmp.Or(q.Get("sort"), "created")
	desc, ok := direction(q, sortBy != "full_name")
	if !ok {
		return validationFailed()
	}
	var repos []*Repo
	for _, repo := range s.repoOrder {
		if !strings.EqualFold(repo.info.Owner, org) || s.hidden[strings.ToLower(repo.FullName())] {
			continue
		}
		switch typ {
		case "public":
			if repo.info.Private {
				continue
			}
		case "private":
			if !repo.info.Private {
				continue
			}
		case "forks":
			if !repo.info.Fork {
				continue
			}
		case "sources":
			if repo.info.Fork {
				continue
			}
		case "all", "member":
		default:
			return validationFailed()
		}
		repos = append(repos, repo)
	}
	var key func(*Repo) time.Time
	switch sortBy {
	case "created":
		key = func(r *Repo) time.Time { return r.info.CreatedAt }
	case "updated":
		key = (*Repo).updatedAt
	case "pushed":
		key = func(r *Repo) time.Time { return r.info.PushedAt }
	case "full_name":
	default:
		return validationFailed()
	}
	slices.SortStableFunc(repos, func(a, b *Repo) int {
		c := 0
		if key == nil {
			c = strings.Compare(strings.ToLower(a.FullName()), strings.ToLower(b.FullName()))
		} else {
			c = cmp.Or(key(a).Compare(key(b)), cmp.Compare(a.id, b.id))
		}
		if desc {
			return -c
		}
		return c
	})
	out := make([]jRepo, len(repos))
	for i, repo := range repos {
		out[i] = s.repoJSON(repo)
	}
	return listResponse(s, r, out)
}

// listPulls answers GET /repos/{o}/{r}/pulls: state open (default), closed or all;
// head "user:ref"; base; sort created (default), updated, popularity or long-running;
// direction desc for created or no sort, asc otherwise, by default.
func (s *Server) listPulls(r *http.Request, repo *Repo) *response {
	q := r.URL.Query()
	state := cmp.Or(q.Get("state"), "open")
	if state != "open" && state != "closed" && state != "all" {
		return validationFailed()
	}
	sortBy := cmp.Or(q.Get("sort"), "created")
	desc, ok := direction(q, sortBy == "created")
	if !ok {
		return validationFailed()
	}
	head, base := q.Get("head"), q.Get("base")
	now := s.now()
	var pulls []*pullState
	for _, ps := range repo.pulls {
		pr := &ps.pr
		closed := !pr.ClosedAt.IsZero()
		if (state == "open" && closed) || (state == "closed" && !closed) {
			continue
		}
		if base != "" && pr.BaseRef != base {
			continue
		}
		if head != "" {
			user, ref, hasRef := strings.Cut(head, ":")
			owner := repo.info.Owner
			if pr.FromFork {
				owner = strings.TrimSuffix(pr.Author, "[bot]")
			}
			if !strings.EqualFold(user, owner) || (hasRef && ref != pr.HeadRef) {
				continue
			}
		}
		if sortBy == "long-running" && (closed || now.Sub(pr.CreatedAt) < 30*24*time.Hour || now.Sub(ps.updated()) > 30*24*time.Hour) {
			continue
		}
		pulls = append(pulls, ps)
	}
	var key func(*pullState) int64
	switch sortBy {
	case "created", "long-running":
		key = func(ps *pullState) int64 { return ps.pr.CreatedAt.UnixNano() }
	case "updated":
		key = func(ps *pullState) int64 { return ps.updated().UnixNano() }
	case "popularity":
		key = func(ps *pullState) int64 { return int64(s.pullJSON(repo, ps).Comments) }
	default:
		return validationFailed()
	}
	slices.SortFunc(pulls, func(a, b *pullState) int {
		c := cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a.pr.Number, b.pr.Number))
		if desc {
			return -c
		}
		return c
	})
	lo, hi, link := s.pageOf(r, len(pulls))
	out := make([]jPullSimple, 0, hi-lo)
	for _, ps := range pulls[lo:hi] {
		out = append(out, s.pullSimpleJSON(repo, ps))
	}
	resp := s.jsonResponse(out)
	if link != "" {
		resp.header.Set("Link", link)
	}
	return resp
}

// timelineItem is one rendered event with the time it sorts by.
type timelineItem struct {
	at    time.Time
	order int
	v     any
}

// timeline renders a pull request's timeline in time order: its commits as committed
// events, its events, and the labeled, merged and closed events the server adds when
// Events has none of that kind.
func (s *Server) timeline(repo *Repo, ps *pullState) []any {
	pr := &ps.pr
	full := repo.FullName()
	issueURL := s.api("/repos/%s/issues/%d", full, pr.Number)
	pullURL := s.api("/repos/%s/pulls/%d", full, pr.Number)
	var items []timelineItem
	add := func(at time.Time, v any) {
		items = append(items, timelineItem{at: at, order: len(items), v: v})
	}
	for _, pc := range pr.Commits {
		c := repo.commits[pc.SHA]
		add(c.commitDate, jCommitted{
			Event:        "committed",
			SHA:          c.sha,
			NodeID:       commitNodeID(repo.id, c.sha),
			URL:          s.api("/repos/%s/git/commits/%s", full, c.sha),
			HTMLURL:      s.html("/%s/commit/%s", full, c.sha),
			Author:       jGitActor{Name: c.author, Email: c.authorEmail, Date: ts(c.authorDate)},
			Committer:    jGitActor{Name: c.committer, Email: c.committerEmail, Date: ts(c.commitDate)},
			Message:      c.message,
			Tree:         jTree{SHA: c.tree, URL: s.api("/repos/%s/git/trees/%s", full, c.tree)},
			Parents:      s.parentsJSON(repo, c),
			Verification: jVerification{Reason: "unsigned"},
		})
	}
	issueEvent := func(id int64, kind, actor string, at time.Time, commitID string) jIssueEvent {
		e := jIssueEvent{
			ID:        id,
			NodeID:    nodeID("IssueEvent", id),
			URL:       s.api("/repos/%s/issues/events/%d", full, id),
			Actor:     s.user(actor),
			Event:     kind,
			CreatedAt: ts(at),
		}
		if commitID != "" {
			commitURL := s.api("/repos/%s/commits/%s", full, commitID)
			e.CommitID, e.CommitURL = &commitID, &commitURL
		}
		return e
	}
	has := map[string]bool{}
	for i := range pr.Events {
		e := &pr.Events[i]
		has[e.Kind] = true
		if e.Kind == "labeled" {
			has["labeled:"+e.Label] = true
		}
		switch e.Kind {
		case "reviewed":
			commitID := e.CommitID
			if commitID == "" {
				commitID = pr.Commits[0].SHA
				for _, pc := range pr.Commits {
					if !pc.CommitDate.After(e.At) {
						commitID = pc.SHA
					}
				}
			}
			html := s.html("/%s/pull/%d#pullrequestreview-%d", full, pr.Number, e.ID)
			association := "MEMBER"
			if e.ActorIsBot {
				association = "NONE"
			} else if e.Actor == pr.Author {
				association = pr.AuthorAssociation
			}
			add(e.At, jReviewed{
				Event:             "reviewed",
				ID:                e.ID,
				NodeID:            nodeID("PullRequestReview", e.ID),
				User:              s.user(e.Actor),
				Body:              strOrNull(e.Body),
				State:             e.State,
				HTMLURL:           html,
				PullRequestURL:    pullURL,
				Links:             jReviewLinks{HTML: jHref{html}, PullRequest: jHref{pullURL}},
				SubmittedAt:       ts(e.At),
				CommitID:          commitID,
				AuthorAssociation: association,
			})
		case "commented":
			association := "MEMBER"
			if e.ActorIsBot {
				association = "NONE"
			} else if e.Actor == pr.Author {
				association = pr.AuthorAssociation
			}
			add(e.At, jCommented{
				Event:             "commented",
				Actor:             s.user(e.Actor),
				ID:                e.ID,
				NodeID:            nodeID("IssueComment", e.ID),
				URL:               s.api("/repos/%s/issues/comments/%d", full, e.ID),
				HTMLURL:           s.html("/%s/pull/%d#issuecomment-%d", full, pr.Number, e.ID),
				IssueURL:          issueURL,
				User:              s.user(e.Actor),
				Body:              e.Body,
				CreatedAt:         ts(e.At),
				UpdatedAt:         ts(e.At),
				AuthorAssociation: association,
			})
		default:
			commitID := e.CommitID
			if e.Kind == "merged" && commitID == "" {
				commitID = pr.MergeCommitSHA
			}
			ie := issueEvent(e.ID, e.Kind, e.Actor, e.At, commitID)
			if e.Label != "" {
				ie.Label = &jLabelRef{Name: e.Label, Color: s.labelJSON(repo, e.Label).Color}
			}
			if e.Reviewer != "" {
				ie.ReviewRequester = s.userPtr(e.Actor)
				ie.RequestedReviewer = s.userPtr(e.Reviewer)
			}
			add(e.At, ie)
		}
	}
	auto := ps.autoID
	for _, l := range pr.Labels {
		if !has["labeled:"+l] && !has["labeled"] {
			ie := issueEvent(auto("labeled:"+l), "labeled", pr.Author, pr.CreatedAt, "")
			ie.Label = &jLabelRef{Name: l, Color: s.labelJSON(repo, l).Color}
			add(pr.CreatedAt, ie)
		}
	}
	if !pr.MergedAt.IsZero() && !has["merged"] {
		add(pr.MergedAt, issueEvent(auto("merged"), "merged", pr.MergedBy, pr.MergedAt, pr.MergeCommitSHA))
	}
	if !pr.ClosedAt.IsZero() && !has["closed"] {
		actor := pr.MergedBy
		if actor == "" {
			actor = pr.Author
		}
		add(pr.ClosedAt, issueEvent(auto("closed"), "closed", actor, pr.ClosedAt, ""))
	}
	slices.SortStableFunc(items, func(a, b timelineItem) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.order, b.order))
	})
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// listDeployments answers GET /repos/{o}/{r}/deployments, newest first, filtered by
// sha, ref, task and environment.
func (s *Server) listDeployments(r *http.Request, repo *Repo) *response {
	q := r.URL.Query()
	var list []*deploymentState
	for _, ds := range repo.deployments {
		d := &ds.d
		if (q.Has("sha") && q.Get("sha") != "none" && q.Get("sha") != d.SHA) ||
			(q.Has("ref") && q.Get("ref") != "none" && q.Get("ref") != d.Ref) ||
			(q.Has("task") && q.Get("task") != "none" && q.Get("task") != d.Task) ||
			(q.Has("environment") && q.Get("environment") != "none" && q.Get("environment") != d.Environment) {
			continue
		}
		list = append(list, ds)
	}
	slices.SortFunc(list, func(a, b *deploymentState) int {
		return -cmp.Or(a.d.CreatedAt.Compare(b.d.CreatedAt), cmp.Compare(a.d.ID, b.d.ID))
	})
	lo, hi, link := s.pageOf(r, len(list))
	out := make([]jDeployment, 0, hi-lo)
	for _, ds := range list[lo:hi] {
		out = append(out, s.deploymentJSON(repo, ds))
	}
	resp := s.jsonResponse(out)
	if link != "" {
		resp.header.Set("Link", link)
	}
	return resp
}

// listStatuses answers GET /repos/{o}/{r}/deployments/{id}/statuses, newest first.
func (s *Server) listStatuses(r *http.Request, repo *Repo, id int64) *response {
	for _, ds := range repo.deployments {
		if ds.d.ID != id {
			continue
		}
		list := make([]*DeploymentStatus, len(ds.d.Statuses))
		for i := range ds.d.Statuses {
			list[i] = &ds.d.Statuses[i]
		}
		slices.SortFunc(list, func(a, b *DeploymentStatus) int {
			return -cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
		})
		out := make([]jDeploymentStatus, len(list))
		for i, st := range list {
			out[i] = s.statusJSON(repo, ds, st)
		}
		return listResponse(s, r, out)
	}
	return notFound()
}

// listWorkflows answers GET /repos/{o}/{r}/actions/workflows.
func (s *Server) listWorkflows(r *http.Request, repo *Repo) *response {
	lo, hi, link := s.pageOf(r, len(repo.workflows))
	out := jWorkflowList{TotalCount: len(repo.workflows), Workflows: []jWorkflow{}}
	for _, w := range repo.workflows[lo:hi] {
		out.Workflows = append(out.Workflows, s.workflowJSON(repo, w))
	}
	resp := s.jsonResponse(out)
	if link != "" {
		resp.header.Set("Link", link)
	}
	return resp
}

// findWorkflow takes a workflow id or file name, as the workflow_id path parameter does.
func (s *Server) findWorkflow(repo *Repo, ref string) *Workflow {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return repo.workflow(id, "")
	}
	for _, w := range repo.workflows {
		if fileName(w.Path) == ref {
			return w
		}
	}
	return nil
}

// runStatuses are the values of the status filter that are statuses; the others are
// conclusions.
var runStatuses = map[string]bool{"completed": true, "in_progress": true, "queued": true, "requested": true, "waiting": true, "pending": true}

// runSearchCap is the documented cap on runs returned when filtering.
const runSearchCap = 1000

// listRuns answers GET /repos/{o}/{r}/actions/workflows/{id}/runs, newest first,
// filtered by actor, branch, event, status (a status or a conclusion), created (a
// date or date-time qualifier: >=, >, <=, <, a..b or a single day) and head_sha.
func (s *Server) listRuns(r *http.Request, repo *Repo, ref string) *response {
	w := s.findWorkflow(repo, ref)
	if w == nil {
		return notFound()
	}
	q := r.URL.Query()
	var created func(time.Time) bool
	if c := q.Get("created"); c != "" {
		var ok bool
		if created, ok = parseDateQualifier(c); !ok {
			return validationFailed()
		}
	}
	var list []*WorkflowRun
	for _, run := range repo.runs {
		if run.WorkflowID != w.ID {
			continue
		}
		if v := q.Get("actor"); v != "" && !strings.EqualFold(v, run.Actor) {
			continue
		}
		if v := q.Get("branch"); v != "" && v != run.HeadBranch {
			continue
		}
		if v := q.Get("event"); v != "" && v != run.Event {
			continue
		}
		if v := q.Get("head_sha"); v != "" && v != run.HeadSHA {
			continue
		}
		if v := q.Get("status"); v != "" {
			if runStatuses[v] && v != run.Status || !runStatuses[v] && v != run.Conclusion {
				continue
			}
		}
		if created != nil && !created(run.CreatedAt) {
			continue
		}
		list = append(list, run)
	}
	slices.SortFunc(list, func(a, b *WorkflowRun) int {
		return -cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	total := len(list)
	for _, p := range []string{"actor", "branch", "check_suite_id", "created", "event", "head_sha", "status"} {
		if q.Get(p) != "" && len(list) > runSearchCap {
			list = list[:runSearchCap]
			break
		}
	}
	lo, hi, link := s.pageOf(r, len(list))
	out := jRunList{TotalCount: total, WorkflowRuns: []jRun{}}
	for _, run := range list[lo:hi] {
		out.WorkflowRuns = append(out.WorkflowRuns, s.runJSON(repo, run))
	}
	resp := s.jsonResponse(out)
	if link != "" {
		resp.header.Set("Link", link)
	}
	return resp
}

// parseDateQualifier reads GitHub's search date syntax into a predicate.
func parseDateQualifier(v string) (func(time.Time) bool, bool) {
	if a, b, ok := strings.Cut(v, ".."); ok {
		var lo, hi time.Time
		if a != "*" {
			start, _, ok := parseSearchDate(a)
			if !ok {
				return nil, false
			}
			lo = start
		}
		if b != "*" {
			_, end, ok := parseSearchDate(b)
			if !ok {
				return nil, false
			}
			hi = end
		}
		return func(t time.Time) bool {
			return (lo.IsZero() || !t.Before(lo)) && (hi.IsZero() || t.Before(hi))
		}, true
	}
	for _, op := range []string{">=", "<=", ">", "<"} {
		if rest, ok := strings.CutPrefix(v, op); ok {
			start, end, ok := parseSearchDate(rest)
			if !ok {
				return nil, false
			}
			switch op {
			case ">=":
				return func(t time.Time) bool { return !t.Before(start) }, true
			case ">":
				return func(t time.Time) bool { return !t.Before(end) }, true
			case "<=":
				return func(t time.Time) bool { return t.Before(end) }, true
			default:
				return func(t time.Time) bool { return t.Before(start) }, true
			}
		}
	}
	start, end, ok := parseSearchDate(v)
	if !ok {
		return nil, false
	}
	return func(t time.Time) bool { return !t.Before(start) && t.Before(end) }, true
}

// parseSearchDate reads a date (covering its whole UTC day) or a date-time (covering
// that instant) as [start, end).
func parseSearchDate(v string) (start, end time.Time, ok bool) {
	if d, err := time.Parse("2006-01-02", v); err == nil {
		return d, d.AddDate(0, 0, 1), true
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, t.Add(time.Nanosecond), true
		}
	}
	return time.Time{}, time.Time{}, false
}

// gitRef answers GET /repos/{o}/{r}/git/ref/{ref}: ref is heads/<branch> or
// tags/<tag>, matched exactly; anything else answers 404, as documented.
func (s *Server) gitRef(repo *Repo, ref string) *response {
	kind, name, _ := strings.Cut(ref, "/")
	var sha string
	switch kind {
	case "heads":
		sha = repo.branches[name]
	case "tags":
		sha = repo.tags[name]
	}
	if sha == "" {
		return notFound()
	}
	full := repo.FullName()
	return s.jsonResponse(jRef{
		Ref:    "refs/" + ref,
		NodeID: base64.StdEncoding.EncodeToString([]byte("REF_" + full + ":refs/" + ref)),
		URL:    s.api("/repos/%s/git/refs/%s", full, ref),
		Object: jGitObject{Type: "commit", SHA: sha, URL: s.api("/repos/%s/git/commits/%s", full, sha)},
	})
}

// listReleases answers GET /repos/{o}/{r}/releases, newest first.
func (s *Server) listReleases(r *http.Request, repo *Repo) *response {
	list := slices.Clone(repo.releases)
	slices.SortFunc(list, func(a, b *Release) int {
		return -cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	out := make([]jRelease, len(list))
	for i, rel := range list {
		out[i] = s.releaseJSON(repo, rel)
	}
	return listResponse(s, r, out)
}

// compareCap is how many commits a comparison without paging parameters lists.
const compareCap = 250

// compare answers GET /repos/{o}/{r}/compare/{base}...{head} from the commit graph.
func (s *Server) compare(r *http.Request, repo *Repo, spec string) *response {
	baseRef, headRef, ok := strings.Cut(spec, "...")
	if !ok {
		return notFound()
	}
	ownRef := func(ref string) string {
		// "owner:ref" names a ref in a repository of the network; only this one is kept.
		if owner, rest, ok := strings.Cut(ref, ":"); ok && strings.EqualFold(owner, repo.info.Owner) {
			return rest
		}
		return ref
	}
	base, head := repo.resolve(ownRef(baseRef)), repo.resolve(ownRef(headRef))
	if base == "" || head == "" {
		return notFound()
	}
	fromBase, fromHead := repo.ancestors(base), repo.ancestors(head)
	var ahead []*commit
	for sha := range fromHead {
		if !fromBase[sha] {
			ahead = append(ahead, repo.commits[sha])
		}
	}
	behind := 0
	var mergeBase *commit
	for sha := range fromBase {
		if !fromHead[sha] {
			behind++
			continue
		}
		c := repo.commits[sha]
		if mergeBase == nil || c.gen > mergeBase.gen || (c.gen == mergeBase.gen && c.commitDate.After(mergeBase.commitDate)) ||
			(c.gen == mergeBase.gen && c.commitDate.Equal(mergeBase.commitDate) && c.sha < mergeBase.sha) {
			mergeBase = c
		}
	}
	if mergeBase == nil {
		// Documented by what GitHub answers: histories that never met cannot be compared.
		return errorResponse(http.StatusNotFound, fmt.Sprintf("No common ancestor between %s and %s.", baseRef, headRef), docCompare)
	}
	status := "diverged"
	switch {
	case base == head:
		status = "identical"
	case behind == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	ordered := chronological(repo, ahead)
	q := r.URL.Query()
	var link string
	if q.Has("per_page") || q.Has("page") {
		var lo, hi int
		lo, hi, link = s.pageOf(r, len(ordered))
		ordered = ordered[lo:hi]
	} else if len(ordered) > compareCap {
		// Documented: without paging, at most 250 commits, the last the most recent.
		ordered = ordered[len(ordered)-compareCap:]
	}
	commits := make([]jCommit, len(ordered))
	for i, c := range ordered {
		commits[i] = s.commitJSON(repo, c)
	}
	full := repo.FullName()
	out := jComparison{
		URL:          s.api("/repos/%s/compare/%s...%s", full, baseRef, headRef),
		HTMLURL:      s.html("/%s/compare/%s...%s", full, baseRef, headRef),
		PermalinkURL: s.html("/%s/compare/%s:%s...%s:%s", full, repo.info.Owner, base[:7], repo.info.Owner, head[:7]),
		DiffURL:      s.html("/%s/compare/%s...%s.diff", full, baseRef, headRef),
		PatchURL:     s.html("/%s/compare/%s...%s.patch", full, baseRef, headRef),
		BaseCommit:   s.commitJSON(repo, repo.commits[base]),
		Status:       status,
		AheadBy:      len(ahead),
		BehindBy:     behind,
		TotalCommits: len(ahead),
		Commits:      commits,
		Files:        []any{},
	}
	if mergeBase != nil {
		out.MergeBaseCommit = s.commitJSON(repo, mergeBase)
	}
	resp := s.jsonResponse(out)
	if link != "" {
		resp.header.Set("Link", link)
	}
	return resp
}

// ancestors returns the commits reachable from sha, itself included.
func (r *Repo) ancestors(sha string) map[string]bool {
	seen := map[string]bool{sha: true}
	stack := []string{sha}
	for len(stack) > 0 {
		c := r.commits[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		for _, p := range c.parents {
			if !seen[p] {
				seen[p] = true
				stack = append(stack, p)
			}
		}
	}
	return seen
}

// chronological orders commits oldest first, parents before children.
func chronological(repo *Repo, commits []*commit) []*commit {
	in := map[string]bool{}
	for _, c := range commits {
		in[c.sha] = true
	}
	pending := map[string]int{}
	children := map[string][]*commit{}
	for _, c := range commits {
		for _, p := range c.parents {
			if in[p] {
				pending[c.sha]++
				children[p] = append(children[p], c)
			}
		}
	}
	h := &commitHeap{}
	for _, c := range commits {
		if pending[c.sha] == 0 {
			heap.Push(h, c)
		}
	}
	out := make([]*commit, 0, len(commits))
	for h.Len() > 0 {
		c := heap.Pop(h).(*commit)
		out = append(out, c)
		for _, child := range children[c.sha] {
			pending[child.sha]--
			if pending[child.sha] == 0 {
				heap.Push(h, child)
			}
		}
	}
	return out
}

// commitHeap pops the oldest commit (by commit date, then generation, then SHA).
type commitHeap []*commit

func (h commitHeap) Len() int { return len(h) }
func (h commitHeap) Less(i, j int) bool {
	return cmp.Or(h[i].commitDate.Compare(h[j].commitDate), cmp.Compare(h[i].gen, h[j].gen), strings.Compare(h[i].sha, h[j].sha)) < 0
}
func (h commitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *commitHeap) Push(x any)   { *h = append(*h, x.(*commit)) }
func (h *commitHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
