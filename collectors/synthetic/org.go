package synthetic

import (
	"errors"
	"fmt"
	"github.com/flowmeter/flowmeter/config"
	"strings"
	"time"
)

// Owner is the GitHub organisation every generated repository belongs to.
const Owner = "acme"

// Defaults used for Options fields left at their zero value.
const (
	DefaultDays                       = 182
	DefaultTeams                      = 4
	DefaultReposPerTeam               = 3
	DefaultPullRequestsPerRepoPerWeek = 10
	DefaultSource                     = "demo"
	DefaultBatchSize                  = 5000
)

// Options says what organisation to generate and how much history it has.
type Options struct {
	// Seed makes the run reproducible: the same seed and options give byte-identical
	// records.
	Seed int64
	// Now is the end of the generated period; nothing happens at or after it. It is
	// required, because the generator never reads the clock.
	Now time.Time
	// Days is the length of the history, default 182 (two quarters).
	Days int
	// Teams is the number of teams, default 4 (one per DORA tier).
	Teams int
	// ReposPerTeam is the number of repositories per team, each with one service of
	// the same name, default 3.
	ReposPerTeam int
	// PullRequestsPerRepoPerWeek is the average pull-request rate of a repository,
	// default 10; tickets scale with it too.
	PullRequestsPerRepoPerWeek float64
	// Source is the source instance name put on every record, default "demo".
	Source string
	// BatchSize is the largest number of records in one emitted batch, default 5000.
	BatchSize int
}

// withDefaults fills zero fields with their defaults and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.Days == 0 {
		o.Days = DefaultDays
	}
	if o.Teams == 0 {
		o.Teams = DefaultTeams
	}
	if o.ReposPerTeam == 0 {
		o.ReposPerTeam = DefaultReposPerTeam
	}
	if o.PullRequestsPerRepoPerWeek == 0 {
		o.PullRequestsPerRepoPerWeek = DefaultPullRequestsPerRepoPerWeek
	}
	if o.Source == "" {
		o.Source = DefaultSource
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	switch {
	case o.Now.IsZero():
		return o, errors.New("synthetic: Options.Now is required")
	case o.Days < 0:
		return o, fmt.Errorf("synthetic: Options.Days must be positive, got %d", o.Days)
	case o.Teams < 0:
		return o, fmt.Errorf("synthetic: Options.Teams must be positive, got %d", o.Teams)
	case o.ReposPerTeam < 0:
		return o, fmt.Errorf("synthetic: Options.ReposPerTeam must be positive, got %d", o.ReposPerTeam)
	case o.PullRequestsPerRepoPerWeek < 0:
		return o, fmt.Errorf("synthetic: Options.PullRequestsPerRepoPerWeek must be positive, got %g", o.PullRequestsPerRepoPerWeek)
	case o.BatchSize < 0:
		return o, fmt.Errorf("synthetic: Options.BatchSize must be positive, got %d", o.BatchSize)
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	return o, nil
}

// Team is one generated team: the repositories, services, ticket project and people
// a team mapping in the config would name.
type Team struct {
	Name         string
	Repositories []string // "acme/payments-api"
	Services     []string // one per repository, named like it: "payments-api"
	// TicketProject is the key of the team's ticket project, e.g. "PAY".
	TicketProject string
	Members       []string
	// Tier is the DORA performance profile the team was generated with: "elite",
	// "high", "medium" or "low".
	Tier string
}

// Org is the generated organisation.
type Org struct {
	Teams []Team
}

// teamNames and teamKeys are the names and ticket project keys of the first teams;
// further teams are numbered.
var (
	teamNames = []string{"payments", "checkout", "identity", "platform", "search", "notifications",
		"billing", "analytics", "mobile", "catalog", "shipping", "growth", "data", "security",
		"messaging", "inventory"}
	teamKeys = []string{"PAY", "CHK", "IDN", "PLT", "SRCH", "NOTI", "BILL", "ANLY", "MOB", "CAT",
		"SHIP", "GROW", "DATA", "SEC", "MSG", "INV"}
	repoSuffixes = []string{"api", "worker", "web", "gateway", "scheduler", "events", "admin", "sync"}
	// people are GitHub-style logins, used the same way in every tool so that toil
	// entries and reviews name the same person.
	people = []string{"amara", "bjorn", "chen", "dalia", "emeka", "farah", "gustavo", "hana",
		"ivan", "jasmine", "kofi", "lena", "mateo", "nadia", "oskar", "priya", "quinn", "rosa",
		"sanjay", "tomoko", "uma", "viktor", "wen", "ximena", "yusuf", "zoe", "aiko", "bruno",
		"carmen", "dmitri", "elif", "felix", "greta", "hamid", "ines", "jonas", "keiko", "liam",
		"mira", "nils", "olga", "pablo", "rania", "stefan", "tariq", "ulla", "vera", "wojtek"}
)

// ConfigTeams are the organisation's teams as a config names them: each with its
// repositories and services.
func (org Org) ConfigTeams() []config.Team {
	out := make([]config.Team, len(org.Teams))
	for i, t := range org.Teams {
		out[i] = config.Team{Name: t.Name, Repositories: t.Repositories, Services: t.Services}
	}
	return out
}

// membersPerTeam is the size of every generated team.
const membersPerTeam = 6

// NewOrg returns the organisation Generate produces for o: its names depend only on
// Teams and ReposPerTeam, never on the seed, so a config written for one run fits all.
func NewOrg(o Options) Org {
	if o.Teams <= 0 {
		o.Teams = DefaultTeams
	}
	if o.ReposPerTeam <= 0 {
		o.ReposPerTeam = DefaultReposPerTeam
	}
	org := Org{Teams: make([]Team, o.Teams)}
	for i := range org.Teams {
		t := Team{Name: fmt.Sprintf("team%d", i+1), TicketProject: fmt.Sprintf("T%d", i+1)}
		if i < len(teamNames) {
			t.Name, t.TicketProject = teamNames[i], teamKeys[i]
		}
		for j := 0; j < o.ReposPerTeam; j++ {
			suffix := repoSuffixes[j%len(repoSuffixes)]
			if j >= len(repoSuffixes) {
				suffix = fmt.Sprintf("%s%d", suffix, j/len(repoSuffixes)+1)
			}
			svc := t.Name + "-" + suffix
			t.Services = append(t.Services, svc)
			t.Repositories = append(t.Repositories, Owner+"/"+svc)
		}
		for k := 0; k < membersPerTeam; k++ {
			n := i*membersPerTeam + k
			login := people[n%len(people)]
			if n >= len(people) {
				login = fmt.Sprintf("%s%d", login, n/len(people)+1)
			}
			t.Members = append(t.Members, login)
		}
		t.Tier = profileFor(i).tier
		org.Teams[i] = t
	}
	return org
}

// slug turns a title into a branch-name fragment.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
