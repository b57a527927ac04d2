package toil

import (
	"testing"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/schema"
)

// TestDeriveTeamsOnly derives the same records with and without "privacy:
// teams-only": with it, each entry that names a person names the entry's team
// instead, and nothing else about the entry changes.
func TestDeriveTeamsOnly(t *testing.T) {
	in := Input{
		Incidents: []schema.Incident{{Source: "pd", ID: "P1", Service: "pay-oncall", OpenedAt: m(0), ResolvedAt: m(10)}},
		Items: []schema.WorkItem{
			{Source: "jira", ID: "PAY-1", Project: "PAY", Labels: []string{"toil"}},
			{Source: "jira", ID: "OPS-1", Project: "OPS", Labels: []string{"toil"}, Assignee: "ana"},
			{Source: "jira", ID: "OPS-2", Project: "OPS", Labels: []string{"toil"}},
		},
		Worklogs: []schema.Worklog{
			{Source: "jira", ID: "w1", ItemID: "PAY-1", Author: "bo", StartedAt: m(0), Seconds: 600},
			{Source: "jira", ID: "w2", ItemID: "OPS-2", Author: "zed", StartedAt: m(0), Seconds: 300},
		},
		FlowFacts: []schema.FlowItemFact{finished("jira", "OPS-1", "", 0, 60, 1200)},
	}
	// Who each entry names, by record, worked out from the config of testConfig:
	//   P1     an incident: no one, with the setting or without.
	//   PAY-1  bo logged all of its time; PAY is payments' project, so payments
	//          (though bo is a member of web).
	//   OPS-1  no worklogs, so its assignee ana; OPS is no team's project and ana
	//          is a member of payments: payments. The team is found from the
	//          person before the person is replaced.
	//   OPS-2  zed logged it; OPS is no team's and zed no team's member: (no team).
	wantNamed := map[string]string{"P1": "", "PAY-1": "bo", "OPS-1": "ana", "OPS-2": "zed"}
	wantTeams := map[string]string{"P1": "", "PAY-1": "payments", "OPS-1": "payments", "OPS-2": aggregate.NoTeam}

	named := derive(t, testConfig(t), in)
	private := testConfig(t)
	private.Privacy = config.PrivacyTeamsOnly
	teamsOnly := derive(t, private, in)
	if len(named) != len(wantNamed) || len(teamsOnly) != len(named) {
		t.Fatalf("%d entries without the setting and %d with it, want %d", len(named), len(teamsOnly), len(wantNamed))
	}
	for i := range named {
		rec := named[i].Record
		if named[i].Who != wantNamed[rec] {
			t.Errorf("%s without the setting names %q, want %q", rec, named[i].Who, wantNamed[rec])
		}
		if teamsOnly[i].Who != wantTeams[rec] {
			t.Errorf("%s with teams-only names %q, want %q", rec, teamsOnly[i].Who, wantTeams[rec])
		}
		same := teamsOnly[i]
		same.Who = named[i].Who
		if same != named[i] {
			t.Errorf("%s differs beyond who:\n with    %+v\n without %+v", rec, teamsOnly[i], named[i])
		}
	}
}

// TestNameTeams replaces people with teams in place, and leaves an entry that
// names no one naming no one.
func TestNameTeams(t *testing.T) {
	facts := []schema.ToilFact{
		{ID: "ticket:A", Team: "web", Who: "bo"},
		{ID: "ticket:B", Who: "zed"},
		{ID: "incident:C", Team: "web"},
	}
	NameTeams(facts)
	for i, want := range []string{"web", aggregate.NoTeam, ""} {
		if facts[i].Who != want {
			t.Errorf("%s names %q, want %q", facts[i].ID, facts[i].Who, want)
		}
	}
}
