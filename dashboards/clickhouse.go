package dashboards

import (
	"encoding/json"
	"errors"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// The grafana-clickhouse-datasource plugin: its type id and the version of its query
// model the queries are written for.
const (
	ClickHousePluginType = "grafana-clickhouse-datasource"
	ClickHousePluginVer  = "4.0.0"
)

// Format is how the ClickHouse plugin shapes a query's result, as its query model
// numbers them.
type Format int

// The formats flowmeter's panels use, as the plugin's backend (Grafana's sqlutil)
// numbers them: time series first.
const (
	FormatTimeSeries Format = 0
	FormatTable      Format = 1
)

// ClickHouseQuery is a raw-SQL query of the grafana-clickhouse-datasource plugin,
// the query model its SQL editor saves. The SDK has none, so it is written here; it
// implements variants.Dataquery, so panels take it as a target.
type ClickHouseQuery struct {
	RefID         string               `json:"refId"`
	Datasource    common.DataSourceRef `json:"datasource"`
	EditorType    string               `json:"editorType"`
	QueryType     string               `json:"queryType"`
	Format        Format               `json:"format"`
	RawSQL        string               `json:"rawSql"`
	PluginVersion string               `json:"pluginVersion"`
}

var _ variants.Dataquery = ClickHouseQuery{}

// ImplementsDataqueryVariant marks ClickHouseQuery as a dataquery.
func (ClickHouseQuery) ImplementsDataqueryVariant() {}

// DataqueryType is the plugin's type id.
func (ClickHouseQuery) DataqueryType() string { return ClickHousePluginType }

// Equals compares two queries field by field.
func (q ClickHouseQuery) Equals(other variants.Dataquery) bool {
	o, ok := other.(ClickHouseQuery)
	if !ok {
		return false
	}
	a, _ := json.Marshal(q)
	b, _ := json.Marshal(o)
	return string(a) == string(b)
}

// Validate refuses a query without SQL or without a reference id.
func (q ClickHouseQuery) Validate() error {
	switch {
	case q.RawSQL == "":
		return errors.New("clickhouse query: no rawSql")
	case q.RefID == "":
		return errors.New("clickhouse query: no refId")
	case q.Format != FormatTable && q.Format != FormatTimeSeries:
		return errors.New("clickhouse query: format must be 0 (table) or 1 (time series)")
	}
	return nil
}

// ClickHouseQueryBuilder builds a ClickHouseQuery on the flowmeter ClickHouse
// datasource.
type ClickHouseQueryBuilder struct{ q ClickHouseQuery }

var _ cog.Builder[variants.Dataquery] = (*ClickHouseQueryBuilder)(nil)

// NewClickHouseQuery is a table-format query of sql with reference id A.
func NewClickHouseQuery(sql string) *ClickHouseQueryBuilder {
	return &ClickHouseQueryBuilder{q: ClickHouseQuery{
		RefID:         "A",
		Datasource:    ClickHouseDatasource(),
		EditorType:    "sql",
		QueryType:     "table",
		Format:        FormatTable,
		RawSQL:        sql,
		PluginVersion: ClickHousePluginVer,
	}}
}

// RefID sets the reference id.
func (b *ClickHouseQueryBuilder) RefID(id string) *ClickHouseQueryBuilder {
	b.q.RefID = id
	return b
}

// TimeSeries makes it a time-series query: the first column is the time.
func (b *ClickHouseQueryBuilder) TimeSeries() *ClickHouseQueryBuilder {
	b.q.Format, b.q.QueryType = FormatTimeSeries, "timeseries"
	return b
}

// Build returns the query, or why it is not valid.
func (b *ClickHouseQueryBuilder) Build() (variants.Dataquery, error) {
	if err := b.q.Validate(); err != nil {
		// Panel builders expect cog.BuildErrors from their targets.
		return nil, cog.MakeBuildErrors("clickhouse", err)
	}
	return b.q, nil
}
