package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/webhook"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/spool"
)

// TestContentType: the generic endpoints take JSON only, said so by the sender, as
// curl with -H 'Content-Type: application/json', Flux's notification-controller
// (always) and Argo CD's webhook service (when the service's headers say so) do.
func TestContentType(t *testing.T) {
	incident := `{"id":"INC-1","service":"api","opened_at":"2026-03-01T13:00:00Z"}`
	flux := fluxEvent("Kustomization", "info", "ReconciliationSucceeded", "2022-10-28T07:26:19Z", `"revision": "main@sha1:`+fluxSHA+`"`)
	for _, tc := range []struct {
		name, path, body, contentType string
		headers                       map[string]string
		status                        int
		reason                        string
	}{
		{"json", webhook.PathDeploy, deployBody, "application/json", nil, 202, ""},
		{"json with charset", webhook.PathDeploy, deployBody, "application/json; charset=utf-8", nil, 202, ""},
		{"capitals", webhook.PathIncident, incident, "Application/JSON; Charset=UTF-8", nil, 202, ""},
		{"flux's header", webhook.PathFlux, flux, "application/json", nil, 202, ""},
		{"missing", webhook.PathDeploy, deployBody, "", nil, 415, "missing Content-Type: send Content-Type: application/json"},
		{"missing on incident", webhook.PathIncident, incident, "", nil, 415, "missing Content-Type"},
		{"missing on flux", webhook.PathFlux, flux, "", nil, 415, "missing Content-Type"},
		{"plain text", webhook.PathDeploy, deployBody, "text/plain", nil, 415,
			"Content-Type text/plain is not accepted: send the event as JSON with Content-Type: application/json"},
		{"form, as curl --data sends", webhook.PathIncident, incident, "application/x-www-form-urlencoded", nil, 415, "application/x-www-form-urlencoded is not accepted"},
		{"another charset", webhook.PathDeploy, deployBody, "application/json; charset=iso-8859-1", nil, 415, "charset iso-8859-1 is not accepted: JSON is UTF-8"},
		{"malformed", webhook.PathDeploy, deployBody, "application/json; charset", nil, 415, "malformed Content-Type"},
		{"credentials come first", webhook.PathDeploy, deployBody, "text/plain", map[string]string{}, 401, "credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, allSettings)
			headers := bearer(testToken)
			if tc.headers != nil {
				headers = tc.headers
			}
			headers["Content-Type"] = tc.contentType
			rec := f.do(t, request{path: tc.path, body: tc.body, headers: headers})
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			reply := replyOf(t, rec)
			if reason, _ := reply["error"].(string); !strings.Contains(reason, tc.reason) {
				t.Errorf("reason %q, want %q", reason, tc.reason)
			}
			if n := len(f.w.deployments()) + len(f.w.incidents()); (n == 1) != (tc.status == 202) {
				t.Errorf("%d records written", n)
			}
		})
	}
}

// TestIntakeRefusesWhatNoStoreHolds: every rule of schema.ValidateBatch, broken in
// an event, is a 400 naming the event's field, and nothing is written; an event at
// the limits is accepted.
func TestIntakeRefusesWhatNoStoreHolds(t *testing.T) {
	deploy := func(extra string) string {
		return `{"service":"api","environment":"production","status":"success","started_at":"2026-03-01T12:00:00Z",` +
			`"finished_at":"2026-03-01T12:05:00Z"` + extra + `}`
	}
	incident := func(extra string) string {
		return `{"id":"INC-1","service":"api","opened_at":"2026-03-01T13:00:00Z"` + extra + `}`
	}
	labels := func(n int) string {
		l := make([]string, n)
		for i := range l {
			l[i] = fmt.Sprintf("%q", fmt.Sprint("l", i))
		}
		return `,"labels":[` + strings.Join(l, ",") + `]`
	}
	flux := func(name, namespace, timestamp, metadata string) string {
		body := fluxEvent("Kustomization", "info", "ReconciliationSucceeded", timestamp, metadata)
		body = strings.Replace(body, `"name": "webapp"`, `"name": "`+name+`"`, 1)
		return strings.Replace(body, `"namespace": "apps"`, `"namespace": "`+namespace+`"`, 1)
	}
	revision := `"revision": "main@sha1:` + fluxSHA + `"`
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name, path, body string
		reason           string // empty: accepted
	}{
		{"the defect: started_at 2200", webhook.PathDeploy,
			strings.Replace(deploy(""), "2026-03-01T12:00:00Z", "2200-01-01T00:00:00Z", 1) + "",
			"started_at 2200-01-01T00:00:00Z is outside the times a store can hold, 1970-01-01T00:00:00Z to 2106-02-07T06:28:15Z"},
		{"both times in 2200", webhook.PathDeploy,
			`{"service":"api","environment":"production","status":"success","started_at":"2200-01-01T00:00:00Z","finished_at":"2200-01-01T00:00:00Z"}`,
			"started_at 2200-01-01T00:00:00Z is outside"},
		{"finished_at only, in 2200", webhook.PathDeploy,
			`{"service":"api","environment":"production","status":"success","finished_at":"2200-01-01T00:00:00Z"}`, "finished_at 2200"},
		{"the last second", webhook.PathDeploy,
			`{"service":"api","environment":"production","status":"success","finished_at":"2106-02-07T06:28:15Z"}`, ""},
		{"started_at before 1970", webhook.PathDeploy, strings.Replace(deploy(""), "2026-03-01T12:00:00Z", "1969-12-31T23:59:59Z", 1),
			"started_at 1969-12-31T23:59:59Z is outside"},
		{"a long id", webhook.PathDeploy, deploy(`,"id":"` + long(schema.MaxNameBytes+1) + `"`), "id is 1025 bytes long, over the limit of 1024"},
		{"an id at the limit", webhook.PathDeploy, deploy(`,"id":"` + long(schema.MaxNameBytes) + `"`), ""},
		{"a control character in the service", webhook.PathDeploy,
			strings.Replace(deploy(""), `"api"`, `"check\u0007out"`, 1), "service contains the control character U+0007"},
		{"NUL in the environment", webhook.PathDeploy,
			strings.Replace(deploy(""), `"production"`, `"prod\u0000"`, 1), "environment contains a NUL byte"},
		{"a line break in the ref", webhook.PathDeploy, deploy(`,"ref":"main\nx"`), "ref contains the control character U+000A"},
		{"a line break in the repo", webhook.PathDeploy, deploy(`,"repo":"acme/ap\ni"`), "repo contains the control character U+000A"},
		{"a long url", webhook.PathDeploy, deploy(`,"url":"https://ci/` + long(schema.MaxURLBytes) + `"`), "url is 8203 bytes long, over the limit of 8192"},
		{"opened_at in 2200", webhook.PathIncident, strings.Replace(incident(""), "2026-03-01T13:00:00Z", "2200-01-01T00:00:00Z", 1),
			"opened_at 2200-01-01T00:00:00Z is outside"},
		{"resolved_at in 2200", webhook.PathIncident, incident(`,"resolved_at":"2200-01-01T00:00:00Z"`), "resolved_at 2200"},
		{"acknowledged_at in 2200", webhook.PathIncident, incident(`,"acknowledged_at":"2200-01-01T00:00:00Z"`), "acknowledged_at 2200"},
		{"a long title", webhook.PathIncident, incident(`,"title":"` + long(schema.MaxTitleBytes+1) + `"`), "title is 4097 bytes long, over the limit of 4096"},
		{"a title on two lines", webhook.PathIncident, incident(`,"title":"Checkout fails\n\tfor cards"`), ""},
		{"NUL in a title", webhook.PathIncident, incident(`,"title":"a\u0000b"`), "title contains a NUL byte"},
		{"a control character in the severity", webhook.PathIncident, incident(`,"severity":"SEV\u001b2"`), "severity contains the control character U+001B"},
		{"a long cause", webhook.PathIncident, incident(`,"cause_deployment_id":"` + long(schema.MaxNameBytes+1) + `"`), "cause_deployment_id is 1025 bytes long"},
		{"too many labels", webhook.PathIncident, incident(labels(schema.MaxListEntries + 1)), "labels has 1001 entries, over the limit of 1000"},
		{"labels at the limit", webhook.PathIncident, incident(labels(schema.MaxListEntries)), ""},
		{"a label with a control character", webhook.PathIncident, incident(`,"labels":["ok","b\u0085ad"]`), "labels[1] contains the control character U+0085"},
		{"flux: a timestamp in 2200", webhook.PathFlux, flux("webapp", "apps", "2200-01-01T00:00:00Z", revision), "timestamp 2200-01-01T00:00:00Z is outside"},
		{"flux: a control character in the name", webhook.PathFlux, flux("web\\tapp", "apps", "2022-10-28T07:26:19Z", revision),
			"involvedObject.name contains the control character U+0009"},
		{"flux: a line break in the environment", webhook.PathFlux, flux("webapp", "apps", "2022-10-28T07:26:19Z", revision+`, "environment": "prod\nx"`),
			"metadata.environment contains the control character U+000A"},
		{"flux: a control character in the namespace", webhook.PathFlux, flux("webapp", "ap\\u0000ps", "2022-10-28T07:26:19Z", revision),
			"involvedObject and metadata.revision make a cursor no store holds: cursors ci/\"flux:ap\\x00ps/Kustomization/webapp\": stream contains a NUL byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, allSettings)
			rec := f.do(t, request{path: tc.path, body: tc.body, headers: bearer(testToken)})
			reply := replyOf(t, rec)
			written := len(f.w.deployments()) + len(f.w.incidents())
			if tc.reason == "" {
				if rec.Code != 202 || written != 1 {
					t.Fatalf("status %d, %d records: %s; want it accepted", rec.Code, written, rec.Body)
				}
				return
			}
			if rec.Code != 400 || written != 0 {
				t.Fatalf("status %d, %d records: %s; want 400 and nothing written", rec.Code, written, rec.Body)
			}
			if reason, _ := reply["error"].(string); !strings.Contains(reason, tc.reason) {
				t.Errorf("reason %q, want %q", reason, tc.reason)
			}
		})
	}
}

// TestGitHubEventRecordsAreChecked: records the GitHub source makes of an event go
// through the same rules.
func TestGitHubEventRecordsAreChecked(t *testing.T) {
	f := newFixture(t, allSettings)
	f.gh.respond = func(string, []byte) (*schema.Batch, bool, error) {
		return &schema.Batch{PullRequests: []schema.PullRequest{{Source: "acme-github", ID: "acme/api#7",
			Title: strings.Repeat("t", schema.MaxTitleBytes+1), CreatedAt: testNow, UpdatedAt: testNow}}}, false, nil
	}
	body := `{"action":"opened","pull_request":{"number":7}}`
	rec := f.do(t, request{path: webhook.PathGitHub, body: body, headers: githubHeaders("pull_request", "g-1", body, testGitHub)})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "pull_request event: pull_requests acme-github/acme/api#7: title is 4097 bytes long") {
		t.Fatalf("status %d %s, want 400 naming the record and its title", rec.Code, rec.Body)
	}
	if f.w.writes() != 0 {
		t.Errorf("%d batches written", f.w.writes())
	}
}

// TestStoreRefusesPermanently: a store that refuses an event for what it holds (a
// value the rules let through but the server rejects) is a 400, not a 503 that the
// sender would retry forever.
func TestStoreRefusesPermanently(t *testing.T) {
	f := newFixture(t, allSettings)
	f.w.fail = fmt.Errorf("clickhouse: writing deployments: %w: code: 321, message: Value is out of range", store.ErrPermanent)
	rec := f.do(t, request{path: webhook.PathDeploy, body: deployBody, headers: bearer(testToken)})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "the store refuses this event") || strings.Contains(rec.Body.String(), "code: 321") {
		t.Errorf("status %d %s, want 400 without the store's words", rec.Code, rec.Body)
	}
}

// TestPoisonInTheSpoolDoesNotBlockWebhooks is the defect end to end: a deployment of
// 2200 that an earlier flowmeter accepted sits in the spool; the events posted
// after it while the store is down are all stored once it is back, and the poison
// is a dead letter.
func TestPoisonInTheSpoolDoesNotBlockWebhooks(t *testing.T) {
	st := &flakyStore{Store: openSQLite(t)}
	st.down.Store(true)
	dir := filepath.Join(t.TempDir(), "spool")
	sp, err := spool.New(dir, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	poison := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := sp.Write(context.Background(), &schema.Batch{Deployments: []schema.Deployment{{Source: "ci", ID: "poison",
		Service: "api", Environment: "production", Status: schema.DeploymentSuccess, StartedAt: poison, FinishedAt: poison, UpdatedAt: poison}}}); err != nil {
		t.Fatal(err)
	}
	srv := server(t, sp, nil)
	// Today the poison itself is refused at the door.
	code, reply, err := post(http.DefaultClient, srv.URL+webhook.PathDeploy,
		`{"service":"api","environment":"production","status":"success","started_at":"2200-01-01T00:00:00Z","finished_at":"2200-01-01T00:00:00Z"}`,
		bearer(testToken))
	if err != nil || code != 400 || !strings.Contains(reply, "started_at 2200-01-01T00:00:00Z is outside") {
		t.Fatalf("posting the poison: %d %s %v, want 400 naming started_at", code, reply, err)
	}
	postAll(t, srv.URL, 0, 200, 4, deployEvent)
	if got := sp.Pending(); got != 201 {
		t.Fatalf("spool holds %d batches, want the poison and 200 behind it", got)
	}
	st.down.Store(false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sp.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for sp.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n, ids := storedDeployments(t, st.Store); n != 200 || ids != 200 {
		t.Errorf("store holds %d deployments (%d ids), want the 200 behind the poison", n, ids)
	}
	if got := sp.Stats(); got.Pending != 0 || got.Dead != 1 {
		t.Errorf("spool %+v, want nothing pending and the poison dead", got)
	}
	cancel()
	<-done
}
