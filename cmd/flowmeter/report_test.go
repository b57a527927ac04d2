package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate/aggregatetest"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// reportStore writes the aggregation fixture's facts (worked out by hand in
// metrics/aggregate's tests) into a new SQLite store and returns a config naming it
// and the fixture's teams.
func reportStore(t *testing.T, table string) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "flowmeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	changes, deployments, incidents := aggregatetest.Facts()
	if err := s.Write(ctx, &schema.Batch{ChangeFacts: changes, DeploymentFacts: deployments, IncidentFacts: incidents}); err != nil {
		t.Fatal(err)
	}
	text := "store:\n  sqlite:\n    path: flowmeter.db\nteams:\n"
	for _, name := range aggregatetest.Teams {
		text += "  - name: " + name + "\n"
	}
	if table != "" {
		text += "rules:\n  dora_table: '" + table + "'\n"
	}
	return writeFile(t, dir, "flowmeter.yaml", text)
}

type reportJSON struct {
	Window struct {
		From, To string
		Days     float64
	}
	DORATable string `json:"dora_table"`
	Teams     []struct {
		Team              string
		Deployments       int
		ChangeFailureRate *float64 `json:"change_failure_rate"`
		LeadTimeSeconds   struct {
			P50, P85, P95 *float64
		} `json:"lead_time_seconds"`
		Tiers struct {
			DeploymentFrequency *string `json:"deployment_frequency"`
			LeadTime            *string `json:"lead_time"`
		}
		Services []struct {
			Service     string
			Deployments int
		}
		Explain map[string][]string
	}
}

func decodeReport(t *testing.T, out string) reportJSON {
	t.Helper()
	var r reportJSON
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	return r
}

func TestReportDORAJSON(t *testing.T) {
	cfg := reportStore(t, "")
	out, err := runInProcess(t, "report", "dora", "--config", cfg, "--from", "2026-06-01", "--to", "2026-06-29", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	// The keys, exactly as documented.
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	team := raw["teams"].([]any)[0].(map[string]any)
	for _, k := range []string{
		"team", "deployments", "deployment_frequency_per_day", "changes_shipped", "untracked", "undeployed",
		"lead_time_seconds", "lead_time_parts_seconds", "failed_deployments", "failed_deploy_attempts",
		"change_failure_rate", "failed_deployment_recovery_seconds", "time_to_restore_seconds", "rework_rate",
		"tiers", "services",
	} {
		if _, ok := team[k]; !ok {
			t.Errorf("no teams[].%s in %v", k, team)
		}
	}
	if _, ok := team["explain"]; ok {
		t.Errorf("explain without --explain")
	}

	r := decodeReport(t, out)
	if r.Window.From != "2026-06-01T00:00:00Z" || r.Window.To != "2026-06-29T00:00:00Z" || r.Window.Days != 28 || r.DORATable != "2023" {
		t.Errorf("window %+v, table %s", r.Window, r.DORATable)
	}
	var names []string
	for _, tm := range r.Teams {
		names = append(names, tm.Team)
	}
	if strings.Join(names, ",") != "payments,search,idle,(no team)" {
		t.Fatalf("teams %v", names)
	}
	// Hand-worked in metrics/aggregate: payments has 10 production deployments, 3
	// failed (30%), lead time p50 1.5 days = 129600 s (high); search's p50 is 1 hour
	// (elite in 2023).
	p, s := r.Teams[0], r.Teams[1]
	if p.Deployments != 10 || p.ChangeFailureRate == nil || *p.ChangeFailureRate != 0.3 ||
		p.LeadTimeSeconds.P50 == nil || *p.LeadTimeSeconds.P50 != 129600 || *p.Tiers.LeadTime != "high" ||
		len(p.Services) != 2 || p.Services[0].Service != "checkout" || p.Services[0].Deployments != 7 {
		t.Errorf("payments: %+v", p)
	}
	// search deploys three days a week, once a day: high, not elite.
	if *s.LeadTimeSeconds.P50 != 3600 || *s.Tiers.LeadTime != "elite" || *s.Tiers.DeploymentFrequency != "high" {
		t.Errorf("search: %+v", s)
	}
	if r.Teams[2].ChangeFailureRate != nil || r.Teams[2].Tiers.LeadTime != nil {
		t.Errorf("idle is not null: %+v", r.Teams[2])
	}

	// The 2021 table from the config: search's 1 hour is high there.
	cfg21 := reportStore(t, "2021")
	out, err = runInProcess(t, "report", "dora", "--config", cfg21, "--from", "2026-06-01", "--to", "2026-06-29", "--format", "json", "--team", "search", "--explain")
	if err != nil {
		t.Fatal(err)
	}
	r = decodeReport(t, out)
	if r.DORATable != "2021" || len(r.Teams) != 1 || r.Teams[0].Team != "search" || *r.Teams[0].Tiers.LeadTime != "high" {
		t.Errorf("2021, --team search: %+v", r)
	}
	if got := r.Teams[0].Explain["lead_time_seconds"]; strings.Join(got, " ") != "gh:c20 gh:c21 gh:c22" {
		t.Errorf("--explain lead_time_seconds = %v", got)
	}
}

func TestReportDORAQuarterOutAndFormats(t *testing.T) {
	cfg := reportStore(t, "")
	// 2026Q2 = [Apr 1, Jul 1): June is in, and so are the facts of late May (d10
	// failed May 31, c6 shipped May 30, i5 opened May 28), unlike in June alone.
	out, err := runInProcess(t, "report", "dora", "--config", cfg, "--quarter", "2026Q2", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	r := decodeReport(t, out)
	// payments: d1..d7, d20..d22, d10 (May 31) and d12 (finished Jun 29 00:00) = 12,
	// of which d2, d5, d22 and d10 failed.
	if r.Window.From != "2026-04-01T00:00:00Z" || r.Window.To != "2026-07-01T00:00:00Z" || r.Window.Days != 91 ||
		r.Teams[0].Deployments != 12 || *r.Teams[0].ChangeFailureRate != 4.0/12 {
		t.Errorf("2026Q2: window %+v, payments %d deployments, CFR %v", r.Window, r.Teams[0].Deployments, *r.Teams[0].ChangeFailureRate)
	}

	// --out writes the file (atomically: no temporary file is left) and says so.
	dir := t.TempDir()
	path := filepath.Join(dir, "dora.csv")
	if err := os.WriteFile(path, []byte("old report"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runInProcess(t, "report", "dora", "--config", cfg, "--quarter", "2026q2", "--format", "csv", "--out", path)
	if err != nil {
		t.Fatal(err)
	}
	if out != "wrote "+path+"\n" {
		t.Errorf("stdout %q", out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[0][0] != "level" || recs[0][7] != "deployments" || recs[1][0] != "team" || recs[1][1] != "payments" || recs[1][7] != "12" {
		t.Errorf("csv: %v", recs[:2])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left in %s: %v", dir, entries)
	}

	// Markdown is the default.
	out, err = runInProcess(t, "report", "dora", "--config", cfg, "--quarter", "2026Q2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "# DORA report\n") || !strings.Contains(out, "2026-04-01 to 2026-07-01 (exclusive)") ||
		!strings.Contains(out, "\n## payments\n") || !strings.Contains(out, "| **all services** | 12 |") {
		t.Errorf("markdown:\n%s", out)
	}
}

// TestReportDORAWindowEndingInTheFuture: on Jun 29 2026 12:00, the quarter 2026Q2
// and the same data up to tomorrow read the same, since both count up to now. The
// 89.5 days from Apr 1 to Jun 29 12:00 hold payments' 12 production deployments
// (see TestReportDORAQuarterOutAndFormats): 12 / 89.5 a day, where dividing by the
// quarter's 91 days gave 0.1319 and by the 90 days to tomorrow 0.1333.
func TestReportDORAWindowEndingInTheFuture(t *testing.T) {
	cfg := reportStore(t, "")
	now := time.Date(2026, 6, 29, 12, 0, 0, 0, time.UTC)
	report := func(args ...string) map[string]any {
		t.Helper()
		var out bytes.Buffer
		env := &environment{stdout: &out, stderr: io.Discard}
		if err := runReportDORA(context.Background(), env, append([]string{"--config", cfg, "--format", "json"}, args...), now); err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	quarter, toTomorrow := report("--quarter", "2026Q2"), report("--from", "2026-04-01")
	for _, doc := range []map[string]any{quarter, toTomorrow} {
		win := doc["window"].(map[string]any)
		pay := doc["teams"].([]any)[0].(map[string]any)
		if win["as_of"] != "2026-06-29T12:00:00Z" || win["elapsed_days"] != 89.5 || pay["deployment_frequency_per_day"] != 12/89.5 {
			t.Errorf("window %v, payments %v a day; want 89.5 days elapsed, %v a day", win, pay["deployment_frequency_per_day"], 12/89.5)
		}
	}
	if !reflect.DeepEqual(quarter["teams"], toTomorrow["teams"]) {
		t.Errorf("the quarter and the window to tomorrow differ:\n%v\n%v", quarter["teams"], toTomorrow["teams"])
	}
}

// TestReportDORAOutErrors: a report that cannot be written names the file asked
// for, not the temporary file beside it, and leaves nothing behind.
func TestReportDORAOutErrors(t *testing.T) {
	cfg := reportStore(t, "")
	dir := t.TempDir()
	occupied := filepath.Join(dir, "taken")
	if err := os.Mkdir(occupied, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing", "r.md"), "no such file or directory"},
		{occupied, "file exists"}, // a directory is in the way of the rename
	} {
		_, err := runInProcess(t, "report", "dora", "--config", cfg, "--quarter", "2026Q2", "--out", tt.path)
		want := "report dora: writing " + tt.path + ": "
		if err == nil || !strings.HasPrefix(err.Error(), want+tt.want) || strings.Contains(err.Error(), ".tmp") {
			t.Errorf("--out %s: %v, want %q", tt.path, err, want+tt.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "taken" {
		t.Errorf("left in %s: %v", dir, entries)
	}
	if entries, _ := os.ReadDir(occupied); len(entries) != 0 {
		t.Errorf("written into %s: %v", occupied, entries)
	}
}

// TestReportDORAExplainCSV: --explain --format csv writes the explanation's rows.
func TestReportDORAExplainCSV(t *testing.T) {
	cfg := reportStore(t, "")
	out, err := runInProcess(t, "report", "dora", "--config", cfg, "--from", "2026-06-01", "--to", "2026-06-29",
		"--format", "csv", "--explain", "--team", "payments")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, r := range recs[1:] {
		rows[strings.Join(r[:6], ",")] = true
	}
	// The inferred failure of ledger (d22, see metrics/aggregate's fixture), for the
	// team and the service, and the fact's own row.
	for _, want := range []string{
		"figure,payments,,failed_deployments_inferred,deployment,gh:d22",
		"figure,payments,ledger,failed_deployments_inferred,deployment,gh:d22",
		"fact,payments,ledger,,deployment,gh:d22",
	} {
		if !rows[want] {
			t.Errorf("no row %s in\n%s", want, out)
		}
	}
	if recs[0][0] != "row" {
		t.Errorf("header %v", recs[0])
	}
}

func TestReportDORAErrors(t *testing.T) {
	cfg := reportStore(t, "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"report"}, "expected 'report dora'"},
		{[]string{"report", "snake"}, "expected 'report dora', 'report flow' or 'report toil'"},
		{[]string{"report", "toil", "--config", cfg, "--team", "nosuch"}, `report toil: no team "nosuch" in `},
		{[]string{"report", "flow", "--config", cfg, "--format", "pdf"}, `report flow: --format: unknown format "pdf"`},
		{[]string{"report", "dora", "--config", cfg, "--team", "nosuch"},
			`report dora: no team "nosuch" in ` + cfg + ` (teams: payments, search, idle, (no team))`},
		{[]string{"report", "dora", "--config", cfg, "--quarter", "2026Q3", "--from", "2026-07-01"}, "--quarter and --from/--to both name the window"},
		{[]string{"report", "dora", "--config", cfg, "--quarter", "2026Q5"}, `--quarter "2026Q5": want a quarter like 2026Q3`},
		{[]string{"report", "dora", "--config", cfg, "--from", "July"}, `--from "July"`},
		{[]string{"report", "dora", "--config", cfg, "--to", "2026-13-01"}, `--to "2026-13-01"`},
		{[]string{"report", "dora", "--config", cfg, "--from", "2026-07-01", "--to", "2026-07-01"}, "is not before --to"},
		{[]string{"report", "dora", "--config", cfg, "--format", "svg", "--team", "payments"}, `report dora: --format: unknown format "svg" (want md, json, csv or html)`},
		{[]string{"report", "toil", "--config", cfg, "--format", "pdf"}, `report toil: --format: unknown format "pdf" (want md, json, csv, html or svg)`},
		{[]string{"report", "dora", "--config", cfg, "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		_, err := runInProcess(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v, want one line containing %q", tt.args, err, tt.want)
		}
	}
	// A team the config defines but with no facts, and (no team), are fine.
	for _, team := range []string{"idle", "(no team)"} {
		if _, err := runInProcess(t, "report", "dora", "--config", cfg, "--team", team, "--quarter", "2026Q2"); err != nil {
			t.Errorf("--team %s: %v", team, err)
		}
	}
	// Through main: exit 1 and a one-line error.
	code, _, stderr := runMain(t, "report dora --config "+cfg+" --quarter 2026Q3 --to 2026-10-01")
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--quarter and --from/--to") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestReportHTMLAndSVG writes each report as a page, to standard output and with
// --out, and the toil snake of one team as an SVG file.
func TestReportHTMLAndSVG(t *testing.T) {
	cfg := flowToilStore(t)
	dir := t.TempDir()
	for _, kind := range []string{"dora", "flow", "toil"} {
		out, err := runInProcess(t, "report", kind, "--config", cfg, "--quarter", "2026Q2", "--format", "html")
		if err != nil {
			t.Fatalf("report %s --format html: %v", kind, err)
		}
		if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "<h1") || !strings.HasSuffix(strings.TrimSpace(out), "</html>") {
			t.Errorf("report %s --format html is not one HTML page:\n%s", kind, out)
		}
		path := filepath.Join(dir, kind+".html")
		if out, err := runInProcess(t, "report", kind, "--config", cfg, "--quarter", "2026Q2", "--format", "html", "--team", "payments", "--out", path); err != nil || out != "wrote "+path+"\n" {
			t.Errorf("report %s --format html --out: %q, %v", kind, out, err)
		}
		if page, err := os.ReadFile(path); err != nil || !strings.Contains(string(page), "<h1") {
			t.Errorf("%s: %v\n%s", path, err, page)
		}
	}
	path := filepath.Join(dir, "snake.svg")
	out, err := runInProcess(t, "report", "toil", "--config", cfg, "--quarter", "2026Q2", "--format", "svg", "--team", "payments", "--out", path)
	if err != nil || out != "wrote "+path+"\n" {
		t.Fatalf("report toil --format svg --out: %q, %v", out, err)
	}
	if svg, err := os.ReadFile(path); err != nil || !strings.Contains(string(svg), "<svg") || strings.Contains(string(svg), "<html") {
		t.Errorf("%s is not an SVG drawing: %v\n%s", path, err, svg)
	}
}

// TestReportHTMLAndSVGErrors: the formats are checked as the others are, and the
// snake, which draws one team, asks for --team before anything is read (the
// config named here does not exist).
func TestReportHTMLAndSVGErrors(t *testing.T) {
	cfg := reportStore(t, "")
	missing := filepath.Join(t.TempDir(), "none.yaml")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "toil", "--config", missing, "--format", "svg"}, "report toil: --format svg draws one team's toil snake: give --team"},
		{[]string{"report", "toil", "--config", missing, "--format", "svg", "--quarter", "2026Q3"}, "report toil: --format svg draws one team's toil snake: give --team"},
		{[]string{"report", "flow", "--config", cfg, "--format", "svg", "--team", "payments"}, `report flow: --format: unknown format "svg" (want md, json, csv or html)`},
		{[]string{"report", "dora", "--config", cfg, "--format", "html", "--team", "nosuch"},
			`report dora: no team "nosuch" in ` + cfg + ` (teams: payments, search, idle, (no team))`},
		{[]string{"report", "toil", "--config", cfg, "--format", "svg", "--team", "nosuch"}, `report toil: no team "nosuch" in `},
		{[]string{"report", "flow", "--config", cfg, "--format", "html", "--quarter", "2026-Q3"}, `report flow: --quarter "2026-Q3": want a quarter like 2026Q3`},
		{[]string{"report", "toil", "--config", cfg, "--format", "svg", "--team", "payments", "--quarter", "Q3"}, `report toil: --quarter "Q3": want a quarter like 2026Q3`},
		{[]string{"report", "toil", "--config", cfg, "--format", "html", "--from", "2026-07-02", "--to", "2026-07-01"},
			"report toil: --from 2026-07-02 is not before --to 2026-07-01: the window [from, to) is empty"},
		{[]string{"report", "dora", "--config", cfg, "--format", "html", "--from", "2026-07-01", "--to", "2026-07-01"}, "report dora: --from 2026-07-01 is not before --to 2026-07-01"},
	} {
		_, err := runInProcess(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
	// -h says which formats each report writes.
	for kind, want := range map[string]string{"dora": "--format md|json|csv|html]", "flow": "--format md|json|csv|html]", "toil": "--format md|json|csv|html|svg]"} {
		out, err := runInProcess(t, "report", kind, "-h")
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("report %s -h lacks %q: %v\n%s", kind, want, err, out)
		}
	}
}
