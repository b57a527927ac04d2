package collectortest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// Stores lists, by name, the stores every collector scenario runs against: each
// opener returns a fresh, migrated store closed when its test ends. The ClickHouse
// one needs the test binary's TestMain to call clickhousetest.Main.
func Stores() map[string]func(tb testing.TB) store.Store {
	return map[string]func(tb testing.TB) store.Store{
		"sqlite": SQLite,
		"clickhouse": func(tb testing.TB) store.Store {
			s, err := clickhouse.Open(context.Background(), clickhousetest.Open(tb))
			if err != nil {
				tb.Fatal(err)
			}
			return Migrated(tb, s)
		},
	}
}

// SQLite returns a fresh, migrated SQLite store in a temporary directory, closed
// when the test ends.
func SQLite(tb testing.TB) store.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "f.db"))
	if err != nil {
		tb.Fatal(err)
	}
	return Migrated(tb, s)
}

// Migrated migrates s and closes it when the test ends, failing the test if the
// migration fails.
func Migrated(tb testing.TB, s store.Store) store.Store {
	tb.Helper()
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
