package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/spool"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// outage is a store that is down until it is not, as ClickHouse during a restart.
type outage struct {
	store.Store
	down bool
}

func (o *outage) Write(ctx context.Context, b *schema.Batch) error {
	if o.down {
		return errors.New("dial tcp 127.0.0.1:9000: connection refused")
	}
	return o.Store.Write(ctx, b)
}

// spoolWithDeadLetters leaves in dir what a daemon leaves after the store refused
// two batches (a deployment of 2200 and an incident opened before 1970) and went
// down again with one more batch waiting.
func spoolWithDeadLetters(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	o := &outage{Store: st, down: true}
	sp, err := spool.New(dir, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	future := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, b := range []*schema.Batch{
		{Deployments: []schema.Deployment{{Source: "ci", ID: "pipeline-1", Service: "checkout", Environment: "production",
			StartedAt: future, UpdatedAt: future}}, Cursors: []schema.Cursor{{Source: "ci", Stream: "s", Value: "v"}}},
		{Incidents: []schema.Incident{{Source: "ci", ID: "INC-1", Service: "checkout", OpenedAt: time.Unix(-60, 0)}}},
	} {
		if err := sp.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	o.down = false
	if err := sp.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	o.down = true
	if err := sp.Write(ctx, &schema.Batch{Deployments: []schema.Deployment{{Source: "ci", ID: "pipeline-2", Service: "checkout",
		Environment: "production", StartedAt: time.Now(), UpdatedAt: time.Now()}}}); err != nil {
		t.Fatal(err)
	}
}

func TestSpoolCommand(t *testing.T) {
	dir := t.TempDir()
	// The store's password is not set: the spool needs no secret.
	cfg := writeFile(t, dir, "flowmeter.yaml", "store:\n  clickhouse:\n    addr: 127.0.0.1:1\n    password_env: FLOWMETER_TEST_UNSET_PASSWORD\nserver:\n  spool_dir: queue\n")
	spoolDir := filepath.Join(dir, "queue")
	spoolWithDeadLetters(t, spoolDir)

	out, err := runInProcess(t, "spool", "list", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`^spool ` + regexp.QuoteMeta(spoolDir) + `: 1 pending, 2 dead\n`,
		`(?m)^STATE +ID +AGE +RECORDS +ERROR$`,
		`(?m)^pending +3 +\d+s +1 deployment$`,
		`(?m)^dead +1 +\d+s +1 deployment, 1 cursor +sqlite .*: refused permanently: deployments ci/pipeline-1: started_at 2200-01-01T00:00:00Z is outside the times a store can hold, 1970-01-01T00:00:00Z to 2106-02-07T06:28:15Z$`,
		`(?m)^dead +2 +\d+s +1 incident +sqlite .*: refused permanently: incidents ci/INC-1: opened_at 1969-12-31T23:59:00Z is outside`,
	} {
		if ok, _ := regexp.MatchString(want, out); !ok {
			t.Errorf("list output does not match %q:\n%s", want, out)
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"spool"}, "expected 'spool list', 'spool retry' or 'spool drop'"},
		{"unknown subcommand", []string{"spool", "purge", "--config", cfg}, "expected 'spool list'"},
		{"list takes no ids", []string{"spool", "list", "--config", cfg, "1"}, `spool list: unexpected argument "1"`},
		{"an unknown id", []string{"spool", "retry", "--config", cfg, "1", "9"}, "spool retry: spool: 9 in " + filepath.Join(spoolDir, "dead") + ": no such dead letter"},
		{"not an id", []string{"spool", "drop", "--config", cfg, "pipeline-1"}, `spool drop: spool: "pipeline-1" is not a batch id`},
		{"a pending batch is no dead letter", []string{"spool", "drop", "--config", cfg, "3"}, "no such dead letter"},
		{"drop without ids", []string{"spool", "drop", "--config", cfg}, "spool drop: name the dead letters to drop, or --all for every one"},
		{"drop with ids and --all", []string{"spool", "drop", "--config", cfg, "--all", "1"}, "give dead letter ids or --all, not both"},
		{"an unknown flag", []string{"spool", "retry", "--config", cfg, "--all"}, "flag provided but not defined: -all"},
		{"a missing config", []string{"spool", "list", "--config", filepath.Join(dir, "nope.yaml")}, "cannot read config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runInProcess(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	// The refusals changed nothing.
	if pending, dead, err := spool.List(spoolDir); err != nil || len(pending) != 1 || len(dead) != 2 {
		t.Fatalf("after refused commands: %d pending, %d dead, %v; want 1, 2", len(pending), len(dead), err)
	}

	// Flags may follow the ids.
	out, err = runInProcess(t, "spool", "retry", "2", "--config", cfg)
	if err != nil || !strings.Contains(out, "moved 1 dead letter (2) back into the queue: a running flowmeter replays them within 10s") {
		t.Fatalf("retry: %q, %v", out, err)
	}
	if pending, dead, _ := spool.List(spoolDir); len(pending) != 2 || len(dead) != 1 || pending[0].ID != "2" {
		t.Errorf("after retry: pending %+v, dead %+v; want batch 2 queued again, first", pending, dead)
	}
	// A daemon started now replays it; the store refuses it again, and it is a dead
	// letter again, with its reason.
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	sp, err := spool.New(spoolDir, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sp.Stats(); got.Pending != 0 || got.Dead != 2 {
		t.Errorf("after replay: %+v, want batch 3 stored and 2 dead letters", got)
	}

	out, err = runInProcess(t, "spool", "drop", "--config", cfg, "00000000000000000001.batch.json")
	if err != nil || out != "dropped 1 dead letter (1); what they held is gone\n" {
		t.Fatalf("drop: %q, %v", out, err)
	}
	out, err = runInProcess(t, "spool", "drop", "--all", "--config", cfg)
	if err != nil || out != "dropped 1 dead letter (2); what they held is gone\n" {
		t.Fatalf("drop --all: %q, %v", out, err)
	}
	for _, args := range [][]string{{"retry"}, {"drop", "--all"}} {
		out, err := runInProcess(t, append(append([]string{"spool"}, args...), "--config", cfg)...)
		if err != nil || !strings.HasPrefix(out, "no dead letters to") {
			t.Errorf("%v with nothing dead: %q, %v", args, out, err)
		}
	}
	out, err = runInProcess(t, "spool", "list", "--config", cfg)
	if err != nil || out != fmt.Sprintf("spool %s: 0 pending, 0 dead\n", spoolDir) {
		t.Errorf("list of an empty spool: %q, %v", out, err)
	}
	if entries, err := os.ReadDir(filepath.Join(spoolDir, "dead")); err != nil || len(entries) != 0 {
		t.Errorf("dead-letter directory holds %v (%v), want nothing", entries, err)
	}
}

func TestSpoolCommandWithoutSpoolDirectory(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "flowmeter.yaml", "store:\n  sqlite:\n    path: f.db\n")
	out, err := runInProcess(t, "spool", "list", "--config", cfg)
	if err != nil || out != "spool "+filepath.Join(dir, "spool")+" does not exist: nothing was ever spooled there\n" {
		t.Errorf("list: %q, %v", out, err)
	}
	if _, err := runInProcess(t, "spool", "retry", "--config", cfg); err == nil ||
		!strings.Contains(err.Error(), "spool retry: no such directory (server.spool_dir of "+cfg+"), so no dead letters") {
		t.Errorf("retry: %v", err)
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                   "0s",
		45 * time.Second:               "45s",
		12*time.Minute + 5*time.Second: "12m",
		5*time.Hour + 12*time.Minute:   "5h12m",
		76 * time.Hour:                 "3d4h",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%v) = %q, want %q", d, got, want)
		}
	}
}
