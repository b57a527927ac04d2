package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Flow says how tickets become flow items: which flow state each status is, per
// project, and which flow type each ticket is. Without a project's mapping, the
// tracker's status category and the status name decide (docs/metrics.md).
type Flow struct {
	// Projects maps a ticket project key ("PAY") to its status mapping.
	Projects map[string]FlowProject `yaml:"projects,omitempty"`
	// Types are the flow-type rules, first match wins; absent means the defaults
	// (DefaultFlowTypes), an item no rule matches is a feature.
	Types []FlowTypeRule `yaml:"types"`
}

// FlowProject is one project's status mapping.
type FlowProject struct {
	// Statuses maps a status name, compared ignoring case, to its flow state: new,
	// wait, active, done or canceled. A status it leaves out is mapped by the
	// defaults and reported as unmapped.
	Statuses map[string]string `yaml:"statuses"`
}

// FlowTypeRule gives a flow type to tickets of any of its issue types or with any
// of its labels, both compared ignoring case.
type FlowTypeRule struct {
	Type       string   `yaml:"type"`
	IssueTypes []string `yaml:"issue_types,omitempty"`
	Labels     []string `yaml:"labels,omitempty"`
}

// DefaultFlowTypes are the flow-type rules of docs/metrics.md: bugs are defects,
// security work is risk, tech debt and chores are debt, all else features.
func DefaultFlowTypes() []FlowTypeRule {
	return []FlowTypeRule{
		{Type: "defect", IssueTypes: []string{"Bug", "Defect"}, Labels: []string{"bug", "defect"}},
		{Type: "risk", IssueTypes: []string{"Security", "Vulnerability"}, Labels: []string{"security", "vulnerability"}},
		{Type: "debt", IssueTypes: []string{"Tech Debt", "Technical Debt", "Tech-debt", "Chore"},
			Labels: []string{"tech-debt", "techdebt", "technical-debt", "chore"}},
	}
}

// flowStates and flowTypes are the values the mappings may use.
var (
	flowStates = []string{"new", "wait", "active", "done", "canceled"}
	flowTypes  = []string{"feature", "defect", "risk", "debt"}
)

// Calendar is a team's working time, for durations counted in working hours.
type Calendar struct {
	// TimeZone is an IANA zone name ("Europe/Berlin"); default UTC.
	TimeZone string `yaml:"time_zone,omitempty"`
	// WorkingDays are day names ("mon" … "sun"); default Monday to Friday.
	WorkingDays []string `yaml:"working_days,omitempty"`
	// WorkingHours is "HH:MM-HH:MM" in the zone; default the whole day.
	WorkingHours string `yaml:"working_hours,omitempty"`
	// Holidays are dates ("2026-12-25") that are not working days.
	Holidays []string `yaml:"holidays,omitempty"`

	loc        *time.Location
	days       [7]bool
	from, to   time.Duration
	holidays   map[string]bool
	configured bool
}

var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// WorkingDay reports whether the calendar day of t in the calendar's zone is a
// working day: one of the working days and no holiday.
func (c *Calendar) WorkingDay(t time.Time) bool {
	t = t.In(c.Location())
	if c.holidays[t.Format("2006-01-02")] {
		return false
	}
	if !c.configured {
		return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday
	}
	return c.days[t.Weekday()]
}

// Hours are the start and end of the working day as offsets from midnight.
func (c *Calendar) Hours() (from, to time.Duration) {
	if !c.configured {
		return 0, 24 * time.Hour
	}
	return c.from, c.to
}

// Toil says which work is toil and how it is categorised (docs/metrics.md).
type Toil struct {
	// TicketLabels make a ticket toil even when no rule matches it (it is then
	// unclassified); absent means ["toil"], [] means only rules make tickets toil.
	TicketLabels []string `yaml:"ticket_labels"`
	// Rules classify toil entries, first match wins; absent means the SRE-workbook
	// defaults (DefaultToilRules), [] leaves every entry unclassified.
	Rules []ToilRule `yaml:"rules"`
}

// ToilRule gives a category to the toil entries it matches. Every field it sets
// must match (a list matches when any entry does, ignoring case); a rule with no
// field set matches everything.
type ToilRule struct {
	// Name identifies the rule in facts; default its category.
	Name     string `yaml:"name"`
	Category string `yaml:"category"`
	// Sources are source instance names; Kinds are entry kinds: incident, alert,
	// ticket, deployment, rerun.
	Sources []string `yaml:"sources,omitempty"`
	Kinds   []string `yaml:"kinds,omitempty"`
	Labels  []string `yaml:"labels,omitempty"`
	// Title is a regular expression matched against the title, ignoring case.
	Title      string   `yaml:"title,omitempty"`
	Services   []string `yaml:"services,omitempty"`
	IssueTypes []string `yaml:"issue_types,omitempty"`
	Priorities []string `yaml:"priorities,omitempty"`

	title *regexp.Regexp
}

// TitlePattern is the compiled Title, nil when the rule has none.
func (r *ToilRule) TitlePattern() *regexp.Regexp {
	if r.Title == "" {
		return nil
	}
	if r.title == nil {
		r.title = compileOrNever(r.Title, true)
	}
	return r.title
}

// RuleName is the rule's name, its category when it has none.
func (r *ToilRule) RuleName() string { return orDefault(r.Name, r.Category) }

// The toil entry kinds a rule may name.
var toilKinds = []string{"incident", "alert", "ticket", "deployment", "rerun"}

// DefaultToilRules are the SRE workbook's toil categories: pages are production
// interrupts, manual deployments and re-runs release shepherding, and tickets are
// sorted by label into requests, migrations, cost and capacity, and troubleshooting.
func DefaultToilRules() []ToilRule {
	return []ToilRule{
		{Name: "pages", Category: "production_interrupts", Kinds: []string{"incident", "alert"}},
		{Name: "release", Category: "release_shepherding", Kinds: []string{"deployment", "rerun"}},
		{Name: "requests", Category: "business_processes", Kinds: []string{"ticket"},
			Labels: []string{"access-request", "request", "service-request"}},
		{Name: "migrations", Category: "migrations", Kinds: []string{"ticket"}, Labels: []string{"migration"}},
		{Name: "capacity", Category: "cost_capacity", Kinds: []string{"ticket"}, Labels: []string{"capacity", "cost", "quota"}},
		{Name: "troubleshooting", Category: "troubleshooting", Kinds: []string{"ticket"},
			Labels: []string{"restart", "troubleshooting", "investigation"}},
	}
}

// TeamOfTicketProject is the first team, in config order, listing the project key
// (compared ignoring case), or "" when none does.
func (c *Config) TeamOfTicketProject(project string) string {
	for _, t := range c.Teams {
		for _, p := range t.TicketProjects {
			if strings.EqualFold(p, project) {
				return t.Name
			}
		}
	}
	return ""
}

// TeamOfMember is the first team, in config order, listing the login (compared
// ignoring case), or "" when none does.
func (c *Config) TeamOfMember(login string) string {
	for _, t := range c.Teams {
		for _, m := range t.Members {
			if strings.EqualFold(m, login) {
				return t.Name
			}
		}
	}
	return ""
}

func (c *Config) applyFlowDefaults() {
	if c.Flow.Types == nil {
		c.Flow.Types = DefaultFlowTypes()
	}
	if c.Toil.TicketLabels == nil {
		c.Toil.TicketLabels = []string{"toil"}
	}
	if c.Toil.Rules == nil {
		c.Toil.Rules = DefaultToilRules()
	}
}

func (c *Config) validateFlow(v *validator) {
	// Keys and status names are matched ignoring case, so two that differ only in
	// case would make the mapping depend on map order.
	projects := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(c.Flow.Projects)) {
		at := "flow.projects." + key
		if strings.TrimSpace(key) == "" {
			v.add("flow.projects", "empty project key")
		}
		if other, dup := projects[strings.ToLower(key)]; dup {
			v.add(at, "project %q is also mapped as %q: keys are matched ignoring case", key, other)
		}
		projects[strings.ToLower(key)] = key
		statuses := map[string]string{}
		for _, status := range slices.Sorted(maps.Keys(c.Flow.Projects[key].Statuses)) {
			if other, dup := statuses[strings.ToLower(status)]; dup {
				v.add(at+".statuses."+status, "status %q is also mapped as %q: statuses are matched ignoring case", status, other)
			}
			statuses[strings.ToLower(status)] = status
			state := c.Flow.Projects[key].Statuses[status]
			if !slices.Contains(flowStates, state) {
				v.add(at+".statuses."+status, "flow state must be one of %s, got %q", strings.Join(flowStates, ", "), state)
			}
		}
	}
	for i, r := range c.Flow.Types {
		at := fmt.Sprintf("flow.types[%d]", i)
		if !slices.Contains(flowTypes, r.Type) {
			v.add(at+".type", "must be one of %s, got %q", strings.Join(flowTypes, ", "), r.Type)
		}
		if len(r.IssueTypes) == 0 && len(r.Labels) == 0 {
			v.add(at, "give issue_types or labels: a rule matching everything would hide the rules after it")
		}
		v.entries(at+".issue_types", r.IssueTypes)
		v.entries(at+".labels", r.Labels)
	}
	v.entries("toil.ticket_labels", c.Toil.TicketLabels)
	for i := range c.Toil.Rules {
		r := &c.Toil.Rules[i]
		at := fmt.Sprintf("toil.rules[%d]", i)
		if strings.TrimSpace(r.Category) == "" {
			v.add(at+".category", "is required")
		} else if strings.ContainsFunc(r.Category, unicode.IsControl) {
			v.add(at+".category", "contains a control character: %q", r.Category)
		}
		for j, k := range r.Kinds {
			if !slices.Contains(toilKinds, k) {
				v.add(fmt.Sprintf("%s.kinds[%d]", at, j), "must be one of %s, got %q", strings.Join(toilKinds, ", "), k)
			}
		}
		for j, s := range r.Sources {
			if _, ok := c.Source(s); !ok {
				v.add(fmt.Sprintf("%s.sources[%d]", at, j), "no source is named %q", s)
			}
		}
		for _, l := range []struct {
			field string
			list  []string
		}{{"labels", r.Labels}, {"services", r.Services}, {"issue_types", r.IssueTypes}, {"priorities", r.Priorities}} {
			v.entries(at+"."+l.field, l.list)
		}
		r.title = nil
		if r.Title != "" {
			r.title = v.regex(at+".title", r.Title, true)
		}
	}
	for i := range c.Teams {
		if cal := c.Teams[i].Calendar; cal != nil {
			cal.validate(v, fmt.Sprintf("teams[%d].calendar", i))
		}
	}
}

// Parse checks and parses the calendar's settings, for calendars built in code
// (a loaded config's are parsed when it is validated).
func (c *Calendar) Parse() error {
	v := &validator{lines: map[string]int{}}
	c.validate(v, "calendar")
	return v.first()
}

// validate parses the calendar's settings, keeping the parsed forms.
func (c *Calendar) validate(v *validator, at string) {
	c.configured = true
	c.loc = time.UTC
	if c.TimeZone != "" {
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			v.add(at+".time_zone", "unknown time zone %q (want an IANA name such as Europe/Berlin)", c.TimeZone)
		} else {
			c.loc = loc
		}
	}
	c.days = [7]bool{}
	days := c.WorkingDays
	if days == nil {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	} else if len(days) == 0 {
		v.add(at+".working_days", "name at least one working day: without one every working-hours duration is 0")
	}
	for i, d := range days {
		wd, ok := weekdayNames[strings.ToLower(d)]
		if !ok {
			v.add(fmt.Sprintf("%s.working_days[%d]", at, i), "want a day name such as mon, got %q", d)
			continue
		}
		c.days[wd] = true
	}
	c.from, c.to = 0, 24*time.Hour
	if c.WorkingHours != "" {
		from, to, ok := parseHours(c.WorkingHours)
		if !ok {
			v.add(at+".working_hours", `want "HH:MM-HH:MM" with the start before the end, got %q`, c.WorkingHours)
		} else {
			c.from, c.to = from, to
		}
	}
	c.holidays = map[string]bool{}
	for i, h := range c.Holidays {
		if _, err := time.Parse("2006-01-02", h); err != nil {
			v.add(fmt.Sprintf("%s.holidays[%d]", at, i), "want a date such as 2026-12-25, got %q", h)
			continue
		}
		c.holidays[h] = true
	}
}

// parseHours reads "HH:MM-HH:MM", allowing 24:00 as the end.
func parseHours(s string) (from, to time.Duration, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	clock := func(s string) (time.Duration, bool) {
		var h, m int
		if n, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); n != 2 || err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
			return 0, false
		}
		return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
	}
	from, okA := clock(a)
	to, okB := clock(b)
	return from, to, okA && okB && from < to
}
