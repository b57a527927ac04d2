package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

func TestRecord(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "flowmeter.yaml", "store:\n  sqlite:\n    path: f.db\nteams:\n  - name: pay\n    services: [checkout]\n")
	out, err := runInProcess(t, "record", "deploy", "--config", cfg, "--service", "checkout", "--environment", "production",
		"--sha", "abc1234", "--started", "2026-05-04T09:00:00Z", "--finished", "2026-05-04T09:10:00Z", "--trigger", "manual")
	if err != nil || !strings.Contains(out, "recorded deployment") || !strings.Contains(out, "derived 0 change, 1 deployment") {
		t.Fatalf("record deploy: %q, %v", out, err)
	}
	// The same deployment recorded again is the same record (its id is derived from it).
	if _, err := runInProcess(t, "record", "deploy", "--config", cfg, "--service", "checkout", "--environment", "production",
		"--sha", "abc1234", "--started", "2026-05-04T09:00:00Z", "--finished", "2026-05-04T09:10:00Z", "--trigger", "manual"); err != nil {
		t.Fatal(err)
	}
	// An incident naming it makes it a change failure.
	out, err = runInProcess(t, "record", "incident", "--config", cfg, "--id", "INC-7", "--service", "checkout",
		"--opened", "2026-05-04T09:30:00Z", "--resolved", "2026-05-04T10:00:00Z", "--cause-sha", "abc1234", "--label", "sev2")
	if err != nil || !strings.Contains(out, "recorded incident INC-7") {
		t.Fatalf("record incident: %q, %v", out, err)
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var deps int
	for d, err := range s.DeploymentFacts(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		deps++
		if d.Source != "record" || d.Team != "pay" || !d.Production || !d.Failed || d.RecoverySeconds != 3000 {
			t.Errorf("deployment fact %+v; want production, team pay, failed, recovered after 50 min", d)
		}
	}
	if deps != 1 {
		t.Errorf("%d deployment facts, want 1", deps)
	}
	// An incident may name the pull request that caused it instead.
	if _, err := runInProcess(t, "record", "incident", "--config", cfg, "--id", "INC-8", "--service", "checkout",
		"--opened", "2026-05-04T09:40:00Z", "--cause-pr", "acme/checkout#12"); err != nil {
		t.Fatal(err)
	}
	for inc, err := range s.Incidents(context.Background(), store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if inc.ID == "INC-8" && inc.CausePullRequest != "acme/checkout#12" {
			t.Errorf("incident %+v; want it to name acme/checkout#12", inc)
		}
	}
	for _, bad := range [][]string{
		{"record", "deploy", "--config", cfg, "--environment", "production"},
		{"record", "deploy", "--config", cfg, "--service", "x", "--environment", "production", "--status", "great"},
		{"record", "incident", "--config", cfg, "--service", "x"},
		{"record", "launch"},
	} {
		if _, err := runInProcess(t, bad...); err == nil {
			t.Errorf("%v succeeded", bad)
		}
	}
}

// TestRecordRefusesWhatNoStoreHolds: `flowmeter record` applies the webhooks' rules,
// so that a CI step learns at once, in one line naming the field, what a store
// would refuse, and nothing is written.
func TestRecordRefusesWhatNoStoreHolds(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "flowmeter.yaml", "store:\n  sqlite:\n    path: f.db\n")
	deploy := []string{"record", "deploy", "--config", cfg, "--service", "checkout", "--environment", "production"}
	incident := []string{"record", "incident", "--config", cfg, "--id", "INC-1", "--service", "checkout", "--opened", "2026-05-04T09:30:00Z"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"the defect: a deployment of 2200", append(deploy, "--started", "2200-01-01T00:00:00Z", "--finished", "2200-01-01T00:00:00Z"),
			"record deploy: started_at 2200-01-01T00:00:00Z is outside the times a store can hold, 1970-01-01T00:00:00Z to 2106-02-07T06:28:15Z"},
		{"a finish after 2106", append(deploy, "--finished", "2106-02-07T06:28:16Z"), "record deploy: finished_at 2106-02-07T06:28:16Z is outside"},
		{"a long id", append(deploy, "--id", strings.Repeat("x", 1025)), "record deploy: id is 1025 bytes long, over the limit of 1024"},
		{"a tab in the service", []string{"record", "deploy", "--config", cfg, "--service", "check\tout", "--environment", "production"},
			"record deploy: service contains the control character U+0009"},
		{"a line break in the source", append(deploy, "--source", "ci\nx"), "record deploy: source contains the control character U+000A"},
		{"an incident opened before 1970", []string{"record", "incident", "--config", cfg, "--id", "INC-1", "--service", "checkout",
			"--opened", "1969-07-20T20:17:00Z"}, "record incident: opened_at 1969-07-20T20:17:00Z is outside"},
		{"a long title", append(incident, "--title", strings.Repeat("t", 4097)), "record incident: title is 4097 bytes long, over the limit of 4096"},
		{"a label with an escape", append(incident, "--label", "sev2", "--label", "\x1b[31mred"), "record incident: labels[1] contains the control character U+001B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runInProcess(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.ContainsAny(err.Error(), "\n\x1b") {
				t.Errorf("error %q is not one clean line", err)
			}
		})
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []schema.Kind{schema.KindDeployment, schema.KindIncident} {
		if n, err := s.Count(context.Background(), k, store.Filter{}); err != nil || n != 0 {
			t.Errorf("%d %s recorded (%v), want none", n, k, err)
		}
	}
}
