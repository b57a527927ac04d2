package config

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

var (
	sourceName   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	databaseName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// never matches no string at all; it stands in for a pattern that does not compile in a
// Config that was built in code rather than loaded.
var never = regexp.MustCompile(`[^\x00-\x{10FFFF}]`)

// compileOrNever compiles expr (case-insensitively if ci) for accessors on Configs
// that were not validated.
func compileOrNever(expr string, ci bool) *regexp.Regexp {
	if ci {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return never
	}
	return re
}

// pathMatch is path.Match, named so that validation and matching use the same
// syntax.
func pathMatch(pattern, name string) (bool, error) { return path.Match(pattern, name) }

// validator collects problems and reports the first in file order, so the message
// does not depend on the order checks are written in.
type validator struct {
	file  string
	lines map[string]int
	errs  []*Error
}

func (v *validator) add(field, format string, args ...any) {
	v.addAt(lineOf(v.lines, field), field, format, args...)
}

func (v *validator) addAt(line int, field, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) first() error {
	if len(v.errs) == 0 {
		return nil
	}
	// Line 0 (unknown) sorts last; SortStableFunc keeps check order among equals.
	slices.SortStableFunc(v.errs, func(a, b *Error) int {
		return cmp.Compare(sortLine(a.Line), sortLine(b.Line))
	})
	return v.errs[0]
}

func sortLine(l int) int {
	if l <= 0 {
		return int(^uint(0) >> 1)
	}
	return l
}

// regex compiles expr for field, recording a problem if it does not compile; the
// message quotes the regexp package without its prefix.
func (v *validator) regex(field, expr string, ci bool) *regexp.Regexp {
	if _, err := regexp.Compile(expr); err != nil {
		v.add(field, "invalid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		return nil
	}
	if ci {
		expr = "(?i)" + expr
	}
	return regexp.MustCompile(expr)
}

func (v *validator) entries(field string, list []string) {
	for i, s := range list {
		if strings.TrimSpace(s) == "" {
			v.add(fmt.Sprintf("%s[%d]", field, i), "empty entry")
		}
	}
}

// validate checks what decoding cannot: required and unique names, references,
// patterns and ranges. It compiles the patterns as it goes.
func (c *Config) validate(lines map[string]int) error {
	v := &validator{file: c.Path, lines: lines}
	c.validateStore(v)
	c.validateSources(v)
	c.validateTeams(v)
	c.validateRules(v)
	c.validateFlow(v)
	c.validateGrafana(v)
	c.validatePages(v)
	if host, port, err := net.SplitHostPort(c.Server.Listen); err != nil || !validPort(port) {
		_ = host
		v.add("server.listen", "want host:port or :port, got %q", c.Server.Listen)
	}
	if c.Server.MaxSpoolAge.Duration <= 0 {
		v.add("server.max_spool_age", "must be positive, got %s", c.Server.MaxSpoolAge)
	}
	if c.Log.Level != "" {
		if _, err := ParseLogLevel(c.Log.Level); err != nil {
			v.add("log.level", "%v", err)
		}
	}
	if err := CheckLogFormat(c.Log.Format); err != nil {
		v.add("log.format", "%v", err)
	}
	return v.first()
}

// macro matches a {name} macro of a replica path.
var macro = regexp.MustCompile(`\{[^{}]+\}`)

// hasServerMacro says whether a replica path holds a macro besides the ones
// flowmeter fills in ({database}, {table}): one the servers define per shard.
func hasServerMacro(path string) bool {
	for _, m := range macro.FindAllString(path, -1) {
		if m != "{database}" && m != "{table}" {
			return true
		}
	}
	return false
}

func (c *Config) validateStore(v *validator) {
	st := c.Store
	if st.SQLite != nil && st.ClickHouse != nil {
		v.addAt(max(lineOf(v.lines, "store.sqlite"), lineOf(v.lines, "store.clickhouse")),
			"store", "give exactly one of sqlite or clickhouse, not both")
	}
	if s := st.SQLite; s != nil && strings.TrimSpace(s.Path) == "" {
		v.add("store.sqlite.path", "is required")
	}
	ch := st.ClickHouse
	if ch == nil {
		return
	}
	if len(ch.Addrs) > 0 {
		if ch.Addr != "" {
			v.add("store.clickhouse.addrs", "give addr or addrs, not both")
		}
		seen := map[string]bool{}
		for i, a := range ch.Addrs {
			field := fmt.Sprintf("store.clickhouse.addrs[%d]", i)
			switch {
			case !hostPort(a):
				v.add(field, "want host:port, got %q", a)
			case seen[a]:
				v.add(field, "duplicate address %q", a)
			}
			seen[a] = true
		}
	} else if !hostPort(ch.Addr) {
		v.add("store.clickhouse.addr", "want host:port, got %q", ch.Addr)
	}
	switch ch.ConnOpenStrategy {
	case "":
	case "in_order", "round_robin":
		if len(ch.Addrs) < 2 {
			// One server leaves nothing to choose between: it would be ignored.
			v.add("store.clickhouse.conn_open_strategy", "only applies with two or more addrs")
		}
	default:
		v.add("store.clickhouse.conn_open_strategy", `must be "in_order" or "round_robin", got %q`, ch.ConnOpenStrategy)
	}
	if ch.Cluster != "" && !databaseName.MatchString(ch.Cluster) {
		v.add("store.clickhouse.cluster", "invalid cluster name %q: use letters, digits and _, not starting with a digit", ch.Cluster)
	}
	for _, f := range []struct{ key, val string }{
		{"replica_path", ch.ReplicaPath},
		{"replica_name", ch.ReplicaName},
	} {
		switch {
		case f.val == "":
		case ch.Cluster == "":
			v.add("store.clickhouse."+f.key, "only applies with cluster")
		case strings.ContainsAny(f.val, "'\\`") || strings.ContainsFunc(f.val, unicode.IsControl):
			// Spliced into a quoted DDL string, so these could end the quote.
			v.add("store.clickhouse."+f.key, "must not contain quotes, backslashes or control characters: %q", f.val)
		}
	}
	if p := ch.ReplicaPath; p != "" && ch.Cluster != "" {
		switch {
		case !strings.HasPrefix(p, "/"):
			v.add("store.clickhouse.replica_path", "must start with /, got %q", p)
		case !strings.Contains(p, "{table}"):
			// Without it every table would share one path in ZooKeeper.
			v.add("store.clickhouse.replica_path", "must contain {table}, got %q", p)
		case !hasServerMacro(p):
			// Without a macro that differs between shards ({shard}, or however the
			// servers name it), every shard would join one replication group and
			// each row be read once per shard.
			v.add("store.clickhouse.replica_path", "must contain a macro of the servers' own, such as {shard}, got %q", p)
		}
	}
	if !databaseName.MatchString(ch.Database) {
		v.add("store.clickhouse.database", "invalid database name %q: use letters, digits and _, not starting with a digit", ch.Database)
	}
	if ch.PasswordEnv != "" && ch.PasswordFile != "" {
		v.add("store.clickhouse.password_file", "give at most one of password_env and password_file")
	}
	if ch.PasswordEnv != "" && !envName.MatchString(ch.PasswordEnv) {
		// Not echoed: it may be the password itself, pasted in the wrong place.
		v.add("store.clickhouse.password_env", "not a valid environment variable name; name the variable that holds the password, never the password itself")
	}
	if ch.DialTimeout.Duration <= 0 {
		v.add("store.clickhouse.dial_timeout", "must be positive, got %s", ch.DialTimeout)
	}
}

// hostPort says whether s is host:port with a host and a valid port.
func hostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	return err == nil && host != "" && validPort(port)
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

func (c *Config) validateSources(v *validator) {
	seen := make(map[string]bool)
	for i, s := range c.Sources {
		at := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Name == "":
			v.add(at+".name", "is required")
		case !sourceName.MatchString(s.Name):
			v.add(at+".name", "invalid name %q: use lower-case letters, digits, - and _, starting with a letter or digit", s.Name)
		case seen[s.Name]:
			v.add(at+".name", "duplicate source %q", s.Name)
		}
		seen[s.Name] = true
		if s.Interval.Duration <= 0 {
			v.add(at+".interval", "must be positive, got %s", s.Interval)
		}
	}
}

func (c *Config) validateTeams(v *validator) {
	seen := make(map[string]bool)
	mappedBy := map[string]string{} // incident service → the team whose map has it
	for i := range c.Teams {
		t := &c.Teams[i]
		at := fmt.Sprintf("teams[%d]", i)
		switch {
		case strings.TrimSpace(t.Name) == "":
			v.add(at+".name", "is required")
		case strings.ContainsFunc(t.Name, unicode.IsControl):
			// Every fact carries it, and no store takes control characters in names.
			v.add(at+".name", "contains a control character: %q", t.Name)
		case seen[t.Name]:
			v.add(at+".name", "duplicate team %q", t.Name)
		}
		seen[t.Name] = true
		for j, r := range t.Repositories {
			field := fmt.Sprintf("%s.repositories[%d]", at, j)
			owner, repo, ok := strings.Cut(r, "/")
			if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
				v.add(field, `want "owner/repo" (globs allowed), got %q`, r)
				continue
			}
			if _, err := pathMatch(r, ""); err != nil {
				v.add(field, "invalid pattern %q: %v", r, err)
			}
		}
		v.entries(at+".services", t.Services)
		v.entries(at+".ticket_projects", t.TicketProjects)
		v.entries(at+".incident_services", t.IncidentServices)
		for _, from := range slices.Sorted(maps.Keys(t.IncidentServiceMap)) {
			to := t.IncidentServiceMap[from]
			switch {
			case strings.TrimSpace(from) == "":
				v.add(at+".incident_service_map", "empty incident service name")
			case strings.TrimSpace(to) == "":
				v.add(at+".incident_service_map", "incident service %q maps to no deployment service", from)
			case mappedBy[from] != "":
				v.add(at+".incident_service_map", "incident service %q is mapped by team %q too", from, mappedBy[from])
			}
			mappedBy[from] = t.Name
		}
		v.entries(at+".members", t.Members)
		t.production = nil
		if t.ProductionEnvironment != "" {
			t.production = v.regex(at+".production_environment", t.ProductionEnvironment, true)
		}
	}
}

func (c *Config) validateRules(v *validator) {
	r := &c.Rules
	r.production = v.regex("rules.production_environment", r.ProductionEnvironment, true)
	r.bots = make([]*regexp.Regexp, 0, len(r.BotPatterns))
	for i, p := range r.BotPatterns {
		if re := v.regex(fmt.Sprintf("rules.bot_patterns[%d]", i), p, false); re != nil {
			r.bots = append(r.bots, re)
		}
	}
	if r.FailureWindow.Duration <= 0 {
		v.add("rules.failure_window", "must be positive, got %s", r.FailureWindow)
	}
	v.entries("rules.hotfix_labels", r.HotfixLabels)
	r.hotfix = v.regex("rules.hotfix_pattern", r.HotfixPattern, false)
	v.entries("rules.bugfix_labels", r.BugfixLabels)
	if r.DORATable != "2023" && r.DORATable != "2021" {
		v.add("rules.dora_table", `must be "2023" or "2021", got %q`, r.DORATable)
	}
}
