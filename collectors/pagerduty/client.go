package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowmeter/flowmeter/collectors/httpwait"
)

// client speaks PagerDuty's REST API v2 for one source instance and owns its limits:
// it waits as a 429 says (ratelimit-reset, else Retry-After, else a minute, since the
// limits are per minute), retries server errors and network failures with bounded,
// jittered exponential backoff, and never spins: every wait is a sleep and every
// retry loop is bounded.
type client struct {
	base  string
	token string
	http  *http.Client
	sleep func(ctx context.Context, d time.Duration) error

	maxRetries int           // retries of one request after the first attempt
	baseDelay  time.Duration // first backoff; doubles on each retry
	maxDelay   time.Duration // longest backoff
	maxWait    time.Duration // longest rate-limit wait before the request fails

	mu        sync.Mutex
	log       *slog.Logger
	requests  int
	remaining int // -1 while unknown
}

func newClient(base, token string, rt http.RoundTripper) *client {
	return &client{
		base: base, token: token, http: &http.Client{Transport: rt, Timeout: 2 * time.Minute},
		sleep: httpwait.Sleep, maxRetries: 5, baseDelay: time.Second, maxDelay: time.Minute, maxWait: 15 * time.Minute,
		log: slog.New(slog.DiscardHandler), remaining: -1,
	}
}

// stats returns the requests sent so far and the rate limit left (-1 when unknown).
func (c *client) stats() (requests, remaining int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests, c.remaining
}

func (c *client) logger() *slog.Logger {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log
}

// apiError is a PagerDuty error answer: its status and the error object of its body,
// {"error": {"message", "code", "errors"}}.
type apiError struct {
	Status  int
	Path    string
	Message string
	Code    int
	Errors  []string
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("GET %s: %d %s", e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Code != 0 {
		msg += fmt.Sprintf(" (code %d)", e.Code)
	}
	if len(e.Errors) > 0 {
		msg += ": " + strings.Join(e.Errors, "; ")
	}
	return msg
}

// codeArgumentsCausedError is PagerDuty's error code for arguments it cannot serve,
// among them an offset+limit beyond its 10,000-record ceiling.
const codeArgumentsCausedError = 2002

// isCeiling says whether err is PagerDuty refusing an offset+limit beyond 10,000.
func isCeiling(err error) bool {
	var e *apiError
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		return false
	}
	if e.Code == codeArgumentsCausedError {
		for _, m := range e.Errors {
			if strings.Contains(strings.ToLower(m), "offset") {
				return true
			}
		}
	}
	return false
}

// statusOf is the HTTP status behind err, 0 when there is none.
func statusOf(err error) int {
	var e *apiError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// get fetches path with query q and decodes the JSON answer into v.
func (c *client) get(ctx context.Context, path string, q url.Values, v any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Token token="+c.token)
		req.Header.Set("Accept", "application/vnd.pagerduty+json;version=2")
		resp, err := c.http.Do(req)
		c.mu.Lock()
		c.requests++
		c.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if attempt >= c.maxRetries {
				return fmt.Errorf("GET %s: giving up after %d attempts: %w", path, attempt+1, err)
			}
			delay := c.backoff(attempt)
			c.logger().Warn("PagerDuty request failed; retrying", "path", path, "attempt", attempt+1, "in", delay, "err", err)
			if err := c.sleep(ctx, delay); err != nil {
				return err
			}
			continue
		}
		if rem, err := strconv.Atoi(resp.Header.Get("ratelimit-remaining")); err == nil {
			c.mu.Lock()
			c.remaining = rem
			c.mu.Unlock()
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("GET %s: reading the answer: %w", path, err)
		}
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, v); err != nil {
				return fmt.Errorf("GET %s: decoding the answer: %w", path, err)
			}
			return nil
		}
		apiErr := &apiError{Status: resp.StatusCode, Path: path}
		var eb struct {
			Error struct {
				Message string   `json:"message"`
				Code    int      `json:"code"`
				Errors  []string `json:"errors"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &eb) == nil {
			apiErr.Message, apiErr.Code, apiErr.Errors = eb.Error.Message, eb.Error.Code, eb.Error.Errors
		}
		wait, reason := c.retryWait(resp, attempt)
		if reason == "" || attempt >= c.maxRetries {
			return apiErr
		}
		if wait > c.maxWait {
			return fmt.Errorf("PagerDuty asks to wait %s, longer than %s: %w", wait, c.maxWait, apiErr)
		}
		c.logger().Warn("PagerDuty asked to wait; retrying", "reason", reason, "status", resp.StatusCode,
			"path", path, "attempt", attempt+1, "in", wait.Round(time.Second))
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// retryWait says how long to wait before retrying a response, and why; no reason
// means the response is final.
func (c *client) retryWait(resp *http.Response, attempt int) (time.Duration, string) {
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		// PagerDuty documents ratelimit-reset as the seconds to wait before retrying.
		for _, h := range []string{"ratelimit-reset", "Retry-After"} {
			if d, ok := httpwait.Seconds(resp.Header.Get(h)); ok {
				return d, "rate limit"
			}
		}
		return time.Minute, "rate limit"
	case code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported:
		return c.backoff(attempt), "server error"
	}
	return 0, ""
}

// backoff is the wait before retry number attempt+1: exponential with full jitter in
// its upper half, so many clients do not retry in step.
func (c *client) backoff(attempt int) time.Duration {
	return httpwait.Backoff(c.baseDelay, c.maxDelay, attempt)
}
