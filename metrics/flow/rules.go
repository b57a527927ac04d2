package flow

import (
	"strings"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
)

// Rules are the config's flow settings ready for derivation: the per-project
// status mappings, the flow-type rules, the team of each ticket project and the
// team calendars. Changing the config and deriving again rewrites the flow facts
// without collecting again. Rules remember their answers (derivation asks the same
// status question for many changes), so one value must not be used by two
// derivations at once; Aggregate only reads what NewRules prepared.
type Rules struct {
	cfg *config.Config
	// projects maps a lower-cased project key to its lower-cased status → flow
	// state mapping; a project without an entry has no mapping.
	projects map[string]map[string]string
	types    []config.FlowTypeRule
	// calendars are the prepared calendars by team name.
	calendars map[string]*workCalendar

	// Memoised answers.
	teamOf map[string]string
	states map[stateKey]stateAnswer
}

type stateKey struct{ project, status, category string }

type stateAnswer struct {
	state    string
	unmapped bool
}

// NewRules prepares a config's flow settings for derivation. It does not change
// the config.
func NewRules(cfg *config.Config) *Rules {
	r := &Rules{
		cfg: cfg, projects: map[string]map[string]string{}, calendars: map[string]*workCalendar{},
		teamOf: map[string]string{}, states: map[stateKey]stateAnswer{},
		types: cfg.Flow.Types,
	}
	if r.types == nil {
		r.types = config.DefaultFlowTypes() // config's default, for configs built in code
	}
	for key, p := range cfg.Flow.Projects {
		m := make(map[string]string, len(p.Statuses))
		for status, state := range p.Statuses {
			m[strings.ToLower(status)] = state
		}
		r.projects[strings.ToLower(key)] = m
	}
	for i := range cfg.Teams {
		t := &cfg.Teams[i]
		if t.Calendar != nil {
			if _, dup := r.calendars[t.Name]; !dup {
				r.calendars[t.Name] = newWorkCalendar(t.Name, t.Calendar)
			}
		}
	}
	return r
}

// team is the team of a ticket project, as config.TeamOfTicketProject says.
func (r *Rules) team(project string) string {
	t, ok := r.teamOf[project]
	if !ok {
		t = r.cfg.TeamOfTicketProject(project)
		r.teamOf[project] = t
	}
	return t
}

// clockOf is the clock a team's durations are counted on.
func (r *Rules) clockOf(team string) clock {
	return clock{cal: r.calendars[team]}
}

// state is the flow state of a status of a project (before any resolution), and
// whether the project's mapping leaves the status out (then the defaults decided).
func (r *Rules) state(project, status, category string) (string, bool) {
	key := stateKey{project, status, category}
	if a, ok := r.states[key]; ok {
		return a.state, a.unmapped
	}
	var a stateAnswer
	if m, ok := r.projects[strings.ToLower(project)]; ok {
		if st, ok := m[strings.ToLower(status)]; ok {
			a.state = st
		} else {
			a.state, a.unmapped = defaultState(status, category), true
		}
	} else {
		a.state = defaultState(status, category)
	}
	r.states[key] = a
	return a.state, a.unmapped
}

// isWait says whether a status of a project is a wait status, for Aggregate, which
// knows statuses only by name: categories never make a status wait, so the
// mapping and the name rules decide. It only reads, so it is safe to call from
// aggregations running at once.
func (r *Rules) isWait(project, status string) bool {
	if m, ok := r.projects[strings.ToLower(project)]; ok {
		if st, ok := m[strings.ToLower(status)]; ok {
			return st == schema.FlowWait
		}
	}
	return defaultState(status, "") == schema.FlowWait
}

// The words of status names and resolutions that decide the flow state whatever
// the category says (docs/metrics.md), matched ignoring case.
func cancelWords() []string {
	return []string{"won't", "wont", "cancel", "reject", "duplicate", "invalid", "declined", "obsolete"}
}

func waitWords() []string {
	return []string{"wait", "block", "ready", "queue", "hold", "pending"}
}

func containsAny(lower string, words []string) bool {
	for _, w := range words {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// defaultState maps a status no mapping names: a canceling name, then a waiting
// name, then the tracker's category (To Do → new, In Progress → active, Done →
// done; Jira's category keys new, indeterminate and done too); anything else is new.
func defaultState(status, category string) string {
	l := strings.ToLower(status)
	switch {
	case containsAny(l, cancelWords()):
		return schema.FlowCanceled
	case containsAny(l, waitWords()):
		return schema.FlowWait
	}
	switch strings.ToLower(strings.TrimSpace(category)) {
	case "in progress", "indeterminate":
		return schema.FlowActive
	case "done":
		return schema.FlowDone
	}
	return schema.FlowNew
}

// cancelingResolution says whether a resolution cancels a done status ("Won't Do",
// "Duplicate", "Declined" …).
func cancelingResolution(resolution string) bool {
	return resolution != "" && containsAny(strings.ToLower(resolution), cancelWords())
}

// flowType is the type of the first rule matching the item's issue type or one of
// its labels, ignoring case; feature when none does.
func (r *Rules) flowType(issueType string, labels []string) string {
	for _, rule := range r.types {
		for _, t := range rule.IssueTypes {
			if strings.EqualFold(t, issueType) {
				return rule.Type
			}
		}
		for _, want := range rule.Labels {
			for _, l := range labels {
				if strings.EqualFold(want, l) {
					return rule.Type
				}
			}
		}
	}
	return schema.FlowFeature
}
