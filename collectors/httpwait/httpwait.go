// Package httpwait holds the waiting the API collectors share: a sleep that ends
// with its context, the reading of a Retry-After header, and jittered exponential
// backoff. Each collector keeps its own rules for which headers and answers say
// to wait; only the arithmetic they have in common is here.
package httpwait

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sleep waits for d or until ctx ends, whichever is first, so that every wait a
// collector makes can be cancelled; a d of zero or less returns at once with
// ctx's error, if any.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Seconds reads a header holding a whole number of seconds (Retry-After's
// delay-seconds form, and the vendors' own reset headers), reporting false when h
// is not a non-negative integer, so callers can fall through to the next header.
func Seconds(h string) (time.Duration, bool) {
	secs, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || secs < 0 {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

// RetryAfter reads a Retry-After header in either of its forms, seconds or an HTTP
// date (a date already past is no wait), relative to now so that tests can run on
// a fake clock; it reports false when h is neither.
func RetryAfter(h string, now time.Time) (time.Duration, bool) {
	if d, ok := Seconds(h); ok {
		return d, true
	}
	if t, err := http.ParseTime(strings.TrimSpace(h)); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Backoff is the wait before retry number attempt+1: base doubled per attempt and
// capped at limit, then jittered over its upper half so that many clients do not
// retry in step.
func Backoff(base, limit time.Duration, attempt int) time.Duration {
	d := base << attempt
	if d > limit || d <= 0 {
		d = limit
	}
	return d/2 + rand.N(d/2+1)
}
