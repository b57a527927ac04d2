package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/synthetic"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/reports/build"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

const dateLayout = "2006-01-02"

func runDemo(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "demo", "demo [--dir DIR] [--seed N] [--end YYYY-MM-DD] [--no-serve] [--listen ADDR] [--log-level LEVEL] [--log-format text|json]")
	dir := fs.String("dir", "", "directory for the demo's store and config (default: a new temporary directory)")
	seed := fs.Int64("seed", 1, "seed of the generator: the same seed and end give the same organisation")
	end := fs.String("end", time.Now().UTC().Format(dateLayout), "last day of the generated history (UTC)")
	noServe := fs.Bool("no-serve", false, "generate and exit without serving")
	listen := fs.String("listen", "127.0.0.1:8080", "where to serve the report pages, /metrics and the health endpoints")
	var logs logFlags
	logs.register(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := logs.check("demo"); err != nil {
		return err
	}
	endDay, err := time.Parse(dateLayout, *end)
	if err != nil {
		return fmt.Errorf("demo: --end %q: want a date like 2026-06-30", *end)
	}
	settings := synthetic.Settings{Seed: *seed, End: endDay.Format(dateLayout)}
	if *dir == "" {
		if *dir, err = os.MkdirTemp("", "flowmeter-demo-"); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	} else if *dir, err = filepath.Abs(*dir); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	configPath := filepath.Join(*dir, demoConfigFile)
	reuse, err := prepareDemoDir(*dir, settings)
	if err != nil {
		return err
	}
	if !reuse {
		if err := writeDemoConfig(configPath, settings); err != nil {
			return err
		}
	}
	// Load the written config back, so the demo runs exactly what a user of the
	// file would: the same validation, store and source.
	cfg, sources, err := loadSources(configPath)
	if err != nil {
		return err
	}
	s, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	// The summary below says what the info lines would, unless a level is asked for.
	log, _ := logs.newLogger(env.stderr, cfg.Log, slog.LevelWarn)
	started := time.Now()
	for _, src := range sources {
		if err := src.Source.Collect(ctx, s, collectors.CollectOptions{Logger: log}); err != nil {
			return fmt.Errorf("demo: %w", err) // the error names the source
		}
	}
	if _, err := deriveFacts(ctx, cfg, sources, s, false, log); err != nil {
		return err
	}
	if err := printDemoSummary(ctx, env, cfg, s, configPath, endDay, time.Since(started)); err != nil {
		return err
	}
	if *noServe {
		return nil
	}
	fmt.Fprintln(env.stdout)
	return serve(ctx, env, configPath, serveOptions{listen: *listen, logs: logs, announcePages: true})
}

// The files of a demo directory, and the name of the demo's source.
const (
	demoConfigFile = "flowmeter.yaml"
	demoStoreFile  = "flowmeter.db"
	demoSource     = "demo"
)

// prepareDemoDir readies dir for the demo of settings and says whether the demo
// already there is that one, to be reused as it is. A demo of other settings (the
// next day's, by default) loses its store, which cannot hold two organisations; a
// directory holding a config or store the demo did not write is refused before
// anything is written.
func prepareDemoDir(dir string, settings synthetic.Settings) (reuse bool, err error) {
	configPath, storePath := filepath.Join(dir, demoConfigFile), filepath.Join(dir, demoStoreFile)
	old, err := demoSettings(configPath, storePath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, err := os.Stat(storePath); err == nil {
			return false, fmt.Errorf("demo: %s holds %s but no %s written by 'flowmeter demo': give another --dir", dir, demoStoreFile, demoConfigFile)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, fmt.Errorf("demo: %w", err)
		}
		return false, nil
	case err != nil:
		return false, err
	case old == settings:
		return true, nil
	}
	// SQLite keeps a journal, or a write-ahead log and its index, beside the file.
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		if err := os.Remove(storePath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("demo: %w", err)
		}
	}
	return false, nil
}

// demoSettings reads the settings of the demo whose config is at configPath, and
// refuses a config that is not a demo's: one synthetic source named demo, and the
// store at storePath. A missing config is fs.ErrNotExist.
func demoSettings(configPath, storePath string) (synthetic.Settings, error) {
	var set synthetic.Settings
	data, err := os.ReadFile(configPath)
	if errors.Is(err, fs.ErrNotExist) {
		return set, err
	}
	if err != nil {
		return set, fmt.Errorf("demo: %w", err)
	}
	notDemo := fmt.Errorf("demo: %s is not a config 'flowmeter demo' wrote, and is left alone: give another --dir", configPath)
	cfg, err := config.Parse(data, configPath)
	if err != nil || len(cfg.Sources) != 1 || cfg.Store.SQLite == nil || cfg.Store.SQLite.Path != storePath {
		return set, notDemo
	}
	src := &cfg.Sources[0]
	if src.Name != demoSource || src.Type != "synthetic" || src.DecodeSettings(&set) != nil {
		return set, notDemo
	}
	return set, nil
}

// writeDemoConfig writes the config of the demo organisation: an embedded store next
// to it, the synthetic source, and the organisation's teams.
func writeDemoConfig(path string, settings synthetic.Settings) error {
	var node yaml.Node
	if err := node.Encode(settings); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	cfg := &config.Config{
		Store:   config.Store{SQLite: &config.SQLite{Path: demoStoreFile}},
		Sources: []config.Source{{Name: demoSource, Interval: config.Duration{Duration: 24 * time.Hour}, Type: "synthetic", Settings: node}},
	}
	org := synthetic.NewOrg(settings.Options(demoSource))
	for i, t := range org.Teams {
		team := config.Team{
			Name: t.Name, Repositories: t.Repositories, Services: t.Services,
			TicketProjects: []string{t.TicketProject}, IncidentServices: t.Services,
			Members: t.Members,
		}
		if i == 0 {
			// One team counts its flow in working hours, to show what a calendar does.
			team.Calendar = &config.Calendar{TimeZone: "Europe/Berlin", WorkingHours: "09:00-17:00"}
		}
		cfg.Teams = append(cfg.Teams, team)
	}
	text, err := cfg.Marshal()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	header := "# The demo organisation's config, written by 'flowmeter demo'. Point any\n" +
		"# flowmeter command at it with --config " + path + "\n"
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append([]byte(header), text...), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return os.Rename(tmp, path)
}

func printDemoSummary(ctx context.Context, env *environment, cfg *config.Config, s store.Store, configPath string, end time.Time, took time.Duration) error {
	teams := cfg.TeamNames()
	repos := 0
	for _, t := range cfg.Teams {
		repos += len(t.Repositories)
	}
	w := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(env.stdout, "Demo organisation generated in %s\n\n", took.Round(100*time.Millisecond))
	fmt.Fprintf(w, "teams\t%d\t  %s\n", len(cfg.Teams), strings.Join(teams, ", "))
	fmt.Fprintf(w, "repositories\t%d\t\n", repos)
	for _, k := range append(append([]schema.Kind(nil), schema.Kinds...), schema.FactKinds...) {
		if k == schema.KindAncestry {
			continue
		}
		n, err := s.Count(ctx, k, store.Filter{})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%d\t\n", strings.ReplaceAll(string(k), "_", " "), n)
	}
	w.Flush()
	fmt.Fprintf(env.stdout, "\nstore   %s\nconfig  %s\n\nNext:\n", describeStore(cfg), configPath)
	for _, kind := range []string{"dora", "flow", "toil"} {
		fmt.Fprintf(env.stdout, "  flowmeter report %s --config %s\n", kind, configPath)
	}
	// The last quarter the history covers whole: the one before the end's.
	current, _, _ := build.Window(end, "", "", build.Quarter(end.AddDate(0, 0, 1)))
	last := build.Quarter(current.AddDate(0, 0, -1))
	fmt.Fprintf(env.stdout, "  flowmeter report flow --config %s --quarter %s --format html --out flow-review.html\n", configPath, last)
	return nil
}
