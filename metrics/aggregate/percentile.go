// Package aggregate turns the facts of a window into the figures reports and the
// exporter show: counts, rates and percentiles per team and per service, graded with
// the DORA tiers. It is pure: the caller passes the facts, the window and the time
// "now", so the same input always gives the same report.
package aggregate

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
)

// Value is a figure that may be undefined, such as the median of no values or a rate
// over no deployments; an undefined Value prints as null in JSON, so no reader
// mistakes "no data" for zero.
type Value struct {
	v  float64
	ok bool
}

// Some is a defined Value.
func Some(v float64) Value { return Value{v: v, ok: true} }

// None is the undefined Value.
func None() Value { return Value{} }

// Get returns the value and whether it is defined.
func (v Value) Get() (float64, bool) { return v.v, v.ok }

// Defined reports whether there was data for the figure.
func (v Value) Defined() bool { return v.ok }

// Float is the value, 0 when undefined, for callers that have checked Defined.
func (v Value) Float() float64 { return v.v }

// String prints the value in full precision, or "" when undefined, as CSV wants it.
func (v Value) String() string {
	if !v.ok {
		return ""
	}
	return strconv.FormatFloat(v.v, 'f', -1, 64)
}

// MarshalJSON prints null for an undefined value.
func (v Value) MarshalJSON() ([]byte, error) {
	if !v.ok {
		return []byte("null"), nil
	}
	return json.Marshal(v.v)
}

// Percentile is the q-quantile (0 <= q <= 1) of values with linear interpolation
// between closest ranks (Hyndman and Fan type 7, what spreadsheets, NumPy and
// BigQuery's PERCENTILE_CONT compute), so flowmeter's medians match what a reader
// gets by hand: with h = (n-1)q, it is x[floor h] + (h - floor h)(x[floor h + 1] -
// x[floor h]) over the sorted values. It is undefined for no values or q outside
// [0, 1]. values is not modified.
func Percentile[T int64 | float64](values []T, q float64) Value {
	if len(values) == 0 || math.IsNaN(q) || q < 0 || q > 1 {
		return None()
	}
	xs := make([]float64, len(values))
	for i, v := range values {
		xs[i] = float64(v)
	}
	slices.Sort(xs)
	h := float64(len(xs)-1) * q
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(xs) {
		return Some(xs[len(xs)-1])
	}
	return Some(xs[i] + (h-lo)*(xs[i+1]-xs[i]))
}

// QuantilesOf is the median, p85 and p95 of durations in seconds with their count
// and sum, the shape every duration figure of flow and toil is reported in.
func QuantilesOf(values []int64) Quantiles { return quantiles(values, 0.5, 0.85, 0.95) }
