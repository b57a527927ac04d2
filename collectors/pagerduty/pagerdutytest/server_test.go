package pagerdutytest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, s *Server, token, pathQuery string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+pathQuery, nil)
	req.Header.Set("Authorization", "Token token="+token)
	req.Header.Set("Accept", "application/vnd.pagerduty+json;version=2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestServerFollowsPagerDuty(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := NewClock(now)
	s := New(t, WithClock(clock.Now))
	s.AddService("PSVC001", "Checkout API")
	s.Generate(250, "PSVC001", now.Add(-10*24*time.Hour), now.Add(-24*time.Hour))
	window := "since=2026-05-01T00:00:00Z&until=2026-06-01T00:00:00Z"

	code, _, body := get(t, s, "wrong", "/incidents")
	if code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	code, h, body := get(t, s, "test-token", "/incidents?"+window+"&limit=100&offset=200")
	if code != 200 || len(body["incidents"].([]any)) != 50 || body["more"] != false || body["total"] != nil || h.Get("ratelimit-remaining") == "" {
		t.Fatalf("last page: %d %v %v", code, body["more"], body["total"])
	}
	_, _, body = get(t, s, "test-token", "/incidents?"+window+"&limit=500&total=true")
	if len(body["incidents"].([]any)) != 100 || body["more"] != true || body["total"] != float64(250) || body["limit"] != float64(100) {
		t.Fatalf("first page with total: %v %v %v", body["more"], body["total"], body["limit"])
	}
	in := body["incidents"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "incident_number", "title", "status", "urgency", "priority", "service", "teams", "created_at", "html_url", "last_status_change_at", "resolved_at"} {
		if _, ok := in[k]; !ok {
			t.Errorf("incident without %s", k)
		}
	}
	code, _, body = get(t, s, "test-token", "/incidents?since=2026-01-01T00:00:00Z&until=2026-07-02T00:00:00Z")
	if e := body["error"].(map[string]any); code != 400 || e["code"] != float64(2001) {
		t.Fatalf("over six months: %d %v", code, body)
	}
	code, _, body = get(t, s, "test-token", "/log_entries?"+window+"&limit=100&offset=9950")
	if e := body["error"].(map[string]any); code != 400 || e["code"] != float64(2002) || !strings.Contains(e["errors"].([]any)[0].(string), "Offset+limit exceeds maximum allowed value of 10000") {
		t.Fatalf("past the ceiling: %d %v", code, body)
	}
	_, _, body = get(t, s, "test-token", "/log_entries?"+window+"&limit=2&include[]=incidents")
	entries := body["log_entries"].([]any)
	first, second := entries[0].(map[string]any), entries[1].(map[string]any)
	if first["created_at"].(string) < second["created_at"].(string) || first["incident"].(map[string]any)["status"] == nil {
		t.Fatalf("log entries not newest first with full incidents: %v", entries)
	}
	s.RateLimit(1, 12)
	code, h, _ = get(t, s, "test-token", "/teams")
	if code != http.StatusTooManyRequests || h.Get("ratelimit-reset") != "12" || h.Get("ratelimit-remaining") != "0" {
		t.Fatalf("rate limited: %d %v", code, h)
	}
	if s.Count("incidents") != 4 || s.Count("log_entries") != 2 || s.Count("teams") != 1 || s.Total() != 7 {
		t.Fatalf("counts %v", s.Counts())
	}
}
