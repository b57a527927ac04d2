package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowmeter/flowmeter/collectors/httpwait"
	gh "github.com/google/go-github/v57/github"
)

// transport owns GitHub's limits for one source instance. It waits for the primary
// rate limit to reset before it runs out (and says so), honours Retry-After on
// secondary limits, and retries server errors and network failures with bounded,
// jittered exponential backoff. It never spins: every wait is a sleep and every
// retry loop is bounded.
//
// GitHub keeps separate budgets per resource, named by X-RateLimit-Resource: REST
// requests spend "core", GraphQL queries spend "graphql" points. The transport keeps
// one budget per resource and waits on the one a request spends, so a GraphQL
// backfill that used up its points does not hold back REST requests, nor the other
// way round.
//
// It also hides the rate-limit headers from go-github after reading them: go-github
// refuses requests on its own when the last response said no requests were left,
// judged by the wall clock, which would pre-empt the waiting done here.
type transport struct {
	next  http.RoundTripper
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	log   *slog.Logger

	reserve    int           // wait for the reset when this many requests are left
	maxRetries int           // retries of one request after the first attempt
	baseDelay  time.Duration // first backoff; doubles on each retry
	maxDelay   time.Duration // longest backoff
	maxWait    time.Duration // longest wait for a limit before the request fails

	mu       sync.Mutex
	budgets  map[string]*budget // by resource: "core", "graphql", ...
	requests int
}

// budget is one primary rate-limit window as GitHub last reported it.
type budget struct {
	limit     int // -1 while unknown
	remaining int
	reset     time.Time
}

// The resources flowmeter spends.
const (
	resourceCore    = "core"
	resourceGraphQL = "graphql"
)

// graphqlRequest marks the requests of the GraphQL client. Who sent a request decides
// the budget it spends, not its URL: the GraphQL endpoint may sit under any path (an
// Enterprise Server behind a proxy), and a REST path may end in graphql (a repository
// named so).
type graphqlRequest struct{}

func asGraphQL(ctx context.Context) context.Context {
	return context.WithValue(ctx, graphqlRequest{}, true)
}

// resourceOf names the budget a request spends.
func resourceOf(req *http.Request) string {
	if req.Context().Value(graphqlRequest{}) != nil {
		return resourceGraphQL
	}
	return resourceCore
}

// noTimeoutRetries marks a request whose 502 and 504 answers (GitHub giving up on a
// heavy query) go back to the caller at once: a GraphQL query that timed out is
// asked again smaller, not the same again. Other errors are retried as usual.
type noTimeoutRetries struct{}

func withoutTimeoutRetries(ctx context.Context) context.Context {
	return context.WithValue(ctx, noTimeoutRetries{}, true)
}

func timedOut(resp *http.Response) bool {
	return resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout
}

func newTransport(next http.RoundTripper, log *slog.Logger) *transport {
	return &transport{
		next: next, now: time.Now, sleep: httpwait.Sleep, log: log,
		reserve: 10, maxRetries: 5, baseDelay: time.Second, maxDelay: time.Minute, maxWait: 65 * time.Minute,
		budgets: map[string]*budget{},
	}
}

// stats returns the requests sent so far and the rate limit left (-1 when unknown):
// the least left of the budgets reported, since the scarcer one is what a collection
// waits on.
func (t *transport) stats() (requests, remaining int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	remaining = -1
	for _, b := range t.budgets {
		if b.remaining >= 0 && (remaining < 0 || b.remaining < remaining) {
			remaining = b.remaining
		}
	}
	return t.requests, remaining
}

// left returns a resource's budget left as last reported, -1 when unknown.
func (t *transport) left(resource string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.budgets[resource]; b != nil {
		return b.remaining
	}
	return -1
}

var rateHeaders = []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Reset", "X-RateLimit-Resource"}

// RoundTrip sends a request, waiting and retrying as GitHub asks.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		if err := t.waitForBudget(ctx, resourceOf(req)); err != nil {
			return nil, err
		}
		send := req
		if attempt > 0 {
			var err error
			if send, err = rewound(req); err != nil {
				return nil, fmt.Errorf("retrying: %w", err)
			}
		}
		resp, err := t.next.RoundTrip(send)
		t.mu.Lock()
		t.requests++
		t.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// An error that says it is permanent (GitHub refusing an App's
			// credentials) gets the same answer on every retry.
			var refused interface{ permanent() }
			if errors.As(err, &refused) {
				return nil, err
			}
			if attempt >= t.maxRetries || !replayable(req) {
				return nil, fmt.Errorf("giving up after %d attempts: %w", attempt+1, err)
			}
			delay := t.backoff(attempt)
			t.log.Warn("GitHub request failed; retrying", "path", req.URL.Path, "attempt", attempt+1, "in", delay, "err", err)
			if err := t.sleep(ctx, delay); err != nil {
				return nil, err
			}
			continue
		}
		t.observe(resp.Header)
		wait, reason := t.retryWait(resp, attempt)
		if timedOut(resp) && ctx.Value(noTimeoutRetries{}) != nil {
			reason = ""
		}
		if reason == "" || attempt >= t.maxRetries || !replayable(req) || wait > t.maxWait {
			for _, h := range rateHeaders {
				resp.Header.Del(h)
			}
			return resp, nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		t.log.Warn("GitHub asked to wait; retrying", "reason", reason, "status", resp.StatusCode,
			"path", req.URL.Path, "attempt", attempt+1, "in", wait.Round(time.Second))
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// rewound is the request ready to be sent again, its body (the attempt before read
// it) read afresh.
func rewound(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("the request's body cannot be read again")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	again := req.Clone(req.Context())
	again.Body = body
	return again, nil
}

// waitForBudget sleeps until the primary limit resets when nearly all of it is used,
// so the source never runs into the limit itself.
func (t *transport) waitForBudget(ctx context.Context, resource string) error {
	t.mu.Lock()
	b := t.budgets[resource]
	if b == nil {
		t.mu.Unlock()
		return nil
	}
	remaining, limit, reset := b.remaining, b.limit, b.reset
	t.mu.Unlock()
	if remaining < 0 || remaining > t.reserve || reset.IsZero() {
		return nil
	}
	wait := reset.Sub(t.now()) + time.Second
	if wait <= 0 {
		return nil
	}
	if wait > t.maxWait {
		return fmt.Errorf("GitHub rate limit: %d of %d requests left and the reset is %s away", remaining, limit, wait.Round(time.Second))
	}
	t.log.Info("GitHub rate limit nearly used; waiting for the reset", "resource", resource,
		"remaining", remaining, "limit", limit, "reset", reset.UTC().Format(time.RFC3339), "wait", wait.Round(time.Second))
	if err := t.sleep(ctx, wait); err != nil {
		return err
	}
	t.mu.Lock()
	if b.reset.Equal(reset) {
		b.remaining = -1 // unknown until the next response says
	}
	t.mu.Unlock()
	return nil
}

// waitForReset sleeps until a resource's window resets, for an answer that said its
// budget is spent whatever the remaining count said (a GraphQL query costing more
// than is left). Without a known reset ahead it waits a minute.
func (t *transport) waitForReset(ctx context.Context, resource string) error {
	t.mu.Lock()
	var reset time.Time
	if b := t.budgets[resource]; b != nil {
		reset = b.reset
	}
	t.mu.Unlock()
	wait := reset.Sub(t.now()) + time.Second
	if reset.IsZero() || wait <= time.Second {
		wait = time.Minute
	}
	if wait > t.maxWait {
		return fmt.Errorf("GitHub %s rate limit spent and the reset is %s away", resource, wait.Round(time.Second))
	}
	t.log.Info("GitHub rate limit spent; waiting for the reset", "resource", resource,
		"reset", reset.UTC().Format(time.RFC3339), "wait", wait.Round(time.Second))
	return t.sleep(ctx, wait)
}

// observe records the rate-limit headers of a response.
func (t *transport) observe(h http.Header) {
	remaining, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err2 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	limit, err := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	if err != nil {
		limit = -1
	}
	resource := h.Get("X-RateLimit-Resource")
	if resource == "" {
		resource = resourceCore
	}
	t.record(resource, remaining, limit, time.Unix(reset, 0))
}

// record sets a resource's budget: from the headers, or from a GraphQL answer's
// rateLimit object.
func (t *transport) record(resource string, remaining, limit int, reset time.Time) {
	t.mu.Lock()
	t.budgets[resource] = &budget{remaining: remaining, limit: limit, reset: reset}
	t.mu.Unlock()
}

// retryWait says how long to wait before retrying a response, and why; no reason
// means the response is final.
func (t *transport) retryWait(resp *http.Response, attempt int) (time.Duration, string) {
	switch code := resp.StatusCode; {
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		if after := resp.Header.Get("Retry-After"); after != "" {
			if d, ok := httpwait.Seconds(after); ok {
				return d, "secondary rate limit"
			}
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				return max(time.Unix(reset, 0).Sub(t.now())+time.Second, time.Second), "primary rate limit"
			}
		}
		if code == http.StatusTooManyRequests || mentionsSecondaryLimit(resp) {
			// GitHub documents: without Retry-After, wait at least a minute.
			return time.Minute << attempt, "secondary rate limit"
		}
	case code == http.StatusInternalServerError || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		return t.backoff(attempt), "server error"
	}
	return 0, ""
}

// mentionsSecondaryLimit peeks at an error body for GitHub's secondary-limit message,
// leaving the body readable.
func mentionsSecondaryLimit(resp *http.Response) bool {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return err == nil && strings.Contains(strings.ToLower(string(body)), "secondary rate limit")
}

// backoff is the wait before retry number attempt+1: exponential with full jitter in
// its upper half, so many clients do not retry in step.
func (t *transport) backoff(attempt int) time.Duration {
	return httpwait.Backoff(t.baseDelay, t.maxDelay, attempt)
}

// statusOf is the HTTP status behind a go-github error, 0 when there is none.
func statusOf(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &ab) {
		return http.StatusForbidden
	}
	return 0
}
