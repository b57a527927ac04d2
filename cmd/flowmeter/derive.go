package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/refresh"
	"github.com/flowmeter/flowmeter/store"
)

func runDerive(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "derive", "derive [--config FILE] [--full] [--log-level LEVEL] [--log-format text|json]")
	configPath := fs.String("config", "flowmeter.yaml", "config file")
	full := fs.Bool("full", false, "write every fact, not only those that changed")
	var logs logFlags
	logs.register(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := logs.check("derive"); err != nil {
		return err
	}
	cfg, sources, s, err := openConfigured(ctx, *configPath)
	if err != nil {
		return err
	}
	defer s.Close()
	// The summary line says what the info lines would, unless a level is asked for.
	log, _ := logs.newLogger(env.stderr, cfg.Log, slog.LevelWarn)
	if sources == nil && len(cfg.Sources) > 0 {
		log.Warn("the sources cannot be built ('flowmeter config check' says why), so commit ancestry is not asked of them: " +
			"changes whose ancestry is not already in the store are attributed to deployments by time")
	}
	// Asked for by hand, a derivation derives every partition: whoever runs it may
	// have changed records no mark tells of. Collections derive what they touched.
	sum, err := refreshFacts(ctx, cfg, sources, s, refresh.Options{Full: *full, AllPartitions: true, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, describeRefresh(sum))
	return nil
}

// deriveFacts refreshes the facts, asking the sources that can answer ancestry
// questions (GitHub's compare API) for ship attribution.
func deriveFacts(ctx context.Context, cfg *config.Config, sources []collectors.Instance, st store.Store, full bool, log *slog.Logger) (refresh.Summary, error) {
	return refreshFacts(ctx, cfg, sources, st, refresh.Options{Full: full, Logger: log})
}

// refreshFacts runs a refresh with the options given, adding the resolvers and the
// time.
func refreshFacts(ctx context.Context, cfg *config.Config, sources []collectors.Instance, st store.Store, opts refresh.Options) (refresh.Summary, error) {
	opts.Resolvers = map[string]collectors.AncestryResolver{}
	for _, src := range sources {
		if r, ok := src.Source.(collectors.AncestryResolver); ok {
			opts.Resolvers[src.Name] = r
		}
	}
	opts.Now = time.Now().UTC()
	sum, err := refresh.Run(ctx, st, cfg, opts)
	if err != nil {
		return sum, fmt.Errorf("derive: %w", err)
	}
	return sum, nil
}

// describeRefresh says what a refresh did, in one line.
func describeRefresh(s refresh.Summary) string {
	line := fmt.Sprintf("derived %d change, %d deployment, %d incident, %d flow item and %d toil facts; wrote %d in %s",
		s.Changes, s.Deployments, s.Incidents, s.FlowItems, s.ToilEntries, s.Written(), s.Took.Round(10*time.Millisecond))
	if s.AncestryAsked > 0 {
		line += fmt.Sprintf(" (asked about %d commit pairs)", s.AncestryAsked)
	}
	return line
}
