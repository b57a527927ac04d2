package github

import (
	"context"
	"fmt"
	"net/http"
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
		for _, d := range page {
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
	return allPages(func(opt gh.ListOptions) ([]*gh.DeploymentStatus, *gh.Response, error) {
		return r.client.Repositories.ListDeploymentStatuses(ctx, repo.owner, repo.name, id, &opt)
	})
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
// and the newest run update stored.
type runsCursor struct {
	WorkflowID int64     `json:"workflow_id,omitempty"`
	Newest     time.Time `json:"newest"`
	ETag       string    `json:"etag,omitempty"`
}

// rerunWindow is how far back runs are listed again: a re-run keeps its run's
// creation time, and GitHub filters runs by that.
const rerunWindow = 7 * 24 * time.Hour

// workflowRuns collects the completed runs of a deploy workflow on the default branch.
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
				return nil // this repository has no such workflow
			}
			cur.WorkflowID = wid
		}
		id = fmt.Sprint(cur.WorkflowID)
	}
	since := r.floor
	if !cur.Newest.IsZero() && cur.Newest.Add(-rerunWindow).After(since) {
		since = cur.Newest.Add(-rerunWindow)
	}
	listURL := fmt.Sprintf("repos/%s/%s/actions/workflows/%s/runs?branch=%s&status=completed&created=%%3E%%3D%s&per_page=%d",
		repo.owner, repo.name, id, repo.defaultBranch, since.Format("2006-01-02"), perPage)
	next := runsCursor{WorkflowID: cur.WorkflowID, Newest: cur.Newest, ETag: cur.ETag}
	var batch []schema.Deployment
	etag := cur.ETag
	for pageURL := listURL; pageURL != ""; {
		var page gh.WorkflowRuns
		resp, pageETag, err := getConditional(ctx, r.client, pageURL, etag, &page)
		if notModified(resp, err) {
			break
		}
		if statusOf(err) == http.StatusNotFound && pageURL == listURL {
			return nil // this repository has no such workflow file
		}
		if err != nil {
			return err
		}
		if pageURL == listURL {
			next.ETag = pageETag
		}
		etag, pageURL = "", ""
		for _, run := range page.WorkflowRuns {
			batch = append(batch, r.runRecord(repo, wf, run))
			if u := ts(run.UpdatedAt); u.After(next.Newest) {
				next.Newest = u
			}
		}
		if resp.NextPage != 0 {
			pageURL = fmt.Sprintf("%s&page=%d", listURL, resp.NextPage)
		}
	}
	b := &schema.Batch{Deployments: batch, Cursors: []schema.Cursor{r.cursor(stream, next)}}
	if err := r.w.Write(ctx, b); err != nil {
		return err
	}
	r.report(repo, "workflow "+wf.Workflow, len(batch), len(batch), true)
	return nil
}

// findWorkflow finds a workflow's id by its display name or path; 0 when the
// repository has none by that name.
func (r *run) findWorkflow(ctx context.Context, repo repository, name string) (int64, error) {
	workflows, err := allPages(func(opt gh.ListOptions) ([]*gh.Workflow, *gh.Response, error) {
		page, resp, err := r.client.Actions.ListWorkflows(ctx, repo.owner, repo.name, &opt)
		if err != nil {
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
		for _, rel := range page {
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
