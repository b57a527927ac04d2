package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/flowmeter/flowmeter/metrics/exporter"
)

func runMetrics(ctx context.Context, env *environment, args []string) error {
	return runMetricsAt(ctx, env, args, time.Now())
}

// runMetricsAt prints the exporter's figures once, with windows ending at now: for
// cron and node_exporter's textfile collector, which scrape no flowmeter process,
// and for checking the exposition with promtool.
func runMetricsAt(ctx context.Context, env *environment, args []string, now time.Time) error {
	fs := newFlags(env, "metrics", "metrics [--config FILE] [--out FILE]")
	configPath := fs.String("config", "flowmeter.yaml", "config file")
	out := fs.String("out", "", "write the exposition to this file, replaced atomically (for node_exporter's textfile collector), instead of standard output")
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg, _, s, err := openConfigured(ctx, *configPath)
	if err != nil {
		return err
	}
	defer s.Close()

	teams := cfg.TeamNames()
	e := exporter.New()
	e.SetLimits(exporter.LimitsFor(cfg))
	if err := e.Refresh(ctx, s, teams, cfg.Rules.DORATable, now); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	// Only the exporter's families: a one-shot process's Go runtime and process
	// metrics describe nothing worth keeping, and under node_exporter they would
	// collide with its own. The cache's age would read 0 forever in a file;
	// node_exporter's node_textfile_mtime_seconds says how old the file is.
	reg := prometheus.NewRegistry()
	if err := reg.Register(e); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	families, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if mf.GetName() == exporter.CacheAgeMetric {
			continue
		}
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	if *out == "" {
		_, err := env.stdout.Write(buf.Bytes())
		return err
	}
	if err := writeAtomically(*out, buf.Bytes()); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
