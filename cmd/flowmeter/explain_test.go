package main

import (
	"strings"
	"testing"
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
		{[]string{"explain", "--config", cfg, "--kind", "ticket", "d22"}, `explain: --kind "ticket": want change, deployment or incident`},
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
