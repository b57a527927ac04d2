package toil

import (
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/schema"
)

// NameTeams replaces the person of every entry with its team (aggregate.NoTeam
// for an entry of no team), for the "teams-only" privacy setting: toil entries
// are the facts that name people.
func NameTeams(facts []schema.ToilFact) {
	for i := range facts {
		if facts[i].Who == "" {
			continue
		}
		facts[i].Who = facts[i].Team
		if facts[i].Who == "" {
			facts[i].Who = aggregate.NoTeam
		}
	}
}
