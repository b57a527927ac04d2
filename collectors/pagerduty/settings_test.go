package pagerduty

import (
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
)

// build decodes a config holding one pagerduty source through the registry, as
// `flowmeter config check` does.
func build(t *testing.T, settings string) (*Source, error) {
	t.Helper()
	cfg, err := config.Parse([]byte("sources:\n  - name: pd\n    pagerduty:\n"+settings), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	built, err := collectors.Registry{"pagerduty": NewSource}.Build(cfg)
	if err != nil {
		return nil, err
	}
	return built[0].Source.(*Source), nil
}

func TestSettings(t *testing.T) {
	t.Setenv("PD_TEST_TOKEN", "s3cret-value")
	s, err := build(t, "      token_env: PD_TEST_TOKEN\n")
	if err != nil {
		t.Fatal(err)
	}
	if r := s.set; r.token != "s3cret-value" || r.baseURL != defaultBaseURL || r.since.Age != 90*24*time.Hour || r.pageSize != 100 || r.services != nil {
		t.Fatalf("defaults: %+v", r)
	}
	s, err = build(t, "      token_env: PD_TEST_TOKEN\n      base_url: https://api.eu.pagerduty.com/\n      services: [PSVC001, Checkout API]\n      teams: [Storefront]\n      since: 2026-01-01\n      page_size: 50\n")
	if err != nil {
		t.Fatal(err)
	}
	if r := s.set; r.baseURL != "https://api.eu.pagerduty.com" || len(r.services) != 2 || r.teams[0] != "Storefront" ||
		!r.since.Date.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || r.pageSize != 50 {
		t.Fatalf("given: %+v", r)
	}
	for _, tc := range []struct{ name, settings, want string }{
		{"no token", "      since: 30d\n", "token"},
		{"unknown field", "      token_env: PD_TEST_TOKEN\n      service_ids: [x]\n", "service_ids"},
		{"bad since", "      token_env: PD_TEST_TOKEN\n      since: yesterday\n", "pagerduty.since"},
		{"bad page size", "      token_env: PD_TEST_TOKEN\n      page_size: 500\n", "pagerduty.page_size"},
		{"bad base_url", "      token_env: PD_TEST_TOKEN\n      base_url: api.pagerduty.com\n", "pagerduty.base_url"},
		{"empty service", "      token_env: PD_TEST_TOKEN\n      services: ['']\n", "pagerduty.services"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, tc.settings)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret-value") {
				t.Fatalf("err %v, want one naming %q", err, tc.want)
			}
		})
	}
}
