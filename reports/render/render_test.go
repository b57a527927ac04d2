package render

import (
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
)

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		seconds float64
		want    string
	}{
		{0, "0s"}, {45, "45s"}, {59.4, "59s"}, {59.6, "1m"}, {90, "2m"}, {720, "12m"},
		{3599, "1h"}, {3600, "1h"}, {5400, "1h 30m"}, {12000, "3h 20m"},
		{86399, "1.0 d"}, {86400, "1.0 d"}, {207360, "2.4 d"},
	} {
		if got := Duration(aggregate.Some(tt.seconds)); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.seconds, got, tt.want)
		}
	}
	if got := Duration(aggregate.None()); got != "—" {
		t.Errorf("undefined: %q", got)
	}
}

func TestNumbersAndWindows(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{Number(aggregate.Some(2.50), 2), "2.5"},
		{Number(aggregate.Some(-0.001), 1), "0"},
		{Number(aggregate.None(), 1), Dash},
		{Percent(aggregate.Some(0.1234)), "12.3%"},
		{Percent(aggregate.Some(1)), "100%"},
		{Escape("a|b\nc"), `a\|b c`},
		{Window(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)), "2026-07-01 to 2026-10-01 (exclusive)"},
		{Window(time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)), "2026-07-01T12:00:00Z to 2026-10-01T00:00:00Z (exclusive)"},
		{Seconds(5400), "1h 30m"},
		{Hours(aggregate.Some(133046)), "36h 57m"},
		{Hours(aggregate.Some(86400)), "24h"},
		{Hours(aggregate.Some(5400)), "1h 30m"},
		{Hours(aggregate.None()), Dash},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"md", "json", "csv"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) is no error")
	}
}
