package opsgenietest

import (
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
)

// Clock is a settable, concurrency-safe clock: tests give its Now to a collection
// and move it forward, from one collection to the next and on every wait the
// collector is asked to make, instead of sleeping.
// It is collectortest.Clock, the one clock the collectors' tests share.
type Clock = collectortest.Clock

// NewClock returns a Clock that reads start until it is moved.
func NewClock(start time.Time) *Clock { return collectortest.NewClock(start) }
