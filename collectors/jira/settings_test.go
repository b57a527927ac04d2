package jira

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
)

// build decodes a config holding one jira source through the registry, as
// `flowmeter config check` does.
func build(t *testing.T, settings string) (*Source, error) {
	t.Helper()
	text := "sources:\n  - name: tickets\n    jira:\n" + settings
	path := filepath.Join(t.TempDir(), "f.yaml")
	cfg, err := config.Parse([]byte(text), path)
	if err != nil {
		t.Fatal(err)
	}
	built, err := collectors.Registry{"jira": NewSource}.Build(cfg)
	if err != nil {
		return nil, err
	}
	return built[0].Source.(*Source), nil
}

func TestSettings(t *testing.T) {
	t.Setenv("JIRA_TEST_EMAIL", "ana@example.com")
	t.Setenv("JIRA_TEST_TOKEN", "s3cret-value")
	t.Run("cloud defaults", func(t *testing.T) {
		s, err := build(t, "      base_url: https://acme.atlassian.net/\n      email_env: JIRA_TEST_EMAIL\n      token_env: JIRA_TEST_TOKEN\n      projects: [PAY, OPS, PAY]\n")
		if err != nil {
			t.Fatal(err)
		}
		r := s.set
		if r.baseURL != "https://acme.atlassian.net" || r.datacenter || r.email != "ana@example.com" || r.token != "s3cret-value" ||
			strings.Join(r.projects, ",") != "PAY,OPS" || r.since.Age != 90*24*time.Hour || r.overlap != 5*time.Minute ||
			!r.worklogs || r.pageSize != 100 || r.apiPath() != "/rest/api/3" {
			t.Fatalf("defaults: %+v", r)
		}
	})
	t.Run("datacenter", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "pat")
		os.WriteFile(file, []byte("pat-value\n"), 0o600)
		s, err := build(t, "      base_url: https://jira.acme.internal/jira\n      deployment: datacenter\n      token_file: "+file+
			"\n      jql: issuetype != Sub-task\n      since: 2026-01-01\n      overlap: 30m\n      worklogs: false\n      page_size: 500\n")
		if err != nil {
			t.Fatal(err)
		}
		r := s.set
		if !r.datacenter || r.token != "pat-value" || len(r.projects) != 0 || r.jql != "issuetype != Sub-task" ||
			!r.since.Date.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || r.overlap != 30*time.Minute || r.worklogs ||
			r.pageSize != 500 || r.apiPath() != "/rest/api/2" || s.streams()[0].name != "issues" {
			t.Fatalf("datacenter: %+v", r)
		}
	})
	base := "      base_url: https://acme.atlassian.net\n      email_env: JIRA_TEST_EMAIL\n      token_env: JIRA_TEST_TOKEN\n"
	for _, tc := range []struct{ settings, want string }{
		{"      email_env: JIRA_TEST_EMAIL\n      token_env: JIRA_TEST_TOKEN\n      projects: [PAY]\n", "jira.base_url"},
		{base + "      projects: [PAY]\n      deployment: server\n", "jira.deployment"},
		{base, "give projects, jql or both"},
		{base + "      projects: [pay]\n", "want a project key"},
		{base + "      jql: project = PAY ORDER BY created\n", "leave ORDER BY out"},
		{base + "      projects: [PAY]\n      since: soon\n", "jira.since"},
		{base + "      projects: [PAY]\n      overlap: -5m\n", "jira.overlap"},
		{base + "      projects: [PAY]\n      page_size: 5000\n", "jira.page_size"},
		{base + "      projects: [PAY]\n      colour: blue\n", "colour"},
		{"      base_url: https://ana:pw@acme.atlassian.net\n      email_env: JIRA_TEST_EMAIL\n      token_env: JIRA_TEST_TOKEN\n      projects: [PAY]\n", "user or password"},
		{"      base_url: https://ana@acme.atlassian.net\n      email_env: JIRA_TEST_EMAIL\n      token_env: JIRA_TEST_TOKEN\n      projects: [PAY]\n", "user or password"},
		{"      base_url: https://acme.atlassian.net\n      token_env: JIRA_TEST_TOKEN\n      projects: [PAY]\n", "jira.email_env"},
		{"      base_url: https://acme.atlassian.net\n      email_env: JIRA_TEST_EMAIL\n      token_env: JIRA_UNSET_TOKEN\n      projects: [PAY]\n", "JIRA_UNSET_TOKEN is not set"},
		{"      base_url: https://j.example.com\n      deployment: datacenter\n      email_env: JIRA_TEST_EMAIL\n      token_env: JIRA_TEST_TOKEN\n      projects: [PAY]\n", "leave email_env out"},
	} {
		_, err := build(t, tc.settings)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error containing %q", tc.settings, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret-value") {
			t.Errorf("the secret leaked: %v", err)
		}
	}
}
