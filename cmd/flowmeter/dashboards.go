package main

import (
	"context"
	"fmt"

	"github.com/flowmeter/flowmeter/dashboards"
)

// runDashboards runs 'dashboards export': the Grafana dashboards and the
// provisioning files that load them.
func runDashboards(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "export" {
		return fmt.Errorf("dashboards: want 'dashboards export --dir DIR'")
	}
	fs := newFlags(env, "dashboards export", "dashboards export --dir DIR")
	dir := fs.String("dir", "", "directory to write dashboards/<uid>.json and provisioning/ into")
	if err := fs.parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("dashboards export: --dir is required")
	}
	if err := dashboards.Export(*dir); err != nil {
		return fmt.Errorf("dashboards export: %w", err)
	}
	all, err := dashboards.All()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %d dashboards and their provisioning files to %s\n", len(all), *dir)
	return nil
}
