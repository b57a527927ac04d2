package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowmeter/flowmeter/dashboards"
	"github.com/flowmeter/flowmeter/dashboards/push/grafanatest"
)

func TestDashboardsExport(t *testing.T) {
	all, err := dashboards.All()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := runInProcess(t, "dashboards", "export", "--dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("wrote %d dashboards", len(all)); !strings.Contains(out, want) {
		t.Errorf("output %q, want it to say %q", out, want)
	}
	for _, f := range []string{"dashboards/flowmeter-executive.json", "provisioning/datasources/flowmeter.yaml", "provisioning/dashboards/flowmeter.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := runInProcess(t, "dashboards", "export"); err == nil {
		t.Error("export without --dir: no error")
	}
}

// pushConfig writes a config pointing dashboards push at url, with the token in
// FLOWMETER_TEST_GRAFANA_TOKEN.
func pushConfig(t *testing.T, url, store string) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "f.yaml", store+`grafana:
  url: `+url+`
  token_env: FLOWMETER_TEST_GRAFANA_TOKEN
  clickhouse_addr: clickhouse:9000
  prometheus_url: http://prometheus:9090
`)
}

const pushStore = "store:\n  clickhouse:\n    addr: 127.0.0.1:9000\n    database: flowmeter\n    username: flowmeter\n    password_env: FLOWMETER_TEST_CH_PASSWORD\n"

// dashboards push against a fake Grafana: the folder, both datasources and every
// dashboard are created, reported one per line; a second push leaves the
// dashboards unchanged; a viewer's token fails, naming the items.
func TestDashboardsPush(t *testing.T) {
	all, err := dashboards.All()
	if err != nil {
		t.Fatal(err)
	}
	srv := grafanatest.New(t)
	t.Setenv("FLOWMETER_TEST_GRAFANA_TOKEN", grafanatest.AdminToken)
	t.Setenv("FLOWMETER_TEST_CH_PASSWORD", "ch-secret")
	cfg := pushConfig(t, srv.URL, pushStore)
	out, err := runInProcess(t, "dashboards", "push", "--config", cfg)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if got := strings.Count(out, "created"); got != 3+len(all) {
		t.Errorf("%d items created, want the folder, 2 datasources and %d dashboards:\n%s", got, len(all), out)
	}
	ds, ok := srv.Datasource(dashboards.ClickHouseUID)
	if !ok || ds.JSONData["host"] != "clickhouse" || fmt.Sprint(ds.JSONData["port"]) != "9000" || ds.JSONData["defaultDatabase"] != "flowmeter" {
		t.Errorf("ClickHouse datasource %+v, want host clickhouse, port 9000, database flowmeter (grafana.clickhouse_addr)", ds)
	}
	if strings.Contains(out, "ch-secret") {
		t.Error("the ClickHouse password was printed")
	}
	for _, d := range all {
		if _, ok := srv.Dashboard(d.UID); !ok {
			t.Errorf("dashboard %s not in Grafana", d.UID)
		}
	}
	out, err = runInProcess(t, "dashboards", "push", "--config", cfg)
	if err != nil || strings.Count(out, "unchanged") != len(all) || strings.Count(out, "exists") != 3 {
		t.Errorf("second push: %v\n%s\nwant every dashboard unchanged and the folder and datasources existing", err, out)
	}

	t.Setenv("FLOWMETER_TEST_GRAFANA_TOKEN", grafanatest.ViewerToken)
	out, err = runInProcess(t, "dashboards", "push", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "items failed") || !strings.Contains(out, "failed") {
		t.Errorf("push with a viewer's token: %v\n%s\nwant a failure naming the failed items", err, out)
	}
}

func TestDashboardsPushNeedsGrafanaAndClickHouse(t *testing.T) {
	t.Setenv("FLOWMETER_TEST_GRAFANA_TOKEN", "x")
	for _, tc := range []struct{ config, want string }{
		{writeFile(t, t.TempDir(), "f.yaml", "store:\n  sqlite: {}\n"), "has no grafana.url"},
		{writeFile(t, t.TempDir(), "f.yaml", "grafana:\n  url: http://g:3000\n"), "names no grafana.token_env"},
		{pushConfig(t, "http://g:3000", "store:\n  sqlite: {}\n"), "the dashboards read ClickHouse"},
		{writeFile(t, t.TempDir(), "f.yaml", "grafana:\n  url: ftp://g\n"), "grafana.url"},
	} {
		_, err := runInProcess(t, "dashboards", "push", "--config", tc.config)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.config, err, tc.want)
		}
	}
	if _, err := runInProcess(t, "dashboards", "pull"); err == nil || !strings.Contains(err.Error(), "dashboards push") {
		t.Errorf("unknown subcommand: %v", err)
	}
}
