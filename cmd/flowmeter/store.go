package main

import (
	"context"
	"fmt"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/builtin"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// loadConfig loads the config and builds its sources, so a bad source setting stops
// a command before it touches the store.
func loadConfig(path string) (*config.Config, []collectors.Instance, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	sources, err := builtin.Registry().Build(cfg)
	if err != nil {
		return nil, nil, err
	}
	// Two receivers serving one path would make the listener refuse to start.
	servedBy := map[string]string{}
	for _, s := range sources {
		r, ok := s.Source.(collectors.Receiver)
		if !ok {
			continue
		}
		for path := range r.Routes(collectors.ReceiverEnv{}) {
			if other, taken := servedBy[path]; taken {
				return nil, nil, fmt.Errorf("%s: sources %q and %q both serve %s: keep one", cfg.Path, other, s.Name, path)
			}
			servedBy[path] = s.Name
		}
	}
	return cfg, sources, nil
}

// openStore opens the store the config names.
func openStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	if ch := cfg.Store.ClickHouse; ch != nil {
		password, err := ch.Password()
		if err != nil {
			return nil, err
		}
		return clickhouse.Open(ctx, clickhouse.Options{
			Addr: ch.Addr, Database: ch.Database, Username: ch.Username, Password: password,
			TLS: ch.TLS, DialTimeout: ch.DialTimeout.Duration,
		})
	}
	return sqlite.Open(ctx, cfg.Store.SQLite.Path)
}

// openConfigured loads the config and its sources and opens its store, migrated:
// what every command that works on the store starts with. The caller closes it.
func openConfigured(ctx context.Context, path string) (*config.Config, []collectors.Instance, store.Store, error) {
	cfg, sources, err := loadConfig(path)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := openMigrated(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, sources, s, nil
}

// openMigrated opens the config's store and brings its tables up to date.
func openMigrated(ctx context.Context, cfg *config.Config) (store.Store, error) {
	s, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// describeStore names the store for people, never with credentials.
func describeStore(cfg *config.Config) string {
	if ch := cfg.Store.ClickHouse; ch != nil {
		return fmt.Sprintf("ClickHouse %s, database %s", ch.Addr, ch.Database)
	}
	return "SQLite " + cfg.Store.SQLite.Path
}
