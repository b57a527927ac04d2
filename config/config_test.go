package config

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// doc joins lines with newlines, so that line N of the document is argument N and
// expected line numbers can be read off the test source.
func doc(lines ...string) []byte {
	return []byte(strings.Join(lines, "\n") + "\n")
}

// view is a Config with the parts reflect.DeepEqual cannot compare meaningfully
// replaced: settings by their decoded value, compiled patterns dropped.
type view struct {
	Store   Store
	Sources []sourceView
	Teams   []Team
	Rules   Rules
	Server  Server
	Log     Log
	Path    string
}

type sourceView struct {
	Name     string
	Interval Duration
	Type     string
	Settings any
}

func viewOf(t *testing.T, c *Config) view {
	t.Helper()
	v := view{Store: c.Store, Rules: c.Rules, Server: c.Server, Log: c.Log, Path: c.Path}
	v.Rules.production, v.Rules.bots, v.Rules.hotfix = nil, nil, nil
	for _, s := range c.Sources {
		var settings any
		if err := s.Settings.Decode(&settings); err != nil {
			t.Fatalf("decode settings of %s: %v", s.Name, err)
		}
		v.Sources = append(v.Sources, sourceView{s.Name, s.Interval, s.Type, settings})
	}
	for _, tm := range c.Teams {
		tm.production = nil
		v.Teams = append(v.Teams, tm)
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	first, err := Parse(data, "testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := first.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/full.golden.yaml"
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./config -update to create it)", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("Marshal differs from %s (run with -update if intended):\n%s", golden, out)
	}
	second, err := Parse(out, "testdata/full.yaml")
	if err != nil {
		t.Fatalf("parse marshalled config: %v\n%s", err, out)
	}
	if a, b := viewOf(t, first), viewOf(t, second); !reflect.DeepEqual(a, b) {
		t.Errorf("round trip changed the config:\nfirst:  %+v\nsecond: %+v", a, b)
	}
	// Spot checks that the full file was really read, so equal-but-empty cannot pass.
	if got := first.Sources[2].Interval.Duration; got != 7*24*time.Hour {
		t.Errorf("sources[2].interval = %v, want 168h", got)
	}
	if got := first.Store.ClickHouse.Addr; got != "clickhouse.internal:9440" {
		t.Errorf("clickhouse addr = %q", got)
	}
	if got := first.Teams[1].Members; !reflect.DeepEqual(got, []string{"ana", "bo"}) {
		t.Errorf("alias members = %v", got)
	}
	if got, want := first.Sources[1].Errorf("unknown source type %q", "jira").Error(), `testdata/full.yaml:21: sources[1].jira: unknown source type "jira"`; got != want {
		t.Errorf("Source.Errorf = %s, want %s", got, want)
	}
	if want := (Server{Listen: "0.0.0.0:9420", SpoolDir: "/var/lib/flowmeter/spool", MaxSpoolAge: Duration{15 * time.Minute}}); first.Server != want {
		t.Errorf("server = %+v, want %+v", first.Server, want)
	}
	if want := (Log{Level: "debug", Format: "json"}); first.Log != want {
		t.Errorf("log = %+v, want %+v", first.Log, want)
	}
	if first.Sources[3].Type != "webhook" || !isNull(&first.Sources[3].Settings) {
		t.Errorf("webhook source with null settings decoded as %q %v", first.Sources[3].Type, first.Sources[3].Settings)
	}
}

func TestMarshalFillsDefaultsOfHandBuiltConfig(t *testing.T) {
	var settings yaml.Node
	if err := yaml.Unmarshal([]byte("seed: 7\n"), &settings); err != nil {
		t.Fatal(err)
	}
	c := &Config{
		Store:   Store{SQLite: &SQLite{Path: "demo.db"}},
		Sources: []Source{{Name: "demo", Type: "synthetic", Settings: settings}},
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if c.Rules.BotPatterns != nil || c.Sources[0].Interval.Duration != 0 {
		t.Error("Marshal changed the config it was given")
	}
	got, err := Parse(out, "/srv/demo/flowmeter.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := []string{DefaultBotPattern}; !reflect.DeepEqual(got.Rules.BotPatterns, want) {
		t.Errorf("bot patterns = %q, want %q (zero Rules must mean defaults, not none)", got.Rules.BotPatterns, want)
	}
	if got.Store.SQLite.Path != filepath.FromSlash("/srv/demo/demo.db") {
		t.Errorf("sqlite path = %q, want it relative to the file it is written to", got.Store.SQLite.Path)
	}
	var s struct {
		Seed int `yaml:"seed"`
	}
	if err := got.Sources[0].DecodeSettings(&s); err != nil || s.Seed != 7 {
		t.Errorf("settings = %+v, %v; want seed 7", s, err)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse(doc(
		"sources:",
		"  - name: gh",
		"    github: {}",
		"teams:",
		"  - name: payments",
		"    services: []",
	), "/etc/flowmeter/flowmeter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	infer := true
	want := Rules{
		ProductionEnvironment:      `^(prod|production)([-_.].+)?$`,
		BotPatterns:                []string{`\[bot\]$`},
		FailureWindow:              Duration{24 * time.Hour},
		HotfixLabels:               []string{"hotfix"},
		HotfixPattern:              `(?i)^hotfix`,
		BugfixLabels:               []string{"bug"},
		DORATable:                  "2023",
		InferFailuresFromIncidents: &infer,
	}
	got := c.Rules
	got.production, got.bots, got.hotfix = nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules = %+v\nwant    %+v", got, want)
	}
	if c.Store.ClickHouse != nil || c.Store.SQLite == nil || c.Store.SQLite.Path != filepath.FromSlash("/etc/flowmeter/flowmeter.db") {
		t.Errorf("store = %+v %+v, want sqlite at /etc/flowmeter/flowmeter.db", c.Store.SQLite, c.Store.ClickHouse)
	}
	if got := c.Sources[0].Interval.Duration; got != 15*time.Minute {
		t.Errorf("interval = %v, want 15m", got)
	}
	if c.Teams[0].Services != nil {
		t.Errorf("empty services = %#v, want nil", c.Teams[0].Services)
	}
	if c.Path != "/etc/flowmeter/flowmeter.yaml" {
		t.Errorf("Path = %q", c.Path)
	}
	// The listener is loopback only until the operator opens it up.
	if want := (Server{Listen: "127.0.0.1:9420", SpoolDir: "spool", MaxSpoolAge: Duration{5 * time.Minute}}); c.Server != want {
		t.Errorf("server = %+v, want %+v", c.Server, want)
	}
	// No level: each command keeps its own default.
	if want := (Log{Format: "text"}); c.Log != want {
		t.Errorf("log = %+v, want %+v", c.Log, want)
	}

	ch, err := Parse(doc("store:", "  clickhouse:"), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wantCH := &ClickHouse{Addr: "127.0.0.1:9000", Database: "flowmeter", Username: "default", DialTimeout: Duration{5 * time.Second}}
	if ch.Store.SQLite != nil || !reflect.DeepEqual(ch.Store.ClickHouse, wantCH) {
		t.Errorf("bare clickhouse: = %+v (sqlite %v), want %+v", ch.Store.ClickHouse, ch.Store.SQLite, wantCH)
	}

	off, err := Parse(doc("rules:", "  bot_patterns: []"), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if off.Rules.BotPatterns == nil || len(off.Rules.BotPatterns) != 0 || off.Rules.IsBot("renovate[bot]") {
		t.Errorf("explicit empty bot_patterns = %#v; want it kept empty and no bots", off.Rules.BotPatterns)
	}

	empty, err := Parse(nil, "empty.yaml")
	if err != nil {
		t.Fatalf("empty file: %v", err)
	}
	if empty.Store.SQLite == nil || empty.Rules.DORATable != "2023" {
		t.Errorf("empty file did not get defaults: %+v", empty)
	}
}

func TestSQLitePath(t *testing.T) {
	abs := filepath.FromSlash("/var/lib/flowmeter/x.db")
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, path, want string
	}{
		{"/etc/fm/flowmeter.yaml", "data/x.db", "/etc/fm/data/x.db"},
		{"/etc/fm/flowmeter.yaml", "../x.db", "/etc/x.db"},
		{"/etc/fm/flowmeter.yaml", "", "/etc/fm/flowmeter.db"},
		{"/etc/fm/flowmeter.yaml", abs, abs},
		{"/etc/fm/flowmeter.yaml", "':memory:'", ":memory:"},
		{"conf/flowmeter.yaml", "x.db", filepath.Join(cwd, "conf", "x.db")},
		{"flowmeter.yaml", "x.db", filepath.Join(cwd, "x.db")},
	}
	for _, tt := range tests {
		var in []byte
		if tt.path == "" {
			in = doc("store:", "  sqlite:")
		} else {
			in = doc("store:", "  sqlite:", "    path: "+tt.path)
		}
		c, err := Parse(in, tt.file)
		if err != nil {
			t.Errorf("%s %q: %v", tt.file, tt.path, err)
			continue
		}
		if got, want := c.Store.SQLite.Path, filepath.FromSlash(tt.want); got != want {
			t.Errorf("%s %q: path = %q, want %q", tt.file, tt.path, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"unknown top-level field", doc(
			"store:",
			"  sqlite: {}",
			"sorces: []",
		), `f.yaml:3: sorces: unknown field (did you mean "sources"?)`},
		{"unknown nested field", doc(
			"store:",
			"  clickhouse:",
			"    addr: localhost:9000",
			"    databse: x",
		), `f.yaml:4: store.clickhouse.databse: unknown field (did you mean "database"?)`},
		{"unknown field without a near miss", doc(
			"store:",
			"  clickhouse:",
			"    compression: lz4",
		), `f.yaml:3: store.clickhouse.compression: unknown field`},
		{"unknown field in a list item", doc(
			"teams:",
			"  - name: a",
			"  - name: b",
			"    repos: [acme/x]",
		), `f.yaml:4: teams[1].repos: unknown field (did you mean "repositories"?)`},
		{"inline secret", doc(
			"store:",
			"  clickhouse:",
			"    password: hunter2",
		), `f.yaml:3: store.clickhouse.password: unknown field; secrets are never written in the config: give "password_env" or "password_file"`},
		{"duplicate key", doc(
			"rules:",
			"  dora_table: '2021'",
			"  failure_window: 1h",
			"  dora_table: '2023'",
		), `f.yaml:4: rules.dora_table: duplicate key (first given on line 2)`},
		{"duration given a list", doc(
			"sources:",
			"  - name: gh",
			"    interval: [1]",
			"    github: {}",
		), `f.yaml:3: sources[0].interval: expected a duration, got a list`},
		{"unparsable duration", doc(
			"sources:",
			"  - name: gh",
			"    github: {}",
			"  - name: jira",
			"    jira: {}",
			"    interval: fast",
		), `f.yaml:6: sources[1].interval: cannot parse "fast" as a duration (use a number with a unit: 90s, 15m, 24h or 7d)`},
		{"bool given a word", doc(
			"store:",
			"  clickhouse:",
			"    tls: maybe",
		), `f.yaml:3: store.clickhouse.tls: cannot parse "maybe" as a boolean (true or false)`},
		{"string given a mapping", doc(
			"teams:",
			"  - name:",
			"      first: x",
		), `f.yaml:2: teams[0].name: expected a string, got a mapping`},
		{"list given a scalar", doc(
			"teams:",
			"  - name: a",
			"    members: ana",
		), `f.yaml:3: teams[0].members: expected a list, got a single value`},
		{"struct given a list", doc(
			"store:",
			"  - sqlite",
		), `f.yaml:1: store: expected a mapping, got a list`},
		{"document not a mapping", doc(
			"hello",
		), `f.yaml:1: expected a mapping, got a single value`},
		{"duplicate team", doc(
			"teams:",
			"  - name: payments",
			"  - name: checkout",
			"  - name: payments",
		), `f.yaml:4: teams[2].name: duplicate team "payments"`},
		{"duplicate source", doc(
			"sources:",
			"  - name: gh",
			"    github: {}",
			"  - name: gh",
			"    github: {}",
		), `f.yaml:4: sources[1].name: duplicate source "gh"`},
		{"missing team name points at the item", doc(
			"teams:",
			"  - name: a",
			"  - services: [x]",
		), `f.yaml:3: teams[1].name: is required`},
		{"missing source name", doc(
			"sources:",
			"  - github: {}",
		), `f.yaml:2: sources[0].name: is required`},
		{"bad source name", doc(
			"sources:",
			"  - name: My Source",
			"    github: {}",
		), `f.yaml:2: sources[0].name: invalid name "My Source": use lower-case letters, digits, - and _, starting with a letter or digit`},
		{"source without a type", doc(
			"sources:",
			"  - name: gh",
			"    interval: 5m",
		), `f.yaml:2: sources[0]: no source type: add one key naming the type (such as "github:") that holds its settings`},
		{"source with two types", doc(
			"sources:",
			"  - name: gh",
			"    github: {}",
			"    jira: {}",
		), `f.yaml:4: sources[0].jira: a source has exactly one type, and this one already has "github"`},
		{"empty source item", doc(
			"sources:",
			"  -",
		), `f.yaml:2: sources[0]: empty source: give a name and a type`},
		{"negative interval", doc(
			"sources:",
			"  - name: gh",
			"    github: {}",
			"    interval: -5m",
		), `f.yaml:4: sources[0].interval: must be positive, got -5m`},
		{"bad bot pattern", doc(
			"rules:",
			`  bot_patterns: ['\[bot\]$',`,
			`                 '[bot']`,
		), "f.yaml:3: rules.bot_patterns[1]: invalid regular expression: missing closing ]: `[bot`"},
		{"bad team production pattern", doc(
			"teams:",
			"  - name: a",
			"    production_environment: '(prod'",
		), "f.yaml:3: teams[0].production_environment: invalid regular expression: missing closing ): `(prod`"},
		{"bad hotfix pattern", doc(
			"rules:",
			"  hotfix_pattern: '*hotfix'",
		), "f.yaml:2: rules.hotfix_pattern: invalid regular expression: missing argument to repetition operator: `*`"},
		{"both store backends", doc(
			"store:",
			"  sqlite: {}",
			"  clickhouse:",
			"    addr: db:9000",
		), `f.yaml:3: store: give exactly one of sqlite or clickhouse, not both`},
		{"both store backends named without settings", doc(
			"store:",
			"  clickhouse:",
			"  sqlite:",
		), `f.yaml:3: store: give exactly one of sqlite or clickhouse, not both`},
		{"bad clickhouse database", doc(
			"store:",
			"  clickhouse:",
			"    database: flow-meter",
		), `f.yaml:3: store.clickhouse.database: invalid database name "flow-meter": use letters, digits and _, not starting with a digit`},
		{"bad clickhouse addr", doc(
			"store:",
			"  clickhouse:",
			"    addr: localhost",
		), `f.yaml:3: store.clickhouse.addr: want host:port, got "localhost"`},
		{"two password references", doc(
			"store:",
			"  clickhouse:",
			"    password_env: CH",
			"    password_file: /run/secrets/ch",
		), `f.yaml:4: store.clickhouse.password_file: give at most one of password_env and password_file`},
		{"bad repository", doc(
			"teams:",
			"  - name: a",
			"    repositories:",
			"      - acme/ok",
			"      - payments-api",
		), `f.yaml:5: teams[0].repositories[1]: want "owner/repo" (globs allowed), got "payments-api"`},
		{"bad repository glob", doc(
			"teams:",
			"  - name: a",
			"    repositories: ['acme/[pay']",
		), `f.yaml:3: teams[0].repositories[0]: invalid pattern "acme/[pay": syntax error in pattern`},
		{"empty member", doc(
			"teams:",
			"  - name: a",
			"    members:",
			"      - ana",
			"      - ''",
		), `f.yaml:5: teams[0].members[1]: empty entry`},
		{"control character in a team name", doc(
			"teams:",
			`  - name: "pay\tments"`,
		), `f.yaml:2: teams[0].name: contains a control character: "pay\tments"`},
		{"incident service mapped to nothing", doc(
			"teams:",
			"  - name: a",
			"    incident_service_map:",
			"      'Payments (PD)': ''",
		), `f.yaml:3: teams[0].incident_service_map: incident service "Payments (PD)" maps to no deployment service`},
		{"incident service mapped by two teams", doc(
			"teams:",
			"  - name: a",
			"    incident_service_map: {pd-pay: pay}",
			"  - name: b",
			"    incident_service_map: {pd-pay: checkout}",
		), `f.yaml:5: teams[1].incident_service_map: incident service "pd-pay" is mapped by team "a" too`},
		{"bad dora table", doc(
			"rules:",
			"  dora_table: 2022",
		), `f.yaml:2: rules.dora_table: must be "2023" or "2021", got "2022"`},
		{"first problem in file order wins", doc(
			"store:",
			"  clickhouse:",
			"    database: 1x",
			"rules:",
			"  dora_table: '1999'",
			"teams:",
			"  - name: a",
			"  - name: a",
		), `f.yaml:3: store.clickhouse.database: invalid database name "1x": use letters, digits and _, not starting with a digit`},
		{"syntax error", doc(
			"store:",
			"  sqlite:",
			"    path: a",
			"   bad: b",
		), `f.yaml:4: syntax error: did not find expected key`},
		{"syntax error on the first line", doc(
			"store: sqlite: x",
		), `f.yaml:1: syntax error: mapping values are not allowed in this context`},
		{"unclosed flow list", doc(
			"teams:",
			"  - name: a",
			"    members: [ana, bo",
			"  - name: b",
		), `f.yaml:3: syntax error: did not find expected ',' or ']'`},
		{"tab indentation", doc(
			"store:",
			"  sqlite:",
			"\tpath: x",
		), `f.yaml:3: syntax error: found character that cannot start any token (YAML does not allow tabs for indentation)`},
		{"two documents", doc(
			"store: {}",
			"---",
			"store: {}",
		), `f.yaml:2: a config file holds one YAML document, this is a second one`},
		{"merge key with unknown field reports the anchor's line", doc(
			"teams:",
			"  - &base",
			"    name: a",
			"    services: [x]",
			"  - <<: *base",
			"    name: b",
			"    memebers: [y]",
		), `f.yaml:7: teams[1].memebers: unknown field (did you mean "members"?)`},
		{"abbreviated field of the first team", doc(
			"teams:",
			"  - name: a",
			"    repos: [acme/x]",
		), `f.yaml:3: teams[0].repos: unknown field (did you mean "repositories"?)`},
		{"singular for plural", doc(
			"teams:",
			"  - name: a",
			"    repository: acme/x",
		), `f.yaml:3: teams[0].repository: unknown field (did you mean "repositories"?)`},
		{"camel case", doc(
			"teams:",
			"  - name: a",
			"    ticketProjects: [PAY]",
		), `f.yaml:3: teams[0].ticketProjects: unknown field (did you mean "ticket_projects"?)`},
		{"ambiguous abbreviation", doc(
			"teams:",
			"  - name: a",
			"    incident: [pay]",
		), `f.yaml:3: teams[0].incident: unknown field`},
		{"misspelt rule", doc(
			"rules:",
			"  infer_failure_from_incident: false",
		), `f.yaml:2: rules.infer_failure_from_incident: unknown field (did you mean "infer_failures_from_incidents"?)`},
		{"misspelt server field", doc(
			"server:",
			"  spool: /var/spool/flowmeter",
		), `f.yaml:2: server.spool: unknown field (did you mean "spool_dir"?)`},
		{"max_spool_age not positive", doc(
			"server:",
			"  listen: 127.0.0.1:9420",
			"  max_spool_age: -1m",
		), `f.yaml:3: server.max_spool_age: must be positive, got -1m`},
		{"unknown log level", doc(
			"log:",
			"  format: json",
			"  level: verbose",
		), `f.yaml:3: log.level: want debug, info, warn or error, got "verbose"`},
		{"log level in capitals", doc(
			"log:",
			"  level: DEBUG",
		), `f.yaml:2: log.level: want debug, info, warn or error, got "DEBUG"`},
		{"unknown log format", doc(
			"log:",
			"  format: logfmt",
		), `f.yaml:2: log.format: want text or json, got "logfmt"`},
		{"misspelt log field", doc(
			"log:",
			"  levle: debug",
		), `f.yaml:2: log.levle: unknown field (did you mean "level"?)`},
		{"misspelt store backend", doc(
			"store:",
			"  sqlite3: {}",
		), `f.yaml:2: store.sqlite3: unknown field (did you mean "sqlite"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in, "f.yaml")
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	teamFields := []string{"name", "repositories", "services", "ticket_projects", "incident_services",
		"incident_service_map", "members", "production_environment"}
	for _, tt := range []struct {
		name  string
		known []string
		want  string
	}{
		{"databse", []string{"addr", "database", "username"}, "database"},
		{"repos", teamFields, "repositories"},
		{"repo", teamFields, "repositories"},
		{"Members", teamFields, "members"},
		{"incident-services", teamFields, "incident_services"},
		{"incident", teamFields, ""}, // two fields begin so
		{"colour", teamFields, ""},
		{"x", teamFields, ""},
		{"", teamFields, ""},
		{"interval_minutes", []string{"name", "interval"}, "interval"},
		{"acme-githb", []string{"demo", "acme-github", "ci"}, "acme-github"},
		{"github", []string{"demo", "acme-github", "ci"}, ""},
		{"tls", []string{"url"}, ""},
	} {
		if got := Suggest(tt.name, tt.known); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMergeKeys(t *testing.T) {
	c, err := Parse(doc(
		"teams:",
		"  - &base",
		"    name: a",
		"    services: [x]",
		"    members: [ana]",
		"  - <<: *base",
		"    name: b",
		"    members: [bo]",
	), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b := c.Teams[1]
	if b.Name != "b" || !reflect.DeepEqual(b.Services, []string{"x"}) || !reflect.DeepEqual(b.Members, []string{"bo"}) {
		t.Errorf("merged team = %+v; want name b, services from the anchor, members overridden", b)
	}
}

func TestErrorFields(t *testing.T) {
	_, err := Parse(doc(
		"teams:",
		"  - name: a",
		"  - name: a",
	), "dir/flowmeter.yaml")
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *config.Error", err)
	}
	want := Error{File: "dir/flowmeter.yaml", Line: 3, Field: "teams[1].name", Msg: `duplicate team "a"`}
	if *ce != want {
		t.Errorf("error = %+v, want %+v", *ce, want)
	}
}

// settings stands for a source's own settings type.
type settings struct {
	TokenEnv      string   `yaml:"token_env"`
	TokenFile     string   `yaml:"token_file"`
	Organizations []string `yaml:"organizations"`
	PerPage       int      `yaml:"per_page"`
	Since         Duration `yaml:"since"`
	Workflows     []struct {
		Name        string `yaml:"name"`
		Environment string `yaml:"environment"`
	} `yaml:"deploy_workflows"`
	Labels map[string]string `yaml:"labels"`
	Common `yaml:",inline"`
}

type Common struct {
	BaseURL string `yaml:"base_url"`
}

func TestDecodeStrict(t *testing.T) {
	base := doc(
		"store:",                      // 1
		"  sqlite: {}",                // 2
		"sources:",                    // 3
		"  - name: other",             // 4
		"    synthetic: {}",           // 5
		"  - name: gh",                // 6
		"    github:",                 // 7
		"      token_env: GH_TOKEN",   // 8
		"      organizations: [acme]", // 9
		"      %s",                    // 10
	)
	tests := []struct {
		name, line10, want string
	}{
		{"valid", "per_page: 50", ""},
		{"unknown key", "organisations: [x]", `f.yaml:10: sources[1].github.organisations: unknown field (did you mean "organizations"?)`},
		{"number given text", `per_page: "abc"`, `f.yaml:10: sources[1].github.per_page: cannot parse "abc" as an integer`},
		{"number given a list", `per_page: [1]`, `f.yaml:10: sources[1].github.per_page: expected an integer, got a list`},
		{"inline secret", "token: ghp_abc", `f.yaml:10: sources[1].github.token: unknown field; secrets are never written in the config: give "token_env" or "token_file"`},
		{"nested list item", "deploy_workflows: [{name: d, env: prod}]", `f.yaml:10: sources[1].github.deploy_workflows[0].env: unknown field (did you mean "environment"?)`},
		{"duration", "since: soon", `f.yaml:10: sources[1].github.since: cannot parse "soon" as a duration (use a number with a unit: 90s, 15m, 24h or 7d)`},
		{"inline struct field is known", "base_url: https://ghe.example", ""},
		{"map values", "labels: {a: [1]}", `f.yaml:10: sources[1].github.labels.a: expected a string, got a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(strings.Replace(string(base), "%s", tt.line10, 1)), "f.yaml")
			if err != nil {
				t.Fatal(err)
			}
			src, ok := c.Source("gh")
			if !ok || src.Type != "github" {
				t.Fatalf("source gh = %+v, %v", src, ok)
			}
			var s settings
			err = src.DecodeSettings(&s)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.TokenEnv != "GH_TOKEN" || !reflect.DeepEqual(s.Organizations, []string{"acme"}) {
					t.Errorf("decoded %+v", s)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			// DecodeStrict on the same node with an explicit path agrees.
			err2 := DecodeStrict(&src.Settings, &settings{}, "f.yaml", "sources[1].github")
			if err2 == nil || err2.Error() != tt.want {
				t.Errorf("DecodeStrict = %v, want %s", err2, tt.want)
			}
		})
	}
}

func TestDecodeStrictEdges(t *testing.T) {
	var s settings
	s.PerPage = 30
	if err := DecodeStrict(nil, &s, "f.yaml", "x"); err != nil || s.PerPage != 30 {
		t.Errorf("nil node: %v, per_page %d; want no error and defaults kept", err, s.PerPage)
	}
	if err := DecodeStrict(&yaml.Node{}, &s, "f.yaml", "x"); err != nil || s.PerPage != 30 {
		t.Errorf("empty node: %v, per_page %d; want no error and defaults kept", err, s.PerPage)
	}
	if err := DecodeStrict(&yaml.Node{}, s, "f.yaml", "x"); err == nil {
		t.Error("non-pointer target accepted")
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("per_page: 5\n"), &n); err != nil {
		t.Fatal(err)
	}
	if err := DecodeStrict(&n, &s, "f.yaml", "x"); err != nil || s.PerPage != 5 {
		t.Errorf("document node: %v, per_page %d", err, s.PerPage)
	}
}

func TestDecodeStrictInlineMapAndMergeList(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc(
		"a: &a {name: x}",
		"b: &b {extra: 1}",
		"target:",
		"  <<: [*a, *b]",
		"  other: 2",
	), &n); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Target struct {
			Name string         `yaml:"name"`
			Rest map[string]int `yaml:",inline"`
		} `yaml:"target"`
		A, B map[string]any
	}
	if err := DecodeStrict(&n, &v, "f.yaml", ""); err != nil {
		t.Fatal(err)
	}
	if v.Target.Name != "x" || !reflect.DeepEqual(v.Target.Rest, map[string]int{"extra": 1, "other": 2}) {
		t.Errorf("decoded %+v; want name from the first merged map and the rest in the inline map", v.Target)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		text string
	}{
		{"7d", 7 * 24 * time.Hour, "7d"},
		{"1d", 24 * time.Hour, "1d"},
		{"48h", 48 * time.Hour, "2d"},
		{"36h", 36 * time.Hour, "36h"},
		{"15m", 15 * time.Minute, "15m"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"90s", 90 * time.Second, "1m30s"},
		{"1h0m30s", time.Hour + 30*time.Second, "1h0m30s"},
		{"250ms", 250 * time.Millisecond, "250ms"},
		{"0", 0, "0s"},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tt.in, err)
			continue
		}
		if d.Duration != tt.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, d.Duration, tt.want)
		}
		if got := d.String(); got != tt.text {
			t.Errorf("%q.String() = %q, want %q", tt.in, got, tt.text)
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("%q does not parse back: %v, %v", d.String(), back, err)
		}
	}
	for _, bad := range []string{"", "d", "7", "1.5d", "-1d", "7days", "fast", "99999999999999d"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, d)
		}
	}
}

func TestLoadSecrets(t *testing.T) {
	const secret = "s3cr3t-Value"
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("ch-password", "  "+secret+"\n")
	write("empty-password", "\n")
	t.Setenv("FM_TEST_CH_PASSWORD", secret)
	t.Setenv("FM_TEST_EMPTY", "")

	clickhouse := func(line string) string {
		return write("flowmeter.yaml", string(doc(
			"store:",
			"  clickhouse:",
			"    addr: db:9000",
			"    "+line,
		)))
	}
	tests := []struct {
		name, line, want string
		notExist         bool
	}{
		{"env set", "password_env: FM_TEST_CH_PASSWORD", "", false},
		{"file present, relative to the config", "password_file: ch-password", "", false},
		{"env unset", "password_env: FM_TEST_UNSET_VARIABLE", "flowmeter.yaml:4: store.clickhouse.password_env: environment variable FM_TEST_UNSET_VARIABLE is not set", false},
		{"env empty", "password_env: FM_TEST_EMPTY", "flowmeter.yaml:4: store.clickhouse.password_env: environment variable FM_TEST_EMPTY is empty", false},
		{"file missing", "password_file: missing", "flowmeter.yaml:4: store.clickhouse.password_file: cannot read secret file " + filepath.Join(dir, "missing") + ": no such file or directory", true},
		{"file empty", "password_file: empty-password", "flowmeter.yaml:4: store.clickhouse.password_file: secret file " + filepath.Join(dir, "empty-password") + " is empty", false},
		{"secret pasted as a variable name", "password_env: " + secret, "flowmeter.yaml:4: store.clickhouse.password_env: not a valid environment variable name; name the variable that holds the password, never the password itself", false},
		{"secret pasted inline", "password: " + secret, `flowmeter.yaml:4: store.clickhouse.password: unknown field; secrets are never written in the config: give "password_env" or "password_file"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := clickhouse(tt.line)
			c, err := Load(path)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.Store.ClickHouse.Password()
				if err != nil || got != secret {
					t.Errorf("Password() = %q, %v; want the secret", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			got := strings.Replace(err.Error(), path, "flowmeter.yaml", 1)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error contains the secret: %s", err)
			}
			if tt.notExist && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
			}
		})
	}

	// Parse alone does not look at the environment: the same text parses.
	if _, err := Parse(doc("store:", "  clickhouse:", "    password_env: FM_TEST_UNSET_VARIABLE"), "f.yaml"); err != nil {
		t.Errorf("Parse checked the environment: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "nope.yaml")); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want fs.ErrNotExist", err)
	}
}

func TestResolveSecret(t *testing.T) {
	const secret = "hunter2-xyz"
	dir := t.TempDir()
	file := filepath.Join(dir, "s")
	if err := os.WriteFile(file, []byte("\t"+secret+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FM_TEST_SECRET", secret)
	tests := []struct {
		name, env, file, want, wantErr string
	}{
		{"env", "FM_TEST_SECRET", "", secret, ""},
		{"file trimmed", "", file, secret, ""},
		{"both", "FM_TEST_SECRET", file, "", "give either an environment variable or a file for a secret, not both"},
		{"neither", "", "", "", "no secret given: name an environment variable or a file"},
		{"unset", "FM_TEST_NOPE", "", "", "environment variable FM_TEST_NOPE is not set"},
		{"missing file", "", filepath.Join(dir, "nope"), "", "cannot read secret file " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"value instead of a name", secret, "", "", "not a valid environment variable name; name the variable that holds the secret, never the secret itself"},
	}
	for _, tt := range tests {
		got, err := ResolveSecret(tt.env, tt.file)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("%s: = %q, %v; want %q", tt.name, got, err, tt.want)
			}
			continue
		}
		if err == nil || err.Error() != tt.wantErr {
			t.Errorf("%s: error = %v, want %s", tt.name, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error contains the secret: %v", tt.name, err)
		}
	}
}

func TestAccessors(t *testing.T) {
	c, err := Parse(doc(
		"teams:",
		"  - name: payments",
		"    repositories: [acme/payments-api, 'acme/pay-*']",
		"    production_environment: '^live$'",
		"  - name: checkout",
		"rules:",
		"  bot_patterns: ['\\[bot\\]$', '^ci-']",
	), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := c.Team("payments")
	if !ok || p.Name != "payments" {
		t.Fatalf("Team(payments) = %v, %v", p, ok)
	}
	if _, ok := c.Team("nope"); ok {
		t.Error("Team(nope) found")
	}
	for repo, want := range map[string]bool{"acme/payments-api": true, "ACME/Pay-Web": true, "acme/checkout": false, "other/pay-x": false} {
		if got := p.MatchRepository(repo); got != want {
			t.Errorf("MatchRepository(%q) = %v, want %v", repo, got, want)
		}
	}
	for _, tt := range []struct {
		team, env string
		want      bool
	}{
		{"payments", "LIVE", true},
		{"payments", "prod", false},
		{"checkout", "Production", true},
		{"checkout", "prod-eu", true},
		{"checkout", "production_us", true},
		{"checkout", "Prod.ap-1", true},
		{"checkout", "preprod", false},
		{"checkout", "prodigy", false},
		{"checkout", "production-", false},
		{"", "PROD", true},
	} {
		if got := c.Production(tt.team).MatchString(tt.env); got != tt.want {
			t.Errorf("Production(%q).MatchString(%q) = %v, want %v", tt.team, tt.env, got, tt.want)
		}
	}
	for login, want := range map[string]bool{"dependabot[bot]": true, "ci-runner": true, "ana": false} {
		if got := c.Rules.IsBot(login); got != want {
			t.Errorf("IsBot(%q) = %v, want %v", login, got, want)
		}
	}
	for ref, want := range map[string]bool{"HOTFIX/pay-1": true, "hotfix-2": true, "main": false} {
		if got := c.Rules.Hotfix().MatchString(ref); got != want {
			t.Errorf("Hotfix().MatchString(%q) = %v, want %v", ref, got, want)
		}
	}
	// A hand-built Rules (not loaded) still answers with the defaults.
	var r Rules
	if !r.Production().MatchString("PRODUCTION") || !r.IsBot("renovate[bot]") || !r.Hotfix().MatchString("hotfix/x") {
		t.Error("zero Rules does not fall back to the default patterns")
	}
	if got, want := c.ResolvePath("x.db"), c.Store.SQLite.Path[:len(c.Store.SQLite.Path)-len("flowmeter.db")]+"x.db"; got != want {
		t.Errorf("ResolvePath(x.db) = %q, want %q", got, want)
	}
}

func TestExampleLoads(t *testing.T) {
	for _, env := range []string{"CLICKHOUSE_PASSWORD", "GITHUB_TOKEN", "JIRA_API_TOKEN", "PAGERDUTY_TOKEN", "WEBHOOK_SECRET"} {
		t.Setenv(env, "example-"+strings.ToLower(env))
	}
	c, err := Load("../examples/flowmeter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) == 0 || len(c.Teams) == 0 {
		t.Errorf("example has %d sources and %d teams; it should show both", len(c.Sources), len(c.Teams))
	}
	for _, s := range c.Sources {
		var m map[string]any
		if err := s.DecodeSettings(&m); err != nil {
			t.Errorf("source %s: %v", s.Name, err)
		}
	}
	// The example documents the defaults: loading it must give the same rules as
	// leaving them out.
	defaults, err := Parse(nil, "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, want := c.Rules, defaults.Rules
	got.production, got.bots, got.hotfix = nil, nil, nil
	want.production, want.bots, want.hotfix = nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("example rules %+v differ from the defaults %+v", got, want)
	}
	// So do its flow types and toil rules.
	for i := range c.Toil.Rules {
		c.Toil.Rules[i].title = nil
	}
	if !reflect.DeepEqual(c.Toil, defaults.Toil) || !reflect.DeepEqual(c.Flow.Types, defaults.Flow.Types) {
		t.Errorf("example toil %+v and flow types %+v differ from the defaults %+v and %+v", c.Toil, c.Flow.Types, defaults.Toil, defaults.Flow.Types)
	}
}
