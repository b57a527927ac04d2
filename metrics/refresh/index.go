package refresh

import (
	"context"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/flowmeter/flowmeter/metrics/partition"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// indexAll builds the partition index from every record, streaming them: incidents
// first, so that the deployments and pull requests they name are found as they
// pass, and titles are matched against every incident id.
func indexAll(ctx context.Context, st store.Store, ix *partition.Index, next *mark) error {
	for inc, err := range st.Incidents(ctx, store.Filter{}) {
		if err != nil {
			return err
		}
		ix.AddIncident(&inc)
		next.saw(schema.KindIncident, inc.Source, inc.ID, inc.UpdatedAt)
	}
	ix.TakePending() // every deployment and pull request follows
	for d, err := range st.Deployments(ctx, store.Filter{}) {
		if err != nil {
			return err
		}
		ix.AddDeployment(&d)
		next.saw(schema.KindDeployment, d.Source, d.ID, d.UpdatedAt)
	}
	for pr, err := range st.PullRequests(ctx, store.Filter{}) {
		if err != nil {
			return err
		}
		ix.AddPullRequest(&pr)
		next.saw(schema.KindPullRequest, pr.Source, pr.ID, pr.UpdatedAt)
	}
	for a, err := range st.Ancestries(ctx, store.Filter{}) {
		if err != nil {
			return err
		}
		next.saw(schema.KindAncestry, a.Source, a.ID, a.UpdatedAt)
	}
	return lookUp(ctx, st, ix)
}

// touch is what the records updated since the last refresh belong to.
type touch struct {
	repos, services map[string]bool
	// tickets are upper-cased, as flow matches them.
	tickets map[string]bool
	// pullRequests are the pull requests updated, by source and id.
	pullRequests map[[2]string]bool
}

// groups keeps the partitions touched.
func (t *touch) groups(ix *partition.Index, all []partition.Group) []partition.Group {
	l := ix.Lookup(all)
	keep := map[int]bool{}
	for r := range t.repos {
		keep[l.Repo(r)] = true
	}
	for s := range t.services {
		keep[l.Service(s)] = true
	}
	var out []partition.Group
	for i, g := range all {
		if keep[i] {
			out = append(out, g)
		}
	}
	return out
}

// indexSince builds the index from the last refresh's partitions and the records
// updated since, and says which partitions those touch. Every incident is read
// (they are few), so that a new pull request's title is matched against all their
// ids; what a new record names is looked up in the store.
func indexSince(ctx context.Context, st store.Store, ix *partition.Index, prev, next *mark) (*touch, error) {
	ix.Join(prev.Groups)
	t := &touch{repos: map[string]bool{}, services: map[string]bool{}, tickets: map[string]bool{}, pullRequests: map[[2]string]bool{}}
	since := prev.since(schema.KindIncident)
	var fresh []schema.Incident
	for inc, err := range st.Incidents(ctx, store.Filter{}) {
		if err != nil {
			return nil, err
		}
		if !since.IsZero() && inc.UpdatedAt.Before(since) || prev.seen(schema.KindIncident, inc.Source, inc.ID, inc.UpdatedAt) {
			ix.AddIncident(&inc)
		} else {
			fresh = append(fresh, inc)
		}
	}
	ix.TakePending() // what older incidents name, earlier refreshes looked up
	for i := range fresh {
		inc := &fresh[i]
		ix.AddIncident(inc)
		t.services[inc.Service] = true
		next.saw(schema.KindIncident, inc.Source, inc.ID, inc.UpdatedAt)
	}
	err := unseen(ctx, st.Deployments, schema.Deployments, prev, func(d *schema.Deployment) {
		ix.AddDeployment(d)
		t.repos[d.Repo], t.services[d.Service] = true, true
		next.saw(schema.KindDeployment, d.Source, d.ID, d.UpdatedAt)
	})
	if err == nil {
		err = unseen(ctx, st.PullRequests, schema.PullRequests, prev, func(pr *schema.PullRequest) {
			ix.AddPullRequest(pr)
			t.repos[pr.Repo] = true
			t.pullRequests[[2]string{pr.Source, pr.ID}] = true
			next.saw(schema.KindPullRequest, pr.Source, pr.ID, pr.UpdatedAt)
		})
	}
	if err == nil {
		err = unseen(ctx, st.Ancestries, schema.Ancestries, prev, func(a *schema.Ancestry) {
			ix.AddAncestry(a)
			t.repos[a.Repo] = true
			next.saw(schema.KindAncestry, a.Source, a.ID, a.UpdatedAt)
		})
	}
	// Tickets are read again by flow, which notes them in the mark.
	if err == nil {
		err = unseen(ctx, st.WorkItems, schema.WorkItems, prev, func(it *schema.WorkItem) { t.tickets[strings.ToUpper(it.ID)] = true })
	}
	if err == nil {
		err = unseen(ctx, st.StatusChanges, schema.StatusChanges, prev, func(c *schema.StatusChange) { t.tickets[strings.ToUpper(c.ItemID)] = true })
	}
	if err == nil {
		err = unseen(ctx, st.Worklogs, schema.Worklogs, prev, func(w *schema.Worklog) { t.tickets[strings.ToUpper(w.ItemID)] = true })
	}
	if err != nil {
		return nil, err
	}
	return t, lookUp(ctx, st, ix)
}

// unseen hands use each record of a table updated since the last refresh that the
// last refresh did not read as it is.
func unseen[R any](ctx context.Context, read func(context.Context, store.Filter) iter.Seq2[R, error], t *schema.Table[R],
	prev *mark, use func(*R)) error {
	for r, err := range read(ctx, store.Filter{UpdatedSince: prev.since(t.Kind)}) {
		if err != nil {
			return err
		}
		if source, id := t.Identity(&r); !prev.seen(t.Kind, source, id, *t.Updated(&r)) {
			use(&r)
		}
	}
	return nil
}

// Written is what was written to the store since the last refresh, by what it
// belongs to, whatever its records' UpdatedAt: a record older than the mark (a
// repository's first backfill, a pull request GitHub lists late, an event
// delivered late) is not among those a refresh reads since the mark, and would
// otherwise wait for a refresh of every partition. It is kept as sets, so that
// noting each batch of a long collection costs that batch alone.
type Written struct {
	repos, services, tickets set
}

type set map[string]bool

func (s *set) add(v string) {
	if v == "" {
		return
	}
	if *s == nil {
		*s = set{}
	}
	(*s)[v] = true
}

// sorted lists the set, in order so that a store's query is the same for the same set.
func (s set) sorted() []string { return slices.Sorted(maps.Keys(s)) }

// Add notes what a batch writes.
func (w *Written) Add(b *schema.Batch) {
	for _, pr := range b.PullRequests {
		w.repos.add(pr.Repo)
	}
	for _, d := range b.Deployments {
		w.repos.add(d.Repo)
		w.services.add(d.Service)
	}
	for _, inc := range b.Incidents {
		w.services.add(inc.Service)
	}
	for _, a := range b.Ancestries {
		w.repos.add(a.Repo)
	}
	for _, it := range b.WorkItems {
		w.tickets.add(it.ID)
	}
	for _, c := range b.StatusChanges {
		w.tickets.add(c.ItemID)
	}
	for _, l := range b.Worklogs {
		w.tickets.add(l.ItemID)
	}
}

// Merge adds what another Written holds.
func (w *Written) Merge(o Written) {
	for v := range o.repos {
		w.repos.add(v)
	}
	for v := range o.services {
		w.services.add(v)
	}
	for v := range o.tickets {
		w.tickets.add(v)
	}
}

// Empty says whether nothing was written.
func (w Written) Empty() bool { return len(w.repos)+len(w.services)+len(w.tickets) == 0 }

// addWritten indexes the records of what was written and counts it touched.
// Incidents are all indexed already.
func addWritten(ctx context.Context, st store.Store, ix *partition.Index, t *touch, w Written) error {
	for s := range w.services {
		t.services[s] = true
	}
	if len(w.repos)+len(w.services) > 0 {
		f := store.Filter{Repos: w.repos.sorted(), Services: w.services.sorted()}
		for d, err := range st.Deployments(ctx, f) {
			if err != nil {
				return err
			}
			ix.AddDeployment(&d)
			t.repos[d.Repo], t.services[d.Service] = true, true
		}
		for pr, err := range st.PullRequests(ctx, f) {
			if err != nil {
				return err
			}
			ix.AddPullRequest(&pr)
			t.repos[pr.Repo] = true
			t.pullRequests[[2]string{pr.Source, pr.ID}] = true
		}
	}
	for r := range w.repos {
		t.repos[r] = true
	}
	for tk := range w.tickets {
		t.tickets[strings.ToUpper(tk)] = true
	}
	return lookUp(ctx, st, ix)
}

// lookUp adds the records that indexed records name, until nothing named is left.
func lookUp(ctx context.Context, st store.Store, ix *partition.Index) error {
	for names := ix.TakePending(); !names.Empty(); names = ix.TakePending() {
		f := store.Filter{IDs: names.IDs, Commits: names.Commits, TitleWords: names.TitleWords}
		for d, err := range st.Deployments(ctx, f) {
			if err != nil {
				return err
			}
			ix.AddDeployment(&d)
		}
		for pr, err := range st.PullRequests(ctx, f) {
			if err != nil {
				return err
			}
			ix.AddPullRequest(&pr)
		}
	}
	return nil
}
