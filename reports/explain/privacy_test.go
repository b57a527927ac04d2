package explain_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/flowmeter/flowmeter/reports/explain"
)

// TestNameTeams explains facts of flowFixture whose records name people (ana
// authored acme/api#12, which bo reviewed, moved PAY-1 and logged time on it and
// on OPS-1; bo authored acme/web#3) and checks that NameTeams puts the team of
// each record in their place: the team of the fact that found it, which is
// payments for every fact of the fixture, and (no team) for acme/web#3, which no
// change fact gives a team.
func TestNameTeams(t *testing.T) {
	st := flowFixture(t)
	ctx := context.Background()
	type person struct {
		ref   string // the record's ref, or "" for the explained fact itself
		field string
		want  string
	}
	for _, tt := range []struct {
		name   string
		people []person
	}{
		{"gh:acme/api#12", []person{
			{"gh:acme/api#12", "author", "payments"}, {"gh:acme/api#12", "first_reviewer", "payments"},
		}},
		{"jira:PAY-1", []person{
			{"jira:9", "author", "payments"}, {"jira:10", "author", "payments"}, {"jira:w1", "author", "payments"},
			{"gh:acme/api#12", "author", "payments"}, {"gh:acme/api#12", "first_reviewer", "payments"},
			{"gh:acme/web#3", "author", "(no team)"},
			// Nobody is assigned PAY-1: an empty field stays empty.
			{"jira:PAY-1", "assignee", ""},
		}},
		{"jira:ticket:OPS-1", []person{
			// The stored fact still names ana (it was derived without the setting).
			{"", "who", "payments"},
			{"jira:w2", "author", "payments"}, {"jira:w3", "author", "payments"},
		}},
		{"pd:incident:INC-1", []person{{"", "who", ""}}},
	} {
		e, err := explain.Find(ctx, st, tt.name, "")
		if err != nil {
			t.Fatal(err)
		}
		e.NameTeams()
		for _, p := range tt.people {
			fields := e.Fields
			if p.ref != "" {
				fields = nil
				for _, r := range e.Records {
					if r.Ref == p.ref {
						fields = r.Fields
					}
				}
			}
			if got := field(fields, p.field); got != p.want {
				t.Errorf("%s: %s's %s is %q, want %q", tt.name, p.ref, p.field, got, p.want)
			}
		}
		// Nothing else names ana or bo but the title "Grant bo access to billing",
		// which a person wrote and which is kept as written.
		var text bytes.Buffer
		if err := e.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		rest := strings.ReplaceAll(text.String(), "Grant bo access to billing", "")
		if m := regexp.MustCompile(`\b(ana|bo)\b`).FindString(rest); m != "" {
			t.Errorf("%s names %s under teams-only:\n%s", tt.name, m, text.String())
		}
		if !strings.Contains(text.String(), explain.TeamsOnlyNote) {
			t.Errorf("%s does not say people are named by their team:\n%s", tt.name, text.String())
		}
	}
}

// TestWithoutTeamsOnly checks the explanations name the people when the setting
// is off, so that TestNameTeams can fail, and say nothing of teams-only.
func TestWithoutTeamsOnly(t *testing.T) {
	st := flowFixture(t)
	for name, who := range map[string]string{"gh:acme/api#12": "bo", "jira:PAY-1": "ana", "jira:ticket:OPS-1": "ana"} {
		e, err := explain.Find(context.Background(), st, name, "")
		if err != nil {
			t.Fatal(err)
		}
		var text bytes.Buffer
		if err := e.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`\b`+who+`\b`).MatchString(text.String()) || strings.Contains(text.String(), explain.TeamsOnlyNote) {
			t.Errorf("%s, explained without teams-only, does not name %s or speaks of teams-only:\n%s", name, who, text.String())
		}
	}
}

func TestWriteTextGoldenTeamsOnly(t *testing.T) {
	st := flowFixture(t)
	goldenOf(t, st, "jira:PAY-1", "flow-teams-only.txt", (*explain.Explanation).NameTeams)
	goldenOf(t, st, "jira:ticket:OPS-1", "toil-ticket-teams-only.txt", (*explain.Explanation).NameTeams)
}
