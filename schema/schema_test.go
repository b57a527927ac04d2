package schema

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSplitStatements(t *testing.T) {
	text := "-- a comment; not a statement\nCREATE TABLE a (\n  x String -- trailing\n);\n\n-- another\nCREATE TABLE b (y UInt8);\nSELECT 1"
	got := splitStatements(text)
	want := []string{"CREATE TABLE a (\n  x String -- trailing\n)", "CREATE TABLE b (y UInt8)", "SELECT 1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("splitStatements = %q, want %q", got, want)
	}
}

func TestMigrationsOfEachDialect(t *testing.T) {
	for _, d := range []Dialect{ClickHouse, SQLite} {
		ms, err := Migrations(d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if len(ms) == 0 || ms[0].Version != 1 {
			t.Fatalf("%s: migrations %+v, want them to start at version 1", d, ms)
		}
		// Every record table and the cursors table is created by some migration.
		var all []string
		for _, m := range ms {
			all = append(all, m.Statements...)
		}
		created := strings.Join(all, "\n")
		for _, k := range append(Kinds, "cursors") {
			if !strings.Contains(created, "."+string(k)+" (") && !strings.Contains(created, "EXISTS "+string(k)+" (") {
				t.Errorf("%s: no migration creates table %s", d, k)
			}
		}
	}
	if _, err := Migrations("oracle"); err == nil {
		t.Error("Migrations of an unknown dialect succeeded")
	}
}

func TestVersion(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		in   time.Time
		want int64
	}{
		{time.Time{}, 0},
		{at, 1767323045000000006},
		{time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
	}
	for _, tc := range tests {
		if got := Version(tc.in); got != tc.want {
			t.Errorf("Version(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if got := FromVersion(Version(at)); !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("FromVersion(Version(%v)) = %v", at, got)
	}
	if !FromVersion(0).IsZero() {
		t.Error("FromVersion(0) is not the zero time")
	}
}

func TestCeilSecond(t *testing.T) {
	whole := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := CeilSecond(whole); got != whole.Unix() {
		t.Errorf("CeilSecond(whole second) = %d, want %d", got, whole.Unix())
	}
	if got := CeilSecond(whole.Add(time.Nanosecond)); got != whole.Unix()+1 {
		t.Errorf("CeilSecond(whole + 1ns) = %d, want %d", got, whole.Unix()+1)
	}
}

// keyed is what TestNaturalKeyComesFirst needs of every table.
type keyed interface{ ColumnNames() []string }

func TestNaturalKeyComesFirst(t *testing.T) {
	tables := []keyed{PullRequests, Deployments, Incidents, WorkItems, StatusChanges, Worklogs, Ancestries,
		ChangeFacts, DeploymentFacts, IncidentFacts, FlowItemFacts, ToilFacts}
	if len(tables) != len(Kinds)+len(FactKinds) {
		t.Fatalf("%d tables checked, %d kinds: add the new one", len(tables), len(Kinds)+len(FactKinds))
	}
	for _, tb := range tables {
		if cols := tb.ColumnNames(); cols[0] != "source" || cols[1] != "id" {
			t.Errorf("columns %v: Key needs source and id first", cols)
		}
	}
	pr := PullRequest{Source: "gh", ID: "a#1"}
	if got := PullRequests.Key(&pr); got != "gh\x00a#1" {
		t.Errorf("Key = %q", got)
	}
}

// TestBatchAppendAndCountsCoverEveryField keeps Append and Counts in step with the
// fields of Batch: a field they forgot would be dropped by the spool's merged
// replay, or missing from its listing.
func TestBatchAppendAndCountsCoverEveryField(t *testing.T) {
	one := &Batch{}
	v := reflect.ValueOf(one).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		f.Set(reflect.MakeSlice(f.Type(), 1, 1))
	}
	merged := &Batch{}
	merged.Append(one)
	merged.Append(one)
	m := reflect.ValueOf(merged).Elem()
	for i := range m.NumField() {
		if n := m.Field(i).Len(); n != 2 {
			t.Errorf("Append: %s has %d entries after appending two batches of one, want 2", m.Type().Field(i).Name, n)
		}
	}
	counts := one.Counts()
	if len(counts) != v.NumField()-1 { // every field but Cursors
		t.Errorf("Counts of a batch with one of everything: %v, want %d kinds", counts, v.NumField()-1)
	}
	for k, n := range counts {
		if n != 1 {
			t.Errorf("Counts[%s] = %d, want 1", k, n)
		}
	}
}
