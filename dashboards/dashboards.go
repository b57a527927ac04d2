// Package dashboards is flowmeter's Grafana dashboards as Go code, built with
// Grafana's foundation SDK: the DORA figures from the fact tables in ClickHouse, and
// flowmeter's own health from its /metrics. All builds every dashboard; Export
// writes them with the provisioning files that load them into Grafana.
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// The datasources and folder the dashboards are provisioned with.
const (
	ClickHouseUID = "flowmeter-clickhouse"
	PrometheusUID = "flowmeter-prometheus"
	FolderUID     = "flowmeter"
	FolderTitle   = "flowmeter"
)

// Tag is the tag every dashboard carries, by which they link to each other.
const Tag = "flowmeter"

// Built is one dashboard: its UID, its title and its Grafana JSON, indented and
// ending with a newline.
type Built struct {
	UID, Title string
	JSON       []byte
}

// All builds every dashboard, in a stable order.
func All() ([]Built, error) {
	builders := []func() *dashboard.DashboardBuilder{executive, teamDelivery, flowDashboard, toilDashboard, health}
	out := make([]Built, 0, len(builders))
	for _, b := range builders {
		d, err := b().Build()
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", *d.Uid, err)
		}
		out = append(out, Built{UID: *d.Uid, Title: *d.Title, JSON: buf.Bytes()})
	}
	return out, nil
}

// ClickHouseDatasource is the reference to the provisioned ClickHouse datasource.
func ClickHouseDatasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr(ClickHousePluginType), Uid: cog.ToPtr(ClickHouseUID)}
}

// PrometheusDatasource is the reference to the provisioned Prometheus datasource.
func PrometheusDatasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr(PrometheusUID)}
}

// newDashboard starts a dashboard with what every one has: tags, UTC, links to the
// others, a refresh.
func newDashboard(uid, title, description, from string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{Tag}).
		Timezone("utc").
		WeekStart("monday").
		Time(from, "now").
		Refresh("5m").
		Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("flowmeter").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).
			AsDropdown(false).
			IncludeVars(true).
			KeepTime(true))
}

// The kinds of panel the dashboards use.
const (
	kindStat       = "stat"
	kindTimeSeries = "timeseries"
	kindTable      = "table"
	kindBarChart   = "barchart"
)

// panel is what a dashboard says about one panel; build turns it into the SDK's.
type panel struct {
	kind        string
	title       string
	description string
	unit        string
	w, h        uint32
	prometheus  bool
	targets     []cog.Builder[variants.Dataquery]
	thresholds  []dashboard.Threshold
	min, max    *float64
	bars        bool // a time series drawn as bars
	stacked     bool
	overrides   []override
	decimals    *float64
	xField      string // a bar chart's category field; quarter when empty
}

type override struct {
	field string
	props []dashboard.DynamicConfigValue
}

// grid places panels left to right in rows of 24 columns.
type grid struct{ x, y, rowH uint32 }

func (g *grid) place(w, h uint32) dashboard.GridPos {
	if g.x+w > 24 {
		g.x, g.y, g.rowH = 0, g.y+g.rowH, 0
	}
	pos := dashboard.GridPos{X: g.x, Y: g.y, W: w, H: h}
	g.x += w
	g.rowH = max(g.rowH, h)
	return pos
}

// newRow ends the current row and returns the position of a full-width row header.
func (g *grid) newRow() dashboard.GridPos {
	if g.x > 0 {
		g.x, g.y, g.rowH = 0, g.y+g.rowH, 0
	}
	pos := dashboard.GridPos{X: 0, Y: g.y, W: 24, H: 1}
	g.y++
	return pos
}

// add places each panel on the grid and adds it to d.
func add(d *dashboard.DashboardBuilder, g *grid, panels ...panel) {
	for _, p := range panels {
		d.WithPanel(p.build(g.place(p.w, p.h)))
	}
}

func thresholds(steps []dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	if len(steps) == 0 {
		steps = []dashboard.Threshold{{Value: nil, Color: "text"}}
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)
}

func (p panel) build(pos dashboard.GridPos) cog.Builder[dashboard.Panel] {
	ds := ClickHouseDatasource()
	if p.prometheus {
		ds = PrometheusDatasource()
	}
	switch p.kind {
	case kindStat:
		b := stat.NewPanelBuilder().Title(p.title).Description(p.description).Datasource(ds).GridPos(pos).
			Unit(p.unit).Thresholds(thresholds(p.thresholds)).
			ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)).
			NoValue("no data")
		if len(p.thresholds) == 0 {
			b.ColorMode(common.BigValueColorModeNone)
		}
		if p.decimals != nil {
			b.Decimals(*p.decimals)
		}
		for _, t := range p.targets {
			b.WithTarget(t)
		}
		for _, o := range p.overrides {
			b.OverrideByName(o.field, o.props)
		}
		return b
	case kindTimeSeries:
		b := timeseries.NewPanelBuilder().Title(p.title).Description(p.description).Datasource(ds).GridPos(pos).
			Unit(p.unit).Thresholds(thresholds(p.thresholds)).
			Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
			SpanNulls(common.BoolOrFloat64{Bool: cog.ToPtr(true)})
		if p.bars {
			b.DrawStyle(common.GraphDrawStyleBars).FillOpacity(80).BarAlignment(common.BarAlignmentCenter)
		} else {
			b.ShowPoints(common.VisibilityModeAlways).LineWidth(2)
		}
		if p.stacked {
			b.Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
		}
		if p.min != nil {
			b.Min(*p.min)
		}
		if p.max != nil {
			b.Max(*p.max)
		}
		for _, t := range p.targets {
			b.WithTarget(t)
		}
		for _, o := range p.overrides {
			b.OverrideByName(o.field, o.props)
		}
		return b
	case kindBarChart:
		x := p.xField
		if x == "" {
			x = "quarter"
		}
		b := barchart.NewPanelBuilder().Title(p.title).Description(p.description).Datasource(ds).GridPos(pos).
			Unit(p.unit).Thresholds(thresholds(p.thresholds)).XField(x).
			Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom))
		if p.min != nil {
			b.Min(*p.min)
		}
		for _, t := range p.targets {
			b.WithTarget(t)
		}
		return b
	case kindTable:
		b := table.NewPanelBuilder().Title(p.title).Description(p.description).Datasource(ds).GridPos(pos).
			Unit(p.unit).Thresholds(thresholds(p.thresholds))
		if p.decimals != nil {
			b.Decimals(*p.decimals)
		}
		for _, t := range p.targets {
			b.WithTarget(t)
		}
		for _, o := range p.overrides {
			b.OverrideByName(o.field, o.props)
		}
		return b
	}
	panic("dashboards: unknown panel kind " + p.kind)
}

// unitOverride gives one column of a table its own unit.
func unitOverride(field, unit string) override {
	return override{field: field, props: []dashboard.DynamicConfigValue{{Id: "unit", Value: unit}}}
}
