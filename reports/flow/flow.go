// Package flow renders the flow report, a window's flow figures per team and per
// flow type (metrics/flow), and the quarterly flow-efficiency review built on it:
// as Markdown and a self-contained HTML page for people, and as JSON and CSV with
// stable keys for other tools. docs/reports.md documents every key; changing one is
// a breaking change. It follows the conventions of reports/dora: undefined figures
// are null in JSON, empty in CSV and "—" in Markdown and HTML.
package flow

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/reports/render"
	"github.com/flowmeter/flowmeter/schema"
)

// Formats are the formats Render writes.
var Formats = []render.Format{render.Markdown, render.JSON, render.CSV, render.HTML}

// Render writes the review in the format. A Review holding only its Current
// report (not Reviewed) is written as the plain flow report in Markdown, has no
// HTML page, and every review keeps the plain report's JSON keys and CSV rows
// unchanged.
func Render(w io.Writer, r flow.Review, f render.Format) error {
	switch f {
	case render.Markdown:
		if !r.Reviewed() {
			return WriteMarkdown(w, r.Current)
		}
		return WriteReviewMarkdown(w, r)
	case render.JSON:
		return WriteReviewJSON(w, r)
	case render.CSV:
		return WriteCSV(w, r.Current)
	case render.HTML:
		return WriteHTML(w, r)
	}
	return fmt.Errorf("unknown format %q", f)
}

// Durations says how a team's durations were counted: "wall-clock", or "working
// hours of <team>'s calendar" when they were counted in its calendar.
func Durations(t flow.Team) string {
	if t.Calendar == "" {
		return "wall-clock"
	}
	if strings.HasSuffix(t.Name, "s") {
		return "working hours of " + t.Name + "' calendar"
	}
	return "working hours of " + t.Name + "'s calendar"
}

// --- JSON ---

type jsonReport struct {
	Window render.JSONWindow `json:"window"`
	Teams  []jsonTeam        `json:"teams"`
}

type jsonTeam struct {
	Team                  string          `json:"team"`
	Calendar              string          `json:"calendar"`
	Durations             string          `json:"durations"`
	Finished              int             `json:"finished"`
	Canceled              int             `json:"canceled"`
	Reopened              int             `json:"reopened"`
	Efficiency            aggregate.Value `json:"efficiency"`
	EfficiencyMedian      aggregate.Value `json:"efficiency_median"`
	ActiveSeconds         int64           `json:"active_seconds"`
	FlowSeconds           int64           `json:"flow_seconds"`
	All                   jsonType        `json:"all"`
	FlowTypes             []jsonType      `json:"flow_types"`
	LoadDaily             []jsonLoad      `json:"load_daily"`
	OpenItems             int             `json:"open_items"`
	AgeSeconds            jsonQuantiles   `json:"age_seconds"`
	Waits                 []jsonWait      `json:"waits"`
	Delivered             int             `json:"delivered"`
	DoneNotDelivered      int             `json:"done_not_delivered"`
	DoneNotDeliveredShare aggregate.Value `json:"done_not_delivered_share"`
	TimeToDeliverySeconds jsonQuantiles   `json:"time_to_delivery_seconds"`
	Unmapped              []string        `json:"unmapped"`
}

type jsonType struct {
	FlowType        string          `json:"flow_type"`
	Finished        int             `json:"finished"`
	FlowTimeSeconds jsonQuantiles   `json:"flow_time_seconds"`
	Efficiency      aggregate.Value `json:"efficiency"`
	VelocityPerWeek aggregate.Value `json:"velocity_per_week"`
	Distribution    aggregate.Value `json:"distribution"`
	Load            int             `json:"load"`
}

type jsonQuantiles struct {
	P50   aggregate.Value `json:"p50"`
	P85   aggregate.Value `json:"p85"`
	P95   aggregate.Value `json:"p95"`
	Count int             `json:"count"`
	Sum   float64         `json:"sum"`
}

type jsonLoad struct {
	At     time.Time      `json:"at"`
	Total  int            `json:"total"`
	ByType map[string]int `json:"by_type"`
}

type jsonWait struct {
	Status  string `json:"status"`
	Seconds int64  `json:"seconds"`
	Items   int    `json:"items"`
}

// seconds rounds a duration to the millisecond: interpolated percentiles carry
// floating-point noise that no reader wants.
func seconds(v aggregate.Value) aggregate.Value {
	if f, ok := v.Get(); ok {
		return aggregate.Some(math.Round(f*1000) / 1000)
	}
	return v
}

func toQuantiles(q aggregate.Quantiles) jsonQuantiles {
	return jsonQuantiles{
		P50: seconds(q.P50), P85: seconds(q.P85), P95: seconds(q.P95),
		Count: q.Count, Sum: math.Round(q.Sum*1000) / 1000,
	}
}

func toType(f flow.TypeFigures) jsonType {
	return jsonType{
		FlowType: f.FlowType, Finished: f.Finished, FlowTimeSeconds: toQuantiles(f.FlowTime),
		Efficiency: f.Efficiency, VelocityPerWeek: f.VelocityPerWeek, Distribution: f.Distribution, Load: f.Load,
	}
}

// WriteJSON writes the report as one indented JSON document with the keys
// docs/reports.md lists; undefined figures are null, and lists are [] when empty.
func WriteJSON(w io.Writer, r flow.Report) error {
	return writeIndented(w, toReport(r))
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func toReport(r flow.Report) jsonReport {
	out := jsonReport{
		Window: render.WindowOf(r.From, r.To, r.AsOf),
		Teams:  []jsonTeam{},
	}
	for _, t := range r.Teams {
		jt := jsonTeam{
			Team: t.Name, Calendar: t.Calendar, Durations: Durations(t),
			Finished: t.Finished, Canceled: t.Canceled, Reopened: t.Reopened,
			Efficiency: t.Efficiency, EfficiencyMedian: t.EfficiencyMedian,
			ActiveSeconds: t.ActiveSeconds, FlowSeconds: t.FlowSeconds,
			All: toType(t.All), FlowTypes: []jsonType{}, LoadDaily: []jsonLoad{},
			OpenItems: t.OpenItems, AgeSeconds: toQuantiles(t.Age), Waits: []jsonWait{},
			Delivered: t.Delivered, DoneNotDelivered: t.DoneNotDelivered, DoneNotDeliveredShare: t.DoneNotDeliveredShare,
			TimeToDeliverySeconds: toQuantiles(t.TimeToDelivery), Unmapped: []string{},
		}
		for _, f := range t.ByType {
			jt.FlowTypes = append(jt.FlowTypes, toType(f))
		}
		for _, s := range t.LoadDaily {
			by := map[string]int{}
			for _, ft := range schema.FlowTypes {
				by[ft] = s.ByType[ft]
			}
			for ft, n := range s.ByType {
				by[ft] = n
			}
			jt.LoadDaily = append(jt.LoadDaily, jsonLoad{At: s.At.UTC(), Total: s.Total, ByType: by})
		}
		for _, s := range t.Waits {
			jt.Waits = append(jt.Waits, jsonWait{Status: s.Status, Seconds: s.Seconds, Items: s.Items})
		}
		jt.Unmapped = append(jt.Unmapped, t.Unmapped...)
		out.Teams = append(out.Teams, jt)
	}
	return out
}

// --- CSV ---

// row is what one CSV row shows: a team's figures with those of all its flow types
// (level team, flow_type all), or one flow type's (level flow_type), whose
// team-only cells are empty; every row says how its team counts durations.
type row struct {
	team   *flow.Team
	isTeam bool
	types  flow.TypeFigures
}

type csvColumn struct {
	name string
	get  func(r row) string
}

func teamOnly(get func(t *flow.Team) string) func(r row) string {
	return func(r row) string {
		if !r.isTeam {
			return ""
		}
		return get(r.team)
	}
}

func quantileColumns(prefix string, q func(r row) (aggregate.Quantiles, bool)) []csvColumn {
	get := func(pick func(aggregate.Quantiles) string) func(r row) string {
		return func(r row) string {
			v, ok := q(r)
			if !ok {
				return ""
			}
			return pick(v)
		}
	}
	return []csvColumn{
		{prefix + ".p50", get(func(v aggregate.Quantiles) string { return seconds(v.P50).String() })},
		{prefix + ".p85", get(func(v aggregate.Quantiles) string { return seconds(v.P85).String() })},
		{prefix + ".p95", get(func(v aggregate.Quantiles) string { return seconds(v.P95).String() })},
		{prefix + ".count", get(func(v aggregate.Quantiles) string { return strconv.Itoa(v.Count) })},
		{prefix + ".sum", get(func(v aggregate.Quantiles) string {
			return strconv.FormatFloat(math.Round(v.Sum*1000)/1000, 'f', -1, 64)
		})},
	}
}

func teamQuantiles(q func(t *flow.Team) aggregate.Quantiles) func(r row) (aggregate.Quantiles, bool) {
	return func(r row) (aggregate.Quantiles, bool) {
		if !r.isTeam {
			return aggregate.Quantiles{}, false
		}
		return q(r.team), true
	}
}

// csvColumns are the CSV columns after level, team, flow_type and the window, each
// named by its JSON path.
var csvColumns = concat(
	[]csvColumn{
		{"calendar", func(r row) string { return r.team.Calendar }},
		{"durations", func(r row) string { return Durations(*r.team) }},
		{"finished", func(r row) string { return strconv.Itoa(r.types.Finished) }},
		{"canceled", teamOnly(func(t *flow.Team) string { return strconv.Itoa(t.Canceled) })},
		{"reopened", teamOnly(func(t *flow.Team) string { return strconv.Itoa(t.Reopened) })},
		{"efficiency", func(r row) string {
			if r.isTeam {
				return r.team.Efficiency.String()
			}
			return r.types.Efficiency.String()
		}},
		{"efficiency_median", teamOnly(func(t *flow.Team) string { return t.EfficiencyMedian.String() })},
		{"active_seconds", teamOnly(func(t *flow.Team) string { return strconv.FormatInt(t.ActiveSeconds, 10) })},
		{"flow_seconds", teamOnly(func(t *flow.Team) string { return strconv.FormatInt(t.FlowSeconds, 10) })},
	},
	quantileColumns("flow_time_seconds", func(r row) (aggregate.Quantiles, bool) { return r.types.FlowTime, true }),
	[]csvColumn{
		{"velocity_per_week", func(r row) string { return r.types.VelocityPerWeek.String() }},
		{"distribution", func(r row) string { return r.types.Distribution.String() }},
		{"load", func(r row) string { return strconv.Itoa(r.types.Load) }},
		{"open_items", teamOnly(func(t *flow.Team) string { return strconv.Itoa(t.OpenItems) })},
	},
	quantileColumns("age_seconds", teamQuantiles(func(t *flow.Team) aggregate.Quantiles { return t.Age })),
	[]csvColumn{
		{"delivered", teamOnly(func(t *flow.Team) string { return strconv.Itoa(t.Delivered) })},
		{"done_not_delivered", teamOnly(func(t *flow.Team) string { return strconv.Itoa(t.DoneNotDelivered) })},
		{"done_not_delivered_share", teamOnly(func(t *flow.Team) string { return t.DoneNotDeliveredShare.String() })},
	},
	quantileColumns("time_to_delivery_seconds", teamQuantiles(func(t *flow.Team) aggregate.Quantiles { return t.TimeToDelivery })),
	[]csvColumn{
		{"unmapped", teamOnly(func(t *flow.Team) string { return strings.Join(t.Unmapped, ";") })},
	},
)

func concat(parts ...[]csvColumn) []csvColumn {
	var out []csvColumn
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// CSVHeader is the CSV report's header row; its names are the JSON paths, so one
// documentation serves both.
func CSVHeader() []string {
	h := []string{"level", "team", "flow_type", "window.from", "window.to", "window.as_of"}
	for _, c := range csvColumns {
		h = append(h, c.name)
	}
	return h
}

// WriteCSV writes, per team, a row of the team's figures over all flow types (level
// team, flow_type all), then one row per flow type (level flow_type) with the
// figures each flow type has and the team's own cells empty; calendar and durations
// are on every row. Undefined figures are
// empty cells; unmapped statuses are joined by ";". The daily load samples and the
// waits are in the JSON only.
func WriteCSV(w io.Writer, r flow.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader()); err != nil {
		return err
	}
	from, to, asOf := r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339), r.AsOf.UTC().Format(time.RFC3339)
	write := func(level, team string, x row) error {
		rec := []string{level, team, x.types.FlowType, from, to, asOf}
		for _, c := range csvColumns {
			rec = append(rec, c.get(x))
		}
		return cw.Write(rec)
	}
	for i := range r.Teams {
		t := &r.Teams[i]
		all := t.All
		all.FlowType = orAll(all.FlowType)
		if err := write("team", t.Name, row{team: t, isTeam: true, types: all}); err != nil {
			return err
		}
		for _, f := range t.ByType {
			if err := write("flow_type", t.Name, row{team: t, types: f}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func orAll(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

// --- Markdown ---

// legend quotes the definitions of docs/metrics.md, so a reader of the report
// alone knows what each figure counts.
const legend = `An item's **flow time** = its last entry into done − its commitment point, its first ` +
	`entry into wait or active; its time in active states plus its time in wait states is its ` +
	`flow time. **Finished** items entered done for the last time in the window; **canceled** ` +
	`ones were canceled in it; **reopened** ones are finished items that left done at least once. ` +
	`**Flow efficiency** = Σ active time / Σ flow time of the finished items (work-weighted), and ` +
	`the **median efficiency** is the median of their own efficiencies. **Load** is the number of ` +
	`items in wait or active, sampled daily at 00:00 UTC and counted at as-of. **Velocity** is ` +
	`the items entering done per week of the window up to as-of. **Distribution** is each flow ` +
	`type's share of the finished items. **Age** = as-of − commitment point of the committed, ` +
	`unfinished items. **Waits** are the wait statuses where the finished items spent most of ` +
	`their flow time. An item is **delivered** at the latest production deployment shipping one ` +
	`of its linked pull requests, or when done if it has none; **done, not delivered** items have ` +
	`a merged pull request not shipped yet. **Time to delivery** = delivered_at − commitment ` +
	`point. Durations are wall-clock time, or the working hours of the team's calendar where ` +
	`its line says so. Percentiles interpolate linearly; "—" means there was no data for the ` +
	`figure.`

// WriteMarkdown writes the report for people: the window, a legend, a table of
// teams, then each team's section: how its durations were counted, its unmapped
// statuses, a table of flow types, its load, open items, waits and delivery.
func WriteMarkdown(w io.Writer, r flow.Report) error {
	var b strings.Builder
	b.WriteString("# Flow report\n\n")
	fmt.Fprintf(&b, "- Window: %s, %s days, UTC\n", render.Window(r.From, r.To), render.Trim(r.To.Sub(r.From).Hours()/24, 2))
	if r.AsOf.Before(r.To) {
		fmt.Fprintf(&b, "- As of %s UTC: %s days elapsed; velocity counts only those, and open items and the load are counted at it\n",
			r.AsOf.UTC().Format(render.TimeLayout), render.Trim(render.ElapsedDays(r.From, r.AsOf), 2))
	}
	b.WriteString("\n" + legend + "\n\n")

	b.WriteString("## Teams\n\n")
	if len(r.Teams) == 0 {
		b.WriteString("No teams.\n")
	} else {
		b.WriteString("| team | durations | finished | canceled | reopened | flow efficiency | median efficiency | flow time p50 | flow time p85 | flow time p95 | velocity/week | load | open items | age p50 | delivered | done, not delivered | time to delivery p50 |\n")
		b.WriteString("| --- | --- |" + strings.Repeat(" ---: |", 15) + "\n")
		for _, t := range r.Teams {
			dur := durationWriter(t)
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %d | %d | %s | %d | %d | %s |\n",
				render.Escape(t.Name), render.Escape(Durations(t)), t.Finished, t.Canceled, t.Reopened,
				render.Percent(t.Efficiency), render.Percent(t.EfficiencyMedian),
				dur(t.All.FlowTime.P50), dur(t.All.FlowTime.P85), dur(t.All.FlowTime.P95),
				render.Number(t.All.VelocityPerWeek, 1), t.All.Load, t.OpenItems, dur(t.Age.P50),
				t.Delivered, t.DoneNotDelivered, dur(t.TimeToDelivery.P50))
		}
	}
	for _, t := range r.Teams {
		writeTeam(&b, t)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// durationWriter prints a team's durations: in working hours, never in days, when
// they count the hours of its calendar.
func durationWriter(t flow.Team) func(aggregate.Value) string {
	if t.Calendar != "" {
		return render.Hours
	}
	return render.Duration
}

func writeTeam(b *strings.Builder, t flow.Team) {
	dur := durationWriter(t)
	fmt.Fprintf(b, "\n## %s\n\n", render.Escape(t.Name))
	fmt.Fprintf(b, "Durations: %s.\n\n", Durations(t))
	if len(t.Unmapped) > 0 {
		fmt.Fprintf(b, "**Warning:** statuses not in the mapping, counted under their category: %s.\n\n", render.Escape(strings.Join(t.Unmapped, ", ")))
	}
	b.WriteString("| flow type | finished | distribution | flow time p50 | flow time p85 | flow time p95 | efficiency | velocity/week | load |\n")
	b.WriteString("| --- |" + strings.Repeat(" ---: |", 8) + "\n")
	for _, f := range append([]flow.TypeFigures{t.All}, t.ByType...) {
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %d |\n",
			render.Escape(orAll(f.FlowType)), f.Finished, render.Percent(f.Distribution),
			dur(f.FlowTime.P50), dur(f.FlowTime.P85), dur(f.FlowTime.P95),
			render.Percent(f.Efficiency), render.Number(f.VelocityPerWeek, 1), f.Load)
	}
	b.WriteString("\n")
	if n := len(t.LoadDaily); n > 0 {
		s := t.LoadDaily[n-1]
		fmt.Fprintf(b, "- Load at %s UTC (latest daily sample): %d%s\n", s.At.UTC().Format(render.TimeLayout), s.Total, byType(s.ByType))
	}
	fmt.Fprintf(b, "- Open items: %d; age p50 %s, p85 %s, p95 %s\n", t.OpenItems,
		dur(t.Age.P50), dur(t.Age.P85), dur(t.Age.P95))
	fmt.Fprintf(b, "- Delivered: %d; done, not delivered: %d (%s of finished); time to delivery p50 %s, p85 %s, p95 %s\n",
		t.Delivered, t.DoneNotDelivered, render.Percent(t.DoneNotDeliveredShare),
		dur(t.TimeToDelivery.P50), dur(t.TimeToDelivery.P85), dur(t.TimeToDelivery.P95))
	if len(t.Waits) > 0 {
		b.WriteString("\nWhere work waits longest:\n\n| status | time waiting | items |\n| --- | ---: | ---: |\n")
		for _, s := range t.Waits {
			fmt.Fprintf(b, "| %s | %s | %d |\n", render.Escape(s.Status), dur(aggregate.Some(float64(s.Seconds))), s.Items)
		}
	}
}

// byType lists a load sample's flow types in schema.FlowTypes order, then any
// other in name order: " (feature 3, defect 1)"; nothing when all are 0.
func byType(counts map[string]int) string {
	var parts []string
	seen := map[string]bool{}
	for _, ft := range schema.FlowTypes {
		seen[ft] = true
		if n := counts[ft]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", ft, n))
		}
	}
	var rest []string
	for ft, n := range counts {
		if !seen[ft] && n > 0 {
			rest = append(rest, ft)
		}
	}
	slices.Sort(rest)
	for _, ft := range rest {
		parts = append(parts, fmt.Sprintf("%s %d", ft, counts[ft]))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
