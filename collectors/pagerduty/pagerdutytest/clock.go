package pagerdutytest

import (
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
)

// Clock is a settable, concurrency-safe clock for WithClock and the collector under
// test: tests move it forward instead of sleeping.
// It is collectortest.Clock, the one clock the collectors' tests share.
type Clock = collectortest.Clock

// NewClock returns a Clock that reads start until it is moved.
func NewClock(start time.Time) *Clock { return collectortest.NewClock(start) }
