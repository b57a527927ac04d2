package githubtest

import (
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
)

// Clock is a settable, concurrency-safe clock for WithClock: tests move it forward to
// reach a rate-limit reset without sleeping.
// It is collectortest.Clock, the one clock the collectors' tests share.
type Clock = collectortest.Clock

// NewClock returns a Clock that reads start until it is moved.
func NewClock(start time.Time) *Clock { return collectortest.NewClock(start) }
