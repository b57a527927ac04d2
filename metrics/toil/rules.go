package toil

import (
	"regexp"
	"strings"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics"
)

// Rules are the config's toil rules, toil ticket labels and team mapping, ready
// for derivation: lists lowered once, title patterns compiled once, team answers
// remembered. Like metrics.Rules they remember their answers, so one value must
// not be used by two derivations at once.
type Rules struct {
	cfg          *config.Config
	teams        *metrics.Rules
	rules        []rule
	ticketLabels map[string]bool

	// Memoised mappings: derivation asks the same questions for many records.
	teamOfProject map[string]string
	teamOfMember  map[string]string
}

// rule is one toil rule with its lists as lowered sets and its title compiled.
type rule struct {
	name, category                                           string
	sources, kinds, labels, services, issueTypes, priorities map[string]bool
	title                                                    *regexp.Regexp
	// makesToil: the rule sets a field, so a ticket it matches is toil.
	makesToil bool
}

// NewRules prepares a config's toil rules for derivation. A config built in code
// without toil rules or ticket labels gets the defaults a loaded config gets.
func NewRules(cfg *config.Config) *Rules {
	r := &Rules{
		cfg: cfg, teams: metrics.NewRules(cfg),
		teamOfProject: map[string]string{}, teamOfMember: map[string]string{},
	}
	labels := cfg.Toil.TicketLabels
	if labels == nil {
		labels = []string{"toil"}
	}
	r.ticketLabels = set(labels)
	toilRules := cfg.Toil.Rules
	if toilRules == nil {
		toilRules = config.DefaultToilRules()
	}
	for i := range toilRules {
		c := toilRules[i] // a copy: compiling the title must not write to the config
		x := rule{
			name: c.RuleName(), category: c.Category,
			sources: set(c.Sources), kinds: set(c.Kinds), labels: set(c.Labels), services: set(c.Services),
			issueTypes: set(c.IssueTypes), priorities: set(c.Priorities), title: c.TitlePattern(),
		}
		x.makesToil = x.sources != nil || x.kinds != nil || x.labels != nil || x.services != nil ||
			x.issueTypes != nil || x.priorities != nil || x.title != nil
		r.rules = append(r.rules, x)
	}
	return r
}

// set is a list lowered into a set, nil for an empty list (a field not set).
func set(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[strings.ToLower(s)] = true
	}
	return m
}

// subject is what rules look at in a toil entry.
type subject struct {
	source, kind, title, service, issueType string
	labels                                  []string
	// priorities are the record's priority and, for incidents, severity.
	priorities []string
}

// matches says whether every field the rule sets matches the subject.
func (x *rule) matches(s *subject) bool {
	return has(x.sources, s.source) && has(x.kinds, s.kind) && hasAny(x.labels, s.labels) &&
		has(x.services, s.service) && has(x.issueTypes, s.issueType) && hasAny(x.priorities, s.priorities) &&
		(x.title == nil || x.title.MatchString(s.title))
}

// has says whether v is in the set, ignoring case; a field not set matches.
func has(set map[string]bool, v string) bool {
	return set == nil || set[strings.ToLower(v)]
}

// hasAny says whether one of vs is in the set, ignoring case; a field not set matches.
func hasAny(set map[string]bool, vs []string) bool {
	if set == nil {
		return true
	}
	for _, v := range vs {
		if v != "" && set[strings.ToLower(v)] {
			return true
		}
	}
	return false
}

// classify is the first rule matching the subject, nil when none does.
func (r *Rules) classify(s *subject) *rule {
	for i := range r.rules {
		if r.rules[i].matches(s) {
			return &r.rules[i]
		}
	}
	return nil
}

// ticketIsToil says whether a ticket is toil: it carries a toil label, or a rule
// that sets a field matches it.
func (r *Rules) ticketIsToil(s *subject) bool {
	for _, l := range s.labels {
		if r.ticketLabels[strings.ToLower(l)] {
			return true
		}
	}
	for i := range r.rules {
		if r.rules[i].makesToil && r.rules[i].matches(s) {
			return true
		}
	}
	return false
}

// teamOfTicket is the team listing the ticket's project, else the one listing who
// as a member.
func (r *Rules) teamOfTicket(project, who string) string {
	t, ok := r.teamOfProject[project]
	if !ok {
		t = r.cfg.TeamOfTicketProject(project)
		r.teamOfProject[project] = t
	}
	if t != metrics.NoTeam || who == "" {
		return t
	}
	t, ok = r.teamOfMember[who]
	if !ok {
		t = r.cfg.TeamOfMember(who)
		r.teamOfMember[who] = t
	}
	return t
}
