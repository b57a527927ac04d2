// Package webhook is the source that tools push to: CI pipelines and deploy scripts
// post deployments and incidents as JSON, Flux's notification-controller and Argo CD
// notifications post their deployment events, and GitHub posts repository events
// that the configured GitHub source turns into its own records. `flowmeter run`
// mounts the handlers (collectors.Receiver); every accepted event is written through
// the durable ReceiverEnv.Writer before the response, so a 202 is never lost.
package webhook

import (
	"context"
	"net/http"
	"strings"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
)

// The paths the source serves.
const (
	PathDeploy   = "/webhooks/deploy"
	PathIncident = "/webhooks/incident"
	PathFlux     = "/webhooks/flux"
	PathGitHub   = "/webhooks/github"
	// PathJira and PathPagerDuty take the tools' own webhooks, signed with the
	// secret the webhook is configured with.
	PathJira      = "/webhooks/jira"
	PathPagerDuty = "/webhooks/pagerduty"
)

// MaxBody is the largest request body accepted (1 MiB); GitHub caps its payloads at
// 25 MB, but the events flowmeter uses are far smaller, and the limit keeps one
// client from holding much memory.
const MaxBody = 1 << 20

// defaultFluxEnvironment is the environment of Flux deployments unless configured.
const defaultFluxEnvironment = "production"

// Settings are the webhook source's settings under `webhook:` in the config. Every
// secret is named by an environment variable (_env) or a file (_file), never given.
type Settings struct {
	// TokenEnv / TokenFile hold the bearer token accepted on the generic endpoints
	// (deploy, incident, flux): `Authorization: Bearer <token>`.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// HMACSecretEnv / HMACSecretFile hold the key of the HMAC-SHA256 signature
	// accepted instead of the token: `X-Flowmeter-Signature-256: sha256=<hex>`, or
	// Flux's `X-Signature` on /webhooks/flux.
	HMACSecretEnv  string `yaml:"hmac_secret_env"`
	HMACSecretFile string `yaml:"hmac_secret_file"`
	// GitHubSecretEnv / GitHubSecretFile hold the GitHub webhook's secret; with
	// GitHubSource they enable /webhooks/github.
	GitHubSecretEnv  string `yaml:"github_secret_env"`
	GitHubSecretFile string `yaml:"github_secret_file"`
	// GitHubSource names the github source whose records GitHub's events update.
	GitHubSource string `yaml:"github_source"`
	// FluxEnvironment is the environment of deployments Flux reports; default
	// production.
	FluxEnvironment string `yaml:"flux_environment"`
	// JiraSecretEnv / JiraSecretFile hold the Jira webhook's secret; with JiraSource
	// (the jira source whose records its events update) they enable /webhooks/jira.
	JiraSecretEnv  string `yaml:"jira_secret_env"`
	JiraSecretFile string `yaml:"jira_secret_file"`
	JiraSource     string `yaml:"jira_source"`
	// PagerDutySecretEnv / PagerDutySecretFile hold the secret of a PagerDuty v3
	// webhook subscription; with PagerDutySource they enable /webhooks/pagerduty.
	PagerDutySecretEnv  string `yaml:"pagerduty_secret_env"`
	PagerDutySecretFile string `yaml:"pagerduty_secret_file"`
	PagerDutySource     string `yaml:"pagerduty_source"`
}

// Source receives pushed events; its Collect does nothing.
type Source struct {
	name         string
	token        string // empty: bearer tokens not accepted
	hmacSecret   []byte // empty: signatures not accepted
	githubSecret []byte // empty: /webhooks/github not mounted
	githubSource string
	fluxEnv      string
	deliveries   *recentSet // GitHub, Jira and PagerDuty deliveries already handled
	// tools are the Jira and PagerDuty webhooks that are enabled.
	tools []*toolHook
	// settings locate github_source in the config for CheckSources's errors.
	settings collectors.Settings
}

var (
	_ collectors.Source   = (*Source)(nil)
	_ collectors.Receiver = (*Source)(nil)
)

// recentDeliveries is how many GitHub delivery ids are remembered to drop replays;
// GitHub's own redeliveries happen within days, at rates far below this per day.
const recentDeliveries = 10_000

// NewSource is the webhook source's collectors.Factory.
func NewSource(name string, s collectors.Settings) (collectors.Source, error) {
	var set Settings
	if err := s.Decode(&set); err != nil {
		return nil, err
	}
	src := &Source{name: name, fluxEnv: set.FluxEnvironment, deliveries: newRecentSet(recentDeliveries), settings: s}
	if src.fluxEnv == "" {
		src.fluxEnv = defaultFluxEnvironment
	}
	secret := func(env, file, envField, fileField string) (string, error) {
		if env == "" && file == "" {
			return "", nil
		}
		v, err := config.ResolveSecret(env, s.ResolvePath(file))
		if err != nil {
			field := envField
			if env == "" {
				field = fileField
			}
			return "", s.Invalid(field, "%v", err)
		}
		return v, nil
	}
	var err error
	if src.token, err = secret(set.TokenEnv, set.TokenFile, "token_env", "token_file"); err != nil {
		return nil, err
	}
	hmacSecret, err := secret(set.HMACSecretEnv, set.HMACSecretFile, "hmac_secret_env", "hmac_secret_file")
	if err != nil {
		return nil, err
	}
	src.hmacSecret = []byte(hmacSecret)
	githubSecret, err := secret(set.GitHubSecretEnv, set.GitHubSecretFile, "github_secret_env", "github_secret_file")
	if err != nil {
		return nil, err
	}
	src.githubSecret = []byte(githubSecret)
	src.githubSource = set.GitHubSource
	switch {
	case githubSecret != "" && src.githubSource == "":
		return nil, s.Invalid("github_source", "name the github source whose records GitHub's events update (github_secret is set)")
	case githubSecret == "" && src.githubSource != "":
		return nil, s.Invalid("github_source", "set github_secret_env or github_secret_file too: GitHub events are only accepted signed")
	case src.githubSource == name:
		return nil, s.Invalid("github_source", "must name a github source, not this webhook source")
	}
	for _, t := range toolHooks() {
		var env, file, source string
		switch t.tool {
		case "jira":
			env, file, source = set.JiraSecretEnv, set.JiraSecretFile, set.JiraSource
		case "pagerduty":
			env, file, source = set.PagerDutySecretEnv, set.PagerDutySecretFile, set.PagerDutySource
		}
		secret, err := secret(env, file, t.tool+"_secret_env", t.tool+"_secret_file")
		if err != nil {
			return nil, err
		}
		switch {
		case secret == "" && source == "":
			continue
		case source == "":
			return nil, s.Invalid(t.field, "name the %s source whose records its events update (%s_secret is set)", t.sourceType, t.tool)
		case secret == "":
			return nil, s.Invalid(t.field, "set %s_secret_env or %s_secret_file too: %s events are only accepted signed", t.tool, t.tool, t.tool)
		case source == name:
			return nil, s.Invalid(t.field, "must name a %s source, not this webhook source", t.sourceType)
		}
		t.secret, t.source = []byte(secret), source
		src.tools = append(src.tools, t)
	}
	if !src.generic() && githubSecret == "" && len(src.tools) == 0 {
		return nil, s.Invalid("token_env", "nothing to serve: set token_env/token_file or hmac_secret_env/hmac_secret_file for /webhooks/deploy, /incident and /flux, "+
			"github_secret_env with github_source for /webhooks/github, jira_secret_env with jira_source for /webhooks/jira, "+
			"and/or pagerduty_secret_env with pagerduty_source for /webhooks/pagerduty")
	}
	return src, nil
}

// CheckSources refuses a github_source, jira_source or pagerduty_source that names
// no source of sources, or one of another type: the sources it may name are built
// after it, and without this check the tool's test delivery would succeed and every
// real event fail.
func (s *Source) CheckSources(sources []collectors.Instance) error {
	links := []struct{ field, name, sourceType string }{}
	if s.githubSource != "" {
		links = append(links, struct{ field, name, sourceType string }{"github_source", s.githubSource, "github"})
	}
	for _, t := range s.tools {
		links = append(links, struct{ field, name, sourceType string }{t.field, t.source, t.sourceType})
	}
	for _, l := range links {
		if err := s.checkSource(sources, l.field, l.name, l.sourceType); err != nil {
			return err
		}
	}
	return nil
}

// toolNames are the tools' names as people write them.
var toolNames = map[string]string{"github": "GitHub", "jira": "Jira", "pagerduty": "PagerDuty"}

func (s *Source) checkSource(sources []collectors.Instance, field, name, sourceType string) error {
	var candidates []string
	for _, other := range sources {
		_, handles := other.Source.(collectors.EventHandler)
		if other.Name == name {
			if !handles || other.Type != sourceType {
				return s.settings.Invalid(field, "source %q is a %s source, which does not take %s's events: name a %s source", other.Name, other.Type, toolNames[sourceType], sourceType)
			}
			return nil
		}
		if handles && other.Type == sourceType {
			candidates = append(candidates, other.Name)
		}
	}
	if len(candidates) == 0 {
		return s.settings.Invalid(field, "no source is named %q, and the config has no %s source to name", name, sourceType)
	}
	if guess := config.Suggest(name, candidates); guess != "" {
		return s.settings.Invalid(field, "no source is named %q (did you mean %q?)", name, guess)
	}
	return s.settings.Invalid(field, "no source is named %q (%s sources: %s)", name, sourceType, strings.Join(candidates, ", "))
}

// generic says whether the deploy, incident and flux endpoints are mounted: only
// when some credential protects them.
func (s *Source) generic() bool { return s.token != "" || len(s.hmacSecret) > 0 }

// Collect does nothing: records arrive through Routes.
func (s *Source) Collect(context.Context, collectors.Writer, collectors.CollectOptions) error {
	return nil
}

// Routes returns the handlers of the configured endpoints.
func (s *Source) Routes(env collectors.ReceiverEnv) map[string]http.Handler {
	h := newHandler(s, env)
	routes := map[string]http.Handler{}
	if s.generic() {
		routes[PathDeploy] = h.endpoint(h.deploy, false)
		routes[PathIncident] = h.endpoint(h.incident, false)
		routes[PathFlux] = h.endpoint(h.flux, true)
	}
	if len(s.githubSecret) > 0 {
		routes[PathGitHub] = http.HandlerFunc(h.github)
		h.checkHandler(PathGitHub, "github_source", s.githubSource)
	}
	for _, t := range s.tools {
		routes[t.path] = h.serveTool(t)
		h.checkHandler(t.path, t.field, t.source)
	}
	return routes
}

// checkHandler logs, at mount time, a path whose events no source will take.
func (h *handler) checkHandler(path, field, name string) {
	if h.env.Source == nil {
		return
	}
	if _, err := h.eventHandlerOf(name, field); err != nil {
		h.log.Error("webhook source names a source that cannot take its events; "+path+" will answer 500", field, name, "err", err)
	}
}
