package refresh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/partition"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// The mark is kept as a cursor of flowmeter's own.
const (
	markSource = "flowmeter"
	markStream = "refresh"
)

// mark is what a refresh leaves for the next: how far it read each source's records,
// the partitions it knew (so a later refresh never splits what derived together),
// and the rules its facts were derived with.
type mark struct {
	// Read is, by kind and source ("pull_requests/github"), the latest UpdatedAt
	// of the records read: the next refresh reads the records updated since.
	Read map[string]readMark `json:"read"`
	// Groups are the partitions known at the end of the refresh.
	Groups []partition.Group `json:"groups"`
	// Rules hashes what derivation reads besides records (teams, rules, flow,
	// toil, privacy), the sources' names and types (a new source may bring
	// history older than the mark) and the build: any change derives everything
	// again.
	Rules string `json:"rules"`
	// At is when the mark was stored, which a later mark must follow.
	At time.Time `json:"at"`
}

// readMark is the latest UpdatedAt read of a kind and source, and the ids of the
// records updated then (unless there were more than maxMarkIDs): the next refresh
// reads from that instant on, and knows those records from before.
type readMark struct {
	At  time.Time `json:"at"`
	IDs []string  `json:"ids,omitempty"`
	// Many says there were too many to keep.
	Many bool `json:"many,omitempty"`
}

const maxMarkIDs = 1000

// since is where the next refresh reads a kind from: the earliest of its sources'
// marks, so a source that lags behind another loses nothing.
func (m *mark) since(kind schema.Kind) time.Time {
	var s time.Time
	for key, r := range m.Read {
		if k, _, _ := strings.Cut(key, "/"); k == string(kind) && (s.IsZero() || r.At.Before(s)) {
			s = r.At
		}
	}
	return s
}

// saw notes a record read.
func (m *mark) saw(kind schema.Kind, source, id string, updated time.Time) {
	key := string(kind) + "/" + source
	r := m.Read[key]
	switch {
	case updated.After(r.At):
		r = readMark{At: updated, IDs: []string{id}}
	case updated.Equal(r.At) && !r.Many && !slices.Contains(r.IDs, id):
		r.IDs = append(r.IDs, id)
		if len(r.IDs) > maxMarkIDs {
			r.IDs, r.Many = nil, true
		}
	}
	m.Read[key] = r
}

// seen says whether a record read from since on is one the last refresh read as
// it is: updated before its source's mark (since is the earliest source's), or one
// of those updated last, at the mark's instant. That a source writes its records in
// the order of their UpdatedAt is what the mark relies on.
func (m *mark) seen(kind schema.Kind, source, id string, updated time.Time) bool {
	r, ok := m.Read[string(kind)+"/"+source]
	return ok && (updated.Before(r.At) || updated.Equal(r.At) && slices.Contains(r.IDs, id))
}

// rulesHash hashes the config derivation depends on, the sources and the build.
func rulesHash(cfg *config.Config) string {
	build := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		build = info.Main.Version
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				build += " " + s.Value
			}
		}
	}
	var sources []string
	for _, s := range cfg.Sources {
		sources = append(sources, s.Type+" "+s.Name)
	}
	data, err := json.Marshal(struct {
		Teams   []config.Team
		Rules   config.Rules
		Flow    config.Flow
		Toil    config.Toil
		Privacy string
		Sources []string
		Build   string
	}{cfg.Teams, cfg.Rules, cfg.Flow, cfg.Toil, cfg.Privacy, sources, build})
	if err != nil {
		return "unhashed " + err.Error() + " " + time.Now().String() // never equal: derive everything
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// loadMark reads the last refresh's mark; nil when there is none (or it cannot be
// read as one), which makes the refresh a full one.
func loadMark(ctx context.Context, st store.Store) (*mark, error) {
	c, err := st.Cursor(ctx, markSource, markStream)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := &mark{}
	if json.Unmarshal([]byte(c.Value), m) != nil || m.Read == nil {
		return nil, nil
	}
	m.At = c.UpdatedAt
	return m, nil
}

// saveMark stores the mark after the facts, so that a refresh that fails part way
// is done again from the previous mark. A mark too large for a cursor keeps no
// partitions: the next refresh is then a full one.
func saveMark(ctx context.Context, st store.Store, m *mark, prev *mark) error {
	at := time.Now().UTC()
	if prev != nil && !at.After(prev.At) {
		at = prev.At.Add(time.Millisecond)
	}
	value, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(value) > schema.MaxCursorValueBytes {
		value, _ = json.Marshal(mark{Read: map[string]readMark{}})
	}
	if err := st.Write(ctx, &schema.Batch{Cursors: []schema.Cursor{{Source: markSource, Stream: markStream, Value: string(value), UpdatedAt: at}}}); err != nil {
		return fmt.Errorf("storing the refresh mark: %w", err)
	}
	return nil
}
