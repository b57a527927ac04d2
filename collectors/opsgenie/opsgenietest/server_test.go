package opsgenietest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func get(t *testing.T, s *Server, key, path string, q url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "GenieKey "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body, resp.Header
}

func TestServer(t *testing.T) {
	s := New(t, "k")
	for i := range 5 {
		s.AddAlert(Alert{ID: string(rune('a' + i)), Message: "m", CreatedAt: t0.Add(time.Duration(i) * time.Minute), Status: []string{"open", "closed"}[i%2]})
	}
	q := url.Values{"query": {"createdAt>=" + ms(t0.Add(time.Minute)) + " AND (status:open OR createdAt>=" + ms(t0.Add(3*time.Minute)) + ")"},
		"sort": {"createdAt"}, "order": {"asc"}, "limit": {"2"}}
	status, body, _ := get(t, s, "k", "/v2/alerts", q)
	data, _ := body["data"].([]any)
	// b (1 min, closed) is left out; c (2 min, open), d (3 min) and e (4 min) match.
	if status != http.StatusOK || len(data) != 2 || data[0].(map[string]any)["id"] != "c" || data[1].(map[string]any)["id"] != "d" ||
		body["paging"].(map[string]any)["next"] == nil || body["requestId"] == nil || body["took"] == nil {
		t.Fatalf("%d %v", status, body)
	}
	if status, _, _ := get(t, s, "other", "/v2/alerts", nil); status != http.StatusUnauthorized {
		t.Errorf("a wrong key answered %d, want 401", status)
	}
	if status, body, _ := get(t, s, "k", "/v2/alerts", url.Values{"query": {"owner:ana"}}); status != http.StatusUnprocessableEntity {
		t.Errorf("an unsupported query answered %d %v, want 422", status, body)
	}
	if status, _, _ := get(t, s, "k", "/v2/alerts", url.Values{"offset": {"19950"}, "limit": {"100"}}); status != http.StatusUnprocessableEntity {
		t.Errorf("offset + limit over 20,000 answered %d, want 422", status)
	}
	if status, _, _ := get(t, s, "k", "/v2/alerts", url.Values{"offset": {"19900"}, "limit": {"100"}}); status != http.StatusOK {
		t.Errorf("offset + limit of 20,000 answered %d, want 200", status)
	}
	if status, body, _ := get(t, s, "k", "/v2/alerts/c", nil); status != http.StatusOK || body["data"].(map[string]any)["id"] != "c" {
		t.Errorf("one alert: %d %v", status, body)
	}
	if status, _, _ := get(t, s, "k", "/v2/alerts/zz", nil); status != http.StatusNotFound {
		t.Errorf("a missing alert answered %d, want 404", status)
	}
	s.Throttle(1, 60)
	status, _, h := get(t, s, "k", "/v2/alerts", nil)
	if status != http.StatusTooManyRequests || h.Get("X-RateLimit-State") != "THROTTLED" || h.Get("X-RateLimit-Period-In-Sec") != "60" {
		t.Errorf("throttled: %d %v", status, h)
	}
	if got := s.Count("alerts.list"); got != 6 {
		t.Errorf("%d alerts.list requests counted, want 6", got)
	}
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
