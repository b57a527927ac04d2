package flow

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// Input is everything flow derivation reads: the tickets with their status
// changes, the pull requests that name them and the change facts of those pull
// requests (for when their value reached users).
type Input struct {
	Items        []schema.WorkItem
	Changes      []schema.StatusChange
	PullRequests []schema.PullRequest
	ChangeFacts  []schema.ChangeFact
	// Now stamps the facts (their UpdatedAt); nothing else depends on it.
	Now time.Time
}

// recordKey identifies a record across sources.
type recordKey struct{ source, id string }

// segment is one stretch of an item's status history: from start to the next
// segment's start; the last runs on.
type segment struct {
	status, category string
	start            time.Time
	state            string
	w                int64 // the clock's reading at start, once read
}

// deriver holds what every item's derivation shares, with buffers reused from one
// item to the next so memory stays flat per item.
type deriver struct {
	rules    *Rules
	now      time.Time
	prsByRef map[string][]int32
	facts    map[recordKey]*schema.ChangeFact
	in       *Input

	segs     []segment
	changes  []*schema.StatusChange
	statuses []statusTime
}

type statusTime struct {
	status  string
	seconds int64
}

// Derive turns tickets into flow facts, one per work item in input order, each
// stamped with in.Now. The same input and rules always give the same facts.
func Derive(in Input, rules *Rules) []schema.FlowItemFact {
	d := &deriver{rules: rules, now: in.Now.UTC(), in: &in}

	// Group the status changes by item without a slice per item: count, then fill
	// one index array in item order.
	index := make(map[recordKey]int32, len(in.Items))
	for i := range in.Items {
		k := recordKey{in.Items[i].Source, in.Items[i].ID}
		if _, dup := index[k]; !dup {
			index[k] = int32(i)
		}
	}
	owner := make([]int32, len(in.Changes))
	offsets := make([]int32, len(in.Items)+1)
	for i := range in.Changes {
		c := &in.Changes[i]
		j, ok := index[recordKey{c.Source, c.ItemID}]
		if !ok {
			owner[i] = -1
			continue
		}
		owner[i] = j
		offsets[j+1]++
	}
	for i := 1; i < len(offsets); i++ {
		offsets[i] += offsets[i-1]
	}
	byItem := make([]int32, offsets[len(offsets)-1])
	fill := slices.Clone(offsets[:len(in.Items)])
	for i, j := range owner {
		if j >= 0 {
			byItem[fill[j]] = int32(i)
			fill[j]++
		}
	}
	owner, fill, index = nil, nil, nil

	d.prsByRef = map[string][]int32{}
	for i := range in.PullRequests {
		for _, ref := range in.PullRequests[i].TicketRefs {
			k := strings.ToUpper(ref)
			if list := d.prsByRef[k]; !slices.Contains(list, int32(i)) {
				d.prsByRef[k] = append(list, int32(i))
			}
		}
	}
	d.facts = make(map[recordKey]*schema.ChangeFact, len(in.ChangeFacts))
	for i := range in.ChangeFacts {
		f := &in.ChangeFacts[i]
		d.facts[recordKey{f.Source, f.ID}] = f
	}

	out := make([]schema.FlowItemFact, len(in.Items))
	for i := range in.Items {
		d.changes = d.changes[:0]
		for _, c := range byItem[offsets[i]:offsets[i+1]] {
			d.changes = append(d.changes, &in.Changes[c])
		}
		d.item(&in.Items[i], &out[i])
	}
	return out
}

// item derives one item's fact into f.
func (d *deriver) item(it *schema.WorkItem, f *schema.FlowItemFact) {
	rules := d.rules
	team := rules.team(it.Project)
	clk := rules.clockOf(team)
	*f = schema.FlowItemFact{
		Source: it.Source, ID: it.ID, Team: team, Project: it.Project, IssueType: it.IssueType,
		FlowType: rules.flowType(it.IssueType, it.Labels), Title: it.Title, Status: it.Status,
		CreatedAt:   it.CreatedAt,
		FlowSeconds: schema.Unknown, ActiveSeconds: schema.Unknown, WaitSeconds: schema.Unknown,
		DeliverySeconds: schema.Unknown, UpdatedAt: d.now,
	}
	if clk.cal != nil {
		f.Calendar = clk.cal.name
	}

	// The status history: the first change's From from creation on, then each
	// change's To, in order of time then id; a change dated before the previous
	// one (clock skew) counts as made at the previous one's time.
	slices.SortFunc(d.changes, func(a, b *schema.StatusChange) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	segs := d.segs[:0]
	if len(d.changes) == 0 {
		segs = append(segs, segment{status: it.Status, category: it.StatusCategory, start: it.CreatedAt})
	} else {
		first := d.changes[0]
		segs = append(segs, segment{status: first.From, category: first.FromCategory, start: it.CreatedAt})
		for _, c := range d.changes {
			start := c.At
			if prev := segs[len(segs)-1].start; start.Before(prev) {
				start = prev
			}
			segs = append(segs, segment{status: c.To, category: c.ToCategory, start: start})
		}
		// When the last change does not lead to the current status, a change was
		// missed: the item moved to its current status after the last change seen,
		// when it was resolved (for a resolved item) or last updated, so the
		// stretches before keep their time and the item its commitment point.
		if lastSeg := segs[len(segs)-1]; it.Status != "" && !strings.EqualFold(lastSeg.status, it.Status) {
			start := it.UpdatedAt
			if !it.ResolvedAt.IsZero() {
				start = it.ResolvedAt
			}
			if start.Before(lastSeg.start) {
				start = lastSeg.start
			}
			segs = append(segs, segment{status: it.Status, category: it.StatusCategory, start: start})
		}
	}
	d.segs = segs
	last := len(segs) - 1

	var unmapped []string
	for i := range segs {
		st, unm := rules.state(it.Project, segs[i].status, segs[i].category)
		segs[i].state = st
		if unm && !slices.ContainsFunc(unmapped, func(s string) bool { return strings.EqualFold(s, segs[i].status) }) {
			unmapped = append(unmapped, segs[i].status)
		}
	}
	if segs[last].state == schema.FlowDone && cancelingResolution(it.Resolution) {
		segs[last].state = schema.FlowCanceled
	}
	if len(unmapped) > 0 {
		slices.Sort(unmapped)
		f.Unmapped = unmapped
	}
	f.State = segs[last].state

	commit := -1
	for i := range segs {
		if segs[i].state == schema.FlowWait || segs[i].state == schema.FlowActive {
			commit = i
			break
		}
	}
	for i := 1; i < len(segs); i++ {
		if segs[i-1].state == schema.FlowDone && segs[i].state != schema.FlowDone {
			f.Reopens++
		}
	}
	// The entry into the final run of the current state, for done and canceled.
	entry := last
	for entry > 0 && segs[entry-1].state == segs[last].state {
		entry--
	}
	done, canceled := f.State == schema.FlowDone, f.State == schema.FlowCanceled
	if done {
		f.DoneAt = segs[entry].start
	}
	if canceled {
		f.CanceledAt = segs[entry].start
	}

	if commit >= 0 {
		f.CommittedAt = segs[commit].start
		for i := commit; i <= last; i++ {
			segs[i].w = clk.at(segs[i].start)
		}
		// The stretches counted: to DoneAt when finished, to CanceledAt when
		// canceled, else up to the last change, leaving out the stretch still
		// running, so that a fact changes only when its records do (its age says
		// how long it has been open).
		n := last
		if done || canceled {
			n = entry
		}
		statuses := d.statuses[:0]
		var active int64
		for i := commit; i < n; i++ {
			secs := max(0, segs[i+1].w-segs[i].w)
			if segs[i].state == schema.FlowActive {
				active += secs
			}
			j := slices.IndexFunc(statuses, func(s statusTime) bool { return strings.EqualFold(s.status, segs[i].status) })
			if j < 0 {
				statuses = append(statuses, statusTime{status: segs[i].status})
				j = len(statuses) - 1
			}
			statuses[j].seconds += secs
		}
		d.statuses = statuses
		if len(statuses) > 0 {
			f.TimePerStatus = make([]string, len(statuses))
			for j, s := range statuses {
				f.TimePerStatus[j] = schema.FormatStatusTime(s.status, s.seconds)
			}
		}
		if done {
			f.FlowSeconds = max(0, segs[entry].w-segs[commit].w)
			f.ActiveSeconds = active
			f.WaitSeconds = f.FlowSeconds - active
		}
	}

	d.deliver(it, f, clk)
}

// deliver links the item to the pull requests naming its key and, for a done
// item, settles when its value reached users.
func (d *deriver) deliver(it *schema.WorkItem, f *schema.FlowItemFact, clk clock) {
	prs := d.prsByRef[strings.ToUpper(it.ID)]
	for _, p := range prs {
		id := d.in.PullRequests[p].ID
		if !slices.Contains(f.PullRequests, id) {
			f.PullRequests = append(f.PullRequests, id)
		}
	}
	slices.Sort(f.PullRequests)
	if f.State != schema.FlowDone {
		return
	}
	merged, undeployed := false, false
	var latest *schema.ChangeFact
	for _, p := range prs {
		pr := &d.in.PullRequests[p]
		c := d.facts[recordKey{pr.Source, pr.ID}]
		if c == nil || c.MergedAt.IsZero() || c.State == schema.ChangeExcluded {
			continue
		}
		merged = true
		switch c.State {
		case schema.ChangeUndeployed:
			undeployed = true
		case schema.ChangeShipped:
			if latest == nil || c.ShippedAt.After(latest.ShippedAt) ||
				c.ShippedAt.Equal(latest.ShippedAt) && c.ShippedBy < latest.ShippedBy {
				latest = c
			}
		}
	}
	switch {
	case undeployed:
		return // merged, not shipped yet: done but not delivered
	case merged && latest != nil:
		f.DeliveredAt, f.DeliveredBy = latest.ShippedAt, latest.ShippedBy
	default:
		f.DeliveredAt = f.DoneAt
	}
	if !f.CommittedAt.IsZero() {
		f.DeliverySeconds = clk.between(f.CommittedAt, f.DeliveredAt)
	}
}
