package toil

import (
	"reflect"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
)

// T is a Monday morning; every scenario is laid out in minutes around it.
var T = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Now stamps the facts.
var Now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func m(minutes float64) time.Time { return T.Add(time.Duration(minutes * float64(time.Minute))) }

// testConfig is two teams with the default toil rules and ticket label.
func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`
teams:
  - name: payments
    repositories: [acme/pay]
    services: [pay]
    incident_services: [pay-oncall]
    ticket_projects: [PAY]
    members: [ana]
  - name: web
    repositories: [acme/web]
    services: [web]
    ticket_projects: [WEB]
    members: [bo]
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// want is a toil fact with the fields every test shares filled in.
func want(f schema.ToilFact) schema.ToilFact {
	f.ID = f.Kind + ":" + f.Record
	f.UpdatedAt = Now
	return f
}

func derive(t *testing.T, cfg *config.Config, in Input) []schema.ToilFact {
	t.Helper()
	in.Now = Now
	return Derive(in, NewRules(cfg))
}

func check(t *testing.T, got, want []schema.ToilFact) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("facts:\n got %+v\nwant %+v", got, want)
	}
}

// finished is the flow item fact of a ticket committed at c and done at d minutes
// with the given active seconds.
func finished(source, id, team string, c, d float64, active int64) schema.FlowItemFact {
	return schema.FlowItemFact{
		Source: source, ID: id, Team: team, State: schema.FlowDone, CommittedAt: m(c), DoneAt: m(d),
		FlowSeconds: int64((d - c) * 60), ActiveSeconds: active, WaitSeconds: int64((d-c)*60) - active,
	}
}

// TestDeriveEntrySources gives one record of each kind toil entries come from and
// checks the one entry (or none) each gives, with the default rules.
func TestDeriveEntrySources(t *testing.T) {
	cases := []struct {
		name string
		in   Input
		want []schema.ToilFact
	}{
		{
			name: "incident acknowledged: acknowledged to resolved",
			in: Input{Incidents: []schema.Incident{{
				Source: "pd", ID: "P1", Service: "pay-oncall", Title: "Checkout errors",
				OpenedAt: m(0), AcknowledgedAt: m(5), ResolvedAt: m(50),
			}}},
			// 50 − 5 = 45 min = 2700 s from the acknowledgement; team by incident_services.
			want: []schema.ToilFact{want(schema.ToilFact{
				Source: "pd", Kind: "incident", Record: "P1", Team: "payments", Category: "production_interrupts",
				Rule: "pages", Title: "Checkout errors", StartedAt: m(5), Seconds: 2700, Basis: "acknowledged_to_resolved",
			})},
		},
		{
			name: "incident never acknowledged: opened to resolved",
			in: Input{Incidents: []schema.Incident{{
				Source: "pd", ID: "P2", Kind: "incident", Service: "pay-oncall", Title: "Disk full",
				OpenedAt: m(0), ResolvedAt: m(30),
			}}},
			// 30 − 0 = 30 min = 1800 s.
			want: []schema.ToilFact{want(schema.ToilFact{
				Source: "pd", Kind: "incident", Record: "P2", Team: "payments", Category: "production_interrupts",
				Rule: "pages", Title: "Disk full", StartedAt: m(0), Seconds: 1800, Basis: "opened_to_resolved",
			})},
		},
		{
			name: "incident fact's team wins over the service's",
			in: Input{
				Incidents:     []schema.Incident{{Source: "pd", ID: "P3", Service: "pay-oncall", OpenedAt: m(0), ResolvedAt: m(1)}},
				IncidentFacts: []schema.IncidentFact{{Source: "pd", ID: "P3", Team: "web"}},
			},
			// 1 min = 60 s.
			want: []schema.ToilFact{want(schema.ToilFact{
				Source: "pd", Kind: "incident", Record: "P3", Team: "web", Category: "production_interrupts",
				Rule: "pages", StartedAt: m(0), Seconds: 60, Basis: "opened_to_resolved",
			})},
		},
		{
			name: "open incident: no entry yet",
			in: Input{Incidents: []schema.Incident{{
				Source: "pd", ID: "P4", Service: "pay-oncall", OpenedAt: m(0), AcknowledgedAt: m(5),
			}}},
		},
		{
			name: "alert",
			in: Input{Incidents: []schema.Incident{{
				Source: "og", ID: "A1", Kind: "alert", Service: "web", Title: "CPU high",
				OpenedAt: m(10), AcknowledgedAt: m(12), ResolvedAt: m(22),
			}}},
			// 22 − 12 = 10 min = 600 s; "web" is no incident service, so the team of the
			// deployment service of that name.
			want: []schema.ToilFact{want(schema.ToilFact{
				Source: "og", Kind: "alert", Record: "A1", Team: "web", Category: "production_interrupts",
				Rule: "pages", Title: "CPU high", StartedAt: m(12), Seconds: 600, Basis: "acknowledged_to_resolved",
			})},
		},
		{
			name: "ticket with worklogs: their sum, the earliest start, the author who logged most",
			in: Input{
				Items: []schema.WorkItem{{
					Source: "jira", ID: "PAY-1", Project: "PAY", Title: "Grant access to ledger",
					Labels: []string{"Access-Request"}, Assignee: "ana",
				}},
				Worklogs: []schema.Worklog{
					{Source: "jira", ID: "w1", ItemID: "PAY-1", Author: "ana", StartedAt: m(60), Seconds: 600},
					{Source: "jira", ID: "w2", ItemID: "PAY-1", Author: "bo", StartedAt: m(30), Seconds: 900},
					{Source: "jira", ID: "w3", ItemID: "PAY-1", Author: "ana", StartedAt: m(90), Seconds: 120},
					{Source: "jira", ID: "w4", ItemID: "PAY-2", Author: "ana", StartedAt: m(0), Seconds: 5000},
				},
				FlowFacts: []schema.FlowItemFact{finished("jira", "PAY-1", "", 0, 600, 7200)},
			},
			// 600 + 900 + 120 = 1620 s (w4 is another ticket's); earliest start 30 min;
			// bo logged 900 s, ana 600 + 120 = 720 s, so bo. Worklogs win over the
			// 7200 s of active time; team by project PAY.
			want: []schema.ToilFact{want(schema.ToilFact{
				Source: "jira", Kind: "ticket", Record: "PAY-1", Team: "payments", Category: "business_processes",
				Rule: "requests", Who: "bo", Title: "Grant access to ledger", StartedAt: m(30), Seconds: 1620, Basis: "worklogs",
			})},
		},
		{
			name: "ticket without worklogs: active time of the finished ticket",
			in: Input{
				Items: []schema.WorkItem{{
					Source: "jira", ID: "WEB-7", Project: "WEB", Title: "Rotate certificates", Labels: []string{"toil"}, Assignee: "bo",
				}},
				FlowFacts: []schema.FlowItemFact{finished("jira", "WEB-7", "web", 100, 400, 3600)},
			},
			// 3600 s active from the commitment point at 100 min; a toil label, no rule: unclassified.
			want: []schema.ToilFact{want(schema.ToilFact{
				Source: "jira", Kind: "ticket", Record: "WEB-7", Team: "web", Category: "unclassified",
				Who: "bo", Title: "Rotate certificates", StartedAt: m(100), Seconds: 3600, Basis: "active_time",
			})},
		},
		{
			name: "unfinished ticket without worklogs: no entry yet",
			in: Input{
				Items: []schema.WorkItem{{Source: "jira", ID: "WEB-8", Project: "WEB", Labels: []string{"toil"}}},
				FlowFacts: []schema.FlowItemFact{{
					Source: "jira", ID: "WEB-8", State: schema.FlowActive, CommittedAt: m(0),
					FlowSeconds: schema.Unknown, ActiveSeconds: schema.Unknown, WaitSeconds: schema.Unknown,
				}},
			},
		},
		{
			name: "manual deployment",
			in: Input{Deployments: []schema.Deployment{{
				Source: "gh", ID: "d1", Repo: "acme/pay", Service: "pay", Environment: "production",
				Status: schema.DeploymentSuccess, Trigger: schema.TriggerManual, Attempt: 1, StartedAt: m(0), FinishedAt: m(12.5),
			}}},
			// 12.5 min = 750 s; no deployment fact, so the team of service pay.
			want: []schema.ToilFact{want(schema.ToilFact{
				Source: "gh", Kind: "deployment", Record: "d1", Title: "manual deployment of pay to production", Team: "payments", Category: "release_shepherding",
				Rule: "release", StartedAt: m(0), Seconds: 750, Basis: "deployment",
			})},
		},
		{
			name: "automatic deployment: no entry",
			in: Input{Deployments: []schema.Deployment{{
				Source: "gh", ID: "d2", Service: "pay", Trigger: schema.TriggerAutomatic, Attempt: 1, StartedAt: m(0), FinishedAt: m(5),
			}}},
		},
		{
			name: "rollback marked by its fact, team from the fact",
			in: Input{
				Deployments: []schema.Deployment{{
					Source: "gh", ID: "d3", Service: "pay", Trigger: schema.TriggerAutomatic, Attempt: 1, StartedAt: m(0), FinishedAt: m(3),
				}},
				DeploymentFacts: []schema.DeploymentFact{{Source: "gh", ID: "d3", Team: "web", Rollback: true}},
			},
			// 3 min = 180 s.
			want: []schema.ToilFact{want(schema.ToilFact{
				Source: "gh", Kind: "deployment", Record: "d3", Title: "rollback of pay", Team: "web", Category: "release_shepherding",
				Rule: "release", StartedAt: m(0), Seconds: 180, Basis: "deployment",
			})},
		},
		{
			name: "rollback marked by its record",
			in: Input{Deployments: []schema.Deployment{{
				Source: "argo", ID: "d4", Service: "web", Rollback: true, Attempt: 1, StartedAt: m(10), FinishedAt: m(11),
			}}},
			// 1 min = 60 s.
			want: []schema.ToilFact{want(schema.ToilFact{
				Source: "argo", Kind: "deployment", Record: "d4", Title: "rollback of web", Team: "web", Category: "release_shepherding",
				Rule: "release", StartedAt: m(10), Seconds: 60, Basis: "deployment",
			})},
		},
		{
			name: "unfinished manual deployment: no entry yet",
			in: Input{Deployments: []schema.Deployment{{
				Source: "gh", ID: "d5", Service: "pay", Trigger: schema.TriggerManual, Attempt: 1, StartedAt: m(0),
			}}},
		},
		{
			name: "manual re-run: one rerun entry, no deployment entry",
			in: Input{Deployments: []schema.Deployment{{
				Source: "gh", ID: "run7-2", Service: "pay", Trigger: schema.TriggerManual, Attempt: 2,
				Status: schema.DeploymentSuccess, StartedAt: m(20), FinishedAt: m(28),
			}}},
			// 8 min = 480 s.
			want: []schema.ToilFact{want(schema.ToilFact{
				Source: "gh", Kind: "rerun", Record: "run7-2", Title: "re-run (attempt 2) of the deployment of pay", Team: "payments", Category: "release_shepherding",
				Rule: "release", StartedAt: m(20), Seconds: 480, Basis: "rerun",
			})},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, derive(t, testConfig(t), c.in), c.want)
		})
	}
}

// TestDeriveDefaultRules checks which tickets the default rules and label make
// toil, and how they classify them.
func TestDeriveDefaultRules(t *testing.T) {
	done := func(id string) schema.FlowItemFact { return finished("jira", id, "payments", 0, 10, 300) }
	in := Input{
		Items: []schema.WorkItem{
			{Source: "jira", ID: "PAY-10", Project: "PAY", Title: "Access for new hire", Labels: []string{"access-request"}},
			{Source: "jira", ID: "PAY-11", Project: "PAY", Title: "Clean up old buckets", Labels: []string{"TOIL", "ops"}},
			{Source: "jira", ID: "PAY-12", Project: "PAY", Title: "New checkout page", Labels: []string{"frontend"}},
			{Source: "jira", ID: "PAY-13", Project: "PAY", Title: "Raise the queue quota", Labels: []string{"quota"}},
		},
		FlowFacts: []schema.FlowItemFact{done("PAY-10"), done("PAY-11"), done("PAY-12"), done("PAY-13")},
	}
	// Each ticket was active 300 s from its commitment at T.
	entry := func(id, title, category, rule string) schema.ToilFact {
		return want(schema.ToilFact{
			Source: "jira", Kind: "ticket", Record: id, Team: "payments", Category: category, Rule: rule,
			Title: title, StartedAt: T, Seconds: 300, Basis: "active_time",
		})
	}
	check(t, derive(t, testConfig(t), in), []schema.ToilFact{
		// An access request: the requests rule, though it carries no toil label.
		entry("PAY-10", "Access for new hire", "business_processes", "requests"),
		// The toil label (any case) with no rule matching: unclassified.
		entry("PAY-11", "Clean up old buckets", "unclassified", ""),
		// PAY-12: neither a toil label nor a rule: no entry.
		entry("PAY-13", "Raise the queue quota", "cost_capacity", "capacity"),
	})
}

// TestDeriveFirstRuleWins gives a ticket two rules match: the first classifies it.
func TestDeriveFirstRuleWins(t *testing.T) {
	for _, c := range []struct {
		name           string
		rules          []config.ToilRule
		category, rule string
	}{
		{"restart first", []config.ToilRule{
			{Name: "restarts", Category: "troubleshooting", Labels: []string{"restart"}},
			{Category: "migrations", Labels: []string{"migration"}},
		}, "troubleshooting", "restarts"},
		{"migration first", []config.ToilRule{
			{Category: "migrations", Labels: []string{"migration"}},
			{Name: "restarts", Category: "troubleshooting", Labels: []string{"restart"}},
		}, "migrations", "migrations"}, // an unnamed rule is named by its category
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Toil.Rules = c.rules
			got := derive(t, cfg, Input{
				Items:    []schema.WorkItem{{Source: "jira", ID: "PAY-20", Project: "PAY", Labels: []string{"restart", "migration"}}},
				Worklogs: []schema.Worklog{{Source: "jira", ID: "w", ItemID: "PAY-20", Author: "ana", StartedAt: T, Seconds: 60}},
			})
			check(t, got, []schema.ToilFact{want(schema.ToilFact{
				Source: "jira", Kind: "ticket", Record: "PAY-20", Team: "payments", Category: c.category, Rule: c.rule,
				Who: "ana", StartedAt: T, Seconds: 60, Basis: "worklogs",
			})})
		})
	}
}

// TestRuleFields checks each field of a toil rule on its own: an entry it
// matches gets the rule's category, one it does not is unclassified. Every
// record is toil anyway (incidents, a toil-labelled ticket, a manual deployment).
func TestRuleFields(t *testing.T) {
	inc := func(mod func(*schema.Incident)) Input {
		i := schema.Incident{Source: "pd", ID: "P", Service: "pay-oncall", Title: "Disk full on db-1", Severity: "SEV2",
			Priority: "P3", Labels: []string{"db"}, OpenedAt: T, ResolvedAt: m(1)}
		if mod != nil {
			mod(&i)
		}
		return Input{Incidents: []schema.Incident{i}}
	}
	ticket := func(mod func(*schema.WorkItem)) Input {
		w := schema.WorkItem{Source: "jira", ID: "PAY-1", Project: "PAY", IssueType: "Task", Priority: "High",
			Title: "Renew certificate", Labels: []string{"toil"}}
		if mod != nil {
			mod(&w)
		}
		return Input{Items: []schema.WorkItem{w},
			Worklogs: []schema.Worklog{{Source: "jira", ID: "w", ItemID: "PAY-1", Author: "ana", StartedAt: T, Seconds: 60}}}
	}
	deploy := func(mod func(*schema.Deployment)) Input {
		d := schema.Deployment{Source: "gh", ID: "d", Service: "pay", Trigger: schema.TriggerManual, Attempt: 1, StartedAt: T, FinishedAt: m(1)}
		if mod != nil {
			mod(&d)
		}
		return Input{Deployments: []schema.Deployment{d}}
	}
	cases := []struct {
		name  string
		rule  config.ToilRule
		in    Input
		match bool
	}{
		{"sources match", config.ToilRule{Sources: []string{"PD"}}, inc(nil), true},
		{"sources differ", config.ToilRule{Sources: []string{"opsgenie"}}, inc(nil), false},
		{"kinds match", config.ToilRule{Kinds: []string{"alert"}}, inc(func(i *schema.Incident) { i.Kind = "alert" }), true},
		{"kinds differ", config.ToilRule{Kinds: []string{"alert"}}, inc(nil), false},
		{"kinds rerun", config.ToilRule{Kinds: []string{"rerun"}}, deploy(func(d *schema.Deployment) { d.Attempt = 3 }), true},
		{"labels match ignoring case", config.ToilRule{Labels: []string{"x", "DB"}}, inc(nil), true},
		{"labels differ", config.ToilRule{Labels: []string{"cache"}}, inc(nil), false},
		{"labels never match a deployment", config.ToilRule{Labels: []string{"db"}}, deploy(nil), false},
		{"title regex ignoring case", config.ToilRule{Title: `^disk\s+FULL`}, inc(nil), true},
		{"title regex on a ticket", config.ToilRule{Title: `certificate$`}, ticket(nil), true},
		{"title regex differs", config.ToilRule{Title: `^full`}, inc(nil), false},
		{"title of a deployment is empty", config.ToilRule{Title: `^$`}, deploy(nil), true},
		{"title pattern needs a title", config.ToilRule{Title: `.`}, deploy(nil), false},
		{"services of an incident", config.ToilRule{Services: []string{"Pay-Oncall"}}, inc(nil), true},
		{"services of a deployment", config.ToilRule{Services: []string{"pay"}}, deploy(nil), true},
		{"services differ", config.ToilRule{Services: []string{"web"}}, deploy(nil), false},
		{"services never match a ticket", config.ToilRule{Services: []string{"pay"}}, ticket(nil), false},
		{"issue types match", config.ToilRule{IssueTypes: []string{"task"}}, ticket(nil), true},
		{"issue types differ", config.ToilRule{IssueTypes: []string{"Bug"}}, ticket(nil), false},
		{"issue types never match an incident", config.ToilRule{IssueTypes: []string{"task"}}, inc(nil), false},
		{"priorities: incident priority", config.ToilRule{Priorities: []string{"p3"}}, inc(nil), true},
		{"priorities: incident severity", config.ToilRule{Priorities: []string{"sev2"}}, inc(nil), true},
		{"priorities: ticket priority", config.ToilRule{Priorities: []string{"HIGH"}}, ticket(nil), true},
		{"priorities differ", config.ToilRule{Priorities: []string{"P1"}}, inc(nil), false},
		{"every field set must match", config.ToilRule{Kinds: []string{"incident"}, Services: []string{"web"}}, inc(nil), false},
		{"every field set matches", config.ToilRule{Kinds: []string{"incident"}, Services: []string{"pay-oncall"},
			Priorities: []string{"P3"}, Title: "disk"}, inc(nil), true},
		{"no field set matches all", config.ToilRule{}, deploy(nil), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t)
			r := c.rule
			r.Name, r.Category = "probe", "probed"
			cfg.Toil.Rules = []config.ToilRule{r}
			got := derive(t, cfg, c.in)
			if len(got) != 1 {
				t.Fatalf("want one entry, got %+v", got)
			}
			wantCat, wantRule := "unclassified", ""
			if c.match {
				wantCat, wantRule = "probed", "probe"
			}
			if got[0].Category != wantCat || got[0].Rule != wantRule {
				t.Errorf("category %q rule %q, want %q %q", got[0].Category, got[0].Rule, wantCat, wantRule)
			}
		})
	}
}

// TestDeriveTicketRules checks what makes a ticket toil beyond its label: a rule
// setting a field makes it toil, a catch-all rule and an empty label list do not.
func TestDeriveTicketRules(t *testing.T) {
	item := schema.WorkItem{Source: "jira", ID: "PAY-5", Project: "PAY", IssueType: "Task", Labels: []string{"toil"}}
	logs := []schema.Worklog{{Source: "jira", ID: "w", ItemID: "PAY-5", Author: "ana", StartedAt: T, Seconds: 60}}
	for _, c := range []struct {
		name   string
		labels []string
		rules  []config.ToilRule
		toil   bool
	}{
		{"default label", nil, []config.ToilRule{}, true},
		{"no ticket labels", []string{}, []config.ToilRule{}, false},
		{"other ticket labels", []string{"ops"}, []config.ToilRule{}, false},
		{"issue type rule", []string{}, []config.ToilRule{{Category: "chores", IssueTypes: []string{"Task"}}}, true},
		{"catch-all rule", []string{}, []config.ToilRule{{Category: "other"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Toil.TicketLabels, cfg.Toil.Rules = c.labels, c.rules
			got := derive(t, cfg, Input{Items: []schema.WorkItem{item}, Worklogs: logs})
			if (len(got) == 1) != c.toil || len(got) > 1 {
				t.Errorf("toil %v, got %+v", c.toil, got)
			}
		})
	}
}

// TestDeriveOrder checks the facts come grouped by kind in schema.ToilSources
// order, each group in input order, and a ticket with no team by project takes
// its worker's.
func TestDeriveOrder(t *testing.T) {
	in := Input{
		Deployments: []schema.Deployment{
			{Source: "gh", ID: "r2", Service: "pay", Attempt: 2, StartedAt: m(0), FinishedAt: m(1)},
			{Source: "gh", ID: "d1", Service: "pay", Rollback: true, Attempt: 1, StartedAt: m(0), FinishedAt: m(1)},
			{Source: "gh", ID: "r1", Service: "pay", Attempt: 2, StartedAt: m(0), FinishedAt: m(1)},
		},
		Items:    []schema.WorkItem{{Source: "jira", ID: "OPS-1", Project: "OPS", Labels: []string{"toil"}}},
		Worklogs: []schema.Worklog{{Source: "jira", ID: "w", ItemID: "OPS-1", Author: "bo", StartedAt: m(0), Seconds: 60}},
		Incidents: []schema.Incident{
			{Source: "og", ID: "a1", Kind: "alert", OpenedAt: m(0), ResolvedAt: m(1)},
			{Source: "pd", ID: "i1", OpenedAt: m(0), ResolvedAt: m(1)},
		},
	}
	var got []string
	var team string
	for _, f := range derive(t, testConfig(t), in) {
		got = append(got, f.ID)
		if f.Kind == "ticket" {
			team = f.Team
		}
	}
	wantIDs := []string{"incident:i1", "alert:a1", "ticket:OPS-1", "deployment:d1", "rerun:r2", "rerun:r1"}
	if !reflect.DeepEqual(got, wantIDs) {
		t.Errorf("order %v, want %v", got, wantIDs)
	}
	// OPS is no team's project; bo, who logged the time, is a member of web.
	if team != "web" {
		t.Errorf("ticket team %q, want web", team)
	}
}

// TestDeriveSkew checks records whose times contradict each other: an
// acknowledgement after the resolution is ignored, an end before the start gives
// no entry.
func TestDeriveSkew(t *testing.T) {
	got := derive(t, testConfig(t), Input{
		Incidents: []schema.Incident{
			{Source: "pd", ID: "late-ack", Service: "pay-oncall", OpenedAt: m(0), AcknowledgedAt: m(20), ResolvedAt: m(10)},
			{Source: "pd", ID: "backwards", Service: "pay-oncall", OpenedAt: m(10), ResolvedAt: m(0)},
		},
		Deployments: []schema.Deployment{{Source: "gh", ID: "d", Trigger: schema.TriggerManual, StartedAt: m(5), FinishedAt: m(4)}},
	})
	// late-ack: opened to resolved, 10 min = 600 s.
	check(t, got, []schema.ToilFact{want(schema.ToilFact{
		Source: "pd", Kind: "incident", Record: "late-ack", Team: "payments", Category: "production_interrupts",
		Rule: "pages", StartedAt: m(0), Seconds: 600, Basis: "opened_to_resolved",
	})})
}
