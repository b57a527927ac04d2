package refresh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/metrics/partition"
	"github.com/flowmeter/flowmeter/schema"
)

// A mark over a cursor's limit (tens of thousands of partitions) is stored without
// its partitions, which makes the next refresh a full one: the log says so.
func TestMarkTooLargeIsReplacedWithAWarning(t *testing.T) {
	ctx := context.Background()
	st := collectortest.SQLite(t)
	m := &mark{Read: map[string]readMark{}, Rules: "r"}
	for i := range 40_000 {
		// Names that do not compress, as no organisation's do, to go over the limit.
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		m.Groups = append(m.Groups, partition.Group{Repos: []string{"acme/" + hex.EncodeToString(sum[:])}, Records: 1})
	}
	if data, _ := json.Marshal(m); len(packMark(data)) <= schema.MaxCursorValueBytes {
		t.Fatalf("the test's mark is %d bytes packed, not over the %d limit", len(packMark(data)), schema.MaxCursorValueBytes)
	}
	var logged bytes.Buffer
	if err := saveMark(ctx, st, m, nil, slog.New(slog.NewTextHandler(&logged, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "partitions=40000") {
		t.Errorf("log %q, want a warning naming the 40000 partitions", logged.String())
	}
	stored, err := loadMark(ctx, st)
	if err != nil || stored == nil || len(stored.Groups) != 0 || stored.Rules == "r" {
		t.Fatalf("stored mark %+v (%v), want one without partitions or rules, so the next refresh is full", stored, err)
	}
}

// Marks are stored packed, which holds the partitions of an organisation of 20,000
// repositories (1.9 MB as JSON), and a mark stored as plain JSON by an earlier
// flowmeter is read still.
func TestMarkPackedAndPlain(t *testing.T) {
	ctx := context.Background()
	st := collectortest.SQLite(t)
	m := &mark{Read: map[string]readMark{"pull_requests/github": {IDs: []string{"acme/api#1"}}}, Rules: "r"}
	for i := range 20_000 {
		m.Groups = append(m.Groups, partition.Group{Repos: []string{fmt.Sprintf("acme/team%d-api", i)},
			Services: []string{fmt.Sprintf("team%d-api", i)}, Records: 100 + i})
	}
	data, _ := json.Marshal(m)
	if len(data) <= schema.MaxCursorValueBytes {
		t.Fatalf("the test's mark is %d bytes of JSON, within the %d limit without packing", len(data), schema.MaxCursorValueBytes)
	}
	var logged bytes.Buffer
	if err := saveMark(ctx, st, m, nil, slog.New(slog.NewTextHandler(&logged, nil))); err != nil {
		t.Fatal(err)
	}
	if logged.Len() > 0 {
		t.Errorf("saving logged %q", logged.String())
	}
	got, err := loadMark(ctx, st)
	if err != nil || got == nil || !slices.EqualFunc(got.Groups, m.Groups, func(a, b partition.Group) bool {
		return slices.Equal(a.Repos, b.Repos) && slices.Equal(a.Services, b.Services) && a.Records == b.Records
	}) || got.Rules != "r" || got.Read["pull_requests/github"].IDs[0] != "acme/api#1" {
		t.Fatalf("loaded a mark of %d partitions (%v), want the %d saved", len(got.Groups), err, len(m.Groups))
	}

	plain, _ := json.Marshal(mark{Read: map[string]readMark{}, Rules: "old", Groups: m.Groups[:3]})
	if err := st.Write(ctx, &schema.Batch{Cursors: []schema.Cursor{{Source: markSource, Stream: markStream,
		Value: string(plain), UpdatedAt: got.At.Add(time.Second)}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := loadMark(ctx, st); err != nil || got == nil || got.Rules != "old" || len(got.Groups) != 3 {
		t.Fatalf("loaded %+v (%v) from a plain JSON mark, want its 3 partitions", got, err)
	}
}
