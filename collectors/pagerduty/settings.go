package pagerduty

import (
	"net/url"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
)

// Settings are the PagerDuty source's settings under `pagerduty:` in the config.
type Settings struct {
	// BaseURL is the REST API root. Empty means https://api.pagerduty.com (set
	// https://api.eu.pagerduty.com for an EU account, or a test server).
	BaseURL string `yaml:"base_url"`
	// TokenEnv and TokenFile name where the REST API key is (one of them): a
	// read-only account key is enough.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// Services keeps only incidents of these services, each given by its PagerDuty
	// id ("PIJ90N7") or its name ("Checkout API", matched without regard to case).
	// Empty keeps every service.
	Services []string `yaml:"services"`
	// Teams keeps only incidents of these teams, by id or name as for Services.
	Teams []string `yaml:"teams"`
	// Since is where a first collection starts: a duration back from now ("90d") or
	// a date ("2026-01-01"). Default 90d.
	Since string `yaml:"since"`
	// PageSize is how many items a list request asks for, 1 to 100 (PagerDuty's
	// largest page, the default: fewest requests).
	PageSize int `yaml:"page_size"`
}

const (
	defaultBaseURL  = "https://api.pagerduty.com"
	defaultSince    = 90 * 24 * time.Hour
	maxPageSize     = 100
	defaultPageSize = maxPageSize
)

// resolved is validated settings in the form the source uses.
type resolved struct {
	baseURL  string // no trailing slash
	token    string
	services []string // ids or names, as configured
	teams    []string
	since    collectors.Backfill
	pageSize int
}

// resolve validates settings, reporting problems at their field and line.
func resolve(set Settings, s collectors.Settings) (*resolved, error) {
	r := &resolved{baseURL: defaultBaseURL, pageSize: defaultPageSize}
	if set.BaseURL != "" {
		u, err := url.Parse(set.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, s.Invalid("base_url", "want an http(s) URL such as %s, got %q", defaultBaseURL, set.BaseURL)
		}
		r.baseURL = strings.TrimSuffix(set.BaseURL, "/")
	}
	token, err := config.ResolveSecret(set.TokenEnv, s.ResolvePath(set.TokenFile))
	if err != nil {
		field := "token_env"
		if set.TokenEnv == "" {
			field = "token_file"
		}
		return nil, s.Invalid(field, "%v", err)
	}
	r.token = token
	for _, v := range set.Services {
		if strings.TrimSpace(v) == "" {
			return nil, s.Invalid("services", "an empty entry: give a service id or name")
		}
		r.services = append(r.services, strings.TrimSpace(v))
	}
	for _, v := range set.Teams {
		if strings.TrimSpace(v) == "" {
			return nil, s.Invalid("teams", "an empty entry: give a team id or name")
		}
		r.teams = append(r.teams, strings.TrimSpace(v))
	}
	if r.since, err = s.Backfill("since", set.Since, defaultSince); err != nil {
		return nil, err
	}
	switch {
	case set.PageSize == 0:
	case set.PageSize < 1 || set.PageSize > maxPageSize:
		return nil, s.Invalid("page_size", "want 1 to %d, got %d", maxPageSize, set.PageSize)
	default:
		r.pageSize = set.PageSize
	}
	return r, nil
}
