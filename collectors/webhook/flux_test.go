package webhook_test

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/webhook"
	"github.com/flowmeter/flowmeter/schema"
)

// fluxEvent builds an event as notification-controller's generic provider posts it
// (docs/spec/v1beta3/providers.md, "Generic webhook").
func fluxEvent(kind, severity, reason, timestamp, metadata string) string {
	return `{
  "involvedObject": {
    "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
    "kind": "` + kind + `",
    "name": "webapp",
    "namespace": "apps",
    "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632",
    "resourceVersion": "1234"
  },
  "metadata": {` + metadata + `},
  "severity": "` + severity + `",
  "reason": "` + reason + `",
  "message": "Reconciliation finished in 1.2s, next run in 10m0s",
  "reportingController": "kustomize-controller",
  "reportingInstance": "kustomize-controller-7c7b47f5f-8bhrp",
  "timestamp": "` + timestamp + `"
}`
}

const fluxSHA = "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"

func TestFluxEvents(t *testing.T) {
	sha2 := strings.Repeat("b", 40)
	type want struct {
		status   int
		ignored  bool
		deploy   *schema.Deployment // compared on the fields set
		reason   string
		noCursor bool
	}
	at := time.Date(2022, 10, 28, 7, 26, 19, 0, time.UTC)
	steps := []struct {
		name    string
		body    string
		headers func(body string) map[string]string
		want    want
	}{
		{"success with the current revision format",
			fluxEvent("Kustomization", "info", "ReconciliationSucceeded", "2022-10-28T07:26:19Z",
				`"revision": "main@sha1:`+fluxSHA+`", "commit_status": "update", "environment": "staging"`),
			func(b string) map[string]string {
				return map[string]string{webhook.FluxSignatureHeader: sign(testHMAC, b)}
			},
			want{status: 202, deploy: &schema.Deployment{Service: "webapp", Environment: "staging", CommitSHA: fluxSHA, Ref: "main",
				Status: schema.DeploymentSuccess, StartedAt: at, FinishedAt: at, UpdatedAt: at}}},
		{"the periodic repeat of the same revision",
			fluxEvent("Kustomization", "info", "ReconciliationSucceeded", "2022-10-28T07:36:20Z",
				`"revision": "main@sha1:`+fluxSHA+`", "environment": "staging"`),
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 202, ignored: true}},
		{"progressing is not finished",
			fluxEvent("Kustomization", "info", "Progressing", "2022-10-28T08:00:00Z", `"revision": "main@sha1:`+sha2+`"`),
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 202, ignored: true}},
		{"a failed attempt at a new revision, group-prefixed metadata",
			fluxEvent("Kustomization", "error", "HealthCheckFailed", "2022-10-28T08:01:00Z",
				`"kustomize.toolkit.fluxcd.io/revision": "refs/heads/main@sha1:`+sha2+`"`),
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 202, deploy: &schema.Deployment{Service: "webapp", Environment: "production", CommitSHA: sha2,
				Ref: "refs/heads/main", Status: schema.DeploymentFailure}}},
		{"its retry fails again",
			fluxEvent("Kustomization", "error", "HealthCheckFailed", "2022-10-28T08:06:00Z",
				`"kustomize.toolkit.fluxcd.io/revision": "refs/heads/main@sha1:`+sha2+`"`),
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 202, ignored: true}},
		{"then succeeds",
			fluxEvent("Kustomization", "info", "ReconciliationSucceeded", "2022-10-28T08:10:00Z",
				`"kustomize.toolkit.fluxcd.io/revision": "refs/heads/main@sha1:`+sha2+`"`),
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 202, deploy: &schema.Deployment{CommitSHA: sha2, Ref: "refs/heads/main", Status: schema.DeploymentSuccess}}},
		{"helm rollback, sha512 X-Signature, chart version revision",
			fluxEvent("HelmRelease", "info", "RollbackSucceeded", "2022-10-28T09:00:00Z", `"revision": "6.5.0", "repo": "https://github.com/acme/webapp.git"`),
			func(b string) map[string]string {
				m := hmac.New(sha512.New, []byte(testHMAC))
				m.Write([]byte(b))
				return map[string]string{webhook.FluxSignatureHeader: "sha512=" + hex.EncodeToString(m.Sum(nil))}
			},
			want{status: 202, deploy: &schema.Deployment{Service: "webapp", Repo: "acme/webapp", Status: schema.DeploymentSuccess, Rollback: true}}},
		{"pre-2.0 revision format, OCI origin",
			fluxEvent("Kustomization", "info", "ReconciliationSucceeded", "2022-10-28T10:00:00Z",
				`"revision": "latest@sha256:`+strings.Repeat("c", 64)+`", "originRevision": "main/`+strings.Repeat("d", 40)+`"`),
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 202, deploy: &schema.Deployment{CommitSHA: strings.Repeat("d", 40), Ref: "", Status: schema.DeploymentSuccess}}},
		{"no revision: every event is recorded",
			fluxEvent("Kustomization", "error", "BuildFailed", "2022-10-28T11:00:00Z", ``),
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 202, deploy: &schema.Deployment{Status: schema.DeploymentFailure}, noCursor: true}},
		{"source objects are not deployments",
			fluxEvent("GitRepository", "error", "GitOperationFailed", "2022-10-28T12:00:00Z", ``),
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 202, ignored: true}},
		{"wrong X-Signature",
			fluxEvent("Kustomization", "error", "BuildFailed", "2022-10-28T11:00:00Z", ``),
			func(b string) map[string]string {
				return map[string]string{webhook.FluxSignatureHeader: sign(testHMAC, b+"x")}
			},
			want{status: 401, reason: "credentials"}},
		{"unknown hash in X-Signature",
			fluxEvent("Kustomization", "error", "BuildFailed", "2022-10-28T11:00:00Z", ``),
			func(b string) map[string]string {
				return map[string]string{webhook.FluxSignatureHeader: "md5=" + strings.TrimPrefix(sign(testHMAC, b), "sha256=")}
			},
			want{status: 401, reason: "credentials"}},
		{"no timestamp",
			fluxEvent("Kustomization", "error", "BuildFailed", "", ``),
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 400, reason: "timestamp is required"}},
		{"no object",
			`{"severity":"info","reason":"ReconciliationSucceeded","timestamp":"2022-10-28T11:00:00Z"}`,
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 400, reason: "involvedObject.kind and involvedObject.name are required"}},
		{"odd severity",
			fluxEvent("Kustomization", "trace", "BuildFailed", "2022-10-28T11:00:00Z", ``),
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 400, reason: `severity: want info or error, got "trace"`}},
		{"not JSON",
			`severity=info`,
			func(b string) map[string]string { return bearer(testToken) },
			want{status: 400, reason: "malformed JSON"}},
	}
	f := newFixture(t, allSettings)
	for _, step := range steps {
		before := len(f.w.deployments())
		rec := f.do(t, request{path: "/webhooks/flux", body: step.body, headers: step.headers(step.body)})
		if rec.Code != step.want.status {
			t.Fatalf("%s: status %d, want %d: %s", step.name, rec.Code, step.want.status, rec.Body)
		}
		reply := replyOf(t, rec)
		written := f.w.deployments()[before:]
		switch {
		case step.want.reason != "":
			if r, _ := reply["error"].(string); !strings.Contains(r, step.want.reason) {
				t.Errorf("%s: reason %q, want %q", step.name, r, step.want.reason)
			}
		case step.want.ignored:
			if reply["status"] != "ignored" || len(written) != 0 {
				t.Errorf("%s: reply %v, %d records written; want ignored, none", step.name, reply, len(written))
			}
		default:
			if len(written) != 1 {
				t.Fatalf("%s: %d records written, want 1", step.name, len(written))
			}
			d, w := written[0], step.want.deploy
			if d.Source != "ci" || d.Service != "webapp" || d.Attempt != 1 || d.Trigger != schema.TriggerAutomatic ||
				d.Status != w.Status || d.CommitSHA != w.CommitSHA || d.Ref != w.Ref || d.Rollback != w.Rollback ||
				(w.Environment != "" && d.Environment != w.Environment) || (w.Repo != "" && d.Repo != w.Repo) ||
				(!w.StartedAt.IsZero() && (!d.StartedAt.Equal(w.StartedAt) || !d.FinishedAt.Equal(w.FinishedAt) || !d.UpdatedAt.Equal(w.UpdatedAt))) {
				t.Errorf("%s: deployment\n got %+v\nwant %+v", step.name, d, *w)
			}
			if !strings.HasPrefix(d.ID, "flux-") {
				t.Errorf("%s: id %q", step.name, d.ID)
			}
			last := f.w.batches[len(f.w.batches)-1]
			if hasCursor := len(last.Cursors) == 1; hasCursor == step.want.noCursor {
				t.Errorf("%s: cursors %+v", step.name, last.Cursors)
			}
		}
	}

	// A restarted flowmeter reads what it recorded from the store's cursors: the
	// next periodic event of the object's last revision is still a repeat.
	f.mount(rebuild(t), f.w)
	body := fluxEvent("Kustomization", "info", "ReconciliationSucceeded", "2022-10-28T10:10:00Z",
		`"revision": "latest@sha256:`+strings.Repeat("c", 64)+`"`)
	before := len(f.w.deployments())
	if rec := f.do(t, request{path: "/webhooks/flux", body: body, headers: bearer(testToken)}); rec.Code != 202 || len(f.w.deployments()) != before {
		t.Errorf("after restart: status %d, %d new records; want the repeat ignored", rec.Code, len(f.w.deployments())-before)
	}
}

// TestFluxRetriedPostIsOneRecord: notification-controller retries a post that
// failed; the retry, or a concurrent duplicate, names the same record.
func TestFluxRetriedPostIsOneRecord(t *testing.T) {
	f := newFixture(t, allSettings)
	body := fluxEvent("Kustomization", "info", "ReconciliationSucceeded", "2022-10-28T07:26:19Z", `"revision": "main@sha1:`+fluxSHA+`"`)
	f.w.fail = errStoreDown
	if rec := f.do(t, request{path: "/webhooks/flux", body: body, headers: bearer(testToken)}); rec.Code != 503 {
		t.Fatalf("status %d with the writer failing, want 503", rec.Code)
	}
	f.w.fail = nil
	if rec := f.do(t, request{path: "/webhooks/flux", body: body, headers: bearer(testToken)}); rec.Code != 202 {
		t.Fatalf("retry: status %d: %s", rec.Code, rec.Body)
	}
	if got := len(f.w.deployments()); got != 1 {
		t.Errorf("%d records after a failed post and its retry, want 1 (a failed write must not mark the revision recorded)", got)
	}
}

func rebuild(t *testing.T) *webhookSource {
	t.Helper()
	src, err := build(t, allSettings)
	if err != nil {
		t.Fatal(err)
	}
	return src.(*webhookSource)
}

type webhookSource = webhook.Source
