package main

import (
	"context"
	"fmt"
)

func runMigrate(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "migrate", "migrate [--config FILE]")
	configPath := fs.String("config", "flowmeter.yaml", "config file")
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg, _, s, err := openConfigured(ctx, *configPath)
	if err != nil {
		return err
	}
	s.Close()
	fmt.Fprintf(env.stdout, "migrated %s\n", describeStore(cfg))
	return nil
}
