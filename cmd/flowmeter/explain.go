package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/flowmeter/flowmeter/reports/build"
	"github.com/flowmeter/flowmeter/reports/explain"
	"github.com/flowmeter/flowmeter/schema"
)

func runExplain(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "explain", "explain [--config FILE] [--kind change|deployment|incident|flow|toil] FACT\n\n"+
		"FACT is source:id, as 'report dora --explain' and the toil report name facts, or just the id when no\n"+
		"other fact has it. A flow item is its ticket's source:key; a toil entry is source:<kind>:<record id>,\n"+
		"such as pagerduty:incident:P123 (the source is what comes before the first colon).")
	configPath := fs.String("config", "flowmeter.yaml", "config file")
	kindName := fs.String("kind", "", "only facts of this kind: change, deployment, incident, flow or toil")
	name, err := parseFact(fs, args)
	if err != nil {
		return err
	}
	var kind schema.Kind
	if *kindName != "" {
		var ok bool
		if kind, ok = explain.Kinds[*kindName]; !ok {
			return fmt.Errorf("explain: --kind %q: want change, deployment, incident, flow or toil", *kindName)
		}
	}
	cfg, _, s, err := openConfigured(ctx, *configPath)
	if err != nil {
		return err
	}
	defer s.Close()
	// Toil facts name people: read through the config's privacy setting.
	e, err := explain.Find(ctx, build.Private(cfg, s), name, kind)
	if errors.Is(err, explain.ErrUnknown) {
		return fmt.Errorf("explain: %w in %s (run 'flowmeter derive' first, and name facts as 'report dora --explain' and 'report toil' do)", err, describeStore(cfg))
	}
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	if cfg.TeamsOnly() {
		e.NameTeams()
	}
	return e.WriteText(env.stdout)
}

// parseFact parses the flags around the one fact name explain takes, before it or
// after it.
func parseFact(fs *flagSet, args []string) (string, error) {
	if err := fs.FlagSet.Parse(args); err != nil || fs.NArg() == 0 {
		// fs.parse words the error, or prints the help, as every command does.
		if err := fs.parse(args); err != nil {
			return "", err
		}
		return "", fmt.Errorf("explain: name a fact, such as github:acme/api#42 (run 'flowmeter explain -h')")
	}
	name, rest := fs.Arg(0), slices.Clone(fs.Args()[1:])
	if err := fs.parse(rest); err != nil {
		return "", err
	}
	if strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("explain: the fact's name is empty")
	}
	return name, nil
}
