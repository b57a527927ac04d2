package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	gh "github.com/flowmeter/flowmeter/collectors/github"
	"github.com/flowmeter/flowmeter/collectors/webhook"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// The fuzz targets post to the real handlers through httptest, so that what is
// fuzzed is what a sender reaches: authentication, the body limit, decoding,
// validation and the reply. They keep their own helpers (prefixed fuzz) so that
// they depend only on the package's exported API and its HTTP behaviour.

const (
	fuzzToken        = "fuzz-token-5b1e"
	fuzzHMAC         = "fuzz-hmac-9d4c"
	fuzzGitHubSecret = "fuzz-github-2a7f"
)

var fuzzNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fuzzWriter is an in-memory durable writer.
type fuzzWriter struct {
	mu      sync.Mutex
	batches []*schema.Batch
	cursors map[string]schema.Cursor
}

func (w *fuzzWriter) Write(_ context.Context, b *schema.Batch) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batches = append(w.batches, b)
	for _, c := range b.Cursors {
		if w.cursors == nil {
			w.cursors = map[string]schema.Cursor{}
		}
		w.cursors[c.Source+"\x00"+c.Stream] = c
	}
	return nil
}

func (w *fuzzWriter) Cursor(_ context.Context, source, stream string) (schema.Cursor, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.cursors[source+"\x00"+stream]; ok {
		return c, nil
	}
	return schema.Cursor{}, store.ErrNotFound
}

func (w *fuzzWriter) take() (deployments []schema.Deployment, incidents []schema.Incident) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.batches {
		deployments = append(deployments, b.Deployments...)
		incidents = append(incidents, b.Incidents...)
	}
	w.batches = nil
	return deployments, incidents
}

// fuzzSources builds, once per target, a webhook source "ci" serving every endpoint
// and the GitHub source "acme-github" it hands GitHub's events to.
func fuzzSources(f *testing.F) (hook collectors.Receiver, github collectors.Source) {
	f.Helper()
	f.Setenv("FUZZ_WEBHOOK_TOKEN", fuzzToken)
	f.Setenv("FUZZ_WEBHOOK_HMAC", fuzzHMAC)
	f.Setenv("FUZZ_WEBHOOK_GITHUB", fuzzGitHubSecret)
	f.Setenv("FUZZ_GITHUB_TOKEN", "unused")
	cfg, err := config.Parse([]byte(`
sources:
  - name: ci
    webhook:
      token_env: FUZZ_WEBHOOK_TOKEN
      hmac_secret_env: FUZZ_WEBHOOK_HMAC
      github_secret_env: FUZZ_WEBHOOK_GITHUB
      github_source: acme-github
  - name: acme-github
    github:
      token_env: FUZZ_GITHUB_TOKEN
      organizations: [acme]
      exclude: [acme/sandbox]
      deployments:
        workflows:
          - workflow: deploy.yml
        releases:
          enabled: true
`), "/etc/flowmeter/flowmeter.yaml")
	if err != nil {
		f.Fatal(err)
	}
	built, err := collectors.Registry{"webhook": webhook.NewSource, "github": gh.NewSource}.Build(cfg)
	if err != nil {
		f.Fatal(err)
	}
	return built[0].Source.(collectors.Receiver), built[1].Source
}

// fuzzServer is the webhook source's routes mounted afresh, with its own writer, so
// that one input's state (Flux's last revisions) does not leak into the next.
type fuzzServer struct {
	mux *http.ServeMux
	w   *fuzzWriter
}

func newFuzzServer(hook collectors.Receiver, github collectors.Source) *fuzzServer {
	s := &fuzzServer{mux: http.NewServeMux(), w: &fuzzWriter{}}
	env := collectors.ReceiverEnv{
		Writer: s.w,
		Source: func(name string) (collectors.Source, bool) {
			return github, name == "acme-github"
		},
		Collect: func(string) {},
		Now:     func() time.Time { return fuzzNow },
	}
	for path, h := range hook.Routes(env) {
		s.mux.Handle(path, h)
	}
	return s
}

// post sends a body as senders do, as JSON, with the headers given besides.
func (s *fuzzServer) post(path string, body []byte, headers map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, r)
	return rec
}

func fuzzBearer() map[string]string { return map[string]string{"Authorization": "Bearer " + fuzzToken} }

// fuzzReply checks what every answer must be: one of the documented statuses, one
// line of JSON with a status or an error, never a secret. It returns the reply.
func fuzzReply(t *testing.T, rec *httptest.ResponseRecorder, bodyLen int, allowed ...int) map[string]any {
	t.Helper()
	if bodyLen > webhook.MaxBody {
		allowed = append(allowed, http.StatusRequestEntityTooLarge)
	}
	ok := false
	for _, code := range allowed {
		ok = ok || rec.Code == code
	}
	if !ok {
		t.Fatalf("status %d, want one of %v; reply %s", rec.Code, allowed, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.Bytes()
	if bytes.Count(bytes.TrimSpace(body), []byte("\n")) != 0 {
		t.Errorf("reply is not one line: %q", body)
	}
	for _, secret := range []string{fuzzToken, fuzzHMAC, fuzzGitHubSecret} {
		if bytes.Contains(body, []byte(secret)) {
			t.Fatalf("reply holds a secret: %s", body)
		}
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("reply %q is not a JSON object: %v", body, err)
	}
	if rec.Code >= 400 {
		if reason, _ := v["error"].(string); strings.TrimSpace(reason) == "" {
			t.Errorf("%d without a reason: %s", rec.Code, body)
		}
	} else if v["status"] == nil {
		t.Errorf("%d without a status: %s", rec.Code, body)
	}
	return v
}

// decodeLikeTheHandler decodes body as the generic endpoints document it: one JSON
// object, no unknown fields, nothing after it.
func decodeLikeTheHandler(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more than one value")
	}
	return nil
}

var (
	fuzzSHA  = regexp.MustCompile(`^[0-9a-f]{7,64}$`)
	fuzzPRef = regexp.MustCompile(`^[^/\s#]+/[^/\s#]+#[1-9][0-9]*$`)
)

// checkDeployment asserts what every pushed deployment record must hold for
// derivation to use it: its identity, a known status and trigger, and times that
// place it.
func checkDeployment(t *testing.T, d schema.Deployment, source string) {
	t.Helper()
	if d.Source != source || strings.TrimSpace(d.ID) == "" || strings.TrimSpace(d.Service) == "" || strings.TrimSpace(d.Environment) == "" {
		t.Fatalf("deployment without identity: %+v", d)
	}
	switch d.Status {
	case schema.DeploymentSuccess, schema.DeploymentFailure, schema.DeploymentError, schema.DeploymentCanceled:
		if d.FinishedAt.IsZero() {
			t.Errorf("final status %s without finished_at: %+v", d.Status, d)
		}
	case schema.DeploymentInProgress, schema.DeploymentQueued:
	default:
		t.Errorf("status %q: %+v", d.Status, d)
	}
	if d.Trigger != schema.TriggerAutomatic && d.Trigger != schema.TriggerManual {
		t.Errorf("trigger %q", d.Trigger)
	}
	if d.Attempt != 1 {
		t.Errorf("attempt %d, want 1", d.Attempt)
	}
	if d.StartedAt.IsZero() || d.UpdatedAt.IsZero() {
		t.Errorf("deployment not placed in time: %+v", d)
	}
	if !d.FinishedAt.IsZero() && d.FinishedAt.Before(d.StartedAt) {
		t.Errorf("finished before it started: %+v", d)
	}
	if d.UpdatedAt.Before(d.StartedAt) || d.UpdatedAt.Before(d.FinishedAt) {
		t.Errorf("version %v is older than the times it carries: %+v", d.UpdatedAt, d)
	}
	for _, at := range []time.Time{d.StartedAt, d.FinishedAt, d.UpdatedAt} {
		if at.Location() != time.UTC {
			t.Errorf("time %v not in UTC", at)
		}
	}
	if d.CommitSHA != "" && !fuzzSHA.MatchString(d.CommitSHA) {
		t.Errorf("commit %q is not a lower-case hash", d.CommitSHA)
	}
	if d.Repo != "" {
		owner, name, ok := strings.Cut(d.Repo, "/")
		if !ok || owner == "" || name == "" || strings.ContainsAny(d.Repo, " \t") {
			t.Errorf("repo %q is not owner/name", d.Repo)
		}
	}
}

// FuzzDeploy posts arbitrary bodies to /webhooks/deploy. An accepted body yields
// one valid record, the one DeployEvent.Deployment (which `flowmeter record` uses)
// makes of it; posting it again names the same record; and the record, posted back
// as a deploy event, is itself. A refused body writes nothing.
func FuzzDeploy(f *testing.F) {
	hook, github := fuzzSources(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newFuzzServer(hook, github)
		rec := s.post(webhook.PathDeploy, body, fuzzBearer())
		fuzzReply(t, rec, len(body), http.StatusAccepted, http.StatusBadRequest)
		got, incidents := s.w.take()
		if len(incidents) > 0 {
			t.Fatalf("deploy wrote incidents: %+v", incidents)
		}
		var ev webhook.DeployEvent
		decodeErr := decodeLikeTheHandler(body, &ev)
		if rec.Code != http.StatusAccepted {
			if len(got) > 0 {
				t.Fatalf("%d, yet %d deployments written", rec.Code, len(got))
			}
			if decodeErr == nil && len(body) <= webhook.MaxBody {
				if d, err := ev.Deployment("ci", fuzzNow); err == nil {
					t.Fatalf("the handler refused what DeployEvent.Deployment accepts (%+v): %s", d, rec.Body)
				}
			}
			return
		}
		if len(got) != 1 {
			t.Fatalf("202 with %d deployments written, want 1", len(got))
		}
		d := got[0]
		checkDeployment(t, d, "ci")
		if decodeErr != nil {
			t.Fatalf("the handler accepted a body that is not one deploy event: %v", decodeErr)
		}
		direct, err := ev.Deployment("ci", fuzzNow)
		if err != nil || !reflect.DeepEqual(direct, d) {
			t.Fatalf("DeployEvent.Deployment disagrees with the handler:\nhandler: %+v\ndirect:  %+v (%v)", d, direct, err)
		}
		if later, err := ev.Deployment("ci", fuzzNow.Add(time.Hour)); err != nil || later.ID != d.ID {
			t.Errorf("the id depends on when the event arrived: %q then %q (%v)", d.ID, later.ID, err)
		}
		if again := s.post(webhook.PathDeploy, body, fuzzBearer()); again.Code != http.StatusAccepted {
			t.Fatalf("posting the same body again: %d %s", again.Code, again.Body)
		}
		if retried, _ := s.w.take(); len(retried) != 1 || !reflect.DeepEqual(retried[0], d) {
			t.Fatalf("a retried post wrote %+v, want the same record %+v", retried, d)
		}
		back := webhook.DeployEvent{
			ID: d.ID, Service: d.Service, Environment: d.Environment, Status: string(d.Status), Repo: d.Repo,
			SHA: d.CommitSHA, Ref: d.Ref, StartedAt: d.StartedAt.Format(time.RFC3339Nano), Trigger: string(d.Trigger),
			Rollback: d.Rollback, Hotfix: d.Hotfix, URL: d.URL,
		}
		if !d.FinishedAt.IsZero() {
			back.FinishedAt = d.FinishedAt.Format(time.RFC3339Nano)
		}
		if rt, err := back.Deployment("ci", fuzzNow); err != nil || !reflect.DeepEqual(rt, d) {
			t.Fatalf("the record posted back is not itself:\nrecord: %+v\nback:   %+v (%v)", d, rt, err)
		}
	})
}

// FuzzIncident posts arbitrary bodies to /webhooks/incident, with the same
// properties as FuzzDeploy: valid records, agreement with IncidentEvent.Incident,
// and a record that posts back as itself.
func FuzzIncident(f *testing.F) {
	hook, github := fuzzSources(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newFuzzServer(hook, github)
		rec := s.post(webhook.PathIncident, body, fuzzBearer())
		fuzzReply(t, rec, len(body), http.StatusAccepted, http.StatusBadRequest)
		deployments, got := s.w.take()
		if len(deployments) > 0 {
			t.Fatalf("incident wrote deployments: %+v", deployments)
		}
		var ev webhook.IncidentEvent
		decodeErr := decodeLikeTheHandler(body, &ev)
		if rec.Code != http.StatusAccepted {
			if len(got) > 0 {
				t.Fatalf("%d, yet %d incidents written", rec.Code, len(got))
			}
			if decodeErr == nil && len(body) <= webhook.MaxBody {
				if inc, err := ev.Incident("ci"); err == nil {
					t.Fatalf("the handler refused what IncidentEvent.Incident accepts (%+v): %s", inc, rec.Body)
				}
			}
			return
		}
		if len(got) != 1 {
			t.Fatalf("202 with %d incidents written, want 1", len(got))
		}
		inc := got[0]
		if inc.UpdatedAt.IsZero() {
			t.Errorf("incident without a version: %+v", inc)
		}
		if inc.Source != "ci" || strings.TrimSpace(inc.ID) == "" || strings.TrimSpace(inc.Service) == "" || inc.OpenedAt.IsZero() {
			t.Fatalf("incident without identity or opening: %+v", inc)
		}
		for _, at := range []time.Time{inc.AcknowledgedAt, inc.ResolvedAt} {
			if !at.IsZero() && at.Before(inc.OpenedAt) {
				t.Errorf("incident acknowledged or resolved before it opened: %+v", inc)
			}
		}
		if inc.UpdatedAt.Before(inc.OpenedAt) || inc.UpdatedAt.Before(inc.AcknowledgedAt) || inc.UpdatedAt.Before(inc.ResolvedAt) {
			t.Errorf("version older than the incident's times: %+v", inc)
		}
		for _, l := range inc.Labels {
			if strings.TrimSpace(l) == "" || l != strings.TrimSpace(l) {
				t.Errorf("label %q kept untrimmed or empty", l)
			}
		}
		if inc.CauseCommitSHA != "" && !fuzzSHA.MatchString(inc.CauseCommitSHA) {
			t.Errorf("cause commit %q is not a lower-case hash", inc.CauseCommitSHA)
		}
		if inc.CausePullRequest != "" && !fuzzPRef.MatchString(inc.CausePullRequest) {
			t.Errorf("cause pull request %q is not owner/repo#N", inc.CausePullRequest)
		}
		if decodeErr != nil {
			t.Fatalf("the handler accepted a body that is not one incident event: %v", decodeErr)
		}
		if direct, err := ev.Incident("ci"); err != nil || !reflect.DeepEqual(direct, inc) {
			t.Fatalf("IncidentEvent.Incident disagrees with the handler:\nhandler: %+v\ndirect:  %+v (%v)", inc, direct, err)
		}
		format := func(at time.Time) string {
			if at.IsZero() {
				return ""
			}
			return at.Format(time.RFC3339Nano)
		}
		back := webhook.IncidentEvent{
			ID: inc.ID, Service: inc.Service, OpenedAt: format(inc.OpenedAt), Severity: inc.Severity, Title: inc.Title,
			Labels: inc.Labels, AcknowledgedAt: format(inc.AcknowledgedAt), ResolvedAt: format(inc.ResolvedAt),
			CauseDeploymentID: inc.CauseDeploymentID, CauseCommitSHA: inc.CauseCommitSHA, CausePullRequest: inc.CausePullRequest,
			URL: inc.URL,
		}
		if rt, err := back.Incident("ci"); err != nil || !reflect.DeepEqual(rt, inc) {
			t.Fatalf("the record posted back is not itself:\nrecord: %+v\nback:   %+v (%v)", inc, rt, err)
		}
	})
}

// fluxAuth is how FuzzFlux authenticates a post; every way must lead to the same
// outcome.
func fluxAuth(auth uint8, body []byte) map[string]string {
	sign := func(header, algo string, h func() hash.Hash) map[string]string {
		m := hmac.New(h, []byte(fuzzHMAC))
		m.Write(body)
		return map[string]string{header: algo + "=" + hex.EncodeToString(m.Sum(nil))}
	}
	switch auth % 6 {
	case 1:
		return sign(webhook.SignatureHeader, "sha256", sha256.New)
	case 2:
		return sign(webhook.FluxSignatureHeader, "sha256", sha256.New)
	case 3:
		return sign(webhook.FluxSignatureHeader, "sha224", sha256.New224)
	case 4:
		return sign(webhook.FluxSignatureHeader, "sha384", sha512.New384)
	case 5:
		return sign(webhook.FluxSignatureHeader, "sha512", sha512.New)
	}
	return fuzzBearer()
}

// FuzzFlux posts arbitrary bodies to /webhooks/flux, as notification-controller's
// generic or generic-hmac provider would, authenticated in any of the accepted ways.
// An accepted event is either ignored (writing nothing) or one valid deployment;
// Flux repeating it (it does, after every reconciliation) is ignored or names the
// same record.
func FuzzFlux(f *testing.F) {
	hook, github := fuzzSources(f)
	f.Fuzz(func(t *testing.T, body []byte, auth uint8) {
		s := newFuzzServer(hook, github)
		rec := s.post(webhook.PathFlux, body, fluxAuth(auth, body))
		reply := fuzzReply(t, rec, len(body), http.StatusAccepted, http.StatusBadRequest)
		got, incidents := s.w.take()
		if len(incidents) > 0 {
			t.Fatalf("flux wrote incidents: %+v", incidents)
		}
		if rec.Code != http.StatusAccepted || reply["status"] == "ignored" {
			if len(got) > 0 {
				t.Fatalf("%d %v, yet %d deployments written", rec.Code, reply, len(got))
			}
			return
		}
		if len(got) != 1 {
			t.Fatalf("202 with %d deployments written, want 1", len(got))
		}
		d := got[0]
		checkDeployment(t, d, "ci")
		if d.Status != schema.DeploymentSuccess && d.Status != schema.DeploymentFailure {
			t.Errorf("a Flux event recorded as %s", d.Status)
		}
		if !d.StartedAt.Equal(d.FinishedAt) || !d.StartedAt.Equal(d.UpdatedAt) {
			t.Errorf("a Flux event has one time, got %+v", d)
		}
		again := s.post(webhook.PathFlux, body, fuzzBearer())
		if again.Code != http.StatusAccepted {
			t.Fatalf("the same event again: %d %s", again.Code, again.Body)
		}
		if repeat, _ := s.w.take(); len(repeat) > 1 || (len(repeat) == 1 && !reflect.DeepEqual(repeat[0], d)) {
			t.Fatalf("the same event again wrote %+v, want nothing or %+v", repeat, d)
		}
	})
}

// argoTemplate is the deploy body of the Argo CD notifications template that
// docs/webhooks.md gives, as argocd-notifications renders it (Go text/template over
// the Application as unstructured JSON).
const argoTemplate = `{
  "service": "{{.app.metadata.name}}",
  "environment": "production",
  "status": "{{if eq .app.status.operationState.phase "Succeeded"}}success{{else if eq .app.status.operationState.phase "Error"}}error{{else}}failure{{end}}",
  "repo": "{{.app.spec.source.repoURL}}",
  "sha": "{{.app.status.operationState.syncResult.revision}}",
  "ref": "{{.app.spec.source.targetRevision}}",
  "started_at": "{{.app.status.operationState.startedAt}}",
  "finished_at": "{{.app.status.operationState.finishedAt}}",
  "trigger": "{{if .app.status.operationState.operation.initiatedBy.automated}}automatic{{else}}manual{{end}}",
  "url": "{{.context.argocdUrl}}/applications/{{.app.metadata.name}}"
}`

var (
	argoBody = template.Must(template.New("flowmeter-deployment").Parse(argoTemplate))
	// What a real Application holds: a DNS-label name, a Git clone URL, a commit,
	// a branch or tag, and Kubernetes (RFC 3339, whole seconds) times.
	argoName   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	argoRepo   = regexp.MustCompile(`^(https://[a-z0-9.-]+/|git@[a-z0-9.-]+:)[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	argoCommit = regexp.MustCompile(`^[0-9a-f]{40}$`)
	argoRef    = regexp.MustCompile(`^[A-Za-z0-9_./-]*$`)
)

// FuzzArgoCD renders the documented Argo CD template over fuzzed Application fields
// and posts the result to /webhooks/deploy. Whatever Argo CD renders gets a 2xx or
// a 400, never something else; what a real Application renders (valid names, URLs,
// commits and times) must be accepted, with the service, status and trigger the
// template says.
func FuzzArgoCD(f *testing.F) {
	hook, github := fuzzSources(f)
	f.Fuzz(func(t *testing.T, name, phase, repoURL, revision, targetRevision, startedAt, finishedAt string, automated bool) {
		app := map[string]any{
			"metadata": map[string]any{"name": name},
			"spec":     map[string]any{"source": map[string]any{"repoURL": repoURL, "targetRevision": targetRevision}},
			"status": map[string]any{"operationState": map[string]any{
				"phase": phase, "startedAt": startedAt, "finishedAt": finishedAt,
				"syncResult": map[string]any{"revision": revision},
				"operation":  map[string]any{"initiatedBy": map[string]any{"automated": automated}},
			}},
		}
		var buf bytes.Buffer
		if err := argoBody.Execute(&buf, map[string]any{"app": app, "context": map[string]any{"argocdUrl": "https://argocd.example.com"}}); err != nil {
			t.Fatal(err)
		}
		body := buf.Bytes()
		s := newFuzzServer(hook, github)
		rec := s.post(webhook.PathDeploy, body, fuzzBearer())
		fuzzReply(t, rec, len(body), http.StatusAccepted, http.StatusBadRequest)
		got, _ := s.w.take()

		started, err1 := time.Parse(time.RFC3339, startedAt)
		finished, err2 := time.Parse(time.RFC3339, finishedAt)
		// Kubernetes stamps operation times from the controller's clock, so a real
		// Application's times are ones a store can hold (not year 0, not 2200).
		real := argoName.MatchString(name) && argoRepo.MatchString(repoURL) && argoCommit.MatchString(revision) &&
			argoRef.MatchString(targetRevision) && err1 == nil && err2 == nil && !finished.Before(started) &&
			started.Nanosecond() == 0 && finished.Nanosecond() == 0 &&
			schema.CheckTime(started) == nil && schema.CheckTime(finished) == nil
		if rec.Code != http.StatusAccepted {
			if real {
				t.Fatalf("a real Application's notification was refused: %s\n%s", rec.Body, body)
			}
			return
		}
		if len(got) != 1 {
			t.Fatalf("202 with %d deployments written, want 1", len(got))
		}
		d := got[0]
		checkDeployment(t, d, "ci")
		wantStatus := schema.DeploymentFailure
		switch phase {
		case "Succeeded":
			wantStatus = schema.DeploymentSuccess
		case "Error":
			wantStatus = schema.DeploymentError
		}
		wantTrigger := schema.TriggerManual
		if automated {
			wantTrigger = schema.TriggerAutomatic
		}
		if d.Status != wantStatus || d.Trigger != wantTrigger || d.Environment != "production" {
			t.Errorf("phase %q, automated %v recorded as %s, %s in %q", phase, automated, d.Status, d.Trigger, d.Environment)
		}
		if real && (d.Service != name || !d.StartedAt.Equal(started) || !d.FinishedAt.Equal(finished) || d.CommitSHA != revision) {
			t.Errorf("the record does not say what the Application said: %+v\n%s", d, body)
		}
	})
}

// FuzzGitHub posts arbitrary payloads, correctly signed, as any event to
// /webhooks/github, where the configured GitHub source turns them into records. A
// signed delivery gets 200 (ping), 202 or 400, never a 5xx; the records are valid
// and of the repositories the GitHub source selects; and a redelivery is dropped.
func FuzzGitHub(f *testing.F) {
	hook, github := fuzzSources(f)
	var delivery atomic.Int64
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		s := newFuzzServer(hook, github)
		m := hmac.New(sha256.New, []byte(fuzzGitHubSecret))
		m.Write(body)
		headers := map[string]string{
			"Content-Type":        "application/json",
			"X-GitHub-Event":      event,
			"X-GitHub-Delivery":   fmt.Sprintf("fuzz-%d", delivery.Add(1)),
			"X-Hub-Signature-256": "sha256=" + hex.EncodeToString(m.Sum(nil)),
		}
		rec := s.post(webhook.PathGitHub, body, headers)
		reply := fuzzReply(t, rec, len(body), http.StatusOK, http.StatusAccepted, http.StatusBadRequest)
		got, incidents := s.w.take()
		if len(incidents) > 0 {
			t.Fatalf("github wrote incidents: %+v", incidents)
		}
		if rec.Code != http.StatusAccepted && len(got) > 0 {
			t.Fatalf("%d, yet %d deployments written", rec.Code, len(got))
		}
		for _, d := range got {
			if d.Source != "acme-github" || d.ID == "" || !strings.HasPrefix(d.ID, d.Repo+"/") {
				t.Errorf("deployment without identity: %+v", d)
			}
			owner, _, _ := strings.Cut(d.Repo, "/")
			if !strings.EqualFold(owner, "acme") || strings.EqualFold(d.Repo, "acme/sandbox") {
				t.Errorf("a deployment of %q, which the GitHub source does not select", d.Repo)
			}
			if d.Attempt < 1 || (d.Trigger != schema.TriggerAutomatic && d.Trigger != schema.TriggerManual) {
				t.Errorf("attempt %d, trigger %q", d.Attempt, d.Trigger)
			}
		}
		if rec.Code != http.StatusAccepted || reply["status"] != "accepted" {
			return
		}
		again := s.post(webhook.PathGitHub, body, headers)
		if again.Code != http.StatusAccepted || !strings.Contains(again.Body.String(), "duplicate") {
			t.Errorf("a redelivery answered %d %s, want 202 duplicate", again.Code, again.Body)
		}
		if repeat, _ := s.w.take(); len(repeat) > 0 {
			t.Errorf("a redelivery wrote %d records", len(repeat))
		}
	})
}
