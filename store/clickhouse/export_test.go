package clickhouse

import (
	"context"

	"github.com/flowmeter/flowmeter/schema"
)

// SetChunkRows makes writes split into INSERTs of n records, so tests can cross
// chunk boundaries with a few records.
func SetChunkRows(s *Store, n int) { s.chunkRows = n }

// Permanent exposes how Write classifies an insert's error.
func Permanent(err error) error { return permanent(err) }

// MigrateUpTo applies the first n migrations only, as a release that had no more did.
func MigrateUpTo(ctx context.Context, s *Store, n int) error {
	all, err := schema.Migrations(schema.ClickHouse)
	if err != nil {
		return err
	}
	return s.migrate(ctx, all, all[:n])
}
