package github

import (
	"fmt"
	"path"
	"strings"

	gh "github.com/google/go-github/v57/github"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
)

var _ collectors.EventHandler = (*Source)(nil)

// HandleEvent turns a GitHub webhook event into the records a collection would
// write, with the same source name and ids, so pushed and polled records converge:
// deployments with their latest status, completed runs of the deploy workflows on
// the default branch, and published releases. A pull request or review event asks
// for a collection instead, because its record needs the commits and reviews the
// payload does not carry; so does a deploy workflow's run that may be on a tag, which
// only the API can tell. Events of repositories the settings do not select are
// ignored.
func (s *Source) HandleEvent(kind string, payload []byte) (*schema.Batch, bool, error) {
	event, err := gh.ParseWebHook(kind, payload)
	if err != nil {
		return nil, false, fmt.Errorf("github event %q: %w", kind, err)
	}
	// The records are built from the event's objects; one without them is malformed.
	missing := func(object string) error { return fmt.Errorf("github event %q: the payload has no %s", kind, object) }
	b := &schema.Batch{}
	switch e := event.(type) {
	case *gh.PullRequestEvent:
		return b, s.selects(e.GetRepo()), nil
	case *gh.PullRequestReviewEvent:
		return b, s.selects(e.GetRepo()), nil
	case *gh.DeploymentEvent:
		if e.Deployment == nil {
			return nil, false, missing("deployment")
		}
		if repo, ok := s.repository(e.GetRepo()); ok && s.set.api && s.keepsEnvironment(e.GetDeployment().GetEnvironment()) {
			b.Deployments = append(b.Deployments, s.deploymentRecord(repo, e.GetDeployment(), nil))
		}
	case *gh.DeploymentStatusEvent:
		if e.Deployment == nil || e.DeploymentStatus == nil {
			return nil, false, missing("deployment or deployment_status")
		}
		if repo, ok := s.repository(e.GetRepo()); ok && s.set.api && s.keepsEnvironment(e.GetDeployment().GetEnvironment()) {
			b.Deployments = append(b.Deployments, s.deploymentRecord(repo, e.GetDeployment(), []*gh.DeploymentStatus{e.GetDeploymentStatus()}))
		}
	case *gh.WorkflowRunEvent:
		run := e.GetWorkflowRun()
		repo, ok := s.repository(e.GetRepo())
		if !ok || e.GetAction() != "completed" {
			return b, false, nil
		}
		if run == nil {
			return nil, false, missing("workflow_run")
		}
		for _, wf := range s.set.workflows {
			if !matchesWorkflow(wf.Workflow, e.GetWorkflow(), run) {
				continue
			}
			switch {
			case run.GetHeadBranch() == repo.defaultBranch:
				if wf.onDefaultBranch() {
					b.Deployments = append(b.Deployments, s.runRecord(repo, wf, run))
				}
			case wf.onTags() && mayBeOnTag(run):
				// Only the repository's tags tell a tag from a branch.
				return b, true, nil
			}
			break
		}
	case *gh.ReleaseEvent:
		if e.Release == nil {
			return nil, false, missing("release")
		}
		if repo, ok := s.repository(e.GetRepo()); ok && s.set.releases && e.GetAction() == "published" && !e.GetRelease().GetDraft() {
			b.Deployments = append(b.Deployments, s.releaseRecord(repo, e.GetRelease()))
		}
	}
	return b, false, nil
}

// repository is the event's repository when the settings select it.
func (s *Source) repository(r *gh.Repository) (repository, bool) {
	if !s.selects(r) {
		return repository{}, false
	}
	return repository{owner: r.GetOwner().GetLogin(), name: r.GetName(), fullName: r.GetFullName(), defaultBranch: r.GetDefaultBranch()}, true
}

// selects says whether the settings collect a repository: one of the organisations
// (not a fork, not archived), a listed repository, or a glob's match, and not excluded.
func (s *Source) selects(r *gh.Repository) bool {
	full := r.GetFullName()
	if full == "" || s.set.excluded(full) {
		return false
	}
	owner, name, _ := strings.Cut(full, "/")
	for _, org := range s.set.orgs {
		if strings.EqualFold(org, owner) && !r.GetFork() && !r.GetArchived() {
			return true
		}
	}
	for _, listed := range s.set.repos {
		if strings.EqualFold(listed, full) {
			return true
		}
	}
	for _, glob := range s.set.globs {
		o, pattern, _ := strings.Cut(glob, "/")
		if ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(name)); ok && strings.EqualFold(o, owner) {
			return true
		}
	}
	return false
}

func (s *Source) keepsEnvironment(env string) bool { return s.set.envs == nil || s.set.envs[env] }

// matchesWorkflow says whether a run belongs to a deploy workflow given by file name,
// path or name.
func matchesWorkflow(setting string, wf *gh.Workflow, run *gh.WorkflowRun) bool {
	p := wf.GetPath() // the event's workflow; go-github's run has no path
	if file := workflowFile(setting); file != "" {
		return path.Base(p) == file
	}
	return setting == wf.GetName() || setting == run.GetName() || setting == p
}
