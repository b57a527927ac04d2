package config

import (
	"net"
	"net/url"
	"strings"
)

// Grafana is where `flowmeter dashboards push` sends the dashboards, and how that
// Grafana reaches flowmeter's ClickHouse and Prometheus, which may differ from how
// flowmeter reaches them (a container network, a proxy).
type Grafana struct {
	// URL is Grafana's base URL, such as http://127.0.0.1:3000.
	URL string `yaml:"url,omitempty"`
	// TokenEnv / TokenFile hold a Grafana service-account token: Editor can
	// write folders and dashboards, Admin is needed to create datasources.
	TokenEnv  string `yaml:"token_env,omitempty"`
	TokenFile string `yaml:"token_file,omitempty"`
	// ClickHouseAddr is the native-protocol host:port Grafana's ClickHouse plugin
	// connects to; default the store's address.
	ClickHouseAddr string `yaml:"clickhouse_addr,omitempty"`
	// PrometheusURL is where Grafana queries the Prometheus that scrapes flowmeter;
	// default http://127.0.0.1:9090.
	PrometheusURL string `yaml:"prometheus_url,omitempty"`
}

// DefaultPrometheusURL is where Grafana finds Prometheus unless grafana.prometheus_url says.
const DefaultPrometheusURL = "http://127.0.0.1:9090"

// Token resolves the service-account token.
func (g *Grafana) Token() (string, error) { return ResolveSecret(g.TokenEnv, g.TokenFile) }

func (c *Config) validateGrafana(v *validator) {
	g := &c.Grafana
	if g.URL != "" {
		if u, err := url.Parse(g.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			v.add("grafana.url", "want an http or https URL without credentials, such as http://127.0.0.1:3000, got %q", g.URL)
		}
	}
	if g.TokenEnv != "" && g.TokenFile != "" {
		v.add("grafana.token_env", "give token_env or token_file, not both")
	}
	if g.ClickHouseAddr != "" {
		if _, port, err := net.SplitHostPort(g.ClickHouseAddr); err != nil || !validPort(port) {
			v.add("grafana.clickhouse_addr", "want host:port, got %q", g.ClickHouseAddr)
		}
	}
	if g.PrometheusURL != "" {
		if u, err := url.Parse(g.PrometheusURL); err != nil || !strings.HasPrefix(u.Scheme, "http") || u.Host == "" {
			v.add("grafana.prometheus_url", "want an http or https URL, got %q", g.PrometheusURL)
		}
	}
}
