package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/builtin"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// loadConfig loads the config for the commands that work on the store but talk to no
// source (report, metrics, derive, record, migrate), so that they run without the
// sources' secrets. Its sources are the config's when all of them can be built, for
// the ancestry questions derivation may ask GitHub; otherwise they are nil, and
// 'flowmeter config check' says why.
func loadConfig(path string) (*config.Config, []collectors.Instance, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	sources, _ := buildSources(cfg)
	return cfg, sources, nil
}

// loadSources loads the config and builds every source, for the commands that talk
// to sources (collect, run, demo, config check): a bad setting, a missing secret or a
// source naming one that is not there stops them before they touch the store.
func loadSources(path string) (*config.Config, []collectors.Instance, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, err
	}
	sources, err := buildSources(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, sources, nil
}

// sourceChecker is a source whose settings name other sources; it checks them once
// every source is built.
type sourceChecker interface {
	CheckSources(sources []collectors.Instance) error
}

// buildSources builds the config's sources and checks what involves several of them.
func buildSources(cfg *config.Config) ([]collectors.Instance, error) {
	sources, err := builtin.Registry().Build(cfg)
	if err != nil {
		return nil, err
	}
	for _, s := range sources {
		if c, ok := s.Source.(sourceChecker); ok {
			if err := c.CheckSources(sources); err != nil {
				return nil, err
			}
		}
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
				return nil, fmt.Errorf("%s: sources %q and %q both serve %s: keep one", cfg.Path, other, s.Name, path)
			}
			servedBy[path] = s.Name
		}
	}
	return sources, nil
}

// checkStore finds what would keep the config's store from opening, before it is
// opened: SQLite, asked to create a file in a directory that does not exist, says
// only "unable to open database file".
func checkStore(cfg *config.Config) error {
	s := cfg.Store.SQLite
	if s == nil || s.Path == ":memory:" || strings.HasPrefix(s.Path, "file:") {
		return nil
	}
	dir := filepath.Dir(s.Path)
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &config.Error{File: cfg.Path, Field: "store.sqlite.path",
			Msg: fmt.Sprintf("directory %s does not exist: create it, or give a path in a directory that does", dir), Err: err}
	case err != nil:
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return &config.Error{File: cfg.Path, Field: "store.sqlite.path", Msg: fmt.Sprintf("directory %s: %s", dir, msg), Err: err}
	case !info.IsDir():
		return &config.Error{File: cfg.Path, Field: "store.sqlite.path", Msg: fmt.Sprintf("%s is not a directory", dir)}
	}
	return nil
}

// openStore opens the store the config names.
func openStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	if ch := cfg.Store.ClickHouse; ch != nil {
		password, err := ch.Password()
		if err != nil {
			return nil, err
		}
		return clickhouse.Open(ctx, clickhouse.Options{
			Addr: ch.Addr, Addrs: ch.Addrs, RoundRobin: ch.ConnOpenStrategy == "round_robin",
			Cluster: ch.Cluster, ReplicaPath: ch.ReplicaPath, ReplicaName: ch.ReplicaName,
			Database: ch.Database, Username: ch.Username, Password: password,
			TLS: ch.TLS, DialTimeout: ch.DialTimeout.Duration,
		})
	}
	if err := checkStore(cfg); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, cfg.Store.SQLite.Path)
}

// openConfigured loads the config (as loadConfig does) and opens its store, migrated:
// what the commands that work on the store and talk to no source start with. The
// caller closes it.
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
		return fmt.Sprintf("ClickHouse %s, database %s", strings.Join(ch.Servers(), ","), ch.Database)
	}
	return "SQLite " + cfg.Store.SQLite.Path
}
