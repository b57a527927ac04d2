package jira

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
)

// Settings are the Jira source's settings under `jira:` in the config.
type Settings struct {
	// BaseURL is the site's root, https://acme.atlassian.net for Cloud or the Data
	// Center base URL (with its context path, if any).
	BaseURL string `yaml:"base_url"`
	// Deployment is "cloud" (default) or "datacenter": they differ in API version,
	// paging and authentication.
	Deployment string `yaml:"deployment"`
	// EmailEnv names the variable holding the Atlassian account's email (Cloud only):
	// Cloud API tokens are sent as Basic email:token.
	EmailEnv string `yaml:"email_env"`
	// TokenEnv or TokenFile hold the API token (Cloud) or personal access token (Data
	// Center, sent as Bearer).
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// Projects are the project keys collected, each its own cursor stream.
	Projects []string `yaml:"projects"`
	// JQL is extra JQL ANDed into every search ("issuetype != Sub-task"); with no
	// projects it selects the issues alone.
	JQL string `yaml:"jql"`
	// Since is where a first collection starts: a duration back from now ("90d") or a
	// date ("2026-01-01"). Default 90d.
	Since string `yaml:"since"`
	// Overlap is how far before its cursor a collection searches again, on top of the
	// minute JQL dates are rounded to. Default 5m.
	Overlap string `yaml:"overlap"`
	// Worklogs collects logged time (on unless set to false).
	Worklogs *bool `yaml:"worklogs"`
	// PageSize is the issues asked for per search page, 1..1000, default 100 (Jira
	// Cloud gives at most 100 whatever is asked).
	PageSize int `yaml:"page_size"`
}

// The deployments a Jira site can be.
const (
	deploymentCloud      = "cloud"
	deploymentDataCenter = "datacenter"
)

const (
	defaultSince    = 90 * 24 * time.Hour
	defaultOverlap  = 5 * time.Minute
	defaultPageSize = 100
	maxPageSize     = 1000
)

// projectKey is what Jira accepts as a project key.
var projectKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,254}$`)

// resolved is validated settings in the form the source uses.
type resolved struct {
	baseURL    string // no trailing slash
	datacenter bool
	email      string
	token      string
	emailEnv   string // the names of the secrets, for error messages
	tokenRef   string
	projects   []string
	jql        string
	since      collectors.Backfill
	overlap    time.Duration
	worklogs   bool
	pageSize   int
}

// apiPath is the REST root of the deployment: v3 on Cloud (v2 is being retired
// there), v2 on Data Center (which has no v3).
func (r *resolved) apiPath() string {
	if r.datacenter {
		return "/rest/api/2"
	}
	return "/rest/api/3"
}

// resolve validates settings, reporting problems at their field and line.
func resolve(set Settings, s collectors.Settings) (*resolved, error) {
	r := &resolved{worklogs: set.Worklogs == nil || *set.Worklogs, jql: strings.TrimSpace(set.JQL)}
	u, err := url.Parse(set.BaseURL)
	if set.BaseURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, s.Invalid("base_url", "want the site's http(s) URL such as https://acme.atlassian.net, got %q", set.BaseURL)
	}
	if u.User != nil {
		// Credentials in the URL would be sent with no check and copied into the link
		// of every work item; the secrets have their own settings.
		return nil, s.Invalid("base_url", "leave the user or password out of the URL (%s://…@%s): the credentials go in email_env and token_env or token_file", u.Scheme, u.Host)
	}
	r.baseURL = strings.TrimSuffix(set.BaseURL, "/")
	switch set.Deployment {
	case "", deploymentCloud:
	case deploymentDataCenter:
		r.datacenter = true
	default:
		return nil, s.Invalid("deployment", "want %s or %s, got %q", deploymentCloud, deploymentDataCenter, set.Deployment)
	}
	token, err := config.ResolveSecret(set.TokenEnv, s.ResolvePath(set.TokenFile))
	if err != nil {
		field := "token_env"
		if set.TokenEnv == "" && set.TokenFile != "" {
			field = "token_file"
		}
		return nil, s.Invalid(field, "%v", err)
	}
	r.token = token
	r.tokenRef = "token_env " + set.TokenEnv
	if set.TokenEnv == "" {
		r.tokenRef = "token_file " + set.TokenFile
	}
	if r.datacenter {
		if set.EmailEnv != "" {
			return nil, s.Invalid("email_env", "Data Center takes a personal access token alone; leave email_env out")
		}
	} else {
		if set.EmailEnv == "" {
			return nil, s.Invalid("email_env", "Jira Cloud needs the account's email with its API token: name the variable holding it")
		}
		email, err := config.ResolveSecret(set.EmailEnv, "")
		if err != nil {
			return nil, s.Invalid("email_env", "%v", err)
		}
		r.email, r.emailEnv = email, set.EmailEnv
	}
	seen := map[string]bool{}
	for _, p := range set.Projects {
		if !projectKey.MatchString(p) {
			return nil, s.Invalid("projects", "want a project key such as PAY, got %q", p)
		}
		if !seen[p] {
			seen[p] = true
			r.projects = append(r.projects, p)
		}
	}
	if len(r.projects) == 0 && r.jql == "" {
		return nil, s.Invalid("projects", "give projects, jql or both")
	}
	if strings.Contains(strings.ToLower(r.jql), "order by") {
		return nil, s.Invalid("jql", "leave ORDER BY out: the source orders by update time itself")
	}
	if r.since, err = s.Backfill("since", set.Since, defaultSince); err != nil {
		return nil, err
	}
	r.overlap = defaultOverlap
	if set.Overlap != "" {
		d, err := config.ParseDuration(set.Overlap)
		if err != nil || d.Duration < 0 {
			return nil, s.Invalid("overlap", "want a duration such as 5m, got %q", set.Overlap)
		}
		r.overlap = d.Duration
	}
	r.pageSize = defaultPageSize
	if set.PageSize != 0 {
		if set.PageSize < 1 || set.PageSize > maxPageSize {
			return nil, s.Invalid("page_size", "want 1 to %d, got %d", maxPageSize, set.PageSize)
		}
		r.pageSize = set.PageSize
	}
	return r, nil
}

// authRef names the settings holding the credentials, for a refused request.
func (r *resolved) authRef() string {
	if r.datacenter {
		return r.tokenRef
	}
	return "email_env " + r.emailEnv + " and " + r.tokenRef
}
