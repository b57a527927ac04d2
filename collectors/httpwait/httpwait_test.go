package httpwait

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{"zero", context.Background(), 0, nil},
		{"negative", context.Background(), -time.Second, nil},
		{"short", context.Background(), time.Millisecond, nil},
		{"zero, canceled", canceled, 0, context.Canceled},
		{"long, canceled", canceled, time.Hour, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := Sleep(tc.ctx, tc.d)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Sleep = %v, want %v", err, tc.want)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Fatalf("Sleep took %s", took)
			}
			if tc.want == nil && tc.d > 0 && time.Since(start) < tc.d {
				t.Fatalf("Sleep returned before %s", tc.d)
			}
		})
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sleep = %v, want the deadline", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Sleep took %s after its context ended", took)
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"5", 5 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"+7", 7 * time.Second, true},
		{"-1", 0, false},
		{"", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"Wed, 21 Oct 2026 07:28:00 GMT", 0, false},
	}
	for _, tc := range tests {
		got, ok := Seconds(tc.h)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Seconds(%q) = %s, %v; want %s, %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 10, 21, 7, 28, 0, 0, time.UTC)
	tests := []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true},
		{" 0 ", 0, true},
		{"Wed, 21 Oct 2026 07:29:30 GMT", 90 * time.Second, true},
		{"Wednesday, 21-Oct-26 07:28:10 GMT", 10 * time.Second, true}, // RFC 850
		{"Wed Oct 21 07:30:00 2026", 2 * time.Minute, true},           // ANSI C
		{"Wed, 21 Oct 2026 07:00:00 GMT", 0, true},                    // already past
		{"-3", 0, false},
		{"", 0, false},
		{"later", 0, false},
		{"2026-10-21T07:30:00Z", 0, false},
	}
	for _, tc := range tests {
		got, ok := RetryAfter(tc.h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RetryAfter(%q) = %s, %v; want %s, %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		base, limit time.Duration
		attempt     int
		lo, hi      time.Duration
	}{
		{time.Second, time.Minute, 0, 500 * time.Millisecond, time.Second},
		{time.Second, time.Minute, 1, time.Second, 2 * time.Second},
		{time.Second, time.Minute, 3, 4 * time.Second, 8 * time.Second},
		{time.Second, time.Minute, 6, 30 * time.Second, time.Minute}, // 64s, capped
		{time.Second, time.Minute, 40, 30 * time.Second, time.Minute},
		{time.Second, time.Minute, 70, 30 * time.Second, time.Minute}, // the shift overflows
		{time.Millisecond, 5 * time.Millisecond, 2, 2 * time.Millisecond, 4 * time.Millisecond},
		{time.Millisecond, 5 * time.Millisecond, 3, 2500 * time.Microsecond, 5 * time.Millisecond}, // 8ms, capped
	}
	for _, tc := range tests {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := Backoff(tc.base, tc.limit, tc.attempt)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("Backoff(%s, %s, %d) = %s, want within [%s, %s]", tc.base, tc.limit, tc.attempt, d, tc.lo, tc.hi)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Backoff(%s, %s, %d) gave %d distinct waits in 200 calls: no jitter", tc.base, tc.limit, tc.attempt, len(seen))
		}
	}
}
