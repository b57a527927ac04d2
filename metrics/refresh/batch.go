package refresh

import (
	"context"
	"iter"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/metrics/partition"
	"github.com/flowmeter/flowmeter/metrics/toil"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// deriver derives partitions a batch at a time, keeping between batches only the
// toil entries of their incidents and deployments, which are few.
type deriver struct {
	st        store.Store
	rules     *metrics.Rules
	toilRules *toil.Rules
	opts      Options
	log       *slog.Logger
	sum       *Summary
	// all says every partition is derived, so every stored toil fact is in scope.
	all bool
	// toil are the toil entries of the derived incidents and deployments; derived
	// are those records, by source and id, when not all are derived.
	toil    []schema.ToilFact
	derived map[[2]string]bool
	// teams and unstored say where the derived records' stored toil entries are
	// found (noteToilScope).
	teams, unstored set
	// tickets are, upper-cased, the tickets to derive when not all are: those
	// updated since the last refresh and those the derived pull requests name.
	tickets map[string]bool
	// updated are the pull requests updated since the last refresh.
	updated map[[2]string]bool
	next    *mark
}

func (d *deriver) changed(stored, derived any) bool {
	return d.opts.Full || !reflect.DeepEqual(stored, derived)
}

// partitions derives the groups in batches of about opts.BatchRecords records.
func (d *deriver) partitions(ctx context.Context, groups []partition.Group) error {
	budget := d.opts.BatchRecords
	if budget <= 0 {
		budget = DefaultBatchRecords
	}
	if !d.all {
		d.derived, d.teams, d.unstored = map[[2]string]bool{}, set{}, set{}
		if d.tickets == nil {
			d.tickets = map[string]bool{}
		}
	}
	for start := 0; start < len(groups); {
		f := store.Filter{}
		n, end := 0, start
		for ; end < len(groups) && (end == start || n+groups[end].Records <= budget); end++ {
			n += groups[end].Records
			f.Repos = append(f.Repos, groups[end].Repos...)
			f.Services = append(f.Services, groups[end].Services...)
		}
		if len(f.Repos)+len(f.Services) > 0 {
			if err := d.batch(ctx, f); err != nil {
				return err
			}
		}
		start = end
	}
	return nil
}

// batch derives the records of some partitions and writes the facts that changed.
func (d *deriver) batch(ctx context.Context, f store.Filter) error {
	st := d.st
	d.sum.Batches++
	in := metrics.Input{Now: d.opts.Now, Ancestry: map[schema.CommitPair]bool{}}
	var ancestries []schema.Ancestry
	var storedChanges map[string]schema.ChangeFact
	var storedDeployments map[string]schema.DeploymentFact
	var storedIncidents map[string]schema.IncidentFact
	// The reads are independent: run together, they overlap the store's work
	// with the decoding of rows.
	err := concurrently(
		func() (err error) { in.PullRequests, err = store.All(st.PullRequests(ctx, f)); return err },
		func() (err error) { in.Deployments, err = store.All(st.Deployments(ctx, f)); return err },
		func() (err error) { in.Incidents, err = store.All(st.Incidents(ctx, f)); return err },
		func() (err error) { ancestries, err = store.All(st.Ancestries(ctx, f)); return err },
		func() (err error) { storedChanges, err = byKey(st.ChangeFacts(ctx, f), schema.ChangeFacts); return err },
		func() (err error) {
			storedDeployments, err = byKey(st.DeploymentFacts(ctx, f), schema.DeploymentFacts)
			return err
		},
		func() (err error) {
			storedIncidents, err = byKey(st.IncidentFacts(ctx, f), schema.IncidentFacts)
			return err
		},
	)
	if err != nil {
		return err
	}
	for _, a := range ancestries {
		in.Ancestry[schema.CommitPair{Repo: a.Repo, Base: a.Base, Head: a.Head}] = a.Contains
	}
	ancestries = nil
	asked, err := resolveAncestry(ctx, st, d.rules, &in, d.opts.Resolvers, d.log)
	d.sum.AncestryAsked += asked
	if err != nil {
		return err
	}

	facts := metrics.Derive(in, d.rules)
	d.sum.Changes += len(facts.Changes)
	d.sum.Deployments += len(facts.Deployments)
	d.sum.Incidents += len(facts.Incidents)
	// Toil entries of incidents and deployments each come from the record and its
	// fact alone, so they are derived here, with the partition's.
	entries := toil.Derive(toil.Input{
		Incidents: in.Incidents, IncidentFacts: facts.Incidents,
		Deployments: in.Deployments, DeploymentFacts: facts.Deployments, Now: d.opts.Now,
	}, d.toilRules)
	d.toil = append(d.toil, entries...)
	if d.derived != nil {
		// Before the writes below empty the stored facts.
		d.noteToilScope(&in, entries, storedDeployments, storedIncidents)
	}
	rewritten := map[[2]string]bool{}
	n, err := writeAgainst(ctx, st, storedChanges, facts.Changes, schema.ChangeFacts, d.changed,
		func(b *schema.Batch, f []schema.ChangeFact) {
			b.ChangeFacts = f
			for _, c := range f {
				rewritten[[2]string{c.Source, c.ID}] = true
			}
		}, nil)
	d.sum.ChangesWritten += n
	if err != nil {
		return err
	}
	n, err = writeAgainst(ctx, st, storedDeployments, facts.Deployments, schema.DeploymentFacts, d.changed,
		func(b *schema.Batch, f []schema.DeploymentFact) { b.DeploymentFacts = f }, nil)
	d.sum.DeploymentsWritten += n
	if err != nil {
		return err
	}
	n, err = writeAgainst(ctx, st, storedIncidents, facts.Incidents, schema.IncidentFacts, d.changed,
		func(b *schema.Batch, f []schema.IncidentFact) { b.IncidentFacts = f }, nil)
	d.sum.IncidentsWritten += n
	if err != nil {
		return err
	}

	if d.derived != nil {
		// Delivery reads a pull request's tickets and its change fact: the tickets of
		// those updated or rewritten are derived again.
		for _, pr := range in.PullRequests {
			if key := [2]string{pr.Source, pr.ID}; d.updated[key] || rewritten[key] {
				for _, ref := range pr.TicketRefs {
					d.tickets[strings.ToUpper(ref)] = true
				}
			}
		}
	}
	return nil
}

// noteToilScope notes the batch's incidents and deployments as derived, and where
// their stored toil entries are found: under the teams of their stored facts and
// of their derived entries, or, for a record whose fact was not stored with this
// partition (new, or moved from another), by the record.
func (d *deriver) noteToilScope(in *metrics.Input, entries []schema.ToilFact, storedDeployments map[string]schema.DeploymentFact,
	storedIncidents map[string]schema.IncidentFact) {
	for _, f := range storedDeployments {
		d.teams[f.Team] = true
	}
	for _, f := range storedIncidents {
		d.teams[f.Team] = true
	}
	for _, f := range entries {
		d.teams[f.Team] = true
	}
	for i := range in.Deployments {
		dep := &in.Deployments[i]
		d.derived[[2]string{dep.Source, dep.ID}] = true
		if _, ok := storedDeployments[schema.Deployments.Key(dep)]; !ok {
			d.unstored[dep.ID] = true
		}
	}
	for i := range in.Incidents {
		inc := &in.Incidents[i]
		d.derived[[2]string{inc.Source, inc.ID}] = true
		if _, ok := storedIncidents[schema.Incidents.Key(inc)]; !ok {
			d.unstored[inc.ID] = true
		}
	}
}

// flowAndToil derives the flow facts of tickets, and their toil entries, then
// writes them with the toil entries of the derived partitions. A full refresh
// derives every ticket; an incremental one the tickets updated since the last
// refresh and those the derived pull requests name. Flow reads, of the pull
// requests and change facts, only what delivery needs: those naming one of the
// tickets, with their ids, states and shipping.
func (d *deriver) flowAndToil(ctx context.Context, cfg *config.Config) error {
	st := d.st
	tickets := store.Filter{}
	if !d.all {
		if len(d.tickets) == 0 {
			return d.writeToil(ctx, nil)
		}
		tickets.Tickets = slices.Sorted(maps.Keys(d.tickets))
	}
	fin := flow.Input{Now: d.opts.Now}
	known := map[string]bool{}
	for it, err := range st.WorkItems(ctx, tickets) {
		if err != nil {
			return err
		}
		fin.Items = append(fin.Items, it)
		known[strings.ToUpper(it.ID)] = true
		d.next.saw(schema.KindWorkItem, it.Source, it.ID, it.UpdatedAt)
	}
	for c, err := range st.StatusChanges(ctx, tickets) {
		if err != nil {
			return err
		}
		fin.Changes = append(fin.Changes, c)
		d.next.saw(schema.KindStatusChange, c.Source, c.ID, c.UpdatedAt)
	}
	linked := map[[2]string]bool{}
	var linkedIDs []string
	prs := st.PullRequests(ctx, tickets)
	if len(known) == 0 {
		prs = func(func(schema.PullRequest, error) bool) {} // no ticket for a pull request to name
	}
	for pr, err := range prs {
		if err != nil {
			return err
		}
		if slices.ContainsFunc(pr.TicketRefs, func(ref string) bool { return known[strings.ToUpper(ref)] }) {
			fin.PullRequests = append(fin.PullRequests, schema.PullRequest{Source: pr.Source, ID: pr.ID, TicketRefs: pr.TicketRefs})
			linked[[2]string{pr.Source, pr.ID}] = true
			linkedIDs = append(linkedIDs, pr.ID)
		}
	}
	changeFacts := store.Filter{}
	if !d.all {
		changeFacts.IDs = linkedIDs
	}
	if len(linked) > 0 {
		for c, err := range st.ChangeFacts(ctx, changeFacts) {
			if err != nil {
				return err
			}
			if linked[[2]string{c.Source, c.ID}] {
				fin.ChangeFacts = append(fin.ChangeFacts, schema.ChangeFact{Source: c.Source, ID: c.ID, State: c.State,
					MergedAt: c.MergedAt, ShippedAt: c.ShippedAt, ShippedBy: c.ShippedBy})
			}
		}
	}
	flowFacts := flow.Derive(fin, flow.NewRules(cfg))
	fin.PullRequests, fin.ChangeFacts, linked = nil, nil, nil
	d.sum.FlowItems = len(flowFacts)
	if d.all {
		warnUnmatchedProjects(cfg, fin.Items, d.log)
	}
	var err error
	if d.sum.FlowItemsWritten, err = writeChanged(ctx, st, st.FlowItemFacts(ctx, tickets), flowFacts, schema.FlowItemFacts, d.changed,
		func(b *schema.Batch, f []schema.FlowItemFact) { b.FlowItemFacts = f }); err != nil {
		return err
	}

	tin := toil.Input{Items: fin.Items, FlowFacts: flowFacts, Now: d.opts.Now}
	for w, err := range st.Worklogs(ctx, tickets) {
		if err != nil {
			return err
		}
		tin.Worklogs = append(tin.Worklogs, w)
		d.next.saw(schema.KindWorklog, w.Source, w.ID, w.UpdatedAt)
	}
	return d.writeToil(ctx, toil.Derive(tin, d.toilRules))
}

// writeToil writes the toil entries of tickets and of the derived partitions,
// retiring the stored ones not derived again. Stored entries of partitions and
// tickets not derived stay as they are.
func (d *deriver) writeToil(ctx context.Context, ofTickets []schema.ToilFact) error {
	toilFacts := append(d.toil, ofTickets...)
	d.sum.ToilEntries = len(toilFacts)
	retire := func(f schema.ToilFact) (schema.ToilFact, bool) {
		if f.Retired {
			return f, false
		}
		f.Retired, f.UpdatedAt = true, d.opts.Now
		return f, true
	}
	stored := d.st.ToilFacts(ctx, store.Filter{})
	if !d.all {
		stored = inScope(d.storedToilOfScope(ctx), func(f schema.ToilFact) bool {
			if f.Kind == schema.ToilFromTicket {
				return d.tickets[strings.ToUpper(f.Record)]
			}
			return d.derived[[2]string{f.Source, f.Record}]
		})
	}
	var err error
	d.sum.ToilEntriesWritten, err = writeChangedRetiring(ctx, d.st, stored, toilFacts, schema.ToilFacts, d.changed,
		func(b *schema.Batch, f []schema.ToilFact) { b.ToilFacts = f }, retire)
	return err
}

// storedToilOfScope reads, when not all is derived, the stored toil entries that
// may be in scope and some others: those of the derived records' teams, and those
// of the derived tickets and unstored records, by record. Reading only these, not
// every entry, takes a refresh of a few partitions of a large organisation half a
// second sooner.
func (d *deriver) storedToilOfScope(ctx context.Context) iter.Seq2[schema.ToilFact, error] {
	var reads []iter.Seq2[schema.ToilFact, error]
	if len(d.teams) > 0 {
		reads = append(reads, d.st.ToilFacts(ctx, store.Filter{Teams: d.teams.sorted()}))
	}
	if records := slices.Concat(set(d.tickets).sorted(), d.unstored.sorted()); len(records) > 0 {
		reads = append(reads, d.st.ToilFacts(ctx, store.Filter{Tickets: records}))
	}
	return func(yield func(schema.ToilFact, error) bool) {
		for _, read := range reads {
			for f, err := range read {
				if !yield(f, err) || err != nil {
					return
				}
			}
		}
	}
}

// inScope keeps the facts keep says are in scope.
func inScope[F any](seq func(func(F, error) bool), keep func(F) bool) func(func(F, error) bool) {
	return func(yield func(F, error) bool) {
		for f, err := range seq {
			if err != nil || keep(f) {
				if !yield(f, err) {
					return
				}
			}
		}
	}
}

// concurrently runs the functions at once and returns the first error.
func concurrently(fns ...func() error) error {
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		go func() { errs <- fn() }()
	}
	var first error
	for range fns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
