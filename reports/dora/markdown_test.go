package dora

import (
	"regexp"
	"strings"
	"testing"
)

// TestMarkdownTablesAreNarrow: no table of the report is wider than 9 columns, so
// every viewer shows it whole. The explanation's Facts tables, a row of every
// value per fact, are left out.
func TestMarkdownTablesAreNarrow(t *testing.T) {
	for _, explain := range []bool{false, true} {
		md := markdown(t, fixtureReports(explain))
		if i := strings.Index(md, "\n## Facts\n"); i >= 0 {
			md = md[:i]
		}
		lines := strings.Split(md, "\n")
		tables := 0
		for i := 0; i+1 < len(lines); i++ {
			if !strings.HasPrefix(lines[i], "| ") || !strings.HasPrefix(lines[i+1], "| ---") {
				continue
			}
			tables++
			columns := strings.Count(lines[i], "|") - strings.Count(lines[i], `\|`) - 1
			if columns > 9 {
				t.Errorf("explain %v: %d columns: %s", explain, columns, lines[i])
			}
		}
		// A summary for each of payments, search and (no team), five detail tables
		// for each, and the tier table.
		if tables != 3+3*5+1 {
			t.Errorf("explain %v: %d tables, want 19", explain, tables)
		}
	}
}

// TestExplanationOnlyAdds: the report with an explanation is the report without
// one plus the lists of facts behind each team's figures and the Facts section.
func TestExplanationOnlyAdds(t *testing.T) {
	plain, explained := markdown(t, fixtureReports(false)), markdown(t, fixtureReports(true))
	i := strings.Index(explained, "\n## Facts\n")
	if i < 0 {
		t.Fatal("no Facts section")
	}
	details := regexp.MustCompile(`(?s)\n<details><summary>Facts behind [^<]*</summary>\n.*?\n</details>\n`)
	if n := len(details.FindAllString(explained, -1)); n != 4+6 {
		t.Errorf("%d lists of facts, want one per team and service: 10", n)
	}
	stripped := details.ReplaceAllString(explained[:i], "")
	if stripped != plain {
		t.Errorf("without its explanation the report differs:\n%s", firstDiff(plain, stripped))
	}
}
