package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// The store of reportStore holds the aggregation fixture's facts and no records:
// explain shows a fact's fields and says which records the store lacks.
func TestExplain(t *testing.T) {
	cfg := reportStore(t, "")
	for _, args := range [][]string{
		{"explain", "--config", cfg, "gh:d22"},
		{"explain", "--config", cfg, "d22"},
		{"explain", "gh:d22", "--config", cfg},
		{"explain", "--kind", "deployment", "--config", cfg, "d22"},
	} {
		out, err := runInProcess(t, args...)
		if err != nil {
			t.Errorf("%v: %v", args, err)
			continue
		}
		// d22 failed by inference only; incident i2 opened after it.
		for _, want := range []string{
			"deployment fact gh:d22\n",
			"  failure_reasons    incident_window\n",
			"  caused_incidents   i2\n",
			"  recovery_seconds   unknown\n",
			"\ndeployment gh:d22: no record in the store\n",
			"\nincident pd:i2 (caused_incidents): no record in the store\n",
			"\nchanges shipped: none\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: no %q in\n%s", args, want, out)
			}
		}
	}
	out, err := runInProcess(t, "explain", "--config", cfg, "gh:c2")
	if err != nil || !strings.Contains(out, "change fact gh:c2\n") || !strings.Contains(out, "  attribution        time\n") ||
		!strings.Contains(out, "\ndeployment gh:d4 (shipped_by): no record in the store\n") {
		t.Errorf("gh:c2: %v\n%s", err, out)
	}
}

func TestExplainErrors(t *testing.T) {
	cfg := reportStore(t, "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"explain", "--config", cfg}, "explain: name a fact"},
		{[]string{"explain", "--config", cfg, "gh:nothing"}, `explain: "gh:nothing": no such fact in SQLite `},
		{[]string{"explain", "--config", cfg, "--kind", "change", "d22"}, `explain: "d22": no such fact`},
		{[]string{"explain", "--config", cfg, "--kind", "ticket", "d22"}, `explain: --kind "ticket": want change, deployment, incident, flow or toil`},
		{[]string{"explain", "--config", cfg, "d22", "d21"}, `explain: unexpected argument "d21"`},
		{[]string{"explain", "--config", cfg, "--colour", "d22"}, "explain: flag provided but not defined: -colour"},
	}
	for _, tt := range tests {
		_, err := runInProcess(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
	// Through main: exit 1 and one line. (Ambiguous names are tested in
	// reports/explain: the fixture has none.)
	code, _, stderr := runMain(t, "explain --config "+cfg+" gh")
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `"gh": no such fact`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// flowToilStore is reportStore's with a flow item fact and a toil fact whose
// records the store holds, and a toil fact that shares its record id with the
// incident fact pd:i2.
func flowToilStore(t *testing.T) string {
	t.Helper()
	cfg := reportStore(t, "")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(filepath.Dir(cfg), "flowmeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := func(h int) time.Time { return time.Date(2026, 6, 1, h, 0, 0, 0, time.UTC) }
	err = s.Write(ctx, &schema.Batch{
		WorkItems: []schema.WorkItem{{Source: "jira", ID: "PAY-1", Project: "PAY", Title: "Faster checkout",
			Status: "Done", CreatedAt: at(8), UpdatedAt: at(20)}},
		StatusChanges: []schema.StatusChange{{Source: "jira", ID: "1", ItemID: "PAY-1", At: at(9), From: "To Do",
			To: "In Progress", UpdatedAt: at(20)}},
		Incidents: []schema.Incident{{Source: "pd", ID: "i2", Service: "api", Title: "Slow logins", OpenedAt: at(10),
			ResolvedAt: at(11), UpdatedAt: at(20)}},
		FlowItemFacts: []schema.FlowItemFact{{Source: "jira", ID: "PAY-1", Team: "payments", Project: "PAY",
			Status: "Done", State: schema.FlowDone, CreatedAt: at(8), CommittedAt: at(9), DoneAt: at(12),
			FlowSeconds: 3 * 3600, ActiveSeconds: 3 * 3600, PullRequests: []string{"acme/api#7"},
			DeliveredBy: "d22", DeliveredAt: at(13), DeliverySeconds: 4 * 3600, UpdatedAt: at(20)}},
		ToilFacts: []schema.ToilFact{{Source: "pd", ID: "incident:i2", Team: "payments", Category: "on-call",
			Kind: schema.ToilFromIncident, Record: "i2", StartedAt: at(10), Seconds: 3600,
			Basis: "opened_to_resolved", UpdatedAt: at(20)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestExplainFlowAndToil(t *testing.T) {
	cfg := flowToilStore(t)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"explain", "--config", cfg, "--kind", "flow", "jira:PAY-1"}, []string{
			"flow fact jira:PAY-1\n",
			"  flow_seconds      10800 (3h)\n",
			"  pull_requests     acme/api#7\n",
			"\nwork item record jira:PAY-1\n",
			"\nstatus change record jira:1\n",
			"\npull request acme/api#7 (pull_requests): no record in the store\n",
			"\ndeployment gh:d22 (delivered_by): no record in the store\n",
		}},
		{[]string{"explain", "--config", cfg, "PAY-1"}, []string{"flow fact jira:PAY-1\n"}},
		{[]string{"explain", "--config", cfg, "pd:incident:i2"}, []string{
			"toil fact pd:incident:i2\n",
			"  seconds     3600 (1h)\n",
			"\nincident record pd:i2\n",
			"  title                Slow logins\n",
		}},
		{[]string{"explain", "--config", cfg, "--kind", "toil", "incident:i2"}, []string{"toil fact pd:incident:i2\n"}},
		// The record's own id names the incident fact, not the toil entry.
		{[]string{"explain", "--config", cfg, "i2"}, []string{"incident fact pd:i2\n", "\nincident record pd:i2\n"}},
	} {
		out, err := runInProcess(t, tt.args...)
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		for _, want := range tt.want {
			if !strings.Contains(out, want) {
				t.Errorf("%v: no %q in\n%s", tt.args, want, out)
			}
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", "--config", cfg, "--kind", "toil", "jira:PAY-1"}, `explain: "jira:PAY-1": no such fact`},
		{[]string{"explain", "--config", cfg, "--kind", "flow", "pd:incident:i2"}, `explain: "pd:incident:i2": no such fact`},
		{[]string{"explain", "--config", cfg, "jira:incident:i2"}, `explain: "jira:incident:i2": no such fact`},
	} {
		if _, err := runInProcess(t, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
	out, err := runInProcess(t, "explain", "-h")
	if err != nil || !strings.Contains(out, "--kind change|deployment|incident|flow|toil") {
		t.Errorf("explain -h: %v\n%s", err, out)
	}
}

// TestExplainToilTeamsOnly: with privacy teams-only, a toil fact explained names
// its team where it named the person who worked it.
func TestExplainToilTeamsOnly(t *testing.T) {
	cfg := flowToilStore(t)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(filepath.Dir(cfg), "flowmeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)
	err = s.Write(ctx, &schema.Batch{ToilFacts: []schema.ToilFact{{Source: "pd", ID: "incident:i7", Team: "payments", Category: "on-call",
		Kind: schema.ToilFromIncident, Record: "i7", Who: "amara", StartedAt: at, Seconds: 600, Basis: "opened_to_resolved", UpdatedAt: at}}})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	whoLine := regexp.MustCompile(`(?m)^  who\s+(\S+)$`)
	explainWho := func() string {
		t.Helper()
		out, err := runInProcess(t, "explain", "--config", cfg, "--kind", "toil", "pd:incident:i7")
		if err != nil {
			t.Fatal(err)
		}
		m := whoLine.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no who line in\n%s", out)
		}
		return m[1]
	}
	if who := explainWho(); who != "amara" {
		t.Errorf("without privacy, who = %s, want amara", who)
	}
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append(text, "privacy: teams-only\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if who := explainWho(); who != "payments" {
		t.Errorf("teams-only: who = %s, want payments", who)
	}
}
