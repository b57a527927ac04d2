package schema

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// The limits of a record that every store can hold. Pushed events are checked
// against them at intake and every store's Write checks them again, so that a batch
// one store takes is never refused by another (docs/webhooks.md lists them).
const (
	// MaxNameBytes bounds ids, names and every other string that identifies or
	// classifies something: source, id, repo, service, environment, team, author,
	// refs and commits, statuses, severities, labels.
	MaxNameBytes = 1 << 10
	// MaxTitleBytes bounds titles, which are free text.
	MaxTitleBytes = 4 << 10
	// MaxURLBytes bounds links, which may carry long query strings.
	MaxURLBytes = 8 << 10
	// MaxCursorValueBytes bounds a cursor's value, a collector's opaque position.
	MaxCursorValueBytes = 1 << 20
	// MaxListEntries bounds every list: labels, reverts, failure reasons, rollouts.
	MaxListEntries = 1000
)

// The times a store can hold are ClickHouse DateTime's: whole seconds from the Unix
// epoch to the largest unsigned 32-bit second.
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Unix(math.MaxUint32, 0).UTC()
)

// cursorKind names cursors in errors the way their table is named.
const cursorKind Kind = "cursors"

// InvalidError is a record, fact or cursor that some store cannot hold; it names the
// record and the field so that whoever sent it can correct it.
type InvalidError struct {
	Kind   Kind
	Source string
	// ID is the record's id, or a cursor's stream.
	ID string
	// Field is the column, with an index for an entry of a list ("labels[3]").
	Field string
	// Err is the rule the field breaks.
	Err error
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%s %s/%s: %s %v", e.Kind, printable(e.Source), printable(e.ID), e.Field, e.Err)
}

func (e *InvalidError) Unwrap() error { return e.Err }

// CheckTime refuses a time no store can hold; the zero time means "unknown" and is
// always allowed.
func CheckTime(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if sec := t.Unix(); sec < minTime.Unix() || sec > maxTime.Unix() {
		return fmt.Errorf("%s is outside the times a store can hold, %s to %s",
			t.Format(time.RFC3339Nano), minTime.Format(time.RFC3339), maxTime.Format(time.RFC3339))
	}
	return nil
}

// Validate checks one record or fact of table t, and returns an *InvalidError for
// the first field that breaks a rule.
func Validate[R any](t *Table[R], r *R) error {
	for _, c := range t.Columns {
		if field, err := checkField(c.Name, c.Field(r)); err != nil {
			return &InvalidError{Kind: t.Kind, Source: *t.Columns[0].Field(r).(*string),
				ID: *t.Columns[1].Field(r).(*string), Field: field, Err: err}
		}
	}
	if err := CheckTime(*t.Updated(r)); err != nil {
		return &InvalidError{Kind: t.Kind, Source: *t.Columns[0].Field(r).(*string),
			ID: *t.Columns[1].Field(r).(*string), Field: "updated_at", Err: err}
	}
	return nil
}

// ValidateCursor checks a cursor as Validate checks a record.
func ValidateCursor(c *Cursor) error {
	invalid := func(field string, err error) error {
		return &InvalidError{Kind: cursorKind, Source: c.Source, ID: c.Stream, Field: field, Err: err}
	}
	if err := checkString(c.Source, MaxNameBytes, true); err != nil {
		return invalid("source", err)
	}
	if err := checkString(c.Stream, MaxNameBytes, true); err != nil {
		return invalid("stream", err)
	}
	if err := checkString(c.Value, MaxCursorValueBytes, false); err != nil {
		return invalid("value", err)
	}
	if err := CheckTime(c.UpdatedAt); err != nil {
		return invalid("updated_at", err)
	}
	return nil
}

// ValidateBatch checks every record, fact and cursor of b, in the order stores write
// them, and returns the first *InvalidError.
func ValidateBatch(b *Batch) error {
	for _, check := range []func() error{
		func() error { return validateAll(PullRequests, b.PullRequests) },
		func() error { return validateAll(Deployments, b.Deployments) },
		func() error { return validateAll(Incidents, b.Incidents) },
		func() error { return validateAll(WorkItems, b.WorkItems) },
		func() error { return validateAll(StatusChanges, b.StatusChanges) },
		func() error { return validateAll(Worklogs, b.Worklogs) },
		func() error { return validateAll(Ancestries, b.Ancestries) },
		func() error { return validateAll(ChangeFacts, b.ChangeFacts) },
		func() error { return validateAll(DeploymentFacts, b.DeploymentFacts) },
		func() error { return validateAll(IncidentFacts, b.IncidentFacts) },
		func() error { return validateAll(FlowItemFacts, b.FlowItemFacts) },
		func() error { return validateAll(ToilFacts, b.ToilFacts) },
	} {
		if err := check(); err != nil {
			return err
		}
	}
	for i := range b.Cursors {
		if err := ValidateCursor(&b.Cursors[i]); err != nil {
			return err
		}
	}
	return nil
}

func validateAll[R any](t *Table[R], recs []R) error {
	for i := range recs {
		if err := Validate(t, &recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// checkField checks one column's value and says which field (or list entry) broke
// which rule.
func checkField(name string, v any) (string, error) {
	switch p := v.(type) {
	case *string:
		// Titles and links are free text, which may hold line breaks and tabs; every
		// other string column is a name.
		switch name {
		case "title":
			return name, checkString(*p, MaxTitleBytes, false)
		case "url":
			return name, checkString(*p, MaxURLBytes, false)
		}
		return name, checkString(*p, MaxNameBytes, true)
	case *time.Time:
		return name, CheckTime(*p)
	case *[]string:
		if n := len(*p); n > MaxListEntries {
			return name, fmt.Errorf("has %d entries, over the limit of %d", n, MaxListEntries)
		}
		for i, s := range *p {
			if err := checkString(s, MaxNameBytes, true); err != nil {
				return name + "[" + strconv.Itoa(i) + "]", err
			}
		}
	}
	return name, nil
}

// checkString applies the string rules: at most limit bytes of UTF-8 (the spool
// keeps batches as JSON, which cannot carry anything else), no NUL, and for names no
// control characters, which would corrupt logs, CSV reports and label values.
func checkString(s string, limit int, name bool) error {
	if len(s) > limit {
		return fmt.Errorf("is %d bytes long, over the limit of %d", len(s), limit)
	}
	// Byte by byte while ASCII, which most strings are all through: every Write
	// checks every string of its batch.
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return errors.New("is not valid UTF-8")
			}
		}
		switch {
		case r == 0:
			return errors.New("contains a NUL byte")
		case name && unicode.IsControl(r):
			return fmt.Errorf("contains the control character %U", r)
		}
		i += size
	}
	return nil
}

// printable shortens and quotes an id for an error message, since the id may itself
// be what is wrong.
func printable(s string) string {
	const limit = 64
	clean := checkString(s, len(s), true) == nil
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if clean {
		return s
	}
	return strconv.Quote(s)
}
