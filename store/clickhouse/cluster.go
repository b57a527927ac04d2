package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/flowmeter/flowmeter/schema"
)

// Default replication settings: the layout ClickHouse's own documentation uses, with
// {shard} and {replica} the macros each server defines.
const (
	DefaultReplicaPath = "/clickhouse/tables/{shard}/{database}/{table}"
	DefaultReplicaName = "{replica}"
)

// localSuffix names the replicated table behind each Distributed one; reads and
// writes use the Distributed table, which keeps the name the queries know.
const localSuffix = "_local"

// clusterDDL turns the single-server migrations into their cluster form, so the
// .sql files stay the one description of the schema.
type clusterDDL struct {
	db, cluster string
	path, name  string // replica path and name, {database} and {table} not yet filled in
}

var (
	createTable = regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS \{database\}\.(\w+)\s*\((.*)\)\s*ENGINE\s*=\s*ReplacingMergeTree\((\w*)\)(.*)$`)
	orderBy     = regexp.MustCompile(`(?s)ORDER BY\s*\(?([\w\s,]+?)\)?\s*$`)
	alterTable  = regexp.MustCompile(`(?s)^ALTER TABLE \{database\}\.(\w+)\s+(ADD COLUMN .*)$`)
)

func (d clusterDDL) table(name string) string { return "`" + d.db + "`.`" + name + "`" }

func (d clusterDDL) onCluster() string { return " ON CLUSTER `" + d.cluster + "`" }

// database creates the database on every server.
func (d clusterDDL) database() string {
	return "CREATE DATABASE IF NOT EXISTS `" + d.db + "`" + d.onCluster()
}

// A wave is statements that may run at the same time: each ON CLUSTER statement
// waits for every server, and waiting for several at once makes a migration on a
// cluster take seconds rather than a minute.
type wave []string

// plan translates the migrations to apply, all in one, into waves; all is every
// migration, for the tables the ones to apply alter, and existing names the local
// tables the database has already. Applying them together, rather than one by one,
// lets the tables of every migration be created in the same wave. A CREATE TABLE
// becomes a replicated local table and a Distributed table over it; an ADD COLUMN
// goes to the local table, and the Distributed table, which ClickHouse 18.16 cannot
// alter ON CLUSTER, is dropped and created again from the local table's new columns
// once the ALTERs are done. A table not there yet is created with the columns its
// ALTERs add, and is not altered: an ALTER ON CLUSTER of a replicated table runs on
// one replica of each shard under a ZooKeeper lock, and on 18.16 a race in that
// lock stops the losing server's DDL worker for good, so that every later ON
// CLUSTER statement waits for it in vain. A statement of any other shape is an
// error, so a new kind of migration cannot silently skip the cluster.
func (d clusterDDL) plan(all, apply []schema.Migration, existing map[string]bool) ([]wave, error) {
	if len(apply) == 0 {
		return nil, nil
	}
	first, last := apply[0], apply[len(apply)-1]
	// ALTERs do not repeat the sorting key, so the keys come from every CREATE first;
	// the columns are those the tables have once the last migration to apply is done.
	tables := map[string]*tableDef{}
	for _, m := range all {
		if m.Version > last.Version {
			break
		}
		for _, stmt := range m.Statements {
			stmt = strings.TrimSpace(stmt)
			if c := createTable.FindStringSubmatch(stmt); c != nil {
				key, err := shardingKey(c[4])
				if err != nil {
					return nil, fmt.Errorf("migration %04d_%s: table %s: %w", m.Version, m.Name, c[1], err)
				}
				tables[c[1]] = &tableDef{key: key, columns: []string{strings.TrimSpace(c[2])}}
			} else if a := alterTable.FindStringSubmatch(stmt); a != nil && tables[a[1]] != nil {
				t := tables[a[1]]
				t.columns = append(t.columns, strings.TrimSpace(strings.TrimPrefix(a[2], "ADD COLUMN")))
			}
		}
	}
	var stmts []string
	for _, m := range apply {
		stmts = append(stmts, m.Statements...)
	}
	waves, err := d.migration(stmts, tables, existing)
	if err != nil {
		return nil, fmt.Errorf("migrations %04d_%s to %04d_%s: %w", first.Version, first.Name, last.Version, last.Name, err)
	}
	return waves, nil
}

// tableDef is what a Distributed table needs of its local table.
type tableDef struct {
	key     string   // the sharding key
	columns []string // column definitions, as the migrations give them
}

// migration translates the statements, given each table's sharding key and final
// columns: first the local tables, then the ALTERs of those that existed, the n-th
// of each table in the n-th wave so that a table's columns are added in the file's
// order, then the Distributed tables.
func (d clusterDDL) migration(stmts []string, tables map[string]*tableDef, existing map[string]bool) ([]wave, error) {
	var (
		locals, drops, dists wave
		alters               []wave
		created              = map[string]bool{}
		complete             = map[string]bool{} // created with every column its ALTERs add
		altered              = map[string]int{}
		order                []string // altered tables, in the file's order
	)
	for _, stmt := range stmts {
		stmt = strings.TrimSpace(stmt)
		if m := createTable.FindStringSubmatch(stmt); m != nil {
			name, columns, version, rest := m[1], m[2], m[3], m[4]
			args := "'" + d.replicaPath(name+localSuffix) + "', '" + d.name + "'"
			if version != "" {
				args += ", " + version
			}
			if !existing[name+localSuffix] {
				columns = strings.Join(tables[name].columns, ", ")
				complete[name] = true
			}
			locals = append(locals, "CREATE TABLE IF NOT EXISTS "+d.table(name+localSuffix)+d.onCluster()+" ("+columns+
				") ENGINE = ReplicatedReplacingMergeTree("+args+")"+rest)
			created[name] = true
			order = append(order, name)
			continue
		}
		if m := alterTable.FindStringSubmatch(stmt); m != nil {
			name := m[1]
			if tables[name] == nil {
				return nil, fmt.Errorf("table %s: altered but never created", name)
			}
			if complete[name] {
				continue
			}
			n := altered[name]
			if n == len(alters) {
				alters = append(alters, nil)
			}
			alters[n] = append(alters[n], "ALTER TABLE "+d.table(name+localSuffix)+d.onCluster()+" "+m[2])
			if n == 0 && !created[name] {
				order = append(order, name)
			}
			altered[name]++
			continue
		}
		return nil, fmt.Errorf("no cluster form for statement %q", firstLine(stmt))
	}
	for _, name := range order {
		if !created[name] {
			drops = append(drops, "DROP TABLE IF EXISTS "+d.table(name)+d.onCluster())
		}
		dists = append(dists, d.distributed(name, tables[name]))
	}
	var out []wave
	for _, w := range append(append([]wave{locals}, alters...), drops, dists) {
		if len(w) > 0 {
			out = append(out, w)
		}
	}
	return out, nil
}

// distributed creates the table reads and writes go through. Its sharding key puts
// every version of a row on one shard, where FINAL finds them all. Its columns are
// spelled out rather than copied AS the local table: an ALTER of a replicated table
// reaches the other replicas of a shard in the background, and a copy made on one of
// them too soon would miss the new columns for good.
func (d clusterDDL) distributed(name string, t *tableDef) string {
	return "CREATE TABLE IF NOT EXISTS " + d.table(name) + d.onCluster() + " (" + strings.Join(t.columns, ", ") +
		") ENGINE = Distributed('" + d.cluster + "', '" + d.db + "', '" + name + localSuffix + "', " + t.key + ")"
}

// replicaPath fills in the parts of the path flowmeter knows; the server fills in
// its macros. ClickHouse 18.16 does not expand {database} and {table} itself.
func (d clusterDDL) replicaPath(table string) string {
	return strings.NewReplacer("{database}", d.db, "{table}", table).Replace(d.path)
}

// shardingKey hashes the columns that identify a row: id where the sorting key has
// it (sources reuse ids rarely, and a row's source never changes), else the whole
// sorting key.
func shardingKey(rest string) (string, error) {
	m := orderBy.FindStringSubmatch(rest)
	if m == nil {
		return "", fmt.Errorf("no ORDER BY to shard by")
	}
	var cols []string
	for _, c := range strings.Split(m[1], ",") {
		cols = append(cols, strings.TrimSpace(c))
	}
	for _, c := range cols {
		if c == "id" {
			return "cityHash64(id)", nil
		}
	}
	return "cityHash64(" + strings.Join(cols, ", ") + ")", nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// Quorum errors (ClickHouse's ErrorCodes.cpp): too few replicas of a shard are up
// for the quorum, an earlier quorum insert is still unconfirmed, or the quorum was
// not reached in time. Each is answered by inserting again without a quorum.
var quorumErrors = map[int32]bool{
	285: true, // TOO_FEW_LIVE_REPLICAS
	286: true, // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
	319: true, // UNKNOWN_STATUS_OF_INSERT
}

func quorumFailed(err error) bool {
	var ex *ch.Exception
	return errors.As(err, &ex) && quorumErrors[ex.Code]
}

// quorumTimeout bounds how long an insert waits for every replica of a shard; a
// replica that falls behind that long is left to catch up on its own. A replica
// that crashed counts as up until its ZooKeeper session expires, so the first insert
// after a crash waits this long before going on without the quorum.
const quorumTimeout = 5 * time.Second

// insertContext carries the settings of an insert on a cluster. It returns only once
// a replica of every shard it touched has the rows (else the Distributed table would
// queue them on the server it reached, where a read does not see them yet), and,
// with quorum, once every replica of those shards has them, so a read that goes to
// any replica sees what was written. ClickHouse 18.16 takes no string settings over
// the driver, so the replica an insert or read goes to cannot be pinned instead.
func (s *Store) insertContext(ctx context.Context, quorum bool) context.Context {
	if s.cluster == nil {
		return ctx
	}
	set := ch.Settings{"insert_distributed_sync": 1}
	if quorum && s.replicas > 1 {
		set["insert_quorum"] = s.replicas
		set["insert_quorum_timeout"] = int(quorumTimeout / time.Millisecond)
	}
	return ch.Context(ctx, ch.WithSettings(set))
}

// maxReplicaDelay is how far behind, in seconds, a replica may be and still answer
// a read through a Distributed table while a fresher replica of its shard is up.
const maxReplicaDelay = 5

// readSettings go with every query on a cluster. A replica back from being down has
// a queue of the parts written meanwhile, as old as its outage, so reads go to the
// shard's other replica until it has caught up (or to it anyway if it is the only
// one up).
func readSettings() ch.Settings {
	return ch.Settings{"max_replica_delay_for_distributed_queries": maxReplicaDelay}
}

// shardReplicas is the fewest replicas any shard of the cluster has: the quorum
// every shard can meet when all its replicas are up. A cluster the server does not
// know is an error here rather than at the first ON CLUSTER statement.
func shardReplicas(ctx context.Context, conn driver.Conn, cluster string) (int, error) {
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.clusters WHERE cluster = ?", cluster).Scan(&n)
	if err != nil {
		return 0, oneLine(err)
	}
	if n == 0 {
		return 0, fmt.Errorf("cluster %q is not in the server's remote_servers", cluster)
	}
	var fewest uint64
	err = conn.QueryRow(ctx, "SELECT min(c) FROM (SELECT shard_num, count() AS c FROM system.clusters WHERE cluster = ? GROUP BY shard_num)",
		cluster).Scan(&fewest)
	if err != nil {
		return 0, oneLine(err)
	}
	return int(fewest), nil
}
