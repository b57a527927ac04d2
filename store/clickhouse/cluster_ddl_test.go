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
	thingsEngine := " ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/fm/things_local', '{replica}', version)\nPARTITION BY toYYYYMM(at)\nORDER BY (source, id)"
	// A table not there yet is made with the columns its ALTERs add; one there already
	// (a migration stopped after its first wave) is made again as written, a no-op,
	// and altered.
	things1 := "CREATE TABLE IF NOT EXISTS `fm`.`things_local` ON CLUSTER `c1` (source String,\n    id String,\n    version UInt64)" + thingsEngine
	thingsWhole := "CREATE TABLE IF NOT EXISTS `fm`.`things_local` ON CLUSTER `c1` (source String,\n    id String,\n    version UInt64, extra String, more UInt8)" + thingsEngine
	thingsAsWritten := "CREATE TABLE IF NOT EXISTS `fm`.`things_local` ON CLUSTER `c1` (\n    source String,\n    id String,\n    version UInt64\n)" + thingsEngine
	marks := "CREATE TABLE IF NOT EXISTS `fm`.`marks_local` ON CLUSTER `c1` (source String, stream String, version UInt64) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/fm/marks_local', '{replica}', version) ORDER BY (source, stream)"
	extra := "ALTER TABLE `fm`.`things_local` ON CLUSTER `c1` ADD COLUMN extra String"
	more := "ALTER TABLE `fm`.`things_local` ON CLUSTER `c1` ADD COLUMN more UInt8"
	// The Distributed tables spell out the columns the local ones have after the
	// migrations applied, the CREATE's text trimmed and each added column after it.
	distThings1 := "CREATE TABLE IF NOT EXISTS `fm`.`things` ON CLUSTER `c1` (source String,\n    id String,\n    version UInt64) ENGINE = Distributed('c1', 'fm', 'things_local', cityHash64(id))"
	distThings := "CREATE TABLE IF NOT EXISTS `fm`.`things` ON CLUSTER `c1` (source String,\n    id String,\n    version UInt64, extra String, more UInt8) ENGINE = Distributed('c1', 'fm', 'things_local', cityHash64(id))"
	distMarks := "CREATE TABLE IF NOT EXISTS `fm`.`marks` ON CLUSTER `c1` (source String, stream String, version UInt64) ENGINE = Distributed('c1', 'fm', 'marks_local', cityHash64(source, stream))"
	tests := []struct {
		name     string
		apply    []schema.Migration
		existing []string
		want     []wave
	}{
		{"first", ms[:1], nil, []wave{{things1}, {distThings1}}},
		// Both at once on a fresh database: things is made whole, and not altered.
		{"both", ms, nil, []wave{{thingsWhole, marks}, {distThings, distMarks}}},
		// Both again after a run that made the local tables and stopped: the
		// Distributed tables come after the ALTERs, so none is dropped; one ALTER
		// of a table per wave, in file order.
		{"both, after a run stopped", ms, []string{"things_local", "marks_local"}, []wave{
			{thingsAsWritten, marks}, {extra}, {more}, {distThings, distMarks},
		}},
		// The second on a database with the first: things' Distributed table is made
		// again, once, after both ALTERs.
		{"second", ms[1:], []string{"things_local", "things", "schema_migrations_local"}, []wave{
			{marks}, {extra}, {more},
			{"DROP TABLE IF EXISTS `fm`.`things` ON CLUSTER `c1`"},
			{distThings, distMarks},
		}},
	}
	for _, tc := range tests {
		existing := map[string]bool{}
		for _, name := range tc.existing {
			existing[name] = true
		}
		got, err := testDDL.plan(ms, tc.apply, existing)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestClusterMigrationsTable(t *testing.T) {
	own := []schema.Migration{{Name: migrationsTable, Statements: []string{migrationsDDL}}}
	got, err := testDDL.plan(own, own, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []wave{
		{"CREATE TABLE IF NOT EXISTS `fm`.`schema_migrations_local` ON CLUSTER `c1` (version UInt32, name String, applied_at DateTime) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/fm/schema_migrations_local', '{replica}') ORDER BY version"},
		{"CREATE TABLE IF NOT EXISTS `fm`.`schema_migrations` ON CLUSTER `c1` (version UInt32, name String, applied_at DateTime) ENGINE = Distributed('c1', 'fm', 'schema_migrations_local', cityHash64(version))"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestClusterReplicaSettings(t *testing.T) {
	d := clusterDDL{db: "db2", cluster: "prod", path: "/ch/{layer}-{shard}/{table}", name: "{host}"}
	ms := []schema.Migration{{Statements: []string{
		"CREATE TABLE IF NOT EXISTS {database}.t (id String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY id",
	}}}
	got, err := d.plan(ms, ms, nil)
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
		ms := []schema.Migration{{Version: 7, Name: "x", Statements: stmts}}
		if got, err := testDDL.plan(ms, ms, nil); err == nil {
			t.Errorf("%q translated to %q, want an error", stmts, got)
		} else if !strings.HasPrefix(err.Error(), "migration 0007_x: ") && !strings.HasPrefix(err.Error(), "migrations 0007_x to 0007_x: ") {
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
	// 0001 makes 7 tables, 0002 1, 0003 3, 0005 2; 0004 has 7 ALTERs of 5 tables, 0005
	// 6 of 3 tables. The most ALTERs of one table: 3 in 0004 (deployment_facts), 3 in
	// 0005 (incidents), 4 in both (incidents).
	// The local tables of 0001 to 0003, on a database migrated that far.
	upTo3 := map[string]bool{}
	for _, name := range []string{"pull_requests", "deployments", "incidents", "commit_ancestry", "change_facts",
		"deployment_facts", "incident_facts", "cursors", "work_items", "status_changes", "worklogs"} {
		upTo3[name+localSuffix] = true
	}
	tests := []struct {
		name         string
		apply        []schema.Migration
		existing     map[string]bool
		stmts, waves int
	}{
		// 13 local tables made whole in one wave, 13 Distributed in one: no ALTER.
		{"fresh", ms, nil, 13 + 13, 1 + 1},
		// Again after a run that made the local tables and stopped: 4 ALTER waves.
		{"fresh, after a run stopped", ms, upTo3, 13 + 13 + 13, 1 + 4 + 1},
		{"0001", ms[:1], nil, 7 + 7, 2},
		// 6 altered tables' Distributed tables dropped and made again, 2 new tables.
		{"0004 and 0005", ms[3:], upTo3, 2 + 13 + 6 + 8, 1 + 4 + 1 + 1},
		{"0004", ms[3:4], upTo3, 7 + 5 + 5, 3 + 1 + 1},
	}
	for _, tc := range tests {
		got, err := testDDL.plan(ms, tc.apply, tc.existing)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, w := range got {
			for _, q := range w {
				n++
				if strings.Contains(q, "{database}") || !strings.Contains(q, " ON CLUSTER `c1`") {
					t.Errorf("%s: %s", tc.name, q)
				}
			}
		}
		if n != tc.stmts || len(got) != tc.waves {
			t.Errorf("%s: %d statements in %d waves, want %d in %d", tc.name, n, len(got), tc.stmts, tc.waves)
		}
	}
}
