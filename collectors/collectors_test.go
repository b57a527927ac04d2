package collectors_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

type fakeSettings struct {
	Rate  int `yaml:"rate"`
	Inner struct {
		Depth int `yaml:"depth"`
	} `yaml:"inner"`
}

type fakeSource struct{ settings fakeSettings }

func (fakeSource) Collect(context.Context, collectors.Writer, collectors.CollectOptions) error {
	return nil
}

func newFake(_ string, s collectors.Settings) (collectors.Source, error) {
	var set fakeSettings
	if err := s.Decode(&set); err != nil {
		return nil, err
	}
	if set.Rate < 0 {
		return nil, s.Invalid("rate", "must not be negative, got %d", set.Rate)
	}
	if set.Inner.Depth > 3 {
		return nil, s.Invalid("inner.depth", "at most 3")
	}
	return fakeSource{set}, nil
}

func TestBuild(t *testing.T) {
	registry := collectors.Registry{"fake": newFake}
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{"ok", "sources:\n  - name: a\n    interval: 5m\n    fake:\n      rate: 3\n", ""},
		{"unknown type", "sources:\n  - name: a\n    nosuch:\n      rate: 3\n",
			`f.yaml:3: sources[0].nosuch: unknown source type "nosuch" (known: fake)`},
		{"unknown setting", "sources:\n  - name: a\n    fake:\n      rate: 3\n      speed: 9\n",
			`f.yaml:5: sources[0].fake.speed: unknown field`},
		{"invalid value", "sources:\n  - name: a\n    fake:\n      rate: -1\n",
			"f.yaml:4: sources[0].fake.rate: must not be negative, got -1"},
		{"invalid nested value", "sources:\n  - name: a\n    fake:\n      inner:\n        depth: 9\n",
			"f.yaml:5: sources[0].fake.inner.depth: at most 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.yaml), "f.yaml")
			if err != nil {
				t.Fatal(err)
			}
			got, err := registry.Build(cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].Name != "a" || got[0].Type != "fake" || got[0].Interval != 5*time.Minute ||
					got[0].Source.(fakeSource).settings.Rate != 3 {
					t.Fatalf("built %+v", got)
				}
				return
			}
			var cerr *config.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			if len(err.Error()) < len(tc.wantErr) || err.Error()[:len(tc.wantErr)] != tc.wantErr {
				t.Fatalf("error %q, want it to start with %q", err, tc.wantErr)
			}
		})
	}
}

// cursorStore holds one stream's cursor value.
type cursorStore struct{ value string }

func (c cursorStore) Write(context.Context, *schema.Batch) error { return nil }
func (c cursorStore) Cursor(_ context.Context, source, stream string) (schema.Cursor, error) {
	if c.value == "" {
		return schema.Cursor{}, store.ErrNotFound
	}
	return schema.Cursor{Source: source, Stream: stream, Value: c.value}, nil
}

func TestJSONCursors(t *testing.T) {
	type pos struct{ N int }
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	opts := collectors.CollectOptions{Now: func() time.Time { return at }}
	c := collectors.JSONCursor(opts, "src", "s", pos{N: 7})
	if c.Value != `{"N":7}` || !c.UpdatedAt.Equal(at) || c.Source != "src" || c.Stream != "s" {
		t.Fatalf("cursor %+v", c)
	}
	for _, tc := range []struct {
		name  string
		value string
		full  bool
		want  int
	}{
		{"stored", `{"N":7}`, false, 7},
		{"never collected", "", false, -1},
		{"unreadable: collected afresh", "{", false, -1},
		{"full: ignored", `{"N":7}`, true, -1},
	} {
		v := pos{N: -1}
		o := opts
		o.Full = tc.full
		if err := collectors.LoadCursor(context.Background(), cursorStore{tc.value}, o, "src", "s", &v); err != nil || v.N != tc.want {
			t.Errorf("%s: %+v, %v; want N %d", tc.name, v, err, tc.want)
		}
	}
}
