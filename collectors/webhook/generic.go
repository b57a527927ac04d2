package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// DeployEvent is the JSON body of /webhooks/deploy (docs/webhooks.md), exported so
// that other ways of pushing a deployment (a CLI command) share its rules: one
// deployment attempt as a CI pipeline, a deploy script or Argo CD reports it.
// Empty strings count as absent, so that templates may leave a value out.
type DeployEvent struct {
	// ID is the deployment's id in the sender's system; without one, a hash of
	// service, environment, sha and start (or finish) time is used, so that a
	// retried POST updates the same record.
	ID          string `json:"id"`
	Service     string `json:"service"`     // required
	Environment string `json:"environment"` // required
	// Status is one of success, failure, error, in_progress, queued, canceled.
	Status string `json:"status"`
	// Repo is "owner/name"; a clone URL (https or git@) is accepted and reduced to it.
	Repo string `json:"repo"`
	SHA  string `json:"sha"`
	Ref  string `json:"ref"`
	// StartedAt and FinishedAt are RFC 3339 times; FinishedAt is required when the
	// status is final (success, failure, error, canceled).
	StartedAt  string `json:"started_at"`
	FinishedAt string `json:"finished_at"`
	// Trigger is manual or automatic (the default).
	Trigger  string `json:"trigger"`
	Rollback bool   `json:"rollback"`
	Hotfix   bool   `json:"hotfix"`
	URL      string `json:"url"`
}

// IncidentEvent is the JSON body of /webhooks/incident (docs/webhooks.md), exported
// for the same reason as DeployEvent: one incident as the sender last knows it;
// posting it again with more times updates it.
type IncidentEvent struct {
	ID             string   `json:"id"`        // required
	Service        string   `json:"service"`   // required
	OpenedAt       string   `json:"opened_at"` // required, RFC 3339
	Severity       string   `json:"severity"`
	Title          string   `json:"title"`
	Labels         []string `json:"labels"`
	AcknowledgedAt string   `json:"acknowledged_at"`
	ResolvedAt     string   `json:"resolved_at"`
	// CauseDeploymentID, CauseCommitSHA and CausePullRequest ("owner/repo#N") name
	// the deployment, commit or pull request that caused the incident, which makes
	// the deployment that shipped it a change failure.
	CauseDeploymentID string `json:"cause_deployment_id"`
	CauseCommitSHA    string `json:"cause_commit_sha"`
	CausePullRequest  string `json:"cause_pull_request"`
	URL               string `json:"url"`
}

// pullRequestRef is "owner/repo#N", how flowmeter names a pull request.
var pullRequestRef = regexp.MustCompile(`^[^/\s#]+/[^/\s#]+#[1-9][0-9]*$`)

// deployStatuses are the statuses a pushed deployment may have, and whether each
// is final (needs finished_at).
var deployStatuses = map[schema.DeploymentStatus]bool{
	schema.DeploymentSuccess:    true,
	schema.DeploymentFailure:    true,
	schema.DeploymentError:      true,
	schema.DeploymentCanceled:   true,
	schema.DeploymentInProgress: false,
	schema.DeploymentQueued:     false,
}

var shaPattern = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// decodeStrict decodes one JSON object into v, refusing unknown fields (a misspelt
// optional field would otherwise be lost silently) and trailing data.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("empty body: want a JSON object")
		}
		return badRequest("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("malformed JSON: more than one value in the body")
	}
	return nil
}

// deploy handles /webhooks/deploy.
func (h *handler) deploy(_ context.Context, body []byte) (outcome, error) {
	var ev DeployEvent
	if err := decodeStrict(body, &ev); err != nil {
		return outcome{}, err
	}
	d, err := ev.Deployment(h.src.name, h.now())
	if err != nil {
		return outcome{}, err
	}
	return outcome{batch: &schema.Batch{Deployments: []schema.Deployment{d}}}, nil
}

// incident handles /webhooks/incident.
func (h *handler) incident(_ context.Context, body []byte) (outcome, error) {
	var ev IncidentEvent
	if err := decodeStrict(body, &ev); err != nil {
		return outcome{}, err
	}
	inc, err := ev.Incident(h.src.name)
	if err != nil {
		return outcome{}, err
	}
	return outcome{batch: &schema.Batch{Incidents: []schema.Incident{inc}}}, nil
}

// Deployment validates the event and turns it into the record of source; now is
// its version when the event carries no time at all.
func (ev DeployEvent) Deployment(source string, now time.Time) (schema.Deployment, error) {
	d := schema.Deployment{
		Source: source, ID: strings.TrimSpace(ev.ID), Service: strings.TrimSpace(ev.Service),
		Environment: strings.TrimSpace(ev.Environment), Ref: strings.TrimSpace(ev.Ref), URL: strings.TrimSpace(ev.URL),
		Rollback: ev.Rollback, Hotfix: ev.Hotfix, Attempt: 1, Trigger: schema.TriggerAutomatic,
	}
	if d.Service == "" {
		return d, badRequest("service is required")
	}
	if d.Environment == "" {
		return d, badRequest("environment is required")
	}
	status := schema.DeploymentStatus(strings.ToLower(strings.TrimSpace(ev.Status)))
	final, ok := deployStatuses[status]
	if !ok {
		if status == "" {
			return d, badRequest("status is required: one of success, failure, error, in_progress, queued, canceled")
		}
		return d, badRequest("status: want one of success, failure, error, in_progress, queued, canceled, got %q", ev.Status)
	}
	d.Status = status
	switch t := strings.ToLower(strings.TrimSpace(ev.Trigger)); t {
	case "", string(schema.TriggerAutomatic):
	case string(schema.TriggerManual):
		d.Trigger = schema.TriggerManual
	default:
		return d, badRequest("trigger: want manual or automatic, got %q", ev.Trigger)
	}
	var err error
	if d.Repo, err = normaliseRepo(ev.Repo); err != nil {
		return d, err
	}
	if d.CommitSHA, err = normaliseSHA("sha", ev.SHA); err != nil {
		return d, err
	}
	started, err := parseTime("started_at", ev.StartedAt)
	if err != nil {
		return d, err
	}
	if d.FinishedAt, err = parseTime("finished_at", ev.FinishedAt); err != nil {
		return d, err
	}
	if final && d.FinishedAt.IsZero() {
		return d, badRequest("finished_at is required when status is %s", status)
	}
	if !started.IsZero() && !d.FinishedAt.IsZero() && d.FinishedAt.Before(started) {
		return d, badRequest("finished_at is before started_at")
	}
	// The time that places the deployment, and names it when no id is given: the
	// start when known, so that in_progress and its final event are one record.
	anchor := started
	if anchor.IsZero() {
		anchor = d.FinishedAt
	}
	d.StartedAt = anchor
	if d.ID == "" {
		d.ID = hashID("deploy", d.Service, d.Environment, d.CommitSHA, formatTime(anchor))
	}
	d.UpdatedAt = latest(started, d.FinishedAt)
	if d.UpdatedAt.IsZero() {
		// An in_progress or queued event without times: place it now.
		d.UpdatedAt = now.UTC()
		d.StartedAt = d.UpdatedAt
	}
	return d, validate(schema.Deployments, &d, deployFields)
}

// deployFields names the deploy JSON's fields whose record columns are named
// otherwise.
var deployFields = map[string]string{"commit_sha": "sha"}

// validate applies the rules every store holds (schema.Validate) to a record built
// from an event, naming the event's field in the 400, so that what intake accepts
// no store refuses later; fields maps a column to its name in the event where they
// differ.
func validate[R any](t *schema.Table[R], r *R, fields map[string]string) error {
	err := schema.Validate(t, r)
	var inv *schema.InvalidError
	if !errors.As(err, &inv) {
		return err
	}
	field := inv.Field
	if name, ok := fields[field]; ok {
		field = name
	}
	return badRequest("%s %v", field, inv.Err)
}

// Incident validates the event and turns it into the record of source.
func (ev IncidentEvent) Incident(source string) (schema.Incident, error) {
	inc := schema.Incident{
		Source: source, ID: strings.TrimSpace(ev.ID), Service: strings.TrimSpace(ev.Service),
		Severity: strings.TrimSpace(ev.Severity), Title: strings.TrimSpace(ev.Title),
		CauseDeploymentID: strings.TrimSpace(ev.CauseDeploymentID), URL: strings.TrimSpace(ev.URL),
	}
	if inc.ID == "" {
		return inc, badRequest("id is required")
	}
	if inc.Service == "" {
		return inc, badRequest("service is required")
	}
	for _, l := range ev.Labels {
		if l = strings.TrimSpace(l); l != "" {
			inc.Labels = append(inc.Labels, l)
		}
	}
	var err error
	if inc.CauseCommitSHA, err = normaliseSHA("cause_commit_sha", ev.CauseCommitSHA); err != nil {
		return inc, err
	}
	if inc.CausePullRequest = strings.TrimSpace(ev.CausePullRequest); inc.CausePullRequest != "" && !pullRequestRef.MatchString(inc.CausePullRequest) {
		return inc, badRequest("cause_pull_request: want owner/repo#N, got %q", inc.CausePullRequest)
	}
	if inc.OpenedAt, err = parseTime("opened_at", ev.OpenedAt); err != nil {
		return inc, err
	}
	if inc.OpenedAt.IsZero() {
		return inc, badRequest("opened_at is required")
	}
	if inc.AcknowledgedAt, err = parseTime("acknowledged_at", ev.AcknowledgedAt); err != nil {
		return inc, err
	}
	if inc.ResolvedAt, err = parseTime("resolved_at", ev.ResolvedAt); err != nil {
		return inc, err
	}
	if !inc.ResolvedAt.IsZero() && inc.ResolvedAt.Before(inc.OpenedAt) {
		return inc, badRequest("resolved_at is before opened_at")
	}
	if !inc.AcknowledgedAt.IsZero() && inc.AcknowledgedAt.Before(inc.OpenedAt) {
		return inc, badRequest("acknowledged_at is before opened_at")
	}
	inc.UpdatedAt = latest(inc.OpenedAt, inc.AcknowledgedAt, inc.ResolvedAt)
	return inc, validate(schema.Incidents, &inc, nil)
}

// parseTime reads an optional RFC 3339 time, in UTC, within the times a store
// holds: checked here, so that the 400 names the field the sender wrote.
func parseTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest("%s: want an RFC 3339 time such as 2026-03-01T14:05:00Z, got %q", field, s)
	}
	if err := schema.CheckTime(t); err != nil {
		return time.Time{}, badRequest("%s %v", field, err)
	}
	return t.UTC(), nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// hashID names a record that the sender gave no id, from the fields that identify
// it, so that the same event posted twice is the same record.
func hashID(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return kind + "-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// normaliseSHA accepts an abbreviated or full commit hash, lower-cased.
func normaliseSHA(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if !shaPattern.MatchString(s) {
		return "", badRequest("%s: want a commit hash (7 to 64 hex digits), got %q", field, s)
	}
	return strings.ToLower(s), nil
}

// scpLike matches git's scp-like clone addresses, "git@github.com:acme/api.git".
var scpLike = regexp.MustCompile(`^[^@/:]+@[^:/]+:(.+)$`)

// normaliseRepo reduces a repository to "owner/name", the form every other source
// uses, accepting a clone URL because that is what CD tools know.
func normaliseRepo(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	p := s
	if m := scpLike.FindStringSubmatch(s); m != nil {
		p = m[1]
	} else if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return "", badRequest("repo: want owner/name or a clone URL, got %q", s)
		}
		p = u.Path
	}
	// Slashes are trimmed again after ".git": "acme/api/.git" is acme/api, as
	// posting "acme/api/" is, so that normalising is idempotent.
	p = strings.Trim(strings.TrimSuffix(strings.Trim(p, "/"), ".git"), "/")
	owner, name, ok := strings.Cut(p, "/")
	if !ok || owner == "" || name == "" || strings.ContainsAny(p, " \t") {
		return "", badRequest("repo: want owner/name or a clone URL, got %q", s)
	}
	return p, nil
}
