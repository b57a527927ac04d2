package collectortest

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		move func(c *Clock)
		want time.Time
	}{
		{"still", func(*Clock) {}, start},
		{"advance", func(c *Clock) { c.Advance(90 * time.Second) }, start.Add(90 * time.Second)},
		{"advance twice", func(c *Clock) { c.Advance(time.Hour); c.Advance(time.Minute) }, start.Add(61 * time.Minute)},
		{"set", func(c *Clock) { c.Set(start.AddDate(0, 0, 92)) }, start.AddDate(0, 0, 92)},
		{"set then advance", func(c *Clock) { c.Set(start.Add(-time.Hour)); c.Advance(time.Second) }, start.Add(-time.Hour + time.Second)},
	}
	for _, tc := range tests {
		c := NewClock(start)
		tc.move(c)
		if got := c.Now(); !got.Equal(tc.want) {
			t.Errorf("%s: Now = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestClockConcurrent(t *testing.T) {
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	c := NewClock(start)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(800*time.Second); !got.Equal(want) {
		t.Fatalf("Now = %s, want %s", got, want)
	}
}

func TestSQLiteIsMigrated(t *testing.T) {
	if err := SQLite(t).Ping(context.Background()); err != nil {
		t.Fatalf("the store is not ready: %v", err)
	}
}

// fake counts requests and calls its hook on each, as the collectors' fakes do.
type fake struct {
	mu   sync.Mutex
	n    int
	hook func(*http.Request)
}

func (f *fake) Total() int { f.mu.Lock(); defer f.mu.Unlock(); return f.n }

func (f *fake) OnRequest(fn func(*http.Request)) { f.mu.Lock(); f.hook = fn; f.mu.Unlock() }

func (f *fake) request() {
	f.mu.Lock()
	f.n++
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		hook(nil)
	}
}

func TestInterrupt(t *testing.T) {
	// A collection of 40 requests that resumes where the last run stopped.
	const total = 40
	for _, seed := range []uint64{1, 2, 3} {
		f := &fake{}
		done := 0
		collect := func(ctx context.Context) error {
			for done < total {
				if err := ctx.Err(); err != nil {
					return err
				}
				f.request()
				done++
			}
			return nil
		}
		n := Interrupt(t, f, total, seed, 30, collect)
		if n == 0 || done != total {
			t.Errorf("seed %d: %d interruptions, %d of %d requests done", seed, n, done, total)
		}
		if f.hook != nil {
			t.Errorf("seed %d: the request hook is left in place", seed)
		}
	}
}
