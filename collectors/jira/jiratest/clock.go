package jiratest

import (
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
)

// Clock is a settable, concurrency-safe clock: tests advance it where the source
// would sleep (Retry-After, backoff), so no test waits.
// It is collectortest.Clock, the one clock the collectors' tests share.
type Clock = collectortest.Clock

// NewClock returns a Clock that reads start until it is moved.
func NewClock(start time.Time) *Clock { return collectortest.NewClock(start) }
