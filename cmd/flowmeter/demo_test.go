package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
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
	} else if out != "" {
		t.Errorf("config check of a good config said %q, want nothing", out)
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
}

// TestDemoAgain runs the demo into a directory holding an earlier demo, as happens
// by default the next day: the organisation is replaced, and every command works on
// the result.
func TestDemoAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("generates two quarters of data, three times")
	}
	dir := t.TempDir()
	configPath := filepath.Join(dir, "flowmeter.yaml")
	if _, err := runInProcess(t, "demo", "--dir", dir, "--seed", "5", "--end", "2026-06-01", "--no-serve"); err != nil {
		t.Fatal(err)
	}
	for _, again := range [][]string{
		{"--seed", "5", "--end", "2026-06-02"}, // the next day
		{"--seed", "6", "--end", "2026-06-02"}, // another organisation
	} {
		args := append([]string{"demo", "--dir", dir, "--no-serve"}, again...)
		if _, err := runInProcess(t, args...); err != nil {
			t.Fatalf("demo %v into the directory of an earlier demo: %v", again, err)
		}
		text, err := os.ReadFile(configPath)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("seed: %s\n      end: \"%s\"\n", again[1], again[3])
		if !strings.Contains(string(text), want) {
			t.Fatalf("config after demo %v lacks %q:\n%s", again, want, text)
		}
		out, err := runInProcess(t, "collect", "--config", configPath)
		if err != nil || !strings.HasPrefix(out, "demo: nothing new") {
			t.Fatalf("collect after demo %v: %q, %v; want nothing new and no error", again, out, err)
		}
		out, err = runInProcess(t, "report", "dora", "--config", configPath, "--quarter", "2026Q2", "--format", "csv")
		if err != nil || !strings.Contains(out, "payments") {
			t.Fatalf("report dora after demo %v: %v\n%s", again, err, out)
		}
	}
}

// TestDemoLeavesOtherDirectoriesAlone points the demo at directories holding a
// config or a store it did not write: it refuses, naming the file, and writes nothing.
func TestDemoLeavesOtherDirectoriesAlone(t *testing.T) {
	mine := "store:\n  sqlite:\n    path: flowmeter.db\nsources:\n  - name: gh\n    github:\n      token_env: GITHUB_TOKEN\n      organizations: [acme]\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"another config", map[string]string{"flowmeter.yaml": mine}, "flowmeter.yaml is not a config 'flowmeter demo' wrote"},
		{"a demo config edited to use another store",
			map[string]string{"flowmeter.yaml": "store:\n  sqlite:\n    path: prod.db\nsources:\n  - name: demo\n    synthetic: {seed: 1}\n"},
			"flowmeter.yaml is not a config 'flowmeter demo' wrote"},
		{"a config that does not parse", map[string]string{"flowmeter.yaml": "store: [\n"}, "flowmeter.yaml is not a config 'flowmeter demo' wrote"},
		{"a store without a config", map[string]string{"flowmeter.db": "not sqlite"}, "holds flowmeter.db but no flowmeter.yaml written by 'flowmeter demo'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tc.files {
				writeFile(t, dir, name, text)
			}
			_, err := runInProcess(t, "demo", "--dir", dir, "--end", "2026-06-02", "--no-serve")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("demo into a directory holding %v: %v, want an error containing %q", tc.files, err, tc.want)
			}
			if strings.Contains(err.Error(), "demo: demo:") || strings.Contains(err.Error(), "source name") {
				t.Errorf("error %q", err)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(tc.files) {
				t.Errorf("the directory holds %d files after the refusal, want the %d it had", len(entries), len(tc.files))
			}
			for name, text := range tc.files {
				if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != text {
					t.Errorf("%s changed: %q, %v", name, got, err)
				}
			}
		})
	}
}

// TestDemoFlowAndToil: the demo's tickets, incidents and deployments give every
// team flow figures, with items traced to the pull requests that delivered them,
// and toil in the default categories.
func TestDemoFlowAndToil(t *testing.T) {
	dir := t.TempDir()
	out, err := runInProcess(t, "demo", "--dir", dir, "--seed", "3", "--end", "2026-06-30", "--no-serve")
	if err != nil {
		t.Fatal(err)
	}
	// The history ends on Jun 30: 2026Q2 is the last quarter it covers whole.
	for _, want := range []string{"flow item facts", "toil facts", "flowmeter report flow --config", "flowmeter report toil --config",
		"--quarter 2026Q2 --format html --out flow-review.html"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	configPath := filepath.Join(dir, "flowmeter.yaml")
	args := []string{"--config", configPath, "--from", "2026-04-01", "--to", "2026-07-01", "--format", "json"}

	out, err = runInProcess(t, append([]string{"report", "flow"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var flowRep struct {
		Teams []struct {
			Team       string   `json:"team"`
			Finished   int      `json:"finished"`
			Efficiency *float64 `json:"efficiency"`
			Delivered  int      `json:"delivered"`
			Waits      []struct {
				Status string `json:"status"`
			} `json:"waits"`
			FlowTypes []struct {
				FlowType string `json:"flow_type"`
				Finished int    `json:"finished"`
			} `json:"flow_types"`
		} `json:"teams"`
	}
	if err := json.Unmarshal([]byte(out), &flowRep); err != nil {
		t.Fatalf("report flow json: %v\n%s", err, out)
	}
	if len(flowRep.Teams) != 4 {
		t.Fatalf("flow report has %d teams, want the demo's 4", len(flowRep.Teams))
	}
	for _, team := range flowRep.Teams {
		if team.Finished < 20 || team.Efficiency == nil || *team.Efficiency <= 0 || *team.Efficiency >= 1 || team.Delivered == 0 {
			t.Errorf("%s: %d finished, efficiency %v, %d delivered; want a quarter's work, an efficiency strictly between 0 and 1, deliveries", team.Team, team.Finished, team.Efficiency, team.Delivered)
		}
		// The generated workflow waits in Ready for Dev before anyone starts.
		if len(team.Waits) == 0 || !slices.ContainsFunc(team.Waits, func(w struct {
			Status string `json:"status"`
		}) bool {
			return w.Status == "Ready for Dev"
		}) {
			t.Errorf("%s: waits %+v; want Ready for Dev among them", team.Team, team.Waits)
		}
		defects := 0
		for _, ft := range team.FlowTypes {
			if ft.FlowType == "defect" {
				defects = ft.Finished
			}
		}
		if defects == 0 {
			t.Errorf("%s: no finished defects among %+v", team.Team, team.FlowTypes)
		}
	}

	out, err = runInProcess(t, append([]string{"report", "toil"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var toilRep struct {
		Teams []struct {
			Team       string `json:"team"`
			Categories []struct {
				Category string `json:"category"`
				Entries  int    `json:"entries"`
			} `json:"categories"`
		} `json:"teams"`
	}
	if err := json.Unmarshal([]byte(out), &toilRep); err != nil {
		t.Fatalf("report toil json: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, team := range toilRep.Teams {
		for _, c := range team.Categories {
			if c.Entries > 0 {
				seen[c.Category] = true
			}
		}
	}
	for _, want := range []string{"production_interrupts", "release_shepherding", "business_processes", "migrations", "cost_capacity", "troubleshooting", "unclassified"} {
		if !seen[want] {
			t.Errorf("no team has toil in %s; categories seen: %v", want, seen)
		}
	}
}
