package config

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// fuzzFile is the name configs are parsed under: absolute, so that resolved paths
// do not depend on the directory the fuzzer runs in.
const fuzzFile = "/etc/flowmeter/flowmeter.yaml"

// FuzzParse feeds arbitrary bytes to Parse, the one door a hand-edited flowmeter.yaml
// comes through. Whatever the text, Parse must not panic; a refusal must be an
// *Error that names the file on one line, because that is what start-up prints; and
// an accepted config must hold everything validation promises and survive Marshal,
// which `flowmeter demo` and `init` rely on to write configs Parse reads back.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, fuzzFile)
		if err != nil {
			checkParseError(t, err)
			return
		}
		checkValid(t, c)

		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("Marshal of an accepted config: %v", err)
		}
		again, err := Parse(out, fuzzFile)
		if err != nil {
			t.Fatalf("Parse refuses what Marshal wrote: %v\ninput:\n%s\nmarshalled:\n%s", err, data, out)
		}
		if a, b := fuzzView(c), fuzzView(again); !reflect.DeepEqual(a, b) {
			t.Fatalf("Marshal and Parse changed the config:\nfirst:  %+v\nsecond: %+v\nmarshalled:\n%s", a, b, out)
		}
		out2, err := again.Marshal()
		if err != nil {
			t.Fatalf("second Marshal: %v", err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("Marshal is not stable:\nfirst:\n%s\nsecond:\n%s", out, out2)
		}
	})
}

func checkParseError(t *testing.T, err error) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *config.Error", err, err)
	}
	if ce.File != fuzzFile {
		t.Errorf("error names file %q, want %q", ce.File, fuzzFile)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, fuzzFile) {
		t.Errorf("error %q does not start with the file name", msg)
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if ce.Line < 0 {
		t.Errorf("error has line %d", ce.Line)
	}
}

// checkValid asserts what callers of Parse take for granted about an accepted
// config, checking the fields directly rather than trusting validate to have run.
func checkValid(t *testing.T, c *Config) {
	t.Helper()
	if c.Path != fuzzFile {
		t.Errorf("Path = %q", c.Path)
	}
	if (c.Store.SQLite == nil) == (c.Store.ClickHouse == nil) {
		t.Fatalf("store: want exactly one backend, got sqlite %v clickhouse %v", c.Store.SQLite, c.Store.ClickHouse)
	}
	if s := c.Store.SQLite; s != nil && s.Path != ":memory:" && !strings.HasPrefix(s.Path, "file:") && !filepath.IsAbs(s.Path) {
		t.Errorf("sqlite path %q is not resolved against the config file", s.Path)
	}
	if ch := c.Store.ClickHouse; ch != nil {
		if !databaseName.MatchString(ch.Database) || ch.DialTimeout.Duration <= 0 || ch.Addr == "" {
			t.Errorf("clickhouse settings accepted though invalid: %+v", ch)
		}
	}
	seen := map[string]bool{}
	for i, s := range c.Sources {
		if !sourceName.MatchString(s.Name) || seen[s.Name] {
			t.Errorf("sources[%d]: name %q accepted (invalid or duplicate)", i, s.Name)
		}
		seen[s.Name] = true
		if s.Type == "" || s.Interval.Duration <= 0 {
			t.Errorf("sources[%d]: type %q, interval %v accepted", i, s.Type, s.Interval)
		}
	}
	teams := map[string]bool{}
	for i := range c.Teams {
		tm := &c.Teams[i]
		if strings.TrimSpace(tm.Name) == "" || teams[tm.Name] {
			t.Errorf("teams[%d]: name %q accepted (empty or duplicate)", i, tm.Name)
		}
		teams[tm.Name] = true
		if (tm.ProductionEnvironment != "") != (tm.production != nil) {
			t.Errorf("teams[%d]: production pattern %q not compiled", i, tm.ProductionEnvironment)
		}
		for _, r := range tm.Repositories {
			tm.MatchRepository(r) // must not panic on any accepted pattern
		}
	}
	r := c.Rules
	if r.production == nil || r.hotfix == nil || len(r.bots) != len(r.BotPatterns) {
		t.Errorf("rules: patterns not compiled: production %v hotfix %v bots %d of %d", r.production, r.hotfix, len(r.bots), len(r.BotPatterns))
	}
	if r.FailureWindow.Duration <= 0 || (r.DORATable != "2023" && r.DORATable != "2021") || r.InferFailuresFromIncidents == nil {
		t.Errorf("rules accepted though invalid: %+v", r)
	}
	if c.Server.Listen == "" || c.Server.SpoolDir == "" {
		t.Errorf("server defaults missing: %+v", c.Server)
	}
	// Validation is a function of the config: asking again must agree.
	if err := c.clone().validate(nil); err != nil {
		t.Errorf("an accepted config fails validation when asked again: %v", err)
	}
}

// fuzzConfigView is a Config with what reflect.DeepEqual cannot compare across a
// Marshal replaced: source settings by their re-encoded YAML (node positions
// differ), compiled patterns dropped.
type fuzzConfigView struct {
	Store   Store
	Sources []fuzzSourceView
	Teams   []Team
	Rules   Rules
	Server  Server
	Path    string
}

type fuzzSourceView struct {
	Name     string
	Interval Duration
	Type     string
	Settings string
}

func fuzzView(c *Config) fuzzConfigView {
	v := fuzzConfigView{Store: c.Store, Rules: c.Rules, Server: c.Server, Path: c.Path}
	v.Rules.production, v.Rules.bots, v.Rules.hotfix = nil, nil, nil
	for _, s := range c.Sources {
		settings := "<none>"
		if n := resolve(&s.Settings); n != nil {
			b, err := yaml.Marshal(expand(n))
			if err != nil {
				settings = "<unencodable: " + err.Error() + ">"
			} else {
				settings = string(b)
			}
		}
		v.Sources = append(v.Sources, fuzzSourceView{s.Name, s.Interval, s.Type, settings})
	}
	for _, tm := range c.Teams {
		tm.production = nil
		v.Teams = append(v.Teams, tm)
	}
	return v
}
