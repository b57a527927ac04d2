package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
	"github.com/flowmeter/flowmeter/store/storetest"
)

func TestMain(m *testing.M) { clickhousetest.Main(m) }

func open(t testing.TB, o clickhouse.Options) *clickhouse.Store {
	t.Helper()
	s, err := clickhouse.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, clickhousetest.Open(t))
	})
}

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestOpenUnreachable(t *testing.T) {
	const password = "s3cret-Pa55"
	tests := []struct {
		name string
		addr string
	}{
		{"connection refused", closedPort(t)},
		{"accepts but never answers", silentServer(t)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const dialTimeout = 500 * time.Millisecond
			start := time.Now()
			s, err := clickhouse.Open(context.Background(), clickhouse.Options{
				Addr: tc.addr, Password: password, DialTimeout: dialTimeout,
			})
			elapsed := time.Since(start)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded", tc.addr)
			}
			msg := err.Error()
			t.Logf("error after %v: %s", elapsed.Round(time.Millisecond), msg)
			if elapsed > dialTimeout+time.Second {
				t.Errorf("Open took %v, want about the DialTimeout %v", elapsed, dialTimeout)
			}
			if !strings.HasPrefix(msg, "clickhouse at "+tc.addr+": ") {
				t.Errorf("error %q does not start with the address", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line", msg)
			}
			if strings.Contains(msg, password) {
				t.Errorf("error %q reveals the password", msg)
			}
			var netErr net.Error
			if !errors.As(err, &netErr) {
				t.Errorf("error %q does not wrap the net.Error", msg)
			}
		})
	}
}

func TestOpenWrongPassword(t *testing.T) {
	const password = "not-the-Pa55word"
	o := clickhousetest.Open(t)
	o.Password = password
	s, err := clickhouse.Open(context.Background(), o)
	if err == nil {
		s.Close()
		t.Fatal("Open with a wrong password succeeded")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if !strings.HasPrefix(msg, "clickhouse at "+o.Addr+": ") || strings.Contains(msg, "\n") || strings.Contains(msg, password) {
		t.Errorf("error %q: want one line naming the address and not the password", msg)
	}
}

// silentServer returns the address of a listener that accepts connections and never
// says a word, like a firewall or a hung server.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().String()
}

func TestOpenRejectsBadDatabaseName(t *testing.T) {
	for _, name := range []string{"flow-meter", "1st", "a b", "x`y", "db;DROP"} {
		_, err := clickhouse.Open(context.Background(), clickhouse.Options{Addr: closedPort(t), Database: name})
		if err == nil || !strings.Contains(err.Error(), "database name") {
			t.Errorf("Open with database %q = %v, want a database name error", name, err)
		}
	}
}

func TestMigrateRecordsEachMigrationOnce(t *testing.T) {
	o := clickhousetest.Open(t)
	s := open(t, o)
	defer s.Close()
	ctx := context.Background()
	for range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	migrations, err := schema.Migrations(schema.ClickHouse)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := query(t, o, "SELECT count() FROM `"+o.Database+"`.schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != uint64(len(migrations)) {
		t.Errorf("schema_migrations has %d rows after migrating twice, want %d", n, len(migrations))
	}
}

func TestPingReportsWrongMigration(t *testing.T) {
	tests := []struct {
		name    string
		version uint32
		want    string
	}{
		{"behind", 0, "needs"},
		{"ahead", 99, "newer than this build"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := clickhousetest.Open(t)
			s := open(t, o)
			defer s.Close()
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			mustExec(t, o, "TRUNCATE TABLE `"+o.Database+"`.schema_migrations")
			if tc.version > 0 {
				mustExec(t, o, fmt.Sprintf("INSERT INTO `%s`.schema_migrations (version, name, applied_at) SELECT %d, 'x', now()",
					o.Database, tc.version))
			}
			err := s.Ping(context.Background())
			if !errors.Is(err, store.ErrNotMigrated) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Ping = %v, want ErrNotMigrated saying %q", err, tc.want)
			}
		})
	}
}

func TestWriteRejectsTimeOutsideDateTime(t *testing.T) {
	s := open(t, clickhousetest.Open(t))
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	pr := schema.PullRequest{Source: "gh", ID: "a#1", CreatedAt: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC), UpdatedAt: time.Now()}
	err := s.Write(context.Background(), &schema.Batch{PullRequests: []schema.PullRequest{pr}})
	if err == nil || !strings.Contains(err.Error(), "created_at") {
		t.Fatalf("Write of a 1969 created_at = %v, want an error naming created_at", err)
	}
	if !strings.Contains(err.Error(), "gh/a#1") {
		t.Errorf("error %q does not name the record", err)
	}
	if !errors.Is(err, store.ErrPermanent) {
		t.Errorf("error %q does not wrap store.ErrPermanent: retrying it would fail forever", err)
	}
}

// TestServerDataErrorsArePermanent: an exception the server raises about the values
// themselves fails again on every retry, so Write marks it permanent; the server's
// other exceptions, the network and the context are worth retrying.
func TestServerDataErrorsArePermanent(t *testing.T) {
	o := clickhousetest.Open(t)
	c := conn(t, o)
	exception := func(q string) error {
		t.Helper()
		err := c.Exec(context.Background(), q)
		var ex *ch.Exception
		if !errors.As(err, &ex) {
			t.Fatalf("%s: %v, want a server exception", q, err)
		}
		return err
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	refused := c.Exec(canceled, "SELECT 1")
	tests := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"cannot parse a number", exception("SELECT toInt8('x')"), true},
		{"cannot parse a time", exception("SELECT toDateTime('yesterday')"), true},
		{"a value out of range", &ch.Exception{Code: 321, Message: "Value is out of range of DateTime"}, true},
		{"a missing table", exception("SELECT 1 FROM `" + o.Database + "`.no_such_table"), false},
		{"too many parts", &ch.Exception{Code: 252, Message: "Too many parts (300). Merges are processing significantly slower than inserts"}, false},
		{"a canceled context", refused, false},
		{"an unreachable server", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, false},
		{"a timeout", context.DeadlineExceeded, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error to classify")
			}
			err := clickhouse.Permanent(fmt.Errorf("clickhouse: writing deployments: %w", tc.err))
			if got := errors.Is(err, store.ErrPermanent); got != tc.permanent {
				t.Errorf("%v: permanent %v, want %v", err, got, tc.permanent)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("%v no longer wraps %v", err, tc.err)
			}
		})
	}
}

// TestWriteAcrossChunks writes more records than fit in one INSERT, with labels and
// optional times varying per row, so a buffer not reset between chunks shows.
func TestWriteAcrossChunks(t *testing.T) {
	s := open(t, clickhousetest.Open(t))
	defer s.Close()
	clickhouse.SetChunkRows(s, 7)
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var in []schema.PullRequest
	for i := range 30 {
		pr := schema.PullRequest{Source: "gh", ID: fmt.Sprintf("r#%02d", i), Number: int64(i), Draft: i%3 == 0,
			CreatedAt: base.Add(time.Duration(i) * time.Minute), UpdatedAt: base.Add(time.Hour + time.Duration(i)*time.Millisecond)}
		if i%4 == 0 {
			pr.Labels = []string{fmt.Sprint("l", i), "x"}
		}
		if i%5 == 0 {
			pr.MergedAt = pr.CreatedAt.Add(time.Hour)
		}
		in = append(in, pr)
	}
	if err := s.Write(ctx, &schema.Batch{PullRequests: in}); err != nil {
		t.Fatal(err)
	}
	var got []schema.PullRequest
	for pr, err := range s.PullRequests(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pr)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("read back\n  %+v\nwant\n  %+v", got, in)
	}
}

// TestZeroTimesRoundTrip checks the stand-ins for "unknown": a zero time in a column
// that is not Nullable is stored as the epoch, a zero UpdatedAt as version 0, and
// both read back as the zero time.
func TestZeroTimesRoundTrip(t *testing.T) {
	s := open(t, clickhousetest.Open(t))
	defer s.Close()
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	in := schema.Worklog{Source: "jira", ID: "1", Seconds: 60}
	if err := s.Write(ctx, &schema.Batch{Worklogs: []schema.Worklog{in}}); err != nil {
		t.Fatal(err)
	}
	var got []schema.Worklog
	for w, err := range s.Worklogs(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, w)
	}
	if want := []schema.Worklog{in}; !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, want %+v", got, want)
	}
}

// TestColumnsMatchDescriptors keeps the migration and the schema descriptors from
// drifting apart: every table must have exactly the descriptor's columns with the
// ClickHouse type of each field's Go type. Their order is not compared: columns a
// later migration adds come after updated_at and version, and every statement names
// its columns.
func TestColumnsMatchDescriptors(t *testing.T) {
	o := clickhousetest.Open(t)
	s := open(t, o)
	defer s.Close()
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		schema.PullRequests.Name():    columnTypes(schema.PullRequests),
		schema.Deployments.Name():     columnTypes(schema.Deployments),
		schema.Incidents.Name():       columnTypes(schema.Incidents),
		schema.WorkItems.Name():       columnTypes(schema.WorkItems),
		schema.StatusChanges.Name():   columnTypes(schema.StatusChanges),
		schema.Worklogs.Name():        columnTypes(schema.Worklogs),
		schema.Ancestries.Name():      columnTypes(schema.Ancestries),
		schema.ChangeFacts.Name():     columnTypes(schema.ChangeFacts),
		schema.DeploymentFacts.Name(): columnTypes(schema.DeploymentFacts),
		schema.IncidentFacts.Name():   columnTypes(schema.IncidentFacts),
		schema.FlowItemFacts.Name():   columnTypes(schema.FlowItemFacts),
		schema.ToilFacts.Name():       columnTypes(schema.ToilFacts),
		"cursors":                     {"source String", "stream String", "value String", "updated_at DateTime", "version UInt64"},
		"schema_migrations":           {"version UInt32", "name String", "applied_at DateTime"},
	}
	if kinds := len(schema.Kinds) + len(schema.FactKinds); len(want) != kinds+2 {
		t.Fatalf("the test checks %d tables, but there are %d kinds: add the new one", len(want)-2, kinds)
	}
	// Without ORDER BY, system.columns lists a table's columns in their order.
	rows, err := conn(t, o).Query(context.Background(),
		"SELECT table, name, type FROM system.columns WHERE database = ?", o.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string][]string{}
	for rows.Next() {
		var table, name, typ string
		if err := rows.Scan(&table, &name, &typ); err != nil {
			t.Fatal(err)
		}
		got[table] = append(got[table], name+" "+typ)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for table, cols := range want {
		slices.Sort(cols)
		slices.Sort(got[table])
		if !reflect.DeepEqual(got[table], cols) {
			t.Errorf("table %s has columns\n  %v\nthe descriptor says\n  %v", table, got[table], cols)
		}
	}
	for table := range got {
		if _, ok := want[table]; !ok {
			t.Errorf("migration creates table %s that no descriptor describes", table)
		}
	}
}

// columnTypes is "name Type" for each of a descriptor's columns, the ClickHouse type
// being what the field's Go type is stored as.
func columnTypes[R any](t *schema.Table[R]) []string {
	var zero R
	var out []string
	for _, c := range t.Columns {
		var typ string
		switch c.Field(&zero).(type) {
		case *string:
			typ = "String"
		case *int64:
			typ = "Int64"
		case *bool:
			typ = "UInt8"
		case *time.Time:
			typ = "DateTime"
		case *[]string:
			typ = "Array(String)"
		default:
			typ = fmt.Sprintf("unsupported %T", c.Field(&zero))
		}
		if c.Nullable {
			typ = "Nullable(" + typ + ")"
		}
		out = append(out, c.Name+" "+typ)
	}
	return append(out, "updated_at DateTime", "version UInt64")
}

func conn(t testing.TB, o clickhouse.Options) ch.Conn {
	t.Helper()
	c, err := ch.Open(&ch.Options{Addr: []string{o.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func query(t testing.TB, o clickhouse.Options, q string) interface{ Scan(...any) error } {
	t.Helper()
	return conn(t, o).QueryRow(context.Background(), q)
}

func mustExec(t testing.TB, o clickhouse.Options, q string) {
	t.Helper()
	if err := clickhousetest.Exec(o.Addr, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
