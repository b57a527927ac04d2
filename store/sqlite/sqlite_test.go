package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/sqlite"
	"github.com/flowmeter/flowmeter/store/storetest"
)

func open(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "flowmeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

// TestColumnsMatchDescriptors keeps each migration's columns and its Go descriptor
// from drifting apart. Their order is not compared: columns a later migration adds
// come after updated_at and version, and every statement names its columns.
func TestColumnsMatchDescriptors(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		schema.PullRequests.Name():    schema.PullRequests.ColumnNames(),
		schema.Deployments.Name():     schema.Deployments.ColumnNames(),
		schema.Incidents.Name():       schema.Incidents.ColumnNames(),
		schema.WorkItems.Name():       schema.WorkItems.ColumnNames(),
		schema.StatusChanges.Name():   schema.StatusChanges.ColumnNames(),
		schema.Worklogs.Name():        schema.Worklogs.ColumnNames(),
		schema.Ancestries.Name():      schema.Ancestries.ColumnNames(),
		schema.ChangeFacts.Name():     schema.ChangeFacts.ColumnNames(),
		schema.DeploymentFacts.Name(): schema.DeploymentFacts.ColumnNames(),
		schema.IncidentFacts.Name():   schema.IncidentFacts.ColumnNames(),
	}
	for table, cols := range want {
		got, err := s.Columns(ctx, table)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(cols)
		if !slices.Equal(got, cols) {
			t.Errorf("table %s has columns\n %v\nthe descriptor says\n %v", table, got, cols)
		}
	}
}
