//go:build flowtoil

package exporter

import (
	"github.com/flowmeter/flowmeter/metrics/flow"
	"github.com/flowmeter/flowmeter/metrics/toil"
)

func init() { defaultAggregators = aggregators{flow: flow.Aggregate, toil: toil.Aggregate} }
