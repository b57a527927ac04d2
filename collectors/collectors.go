// Package collectors defines what a source of records is and how the sources named
// in the config are built. Each source type lives in its own sub-package (github,
// jira, pagerduty, synthetic, …) and exposes a Factory; collectors/builtin lists them.
package collectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// Writer is the part of the store a source needs: it writes batches (records first,
// cursors last, so a cursor never passes unwritten records) and reads its cursors.
type Writer interface {
	Write(ctx context.Context, b *schema.Batch) error
	Cursor(ctx context.Context, source, stream string) (schema.Cursor, error)
}

// AncestryStore is what ancestry resolution needs of the store: the cached answers,
// and a place to write new ones.
type AncestryStore interface {
	Ancestries(ctx context.Context, f store.Filter) iter.Seq2[schema.Ancestry, error]
	Write(ctx context.Context, b *schema.Batch) error
}

// AncestryResolver is a source that can tell whether one commit contains another
// (the GitHub source, through the compare API), for ship attribution.
type AncestryResolver interface {
	// ResolveAncestry answers what it can of pairs, from the store's cache first,
	// writing new answers to it; a pair it cannot answer is left out.
	ResolveAncestry(ctx context.Context, st AncestryStore, pairs []schema.CommitPair, now time.Time) (map[schema.CommitPair]bool, error)
}

// RangeResolver is an AncestryResolver that can also compare a deployed commit with
// the one deployed before it and list every commit between them: one question per
// deployment that attributes every pull request it shipped, where asking each pull
// request's walk would take several. Its answers are not cached by it: the caller
// turns them into ancestry answers and stores those.
type RangeResolver interface {
	AncestryResolver
	// CompareRange compares r.Base...r.Head. An unknown commit answers ok false and
	// no error; a listing cut short answers the commits it listed and an error
	// saying so.
	CompareRange(ctx context.Context, r schema.CommitPair) (answer schema.CommitRange, ok bool, err error)
}

// Receiver is a source that tools push to rather than one flowmeter polls (webhooks):
// `flowmeter run` mounts its routes on its HTTP listener. Its Collect does nothing.
type Receiver interface {
	// Routes maps paths, such as "/webhooks/deploy", to the handlers serving them.
	Routes(env ReceiverEnv) map[string]http.Handler
}

// ReceiverEnv is what a receiver's handlers may use.
type ReceiverEnv struct {
	// Writer is durable: a write it accepts is never lost, even while the store is
	// down (it is spooled to disk and replayed).
	Writer Writer
	// Source finds another configured source by name, such as the GitHub source
	// whose records GitHub's webhook events update.
	Source func(name string) (Source, bool)
	// Collect asks for a collection of a source now, for events whose records need
	// more than the event says.
	Collect func(name string)
	Logger  *slog.Logger
	Now     func() time.Time
}

// EventHandler is a source that can turn its tool's webhook events into the same
// records its collections write (same source name, same ids), so that pushed and
// polled records converge.
type EventHandler interface {
	// HandleEvent turns one event (its type, e.g. GitHub's X-GitHub-Event, and its
	// JSON body) into records. collect asks for a collection of the source instead,
	// for events whose records need more than the payload gives; an event the source
	// does not use returns an empty batch and no error.
	HandleEvent(kind string, payload []byte) (b *schema.Batch, collect bool, err error)
}

// Source collects the new records of one configured source instance.
type Source interface {
	// Collect writes what changed since the source's cursors and moves them. It may
	// be interrupted at any point; the next run picks up from the last written cursor.
	Collect(ctx context.Context, w Writer, opts CollectOptions) error
}

// CollectOptions are what one collection run is asked to do beyond the settings.
type CollectOptions struct {
	// Since overrides the source's backfill start when it is not zero.
	Since time.Time
	// Full ignores the cursors and collects everything from the backfill start again.
	Full bool
	// Progress receives progress reports; nil discards them.
	Progress Progress
	// Logger receives structured log lines; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Clock returns the run's clock.
func (o CollectOptions) Clock() func() time.Time {
	if o.Now == nil {
		return time.Now
	}
	return o.Now
}

// Log returns the run's logger.
func (o CollectOptions) Log() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Report sends a progress report when anyone listens.
func (o CollectOptions) Report(p Report) {
	if o.Progress != nil {
		o.Progress.Report(p)
	}
}

// Report is where one unit of a collection (a repository, a project) stands.
type Report struct {
	Source string
	Unit   string // e.g. "acme/api"
	Stream string // e.g. "pulls"
	Done   int    // items finished
	Total  int    // items expected, 0 when unknown
	// Requests made so far by this source in this run, and the API budget left
	// (-1 when the source has no such limit or does not know it yet).
	Requests      int
	RateRemaining int
	Finished      bool
}

// Progress receives progress reports; implementations must be safe for concurrent use.
type Progress interface {
	Report(Report)
}

// Factory builds a Source from its config entry, validating the entry's settings.
type Factory func(name string, s Settings) (Source, error)

// Settings is a source entry's settings (the value under its type key) as a factory
// sees them: every error it gives names the file, line and field, as config errors do.
type Settings struct {
	src  *config.Source
	cfg  *config.Config
	path string
}

// ResolvePath resolves a path given in the settings against the config file's
// directory, the rule every path in the file follows.
func (s Settings) ResolvePath(p string) string { return s.cfg.ResolvePath(p) }

// Decode strictly decodes the settings into v: an unknown field is an error.
func (s Settings) Decode(v any) error { return s.src.DecodeSettings(v) }

// Invalid reports a problem with one settings field (dotted for nested fields).
func (s Settings) Invalid(field, format string, args ...any) error {
	node := &s.src.Settings
	line := node.Line
	for _, key := range strings.Split(field, ".") {
		next := (*yaml.Node)(nil)
		if node.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(node.Content); i += 2 {
				if node.Content[i].Value == key {
					line, next = node.Content[i].Line, node.Content[i+1]
					break
				}
			}
		}
		if next == nil {
			break
		}
		node = next
	}
	return &config.Error{File: s.cfg.Path, Line: line, Field: s.path + "." + field, Msg: fmt.Sprintf(format, args...)}
}

// Instance is one source built from the config.
type Instance struct {
	Name     string
	Type     string
	Interval time.Duration
	Source   Source
}

// Registry maps a source type, the key under a sources[] entry, to its factory.
type Registry map[string]Factory

// Build builds every source of the config, stopping at the first entry whose type is
// unknown or whose settings are invalid.
func (r Registry) Build(cfg *config.Config) ([]Instance, error) {
	out := make([]Instance, 0, len(cfg.Sources))
	for i := range cfg.Sources {
		src := &cfg.Sources[i]
		field := fmt.Sprintf("sources[%d].%s", i, src.Type)
		factory, ok := r[src.Type]
		if !ok {
			return nil, src.Errorf("unknown source type %q (known: %s)", src.Type, strings.Join(r.Types(), ", "))
		}
		s, err := factory(src.Name, Settings{src: src, cfg: cfg, path: field})
		if err != nil {
			return nil, err
		}
		out = append(out, Instance{Name: src.Name, Type: src.Type, Interval: src.Interval.Duration, Source: s})
	}
	return out, nil
}

// Types lists the registered source types in order.
func (r Registry) Types() []string {
	types := make([]string, 0, len(r))
	for t := range r {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

// Backfill is where a source's first collection starts, as its `since` setting
// gives it: an age back from the time of the collection, or a fixed date.
type Backfill struct {
	Age  time.Duration // used when Date is zero
	Date time.Time
}

// Start is where a first collection made at now starts.
func (b Backfill) Start(now time.Time) time.Time {
	if !b.Date.IsZero() {
		return b.Date
	}
	return now.Add(-b.Age).Truncate(time.Second)
}

// Backfill reads a `since`-style setting: a duration back from now ("90d") or a
// date ("2026-01-01"); empty gives an age of def.
func (s Settings) Backfill(field, value string, def time.Duration) (Backfill, error) {
	if value == "" {
		return Backfill{Age: def}, nil
	}
	if d, err := config.ParseDuration(value); err == nil && d.Duration > 0 {
		return Backfill{Age: d.Duration}, nil
	}
	if t, err := time.Parse(time.DateOnly, value); err == nil {
		return Backfill{Date: t}, nil
	}
	return Backfill{}, s.Invalid(field, "want a duration such as %s or a date such as 2026-01-01, got %q", config.Duration{Duration: def}, value)
}

// LoadCursor reads the JSON cursor of one stream of a source into v. A stream
// never collected, or a collection asked to start over (opts.Full), leaves v as it
// is; an unreadable cursor is logged and costs only a fresh collection of the
// stream.
func LoadCursor(ctx context.Context, w Writer, opts CollectOptions, source, stream string, v any) error {
	if opts.Full {
		return nil
	}
	c, err := w.Cursor(ctx, source, stream)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the %s cursor: %w", stream, err)
	}
	if err := json.Unmarshal([]byte(c.Value), v); err != nil {
		opts.Log().Warn("cursor unreadable; collecting the stream afresh", "source", source, "stream", stream, "err", err)
	}
	return nil
}

// JSONCursor is the cursor of one stream holding v as JSON, stamped with the
// collection's clock, for writing in the batch whose records it covers.
func JSONCursor(opts CollectOptions, source, stream string, v any) schema.Cursor {
	b, err := json.Marshal(v)
	if err != nil {
		panic("collectors: a cursor value that does not marshal: " + err.Error())
	}
	return schema.Cursor{Source: source, Stream: stream, Value: string(b), UpdatedAt: opts.Clock()().UTC()}
}
