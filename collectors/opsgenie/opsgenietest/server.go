// Package opsgenietest is a fake Opsgenie REST API for the tests of the Opsgenie
// collector, written from Opsgenie's documentation: the documented field names
// and envelopes ({"data": [...], "paging": {...}, "took", "requestId"}), offset
// and limit paging with the 20,000 ceiling on offset + limit, GenieKey
// authentication, 429 answers with Opsgenie's X-RateLimit-* headers, and injected
// server errors.
//
// # Endpoints (GET only)
//
//	/v2/alerts        query, offset, limit (1–100), sort=createdAt, order=asc|desc
//	/v2/alerts/{id}   one alert (identifierType id, the default)
//	/v1/incidents     as /v2/alerts
//	/v1/incidents/{id} one incident
//	/v1/services      offset, limit
//
// The query language is the subset the collector sends: terms joined by " AND ",
// each createdAt with >=, >, <, <= and epoch milliseconds, or field:value for
// status, priority and tag, or a parenthesised group of those joined by " OR "
// or " AND ". Anything else answers 422 as Opsgenie does for a query it cannot
// parse. Every request is counted by route: "alerts.list", "alerts.get",
// "incidents.list", "incidents.get", "services.list".
package opsgenietest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// OffsetCeiling is the largest offset + limit a listing accepts.
const OffsetCeiling = 20000

// Alert is one alert as the fake keeps it.
type Alert struct {
	ID, TinyID, Alias, Message string
	Status                     string // "open" or "closed"; empty means open
	Acknowledged               bool
	Tags                       []string
	Priority                   string // P1…P5; empty means P3, Opsgenie's default
	CreatedAt, UpdatedAt       time.Time
	Owner                      string
	// AckTime and CloseTime are the report's times after CreatedAt; zero when the
	// alert was not acknowledged or closed.
	AckTime, CloseTime       time.Duration
	AcknowledgedBy, ClosedBy string
	// ShownCreatedAt, when set, is the createdAt the answers show, while searches
	// and sorting go by CreatedAt: an alert whose index disagrees with its record.
	ShownCreatedAt time.Time
}

// Incident is one incident as the fake keeps it.
type Incident struct {
	ID, TinyID, Message string
	Status              string // "open", "resolved" or "closed"; empty means open
	Tags                []string
	Priority            string
	CreatedAt           time.Time
	UpdatedAt           time.Time
	ImpactedServices    []string // service ids
	ImpactEndDate       time.Time
}

// Service is one service.
type Service struct{ ID, Name string }

// Request is one request the fake answered.
type Request struct {
	Route  string // "alerts.list", "incidents.list", "services.list" or "unknown"
	Query  string
	Status int
}

// Server is the fake. Everything is safe to call while it serves.
type Server struct {
	t   testing.TB
	srv *httptest.Server
	key string

	mu        sync.Mutex
	alerts    map[string]*Alert
	incidents map[string]*Incident
	services  []Service
	requests  []Request
	fail      []int // statuses the next requests answer
	throttle  int   // the next requests answering 429
	period    int   // X-RateLimit-Period-In-Sec of those answers
	onRequest func(*http.Request)
	seq       int
	ceiling   int // the largest offset + limit
}

// New starts a fake that accepts "Authorization: GenieKey <key>".
func New(t testing.TB, key string) *Server {
	s := &Server{t: t, key: key, alerts: map[string]*Alert{}, incidents: map[string]*Incident{}, ceiling: OffsetCeiling}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the fake's API root, for base_url.
func (s *Server) URL() string { return s.srv.URL }

// AddAlert adds or replaces an alert; UpdatedAt defaults to the latest of its times.
func (s *Server) AddAlert(a Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Status == "" {
		a.Status = "open"
	}
	if a.Priority == "" {
		a.Priority = "P3"
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt.Add(max(a.AckTime, a.CloseTime))
	}
	s.seq++
	if a.TinyID == "" {
		a.TinyID = strconv.Itoa(s.seq)
	}
	c := a
	s.alerts[a.ID] = &c
}

// UpdateAlert changes an alert in place.
func (s *Server) UpdateAlert(id string, fn func(*Alert)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[id]
	if !ok {
		s.t.Fatalf("opsgenietest: no alert %s", id)
	}
	fn(a)
}

// AddIncident adds or replaces an incident.
func (s *Server) AddIncident(in Incident) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.Status == "" {
		in.Status = "open"
	}
	if in.Priority == "" {
		in.Priority = "P3"
	}
	if in.UpdatedAt.IsZero() {
		in.UpdatedAt = in.CreatedAt
		if in.ImpactEndDate.After(in.CreatedAt) {
			in.UpdatedAt = in.ImpactEndDate
		}
	}
	s.seq++
	if in.TinyID == "" {
		in.TinyID = strconv.Itoa(s.seq)
	}
	c := in
	s.incidents[in.ID] = &c
}

// UpdateIncident changes an incident in place.
func (s *Server) UpdateIncident(id string, fn func(*Incident)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.incidents[id]
	if !ok {
		s.t.Fatalf("opsgenietest: no incident %s", id)
	}
	fn(in)
}

// AddService adds a service.
func (s *Server) AddService(sv Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services = append(s.services, sv)
}

// SetOffsetCeiling lowers the ceiling on offset + limit, so that tests reach it
// with a few alerts.
func (s *Server) SetOffsetCeiling(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ceiling = n
}

// Fail makes the next n requests answer status.
func (s *Server) Fail(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, status)
	}
}

// Throttle makes the next n requests answer 429 with X-RateLimit-State:
// THROTTLED and X-RateLimit-Period-In-Sec: period.
func (s *Server) Throttle(n, period int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.period = n, period
}

// OnRequest makes fn see each request before it is answered (nil stops it).
func (s *Server) OnRequest(fn func(*http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRequest = fn
}

// Requests lists the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count is how many requests a route got.
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Route == route {
			n++
		}
	}
	return n
}

// Total is how many requests were answered, or are being answered.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// ResetCounts forgets the requests answered so far.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func route(path string) string {
	switch strings.TrimSuffix(path, "/") {
	case "/v2/alerts":
		return "alerts.list"
	case "/v1/incidents":
		return "incidents.list"
	case "/v1/services":
		return "services.list"
	}
	if id, ok := strings.CutPrefix(path, "/v2/alerts/"); ok && id != "" && !strings.Contains(id, "/") {
		return "alerts.get"
	}
	if id, ok := strings.CutPrefix(path, "/v1/incidents/"); ok && id != "" && !strings.Contains(id, "/") {
		return "incidents.get"
	}
	return "unknown"
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rt := route(r.URL.Path)
	s.mu.Lock()
	idx := len(s.requests)
	s.requests = append(s.requests, Request{Route: rt, Query: r.URL.Query().Get("query")})
	fn := s.onRequest
	s.mu.Unlock()
	if fn != nil {
		fn(r)
	}
	status, body, hdr := s.answer(r, rt)
	s.mu.Lock()
	s.requests[idx].Status = status
	s.mu.Unlock()
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-ID", requestID(idx))
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func requestID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func failure(status int, msg string) (int, any, map[string]string) {
	return status, map[string]any{"message": msg, "took": 0.001, "requestId": requestID(0)}, nil
}

func (s *Server) answer(r *http.Request, rt string) (int, any, map[string]string) {
	s.mu.Lock()
	if len(s.fail) > 0 {
		st := s.fail[0]
		s.fail = s.fail[1:]
		s.mu.Unlock()
		return failure(st, http.StatusText(st))
	}
	if s.throttle > 0 {
		s.throttle--
		period := s.period
		s.mu.Unlock()
		st, body, _ := failure(http.StatusTooManyRequests, "TooManyRequests")
		return st, body, map[string]string{
			"X-RateLimit-State": "THROTTLED", "X-RateLimit-Reason": "ACCOUNT",
			"X-RateLimit-Period-In-Sec": strconv.Itoa(period),
		}
	}
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "GenieKey "+s.key {
		return failure(http.StatusUnauthorized, "Could not authenticate")
	}
	if r.Method != http.MethodGet || rt == "unknown" {
		return failure(http.StatusNotFound, "Not Found")
	}
	switch rt {
	case "alerts.get", "incidents.get":
		return s.getOne(r, rt)
	}
	q := r.URL.Query()
	offset, limit := 0, 20
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return failure(http.StatusUnprocessableEntity, "offset must be a non-negative integer")
		}
		offset = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return failure(http.StatusUnprocessableEntity, "limit must be between 1 and 100")
		}
		limit = n
	}
	s.mu.Lock()
	ceiling := s.ceiling
	s.mu.Unlock()
	if offset+limit > ceiling {
		return failure(http.StatusUnprocessableEntity, fmt.Sprintf("offset + limit must not exceed %d", ceiling))
	}
	if rt == "services.list" {
		s.mu.Lock()
		all := slices.Clone(s.services)
		s.mu.Unlock()
		var data []map[string]any
		for _, sv := range window(all, offset, limit) {
			data = append(data, map[string]any{"id": sv.ID, "name": sv.Name, "description": "", "teamId": "", "tags": []string{}, "isExternal": false})
		}
		return http.StatusOK, map[string]any{"data": orEmpty(data), "totalCount": len(all), "took": 0.01, "requestId": requestID(1)}, nil
	}
	if sortBy := q.Get("sort"); sortBy != "" && sortBy != "createdAt" {
		return failure(http.StatusUnprocessableEntity, "sort field not supported by the fake: "+sortBy)
	}
	order := q.Get("order")
	if order == "" {
		order = "desc"
	}
	if order != "asc" && order != "desc" {
		return failure(http.StatusUnprocessableEntity, "order must be asc or desc")
	}
	match, err := parseQuery(q.Get("query"))
	if err != nil {
		return failure(http.StatusUnprocessableEntity, "Invalid query: "+err.Error())
	}
	type row struct {
		created time.Time
		id      string
		alert   *Alert
		inc     *Incident
	}
	var rows []row
	base := "http://" + r.Host + r.URL.Path
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt == "alerts.list" {
		for _, a := range s.alerts {
			if match(fields{created: a.CreatedAt, status: a.Status, priority: a.Priority, tags: a.Tags}) {
				rows = append(rows, row{created: a.CreatedAt, id: a.ID, alert: a})
			}
		}
	} else {
		for _, in := range s.incidents {
			if match(fields{created: in.CreatedAt, status: in.Status, priority: in.Priority, tags: in.Tags}) {
				rows = append(rows, row{created: in.CreatedAt, id: in.ID, inc: in})
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if !a.created.Equal(b.created) {
			if order == "asc" {
				return a.created.Before(b.created)
			}
			return a.created.After(b.created)
		}
		return a.id < b.id
	})
	var data []map[string]any
	for _, rw := range window(rows, offset, limit) {
		if rw.alert != nil {
			data = append(data, alertJSON(rw.alert))
		} else {
			data = append(data, incidentJSON(rw.inc, "http://"+r.Host))
		}
	}
	link := func(off int) string {
		v := q
		v.Set("offset", strconv.Itoa(off))
		v.Set("limit", strconv.Itoa(limit))
		return base + "?" + v.Encode()
	}
	paging := map[string]any{"first": link(0), "last": link(max(0, (len(rows)-1)/limit*limit))}
	if offset+limit < len(rows) {
		paging["next"] = link(offset + limit)
	}
	return http.StatusOK, map[string]any{"data": orEmpty(data), "paging": paging, "took": 0.05, "requestId": requestID(2)}, nil
}

// getOne answers GET /v2/alerts/{id} (identifierType id, the default) and GET
// /v1/incidents/{id}: {"data": {...}, "took", "requestId"}, or 404.
func (s *Server) getOne(r *http.Request, rt string) (int, any, map[string]string) {
	if t := r.URL.Query().Get("identifierType"); t != "" && t != "id" {
		return failure(http.StatusUnprocessableEntity, "identifierType not supported by the fake: "+t)
	}
	id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	var data map[string]any
	if rt == "alerts.get" {
		if a, ok := s.alerts[id]; ok {
			data = alertJSON(a)
		}
	} else if in, ok := s.incidents[id]; ok {
		data = incidentJSON(in, "http://"+r.Host)
	}
	if data == nil {
		kind := "Alert"
		if rt == "incidents.get" {
			kind = "Incident"
		}
		return failure(http.StatusNotFound, fmt.Sprintf("%s with id [%s] does not exist", kind, id))
	}
	return http.StatusOK, map[string]any{"data": data, "took": 0.01, "requestId": requestID(3)}, nil
}

// DeleteAlert removes an alert, as deleting it in Opsgenie does.
func (s *Server) DeleteAlert(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.alerts, id)
}

func orEmpty(d []map[string]any) []map[string]any {
	if d == nil {
		return []map[string]any{}
	}
	return d
}

func window[T any](all []T, offset, limit int) []T {
	if offset >= len(all) {
		return nil
	}
	return all[offset:min(len(all), offset+limit)]
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func alertJSON(a *Alert) map[string]any {
	report := map[string]any{}
	if a.AckTime > 0 {
		report["ackTime"] = a.AckTime.Milliseconds()
		report["acknowledgedBy"] = a.AcknowledgedBy
	}
	if a.CloseTime > 0 {
		report["closeTime"] = a.CloseTime.Milliseconds()
		report["closedBy"] = a.ClosedBy
	}
	tags := a.Tags
	if tags == nil {
		tags = []string{}
	}
	shown := a.CreatedAt
	if !a.ShownCreatedAt.IsZero() {
		shown = a.ShownCreatedAt
	}
	return map[string]any{
		"id": a.ID, "tinyId": a.TinyID, "alias": a.Alias, "message": a.Message, "status": a.Status,
		"acknowledged": a.Acknowledged || a.AckTime > 0, "isSeen": true, "tags": tags, "snoozed": false,
		"count": 1, "lastOccurredAt": ts(shown), "createdAt": ts(shown), "updatedAt": ts(a.UpdatedAt),
		"source": "fake", "owner": a.Owner, "priority": a.Priority, "teams": []any{}, "responders": []any{},
		"integration": map[string]any{"id": "4513b7ea-3b91-438f-b7e4-e3e54af9147c", "name": "API", "type": "API"},
		"report":      report, "ownerTeamId": "",
	}
}

func incidentJSON(in *Incident, host string) map[string]any {
	tags := in.Tags
	if tags == nil {
		tags = []string{}
	}
	services := in.ImpactedServices
	if services == nil {
		services = []string{}
	}
	m := map[string]any{
		"id": in.ID, "tinyId": in.TinyID, "message": in.Message, "status": in.Status, "tags": tags,
		"createdAt": ts(in.CreatedAt), "updatedAt": ts(in.UpdatedAt), "priority": in.Priority,
		"ownerTeam": "", "responders": []any{}, "extraProperties": map[string]string{},
		"impactedServices": services, "impactStartDate": ts(in.CreatedAt), "actions": []any{},
		"links": map[string]string{"web": host + "/incident/detail/" + in.ID, "api": host + "/v1/incidents/" + in.ID},
	}
	if !in.ImpactEndDate.IsZero() {
		m["impactEndDate"] = ts(in.ImpactEndDate)
	}
	return m
}

type fields struct {
	created  time.Time
	status   string
	priority string
	tags     []string
}

// parseQuery parses the subset of Opsgenie's search syntax the collector sends:
// terms joined by " OR " or " AND " (AND binding tighter), and parenthesised
// groups.
func parseQuery(q string) (func(fields) bool, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return func(fields) bool { return true }, nil
	}
	var alts []func(fields) bool
	for _, alt := range splitTop(q, " OR ") {
		var preds []func(fields) bool
		for _, term := range splitTop(alt, " AND ") {
			term = strings.TrimSpace(term)
			var p func(fields) bool
			var err error
			if strings.HasPrefix(term, "(") && strings.HasSuffix(term, ")") {
				p, err = parseQuery(term[1 : len(term)-1])
			} else {
				p, err = parseTerm(term)
			}
			if err != nil {
				return nil, err
			}
			preds = append(preds, p)
		}
		alts = append(alts, func(f fields) bool {
			for _, p := range preds {
				if !p(f) {
					return false
				}
			}
			return true
		})
	}
	return func(f fields) bool {
		for _, a := range alts {
			if a(f) {
				return true
			}
		}
		return false
	}, nil
}

// splitTop splits on sep outside parentheses.
func splitTop(q, sep string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '(':
			depth++
		case ')':
			depth--
		}
		if depth == 0 && strings.HasPrefix(q[i:], sep) {
			out = append(out, q[start:i])
			i += len(sep) - 1
			start = i + 1
		}
	}
	return append(out, q[start:])
}

func parseTerm(term string) (func(fields) bool, error) {
	if rest, ok := strings.CutPrefix(term, "createdAt"); ok {
		for _, op := range []string{">=", "<=", ">", "<"} {
			v, ok := strings.CutPrefix(rest, op)
			if !ok {
				continue
			}
			ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("createdAt wants epoch milliseconds, got %q", v)
			}
			return func(f fields) bool {
				c := f.created.UnixMilli()
				switch op {
				case ">=":
					return c >= ms
				case "<=":
					return c <= ms
				case ">":
					return c > ms
				}
				return c < ms
			}, nil
		}
		return nil, fmt.Errorf("unsupported createdAt condition %q", term)
	}
	field, value, ok := strings.Cut(term, ":")
	value = strings.Trim(strings.TrimSpace(value), `"`)
	if !ok || value == "" {
		return nil, fmt.Errorf("cannot parse %q", term)
	}
	switch strings.TrimSpace(field) {
	case "status":
		return func(f fields) bool { return strings.EqualFold(f.status, value) }, nil
	case "priority":
		return func(f fields) bool { return strings.EqualFold(f.priority, value) }, nil
	case "tag", "tags":
		return func(f fields) bool { return slices.Contains(f.tags, value) }, nil
	}
	return nil, fmt.Errorf("field %q is not supported by the fake", field)
}
