package exporter

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/schema"
)

// Other is the service and environment label value under which a team's services
// and environments not published by name are summed, so that what sources send
// cannot add series without bound: any authenticated webhook can name a new
// service or environment with every deployment.
const Other = "other"

// The bounds docs/prometheus.md documents.
const (
	// DefaultTopServices is how many of a team's services besides those its config
	// names are published by name, unless SetLimits says otherwise.
	DefaultTopServices = 20
	// DefaultTopEnvironments is how many of a team's environments
	// flowmeter_deployments_total publishes by name, unless SetLimits says otherwise.
	DefaultTopEnvironments = 10
	// DefaultTopToilCategories is how many of a team's toil categories besides
	// those the config's toil rules name are published by name, unless SetLimits
	// says otherwise.
	DefaultTopToilCategories = 10
	// MaxLabelBytes is the longest service or environment label value published: a
	// longer name is read on no dashboard, and a sender can make one as long as a
	// request body, so it is counted under Other.
	MaxLabelBytes = 128
)

// Label values of a service or environment really called what flowmeter calls
// its own, so they cannot be taken for them.
const (
	renamedAll              = "(service) all"
	renamedOtherService     = "(service) other"
	renamedOtherEnvironment = "(environment) other"
	renamedOtherCategory    = "(category) other"
)

const noEnvironment = "(no environment)"

// Limits bound the services and environments a refresh publishes by name; the
// others of each team are summed under Other.
type Limits struct {
	// Services lists, by team name, the services the config names for the team
	// (see ConfiguredServices); they are published by name whatever their activity,
	// unless longer than MaxLabelBytes.
	Services map[string][]string
	// TopServices is how many of each team's other services, and of "(no team)"'s,
	// are published by name: those with the most production deployments finished
	// in the 90d window, ties broken by name so the choice is stable.
	TopServices int
	// TopEnvironments is how many of each team's environments
	// flowmeter_deployments_total publishes by name: those with the most
	// deployments it counts, ties broken by name.
	TopEnvironments int
	// ToilCategories are the toil categories the config's rules name (see
	// ConfiguredToilCategories); they and "unclassified" are published by name for
	// every team, unless longer than MaxLabelBytes.
	ToilCategories []string
	// TopToilCategories is how many of each team's other toil categories (from
	// facts derived under earlier rules) are published by name: those with the most
	// entries started in the 90d window, ties broken by name.
	TopToilCategories int
}

// DefaultLimits are the limits of an Exporter no one set any on: no configured
// services, DefaultTopServices and DefaultTopEnvironments.
func DefaultLimits() Limits {
	return Limits{
		TopServices: DefaultTopServices, TopEnvironments: DefaultTopEnvironments,
		TopToilCategories: DefaultTopToilCategories,
	}
}

// LimitsFor are the default limits with the services a config's teams name and the
// toil categories its rules name: what flowmeter run and flowmeter metrics publish.
func LimitsFor(cfg *config.Config) Limits {
	l := DefaultLimits()
	l.Services = ConfiguredServices(cfg.Teams)
	l.ToilCategories = ConfiguredToilCategories(cfg.Toil)
	return l
}

// ConfiguredServices are the services each team's config names, by team, for
// Limits.Services: its services, its incident services and both sides of its
// incident service map, and the name of each repository it lists without a glob,
// the name facts give a service known only by its repository. A glob names no
// service: it matches whatever repository a sender makes up.
func ConfiguredServices(teams []config.Team) map[string][]string {
	out := make(map[string][]string, len(teams))
	for _, t := range teams {
		names := slices.Concat(t.Services, t.IncidentServices)
		for k, v := range t.IncidentServiceMap {
			names = append(names, k, v)
		}
		for _, r := range t.Repositories {
			if !strings.ContainsAny(r, `*?[\`) {
				names = append(names, r[strings.LastIndex(r, "/")+1:])
			}
		}
		slices.Sort(names)
		out[t.Name] = slices.Compact(names)
	}
	return out
}

// ConfiguredToilCategories are the categories of the config's toil rules, for
// Limits.ToilCategories.
func ConfiguredToilCategories(t config.Toil) []string {
	var names []string
	for _, r := range t.Rules {
		names = append(names, r.Category)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// bounds are Limits as a refresh applies them.
type bounds struct {
	configured                   map[string]map[string]bool // team → service
	topServices, topEnvironments int
	toilCategories               map[string]bool
	topToilCategories            int
}

func newBounds(l Limits) *bounds {
	b := &bounds{
		configured:        make(map[string]map[string]bool, len(l.Services)),
		topServices:       max(l.TopServices, 0),
		topEnvironments:   max(l.TopEnvironments, 0),
		toilCategories:    map[string]bool{schema.ToilUnclassified: true},
		topToilCategories: max(l.TopToilCategories, 0),
	}
	for _, c := range l.ToilCategories {
		b.toilCategories[c] = true
	}
	for team, services := range l.Services {
		set := make(map[string]bool, len(services))
		for _, s := range services {
			set[s] = true
		}
		b.configured[team] = set
	}
	return b
}

// labels are the label values of one refresh: for each team (as the aggregation
// names it: a listed team or aggregate.NoTeam), the label of each service and
// environment published by name; every other one is Other.
type labels struct {
	listed       map[string]bool
	services     map[string]map[string]string
	environments map[string]map[string]string
	toil         map[string]map[string]string // team → toil category → label
}

// labels chooses the services and environments of each team published by name.
func (b *bounds) labels(f facts, teams []string, now time.Time) *labels {
	l := &labels{listed: make(map[string]bool, len(teams))}
	for _, t := range teams {
		if t != "" && t != aggregate.NoTeam {
			l.listed[t] = true
		}
	}
	// Every service any fact names takes part, so that a team with no more services
	// than the bound publishes all of them, whatever facts they have; they rank by
	// their production deployments in the longest window, 90d.
	from := now.AddDate(0, 0, -windows[len(windows)-1].days)
	services, environments := counts{}, counts{}
	for _, d := range f.deployments {
		if d.RolloutOf != "" {
			continue // counted as the deployment its rollout counts as
		}
		team := l.team(d.Team)
		n := 0
		if d.Production && !d.FinishedAt.Before(from) && d.FinishedAt.Before(now) {
			n = 1
		}
		services.add(team, orNone(d.Service, aggregate.NoService), n)
		if finished[schema.DeploymentStatus(d.Status)] {
			environments.add(team, orNone(d.Environment, noEnvironment), 1)
		}
	}
	for _, c := range f.changes {
		services.add(l.team(c.Team), orNone(aggregate.ChangeService(c), aggregate.NoService), 0)
	}
	for _, i := range f.incidents {
		services.add(l.team(i.Team), orNone(i.Service, aggregate.NoService), 0)
	}

	l.services = make(map[string]map[string]string, len(services))
	for team, n := range services {
		l.services[team] = keep(n, b.configured[team], b.topServices, serviceLabel)
	}
	l.environments = make(map[string]map[string]string, len(environments))
	for team, n := range environments {
		l.environments[team] = keep(n, nil, b.topEnvironments, environmentLabel)
	}

	// Toil categories rank by their entries started in the 90d window.
	categories := counts{}
	for _, t := range f.toil {
		if t.Retired {
			continue
		}
		n := 0
		if !t.StartedAt.Before(from) && t.StartedAt.Before(now) {
			n = 1
		}
		categories.add(l.team(t.Team), orNone(t.Category, schema.ToilUnclassified), n)
	}
	l.toil = make(map[string]map[string]string, len(categories))
	for team, n := range categories {
		l.toil[team] = keep(n, b.toilCategories, b.topToilCategories, categoryLabel)
	}
	return l
}

// toilCategory is the label a toil category of team is published under.
func (l *labels) toilCategory(team, name string) string {
	if v, ok := l.toil[team][name]; ok {
		return v
	}
	return Other
}

// team is the team a fact is published under, as the aggregation maps it.
func (l *labels) team(name string) string {
	if l.listed[name] {
		return name
	}
	return aggregate.NoTeam
}

// service is the label a service of team is published under; its signature is
// aggregate.Input.ReportAs's, so the figures of Other are computed from all its
// services' facts together.
func (l *labels) service(team, name string) string {
	if v, ok := l.services[team][name]; ok {
		return v
	}
	return Other
}

// environment is the label an environment of team is published under.
func (l *labels) environment(team, name string) string {
	if v, ok := l.environments[team][name]; ok {
		return v
	}
	return Other
}

// counts are, by team, how many times each name counted.
type counts map[string]map[string]int

func (c counts) add(team, name string, n int) {
	byName := c[team]
	if byName == nil {
		byName = map[string]int{}
		c[team] = byName
	}
	byName[name] += n
}

// keep returns the label of each name published by name: the configured ones,
// then the top most counted of the others, ties broken by name; never one whose
// label is longer than MaxLabelBytes.
func keep(counted map[string]int, configured map[string]bool, top int, label func(string) string) map[string]string {
	type candidate struct {
		name, label string
		n           int
	}
	out := map[string]string{}
	var rest []candidate
	for _, name := range slices.Sorted(maps.Keys(counted)) {
		l := label(name)
		switch {
		case len(l) > MaxLabelBytes:
		case configured[name]:
			out[name] = l
		default:
			rest = append(rest, candidate{name, l, counted[name]})
		}
	}
	slices.SortStableFunc(rest, func(x, y candidate) int { return cmp.Compare(y.n, x.n) })
	for _, c := range rest[:min(top, len(rest))] {
		out[c.name] = c.label
	}
	return out
}

// serviceLabel keeps a service really called "all" or "other" apart from the team
// figure and from the services summed under Other.
func serviceLabel(name string) string {
	switch name = clean(name); name {
	case AllServices:
		return renamedAll
	case Other:
		return renamedOtherService
	}
	return name
}

// categoryLabel keeps a toil category really called "other" apart from the
// categories summed under Other.
func categoryLabel(name string) string {
	if name = clean(name); name == Other {
		return renamedOtherCategory
	}
	return name
}

// environmentLabel keeps an environment really called "other" apart from the
// environments summed under Other.
func environmentLabel(name string) string {
	if name = clean(name); name == Other {
		return renamedOtherEnvironment
	}
	return name
}
