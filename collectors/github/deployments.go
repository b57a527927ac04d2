package github

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/flowmeter/flowmeter/schema"
)

// A deployment's own words mark it as a rollback or a hotfix; derivation adds the
// rules of the config (older commit deployed, hotfix refs and labels).
var (
	rollbackWords = regexp.MustCompile(`(?i)\b(rollback|roll back|rolled back|revert)\b`)
	hotfixWords   = regexp.MustCompile(`(?i)hotfix`)
)

// deploymentsCursor keeps the newest deployment whose statuses are stored and the
// deployments still waiting for a final status, which are asked again each run.
type deploymentsCursor struct {
	Newest  time.Time           `json:"newest"`
	Seen    map[int64]time.Time `json:"seen,omitempty"` // id → creation, within the overlap below Newest
	Pending []int64             `json:"pending,omitempty"`
	ETag    string              `json:"etag,omitempty"`
}

// deployments collects the Deployments API of a repository: one request per list
// page, one per new deployment (its statuses), one per unfinished one.
func (r *run) deployments(ctx context.Context, repo repository) error {
	stream := "deployments:" + repo.fullName
	var cur deploymentsCursor
	if err := r.loadCursor(ctx, stream, &cur); err != nil {
		return err
	}
	since := r.floor
	if !cur.Newest.IsZero() && cur.Newest.Add(-overlap).After(since) {
		since = cur.Newest.Add(-overlap)
	}
	listURL := fmt.Sprintf("repos/%s/%s/deployments?per_page=%d", repo.owner, repo.name, perPage)
	var fresh []*gh.Deployment
	etag, newETag := cur.ETag, ""
	for pageURL := listURL; pageURL != ""; {
		var page []*gh.Deployment
		resp, pageETag, err := getConditional(ctx, r.client, pageURL, etag, &page)
		if notModified(resp, err) {
			break
		}
		if err != nil {
			return err
		}
		if pageURL == listURL {
			newETag = pageETag
		}
		etag, pageURL = "", ""
		stop := false
		for _, d := range present(page) {
			created := ts(d.CreatedAt)
			if created.Before(since) {
				stop = true
				break
			}
			if _, seen := cur.Seen[d.GetID()]; !seen && !slices.Contains(cur.Pending, d.GetID()) {
				fresh = append(fresh, d)
			}
		}
		if !stop && resp.NextPage != 0 {
			pageURL = fmt.Sprintf("%s&page=%d", listURL, resp.NextPage)
		}
	}
	if newETag == "" {
		newETag = cur.ETag
	}
	// Unfinished deployments from earlier runs are asked again.
	for _, id := range cur.Pending {
		d, _, err := r.client.Repositories.GetDeployment(ctx, repo.owner, repo.name, id)
		if err != nil {
			if statusOf(err) == 404 {
				continue // deleted since
			}
			return err
		}
		fresh = append(fresh, d)
	}
	next := deploymentsCursor{Newest: cur.Newest, Seen: map[int64]time.Time{}, ETag: newETag}
	var batch []schema.Deployment
	for i, d := range fresh {
		if r.set.envs != nil && !r.set.envs[d.GetEnvironment()] {
			continue
		}
		statuses, err := r.deploymentStatuses(ctx, repo, d.GetID())
		if err != nil {
			return fmt.Errorf("deployment %d: %w", d.GetID(), err)
		}
		rec := r.deploymentRecord(repo, d, statuses)
		batch = append(batch, rec)
		if rec.FinishedAt.IsZero() {
			next.Pending = append(next.Pending, d.GetID())
		}
		if created := ts(d.CreatedAt); created.After(next.Newest) {
			next.Newest = created
		}
		r.report(repo, "deployments", i+1, len(fresh), false)
	}
	for _, d := range fresh {
		next.Seen[d.GetID()] = ts(d.CreatedAt)
	}
	for id, created := range cur.Seen {
		next.Seen[id] = created
	}
	for id, created := range next.Seen {
		if created.Before(next.Newest.Add(-overlap)) {
			delete(next.Seen, id) // below the overlap: never listed again
		}
	}
	slices.Sort(next.Pending)
	next.Pending = slices.Compact(next.Pending)
	b := &schema.Batch{Deployments: batch, Cursors: []schema.Cursor{r.cursor(stream, next)}}
	if err := r.w.Write(ctx, b); err != nil {
		return err
	}
	r.report(repo, "deployments", len(fresh), len(fresh), true)
	return nil
}

func (r *run) deploymentStatuses(ctx context.Context, repo repository, id int64) ([]*gh.DeploymentStatus, error) {
	statuses, err := allPages(func(opt gh.ListOptions) ([]*gh.DeploymentStatus, *gh.Response, error) {
		return r.client.Repositories.ListDeploymentStatuses(ctx, repo.owner, repo.name, id, &opt)
	})
	return present(statuses), err
}

// deploymentRecord turns a deployment and its statuses (newest first, as GitHub lists
// them) into a record. Its status is the latest one that is not "inactive" (GitHub
// marks a successful deployment inactive when a newer one replaces it); it finished
// when it reached success, failure or error.
func (s *Source) deploymentRecord(repo repository, d *gh.Deployment, statuses []*gh.DeploymentStatus) schema.Deployment {
	rec := schema.Deployment{
		Source: s.name, ID: fmt.Sprintf("%s/deployments/%d", repo.fullName, d.GetID()), Repo: repo.fullName,
		Service: repo.name, Environment: d.GetEnvironment(), CommitSHA: d.GetSHA(), Ref: d.GetRef(),
		Status: schema.DeploymentQueued, Trigger: schema.TriggerAutomatic, Attempt: 1,
		StartedAt: ts(d.CreatedAt), URL: d.GetURL(), UpdatedAt: ts(d.UpdatedAt),
	}
	words := d.GetTask() + " " + d.GetDescription() + " " + d.GetRef()
	rec.Rollback = rollbackWords.MatchString(words)
	rec.Hotfix = hotfixWords.MatchString(words)
	for _, st := range statuses {
		if u := ts(st.UpdatedAt); u.After(rec.UpdatedAt) {
			rec.UpdatedAt = u
		}
	}
	for _, st := range statuses { // newest first
		state := strings.ToLower(st.GetState())
		if state == "inactive" {
			continue
		}
		switch state {
		case "success", "failure", "error":
			rec.Status = schema.DeploymentStatus(state)
			rec.FinishedAt = ts(st.CreatedAt)
		case "in_progress":
			rec.Status = schema.DeploymentInProgress
		default: // pending, queued
			rec.Status = schema.DeploymentQueued
		}
		break
	}
	if rec.Status == schema.DeploymentQueued && len(statuses) > 0 && strings.EqualFold(statuses[0].GetState(), "inactive") {
		// Only "inactive" statuses: a deployment replaced before it said more.
		rec.Status, rec.FinishedAt = schema.DeploymentInactive, ts(statuses[0].CreatedAt)
	}
	return rec
}

// runsCursor keeps a deploy workflow's position: its id once resolved from a name,
// the newest run update stored, and whether each head branch of the runs last listed
// (other than the default branch) names a tag, so that a name is asked about once
// while its runs are listed again.
type runsCursor struct {
	WorkflowID int64           `json:"workflow_id,omitempty"`
	Newest     time.Time       `json:"newest"`
	ETag       string          `json:"etag,omitempty"`
	Tags       map[string]bool `json:"tags,omitempty"`
}

// rerunWindow is how far back runs are listed again: a re-run keeps its run's
// creation time, and GitHub filters runs by that.
const rerunWindow = 7 * 24 * time.Hour

// runSearchCap is the most runs GitHub lists for a filtered query, as documented;
// total_count still says how many match.
const runSearchCap = 1000

// workflowRuns collects the completed runs of a deploy workflow on the default branch
// or a tag, as its refs ask.
func (r *run) workflowRuns(ctx context.Context, repo repository, wf WorkflowSettings) error {
	stream := "runs:" + repo.fullName + ":" + wf.Workflow
	var cur runsCursor
	if err := r.loadCursor(ctx, stream, &cur); err != nil {
		return err
	}
	id := workflowFile(wf.Workflow)
	if id == "" {
		if cur.WorkflowID == 0 {
			wid, err := r.findWorkflow(ctx, repo, wf.Workflow)
			if err != nil {
				return err
			}
			if wid == 0 {
				r.noRuns(repo, wf, "no workflow by that name")
				return nil
			}
			cur.WorkflowID = wid
		}
		id = fmt.Sprint(cur.WorkflowID)
	}
	since := r.floor
	if !cur.Newest.IsZero() && cur.Newest.Add(-rerunWindow).After(since) {
		since = cur.Newest.Add(-rerunWindow)
	}
	query := url.Values{"status": {"completed"}, "per_page": {fmt.Sprint(perPage)}}
	if !wf.onTags() {
		query.Set("branch", repo.defaultBranch) // no tag to tell apart: GitHub filters
	}
	l := &runLister{
		run: r, repo: repo, wf: wf, query: query,
		path: fmt.Sprintf("repos/%s/%s/actions/workflows/%s/runs", repo.owner, repo.name, id),
	}
	// Whole days, so the first page's URL, and with it its ETag, holds all day.
	etag, err := l.list(ctx, runWindow{from: since.UTC().Truncate(24 * time.Hour)}, cur.ETag)
	unchanged := errors.Is(err, errNotModified)
	switch {
	case unchanged:
		etag = cur.ETag
	case statusOf(err) == http.StatusNotFound:
		r.noRuns(repo, wf, "no workflow by that name")
		return nil
	case err != nil:
		return err
	}
	next := runsCursor{WorkflowID: cur.WorkflowID, Newest: cur.Newest, ETag: etag, Tags: cur.Tags}
	var batch []schema.Deployment
	if !unchanged {
		next.Tags = map[string]bool{}
		for _, run := range present(l.runs) {
			ok, err := r.deploys(ctx, repo, wf, run, cur.Tags, next.Tags)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			batch = append(batch, r.runRecord(repo, wf, run))
			if u := ts(run.UpdatedAt); u.After(next.Newest) {
				next.Newest = u
			}
		}
	}
	b := &schema.Batch{Deployments: batch, Cursors: []schema.Cursor{r.cursor(stream, next)}}
	if err := r.w.Write(ctx, b); err != nil {
		return err
	}
	if next.Newest.IsZero() {
		why := fmt.Sprintf("no completed run on %s since %s", wf.refsText(repo.defaultBranch), since.Format(time.DateOnly))
		if unchanged {
			r.noRuns(repo, wf, why)
		} else {
			r.noRuns(repo, wf, why, "other_runs", len(l.runs))
		}
	}
	r.report(repo, "workflow "+wf.Workflow, len(batch), len(batch), true)
	return nil
}

// noRuns warns that a deploy workflow gives a repository no deployment, and why: a
// misspelt workflow, or refs that miss where it runs, would otherwise count none
// without a word.
func (r *run) noRuns(repo repository, wf WorkflowSettings, why string, attrs ...any) {
	r.log.Warn("deploy workflow matched no run", append([]any{"repo", repo.fullName, "workflow", wf.Workflow, "reason", why}, attrs...)...)
}

// mayBeOnTag says whether a run not on the default branch may have run on a tag. A run
// names no ref, only its head branch, which for a tag push is the tag's name; only the
// repository's tags can tell.
func mayBeOnTag(run *gh.WorkflowRun) bool {
	switch run.GetEvent() {
	case "pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment", "merge_group":
		return false // the head of a pull request or a merge queue is a branch
	}
	return run.GetHeadBranch() != ""
}

// deploys says whether a completed run of a deploy workflow is a deployment: it ran on
// the default branch or on a tag, as the workflow's refs ask. remembered holds the
// answers of the last listing; asked gathers this listing's for the cursor.
func (r *run) deploys(ctx context.Context, repo repository, wf WorkflowSettings, run *gh.WorkflowRun, remembered, asked map[string]bool) (bool, error) {
	head := run.GetHeadBranch()
	switch {
	case head == repo.defaultBranch:
		return wf.onDefaultBranch(), nil
	case !wf.onTags() || !mayBeOnTag(run):
		return false, nil
	}
	tag, err := r.isTag(ctx, repo, head, remembered)
	if err != nil {
		return false, err
	}
	asked[head] = tag
	return tag, nil
}

// isTag says whether a repository has a tag by that name, asking GitHub once a
// collection per name not remembered (GET git/ref/tags/{name}: 404 for none).
func (r *run) isTag(ctx context.Context, repo repository, name string, remembered map[string]bool) (bool, error) {
	known := r.tags[repo.fullName]
	if known == nil {
		known = map[string]bool{}
		r.tags[repo.fullName] = known
	}
	if tag, ok := known[name]; ok {
		return tag, nil
	}
	if tag, ok := remembered[name]; ok {
		known[name] = tag
		return tag, nil
	}
	_, _, err := r.client.Git.GetRef(ctx, repo.owner, repo.name, "tags/"+name)
	switch {
	case err == nil:
		known[name] = true
	case statusOf(err) == http.StatusNotFound:
		known[name] = false
	default:
		return false, fmt.Errorf("looking up tag %s: %w", name, err)
	}
	return known[name], nil
}

// runWindow is a span of run creation times, [from, to); a zero to leaves it open.
type runWindow struct{ from, to time.Time }

// created is the window in GitHub's search syntax, whose ranges hold both ends.
func (w runWindow) created() string {
	to := "*"
	if !w.to.IsZero() {
		to = w.to.Add(-time.Second).UTC().Format(time.RFC3339)
	}
	return w.from.UTC().Format(time.RFC3339) + ".." + to
}

// split cuts the window into n of equal whole seconds, the last keeping its end; end
// stands for an open window's end. A window of one second cannot be split: nil.
func (w runWindow) split(n int, end time.Time) []runWindow {
	to := w.to
	if to.IsZero() {
		to = end
	}
	secs := int64(to.Sub(w.from) / time.Second)
	if secs <= 1 {
		return nil
	}
	n = int(min(int64(n), secs))
	step := time.Duration(secs/int64(n)) * time.Second
	parts := make([]runWindow, n)
	for i := range parts {
		parts[i] = runWindow{from: w.from.Add(time.Duration(i) * step), to: w.from.Add(time.Duration(i+1) * step)}
	}
	parts[n-1].to = w.to
	return parts
}

// errNotModified says that the first page of a listing is unchanged (a 304).
var errNotModified = errors.New("not modified")

// runLister lists the completed runs of a deploy workflow, window by window.
type runLister struct {
	*run
	repo  repository
	wf    WorkflowSettings
	path  string     // the runs endpoint
	query url.Values // its filters but created and page
	runs  []*gh.WorkflowRun
}

// list adds the runs created in a window to l.runs. GitHub lists at most 1,000 runs of
// a filtered query, so a window holding more is cut into as many equal windows as
// should each hold fewer, and those are listed in turn; a one-second window holding
// more is listed as far as GitHub goes and reported. etag makes the first page
// conditional; list returns that page's ETag, or errNotModified.
func (l *runLister) list(ctx context.Context, w runWindow, etag string) (string, error) {
	query := maps.Clone(l.query)
	query.Set("created", w.created())
	listURL := l.path + "?" + query.Encode()
	var page gh.WorkflowRuns
	resp, pageETag, err := getConditional(ctx, l.client, listURL, etag, &page)
	if notModified(resp, err) {
		return "", errNotModified
	}
	if err != nil {
		return "", err
	}
	total := page.GetTotalCount()
	if total > runSearchCap {
		if parts := w.split(total/runSearchCap+1, l.now); parts != nil { // an open window ends at the collection's start
			for _, part := range parts {
				if _, err := l.list(ctx, part, ""); err != nil {
					return "", err
				}
			}
			return pageETag, nil
		}
	}
	listed := len(page.WorkflowRuns)
	l.runs = append(l.runs, page.WorkflowRuns...)
	for resp.NextPage != 0 {
		page = gh.WorkflowRuns{}
		if resp, _, err = getConditional(ctx, l.client, fmt.Sprintf("%s&page=%d", listURL, resp.NextPage), "", &page); err != nil {
			return "", err
		}
		listed += len(page.WorkflowRuns)
		l.runs = append(l.runs, page.WorkflowRuns...)
	}
	if total > runSearchCap {
		l.log.Warn("more deploy workflow runs in one second than GitHub lists; the rest are not collected",
			"repo", l.repo.fullName, "workflow", l.wf.Workflow, "created", w.from.UTC().Format(time.RFC3339), "runs", total, "listed", listed)
	}
	return pageETag, nil
}

// findWorkflow finds a workflow's id by its display name or path; 0 when the
// repository has none by that name.
func (r *run) findWorkflow(ctx context.Context, repo repository, name string) (int64, error) {
	workflows, err := allPages(func(opt gh.ListOptions) ([]*gh.Workflow, *gh.Response, error) {
		page, resp, err := r.client.Actions.ListWorkflows(ctx, repo.owner, repo.name, &opt)
		if err != nil || page == nil { // a body of null decodes to no page
			return nil, resp, err
		}
		return page.Workflows, resp, nil
	})
	if err != nil {
		return 0, err
	}
	for _, w := range workflows {
		if w.GetName() == name || w.GetPath() == name {
			return w.GetID(), nil
		}
	}
	return 0, nil
}

// runRecord turns a completed workflow run into a deployment attempt. Each attempt of
// a run is its own record, so re-runs are kept as such.
func (s *Source) runRecord(repo repository, wf WorkflowSettings, run *gh.WorkflowRun) schema.Deployment {
	attempt := max(int64(run.GetRunAttempt()), 1)
	rec := schema.Deployment{
		Source: s.name, ID: fmt.Sprintf("%s/actions/runs/%d/attempts/%d", repo.fullName, run.GetID(), attempt),
		Repo: repo.fullName, Service: repo.name, Environment: wf.Environment, CommitSHA: run.GetHeadSHA(),
		Ref: run.GetHeadBranch(), Trigger: schema.TriggerAutomatic, Attempt: attempt,
		StartedAt: ts(run.RunStartedAt), FinishedAt: ts(run.UpdatedAt), URL: run.GetHTMLURL(), UpdatedAt: ts(run.UpdatedAt),
	}
	if rec.StartedAt.IsZero() {
		rec.StartedAt = ts(run.CreatedAt)
	}
	if run.GetEvent() == "workflow_dispatch" {
		rec.Trigger = schema.TriggerManual
	}
	switch run.GetConclusion() {
	case "success":
		rec.Status = schema.DeploymentSuccess
	case "failure", "timed_out", "startup_failure":
		rec.Status = schema.DeploymentFailure
	case "cancelled", "skipped":
		rec.Status = schema.DeploymentCanceled
	default:
		rec.Status = schema.DeploymentError
	}
	words := run.GetDisplayTitle() + " " + run.GetHeadBranch()
	rec.Rollback = rollbackWords.MatchString(words)
	rec.Hotfix = hotfixWords.MatchString(words)
	return rec
}

// releaseRecord makes a published release a successful deployment at its
// publication.
func (s *Source) releaseRecord(repo repository, rel *gh.RepositoryRelease) schema.Deployment {
	published := ts(rel.PublishedAt)
	rec := schema.Deployment{
		Source: s.name, ID: fmt.Sprintf("%s/releases/%d", repo.fullName, rel.GetID()), Repo: repo.fullName,
		Service: repo.name, Environment: s.set.releasesEnv, Ref: rel.GetTagName(),
		Status: schema.DeploymentSuccess, Trigger: schema.TriggerAutomatic, Attempt: 1,
		StartedAt: published, FinishedAt: published, URL: rel.GetHTMLURL(), UpdatedAt: published,
		Hotfix: hotfixWords.MatchString(rel.GetName() + " " + rel.GetTagName()),
	}
	if c := rel.GetTargetCommitish(); fullSHA.MatchString(c) {
		rec.CommitSHA = c // a branch name says nothing of the commit: time attribution
	}
	return rec
}

// releasesCursor keeps the newest release stored.
type releasesCursor struct {
	Newest time.Time `json:"newest"`
	ETag   string    `json:"etag,omitempty"`
}

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// releases makes each published release a deployment.
func (r *run) releases(ctx context.Context, repo repository) error {
	stream := "releases:" + repo.fullName
	var cur releasesCursor
	if err := r.loadCursor(ctx, stream, &cur); err != nil {
		return err
	}
	since := r.floor
	if !cur.Newest.IsZero() && cur.Newest.Add(-overlap).After(since) {
		since = cur.Newest.Add(-overlap)
	}
	listURL := fmt.Sprintf("repos/%s/%s/releases?per_page=%d", repo.owner, repo.name, perPage)
	next := releasesCursor{Newest: cur.Newest, ETag: cur.ETag}
	var batch []schema.Deployment
	etag := cur.ETag
	for pageURL := listURL; pageURL != ""; {
		var page []*gh.RepositoryRelease
		resp, pageETag, err := getConditional(ctx, r.client, pageURL, etag, &page)
		if notModified(resp, err) {
			break
		}
		if err != nil {
			return err
		}
		if pageURL == listURL {
			next.ETag = pageETag
		}
		etag, pageURL = "", ""
		stop := false
		for _, rel := range present(page) {
			published := ts(rel.PublishedAt)
			if rel.GetDraft() || published.IsZero() {
				continue
			}
			if ts(rel.CreatedAt).Before(since) && published.Before(since) {
				stop = true
				break
			}
			batch = append(batch, r.releaseRecord(repo, rel))
			if published.After(next.Newest) {
				next.Newest = published
			}
		}
		if !stop && resp.NextPage != 0 {
			pageURL = fmt.Sprintf("%s&page=%d", listURL, resp.NextPage)
		}
	}
	b := &schema.Batch{Deployments: batch, Cursors: []schema.Cursor{r.cursor(stream, next)}}
	if err := r.w.Write(ctx, b); err != nil {
		return err
	}
	r.report(repo, "releases", len(batch), len(batch), true)
	return nil
}
