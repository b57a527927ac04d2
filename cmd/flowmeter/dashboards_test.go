package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDashboardsExport(t *testing.T) {
	dir := t.TempDir()
	out, err := runInProcess(t, "dashboards", "export", "--dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "wrote 5 dashboards") {
		t.Errorf("output %q", out)
	}
	for _, f := range []string{"dashboards/flowmeter-executive.json", "dashboards/flowmeter-flow.json", "dashboards/flowmeter-toil.json", "provisioning/datasources/flowmeter.yaml", "provisioning/dashboards/flowmeter.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := runInProcess(t, "dashboards", "export"); err == nil {
		t.Error("export without --dir: no error")
	}
	if _, err := runInProcess(t, "dashboards", "push"); err == nil {
		t.Error("dashboards push: no error")
	}
}
