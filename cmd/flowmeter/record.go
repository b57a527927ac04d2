package main

import (
	"context"
	"fmt"
	"github.com/flowmeter/flowmeter/metrics/refresh"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors/webhook"
	"github.com/flowmeter/flowmeter/schema"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// runRecord records a deployment or an incident from a CI step or a script, with the
// rules of the generic webhooks (docs/webhooks.md), then derives.
func runRecord(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || (args[0] != "deploy" && args[0] != "incident") {
		return fmt.Errorf("record: expected 'record deploy' or 'record incident' (run 'flowmeter record deploy -h')")
	}
	kind := args[0]
	fs := newFlags(env, "record "+kind, "record "+kind+" [--config FILE] [flags]")
	configPath := fs.String("config", "flowmeter.yaml", "config file")
	source := fs.String("source", "record", "source name the record carries")
	now := time.Now().UTC()
	var batch schema.Batch
	var describe func() string
	switch kind {
	case "deploy":
		var ev webhook.DeployEvent
		fs.StringVar(&ev.ID, "id", "", "the deployment's id in your system (default: derived from service, environment, sha and times)")
		fs.StringVar(&ev.Service, "service", "", "service deployed (required)")
		fs.StringVar(&ev.Environment, "environment", "", "environment deployed to (required)")
		fs.StringVar(&ev.Status, "status", "success", "success, failure, error, in_progress, queued or canceled")
		fs.StringVar(&ev.Repo, "repo", "", "repository, owner/name")
		fs.StringVar(&ev.SHA, "sha", "", "commit deployed")
		fs.StringVar(&ev.Ref, "ref", "", "branch or tag deployed")
		fs.StringVar(&ev.StartedAt, "started", "", "start time, RFC 3339 or 'now'")
		fs.StringVar(&ev.FinishedAt, "finished", "", "finish time, RFC 3339 or 'now' (default now when the status is final)")
		fs.StringVar(&ev.Trigger, "trigger", "", "manual or automatic (default automatic)")
		fs.BoolVar(&ev.Rollback, "rollback", false, "this deployment is a rollback")
		fs.BoolVar(&ev.Hotfix, "hotfix", false, "this deployment is a hotfix")
		fs.StringVar(&ev.URL, "url", "", "link to the deployment")
		if err := fs.parse(args[1:]); err != nil {
			return err
		}
		ev.StartedAt, ev.FinishedAt = nowIs(ev.StartedAt, now), nowIs(ev.FinishedAt, now)
		if ev.FinishedAt == "" && ev.Status != "in_progress" && ev.Status != "queued" {
			ev.FinishedAt = now.Format(time.RFC3339)
		}
		d, err := ev.Deployment(*source, now)
		if err != nil {
			return fmt.Errorf("record deploy: %w", err)
		}
		batch.Deployments = []schema.Deployment{d}
		describe = func() string {
			return fmt.Sprintf("recorded deployment %s (%s, %s, %s)", d.ID, d.Service, d.Environment, d.Status)
		}
	case "incident":
		var ev webhook.IncidentEvent
		var labels listFlag
		fs.StringVar(&ev.ID, "id", "", "the incident's id (required)")
		fs.StringVar(&ev.Service, "service", "", "service affected (required)")
		fs.StringVar(&ev.OpenedAt, "opened", "now", "when it opened, RFC 3339 or 'now'")
		fs.StringVar(&ev.AcknowledgedAt, "acknowledged", "", "when it was acknowledged")
		fs.StringVar(&ev.ResolvedAt, "resolved", "", "when it was resolved")
		fs.StringVar(&ev.Severity, "severity", "", "severity, e.g. SEV2")
		fs.StringVar(&ev.Title, "title", "", "title")
		fs.Var(&labels, "label", "a label (repeatable)")
		fs.StringVar(&ev.CauseDeploymentID, "cause-deployment", "", "id of the deployment that caused it")
		fs.StringVar(&ev.CauseCommitSHA, "cause-sha", "", "commit that caused it")
		fs.StringVar(&ev.CausePullRequest, "cause-pr", "", "pull request that caused it, owner/repo#N")
		fs.StringVar(&ev.URL, "url", "", "link to the incident")
		if err := fs.parse(args[1:]); err != nil {
			return err
		}
		ev.Labels = labels
		ev.OpenedAt, ev.AcknowledgedAt, ev.ResolvedAt = nowIs(ev.OpenedAt, now), nowIs(ev.AcknowledgedAt, now), nowIs(ev.ResolvedAt, now)
		inc, err := ev.Incident(*source)
		if err != nil {
			return fmt.Errorf("record incident: %w", err)
		}
		batch.Incidents = []schema.Incident{inc}
		describe = func() string { return fmt.Sprintf("recorded incident %s (%s)", inc.ID, inc.Service) }
	}
	cfg, sources, s, err := openConfigured(ctx, *configPath)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Write(ctx, &batch); err != nil {
		return fmt.Errorf("record %s: %w", kind, err)
	}
	fmt.Fprintln(env.stdout, describe())
	var written refresh.Written
	written.Add(&batch)
	sum, err := refreshFacts(ctx, cfg, sources, s, refresh.Options{Written: written})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, describeRefresh(sum))
	return nil
}

// nowIs turns the word "now" into the time.
func nowIs(v string, now time.Time) string {
	if v == "now" {
		return now.Format(time.RFC3339)
	}
	return v
}
