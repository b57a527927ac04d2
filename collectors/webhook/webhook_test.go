package webhook_test

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/webhook"
	"github.com/flowmeter/flowmeter/schema"
)

func TestSettings(t *testing.T) {
	setSecrets(t)
	secretFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secretFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	routes := func(src collectors.Source) []string {
		var paths []string
		for p := range src.(collectors.Receiver).Routes(collectors.ReceiverEnv{Writer: &memWriter{}}) {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		return paths
	}
	for _, tc := range []struct {
		name, settings string
		routes         []string
		wantErr        string
	}{
		{"everything", allSettings,
			[]string{"/webhooks/deploy", "/webhooks/flux", "/webhooks/github", "/webhooks/incident"}, ""},
		{"token file only", "      token_file: " + secretFile + "\n",
			[]string{"/webhooks/deploy", "/webhooks/flux", "/webhooks/incident"}, ""},
		{"hmac only", "      hmac_secret_env: WH_TEST_HMAC\n      flux_environment: prod-eu\n",
			[]string{"/webhooks/deploy", "/webhooks/flux", "/webhooks/incident"}, ""},
		{"github only", "      github_secret_env: WH_TEST_GITHUB\n      github_source: acme-github\n",
			[]string{"/webhooks/github"}, ""},
		{"nothing to serve", "      flux_environment: production\n", nil,
			"/etc/flowmeter/f.yaml:4: sources[0].webhook.token_env: nothing to serve"},
		{"github secret without source", "      github_secret_env: WH_TEST_GITHUB\n", nil,
			"f.yaml:4: sources[0].webhook.github_source: name the github source"},
		{"github source without secret", "      token_env: WH_TEST_TOKEN\n      github_source: acme-github\n", nil,
			"f.yaml:5: sources[0].webhook.github_source: set github_secret_env or github_secret_file too"},
		{"unset variable", "      token_env: WH_TEST_UNSET\n", nil,
			"f.yaml:4: sources[0].webhook.token_env: environment variable WH_TEST_UNSET is not set"},
		{"secret in place of a variable name", "      hmac_secret_env: " + testHMAC + "\n", nil,
			"sources[0].webhook.hmac_secret_env: not a valid environment variable name"},
		{"both env and file", "      token_env: WH_TEST_TOKEN\n      token_file: " + secretFile + "\n", nil,
			"sources[0].webhook.token_env: give either an environment variable or a file"},
		{"missing file", "      github_secret_file: missing-secret\n      github_source: gh\n", nil,
			"sources[0].webhook.github_secret_file: cannot read secret file /etc/flowmeter/missing-secret"},
		{"unknown field", "      token_env: WH_TEST_TOKEN\n      tokenn: x\n", nil, "f.yaml:5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := build(t, tc.settings)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				for _, secret := range []string{testToken, testHMAC, testGitHub} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q contains a secret", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := routes(src); !reflect.DeepEqual(got, tc.routes) {
				t.Errorf("routes %v, want %v", got, tc.routes)
			}
			if err := src.Collect(t.Context(), &memWriter{}, collectors.CollectOptions{}); err != nil {
				t.Errorf("Collect: %v", err)
			}
		})
	}
}

const deployBody = `{"service":"api","environment":"production","status":"success","repo":"acme/api",
"sha":"0123456789ABCDEF0123456789abcdef01234567","ref":"main","started_at":"2026-03-01T12:00:00Z",
"finished_at":"2026-03-01T13:04:30.5+01:00","url":"https://ci.example.com/runs/7"}`

// TestStatusCodes covers every answer of the generic endpoints.
func TestStatusCodes(t *testing.T) {
	// Padded with white space, which JSON allows, so that only the size is wrong.
	big := `{"service":"api","environment":"production","status":"queued"` + strings.Repeat(" ", webhook.MaxBody) + `}`
	for _, tc := range []struct {
		name    string
		rq      request
		store   error
		status  int
		reason  string // a substring of the error reason
		records int
	}{
		{"bearer", request{path: "/webhooks/deploy", body: deployBody, headers: bearer(testToken)}, nil, 202, "", 1},
		{"bearer, lower-case scheme", request{path: "/webhooks/deploy", body: deployBody,
			headers: map[string]string{"Authorization": "bearer " + testToken}}, nil, 202, "", 1},
		{"hmac", request{path: "/webhooks/deploy", body: deployBody,
			headers: map[string]string{webhook.SignatureHeader: sign(testHMAC, deployBody)}}, nil, 202, "", 1},
		{"hmac, upper-case hex", request{path: "/webhooks/deploy", body: deployBody,
			headers: map[string]string{webhook.SignatureHeader: "sha256=" + strings.ToUpper(strings.TrimPrefix(sign(testHMAC, deployBody), "sha256="))}},
			nil, 202, "", 1},
		{"wrong bearer, right hmac", request{path: "/webhooks/deploy", body: deployBody,
			headers: map[string]string{"Authorization": "Bearer nope", webhook.SignatureHeader: sign(testHMAC, deployBody)}}, nil, 202, "", 1},
		{"no credentials", request{path: "/webhooks/deploy", body: deployBody}, nil, 401, "missing or invalid credentials", 0},
		{"wrong bearer", request{path: "/webhooks/deploy", body: deployBody, headers: bearer(testToken + "x")}, nil, 401, "credentials", 0},
		{"token prefix", request{path: "/webhooks/deploy", body: deployBody, headers: bearer(testToken[:5])}, nil, 401, "credentials", 0},
		{"basic auth", request{path: "/webhooks/deploy", body: deployBody,
			headers: map[string]string{"Authorization": "Basic " + testToken}}, nil, 401, "credentials", 0},
		{"hmac of another body", request{path: "/webhooks/deploy", body: deployBody,
			headers: map[string]string{webhook.SignatureHeader: sign(testHMAC, deployBody+" ")}}, nil, 401, "credentials", 0},
		{"hmac with another key", request{path: "/webhooks/deploy", body: deployBody,
			headers: map[string]string{webhook.SignatureHeader: sign(testToken, deployBody)}}, nil, 401, "credentials", 0},
		{"hmac without algorithm", request{path: "/webhooks/deploy", body: deployBody,
			headers: map[string]string{webhook.SignatureHeader: strings.TrimPrefix(sign(testHMAC, deployBody), "sha256=")}}, nil, 401, "credentials", 0},
		{"flux signature header on deploy", request{path: "/webhooks/deploy", body: deployBody,
			headers: map[string]string{webhook.FluxSignatureHeader: sign(testHMAC, deployBody)}}, nil, 401, "credentials", 0},
		{"GET", request{method: "GET", path: "/webhooks/deploy", headers: bearer(testToken)}, nil, 405, "method GET not allowed", 0},
		{"PUT incident", request{method: "PUT", path: "/webhooks/incident", body: "{}", headers: bearer(testToken)}, nil, 405, "use POST", 0},
		{"malformed JSON", request{path: "/webhooks/deploy", body: `{"service":`, headers: bearer(testToken)}, nil, 400, "malformed JSON", 0},
		{"empty body", request{path: "/webhooks/deploy", headers: bearer(testToken)}, nil, 400, "empty body", 0},
		{"two objects", request{path: "/webhooks/deploy", body: deployBody + deployBody, headers: bearer(testToken)}, nil, 400, "more than one value", 0},
		{"array", request{path: "/webhooks/deploy", body: "[" + deployBody + "]", headers: bearer(testToken)}, nil, 400, "malformed JSON", 0},
		{"misspelt field", request{path: "/webhooks/deploy", body: `{"service":"api","environment":"prod","status":"queued","strated_at":"2026-03-01T12:00:00Z"}`,
			headers: bearer(testToken)}, nil, 400, `unknown field "strated_at"`, 0},
		{"missing service", request{path: "/webhooks/deploy", body: `{"environment":"prod","status":"queued"}`, headers: bearer(testToken)},
			nil, 400, "service is required", 0},
		{"missing environment", request{path: "/webhooks/deploy", body: `{"service":"api","status":"queued"}`, headers: bearer(testToken)},
			nil, 400, "environment is required", 0},
		{"missing status", request{path: "/webhooks/deploy", body: `{"service":"api","environment":"prod"}`, headers: bearer(testToken)},
			nil, 400, "status is required", 0},
		{"unknown status", request{path: "/webhooks/deploy", body: `{"service":"api","environment":"prod","status":"done"}`, headers: bearer(testToken)},
			nil, 400, `status: want one of success, failure, error, in_progress, queued, canceled, got "done"`, 0},
		{"final without finished_at", request{path: "/webhooks/deploy", body: `{"service":"api","environment":"prod","status":"failure","started_at":"2026-03-01T12:00:00Z"}`,
			headers: bearer(testToken)}, nil, 400, "finished_at is required when status is failure", 0},
		{"bad time", request{path: "/webhooks/deploy", body: `{"service":"api","environment":"prod","status":"success","finished_at":"2026-03-01 12:00"}`,
			headers: bearer(testToken)}, nil, 400, `finished_at: want an RFC 3339 time`, 0},
		{"finish before start", request{path: "/webhooks/deploy", body: `{"service":"api","environment":"prod","status":"success","started_at":"2026-03-01T12:00:00Z","finished_at":"2026-03-01T11:00:00Z"}`,
			headers: bearer(testToken)}, nil, 400, "finished_at is before started_at", 0},
		{"bad trigger", request{path: "/webhooks/deploy", body: `{"service":"api","environment":"prod","status":"queued","trigger":"cron"}`,
			headers: bearer(testToken)}, nil, 400, `trigger: want manual or automatic`, 0},
		{"bad sha", request{path: "/webhooks/deploy", body: `{"service":"api","environment":"prod","status":"queued","sha":"v1.2.3"}`,
			headers: bearer(testToken)}, nil, 400, `sha: want a commit hash`, 0},
		{"bad repo", request{path: "/webhooks/deploy", body: `{"service":"api","environment":"prod","status":"queued","repo":"api"}`,
			headers: bearer(testToken)}, nil, 400, `repo: want owner/name`, 0},
		{"wrong type", request{path: "/webhooks/deploy", body: `{"service":"api","environment":"prod","status":"queued","rollback":"yes"}`,
			headers: bearer(testToken)}, nil, 400, `malformed JSON`, 0},
		{"too large, bearer", request{path: "/webhooks/deploy", body: big, headers: bearer(testToken)}, nil, 413, "body larger than 1048576 bytes", 0},
		{"too large, hmac", request{path: "/webhooks/deploy", body: big,
			headers: map[string]string{webhook.SignatureHeader: sign(testHMAC, big)}}, nil, 413, "larger", 0},
		{"exactly the limit", request{path: "/webhooks/deploy", body: big[:webhook.MaxBody-1] + `}`, headers: bearer(testToken)},
			nil, 202, "", 1},
		{"store refuses", request{path: "/webhooks/deploy", body: deployBody, headers: bearer(testToken)}, errStoreDown, 503, "retry later", 0},
		{"incident", request{path: "/webhooks/incident", body: `{"id":"INC-1","service":"api","opened_at":"2026-03-01T13:00:00Z"}`,
			headers: bearer(testToken)}, nil, 202, "", 1},
		{"incident without id", request{path: "/webhooks/incident", body: `{"service":"api","opened_at":"2026-03-01T13:00:00Z"}`,
			headers: bearer(testToken)}, nil, 400, "id is required", 0},
		{"incident with a bad pull request", request{path: "/webhooks/incident", body: `{"id":"INC-1","service":"api","opened_at":"2026-03-01T13:00:00Z","cause_pull_request":"#12"}`,
			headers: bearer(testToken)}, nil, 400, `cause_pull_request: want owner/repo#N, got "#12"`, 0},
		{"incident without opened_at", request{path: "/webhooks/incident", body: `{"id":"INC-1","service":"api"}`,
			headers: bearer(testToken)}, nil, 400, "opened_at is required", 0},
		{"incident resolved before opened", request{path: "/webhooks/incident",
			body:    `{"id":"INC-1","service":"api","opened_at":"2026-03-01T13:00:00Z","resolved_at":"2026-03-01T12:00:00Z"}`,
			headers: bearer(testToken)}, nil, 400, "resolved_at is before opened_at", 0},
		{"incident without credentials", request{path: "/webhooks/incident", body: `{"id":"INC-1","service":"api","opened_at":"2026-03-01T13:00:00Z"}`},
			nil, 401, "credentials", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, allSettings)
			f.w.fail = tc.store
			rec := f.do(t, tc.rq)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			reply := replyOf(t, rec)
			if tc.reason != "" {
				reason, _ := reply["error"].(string)
				if !strings.Contains(reason, tc.reason) {
					t.Errorf("reason %q, want it to contain %q", reason, tc.reason)
				}
			} else if reply["status"] != "accepted" {
				t.Errorf("reply %v", reply)
			}
			if tc.status == 405 && rec.Header().Get("Allow") != "POST" {
				t.Errorf("405 without Allow: POST")
			}
			if got := len(f.w.deployments()) + len(f.w.incidents()); got != tc.records {
				t.Errorf("%d records written, want %d", got, tc.records)
			}
			for _, secret := range []string{testToken, testHMAC, testGitHub} {
				if strings.Contains(rec.Body.String(), secret) {
					t.Errorf("reply contains a secret: %s", rec.Body)
				}
			}
		})
	}
}

func TestDeployRecord(t *testing.T) {
	f := newFixture(t, allSettings)
	if rec := f.do(t, request{path: "/webhooks/deploy", body: deployBody, headers: bearer(testToken)}); rec.Code != 202 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	got := f.w.deployments()[0]
	finished := time.Date(2026, 3, 1, 12, 4, 30, 500_000_000, time.UTC) // 13:04:30.5+01:00
	want := schema.Deployment{
		Source: "ci", ID: got.ID, Repo: "acme/api", Service: "api", Environment: "production",
		CommitSHA: "0123456789abcdef0123456789abcdef01234567", Ref: "main", Status: schema.DeploymentSuccess,
		Trigger: schema.TriggerAutomatic, Attempt: 1, StartedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		FinishedAt: finished, URL: "https://ci.example.com/runs/7", UpdatedAt: finished,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deployment\n got %+v\nwant %+v", got, want)
	}
	if !strings.HasPrefix(got.ID, "deploy-") {
		t.Errorf("id %q: want a hash id", got.ID)
	}
}

func TestDeployRejectsFinishBeforeStartAcrossZones(t *testing.T) {
	f := newFixture(t, allSettings)
	body := `{"service":"api","environment":"production","status":"success","started_at":"2026-03-01T12:00:00Z","finished_at":"2026-03-01T12:04:30+01:00"}`
	rec := f.do(t, request{path: "/webhooks/deploy", body: body, headers: bearer(testToken)})
	// 12:04:30+01:00 is 11:04:30Z, before the 12:00Z start.
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "finished_at is before started_at") {
		t.Errorf("status %d, body %s", rec.Code, rec.Body)
	}
}

// TestDeployIDs: a retried POST, and an in_progress event followed by its final one,
// are one record; another start is another record; a given id is kept.
func TestDeployIDs(t *testing.T) {
	f := newFixture(t, allSettings)
	post := func(body string) schema.Deployment {
		t.Helper()
		n := len(f.w.deployments())
		if rec := f.do(t, request{path: "/webhooks/deploy", body: body, headers: bearer(testToken)}); rec.Code != 202 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		return f.w.deployments()[n]
	}
	running := post(`{"service":"api","environment":"production","status":"in_progress","sha":"abcdef1","started_at":"2026-03-01T12:00:00Z"}`)
	again := post(`{"service":"api","environment":"production","status":"in_progress","sha":"abcdef1","started_at":"2026-03-01T13:00:00+01:00"}`)
	done := post(`{"service":"api","environment":"production","status":"success","sha":"abcdef1","started_at":"2026-03-01T12:00:00Z","finished_at":"2026-03-01T12:05:00Z","trigger":"manual","rollback":true,"hotfix":true}`)
	other := post(`{"service":"api","environment":"production","status":"success","sha":"abcdef1","started_at":"2026-03-01T14:00:00Z","finished_at":"2026-03-01T14:05:00Z"}`)
	staging := post(`{"service":"api","environment":"staging","status":"in_progress","sha":"abcdef1","started_at":"2026-03-01T12:00:00Z"}`)
	finishedOnly := post(`{"service":"api","environment":"production","status":"failure","finished_at":"2026-03-01T15:00:00Z"}`)
	given := post(`{"id":"run-42","service":"api","environment":"production","status":"queued"}`)

	if running.ID != again.ID || running.ID != done.ID {
		t.Errorf("ids %s, %s, %s: want one record", running.ID, again.ID, done.ID)
	}
	if other.ID == done.ID || staging.ID == done.ID {
		t.Errorf("different deployments share id %s", done.ID)
	}
	if !running.UpdatedAt.Before(done.UpdatedAt) {
		t.Errorf("final event's version %v is not after in_progress's %v", done.UpdatedAt, running.UpdatedAt)
	}
	if done.Trigger != schema.TriggerManual || !done.Rollback || !done.Hotfix || !done.StartedAt.Equal(running.StartedAt) {
		t.Errorf("final event %+v", done)
	}
	if !finishedOnly.StartedAt.Equal(time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("without started_at, StartedAt %v, want finished_at", finishedOnly.StartedAt)
	}
	if given.ID != "run-42" || !given.StartedAt.Equal(testNow) || !given.UpdatedAt.Equal(testNow) {
		t.Errorf("queued without times: %+v, want id run-42 placed now", given)
	}
}

func TestRepoForms(t *testing.T) {
	for in, want := range map[string]string{
		"acme/api":                         "acme/api",
		"https://github.com/acme/api.git":  "acme/api",
		"https://github.com/acme/api/":     "acme/api",
		"git@github.com:acme/api.git":      "acme/api",
		"ssh://git@github.com/acme/api":    "acme/api",
		"https://gitlab.com/grp/sub/api":   "grp/sub/api",
		"https://ghe.example.com/acme/api": "acme/api",
	} {
		f := newFixture(t, allSettings)
		body := `{"service":"api","environment":"production","status":"queued","started_at":"2026-03-01T12:00:00Z","repo":"` + in + `"}`
		if rec := f.do(t, request{path: "/webhooks/deploy", body: body, headers: bearer(testToken)}); rec.Code != 202 {
			t.Fatalf("%s: status %d: %s", in, rec.Code, rec.Body)
		}
		if got := f.w.deployments()[0].Repo; got != want {
			t.Errorf("repo %q became %q, want %q", in, got, want)
		}
	}
}

func TestIncidentRecord(t *testing.T) {
	f := newFixture(t, allSettings)
	body := `{"id":"INC-7","service":"payments","opened_at":"2026-03-01T13:00:00Z","severity":"SEV2","title":"Checkout errors",
		"labels":["customer-facing", " "],"acknowledged_at":"2026-03-01T13:05:00Z","resolved_at":"2026-03-01T14:00:00+01:00",
		"cause_deployment_id":"run-42","cause_commit_sha":"ABCDEF1","cause_pull_request":" acme/pay#12 ","url":"https://pd.example.com/INC-7"}`
	if rec := f.do(t, request{path: "/webhooks/incident", body: body,
		headers: map[string]string{webhook.SignatureHeader: sign(testHMAC, body)}}); rec.Code != 202 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := schema.Incident{
		Source: "ci", ID: "INC-7", Service: "payments", Severity: "SEV2", Title: "Checkout errors",
		Labels: []string{"customer-facing"}, OpenedAt: time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC),
		AcknowledgedAt: time.Date(2026, 3, 1, 13, 5, 0, 0, time.UTC), ResolvedAt: time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC),
		CauseDeploymentID: "run-42", CauseCommitSHA: "abcdef1", CausePullRequest: "acme/pay#12", URL: "https://pd.example.com/INC-7",
		UpdatedAt: time.Date(2026, 3, 1, 13, 5, 0, 0, time.UTC),
	}
	if got := f.w.incidents(); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("incident\n got %+v\nwant %+v", got, want)
	}
}
