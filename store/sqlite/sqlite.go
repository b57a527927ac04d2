// Package sqlite is the embedded store: one file, no server, pure Go. It is what the
// demo and a config without ClickHouse use, and it serves the CLI, reports and
// /metrics; Grafana dashboards need ClickHouse.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// Store keeps records in one SQLite file.
type Store struct {
	db   *sql.DB
	path string
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path. WAL mode lets readers
// such as the exporter go on while a collector writes.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Migrate applies the embedded migrations not yet recorded, each in its own
// transaction with its record, so a failed migration leaves nothing half-applied.
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := schema.Migrations(schema.SQLite)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite %s: create schema_migrations: %w", s.path, err)
	}
	applied, err := s.appliedVersion(ctx)
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if m.Version <= applied {
			continue
		}
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("sqlite %s: migration %04d_%s: %w", s.path, m.Version, m.Name, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m schema.Migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range m.Statements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) appliedVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite %s: read schema_migrations: %w", s.path, err)
	}
	return int(v.Int64), nil
}

// Ping checks the file is readable and carries every migration this build knows.
func (s *Store) Ping(ctx context.Context) error {
	migrations, err := schema.Migrations(schema.SQLite)
	if err != nil {
		return err
	}
	var n int
	if err := s.db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return fmt.Errorf("sqlite %s: %w", s.path, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite %s: %w", s.path, store.ErrNotMigrated)
	}
	applied, err := s.appliedVersion(ctx)
	if err != nil {
		return err
	}
	if latest := migrations[len(migrations)-1].Version; applied < latest {
		return fmt.Errorf("sqlite %s: at migration %d of %d: %w", s.path, applied, latest, store.ErrNotMigrated)
	}
	return nil
}

// Write stores the whole batch in one transaction: records, then cursors. It refuses
// what ClickHouse could not hold too, so that a config moving from one store to the
// other never meets records the new one refuses.
func (s *Store) Write(ctx context.Context, b *schema.Batch) error {
	if err := schema.ValidateBatch(b); err != nil {
		return fmt.Errorf("sqlite %s: %w: %w", s.path, store.ErrPermanent, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite %s: %w", s.path, err)
	}
	defer tx.Rollback()
	if err := errors.Join(
		upsert(ctx, tx, schema.PullRequests, b.PullRequests),
		upsert(ctx, tx, schema.Deployments, b.Deployments),
		upsert(ctx, tx, schema.Incidents, b.Incidents),
		upsert(ctx, tx, schema.WorkItems, b.WorkItems),
		upsert(ctx, tx, schema.StatusChanges, b.StatusChanges),
		upsert(ctx, tx, schema.Worklogs, b.Worklogs),
		upsert(ctx, tx, schema.Ancestries, b.Ancestries),
		upsert(ctx, tx, schema.ChangeFacts, b.ChangeFacts),
		upsert(ctx, tx, schema.DeploymentFacts, b.DeploymentFacts),
		upsert(ctx, tx, schema.IncidentFacts, b.IncidentFacts),
		upsert(ctx, tx, schema.FlowItemFacts, b.FlowItemFacts),
		upsert(ctx, tx, schema.ToilFacts, b.ToilFacts),
		writeCursors(ctx, tx, b.Cursors),
	); err != nil {
		return fmt.Errorf("sqlite %s: write: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite %s: commit: %w", s.path, err)
	}
	return nil
}

// upsertSQL keeps the stored copy unless the new one is at least as recent, the same
// rule ClickHouse's ReplacingMergeTree applies.
func upsertSQL(table string, cols, key []string) string {
	set := make([]string, 0, len(cols))
	for _, c := range cols {
		set = append(set, fmt.Sprintf("%s = excluded.%s", c, c))
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s WHERE excluded.version >= %s.version",
		table, strings.Join(cols, ", "), strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "),
		strings.Join(key, ", "), strings.Join(set, ", "), table)
}

func upsert[R any](ctx context.Context, tx *sql.Tx, t *schema.Table[R], rows []R) error {
	if len(rows) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, upsertSQL(t.Name(), t.ColumnNames(), []string{"source", "id"}))
	if err != nil {
		return fmt.Errorf("%s: %w", t.Name(), err)
	}
	defer stmt.Close()
	args := make([]any, len(t.Columns)+2)
	for i := range rows {
		r := &rows[i]
		for j, c := range t.Columns {
			v, err := toSQL(c.Field(r), c.Nullable)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", t.Name(), c.Name, err)
			}
			args[j] = v
		}
		updated := *t.Updated(r)
		args[len(t.Columns)] = updated.Unix()
		args[len(t.Columns)+1] = schema.Version(updated)
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("%s: %w", t.Name(), err)
		}
	}
	return nil
}

func writeCursors(ctx context.Context, tx *sql.Tx, cursors []schema.Cursor) error {
	if len(cursors) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, upsertSQL("cursors",
		[]string{"source", "stream", "value", "updated_at", "version"}, []string{"source", "stream"}))
	if err != nil {
		return fmt.Errorf("cursors: %w", err)
	}
	defer stmt.Close()
	for _, c := range cursors {
		if _, err := stmt.ExecContext(ctx, c.Source, c.Stream, c.Value, c.UpdatedAt.Unix(), schema.Version(c.UpdatedAt)); err != nil {
			return fmt.Errorf("cursors: %w", err)
		}
	}
	return nil
}

// toSQL turns a field pointer into the value SQLite stores for it.
func toSQL(field any, nullable bool) (any, error) {
	switch p := field.(type) {
	case *string:
		return *p, nil
	case *int64:
		return *p, nil
	case *bool:
		if *p {
			return int64(1), nil
		}
		return int64(0), nil
	case *time.Time:
		if p.IsZero() && nullable {
			return nil, nil
		}
		return p.Unix(), nil
	case *[]string:
		if len(*p) == 0 {
			return "[]", nil
		}
		b, err := json.Marshal(*p)
		return string(b), err
	}
	return nil, fmt.Errorf("unsupported field type %T", field)
}

// scanTarget returns what to pass to Scan for a field, and a function that moves the
// scanned value into the field afterwards (nil when Scan writes the field directly).
func scanTarget(field any) (any, func() error) {
	switch p := field.(type) {
	case *time.Time:
		var v sql.NullInt64
		return &v, func() error {
			if v.Valid {
				*p = time.Unix(v.Int64, 0).UTC()
			} else {
				*p = time.Time{}
			}
			return nil
		}
	case *[]string:
		var v string
		return &v, func() error {
			*p = nil
			if v == "" || v == "[]" {
				return nil
			}
			return json.Unmarshal([]byte(v), p)
		}
	}
	return field, nil
}

// where builds the WHERE clause of a filter for a table whose event time is timeCol.
func where(kind schema.Kind, f store.Filter, timeCol string) (string, []any) {
	var conds []string
	var args []any
	if f.Source != "" {
		conds = append(conds, "source = ?")
		args = append(args, f.Source)
	}
	if !f.From.IsZero() {
		conds = append(conds, timeCol+" >= ?")
		args = append(args, schema.CeilSecond(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, timeCol+" < ?")
		args = append(args, schema.CeilSecond(f.To))
	}
	if !f.UpdatedSince.IsZero() {
		conds = append(conds, "version >= ?")
		args = append(args, schema.Version(f.UpdatedSince))
	}
	lists, listArgs, _ := store.Lists(kind, f, listDialect)
	conds = append(conds, lists...)
	args = append(args, listArgs...)
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func read[R any](ctx context.Context, db *sql.DB, t *schema.Table[R], f store.Filter) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		var zero R
		names := make([]string, 0, len(t.Columns)+1)
		for _, c := range t.Columns {
			names = append(names, c.Name)
		}
		names = append(names, "version")
		cond, args := where(t.Kind, f, t.TimeColumn)
		query := fmt.Sprintf("SELECT %s FROM %s%s ORDER BY %s, source, id",
			strings.Join(names, ", "), t.Name(), cond, t.TimeColumn)
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			yield(zero, fmt.Errorf("read %s: %w", t.Name(), err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var r R
			targets := make([]any, 0, len(names))
			var fixups []func() error
			for _, c := range t.Columns {
				target, fix := scanTarget(c.Field(&r))
				targets = append(targets, target)
				if fix != nil {
					fixups = append(fixups, fix)
				}
			}
			var version int64
			targets = append(targets, &version)
			err := rows.Scan(targets...)
			for _, fix := range fixups {
				if err == nil {
					err = fix()
				}
			}
			if err != nil {
				yield(zero, fmt.Errorf("read %s: %w", t.Name(), err))
				return
			}
			*t.Updated(&r) = schema.FromVersion(version)
			if !yield(r, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(zero, fmt.Errorf("read %s: %w", t.Name(), err))
		}
	}
}

// PullRequests reads pull requests.
func (s *Store) PullRequests(ctx context.Context, f store.Filter) iter.Seq2[schema.PullRequest, error] {
	return read(ctx, s.db, schema.PullRequests, f)
}

// Deployments reads deployments.
func (s *Store) Deployments(ctx context.Context, f store.Filter) iter.Seq2[schema.Deployment, error] {
	return read(ctx, s.db, schema.Deployments, f)
}

// Incidents reads incidents.
func (s *Store) Incidents(ctx context.Context, f store.Filter) iter.Seq2[schema.Incident, error] {
	return read(ctx, s.db, schema.Incidents, f)
}

// WorkItems reads work items.
func (s *Store) WorkItems(ctx context.Context, f store.Filter) iter.Seq2[schema.WorkItem, error] {
	return read(ctx, s.db, schema.WorkItems, f)
}

// StatusChanges reads work item status changes.
func (s *Store) StatusChanges(ctx context.Context, f store.Filter) iter.Seq2[schema.StatusChange, error] {
	return read(ctx, s.db, schema.StatusChanges, f)
}

// Worklogs reads worklogs.
func (s *Store) Worklogs(ctx context.Context, f store.Filter) iter.Seq2[schema.Worklog, error] {
	return read(ctx, s.db, schema.Worklogs, f)
}

// Ancestries reads cached commit ancestry answers.
func (s *Store) Ancestries(ctx context.Context, f store.Filter) iter.Seq2[schema.Ancestry, error] {
	return read(ctx, s.db, schema.Ancestries, f)
}

// ChangeFacts reads change facts.
func (s *Store) ChangeFacts(ctx context.Context, f store.Filter) iter.Seq2[schema.ChangeFact, error] {
	return read(ctx, s.db, schema.ChangeFacts, f)
}

// DeploymentFacts reads deployment facts.
func (s *Store) DeploymentFacts(ctx context.Context, f store.Filter) iter.Seq2[schema.DeploymentFact, error] {
	return read(ctx, s.db, schema.DeploymentFacts, f)
}

// IncidentFacts reads incident facts.
func (s *Store) IncidentFacts(ctx context.Context, f store.Filter) iter.Seq2[schema.IncidentFact, error] {
	return read(ctx, s.db, schema.IncidentFacts, f)
}

// FlowItemFacts reads flow item facts.
func (s *Store) FlowItemFacts(ctx context.Context, f store.Filter) iter.Seq2[schema.FlowItemFact, error] {
	return read(ctx, s.db, schema.FlowItemFacts, f)
}

// ToilFacts reads toil facts.
func (s *Store) ToilFacts(ctx context.Context, f store.Filter) iter.Seq2[schema.ToilFact, error] {
	return read(ctx, s.db, schema.ToilFacts, f)
}

// Count counts the records of a kind the filter selects.
func (s *Store) Count(ctx context.Context, kind schema.Kind, f store.Filter) (int64, error) {
	timeCol, ok := schema.TimeColumn(kind)
	if !ok {
		return 0, fmt.Errorf("count: unknown record kind %q", kind)
	}
	cond, args := where(kind, f, timeCol)
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+string(kind)+cond, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite %s: count %s: %w", s.path, kind, err)
	}
	return n, nil
}

// Cursor returns the stored position of one collector stream.
func (s *Store) Cursor(ctx context.Context, source, stream string) (schema.Cursor, error) {
	c := schema.Cursor{Source: source, Stream: stream}
	var version int64
	err := s.db.QueryRowContext(ctx, `SELECT value, version FROM cursors WHERE source = ? AND stream = ?`,
		source, stream).Scan(&c.Value, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return schema.Cursor{}, fmt.Errorf("cursor %s/%s: %w", source, stream, store.ErrNotFound)
	}
	if err != nil {
		return schema.Cursor{}, fmt.Errorf("sqlite %s: cursor %s/%s: %w", s.path, source, stream, err)
	}
	c.UpdatedAt = schema.FromVersion(version)
	return c, nil
}

// Columns lists a table's columns in their order, for checks against the descriptors.
func (s *Store) Columns(ctx context.Context, table string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// listDialect passes each of a filter's lists as one JSON array: SQLite takes at
// most 32,766 placeholders in a statement, and a refresh may select by more
// tickets or ids than that.
var listDialect = store.Dialect{
	Contains:    "instr(title, ?) > 0",
	AnyTicket:   "EXISTS (SELECT 1 FROM json_each(%[1]s) WHERE %[2]s)",
	TicketEntry: "upper(value)",
	In: func(expr string, values []string) (string, []any) {
		list, _ := json.Marshal(values) // strings always encode
		return expr + " IN (SELECT value FROM json_each(?))", []any{string(list)}
	},
}
