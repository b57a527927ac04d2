package opsgenie

import (
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
)

// build decodes a config holding one opsgenie source through the registry, as
// `flowmeter config check` does.
func build(t *testing.T, settings string) (*Source, error) {
	t.Helper()
	text := "sources:\n  - name: og\n    opsgenie:\n" + settings
	cfg, err := config.Parse([]byte(text), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	built, err := collectors.Registry{"opsgenie": NewSource}.Build(cfg)
	if err != nil {
		return nil, err
	}
	return built[0].Source.(*Source), nil
}

func TestSettings(t *testing.T) {
	t.Setenv("OG_TEST_KEY", "s3cret-value")
	t.Run("defaults", func(t *testing.T) {
		s, err := build(t, "      api_key_env: OG_TEST_KEY\n")
		if err != nil {
			t.Fatal(err)
		}
		r := s.set
		if r.key != "s3cret-value" || r.baseURL != "https://api.opsgenie.com" || !r.alerts || !r.incidents ||
			r.serviceTag != "service:" || r.since.Age != 90*24*time.Hour || r.pageSize != 100 || r.query != "" || r.webURL != "" {
			t.Fatalf("defaults: %+v", r)
		}
	})
	t.Run("EU, a since date, a query, no service tag", func(t *testing.T) {
		s, err := build(t, strings.Join([]string{
			"      base_url: https://api.eu.opsgenie.com/",
			"      api_key_env: OG_TEST_KEY",
			"      incidents: false",
			"      query: 'tag:prod'",
			"      service_tag_prefix: ''",
			"      web_url: https://acme.app.eu.opsgenie.com",
			"      since: 2026-02-01",
			"      page_size: 50",
		}, "\n")+"\n")
		if err != nil {
			t.Fatal(err)
		}
		r := s.set
		if r.baseURL != "https://api.eu.opsgenie.com" || r.incidents || !r.alerts || r.query != "tag:prod" || r.serviceTag != "" ||
			r.webURL != "https://acme.app.eu.opsgenie.com" || !r.since.Date.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) || r.pageSize != 50 {
			t.Fatalf("settings: %+v", r)
		}
	})
	for _, tc := range []struct{ name, settings, want string }{
		{"unknown field", "      api_key_env: OG_TEST_KEY\n      token_env: X\n", "token_env"},
		{"missing key", "      api_key_env: OG_MISSING_KEY\n", "f.yaml:4: sources[0].opsgenie.api_key_env: environment variable OG_MISSING_KEY is not set"},
		{"bad base_url", "      api_key_env: OG_TEST_KEY\n      base_url: api.opsgenie.com\n", "sources[0].opsgenie.base_url"},
		{"page too large", "      api_key_env: OG_TEST_KEY\n      page_size: 500\n", "sources[0].opsgenie.page_size: want 1 to 100"},
		{"bad since", "      api_key_env: OG_TEST_KEY\n      since: lately\n", "sources[0].opsgenie.since"},
		{"nothing to collect", "      api_key_env: OG_TEST_KEY\n      alerts: false\n      incidents: false\n", "nothing to collect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, tc.settings)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret-value") {
				t.Fatalf("the error shows the key: %v", err)
			}
		})
	}
}
