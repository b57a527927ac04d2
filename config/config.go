// Package config loads flowmeter.yaml: it decodes strictly, applies defaults and
// validates, and every problem it finds is an *Error naming the file, line and field,
// so that a bad config stops start-up with a message that says where to look.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Defaults, exported so that documentation, tests and generated configs agree with
// the loader.
const (
	DefaultSQLitePath            = "flowmeter.db"
	DefaultClickHouseAddr        = "127.0.0.1:9000"
	DefaultClickHouseDatabase    = "flowmeter"
	DefaultClickHouseUsername    = "default"
	DefaultConnOpenStrategy      = "in_order"
	DefaultReplicaPath           = "/clickhouse/tables/{shard}/{database}/{table}"
	DefaultReplicaName           = "{replica}"
	DefaultDialTimeout           = "5s"
	DefaultInterval              = "15m"
	DefaultProductionEnvironment = `^(prod|production)([-_.].+)?$`
	DefaultBotPattern            = `\[bot\]$`
	DefaultFailureWindow         = "24h"
	DefaultHotfixLabel           = "hotfix"
	DefaultHotfixPattern         = `(?i)^hotfix`
	DefaultBugfixLabel           = "bug"
	DefaultDORATable             = "2023"
	DefaultListen                = "127.0.0.1:9420"
	DefaultSpoolDir              = "spool"
	DefaultMaxSpoolAge           = "5m"
	DefaultLogFormat             = "text"
)

// Config is the whole of flowmeter.yaml after defaults, the one value every
// subcommand is wired from.
type Config struct {
	// Store is where records and facts are kept.
	Store Store `yaml:"store"`
	// Sources are the collectors to run, in file order.
	Sources []Source `yaml:"sources,omitempty"`
	// Teams map repositories, services, projects and people to teams.
	Teams []Team `yaml:"teams,omitempty"`
	// Rules are the classification choices the metric definitions leave to the operator.
	Rules Rules `yaml:"rules"`
	// Flow maps ticket statuses to flow states and tickets to flow types.
	Flow Flow `yaml:"flow"`
	// Toil says which work is toil and sorts it into categories.
	Toil Toil `yaml:"toil"`
	// Server is the listener of `flowmeter run`: /metrics, health and webhooks.
	Server Server `yaml:"server"`
	// Log sets how much the long-running commands log, and in which format.
	Log Log `yaml:"log"`
	// Grafana is where `flowmeter dashboards push` sends the dashboards.
	Grafana Grafana `yaml:"grafana,omitempty"`
	// Privacy "teams-only" names teams instead of people in every output.
	Privacy string `yaml:"privacy,omitempty"`
	// Path is the file the config came from, so relative paths in source settings
	// can be resolved against its directory; it is not part of the YAML.
	Path string `yaml:"-"`
}

// Server configures the HTTP listener of `flowmeter run`.
type Server struct {
	// Listen is the address to listen on; the default, loopback only, exposes
	// nothing to the network until the operator chooses to.
	Listen string `yaml:"listen"`
	// SpoolDir keeps webhook events accepted while the store was unreachable, until
	// they are written; relative to the config file (see ResolvePath); default "spool".
	SpoolDir string `yaml:"spool_dir"`
	// MaxSpoolAge is how long a spooled batch may wait for the store before /readyz
	// reports the daemon not ready, so that a store refusing writes is noticed.
	MaxSpoolAge Duration `yaml:"max_spool_age"`
	// Auth guards the report pages; required when Listen is not a loopback
	// address.
	Auth PagesAuth `yaml:"auth,omitempty"`
}

// Log configures the log lines of `flowmeter run` and the other long-running
// commands.
type Log struct {
	// Level is the least severe level logged: debug, info, warn or error. Empty
	// leaves it to each command: info for run, which has no other output; warn for
	// the commands that print their own summary.
	Level string `yaml:"level,omitempty"`
	// Format is text (logfmt) or json, for log pipelines that parse JSON.
	Format string `yaml:"format"`
}

// ParseLogLevel reads a log level as the config and the --log-level flag write it,
// so that both accept the same four words.
func ParseLogLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("want debug, info, warn or error, got %q", s)
}

// CheckLogFormat accepts the log formats the config and the --log-format flag take.
func CheckLogFormat(s string) error {
	if s != "text" && s != "json" {
		return fmt.Errorf("want text or json, got %q", s)
	}
	return nil
}

// Store selects the one backend records are kept in; when neither is given the
// embedded SQLite store is used, so a minimal config runs without ClickHouse.
type Store struct {
	// SQLite is the embedded store.
	SQLite *SQLite `yaml:"sqlite,omitempty"`
	// ClickHouse is the production store, needed by the Grafana dashboards.
	ClickHouse *ClickHouse `yaml:"clickhouse,omitempty"`
}

// SQLite configures the embedded store.
type SQLite struct {
	// Path is the database file; after loading, a relative path has been resolved
	// against the config file's directory so it does not depend on the working
	// directory.
	Path string `yaml:"path"`
}

// ClickHouse configures the production store; its password is given only by
// reference so the config file can be committed.
type ClickHouse struct {
	// Addr is the native-protocol address, host:port.
	Addr string `yaml:"addr,omitempty"`
	// Addrs lists several servers instead of Addr, so that flowmeter fails over to
	// the next one when a server is down.
	Addrs []string `yaml:"addrs,omitempty"`
	// ConnOpenStrategy picks which of Addrs a new connection tries first: "in_order"
	// (the first that answers) or "round_robin" (spreading connections over them).
	ConnOpenStrategy string `yaml:"conn_open_strategy,omitempty"`
	// Cluster names the remote_servers cluster to create the tables on; it turns on
	// replicated local tables behind Distributed ones. Empty means one server.
	Cluster string `yaml:"cluster,omitempty"`
	// ReplicaPath is the ZooKeeper path of each replicated table; {shard} and
	// {replica} are the servers' macros, {database} and {table} filled in by flowmeter.
	ReplicaPath string `yaml:"replica_path,omitempty"`
	// ReplicaName names this server's replica; default the {replica} macro.
	ReplicaName string `yaml:"replica_name,omitempty"`
	// Database holds flowmeter's tables; it is an identifier because it is spliced
	// into DDL.
	Database string `yaml:"database"`
	// Username is the ClickHouse user.
	Username string `yaml:"username"`
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string `yaml:"password_env,omitempty"`
	// PasswordFile names the file holding the password.
	PasswordFile string `yaml:"password_file,omitempty"`
	// TLS turns on TLS to the server.
	TLS bool `yaml:"tls"`
	// DialTimeout bounds connecting to the server.
	DialTimeout Duration `yaml:"dial_timeout"`
}

// Servers is Addrs, or Addr alone when Addrs is empty.
func (c *ClickHouse) Servers() []string {
	if len(c.Addrs) > 0 {
		return c.Addrs
	}
	return []string{c.Addr}
}

// Password reads the password the config refers to, at the moment it is needed, so
// the secret itself is never held in the Config; no reference means no password.
func (c *ClickHouse) Password() (string, error) {
	if c.PasswordEnv == "" && c.PasswordFile == "" {
		return "", nil
	}
	return ResolveSecret(c.PasswordEnv, c.PasswordFile)
}

// Source is one collector instance. Its settings stay raw YAML because sources are
// plugins registered elsewhere: config does not know their types, and each source
// decodes its own settings with DecodeSettings.
type Source struct {
	// Name identifies the instance in records, cursors and logs.
	Name string `yaml:"name"`
	// Interval is the time between collections.
	Interval Duration `yaml:"interval"`
	// Type is the source type, the one key of the entry besides name and interval.
	Type string `yaml:"-"`
	// Settings is that key's value, for the source to decode.
	Settings yaml.Node `yaml:"-"`

	file, path string
	line       int
}

// DecodeSettings decodes the source's settings into v (a pointer) strictly, reporting
// unknown keys and wrong types with their line in the config file.
func (s *Source) DecodeSettings(v any) error {
	path := s.path
	if path == "" {
		path = joinKey("sources", s.Type)
	}
	return DecodeStrict(&s.Settings, v, s.file, path)
}

// Errorf reports a problem with the source as an *Error located at its type key, so
// that the source registry (for an unknown type, say) points at the line as config
// does.
func (s *Source) Errorf(format string, args ...any) error {
	path := s.path
	if path == "" {
		path = joinKey("sources", s.Type)
	}
	return &Error{File: s.file, Line: s.line, Field: path, Msg: fmt.Sprintf(format, args...)}
}

func (s *Source) decodeNode(d *decoder, n *yaml.Node, path string, line int) error {
	if isNull(n) {
		return d.errorf(line, path, "empty source: give a name and a type")
	}
	if n.Kind != yaml.MappingNode {
		return d.errorf(line, path, "expected a mapping, got %s", nodeKindName(n))
	}
	pairs, err := d.pairs(n, path, 0)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		key := p.key.Value
		child := joinKey(path, key)
		d.lines[child] = p.key.Line
		switch key {
		case "name":
			err = d.decode(p.val, reflect.ValueOf(&s.Name).Elem(), child, p.key.Line, 1)
		case "interval":
			err = d.decode(p.val, reflect.ValueOf(&s.Interval).Elem(), child, p.key.Line, 1)
		default:
			if s.Type != "" {
				return d.errorf(p.key.Line, child, "a source has exactly one type, and this one already has %q", s.Type)
			}
			s.Type = key
			if v := resolve(p.val); v != nil {
				s.Settings = *v
			}
			s.file, s.path, s.line = d.file, child, p.key.Line
		}
		if err != nil {
			return err
		}
	}
	if s.Type == "" {
		return d.errorf(line, path, `no source type: add one key naming the type (such as "github:") that holds its settings`)
	}
	return nil
}

// MarshalYAML writes the type key holding the settings, the shape Parse reads.
func (s Source) MarshalYAML() (any, error) {
	if s.Type == "" {
		return nil, fmt.Errorf("config: source %q has no type", s.Name)
	}
	n := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, v *yaml.Node) {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	}
	add("name", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.Name})
	if s.Interval.Duration != 0 {
		add("interval", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.Interval.String()})
	}
	settings := resolve(&s.Settings)
	if settings == nil {
		settings = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	} else {
		settings = expand(settings)
	}
	add(s.Type, settings)
	return n, nil
}

// expand copies a node tree with aliases replaced by what they point to, and
// anchors and comments dropped, so settings can be written without the anchors
// defined elsewhere in the original file, and a comment cannot wander to another
// key when the copy is written out.
func expand(n *yaml.Node) *yaml.Node {
	n = resolve(n)
	c := *n
	c.Anchor = ""
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	c.Content = make([]*yaml.Node, 0, len(n.Content))
	for _, ch := range n.Content {
		c.Content = append(c.Content, expand(ch))
	}
	return &c
}

// Team is a group whose work is measured together; records are mapped to it by
// repository, service, ticket project, incident service and member.
type Team struct {
	// Name identifies the team on dashboards and reports.
	Name string `yaml:"name"`
	// Repositories are "owner/repo" names or path.Match globs such as "acme/pay-*".
	Repositories []string `yaml:"repositories,omitempty"`
	// Services are deployment service names.
	Services []string `yaml:"services,omitempty"`
	// TicketProjects are ticket project keys, such as Jira's "PAY".
	TicketProjects []string `yaml:"ticket_projects,omitempty"`
	// IncidentServices are incident-tool service names.
	IncidentServices []string `yaml:"incident_services,omitempty"`
	// IncidentServiceMap maps an incident-tool service name to the deployment
	// service it is, where the names differ (beyond case); a mapped incident service
	// belongs to the team too.
	IncidentServiceMap map[string]string `yaml:"incident_service_map,omitempty"`
	// Members are people's logins, for toil entries without a service.
	Members []string `yaml:"members,omitempty"`
	// ProductionEnvironment overrides Rules.ProductionEnvironment for this team.
	ProductionEnvironment string `yaml:"production_environment,omitempty"`
	// Calendar, when set, makes flow durations count the team's working hours.
	Calendar *Calendar `yaml:"calendar,omitempty"`

	production *regexp.Regexp
}

// MatchRepository reports whether repo ("owner/repo") is one of the team's, compared
// case-insensitively because GitHub names are.
func (t *Team) MatchRepository(repo string) bool {
	repo = strings.ToLower(repo)
	for _, p := range t.Repositories {
		if ok, _ := pathMatch(strings.ToLower(p), repo); ok {
			return true
		}
	}
	return false
}

// Rules are the classification choices the metric definitions (docs/metrics.md) leave
// to the operator; changing them and re-deriving rewrites history without collecting
// again.
type Rules struct {
	// ProductionEnvironment matches production deployment environments,
	// case-insensitively.
	ProductionEnvironment string `yaml:"production_environment"`
	// BotPatterns match logins of bots, excluded as authors and reviewers.
	BotPatterns []string `yaml:"bot_patterns"`
	// FailureWindow is how long after a deployment an incident or hotfix marks it
	// failed.
	FailureWindow Duration `yaml:"failure_window"`
	// HotfixLabels mark a deployment or PR as a hotfix.
	HotfixLabels []string `yaml:"hotfix_labels"`
	// HotfixPattern matches a deployment's ref to mark it a hotfix.
	HotfixPattern string `yaml:"hotfix_pattern"`
	// BugfixLabels mark a PR as a bug fix, for the rework rate.
	BugfixLabels []string `yaml:"bugfix_labels"`
	// DORATable is the year of the DORA tier table to grade with: "2023" or "2021".
	DORATable string `yaml:"dora_table"`
	// InferFailuresFromIncidents marks failed a production deployment followed by an
	// incident of its service within the failure window (incident_window). Nil means
	// the default, true; false keeps only named causes, rollbacks, reverts, hotfixes.
	InferFailuresFromIncidents *bool `yaml:"infer_failures_from_incidents"`

	production *regexp.Regexp
	bots       []*regexp.Regexp
	hotfix     *regexp.Regexp
}

// Production returns the production-environment pattern compiled case-insensitively,
// compiled once at load so derivations do not recompile it per deployment.
func (r Rules) Production() *regexp.Regexp {
	if r.production != nil {
		return r.production
	}
	return compileOrNever(orDefault(r.ProductionEnvironment, DefaultProductionEnvironment), true)
}

// InferFromIncidents says whether incidents mark failed the deployment before them
// by time alone (the incident_window reason).
func (r Rules) InferFromIncidents() bool {
	return r.InferFailuresFromIncidents == nil || *r.InferFailuresFromIncidents
}

// Hotfix returns the compiled pattern that marks a deployment's ref as a hotfix.
func (r Rules) Hotfix() *regexp.Regexp {
	if r.hotfix != nil {
		return r.hotfix
	}
	return compileOrNever(orDefault(r.HotfixPattern, DefaultHotfixPattern), false)
}

// IsBot reports whether a login matches one of the bot patterns, because bots are
// left out of pickup and review times.
func (r Rules) IsBot(login string) bool {
	if r.bots == nil && r.BotPatterns == nil {
		return compileOrNever(DefaultBotPattern, false).MatchString(login)
	}
	if r.bots == nil {
		for _, p := range r.BotPatterns {
			if compileOrNever(p, false).MatchString(login) {
				return true
			}
		}
		return false
	}
	for _, re := range r.bots {
		if re.MatchString(login) {
			return true
		}
	}
	return false
}

// Production returns the production-environment pattern for a team: its own
// override when it has one, else the rules' pattern, so derivations need not know
// which applies.
func (c *Config) Production(team string) *regexp.Regexp {
	if t, ok := c.Team(team); ok && t.ProductionEnvironment != "" {
		if t.production != nil {
			return t.production
		}
		return compileOrNever(t.ProductionEnvironment, true)
	}
	return c.Rules.Production()
}

// TeamNames lists the teams in config order, the order reports and /metrics use.
func (c *Config) TeamNames() []string {
	names := make([]string, len(c.Teams))
	for i, t := range c.Teams {
		names[i] = t.Name
	}
	return names
}

// Team finds a team by name, for mapping records and selecting report subjects.
func (c *Config) Team(name string) (*Team, bool) {
	for i := range c.Teams {
		if c.Teams[i].Name == name {
			return &c.Teams[i], true
		}
	}
	return nil, false
}

// Source finds a source instance by name, for commands that run one source.
func (c *Config) Source(name string) (*Source, bool) {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i], true
		}
	}
	return nil, false
}

// ResolvePath resolves a path written in the config against the config file's
// directory, the rule every relative path in flowmeter.yaml follows; sources use it
// for their own file settings.
func (c *Config) ResolvePath(p string) string {
	return resolvePath(c.Path, p)
}

// Load reads, decodes, defaults and validates a config file, and checks that the
// store's password reference resolves, so that `flowmeter config check` catches a
// missing secret before start-up does.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return nil, &Error{File: path, Msg: "cannot read config: " + msg, Err: err}
	}
	c, lines, err := parse(data, path)
	if err != nil {
		return nil, err
	}
	if ch := c.Store.ClickHouse; ch != nil && (ch.PasswordEnv != "" || ch.PasswordFile != "") {
		if _, err := ch.Password(); err != nil {
			field := "store.clickhouse.password_env"
			if ch.PasswordEnv == "" {
				field = "store.clickhouse.password_file"
			}
			return nil, &Error{File: path, Line: lineOf(lines, field), Field: field, Msg: err.Error(), Err: err}
		}
	}
	return c, nil
}

// Parse decodes, defaults and validates config text; file names it in errors and is
// the base of relative paths. Unlike Load it does not look at the environment or at
// secret files, so it is pure over its input.
func Parse(data []byte, file string) (*Config, error) {
	c, _, err := parse(data, file)
	return c, err
}

func parse(data []byte, file string) (*Config, map[string]int, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, syntaxError(file, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, nil, syntaxError(file, data, err)
		}
		return nil, nil, &Error{File: file, Line: extra.Line, Msg: "a config file holds one YAML document, this is a second one"}
	}
	d := newDecoder(file)
	c := &Config{Path: file}
	if err := d.decode(&doc, reflect.ValueOf(c).Elem(), "", 0, 0); err != nil {
		return nil, nil, err
	}
	c.applyDefaults(d.lines)
	c.resolvePaths()
	if err := c.validate(d.lines); err != nil {
		return nil, nil, err
	}
	return c, d.lines, nil
}

// syntaxError locates a YAML syntax error. yaml.v3 reports the line where the
// enclosing block began, or none on the first line, so the line is found again as
// the first line at which the text, cut there, fails the same way.
func syntaxError(file string, data []byte, err error) error {
	line, msg := splitYAMLLine(err.Error())
	if l := firstFailingLine(data, msg); l > 0 {
		line = l
	}
	if lines := bytes.Split(data, []byte("\n")); line > 0 && line <= len(lines) {
		text := lines[line-1]
		if indent := text[:len(text)-len(bytes.TrimLeft(text, " \t"))]; bytes.IndexByte(indent, '\t') >= 0 {
			msg += " (YAML does not allow tabs for indentation)"
		}
	}
	return &Error{File: file, Line: line, Msg: "syntax error: " + msg, Err: err}
}

// maxRescanLines bounds the quadratic rescan of firstFailingLine.
const maxRescanLines = 5000

func firstFailingLine(data []byte, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxRescanLines {
		return 0
	}
	var prefix []byte
	for i, l := range lines {
		prefix = append(prefix, l...)
		dec := yaml.NewDecoder(bytes.NewReader(prefix))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if err == nil {
				continue
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if _, m := splitYAMLLine(err.Error()); m == msg {
				return i + 1
			}
			break
		}
	}
	return 0
}

// Marshal writes the config as YAML that Parse reads back to an equal Config, with
// defaults written out; demo and init commands write generated configs with it.
func (c *Config) Marshal() ([]byte, error) {
	out := c.clone()
	out.applyDefaults(nil)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	return buf.Bytes(), nil
}

// clone copies everything applyDefaults may change, so Marshal leaves c alone.
func (c *Config) clone() *Config {
	out := *c
	if c.Store.SQLite != nil {
		s := *c.Store.SQLite
		out.Store.SQLite = &s
	}
	if c.Store.ClickHouse != nil {
		ch := *c.Store.ClickHouse
		ch.Addrs = append([]string(nil), ch.Addrs...)
		out.Store.ClickHouse = &ch
	}
	out.Sources = append([]Source(nil), c.Sources...)
	out.Teams = append([]Team(nil), c.Teams...)
	return &out
}

// applyDefaults fills in what the file left out. lines tells which keys were
// present, so that a backend named with no settings ("sqlite:") is selected.
func (c *Config) applyDefaults(lines map[string]int) {
	st := &c.Store
	if _, ok := lines["store.sqlite"]; ok && st.SQLite == nil {
		st.SQLite = &SQLite{}
	}
	if _, ok := lines["store.clickhouse"]; ok && st.ClickHouse == nil {
		st.ClickHouse = &ClickHouse{}
	}
	if st.SQLite == nil && st.ClickHouse == nil {
		st.SQLite = &SQLite{}
	}
	if s := st.SQLite; s != nil {
		s.Path = orDefault(s.Path, DefaultSQLitePath)
	}
	if ch := st.ClickHouse; ch != nil {
		if len(ch.Addrs) == 0 {
			ch.Addr = orDefault(ch.Addr, DefaultClickHouseAddr)
		}
		if len(ch.Addrs) > 1 {
			ch.ConnOpenStrategy = orDefault(ch.ConnOpenStrategy, DefaultConnOpenStrategy)
		}
		if ch.Cluster != "" {
			ch.ReplicaPath = orDefault(ch.ReplicaPath, DefaultReplicaPath)
			ch.ReplicaName = orDefault(ch.ReplicaName, DefaultReplicaName)
		}
		ch.Database = orDefault(ch.Database, DefaultClickHouseDatabase)
		ch.Username = orDefault(ch.Username, DefaultClickHouseUsername)
		ch.DialTimeout = durationOr(ch.DialTimeout, DefaultDialTimeout)
	}
	for i := range c.Sources {
		c.Sources[i].Interval = durationOr(c.Sources[i].Interval, DefaultInterval)
	}
	if len(c.Sources) == 0 {
		c.Sources = nil
	}
	if len(c.Teams) == 0 {
		c.Teams = nil
	}
	for i := range c.Teams {
		t := &c.Teams[i]
		for _, l := range []*[]string{&t.Repositories, &t.Services, &t.TicketProjects, &t.IncidentServices, &t.Members} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		if len(t.IncidentServiceMap) == 0 {
			t.IncidentServiceMap = nil
		}
	}
	// Lists default only when absent: an explicit [] switches the rule off.
	r := &c.Rules
	r.ProductionEnvironment = orDefault(r.ProductionEnvironment, DefaultProductionEnvironment)
	if r.BotPatterns == nil {
		r.BotPatterns = []string{DefaultBotPattern}
	}
	r.FailureWindow = durationOr(r.FailureWindow, DefaultFailureWindow)
	if r.HotfixLabels == nil {
		r.HotfixLabels = []string{DefaultHotfixLabel}
	}
	r.HotfixPattern = orDefault(r.HotfixPattern, DefaultHotfixPattern)
	if r.BugfixLabels == nil {
		r.BugfixLabels = []string{DefaultBugfixLabel}
	}
	r.DORATable = orDefault(r.DORATable, DefaultDORATable)
	if r.InferFailuresFromIncidents == nil {
		infer := true
		r.InferFailuresFromIncidents = &infer
	}
	c.Server.Listen = orDefault(c.Server.Listen, DefaultListen)
	c.Server.SpoolDir = orDefault(c.Server.SpoolDir, DefaultSpoolDir)
	c.Server.MaxSpoolAge = durationOr(c.Server.MaxSpoolAge, DefaultMaxSpoolAge)
	c.Log.Format = orDefault(c.Log.Format, DefaultLogFormat)
	c.applyFlowDefaults()
}

// resolvePaths makes file paths independent of the working directory.
func (c *Config) resolvePaths() {
	if s := c.Store.SQLite; s != nil && s.Path != ":memory:" && !strings.HasPrefix(s.Path, "file:") {
		s.Path = resolvePath(c.Path, s.Path)
	}
	if ch := c.Store.ClickHouse; ch != nil {
		ch.PasswordFile = resolvePath(c.Path, ch.PasswordFile)
	}
}

// resolvePath makes p absolute against the directory of configFile; absolute paths
// and "" are returned unchanged.
func resolvePath(configFile, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	joined := filepath.Join(filepath.Dir(configFile), p)
	if abs, err := filepath.Abs(joined); err == nil {
		return abs
	}
	return joined
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func durationOr(d Duration, def string) Duration {
	if d.Duration != 0 {
		return d
	}
	v, err := ParseDuration(def)
	if err != nil {
		panic("config: bad default duration " + def)
	}
	return v
}
