package jiratest

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// query is a parsed JQL search: a condition and the one ordering the fake serves.
type query struct {
	cond cond
}

// cond is a JQL condition over an issue; now and tz place date values.
type cond func(is *Issue) bool

// The date formats JQL accepts, read in the searching user's time zone: at best
// minute precision.
var jqlDateLayouts = []string{"2006/01/02 15:04", "2006-01-02 15:04", "2006/01/02", "2006-01-02"}

// parseJQL parses the subset of JQL the source sends: clauses `field op value`
// joined by AND, with parentheses, over project, key, updated, created, issuetype,
// status, labels and resolution; ops =, !=, >=, >, <=, <, in and not in; and an
// optional `ORDER BY updated ASC, key ASC`. Anything else is refused, as Jira
// refuses JQL it cannot parse, with a 400.
func parseJQL(s string, tz *time.Location) (*query, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, tz: tz}
	c, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.peekWord("order") {
		p.pos++
		if !p.acceptWord("by") {
			return nil, p.errorf("expecting 'by'")
		}
		want := []string{"updated", "asc", ",", "key", "asc"}
		for _, w := range want {
			if !p.acceptWord(w) {
				return nil, p.errorf("the fake orders only by 'updated ASC, key ASC'")
			}
		}
	}
	if p.pos != len(p.toks) {
		return nil, p.errorf("unexpected %q", p.toks[p.pos])
	}
	return &query{cond: c}, nil
}

type token struct {
	text   string
	quoted bool
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '"' || c == '\'':
			j := i + 1
			var b strings.Builder
			for j < len(s) && s[j] != c {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("Error in the JQL Query: unterminated string starting at character %d", i)
			}
			out = append(out, token{text: b.String(), quoted: true})
			i = j + 1
		case strings.ContainsRune("(),", rune(c)):
			out = append(out, token{text: string(c)})
			i++
		case c == '=' || c == '!' || c == '<' || c == '>':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			out = append(out, token{text: s[i:j]})
			i = j
		default:
			j := i
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || s[j] == '-' || s[j] == '_' || s[j] == '.') {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("Error in the JQL Query: the character '%c' is a reserved JQL character", c)
			}
			out = append(out, token{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

type parser struct {
	toks []token
	pos  int
	tz   *time.Location
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("Error in the JQL Query: "+format+" (at token %d)", append(args, p.pos)...)
}

func (p *parser) peekWord(w string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].quoted && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *parser) acceptWord(w string) bool {
	if p.peekWord(w) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expr() (cond, error) {
	first, err := p.term()
	if err != nil {
		return nil, err
	}
	conds := []cond{first}
	for p.acceptWord("and") {
		c, err := p.term()
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	if p.peekWord("or") {
		return nil, p.errorf("the fake does not serve OR")
	}
	return func(is *Issue) bool {
		for _, c := range conds {
			if !c(is) {
				return false
			}
		}
		return true
	}, nil
}

func (p *parser) term() (cond, error) {
	if p.acceptWord("(") {
		c, err := p.expr()
		if err != nil {
			return nil, err
		}
		if !p.acceptWord(")") {
			return nil, p.errorf("expecting ')'")
		}
		return c, nil
	}
	if p.pos >= len(p.toks) {
		return nil, p.errorf("expecting a field name")
	}
	field := strings.ToLower(p.toks[p.pos].text)
	p.pos++
	var op string
	switch {
	case p.acceptWord("in"):
		op = "in"
	case p.acceptWord("not"):
		if !p.acceptWord("in") {
			return nil, p.errorf("expecting 'in' after 'not'")
		}
		op = "not in"
	case p.pos < len(p.toks) && strings.Contains("= != >= > <= <", p.toks[p.pos].text) && !p.toks[p.pos].quoted:
		op = p.toks[p.pos].text
		p.pos++
	default:
		return nil, p.errorf("expecting an operator after '%s'", field)
	}
	var values []string
	if op == "in" || op == "not in" {
		if !p.acceptWord("(") {
			return nil, p.errorf("expecting '(' after '%s'", op)
		}
		for {
			if p.pos >= len(p.toks) {
				return nil, p.errorf("unterminated list")
			}
			values = append(values, p.toks[p.pos].text)
			p.pos++
			if p.acceptWord(")") {
				break
			}
			if !p.acceptWord(",") {
				return nil, p.errorf("expecting ',' or ')'")
			}
		}
	} else {
		if p.pos >= len(p.toks) {
			return nil, p.errorf("expecting a value after '%s'", op)
		}
		values = []string{p.toks[p.pos].text}
		p.pos++
	}
	switch field {
	case "updated", "created":
		if op == "in" || op == "not in" {
			return nil, p.errorf("the fake compares dates only")
		}
		bound, err := p.date(values[0])
		if err != nil {
			return nil, err
		}
		return func(is *Issue) bool {
			t := is.Updated
			if field == "created" {
				t = is.Created
			}
			return compare(t.Compare(bound), op)
		}, nil
	case "project", "key", "issuetype", "type", "status", "labels", "resolution":
		if !strings.Contains("= != in not in", op) {
			return nil, p.errorf("the operator '%s' is not supported by the '%s' field", op, field)
		}
		return func(is *Issue) bool {
			var have []string
			switch field {
			case "project":
				have = []string{is.Project}
			case "key":
				have = []string{is.Key}
			case "issuetype", "type":
				have = []string{is.Type}
			case "status":
				have = []string{is.Status}
			case "labels":
				have = is.Labels
			case "resolution":
				have = []string{is.Resolution}
			}
			match := false
			for _, h := range have {
				for _, v := range values {
					if strings.EqualFold(h, v) {
						match = true
					}
				}
			}
			if op == "=" || op == "in" {
				return match
			}
			return !match
		}, nil
	}
	return nil, fmt.Errorf("Field '%s' does not exist or you do not have permission to view it.", field)
}

// date reads a JQL date in the user's zone, refusing what Jira refuses (seconds,
// RFC 3339).
func (p *parser) date(v string) (time.Time, error) {
	for _, layout := range jqlDateLayouts {
		if t, err := time.ParseInLocation(layout, v, p.tz); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("Date value '%s' for field 'updated' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.", v)
}

func compare(c int, op string) bool {
	switch op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case ">=":
		return c >= 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	}
	return c < 0
}
