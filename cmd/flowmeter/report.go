package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/metrics/toil"
	dorareport "github.com/flowmeter/flowmeter/reports/dora"
	flowreport "github.com/flowmeter/flowmeter/reports/flow"
	"github.com/flowmeter/flowmeter/reports/render"
	toilreport "github.com/flowmeter/flowmeter/reports/toil"
	"github.com/flowmeter/flowmeter/store"
)

// defaultReportDays is the length of the report window when none is given: about a
// quarter, ending with today.
const defaultReportDays = 90

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
	name                        string // "report dora"
	config, team, from, to, qtr *string
	format, out                 *string
	window                      struct{ from, to time.Time }
	cfg                         *config.Config
	formatted                   render.Format
}

const reportUsage = " [--config FILE] [--team T] [--from YYYY-MM-DD --to YYYY-MM-DD | --quarter 2026Q3] [--format md|json|csv] [--out FILE]"

// newReportFlags registers the shared flags of one report command.
func newReportFlags(fs *flagSet, name string) *reportFlags {
	return &reportFlags{
		name:   name,
		config: fs.String("config", "flowmeter.yaml", "config file"),
		team:   fs.String("team", "", "report only this team (default: every team)"),
		from:   fs.String("from", "", "first day of the window, UTC (default: 90 days before --to)"),
		to:     fs.String("to", "", "day after the window, UTC: the window is [from, to) (default: tomorrow)"),
		qtr:    fs.String("quarter", "", "a calendar quarter such as 2026Q3, instead of --from and --to"),
		format: fs.String("format", "md", "output format: md, json or csv"),
		out:    fs.String("out", "", "write the report to this file instead of standard output"),
	}
}

// resolve checks the flags, loads the config and opens the store, which the caller
// closes.
func (r *reportFlags) resolve(ctx context.Context, now time.Time) (store.Store, error) {
	var err error
	if r.formatted, err = render.ParseFormat(*r.format); err != nil {
		return nil, fmt.Errorf("%s: --format: %w", r.name, err)
	}
	if r.window.from, r.window.to, err = reportWindow(now, *r.from, *r.to, *r.qtr); err != nil {
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	if r.cfg, _, err = loadConfig(*r.config); err != nil {
		return nil, err
	}
	if err := checkTeam(r.cfg, *r.team, *r.config, r.name); err != nil {
		return nil, err
	}
	return openMigrated(ctx, r.cfg)
}

// teams are the teams to report in config order, or the one --team names.
func (r *reportFlags) teams() []string {
	if *r.team != "" {
		return []string{*r.team}
	}
	return r.cfg.TeamNames()
}

// emit writes a rendered report to standard output or, atomically, to --out.
func (r *reportFlags) emit(env *environment, data []byte) error {
	if *r.out == "" {
		_, err := env.stdout.Write(data)
		return err
	}
	if err := writeAtomically(*r.out, data); err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	fmt.Fprintf(env.stdout, "wrote %s\n", *r.out)
	return nil
}

func runReportDORA(ctx context.Context, env *environment, args []string, now time.Time) error {
	fs := newFlags(env, "report dora", "report dora"+reportUsage+" [--explain]")
	rf := newReportFlags(fs, "report dora")
	explain := fs.Bool("explain", false, "explain every figure: the facts behind it, and their values once (in CSV, instead of the figures)")
	if err := fs.parse(args); err != nil {
		return err
	}
	s, err := rf.resolve(ctx, now)
	if err != nil {
		return err
	}
	defer s.Close()

	in := aggregate.Input{
		From: rf.window.from, To: rf.window.to, Now: now.UTC().Truncate(time.Second), Table: rf.cfg.Rules.DORATable,
		Team: *rf.team, Explain: *explain, Teams: rf.cfg.TeamNames(),
	}
	if in.Changes, err = store.All(s.ChangeFacts(ctx, store.Filter{})); err != nil {
		return fmt.Errorf("report dora: %w", err)
	}
	if in.Deployments, err = store.All(s.DeploymentFacts(ctx, store.Filter{})); err != nil {
		return fmt.Errorf("report dora: %w", err)
	}
	if in.Incidents, err = store.All(s.IncidentFacts(ctx, store.Filter{})); err != nil {
		return fmt.Errorf("report dora: %w", err)
	}
	reports := dorareport.Reports{Current: aggregate.DORA(in)}
	prev := in
	prev.From, prev.To = aggregate.PreviousWindow(in.From, in.To)
	reports.Previous = aggregate.DORA(prev)
	var buf bytes.Buffer
	if err := dorareport.Render(&buf, reports, rf.formatted); err != nil {
		return fmt.Errorf("report dora: %w", err)
	}
	return rf.emit(env, buf.Bytes())
}

// runReportFlow writes the flow figures of the window per team.
func runReportFlow(ctx context.Context, env *environment, args []string, now time.Time) error {
	fs := newFlags(env, "report flow", "report flow"+reportUsage)
	rf := newReportFlags(fs, "report flow")
	if err := fs.parse(args); err != nil {
		return err
	}
	s, err := rf.resolve(ctx, now)
	if err != nil {
		return err
	}
	defer s.Close()
	facts, err := store.All(s.FlowItemFacts(ctx, store.Filter{}))
	if err != nil {
		return fmt.Errorf("report flow: %w", err)
	}
	review := flow.BuildReview(flow.ReviewInput{Items: facts, Teams: rf.cfg.TeamNames(), Team: *rf.team,
		From: rf.window.from, To: rf.window.to, Now: now.UTC().Truncate(time.Second), Rules: flow.NewRules(rf.cfg)})
	var buf bytes.Buffer
	if err := flowreport.Render(&buf, review, rf.formatted); err != nil {
		return fmt.Errorf("report flow: %w", err)
	}
	return rf.emit(env, buf.Bytes())
}

// runReportToil writes the toil of the window per team and category.
func runReportToil(ctx context.Context, env *environment, args []string, now time.Time) error {
	fs := newFlags(env, "report toil", "report toil"+reportUsage)
	rf := newReportFlags(fs, "report toil")
	if err := fs.parse(args); err != nil {
		return err
	}
	s, err := rf.resolve(ctx, now)
	if err != nil {
		return err
	}
	defer s.Close()
	facts, err := store.All(s.ToilFacts(ctx, store.Filter{}))
	if err != nil {
		return fmt.Errorf("report toil: %w", err)
	}
	rep := toil.Aggregate(facts, rf.teams(), rf.window.from, rf.window.to, now.UTC().Truncate(time.Second))
	var buf bytes.Buffer
	if err := toilreport.Render(&buf, onlyTeam(rep, *rf.team, func(r *toil.Report) *[]toil.Team { return &r.Teams },
		func(t toil.Team) string { return t.Name }), rf.formatted); err != nil {
		return fmt.Errorf("report toil: %w", err)
	}
	return rf.emit(env, buf.Bytes())
}

// onlyTeam keeps the one team --team names: aggregating for one team puts every
// other team's facts under the team "", which is not what was asked for.
func onlyTeam[R any, T any](rep R, team string, teams func(*R) *[]T, name func(T) string) R {
	if team == "" {
		return rep
	}
	list := teams(&rep)
	kept := (*list)[:0:0]
	for _, t := range *list {
		if name(t) == team {
			kept = append(kept, t)
		}
	}
	*list = kept
	return rep
}

// checkTeam refuses a --team the config does not define, naming the ones it does.
func checkTeam(cfg *config.Config, team, configPath, command string) error {
	if team == "" || team == aggregate.NoTeam {
		return nil
	}
	if _, ok := cfg.Team(team); ok {
		return nil
	}
	if len(cfg.Teams) == 0 {
		return fmt.Errorf("%s: no team %q: %s defines no teams (only %q can be reported)", command, team, configPath, aggregate.NoTeam)
	}
	names := make([]string, 0, len(cfg.Teams)+1)
	for _, t := range cfg.Teams {
		names = append(names, t.Name)
	}
	names = append(names, aggregate.NoTeam)
	return fmt.Errorf("%s: no team %q in %s (teams: %s)", command, team, configPath, strings.Join(names, ", "))
}

var quarterPattern = regexp.MustCompile(`^(\d{4})[Qq]([1-4])$`)

// reportWindow turns the window flags into a half-open UTC window: a quarter, or
// --from and --to (either may be left out), or by default the 90 days ending at the
// start of tomorrow, so today's deployments are in.
func reportWindow(now time.Time, from, to, quarter string) (time.Time, time.Time, error) {
	if quarter != "" {
		if from != "" || to != "" {
			return time.Time{}, time.Time{}, fmt.Errorf("--quarter and --from/--to both name the window: give one or the other")
		}
		m := quarterPattern.FindStringSubmatch(quarter)
		if m == nil {
			return time.Time{}, time.Time{}, fmt.Errorf("--quarter %q: want a quarter like 2026Q3", quarter)
		}
		year, _ := strconv.Atoi(m[1])
		q, _ := strconv.Atoi(m[2])
		start := time.Date(year, time.Month(3*(q-1)+1), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 3, 0), nil
	}
	n := now.UTC()
	end := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	if to != "" {
		t, err := time.Parse(dateLayout, to)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("--to %q: want a date like 2026-10-01", to)
		}
		end = t
	}
	start := end.AddDate(0, 0, -defaultReportDays)
	if from != "" {
		t, err := time.Parse(dateLayout, from)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("--from %q: want a date like 2026-07-01", from)
		}
		start = t
	}
	if !start.Before(end) {
		return time.Time{}, time.Time{}, fmt.Errorf("--from %s is not before --to %s: the window [from, to) is empty",
			start.Format(dateLayout), end.Format(dateLayout))
	}
	return start, end, nil
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
