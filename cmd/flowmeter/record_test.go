package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

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
