package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Every YAML example of the configuration reference is a config that loads, so the
// reference cannot drift from what flowmeter accepts.
func TestReferenceExamplesParse(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 8 {
		t.Fatalf("found %d YAML examples in docs/configuration.md; the flow, toil and calendar ones are missing", len(blocks))
	}
	for i, b := range blocks {
		if _, err := Parse([]byte(b[1]), "example.yaml"); err != nil {
			t.Errorf("example %d:\n%s\n%v", i+1, b[1], err)
		}
	}
}

// The reference's worked example of a calendar: Friday 15:00 to Monday 11:00 with
// 09:00–17:00 is 2 working hours on Friday and 2 on Monday.
func TestCalendarParsing(t *testing.T) {
	cfg, err := Parse([]byte(`
teams:
  - name: payments
    calendar:
      time_zone: Europe/Berlin
      working_hours: "09:00-17:00"
      holidays: ["2026-12-24"]
`), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cal := cfg.Teams[0].Calendar
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if cal.Location().String() != "Europe/Berlin" {
		t.Errorf("zone %s", cal.Location())
	}
	if from, to := cal.Hours(); from != 9*time.Hour || to != 17*time.Hour {
		t.Errorf("hours %s-%s", from, to)
	}
	for _, tc := range []struct {
		day  time.Time
		want bool
	}{
		{time.Date(2026, 12, 23, 12, 0, 0, 0, berlin), true},  // Wednesday
		{time.Date(2026, 12, 24, 12, 0, 0, 0, berlin), false}, // holiday
		{time.Date(2026, 12, 26, 12, 0, 0, 0, berlin), false}, // Saturday
		// 23:30 UTC on Sunday is already Monday in Berlin.
		{time.Date(2026, 12, 27, 23, 30, 0, 0, time.UTC), true},
	} {
		if got := cal.WorkingDay(tc.day); got != tc.want {
			t.Errorf("WorkingDay(%s) = %v, want %v", tc.day, got, tc.want)
		}
	}
	for _, bad := range []struct{ yaml, field string }{
		{"time_zone: Mars/Base", "time_zone"},
		{"working_days: [mon, funday]", "working_days[1]"},
		{`working_hours: "17:00-09:00"`, "working_hours"},
		{`working_hours: "9-5"`, "working_hours"},
		{`holidays: ["25.12.2026"]`, "holidays[0]"},
		{"working_days: []", "working_days"},
	} {
		_, err := Parse([]byte("teams:\n  - name: t\n    calendar:\n      "+bad.yaml+"\n"), "t.yaml")
		if err == nil || !strings.Contains(err.Error(), "teams[0].calendar."+bad.field) {
			t.Errorf("%s: error %v, want one naming teams[0].calendar.%s", bad.yaml, err, bad.field)
		}
	}
}

func TestFlowAndToilValidation(t *testing.T) {
	for _, bad := range []struct{ yaml, field string }{
		{"flow:\n  projects:\n    PAY:\n      statuses:\n        Review: doing\n", "flow.projects.PAY.statuses.Review"},
		{"flow:\n  types:\n    - {type: bugfix, labels: [bug]}\n", "flow.types[0].type"},
		{"flow:\n  types:\n    - {type: defect}\n", "flow.types[0]"},
		{"toil:\n  rules:\n    - {name: x}\n", "toil.rules[0].category"},
		{"toil:\n  rules:\n    - {category: x, kinds: [page]}\n", "toil.rules[0].kinds[0]"},
		{"toil:\n  rules:\n    - {category: x, sources: [nope]}\n", "toil.rules[0].sources[0]"},
		{"toil:\n  rules:\n    - {category: x, title: '('}\n", "toil.rules[0].title"},
		{"flow:\n  projects:\n    PAY:\n      statuses:\n        In Review: wait\n        in review: active\n", "flow.projects.PAY.statuses.in review"},
		{"flow:\n  projects:\n    PAY: {statuses: {Done: done}}\n    pay: {statuses: {Done: done}}\n", "flow.projects.pay"},
	} {
		_, err := Parse([]byte(bad.yaml), "t.yaml")
		if err == nil || !strings.Contains(err.Error(), bad.field+":") {
			t.Errorf("%q: error %v, want one naming %s", bad.yaml, err, bad.field)
		}
	}
	cfg, err := Parse([]byte("toil:\n  ticket_labels: []\n  rules: []\nflow:\n  types: []\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Toil.TicketLabels == nil || len(cfg.Toil.TicketLabels) != 0 || cfg.Toil.Rules == nil || len(cfg.Toil.Rules) != 0 || len(cfg.Flow.Types) != 0 {
		t.Errorf("explicit empty lists must switch the defaults off: %+v %+v", cfg.Toil, cfg.Flow)
	}
	def, err := Parse([]byte("{}"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(def.Toil.Rules) != 6 || def.Toil.TicketLabels[0] != "toil" || len(def.Flow.Types) != 3 {
		t.Errorf("defaults: %+v %+v", def.Toil, def.Flow)
	}
}
