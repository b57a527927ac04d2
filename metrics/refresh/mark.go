package refresh

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	if json.Unmarshal(unpackMark(c.Value), m) != nil || m.Read == nil {
		return nil, nil
	}
	m.At = c.UpdatedAt
	return m, nil
}

// saveMark stores the mark after the facts, so that a refresh that fails part way
// is done again from the previous mark. A mark too large for a cursor keeps no
// partitions: the next refresh is then a full one, and the log says why.
func saveMark(ctx context.Context, st store.Store, m *mark, prev *mark, log *slog.Logger) error {
	at := time.Now().UTC()
	if prev != nil && !at.After(prev.At) {
		at = prev.At.Add(time.Millisecond)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	value := packMark(data)
	if len(value) > schema.MaxCursorValueBytes {
		log.Warn("the refresh mark is too large to store, so the next derivation derives every partition",
			"mark_bytes", len(value), "limit_bytes", schema.MaxCursorValueBytes, "partitions", len(m.Groups))
		data, _ = json.Marshal(mark{Read: map[string]readMark{}})
		value = packMark(data)
	}
	if err := st.Write(ctx, &schema.Batch{Cursors: []schema.Cursor{{Source: markSource, Stream: markStream, Value: value, UpdatedAt: at}}}); err != nil {
		return fmt.Errorf("storing the refresh mark: %w", err)
	}
	return nil
}

// packedMark prefixes a mark stored gzipped and in base64: the partitions' names
// repeat (acme/team1-api, acme/team1-web…), so a cursor holds about seven times as
// many partitions as it would as plain JSON.
const packedMark = "gzip+base64:"

func packMark(data []byte) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data) // a bytes.Buffer does not fail
	zw.Close()
	return packedMark + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// unpackMark gives a stored mark's JSON; a mark stored before marks were packed
// is JSON already, and one that does not unpack gives nothing (a full refresh).
func unpackMark(value string) []byte {
	packed, ok := strings.CutPrefix(value, packedMark)
	if !ok {
		return []byte(value)
	}
	raw, err := base64.StdEncoding.DecodeString(packed)
	if err != nil {
		return nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil
	}
	return data
}
