package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// fluxEvent is the body Flux's notification-controller posts with its generic and
// generic-hmac providers (the Event of github.com/fluxcd/pkg/apis/event/v1), with
// the fields flowmeter reads.
type fluxEvent struct {
	InvolvedObject struct {
		Kind            string `json:"kind"`
		Namespace       string `json:"namespace"`
		Name            string `json:"name"`
		UID             string `json:"uid"`
		APIVersion      string `json:"apiVersion"`
		ResourceVersion string `json:"resourceVersion"`
	} `json:"involvedObject"`
	Severity  string `json:"severity"` // info or error
	Timestamp string `json:"timestamp"`
	Message   string `json:"message"`
	Reason    string `json:"reason"`
	// Metadata carries the revision ("main@sha1:<sha>"), under "revision" or, from
	// older controllers, "<group>/revision", and the Alert's eventMetadata.
	Metadata            map[string]string `json:"metadata"`
	ReportingController string            `json:"reportingController"`
	ReportingInstance   string            `json:"reportingInstance"`
}

// fluxDeployers are the kinds whose events are deployments; source objects'
// events (GitRepository, HelmChart …) are not.
var fluxDeployers = map[string]bool{"Kustomization": true, "HelmRelease": true}

// fluxSucceeded are the reasons of info events that report a finished, successful
// reconciliation (kustomize-controller and helm-controller). Progressing events
// come before health checks end and are not finished deployments.
var fluxSucceeded = map[string]bool{
	"ReconciliationSucceeded": true,
	"InstallSucceeded":        true,
	"UpgradeSucceeded":        true,
	"RollbackSucceeded":       true,
}

// fluxSeen remembers, per Flux object, the status and revision last recorded, so
// that kustomize-controller's "Reconciliation finished" event, sent after every
// periodic reconciliation, records a revision's deployment once, not every interval.
// A cursor per object keeps this across restarts; the map saves reading it.
type fluxSeen struct {
	mu   sync.Mutex
	last map[string]string // cursor stream -> value
}

// cursorTimeout bounds reading a Flux object's cursor from the store.
const cursorTimeout = 2 * time.Second

// fluxStream is the cursor stream of one Flux object.
func fluxStream(ev *fluxEvent) string {
	o := ev.InvolvedObject
	return "flux:" + o.Namespace + "/" + o.Kind + "/" + o.Name
}

// flux handles /webhooks/flux.
func (h *handler) flux(ctx context.Context, body []byte) (outcome, error) {
	var ev fluxEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ev); err != nil {
		if errors.Is(err, io.EOF) {
			return outcome{}, badRequest("empty body: want a Flux event")
		}
		return outcome{}, badRequest("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return outcome{}, badRequest("malformed JSON: more than one value in the body")
	}
	d, ignored, err := ev.deployment(h.src.name, h.src.fluxEnv)
	if err != nil || ignored != "" {
		return outcome{ignored: ignored}, err
	}
	revision := fluxRevision(ev.Metadata)
	if revision == "" {
		// Nothing to tell a repeat from a new deployment: record each event.
		return outcome{batch: &schema.Batch{Deployments: []schema.Deployment{d}}}, nil
	}
	stream, value := fluxStream(&ev), string(d.Status)+" "+revision
	cur := schema.Cursor{Source: h.src.name, Stream: stream, Value: value, UpdatedAt: d.UpdatedAt}
	if err := schema.ValidateCursor(&cur); err != nil {
		return outcome{}, badRequest("involvedObject and metadata.revision make a cursor no store holds: %v", err)
	}
	if h.fluxAlreadyRecorded(ctx, stream, value) {
		return outcome{ignored: fmt.Sprintf("%s of this revision is already recorded", d.Status)}, nil
	}
	return outcome{
		batch: &schema.Batch{Deployments: []schema.Deployment{d}, Cursors: []schema.Cursor{cur}},
		done:  func() { h.fluxRecorded(stream, value) },
	}, nil
}

// fluxAlreadyRecorded says whether the object's last recorded status and revision
// are value, from memory or else from the store's cursor. A store that cannot
// answer means "no": recording twice is harmless.
func (h *handler) fluxAlreadyRecorded(ctx context.Context, stream, value string) bool {
	s := &h.fluxSeen
	s.mu.Lock()
	last, ok := s.last[stream]
	s.mu.Unlock()
	if ok {
		return last == value
	}
	if h.env.Writer == nil {
		return false
	}
	// A store that is down must not hold the request up: the event is then recorded.
	ctx, cancel := context.WithTimeout(ctx, cursorTimeout)
	defer cancel()
	cur, err := h.env.Writer.Cursor(ctx, h.src.name, stream)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false
	case err != nil:
		h.log.Debug("cannot read flux cursor; recording the event", "stream", stream, "err", err)
		return false
	}
	h.fluxRecorded(stream, cur.Value)
	return cur.Value == value
}

func (h *handler) fluxRecorded(stream, value string) {
	s := &h.fluxSeen
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]string{}
	}
	s.last[stream] = value
}

// deployment turns a Flux event into the deployment record of source, or says why
// the event is not one. environment is the configured flux_environment, which an
// Alert's eventMetadata "environment" overrides.
func (ev *fluxEvent) deployment(source, environment string) (d schema.Deployment, ignored string, err error) {
	o := ev.InvolvedObject
	if strings.TrimSpace(o.Name) == "" || strings.TrimSpace(o.Kind) == "" {
		return d, "", badRequest("involvedObject.kind and involvedObject.name are required")
	}
	at, err := parseTime("timestamp", ev.Timestamp)
	if err != nil {
		return d, "", err
	}
	if at.IsZero() {
		return d, "", badRequest("timestamp is required")
	}
	if !fluxDeployers[o.Kind] {
		return d, fmt.Sprintf("%s events are not deployments", o.Kind), nil
	}
	var status schema.DeploymentStatus
	switch sev := strings.ToLower(ev.Severity); {
	case sev == "error":
		status = schema.DeploymentFailure
	case sev == "info" && fluxSucceeded[ev.Reason]:
		status = schema.DeploymentSuccess
	case sev == "info":
		return d, fmt.Sprintf("info event with reason %q is not a finished deployment", ev.Reason), nil
	default:
		return d, "", badRequest("severity: want info or error, got %q", ev.Severity)
	}
	if env := strings.TrimSpace(ev.Metadata["environment"]); env != "" {
		environment = env
	}
	revision := fluxRevision(ev.Metadata)
	sha, ref := parseFluxRevision(revision)
	if sha == "" {
		sha, _ = parseFluxRevision(fluxMeta(ev.Metadata, "originRevision"))
	}
	repo, err := normaliseRepo(ev.Metadata["repo"])
	if err != nil {
		return d, "", err
	}
	// A retried post of the event names the same record; periodic repeats (new
	// timestamps) are dropped by the handler before they get here.
	d = schema.Deployment{
		Source: source, ID: hashID("flux", o.Namespace, o.Kind, o.Name, revision, string(status), formatTime(at)),
		Repo: repo, Service: o.Name, Environment: environment, CommitSHA: sha, Ref: ref,
		Status: status, Trigger: schema.TriggerAutomatic, Rollback: ev.Reason == "RollbackSucceeded", Attempt: 1,
		StartedAt: at, FinishedAt: at, UpdatedAt: at,
	}
	return d, "", validate(schema.Deployments, &d, fluxFields)
}

// fluxFields names the Flux event's fields that a deployment's columns come from.
var fluxFields = map[string]string{
	"service":     "involvedObject.name",
	"environment": "metadata.environment",
	"repo":        "metadata.repo",
	"ref":         "metadata.revision",
	"commit_sha":  "metadata.revision",
}

// fluxRevision is the event's revision, whichever controller version sent it.
func fluxRevision(meta map[string]string) string { return fluxMeta(meta, "revision") }

// fluxMeta reads a metadata key that controllers send either bare or prefixed with
// their API group ("kustomize.toolkit.fluxcd.io/revision").
func fluxMeta(meta map[string]string, key string) string {
	if v, ok := meta[key]; ok {
		return strings.TrimSpace(v)
	}
	for k, v := range meta {
		if strings.HasSuffix(k, "/"+key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// parseFluxRevision reads a commit sha and ref out of a Flux source revision:
// "main@sha1:<sha>", "refs/tags/v1@sha1:<sha>", "sha1:<sha>", or the older
// "main/<sha>". Other revisions (a chart version, an OCI digest) carry no commit.
func parseFluxRevision(rev string) (sha, ref string) {
	if rev == "" {
		return "", ""
	}
	if at := strings.LastIndex(rev, "@"); at >= 0 {
		ref, rev = rev[:at], rev[at+1:]
	}
	if hexSHA, ok := strings.CutPrefix(rev, "sha1:"); ok {
		if s, err := normaliseSHA("revision", hexSHA); err == nil {
			return s, ref
		}
		return "", ""
	}
	if ref != "" {
		return "", ""
	}
	// The format before Flux 2.0: "<branch>/<sha>", or a bare sha.
	slash := strings.LastIndex(rev, "/")
	if s, err := normaliseSHA("revision", rev[slash+1:]); err == nil && len(s) == 40 {
		if slash >= 0 {
			ref = rev[:slash]
		}
		return s, ref
	}
	return "", ""
}
