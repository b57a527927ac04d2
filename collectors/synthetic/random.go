package synthetic

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"
)

// rng is a seeded random stream with the distributions the generator needs.
type rng struct {
	*rand.Rand
}

// newRNG returns a stream keyed by the seed and a path of names, so that every repo
// and team draws from its own stream: adding a team does not change the others.
func newRNG(seed int64, path ...string) *rng {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	for _, p := range path {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	s := h.Sum64()
	return &rng{rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))}
}

// chance is true with probability p.
func (r *rng) chance(p float64) bool { return r.Float64() < p }

// logNormal returns a duration whose median is median and whose spread is sigma (the
// standard deviation of its logarithm), at least one second.
func (r *rng) logNormal(median time.Duration, sigma float64) time.Duration {
	d := time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
	return max(d.Truncate(time.Second), time.Second)
}

// between returns a uniform duration in [lo, hi), whole seconds.
func (r *rng) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return (lo + time.Duration(r.Int64N(int64(hi-lo)))).Truncate(time.Second)
}

// poisson draws a Poisson count with mean lambda; large means use the normal
// approximation so that benchmark-sized rates stay cheap.
func (r *rng) poisson(lambda float64) int {
	switch {
	case lambda <= 0:
		return 0
	case lambda > 40:
		n := int(math.Round(lambda + math.Sqrt(lambda)*r.NormFloat64()))
		return max(n, 0)
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// pick returns one element of xs.
func pick[T any](r *rng, xs []T) T { return xs[r.IntN(len(xs))] }

// weighted returns the index chosen with the given weights.
func (r *rng) weighted(weights ...float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	u := r.Float64() * total
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

// Working hours are 08:00–19:00 UTC on weekdays.
const (
	workStart = 8 * time.Hour
	workEnd   = 19 * time.Hour
)

// isWeekend reports whether t falls on a Saturday or Sunday.
func isWeekend(t time.Time) bool {
	wd := t.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// workTime returns a time on the day starting at midnight, clustered around the
// middle of the working day with a small share anywhere in the 24 hours.
func (r *rng) workTime(midnight time.Time) time.Time {
	if r.chance(0.06) {
		return midnight.Add(r.between(0, 24*time.Hour))
	}
	// The mean of two uniforms peaks in the early afternoon and thins at both ends.
	span := float64(workEnd - workStart)
	off := (r.Float64() + r.Float64()) / 2 * span
	return midnight.Add(workStart + time.Duration(off)).Truncate(time.Second)
}

// toWorkingHours moves t to the next working time when it falls outside working
// hours: people mostly act when at work. A small share is left alone (on-call,
// late nights).
func (r *rng) toWorkingHours(t time.Time) time.Time {
	if r.chance(0.08) {
		return t
	}
	day := t.Truncate(24 * time.Hour)
	tod := t.Sub(day)
	if !isWeekend(t) && tod >= workStart && tod < workEnd {
		return t
	}
	if tod >= workEnd {
		day = day.Add(24 * time.Hour)
	}
	for isWeekend(day) {
		day = day.Add(24 * time.Hour)
	}
	return day.Add(workStart + r.between(0, 2*time.Hour))
}

// sha returns a deterministic 40-hex commit sha for the given parts.
func sha(seed int64, parts ...string) string {
	h := sha1.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
