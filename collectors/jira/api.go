package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors/httpwait"
)

// The JSON Jira answers with, only the fields the source reads.

type apiUser struct {
	DisplayName string `json:"displayName"`
}

type apiNamed struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Name string `json:"name"`
}

type apiStatusCategory struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

type apiStatus struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	StatusCategory apiStatusCategory `json:"statusCategory"`
}

type apiItem struct {
	Field      string `json:"field"`
	FieldID    string `json:"fieldId"`
	From       string `json:"from"`
	FromString string `json:"fromString"`
	To         string `json:"to"`
	ToString   string `json:"toString"`
}

type apiHistory struct {
	ID      string    `json:"id"`
	Author  *apiUser  `json:"author"`
	Created string    `json:"created"`
	Items   []apiItem `json:"items"`
}

type apiChangelog struct {
	StartAt    int          `json:"startAt"`
	MaxResults int          `json:"maxResults"`
	Total      int          `json:"total"`
	Histories  []apiHistory `json:"histories"`
}

type apiWorklog struct {
	ID               string   `json:"id"`
	Author           *apiUser `json:"author"`
	Started          string   `json:"started"`
	TimeSpentSeconds int64    `json:"timeSpentSeconds"`
	Updated          string   `json:"updated"`
}

type apiWorklogs struct {
	StartAt    int          `json:"startAt"`
	MaxResults int          `json:"maxResults"`
	Total      int          `json:"total"`
	Worklogs   []apiWorklog `json:"worklogs"`
}

type apiFields struct {
	Summary        string       `json:"summary"`
	IssueType      *apiNamed    `json:"issuetype"`
	Project        *apiNamed    `json:"project"`
	Labels         []string     `json:"labels"`
	Components     []apiNamed   `json:"components"`
	Assignee       *apiUser     `json:"assignee"`
	Priority       *apiNamed    `json:"priority"`
	Status         *apiStatus   `json:"status"`
	Resolution     *apiNamed    `json:"resolution"`
	Created        string       `json:"created"`
	Updated        string       `json:"updated"`
	ResolutionDate string       `json:"resolutiondate"`
	Worklog        *apiWorklogs `json:"worklog"`
}

type apiIssue struct {
	ID        string        `json:"id"`
	Key       string        `json:"key"`
	Fields    apiFields     `json:"fields"`
	Changelog *apiChangelog `json:"changelog"`
}

// searchPage is a page of either search: Cloud's /search/jql (nextPageToken,
// isLast) or Data Center's /search (startAt, total).
type searchPage struct {
	Issues        []apiIssue `json:"issues"`
	NextPageToken string     `json:"nextPageToken"`
	IsLast        *bool      `json:"isLast"`
	StartAt       int        `json:"startAt"`
	MaxResults    int        `json:"maxResults"`
	Total         int        `json:"total"`
}

type bulkChangelogRequest struct {
	IssueIDsOrKeys []string `json:"issueIdsOrKeys"`
	FieldIDs       []string `json:"fieldIds"`
	MaxResults     int      `json:"maxResults"`
	NextPageToken  string   `json:"nextPageToken,omitempty"`
}

type bulkChangelogPage struct {
	IssueChangeLogs []struct {
		IssueID         string       `json:"issueId"`
		ChangeHistories []apiHistory `json:"changeHistories"`
	} `json:"issueChangeLogs"`
	NextPageToken string `json:"nextPageToken"`
}

type changelogPage struct {
	StartAt    int          `json:"startAt"`
	MaxResults int          `json:"maxResults"`
	Total      int          `json:"total"`
	IsLast     bool         `json:"isLast"`
	Values     []apiHistory `json:"values"`
}

type apiMyself struct {
	TimeZone string `json:"timeZone"`
}

// jiraTime is the layout of every Jira timestamp: "2026-03-01T10:15:30.000+0100".
const jiraTime = "2006-01-02T15:04:05.000-0700"

// parseTime reads a Jira timestamp to the second, in UTC; empty is zero.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(jiraTime, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return time.Time{}, fmt.Errorf("unreadable time %q", s)
		}
	}
	return t.UTC().Truncate(time.Second), nil
}

// apiError is a final, non-2xx answer.
type apiError struct {
	Status int
	Path   string
	Msg    string
}

func (e *apiError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("%s: %d %s", e.Path, e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s: %d %s: %s", e.Path, e.Status, http.StatusText(e.Status), e.Msg)
}

// statusOf is the HTTP status behind an error, 0 when there is none.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// The retry policy: Jira Cloud answers 429 with Retry-After when a site's cost
// budget is spent, and both deployments answer 5xx under load.
const (
	maxRetries = 6
	baseDelay  = time.Second
	maxDelay   = time.Minute
	maxWait    = 15 * time.Minute // longest Retry-After honoured before failing
)

// do sends one request, retrying 429s after Retry-After and 5xx and network
// failures with jittered exponential backoff, and decodes a 2xx answer into v.
func (s *Source) do(ctx context.Context, method, path string, q url.Values, body any, v any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	u := s.set.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if s.set.datacenter {
			req.Header.Set("Authorization", "Bearer "+s.set.token)
		} else {
			req.SetBasicAuth(s.set.email, s.set.token)
		}
		s.requests.Add(1)
		resp, err := s.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if attempt >= maxRetries {
				return fmt.Errorf("%s: giving up after %d attempts: %w", path, attempt+1, err)
			}
			if err := s.sleep(ctx, backoff(attempt)); err != nil {
				return err
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if attempt >= maxRetries {
				return fmt.Errorf("%s: reading the answer: %w", path, err)
			}
			continue
		}
		var wait time.Duration
		reason, after := "", ""
		switch code := resp.StatusCode; {
		case code >= 200 && code < 300:
			if err := json.Unmarshal(data, v); err != nil {
				return fmt.Errorf("%s: unreadable answer: %w", path, err)
			}
			return nil
		case code == http.StatusTooManyRequests:
			after = resp.Header.Get("Retry-After")
			wait, reason = retryAfter(after, s.now(), attempt), "rate limited (429)"
		case code == http.StatusInternalServerError || code == http.StatusBadGateway ||
			code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
			wait, reason = backoff(attempt), "server error"
			if after := resp.Header.Get("Retry-After"); after != "" {
				wait = retryAfter(after, s.now(), attempt)
			}
		}
		if reason == "" || attempt >= maxRetries || wait > maxWait {
			err := &apiError{Status: resp.StatusCode, Path: path, Msg: errorMessages(data)}
			if resp.StatusCode != http.StatusTooManyRequests {
				return err
			}
			last := "none"
			if after != "" {
				last = after + " (" + wait.Round(time.Second).String() + ")"
			}
			if wait > maxWait {
				return fmt.Errorf("rate limited (429): Jira asked to wait %s, more than the %s waited at most; the last Retry-After was %s: %w",
					wait.Round(time.Second), maxWait, last, err)
			}
			return fmt.Errorf("rate limited (429) on all %d attempts the retry budget allows; the last Retry-After was %s: %w", attempt+1, last, err)
		}
		s.log.Warn("Jira asked to wait; retrying", "reason", reason, "status", resp.StatusCode,
			"path", path, "attempt", attempt+1, "in", wait.Round(time.Second))
		if err := s.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// retryAfter reads a Retry-After header (seconds or an HTTP date); without one it
// backs off as for a server error.
func retryAfter(h string, now time.Time, attempt int) time.Duration {
	if d, ok := httpwait.RetryAfter(h, now); ok {
		return d
	}
	return backoff(attempt)
}

// backoff is the wait before retry number attempt+1: exponential, jittered in its
// upper half so that many clients do not retry in step.
func backoff(attempt int) time.Duration {
	return httpwait.Backoff(baseDelay, maxDelay, attempt)
}

// errorMessages extracts Jira's error body ({"errorMessages": [...], "errors": {...}})
// or the start of any other body.
func errorMessages(data []byte) string {
	var e struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
	}
	if json.Unmarshal(data, &e) == nil && (len(e.ErrorMessages) > 0 || len(e.Errors) > 0) {
		msgs := e.ErrorMessages
		for k, v := range e.Errors {
			msgs = append(msgs, k+": "+v)
		}
		return strings.Join(msgs, "; ")
	}
	text := strings.TrimSpace(string(data))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	return text
}
