package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestAlertRules checks the shipped Prometheus alert rules with promtool: that they
// load, and that each alert fires, and stays quiet, on the series of
// testdata/alerts_test.yml.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		msg := "promtool is not on PATH (Debian: apt-get install prometheus)"
		if os.Getenv("FLOWMETER_TEST_REQUIRE_PROMETHEUS") == "1" {
			t.Fatalf("%s, and FLOWMETER_TEST_REQUIRE_PROMETHEUS=1", msg)
		}
		t.Skip(msg)
	}
	rules := filepath.Join("..", "..", "examples", "alerts.yml")
	for _, args := range [][]string{
		{"check", "rules", rules},
		{"test", "rules", filepath.Join("testdata", "alerts_test.yml")},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
