// Package collectortest holds test support the API collectors and their fakes
// share: a clock tests move instead of sleeping, the migrated stores every
// scenario runs against, and the loop that interrupts a collection until it
// finishes. Only _test files and the fakes import it.
package collectortest

import (
	"sync"
	"time"
)

// Clock is a settable, concurrency-safe clock, shared by the fakes and the
// collectors under test so that tests move time forward (to a rate-limit reset,
// past a Retry-After, from one collection to the next) instead of sleeping.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock that reads start until it is moved.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
