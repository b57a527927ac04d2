package build

import (
	"context"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/metrics/toil"
	dorareport "github.com/flowmeter/flowmeter/reports/dora"
	flowreport "github.com/flowmeter/flowmeter/reports/flow"
	"github.com/flowmeter/flowmeter/reports/htmlpage"
	"github.com/flowmeter/flowmeter/reports/render"
	toilreport "github.com/flowmeter/flowmeter/reports/toil"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// Builder builds the reports of one config from the facts of one store.
type Builder struct {
	Config *config.Config
	Store  store.Store
	// Now is the time of writing: of a window still running, only the part up to
	// it counts.
	Now time.Time
}

// UnknownTeamError is a team the config does not define; it names the ones it does.
type UnknownTeamError struct {
	Team string
	// Config is the config file, Teams its teams and aggregate.NoTeam.
	Config string
	Teams  []string
}

func (e *UnknownTeamError) Error() string {
	if len(e.Teams) < 2 {
		return fmt.Sprintf("no team %q: %s defines no teams (only %q can be reported)", e.Team, e.Config, aggregate.NoTeam)
	}
	return fmt.Sprintf("no team %q in %s (teams: %s)", e.Team, e.Config, strings.Join(e.Teams, ", "))
}

// CheckTeam refuses a team the config does not define with an *UnknownTeamError;
// "" (every team) and aggregate.NoTeam are always there.
func (b *Builder) CheckTeam(team string) error {
	if team == "" || team == aggregate.NoTeam {
		return nil
	}
	if _, ok := b.Config.Team(team); ok {
		return nil
	}
	return &UnknownTeamError{Team: team, Config: b.Config.Path, Teams: append(b.Config.TeamNames(), aggregate.NoTeam)}
}

// Teams are the teams a report can show, in config order, then aggregate.NoTeam
// when some fact belongs to no team of the config: the teams the report pages list.
func (b *Builder) Teams(ctx context.Context) ([]string, error) {
	teams := b.Config.TeamNames()
	listed := make(map[string]bool, len(teams))
	for _, t := range teams {
		listed[t] = true
	}
	st := b.Store
	for _, unlisted := range []func() (bool, error){
		func() (bool, error) { return anyUnlisted(st.ChangeFacts(ctx, store.Filter{}), listed, changeTeam) },
		func() (bool, error) {
			return anyUnlisted(st.DeploymentFacts(ctx, store.Filter{}), listed, deploymentTeam)
		},
		func() (bool, error) { return anyUnlisted(st.IncidentFacts(ctx, store.Filter{}), listed, incidentTeam) },
		func() (bool, error) { return anyUnlisted(st.FlowItemFacts(ctx, store.Filter{}), listed, flowTeam) },
		func() (bool, error) { return anyUnlisted(st.ToilFacts(ctx, store.Filter{}), listed, toilTeam) },
	} {
		found, err := unlisted()
		if err != nil {
			return nil, err
		}
		if found {
			return append(teams, aggregate.NoTeam), nil
		}
	}
	return teams, nil
}

func changeTeam(f *schema.ChangeFact) string         { return f.Team }
func deploymentTeam(f *schema.DeploymentFact) string { return f.Team }
func incidentTeam(f *schema.IncidentFact) string     { return f.Team }
func flowTeam(f *schema.FlowItemFact) string         { return f.Team }
func toilTeam(f *schema.ToilFact) string             { return f.Team }

// anyUnlisted says whether a fact belongs to no listed team, reading no further
// than the first such fact.
func anyUnlisted[F any](facts iter.Seq2[F, error], listed map[string]bool, team func(*F) string) (bool, error) {
	for f, err := range facts {
		if err != nil {
			return false, err
		}
		if !listed[team(&f)] {
			return true, nil
		}
	}
	return false, nil
}

// now is Now to the second, as reports print it.
func (b *Builder) now() time.Time { return b.Now.UTC().Truncate(time.Second) }

// doraInput reads the facts the DORA figures of req's window and team come from.
func (b *Builder) doraInput(ctx context.Context, req Request) (aggregate.Input, error) {
	in := aggregate.Input{
		From: req.From, To: req.To, Now: b.now(), Table: b.Config.Rules.DORATable,
		Team: req.Team, Explain: req.Explain, Teams: b.Config.TeamNames(),
	}
	var err error
	if in.Changes, err = store.All(b.Store.ChangeFacts(ctx, store.Filter{})); err != nil {
		return in, err
	}
	if in.Deployments, err = store.All(b.Store.DeploymentFacts(ctx, store.Filter{})); err != nil {
		return in, err
	}
	in.Incidents, err = store.All(b.Store.IncidentFacts(ctx, store.Filter{}))
	return in, err
}

// DORA is the DORA report of req's window and team, with the previous window's
// (aggregate.PreviousWindow) to compare with.
func (b *Builder) DORA(ctx context.Context, req Request) (dorareport.Reports, error) {
	in, err := b.doraInput(ctx, req)
	if err != nil {
		return dorareport.Reports{}, err
	}
	reports := dorareport.Reports{Current: aggregate.DORA(in)}
	in.From, in.To = aggregate.PreviousWindow(in.From, in.To)
	reports.Previous = aggregate.DORA(in)
	return reports, nil
}

// Flow is the flow review of req's window and team, with the DORA figures of the
// same window and team beside it and links to the tracker's pages of the items.
func (b *Builder) Flow(ctx context.Context, req Request) (flow.Review, error) {
	in, err := b.flowInput(ctx, req)
	if err != nil {
		return flow.Review{}, err
	}
	return flow.BuildReview(in), nil
}

// flowInput reads what the flow review of req is computed from.
func (b *Builder) flowInput(ctx context.Context, req Request) (flow.ReviewInput, error) {
	dora := req
	dora.Explain = false
	in, err := b.doraInput(ctx, dora)
	if err != nil {
		return flow.ReviewInput{}, err
	}
	items, err := store.All(b.Store.FlowItemFacts(ctx, store.Filter{}))
	if err != nil {
		return flow.ReviewInput{}, err
	}
	urls := map[string]string{}
	for item, err := range b.Store.WorkItems(ctx, store.Filter{}) {
		if err != nil {
			return flow.ReviewInput{}, err
		}
		if item.URL != "" {
			urls[item.ID] = item.URL
		}
	}
	return flow.ReviewInput{
		Items: items, Changes: in.Changes, Teams: b.Config.TeamNames(), Team: req.Team,
		From: req.From, To: req.To, Now: b.now(), Rules: flow.NewRules(b.Config), URLs: urls, DORA: aggregate.DORA(in),
	}, nil
}

// Toil is the toil report of req's window and team, naming teams instead of
// people when the config's privacy says teams-only.
func (b *Builder) Toil(ctx context.Context, req Request) (toil.Report, error) {
	facts, err := store.All(Private(b.Config, b.Store).ToilFacts(ctx, store.Filter{}))
	if err != nil {
		return toil.Report{}, err
	}
	// Every team is listed even for one team's report, so that the others' toil
	// stays theirs rather than falling under aggregate.NoTeam, which may be the
	// team asked for.
	teams := b.Config.TeamNames()
	if req.Team != "" && !slices.Contains(teams, req.Team) {
		teams = append(teams, req.Team)
	}
	rep := toil.Aggregate(facts, teams, req.From, req.To, b.now())
	if req.Team != "" {
		kept := rep.Teams[:0:0]
		for _, t := range rep.Teams {
			if t.Name == req.Team {
				kept = append(kept, t)
			}
		}
		rep.Teams = kept
	}
	return rep, nil
}

// Write builds the report req asks for and renders it in req's format.
func (b *Builder) Write(ctx context.Context, w io.Writer, req Request) error {
	var page htmlpage.Page
	var err error
	switch req.Kind {
	case DORA:
		var rs dorareport.Reports
		if rs, err = b.DORA(ctx, req); err == nil {
			if req.Format != render.HTML {
				return dorareport.Render(w, rs, req.Format)
			}
			page, err = dorareport.Page(rs)
		}
	case Flow:
		var review flow.Review
		if review, err = b.Flow(ctx, req); err == nil {
			if req.Format != render.HTML {
				return flowreport.Render(w, review, req.Format)
			}
			page, err = flowreport.Page(review)
		}
	case Toil:
		var rep toil.Report
		if rep, err = b.Toil(ctx, req); err == nil {
			if req.Format != render.HTML {
				return toilreport.Render(w, rep, req.Format)
			}
			page, err = toilreport.Page(rep)
		}
	default:
		return fmt.Errorf("no report %q", req.Kind)
	}
	if err != nil {
		return err
	}
	// HTML goes through the report's page, so that the caller's navigation is in it.
	page.Nav = req.Nav
	return htmlpage.Write(w, page)
}

// Private is st with the config's privacy applied to what is read from it: with
// privacy teams-only, every toil fact names its team instead of a person
// (toil.NameTeams). Whatever reads toil facts for an output reads them through it.
func Private(cfg *config.Config, st store.Store) store.Store {
	if !cfg.TeamsOnly() {
		return st
	}
	return teamsOnly{st}
}

type teamsOnly struct{ store.Store }

func (s teamsOnly) ToilFacts(ctx context.Context, f store.Filter) iter.Seq2[schema.ToilFact, error] {
	return func(yield func(schema.ToilFact, error) bool) {
		for fact, err := range s.Store.ToilFacts(ctx, f) {
			one := []schema.ToilFact{fact}
			toil.NameTeams(one)
			if !yield(one[0], err) {
				return
			}
		}
	}
}
