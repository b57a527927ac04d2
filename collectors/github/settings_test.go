package github

import (
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
)

// build decodes a config holding one github source through the registry, as
// `flowmeter config check` does.
func build(t *testing.T, settings string) (*Source, error) {
	t.Helper()
	text := "sources:\n  - name: gh\n    github:\n" + settings
	cfg, err := config.Parse([]byte(text), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	built, err := collectors.Registry{"github": NewSource}.Build(cfg)
	if err != nil {
		return nil, err
	}
	return built[0].Source.(*Source), nil
}

func TestSettings(t *testing.T) {
	t.Setenv("GH_TEST_TOKEN", "s3cret-value")
	t.Run("defaults", func(t *testing.T) {
		s, err := build(t, "      token_env: GH_TEST_TOKEN\n      organizations: [acme]\n")
		if err != nil {
			t.Fatal(err)
		}
		r := s.set
		if r.token != "s3cret-value" || r.baseURL != "" || !r.api || r.releases || r.since.Age != 180*24*time.Hour ||
			len(r.bots) != 1 || !r.isBot("renovate[bot]", "User") || r.isBot("ana", "User") || !r.isBot("ci", "Bot") {
			t.Fatalf("defaults: %+v", r)
		}
		want := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		if got := r.since.Start(want.Add(180 * 24 * time.Hour)); !got.Equal(want) {
			t.Errorf("backfill start %v, want %v", got, want)
		}
	})
	t.Run("enterprise, globs, workflows, releases, a since date", func(t *testing.T) {
		s, err := build(t, strings.Join([]string{
			"      base_url: https://ghe.example.com/api/v3",
			"      token_env: GH_TEST_TOKEN",
			"      repositories: [acme/api, acme/pay-*]",
			"      exclude: [acme/pay-legacy]",
			"      since: 2026-02-01",
			"      deployments:",
			"        api: false",
			"        workflows: [{workflow: Deploy}, {workflow: release.yml, refs: [tags]}]",
			"        releases: {enabled: true, environment: prod}",
		}, "\n")+"\n")
		if err != nil {
			t.Fatal(err)
		}
		r := s.set
		if r.baseURL != "https://ghe.example.com/api/v3/" || r.api || !r.releases || r.releasesEnv != "prod" ||
			len(r.repos) != 1 || len(r.globs) != 1 || !r.excluded("acme/Pay-Legacy") || r.excluded("acme/pay-api") ||
			!r.since.Date.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) || r.workflows[0].Environment != "production" ||
			!r.workflows[0].onDefaultBranch() || !r.workflows[0].onTags() || r.workflows[1].onDefaultBranch() || !r.workflows[1].onTags() {
			t.Fatalf("resolved %+v", r)
		}
		if got := s.client.BaseURL.String(); got != "https://ghe.example.com/api/v3/" {
			t.Errorf("client base URL %s", got)
		}
	})
	errorsTests := []struct{ name, settings, want string }{
		{"missing token variable", "      token_env: GH_TEST_UNSET\n      organizations: [acme]\n",
			"f.yaml:4: sources[0].github.token_env: environment variable GH_TEST_UNSET is not set"},
		{"nothing to collect", "      token_env: GH_TEST_TOKEN\n",
			"f.yaml:4: sources[0].github.organizations: give organizations, repositories or both"},
		{"bad repository", "      token_env: GH_TEST_TOKEN\n      repositories: [api]\n",
			`f.yaml:5: sources[0].github.repositories: want owner/name, got "api"`},
		{"bad since", "      token_env: GH_TEST_TOKEN\n      organizations: [acme]\n      since: lately\n",
			`f.yaml:6: sources[0].github.since: want a duration such as 180d or a date such as 2026-01-01, got "lately"`},
		{"bad base url", "      base_url: ghe.example.com\n      token_env: GH_TEST_TOKEN\n      organizations: [acme]\n",
			`f.yaml:4: sources[0].github.base_url: want an http(s) URL`},
		{"bad bot pattern", "      token_env: GH_TEST_TOKEN\n      organizations: [acme]\n      bot_patterns: ['(']\n",
			`f.yaml:6: sources[0].github.bot_patterns: bad regular expression "("`},
		{"unknown workflow ref", "      token_env: GH_TEST_TOKEN\n      organizations: [acme]\n      deployments:\n        workflows:\n          - workflow: deploy.yml\n            refs: [main]\n",
			`f.yaml:7: sources[0].github.deployments.workflows: item 0 (deploy.yml): refs: want default_branch or tags, got "main"`},
		{"no workflow refs", "      token_env: GH_TEST_TOKEN\n      organizations: [acme]\n      deployments:\n        workflows: [{workflow: deploy.yml, refs: []}]\n",
			`f.yaml:7: sources[0].github.deployments.workflows: item 0 (deploy.yml): refs: give default_branch, tags or both`},
		{"unknown field", "      token_env: GH_TEST_TOKEN\n      organisations: [acme]\n",
			`f.yaml:5: sources[0].github.organisations: unknown field`},
	}
	for _, tc := range errorsTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, tc.settings)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to start with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret-value") {
				t.Fatal("the token reached an error message")
			}
		})
	}
}
