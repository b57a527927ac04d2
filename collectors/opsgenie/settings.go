package opsgenie

import (
	"net/url"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
)

// Settings are the Opsgenie source's settings under `opsgenie:` in the config.
type Settings struct {
	// BaseURL is the API root: https://api.opsgenie.com (the default) or, for an
	// account in Opsgenie's EU region, https://api.eu.opsgenie.com.
	BaseURL string `yaml:"base_url"`
	// APIKeyEnv and APIKeyFile name where the API key is; the key itself is never
	// written in the config nor logged.
	APIKeyEnv  string `yaml:"api_key_env"`
	APIKeyFile string `yaml:"api_key_file"`
	// Alerts and Incidents choose the streams; both default to true.
	Alerts    *bool `yaml:"alerts"`
	Incidents *bool `yaml:"incidents"`
	// Query is an Opsgenie alert search query ANDed into every alert request, to
	// collect only some alerts ("tag:prod", "priority:P1").
	Query string `yaml:"query"`
	// ServiceTagPrefix names an alert's service: the rest of its first tag with this
	// prefix (tag "service:payments-api" gives "payments-api"). Alerts have no
	// service field. Default "service:"; empty leaves alerts without a service.
	ServiceTagPrefix *string `yaml:"service_tag_prefix"`
	// WebURL is the account's web address (https://acme.app.opsgenie.com), from
	// which each alert's link is made; without it alerts have no URL. Incidents
	// carry their own link.
	WebURL string `yaml:"web_url"`
	// Since is where a first collection starts: a duration back from now ("90d")
	// or a date ("2026-01-01"). Default 90d.
	Since string `yaml:"since"`
	// PageSize is how many alerts or incidents one request asks for, 1 to 100
	// (Opsgenie's largest page, the default).
	PageSize int `yaml:"page_size"`
}

const (
	defaultBaseURL    = "https://api.opsgenie.com"
	defaultSince      = 90 * 24 * time.Hour
	defaultServiceTag = "service:"
	maxPageSize       = 100
)

// resolved is validated settings in the form the source uses.
type resolved struct {
	baseURL    string // without a trailing slash
	key        string
	alerts     bool
	incidents  bool
	query      string
	serviceTag string
	webURL     string
	since      collectors.Backfill
	pageSize   int
}

// resolve validates settings, reporting problems at their field and line.
func resolve(set Settings, s collectors.Settings) (*resolved, error) {
	r := &resolved{
		baseURL: defaultBaseURL, alerts: set.Alerts == nil || *set.Alerts,
		incidents: set.Incidents == nil || *set.Incidents, query: strings.TrimSpace(set.Query),
		serviceTag: defaultServiceTag, pageSize: maxPageSize,
	}
	if set.BaseURL != "" {
		u, err := url.Parse(set.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, s.Invalid("base_url", "want an http(s) URL such as %s or https://api.eu.opsgenie.com, got %q", defaultBaseURL, set.BaseURL)
		}
		r.baseURL = strings.TrimSuffix(set.BaseURL, "/")
	}
	if set.WebURL != "" {
		u, err := url.Parse(set.WebURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, s.Invalid("web_url", "want the account's web address such as https://acme.app.opsgenie.com, got %q", set.WebURL)
		}
		r.webURL = strings.TrimSuffix(set.WebURL, "/")
	}
	key, err := config.ResolveSecret(set.APIKeyEnv, s.ResolvePath(set.APIKeyFile))
	if err != nil {
		field := "api_key_env"
		if set.APIKeyEnv == "" {
			field = "api_key_file"
		}
		return nil, s.Invalid(field, "%v", err)
	}
	r.key = key
	if !r.alerts && !r.incidents {
		return nil, s.Invalid("alerts", "alerts and incidents are both off: nothing to collect")
	}
	if set.ServiceTagPrefix != nil {
		r.serviceTag = *set.ServiceTagPrefix
	}
	if r.since, err = s.Backfill("since", set.Since, defaultSince); err != nil {
		return nil, err
	}
	if set.PageSize != 0 {
		if set.PageSize < 1 || set.PageSize > maxPageSize {
			return nil, s.Invalid("page_size", "want 1 to %d (Opsgenie's largest page), got %d", maxPageSize, set.PageSize)
		}
		r.pageSize = set.PageSize
	}
	return r, nil
}
