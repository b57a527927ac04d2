// Command flowmeter collects pull-request, deployment, incident and ticket events and
// derives DORA, flow and toil metrics from them. Each subcommand wires the packages
// together; the work itself lives in those packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand's name.
type command struct {
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

// environment is what every subcommand writes to, so tests can capture it.
type environment struct {
	stdout, stderr io.Writer
	// stderrIsTerminal turns on live progress lines.
	stderrIsTerminal bool
}

func commands() map[string]command {
	return map[string]command{
		"collect":    {"collect new records from the configured sources", runCollect},
		"demo":       {"generate a demo organisation into an embedded store and print a summary", runDemo},
		"dashboards": {"'dashboards export --dir DIR' or 'dashboards push': the Grafana dashboards, as files or into a Grafana", runDashboards},
		"derive":     {"derive the facts behind every metric from the collected records", runDerive},
		"explain":    {"show one fact with every field and the records it came from", runExplain},
		"metrics":    {"print the Prometheus exposition once", runMetrics},
		"migrate":    {"create or update the store's tables", runMigrate},
		"record":     {"'record deploy' or 'record incident': push one event from a CI step or a script", runRecord},
		"run":        {"run as a daemon: scheduled collection, /metrics, webhooks, health", runRun},
		"spool":      {"'spool list', 'retry' or 'drop': webhook events waiting for the store, and dead letters", runSpool},
		"config":     {"'config check': validate a config file and the sources it names", runConfig},
		"report":     {"'report dora|flow|toil': DORA, flow and toil figures per team", runReport},
		"version":    {"print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &environment{stdout: os.Stdout, stderr: os.Stderr, stderrIsTerminal: isTerminal(os.Stderr)}
	err := run(ctx, env, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "flowmeter: "+oneLine(err.Error()))
		os.Exit(1)
	}
}

func run(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stdout)
		return nil
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q (run 'flowmeter help')", args[0])
	}
	err := cmd.run(ctx, env, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "flowmeter: value-stream and DevOps metrics from your pull requests, deployments, incidents and tickets")
	fmt.Fprintln(w, "\nUsage: flowmeter COMMAND [flags]\n\nCommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'flowmeter COMMAND -h' for a command's flags.")
}

// flagSet is a command's flags. Its errors come back as values (printed as one line
// by main) instead of being printed with the whole usage text; -h prints the usage.
type flagSet struct {
	*flag.FlagSet
	synopsis string
	out      io.Writer
}

func newFlags(env *environment, name, synopsis string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, synopsis: synopsis, out: env.stdout}
}

// parse parses args and refuses positional arguments the command does not take.
func (fs *flagSet) parse(args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(fs.out, "Usage: flowmeter %s\n\n", fs.synopsis)
			fs.SetOutput(fs.out)
			fs.PrintDefaults()
			return err
		}
		return fmt.Errorf("%s: %w (run 'flowmeter %s -h')", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (run 'flowmeter %s -h')", fs.Name(), fs.Arg(0), fs.Name())
	}
	return nil
}

// oneLine keeps an error to the single line the CLI promises.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
