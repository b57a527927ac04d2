package synthetic

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// dateLayout is how Settings.End is written.
const dateLayout = "2006-01-02"

// cursorStream is the one cursor stream of the source: its value records what was
// generated, so a second collection knows it has nothing to add.
const cursorStream = "synthetic"

// Settings are the synthetic source's settings under `synthetic:` in the config.
type Settings struct {
	// Seed picks the organisation's history.
	Seed int64 `yaml:"seed"`
	// End is the last day of the history (UTC), YYYY-MM-DD; empty means the day of the
	// first collection, which the source's cursor then remembers.
	End string `yaml:"end,omitempty"`
	// The rest default to the Options defaults.
	Days                       int     `yaml:"days,omitempty"`
	Teams                      int     `yaml:"teams,omitempty"`
	ReposPerTeam               int     `yaml:"repos_per_team,omitempty"`
	PullRequestsPerRepoPerWeek float64 `yaml:"pull_requests_per_repo_per_week,omitempty"`
	BatchSize                  int     `yaml:"batch_size,omitempty"`
}

// Options returns the generator options of the source instance named source; Now is
// the end of the End day, and zero when End is empty or not a date.
func (s Settings) Options(source string) Options {
	o := Options{
		Seed: s.Seed, Days: s.Days, Teams: s.Teams, ReposPerTeam: s.ReposPerTeam,
		PullRequestsPerRepoPerWeek: s.PullRequestsPerRepoPerWeek, Source: source, BatchSize: s.BatchSize,
	}
	if end, err := time.Parse(dateLayout, s.End); err == nil {
		o.Now = end.Add(24 * time.Hour)
	}
	return o
}

// Source writes the synthetic organisation once into the store; later collections
// find its cursor and do nothing.
type Source struct {
	name     string
	settings Settings
	now      func() time.Time // the clock, only read when End is empty
}

// NewSource is the synthetic source's collectors.Factory.
func NewSource(name string, s collectors.Settings) (collectors.Source, error) {
	var set Settings
	if err := s.Decode(&set); err != nil {
		return nil, err
	}
	if set.End != "" {
		if _, err := time.Parse(dateLayout, set.End); err != nil {
			return nil, s.Invalid("end", "want a date like 2026-06-30, got %q", set.End)
		}
	}
	for _, f := range []struct {
		field string
		v     float64
	}{
		{"days", float64(set.Days)}, {"teams", float64(set.Teams)}, {"repos_per_team", float64(set.ReposPerTeam)},
		{"pull_requests_per_repo_per_week", set.PullRequestsPerRepoPerWeek}, {"batch_size", float64(set.BatchSize)},
	} {
		if f.v < 0 {
			return nil, s.Invalid(f.field, "must not be negative, got %g", f.v)
		}
	}
	return &Source{name: name, settings: set, now: time.Now}, nil
}

// fingerprint names everything that decides the generated records.
func fingerprint(o Options) string {
	o, _ = o.withDefaults()
	return fmt.Sprintf("seed=%d end=%s days=%d teams=%d repos_per_team=%d pull_requests_per_repo_per_week=%g",
		o.Seed, o.Now.Add(-24*time.Hour).Format(dateLayout), o.Days, o.Teams, o.ReposPerTeam, o.PullRequestsPerRepoPerWeek)
}

// endOf returns the end= value of a fingerprint.
func endOf(fp string) string {
	for _, f := range strings.Fields(fp) {
		if v, ok := strings.CutPrefix(f, "end="); ok {
			return v
		}
	}
	return ""
}

// Collect generates the organisation and writes it, then its cursor. When the cursor
// says the same organisation is already there it does nothing; when it says another
// one is, it refuses, because the two would mix in the store.
func (s *Source) Collect(ctx context.Context, w collectors.Writer, _ collectors.CollectOptions) error {
	set := s.settings
	cur, err := w.Cursor(ctx, s.name, cursorStream)
	switch {
	case errors.Is(err, store.ErrNotFound):
		cur = schema.Cursor{}
	case err != nil:
		return fmt.Errorf("synthetic %s: %w", s.name, err)
	}
	if set.End == "" {
		set.End = endOf(cur.Value)
		if set.End == "" {
			set.End = s.now().UTC().Format(dateLayout)
		}
	}
	o := set.Options(s.name)
	fp := fingerprint(o)
	switch cur.Value {
	case fp:
		return nil
	case "":
	default:
		return fmt.Errorf("synthetic %s: the store already holds the organisation generated with %s, and these settings give another (%s): the two would mix, so point the config at an empty store or put the settings back",
			s.name, cur.Value, fp)
	}
	// A history that ends today stops at the present, not at midnight: nothing is
	// generated after the collection that writes it.
	if now := s.now().UTC(); o.Now.After(now) {
		o.Now = now
	}
	if _, err := Generate(ctx, o, func(b *schema.Batch) error { return w.Write(ctx, b) }); err != nil {
		return err // already says synthetic
	}
	done := schema.Cursor{Source: s.name, Stream: cursorStream, Value: fp, UpdatedAt: s.now().UTC().Truncate(time.Second)}
	if err := w.Write(ctx, &schema.Batch{Cursors: []schema.Cursor{done}}); err != nil {
		return fmt.Errorf("synthetic %s: %w", s.name, err)
	}
	return nil
}
