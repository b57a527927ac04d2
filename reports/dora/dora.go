// Package dora renders the DORA report, a window's DORA figures per team and per
// service (metrics/aggregate) compared with the previous window's, as Markdown and
// a self-contained HTML page for people, and as JSON and CSV with stable keys for
// other tools; with an explanation, each figure also names the facts behind it and
// the report lists those facts' values once. docs/reports.md documents every key;
// changing one is a breaking change.
package dora

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
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
	HTML     = render.HTML
)

// ParseFormat checks a format named on the command line against the formats the
// DORA report writes, so a typo is an error rather than a default.
func ParseFormat(s string) (Format, error) { return render.ParseFormat(s, Markdown, JSON, CSV, HTML) }

// Reports is what the DORA report shows: the window's figures, and the previous
// window's (aggregate.PreviousWindow) to say what changed. A zero Previous means
// there is nothing to compare with: the report shows no changes.
type Reports struct {
	Current, Previous aggregate.Report
}

// Render writes the report in the format; a report built with Explain is written
// with its explanation (in CSV, as the explanation's rows instead of the figures').
// CSV holds the current window only.
func Render(w io.Writer, rs Reports, f Format) error {
	switch f {
	case Markdown:
		return WriteMarkdown(w, rs)
	case HTML:
		return WriteHTML(w, rs)
	case JSON:
		return WriteJSON(w, rs)
	case CSV:
		if rs.Current.Facts != nil {
			return WriteExplanationCSV(w, rs.Current)
		}
		return WriteCSV(w, rs.Current)
	}
	return fmt.Errorf("unknown format %q", f)
}

// --- JSON ---

type jsonReport struct {
	Window    render.JSONWindow `json:"window"`
	DORATable string            `json:"dora_table"`
	Teams     []jsonTeam        `json:"teams"`
	Previous  *jsonPrevious     `json:"previous"`
	Facts     *jsonFacts        `json:"facts,omitempty"`
}

// jsonPrevious is the previous window in the shape of the current one, so that a
// reader works out each change from the two; it carries no explanation.
type jsonPrevious struct {
	Window render.JSONWindow `json:"window"`
	Teams  []jsonTeam        `json:"teams"`
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
// docs/reports.md lists; undefined figures and tiers are null, previous is null
// without a previous window, and explain and facts appear only when the report was
// built with Explain.
func WriteJSON(w io.Writer, rs Reports) error {
	r := rs.Current
	out := jsonReport{
		Window:    render.WindowOf(r.From, r.To, r.AsOf),
		DORATable: r.Table,
		Teams:     teamsJSON(r, true),
		Facts:     toJSONFacts(r),
	}
	if hasPrevious(rs) {
		p := rs.Previous
		out.Previous = &jsonPrevious{Window: render.WindowOf(p.From, p.To, p.AsOf), Teams: teamsJSON(p, false)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// teamsJSON is a report's teams with their services, and their explanations when
// explain is set and the report has them.
func teamsJSON(r aggregate.Report, explain bool) []jsonTeam {
	out := []jsonTeam{}
	for _, t := range r.Teams {
		jt := jsonTeam{Team: t.Name, jsonFigures: toJSON(t.Figures), Services: []jsonService{}}
		if explain {
			jt.Explain = t.Explain
		}
		for _, s := range t.Services {
			js := jsonService{Service: s.Name, jsonFigures: toJSON(s.Figures)}
			if explain {
				js.Explain = s.Explain
			}
			jt.Services = append(jt.Services, js)
		}
		out = append(out, jt)
	}
	return out
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
