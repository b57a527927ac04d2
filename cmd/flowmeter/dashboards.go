package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/dashboards"
	"github.com/flowmeter/flowmeter/dashboards/push"
)

// runDashboards runs 'dashboards export' (the Grafana dashboards and the
// provisioning files that load them) and 'dashboards push' (the same, upserted
// into a running Grafana through its HTTP API).
func runDashboards(ctx context.Context, env *environment, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "export":
			return runDashboardsExport(env, args[1:])
		case "push":
			return runDashboardsPush(ctx, env, args[1:])
		}
	}
	return fmt.Errorf("dashboards: want 'dashboards export --dir DIR' or 'dashboards push --config FILE'")
}

func runDashboardsExport(env *environment, args []string) error {
	fs := newFlags(env, "dashboards export", "dashboards export --dir DIR")
	dir := fs.String("dir", "", "directory to write dashboards/<uid>.json and provisioning/ into")
	if err := fs.parse(args); err != nil {
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

// runDashboardsPush creates the flowmeter folder and the datasources when Grafana
// lacks them, upserts every dashboard, prints what happened to each, and fails when
// anything did.
func runDashboardsPush(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "dashboards push", "dashboards push [--config FILE]")
	configPath := fs.String("config", "flowmeter.yaml", "config file: its grafana section and its ClickHouse store")
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg, _, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	g := cfg.Grafana
	if g.URL == "" {
		return fmt.Errorf("dashboards push: %s has no grafana.url: give Grafana's address and a service-account token (grafana.token_env)", *configPath)
	}
	if g.TokenEnv == "" && g.TokenFile == "" {
		return fmt.Errorf("dashboards push: %s names no grafana.token_env or grafana.token_file: a Grafana service-account token is needed", *configPath)
	}
	token, err := g.Token()
	if err != nil {
		return fmt.Errorf("dashboards push: grafana token: %w", err)
	}
	plan, err := pushPlan(cfg)
	if err != nil {
		return fmt.Errorf("dashboards push: %w", err)
	}
	client, err := push.NewClient(g.URL, token, &http.Client{Timeout: 30 * time.Second})
	if err != nil {
		return fmt.Errorf("dashboards push: %w", err)
	}
	results, err := push.Push(ctx, client, plan)
	w := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	for _, r := range results {
		line := fmt.Sprintf("%s\t%s\t%s", r.Kind, r.UID, r.Action)
		if r.Err != nil {
			line += "\t" + r.Err.Error()
		}
		fmt.Fprintln(w, line)
	}
	w.Flush()
	if err != nil {
		var perr *push.Error
		if errors.As(err, &perr) {
			return fmt.Errorf("dashboards push: %d of %d items failed (see above)", len(perr.Failed), len(results))
		}
		return fmt.Errorf("dashboards push: %w", err)
	}
	return nil
}

// pushPlan is what a push puts into Grafana: the flowmeter folder, the ClickHouse
// datasource as Grafana reaches the store, the Prometheus datasource and every
// dashboard.
func pushPlan(cfg *config.Config) (push.Plan, error) {
	ch := cfg.Store.ClickHouse
	if ch == nil {
		return push.Plan{}, errors.New("the dashboards read ClickHouse, and the config's store is SQLite: point store.clickhouse at the server Grafana reads")
	}
	addr := cfg.Grafana.ClickHouseAddr
	if addr == "" {
		addr = ch.Servers()[0]
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return push.Plan{}, fmt.Errorf("ClickHouse address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return push.Plan{}, fmt.Errorf("ClickHouse address %q: bad port", addr)
	}
	password, err := ch.Password()
	if err != nil {
		return push.Plan{}, fmt.Errorf("ClickHouse password: %w", err)
	}
	prometheus := cfg.Grafana.PrometheusURL
	if prometheus == "" {
		prometheus = config.DefaultPrometheusURL
	}
	plan := push.Plan{
		FolderUID: dashboards.FolderUID, FolderTitle: dashboards.FolderTitle,
		Datasources: []push.Datasource{
			{
				UID: dashboards.ClickHouseUID, Name: "flowmeter ClickHouse", Type: dashboards.ClickHousePluginType,
				JSONData: map[string]any{
					"host": host, "port": port, "protocol": "native", "secure": ch.TLS,
					"defaultDatabase": ch.Database, "username": ch.Username,
				},
				SecureJSONData: map[string]string{"password": password},
			},
			{UID: dashboards.PrometheusUID, Name: "flowmeter Prometheus", Type: "prometheus", URL: prometheus},
		},
	}
	all, err := dashboards.All()
	if err != nil {
		return push.Plan{}, err
	}
	for _, d := range all {
		plan.Dashboards = append(plan.Dashboards, push.Dashboard{UID: d.UID, Title: d.Title, JSON: d.JSON})
	}
	return plan, nil
}
