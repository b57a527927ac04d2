package explain_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/reports/explain"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func jun1(h, m int) time.Time { return time.Date(2026, 6, 1, h, m, 0, 0, time.UTC) }

// fixture is a store holding one pull request shipped to production-eu and, in the
// same rollout, to production-us; an incident naming the eu deployment, which a
// rollback replaced before the incident was resolved; the ancestry answer that
// attributed the pull request; and a change and an incident that share an id.
//
//	acme/api#12            PR, first commit 08:00, opened 09:00, merged 12:00 (m12)
//	acme/api/deployments/1 production-eu, commit c1, 12:50-13:00: shipped #12
//	acme/api/deployments/2 production-us, commit c1, 12:55-13:05: rollout of 1
//	INC-1                  opened 13:30, resolved 14:30, names deployments/1
//	acme/api/deployments/3 production-eu, commit c0, rollback, 14:00-14:10
//	acme/api/deployments/4 production-eu, commit c2, 15:00-15:10
//	INC-2                  opened 15:30, resolved 16:00, names nothing
//
// deployments/1 failed (incident_named, rolled_back) and recovered at 14:10, when
// the rollback finished, before INC-1 resolved: 4200 s after 13:00. deployments/4
// failed by inference (INC-2 opened in the failure window) and recovered when INC-2
// resolved.
func fixture(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "flowmeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	updated := time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)
	dep := func(id, env, sha string, started, finished time.Time) schema.Deployment {
		return schema.Deployment{
			Source: "gh", ID: "acme/api/deployments/" + id, Repo: "acme/api", Service: "api", Environment: env,
			CommitSHA: sha, Status: schema.DeploymentSuccess, Trigger: schema.TriggerAutomatic, Attempt: 1,
			StartedAt: started, FinishedAt: finished, UpdatedAt: updated,
		}
	}
	rollback := dep("3", "production-eu", "c0", jun1(14, 0), jun1(14, 10))
	rollback.Rollback = true
	depFact := func(id, env, sha string, started, finished time.Time) schema.DeploymentFact {
		return schema.DeploymentFact{
			Source: "gh", ID: "acme/api/deployments/" + id, Team: "payments", Repo: "acme/api", Service: "api",
			Environment: env, Production: true, Status: "success", CommitSHA: sha, StartedAt: started, FinishedAt: finished,
			RecoverySeconds: schema.Unknown, UpdatedAt: updated,
		}
	}
	eu := depFact("1", "production-eu", "c1", jun1(12, 50), jun1(13, 0))
	eu.Failed, eu.FailureReasons = true, []string{schema.ReasonIncidentNamed, schema.ReasonRolledBack}
	eu.CausedIncidents, eu.Changes, eu.Rollout = []string{"INC-1"}, 1, []string{"acme/api/deployments/2"}
	eu.RecoveredAt, eu.RecoveredBy, eu.RecoverySeconds = jun1(14, 10), "acme/api/deployments/3", 4200
	us := depFact("2", "production-us", "c1", jun1(12, 55), jun1(13, 5))
	us.RolloutOf = "acme/api/deployments/1"
	back := depFact("3", "production-eu", "c0", jun1(14, 0), jun1(14, 10))
	back.Rollback, back.Unplanned, back.UnplannedReasons = true, true, []string{schema.UnplannedRollback}
	later := depFact("4", "production-eu", "c2", jun1(15, 0), jun1(15, 10))
	later.Failed, later.FailureReasons, later.CausedIncidents = true, []string{schema.ReasonIncidentWindow}, []string{"INC-2"}
	later.RecoveredAt, later.RecoveredBy, later.RecoverySeconds = jun1(16, 0), "INC-2", 3000

	b := &schema.Batch{
		PullRequests: []schema.PullRequest{{
			Source: "gh", ID: "acme/api#12", Repo: "acme/api", Number: 12, Author: "ana", Title: "Faster checkout",
			BaseBranch: "main", CreatedAt: jun1(9, 0), ReadyAt: jun1(9, 0), FirstCommitAt: jun1(8, 0), CommitCount: 2,
			FirstReviewAt: jun1(10, 0), FirstReviewer: "bo", MergedAt: jun1(12, 0), ClosedAt: jun1(12, 0),
			MergeCommitSHA: "m12", URL: "https://github.com/acme/api/pull/12", UpdatedAt: updated,
		}},
		Deployments: []schema.Deployment{
			dep("1", "production-eu", "c1", jun1(12, 50), jun1(13, 0)),
			dep("2", "production-us", "c1", jun1(12, 55), jun1(13, 5)),
			rollback,
			dep("4", "production-eu", "c2", jun1(15, 0), jun1(15, 10)),
		},
		Incidents: []schema.Incident{{
			Source: "pd", ID: "INC-1", Service: "api", Severity: "SEV2", Title: "Checkout errors",
			OpenedAt: jun1(13, 30), ResolvedAt: jun1(14, 30), CauseDeploymentID: "acme/api/deployments/1", UpdatedAt: updated,
		}, {
			Source: "pd", ID: "INC-2", Service: "api", Severity: "SEV3", Title: "Slow logins",
			OpenedAt: jun1(15, 30), ResolvedAt: jun1(16, 0), UpdatedAt: updated,
		}},
		Ancestries: []schema.Ancestry{
			{Source: "gh", ID: schema.AncestryID("acme/api", "m12", "c1"), Repo: "acme/api", Base: "m12", Head: "c1",
				Contains: true, CheckedAt: jun1(13, 1), UpdatedAt: updated},
			{Source: "gh", ID: schema.AncestryID("acme/api", "m11", "c1"), Repo: "acme/api", Base: "m11", Head: "c1",
				Contains: true, CheckedAt: jun1(13, 1), UpdatedAt: updated},
		},
		ChangeFacts: []schema.ChangeFact{
			{
				Source: "gh", ID: "acme/api#12", Team: "payments", Repo: "acme/api", Service: "api", State: schema.ChangeShipped,
				ShippedBy: "acme/api/deployments/1", Attribution: schema.ByAncestry, FirstCommitAt: jun1(8, 0), OpenedAt: jun1(9, 0),
				ReadyAt: jun1(9, 0), FirstReviewAt: jun1(10, 0), MergedAt: jun1(12, 0), ShippedAt: jun1(13, 0),
				LeadTimeSeconds: 5 * 3600, CodingSeconds: 3600, PickupSeconds: 3600, ReviewSeconds: 2 * 3600, DeploySeconds: 3600,
				UpdatedAt: updated,
			},
			// Shipped by a deployment the store has no fact or record of.
			{
				Source: "gh", ID: "shared", Team: "payments", Repo: "acme/api", State: schema.ChangeShipped,
				ShippedBy: "elsewhere", Attribution: schema.ByTime, MergedAt: jun1(11, 0), ShippedAt: jun1(13, 0),
				LeadTimeSeconds: schema.Unknown, CodingSeconds: schema.Unknown, PickupSeconds: schema.Unknown,
				ReviewSeconds: schema.Unknown, DeploySeconds: 7200, UpdatedAt: updated,
			},
		},
		DeploymentFacts: []schema.DeploymentFact{eu, us, back, later},
		IncidentFacts: []schema.IncidentFact{
			{
				Source: "pd", ID: "INC-1", Team: "payments", Service: "api", Severity: "SEV2", OpenedAt: jun1(13, 30),
				ResolvedAt: jun1(14, 30), RestoreSeconds: 3600, Deployment: "acme/api/deployments/1",
				LinkReason: schema.ReasonIncidentNamed, UpdatedAt: updated,
			},
			{
				Source: "pd", ID: "INC-2", Team: "payments", Service: "api", Severity: "SEV3", OpenedAt: jun1(15, 30),
				ResolvedAt: jun1(16, 0), RestoreSeconds: 1800, Deployment: "acme/api/deployments/4",
				LinkReason: schema.ReasonIncidentWindow, UpdatedAt: updated,
			},
			{
				Source: "pd", ID: "shared", Team: "payments", Service: "api", OpenedAt: jun1(16, 0),
				RestoreSeconds: schema.Unknown, UpdatedAt: updated,
			},
		},
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	return st
}

// roles lists an explanation's records as "role kind ref", "(missing)" when the
// store does not hold one.
func roles(e *explain.Explanation) []string {
	var out []string
	for _, r := range e.Records {
		s := r.Role + " " + string(r.Kind) + " " + r.Ref
		if r.Fields == nil {
			s += " (missing)"
		}
		out = append(out, s)
	}
	return out
}

func field(fields []explain.Field, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Value
		}
	}
	return "(no field " + name + ")"
}

func TestFind(t *testing.T) {
	st := fixture(t)
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
			name: "gh:acme/api/deployments/1", want: schema.KindDeploymentFact, ref: "gh:acme/api/deployments/1",
			roles: []string{
				"record deployments gh:acme/api/deployments/1",
				"caused_incidents incidents pd:INC-1",
				"recovered_by deployments gh:acme/api/deployments/3",
				"rollout deployments gh:acme/api/deployments/2",
			},
			// 13:00 to 14:10 is 4200 s.
			fields: map[string]string{
				"failure_reasons": "incident_named, rolled_back", "recovery_seconds": "4200 (1h 10m)",
				"recovered_at": "2026-06-01T14:10:00Z", "rollout": "acme/api/deployments/2", "rollout_of": "",
			},
		},
		{
			// The incident that failed it recovered it too: listed once.
			name: "acme/api/deployments/4", want: schema.KindDeploymentFact, ref: "gh:acme/api/deployments/4",
			roles:  []string{"record deployments gh:acme/api/deployments/4", "caused_incidents, recovered_by incidents pd:INC-2"},
			fields: map[string]string{"failure_reasons": "incident_window", "recovery_seconds": "3000 (50m)"},
		},
		{
			// Just the id: only one fact has it.
			name: "acme/api/deployments/2", want: schema.KindDeploymentFact, ref: "gh:acme/api/deployments/2",
			roles:  []string{"record deployments gh:acme/api/deployments/2", "rollout_of deployments gh:acme/api/deployments/1"},
			fields: map[string]string{"rollout_of": "acme/api/deployments/1", "failed": "false"},
		},
		{
			// 08:00 to 13:00: 5 hours; attributed by the answer m12...c1 (not m11...c1).
			name: "gh:acme/api#12", want: schema.KindChangeFact, ref: "gh:acme/api#12",
			roles: []string{
				"record pull_requests gh:acme/api#12",
				"shipped_by deployments gh:acme/api/deployments/1",
				"attribution commit_ancestry gh:acme/api:m12...c1",
			},
			fields: map[string]string{"lead_time_seconds": "18000 (5h)", "attribution": "ancestry", "pickup_seconds": "3600 (1h)"},
		},
		{
			name: "INC-1", want: schema.KindIncidentFact, ref: "pd:INC-1",
			roles:  []string{"record incidents pd:INC-1", "deployment deployments gh:acme/api/deployments/1"},
			fields: map[string]string{"link_reason": "incident_named", "restore_seconds": "3600 (1h)"},
		},
		{
			// Nothing in the store holds its pull request or its deployment.
			name: "gh:shared", want: schema.KindChangeFact, ref: "gh:shared",
			roles:  []string{"record pull_requests gh:shared (missing)", "shipped_by deployments elsewhere (missing)"},
			fields: map[string]string{"lead_time_seconds": "unknown", "deploy_seconds": "7200 (2h)", "first_commit_at": ""},
		},
		{name: "shared", kind: schema.KindIncidentFact, want: schema.KindIncidentFact, ref: "pd:shared",
			roles: []string{"record incidents pd:shared (missing)"}, fields: map[string]string{"resolved_at": "", "restore_seconds": "unknown"}},
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
	e, err := explain.Find(ctx, st, "gh:acme/api/deployments/1", "")
	if err != nil || !slices.Equal(e.Shipped, []string{"gh:acme/api#12"}) {
		t.Fatalf("deployments/1: %v, shipped %v", err, e)
	}
	// The records carry their own fields: the rollback's mark, the incident's cause.
	if got := field(e.Records[2].Fields, "rollback"); got != "true" {
		t.Errorf("the rollback's record: rollback %q", got)
	}
	if got := field(e.Records[1].Fields, "cause_deployment_id"); got != "acme/api/deployments/1" {
		t.Errorf("INC-1's record: cause_deployment_id %q", got)
	}
}

func TestFindErrors(t *testing.T) {
	st := fixture(t)
	ctx := context.Background()
	_, err := explain.Find(ctx, st, "gh:nothing", "")
	if !errors.Is(err, explain.ErrUnknown) || !strings.Contains(err.Error(), `"gh:nothing"`) {
		t.Errorf("unknown: %v", err)
	}
	// "shared" is a change of gh and an incident of pd.
	_, err = explain.Find(ctx, st, "shared", "")
	var amb *explain.AmbiguousError
	if !errors.As(err, &amb) || !slices.Equal(amb.Candidates, []string{"change gh:shared", "incident pd:shared"}) {
		t.Errorf("ambiguous: %v", err)
	}
	// A kind that does not have it.
	if _, err := explain.Find(ctx, st, "INC-1", schema.KindChangeFact); !errors.Is(err, explain.ErrUnknown) {
		t.Errorf("INC-1 as a change: %v", err)
	}
}

func TestWriteTextGolden(t *testing.T) {
	st := fixture(t)
	golden(t, st, "gh:acme/api/deployments/1", "deployment.txt")
	golden(t, st, "gh:acme/api#12", "change.txt")
	golden(t, st, "gh:shared", "missing.txt")
}

// golden checks the text explanation of the fact named name against a file in
// testdata/, or rewrites the file with -update.
func golden(t *testing.T, st store.Store, name, file string) {
	t.Helper()
	goldenOf(t, st, name, file, nil)
}

// goldenOf is golden with a change made to the explanation before it is written,
// when change is not nil.
func goldenOf(t *testing.T, st store.Store, name, file string, change func(*explain.Explanation)) {
	t.Helper()
	e, err := explain.Find(context.Background(), st, name, "")
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(e)
	}
	var buf bytes.Buffer
	if err := e.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run 'go test ./reports/explain -update' to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from %s (run with -update after checking the change):\n%s", name, path, buf.String())
	}
}
