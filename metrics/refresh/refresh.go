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
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/metrics/partition"
	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// Options are what one refresh is given besides the store and the rules.
type Options struct {
	// Resolvers answer ancestry questions, by the name of the source instance whose
	// pull requests they concern.
	Resolvers map[string]collectors.AncestryResolver
	// Full derives every partition and writes every fact, changed or not. Without
	// it a refresh derives only the partitions that records updated since the last
	// refresh touch, unless the rules changed.
	Full bool
	// AllPartitions derives every partition, writing only the facts that changed:
	// what a refresh does when records may have arrived older than the mark.
	AllPartitions bool
	// BatchRecords is how many pull requests and deployments a refresh holds at
	// once, at most, unless one partition alone has more (DefaultBatchRecords when
	// zero).
	BatchRecords int
	// Written is what was written since the last refresh: derived even when its
	// records are older than the mark.
	Written Written
	// Now stamps the facts.
	Now    time.Time
	Logger *slog.Logger
}

// DefaultBatchRecords holds about 200 MiB of records and facts at once.
const DefaultBatchRecords = 200_000

// Summary says what a refresh found and wrote. The facts themselves are in the
// store: StoredFacts reads them back for callers that need them all.
type Summary struct {
	Changes, Deployments, Incidents                      int // facts derived
	ChangesWritten, DeploymentsWritten, IncidentsWritten int
	FlowItems, ToilEntries                               int
	FlowItemsWritten, ToilEntriesWritten                 int
	AncestryAsked                                        int // pairs sent to a resolver
	// Full says whether every partition was derived; Partitions and Derived are
	// how many there are and how many were derived, in Batches reads.
	Full                         bool
	Partitions, Derived, Batches int
	Took                         time.Duration
}

// Written is the number of facts written.
func (s Summary) Written() int {
	return s.ChangesWritten + s.DeploymentsWritten + s.IncidentsWritten + s.FlowItemsWritten + s.ToilEntriesWritten
}

// writeBatch is how many facts are written at once.
const writeBatch = 10_000

// Run refreshes the facts: DORA's first, a batch of partitions at a time, then flow
// (which needs the change facts for delivery), then toil (which needs the others
// for teams and active time).
func Run(ctx context.Context, st store.Store, cfg *config.Config, opts Options) (Summary, error) {
	started := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rules := metrics.NewRules(cfg)
	var sum Summary
	prev, err := loadMark(ctx, st)
	if err != nil {
		return sum, err
	}
	hash := rulesHash(cfg)
	sum.Full = opts.Full || opts.AllPartitions || prev == nil || prev.Rules != hash
	next := &mark{Read: map[string]readMark{}, Rules: hash}
	ix := partition.NewIndex(rules)
	var touched *touch
	if sum.Full {
		err = indexAll(ctx, st, ix, next)
	} else {
		maps.Copy(next.Read, prev.Read)
		if touched, err = indexSince(ctx, st, ix, prev, next); err == nil {
			err = addWritten(ctx, st, ix, touched, opts.Written)
		}
	}
	if err != nil {
		return sum, err
	}
	log.Debug("indexed", "full", sum.Full, "took", time.Since(started).Round(time.Millisecond))
	groups := ix.Groups()
	next.Groups = groups
	sum.Partitions = len(groups)
	if touched != nil {
		groups = touched.groups(ix, groups)
	}
	sum.Derived = len(groups)

	d := &deriver{st: st, rules: rules, toilRules: toil.NewRules(cfg), opts: opts, log: log, sum: &sum, all: sum.Full, next: next}
	if touched != nil {
		d.tickets, d.updated = touched.tickets, touched.pullRequests
	}
	if err := d.partitions(ctx, groups); err != nil {
		return sum, err
	}
	log.Debug("derived the partitions", "partitions", sum.Derived, "batches", sum.Batches, "took", time.Since(started).Round(time.Millisecond))
	if err := d.flowAndToil(ctx, cfg); err != nil {
		return sum, err
	}
	if err := saveMark(ctx, st, next, prev, log); err != nil {
		return sum, err
	}
	sum.Took = time.Since(started)
	log.Info("derived", "full", sum.Full, "partitions", sum.Partitions, "derived_partitions", sum.Derived, "batches", sum.Batches,
		"change_facts", sum.Changes, "deployment_facts", sum.Deployments, "incident_facts", sum.Incidents,
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
// timeouts, refusals) before a source is asked no more ranges in this batch of
// partitions (each batch tries again): its
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
	for _, p := range ranges.Needed() {
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
				log.Warn("comparisons keep failing; no more deployments of this source are compared in this batch of the refresh", "source", src, "failed_in_a_row", maxRangeFailures)
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
	old, err := byKey(stored, table)
	if err != nil {
		return 0, err
	}
	return writeAgainst(ctx, st, old, derived, table, changed, put, retire)
}

// byKey reads stored facts into a map by key.
func byKey[F any](stored iter.Seq2[F, error], table *schema.Table[F]) (map[string]F, error) {
	old := map[string]F{}
	for f, err := range stored {
		if err != nil {
			return nil, err
		}
		old[table.Key(&f)] = f
	}
	return old, nil
}

// writeAgainst writes the derived facts that differ from old, the stored ones by
// key, and retires what is left of old when retire is given. It empties old.
func writeAgainst[F any](ctx context.Context, st store.Store, old map[string]F, derived []F, table *schema.Table[F],
	changed func(stored, derived any) bool, put func(*schema.Batch, []F), retire func(F) (F, bool)) (int, error) {
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

// Stored are every fact in the store, as the exporter wants them: toil entries
// retired left out.
type Stored struct {
	DORA      metrics.Facts
	FlowItems []schema.FlowItemFact
	Toil      []schema.ToilFact
}

// StoredFacts reads every fact back, for callers that use them all after a refresh
// (the exporter): a refresh holds only a batch of partitions at a time, so it
// hands none back.
func StoredFacts(ctx context.Context, st store.Store) (Stored, error) {
	var s Stored
	var err error
	if s.DORA.Changes, err = store.All(st.ChangeFacts(ctx, store.Filter{})); err != nil {
		return s, err
	}
	if s.DORA.Deployments, err = store.All(st.DeploymentFacts(ctx, store.Filter{})); err != nil {
		return s, err
	}
	if s.DORA.Incidents, err = store.All(st.IncidentFacts(ctx, store.Filter{})); err != nil {
		return s, err
	}
	if s.FlowItems, err = store.All(st.FlowItemFacts(ctx, store.Filter{})); err != nil {
		return s, err
	}
	for f, err := range st.ToilFacts(ctx, store.Filter{}) {
		if err != nil {
			return s, err
		}
		if !f.Retired {
			s.Toil = append(s.Toil, f)
		}
	}
	return s, nil
}
