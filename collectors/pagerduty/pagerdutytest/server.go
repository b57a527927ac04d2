// Package pagerdutytest is a fake PagerDuty REST API v2 for tests, written from
// PagerDuty's documented JSON: incidents, overview log entries, services and teams,
// with classic offset pagination (limit at most 100, more, total only when asked
// for), the six-month since/until limit, the 10,000-record paging ceiling answered
// with PagerDuty's 400 error, token authentication, 429s with the documented
// ratelimit headers on demand, injected server errors, a settable clock and request
// counting per route. It also builds v3 webhook payloads from its incidents.
package pagerdutytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Ceiling is PagerDuty's paging limit: offset+limit beyond it is refused.
const Ceiling = 10000

// Server is a fake PagerDuty REST API holding one account's services, teams,
// incidents and their log entries.
type Server struct {
	ts    *httptest.Server
	token string
	now   func() time.Time

	mu        sync.Mutex
	services  []Service
	teams     []Team
	incidents []*Incident // in creation order
	byID      map[string]*Incident
	entries   []*logEntry
	nextNum   int64
	nextEntry int64
	noTotals  bool
	unsorted  bool          // entries or incidents were added out of time order
	ascending bool          // log entries are listed oldest first
	delay     time.Duration // how long after its time an incident or entry is listed

	rateLimited int // the next rateLimited requests answer 429
	rateReset   int // their ratelimit-reset, in seconds
	faults      []int
	hook        func(*http.Request)

	total  int
	counts map[string]int
}

// Service is a PagerDuty service.
type Service struct{ ID, Name string }

// Team is a PagerDuty team.
type Team struct{ ID, Name string }

// Incident is one incident as the fake holds it.
type Incident struct {
	ID             string
	Number         int64
	Title          string
	Status         string // triggered, acknowledged, resolved
	Urgency        string // high, low
	Priority       string // "" for none, else e.g. "P1"
	ServiceID      string
	TeamIDs        []string
	CreatedAt      time.Time
	LastStatusAt   time.Time
	ResolvedAt     time.Time
	acknowledgedAt []time.Time
}

type logEntry struct {
	id       string
	typ      string
	at       time.Time
	incident *Incident
}

// Option configures New.
type Option func(*Server)

// WithToken sets the API key every request must present (default "test-token").
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithClock sets the clock the server reads for defaults of since/until and the
// ratelimit window (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithoutTotals makes the server answer total: null even when asked for it, so a
// client meets the paging ceiling only by its error.
func WithoutTotals() Option { return func(s *Server) { s.noTotals = true } }

// WithOldestLogEntriesFirst lists log entries oldest first instead of newest first,
// for clients that must not depend on the order.
func WithOldestLogEntriesFirst() Option { return func(s *Server) { s.ascending = true } }

// WithListingDelay lists an incident, or a log entry, only once the server's clock
// has passed its created_at by d, as PagerDuty's listings may lag a little behind
// what happens.
func WithListingDelay(d time.Duration) Option { return func(s *Server) { s.delay = d } }

// New starts a fake server, closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	s := &Server{token: "test-token", now: time.Now, byID: map[string]*Incident{}, counts: map[string]int{}}
	for _, o := range opts {
		o(s)
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.ts.Close)
	return s
}

// URL is the API root to give the client as base_url.
func (s *Server) URL() string { return s.ts.URL }

// AddService adds a service.
func (s *Server) AddService(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services = append(s.services, Service{id, name})
}

// AddTeam adds a team.
func (s *Server) AddTeam(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.teams = append(s.teams, Team{id, name})
}

// Trigger opens an incident at in.CreatedAt (ID, Number and Status are filled in)
// and logs its trigger entry.
func (s *Server) Trigger(in Incident) *Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trigger(in)
}

func (s *Server) trigger(in Incident) *Incident {
	s.nextNum++
	p := &in
	p.Number = s.nextNum
	p.ID = fmt.Sprintf("Q%07d", p.Number)
	p.Status = "triggered"
	p.CreatedAt = p.CreatedAt.UTC().Truncate(time.Second)
	p.LastStatusAt = p.CreatedAt
	if p.Urgency == "" {
		p.Urgency = "high"
	}
	if n := len(s.incidents); n > 0 && p.CreatedAt.Before(s.incidents[n-1].CreatedAt) {
		s.unsorted = true
	}
	s.incidents = append(s.incidents, p)
	s.byID[p.ID] = p
	s.addEntry("trigger_log_entry", p.CreatedAt, p)
	return p
}

func (s *Server) addEntry(typ string, at time.Time, in *Incident) {
	s.nextEntry++
	e := &logEntry{id: fmt.Sprintf("R%09d", s.nextEntry), typ: typ, at: at.UTC().Truncate(time.Second), incident: in}
	if n := len(s.entries); n > 0 && e.at.Before(s.entries[n-1].at) {
		s.unsorted = true
	}
	s.entries = append(s.entries, e)
}

// sort puts incidents and entries back in time order after out-of-order additions.
func (s *Server) sort() {
	if !s.unsorted {
		return
	}
	slices.SortStableFunc(s.entries, func(a, b *logEntry) int { return a.at.Compare(b.at) })
	slices.SortStableFunc(s.incidents, func(a, b *Incident) int { return a.CreatedAt.Compare(b.CreatedAt) })
	s.unsorted = false
}

// Acknowledge acknowledges an incident at a time, logging an acknowledge entry.
func (s *Server) Acknowledge(id string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.byID[id]
	in.Status, in.LastStatusAt = "acknowledged", at.UTC().Truncate(time.Second)
	in.acknowledgedAt = append(in.acknowledgedAt, in.LastStatusAt)
	s.addEntry("acknowledge_log_entry", at, in)
}

// Resolve resolves an incident at a time, logging a resolve entry.
func (s *Server) Resolve(id string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.byID[id]
	in.Status, in.LastStatusAt = "resolved", at.UTC().Truncate(time.Second)
	in.ResolvedAt = in.LastStatusAt
	s.addEntry("resolve_log_entry", at, in)
}

// Generate opens n incidents of a service spread evenly over [from, to), cheaply:
// every third is acknowledged 2 minutes after it opened, and all but every tenth are
// resolved 30 minutes after.
func (s *Server) Generate(n int, serviceID string, from, to time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	step := to.Sub(from) / time.Duration(n)
	for i := range n {
		at := from.Add(time.Duration(i) * step)
		in := s.trigger(Incident{Title: fmt.Sprintf("generated %d", i), ServiceID: serviceID, CreatedAt: at, Urgency: []string{"high", "low"}[i%2]})
		if i%3 == 0 {
			ack := at.Add(2 * time.Minute).Truncate(time.Second)
			in.Status, in.LastStatusAt, in.acknowledgedAt = "acknowledged", ack, []time.Time{ack}
			s.addEntry("acknowledge_log_entry", ack, in)
		}
		if i%10 != 0 {
			res := at.Add(30 * time.Minute).Truncate(time.Second)
			in.Status, in.LastStatusAt, in.ResolvedAt = "resolved", res, res
			s.addEntry("resolve_log_entry", res, in)
		}
	}
}

// Incident returns an incident by id.
func (s *Server) Incident(id string) *Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// RateLimit makes the next n requests answer 429 with ratelimit-reset: resetSeconds.
func (s *Server) RateLimit(n, resetSeconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited, s.rateReset = n, resetSeconds
}

// Fail makes the next n requests answer status.
func (s *Server) Fail(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, status)
	}
}

// OnRequest calls f at the start of every request, after it is counted (nil: none).
func (s *Server) OnRequest(f func(*http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = f
}

// Total is the number of requests received.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Count is the number of requests received by a route: "incidents", "log_entries",
// "services", "teams" or "other".
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// Counts is every route's request count.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// apiError writes PagerDuty's error object.
func apiError(w http.ResponseWriter, status int, message string, code int, errs ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"error": map[string]any{"message": message, "code": code}}
	if len(errs) > 0 {
		body["error"].(map[string]any)["errors"] = errs
	}
	json.NewEncoder(w).Encode(body)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	route := strings.Trim(r.URL.Path, "/")
	switch route {
	case "incidents", "log_entries", "services", "teams":
	default:
		route = "other"
	}
	s.mu.Lock()
	s.total++
	s.counts[route]++
	hook := s.hook
	var fault int
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	limited, reset := s.rateLimited > 0, s.rateReset
	if limited {
		s.rateLimited--
	}
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	if r.Header.Get("Authorization") != "Token token="+s.token {
		apiError(w, http.StatusUnauthorized, "Unauthorized", 0)
		return
	}
	if r.Method != http.MethodGet {
		apiError(w, http.StatusMethodNotAllowed, "Method Not Allowed", 0)
		return
	}
	w.Header().Set("ratelimit-limit", "960")
	if limited {
		w.Header().Set("ratelimit-remaining", "0")
		w.Header().Set("ratelimit-reset", strconv.Itoa(reset))
		apiError(w, http.StatusTooManyRequests, "Too Many Requests", 0)
		return
	}
	w.Header().Set("ratelimit-remaining", "900")
	w.Header().Set("ratelimit-reset", "30")
	if fault != 0 {
		apiError(w, fault, http.StatusText(fault), 0)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sort()
	switch route {
	case "incidents":
		s.listIncidents(w, r)
	case "log_entries":
		s.listLogEntries(w, r)
	case "services":
		var items []any
		for _, sv := range s.services {
			items = append(items, s.serviceJSON(sv.ID, sv.Name, true))
		}
		s.page(w, r, "services", items)
	case "teams":
		var items []any
		for _, tm := range s.teams {
			items = append(items, map[string]any{"id": tm.ID, "type": "team", "name": tm.Name, "summary": tm.Name,
				"self": s.URL() + "/teams/" + tm.ID, "html_url": "https://acme.pagerduty.com/teams/" + tm.ID})
		}
		s.page(w, r, "teams", items)
	default:
		apiError(w, http.StatusNotFound, "Not Found", 2100)
	}
}

// window parses since and until as PagerDuty does: RFC 3339 dates, until after
// since, at most six months apart; a missing since is a month before until, a
// missing until is now. ok is false when an error was written.
func (s *Server) window(w http.ResponseWriter, r *http.Request) (since, until time.Time, all, ok bool) {
	q := r.URL.Query()
	if q.Get("date_range") == "all" {
		return time.Time{}, time.Time{}, true, true
	}
	parse := func(name string) (time.Time, bool) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, true
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			apiError(w, http.StatusBadRequest, "Invalid Input Provided", 2001, name+" is not a valid date")
			return time.Time{}, false
		}
		return t, true
	}
	since, ok1 := parse("since")
	until, ok2 := parse("until")
	if !ok1 || !ok2 {
		return since, until, false, false
	}
	if until.IsZero() {
		until = s.now()
	}
	if since.IsZero() {
		since = until.AddDate(0, -1, 0)
	}
	if until.Before(since) {
		apiError(w, http.StatusBadRequest, "Invalid Input Provided", 2001, "Until must be after since")
		return since, until, false, false
	}
	if until.After(since.AddDate(0, 6, 0)) {
		apiError(w, http.StatusBadRequest, "Invalid Input Provided", 2001, "Date range must be 6 months or less")
		return since, until, false, false
	}
	return since, until, false, true
}

// page answers one page of items with classic pagination, refusing offset+limit
// beyond the ceiling as PagerDuty does.
func (s *Server) page(w http.ResponseWriter, r *http.Request, key string, items []any) {
	s.pageOf(w, r, key, len(items), func(i int) any { return items[i] })
}

// pageOf is page for n items built one by one, so only a page's items are built.
func (s *Server) pageOf(w http.ResponseWriter, r *http.Request, key string, n int, item func(int) any) {
	q := r.URL.Query()
	limit, offset := 25, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			apiError(w, http.StatusBadRequest, "Invalid Input Provided", 2001, "Limit must be a positive integer")
			return
		}
		limit = min(n, 100)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			apiError(w, http.StatusBadRequest, "Invalid Input Provided", 2001, "Offset must be a non-negative integer")
			return
		}
		offset = n
	}
	if offset+limit > Ceiling {
		apiError(w, http.StatusBadRequest, "Arguments Caused Error", 2002,
			"Offset+limit exceeds maximum allowed value of 10000. Please try to refine your search to reduce the returned set of records below this number, like adding a date range.")
		return
	}
	lo, hi := min(offset, n), min(offset+limit, n)
	items := []any{}
	for i := lo; i < hi; i++ {
		items = append(items, item(i))
	}
	body := map[string]any{key: items, "limit": limit, "offset": offset, "more": hi < n, "total": nil}
	if q.Get("total") == "true" && !s.noTotals {
		body["total"] = n
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	since, until, all, ok := s.window(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	statuses, services, teams := q["statuses[]"], q["service_ids[]"], q["team_ids[]"]
	var items []*Incident
	for _, in := range s.incidents {
		if !all && (in.CreatedAt.Before(since) || !in.CreatedAt.Before(until)) || s.hidden(in.CreatedAt) {
			continue
		}
		if len(statuses) > 0 && !slices.Contains(statuses, in.Status) ||
			len(services) > 0 && !slices.Contains(services, in.ServiceID) ||
			len(teams) > 0 && !slices.ContainsFunc(in.TeamIDs, func(id string) bool { return slices.Contains(teams, id) }) {
			continue
		}
		items = append(items, in)
	}
	if q.Get("sort_by") == "created_at:desc" {
		slices.Reverse(items)
	}
	s.pageOf(w, r, "incidents", len(items), func(i int) any { return s.incidentJSON(items[i]) })
}

// listLogEntries lists entries newest first, as PagerDuty does, with the incident
// as a reference or, with include[]=incidents, in full.
func (s *Server) listLogEntries(w http.ResponseWriter, r *http.Request) {
	since, until, all, ok := s.window(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	full := slices.Contains(q["include[]"], "incidents")
	teams := q["team_ids[]"]
	var items []*logEntry
	for i := len(s.entries) - 1; i >= 0; i-- {
		e := s.entries[i]
		if !all && (e.at.Before(since) || !e.at.Before(until)) || s.hidden(e.at) {
			continue
		}
		if len(teams) > 0 && !slices.ContainsFunc(e.incident.TeamIDs, func(id string) bool { return slices.Contains(teams, id) }) {
			continue
		}
		items = append(items, e)
	}
	if s.ascending {
		slices.Reverse(items)
	}
	s.pageOf(w, r, "log_entries", len(items), func(i int) any {
		e := items[i]
		var inc any = map[string]any{"id": e.incident.ID, "type": "incident_reference", "summary": e.incident.Title,
			"self": s.URL() + "/incidents/" + e.incident.ID, "html_url": htmlURL(e.incident)}
		if full {
			inc = s.incidentJSON(e.incident)
		}
		return map[string]any{
			"id": e.id, "type": e.typ, "summary": strings.TrimSuffix(e.typ, "_log_entry"),
			"self": s.URL() + "/log_entries/" + e.id, "html_url": nil, "created_at": e.at.Format(time.RFC3339),
			"agent": nil, "channel": map[string]any{"type": "api"}, "service": s.serviceRef(e.incident.ServiceID),
			"incident": inc, "teams": s.teamRefs(e.incident.TeamIDs),
		}
	})
}

// hidden says whether something of that time is not listed yet (WithListingDelay).
func (s *Server) hidden(at time.Time) bool { return s.delay > 0 && s.now().Before(at.Add(s.delay)) }

func htmlURL(in *Incident) string { return "https://acme.pagerduty.com/incidents/" + in.ID }

func (s *Server) serviceName(id string) string {
	for _, sv := range s.services {
		if sv.ID == id {
			return sv.Name
		}
	}
	return id
}

func (s *Server) serviceJSON(id, name string, full bool) map[string]any {
	m := map[string]any{"id": id, "type": "service_reference", "summary": name,
		"self": s.URL() + "/services/" + id, "html_url": "https://acme.pagerduty.com/service-directory/" + id}
	if full {
		m["type"], m["name"], m["status"] = "service", name, "active"
	}
	return m
}

func (s *Server) serviceRef(id string) map[string]any {
	return s.serviceJSON(id, s.serviceName(id), false)
}

func (s *Server) teamRefs(ids []string) []any {
	out := []any{}
	for _, id := range ids {
		name := id
		for _, tm := range s.teams {
			if tm.ID == id {
				name = tm.Name
			}
		}
		out = append(out, map[string]any{"id": id, "type": "team_reference", "summary": name,
			"self": s.URL() + "/teams/" + id, "html_url": "https://acme.pagerduty.com/teams/" + id})
	}
	return out
}

func (s *Server) incidentJSON(in *Incident) map[string]any {
	var priority any
	if in.Priority != "" {
		priority = map[string]any{"id": "PRI" + in.Priority, "type": "priority_reference", "summary": in.Priority,
			"self": s.URL() + "/priorities/PRI" + in.Priority}
	}
	var resolvedAt any
	if !in.ResolvedAt.IsZero() {
		resolvedAt = in.ResolvedAt.Format(time.RFC3339)
	}
	acks := []any{}
	if in.Status == "acknowledged" {
		for _, at := range in.acknowledgedAt {
			acks = append(acks, map[string]any{"at": at.Format(time.RFC3339), "acknowledger": map[string]any{"id": "PUSER01", "type": "user_reference"}})
		}
	}
	return map[string]any{
		"id": in.ID, "type": "incident", "summary": fmt.Sprintf("[#%d] %s", in.Number, in.Title),
		"self": s.URL() + "/incidents/" + in.ID, "html_url": htmlURL(in),
		"incident_number": in.Number, "title": in.Title, "created_at": in.CreatedAt.Format(time.RFC3339),
		"updated_at": in.LastStatusAt.Format(time.RFC3339), "status": in.Status, "urgency": in.Urgency,
		"incident_key": fmt.Sprintf("key-%d", in.Number), "service": s.serviceRef(in.ServiceID),
		"priority": priority, "teams": s.teamRefs(in.TeamIDs), "assignments": []any{}, "acknowledgements": acks,
		"last_status_change_at": in.LastStatusAt.Format(time.RFC3339), "resolved_at": resolvedAt,
		"escalation_policy": map[string]any{"id": "PEP0001", "type": "escalation_policy_reference", "summary": "Default"},
	}
}

// WebhookPayload is the body of the v3 webhook delivery PagerDuty sends for an
// event of an incident as the fake holds it now.
func (s *Server) WebhookPayload(eventType, id string, occurredAt time.Time) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.byID[id]
	data := s.incidentJSON(in)
	// The webhook's incident data names the number "number" and carries no
	// last_status_change_at, acknowledgements or resolved_at.
	data["number"] = data["incident_number"]
	for _, k := range []string{"incident_number", "last_status_change_at", "acknowledgements", "resolved_at", "updated_at", "summary", "assignments"} {
		delete(data, k)
	}
	data["assignees"] = []any{}
	data["resolve_reason"] = nil
	data["conference_bridge"] = nil
	body, _ := json.Marshal(map[string]any{"event": map[string]any{
		"id": "01EVT" + id, "event_type": eventType, "resource_type": "incident",
		"occurred_at": occurredAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"agent":       map[string]any{"id": "PUSER01", "type": "user_reference"}, "client": nil, "data": data,
	}})
	return body
}
