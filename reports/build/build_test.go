package build

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/aggregate/aggregatetest"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

func june(d, h int) time.Time { return time.Date(2026, 6, d, h, 0, 0, 0, time.UTC) }

// toilFact is one hour of on-call toil of team, worked by who, started at.
func toilFact(id, team, who string, at time.Time) schema.ToilFact {
	return schema.ToilFact{Source: "pd", ID: "incident:" + id, Team: team, Category: "on-call", Kind: schema.ToilFromIncident,
		Record: id, Who: who, StartedAt: at, Seconds: 3600, Basis: "opened_to_resolved", UpdatedAt: june(28, 0)}
}

// fixture is a store of two teams' facts in June 2026: a production deployment of
// payments on Jun 10 and one of search on Jun 11, one flow item of payments
// (PAY-1, whose ticket has a URL; PAY-2's has none), and an hour of toil each:
// payments' by amara on Jun 2, search's by bjorn on Jun 3. more is written too.
func fixture(t *testing.T, privacy string, more *schema.Batch) *Builder {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	text := "store:\n  sqlite:\n    path: f.db\nteams:\n  - name: payments\n  - name: search\n"
	if privacy != "" {
		text += "privacy: " + privacy + "\n"
	}
	cfg, err := config.Parse([]byte(text), filepath.Join(dir, "flowmeter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b := &schema.Batch{
		DeploymentFacts: []schema.DeploymentFact{
			aggregatetest.Production("d1", "payments", "api", june(10, 12), june(28, 0)),
			aggregatetest.Production("d2", "search", "query", june(11, 12), june(28, 0)),
		},
		WorkItems: []schema.WorkItem{
			{Source: "jira", ID: "PAY-1", Project: "PAY", Title: "Faster checkout", Status: "Done", CreatedAt: june(1, 8),
				URL: "https://tracker.example/browse/PAY-1", UpdatedAt: june(28, 0)},
			{Source: "jira", ID: "PAY-2", Project: "PAY", Title: "Receipts", Status: "To Do", CreatedAt: june(1, 9), UpdatedAt: june(28, 0)},
		},
		FlowItemFacts: []schema.FlowItemFact{{Source: "jira", ID: "PAY-1", Team: "payments", Project: "PAY",
			Status: "Done", State: schema.FlowDone, CreatedAt: june(1, 8), CommittedAt: june(1, 9), DoneAt: june(1, 12),
			FlowSeconds: 3 * 3600, ActiveSeconds: 3 * 3600, UpdatedAt: june(28, 0)}},
		ToilFacts: []schema.ToilFact{toilFact("i1", "payments", "amara", june(2, 10)), toilFact("i2", "search", "bjorn", june(3, 10))},
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if more != nil {
		if err := st.Write(ctx, more); err != nil {
			t.Fatal(err)
		}
	}
	return &Builder{Config: cfg, Store: st, Now: june(30, 12)}
}

func request(t *testing.T, kind Kind, p Params) Request {
	t.Helper()
	if p.Format == "" {
		p.Format = "json"
	}
	req, err := Parse(kind, p, june(30, 12))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// whoByTeam lists the people of each team's toil entries.
func whoByTeam(t *testing.T, b *Builder, team string) map[string][]string {
	t.Helper()
	rep, err := b.Toil(context.Background(), request(t, Toil, Params{Team: team, Quarter: "2026Q2"}))
	if err != nil {
		t.Fatal(err)
	}
	who := map[string][]string{}
	for _, tm := range rep.Teams {
		for _, c := range tm.Categories {
			for _, e := range c.Items {
				who[tm.Name] = append(who[tm.Name], e.Who)
			}
		}
	}
	return who
}

func TestToilPrivacy(t *testing.T) {
	// Without the setting, each entry names who worked it.
	if got, want := whoByTeam(t, fixture(t, "", nil), ""), map[string][]string{"payments": {"amara"}, "search": {"bjorn"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("no privacy setting: %v, want %v", got, want)
	}
	// teams-only: each names its team; the entry of no team names aggregate.NoTeam.
	noTeam := &schema.Batch{ToilFacts: []schema.ToilFact{toilFact("i3", "", "chen", june(4, 10))}}
	b := fixture(t, config.PrivacyTeamsOnly, noTeam)
	want := map[string][]string{"payments": {"payments"}, "search": {"search"}, aggregate.NoTeam: {aggregate.NoTeam}}
	if got := whoByTeam(t, b, ""); !reflect.DeepEqual(got, want) {
		t.Errorf("teams-only: %v, want %v", got, want)
	}
	// Private is what reads them, for explain too.
	facts, err := store.All(Private(b.Config, b.Store).ToilFacts(context.Background(), store.Filter{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range facts {
		if f.Who != f.Team && !(f.Team == "" && f.Who == aggregate.NoTeam) {
			t.Errorf("Private: toil fact %s of team %q names %q", f.ID, f.Team, f.Who)
		}
	}
}

// TestToilOneTeam: a team asked for alone is the only team of the report; the
// other team's toil is not put under aggregate.NoTeam.
func TestToilOneTeam(t *testing.T) {
	if got, want := whoByTeam(t, fixture(t, "", nil), "search"), map[string][]string{"search": {"bjorn"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("search alone: %v, want %v", got, want)
	}
}

// TestNoTeamAlone: "(no team)" asked for alone holds the toil of no configured
// team only: none in the fixture, then the one entry of no team; the teams' toil
// never lands there.
func TestNoTeamAlone(t *testing.T) {
	if got := whoByTeam(t, fixture(t, "", nil), aggregate.NoTeam); len(got) != 0 {
		t.Errorf("(no team) alone, without toil of no team: %v, want nothing", got)
	}
	noTeam := &schema.Batch{ToilFacts: []schema.ToilFact{toilFact("i3", "", "chen", june(4, 10))}}
	if got, want := whoByTeam(t, fixture(t, "", noTeam), aggregate.NoTeam), map[string][]string{aggregate.NoTeam: {"chen"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("(no team) alone: %v, want %v", got, want)
	}
	b := fixture(t, "", nil)
	review, err := b.Flow(context.Background(), request(t, Flow, Params{Team: aggregate.NoTeam, Quarter: "2026Q2"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(review.Teams) != 1 || review.Teams[0].Name != aggregate.NoTeam || !review.Teams[0].NoWork() {
		var got []string
		for _, tr := range review.Teams {
			got = append(got, fmt.Sprintf("%s (%d finished)", tr.Name, tr.Current.Finished))
		}
		t.Errorf("the flow review of (no team) alone holds %v, want (no team) with no work (PAY-1 is payments')", got)
	}
}

func TestFlowInput(t *testing.T) {
	b := fixture(t, "", nil)
	in, err := b.flowInput(context.Background(), request(t, Flow, Params{Team: "payments", Quarter: "2026Q2"}))
	if err != nil {
		t.Fatal(err)
	}
	// PAY-2's ticket has no URL: left out.
	if want := map[string]string{"PAY-1": "https://tracker.example/browse/PAY-1"}; !reflect.DeepEqual(in.URLs, want) {
		t.Errorf("URLs %v, want %v", in.URLs, want)
	}
	if in.Team != "payments" || len(in.Items) != 1 || !in.From.Equal(june(1, 0).AddDate(0, -2, 0)) || !in.To.Equal(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("input: team %q, %d items, [%s, %s)", in.Team, len(in.Items), in.From, in.To)
	}
	// The DORA figures of the same quarter and team: payments' one deployment, d1.
	if len(in.DORA.Teams) != 1 || in.DORA.Teams[0].Name != "payments" || in.DORA.Teams[0].Figures.Deployments != 1 ||
		!in.DORA.From.Equal(in.From) || !in.DORA.To.Equal(in.To) {
		t.Errorf("DORA beside the review: %+v", in.DORA)
	}
}

func TestDORAPreviousWindow(t *testing.T) {
	b := fixture(t, "", nil)
	rs, err := b.DORA(context.Background(), request(t, DORA, Params{Quarter: "2026Q2"}))
	if err != nil {
		t.Fatal(err)
	}
	// The quarter before 2026Q2 is 2026Q1, [Jan 1, Apr 1).
	jan, apr := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	if !rs.Previous.From.Equal(jan) || !rs.Previous.To.Equal(apr) || !rs.Current.From.Equal(apr) {
		t.Errorf("current from %s, previous [%s, %s); want previous 2026Q1", rs.Current.From, rs.Previous.From, rs.Previous.To)
	}
	// d1 and d2, one per team, both in June.
	if got := rs.Current.Teams[0].Figures.Deployments + rs.Current.Teams[1].Figures.Deployments; got != 2 {
		t.Errorf("%d deployments in 2026Q2, want 2", got)
	}
}

func TestTeams(t *testing.T) {
	ctx := context.Background()
	got, err := fixture(t, "", nil).Teams(ctx)
	if err != nil || !reflect.DeepEqual(got, []string{"payments", "search"}) {
		t.Errorf("every fact of a listed team: %v %v, want payments, search", got, err)
	}
	for name, more := range map[string]*schema.Batch{
		"toil":       {ToilFacts: []schema.ToilFact{toilFact("i3", "", "chen", june(4, 10))}},
		"deployment": {DeploymentFacts: []schema.DeploymentFact{aggregatetest.Production("d3", "platform", "mesh", june(12, 12), june(28, 0))}},
	} {
		got, err := fixture(t, "", more).Teams(ctx)
		if err != nil || !reflect.DeepEqual(got, []string{"payments", "search", aggregate.NoTeam}) {
			t.Errorf("a %s fact of no listed team: %v %v, want payments, search, (no team)", name, got, err)
		}
	}
}

func TestCheckTeam(t *testing.T) {
	b := fixture(t, "", nil)
	for _, ok := range []string{"", "payments", aggregate.NoTeam} {
		if err := b.CheckTeam(ok); err != nil {
			t.Errorf("team %q: %v", ok, err)
		}
	}
	err := b.CheckTeam("nosuch")
	var unknown *UnknownTeamError
	want := `no team "nosuch" in ` + b.Config.Path + ` (teams: payments, search, (no team))`
	if !errors.As(err, &unknown) || err.Error() != want {
		t.Errorf("unknown team: %v, want %q", err, want)
	}
	none := &UnknownTeamError{Team: "x", Config: "f.yaml", Teams: []string{aggregate.NoTeam}}
	if got := none.Error(); !strings.Contains(got, "f.yaml defines no teams") {
		t.Errorf("config without teams: %q", got)
	}
}

func TestParse(t *testing.T) {
	now := june(30, 12)
	for _, tt := range []struct {
		kind Kind
		p    Params
		want string // "" for fine
	}{
		{DORA, Params{Format: "html"}, ""},
		{Flow, Params{Format: "html", Quarter: "2026Q2"}, ""},
		{Toil, Params{Format: "svg", Team: "payments"}, ""},
		{Toil, Params{Format: "svg"}, "--format svg draws one team's toil snake: give --team"},
		{DORA, Params{Format: "svg", Team: "payments"}, `--format: unknown format "svg" (want md, json, csv or html)`},
		{Flow, Params{Format: "pdf"}, `--format: unknown format "pdf" (want md, json, csv or html)`},
		{Toil, Params{Format: "pdf"}, `--format: unknown format "pdf" (want md, json, csv, html or svg)`},
		{Toil, Params{Format: "html", Quarter: "2026Q5"}, `--quarter "2026Q5": want a quarter like 2026Q3`},
		{DORA, Params{Format: "md", From: "2026-07-02", To: "2026-07-01"}, "--from 2026-07-02 is not before --to 2026-07-01"},
	} {
		_, err := Parse(tt.kind, tt.p, now)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s %+v: %v, want %q", tt.kind, tt.p, err, tt.want)
		}
	}
	// The formats can be narrowed, as the report pages do.
	if _, err := Parse(DORA, Params{Format: "md"}, now, "html"); err == nil || !strings.Contains(err.Error(), `unknown format "md" (want html)`) {
		t.Errorf("md where only html is allowed: %v", err)
	}
	req, err := Parse(Toil, Params{Team: "search", Format: "svg", Quarter: "2026q3"}, now)
	if err != nil || req.Kind != Toil || req.Team != "search" || req.Format != "svg" ||
		!req.From.Equal(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)) || !req.To.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Parse = %+v, %v", req, err)
	}
}
