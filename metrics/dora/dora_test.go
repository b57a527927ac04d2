package dora

import (
	"strings"
	"testing"
	"time"
)

func mustTable(t *testing.T, name string) *Table {
	t.Helper()
	tb, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func secs(d time.Duration) float64 { return d.Seconds() }

func TestTierNamesAndNumbers(t *testing.T) {
	want := map[Tier]struct {
		name string
		num  int
	}{
		NoTier: {"", 0}, Low: {"low", 1}, Medium: {"medium", 2}, High: {"high", 3}, Elite: {"elite", 4},
	}
	for tier, w := range want {
		if tier.String() != w.name || int(tier) != w.num {
			t.Errorf("tier %d: %q, want %q and %d", int(tier), tier, w.name, w.num)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"", "2023"} {
		if tb := mustTable(t, name); tb.Name != "2023" {
			t.Errorf("Lookup(%q) = %s, want the 2023 default", name, tb.Name)
		}
	}
	if tb := mustTable(t, "2021"); tb.Name != "2021" || !strings.Contains(tb.Source, "2021") {
		t.Errorf("Lookup(2021) = %s from %s", tb.Name, tb.Source)
	}
	if _, err := Lookup("2022"); err == nil || !strings.Contains(err.Error(), `"2022"`) {
		t.Errorf("Lookup(2022): %v", err)
	}
	// The returned table is a copy: changing it does not change the grading.
	tb := mustTable(t, "2023")
	tb.LeadTime.Elite = time.Hour
	if got := mustTable(t, "2023").GradeLeadTime(secs(2 * time.Hour)); got != Elite {
		t.Errorf("a changed copy leaked into the table: 2h is %s", got)
	}
	if names := Tables(); len(names) != 2 || names[0].Name != DefaultTable {
		t.Errorf("Tables() = %v", names)
	}
}

// Every bound of both tables, at the bound and just either side of it. Durations
// at a bound fall to the slower tier; rates at a bound stay in the better one.
func TestDurationAndRateBoundaries(t *testing.T) {
	const eps = 1.0 // one second
	day, week := 24*time.Hour, 7*24*time.Hour
	tests := []struct {
		table  string
		metric string
		value  float64
		want   Tier
	}{
		// 2023 lead time: < 1 day elite, < 1 week high, <= 30 days medium (low is
		// "more than one month"), else low.
		{"2023", "lead", 0, Elite},
		{"2023", "lead", secs(day) - eps, Elite},
		{"2023", "lead", secs(day), High}, // exactly 1 day is high
		{"2023", "lead", secs(week) - eps, High},
		{"2023", "lead", secs(week), Medium},
		{"2023", "lead", secs(30*day) - eps, Medium},
		{"2023", "lead", secs(30 * day), Medium},
		{"2023", "lead", secs(30*day) + eps, Low},
		{"2023", "lead", -1, NoTier},
		// 2023 recovery: < 1 hour elite, < 1 day high, <= 1 week medium (low is
		// "more than one week"), else low.
		{"2023", "recovery", secs(time.Hour) - eps, Elite},
		{"2023", "recovery", secs(time.Hour), High}, // exactly 1 hour is high
		{"2023", "recovery", secs(day) - eps, High},
		{"2023", "recovery", secs(day), Medium},
		{"2023", "recovery", secs(week) - eps, Medium},
		{"2023", "recovery", secs(week), Medium},
		{"2023", "recovery", secs(week) + eps, Low},
		// 2023 change failure rate: <= 5% elite, <= 10% high, <= 15% medium.
		{"2023", "cfr", 0, Elite},
		{"2023", "cfr", 0.05, Elite}, // exactly 5% is elite
		{"2023", "cfr", 1.0 / 20, Elite},
		{"2023", "cfr", 0.0501, High},
		{"2023", "cfr", 0.10, High},
		{"2023", "cfr", 1.0 / 10, High},
		{"2023", "cfr", 0.1001, Medium},
		{"2023", "cfr", 0.15, Medium},
		{"2023", "cfr", 3.0 / 20, Medium},
		{"2023", "cfr", 0.1501, Low},
		{"2023", "cfr", 1, Low},
		{"2023", "cfr", 1.5, NoTier},
		// 2021 lead time: < 1 hour elite, < 1 week high (the 1 h..1 d gap), <= 180
		// days medium (the 1 w..1 month gap; low is "more than six months"), else low.
		{"2021", "lead", secs(time.Hour) - eps, Elite},
		{"2021", "lead", secs(time.Hour), High}, // exactly 1 hour is high
		{"2021", "lead", secs(12 * time.Hour), High},
		{"2021", "lead", secs(week) - eps, High},
		{"2021", "lead", secs(week), Medium},
		{"2021", "lead", secs(14 * day), Medium},
		{"2021", "lead", secs(180*day) - eps, Medium},
		{"2021", "lead", secs(180 * day), Medium},
		{"2021", "lead", secs(180*day) + eps, Low},
		// 2021 time to restore: < 1 hour, < 1 day, <= 1 week ("between one day and
		// one week"), else low (the 1 w..6 months gap is low).
		{"2021", "recovery", secs(time.Hour) - eps, Elite},
		{"2021", "recovery", secs(time.Hour), High},
		{"2021", "recovery", secs(day), Medium},
		{"2021", "recovery", secs(week) - eps, Medium},
		{"2021", "recovery", secs(week), Medium},
		{"2021", "recovery", secs(week) + eps, Low},
		{"2021", "recovery", secs(30 * day), Low},
		// 2021 change failure rate: <= 15% elite, <= 30% high, else low; medium is
		// never given.
		{"2021", "cfr", 0.15, Elite},
		{"2021", "cfr", 0.1501, High},
		{"2021", "cfr", 0.25, High},
		{"2021", "cfr", 0.30, High},
		{"2021", "cfr", 0.3001, Low},
	}
	for _, tt := range tests {
		tb := mustTable(t, tt.table)
		var got Tier
		switch tt.metric {
		case "lead":
			got = tb.GradeLeadTime(tt.value)
		case "recovery":
			got = tb.GradeRecovery(tt.value)
		case "cfr":
			got = tb.GradeChangeFailureRate(tt.value)
		}
		if got != tt.want {
			t.Errorf("%s %s %v: %q, want %q", tt.table, tt.metric, tt.value, got, tt.want)
		}
	}
}

func TestDeploymentFrequencyBoundaries(t *testing.T) {
	tests := []struct {
		table string
		d     DeployDays
		want  Tier
	}{
		// 2023: median week >= 3 and median deploy day >= 2 deployments elite, median
		// week >= 1 high, median month >= 1 medium.
		{"2023", DeployDays{WeekMedian: 3, MonthMedian: 13, PerDayMedian: 2, Days: 40, WindowDays: 91}, Elite},
		// Three deploy days a week with one deployment each (Monday, Wednesday,
		// Friday) is not "multiple deploys per day": high.
		{"2023", DeployDays{WeekMedian: 3, MonthMedian: 13, PerDayMedian: 1, Days: 39, WindowDays: 91}, High},
		{"2023", DeployDays{WeekMedian: 3, MonthMedian: 13, PerDayMedian: 1.5, Days: 39, WindowDays: 91}, High},
		// Many deployments a day on two days a week: high.
		{"2023", DeployDays{WeekMedian: 2.5, MonthMedian: 11, PerDayMedian: 6, Days: 33, WindowDays: 91}, High},
		{"2023", DeployDays{WeekMedian: 1, MonthMedian: 4, PerDayMedian: 1, Days: 13, WindowDays: 91}, High},
		{"2023", DeployDays{WeekMedian: 0.5, MonthMedian: 2, PerDayMedian: 1, Days: 6, WindowDays: 91}, Medium},
		{"2023", DeployDays{WeekMedian: 0, MonthMedian: 1, PerDayMedian: 1, Days: 3, WindowDays: 91}, Medium},
		{"2023", DeployDays{WeekMedian: 0, MonthMedian: 0.5, PerDayMedian: 1, Days: 2, WindowDays: 91}, Low},
		{"2023", DeployDays{WeekMedian: 0, MonthMedian: 0, PerDayMedian: 1, Days: 1, WindowDays: 91}, Low},
		// No deploy day in the window: low when deployments were seen before it, no
		// tier when none ever were.
		{"2023", DeployDays{WindowDays: 91, SeenBefore: true}, Low},
		{"2021", DeployDays{WindowDays: 91, SeenBefore: true}, Low},
		{"2023", DeployDays{WindowDays: 91}, NoTier},
		{"2021", DeployDays{WindowDays: 91}, NoTier},
		// A window that has not started: nothing to grade.
		{"2023", DeployDays{SeenBefore: true}, NoTier},
		// 2021: elite as in 2023, median month >= 1 high, >= 1 deploy day per 180
		// days medium.
		{"2021", DeployDays{WeekMedian: 3, MonthMedian: 13, PerDayMedian: 2, Days: 40, WindowDays: 91}, Elite},
		{"2021", DeployDays{WeekMedian: 3, MonthMedian: 13, PerDayMedian: 1, Days: 39, WindowDays: 91}, High},
		{"2021", DeployDays{WeekMedian: 2, MonthMedian: 8, PerDayMedian: 1, Days: 26, WindowDays: 91}, High}, // daily..weekly: no 2021 row, high
		{"2021", DeployDays{WeekMedian: 0, MonthMedian: 1, PerDayMedian: 1, Days: 3, WindowDays: 91}, High},
		{"2021", DeployDays{WeekMedian: 0, MonthMedian: 0, PerDayMedian: 1, Days: 1, WindowDays: 91}, Medium},  // 1*180/91 = 1.98
		{"2021", DeployDays{WeekMedian: 0, MonthMedian: 0, PerDayMedian: 1, Days: 1, WindowDays: 180}, Medium}, // exactly 1 per 180 days
		{"2021", DeployDays{WeekMedian: 0, MonthMedian: 0, PerDayMedian: 1, Days: 1, WindowDays: 181}, Low},    // 180/181 < 1
		{"2021", DeployDays{WeekMedian: 0, MonthMedian: 0, PerDayMedian: 1, Days: 1, WindowDays: 365}, Low},
	}
	for _, tt := range tests {
		if got := mustTable(t, tt.table).GradeDeploymentFrequency(tt.d); got != tt.want {
			t.Errorf("%s %+v: %q, want %q", tt.table, tt.d, got, tt.want)
		}
	}
}
