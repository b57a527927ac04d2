// Package explain answers "where does this fact come from?": it finds one fact in
// the store by the name reports give it ("source:id"), and gathers every field of
// it, the raw records it was derived from, the records it refers to (the deployment
// that shipped a change, the incidents and deployments that failed and recovered a
// deployment, the other deployments of its rollout, the pull requests and the
// deployment that delivered a flow item) and the ancestry answer behind a ship
// attribution. It only reads the store.
package explain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/reports/render"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// ErrUnknown is wrapped by Find when no fact has the name asked for.
var ErrUnknown = errors.New("no such fact")

// AmbiguousError is Find's error when several facts have the name asked for.
type AmbiguousError struct {
	Name string
	// Candidates are the facts, each as "kind source:id".
	Candidates []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%q names %d facts (%s): give source:id, and --kind if they differ only by kind",
		e.Name, len(e.Candidates), strings.Join(e.Candidates, ", "))
}

// Field is one column of a fact or record, formatted: times RFC 3339, lists joined
// with ", ", durations in seconds with their reading ("86400 (1.0 d)"), "" when
// empty or unknown.
type Field struct {
	Name, Value string
}

// Record is a raw record or another fact the explained fact came from or refers to.
type Record struct {
	// Role is how the fact refers to it: "record" for the record it was derived
	// from, else the fact's fields naming it (shipped_by, caused_incidents, ...),
	// joined with ", " when several do.
	Role string
	Kind schema.Kind
	// Ref is its "source:id", or the id the fact gives when it is not in the store.
	Ref string
	// Fields are its columns; nil when the store does not hold it.
	Fields []Field
	// team is the team of the fact that led to it, which NameTeams names in place
	// of the people in its fields.
	team string
}

// Explanation is one fact with everything it came from.
type Explanation struct {
	Kind   schema.Kind
	Ref    string
	Fields []Field
	// Records are the records it came from and refers to, each once, in the order
	// of its fields.
	Records []Record
	// Shipped lists, for a deployment, the changes that it shipped.
	Shipped []string
	// team is the fact's team; teamsOnly says NameTeams has named teams in place
	// of people.
	team      string
	teamsOnly bool
}

// Kinds are the kinds Find accepts, by the names reports use.
var Kinds = map[string]schema.Kind{
	string(aggregate.ChangeKind):     schema.KindChangeFact,
	string(aggregate.DeploymentKind): schema.KindDeploymentFact,
	string(aggregate.IncidentKind):   schema.KindIncidentFact,
	"flow":                           schema.KindFlowItemFact,
	"toil":                           schema.KindToilFact,
}

// Find explains the fact named name, "source:id" or an id only one fact has; kind,
// when not empty, keeps only facts of that kind.
func Find(ctx context.Context, st store.Store, name string, kind schema.Kind) (*Explanation, error) {
	changes, err := store.All(st.ChangeFacts(ctx, store.Filter{}))
	if err != nil {
		return nil, fmt.Errorf("reading change facts: %w", err)
	}
	deployments, err := store.All(st.DeploymentFacts(ctx, store.Filter{}))
	if err != nil {
		return nil, fmt.Errorf("reading deployment facts: %w", err)
	}
	incidents, err := store.All(st.IncidentFacts(ctx, store.Filter{}))
	if err != nil {
		return nil, fmt.Errorf("reading incident facts: %w", err)
	}
	flows, err := store.All(st.FlowItemFacts(ctx, store.Filter{}))
	if err != nil {
		return nil, fmt.Errorf("reading flow item facts: %w", err)
	}
	toils, err := store.All(st.ToilFacts(ctx, store.Filter{}))
	if err != nil {
		return nil, fmt.Errorf("reading toil facts: %w", err)
	}
	// A name is a fact's id or its source, a colon and its id. Source names hold no
	// colon (the config allows [a-z0-9_-]) and ids may (toil ids are "<kind>:<record
	// id>"), so the source is what comes before the first colon; comparing the whole
	// name with both forms finds "pd:incident:P1" and "incident:P1" alike.
	named := func(source, id string) bool { return id == name || aggregate.Ref(source, id) == name }
	type match struct {
		kind schema.Kind
		i    int
		ref  string
	}
	var matches []match
	add := func(k schema.Kind, i int, source, id string) {
		if (kind == "" || kind == k) && named(source, id) {
			matches = append(matches, match{k, i, aggregate.Ref(source, id)})
		}
	}
	for i, c := range changes {
		add(schema.KindChangeFact, i, c.Source, c.ID)
	}
	for i, d := range deployments {
		add(schema.KindDeploymentFact, i, d.Source, d.ID)
	}
	for i, in := range incidents {
		add(schema.KindIncidentFact, i, in.Source, in.ID)
	}
	for i, f := range flows {
		add(schema.KindFlowItemFact, i, f.Source, f.ID)
	}
	for i, f := range toils {
		add(schema.KindToilFact, i, f.Source, f.ID)
	}
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("%q: %w", name, ErrUnknown)
	case 1:
	default:
		e := &AmbiguousError{Name: name}
		for _, m := range matches {
			e.Candidates = append(e.Candidates, kindName(m.kind)+" "+m.ref)
		}
		return nil, e
	}

	x := &explainer{ctx: ctx, st: st, deployments: byID(deployments, func(d *schema.DeploymentFact) string { return d.ID }),
		incidents: byID(incidents, func(i *schema.IncidentFact) string { return i.ID }),
		changes:   byID(changes, func(c *schema.ChangeFact) string { return c.ID }),
		flows:     byID(flows, func(f *schema.FlowItemFact) string { return f.ID })}
	m := matches[0]
	out := &Explanation{Kind: m.kind, Ref: m.ref}
	switch m.kind {
	case schema.KindChangeFact:
		c := &changes[m.i]
		out.Fields, out.team = fields(schema.ChangeFacts, c), c.Team
		err = x.change(out, c)
	case schema.KindDeploymentFact:
		d := &deployments[m.i]
		out.Fields, out.team = fields(schema.DeploymentFacts, d), d.Team
		err = x.deployment(out, d)
		for _, c := range changes {
			if c.State == schema.ChangeShipped && c.ShippedBy == d.ID {
				out.Shipped = append(out.Shipped, aggregate.Ref(c.Source, c.ID))
			}
		}
		slices.Sort(out.Shipped)
	case schema.KindIncidentFact:
		in := &incidents[m.i]
		out.Fields, out.team = fields(schema.IncidentFacts, in), in.Team
		err = x.incident(out, in)
	case schema.KindFlowItemFact:
		f := &flows[m.i]
		out.Fields, out.team = fields(schema.FlowItemFacts, f), f.Team
		err = x.flow(out, f)
	case schema.KindToilFact:
		f := &toils[m.i]
		out.Fields, out.team = fields(schema.ToilFacts, f), f.Team
		err = x.toil(out, f)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// kindName is a fact kind as reports name it.
func kindName(k schema.Kind) string {
	for name, kind := range Kinds {
		if kind == k {
			return name
		}
	}
	return string(k)
}

func byID[F any](facts []F, id func(*F) string) map[string][]*F {
	out := make(map[string][]*F, len(facts))
	for i := range facts {
		f := &facts[i]
		out[id(f)] = append(out[id(f)], f)
	}
	return out
}

// explainer reads the records behind one fact. Facts refer to other deployments
// and incidents by id alone, so it finds their facts first, which give the source
// and the time that narrow the read of each record to one second of one source.
type explainer struct {
	ctx         context.Context
	st          store.Store
	deployments map[string][]*schema.DeploymentFact
	incidents   map[string][]*schema.IncidentFact
	changes     map[string][]*schema.ChangeFact
	flows       map[string][]*schema.FlowItemFact
	// pullRequests are all pull request records by id, read once when a pull
	// request has no change fact to find it by.
	pullRequests map[string][]schema.PullRequest
}

func (x *explainer) change(out *Explanation, c *schema.ChangeFact) error {
	pr, err := record(x.ctx, x.st.PullRequests, schema.PullRequests, c.Source, c.ID, c.OpenedAt)
	if err != nil {
		return err
	}
	out.add(asRecord("record", c.Team, schema.PullRequests, c.Source, c.ID, pr))
	if c.ShippedBy == "" {
		return nil
	}
	shipped, err := x.deploymentRecords(out, "shipped_by", c.ShippedBy)
	if err != nil {
		return err
	}
	// The ancestry answer that attributed it: does the shipped commit contain the
	// merge commit?
	if c.Attribution != schema.ByAncestry || pr == nil || pr.MergeCommitSHA == "" || len(shipped) != 1 || shipped[0].CommitSHA == "" {
		return nil
	}
	id := schema.AncestryID(c.Repo, pr.MergeCommitSHA, shipped[0].CommitSHA)
	for a, err := range x.st.Ancestries(x.ctx, store.Filter{Source: c.Source}) {
		if err != nil {
			return fmt.Errorf("reading ancestry answers: %w", err)
		}
		if a.ID == id {
			out.add(asRecord("attribution", c.Team, schema.Ancestries, a.Source, a.ID, &a))
			break
		}
	}
	return nil
}

func (x *explainer) deployment(out *Explanation, d *schema.DeploymentFact) error {
	rec, err := record(x.ctx, x.st.Deployments, schema.Deployments, d.Source, d.ID, d.StartedAt)
	if err != nil {
		return err
	}
	out.add(asRecord("record", d.Team, schema.Deployments, d.Source, d.ID, rec))
	for _, id := range d.CausedIncidents {
		if err := x.incidentRecords(out, "caused_incidents", id); err != nil {
			return err
		}
	}
	if d.RecoveredBy != "" {
		// An incident's resolution or a rollback or hotfix deployment.
		if len(x.incidents[d.RecoveredBy]) > 0 {
			err = x.incidentRecords(out, "recovered_by", d.RecoveredBy)
		} else {
			_, err = x.deploymentRecords(out, "recovered_by", d.RecoveredBy)
		}
		if err != nil {
			return err
		}
	}
	for _, id := range d.Rollout {
		if _, err := x.deploymentRecords(out, "rollout", id); err != nil {
			return err
		}
	}
	if d.RolloutOf != "" {
		if _, err := x.deploymentRecords(out, "rollout_of", d.RolloutOf); err != nil {
			return err
		}
	}
	return nil
}

func (x *explainer) incident(out *Explanation, in *schema.IncidentFact) error {
	rec, err := record(x.ctx, x.st.Incidents, schema.Incidents, in.Source, in.ID, in.OpenedAt)
	if err != nil {
		return err
	}
	out.add(asRecord("record", in.Team, schema.Incidents, in.Source, in.ID, rec))
	if in.Deployment != "" {
		_, err = x.deploymentRecords(out, "deployment", in.Deployment)
	}
	return err
}

func (x *explainer) flow(out *Explanation, f *schema.FlowItemFact) error {
	if err := x.workItemRecords(out, f.Team, f.Source, f.ID, f.CreatedAt, true); err != nil {
		return err
	}
	for _, id := range f.PullRequests {
		if err := x.pullRequestRecords(out, "pull_requests", id); err != nil {
			return err
		}
	}
	if f.DeliveredBy != "" {
		if _, err := x.deploymentRecords(out, "delivered_by", f.DeliveredBy); err != nil {
			return err
		}
	}
	return nil
}

// toil adds the record a toil entry was measured on: an incident or an alert (kept
// as incidents), a ticket with its worklogs, or a deployment or re-run.
func (x *explainer) toil(out *Explanation, f *schema.ToilFact) error {
	switch f.Kind {
	case schema.ToilFromIncident, schema.ToilFromAlert:
		// An entry starts when the incident was acknowledged, if it was; its fact,
		// when it has one, gives when it opened.
		at := f.StartedAt
		for _, in := range x.incidents[f.Record] {
			if in.Source == f.Source {
				at = in.OpenedAt
			}
		}
		rec, err := record(x.ctx, x.st.Incidents, schema.Incidents, f.Source, f.Record, at)
		if err != nil {
			return err
		}
		out.add(asRecord("record", f.Team, schema.Incidents, f.Source, f.Record, rec))
	case schema.ToilFromTicket:
		var created time.Time
		for _, fl := range x.flows[f.Record] {
			if fl.Source == f.Source {
				created = fl.CreatedAt
			}
		}
		return x.workItemRecords(out, f.Team, f.Source, f.Record, created, false)
	case schema.ToilFromDeployment, schema.ToilFromRerun:
		rec, err := record(x.ctx, x.st.Deployments, schema.Deployments, f.Source, f.Record, f.StartedAt)
		if err != nil {
			return err
		}
		out.add(asRecord("record", f.Team, schema.Deployments, f.Source, f.Record, rec))
	}
	return nil
}

// workItemRecords adds a work item's record, its status changes in time order when
// asked, and its worklogs in time order, all as "record" and of the team given.
func (x *explainer) workItemRecords(out *Explanation, team, source, id string, created time.Time, statuses bool) error {
	item, err := record(x.ctx, x.st.WorkItems, schema.WorkItems, source, id, created)
	if err != nil {
		return err
	}
	out.add(asRecord("record", team, schema.WorkItems, source, id, item))
	if statuses {
		var changes []schema.StatusChange
		for c, err := range x.st.StatusChanges(x.ctx, store.Filter{Source: source}) {
			if err != nil {
				return fmt.Errorf("reading %s: %w", schema.StatusChanges.Name(), err)
			}
			if c.ItemID == id {
				changes = append(changes, c)
			}
		}
		slices.SortStableFunc(changes, func(a, b schema.StatusChange) int { return a.At.Compare(b.At) })
		for i := range changes {
			out.add(asRecord("record", team, schema.StatusChanges, source, changes[i].ID, &changes[i]))
		}
	}
	var logs []schema.Worklog
	for l, err := range x.st.Worklogs(x.ctx, store.Filter{Source: source}) {
		if err != nil {
			return fmt.Errorf("reading %s: %w", schema.Worklogs.Name(), err)
		}
		if l.ItemID == id {
			logs = append(logs, l)
		}
	}
	slices.SortStableFunc(logs, func(a, b schema.Worklog) int { return a.StartedAt.Compare(b.StartedAt) })
	for i := range logs {
		out.add(asRecord("record", team, schema.Worklogs, source, logs[i].ID, &logs[i]))
	}
	return nil
}

// pullRequestRecords adds the records of the pull requests with an id, of any
// source: those its change facts find, of their team, else those among all pull
// requests, of no team.
func (x *explainer) pullRequestRecords(out *Explanation, role, id string) error {
	found := 0
	for _, c := range x.changes[id] {
		pr, err := record(x.ctx, x.st.PullRequests, schema.PullRequests, c.Source, c.ID, c.OpenedAt)
		if err != nil {
			return err
		}
		if pr != nil {
			out.add(asRecord(role, c.Team, schema.PullRequests, pr.Source, pr.ID, pr))
			found++
		}
	}
	if found > 0 {
		return nil
	}
	if x.pullRequests == nil {
		x.pullRequests = map[string][]schema.PullRequest{}
		for pr, err := range x.st.PullRequests(x.ctx, store.Filter{}) {
			if err != nil {
				return fmt.Errorf("reading %s: %w", schema.PullRequests.Name(), err)
			}
			x.pullRequests[pr.ID] = append(x.pullRequests[pr.ID], pr)
		}
	}
	prs := x.pullRequests[id]
	if len(prs) == 0 {
		out.add(Record{Role: role, Kind: schema.KindPullRequest, Ref: id})
		return nil
	}
	for i := range prs {
		out.add(asRecord(role, "", schema.PullRequests, prs[i].Source, prs[i].ID, &prs[i]))
	}
	return nil
}

// deploymentRecords adds the records of the deployments with an id, one per source
// that has it, and returns those found.
func (x *explainer) deploymentRecords(out *Explanation, role, id string) ([]*schema.Deployment, error) {
	facts := x.deployments[id]
	if len(facts) == 0 {
		out.add(Record{Role: role, Kind: schema.KindDeployment, Ref: id})
		return nil, nil
	}
	var found []*schema.Deployment
	for _, f := range facts {
		rec, err := record(x.ctx, x.st.Deployments, schema.Deployments, f.Source, f.ID, f.StartedAt)
		if err != nil {
			return nil, err
		}
		out.add(asRecord(role, f.Team, schema.Deployments, f.Source, f.ID, rec))
		if rec != nil {
			found = append(found, rec)
		}
	}
	return found, nil
}

// incidentRecords adds the records of the incidents with an id.
func (x *explainer) incidentRecords(out *Explanation, role, id string) error {
	facts := x.incidents[id]
	if len(facts) == 0 {
		out.add(Record{Role: role, Kind: schema.KindIncident, Ref: id})
		return nil
	}
	for _, f := range facts {
		rec, err := record(x.ctx, x.st.Incidents, schema.Incidents, f.Source, f.ID, f.OpenedAt)
		if err != nil {
			return err
		}
		out.add(asRecord(role, f.Team, schema.Incidents, f.Source, f.ID, rec))
	}
	return nil
}

// record reads the record of a source with an id, first in the second at (its
// event time, as the fact carries it), then, when it is not there, in all of the
// source's records; nil when the store does not hold it.
func record[R any](ctx context.Context, read func(context.Context, store.Filter) iter.Seq2[R, error],
	t *schema.Table[R], source, id string, at time.Time) (*R, error) {
	find := func(f store.Filter) (*R, error) {
		for r, err := range read(ctx, f) {
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", t.Name(), err)
			}
			if *t.Columns[1].Field(&r).(*string) == id {
				return &r, nil
			}
		}
		return nil, nil
	}
	if !at.IsZero() {
		from := at.Truncate(time.Second)
		if r, err := find(store.Filter{Source: source, From: from, To: from.Add(time.Second)}); r != nil || err != nil {
			return r, err
		}
	}
	return find(store.Filter{Source: source})
}

// add lists a record, or names one more role of a record already listed: an
// incident that failed a deployment and recovered it is listed once.
func (e *Explanation) add(r Record) {
	for i := range e.Records {
		if e.Records[i].Kind == r.Kind && e.Records[i].Ref == r.Ref {
			e.Records[i].Role += ", " + r.Role
			return
		}
	}
	e.Records = append(e.Records, r)
}

func asRecord[R any](role, team string, t *schema.Table[R], source, id string, r *R) Record {
	out := Record{Role: role, Kind: t.Kind, Ref: aggregate.Ref(source, id), team: team}
	if r != nil {
		out.Fields = fields(t, r)
	}
	return out
}

// fields lists every column of a fact or record but its source and id, then when it
// was last updated.
func fields[R any](t *schema.Table[R], r *R) []Field {
	out := make([]Field, 0, len(t.Columns))
	for _, c := range t.Columns[2:] {
		out = append(out, Field{Name: c.Name, Value: format(c.Name, c.Field(r))})
	}
	return append(out, Field{Name: "updated_at", Value: format("updated_at", t.Updated(r))})
}

func format(name string, v any) string {
	switch v := v.(type) {
	case *string:
		return *v
	case *bool:
		return strconv.FormatBool(*v)
	case *int64:
		if name != "seconds" && !strings.HasSuffix(name, "_seconds") {
			return strconv.FormatInt(*v, 10)
		}
		if *v < 0 {
			return "unknown"
		}
		return fmt.Sprintf("%d (%s)", *v, render.Seconds(*v))
	case *time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format(time.RFC3339)
	case *[]string:
		return strings.Join(*v, ", ")
	}
	return fmt.Sprint(v)
}

// WriteText writes the explanation for people: the fact's fields, then each record
// with the field of the fact that names it. After NameTeams, TeamsOnlyNote follows
// the first line.
func (e *Explanation) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s fact %s\n", kindName(e.Kind), e.Ref)
	if e.teamsOnly {
		b.WriteString(TeamsOnlyNote + "\n")
	}
	writeFields(&b, e.Fields)
	for _, r := range e.Records {
		role := ""
		if r.Role != "record" {
			role = " (" + r.Role + ")"
		}
		if r.Fields == nil {
			fmt.Fprintf(&b, "\n%s %s%s: no record in the store\n", recordName(r.Kind), r.Ref, role)
			continue
		}
		fmt.Fprintf(&b, "\n%s record %s%s\n", recordName(r.Kind), r.Ref, role)
		writeFields(&b, r.Fields)
	}
	if e.Kind == schema.KindDeploymentFact {
		if len(e.Shipped) == 0 {
			b.WriteString("\nchanges shipped: none\n")
		} else {
			fmt.Fprintf(&b, "\nchanges shipped (%d): %s\n", len(e.Shipped), strings.Join(e.Shipped, ", "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFields(b *strings.Builder, fields []Field) {
	width := 0
	for _, f := range fields {
		width = max(width, len(f.Name))
	}
	for _, f := range fields {
		v := f.Value
		if v == "" {
			v = "—"
		}
		fmt.Fprintf(b, "  %-*s  %s\n", width, f.Name, v)
	}
}

// recordName is a record kind in the singular, as people say it.
func recordName(k schema.Kind) string {
	switch k {
	case schema.KindPullRequest:
		return "pull request"
	case schema.KindDeployment:
		return "deployment"
	case schema.KindIncident:
		return "incident"
	case schema.KindAncestry:
		return "ancestry"
	case schema.KindWorkItem:
		return "work item"
	case schema.KindStatusChange:
		return "status change"
	case schema.KindWorklog:
		return "worklog"
	}
	return string(k)
}
