package webhook_test

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/flowmeter/flowmeter/schema"
)

// githubHeaders are the headers GitHub sends with a delivery.
func githubHeaders(event, delivery, body, secret string) map[string]string {
	return map[string]string{
		"Content-Type":        "application/json",
		"User-Agent":          "GitHub-Hookshot/044aadd",
		"X-GitHub-Event":      event,
		"X-GitHub-Delivery":   delivery,
		"X-GitHub-Hook-ID":    "292430182",
		"X-Hub-Signature-256": sign(secret, body),
	}
}

const deploymentStatusBody = `{"action":"created","deployment_status":{"id":9,"state":"success"},"deployment":{"id":1234,"sha":"abc"},"repository":{"full_name":"acme/api"}}`

func TestGitHubStatusCodes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers map[string]string
		body    string
		method  string
		status  int
		reply   string // a substring of the reply
		handled int
	}{
		{"deployment_status", githubHeaders("deployment_status", "d-1", deploymentStatusBody, testGitHub), deploymentStatusBody, "", 202, `"accepted"`, 1},
		{"ping", githubHeaders("ping", "d-2", `{"zen":"Design for failure.","hook_id":1}`, testGitHub), `{"zen":"Design for failure.","hook_id":1}`, "", 200, "pong", 0},
		{"unused event", githubHeaders("issues", "d-3", `{"action":"opened"}`, testGitHub), `{"action":"opened"}`, "", 202, "ignored", 0},
		{"no signature", func() map[string]string {
			h := githubHeaders("deployment_status", "d-4", deploymentStatusBody, testGitHub)
			delete(h, "X-Hub-Signature-256")
			h["X-Hub-Signature"] = "sha1=0000"
			return h
		}(), deploymentStatusBody, "", 401, "missing X-Hub-Signature-256", 0},
		{"wrong secret", githubHeaders("deployment_status", "d-5", deploymentStatusBody, testToken), deploymentStatusBody, "", 401, "invalid X-Hub-Signature-256", 0},
		{"bearer token is not enough", func() map[string]string {
			h := githubHeaders("deployment_status", "d-6", deploymentStatusBody, "x")
			h["Authorization"] = "Bearer " + testToken
			return h
		}(), deploymentStatusBody, "", 401, "invalid", 0},
		{"GET", githubHeaders("ping", "d-7", "", testGitHub), "", "GET", 405, "use POST", 0},
		{"too large", githubHeaders("push", "d-8", strings.Repeat(" ", 1<<20+1), testGitHub), strings.Repeat(" ", 1<<20+1), "", 413, "larger", 0},
		{"no event header", func() map[string]string {
			h := githubHeaders("", "d-9", deploymentStatusBody, testGitHub)
			delete(h, "X-GitHub-Event")
			return h
		}(), deploymentStatusBody, "", 400, "missing X-GitHub-Event", 0},
		{"no delivery header", func() map[string]string {
			h := githubHeaders("deployment_status", "", deploymentStatusBody, testGitHub)
			delete(h, "X-GitHub-Delivery")
			return h
		}(), deploymentStatusBody, "", 400, "missing X-GitHub-Delivery", 0},
		{"wrong content type", func() map[string]string {
			h := githubHeaders("deployment_status", "d-10", deploymentStatusBody, testGitHub)
			h["Content-Type"] = "text/plain"
			return h
		}(), deploymentStatusBody, "", 400, "Content-Type must be application/json", 0},
		{"malformed payload", githubHeaders("deployment_status", "d-11", `{"deployment":`, testGitHub), `{"deployment":`, "", 400, "deployment_status event:", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, allSettings)
			rec := f.do(t, request{method: tc.method, path: "/webhooks/github", body: tc.body, headers: tc.headers})
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.reply) {
				t.Fatalf("status %d %s, want %d with %q", rec.Code, rec.Body, tc.status, tc.reply)
			}
			replyOf(t, rec)
			if got := len(f.gh.handled()); got != tc.handled {
				t.Errorf("GitHub source handed %d events, want %d", got, tc.handled)
			}
			if tc.status != 202 || tc.handled == 0 {
				if f.w.writes() != 0 {
					t.Errorf("%d batches written, want none", f.w.writes())
				}
			}
		})
	}
}

func TestGitHubFormEncodedDelivery(t *testing.T) {
	f := newFixture(t, allSettings)
	body := "payload=" + url.QueryEscape(deploymentStatusBody)
	h := githubHeaders("deployment_status", "f-1", body, testGitHub)
	h["Content-Type"] = "application/x-www-form-urlencoded"
	if rec := f.do(t, request{path: "/webhooks/github", body: body, headers: h}); rec.Code != 202 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if d := f.w.deployments(); len(d) != 1 || d[0].ID != "1234" {
		t.Errorf("records %+v", d)
	}
}

// TestGitHubReplayedDelivery: GitHub's "Redeliver" (or an attacker replaying a
// captured request) sends the same delivery again: it is written once.
func TestGitHubReplayedDelivery(t *testing.T) {
	f := newFixture(t, allSettings)
	h := githubHeaders("deployment_status", "72d3162e-cc78-11e3-81ab-4c9367dc0958", deploymentStatusBody, testGitHub)
	for i := range 3 {
		rec := f.do(t, request{path: "/webhooks/github", body: deploymentStatusBody, headers: h})
		want := map[bool]string{true: "accepted", false: "duplicate"}[i == 0]
		if rec.Code != 202 || replyOf(t, rec)["status"] != want {
			t.Fatalf("post %d: status %d %s, want 202 %s", i, rec.Code, rec.Body, want)
		}
	}
	if got := f.gh.handled(); len(got) != 1 {
		t.Errorf("GitHub source handed %v, want the event once", got)
	}
	if got := f.w.writes(); got != 1 {
		t.Errorf("%d batches written, want 1", got)
	}
	// Another delivery of the same event type is new.
	h2 := githubHeaders("deployment_status", "second", deploymentStatusBody, testGitHub)
	if rec := f.do(t, request{path: "/webhooks/github", body: deploymentStatusBody, headers: h2}); rec.Code != 202 || f.w.writes() != 2 {
		t.Errorf("second delivery: status %d, %d writes", rec.Code, f.w.writes())
	}
}

// TestGitHubConcurrentReplays: the same delivery arriving many times at once is
// still handed over once.
func TestGitHubConcurrentReplays(t *testing.T) {
	f := newFixture(t, allSettings)
	h := githubHeaders("deployment_status", "same", deploymentStatusBody, testGitHub)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec := f.do(t, request{path: "/webhooks/github", body: deploymentStatusBody, headers: h}); rec.Code != 202 {
				t.Errorf("status %d", rec.Code)
			}
		}()
	}
	wg.Wait()
	if got := len(f.gh.handled()); got != 1 || f.w.writes() != 1 {
		t.Errorf("handed %d times, %d writes; want 1, 1", got, f.w.writes())
	}
}

// TestGitHubRedeliveryAfterFailure: a delivery that could not be stored is not
// remembered, so GitHub's redelivery of it is handled.
func TestGitHubRedeliveryAfterFailure(t *testing.T) {
	f := newFixture(t, allSettings)
	h := githubHeaders("deployment_status", "d-1", deploymentStatusBody, testGitHub)
	f.w.fail = errStoreDown
	if rec := f.do(t, request{path: "/webhooks/github", body: deploymentStatusBody, headers: h}); rec.Code != 503 {
		t.Fatalf("status %d with the writer failing, want 503", rec.Code)
	}
	f.w.fail = nil
	if rec := f.do(t, request{path: "/webhooks/github", body: deploymentStatusBody, headers: h}); rec.Code != 202 || f.w.writes() != 1 {
		t.Fatalf("redelivery: status %d %s, %d writes", rec.Code, rec.Body, f.w.writes())
	}
}

func TestGitHubCollectRequest(t *testing.T) {
	f := newFixture(t, allSettings)
	f.gh.respond = func(kind string, payload []byte) (*schema.Batch, bool, error) {
		return &schema.Batch{}, kind == "pull_request", nil
	}
	for i, event := range []string{"pull_request", "release", "workflow_run"} {
		body := fmt.Sprintf(`{"action":"closed","n":%d}`, i)
		if rec := f.do(t, request{path: "/webhooks/github", body: body, headers: githubHeaders(event, fmt.Sprint(i), body, testGitHub)}); rec.Code != 202 {
			t.Fatalf("%s: status %d", event, rec.Code)
		}
	}
	if !reflect.DeepEqual(f.collects, []string{"acme-github"}) || f.w.writes() != 0 {
		t.Errorf("collections asked %v, writes %d; want [acme-github], 0", f.collects, f.w.writes())
	}
	if got := f.gh.handled(); !reflect.DeepEqual(got, []string{"pull_request", "release", "workflow_run"}) {
		t.Errorf("handled %v", got)
	}
}

func TestGitHubSourceMissing(t *testing.T) {
	setSecrets(t)
	src, err := build(t, "      github_secret_env: WH_TEST_GITHUB\n      github_source: gh-typo\n")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{w: &memWriter{}, gh: &fakeGitHub{}}
	f.mount(src.(*webhookSource), f.w)
	h := githubHeaders("release", "r-1", `{}`, testGitHub)
	rec := f.do(t, request{path: "/webhooks/github", body: `{}`, headers: h})
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "github_source gh-typo is not a configured source") {
		t.Errorf("status %d %s", rec.Code, rec.Body)
	}
}
