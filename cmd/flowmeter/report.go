package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/reports/build"
	"github.com/flowmeter/flowmeter/reports/render"
)

// reportKinds are the reports `flowmeter report` writes, by the word that names each.
var reportKinds = map[string]func(ctx context.Context, env *environment, args []string, now time.Time) error{
	"dora": runReportDORA,
	"flow": runReportFlow,
	"toil": runReportToil,
}

func runReport(ctx context.Context, env *environment, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		return runReportDORA(ctx, env, []string{"-h"}, time.Now())
	}
	if len(args) > 0 {
		if run, ok := reportKinds[args[0]]; ok {
			return run(ctx, env, args[1:], time.Now())
		}
	}
	return fmt.Errorf("report: expected 'report dora', 'report flow' or 'report toil' (run 'flowmeter report dora -h')")
}

// reportFlags are the flags every report takes: the config, the team, the window,
// the format and where to write.
type reportFlags struct {
	kind                        build.Kind
	name                        string // "report dora"
	config, team, from, to, qtr *string
	format, out                 *string
}

// reportUsage is the synopsis of a report command, naming the formats it writes.
func reportUsage(kind build.Kind) string {
	return "report " + string(kind) + " [--config FILE] [--team T] [--from YYYY-MM-DD --to YYYY-MM-DD | --quarter 2026Q3] [--format " +
		formatNames(kind.Formats(), "|") + "] [--out FILE]"
}

// formatNames joins the names of formats with sep.
func formatNames(formats []render.Format, sep string) string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = string(f)
	}
	return strings.Join(names, sep)
}

// newReportFlags registers the shared flags of one report command.
func newReportFlags(fs *flagSet, kind build.Kind) *reportFlags {
	formats := "output format: " + formatNames(kind.Formats(), ", ")
	if kind == build.Toil {
		formats += " (svg: one team's toil snake alone, with --team)"
	}
	return &reportFlags{
		kind:   kind,
		name:   "report " + string(kind),
		config: fs.String("config", "flowmeter.yaml", "config file"),
		team:   fs.String("team", "", "report only this team (default: every team)"),
		from:   fs.String("from", "", "first day of the window, UTC (default: 90 days before --to)"),
		to:     fs.String("to", "", "day after the window, UTC: the window is [from, to) (default: tomorrow)"),
		qtr:    fs.String("quarter", "", "a calendar quarter such as 2026Q3, instead of --from and --to"),
		format: fs.String("format", "md", formats),
		out:    fs.String("out", "", "write the report to this file instead of standard output"),
	}
}

// write checks the flags (before reading anything), loads the config, opens the
// store, builds the report and writes it to standard output or, atomically, to
// --out.
func (r *reportFlags) write(ctx context.Context, env *environment, now time.Time, explain bool) error {
	req, err := build.Parse(r.kind, build.Params{Team: *r.team, From: *r.from, To: *r.to, Quarter: *r.qtr, Format: *r.format}, now)
	if err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	req.Explain = explain
	cfg, _, err := loadConfig(*r.config)
	if err != nil {
		return err
	}
	b := &build.Builder{Config: cfg, Now: now}
	if err := b.CheckTeam(req.Team); err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	if b.Store, err = openMigrated(ctx, cfg); err != nil {
		return err
	}
	defer b.Store.Close()
	var buf bytes.Buffer
	if err := b.Write(ctx, &buf, req); err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	if *r.out == "" {
		_, err := env.stdout.Write(buf.Bytes())
		return err
	}
	if err := writeAtomically(*r.out, buf.Bytes()); err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	fmt.Fprintf(env.stdout, "wrote %s\n", *r.out)
	return nil
}

// runReportDORA writes the DORA figures of the window per team and service.
func runReportDORA(ctx context.Context, env *environment, args []string, now time.Time) error {
	fs := newFlags(env, "report dora", reportUsage(build.DORA)+" [--explain]")
	rf := newReportFlags(fs, build.DORA)
	explain := fs.Bool("explain", false, "explain every figure: the facts behind it, and their values once (in CSV, instead of the figures)")
	if err := fs.parse(args); err != nil {
		return err
	}
	return rf.write(ctx, env, now, *explain)
}

// runReportFlow writes the flow review of the window per team.
func runReportFlow(ctx context.Context, env *environment, args []string, now time.Time) error {
	fs := newFlags(env, "report flow", reportUsage(build.Flow))
	rf := newReportFlags(fs, build.Flow)
	if err := fs.parse(args); err != nil {
		return err
	}
	return rf.write(ctx, env, now, false)
}

// runReportToil writes the toil of the window per team and category.
func runReportToil(ctx context.Context, env *environment, args []string, now time.Time) error {
	fs := newFlags(env, "report toil", reportUsage(build.Toil))
	rf := newReportFlags(fs, build.Toil)
	if err := fs.parse(args); err != nil {
		return err
	}
	return rf.write(ctx, env, now, false)
}

// writeAtomically writes data to a temporary file beside path and renames it into
// place, so a reader never sees half a report and a failed run leaves the old one.
// Its errors name path, the file the user asked for, never the temporary file.
func writeAtomically(path string, data []byte) error {
	if err := writeBeside(path, data); err != nil {
		var pe *fs.PathError
		var le *os.LinkError
		switch {
		case errors.As(err, &pe):
			err = pe.Err
		case errors.As(err, &le):
			err = le.Err
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeBeside does writeAtomically's work; the temporary file is removed whatever
// fails.
func writeBeside(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
