package jira

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/jira/jiratest"
)

func TestCategoryNameByKey(t *testing.T) {
	for _, tc := range []struct {
		c    apiStatusCategory
		want string
	}{
		{apiStatusCategory{Key: "new", Name: "À faire"}, "To Do"},
		{apiStatusCategory{Key: "indeterminate", Name: "En cours"}, "In Progress"},
		{apiStatusCategory{Key: "done", Name: "Terminé"}, "Done"},
		{apiStatusCategory{Key: "undefined", Name: "No Category"}, "No Category"},
	} {
		if got := categoryName(tc.c); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	got, err := parseTime("2026-03-01T10:15:30.987+0100")
	if want := time.Date(2026, 3, 1, 9, 15, 30, 0, time.UTC); err != nil || !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("%v, %v", got, err)
	}
	if got, err := parseTime(""); err != nil || !got.IsZero() {
		t.Errorf("empty: %v, %v", got, err)
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Error("no error")
	}
}

type progress struct {
	mu      sync.Mutex
	reports []collectors.Report
}

func (p *progress) Report(r collectors.Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reports = append(p.reports, r)
}

// TestProgressAndFull: each page is reported, the last as finished; Full reads
// everything again, ignoring the cursor.
func TestProgressAndFull(t *testing.T) {
	f := newFixture(t)
	generate(f.srv, "PAY", 150, 1, 0, now.Add(-10*24*time.Hour))
	f.connect(t, nil)
	st := &recorder{Store: collectortest.SQLite(t)}
	p := &progress{}
	if err := f.source.Collect(context.Background(), st, collectors.CollectOptions{Now: f.clock.Now, Progress: p}); err != nil {
		t.Fatal(err)
	}
	if len(p.reports) != 2 || p.reports[0].Done != 100 || p.reports[0].Finished ||
		p.reports[1].Done != 150 || !p.reports[1].Finished || p.reports[1].Unit != "PAY" || p.reports[1].Requests != 4 {
		t.Errorf("reports %+v", p.reports)
	}
	st.items = nil
	if err := f.source.Collect(context.Background(), st, collectors.CollectOptions{Now: f.clock.Now, Full: true}); err != nil {
		t.Fatal(err)
	}
	if len(st.items) != 150 {
		t.Errorf("a full collection wrote %d items, want 150", len(st.items))
	}
	// Since before the default backfill start reaches older issues on a first run.
	old := newFixture(t)
	old.srv.AddIssue(jiratest.Issue{Key: "PAY-1", Created: now.Add(-200 * 24 * time.Hour)})
	old.connect(t, nil)
	st = &recorder{Store: collectortest.SQLite(t)}
	if err := old.collect(context.Background(), st); err != nil || len(st.items) != 0 {
		t.Fatalf("default since: %v, %v", st.items, err)
	}
	if err := old.source.Collect(context.Background(), st, collectors.CollectOptions{Now: old.clock.Now, Since: now.Add(-365 * 24 * time.Hour)}); err != nil || len(st.items) != 1 {
		t.Errorf("since a year: %v, %v", st.items, err)
	}
}
