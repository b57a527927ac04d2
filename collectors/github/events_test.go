package github

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
)

// eventSource is a source collecting organisation acme with a deploy workflow and
// releases, for events.
func eventSource(t *testing.T) *Source {
	s, err := newSource("gh", &resolved{
		token: "t", orgs: []string{"acme"}, exclude: []string{"acme/sandbox"}, since: collectors.Backfill{Age: defaultSince},
		bots: []*regexp.Regexp{regexp.MustCompile(defaultBotPattern)}, api: true, releases: true, releasesEnv: "production",
		workflows: []WorkflowSettings{{Workflow: "deploy.yml", Environment: "production"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func repoJSON(full string) map[string]any {
	owner, name, _ := cutRepo(full)
	return map[string]any{"full_name": full, "name": name, "owner": map[string]any{"login": owner}, "default_branch": "main"}
}

func payload(t *testing.T, v map[string]any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandleEvent(t *testing.T) {
	s := eventSource(t)
	at := "2026-05-04T09:00:00Z"
	later := "2026-05-04T09:12:00Z"
	deployment := map[string]any{"id": 42, "sha": "abc", "ref": "main", "environment": "production", "created_at": at, "updated_at": at}
	tests := []struct {
		name        string
		kind        string
		body        map[string]any
		wantCollect bool
		want        []schema.Deployment
	}{
		{"a deployment's final status", "deployment_status", map[string]any{
			"deployment": deployment, "repository": repoJSON("acme/api"),
			"deployment_status": map[string]any{"id": 7, "state": "success", "created_at": later, "updated_at": later},
		}, false, []schema.Deployment{{
			Source: "gh", ID: "acme/api/deployments/42", Repo: "acme/api", Service: "api", Environment: "production",
			CommitSHA: "abc", Ref: "main", Status: schema.DeploymentSuccess, Trigger: schema.TriggerAutomatic, Attempt: 1,
			StartedAt: mustTime(at), FinishedAt: mustTime(later), UpdatedAt: mustTime(later),
		}}},
		{"a manual deploy workflow run on the default branch", "workflow_run", map[string]any{
			"action": "completed", "repository": repoJSON("acme/api"),
			"workflow": map[string]any{"name": "Deploy", "path": ".github/workflows/deploy.yml"},
			"workflow_run": map[string]any{"id": 9, "head_branch": "main", "head_sha": "def", "event": "workflow_dispatch",
				"conclusion": "success", "run_attempt": 2, "run_started_at": at, "created_at": at, "updated_at": later},
		}, false, []schema.Deployment{{
			Source: "gh", ID: "acme/api/actions/runs/9/attempts/2", Repo: "acme/api", Service: "api", Environment: "production",
			CommitSHA: "def", Ref: "main", Status: schema.DeploymentSuccess, Trigger: schema.TriggerManual, Attempt: 2,
			StartedAt: mustTime(at), FinishedAt: mustTime(later), UpdatedAt: mustTime(later),
		}}},
		{"a deploy workflow run that may be on a tag asks for a collection", "workflow_run", map[string]any{
			"action": "completed", "repository": repoJSON("acme/api"),
			"workflow":     map[string]any{"name": "Deploy", "path": ".github/workflows/deploy.yml"},
			"workflow_run": map[string]any{"id": 11, "head_branch": "v1.4.0", "event": "push", "conclusion": "success", "updated_at": later},
		}, true, nil},
		{"a deploy workflow run for a pull request is not a deployment", "workflow_run", map[string]any{
			"action": "completed", "repository": repoJSON("acme/api"),
			"workflow":     map[string]any{"name": "Deploy", "path": ".github/workflows/deploy.yml"},
			"workflow_run": map[string]any{"id": 12, "head_branch": "feature-x", "event": "pull_request", "conclusion": "success", "updated_at": later},
		}, false, nil},
		{"another workflow", "workflow_run", map[string]any{
			"action": "completed", "repository": repoJSON("acme/api"),
			"workflow":     map[string]any{"name": "CI", "path": ".github/workflows/ci.yml"},
			"workflow_run": map[string]any{"id": 10, "head_branch": "main", "conclusion": "success", "updated_at": later},
		}, false, nil},
		{"a published release", "release", map[string]any{
			"action": "published", "repository": repoJSON("acme/api"),
			"release": map[string]any{"id": 3, "tag_name": "v2.0.0", "target_commitish": "main", "published_at": later, "created_at": at},
		}, false, []schema.Deployment{{
			Source: "gh", ID: "acme/api/releases/3", Repo: "acme/api", Service: "api", Environment: "production",
			Ref: "v2.0.0", Status: schema.DeploymentSuccess, Trigger: schema.TriggerAutomatic, Attempt: 1,
			StartedAt: mustTime(later), FinishedAt: mustTime(later), UpdatedAt: mustTime(later),
		}}},
		{"a pull request asks for a collection", "pull_request", map[string]any{
			"action": "closed", "repository": repoJSON("acme/api"), "pull_request": map[string]any{"number": 1},
		}, true, nil},
		{"an excluded repository is ignored", "pull_request", map[string]any{
			"action": "closed", "repository": repoJSON("acme/sandbox"), "pull_request": map[string]any{"number": 1},
		}, false, nil},
		{"another organisation is ignored", "deployment_status", map[string]any{
			"deployment": deployment, "repository": repoJSON("other/api"),
			"deployment_status": map[string]any{"state": "success", "created_at": later},
		}, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, collect, err := s.HandleEvent(tc.kind, payload(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if collect != tc.wantCollect || len(b.Deployments) != len(tc.want) {
				t.Fatalf("collect %v, %d deployments %+v; want %v and %d", collect, len(b.Deployments), b.Deployments, tc.wantCollect, len(tc.want))
			}
			for i := range tc.want {
				if got := b.Deployments[i]; got != tc.want[i] {
					t.Errorf("got  %+v\nwant %+v", got, tc.want[i])
				}
			}
		})
	}
	if _, _, err := s.HandleEvent("deployment", []byte("{not json")); err == nil {
		t.Error("malformed payload accepted")
	}
}

func TestHandleEventRefs(t *testing.T) {
	later := "2026-05-04T09:12:00Z"
	runOn := func(branch string) []byte {
		return payload(t, map[string]any{
			"action": "completed", "repository": repoJSON("acme/api"),
			"workflow":     map[string]any{"name": "Deploy", "path": ".github/workflows/deploy.yml"},
			"workflow_run": map[string]any{"id": 9, "head_branch": branch, "event": "push", "conclusion": "success", "updated_at": later},
		})
	}
	tests := []struct {
		refs          []string
		branch        string
		wantCollect   bool
		wantDeployRun bool
	}{
		{nil, "main", false, true},
		{nil, "v1.4.0", true, false},
		{[]string{"default_branch"}, "main", false, true},
		{[]string{"default_branch"}, "v1.4.0", false, false},
		{[]string{"tags"}, "main", false, false},
		{[]string{"tags"}, "v1.4.0", true, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v on %s", tc.refs, tc.branch), func(t *testing.T) {
			s := eventSource(t)
			s.set.workflows[0].Refs = tc.refs
			b, collect, err := s.HandleEvent("workflow_run", runOn(tc.branch))
			if err != nil {
				t.Fatal(err)
			}
			if collect != tc.wantCollect || (len(b.Deployments) == 1) != tc.wantDeployRun {
				t.Errorf("collect %v, deployments %+v; want collect %v and a deployment %v", collect, b.Deployments, tc.wantCollect, tc.wantDeployRun)
			}
		})
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
