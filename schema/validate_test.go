package schema_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

var (
	// lastSecond is the last second a store can hold, with a fraction that stores drop.
	lastSecond = time.Date(2106, 2, 7, 6, 28, 15, 999_999_999, time.UTC)
	ok         = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func validDeployment() schema.Deployment {
	return schema.Deployment{Source: "ci", ID: "d1", Repo: "acme/api", Service: "api", Environment: "production",
		Status: schema.DeploymentSuccess, Trigger: schema.TriggerAutomatic, Attempt: 1,
		StartedAt: ok, FinishedAt: ok.Add(time.Minute), UpdatedAt: ok.Add(time.Minute), URL: "https://ci.example.com/1"}
}

func validIncident() schema.Incident {
	return schema.Incident{Source: "ci", ID: "INC-1", Service: "api", Title: "Checkout\tfails\nfor cards",
		Labels: []string{"sev2", "customer-facing"}, OpenedAt: ok, UpdatedAt: ok}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		batch func(b *schema.Batch)
		field string // the field the error names; empty: valid
		want  string // a substring of the error
	}{
		{"valid", func(*schema.Batch) {}, "", ""},
		{"zero times are unknown times", func(b *schema.Batch) {
			b.Deployments[0].StartedAt, b.Deployments[0].FinishedAt, b.Deployments[0].UpdatedAt = time.Time{}, time.Time{}, time.Time{}
		}, "", ""},
		{"the first second", func(b *schema.Batch) { b.Deployments[0].StartedAt = time.Unix(0, 0) }, "", ""},
		{"the last second", func(b *schema.Batch) { b.Deployments[0].FinishedAt = lastSecond }, "", ""},
		{"names at the limit", func(b *schema.Batch) {
			b.Deployments[0].ID = strings.Repeat("é", schema.MaxNameBytes/2)
		}, "", ""},
		{"text at the limit", func(b *schema.Batch) {
			b.Incidents[0].Title = strings.Repeat("x", schema.MaxTitleBytes)
			b.Incidents[0].URL = strings.Repeat("x", schema.MaxURLBytes)
		}, "", ""},
		{"labels at the limit", func(b *schema.Batch) { b.Incidents[0].Labels = make([]string, schema.MaxListEntries) }, "", ""},
		{"the defect: a start in 2200", func(b *schema.Batch) {
			b.Deployments[0].StartedAt = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
		}, "started_at", "deployments ci/d1: started_at 2200-01-01T00:00:00Z is outside the times a store can hold, 1970-01-01T00:00:00Z to 2106-02-07T06:28:15Z"},
		{"one second after the last", func(b *schema.Batch) {
			b.Deployments[0].FinishedAt = lastSecond.Add(time.Nanosecond)
		}, "finished_at", "2106-02-07T06:28:16Z is outside"},
		{"before 1970", func(b *schema.Batch) {
			b.Incidents[0].ResolvedAt = time.Date(1969, 12, 31, 23, 59, 59, 500_000_000, time.UTC)
		}, "resolved_at", "incidents ci/INC-1: resolved_at 1969-12-31T23:59:59.5Z is outside"},
		{"version out of range", func(b *schema.Batch) {
			b.Deployments[0].UpdatedAt = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
		}, "updated_at", "updated_at 2300"},
		{"long id", func(b *schema.Batch) { b.Deployments[0].ID = strings.Repeat("x", schema.MaxNameBytes+1) },
			"id", "id is 1025 bytes long, over the limit of 1024"},
		{"long title", func(b *schema.Batch) { b.Incidents[0].Title = strings.Repeat("x", schema.MaxTitleBytes+1) },
			"title", "title is 4097 bytes long, over the limit of 4096"},
		{"long url", func(b *schema.Batch) { b.Deployments[0].URL = strings.Repeat("x", schema.MaxURLBytes+1) },
			"url", "url is 8193 bytes long"},
		{"NUL in a name", func(b *schema.Batch) { b.Deployments[0].Service = "api\x00" }, "service", "service contains a NUL byte"},
		{"NUL in a title", func(b *schema.Batch) { b.Incidents[0].Title = "a\x00b" }, "title", "contains a NUL byte"},
		{"line break in an environment", func(b *schema.Batch) { b.Deployments[0].Environment = "prod\nstaging" },
			"environment", "environment contains the control character U+000A"},
		{"C1 control in a repo", func(b *schema.Batch) { b.Deployments[0].Repo = "acme/\u0085api" }, "repo", "U+0085"},
		{"tab in a source", func(b *schema.Batch) { b.Deployments[0].Source = "c\ti" }, "source", `deployments "c\ti"/d1: source contains`},
		{"invalid UTF-8", func(b *schema.Batch) { b.Deployments[0].Ref = "main\xff" }, "ref", "ref is not valid UTF-8"},
		{"too many labels", func(b *schema.Batch) { b.Incidents[0].Labels = make([]string, schema.MaxListEntries+1) },
			"labels", "labels has 1001 entries, over the limit of 1000"},
		{"a label with a control character", func(b *schema.Batch) { b.Incidents[0].Labels = []string{"a", "b", "c\x1b[31m"} },
			"labels[2]", "labels[2] contains the control character U+001B"},
		{"a long label", func(b *schema.Batch) { b.Incidents[0].Labels = []string{strings.Repeat("l", schema.MaxNameBytes+1)} },
			"labels[0]", "over the limit"},
		{"a fact", func(b *schema.Batch) {
			b.DeploymentFacts = []schema.DeploymentFact{{Source: "ci", ID: "d1", Team: "pay\r", StartedAt: ok}}
		}, "team", "deployment_facts ci/d1: team contains"},
		{"a cursor's stream", func(b *schema.Batch) {
			b.Cursors = []schema.Cursor{{Source: "ci", Stream: "flux:apps/\x7f", Value: "v", UpdatedAt: ok}}
		}, "stream", `cursors ci/"flux:apps/\x7f": stream contains the control character U+007F`},
		{"a cursor's value may hold any text", func(b *schema.Batch) {
			b.Cursors = []schema.Cursor{{Source: "ci", Stream: "pulls:acme/api", Value: "{\n\t\"etag\": \"W/x\"\n}", UpdatedAt: ok}}
		}, "", ""},
		{"a cursor's value", func(b *schema.Batch) {
			b.Cursors = []schema.Cursor{{Source: "ci", Stream: "s", Value: strings.Repeat("v", schema.MaxCursorValueBytes+1)}}
		}, "value", "cursors ci/s: value is 1048577 bytes long"},
		{"a long id is shortened in the message", func(b *schema.Batch) {
			b.Deployments[0].ID = strings.Repeat("x", 2000)
		}, "id", "deployments ci/" + strings.Repeat("x", 64) + "…: id is 2000 bytes long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &schema.Batch{Deployments: []schema.Deployment{validDeployment()}, Incidents: []schema.Incident{validIncident()}}
			tc.batch(b)
			err := schema.ValidateBatch(b)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("ValidateBatch = %v, want nil", err)
				}
				return
			}
			var inv *schema.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("ValidateBatch = %v, want an *InvalidError", err)
			}
			if inv.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", inv.Field, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if strings.ContainsAny(err.Error(), "\n\r\x00") {
				t.Errorf("error %q is not one clean line", err)
			}
		})
	}
}

// TestValidateCoversEveryKind: each kind's table is checked, so a kind added to the
// batch and forgotten here would let its records reach a store unchecked.
func TestValidateCoversEveryKind(t *testing.T) {
	bad := "x\x00"
	for _, tc := range []struct {
		kind  schema.Kind
		batch *schema.Batch
	}{
		{schema.KindPullRequest, &schema.Batch{PullRequests: []schema.PullRequest{{Source: "gh", ID: bad}}}},
		{schema.KindDeployment, &schema.Batch{Deployments: []schema.Deployment{{Source: "gh", ID: bad}}}},
		{schema.KindIncident, &schema.Batch{Incidents: []schema.Incident{{Source: "gh", ID: bad}}}},
		{schema.KindWorkItem, &schema.Batch{WorkItems: []schema.WorkItem{{Source: "gh", ID: bad}}}},
		{schema.KindStatusChange, &schema.Batch{StatusChanges: []schema.StatusChange{{Source: "gh", ID: bad}}}},
		{schema.KindWorklog, &schema.Batch{Worklogs: []schema.Worklog{{Source: "gh", ID: bad}}}},
		{schema.KindAncestry, &schema.Batch{Ancestries: []schema.Ancestry{{Source: "gh", ID: bad}}}},
		{schema.KindChangeFact, &schema.Batch{ChangeFacts: []schema.ChangeFact{{Source: "gh", ID: bad}}}},
		{schema.KindDeploymentFact, &schema.Batch{DeploymentFacts: []schema.DeploymentFact{{Source: "gh", ID: bad}}}},
		{schema.KindIncidentFact, &schema.Batch{IncidentFacts: []schema.IncidentFact{{Source: "gh", ID: bad}}}},
		{schema.KindFlowItemFact, &schema.Batch{FlowItemFacts: []schema.FlowItemFact{{Source: "gh", ID: bad}}}},
		{schema.KindToilFact, &schema.Batch{ToilFacts: []schema.ToilFact{{Source: "gh", ID: bad}}}},
	} {
		var inv *schema.InvalidError
		if err := schema.ValidateBatch(tc.batch); !errors.As(err, &inv) || inv.Kind != tc.kind || inv.Field != "id" {
			t.Errorf("%s: ValidateBatch = %v, want an *InvalidError naming %s and id", tc.kind, err, tc.kind)
		}
	}
	if n := len(schema.Kinds) + len(schema.FactKinds); n != 12 {
		t.Errorf("%d kinds, the test covers 12: add the new one", n)
	}
}

func TestCheckTime(t *testing.T) {
	for _, tc := range []struct {
		t  time.Time
		ok bool
	}{
		{time.Time{}, true},
		{time.Unix(0, 0), true},
		{time.Unix(-1, 0), false},
		{lastSecond, true},
		{lastSecond.Add(time.Nanosecond), false},
		{time.Date(2200, 1, 1, 0, 0, 0, 0, time.FixedZone("X", 3600)), false},
	} {
		if err := schema.CheckTime(tc.t); (err == nil) != tc.ok {
			t.Errorf("CheckTime(%v) = %v, want ok %v", tc.t, err, tc.ok)
		}
	}
}

// BenchmarkValidateBatch measures what the rules add to every store's Write, per
// pull request shaped as GitHub's (the widest record):
//
//	go test ./schema -run '^$' -bench ValidateBatch
func BenchmarkValidateBatch(b *testing.B) {
	prs := make([]schema.PullRequest, 50_000)
	for i := range prs {
		at := ok.Add(time.Duration(i) * time.Minute)
		prs[i] = schema.PullRequest{Source: "github", ID: fmt.Sprintf("acme/api-%d#%d", i%12, i), Repo: fmt.Sprintf("acme/api-%d", i%12),
			Number: int64(i), Author: "ana", Title: "Retry card payments when the processor times out", Labels: []string{"bug", "payments"},
			BaseBranch: "main", CreatedAt: at, ReadyAt: at, FirstCommitAt: at.Add(-time.Hour), FirstReviewAt: at.Add(time.Hour),
			FirstReviewer: "bo", MergedAt: at.Add(2 * time.Hour), MergeCommitSHA: "4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39",
			URL: fmt.Sprintf("https://github.com/acme/api/pull/%d", i), UpdatedAt: at.Add(2 * time.Hour)}
	}
	batch := &schema.Batch{PullRequests: prs}
	b.ResetTimer()
	for range b.N {
		if err := schema.ValidateBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(prs)), "ns/record")
}
