// Package store defines how flowmeter keeps raw records and collector cursors. Two
// implementations satisfy it: store/clickhouse for production and store/sqlite, the
// embedded default. store/storetest holds the conformance suite both must pass.
package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// ErrNotFound is returned when a cursor that was asked for has never been stored.
var ErrNotFound = errors.New("not found")

// ErrPermanent is wrapped by Write when the store refuses a batch for what the batch
// holds (a record breaking schema.ValidateBatch's rules, a value the server rejects),
// so that the same write would fail again however often it is retried: callers that
// retry, such as the spool, set such a batch aside instead of waiting on it.
var ErrPermanent = errors.New("refused permanently")

// Filter selects records. Zero fields select everything.
type Filter struct {
	// Source keeps only records of this source instance.
	Source string
	// From and To select records whose event time (the table's TimeColumn) lies in
	// the half-open window [From, To).
	From, To time.Time
	// UpdatedSince keeps records whose UpdatedAt is at or after it.
	UpdatedSince time.Time
	// Repos and Services, when either is set, keep the records of these
	// repositories or services: what a refresh derives together. Each kind is
	// selected by the columns it has (ListColumns): a kind with neither keeps
	// nothing.
	Repos, Services []string
	// IDs, Commits and TitleWords, when any is set, keep the records any of them
	// names: by id, by commit (compared lower-case: give them lower-case), or by a
	// title containing one of TitleWords. A refresh looks up what records refer to
	// with them.
	IDs, Commits, TitleWords []string
	// Tickets, when set, keeps the records of these tickets, compared in upper
	// case: tickets and their flow facts by id, status changes and worklogs by the
	// ticket they belong to, pull requests by the tickets they name, toil entries
	// by the record they come from.
	Tickets []string
	// Teams, when set, keeps the facts of these teams; a kind without a team (a
	// raw record) keeps nothing. A refresh reads with it the stored toil entries
	// of the teams whose deployments and incidents it derives.
	Teams []string
}

// Columns names the columns of a kind that Filter's lists select by; "" where the
// kind has none. Ticket is the ticket a record belongs to (for a toil entry, the
// record it comes from), or with TicketList set, the list of tickets it names;
// Team is a fact's team.
type Columns struct {
	Repo, Service, Commit, Title, Ticket, Team string
	TicketList                                 bool
}

// ListColumns gives the columns of a kind that Filter's lists select by. Change
// facts have the service of the deployment that shipped them.
func ListColumns(kind schema.Kind) Columns {
	switch kind {
	case schema.KindPullRequest:
		return Columns{Repo: "repo", Commit: "merge_commit_sha", Title: "title", Ticket: "ticket_refs", TicketList: true}
	case schema.KindDeployment:
		return Columns{Repo: "repo", Service: "service", Commit: "commit_sha"}
	case schema.KindDeploymentFact:
		return Columns{Repo: "repo", Service: "service", Commit: "commit_sha", Team: "team"}
	case schema.KindIncident:
		return Columns{Service: "service", Title: "title"}
	case schema.KindIncidentFact:
		return Columns{Service: "service", Team: "team"}
	case schema.KindChangeFact:
		return Columns{Repo: "repo", Service: "service", Team: "team"}
	case schema.KindAncestry:
		return Columns{Repo: "repo"}
	case schema.KindWorkItem:
		return Columns{Ticket: "id"}
	case schema.KindFlowItemFact:
		return Columns{Ticket: "id", Team: "team"}
	case schema.KindToilFact:
		return Columns{Ticket: "record", Team: "team"}
	case schema.KindStatusChange, schema.KindWorklog:
		return Columns{Ticket: "item_id"}
	}
	return Columns{}
}

// Dialect is how a store says what the filter's lists need beyond plain SQL:
// Contains for "title contains ?" (one placeholder); AnyTicket for "the list in
// column %[1]s has an entry for which %[2]s holds", %[2]s being In's condition on
// TicketEntry, the entry upper-cased; and In, how an expression is tested against
// a list of any length (nil: one placeholder a value).
type Dialect struct {
	Contains, AnyTicket, TicketEntry string
	In                               func(expr string, values []string) (string, []any)
}

// Lists builds the conditions of a filter's lists for a kind, in SQL both stores
// speak, with one placeholder per value, to be joined with AND, and the columns
// they read.
func Lists(kind schema.Kind, f Filter, d Dialect) (conds []string, args []any, cols []string) {
	c := ListColumns(kind)
	placeholders := func(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
	inList := d.In
	if inList == nil {
		inList = func(expr string, values []string) (string, []any) {
			args := make([]any, len(values))
			for i, v := range values {
				args[i] = v
			}
			return expr + " IN (" + placeholders(len(values)) + ")", args
		}
	}
	in := func(col string, values []string, args *[]any) string {
		if col == "" || len(values) == 0 {
			return ""
		}
		cond, a := inList(col, values)
		*args = append(*args, a...)
		return cond
	}
	or := func(conds ...string) string {
		var kept []string
		for _, c := range conds {
			if c != "" {
				kept = append(kept, c)
			}
		}
		if len(kept) == 0 {
			return "0 = 1"
		}
		return "(" + strings.Join(kept, " OR ") + ")"
	}
	add := func(cond string, condArgs []any, columns ...string) {
		conds = append(conds, cond)
		args = append(args, condArgs...)
		for _, col := range columns {
			if col != "" && !slices.Contains(cols, col) {
				cols = append(cols, col)
			}
		}
	}
	if len(f.Repos)+len(f.Services) > 0 {
		var a []any
		add(or(in(c.Repo, f.Repos, &a), in(c.Service, f.Services, &a)), a, c.Repo, c.Service)
	}
	if len(f.IDs)+len(f.Commits)+len(f.TitleWords) > 0 {
		var a []any
		named := []string{in("id", f.IDs, &a)}
		if c.Commit != "" {
			named = append(named, in("lower("+c.Commit+")", f.Commits, &a))
		}
		if c.Title != "" {
			for _, w := range f.TitleWords {
				named = append(named, d.Contains)
				a = append(a, w)
			}
		}
		add(or(named...), a, c.Commit, c.Title)
	}
	if len(f.Tickets) > 0 {
		var a []any
		upper := make([]string, len(f.Tickets))
		for i, t := range f.Tickets {
			upper[i] = strings.ToUpper(t)
		}
		cond := ""
		switch {
		case c.TicketList:
			entry, entryArgs := inList(d.TicketEntry, upper)
			a = append(a, entryArgs...)
			cond = fmt.Sprintf(d.AnyTicket, c.Ticket, entry)
		case c.Ticket != "":
			cond = in("upper("+c.Ticket+")", upper, &a)
		}
		add(or(cond), a, c.Ticket)
	}
	if len(f.Teams) > 0 {
		var a []any
		add(or(in(c.Team, f.Teams, &a)), a, c.Team)
	}
	return conds, args, cols
}

// Store keeps records and cursors. Writing the same records again is harmless: a
// record replaces an earlier copy with the same source and id when its UpdatedAt is
// the same or later, and reads return only the latest copy. Reads are ordered by
// event time, then source and id.
type Store interface {
	// Migrate creates or updates the tables; running it twice changes nothing.
	Migrate(ctx context.Context) error
	// Ping checks that the store is reachable and migrated.
	Ping(ctx context.Context) error
	// Write stores a batch, records first and cursors last. A batch that breaks
	// schema.ValidateBatch's rules is refused whole, before anything is written,
	// with an error wrapping ErrPermanent and the *schema.InvalidError.
	Write(ctx context.Context, b *schema.Batch) error

	PullRequests(ctx context.Context, f Filter) iter.Seq2[schema.PullRequest, error]
	Deployments(ctx context.Context, f Filter) iter.Seq2[schema.Deployment, error]
	Incidents(ctx context.Context, f Filter) iter.Seq2[schema.Incident, error]
	WorkItems(ctx context.Context, f Filter) iter.Seq2[schema.WorkItem, error]
	StatusChanges(ctx context.Context, f Filter) iter.Seq2[schema.StatusChange, error]
	Worklogs(ctx context.Context, f Filter) iter.Seq2[schema.Worklog, error]
	Ancestries(ctx context.Context, f Filter) iter.Seq2[schema.Ancestry, error]

	ChangeFacts(ctx context.Context, f Filter) iter.Seq2[schema.ChangeFact, error]
	DeploymentFacts(ctx context.Context, f Filter) iter.Seq2[schema.DeploymentFact, error]
	IncidentFacts(ctx context.Context, f Filter) iter.Seq2[schema.IncidentFact, error]
	FlowItemFacts(ctx context.Context, f Filter) iter.Seq2[schema.FlowItemFact, error]
	ToilFacts(ctx context.Context, f Filter) iter.Seq2[schema.ToilFact, error]

	// Count is the number of records of a kind the filter selects.
	Count(ctx context.Context, kind schema.Kind, f Filter) (int64, error)

	// Cursor returns a collector's position in one stream, or ErrNotFound.
	Cursor(ctx context.Context, source, stream string) (schema.Cursor, error)

	Close() error
}

// All reads everything an iterator yields into a slice, stopping at its first error,
// for callers that need the whole set in memory (derivation, aggregation).
func All[R any](seq iter.Seq2[R, error]) ([]R, error) {
	var out []R
	for r, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ErrNotMigrated is wrapped by Ping when the store is reachable but its tables are
// missing or older than this build of flowmeter expects.
var ErrNotMigrated = errors.New("store is not migrated: run 'flowmeter migrate'")
