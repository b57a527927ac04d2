package main

import (
	"context"
	"fmt"

	"github.com/flowmeter/flowmeter/reports/pages"
)

func runConfig(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return fmt.Errorf("config: expected 'config check' (run 'flowmeter config check -h')")
	}
	fs := newFlags(env, "config check", "config check [--config FILE]")
	configPath := fs.String("config", "flowmeter.yaml", "config file")
	if err := fs.parse(args[1:]); err != nil {
		return err
	}
	// Silent on success, like other checkers, so that scripts and CI need only the
	// exit status.
	cfg, _, err := loadSources(*configPath)
	if err != nil {
		return err
	}
	// As `flowmeter run` starts: the pages' secrets resolve, and a listener beyond
	// loopback has them.
	creds, err := pages.ResolveCredentials(cfg.Server.Auth)
	if err == nil {
		err = checkPagesGuarded("server.listen", cfg.Server.Listen, creds)
	}
	if err != nil {
		return fmt.Errorf("config check: %w", err)
	}
	return checkStore(cfg)
}
