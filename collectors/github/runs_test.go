package github

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// collectLogged collects and returns the log lines the collection wrote.
func (f *fixture) collectLogged(t *testing.T, w collectors.Writer) ([]map[string]any, error) {
	t.Helper()
	var buf bytes.Buffer
	err := f.source.Collect(context.Background(), w, collectors.CollectOptions{Now: f.clock.Now, Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	var lines []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if jerr := json.Unmarshal(line, &m); jerr != nil {
			t.Fatalf("log line %q: %v", line, jerr)
		}
		lines = append(lines, m)
	}
	return lines, err
}

// logged returns the log lines with message msg.
func logged(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// runDeployments returns the stored deployments that are workflow runs, by ref.
func runDeployments(t *testing.T, st store.Store) map[string][]schema.Deployment {
	t.Helper()
	out := map[string][]schema.Deployment{}
	for _, d := range deploymentsByID(t, st) {
		if strings.Contains(d.ID, "/actions/runs/") {
			out[d.Ref] = append(out[d.Ref], d)
		}
	}
	return out
}

func TestDeployWorkflowRefs(t *testing.T) {
	// A release workflow deploys on merges to main and on release tags; it also runs
	// on a feature branch push and on a pull request, which are not deployments.
	build := func(t *testing.T) (*fixture, *githubtest.Repo) {
		f := newFixture(t)
		api := f.srv.AddRepo("acme", "api", "main")
		api.Commit("main", "ana", on(-time.Hour))
		api.Tag("v1.4.0", "main")
		api.Tag("v1.5.0", "main")
		api.Branch("feature-x", "main")
		api.Branch("fix-y", "main")
		api.AddWorkflow(githubtest.Workflow{Name: "Release", Path: ".github/workflows/release.yml"})
		for _, r := range []githubtest.WorkflowRun{
			{HeadBranch: "main", Event: "push", CreatedAt: on(0)},
			{HeadBranch: "v1.4.0", Event: "push", CreatedAt: on(time.Hour)},
			{HeadBranch: "v1.5.0", Event: "release", CreatedAt: on(2 * time.Hour)},
			{HeadBranch: "feature-x", Event: "push", CreatedAt: on(3 * time.Hour)},
			{HeadBranch: "fix-y", Event: "pull_request", CreatedAt: on(4 * time.Hour)},
			{HeadBranch: "v1.4.0", Event: "workflow_dispatch", CreatedAt: on(5 * time.Hour)},
		} {
			r.Workflow = "release.yml"
			api.AddWorkflowRun(r)
		}
		return f, api
	}
	tests := []struct {
		name   string
		refs   []string
		want   map[string]int // deployments by ref
		lookup int            // tag lookups: one per name that may be a tag, none for fix-y's pull request
		branch string         // the branch filter of the runs list
	}{
		{"default: the default branch and tags", nil, map[string]int{"main": 1, "v1.4.0": 2, "v1.5.0": 1}, 3, ""},
		{"the default branch only", []string{"default_branch"}, map[string]int{"main": 1}, 0, "main"},
		{"tags only", []string{"tags"}, map[string]int{"v1.4.0": 2, "v1.5.0": 1}, 3, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := build(t)
			f.connect(t, func(r *resolved) {
				r.api = false
				r.workflows = []WorkflowSettings{{Workflow: "release.yml", Environment: "production", Refs: tc.refs}}
			})
			st := collectortest.SQLite(t)
			if err := f.collect(context.Background(), st); err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for ref, ds := range runDeployments(t, st) {
				got[ref] = len(ds)
			}
			if !mapsEqual(got, tc.want) {
				t.Errorf("deployments by ref %v, want %v", got, tc.want)
			}
			if n := f.srv.Count("ref"); n != tc.lookup {
				t.Errorf("%d tag lookups, want %d", n, tc.lookup)
			}
			for _, r := range f.srv.Requests() {
				if r.Kind != "runs" {
					continue
				}
				q, _ := url.ParseQuery(r.RawQuery)
				if q.Get("branch") != tc.branch {
					t.Errorf("runs listed with branch=%q, want %q", q.Get("branch"), tc.branch)
				}
			}
		})
	}

	t.Run("a tag run keeps its tag and trigger; names are asked about once", func(t *testing.T) {
		f, api := build(t)
		f.connect(t, func(r *resolved) {
			r.api = false
			r.workflows = []WorkflowSettings{{Workflow: "release.yml", Environment: "production"}}
		})
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		byRef := runDeployments(t, st)
		manual := 0
		for _, d := range byRef["v1.4.0"] {
			if d.CommitSHA != api.Head("v1.4.0") {
				t.Errorf("tag run %s deployed %s, want the tagged commit", d.ID, d.CommitSHA)
			}
			if d.Trigger == schema.TriggerManual {
				manual++
			}
		}
		if manual != 1 {
			t.Errorf("%d manual runs on v1.4.0, want the workflow_dispatch one", manual)
		}
		// A new release a day later: the list changes, and only its tag is new.
		api.Tag("v1.6.0", "main")
		api.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "release.yml", HeadBranch: "v1.6.0", Event: "push", CreatedAt: on(29 * time.Hour)})
		f.srv.ResetCounts()
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if n := f.srv.Count("ref"); n != 1 {
			t.Errorf("second collection made %d tag lookups, want 1 (v1.6.0; the others are remembered)", n)
		}
		if got := len(runDeployments(t, st)["v1.6.0"]); got != 1 {
			t.Errorf("%d deployments of v1.6.0, want 1", got)
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestWorkflowRunsOverTheCap(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	setup := func(t *testing.T) (*fixture, *githubtest.Repo) {
		f := newFixture(t)
		f.clock.Set(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) // 92 days after from
		api := f.srv.AddRepo("acme", "api", "main")
		api.Commit("main", "ana", from.Add(-time.Hour))
		api.AddWorkflow(githubtest.Workflow{Name: "Deploy", Path: ".github/workflows/deploy.yml"})
		f.connect(t, func(r *resolved) {
			r.api = false
			r.since.Date = from
			r.workflows = []WorkflowSettings{{Workflow: "deploy.yml", Environment: "production"}}
		})
		return f, api
	}

	t.Run("2,500 runs are all collected", func(t *testing.T) {
		f, api := setup(t)
		// One run every 50 minutes from 00:30 on 1 March: 2,500 runs over 86.8 days.
		for i := range 2500 {
			api.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "deploy.yml", CreatedAt: from.Add(30*time.Minute + time.Duration(i)*50*time.Minute)})
		}
		st := collectortest.SQLite(t)
		lines, err := f.collectLogged(t, st)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := st.Count(context.Background(), schema.KindDeployment, store.Filter{}); n != 2500 {
			t.Fatalf("collected %d runs, want 2500", n)
		}
		// The first page says 2,500 match: the 92 days are cut into three windows of
		// 30 days 16 hours, holding 883, 883 and 734 runs, listed in 9, 9 and 8 pages.
		if got := f.srv.Count("runs"); got != 1+9+9+8 {
			t.Errorf("%d runs requests, want 27", got)
		}
		var windows []string
		for _, r := range f.srv.Requests() {
			if q, _ := url.ParseQuery(r.RawQuery); r.Kind == "runs" && !slices.Contains(windows, q.Get("created")) {
				windows = append(windows, q.Get("created"))
			}
		}
		want := []string{
			"2026-03-01T00:00:00Z..*",
			"2026-03-01T00:00:00Z..2026-03-31T15:59:59Z",
			"2026-03-31T16:00:00Z..2026-05-01T07:59:59Z",
			"2026-05-01T08:00:00Z..*",
		}
		if !slices.Equal(windows, want) {
			t.Errorf("created windows %q, want %q", windows, want)
		}
		if w := logged(lines, "more deploy workflow runs in one second than GitHub lists; the rest are not collected"); len(w) != 0 {
			t.Errorf("warned %v", w)
		}
	})

	t.Run("more than GitHub lists in one second is reported", func(t *testing.T) {
		f, api := setup(t)
		burst := from.Add(10 * 24 * time.Hour)
		for range 1001 {
			api.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "deploy.yml", CreatedAt: burst})
		}
		st := collectortest.SQLite(t)
		lines, err := f.collectLogged(t, st)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := st.Count(context.Background(), schema.KindDeployment, store.Filter{}); n != 1000 {
			t.Fatalf("collected %d runs, want the 1,000 GitHub lists", n)
		}
		w := logged(lines, "more deploy workflow runs in one second than GitHub lists; the rest are not collected")
		if len(w) != 1 || w[0]["repo"] != "acme/api" || w[0]["workflow"] != "deploy.yml" || w[0]["created"] != "2026-03-11T00:00:00Z" ||
			w[0]["runs"] != float64(1001) || w[0]["listed"] != float64(1000) || w[0]["level"] != "WARN" {
			t.Errorf("warnings %v, want one naming acme/api, deploy.yml, the second and the counts", w)
		}
	})
}

func TestWorkflowWithoutRunsWarns(t *testing.T) {
	f := newFixture(t)
	// api deploys; web has the workflow, but it only ran on a feature branch; docs has
	// no such workflow.
	api := f.srv.AddRepo("acme", "api", "main")
	api.Commit("main", "ana", on(-time.Hour))
	api.AddWorkflow(githubtest.Workflow{Name: "Deploy", Path: ".github/workflows/deploy.yml"})
	api.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "deploy.yml", CreatedAt: on(0)})
	web := f.srv.AddRepo("acme", "web", "main")
	web.Commit("main", "bo", on(-time.Hour))
	web.Branch("try-deploy", "main")
	web.AddWorkflow(githubtest.Workflow{Name: "Deploy", Path: ".github/workflows/deploy.yml"})
	web.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "deploy.yml", HeadBranch: "try-deploy", CreatedAt: on(0)})
	web.AddWorkflowRun(githubtest.WorkflowRun{Workflow: "deploy.yml", HeadBranch: "try-deploy", CreatedAt: on(time.Hour)})
	f.srv.AddRepo("acme", "docs", "main").Commit("main", "cy", on(-time.Hour))
	st := collectortest.SQLite(t)
	since := now.Add(-defaultSince).Format(time.DateOnly)
	tests := []struct {
		name     string
		workflow string
		want     map[string]string // repository → reason
	}{
		{"by file name", "deploy.yml", map[string]string{
			"acme/web":  "no completed run on the default branch (main) or a tag since " + since,
			"acme/docs": "no workflow by that name",
		}},
		{"by display name", "Deploy", map[string]string{
			"acme/web":  "no completed run on the default branch (main) or a tag since " + since,
			"acme/docs": "no workflow by that name",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.connect(t, func(r *resolved) {
				r.api = false
				r.workflows = []WorkflowSettings{{Workflow: tc.workflow, Environment: "production"}}
			})
			// Said again on the next collection, when nothing changed.
			for i := range 2 {
				lines, err := f.collectLogged(t, st)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for _, l := range logged(lines, "deploy workflow matched no run") {
					if l["workflow"] != tc.workflow || l["level"] != "WARN" {
						t.Errorf("warning %v", l)
					}
					got[l["repo"].(string)] = l["reason"].(string)
					if l["repo"] == "acme/web" && i == 0 && l["other_runs"] != float64(2) {
						t.Errorf("acme/web: other_runs %v, want the 2 runs on try-deploy", l["other_runs"])
					}
				}
				if len(got) != len(tc.want) {
					t.Fatalf("warnings %v, want %v", got, tc.want)
				}
				for repo, reason := range tc.want {
					if got[repo] != reason {
						t.Errorf("%s: reason %q, want %q", repo, got[repo], reason)
					}
				}
			}
		})
	}
}
