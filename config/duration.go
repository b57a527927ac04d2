package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

const day = 24 * time.Hour

// Duration is a time.Duration written as Go duration text or as whole days ("7d"),
// because windows and retention periods are naturally given in days and Go has no
// day unit.
type Duration struct {
	time.Duration
}

// ParseDuration reads Go duration text ("90m", "1h30m") or a whole number of days
// ("7d"), so flags and files share one syntax.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(t, "d"); ok && n != "" && strings.Trim(n, "0123456789") == "" {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days > math.MaxInt64/int64(day) {
			return Duration{}, fmt.Errorf("cannot parse %q as a duration: too long", s)
		}
		return Duration{time.Duration(days) * day}, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return Duration{}, fmt.Errorf("cannot parse %q as a duration (use a number with a unit: 90s, 15m, 24h or 7d)", s)
	}
	return Duration{d}, nil
}

// String writes whole days as "7d" and anything else as Go duration text without
// trailing zero units ("15m", not "15m0s"), so that marshalled files read as written.
func (d Duration) String() string {
	if d.Duration != 0 && d.Duration%day == 0 {
		return strconv.FormatInt(int64(d.Duration/day), 10) + "d"
	}
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalYAML accepts a scalar in the syntax of ParseDuration, so a config file can
// say "15m" or "7d".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration, got %s", nodeKindName(n))
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the text String gives, so that a marshalled config parses back
// to the same value.
func (d Duration) MarshalYAML() (any, error) {
	return d.String(), nil
}
