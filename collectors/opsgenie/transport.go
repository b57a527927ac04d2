package opsgenie

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/flowmeter/flowmeter/collectors/httpwait"
)

// client sends the source's requests and owns Opsgenie's limits: a 429 is waited
// out as its headers say (Retry-After, else X-RateLimit-Period-In-Sec, the
// throttled bucket's period, else a minute) and retried; 5xx answers and network
// failures are retried with bounded, jittered exponential backoff. Every wait goes
// through sleep, which tests replace so that they never sleep.
type client struct {
	http    *http.Client
	baseURL string
	key     string
	log     *slog.Logger
	sleep   func(ctx context.Context, d time.Duration) error

	maxRetries int           // retries of one request after the first attempt
	baseDelay  time.Duration // first backoff; doubles on each retry
	maxDelay   time.Duration // longest backoff
	maxWait    time.Duration // longest wait a 429 may ask for before the request fails

	mu        sync.Mutex
	requests  int            // requests sent, retries included
	byRoute   map[string]int // requests sent by path
	throttled int            // 429 answers seen
}

func newClient(baseURL, key string, rt http.RoundTripper) *client {
	return &client{
		http: &http.Client{Transport: rt, Timeout: 2 * time.Minute}, baseURL: baseURL, key: key,
		log: slog.New(slog.DiscardHandler), sleep: httpwait.Sleep,
		maxRetries: 5, baseDelay: time.Second, maxDelay: time.Minute, maxWait: 10 * time.Minute,
		byRoute: map[string]int{},
	}
}

// stats returns the requests sent so far.
func (c *client) stats() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// apiError is an answer Opsgenie gave other than 2xx, after any retries.
type apiError struct {
	Status    int
	Message   string
	RequestID string
	Path      string
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	s := fmt.Sprintf("GET %s: %d %s", e.Path, e.Status, msg)
	if e.RequestID != "" {
		s += " (requestId " + e.RequestID + ")"
	}
	return s
}

// get fetches path with the query parameters into v, waiting and retrying as
// Opsgenie asks.
func (c *client) get(ctx context.Context, path string, params map[string]string, v any) error {
	u := c.baseURL + path
	if len(params) > 0 {
		q := url.Values{}
		for k, val := range params {
			q.Set(k, val)
		}
		u += "?" + q.Encode()
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "GenieKey "+c.key)
		req.Header.Set("Accept", "application/json")
		resp, err := c.http.Do(req)
		c.mu.Lock()
		c.requests++
		c.byRoute[path]++
		c.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if attempt >= c.maxRetries {
				return fmt.Errorf("GET %s: giving up after %d attempts: %w", path, attempt+1, err)
			}
			delay := c.backoff(attempt)
			c.log.Warn("Opsgenie request failed; retrying", "path", path, "attempt", attempt+1, "in", delay, "err", err)
			if err := c.sleep(ctx, delay); err != nil {
				return err
			}
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("GET %s: reading the answer: %w", path, err)
		}
		if resp.StatusCode/100 == 2 {
			if err := json.Unmarshal(body, v); err != nil {
				return fmt.Errorf("GET %s: decoding the answer: %w", path, err)
			}
			return nil
		}
		wait, reason := c.retryWait(resp, attempt)
		if reason == "" || attempt >= c.maxRetries || wait > c.maxWait {
			var e struct {
				Message   string `json:"message"`
				RequestID string `json:"requestId"`
			}
			_ = json.Unmarshal(body, &e)
			return &apiError{Status: resp.StatusCode, Message: e.Message, RequestID: e.RequestID, Path: path}
		}
		c.log.Warn("Opsgenie asked to wait; retrying", "reason", reason, "status", resp.StatusCode, "path", path,
			"attempt", attempt+1, "in", wait, "rate_limit_reason", resp.Header.Get("X-RateLimit-Reason"))
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// retryWait says how long to wait before retrying an answer, and why; no reason
// means the answer is final.
func (c *client) retryWait(resp *http.Response, attempt int) (time.Duration, string) {
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		c.mu.Lock()
		c.throttled++
		c.mu.Unlock()
		for _, h := range []string{"Retry-After", "X-RateLimit-Period-In-Sec"} {
			if d, ok := httpwait.Seconds(resp.Header.Get(h)); ok && d > 0 {
				return d, "rate limited (" + h + ")"
			}
		}
		return time.Minute, "rate limited"
	case code == http.StatusInternalServerError || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		return c.backoff(attempt), "server error"
	}
	return 0, ""
}

// backoff is the wait before retry number attempt+1: exponential, jittered in its
// upper half so that clients do not retry in step.
func (c *client) backoff(attempt int) time.Duration {
	return httpwait.Backoff(c.baseDelay, c.maxDelay, attempt)
}
