package collectortest

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"testing"
)

// Fake is what Interrupt needs of a fake API: its request count and a hook called
// on every request.
type Fake interface {
	Total() int
	OnRequest(func(*http.Request))
}

// Interrupt runs collect again and again until it finishes, each run cancelled
// after a random number of the fake's requests (seeded by seed, at most total/2
// past the run's start), and returns how many runs were cut short. It fails the
// test when a run fails other than by cancellation, when maxRuns interrupted runs
// pass without a clean finish, or when no run was interrupted at all.
func Interrupt(tb testing.TB, srv Fake, total int, seed uint64, maxRuns int, collect func(context.Context) error) int {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 0))
	interruptions := 0
	for attempt := 0; ; attempt++ {
		if attempt > maxRuns {
			tb.Fatalf("no clean finish after %d interrupted runs", maxRuns)
		}
		ctx, cancel := context.WithCancel(context.Background())
		stopAt := srv.Total() + 1 + rng.IntN(total/2)
		srv.OnRequest(func(*http.Request) {
			if srv.Total() >= stopAt {
				cancel()
			}
		})
		err := collect(ctx)
		cancel()
		if err == nil {
			break
		}
		if !errors.Is(err, context.Canceled) {
			tb.Fatalf("run %d: %v", attempt, err)
		}
		interruptions++
	}
	srv.OnRequest(nil)
	if interruptions == 0 {
		tb.Fatal("the collection was never interrupted")
	}
	return interruptions
}
