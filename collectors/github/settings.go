package github

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
)

// Settings are the GitHub source's settings under `github:` in the config.
type Settings struct {
	// BaseURL is the REST API root; set it for GitHub Enterprise Server
	// (https://ghe.example.com/api/v3/). Empty means github.com.
	BaseURL   string `yaml:"base_url"`
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// App authenticates as a GitHub App installation instead of with a token.
	App *AppSettings `yaml:"app"`
	// Organizations whose repositories are all collected (forks and archived ones
	// left out).
	Organizations []string `yaml:"organizations"`
	// Repositories to collect, "owner/name"; a glob in the name ("acme/pay-*") is
	// matched against the owner organisation's repositories.
	Repositories []string `yaml:"repositories"`
	// Exclude drops repositories matching any of these globs.
	Exclude []string `yaml:"exclude"`
	// Since is where a first collection starts: a duration back from now ("180d")
	// or a date ("2026-01-01"). Default 180d.
	Since string `yaml:"since"`
	// BotPatterns are regular expressions for logins whose reviews do not count as a
	// first review; accounts GitHub marks as bots never count. Default ['\[bot\]$'].
	BotPatterns []string `yaml:"bot_patterns"`
	// Deployments says what counts as a deployment.
	Deployments DeploymentSettings `yaml:"deployments"`
	// API is how pull requests are collected: "rest" (the default: two requests per
	// pull request) or "graphql" (pages of up to 100 pull requests with everything
	// recorded, a few points each), which falls back to REST where the GraphQL API
	// lacks a field. Everything else is always collected by REST.
	API string `yaml:"api"`
	// PullRequestSizes asks REST for each pull request in full, for its additions,
	// deletions and commit count, which the list leaves out (on unless set to
	// false). Off, a REST backfill asks one request a pull request rather than two:
	// the commit count comes from the timeline, and additions and deletions are
	// recorded as -1, unknown. No figure flowmeter derives reads them; GraphQL
	// always has them.
	PullRequestSizes *bool `yaml:"pull_request_sizes"`
}

// AppSettings name a GitHub App installation and the App's private key, given by
// file or environment variable like a token, never in the config.
type AppSettings struct {
	ID             int64  `yaml:"id"`
	InstallationID int64  `yaml:"installation_id"`
	PrivateKeyFile string `yaml:"private_key_file"`
	PrivateKeyEnv  string `yaml:"private_key_env"`
}

// DeploymentSettings choose the sources of deployment records. Beware of counting
// one deployment twice: a workflow job with an `environment:` also creates a
// Deployments API record.
type DeploymentSettings struct {
	// API collects the Deployments API (on unless set to false).
	API *bool `yaml:"api"`
	// Environments keeps only these Deployments API environments; empty keeps all.
	Environments []string `yaml:"environments"`
	// Workflows are GitHub Actions workflows whose completed runs on the default
	// branch or on a tag are deployments.
	Workflows []WorkflowSettings `yaml:"workflows"`
	// Releases makes every published release a deployment (for software shipped by
	// release).
	Releases ReleaseSettings `yaml:"releases"`
}

// WorkflowSettings name one deploy workflow.
type WorkflowSettings struct {
	// Workflow is the workflow's file name ("deploy.yml"), path
	// (".github/workflows/deploy.yml") or name ("Deploy").
	Workflow    string `yaml:"workflow"`
	Environment string `yaml:"environment"` // default "production"
	// Refs say which runs are deployments: those on the default branch, those on a
	// tag (a release workflow runs on the tag pushed), or both, the default, since
	// teams deploy on merge, on a release tag or either.
	Refs []string `yaml:"refs"`
}

// The values of WorkflowSettings.Refs.
const (
	refDefaultBranch = "default_branch"
	refTags          = "tags"
)

// onDefaultBranch says whether runs on the default branch are deployments.
func (w WorkflowSettings) onDefaultBranch() bool {
	return w.Refs == nil || slices.Contains(w.Refs, refDefaultBranch)
}

// onTags says whether runs on a tag are deployments.
func (w WorkflowSettings) onTags() bool { return w.Refs == nil || slices.Contains(w.Refs, refTags) }

// refsText names the refs whose runs are deployments, for log lines.
func (w WorkflowSettings) refsText(defaultBranch string) string {
	switch {
	case !w.onTags():
		return "the default branch (" + defaultBranch + ")"
	case !w.onDefaultBranch():
		return "a tag"
	}
	return "the default branch (" + defaultBranch + ") or a tag"
}

// ReleaseSettings turn releases into deployments.
type ReleaseSettings struct {
	Enabled     bool   `yaml:"enabled"`
	Environment string `yaml:"environment"` // default "production"
}

const (
	defaultSince       = 180 * 24 * time.Hour
	defaultEnvironment = "production"
	defaultBotPattern  = `\[bot\]$`
)

// resolved is validated settings in the form the source uses.
type resolved struct {
	baseURL     string   // empty for github.com
	token       string   // empty when app is set
	app         *appAuth // nil when token is set
	orgs        []string
	repos       []string // explicit "owner/name"
	globs       []string // "owner/pattern"
	exclude     []string
	since       collectors.Backfill
	bots        []*regexp.Regexp
	api         bool            // collect the Deployments API
	graphql     bool            // collect pull requests by GraphQL
	noSizes     bool            // build REST records from the list, without each pull request's sizes
	envs        map[string]bool // nil: every environment
	workflows   []WorkflowSettings
	releases    bool
	releasesEnv string
}

// refusedCredentials says what to check when GitHub refuses what the source signs
// requests with.
func (r *resolved) refusedCredentials() string {
	if r.app != nil {
		return fmt.Sprintf("the %s's token was refused (401 Bad credentials): check the app's id, installation_id and private key, and that the app is still installed", r.app)
	}
	return "the token was refused (401 Bad credentials): check token_env/token_file"
}

func (r *resolved) isBot(login string, typ string) bool {
	if strings.EqualFold(typ, "Bot") {
		return true
	}
	for _, re := range r.bots {
		if re.MatchString(login) {
			return true
		}
	}
	return false
}

// resolve validates settings, reporting problems at their field and line.
func resolve(set Settings, s collectors.Settings) (*resolved, error) {
	r := &resolved{api: set.Deployments.API == nil || *set.Deployments.API, releases: set.Deployments.Releases.Enabled}
	if set.BaseURL != "" {
		u, err := url.Parse(set.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, s.Invalid("base_url", "want an http(s) URL such as https://ghe.example.com/api/v3/, got %q", set.BaseURL)
		}
		r.baseURL = strings.TrimSuffix(set.BaseURL, "/") + "/"
	}
	if err := resolveCredentials(set, s, r); err != nil {
		return nil, err
	}
	r.orgs = set.Organizations
	for _, repo := range set.Repositories {
		owner, name, ok := strings.Cut(repo, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, s.Invalid("repositories", "want owner/name, got %q", repo)
		}
		if _, err := path.Match(name, ""); err != nil {
			return nil, s.Invalid("repositories", "bad glob %q: %v", repo, err)
		}
		if strings.ContainsAny(name, "*?[") {
			r.globs = append(r.globs, repo)
		} else {
			r.repos = append(r.repos, repo)
		}
	}
	if len(r.orgs) == 0 && len(set.Repositories) == 0 {
		return nil, s.Invalid("organizations", "give organizations, repositories or both")
	}
	for _, ex := range set.Exclude {
		if _, err := path.Match(ex, ""); err != nil {
			return nil, s.Invalid("exclude", "bad glob %q: %v", ex, err)
		}
		r.exclude = append(r.exclude, ex)
	}
	var err error
	if r.since, err = s.Backfill("since", set.Since, defaultSince); err != nil {
		return nil, err
	}
	patterns := set.BotPatterns
	if patterns == nil {
		patterns = []string{defaultBotPattern}
	}
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, s.Invalid("bot_patterns", "bad regular expression %q: %v", p, err)
		}
		r.bots = append(r.bots, re)
	}
	if len(set.Deployments.Environments) > 0 {
		r.envs = map[string]bool{}
		for _, e := range set.Deployments.Environments {
			r.envs[e] = true
		}
	}
	for i, w := range set.Deployments.Workflows {
		if strings.TrimSpace(w.Workflow) == "" {
			return nil, s.Invalid("deployments.workflows", "item %d: give the workflow's file name, path or name", i)
		}
		if w.Environment == "" {
			w.Environment = defaultEnvironment
		}
		if w.Refs != nil && len(w.Refs) == 0 {
			return nil, s.Invalid("deployments.workflows", "item %d (%s): refs: give %s, %s or both", i, w.Workflow, refDefaultBranch, refTags)
		}
		for _, ref := range w.Refs {
			if ref != refDefaultBranch && ref != refTags {
				return nil, s.Invalid("deployments.workflows", "item %d (%s): refs: want %s or %s, got %q", i, w.Workflow, refDefaultBranch, refTags, ref)
			}
		}
		r.workflows = append(r.workflows, w)
	}
	switch strings.ToLower(set.API) {
	case "", "rest":
	case "graphql":
		r.graphql = true
	default:
		return nil, s.Invalid("api", "want rest or graphql, got %q", set.API)
	}
	r.noSizes = set.PullRequestSizes != nil && !*set.PullRequestSizes
	r.releasesEnv = set.Deployments.Releases.Environment
	if r.releasesEnv == "" {
		r.releasesEnv = defaultEnvironment
	}
	return r, nil
}

// resolveCredentials reads the token, or the App's ids and private key: exactly one
// of the two must be given.
func resolveCredentials(set Settings, s collectors.Settings, r *resolved) error {
	hasToken := set.TokenEnv != "" || set.TokenFile != ""
	switch {
	case hasToken && set.App != nil:
		return s.Invalid("app", "give either a token (token_env or token_file) or app, not both")
	case set.App != nil:
		app, err := resolveApp(*set.App, s)
		r.app = app
		return err
	case !hasToken:
		return s.Invalid("token_env", "no credentials: give a token (token_env or token_file) or a GitHub App (app)")
	}
	token, err := config.ResolveSecret(set.TokenEnv, s.ResolvePath(set.TokenFile))
	if err != nil {
		field := "token_env"
		if set.TokenEnv == "" {
			field = "token_file"
		}
		return s.Invalid(field, "%v", err)
	}
	r.token = token
	return nil
}

// resolveApp checks the App's ids and reads its private key. Errors name the file or
// variable, never the key.
func resolveApp(set AppSettings, s collectors.Settings) (*appAuth, error) {
	if set.ID <= 0 {
		return nil, s.Invalid("app.id", "give the App's id (App ID on the App's settings page)")
	}
	if set.InstallationID <= 0 {
		return nil, s.Invalid("app.installation_id", "give the id of the App's installation (the number ending the installation's settings URL)")
	}
	field := "app.private_key_file"
	if set.PrivateKeyEnv != "" {
		field = "app.private_key_env"
	}
	text, err := config.ResolveSecret(set.PrivateKeyEnv, s.ResolvePath(set.PrivateKeyFile))
	if err != nil {
		return nil, s.Invalid(field, "%v", err)
	}
	if set.PrivateKeyEnv != "" && !strings.Contains(text, "\n") {
		// A PEM put in one line of an environment variable or .env file, its line
		// breaks written as \n.
		text = strings.ReplaceAll(text, `\n`, "\n")
	}
	key, err := parsePrivateKey(text)
	if err != nil {
		return nil, s.Invalid(field, "%v", err)
	}
	return &appAuth{id: set.ID, installationID: set.InstallationID, key: key}, nil
}

// excluded says whether a repository is left out by the exclude globs.
func (r *resolved) excluded(fullName string) bool {
	for _, ex := range r.exclude {
		if ok, _ := path.Match(strings.ToLower(ex), strings.ToLower(fullName)); ok {
			return true
		}
	}
	return false
}

// workflowFile is the file name GitHub accepts in place of a workflow id, or "" when
// the setting is a workflow's display name.
func workflowFile(w string) string {
	if strings.HasSuffix(w, ".yml") || strings.HasSuffix(w, ".yaml") {
		return path.Base(w)
	}
	return ""
}

func (w WorkflowSettings) String() string { return fmt.Sprintf("%s (%s)", w.Workflow, w.Environment) }
