// Package clickhouse is the production store.Store: raw records in ReplacingMergeTree
// tables, written with batched native-protocol inserts and read with FINAL so only the
// latest version of each record is seen. Every statement it sends runs on ClickHouse
// 18.16 (what CI has) and on current releases (what production runs). On a cluster
// the same tables are Distributed ones over replicated local tables (cluster.go).
package clickhouse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// Options says which server and database the store uses; zero fields take defaults.
type Options struct {
	// Addr is the server's native-protocol address, host:port (9000, or 9440 with TLS).
	Addr string
	// Database holds flowmeter's tables; default "flowmeter".
	Database string
	// Username defaults to "default".
	Username string
	// Password comes from the environment or a file, never from the config text.
	Password string
	// TLS turns on TLS, verifying the server's certificate against the system roots.
	TLS bool
	// DialTimeout bounds how long an unreachable server can stall start-up; default 5s.
	DialTimeout time.Duration
	// Addrs, instead of Addr, lists several servers: a new connection goes to the
	// first that answers, so a server that is down is skipped.
	Addrs []string
	// RoundRobin spreads new connections over Addrs instead of preferring the first.
	RoundRobin bool
	// Cluster names the remote_servers cluster that Migrate creates the tables on,
	// ON CLUSTER, as replicated local tables behind Distributed ones; empty means a
	// single server, as before.
	Cluster string
	// ReplicaPath is each replicated table's ZooKeeper path, with the servers'
	// macros and {database} and {table}; default DefaultReplicaPath.
	ReplicaPath string
	// ReplicaName names a server's replica; default DefaultReplicaName.
	ReplicaName string
}

// Default option values, so a minimal config only names the address.
const (
	DefaultDatabase    = "flowmeter"
	DefaultUsername    = "default"
	DefaultDialTimeout = 5 * time.Second
)

// databaseName is what may be pasted into SQL as an identifier without escaping.
var databaseName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (o Options) withDefaults() Options {
	if o.Database == "" {
		o.Database = DefaultDatabase
	}
	if o.Username == "" {
		o.Username = DefaultUsername
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.Cluster != "" {
		if o.ReplicaPath == "" {
			o.ReplicaPath = DefaultReplicaPath
		}
		if o.ReplicaName == "" {
			o.ReplicaName = DefaultReplicaName
		}
	}
	return o
}

// addrs is every server the options name.
func (o Options) addrs() []string {
	if o.Addr == "" {
		return o.Addrs
	}
	return append([]string{o.Addr}, o.Addrs...)
}

// Store keeps records in ClickHouse; it is safe for concurrent use.
type Store struct {
	conn      driver.Conn
	addr      string
	db        string      // the database name, validated by Open
	cluster   *clusterDDL // nil on a single server
	replicas  int         // on a cluster, the insert quorum; see insertContext
	chunkRows int         // records per INSERT; tests make it small to cross chunk edges
}

var _ store.Store = (*Store)(nil)

// Open connects to the server and checks that it answers, so a wrong address or
// password fails at start-up; it creates nothing (that is Migrate's job).
func Open(ctx context.Context, o Options) (*Store, error) {
	o = o.withDefaults()
	addrs := o.addrs()
	if len(addrs) == 0 {
		return nil, errors.New("clickhouse: no address given")
	}
	if !databaseName.MatchString(o.Database) {
		return nil, fmt.Errorf("clickhouse: database name %q must match %s", o.Database, databaseName)
	}
	if o.Cluster != "" && !databaseName.MatchString(o.Cluster) {
		return nil, fmt.Errorf("clickhouse: cluster name %q must match %s", o.Cluster, databaseName)
	}
	for _, v := range []string{o.ReplicaPath, o.ReplicaName} {
		if strings.ContainsAny(v, "'\\") {
			return nil, fmt.Errorf("clickhouse: replica path or name %q has a quote or backslash", v)
		}
	}
	opts := &ch.Options{
		Addr: addrs,
		// No database in the handshake: it may not exist before Migrate, and every
		// statement names its tables in full.
		Auth:        ch.Auth{Username: o.Username, Password: o.Password},
		DialTimeout: o.DialTimeout,
		// LZ4 is what clickhouse-client uses; it costs little CPU and keeps inserts
		// of wide string columns off the wire.
		Compression: &ch.Compression{Method: ch.CompressionLZ4},
	}
	if o.TLS {
		opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if o.RoundRobin {
		opts.ConnOpenStrategy = ch.ConnOpenRoundRobin
	}
	s := &Store{addr: strings.Join(addrs, ","), db: o.Database, chunkRows: defaultChunkRows}
	if o.Cluster != "" {
		s.cluster = &clusterDDL{db: o.Database, cluster: o.Cluster, path: o.ReplicaPath, name: o.ReplicaName}
		opts.Settings = readSettings()
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse at %s: %w", s.addr, err)
	}
	s.conn = conn
	if err := s.ping(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	if o.Cluster != "" {
		if s.replicas, err = shardReplicas(ctx, conn, o.Cluster); err != nil {
			conn.Close()
			return nil, fmt.Errorf("clickhouse at %s: %w", s.addr, err)
		}
	}
	return s, nil
}

// ping checks only that the server answers, with one line that names the address.
func (s *Store) ping(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("clickhouse at %s: %w", s.addr, oneLine(err))
	}
	return nil
}

// oneLine keeps an error wrapped but flattens server exceptions, which carry stack
// traces on several lines, to their first line.
func oneLine(err error) error {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		return &firstLineError{msg: strings.TrimSpace(msg[:i]), err: err}
	}
	return err
}

type firstLineError struct {
	msg string
	err error
}

func (e *firstLineError) Error() string { return e.msg }
func (e *firstLineError) Unwrap() error { return e.err }

// Close releases the pooled connections, for a clean shutdown.
func (s *Store) Close() error { return s.conn.Close() }

// table is a table's name qualified with the store's database, ready to paste into SQL.
func (s *Store) table(name string) string { return "`" + s.db + "`.`" + name + "`" }

const migrationsTable = "schema_migrations"

// migrationsDDL is written like a migration so that a cluster gets it replicated too:
// two 'flowmeter migrate' runs at once may both record a migration, and
// ReplacingMergeTree keeps one.
const migrationsDDL = "CREATE TABLE IF NOT EXISTS {database}." + migrationsTable +
	" (version UInt32, name String, applied_at DateTime) ENGINE = ReplacingMergeTree() ORDER BY version"

// Migrate creates the database and applies, in order, each embedded migration the
// schema_migrations table has not recorded; a migration is recorded only after all
// its statements succeeded, and its statements are idempotent, so a run that stopped
// half-way, or ran at the same time on another host, is finished by the next one.
// On a cluster the pending migrations are applied together (see clusterDDL.plan).
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := schema.Migrations(schema.ClickHouse)
	if err != nil {
		return err
	}
	return s.migrate(ctx, migrations, migrations)
}

// upToDate says, from the server connected to alone, that the migrations table
// exists and records every migration; any doubt (an error, a table missing) is no.
func (s *Store) upToDate(ctx context.Context, migrations []schema.Migration) bool {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = ?", s.db, migrationsTable).Scan(&n); err != nil || n == 0 {
		return false
	}
	applied, err := s.appliedMigrations(ctx)
	if err != nil {
		return false
	}
	for _, m := range migrations {
		if !applied[uint32(m.Version)] {
			return false
		}
	}
	return true
}

// migrate applies the first of all that are not applied yet; tests apply fewer than
// all to see an upgrade.
func (s *Store) migrate(ctx context.Context, all, migrations []schema.Migration) error {
	if s.cluster != nil && s.upToDate(ctx, migrations) {
		// Setup runs ON CLUSTER, which waits for every server: with one down, every
		// command that opens the store would wait distributed_ddl_task_timeout and
		// fail, although there is nothing to do.
		return nil
	}
	setup := []wave{
		{"CREATE DATABASE IF NOT EXISTS `" + s.db + "`"},
		{strings.ReplaceAll(migrationsDDL, "{database}.", "`"+s.db+"`.")},
	}
	if d := s.cluster; d != nil {
		own := []schema.Migration{{Name: migrationsTable, Statements: []string{migrationsDDL}}}
		waves, err := d.plan(own, own, nil)
		if err != nil {
			return fmt.Errorf("clickhouse: cluster schema: %w", err)
		}
		setup = append([]wave{{d.database()}}, waves...)
	}
	for _, w := range setup {
		if err := s.run(ctx, w); err != nil {
			return fmt.Errorf("clickhouse: migrate: %w", oneLine(err))
		}
	}
	applied, err := s.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	var pending []schema.Migration
	for _, m := range migrations {
		if !applied[uint32(m.Version)] {
			pending = append(pending, m)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	if s.cluster != nil {
		return s.migrateCluster(ctx, all, pending)
	}
	for _, m := range pending {
		for _, stmt := range m.Statements {
			q := strings.ReplaceAll(stmt, "{database}.", "`"+s.db+"`.")
			if err := s.run(ctx, wave{q}); err != nil {
				return fmt.Errorf("clickhouse: migration %04d_%s: %w", m.Version, m.Name, oneLine(err))
			}
		}
		if err := s.record(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// migrateCluster applies the pending migrations together, wave by wave, and then
// records them: every ON CLUSTER statement waits for every server, so the fewer the
// waves, the sooner a fresh cluster is ready.
func (s *Store) migrateCluster(ctx context.Context, all, pending []schema.Migration) error {
	existing, err := s.tableNames(ctx)
	if err != nil {
		return err
	}
	waves, err := s.cluster.plan(all, pending, existing)
	if err != nil {
		return fmt.Errorf("clickhouse: cluster schema: %w", err)
	}
	for _, w := range waves {
		if err := s.run(ctx, w); err != nil {
			return fmt.Errorf("clickhouse: migrations %04d to %04d: %w", pending[0].Version, pending[len(pending)-1].Version, oneLine(err))
		}
	}
	return s.record(ctx, pending...)
}

// tableNames are the tables the database has on the server connected to: a
// migration that stopped half-way may have left some.
func (s *Store) tableNames(ctx context.Context) (map[string]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ?", s.db)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: listing the tables of %s: %w", s.db, oneLine(err))
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("clickhouse: listing the tables of %s: %w", s.db, oneLine(err))
		}
		names[name] = true
	}
	return names, rows.Err()
}

// record notes migrations as applied.
func (s *Store) record(ctx context.Context, ms ...schema.Migration) error {
	now := time.Now()
	err := s.insertRetrying(ctx, func(ctx context.Context) error {
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.table(migrationsTable)+" (version, name, applied_at)")
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := b.Append(uint32(m.Version), m.Name, now); err != nil {
				b.Abort()
				return err
			}
		}
		return b.Send()
	})
	if err != nil {
		return fmt.Errorf("clickhouse: recording migration %04d: %w", ms[len(ms)-1].Version, oneLine(err))
	}
	return nil
}

// maxWave is how many statements of a wave run at once.
const maxWave = 6

// run runs a wave's statements at once and returns the first error, taking a column
// that is there already as added.
func (s *Store) run(ctx context.Context, w wave) error {
	errs := make([]error, len(w))
	var wg sync.WaitGroup
	// Fewer at once than the driver's pool holds (10), which would otherwise make the
	// rest wait for a connection and give up after the dial timeout.
	slots := make(chan struct{}, maxWave)
	for i, q := range w {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			if err := s.conn.Exec(ctx, q); err != nil && !columnExists(err) {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// duplicateColumn is ClickHouse's error code for adding a column a table has;
// illegalColumn is what a replicated table answers to it, ON CLUSTER, when another
// migration run added the column first.
const (
	duplicateColumn = 15
	illegalColumn   = 44
)

// columnExists says an ADD COLUMN found its column there already: a migration that
// stopped half-way, or ran at the same time on another host, added it. ClickHouse
// 18.16 has no ADD COLUMN IF NOT EXISTS, so this is how those statements stay
// idempotent.
func columnExists(err error) bool {
	var ex *ch.Exception
	if !errors.As(err, &ex) {
		return false
	}
	return ex.Code == duplicateColumn ||
		ex.Code == illegalColumn && strings.Contains(ex.Message, "column with this name already exists")
}

func (s *Store) appliedMigrations(ctx context.Context) (map[uint32]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT version FROM "+s.table(migrationsTable)+" FINAL")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: reading %s: %w", migrationsTable, oneLine(err))
	}
	defer rows.Close()
	applied := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("clickhouse: reading %s: %w", migrationsTable, err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: reading %s: %w", migrationsTable, oneLine(err))
	}
	return applied, nil
}

// Ping checks that the server answers and that the database is at exactly the
// migration this build embeds, so a forgotten 'flowmeter migrate' or a downgrade is
// reported before any collector runs.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ping(ctx); err != nil {
		return err
	}
	migrations, err := schema.Migrations(schema.ClickHouse)
	if err != nil {
		return err
	}
	want := uint32(len(migrations))
	var n uint64
	err = s.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = ?",
		s.db, migrationsTable).Scan(&n)
	if err != nil {
		return fmt.Errorf("clickhouse: ping: %w", oneLine(err))
	}
	if n == 0 {
		return fmt.Errorf("clickhouse database %s has no %s table: %w", s.db, migrationsTable, store.ErrNotMigrated)
	}
	var got uint32
	if err := s.conn.QueryRow(ctx, "SELECT max(version) FROM "+s.table(migrationsTable)).Scan(&got); err != nil {
		return fmt.Errorf("clickhouse: ping: %w", oneLine(err))
	}
	switch {
	case got < want:
		return fmt.Errorf("clickhouse database %s is at migration %d, this build needs %d: %w", s.db, got, want, store.ErrNotMigrated)
	case got > want:
		return fmt.Errorf("clickhouse database %s is at migration %d, newer than this build's %d (upgrade flowmeter): %w", s.db, got, want, store.ErrNotMigrated)
	}
	return nil
}
