package config

import (
	"regexp"
	"strconv"
	"strings"
)

// Error is a problem in a configuration file, located by line and field path so that
// the person fixing it does not have to search for it; callers get it with errors.As.
type Error struct {
	// File is the configuration file's name as it was given to Load or Parse.
	File string
	// Line is the 1-based line of the offending key or value; 0 when unknown.
	Line int
	// Field is the dotted path of the field, such as "sources[0].interval".
	Field string
	// Msg says what is wrong, on one line, without any secret value.
	Msg string
	// Err is the underlying cause, if any, for errors.Is (for example fs.ErrNotExist).
	Err error
}

// Error formats the problem as one line, FILE:LINE: FIELD: message, the form editors
// and CI logs recognise as a clickable location.
func (e *Error) Error() string {
	var b strings.Builder
	file := e.File
	if file == "" {
		file = "<config>"
	}
	b.WriteString(file)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(oneLine(e.Msg))
	return b.String()
}

// Unwrap returns the cause so that errors.Is sees through the location.
func (e *Error) Unwrap() error { return e.Err }

// oneLine folds a message onto one line, because a configuration error is printed as
// a single FILE:LINE: record.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// yamlLinePrefix matches the location yaml.v3 puts in front of its messages.
var yamlLinePrefix = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// splitYAMLLine takes yaml.v3's "line N: " prefix off a message and returns N (0 if
// the message carries no line).
func splitYAMLLine(msg string) (int, string) {
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	m := yamlLinePrefix.FindStringSubmatch(msg)
	if m == nil {
		return 0, strings.TrimPrefix(msg, "yaml: ")
	}
	n, _ := strconv.Atoi(m[1])
	return n, msg[len(m[0]):]
}
