// Package dora renders the DORA report, a window's DORA figures per team and per
// service (metrics/aggregate), as Markdown for people, and as JSON and CSV with
// stable keys for other tools; with an explanation, each figure also names the facts
// behind it and the report lists those facts' values once. docs/reports.md documents
// every key; changing one is a breaking change.
package dora

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
	tiers "github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/reports/render"
	"github.com/flowmeter/flowmeter/schema"
)

// Format is an output format of the report.
type Format = render.Format

// The formats.
const (
	Markdown = render.Markdown
	JSON     = render.JSON
	CSV      = render.CSV
)

// ParseFormat checks a format named on the command line, so a typo is an error
// rather than a default.
func ParseFormat(s string) (Format, error) { return render.ParseFormat(s) }

// Reports is what the DORA report shows: the window's figures, and the previous
// window's (aggregate.PreviousWindow) to say what changed.
type Reports struct {
	Current, Previous aggregate.Report
}

// Render writes the report in the format; a report built with Explain is written
// with its explanation (in CSV, as the explanation's rows instead of the figures').
func Render(w io.Writer, rs Reports, f Format) error {
	r := rs.Current
	switch f {
	case Markdown:
		return WriteMarkdown(w, r)
	case JSON:
		return WriteJSON(w, r)
	case CSV:
		if r.Facts != nil {
			return WriteExplanationCSV(w, r)
		}
		return WriteCSV(w, r)
	}
	return fmt.Errorf("unknown format %q", f)
}

// --- JSON ---

type jsonReport struct {
	Window    render.JSONWindow `json:"window"`
	DORATable string            `json:"dora_table"`
	Teams     []jsonTeam        `json:"teams"`
	Facts     *jsonFacts        `json:"facts,omitempty"`
}

type jsonTeam struct {
	Team string `json:"team"`
	jsonFigures
	Services []jsonService       `json:"services"`
	Explain  map[string][]string `json:"explain,omitempty"`
}

type jsonService struct {
	Service string `json:"service"`
	jsonFigures
	Explain map[string][]string `json:"explain,omitempty"`
}

type jsonFigures struct {
	Deployments                     int             `json:"deployments"`
	DeploymentFrequencyPerDay       aggregate.Value `json:"deployment_frequency_per_day"`
	DeployDaysPerWeekMedian         aggregate.Value `json:"deploy_days_per_week_median"`
	DeployDaysPerMonthMedian        aggregate.Value `json:"deploy_days_per_month_median"`
	DeploymentsPerDeployDayMedian   aggregate.Value `json:"deployments_per_deploy_day_median"`
	ChangesShipped                  int             `json:"changes_shipped"`
	Untracked                       int             `json:"untracked"`
	Undeployed                      int             `json:"undeployed"`
	UndeployedAgeSeconds            jsonP50         `json:"undeployed_age_seconds"`
	LeadTimeSeconds                 jsonP95         `json:"lead_time_seconds"`
	LeadTimePartsSeconds            jsonParts       `json:"lead_time_parts_seconds"`
	FailedDeployments               int             `json:"failed_deployments"`
	FailedDeploymentsInferred       int             `json:"failed_deployments_inferred"`
	FailureReasons                  map[string]int  `json:"failure_reasons"`
	FailedDeployAttempts            int             `json:"failed_deploy_attempts"`
	ChangeFailureRate               aggregate.Value `json:"change_failure_rate"`
	FailedDeploymentRecoverySeconds jsonP85         `json:"failed_deployment_recovery_seconds"`
	TimeToRestoreSeconds            jsonP85         `json:"time_to_restore_seconds"`
	ReworkRate                      aggregate.Value `json:"rework_rate"`
	ReworkReasons                   map[string]int  `json:"rework_reasons"`
	Tiers                           jsonTiers       `json:"tiers"`
}

type jsonTiers struct {
	DeploymentFrequency      *string `json:"deployment_frequency"`
	LeadTime                 *string `json:"lead_time"`
	ChangeFailureRate        *string `json:"change_failure_rate"`
	FailedDeploymentRecovery *string `json:"failed_deployment_recovery"`
}

type jsonP50 struct {
	P50 aggregate.Value `json:"p50"`
}

type jsonP85 struct {
	P50 aggregate.Value `json:"p50"`
	P85 aggregate.Value `json:"p85"`
}

type jsonP95 struct {
	P50 aggregate.Value `json:"p50"`
	P85 aggregate.Value `json:"p85"`
	P95 aggregate.Value `json:"p95"`
}

type jsonParts struct {
	Coding aggregate.Value `json:"coding"`
	Pickup aggregate.Value `json:"pickup"`
	Review aggregate.Value `json:"review"`
	Deploy aggregate.Value `json:"deploy"`
}

// seconds rounds a duration to the millisecond: interpolated percentiles carry
// floating-point noise (146880.00000000003) that no reader wants.
func seconds(v aggregate.Value) aggregate.Value {
	if f, ok := v.Get(); ok {
		return aggregate.Some(math.Round(f*1000) / 1000)
	}
	return v
}

func tierPtr(t tiers.Tier) *string {
	if t == tiers.NoTier {
		return nil
	}
	s := t.String()
	return &s
}

func toJSON(f aggregate.Figures) jsonFigures {
	return jsonFigures{
		Deployments:                   f.Deployments,
		DeploymentFrequencyPerDay:     f.DeploymentFrequencyPerDay,
		DeployDaysPerWeekMedian:       f.DeployDaysPerWeekMedian,
		DeployDaysPerMonthMedian:      f.DeployDaysPerMonthMedian,
		DeploymentsPerDeployDayMedian: f.DeploymentsPerDeployDayMedian,
		ChangesShipped:                f.ChangesShipped,
		Untracked:                     f.Untracked,
		Undeployed:                    f.Undeployed,
		UndeployedAgeSeconds:          jsonP50{seconds(f.UndeployedAgeSeconds)},
		LeadTimeSeconds: jsonP95{
			seconds(f.LeadTimeSeconds.P50), seconds(f.LeadTimeSeconds.P85), seconds(f.LeadTimeSeconds.P95),
		},
		LeadTimePartsSeconds: jsonParts{
			seconds(f.LeadTimePartsSeconds.Coding.P50), seconds(f.LeadTimePartsSeconds.Pickup.P50),
			seconds(f.LeadTimePartsSeconds.Review.P50), seconds(f.LeadTimePartsSeconds.Deploy.P50),
		},
		FailedDeployments:         f.FailedDeployments,
		FailedDeploymentsInferred: f.FailedDeploymentsInferred,
		FailureReasons:            f.FailureReasons,
		FailedDeployAttempts:      f.FailedDeployAttempts,
		ChangeFailureRate:         f.ChangeFailureRate,
		FailedDeploymentRecoverySeconds: jsonP85{
			seconds(f.FailedDeploymentRecoverySeconds.P50), seconds(f.FailedDeploymentRecoverySeconds.P85),
		},
		TimeToRestoreSeconds: jsonP85{seconds(f.TimeToRestoreSeconds.P50), seconds(f.TimeToRestoreSeconds.P85)},
		ReworkRate:           f.ReworkRate,
		ReworkReasons:        f.ReworkReasons,
		Tiers: jsonTiers{
			DeploymentFrequency:      tierPtr(f.Tiers.DeploymentFrequency),
			LeadTime:                 tierPtr(f.Tiers.LeadTime),
			ChangeFailureRate:        tierPtr(f.Tiers.ChangeFailureRate),
			FailedDeploymentRecovery: tierPtr(f.Tiers.FailedDeploymentRecovery),
		},
	}
}

// WriteJSON writes the report as one indented JSON document with the keys
// docs/reports.md lists; undefined figures and tiers are null, and explain and facts
// appear only when the report was built with Explain.
func WriteJSON(w io.Writer, r aggregate.Report) error {
	out := jsonReport{
		Window:    render.WindowOf(r.From, r.To, r.AsOf),
		DORATable: r.Table,
		Teams:     []jsonTeam{},
		Facts:     toJSONFacts(r),
	}
	for _, t := range r.Teams {
		jt := jsonTeam{Team: t.Name, jsonFigures: toJSON(t.Figures), Services: []jsonService{}, Explain: t.Explain}
		for _, s := range t.Services {
			jt.Services = append(jt.Services, jsonService{Service: s.Name, jsonFigures: toJSON(s.Figures), Explain: s.Explain})
		}
		out.Teams = append(out.Teams, jt)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// --- CSV ---

// csvColumns are the CSV columns after level, team and service, each named by its
// JSON path, with how to read it from a row's figures.
var csvColumns = slices.Concat([]csvColumn{
	{"deployments", func(f aggregate.Figures) string { return strconv.Itoa(f.Deployments) }},
	{"deployment_frequency_per_day", func(f aggregate.Figures) string { return f.DeploymentFrequencyPerDay.String() }},
	{"deploy_days_per_week_median", func(f aggregate.Figures) string { return f.DeployDaysPerWeekMedian.String() }},
	{"deploy_days_per_month_median", func(f aggregate.Figures) string { return f.DeployDaysPerMonthMedian.String() }},
	{"deployments_per_deploy_day_median", func(f aggregate.Figures) string { return f.DeploymentsPerDeployDayMedian.String() }},
	{"changes_shipped", func(f aggregate.Figures) string { return strconv.Itoa(f.ChangesShipped) }},
	{"untracked", func(f aggregate.Figures) string { return strconv.Itoa(f.Untracked) }},
	{"undeployed", func(f aggregate.Figures) string { return strconv.Itoa(f.Undeployed) }},
	{"undeployed_age_seconds.p50", func(f aggregate.Figures) string { return seconds(f.UndeployedAgeSeconds).String() }},
	{"lead_time_seconds.p50", func(f aggregate.Figures) string { return seconds(f.LeadTimeSeconds.P50).String() }},
	{"lead_time_seconds.p85", func(f aggregate.Figures) string { return seconds(f.LeadTimeSeconds.P85).String() }},
	{"lead_time_seconds.p95", func(f aggregate.Figures) string { return seconds(f.LeadTimeSeconds.P95).String() }},
	{"lead_time_parts_seconds.coding", func(f aggregate.Figures) string { return seconds(f.LeadTimePartsSeconds.Coding.P50).String() }},
	{"lead_time_parts_seconds.pickup", func(f aggregate.Figures) string { return seconds(f.LeadTimePartsSeconds.Pickup.P50).String() }},
	{"lead_time_parts_seconds.review", func(f aggregate.Figures) string { return seconds(f.LeadTimePartsSeconds.Review.P50).String() }},
	{"lead_time_parts_seconds.deploy", func(f aggregate.Figures) string { return seconds(f.LeadTimePartsSeconds.Deploy.P50).String() }},
	{"failed_deployments", func(f aggregate.Figures) string { return strconv.Itoa(f.FailedDeployments) }},
	{"failed_deployments_inferred", func(f aggregate.Figures) string { return strconv.Itoa(f.FailedDeploymentsInferred) }},
}, reasonColumns("failure_reasons.", schema.FailureReasons, func(f aggregate.Figures) map[string]int { return f.FailureReasons }),
	[]csvColumn{
		{"failed_deploy_attempts", func(f aggregate.Figures) string { return strconv.Itoa(f.FailedDeployAttempts) }},
		{"change_failure_rate", func(f aggregate.Figures) string { return f.ChangeFailureRate.String() }},
		{"failed_deployment_recovery_seconds.p50", func(f aggregate.Figures) string {
			return seconds(f.FailedDeploymentRecoverySeconds.P50).String()
		}},
		{"failed_deployment_recovery_seconds.p85", func(f aggregate.Figures) string {
			return seconds(f.FailedDeploymentRecoverySeconds.P85).String()
		}},
		{"time_to_restore_seconds.p50", func(f aggregate.Figures) string { return seconds(f.TimeToRestoreSeconds.P50).String() }},
		{"time_to_restore_seconds.p85", func(f aggregate.Figures) string { return seconds(f.TimeToRestoreSeconds.P85).String() }},
		{"rework_rate", func(f aggregate.Figures) string { return f.ReworkRate.String() }},
	}, reasonColumns("rework_reasons.", schema.UnplannedReasons, func(f aggregate.Figures) map[string]int { return f.ReworkReasons }),
	[]csvColumn{
		{"tiers.deployment_frequency", func(f aggregate.Figures) string { return f.Tiers.DeploymentFrequency.String() }},
		{"tiers.lead_time", func(f aggregate.Figures) string { return f.Tiers.LeadTime.String() }},
		{"tiers.change_failure_rate", func(f aggregate.Figures) string { return f.Tiers.ChangeFailureRate.String() }},
		{"tiers.failed_deployment_recovery", func(f aggregate.Figures) string { return f.Tiers.FailedDeploymentRecovery.String() }},
	})

// csvColumn is one CSV column: its name, the figure's JSON path, and how to read it.
type csvColumn struct {
	name string
	get  func(f aggregate.Figures) string
}

// reasonColumns is a column per reason, counting the deployments holding it.
func reasonColumns(prefix string, reasons []string, counts func(aggregate.Figures) map[string]int) []csvColumn {
	out := make([]csvColumn, len(reasons))
	for i, r := range reasons {
		out[i] = csvColumn{prefix + r, func(f aggregate.Figures) string { return strconv.Itoa(counts(f)[r]) }}
	}
	return out
}

// CSVHeader is the CSV report's header row; its names are the JSON paths, so one
// documentation serves both.
func CSVHeader() []string {
	h := []string{"level", "team", "service", "window.from", "window.to", "window.as_of", "dora_table"}
	for _, c := range csvColumns {
		h = append(h, c.name)
	}
	return h
}

// WriteCSV writes one row per team, followed by one row per service of that team;
// undefined figures and tiers are empty cells. The explanation has its own CSV
// (WriteExplanationCSV).
func WriteCSV(w io.Writer, r aggregate.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader()); err != nil {
		return err
	}
	from, to, asOf := r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339), r.AsOf.UTC().Format(time.RFC3339)
	row := func(level, team, service string, f aggregate.Figures) error {
		rec := []string{level, team, service, from, to, asOf, r.Table}
		for _, c := range csvColumns {
			rec = append(rec, c.get(f))
		}
		return cw.Write(rec)
	}
	for _, t := range r.Teams {
		if err := row("team", t.Name, "", t.Figures); err != nil {
			return err
		}
		for _, s := range t.Services {
			if err := row("service", t.Name, s.Name, s.Figures); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// --- Markdown ---

// mdColumns are the Markdown table's columns after the team or service name.
var mdColumns = []struct {
	head string
	get  func(f aggregate.Figures) string
}{
	{"deploys", func(f aggregate.Figures) string { return strconv.Itoa(f.Deployments) }},
	{"deploys/day", func(f aggregate.Figures) string { return render.Number(f.DeploymentFrequencyPerDay, 2) }},
	{"deploy days/week (median)", func(f aggregate.Figures) string { return render.Number(f.DeployDaysPerWeekMedian, 1) }},
	{"deploy days/month (median)", func(f aggregate.Figures) string { return render.Number(f.DeployDaysPerMonthMedian, 1) }},
	{"deploys/deploy day (median)", func(f aggregate.Figures) string { return render.Number(f.DeploymentsPerDeployDayMedian, 1) }},
	{"shipped", func(f aggregate.Figures) string { return strconv.Itoa(f.ChangesShipped) }},
	{"untracked", func(f aggregate.Figures) string { return strconv.Itoa(f.Untracked) }},
	{"undeployed", func(f aggregate.Figures) string { return strconv.Itoa(f.Undeployed) }},
	{"undeployed age (median)", func(f aggregate.Figures) string { return render.Duration(f.UndeployedAgeSeconds) }},
	{"lead time p50", func(f aggregate.Figures) string { return render.Duration(f.LeadTimeSeconds.P50) }},
	{"lead time p85", func(f aggregate.Figures) string { return render.Duration(f.LeadTimeSeconds.P85) }},
	{"lead time p95", func(f aggregate.Figures) string { return render.Duration(f.LeadTimeSeconds.P95) }},
	{"coding", func(f aggregate.Figures) string { return render.Duration(f.LeadTimePartsSeconds.Coding.P50) }},
	{"pickup", func(f aggregate.Figures) string { return render.Duration(f.LeadTimePartsSeconds.Pickup.P50) }},
	{"review", func(f aggregate.Figures) string { return render.Duration(f.LeadTimePartsSeconds.Review.P50) }},
	{"deploy", func(f aggregate.Figures) string { return render.Duration(f.LeadTimePartsSeconds.Deploy.P50) }},
	{"failed deploys", func(f aggregate.Figures) string { return strconv.Itoa(f.FailedDeployments) }},
	{"of which inferred", func(f aggregate.Figures) string { return strconv.Itoa(f.FailedDeploymentsInferred) }},
	{"failure reasons", func(f aggregate.Figures) string { return reasons(f.FailureReasons, schema.FailureReasons) }},
	{"change failure rate", func(f aggregate.Figures) string { return render.Percent(f.ChangeFailureRate) }},
	{"failed attempts", func(f aggregate.Figures) string { return strconv.Itoa(f.FailedDeployAttempts) }},
	{"recovery p50", func(f aggregate.Figures) string { return render.Duration(f.FailedDeploymentRecoverySeconds.P50) }},
	{"recovery p85", func(f aggregate.Figures) string { return render.Duration(f.FailedDeploymentRecoverySeconds.P85) }},
	{"time to restore p50", func(f aggregate.Figures) string { return render.Duration(f.TimeToRestoreSeconds.P50) }},
	{"time to restore p85", func(f aggregate.Figures) string { return render.Duration(f.TimeToRestoreSeconds.P85) }},
	{"rework rate", func(f aggregate.Figures) string { return render.Percent(f.ReworkRate) }},
	{"rework reasons", func(f aggregate.Figures) string { return reasons(f.ReworkReasons, schema.UnplannedReasons) }},
	{"tier: deployment frequency", func(f aggregate.Figures) string { return tier(f.Tiers.DeploymentFrequency) }},
	{"tier: lead time", func(f aggregate.Figures) string { return tier(f.Tiers.LeadTime) }},
	{"tier: change failure rate", func(f aggregate.Figures) string { return tier(f.Tiers.ChangeFailureRate) }},
	{"tier: recovery", func(f aggregate.Figures) string { return tier(f.Tiers.FailedDeploymentRecovery) }},
}

// reasons lists the reasons some deployments hold, with how many, in their order:
// "rolled_back 2, hotfixed 1"; a render.Dash when none does.
func reasons(counts map[string]int, order []string) string {
	var parts []string
	for _, r := range order {
		if n := counts[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", r, n))
		}
	}
	if len(parts) == 0 {
		return render.Dash
	}
	return strings.Join(parts, ", ")
}

// legend quotes the definitions of docs/metrics.md, so a reader of the report
// alone knows what each column counts.
const legend = `**Deploys** are successful deployments to a production environment finished in the ` +
	`window, a rollout of one commit to several production environments once; deploys/day ` +
	`divides them by the days of the window elapsed, and the deploy-day medians (UTC days with at ` +
	`least one production deployment, per week from Monday and per calendar month that has ` +
	`started, a period without any counting 0) and the deploys on the median deploy day give the ` +
	`deployment-frequency tier. **Lead time** is shipped_at − first commit of each pull request ` +
	`shipped in the window, split into coding (opened or ready for review − first commit), pickup ` +
	`(first review by someone other than the author and not a bot − ready), review (merge − first ` +
	`review) and deploy (shipped − merge), each part a median. **Untracked** pull requests were ` +
	`merged before the first production deployment flowmeter saw; **undeployed** ones are merged ` +
	`and not yet shipped, aged at the window's end or now, whichever is earlier. A production ` +
	`deployment **failed** when an incident names it, an incident of its service opens within the ` +
	`failure window and before the next deployment, a later deployment rolls it back or ships a ` +
	`revert of a pull request it shipped, or a hotfix replaces it; failures whose only reason is ` +
	`the incident in the window are **inferred**, and counted apart beside them. **Change failure ` +
	`rate** = failed / production deployments. **Failed attempts** (status failure or error) are ` +
	`counted apart and are not change failures. **Recovery** runs from a failed deployment's ` +
	`finish to the earliest of its incident's resolution and the rollback, hotfix or revert; **time to ` +
	`restore** is resolved − opened for every incident opened in the window, linked to a ` +
	`deployment or not. **Rework rate** = unplanned production deployments (rollbacks, hotfixes, ` +
	`reverts, deployments of fixes only) / production deployments. Percentiles interpolate ` +
	`linearly; "—" means there was no data for the figure.`

// WriteMarkdown writes the report for people: the window and the tier table, a
// legend, a table of teams with every figure, then each team's services; with an
// explanation, each team's section ends with the facts behind its figures, and a
// last section lists those facts' values.
func WriteMarkdown(w io.Writer, r aggregate.Report) error {
	var b strings.Builder
	b.WriteString("# DORA report\n\n")
	fmt.Fprintf(&b, "- Window: %s, %s days, UTC\n", render.Window(r.From, r.To), render.Trim(r.To.Sub(r.From).Hours()/24, 2))
	if r.AsOf.Before(r.To) {
		fmt.Fprintf(&b, "- As of %s UTC: %s days elapsed; per-day figures and deploy days count only those, and undeployed changes are aged at it\n",
			r.AsOf.UTC().Format(render.TimeLayout), render.Trim(r.ElapsedDays(), 2))
	}
	table, err := tiers.Lookup(r.Table)
	if err != nil {
		fmt.Fprintf(&b, "- DORA table: %s (unknown: no tiers)\n", r.Table)
	} else {
		fmt.Fprintf(&b, "- DORA table: %s (%s)\n", table.Name, table.Source)
	}
	b.WriteString("\n" + legend + "\n\n")
	if table != nil {
		writeTierTable(&b, table)
	}

	b.WriteString("## Teams\n\n")
	if len(r.Teams) == 0 {
		b.WriteString("No teams.\n")
	} else {
		writeTable(&b, "team", len(r.Teams), func(i int) (string, aggregate.Figures) {
			return r.Teams[i].Name, r.Teams[i].Figures
		})
	}
	for _, t := range r.Teams {
		fmt.Fprintf(&b, "\n## %s\n\n", render.Escape(t.Name))
		if len(t.Services) == 0 {
			b.WriteString("No data in the window.\n")
		} else {
			writeTable(&b, "service", len(t.Services), func(i int) (string, aggregate.Figures) {
				return t.Services[i].Name, t.Services[i].Figures
			})
		}
		if t.Explain != nil {
			writeExplain(&b, t.Name, t.Explain)
			for _, s := range t.Services {
				writeExplain(&b, t.Name+" / "+s.Name, s.Explain)
			}
		}
	}
	if r.Facts != nil {
		writeFacts(&b, r)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func writeTierTable(b *strings.Builder, t *tiers.Table) {
	b.WriteString("| tier | deployment frequency | lead time | failed deployment recovery | change failure rate |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	rows := []struct {
		name             string
		df, lt, rec, cfr string
	}{
		{"elite", t.DeploymentFrequency.Words.Elite, t.LeadTime.Words.Elite, t.Recovery.Words.Elite, t.ChangeFailureRate.Words.Elite},
		{"high", t.DeploymentFrequency.Words.High, t.LeadTime.Words.High, t.Recovery.Words.High, t.ChangeFailureRate.Words.High},
		{"medium", t.DeploymentFrequency.Words.Medium, t.LeadTime.Words.Medium, t.Recovery.Words.Medium, t.ChangeFailureRate.Words.Medium},
		{"low", t.DeploymentFrequency.Words.Low, t.LeadTime.Words.Low, t.Recovery.Words.Low, t.ChangeFailureRate.Words.Low},
	}
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", r.name, render.Escape(r.df), render.Escape(r.lt), render.Escape(r.rec), render.Escape(r.cfr))
	}
	b.WriteString("\n")
	for _, n := range t.Notes {
		fmt.Fprintf(b, "- %s\n", render.Escape(n))
	}
	b.WriteString("\n")
}

func writeTable(b *strings.Builder, first string, n int, row func(int) (string, aggregate.Figures)) {
	b.WriteString("| " + first)
	for _, c := range mdColumns {
		b.WriteString(" | " + c.head)
	}
	b.WriteString(" |\n| --- |")
	for range mdColumns {
		b.WriteString(" ---: |")
	}
	b.WriteString("\n")
	for i := range n {
		name, f := row(i)
		b.WriteString("| " + render.Escape(name))
		for _, c := range mdColumns {
			b.WriteString(" | " + c.get(f))
		}
		b.WriteString(" |\n")
	}
}

func tier(t tiers.Tier) string {
	if t == tiers.NoTier {
		return render.Dash
	}
	return t.String()
}
