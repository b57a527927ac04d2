// Package refresh brings the stored facts up to date with the records: it reads the
// records, asks the ancestry questions ship attribution needs of the sources that
// can answer them, derives, and writes only the facts that differ from the stored
// ones. A changed config (teams, rules, privacy) therefore rewrites exactly the
// facts it changes, and a refresh with nothing new writes nothing.
package refresh

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// Options are what one refresh is given besides the store and the rules.
type Options struct {
	// Resolvers answer ancestry questions, by the name of the source instance whose
	// pull requests they concern.
	Resolvers map[string]collectors.AncestryResolver
	// Full writes every fact, changed or not.
	Full bool
	// Now stamps the facts.
	Now    time.Time
	Logger *slog.Logger
}

// Summary says what a refresh found and wrote.
type Summary struct {
	Changes, Deployments, Incidents                      int // facts derived
	ChangesWritten, DeploymentsWritten, IncidentsWritten int
	FlowItems, ToilEntries                               int
	FlowItemsWritten, ToilEntriesWritten                 int
	AncestryAsked                                        int // pairs sent to a resolver
	Took                                                 time.Duration
	// Facts, FlowItems and ToilEntries are every fact as derived, stored or
	// unchanged, for callers that go on to use them (the exporter) without reading
	// them back.
	Facts     metrics.Facts
	FlowFacts []schema.FlowItemFact
	ToilFacts []schema.ToilFact
}

// Written is the number of facts written.
func (s Summary) Written() int {
	return s.ChangesWritten + s.DeploymentsWritten + s.IncidentsWritten + s.FlowItemsWritten + s.ToilEntriesWritten
}

// writeBatch is how many facts are written at once.
const writeBatch = 10_000

// Run refreshes the facts: DORA's first, then flow (which needs the change facts
// for delivery), then toil (which needs the others for teams and active time).
func Run(ctx context.Context, st store.Store, cfg *config.Config, opts Options) (Summary, error) {
	started := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rules := metrics.NewRules(cfg)
	var sum Summary
	in := metrics.Input{Now: opts.Now, Ancestry: map[schema.CommitPair]bool{}}
	var err error
	if in.PullRequests, err = store.All(st.PullRequests(ctx, store.Filter{})); err != nil {
		return sum, err
	}
	if in.Deployments, err = store.All(st.Deployments(ctx, store.Filter{})); err != nil {
		return sum, err
	}
	if in.Incidents, err = store.All(st.Incidents(ctx, store.Filter{})); err != nil {
		return sum, err
	}
	for a, err := range st.Ancestries(ctx, store.Filter{}) {
		if err != nil {
			return sum, err
		}
		in.Ancestry[schema.CommitPair{Repo: a.Repo, Base: a.Base, Head: a.Head}] = a.Contains
	}
	if sum.AncestryAsked, err = resolveAncestry(ctx, st, rules, &in, opts.Resolvers, log); err != nil {
		return sum, err
	}

	facts := metrics.Derive(in, rules)
	sum.Facts = facts
	sum.Changes, sum.Deployments, sum.Incidents = len(facts.Changes), len(facts.Deployments), len(facts.Incidents)
	changed := func(stored, derived any) bool { return opts.Full || !reflect.DeepEqual(stored, derived) }
	if sum.ChangesWritten, err = writeChanged(ctx, st, st.ChangeFacts(ctx, store.Filter{}), facts.Changes, schema.ChangeFacts, changed,
		func(b *schema.Batch, f []schema.ChangeFact) { b.ChangeFacts = f }); err != nil {
		return sum, err
	}
	if sum.DeploymentsWritten, err = writeChanged(ctx, st, st.DeploymentFacts(ctx, store.Filter{}), facts.Deployments, schema.DeploymentFacts, changed,
		func(b *schema.Batch, f []schema.DeploymentFact) { b.DeploymentFacts = f }); err != nil {
		return sum, err
	}
	if sum.IncidentsWritten, err = writeChanged(ctx, st, st.IncidentFacts(ctx, store.Filter{}), facts.Incidents, schema.IncidentFacts, changed,
		func(b *schema.Batch, f []schema.IncidentFact) { b.IncidentFacts = f }); err != nil {
		return sum, err
	}

	fin := flow.Input{PullRequests: in.PullRequests, ChangeFacts: facts.Changes, Now: opts.Now}
	if fin.Items, err = store.All(st.WorkItems(ctx, store.Filter{})); err != nil {
		return sum, err
	}
	if fin.Changes, err = store.All(st.StatusChanges(ctx, store.Filter{})); err != nil {
		return sum, err
	}
	sum.FlowFacts = flow.Derive(fin, flow.NewRules(cfg))
	sum.FlowItems = len(sum.FlowFacts)
	warnUnmatchedProjects(cfg, fin.Items, log)
	if sum.FlowItemsWritten, err = writeChanged(ctx, st, st.FlowItemFacts(ctx, store.Filter{}), sum.FlowFacts, schema.FlowItemFacts, changed,
		func(b *schema.Batch, f []schema.FlowItemFact) { b.FlowItemFacts = f }); err != nil {
		return sum, err
	}

	tin := toil.Input{
		Incidents: in.Incidents, IncidentFacts: facts.Incidents, Items: fin.Items, FlowFacts: sum.FlowFacts,
		Deployments: in.Deployments, DeploymentFacts: facts.Deployments, Now: opts.Now,
	}
	if tin.Worklogs, err = store.All(st.Worklogs(ctx, store.Filter{})); err != nil {
		return sum, err
	}
	sum.ToilFacts = toil.Derive(tin, toil.NewRules(cfg))
	sum.ToilEntries = len(sum.ToilFacts)
	retire := func(f schema.ToilFact) (schema.ToilFact, bool) {
		if f.Retired {
			return f, false
		}
		f.Retired, f.UpdatedAt = true, opts.Now
		return f, true
	}
	if sum.ToilEntriesWritten, err = writeChangedRetiring(ctx, st, st.ToilFacts(ctx, store.Filter{}), sum.ToilFacts, schema.ToilFacts, changed,
		func(b *schema.Batch, f []schema.ToilFact) { b.ToilFacts = f }, retire); err != nil {
		return sum, err
	}
	sum.Took = time.Since(started)
	log.Info("derived", "change_facts", sum.Changes, "deployment_facts", sum.Deployments, "incident_facts", sum.Incidents,
		"flow_item_facts", sum.FlowItems, "toil_facts", sum.ToilEntries,
		"written", sum.Written(), "ancestry_asked", sum.AncestryAsked, "took", sum.Took.Round(time.Millisecond))
	return sum, nil
}

// resolveAncestry asks, round by round, the ancestry questions derivation needs, of
// the resolver of the source each repository's pull requests came from, until no
// new question is left: every walk is decided whole, never cut short. Most walks
// end at their first question; a walk still going asks twice as many of its next
// questions each round (one, two, four…), so a pull request merged into a branch
// never deployed costs a few rounds, not one per deployment. Questions no resolver
// can answer stay unknown, and those changes are attributed by time.
func resolveAncestry(ctx context.Context, st store.Store, rules *metrics.Rules, in *metrics.Input,
	resolvers map[string]collectors.AncestryResolver, log *slog.Logger) (int, error) {
	if len(resolvers) == 0 {
		return 0, nil
	}
	sourceOfRepo := map[string]string{}
	for _, pr := range in.PullRequests {
		sourceOfRepo[pr.Repo] = pr.Source
	}
	total, err := resolveRanges(ctx, st, rules, in, resolvers, sourceOfRepo, log)
	if err != nil {
		return total, err
	}
	asked := map[schema.CommitPair]bool{}
	for perWalk := 1; ; perWalk = min(2*perWalk, maxPerWalk) {
		bySource := map[string][]schema.CommitPair{}
		for _, p := range metrics.NeededPairs(*in, rules, perWalk, asked) {
			asked[p] = true
			if src := sourceOfRepo[p.Repo]; resolvers[src] != nil {
				bySource[src] = append(bySource[src], p)
			}
		}
		if len(bySource) == 0 {
			return total, nil
		}
		for src, pairs := range bySource {
			total += len(pairs)
			answers, err := resolvers[src].ResolveAncestry(ctx, st, pairs, in.Now)
			if err != nil {
				if ctx.Err() != nil {
					return total, ctx.Err()
				}
				// Unanswered pairs fall back to time attribution; the next refresh asks again.
				log.Warn("some ancestry questions went unanswered; those changes are attributed by time", "source", src, "err", err)
			}
			for p, contains := range answers {
				in.Ancestry[p] = contains
			}
		}
	}
}

// maxRangeFailures is how many comparisons in a row may fail (server errors,
// timeouts, refusals) before a source is asked no more ranges this refresh: its
// ranges are asked again next time, and its pull requests walk meanwhile.
const maxRangeFailures = 5

// resolveRanges compares each production deployment with the one before it in its
// repository, service and environment, where the repository's source can, before
// any pull request's own walk: one question per deployment attributes every pull
// request it shipped. A repository's answers are worked out and stored once its
// ranges are all in (a walk crosses its services), and also when the refresh is
// canceled; a range listed only in part still tells what it listed.
func resolveRanges(ctx context.Context, st store.Store, rules *metrics.Rules, in *metrics.Input,
	resolvers map[string]collectors.AncestryResolver, sourceOfRepo map[string]string, log *slog.Logger) (int, error) {
	canCompare := false
	for _, r := range resolvers {
		_, ok := r.(collectors.RangeResolver)
		canCompare = canCompare || ok
	}
	if !canCompare {
		return 0, nil
	}
	ranges := metrics.NewRanges(*in, rules)
	var (
		batch         []schema.CommitRange
		repo          string
		asked, stored int
		failures      = map[string]int{} // failed comparisons in a row, by source
		failedOf      = map[string]int{} // failed comparisons, by repository
		firstErr      = map[string]error{}
	)
	// flush works out and stores the answers of one repository's ranges.
	flush := func() {
		if len(batch) == 0 {
			return
		}
		answers := ranges.Answers(batch)
		batch = batch[:0]
		rows := make([]schema.Ancestry, 0, len(answers))
		now := in.Now.UTC()
		for p, contains := range answers {
			in.Ancestry[p] = contains
			rows = append(rows, schema.Ancestry{
				Source: sourceOfRepo[p.Repo], ID: schema.AncestryID(p.Repo, p.Base, p.Head), Repo: p.Repo, Base: p.Base, Head: p.Head,
				Contains: contains, CheckedAt: now.Truncate(time.Second), UpdatedAt: now,
			})
		}
		// The answers stand for this refresh even unwritten; the next asks again.
		if err := st.Write(context.WithoutCancel(ctx), &schema.Batch{Ancestries: rows}); err != nil {
			log.Warn("ancestry answers from comparing deployments were not stored; the next refresh compares again", "repo", repo, "answers", len(rows), "err", err)
			return
		}
		stored += len(rows)
	}
	for _, p := range ranges.Needed(nil) {
		src := sourceOfRepo[p.Repo]
		resolver, ok := resolvers[src].(collectors.RangeResolver)
		if !ok || failures[src] >= maxRangeFailures {
			continue
		}
		if p.Repo != repo {
			flush()
			repo = p.Repo
		}
		asked++
		answer, ok, err := resolver.CompareRange(ctx, p)
		if ok {
			batch = append(batch, answer)
		}
		if ctx.Err() != nil {
			flush()
			return asked, ctx.Err()
		}
		switch {
		case err != nil && ok:
			log.Warn("a deployment's range was listed in part; the pull requests it left out are walked one by one", "repo", p.Repo, "err", err)
		case err != nil:
			failedOf[p.Repo]++
			if firstErr[p.Repo] == nil {
				firstErr[p.Repo] = err
			}
			if failures[src]++; failures[src] == maxRangeFailures {
				log.Warn("comparisons keep failing; no more deployments of this source are compared this refresh", "source", src, "failed_in_a_row", maxRangeFailures)
			}
		default:
			failures[src] = 0
		}
	}
	flush()
	for _, r := range slices.Sorted(maps.Keys(failedOf)) {
		log.Warn("some deployments could not be compared with the ones they replaced; they are compared again next refresh, their pull requests walked meanwhile",
			"repo", r, "failed", failedOf[r], "first_err", firstErr[r])
	}
	if asked > 0 {
		log.Info("compared deployments with the ones they replaced", "ranges", asked, "answers", stored)
	}
	return asked, nil
}

// warnUnmatchedProjects warns of each project a flow status mapping is given for
// that no collected ticket belongs to: a misspelt key would otherwise leave its
// statuses to the defaults without a word. Before any ticket is collected there is
// nothing to say.
func warnUnmatchedProjects(cfg *config.Config, items []schema.WorkItem, log *slog.Logger) {
	if len(items) == 0 || len(cfg.Flow.Projects) == 0 {
		return
	}
	seen := map[string]bool{}
	for _, it := range items {
		seen[strings.ToLower(it.Project)] = true
	}
	for _, key := range slices.Sorted(maps.Keys(cfg.Flow.Projects)) {
		if !seen[strings.ToLower(key)] {
			log.Warn("flow.projects maps the statuses of a project no collected ticket belongs to", "project", key)
		}
	}
}

// maxPerWalk caps how many questions of one walk a round asks ahead.
const maxPerWalk = 64

// writeChanged writes the derived facts that differ from the stored ones (UpdatedAt
// aside), in batches.
func writeChanged[F any](ctx context.Context, st store.Store, stored iter.Seq2[F, error], derived []F, table *schema.Table[F],
	changed func(stored, derived any) bool, put func(*schema.Batch, []F)) (int, error) {
	return writeChangedRetiring(ctx, st, stored, derived, table, changed, put, nil)
}

// writeChangedRetiring is writeChanged for facts that can stop being derived (a
// ticket that loses its toil label): retire gives the retired copy of a stored
// fact that was not derived again, false when it is retired already. Stores
// replace rows rather than delete them, so the retired copy replaces the fact.
func writeChangedRetiring[F any](ctx context.Context, st store.Store, stored iter.Seq2[F, error], derived []F, table *schema.Table[F],
	changed func(stored, derived any) bool, put func(*schema.Batch, []F), retire func(F) (F, bool)) (int, error) {
	old := map[string]F{}
	for f, err := range stored {
		if err != nil {
			return 0, err
		}
		old[table.Key(&f)] = f
	}
	var batch []F
	written := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		b := &schema.Batch{}
		put(b, batch)
		if err := st.Write(ctx, b); err != nil {
			return fmt.Errorf("writing %s: %w", table.Name(), err)
		}
		written += len(batch)
		batch = batch[:0]
		return nil
	}
	for i := range derived {
		f := derived[i]
		prev, ok := old[table.Key(&f)]
		if ok {
			*table.Updated(&prev) = *table.Updated(&f)
		}
		if !ok || changed(prev, f) {
			batch = append(batch, f)
			if len(batch) >= writeBatch {
				if err := flush(); err != nil {
					return written, err
				}
			}
		}
		delete(old, table.Key(&f))
	}
	if retire != nil {
		// What is left of old was not derived again: in key order, so the same
		// refresh writes the same batches.
		for _, key := range slices.Sorted(maps.Keys(old)) {
			f, ok := retire(old[key])
			if !ok {
				continue
			}
			batch = append(batch, f)
			if len(batch) >= writeBatch {
				if err := flush(); err != nil {
					return written, err
				}
			}
		}
	}
	return written, flush()
}
