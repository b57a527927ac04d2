package main

import (
	"context"
	"encoding/json"
	"html/template"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/reports/build"
	"github.com/flowmeter/flowmeter/reports/explain"
	"github.com/flowmeter/flowmeter/reports/pages"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// TestTeamsOnlyNamesNoOne runs every output of the demo organisation with
// "privacy: teams-only" and checks that none names a person the records name, then
// switches the setting off and checks that the same outputs name people again:
// toil facts are derived anew both times.
func TestTeamsOnlyNamesNoOne(t *testing.T) {
	if testing.Short() {
		t.Skip("generates two quarters of data and runs every output twice")
	}
	dir := t.TempDir()
	if _, err := runInProcess(t, "demo", "--dir", dir, "--seed", "7", "--end", "2026-06-30", "--no-serve"); err != nil {
		t.Fatal(err)
	}
	configPath := filepath.Join(dir, demoConfigFile)
	people, samples := readDemo(t, filepath.Join(dir, demoStoreFile))
	plain, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}

	writeFile(t, dir, demoConfigFile, string(plain)+"privacy: teams-only\n")
	teamsOnly := outputs(t, configPath, samples)
	for _, name := range slices.Sorted(maps.Keys(teamsOnly)) {
		t.Run("teams-only/"+name, func(t *testing.T) {
			out := teamsOnly[name]
			who, around := people.named(out)
			if strings.HasPrefix(name, "explain") && !strings.Contains(out, explain.TeamsOnlyNote) {
				t.Errorf("explain does not say it names teams:\n%s", out)
			}
			if who != "" {
				t.Errorf("names %s under teams-only: …%s…", who, around)
			}
		})
	}
	// Toil entries name their team: the report still says who (which team) did it.
	cfg, err := config.Load(configPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, team := range cfg.TeamNames() {
		if !strings.Contains(teamsOnly["report toil --format json"], `"who": "`+team+`"`) {
			t.Errorf("no toil entry of %s names the team under teams-only", team)
		}
	}

	writeFile(t, dir, demoConfigFile, string(plain))
	named := outputs(t, configPath, samples)
	// The outputs that show a record's people, or a toil entry's person, name them
	// again once the setting is off: the check above can fail.
	shows := []string{"report toil --format json", "page /reports/toil?quarter=2026Q2&team=payments"}
	for _, s := range samples {
		if s.names {
			shows = append(shows, s.output())
		}
	}
	for _, name := range shows {
		if who, _ := people.named(named[name]); who == "" {
			t.Errorf("%s names no one without teams-only:\n%.2000s", name, named[name])
		}
	}
}

// demoPeople are the people the records name, and the titles that name one of
// them: titles are written by people and are not redacted (docs/metrics.md, "People
// in the figures"), so they are cut out of an output before it is searched.
type demoPeople struct {
	pattern *regexp.Regexp
	// titled are the parts of titles up to the last person they name, as written
	// and as JSON and HTML escape them, longest first.
	titled []string
}

// named returns the first person the output names outside the titles, with the
// text around the name; "" when it names no one.
func (p *demoPeople) named(out string) (who, around string) {
	for _, title := range p.titled {
		out = strings.ReplaceAll(out, title, "")
	}
	m := p.pattern.FindStringSubmatchIndex(out)
	if m == nil {
		return "", ""
	}
	return out[m[2]:m[3]], out[max(0, m[2]-200):min(len(out), m[3]+200)]
}

// sample is a fact explain is run on: its kind and reference, and whether its
// records or the fact itself name a person.
type sample struct {
	kind, ref string
	names     bool
}

// output names the output of explain for the sample.
func (s sample) output() string { return "explain --kind " + s.kind + " " + s.ref }

// readDemo reads the people the demo's records name (pull request authors and
// first reviewers, assignees, status change and worklog authors; incident records
// name no responder) and the facts to explain.
func readDemo(t *testing.T, path string) (*demoPeople, []sample) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	read := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	prs, err := store.All(st.PullRequests(ctx, store.Filter{}))
	read(err)
	items, err := store.All(st.WorkItems(ctx, store.Filter{}))
	read(err)
	moves, err := store.All(st.StatusChanges(ctx, store.Filter{}))
	read(err)
	logs, err := store.All(st.Worklogs(ctx, store.Filter{}))
	read(err)
	incidents, err := store.All(st.Incidents(ctx, store.Filter{}))
	read(err)

	set := map[string]bool{}
	for _, pr := range prs {
		set[pr.Author], set[pr.FirstReviewer] = true, true
	}
	for _, it := range items {
		set[it.Assignee] = true
	}
	for _, c := range moves {
		set[c.Author] = true
	}
	for _, w := range logs {
		set[w.Author] = true
	}
	delete(set, "")
	if len(set) < 10 {
		t.Fatalf("the demo's records name %d people, want a team's worth at least", len(set))
	}
	names := slices.Sorted(maps.Keys(set))
	// Longest first, so that no name matches as the start of a longer one.
	slices.SortStableFunc(names, func(a, b string) int { return len(b) - len(a) })
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	p := &demoPeople{pattern: regexp.MustCompile(`(?:^|[^\w])(` + strings.Join(quoted, "|") + `)(?:[^\w]|$)`)}

	var titles []string
	for _, pr := range prs {
		titles = append(titles, pr.Title)
	}
	for _, it := range items {
		titles = append(titles, it.Title)
	}
	for _, in := range incidents {
		titles = append(titles, in.Title)
	}
	seen := map[string]bool{}
	for _, title := range titles {
		all := p.pattern.FindAllStringSubmatchIndex(title, -1)
		if all == nil {
			continue
		}
		upTo := title[:all[len(all)-1][3]]
		escaped, _ := json.Marshal(upTo)
		for _, form := range []string{upTo, strings.Trim(string(escaped), `"`), template.HTMLEscapeString(upTo)} {
			if !seen[form] {
				seen[form] = true
				p.titled = append(p.titled, form)
			}
		}
	}
	slices.SortStableFunc(p.titled, func(a, b string) int { return len(b) - len(a) })

	return p, explainSamples(t, st, prs)
}

// explainSamples picks the facts to explain: three changes whose pull request was
// reviewed, two failed deployments and two incidents, three flow items with
// worklogs and pull requests, three toil tickets naming someone and a toil entry
// of every other kind the demo has.
func explainSamples(t *testing.T, st store.Store, prs []schema.PullRequest) []sample {
	t.Helper()
	ctx := context.Background()
	var out []sample
	take := func(kind string, n int, refs []string, names bool) {
		slices.Sort(refs)
		if len(refs) == 0 {
			t.Fatalf("the demo has no %s fact to explain", kind)
		}
		for _, ref := range refs[:min(n, len(refs))] {
			out = append(out, sample{kind, ref, names})
		}
	}
	reviewed := map[string]bool{}
	for _, pr := range prs {
		if pr.FirstReviewer != "" {
			reviewed[aggregate.Ref(pr.Source, pr.ID)] = true
		}
	}
	var refs []string
	for c, err := range st.ChangeFacts(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if ref := aggregate.Ref(c.Source, c.ID); reviewed[ref] {
			refs = append(refs, ref)
		}
	}
	take("change", 3, refs, true)

	refs = nil
	for d, err := range st.DeploymentFacts(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if d.Failed {
			refs = append(refs, aggregate.Ref(d.Source, d.ID))
		}
	}
	take("deployment", 2, refs, false)

	refs = nil
	for i, err := range st.IncidentFacts(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, aggregate.Ref(i.Source, i.ID))
	}
	take("incident", 2, refs, false)

	logged := map[string]bool{}
	for w, err := range st.Worklogs(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		logged[aggregate.Ref(w.Source, w.ItemID)] = true
	}
	refs = nil
	for f, err := range st.FlowItemFacts(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if ref := aggregate.Ref(f.Source, f.ID); logged[ref] && len(f.PullRequests) > 0 {
			refs = append(refs, ref)
		}
	}
	take("flow", 3, refs, true)

	byKind := map[string][]string{}
	for f, err := range st.ToilFacts(ctx, store.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if f.Kind != schema.ToilFromTicket || f.Who != "" {
			byKind[f.Kind] = append(byKind[f.Kind], aggregate.Ref(f.Source, f.ID))
		}
	}
	take("toil", 3, byKind[schema.ToilFromTicket], true)
	for _, kind := range schema.ToilSources {
		// The demo has no pages that were no incident: kinds it lacks are left out.
		if kind != schema.ToilFromTicket && len(byKind[kind]) > 0 {
			take("toil", 1, byKind[kind], false)
		}
	}
	return out
}

// reportFormats are the formats each report is asked for: every one it writes.
var reportFormats = map[string][]string{
	"dora": {"md", "json", "csv", "html"},
	"flow": {"md", "json", "csv", "html"},
	"toil": {"md", "json", "csv", "html"},
}

// outputs derives with the config as it is now, then runs every output flowmeter
// has for it: the derivation's own lines, each report in each format it writes,
// the DORA report's explanation, the Prometheus exposition, and explain of each
// sample. Each output is its standard output and standard error together.
func outputs(t *testing.T, configPath string, samples []sample) map[string]string {
	t.Helper()
	out := map[string]string{}
	run := func(name string, args ...string) error {
		stdout, stderr, err := runCaptured(t, append(args, "--config", configPath)...)
		out[name] = stdout + stderr
		return err
	}
	if err := run("derive", "derive", "--log-level", "debug"); err != nil {
		t.Fatal(err)
	}
	for _, report := range []string{"dora", "flow", "toil"} {
		for _, format := range reportFormats[report] {
			name := "report " + report + " --format " + format
			if err := run(name, "report", report, "--quarter", "2026Q2", "--format", format); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	// The toil snake drawing is one team's.
	if err := run("report toil --format svg", "report", "toil", "--quarter", "2026Q2", "--format", "svg", "--team", "payments"); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"md", "csv"} {
		if err := run("report dora --explain --format "+format, "report", "dora", "--quarter", "2026Q2", "--explain", "--format", format); err != nil {
			t.Fatal(err)
		}
	}
	if err := run("metrics", "metrics"); err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if err := run(s.output(), "explain", "--kind", s.kind, s.ref); err != nil {
			t.Fatal(err)
		}
	}
	maps.Copy(out, pageOutputs(t, configPath))
	return out
}

// pageOutputs are the report pages `flowmeter run` serves for the config: the
// index and every page it links to, each built by the daemon's handler over the
// store.
func pageOutputs(t *testing.T, configPath string) map[string]string {
	t.Helper()
	cfg, _, err := loadConfig(configPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(filepath.Dir(configPath), demoStoreFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The day after the demo's history ends, so that the index's quarters, the
	// current and the previous one, hold its toil.
	dayAfter := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(&pages.Handler{Open: func(now time.Time) (pages.Reports, error) {
		return &build.Builder{Config: cfg, Store: st, Now: now}, nil
	}, Now: func() time.Time { return dayAfter }})
	defer srv.Close()
	out := map[string]string{}
	_, _, index := fetch(t, http.MethodGet, srv.URL+"/", nil)
	out["page /"] = index
	for _, link := range pageLinks(t, srv.URL+"/", index) {
		code, _, page := fetch(t, http.MethodGet, link, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s = %d: %.300s", link, code, page)
		}
		out["page "+strings.TrimPrefix(link, srv.URL)] = page
	}
	return out
}
