package explain

import (
	"slices"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/schema"
)

// TeamsOnlyNote is the line an explanation opens with once NameTeams has named
// teams in place of people, so a reader knows whom "payments" stands for.
const TeamsOnlyNote = "people are named by the team of their record (privacy: teams-only)"

// personColumns are the columns that name a person, by the kind of their fact or
// record: the ones NameTeams replaces. Titles, written by people, are not among
// them and may name someone.
var personColumns = map[schema.Kind][]string{
	schema.KindPullRequest:  {"author", "first_reviewer"},
	schema.KindWorkItem:     {"assignee"},
	schema.KindStatusChange: {"author"},
	schema.KindWorklog:      {"author"},
	schema.KindToilFact:     {"who"},
}

// NameTeams replaces every person the explanation names with the team of the
// fact or record naming them (aggregate.NoTeam when it has none, such as a pull
// request no change fact gives a team), for the "teams-only" privacy setting:
// records keep people's names however the facts were derived.
func (e *Explanation) NameTeams() {
	nameTeams(e.Kind, e.Fields, e.team)
	for i := range e.Records {
		nameTeams(e.Records[i].Kind, e.Records[i].Fields, e.Records[i].team)
	}
	e.teamsOnly = true
}

// nameTeams puts team in place of each person the fields of a fact or record of
// the kind name; a field naming no one stays empty.
func nameTeams(kind schema.Kind, fields []Field, team string) {
	if team == "" {
		team = aggregate.NoTeam
	}
	for i := range fields {
		if fields[i].Value != "" && slices.Contains(personColumns[kind], fields[i].Name) {
			fields[i].Value = team
		}
	}
}
