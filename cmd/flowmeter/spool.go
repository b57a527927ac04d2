package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store/spool"
)

// runSpool shows and handles the webhook spool's pending batches and dead letters.
// It works on the directory alone, with renames and removals the running daemon
// copes with, so it needs no daemon, no store and no secret.
func runSpool(_ context.Context, env *environment, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "retry" && args[0] != "drop") {
		return errors.New("spool: expected 'spool list', 'spool retry' or 'spool drop' (run 'flowmeter spool list -h')")
	}
	sub := args[0]
	synopsis := map[string]string{
		"list":  "spool list [--config FILE]",
		"retry": "spool retry [--config FILE] [ID...]  (no ID: every dead letter)",
		"drop":  "spool drop [--config FILE] ID... | --all",
	}[sub]
	flags := newFlags(env, "spool "+sub, synopsis)
	configPath := flags.String("config", "flowmeter.yaml", "config file")
	all := false
	if sub == "drop" {
		flags.BoolVar(&all, "all", false, "drop every dead letter")
	}
	ids, err := parseWithIDs(flags, args[1:])
	if err != nil {
		return err
	}
	dir, err := spoolDir(*configPath)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if sub == "list" {
			fmt.Fprintf(env.stdout, "spool %s does not exist: nothing was ever spooled there\n", dir)
			return nil
		}
		return fmt.Errorf("spool %s: no such directory (server.spool_dir of %s), so no dead letters", sub, *configPath)
	}
	switch sub {
	case "list":
		if len(ids) > 0 {
			return fmt.Errorf("spool list: unexpected argument %q (run 'flowmeter spool list -h')", ids[0])
		}
		return listSpool(env, dir)
	case "retry":
		moved, err := spool.Retry(dir, ids)
		if len(moved) > 0 {
			fmt.Fprintf(env.stdout, "moved %s back into the queue: a running flowmeter replays them within %s, a stopped one when it starts; one the store refuses again becomes a dead letter again\n",
				letters(moved), spool.RescanInterval)
		} else if err == nil {
			fmt.Fprintln(env.stdout, "no dead letters to retry")
		}
		if err != nil {
			return fmt.Errorf("spool retry: %w", err)
		}
		return nil
	default:
		switch {
		case all && len(ids) > 0:
			return errors.New("spool drop: give dead letter ids or --all, not both")
		case !all && len(ids) == 0:
			return errors.New("spool drop: name the dead letters to drop, or --all for every one ('flowmeter spool list' shows them)")
		}
		dropped, err := spool.Drop(dir, ids)
		if len(dropped) > 0 {
			fmt.Fprintf(env.stdout, "dropped %s; what they held is gone\n", letters(dropped))
		} else if err == nil {
			fmt.Fprintln(env.stdout, "no dead letters to drop")
		}
		if err != nil {
			return fmt.Errorf("spool drop: %w", err)
		}
		return nil
	}
}

// parseWithIDs parses flags given anywhere among the ids, since `spool retry 42
// --config F` reads as naturally as `spool retry --config F 42`.
func parseWithIDs(flags *flagSet, args []string) ([]string, error) {
	var ids []string
	for {
		if err := flags.Parse(args); err != nil {
			// Parsed again by parse, which reports -h and errors as every command does.
			return nil, flags.parse(args)
		}
		args = flags.Args()
		if len(args) == 0 {
			return ids, nil
		}
		ids, args = append(ids, args[0]), args[1:]
	}
}

// spoolDir reads the spool directory from the config without resolving any secret:
// the spool needs none.
func spoolDir(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", &config.Error{File: path, Msg: "cannot read config: " + err.Error(), Err: err}
	}
	cfg, err := config.Parse(data, path)
	if err != nil {
		return "", err
	}
	return cfg.ResolvePath(cfg.Server.SpoolDir), nil
}

func listSpool(env *environment, dir string) error {
	pending, dead, err := spool.List(dir)
	if err != nil {
		return fmt.Errorf("spool list: %w", err)
	}
	fmt.Fprintf(env.stdout, "spool %s: %d pending, %d dead\n", dir, len(pending), len(dead))
	if len(pending)+len(dead) == 0 {
		return nil
	}
	now := time.Now()
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tID\tAGE\tRECORDS\tERROR")
	for _, group := range []struct {
		state   string
		entries []spool.Entry
	}{{"pending", pending}, {"dead", dead}} {
		for _, e := range group.entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", group.state, e.ID, age(now.Sub(e.Spooled)), describeRecords(e), oneLine(e.Err))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		// Rows without an error would end in the padding of the records column.
		fmt.Fprintln(env.stdout, strings.TrimRight(line, " "))
	}
	return nil
}

// letters names dead letters: "2 dead letters (42, 57)".
func letters(ids []string) string {
	noun := "dead letters"
	if len(ids) == 1 {
		noun = "dead letter"
	}
	return fmt.Sprintf("%d %s (%s)", len(ids), noun, strings.Join(ids, ", "))
}

// describeRecords says what a batch holds: "1 deployment, 1 cursor".
func describeRecords(e spool.Entry) string {
	if e.Records == nil {
		return "?"
	}
	var parts []string
	for _, k := range append(append([]schema.Kind(nil), schema.Kinds...), schema.FactKinds...) {
		if n := e.Records[k]; n > 0 {
			name := strings.ReplaceAll(string(k), "_", " ")
			if n == 1 {
				name = strings.TrimSuffix(name, "s")
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
		}
	}
	switch e.Cursors {
	case 0:
	case 1:
		parts = append(parts, "1 cursor")
	default:
		parts = append(parts, fmt.Sprintf("%d cursors", e.Cursors))
	}
	if len(parts) == 0 {
		return "empty"
	}
	return strings.Join(parts, ", ")
}

// age is a duration as a person reads an age: 45s, 12m, 5h12m, 3d4h.
func age(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}
