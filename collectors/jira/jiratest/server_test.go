package jiratest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// get sends an authenticated GET and decodes the answer.
func get(t *testing.T, s *Server, path string, q url.Values, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+path+"?"+q.Encode(), nil)
	if s.mode == DataCenter {
		req.Header.Set("Authorization", "Bearer "+s.token)
	} else {
		req.SetBasicAuth(s.email, s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s: %v: %s", path, err, body)
		}
	}
	return resp.StatusCode
}

type page struct {
	Issues []struct {
		Key    string         `json:"key"`
		Fields map[string]any `json:"fields"`
	} `json:"issues"`
	NextPageToken string   `json:"nextPageToken"`
	IsLast        bool     `json:"isLast"`
	Total         int      `json:"total"`
	ErrorMessages []string `json:"errorMessages"`
}

func TestSearchReadsDatesInTheUsersZone(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	s := New(t, WithTimeZone(la))
	s.AddIssue(Issue{Key: "PAY-1", Created: time.Date(2026, 6, 1, 11, 59, 59, 0, time.UTC)})
	s.AddIssue(Issue{Key: "PAY-2", Created: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)})
	var p page
	// 05:00 in Los Angeles is 12:00 UTC.
	if code := get(t, s, "/rest/api/3/search/jql", url.Values{"jql": {`project = "PAY" AND updated >= "2026/06/01 05:00" ORDER BY updated ASC, key ASC`}}, &p); code != 200 {
		t.Fatalf("%d %v", code, p.ErrorMessages)
	}
	if len(p.Issues) != 1 || p.Issues[0].Key != "PAY-2" || !p.IsLast || p.NextPageToken != "" {
		t.Errorf("%+v", p)
	}
	// Issue times are written in the user's zone, as Jira writes them.
	if got := p.Issues[0].Fields["updated"]; got != "2026-06-01T05:00:00.000-0700" {
		t.Errorf("updated %v", got)
	}
	for _, jql := range []string{
		`updated >= "2026-06-01T05:00:00Z"`,   // not a JQL date
		`updated >= "2026/06/01 05:00:30"`,    // seconds
		`summary ~ "x"`,                       // a field the fake does not serve
		`project = PAY OR project = OPS`,      // OR
		`project = PAY ORDER BY created DESC`, // another order
		`project = "PAY`,                      // unterminated
	} {
		var p page
		if code := get(t, s, "/rest/api/3/search/jql", url.Values{"jql": {jql}}, &p); code != 400 || len(p.ErrorMessages) == 0 {
			t.Errorf("%s: %d %v", jql, code, p.ErrorMessages)
		}
	}
}

func TestSearchPagingAndCaps(t *testing.T) {
	s := New(t)
	for i := 1; i <= 130; i++ {
		s.AddIssue(Issue{Key: "PAY-" + strconv.Itoa(i), Created: time.Date(2026, 5, 1, 0, i, 0, 0, time.UTC)})
	}
	q := url.Values{"jql": {`project = PAY`}, "maxResults": {"500"}}
	var p1, p2 page
	get(t, s, "/rest/api/3/search/jql", q, &p1)
	if len(p1.Issues) != SearchCap || p1.IsLast || p1.NextPageToken == "" {
		t.Fatalf("first page: %d issues, isLast %v, token %q", len(p1.Issues), p1.IsLast, p1.NextPageToken)
	}
	q.Set("nextPageToken", p1.NextPageToken)
	get(t, s, "/rest/api/3/search/jql", q, &p2)
	if len(p2.Issues) != 30 || !p2.IsLast || p2.Issues[29].Key != "PAY-130" {
		t.Errorf("second page: %d issues, isLast %v", len(p2.Issues), p2.IsLast)
	}
	// A token belongs to its query.
	q.Set("jql", `project = OPS`)
	if code := get(t, s, "/rest/api/3/search/jql", q, nil); code != 400 {
		t.Errorf("a token of another query: %d", code)
	}
	if s.Count("search") != 3 || s.Total() != 3 {
		t.Errorf("counts: %d search, %d total", s.Count("search"), s.Total())
	}
}

func TestDataCenterSearchAndAuth(t *testing.T) {
	s := New(t, WithMode(DataCenter), WithAuth("", "pat"), WithLimits(Limits{Search: 2}))
	for i := 1; i <= 3; i++ {
		s.AddIssue(Issue{Key: "OPS-" + strconv.Itoa(i), Created: time.Date(2026, 5, 1, i, 0, 0, 0, time.UTC)})
	}
	var p page
	get(t, s, "/rest/api/2/search", url.Values{"jql": {`project = OPS`}, "startAt": {"2"}, "maxResults": {"50"}}, &p)
	if p.Total != 3 || len(p.Issues) != 1 || p.Issues[0].Key != "OPS-3" {
		t.Errorf("%+v", p)
	}
	// Cloud's endpoint is not served, and Basic auth is refused.
	if code := get(t, s, "/rest/api/3/search/jql", url.Values{"jql": {`project = OPS`}}, nil); code != 404 {
		t.Errorf("v3 on Data Center: %d", code)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/rest/api/2/myself", nil)
	req.SetBasicAuth("ana", "pat")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("Basic on Data Center: %d", resp.StatusCode)
	}
}

func TestThrottleAndChangelogInline(t *testing.T) {
	s := New(t)
	s.AddIssue(Issue{Key: "PAY-1", Created: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)})
	for i := range 45 {
		to := "In Progress"
		if i%2 == 1 {
			to = "To Do"
		}
		s.Transition("PAY-1", to, "Bo", time.Date(2026, 5, 1, 1, i, 0, 0, time.UTC))
	}
	s.Throttle(1, 7*time.Second)
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/rest/api/3/myself", nil)
	req.SetBasicAuth(s.email, s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Errorf("%d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	var p struct {
		Issues []struct {
			Changelog struct {
				Total     int               `json:"total"`
				Histories []json.RawMessage `json:"histories"`
			} `json:"changelog"`
		} `json:"issues"`
	}
	get(t, s, "/rest/api/3/search/jql", url.Values{"jql": {"project = PAY"}, "expand": {"changelog"}}, &p)
	if c := p.Issues[0].Changelog; c.Total != 45 || len(c.Histories) != ChangelogInline {
		t.Errorf("changelog: total %d, %d inlined", c.Total, len(c.Histories))
	}
	if !strings.Contains(string(s.WebhookPayload("jira:issue_updated", "PAY-1", "")), `"webhookEvent":"jira:issue_updated"`) {
		t.Error("webhook payload")
	}
}
