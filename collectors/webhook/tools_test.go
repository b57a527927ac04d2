package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/jira"
	"github.com/flowmeter/flowmeter/collectors/pagerduty"
	"github.com/flowmeter/flowmeter/collectors/webhook"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
)

const (
	testJira      = "jira-5b1e-secret"
	testPagerDuty = "pd-8e3c-secret"
)

// toolFixture mounts a webhook source serving /webhooks/jira and /webhooks/pagerduty
// in front of fake jira and pagerduty sources, which answer with one record each.
func toolFixture(t *testing.T) (*fixture, map[string]*fakeGitHub) {
	t.Helper()
	t.Setenv("WH_TEST_JIRA", testJira)
	t.Setenv("WH_TEST_PD", testPagerDuty)
	src, err := build(t, `      jira_secret_env: WH_TEST_JIRA
      jira_source: acme-jira
      pagerduty_secret_env: WH_TEST_PD
      pagerduty_source: acme-pd
`)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tools := map[string]*fakeGitHub{
		"acme-jira": {respond: func(kind string, _ []byte) (*schema.Batch, bool, error) {
			return &schema.Batch{WorkItems: []schema.WorkItem{{Source: "acme-jira", ID: "PAY-1", Project: "PAY", CreatedAt: at, UpdatedAt: at}}}, false, nil
		}},
		"acme-pd": {respond: func(kind string, _ []byte) (*schema.Batch, bool, error) {
			return &schema.Batch{Incidents: []schema.Incident{{Source: "acme-pd", ID: "P1", OpenedAt: at, UpdatedAt: at}}},
				kind == "incident.acknowledged", nil
		}},
	}
	f := &fixture{w: &memWriter{}}
	f.mux = http.NewServeMux()
	env := collectors.ReceiverEnv{
		Writer: f.w,
		Source: func(name string) (collectors.Source, bool) {
			s, ok := tools[name]
			return s, ok
		},
		Collect: func(name string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.collects = append(f.collects, name)
		},
	}
	for path, h := range src.(collectors.Receiver).Routes(env) {
		f.mux.Handle(path, h)
	}
	return f, tools
}

func pdSignature(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func TestToolWebhooks(t *testing.T) {
	f, tools := toolFixture(t)
	jiraBody := `{"webhookEvent":"jira:issue_updated","timestamp":1772366400000,"issue":{"key":"PAY-1"}}`
	pdBody := func(id, kind string) string {
		return `{"event":{"id":"` + id + `","event_type":"` + kind + `","resource_type":"incident","data":{"id":"P1"}}}`
	}
	for _, tc := range []struct {
		name    string
		path    string
		body    string
		headers map[string]string
		status  int
	}{
		{"jira signed", webhook.PathJira, jiraBody,
			map[string]string{jira.WebhookSignatureHeader: sign(testJira, jiraBody), "X-Atlassian-Webhook-Identifier": "d-1"}, http.StatusAccepted},
		{"jira redelivered", webhook.PathJira, jiraBody,
			map[string]string{jira.WebhookSignatureHeader: sign(testJira, jiraBody), "X-Atlassian-Webhook-Identifier": "d-1"}, http.StatusAccepted},
		{"jira unsigned", webhook.PathJira, jiraBody, nil, http.StatusUnauthorized},
		{"jira signed with another secret", webhook.PathJira, jiraBody,
			map[string]string{jira.WebhookSignatureHeader: sign("wrong", jiraBody)}, http.StatusUnauthorized},
		{"pagerduty signed, rotated secrets", webhook.PathPagerDuty, pdBody("e-1", "incident.triggered"),
			map[string]string{pagerduty.SignatureHeader: pdSignature("old", pdBody("e-1", "incident.triggered")) + "," +
				pdSignature(testPagerDuty, pdBody("e-1", "incident.triggered"))}, http.StatusAccepted},
		{"pagerduty acknowledged asks for a collection", webhook.PathPagerDuty, pdBody("e-2", "incident.acknowledged"),
			map[string]string{pagerduty.SignatureHeader: pdSignature(testPagerDuty, pdBody("e-2", "incident.acknowledged"))}, http.StatusAccepted},
		{"pagerduty replayed", webhook.PathPagerDuty, pdBody("e-2", "incident.acknowledged"),
			map[string]string{pagerduty.SignatureHeader: pdSignature(testPagerDuty, pdBody("e-2", "incident.acknowledged"))}, http.StatusAccepted},
		{"pagerduty bad signature", webhook.PathPagerDuty, pdBody("e-3", "incident.resolved"),
			map[string]string{pagerduty.SignatureHeader: "v1=00"}, http.StatusUnauthorized},
		{"pagerduty not JSON", webhook.PathPagerDuty, "{", map[string]string{pagerduty.SignatureHeader: pdSignature(testPagerDuty, "{")}, http.StatusBadRequest},
	} {
		rec := f.do(t, request{path: tc.path, body: tc.body, headers: tc.headers})
		if rec.Code != tc.status {
			t.Errorf("%s: status %d (%s), want %d", tc.name, rec.Code, rec.Body, tc.status)
		}
	}
	// One write per accepted delivery: the replays wrote nothing.
	if got := f.w.writes(); got != 3 {
		t.Errorf("%d batches written, want 3 (one Jira, two PagerDuty deliveries)", got)
	}
	if got := tools["acme-jira"].handled(); len(got) != 1 || got[0] != "jira:issue_updated" {
		t.Errorf("the jira source was handed %q, want the one issue_updated event", got)
	}
	if got := tools["acme-pd"].handled(); len(got) != 2 || got[0] != "incident.triggered" || got[1] != "incident.acknowledged" {
		t.Errorf("the pagerduty source was handed %q", got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.collects) != 1 || f.collects[0] != "acme-pd" {
		t.Errorf("collections asked for %q, want acme-pd once", f.collects)
	}
}

func TestToolWebhookSettings(t *testing.T) {
	t.Setenv("WH_TEST_JIRA", testJira)
	for _, tc := range []struct{ settings, want string }{
		{"      jira_secret_env: WH_TEST_JIRA\n", "jira_source: name the jira source"},
		{"      jira_source: acme-jira\n", "set jira_secret_env or jira_secret_file too"},
		{"      pagerduty_secret_env: WH_TEST_NOPE\n      pagerduty_source: pd\n", "pagerduty_secret_env"},
		{"      jira_secret_env: WH_TEST_JIRA\n      jira_source: ci\n", "must name a jira source, not this webhook source"},
	} {
		_, err := build(t, tc.settings)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.settings, err, tc.want)
		}
	}
	src, err := build(t, "      jira_secret_env: WH_TEST_JIRA\n      jira_source: acme-jira\n")
	if err != nil {
		t.Fatal(err)
	}
	routes := src.(collectors.Receiver).Routes(collectors.ReceiverEnv{})
	if _, ok := routes[webhook.PathJira]; !ok || len(routes) != 1 {
		t.Errorf("routes %v, want /webhooks/jira alone", routes)
	}
}

// A jira_source naming a source of another type is refused at start-up.
func TestToolWebhookSourceType(t *testing.T) {
	t.Setenv("WH_TEST_JIRA", testJira)
	registry := collectors.Registry{
		"webhook": webhook.NewSource,
		"github":  func(string, collectors.Settings) (collectors.Source, error) { return &fakeGitHub{}, nil },
	}
	cfg, err := config.Parse([]byte(`sources:
  - name: ci
    webhook:
      jira_secret_env: WH_TEST_JIRA
      jira_source: acme-github
  - name: acme-github
    github: {}
`), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	built, err := registry.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = built[0].Source.(*webhook.Source).CheckSources(built)
	if err == nil || !strings.Contains(err.Error(), `source "acme-github" is a github source, which does not take Jira's events: name a jira source`) {
		t.Errorf("CheckSources = %v", err)
	}
}
