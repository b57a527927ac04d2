package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/flowmeter/flowmeter/config"
)

// logFlags are the --log-level and --log-format flags of the commands that log;
// empty means the config's log settings, then the command's default.
type logFlags struct {
	level, format string
}

// register adds the flags to a command's flag set.
func (l *logFlags) register(fs *flagSet) {
	fs.StringVar(&l.level, "log-level", "", "least severe log lines printed: debug, info, warn or error (default: log.level of the config, else the command's own)")
	fs.StringVar(&l.format, "log-format", "", "text or json (default: log.format of the config, text)")
}

// check refuses a flag value that is not a level or a format, before anything runs.
func (l logFlags) check(cmd string) error {
	if l.level != "" {
		if _, err := config.ParseLogLevel(l.level); err != nil {
			return fmt.Errorf("%s: --log-level: %w", cmd, err)
		}
	}
	if l.format != "" {
		if err := config.CheckLogFormat(l.format); err != nil {
			return fmt.Errorf("%s: --log-format: %w", cmd, err)
		}
	}
	return nil
}

// set says whether a level was asked for, by the flag or the config, rather than
// left to the command.
func (l logFlags) set(cfg config.Log) bool {
	return l.level != "" || cfg.Level != ""
}

// levelOf is the level the flag asks for, else the config's, else def. Both were
// checked already (check, config validation).
func (l logFlags) levelOf(cfg config.Log, def slog.Level) slog.Level {
	for _, s := range []string{l.level, cfg.Level} {
		if s != "" {
			if lvl, err := config.ParseLogLevel(s); err == nil {
				return lvl
			}
		}
	}
	return def
}

// newLogger writes to w at the level levelOf gives, in the format the flag or the
// config names. The level is a LevelVar so that a reload can change it.
func (l logFlags) newLogger(w io.Writer, cfg config.Log, def slog.Level) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(l.levelOf(cfg, def))
	opts := &slog.HandlerOptions{Level: level}
	format := l.format
	if format == "" {
		format = cfg.Format
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), level
	}
	return slog.New(slog.NewTextHandler(w, opts)), level
}
