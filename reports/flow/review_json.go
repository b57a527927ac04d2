package flow

import (
	"io"
	"math"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/metrics/flow"
)

// jsonReviewDocument is the flow report's document (its keys unchanged) with
// the review's keys after them.
type jsonReviewDocument struct {
	jsonReport
	Previous    *jsonReport `json:"previous,omitempty"`
	YearEarlier *jsonReport `json:"year_earlier,omitempty"`
	Review      *jsonReview `json:"review,omitempty"`
}

type jsonReview struct {
	Windows      jsonWindowNames  `json:"windows"`
	Teams        []jsonTeamReview `json:"teams"`
	Organisation *jsonTeamReview  `json:"organisation"`
}

type jsonWindowNames struct {
	Current     string `json:"current"`
	Previous    string `json:"previous"`
	YearEarlier string `json:"year_earlier"`
}

type jsonTeamReview struct {
	Team                  string            `json:"team"`
	Calendars             []string          `json:"calendars"`
	Durations             string            `json:"durations"`
	NoWork                bool              `json:"no_work"`
	Finished              int               `json:"finished"`
	Canceled              int               `json:"canceled"`
	Reopened              int               `json:"reopened"`
	OpenItems             int               `json:"open_items"`
	AgeP50                aggregate.Value   `json:"age_p50_seconds"`
	Delivered             int               `json:"delivered"`
	DoneNotDelivered      int               `json:"done_not_delivered"`
	DoneNotDeliveredShare aggregate.Value   `json:"done_not_delivered_share"`
	DeliveryP50           aggregate.Value   `json:"time_to_delivery_p50_seconds"`
	Efficiency            jsonEfficiencies  `json:"efficiency"`
	ActiveWait            jsonActiveWait    `json:"active_wait"`
	Waits                 []jsonWaitShare   `json:"waits"`
	FlowTime              []jsonFlowTime    `json:"flow_time"`
	Histogram             jsonHistogram     `json:"histogram"`
	Weeks                 []jsonWeek        `json:"weeks"`
	Distribution          []jsonShare       `json:"distribution"`
	WorstItems            []jsonItem        `json:"worst_items"`
	ValueStream           jsonValueStream   `json:"value_stream"`
	DORA                  []jsonDORA        `json:"dora"`
	Observations          []jsonObservation `json:"observations"`
}

type jsonEfficiencies struct {
	Current             jsonWindowEfficiency `json:"current"`
	Previous            jsonWindowEfficiency `json:"previous"`
	YearEarlier         jsonWindowEfficiency `json:"year_earlier"`
	ChangeVsPrevious    aggregate.Value      `json:"change_vs_previous"`
	ChangeVsYearEarlier aggregate.Value      `json:"change_vs_year_earlier"`
}

type jsonWindowEfficiency struct {
	Finished         int             `json:"finished"`
	Efficiency       aggregate.Value `json:"efficiency"`
	EfficiencyMedian aggregate.Value `json:"efficiency_median"`
}

type jsonActiveWait struct {
	ActiveSeconds int64           `json:"active_seconds"`
	WaitSeconds   int64           `json:"wait_seconds"`
	ActiveShare   aggregate.Value `json:"active_share"`
	WaitShare     aggregate.Value `json:"wait_share"`
}

type jsonWaitShare struct {
	Status  string          `json:"status"`
	Seconds int64           `json:"seconds"`
	Items   int             `json:"items"`
	Share   aggregate.Value `json:"share"`
}

type jsonFlowTime struct {
	FlowType        string          `json:"flow_type"`
	Finished        int             `json:"finished"`
	P50             aggregate.Value `json:"p50_seconds"`
	P85             aggregate.Value `json:"p85_seconds"`
	P95             aggregate.Value `json:"p95_seconds"`
	Efficiency      aggregate.Value `json:"efficiency"`
	VelocityPerWeek aggregate.Value `json:"velocity_per_week"`
}

type jsonHistogram struct {
	DaySeconds int64        `json:"day_seconds"`
	Bins       []jsonBin    `json:"bins"`
	Markers    []jsonMarker `json:"markers"`
}

type jsonBin struct {
	Label    string          `json:"label"`
	FromDays float64         `json:"from_days"`
	ToDays   aggregate.Value `json:"to_days"`
	Count    int             `json:"count"`
}

type jsonMarker struct {
	Label    string  `json:"label"`
	Days     float64 `json:"days"`
	Position float64 `json:"position"`
}

type jsonWeek struct {
	Week     string          `json:"week"`
	Start    time.Time       `json:"start"`
	Partial  bool            `json:"partial"`
	Load     aggregate.Value `json:"load"`
	Finished int             `json:"finished"`
}

type jsonShare struct {
	FlowType string          `json:"flow_type"`
	Current  aggregate.Value `json:"current"`
	Previous aggregate.Value `json:"previous"`
	Change   aggregate.Value `json:"change"`
}

type jsonItem struct {
	Team          string  `json:"team"`
	ID            string  `json:"id"`
	Title         string  `json:"title"`
	FlowType      string  `json:"flow_type"`
	Calendar      string  `json:"calendar"`
	URL           string  `json:"url"`
	FlowSeconds   int64   `json:"flow_seconds"`
	ActiveSeconds int64   `json:"active_seconds"`
	WaitSeconds   int64   `json:"wait_seconds"`
	Efficiency    float64 `json:"efficiency"`
}

type jsonValueStream struct {
	Finished    int             `json:"finished"`
	Mapped      int             `json:"mapped"`
	Stages      []jsonStage     `json:"stages"`
	WorkSeconds float64         `json:"work_seconds"`
	WaitSeconds float64         `json:"wait_seconds"`
	WorkShare   aggregate.Value `json:"work_share"`
}

type jsonStage struct {
	Stage         string          `json:"stage"`
	Wait          bool            `json:"wait"`
	MedianSeconds aggregate.Value `json:"median_seconds"`
}

type jsonDORA struct {
	Team                      string          `json:"team"`
	DeploymentFrequencyPerDay aggregate.Value `json:"deployment_frequency_per_day"`
	LeadTimeP50Seconds        aggregate.Value `json:"lead_time_p50_seconds"`
	ChangeFailureRate         aggregate.Value `json:"change_failure_rate"`
	RecoveryP50Seconds        aggregate.Value `json:"recovery_p50_seconds"`
	Tiers                     jsonDORATiers   `json:"tiers"`
}

type jsonDORATiers struct {
	DeploymentFrequency      *string `json:"deployment_frequency"`
	LeadTime                 *string `json:"lead_time"`
	ChangeFailureRate        *string `json:"change_failure_rate"`
	FailedDeploymentRecovery *string `json:"failed_deployment_recovery"`
}

type jsonObservation struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

// WriteReviewJSON writes the flow report's JSON document, and for a review its
// previous and year-earlier reports and the review's figures under new keys;
// every figure the Markdown and HTML print is among them.
func WriteReviewJSON(w io.Writer, r flow.Review) error {
	doc := jsonReviewDocument{jsonReport: toReport(r.Current)}
	if r.Reviewed() {
		prev, year := toReport(r.Previous), toReport(r.YearEarlier)
		doc.Previous, doc.YearEarlier = &prev, &year
		names := namesOf(r)
		rev := &jsonReview{
			Windows: jsonWindowNames{Current: names.current, Previous: names.previous, YearEarlier: names.yearEarlier},
			Teams:   []jsonTeamReview{},
		}
		for _, t := range r.Teams {
			rev.Teams = append(rev.Teams, toTeamReview(t, names))
		}
		if r.Organisation != nil {
			o := toTeamReview(*r.Organisation, names)
			rev.Organisation = &o
		}
		doc.Review = rev
	}
	return writeIndented(w, doc)
}

func toWindowEfficiency(t flow.Team) jsonWindowEfficiency {
	return jsonWindowEfficiency{Finished: t.Finished, Efficiency: t.Efficiency, EfficiencyMedian: t.EfficiencyMedian}
}

// fourPlaces rounds a histogram marker: interpolation leaves floating-point
// noise in the last digits that no reader wants.
func fourPlaces(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// tierOrNull is a tier's name, null for no tier, as the DORA report writes it.
func tierOrNull(t dora.Tier) *string {
	if t == dora.NoTier {
		return nil
	}
	s := t.String()
	return &s
}

func toTeamReview(t flow.TeamReview, names windowNames) jsonTeamReview {
	cur := t.Current
	out := jsonTeamReview{
		Team: t.Name, Calendars: append([]string{}, t.Calendars...), Durations: ReviewDurations(t), NoWork: t.NoWork(),
		Finished: cur.Finished, Canceled: cur.Canceled, Reopened: cur.Reopened, OpenItems: cur.OpenItems,
		AgeP50: seconds(cur.Age.P50), Delivered: cur.Delivered, DoneNotDelivered: cur.DoneNotDelivered,
		DoneNotDeliveredShare: cur.DoneNotDeliveredShare, DeliveryP50: seconds(cur.TimeToDelivery.P50),
		Efficiency: jsonEfficiencies{
			Current: toWindowEfficiency(cur), Previous: toWindowEfficiency(t.Previous), YearEarlier: toWindowEfficiency(t.YearEarlier),
			ChangeVsPrevious: t.EfficiencyChange, ChangeVsYearEarlier: t.EfficiencyChangeYear,
		},
		ActiveWait: jsonActiveWait{ActiveSeconds: t.Time.ActiveSeconds, WaitSeconds: t.Time.WaitSeconds,
			ActiveShare: t.Time.ActiveShare, WaitShare: t.Time.WaitShare},
		Waits: []jsonWaitShare{}, FlowTime: []jsonFlowTime{}, Weeks: []jsonWeek{}, Distribution: []jsonShare{},
		WorstItems: []jsonItem{}, DORA: []jsonDORA{}, Observations: []jsonObservation{},
		Histogram: jsonHistogram{DaySeconds: t.Histogram.DaySeconds, Bins: []jsonBin{}, Markers: []jsonMarker{}},
		ValueStream: jsonValueStream{Finished: t.ValueStream.Finished, Mapped: t.ValueStream.Mapped, Stages: []jsonStage{},
			WorkSeconds: t.ValueStream.WorkSeconds, WaitSeconds: t.ValueStream.WaitSeconds, WorkShare: t.ValueStream.WorkShare},
	}
	for _, w := range t.Waits {
		out.Waits = append(out.Waits, jsonWaitShare{Status: w.Status, Seconds: w.Seconds, Items: w.Items, Share: w.Share})
	}
	for _, f := range append([]flow.TypeFigures{cur.All}, cur.ByType...) {
		out.FlowTime = append(out.FlowTime, jsonFlowTime{FlowType: orAll(f.FlowType), Finished: f.Finished,
			P50: seconds(f.FlowTime.P50), P85: seconds(f.FlowTime.P85), P95: seconds(f.FlowTime.P95),
			Efficiency: f.Efficiency, VelocityPerWeek: f.VelocityPerWeek})
	}
	edges := flow.FlowTimeBinEdges
	for i, l := range binLabels() {
		var to aggregate.Value
		if i+1 < len(edges) {
			to = aggregate.Some(edges[i+1])
		}
		out.Histogram.Bins = append(out.Histogram.Bins, jsonBin{Label: l, FromDays: edges[i], ToDays: to, Count: t.Histogram.Counts[i]})
	}
	for _, m := range t.Histogram.Markers {
		out.Histogram.Markers = append(out.Histogram.Markers, jsonMarker{Label: m.Label, Days: fourPlaces(m.Days), Position: fourPlaces(m.Position)})
	}
	for _, w := range t.Weeks {
		out.Weeks = append(out.Weeks, jsonWeek{Week: weekName(w), Start: w.Start.UTC(), Partial: w.Partial, Load: w.Load, Finished: w.Finished})
	}
	for _, s := range t.Distribution {
		out.Distribution = append(out.Distribution, jsonShare{FlowType: s.FlowType, Current: s.Current, Previous: s.Previous, Change: s.Change})
	}
	for _, it := range t.Worst {
		out.WorstItems = append(out.WorstItems, jsonItem{Team: it.Team, ID: it.ID, Title: it.Title, FlowType: it.FlowType,
			Calendar: it.Calendar, URL: it.URL, FlowSeconds: it.FlowSeconds, ActiveSeconds: it.ActiveSeconds,
			WaitSeconds: it.WaitSeconds, Efficiency: it.Efficiency})
	}
	for _, s := range t.ValueStream.Stages {
		out.ValueStream.Stages = append(out.ValueStream.Stages, jsonStage{Stage: s.Name, Wait: s.Wait, MedianSeconds: seconds(s.Median)})
	}
	for _, d := range t.DORA {
		out.DORA = append(out.DORA, jsonDORA{Team: d.Team, DeploymentFrequencyPerDay: d.DeploymentsPerDay,
			LeadTimeP50Seconds: seconds(d.LeadTimeP50), ChangeFailureRate: d.ChangeFailureRate, RecoveryP50Seconds: seconds(d.RecoveryP50),
			Tiers: jsonDORATiers{DeploymentFrequency: tierOrNull(d.Tiers.DeploymentFrequency), LeadTime: tierOrNull(d.Tiers.LeadTime),
				ChangeFailureRate: tierOrNull(d.Tiers.ChangeFailureRate), FailedDeploymentRecovery: tierOrNull(d.Tiers.FailedDeploymentRecovery)}})
	}
	for _, o := range t.Observations {
		out.Observations = append(out.Observations, jsonObservation{Kind: string(o.Kind), Text: sentence(o, t, names)})
	}
	return out
}
