package clickhouse

import (
	"reflect"
	"strings"
	"testing"

	"github.com/flowmeter/flowmeter/schema"
)

var testDDL = clusterDDL{db: "fm", cluster: "c1", path: DefaultReplicaPath, name: DefaultReplicaName}

func TestClusterMigrations(t *testing.T) {
	ms := []schema.Migration{
		{Version: 1, Name: "things", Statements: []string{
			"CREATE TABLE IF NOT EXISTS {database}.things (\n    source String,\n    id String,\n    version UInt64\n) ENGINE = ReplacingMergeTree(version)\nPARTITION BY toYYYYMM(at)\nORDER BY (source, id)",
		}},
		{Version: 2, Name: "more", Statements: []string{
			"ALTER TABLE {database}.things ADD COLUMN extra String",
			"ALTER TABLE {database}.things ADD COLUMN more UInt8",
			"CREATE TABLE IF NOT EXISTS {database}.marks (source String, stream String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY (source, stream)",
		}},
	}
	got, err := testDDL.migrations(ms)
	if err != nil {
		t.Fatal(err)
	}
	distThings := "CREATE TABLE IF NOT EXISTS `fm`.`things` ON CLUSTER `c1` AS `fm`.`things_local` ENGINE = Distributed('c1', 'fm', 'things_local', cityHash64(id))"
	want := [][]string{
		{
			"CREATE TABLE IF NOT EXISTS `fm`.`things_local` ON CLUSTER `c1` (\n    source String,\n    id String,\n    version UInt64\n) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/fm/things_local', '{replica}', version)\nPARTITION BY toYYYYMM(at)\nORDER BY (source, id)",
			distThings,
		},
		{
			"ALTER TABLE `fm`.`things_local` ON CLUSTER `c1` ADD COLUMN extra String",
			"ALTER TABLE `fm`.`things_local` ON CLUSTER `c1` ADD COLUMN more UInt8",
			"CREATE TABLE IF NOT EXISTS `fm`.`marks_local` ON CLUSTER `c1` (source String, stream String, version UInt64) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/fm/marks_local', '{replica}', version) ORDER BY (source, stream)",
			"CREATE TABLE IF NOT EXISTS `fm`.`marks` ON CLUSTER `c1` AS `fm`.`marks_local` ENGINE = Distributed('c1', 'fm', 'marks_local', cityHash64(source, stream))",
			// The Distributed table is made again once, after both ALTERs.
			"DROP TABLE IF EXISTS `fm`.`things` ON CLUSTER `c1`",
			distThings,
		},
	}
	if !reflect.DeepEqual(got, want) {
		for i := range max(len(got), len(want)) {
			var g, w []string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			t.Errorf("migration %d:\n got %q\nwant %q", i+1, g, w)
		}
	}
}

func TestClusterMigrationsTable(t *testing.T) {
	got, err := testDDL.migrations([]schema.Migration{{Name: migrationsTable, Statements: []string{migrationsDDL}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CREATE TABLE IF NOT EXISTS `fm`.`schema_migrations_local` ON CLUSTER `c1` (version UInt32, name String, applied_at DateTime) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/fm/schema_migrations_local', '{replica}') ORDER BY version",
		"CREATE TABLE IF NOT EXISTS `fm`.`schema_migrations` ON CLUSTER `c1` AS `fm`.`schema_migrations_local` ENGINE = Distributed('c1', 'fm', 'schema_migrations_local', cityHash64(version))",
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("got  %q\nwant %q", got[0], want)
	}
}

func TestClusterReplicaSettings(t *testing.T) {
	d := clusterDDL{db: "db2", cluster: "prod", path: "/ch/{layer}-{shard}/{table}", name: "{host}"}
	got, err := d.migrations([]schema.Migration{{Statements: []string{
		"CREATE TABLE IF NOT EXISTS {database}.t (id String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY id",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE TABLE IF NOT EXISTS `db2`.`t_local` ON CLUSTER `prod` (id String, version UInt64) ENGINE = ReplicatedReplacingMergeTree('/ch/{layer}-{shard}/t_local', '{host}', version) ORDER BY id"
	if got[0][0] != want {
		t.Errorf("got  %s\nwant %s", got[0][0], want)
	}
}

func TestClusterMigrationsRefused(t *testing.T) {
	for _, stmts := range [][]string{
		{"ALTER TABLE {database}.nowhere ADD COLUMN x String"},
		{"DROP TABLE {database}.things"},
		{"CREATE TABLE IF NOT EXISTS {database}.m (id String) ENGINE = MergeTree() ORDER BY id"},
		{"CREATE TABLE IF NOT EXISTS {database}.m (id String) ENGINE = ReplacingMergeTree()"},
	} {
		if got, err := testDDL.migrations([]schema.Migration{{Version: 7, Name: "x", Statements: stmts}}); err == nil {
			t.Errorf("%q translated to %q, want an error", stmts, got)
		} else if !strings.HasPrefix(err.Error(), "migration 0007_x: ") {
			t.Errorf("error %q does not name the migration", err)
		}
	}
}

// Every embedded migration has a cluster form, and every statement of it runs ON
// CLUSTER with the database filled in.
func TestClusterEmbeddedMigrations(t *testing.T) {
	ms, err := schema.Migrations(schema.ClickHouse)
	if err != nil {
		t.Fatal(err)
	}
	got, err := testDDL.migrations(ms)
	if err != nil {
		t.Fatal(err)
	}
	// 0001: 7 tables, 0002: 1, 0003: 3, each local + Distributed; 0004: 7 ALTERs on 5
	// tables, each Distributed then dropped and made; 0005: 6 ALTERs on 3 tables and 2 tables.
	wantCounts := []int{14, 2, 6, 7 + 2*5, 6 + 2*3 + 2*2}
	for i, stmts := range got {
		if i < len(wantCounts) && len(stmts) != wantCounts[i] {
			t.Errorf("migration %d: %d statements, want %d", i+1, len(stmts), wantCounts[i])
		}
		for _, q := range stmts {
			if strings.Contains(q, "{database}") || !strings.Contains(q, " ON CLUSTER `c1`") {
				t.Errorf("migration %d: %s", i+1, q)
			}
		}
	}
}
