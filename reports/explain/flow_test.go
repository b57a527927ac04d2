package explain_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/reports/explain"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

func may(d, h int) time.Time { return time.Date(2026, 5, d, h, 0, 0, 0, time.UTC) }

// flowFixture is fixture's store with flow and toil facts and their records:
//
//	jira:PAY-1   story, created May 28, In Progress May 29 (change 9), Done May 31
//	             (change 10); 1 h logged; pull requests acme/api#12 (a change fact
//	             finds it), acme/web#3 (no change fact) and acme/api#99 (not in the
//	             store); delivered by acme/api/deployments/1 on June 1 13:00
//	jira:shared  a flow fact with no records, sharing its id with a change and an
//	             incident
//	jira:OPS-1   a toil ticket with two worklogs (and a status change toil ignores)
//	pd:P9        a page, kind alert
//	gh:acme/api/deployments/5  a re-run (attempt 2)
//
// and toil facts of each kind: pd:incident:INC-1, pd:alert:P9, jira:ticket:OPS-1,
// gh:deployment:acme/api/deployments/3 (the rollback), gh:rerun:acme/api/deployments/5
// and pd:incident:GONE, whose record the store does not hold.
func flowFixture(t *testing.T) store.Store {
	t.Helper()
	st := fixture(t)
	updated := time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)
	toil := func(source, kind, rec, category string, started time.Time, secs int64, basis string) schema.ToilFact {
		return schema.ToilFact{
			Source: source, ID: kind + ":" + rec, Team: "payments", Category: category, Kind: kind, Record: rec,
			StartedAt: started, Seconds: secs, Basis: basis, UpdatedAt: updated,
		}
	}
	inc := toil("pd", schema.ToilFromIncident, "INC-1", "incident response", jun1(13, 30), 3600, "opened_to_resolved")
	inc.Rule, inc.Title = "incidents", "Checkout errors"
	alert := toil("pd", schema.ToilFromAlert, "P9", "paging", jun1(2, 0), 600, "opened_to_resolved")
	alert.Title = "Disk 90%"
	ticket := toil("jira", schema.ToilFromTicket, "OPS-1", "access requests", may(29, 9), 5400, "worklogs")
	ticket.Rule, ticket.Who, ticket.Title = "access", "ana", "Grant bo access to billing"
	back := toil("gh", schema.ToilFromDeployment, "acme/api/deployments/3", "rollbacks", jun1(14, 0), 600, "deployment")
	back.Title = "rollback of api to production-eu"
	rerun := toil("gh", schema.ToilFromRerun, "acme/api/deployments/5", schema.ToilUnclassified, jun1(15, 20), 300, "rerun")
	rerun.Title = "re-run (attempt 2) of the deployment of api to production-eu"
	gone := toil("pd", schema.ToilFromIncident, "GONE", schema.ToilUnclassified, jun1(3, 0), 60, "opened_to_resolved")
	gone.Retired = true

	b := &schema.Batch{
		PullRequests: []schema.PullRequest{{
			Source: "gh", ID: "acme/web#3", Repo: "acme/web", Number: 3, Author: "bo", Title: "Checkout button",
			BaseBranch: "main", CreatedAt: may(30, 9), MergedAt: may(30, 15), UpdatedAt: updated,
		}},
		Deployments: []schema.Deployment{{
			Source: "gh", ID: "acme/api/deployments/5", Repo: "acme/api", Service: "api", Environment: "production-eu",
			CommitSHA: "c2", Status: schema.DeploymentSuccess, Trigger: schema.TriggerAutomatic, Attempt: 2,
			StartedAt: jun1(15, 20), FinishedAt: jun1(15, 25), UpdatedAt: updated,
		}},
		Incidents: []schema.Incident{{
			Source: "pd", ID: "P9", Service: "api", Title: "Disk 90%", Kind: schema.IncidentKindAlert,
			OpenedAt: jun1(2, 0), ResolvedAt: jun1(2, 10), UpdatedAt: updated,
		}},
		WorkItems: []schema.WorkItem{{
			Source: "jira", ID: "PAY-1", Project: "PAY", IssueType: "Story", Title: "Faster checkout", Status: "Done",
			StatusCategory: "Done", Resolution: "Done", CreatedAt: may(28, 9), ResolvedAt: may(31, 9), UpdatedAt: updated,
		}, {
			Source: "jira", ID: "OPS-1", Project: "OPS", IssueType: "Task", Title: "Grant bo access to billing",
			Labels: []string{"toil"}, Status: "Done", StatusCategory: "Done", CreatedAt: may(29, 8), UpdatedAt: updated,
		}},
		StatusChanges: []schema.StatusChange{
			{Source: "jira", ID: "10", ItemID: "PAY-1", At: may(31, 9), From: "In Progress", To: "Done",
				FromCategory: "In Progress", ToCategory: "Done", Author: "ana", UpdatedAt: updated},
			{Source: "jira", ID: "9", ItemID: "PAY-1", At: may(29, 9), From: "To Do", To: "In Progress",
				FromCategory: "To Do", ToCategory: "In Progress", Author: "ana", UpdatedAt: updated},
			{Source: "jira", ID: "11", ItemID: "OPS-1", At: may(29, 9), From: "To Do", To: "Done",
				FromCategory: "To Do", ToCategory: "Done", Author: "ana", UpdatedAt: updated},
		},
		Worklogs: []schema.Worklog{
			{Source: "jira", ID: "w1", ItemID: "PAY-1", Author: "ana", StartedAt: may(29, 10), Seconds: 3600, UpdatedAt: updated},
			{Source: "jira", ID: "w3", ItemID: "OPS-1", Author: "ana", StartedAt: may(29, 11), Seconds: 1800, UpdatedAt: updated},
			{Source: "jira", ID: "w2", ItemID: "OPS-1", Author: "ana", StartedAt: may(29, 9), Seconds: 3600, UpdatedAt: updated},
		},
		FlowItemFacts: []schema.FlowItemFact{{
			Source: "jira", ID: "PAY-1", Team: "payments", Project: "PAY", IssueType: "Story", FlowType: schema.FlowFeature,
			Title: "Faster checkout", Status: "Done", State: schema.FlowDone, CreatedAt: may(28, 9), CommittedAt: may(29, 9),
			DoneAt: may(31, 9), FlowSeconds: 2 * 86400, ActiveSeconds: 2 * 86400, WaitSeconds: 0,
			TimePerStatus: []string{"In Progress=172800"}, PullRequests: []string{"acme/api#12", "acme/web#3", "acme/api#99"},
			DeliveredAt: jun1(13, 0), DeliveredBy: "acme/api/deployments/1", DeliverySeconds: 3*86400 + 4*3600, UpdatedAt: updated,
		}, {
			Source: "jira", ID: "shared", Team: "payments", Project: "PAY", IssueType: "Bug", FlowType: schema.FlowDefect,
			Status: "To Do", State: schema.FlowNew, CreatedAt: may(30, 9), FlowSeconds: schema.Unknown,
			ActiveSeconds: schema.Unknown, WaitSeconds: schema.Unknown, DeliverySeconds: schema.Unknown, UpdatedAt: updated,
		}},
		ToilFacts: []schema.ToilFact{inc, alert, ticket, back, rerun, gone},
	}
	if err := st.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestFindFlowAndToil(t *testing.T) {
	st := flowFixture(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		kind   schema.Kind
		want   schema.Kind
		ref    string
		roles  []string
		fields map[string]string
	}{
		{
			// Its status changes in time order (9 before 10), then its worklog, its pull
			// requests in the fact's order and the deployment that delivered it.
			name: "jira:PAY-1", want: schema.KindFlowItemFact, ref: "jira:PAY-1",
			roles: []string{
				"record work_items jira:PAY-1",
				"record status_changes jira:9",
				"record status_changes jira:10",
				"record worklogs jira:w1",
				"pull_requests pull_requests gh:acme/api#12",
				"pull_requests pull_requests gh:acme/web#3",
				"pull_requests pull_requests acme/api#99 (missing)",
				"delivered_by deployments gh:acme/api/deployments/1",
			},
			fields: map[string]string{
				"flow_seconds": "172800 (2.0 d)", "delivery_seconds": "273600 (3.2 d)",
				"pull_requests": "acme/api#12, acme/web#3, acme/api#99", "delivered_by": "acme/api/deployments/1",
			},
		},
		{
			name: "PAY-1", kind: schema.KindFlowItemFact, want: schema.KindFlowItemFact, ref: "jira:PAY-1",
			roles: []string{
				"record work_items jira:PAY-1", "record status_changes jira:9", "record status_changes jira:10",
				"record worklogs jira:w1", "pull_requests pull_requests gh:acme/api#12",
				"pull_requests pull_requests gh:acme/web#3", "pull_requests pull_requests acme/api#99 (missing)",
				"delivered_by deployments gh:acme/api/deployments/1",
			},
		},
		{
			name: "jira:shared", want: schema.KindFlowItemFact, ref: "jira:shared",
			roles:  []string{"record work_items jira:shared (missing)"},
			fields: map[string]string{"flow_seconds": "unknown", "done_at": "", "delivered_by": ""},
		},
		{
			name: "pd:incident:INC-1", want: schema.KindToilFact, ref: "pd:incident:INC-1",
			roles:  []string{"record incidents pd:INC-1"},
			fields: map[string]string{"kind": "incident", "record": "INC-1", "seconds": "3600 (1h)", "basis": "opened_to_resolved"},
		},
		{
			// The id alone, colon and all: no other fact has it.
			name: "incident:INC-1", want: schema.KindToilFact, ref: "pd:incident:INC-1",
			roles: []string{"record incidents pd:INC-1"},
		},
		{
			// The incident's own id still names the incident fact.
			name: "INC-1", want: schema.KindIncidentFact, ref: "pd:INC-1",
			roles: []string{"record incidents pd:INC-1", "deployment deployments gh:acme/api/deployments/1"},
		},
		{
			name: "pd:alert:P9", want: schema.KindToilFact, ref: "pd:alert:P9",
			roles:  []string{"record incidents pd:P9"},
			fields: map[string]string{"kind": "alert", "category": "paging"},
		},
		{
			// Its worklogs in time order; not its status changes.
			name: "jira:ticket:OPS-1", want: schema.KindToilFact, ref: "jira:ticket:OPS-1",
			roles:  []string{"record work_items jira:OPS-1", "record worklogs jira:w2", "record worklogs jira:w3"},
			fields: map[string]string{"seconds": "5400 (1h 30m)", "basis": "worklogs", "who": "ana", "rule": "access"},
		},
		{
			name: "gh:deployment:acme/api/deployments/3", kind: schema.KindToilFact, want: schema.KindToilFact,
			ref:   "gh:deployment:acme/api/deployments/3",
			roles: []string{"record deployments gh:acme/api/deployments/3"},
		},
		{
			name: "rerun:acme/api/deployments/5", want: schema.KindToilFact, ref: "gh:rerun:acme/api/deployments/5",
			roles: []string{"record deployments gh:acme/api/deployments/5"},
		},
		{
			name: "pd:incident:GONE", want: schema.KindToilFact, ref: "pd:incident:GONE",
			roles:  []string{"record incidents pd:GONE (missing)"},
			fields: map[string]string{"retired": "true", "rule": ""},
		},
	}
	for _, tt := range tests {
		e, err := explain.Find(ctx, st, tt.name, tt.kind)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if e.Kind != tt.want || e.Ref != tt.ref {
			t.Errorf("%s: %s %s, want %s %s", tt.name, e.Kind, e.Ref, tt.want, tt.ref)
		}
		if got := roles(e); !slices.Equal(got, tt.roles) {
			t.Errorf("%s: records\n got %q\nwant %q", tt.name, got, tt.roles)
		}
		for k, v := range tt.fields {
			if got := field(e.Fields, k); got != v {
				t.Errorf("%s: %s = %q, want %q", tt.name, k, got, v)
			}
		}
	}
	// The records carry their own fields: the re-run's attempt, the page's kind.
	e, err := explain.Find(ctx, st, "gh:rerun:acme/api/deployments/5", "")
	if err != nil || field(e.Records[0].Fields, "attempt") != "2" {
		t.Errorf("the re-run's record: %v %v", err, e)
	}
	e, err = explain.Find(ctx, st, "pd:alert:P9", "")
	if err != nil || field(e.Records[0].Fields, "kind") != "alert" {
		t.Errorf("the page's record: %v %v", err, e)
	}
}

func TestFindFlowAndToilErrors(t *testing.T) {
	st := flowFixture(t)
	ctx := context.Background()
	// "shared" is now a change, an incident and a flow item.
	_, err := explain.Find(ctx, st, "shared", "")
	var amb *explain.AmbiguousError
	if !errors.As(err, &amb) || !slices.Equal(amb.Candidates, []string{"change gh:shared", "incident pd:shared", "flow jira:shared"}) {
		t.Errorf("ambiguous: %v", err)
	}
	for _, tt := range []struct {
		name string
		kind schema.Kind
	}{
		{"P9", ""},         // a toil id is "<kind>:<record id>"
		{"pd:P9", ""},      // and the record itself is no fact
		{"jira:OPS-1", ""}, // a ticket with no flow fact
		{"ticket:OPS-1", schema.KindFlowItemFact},
		{"PAY-1", schema.KindToilFact},
		{"gh:incident:INC-1", ""}, // the wrong source
		{"incident", ""},          // a toil kind alone
		{"pd:incident", ""},
	} {
		if _, err := explain.Find(ctx, st, tt.name, tt.kind); !errors.Is(err, explain.ErrUnknown) {
			t.Errorf("%s (%q): %v, want no such fact", tt.name, tt.kind, err)
		}
	}
	if k := explain.Kinds["flow"]; k != schema.KindFlowItemFact {
		t.Errorf("Kinds[flow] = %q", k)
	}
	if k := explain.Kinds["toil"]; k != schema.KindToilFact {
		t.Errorf("Kinds[toil] = %q", k)
	}
}

func TestWriteTextGoldenFlowAndToil(t *testing.T) {
	st := flowFixture(t)
	golden(t, st, "jira:PAY-1", "flow.txt")
	golden(t, st, "jira:shared", "flow-missing.txt")
	golden(t, st, "pd:incident:INC-1", "toil-incident.txt")
	golden(t, st, "pd:alert:P9", "toil-alert.txt")
	golden(t, st, "jira:ticket:OPS-1", "toil-ticket.txt")
	golden(t, st, "gh:deployment:acme/api/deployments/3", "toil-deployment.txt")
	golden(t, st, "gh:rerun:acme/api/deployments/5", "toil-rerun.txt")
}
