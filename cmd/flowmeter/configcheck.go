package main

import (
	"context"
	"fmt"
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
	cfg, sources, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s: ok (%d sources, %d teams, store %s)\n",
		*configPath, len(sources), len(cfg.Teams), describeStore(cfg))
	return nil
}
