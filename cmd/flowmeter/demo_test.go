package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// demoCounts pulls the record counts out of the demo's summary.
func demoCounts(t *testing.T, out string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(teams|repositories|pull requests|deployments|incidents|work items|status changes|worklogs)\s+(\d+)`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[2])
		counts[m[1]] = n
	}
	return counts
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("generates two quarters of data")
	}
	dir := t.TempDir()
	out, err := runInProcess(t, "demo", "--dir", dir, "--seed", "7", "--end", "2026-06-30", "--no-serve")
	if err != nil {
		t.Fatal(err)
	}
	counts := demoCounts(t, out)
	if counts["teams"] < 4 || counts["repositories"] < 12 {
		t.Errorf("summary shows %d teams and %d repositories, want at least 4 and 12:\n%s", counts["teams"], counts["repositories"], out)
	}
	for _, kind := range []string{"pull requests", "deployments", "incidents", "work items", "status changes", "worklogs"} {
		if counts[kind] == 0 {
			t.Errorf("summary shows no %s:\n%s", kind, out)
		}
	}
	configPath := filepath.Join(dir, "flowmeter.yaml")
	for _, f := range []string{configPath, filepath.Join(dir, "flowmeter.db")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("demo did not write %s: %v", f, err)
		}
	}
	// The written config is valid and every command can be pointed at it.
	if out, err := runInProcess(t, "config", "check", "--config", configPath); err != nil {
		t.Fatalf("config check of the demo's config: %v", err)
	} else if !regexp.MustCompile(`ok \(1 sources, \d+ teams, store SQLite `).MatchString(out) {
		t.Errorf("config check said %q", out)
	}
	if _, err := runInProcess(t, "migrate", "--config", configPath); err != nil {
		t.Fatalf("migrate on the demo's config: %v", err)
	}
	// Running the demo again into the same directory changes nothing.
	again, err := runInProcess(t, "demo", "--dir", dir, "--seed", "7", "--end", "2026-06-30", "--no-serve")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range demoCounts(t, again) {
		if counts[k] != v {
			t.Errorf("second run: %s = %d, first run %d", k, v, counts[k])
		}
	}
	// Same seed into a fresh directory: the same organisation.
	fresh, err := runInProcess(t, "demo", "--dir", t.TempDir(), "--seed", "7", "--end", "2026-06-30", "--no-serve")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range demoCounts(t, fresh) {
		if counts[k] != v {
			t.Errorf("same seed, fresh dir: %s = %d, first run %d", k, v, counts[k])
		}
	}
	// Another seed into the same directory would mix two organisations: refused.
	if _, err := runInProcess(t, "demo", "--dir", dir, "--seed", "8", "--end", "2026-06-30", "--no-serve"); err == nil {
		t.Error("demo with another seed into a directory holding a demo succeeded, want an error")
	}
}
