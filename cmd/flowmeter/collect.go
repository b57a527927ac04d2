package main

import (
	"context"
	"fmt"
	"github.com/flowmeter/flowmeter/metrics/refresh"
	"log/slog"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
)

func runCollect(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "collect", "collect [--config FILE] [--source NAME] [--since YYYY-MM-DD] [--full] [--log-level LEVEL] [--log-format text|json]")
	configPath := fs.String("config", "flowmeter.yaml", "config file")
	only := fs.String("source", "", "collect only this source instance")
	since := fs.String("since", "", "start of the collection, overriding each source's backfill start")
	full := fs.Bool("full", false, "ignore the cursors and collect everything from the start again")
	var logs logFlags
	logs.register(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := logs.check("collect"); err != nil {
		return err
	}
	opts := collectors.CollectOptions{Full: *full}
	if *since != "" {
		t, err := time.Parse(dateLayout, *since)
		if err != nil {
			return fmt.Errorf("collect: --since %q: want a date like 2026-01-01", *since)
		}
		opts.Since = t
	}
	cfg, sources, err := loadSources(*configPath)
	if err != nil {
		return err
	}
	if *only != "" {
		var kept []collectors.Instance
		for _, s := range sources {
			if s.Name == *only {
				kept = append(kept, s)
			}
		}
		if len(kept) == 0 {
			return fmt.Errorf("collect: no source named %q in %s", *only, *configPath)
		}
		sources = kept
	}
	s, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()

	// Unless a level is asked for, the summary lines say what the derivation's info
	// lines would, and on a terminal the progress line what the periodic ones would.
	quiet, _ := logs.newLogger(env.stderr, cfg.Log, slog.LevelWarn)
	opts.Logger, _ = logs.newLogger(env.stderr, cfg.Log, slog.LevelInfo)
	if env.stderrIsTerminal && !logs.set(cfg.Log) {
		opts.Logger = quiet
		opts.Progress = &terminalProgress{w: env.stderr}
	} else {
		opts.Progress = &logProgress{log: opts.Logger, every: 10 * time.Second}
	}
	var failed []error
	var written refresh.Written
	for _, src := range sources {
		counter := &recordCounter{Writer: s}
		started := time.Now()
		err := src.Source.Collect(ctx, counter, opts)
		written.Merge(counter.written)
		took := time.Since(started).Round(100 * time.Millisecond)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("collect: interrupted; the next run resumes where this one stopped (run flowmeter derive to derive what this one wrote)")
			}
			if counter.total() > 0 {
				fmt.Fprintf(env.stdout, "%s: failed after %s (%s before the failure)\n", src.Name, took, counter)
			} else {
				fmt.Fprintf(env.stdout, "%s: failed after %s\n", src.Name, took)
			}
			failed = append(failed, err)
			continue
		}
		fmt.Fprintf(env.stdout, "%s: %s in %s\n", src.Name, counter, took)
	}
	// Derive from whatever was collected, even when a source failed.
	sum, err := refreshFacts(ctx, cfg, sources, s, refresh.Options{Written: written, Logger: quiet})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, describeRefresh(sum))
	if len(failed) > 0 {
		msgs := make([]string, len(failed))
		for i, err := range failed {
			msgs[i] = err.Error()
		}
		return fmt.Errorf("collect: %d of %d sources failed: %s", len(failed), len(sources), strings.Join(msgs, "; "))
	}
	return nil
}
