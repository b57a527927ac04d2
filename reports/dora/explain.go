package dora

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/reports/render"
	"github.com/flowmeter/flowmeter/schema"
)

// The explanation: each figure names the facts behind it (aggregate.Figures.Explain)
// and the report lists every such fact's values once (aggregate.Report.Facts). One
// list of columns per kind of fact gives the JSON keys, the CSV columns and the
// Markdown columns, so the three formats say the same.

// listSeparator joins a list (failure reasons, ids) in one CSV cell.
const listSeparator = ";"

// factColumn is one value of a fact. get returns nil (unknown or none), a string,
// an int64, a bool, a time.Time or a []string; asOf is when undeployed changes are
// aged.
type factColumn[F any] struct {
	name string
	get  func(f *F, asOf time.Time) any
}

// at is a time, or nil when it has not happened or is unknown.
func at(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// secs is a duration in seconds, or nil when unknown.
func secs(s int64) any {
	if s < 0 {
		return nil
	}
	return s
}

// opt is a string, or nil when empty.
func opt(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// list is a list that is never null.
func list(l []string) any {
	if l == nil {
		return []string{}
	}
	return l
}

var changeColumns = []factColumn[schema.ChangeFact]{
	{"team", func(c *schema.ChangeFact, _ time.Time) any { return c.Team }},
	{"service", func(c *schema.ChangeFact, _ time.Time) any { return c.Service }},
	{"repo", func(c *schema.ChangeFact, _ time.Time) any { return c.Repo }},
	{"state", func(c *schema.ChangeFact, _ time.Time) any { return string(c.State) }},
	{"first_commit_at", func(c *schema.ChangeFact, _ time.Time) any { return at(c.FirstCommitAt) }},
	{"ready_at", func(c *schema.ChangeFact, _ time.Time) any { return at(c.ReadyAt) }},
	{"first_review_at", func(c *schema.ChangeFact, _ time.Time) any { return at(c.FirstReviewAt) }},
	{"merged_at", func(c *schema.ChangeFact, _ time.Time) any { return at(c.MergedAt) }},
	{"shipped_at", func(c *schema.ChangeFact, _ time.Time) any { return at(c.ShippedAt) }},
	{"shipped_by", func(c *schema.ChangeFact, _ time.Time) any { return opt(c.ShippedBy) }},
	{"attribution", func(c *schema.ChangeFact, _ time.Time) any { return opt(string(c.Attribution)) }},
	{"lead_time_seconds", func(c *schema.ChangeFact, _ time.Time) any { return secs(c.LeadTimeSeconds) }},
	{"coding_seconds", func(c *schema.ChangeFact, _ time.Time) any { return secs(c.CodingSeconds) }},
	{"pickup_seconds", func(c *schema.ChangeFact, _ time.Time) any { return secs(c.PickupSeconds) }},
	{"review_seconds", func(c *schema.ChangeFact, _ time.Time) any { return secs(c.ReviewSeconds) }},
	{"deploy_seconds", func(c *schema.ChangeFact, _ time.Time) any { return secs(c.DeploySeconds) }},
	{"undeployed_age_seconds", func(c *schema.ChangeFact, asOf time.Time) any {
		if c.State != schema.ChangeUndeployed {
			return nil
		}
		return aggregate.AgeSeconds(c.MergedAt, asOf)
	}},
}

var deploymentColumns = []factColumn[schema.DeploymentFact]{
	{"team", func(d *schema.DeploymentFact, _ time.Time) any { return d.Team }},
	{"service", func(d *schema.DeploymentFact, _ time.Time) any { return d.Service }},
	{"repo", func(d *schema.DeploymentFact, _ time.Time) any { return d.Repo }},
	{"environment", func(d *schema.DeploymentFact, _ time.Time) any { return d.Environment }},
	{"status", func(d *schema.DeploymentFact, _ time.Time) any { return d.Status }},
	{"commit_sha", func(d *schema.DeploymentFact, _ time.Time) any { return opt(d.CommitSHA) }},
	{"started_at", func(d *schema.DeploymentFact, _ time.Time) any { return at(d.StartedAt) }},
	{"finished_at", func(d *schema.DeploymentFact, _ time.Time) any { return at(d.FinishedAt) }},
	{"failed", func(d *schema.DeploymentFact, _ time.Time) any { return d.Failed }},
	{"failure_reasons", func(d *schema.DeploymentFact, _ time.Time) any { return list(d.FailureReasons) }},
	{"inferred_failure", func(d *schema.DeploymentFact, _ time.Time) any { return aggregate.InferredFailure(*d) }},
	{"caused_incidents", func(d *schema.DeploymentFact, _ time.Time) any { return list(d.CausedIncidents) }},
	{"recovered_at", func(d *schema.DeploymentFact, _ time.Time) any { return at(d.RecoveredAt) }},
	{"recovered_by", func(d *schema.DeploymentFact, _ time.Time) any { return opt(d.RecoveredBy) }},
	{"recovery_seconds", func(d *schema.DeploymentFact, _ time.Time) any { return secs(d.RecoverySeconds) }},
	{"unplanned_reasons", func(d *schema.DeploymentFact, _ time.Time) any { return list(d.UnplannedReasons) }},
	{"rollout", func(d *schema.DeploymentFact, _ time.Time) any { return list(d.Rollout) }},
	{"changes", func(d *schema.DeploymentFact, _ time.Time) any { return d.Changes }},
}

var incidentColumns = []factColumn[schema.IncidentFact]{
	{"team", func(i *schema.IncidentFact, _ time.Time) any { return i.Team }},
	{"service", func(i *schema.IncidentFact, _ time.Time) any { return i.Service }},
	{"severity", func(i *schema.IncidentFact, _ time.Time) any { return i.Severity }},
	{"opened_at", func(i *schema.IncidentFact, _ time.Time) any { return at(i.OpenedAt) }},
	{"resolved_at", func(i *schema.IncidentFact, _ time.Time) any { return at(i.ResolvedAt) }},
	{"restore_seconds", func(i *schema.IncidentFact, _ time.Time) any { return secs(i.RestoreSeconds) }},
	{"deployment", func(i *schema.IncidentFact, _ time.Time) any { return opt(i.Deployment) }},
	{"link_reason", func(i *schema.IncidentFact, _ time.Time) any { return opt(i.LinkReason) }},
}

// explained is one kind of fact of a report, as rows of column names and values.
type explained struct {
	kind    aggregate.FactKind
	columns []string
	refs    []string
	values  [][]any // per fact, in the order of columns
}

func explain[F any](kind aggregate.FactKind, facts []F, columns []factColumn[F], ref func(*F) string, asOf time.Time) explained {
	e := explained{kind: kind}
	for _, c := range columns {
		e.columns = append(e.columns, c.name)
	}
	for i := range facts {
		f := &facts[i]
		row := make([]any, len(columns))
		for j, c := range columns {
			row[j] = c.get(f, asOf)
		}
		e.refs = append(e.refs, ref(f))
		e.values = append(e.values, row)
	}
	return e
}

// explainedFacts lists a report's facts by kind: changes, deployments, incidents.
func explainedFacts(r aggregate.Report) []explained {
	return []explained{
		explain(aggregate.ChangeKind, r.Facts.Changes, changeColumns,
			func(c *schema.ChangeFact) string { return aggregate.Ref(c.Source, c.ID) }, r.AsOf),
		explain(aggregate.DeploymentKind, r.Facts.Deployments, deploymentColumns,
			func(d *schema.DeploymentFact) string { return aggregate.Ref(d.Source, d.ID) }, r.AsOf),
		explain(aggregate.IncidentKind, r.Facts.Incidents, incidentColumns,
			func(i *schema.IncidentFact) string { return aggregate.Ref(i.Source, i.ID) }, r.AsOf),
	}
}

// --- JSON ---

// jsonFacts are the report's facts by kind, each keyed by its ref ("source:id").
type jsonFacts struct {
	Changes     map[string]map[string]any `json:"changes"`
	Deployments map[string]map[string]any `json:"deployments"`
	Incidents   map[string]map[string]any `json:"incidents"`
}

func toJSONFacts(r aggregate.Report) *jsonFacts {
	if r.Facts == nil {
		return nil
	}
	kinds := explainedFacts(r)
	byRef := func(e explained) map[string]map[string]any {
		out := make(map[string]map[string]any, len(e.refs))
		for i, ref := range e.refs {
			obj := make(map[string]any, len(e.columns))
			for j, c := range e.columns {
				obj[c] = e.values[i][j]
			}
			out[ref] = obj
		}
		return out
	}
	return &jsonFacts{Changes: byRef(kinds[0]), Deployments: byRef(kinds[1]), Incidents: byRef(kinds[2])}
}

// --- CSV ---

// ExplanationCSVHeader is the header of the explanation's CSV: what a row is, the
// team and service, the figure, the kind of fact and its ref, then every column of
// the facts' values (team and service excepted: on a fact's row, the team and
// service columns are the fact's own).
func ExplanationCSVHeader() []string {
	return append([]string{"row", "team", "service", "figure", "kind", "fact"}, valueColumns()...)
}

// valueColumns are the names of the facts' value columns in the CSV, each once, in
// the order of changes', deployments' and incidents' columns.
func valueColumns() []string {
	var out []string
	add := func(names ...string) {
		for _, n := range names {
			if n != "team" && n != "service" && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	for _, c := range changeColumns {
		add(c.name)
	}
	for _, c := range deploymentColumns {
		add(c.name)
	}
	for _, c := range incidentColumns {
		add(c.name)
	}
	return out
}

// WriteExplanationCSV writes the explanation as CSV: a "figure" row for each fact
// behind each figure of each team and service, then a "fact" row with the values of
// each fact, once. Values are as in JSON: times RFC 3339, durations in seconds,
// lists joined with ";", unknown as an empty cell.
func WriteExplanationCSV(w io.Writer, r aggregate.Report) error {
	cw := csv.NewWriter(w)
	header := ExplanationCSVHeader()
	if err := cw.Write(header); err != nil {
		return err
	}
	blank := make([]string, len(header)-6)
	figureRows := func(team, service string, f aggregate.Figures) error {
		for _, fig := range aggregate.ExplainFigures() {
			for _, ref := range f.Explain[fig.Key] {
				if err := cw.Write(append([]string{"figure", team, service, fig.Key, string(fig.Kind), ref}, blank...)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, t := range r.Teams {
		if err := figureRows(t.Name, "", t.Figures); err != nil {
			return err
		}
		for _, s := range t.Services {
			if err := figureRows(t.Name, s.Name, s.Figures); err != nil {
				return err
			}
		}
	}
	columns := valueColumns()
	for _, e := range explainedFacts(r) {
		for i, ref := range e.refs {
			rec := []string{"fact", "", "", "", string(e.kind), ref}
			rec = append(rec, make([]string, len(columns))...)
			for j, c := range e.columns {
				v := cell(e.values[i][j])
				switch c {
				case "team":
					rec[1] = v
				case "service":
					rec[2] = v
				default:
					rec[6+slices.Index(columns, c)] = v
				}
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell formats a fact's value for CSV.
func cell(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.Format(time.RFC3339)
	case []string:
		return strings.Join(v, listSeparator)
	}
	return ""
}

// --- Markdown ---

// explainLine is one line of a team's or service's explanation: the figures
// (keys) whose facts are the same list, so the deployments behind the five
// deployment-frequency figures are listed once, and so are the figures with none.
type explainLine struct {
	keys []string
	kind aggregate.FactKind
	refs []string
}

// explainLines groups the figures of one team or service by the facts behind them,
// in the report's order of figures.
func explainLines(refs map[string][]string) []explainLine {
	figures := aggregate.ExplainFigures()
	done := make([]bool, len(figures))
	var out []explainLine
	for i, f := range figures {
		if done[i] {
			continue
		}
		line := explainLine{keys: []string{f.Key}, kind: f.Kind, refs: refs[f.Key]}
		for j := i + 1; j < len(figures); j++ {
			same := slices.Equal(refs[figures[j].Key], refs[f.Key]) && (figures[j].Kind == f.Kind || len(refs[f.Key]) == 0)
			if !done[j] && same {
				line.keys = append(line.keys, figures[j].Key)
				done[j] = true
			}
		}
		out = append(out, line)
	}
	return out
}

// what says how many facts of its kind a line lists: "12 deployments", or "none".
func (l explainLine) what() string {
	if len(l.refs) == 0 {
		return "none"
	}
	return count(len(l.refs), string(l.kind))
}

// writeExplain lists, for one team or service, the facts behind each figure by ref.
func writeExplain(b *strings.Builder, who string, refs map[string][]string) {
	fmt.Fprintf(b, "\n<details><summary>Facts behind %s</summary>\n\n", render.Escape(who))
	for _, l := range explainLines(refs) {
		keys := make([]string, len(l.keys))
		for k, key := range l.keys {
			keys[k] = "`" + key + "`"
		}
		if len(l.refs) == 0 {
			fmt.Fprintf(b, "- %s: none\n", strings.Join(keys, ", "))
			continue
		}
		quoted := make([]string, len(l.refs))
		for k, ref := range l.refs {
			quoted[k] = "`" + ref + "`"
		}
		fmt.Fprintf(b, "- %s (%s): %s\n", strings.Join(keys, ", "), l.what(), strings.Join(quoted, ", "))
	}
	b.WriteString("\n</details>\n")
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// writeFacts writes a table per kind of fact with the values of every fact the
// figures refer to.
func writeFacts(b *strings.Builder, r aggregate.Report) {
	b.WriteString("\n## Facts\n\nThe facts behind the figures above, each once, named as the figures name them " +
		"(`source:id`). Times are UTC; durations are the fact's own; \"—\" means unknown or none.\n")
	for _, e := range explainedFacts(r) {
		fmt.Fprintf(b, "\n### %s\n\n", kindTitle(e.kind))
		if len(e.refs) == 0 {
			b.WriteString("None.\n")
			continue
		}
		b.WriteString("| " + string(e.kind))
		for _, c := range e.columns {
			b.WriteString(" | " + heading(c))
		}
		b.WriteString(" |\n| ---")
		for range e.columns {
			b.WriteString(" | ---")
		}
		b.WriteString(" |\n")
		for i, ref := range e.refs {
			b.WriteString("| `" + ref + "`")
			for j, c := range e.columns {
				b.WriteString(" | " + mdValue(c, e.values[i][j]))
			}
			b.WriteString(" |\n")
		}
	}
}

// kindTitle names a kind of fact as a heading: "Changes".
func kindTitle(kind aggregate.FactKind) string {
	return strings.ToUpper(string(kind[:1])) + string(kind[1:]) + "s"
}

// headings are the column names whose plain reading (heading) would be unclear.
var headings = map[string]string{
	"restore_seconds": "time to restore", "commit_sha": "commit", "changes": "changes shipped",
}

// heading is a column's name for people: "lead_time_seconds" is "lead time",
// "first_commit_at" "first commit".
func heading(column string) string {
	if h, ok := headings[column]; ok {
		return h
	}
	column = strings.TrimSuffix(strings.TrimSuffix(column, "_seconds"), "_at")
	return strings.ReplaceAll(column, "_", " ")
}

// mdValue formats a fact's value for a Markdown table.
func mdValue(column string, v any) string {
	return render.Escape(factText(column, v))
}

// factText formats a fact's value for people.
func factText(column string, v any) string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return render.Dash
		}
		return v
	case int64:
		if strings.HasSuffix(column, "_seconds") {
			return render.Duration(aggregate.Some(float64(v)))
		}
		return strconv.FormatInt(v, 10)
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case time.Time:
		return v.Format(render.TimeLayout)
	case []string:
		if len(v) == 0 {
			return render.Dash
		}
		return strings.Join(v, ", ")
	}
	return render.Dash
}
