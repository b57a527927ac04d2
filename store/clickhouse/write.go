package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// defaultChunkRows is how many records go into one INSERT. A chunk's column buffers are all
// the memory a write holds beyond the caller's slice, and 50,000 rows are enough for
// ClickHouse to make few, large parts.
const defaultChunkRows = 50_000

// cursors describes the cursors table in the same terms as the record tables, so one
// writer serves both.
var cursors = &schema.Table[schema.Cursor]{
	Kind:    "cursors",
	Updated: func(c *schema.Cursor) *time.Time { return &c.UpdatedAt },
	Columns: []schema.Column[schema.Cursor]{
		{Name: "source", Field: func(c *schema.Cursor) any { return &c.Source }},
		{Name: "stream", Field: func(c *schema.Cursor) any { return &c.Stream }},
		{Name: "value", Field: func(c *schema.Cursor) any { return &c.Value }},
	},
}

// Write stores the batch's records table by table and its cursors last, so a cursor
// never moves past records that failed to be stored. A batch breaking the schema's
// rules is refused before anything is sent, and one the server refuses for its data
// is refused the same way, wrapping store.ErrPermanent; anything else (the network,
// a timeout, the server's load) may work when tried again.
func (s *Store) Write(ctx context.Context, b *schema.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := schema.ValidateBatch(b); err != nil {
		return fmt.Errorf("clickhouse: %w: %w", store.ErrPermanent, err)
	}
	for _, step := range []func() error{
		func() error { return write(ctx, s, schema.PullRequests, b.PullRequests) },
		func() error { return write(ctx, s, schema.Deployments, b.Deployments) },
		func() error { return write(ctx, s, schema.Incidents, b.Incidents) },
		func() error { return write(ctx, s, schema.WorkItems, b.WorkItems) },
		func() error { return write(ctx, s, schema.StatusChanges, b.StatusChanges) },
		func() error { return write(ctx, s, schema.Worklogs, b.Worklogs) },
		func() error { return write(ctx, s, schema.Ancestries, b.Ancestries) },
		func() error { return write(ctx, s, schema.ChangeFacts, b.ChangeFacts) },
		func() error { return write(ctx, s, schema.DeploymentFacts, b.DeploymentFacts) },
		func() error { return write(ctx, s, schema.IncidentFacts, b.IncidentFacts) },
		func() error { return write(ctx, s, schema.FlowItemFacts, b.FlowItemFacts) },
		func() error { return write(ctx, s, schema.ToilFacts, b.ToilFacts) },
		func() error { return write(ctx, s, cursors, b.Cursors) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// write inserts records chunk by chunk. Each chunk is turned into one typed slice per
// column, which the driver appends column-wise without reflection on each row.
func write[R any](ctx context.Context, s *Store, t *schema.Table[R], recs []R) error {
	if len(recs) == 0 {
		return nil
	}
	chunk := s.chunkRows
	cols := columnsOf(t, min(len(recs), chunk))
	query := "INSERT INTO " + s.table(t.Name()) + " (" + strings.Join(t.ColumnNames(), ", ") + ")"
	for start := 0; start < len(recs); start += chunk {
		end := min(start+chunk, len(recs))
		for _, c := range cols {
			c.reset()
		}
		for i := start; i < end; i++ {
			for _, c := range cols {
				c.add(&recs[i])
			}
		}
		if err := s.insertRetrying(ctx, func(ctx context.Context) error { return insert(ctx, s, query, cols) }); err != nil {
			return fmt.Errorf("clickhouse: writing %s: %w", t.Name(), permanent(oneLine(err)))
		}
	}
	return nil
}

// dataErrors are the codes of the server's exceptions about the values inserted,
// which the same insert meets every time (ClickHouse's ErrorCodes.cpp).
var dataErrors = map[int32]bool{
	6:   true, // CANNOT_PARSE_TEXT
	26:  true, // CANNOT_PARSE_QUOTED_STRING
	27:  true, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
	38:  true, // CANNOT_PARSE_DATE
	41:  true, // CANNOT_PARSE_DATETIME
	53:  true, // TYPE_MISMATCH
	69:  true, // ARGUMENT_OUT_OF_BOUND
	70:  true, // CANNOT_CONVERT_TYPE
	72:  true, // CANNOT_PARSE_NUMBER
	117: true, // INCORRECT_DATA
	130: true, // CANNOT_READ_ARRAY_FROM_TEXT
	131: true, // TOO_LARGE_STRING_SIZE
	321: true, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
	349: true, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
	469: true, // VIOLATED_CONSTRAINT
}

// permanent marks an insert's error as store.ErrPermanent when the server refused
// the data itself. Connection errors, timeouts, a canceled context and the server's
// other exceptions (too many parts, memory, a missing table) stay transient.
func permanent(err error) error {
	var ex *ch.Exception
	if errors.As(err, &ex) && dataErrors[ex.Code] {
		return fmt.Errorf("%w: %w", store.ErrPermanent, err)
	}
	return err
}

// insertRetries bounds how often a cluster's insert is tried again, with waits of
// insertBackoff, doubling: together long enough for a killed server's connections to
// be dropped and the next address dialled.
var (
	insertRetries = 4
	insertBackoff = 250 * time.Millisecond
)

// insertRetrying runs an insert, and on a cluster runs it again after an error that
// is not about the data, without the quorum if that was what failed. A replicated
// table drops a block identical to one it already has, and a chunk is the same block
// each time, so a retry after an insert that did land adds no copies. A single server
// has no such check and is not retried here: the caller's own retry of the batch, and
// ReplacingMergeTree, deal with it.
func (s *Store) insertRetrying(ctx context.Context, insert func(context.Context) error) error {
	quorum := true
	err := insert(s.insertContext(ctx, quorum))
	if s.cluster == nil {
		return err
	}
	wait := insertBackoff
	for attempt := 0; attempt < insertRetries && err != nil && !isPermanent(err); attempt++ {
		if quorum && quorumFailed(err) {
			quorum = false
		} else {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(wait):
			}
			wait *= 2
		}
		err = insert(s.insertContext(ctx, quorum))
	}
	return err
}

// isPermanent says whether the server refused an insert's data.
func isPermanent(err error) bool { return errors.Is(permanent(err), store.ErrPermanent) }

func insert[R any](ctx context.Context, s *Store, query string, cols []recordColumn[R]) error {
	b, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return err
	}
	for i, c := range cols {
		if err := c.appendTo(b.Column(i)); err != nil {
			b.Abort()
			return err
		}
	}
	return b.Send()
}

// column buffers one chunk of one column in the Go type the driver appends fastest.
type column interface {
	reset()
	appendTo(driver.BatchColumn) error
}

// recordColumn is a column filled from records of type R.
type recordColumn[R any] interface {
	column
	add(r *R)
}

// columnsOf makes one buffer per stored column, in ColumnNames order.
func columnsOf[R any](t *schema.Table[R], capacity int) []recordColumn[R] {
	var zero R
	cols := make([]recordColumn[R], 0, len(t.Columns)+2)
	for _, c := range t.Columns {
		switch c.Field(&zero).(type) {
		case *string:
			cols = append(cols, &stringColumn[R]{field: c.Field, vals: make([]string, 0, capacity)})
		case *int64:
			cols = append(cols, &int64Column[R]{field: c.Field, vals: make([]int64, 0, capacity)})
		case *bool:
			cols = append(cols, &boolColumn[R]{field: c.Field, vals: make([]uint8, 0, capacity)})
		case *time.Time:
			tc := &timeColumn[R]{field: func(r *R) *time.Time { return c.Field(r).(*time.Time) },
				vals: make([]int64, 0, capacity)}
			if c.Nullable {
				tc.null, tc.ptrs = make([]bool, 0, capacity), make([]*int64, 0, capacity)
			}
			cols = append(cols, tc)
		case *[]string:
			cols = append(cols, &stringsColumn[R]{field: c.Field, vals: make([][]string, 0, capacity)})
		default:
			// The schema promises only these five types; a sixth is a programming error
			// that the conformance suite catches on its first write.
			panic(fmt.Sprintf("clickhouse: column %s.%s has unsupported type %T", t.Name(), c.Name, c.Field(&zero)))
		}
	}
	return append(cols,
		&timeColumn[R]{field: t.Updated, vals: make([]int64, 0, capacity)},
		&versionColumn[R]{updated: t.Updated, vals: make([]uint64, 0, capacity)},
	)
}

type stringColumn[R any] struct {
	field func(*R) any
	vals  []string
}

func (c *stringColumn[R]) reset()                              { clear(c.vals); c.vals = c.vals[:0] }
func (c *stringColumn[R]) add(r *R)                            { c.vals = append(c.vals, *c.field(r).(*string)) }
func (c *stringColumn[R]) appendTo(b driver.BatchColumn) error { return b.Append(c.vals) }

type int64Column[R any] struct {
	field func(*R) any
	vals  []int64
}

func (c *int64Column[R]) reset()                              { c.vals = c.vals[:0] }
func (c *int64Column[R]) add(r *R)                            { c.vals = append(c.vals, *c.field(r).(*int64)) }
func (c *int64Column[R]) appendTo(b driver.BatchColumn) error { return b.Append(c.vals) }

// boolColumn stores booleans as UInt8, the only boolean type ClickHouse 18.16 has.
type boolColumn[R any] struct {
	field func(*R) any
	vals  []uint8
}

func (c *boolColumn[R]) reset() { c.vals = c.vals[:0] }
func (c *boolColumn[R]) add(r *R) {
	var v uint8
	if *c.field(r).(*bool) {
		v = 1
	}
	c.vals = append(c.vals, v)
}
func (c *boolColumn[R]) appendTo(b driver.BatchColumn) error { return b.Append(c.vals) }

type stringsColumn[R any] struct {
	field func(*R) any
	vals  [][]string
}

func (c *stringsColumn[R]) reset() { clear(c.vals); c.vals = c.vals[:0] }
func (c *stringsColumn[R]) add(r *R) {
	c.vals = append(c.vals, *c.field(r).(*[]string))
}

// appendTo appends row by row: the driver appends a whole [][]string through
// reflection, but a single []string without it.
func (c *stringsColumn[R]) appendTo(b driver.BatchColumn) error {
	for _, v := range c.vals {
		if v == nil {
			v = []string{}
		}
		if err := b.AppendRow(v); err != nil {
			return err
		}
	}
	return nil
}

// timeColumn holds DateTime values as Unix seconds, which truncates them to the
// second; Write has checked they fit. A zero time is NULL in a Nullable column and 0
// (the epoch) otherwise; reads map both back to the zero time.
type timeColumn[R any] struct {
	field func(*R) *time.Time
	vals  []int64
	null  []bool // nil unless the column is Nullable
	ptrs  []*int64
}

func (c *timeColumn[R]) reset() {
	c.vals, c.ptrs = c.vals[:0], c.ptrs[:0]
	if c.null != nil {
		c.null = c.null[:0]
	}
}

func (c *timeColumn[R]) add(r *R) {
	t := *c.field(r)
	if t.IsZero() {
		c.vals = append(c.vals, 0)
		if c.null != nil {
			c.null = append(c.null, true)
		}
		return
	}
	c.vals = append(c.vals, t.Unix())
	if c.null != nil {
		c.null = append(c.null, false)
	}
}

func (c *timeColumn[R]) appendTo(b driver.BatchColumn) error {
	if c.null == nil {
		return b.Append(c.vals)
	}
	c.ptrs = c.ptrs[:0] // a retried insert appends the chunk again
	for i := range c.vals {
		var p *int64
		if !c.null[i] {
			p = &c.vals[i]
		}
		c.ptrs = append(c.ptrs, p)
	}
	return b.Append(c.ptrs)
}

// versionColumn holds UpdatedAt in nanoseconds, so copies of a record updated within
// the same second still replace each other in order. A zero UpdatedAt is version 0.
type versionColumn[R any] struct {
	updated func(*R) *time.Time
	vals    []uint64
}

func (c *versionColumn[R]) reset() { c.vals = c.vals[:0] }

// add stores schema.Version, which is exact within the DateTime range Write checked.
func (c *versionColumn[R]) add(r *R) {
	c.vals = append(c.vals, uint64(schema.Version(*c.updated(r))))
}
func (c *versionColumn[R]) appendTo(b driver.BatchColumn) error { return b.Append(c.vals) }
