package dora

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/aggregate/aggregatetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixtureReports is the fixture's window with the previous one, built as the
// command builds it: the same facts and time, over aggregate.PreviousWindow, here
// May 4 to Jun 1 (the fixture's 28 days are not a calendar month).
func fixtureReports(explain bool) Reports {
	in := aggregatetest.Input()
	in.Explain = explain
	prev := in
	prev.From, prev.To = aggregate.PreviousWindow(in.From, in.To)
	return Reports{Current: aggregate.DORA(in), Previous: aggregate.DORA(prev)}
}

// golden compares got with testdata/name; HTML is compared after collapsing
// whitespace, which a page's layout does not depend on.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run 'go test ./reports/dora -update' to create it)", err)
	}
	if filepath.Ext(name) == ".html" {
		got, want = collapseSpace(got), collapseSpace(want)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking the change):\n%s", name, firstDiff(string(want), string(got)))
	}
}

// collapseSpace turns every run of white space into one newline, so a diff still
// points at a line.
func collapseSpace(b []byte) []byte {
	return []byte(strings.Join(strings.Fields(string(b)), "\n"))
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + w + "\ngot:  " + g
		}
	}
	return ""
}

func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		file    string
		format  Format
		explain bool
	}{
		{"report.md", Markdown, false},
		{"report.html", HTML, false},
		{"report.json", JSON, false},
		{"report.csv", CSV, false},
		{"report-explain.json", JSON, true},
		{"report-explain.md", Markdown, true},
		{"report-explain.html", HTML, true},
		{"report-explain.csv", CSV, true},
	} {
		var buf bytes.Buffer
		if err := Render(&buf, fixtureReports(tt.explain), tt.format); err != nil {
			t.Fatal(err)
		}
		golden(t, tt.file, buf.Bytes())
	}
}

// The documented keys, exactly: docs/reports.md lists these.
var (
	reportKeys = []string{"dora_table", "previous", "teams", "window"}
	windowKeys = []string{"as_of", "days", "elapsed_days", "from", "to"}
	figureKeys = []string{
		"change_failure_rate", "changes_shipped", "deploy_days_per_month_median", "deploy_days_per_week_median",
		"deployment_frequency_per_day", "deployments", "deployments_per_deploy_day_median", "failed_deploy_attempts",
		"failed_deployment_recovery_seconds", "failed_deployments", "failed_deployments_inferred", "failure_reasons",
		"lead_time_parts_seconds", "lead_time_seconds", "rework_rate", "rework_reasons", "tiers",
		"time_to_restore_seconds", "undeployed", "undeployed_age_seconds", "untracked",
	}
	// The keys of each kind of fact in facts.
	factKeys = map[string][]string{
		"changes": {"attribution", "coding_seconds", "deploy_seconds", "first_commit_at", "first_review_at",
			"lead_time_seconds", "merged_at", "pickup_seconds", "ready_at", "repo", "review_seconds", "service",
			"shipped_at", "shipped_by", "state", "team", "undeployed_age_seconds"},
		"deployments": {"caused_incidents", "changes", "commit_sha", "environment", "failed", "failure_reasons",
			"finished_at", "inferred_failure", "recovered_at", "recovered_by", "recovery_seconds", "repo", "rollout",
			"service", "started_at", "status", "team", "unplanned_reasons"},
		"incidents": {"deployment", "link_reason", "opened_at", "resolved_at", "restore_seconds", "service", "severity", "team"},
	}
	nestedKeys = map[string][]string{
		"lead_time_seconds":                  {"p50", "p85", "p95"},
		"lead_time_parts_seconds":            {"coding", "deploy", "pickup", "review"},
		"failed_deployment_recovery_seconds": {"p50", "p85"},
		"time_to_restore_seconds":            {"p50", "p85"},
		"undeployed_age_seconds":             {"p50"},
		"tiers":                              {"change_failure_rate", "deployment_frequency", "failed_deployment_recovery", "lead_time"},
	}
)

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func checkFigureKeys(t *testing.T, who string, obj map[string]any, extra ...string) {
	t.Helper()
	want := slices.Sorted(slices.Values(append(slices.Clone(figureKeys), extra...)))
	if got := keys(obj); !slices.Equal(got, want) {
		t.Errorf("%s keys:\n got %v\nwant %v", who, got, want)
	}
	for k, sub := range nestedKeys {
		m, ok := obj[k].(map[string]any)
		if !ok {
			t.Errorf("%s.%s is %T", who, k, obj[k])
			continue
		}
		if got := keys(m); !slices.Equal(got, sub) {
			t.Errorf("%s.%s keys %v, want %v", who, k, got, sub)
		}
	}
}

func decode(t *testing.T, rs Reports) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rs); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestJSONKeysAndValues(t *testing.T) {
	doc := decode(t, fixtureReports(false))
	if got := keys(doc); !slices.Equal(got, reportKeys) {
		t.Errorf("report keys %v, want %v", got, reportKeys)
	}
	win := doc["window"].(map[string]any)
	if got := keys(win); !slices.Equal(got, windowKeys) {
		t.Errorf("window keys %v", got)
	}
	// The fixture's now is Jun 28 12:00: 27.5 days of the 28 have elapsed.
	if win["from"] != "2026-06-01T00:00:00Z" || win["to"] != "2026-06-29T00:00:00Z" || win["days"] != 28.0 ||
		win["as_of"] != "2026-06-28T12:00:00Z" || win["elapsed_days"] != 27.5 || doc["dora_table"] != "2023" {
		t.Errorf("window %v, table %v", win, doc["dora_table"])
	}
	teams := doc["teams"].([]any)
	if len(teams) != 4 {
		t.Fatalf("%d teams", len(teams))
	}
	for _, tm := range teams {
		team := tm.(map[string]any)
		name := team["team"].(string)
		checkFigureKeys(t, name, team, "team", "services")
		for _, sv := range team["services"].([]any) {
			svc := sv.(map[string]any)
			checkFigureKeys(t, name+"/"+svc["service"].(string), svc, "service")
		}
	}
	pay := teams[0].(map[string]any)
	// Values as worked out in metrics/aggregate's tests; p85 of the lead time is
	// 220320 s exactly once rounded to the millisecond.
	lt := pay["lead_time_seconds"].(map[string]any)
	tiers := pay["tiers"].(map[string]any)
	if pay["team"] != "payments" || pay["deployments"] != 10.0 || pay["change_failure_rate"] != 0.3 ||
		pay["failed_deployments"] != 3.0 || pay["failed_deployments_inferred"] != 1.0 ||
		lt["p50"] != 129600.0 || lt["p85"] != 220320.0 || lt["p95"] != 246240.0 ||
		tiers["lead_time"] != "high" || tiers["change_failure_rate"] != "low" {
		t.Errorf("payments: %v", pay)
	}
	// payments' failures: d2 (incident_named and hotfixed), d5 (rolled_back), d22
	// (incident_window); its rework: d3 (hotfix) and d6 (rollback). Every reason is
	// listed, 0 where none holds.
	wantFailures := map[string]any{"incident_named": 1.0, "incident_window": 1.0, "rolled_back": 1.0, "reverted": 0.0, "hotfixed": 1.0}
	if got := pay["failure_reasons"]; !reflect.DeepEqual(got, wantFailures) {
		t.Errorf("payments failure_reasons %v, want %v", got, wantFailures)
	}
	wantRework := map[string]any{"rollback": 1.0, "hotfix": 1.0, "revert": 0.0, "fixes_only": 0.0}
	if got := pay["rework_reasons"]; !reflect.DeepEqual(got, wantRework) {
		t.Errorf("payments rework_reasons %v, want %v", got, wantRework)
	}
	// Undefined figures and tiers are null, not 0 or "".
	idle := teams[2].(map[string]any)
	if v, ok := idle["change_failure_rate"]; !ok || v != nil {
		t.Errorf("idle change_failure_rate = %#v, want null", v)
	}
	if v := idle["tiers"].(map[string]any)["lead_time"]; v != nil {
		t.Errorf("idle tiers.lead_time = %#v, want null", v)
	}
	if v := idle["lead_time_seconds"].(map[string]any)["p50"]; v != nil {
		t.Errorf("idle lead_time_seconds.p50 = %#v, want null", v)
	}
	if svcs := idle["services"].([]any); len(svcs) != 0 {
		t.Errorf("idle services %v", svcs)
	}

	if _, ok := doc["facts"]; ok {
		t.Errorf("facts without explain")
	}

	// previous is the window before, May 4 to Jun 1, in the same shape; it ended
	// before the fixture's now, so it is counted whole.
	prev := doc["previous"].(map[string]any)
	if got := keys(prev); !slices.Equal(got, []string{"teams", "window"}) {
		t.Errorf("previous keys %v", got)
	}
	win = prev["window"].(map[string]any)
	if win["from"] != "2026-05-04T00:00:00Z" || win["to"] != "2026-06-01T00:00:00Z" || win["days"] != 28.0 ||
		win["as_of"] != "2026-06-01T00:00:00Z" || win["elapsed_days"] != 28.0 {
		t.Errorf("previous window %v", win)
	}
	// The config's three teams; (no team) has no fact in May nor before it.
	prevTeams := prev["teams"].([]any)
	var names []string
	for _, tm := range prevTeams {
		team := tm.(map[string]any)
		names = append(names, team["team"].(string))
		checkFigureKeys(t, "previous "+team["team"].(string), team, "team", "services")
	}
	if !slices.Equal(names, []string{"payments", "search", "idle"}) {
		t.Errorf("previous teams %v", names)
	}
	// payments in May: d10 (checkout, May 31 23:00) failed, recovered in 1 h; c6
	// shipped May 30 with a lead time of 1000 s; c8 untracked (May 20); the attempt
	// d11 started May 31 23:55; i5 restored in 100 s. One deploy day in May and in
	// none but the last of the four weeks: medium; 1000 s elite; 1/1 low; exactly 1
	// h of recovery high.
	pp := prevTeams[0].(map[string]any)
	ptiers := pp["tiers"].(map[string]any)
	if pp["deployments"] != 1.0 || pp["deployment_frequency_per_day"] != 1.0/28 || pp["deploy_days_per_week_median"] != 0.0 ||
		pp["change_failure_rate"] != 1.0 || pp["lead_time_seconds"].(map[string]any)["p50"] != 1000.0 ||
		pp["failed_deployment_recovery_seconds"].(map[string]any)["p50"] != 3600.0 || pp["untracked"] != 1.0 ||
		pp["failed_deploy_attempts"] != 1.0 || pp["time_to_restore_seconds"].(map[string]any)["p50"] != 100.0 ||
		ptiers["deployment_frequency"] != "medium" || ptiers["lead_time"] != "elite" ||
		ptiers["change_failure_rate"] != "low" || ptiers["failed_deployment_recovery"] != "high" {
		t.Errorf("previous payments: %v", pp)
	}

	// With explain, teams and services carry it, and the report lists the facts.
	doc = decode(t, fixtureReports(true))
	if got := keys(doc); !slices.Equal(got, []string{"dora_table", "facts", "previous", "teams", "window"}) {
		t.Errorf("report keys with explain %v", got)
	}
	pay = doc["teams"].([]any)[0].(map[string]any)
	checkFigureKeys(t, "payments (explain)", pay, "team", "services", "explain")
	ex := pay["explain"].(map[string]any)
	if got := ex["failed_deployments"].([]any); len(got) != 3 || got[0] != "gh:d2" {
		t.Errorf("explain failed_deployments %v", got)
	}
	if got := ex["failed_deployments_inferred"].([]any); len(got) != 1 || got[0] != "gh:d22" {
		t.Errorf("explain failed_deployments_inferred %v", got)
	}
	svc := pay["services"].([]any)[0].(map[string]any)
	checkFigureKeys(t, "payments/checkout (explain)", svc, "service", "explain")
	// The previous window's figures are for comparing, not explained: facts lists
	// only the current window's.
	prevPay := doc["previous"].(map[string]any)["teams"].([]any)[0].(map[string]any)
	checkFigureKeys(t, "previous payments (explain)", prevPay, "team", "services")

	facts := doc["facts"].(map[string]any)
	for kind, want := range factKeys {
		byRef := facts[kind].(map[string]any)
		for ref, f := range byRef {
			if got := keys(f.(map[string]any)); !slices.Equal(got, want) {
				t.Errorf("facts.%s[%s] keys %v, want %v", kind, ref, got, want)
			}
		}
	}
	// Values from aggregatetest: c10 is undeployed, merged Jun 25 12:00, 3 days old
	// at Jun 28 12:00; c2 shipped by d4, by time, with a lead time of 1 day and no
	// pickup; d22 failed by inference only, its incident i2 still open; d2 recovered
	// by i1 an hour after it finished; i1 names d2.
	changes, deployments, incidents := facts["changes"].(map[string]any), facts["deployments"].(map[string]any), facts["incidents"].(map[string]any)
	c10, c2 := changes["gh:c10"].(map[string]any), changes["gh:c2"].(map[string]any)
	d22, d2 := deployments["gh:d22"].(map[string]any), deployments["gh:d2"].(map[string]any)
	i1 := incidents["pd:i1"].(map[string]any)
	if c10["undeployed_age_seconds"] != 259200.0 || c10["state"] != "undeployed" || c10["shipped_at"] != nil ||
		c2["shipped_by"] != "d4" || c2["attribution"] != "time" || c2["lead_time_seconds"] != 86400.0 || c2["pickup_seconds"] != nil ||
		c2["undeployed_age_seconds"] != nil {
		t.Errorf("changes: c10 %v, c2 %v", c10, c2)
	}
	if d22["inferred_failure"] != true || fmt.Sprint(d22["failure_reasons"]) != "[incident_window]" || d22["recovery_seconds"] != nil ||
		fmt.Sprint(d22["caused_incidents"]) != "[i2]" || d2["inferred_failure"] != false || d2["recovered_by"] != "i1" ||
		d2["recovery_seconds"] != 3600.0 || d2["recovered_at"] != "2026-06-02T11:00:00Z" || fmt.Sprint(d2["rollout"]) != "[]" {
		t.Errorf("deployments: d22 %v, d2 %v", d22, d2)
	}
	if i1["deployment"] != "d2" || i1["link_reason"] != "incident_named" || i1["restore_seconds"] != 3600.0 {
		t.Errorf("incidents: i1 %v", i1)
	}
	if len(changes) != 13 || len(deployments) != 25 || len(incidents) != 4 {
		t.Errorf("%d changes, %d deployments, %d incidents; want 13, 25, 4 (metrics/aggregate's TestDORAExplain)", len(changes), len(deployments), len(incidents))
	}
}

func TestCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, fixtureReports(false).Current); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{
		"level", "team", "service", "window.from", "window.to", "window.as_of", "dora_table",
		"deployments", "deployment_frequency_per_day", "deploy_days_per_week_median", "deploy_days_per_month_median",
		"deployments_per_deploy_day_median",
		"changes_shipped", "untracked", "undeployed", "undeployed_age_seconds.p50",
		"lead_time_seconds.p50", "lead_time_seconds.p85", "lead_time_seconds.p95",
		"lead_time_parts_seconds.coding", "lead_time_parts_seconds.pickup", "lead_time_parts_seconds.review", "lead_time_parts_seconds.deploy",
		"failed_deployments", "failed_deployments_inferred",
		"failure_reasons.incident_named", "failure_reasons.incident_window", "failure_reasons.rolled_back",
		"failure_reasons.reverted", "failure_reasons.hotfixed",
		"failed_deploy_attempts", "change_failure_rate",
		"failed_deployment_recovery_seconds.p50", "failed_deployment_recovery_seconds.p85",
		"time_to_restore_seconds.p50", "time_to_restore_seconds.p85", "rework_rate",
		"rework_reasons.rollback", "rework_reasons.hotfix", "rework_reasons.revert", "rework_reasons.fixes_only",
		"tiers.deployment_frequency", "tiers.lead_time", "tiers.change_failure_rate", "tiers.failed_deployment_recovery",
	}
	if !slices.Equal(recs[0], wantHeader) {
		t.Errorf("header\n got %v\nwant %v", recs[0], wantHeader)
	}
	// payments, checkout, ledger, search, indexer, idle, (no team) and its three
	// services: 10 rows after the header.
	var rows []string
	for _, r := range recs[1:] {
		rows = append(rows, r[0]+":"+r[1]+"/"+r[2])
	}
	want := []string{
		"team:payments/", "service:payments/checkout", "service:payments/ledger",
		"team:search/", "service:search/indexer", "team:idle/",
		"team:(no team)/", "service:(no team)/(no service)", "service:(no team)/billing-batch", "service:(no team)/tools",
	}
	if !slices.Equal(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	col := func(name string) int { return slices.Index(wantHeader, name) }
	checkout := recs[2]
	if checkout[col("lead_time_seconds.p85")] != "146880" || checkout[col("change_failure_rate")] != "0.2857142857142857" ||
		checkout[col("tiers.lead_time")] != "high" || checkout[col("window.from")] != "2026-06-01T00:00:00Z" ||
		checkout[col("window.as_of")] != "2026-06-28T12:00:00Z" ||
		// d5 rolled back by d6; d2 both named by i1 and hotfixed by d3.
		checkout[col("failure_reasons.rolled_back")] != "1" || checkout[col("failure_reasons.hotfixed")] != "1" ||
		checkout[col("failure_reasons.reverted")] != "0" || checkout[col("rework_reasons.rollback")] != "1" {
		t.Errorf("checkout row %v", checkout)
	}
	if ledger := recs[3]; ledger[col("failed_deployments")] != "1" || ledger[col("failed_deployments_inferred")] != "1" {
		t.Errorf("ledger row %v", ledger)
	}
	// Undefined: empty cells.
	idle := recs[6]
	if idle[col("change_failure_rate")] != "" || idle[col("tiers.deployment_frequency")] != "" || idle[col("deployments")] != "0" {
		t.Errorf("idle row %v", idle)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"md", "json", "csv", "html"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	// A chart alone is not a DORA report.
	if _, err := ParseFormat("svg"); err == nil || !strings.Contains(err.Error(), `"svg"`) {
		t.Errorf("ParseFormat(svg): %v", err)
	}
}

// TestExplanationCSV: with an explanation the CSV holds a row per (team or service,
// figure, fact), then each fact's values once.
func TestExplanationCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, fixtureReports(true), CSV); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := recs[0]
	col := func(name string) int {
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("no column %s in %v", name, header)
		}
		return i
	}
	var figures, facts int
	rows := map[string][]string{}
	for _, r := range recs[1:] {
		if len(r) != len(header) {
			t.Fatalf("row %v has %d cells, header %d", r, len(r), len(header))
		}
		switch r[0] {
		case "figure":
			figures++
			rows[strings.Join(r[:6], " ")] = r
		case "fact":
			facts++
			rows[r[4]+" "+r[5]] = r
		default:
			t.Errorf("row kind %q", r[0])
		}
	}
	// As many fact rows as the facts of metrics/aggregate's TestDORAExplain.
	if facts != 13+25+4 {
		t.Errorf("%d fact rows, want 42", facts)
	}
	for _, want := range []string{
		"figure payments  failed_deployments_inferred deployment gh:d22",
		"figure payments ledger failed_deployments_inferred deployment gh:d22",
		"figure payments checkout lead_time_seconds change gh:c2",
		"figure payments  time_to_restore_seconds incident pd:i4",
	} {
		if _, ok := rows[want]; !ok {
			t.Errorf("no row %q", want)
		}
	}
	// d22 under payments: deployments, the four frequency figures, failed, failed
	// inferred, change failure rate: 8 keys for the team and 8 for ledger.
	n := 0
	for k := range rows {
		if strings.HasPrefix(k, "figure ") && strings.HasSuffix(k, " gh:d22") {
			n++
		}
	}
	if n != 16 {
		t.Errorf("%d figure rows for gh:d22, want 16", n)
	}
	d22, c10 := rows["deployment gh:d22"], rows["change gh:c10"]
	if d22[1] != "payments" || d22[2] != "ledger" || d22[col("failure_reasons")] != "incident_window" ||
		d22[col("inferred_failure")] != "true" || d22[col("recovery_seconds")] != "" || d22[col("finished_at")] != "2026-06-05T09:00:00Z" ||
		d22[col("lead_time_seconds")] != "" {
		t.Errorf("d22 row %v", d22)
	}
	if c10[col("state")] != "undeployed" || c10[col("undeployed_age_seconds")] != "259200" || c10[col("failed")] != "" {
		t.Errorf("c10 row %v", c10)
	}
	if figures == 0 {
		t.Error("no figure rows")
	}
}
