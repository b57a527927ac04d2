package metrics

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/config"
)

// NoTeam is the team of records no team's lists match.
const NoTeam = ""

// Rules are the config's team mapping and classification rules, ready for
// derivation. Changing the config and deriving again rewrites history without
// collecting again. Rules remember their answers, so one value must not be used by
// two derivations at once.
type Rules struct {
	cfg                *config.Config
	failureWindow      time.Duration
	inferFromIncidents bool
	hotfixRef          *regexp.Regexp
	hotfixLabels       map[string]bool
	bugfixLabels       map[string]bool

	// Memoised mappings: derivation asks the same questions for many records.
	teamOfRepo    map[string]string
	teamOfService map[string]string
	teamOfIncSvc  map[string]string
	deploySvcOf   map[string]string // by incident service
	production    map[[2]string]bool
	bots          map[string]bool
}

// NewRules prepares a config's rules for derivation.
func NewRules(cfg *config.Config) *Rules {
	r := &Rules{
		cfg: cfg, failureWindow: cfg.Rules.FailureWindow.Duration, inferFromIncidents: cfg.Rules.InferFromIncidents(),
		hotfixRef: cfg.Rules.Hotfix(), hotfixLabels: lowerSet(cfg.Rules.HotfixLabels), bugfixLabels: lowerSet(cfg.Rules.BugfixLabels),
		teamOfRepo: map[string]string{}, teamOfService: map[string]string{}, teamOfIncSvc: map[string]string{},
		deploySvcOf: map[string]string{}, production: map[[2]string]bool{}, bots: map[string]bool{},
	}
	if r.failureWindow <= 0 {
		r.failureWindow = 24 * time.Hour // config's default, for configs built in code
	}
	return r
}

func lowerSet(list []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range list {
		m[strings.ToLower(s)] = true
	}
	return m
}

// TeamOfRepo is the first team, in config order, whose repositories match.
func (r *Rules) TeamOfRepo(repo string) string {
	if t, ok := r.teamOfRepo[repo]; ok {
		return t
	}
	team := NoTeam
	for i := range r.cfg.Teams {
		if r.cfg.Teams[i].MatchRepository(repo) {
			team = r.cfg.Teams[i].Name
			break
		}
	}
	r.teamOfRepo[repo] = team
	return team
}

// TeamOfDeployment is the first team listing the deployment's service, else the team
// of its repository.
func (r *Rules) TeamOfDeployment(service, repo string) string {
	if t, ok := r.teamOfService[service]; ok && t != NoTeam {
		return t
	}
	team := NoTeam
	for _, t := range r.cfg.Teams {
		if contains(t.Services, service) {
			team = t.Name
			break
		}
	}
	r.teamOfService[service] = team
	if team == NoTeam && repo != "" {
		return r.TeamOfRepo(repo)
	}
	return team
}

// TeamOfIncident is the first team listing the incident's service among its incident
// services or in its incident service map, else the team of the deployment service
// it is.
func (r *Rules) TeamOfIncident(service string) string {
	if t, ok := r.teamOfIncSvc[service]; ok {
		return t
	}
	team := NoTeam
	for _, t := range r.cfg.Teams {
		if _, mapped := t.IncidentServiceMap[service]; mapped || contains(t.IncidentServices, service) {
			team = t.Name
			break
		}
	}
	if team == NoTeam {
		deployed := r.DeploymentServiceOfIncident(service)
		for _, t := range r.cfg.Teams {
			if slices.ContainsFunc(t.Services, func(s string) bool { return strings.EqualFold(s, deployed) }) {
				team = t.Name
				break
			}
		}
	}
	r.teamOfIncSvc[service] = team
	return team
}

// DeploymentServiceOfIncident is the deployment service an incident-tool service
// is: the one a team's incident service map gives (its key matched exactly, else
// ignoring case), else the same name. Derivation compares deployment services
// ignoring case.
func (r *Rules) DeploymentServiceOfIncident(service string) string {
	if s, ok := r.deploySvcOf[service]; ok {
		return s
	}
	s := r.deploymentServiceOfIncident(service)
	r.deploySvcOf[service] = s
	return s
}

func (r *Rules) deploymentServiceOfIncident(service string) string {
	for _, t := range r.cfg.Teams {
		if s, ok := t.IncidentServiceMap[service]; ok {
			return s
		}
	}
	for _, t := range r.cfg.Teams {
		for k, s := range t.IncidentServiceMap {
			if strings.EqualFold(k, service) {
				return s
			}
		}
	}
	return service
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// IsProductionEnvironment applies the team's production pattern (its own, else the
// rules') to an environment name.
func (r *Rules) IsProductionEnvironment(team, env string) bool {
	key := [2]string{team, env}
	if v, ok := r.production[key]; ok {
		return v
	}
	v := r.cfg.Production(team).MatchString(env)
	r.production[key] = v
	return v
}

// IsBot says whether a login is a bot's, by the rules' patterns.
func (r *Rules) IsBot(login string) bool {
	v, ok := r.bots[login]
	if !ok {
		v = r.cfg.Rules.IsBot(login)
		r.bots[login] = v
	}
	return v
}

// isHotfixRef applies the hotfix pattern to a deployment's ref.
func (r *Rules) isHotfixRef(ref string) bool {
	return ref != "" && r.hotfixRef.MatchString(ref)
}

// hasLabel says whether any label is in the set, ignoring case.
func hasLabel(labels []string, set map[string]bool) bool {
	for _, l := range labels {
		if set[strings.ToLower(l)] {
			return true
		}
	}
	return false
}
