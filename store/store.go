// Package store defines how flowmeter keeps raw records and collector cursors. Two
// implementations satisfy it: store/clickhouse for production and store/sqlite, the
// embedded default. store/storetest holds the conformance suite both must pass.
package store

import (
	"context"
	"errors"
	"iter"
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
