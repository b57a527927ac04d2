// Package jiratest is a fake Jira for tests: Jira Cloud's REST v3 (search by
// nextPageToken, bulk changelogs, worklog paging, status list, the user's time zone,
// Basic auth with an API token) or Jira Data Center's REST v2 (search by startAt and
// total, per-issue changelog paging, Bearer personal access tokens), serving the
// documented JSON field names and limits. It parses the JQL the flowmeter Jira
// source sends (and refuses any other with 400, as Jira does), reads JQL dates in
// the user's time zone to the minute, and can answer 429 with Retry-After or inject
// server errors. It counts requests per route.
package jiratest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mode is the deployment the fake plays.
type Mode int

// The deployments.
const (
	Cloud Mode = iota
	DataCenter
)

// Documented limits, the fake's defaults.
const (
	// SearchCap is the most issues Cloud's /search/jql returns per page when fields
	// are asked for, whatever maxResults says.
	SearchCap = 100
	// DataCenterSearchCap is Data Center's default jira.search.views.default.max.
	DataCenterSearchCap = 1000
	// ChangelogInline is how many changelog histories Cloud's /search/jql inlines
	// with expand=changelog.
	ChangelogInline = 40
	// WorklogInline is how many worklogs the worklog field of a search inlines.
	WorklogInline = 20
	// WorklogPageCap is the most worklogs one /issue/{key}/worklog page returns.
	WorklogPageCap = 5000
	// BulkChangelogCap is the most histories one bulk changelog page returns, and
	// BulkIssueCap the most issues one bulk request may name.
	BulkChangelogCap = 1000
	BulkIssueCap     = 1000
	// ChangelogPageCap is the most histories one /issue/{key}/changelog page returns.
	ChangelogPageCap = 100
)

// Status is one workflow status with its category key (new, indeterminate, done).
type Status struct {
	ID, Name, CategoryKey string
}

// DefaultStatuses are a simple workflow's statuses, the fake's: To Do, In Progress,
// In Review and Done.
func DefaultStatuses() []Status {
	return []Status{
		{"1", "To Do", "new"}, {"3", "In Progress", "indeterminate"},
		{"10001", "In Review", "indeterminate"}, {"10002", "Done", "done"},
	}
}

// Issue is one issue as the fake holds it.
type Issue struct {
	ID, Key, Project, Type, Summary string
	Labels, Components              []string
	Assignee, Priority, Status      string
	Resolution                      string
	Created, Updated, Resolved      time.Time
	Histories                       []History
	Worklogs                        []Worklog
}

// History is one changelog entry.
type History struct {
	ID      string
	Author  string
	Created time.Time
	Items   []Item
}

// Item is one field change of a history; Field "status" is a transition.
type Item struct {
	Field, From, FromString, To, ToString string
}

// Worklog is time logged on an issue.
type Worklog struct {
	ID               string
	Author           string
	Started, Updated time.Time
	Seconds          int64
}

// Server is the fake Jira.
type Server struct {
	t      testing.TB
	ts     *httptest.Server
	mode   Mode
	email  string
	token  string
	tz     *time.Location
	now    func() time.Time
	limits Limits
	// totalInlined: a search's changelog total is the count inlined.
	totalInlined bool

	mu       sync.Mutex
	issues   map[string]*Issue
	statuses []Status
	nextID   int64
	tokens   map[string]pageToken
	nextTok  int

	throttle   int           // the next throttle requests answer 429
	retryAfter time.Duration // with this Retry-After
	faults     []*fault
	hook       func(*http.Request)
	triggers   []*trigger

	counts map[string]int
	total  int
}

// Limits are the page caps the fake enforces; zero fields take the documented
// defaults.
type Limits struct {
	Search, ChangelogInline, WorklogInline, WorklogPage, BulkChangelog, ChangelogPage int
}

type pageToken struct {
	jql    string
	offset int
}

type trigger struct {
	route string
	n     int
	f     func()
}

type fault struct {
	route  string
	n      int
	status int
}

// Option configures New.
type Option func(*Server)

// WithMode makes the fake Cloud (default) or Data Center.
func WithMode(m Mode) Option { return func(s *Server) { s.mode = m } }

// WithAuth sets the credentials: email and API token for Cloud, the personal access
// token (email ignored) for Data Center. Default "ana@example.com", "test-token".
func WithAuth(email, token string) Option {
	return func(s *Server) { s.email, s.token = email, token }
}

// WithTimeZone sets the searching user's time zone (default UTC).
func WithTimeZone(tz *time.Location) Option { return func(s *Server) { s.tz = tz } }

// WithClock sets the server's clock, used for the bumps of Touch and Transition
// when no time is given.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithChangelogTotalInlined makes a search's inlined changelog give as its total
// the number of histories it inlines rather than the issue's whole count, as Jira
// Cloud has been seen to do: a cut-short changelog that says it is whole.
func WithChangelogTotalInlined() Option { return func(s *Server) { s.totalInlined = true } }

// WithLimits overrides page caps, so tests can page with few records.
func WithLimits(l Limits) Option { return func(s *Server) { s.limits = l } }

// New starts a fake Jira, closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	s := &Server{
		t: t, email: "ana@example.com", token: "test-token", tz: time.UTC, now: time.Now,
		issues: map[string]*Issue{}, statuses: DefaultStatuses(),
		tokens: map[string]pageToken{}, counts: map[string]int{}, nextID: 10000,
	}
	for _, o := range opts {
		o(s)
	}
	l := &s.limits
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if s.mode == DataCenter {
		def(&l.Search, DataCenterSearchCap)
		def(&l.ChangelogInline, 1<<30) // Data Center inlines the whole changelog
	}
	def(&l.Search, SearchCap)
	def(&l.ChangelogInline, ChangelogInline)
	def(&l.WorklogInline, WorklogInline)
	def(&l.WorklogPage, WorklogPageCap)
	def(&l.BulkChangelog, BulkChangelogCap)
	def(&l.ChangelogPage, ChangelogPageCap)
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.ts.Close)
	return s
}

// URL is the site's base URL.
func (s *Server) URL() string { return s.ts.URL }

// Time formats t as Jira does, "2026-03-01T10:15:30.000+0100", in the user's zone.
func (s *Server) Time(t time.Time) string { return formatTime(t, s.tz) }

func formatTime(t time.Time, tz *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(tz).Format("2006-01-02T15:04:05.000-0700")
}

// AddIssue adds an issue; its ID is assigned, its Updated defaults to Created.
// It returns the key.
func (s *Server) AddIssue(is Issue) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	is.ID = strconv.FormatInt(s.nextID, 10)
	if is.Project == "" {
		is.Project, _, _ = strings.Cut(is.Key, "-")
	}
	if is.Status == "" {
		is.Status = "To Do"
	}
	if is.Type == "" {
		is.Type = "Story"
	}
	if is.Updated.IsZero() {
		is.Updated = is.Created
	}
	cp := is
	s.issues[is.Key] = &cp
	return is.Key
}

// AddStatus adds a workflow status, as a Jira admin does, with its category key
// (new, indeterminate, done).
func (s *Server) AddStatus(name, categoryKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses = append(s.statuses, Status{ID: strconv.Itoa(20000 + len(s.statuses)), Name: name, CategoryKey: categoryKey})
}

func (s *Server) status(name string) Status {
	for _, st := range s.statuses {
		if st.Name == name {
			return st
		}
	}
	s.t.Fatalf("jiratest: no status %q", name)
	return Status{}
}

// Transition moves an issue to a status at time at, by author, recording a history
// with a status item (and the resolution when the status is done); the issue's
// Updated becomes at. It returns the history's id.
func (s *Server) Transition(key, to, author string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issue(key)
	from, target := s.status(is.Status), s.status(to)
	s.nextID++
	h := History{ID: strconv.FormatInt(s.nextID, 10), Author: author, Created: at, Items: []Item{
		{Field: "status", From: from.ID, FromString: from.Name, To: target.ID, ToString: target.Name},
	}}
	if target.CategoryKey == "done" && is.Resolution == "" {
		is.Resolution, is.Resolved = "Done", at
		h.Items = append(h.Items, Item{Field: "resolution", To: "10000", ToString: "Done"})
	}
	is.Histories = append(is.Histories, h)
	is.Status, is.Updated = to, at
	return h.ID
}

// Change records a history of other fields (not status) at time at.
func (s *Server) Change(key, author string, at time.Time, items ...Item) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issue(key)
	s.nextID++
	h := History{ID: strconv.FormatInt(s.nextID, 10), Author: author, Created: at, Items: items}
	is.Histories = append(is.Histories, h)
	is.Updated = at
	return h.ID
}

// AddWorklog logs time on an issue at time at; the issue's Updated becomes at.
func (s *Server) AddWorklog(key, author string, started time.Time, seconds int64, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issue(key)
	s.nextID++
	w := Worklog{ID: strconv.FormatInt(s.nextID, 10), Author: author, Started: started, Updated: at, Seconds: seconds}
	is.Worklogs = append(is.Worklogs, w)
	is.Updated = at
	return w.ID
}

// Touch sets an issue's update time, as an edit of a field the source does not read.
func (s *Server) Touch(key string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issue(key).Updated = at
}

// Edit changes an issue in place under the server's lock.
func (s *Server) Edit(key string, f func(*Issue)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.issue(key))
}

func (s *Server) issue(key string) *Issue {
	is, ok := s.issues[key]
	if !ok {
		s.t.Fatalf("jiratest: no issue %s", key)
	}
	return is
}

// Throttle makes the next n requests answer 429 with Retry-After.
func (s *Server) Throttle(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.retryAfter = n, retryAfter
}

// Fail makes the next n requests to route (as Count names it) answer status.
func (s *Server) Fail(route string, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{route: route, n: n, status: status})
}

// OnRequest sets a function called at the start of every request, after it is
// counted (nil removes it).
func (s *Server) OnRequest(f func(*http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = f
}

// BeforeRequest makes f run once, when the route (as Count names it, "" for any)
// receives its nth request counted since the last ResetCounts, before the request
// is answered: so a test can edit issues between two pages of a search. f may call
// the server's methods.
func (s *Server) BeforeRequest(route string, n int, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.triggers = append(s.triggers, &trigger{route: route, n: n, f: f})
}

// Count is how many requests a route received: "myself", "status", "search",
// "bulkfetch", "changelog", "worklog", "issue".
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// Total is how many requests the server received.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// ResetCounts zeroes the request counts.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts, s.total = map[string]int{}, 0
}

func (s *Server) api() string {
	if s.mode == DataCenter {
		return "/rest/api/2"
	}
	return "/rest/api/3"
}

// route names a request's endpoint, "" for one the fake does not serve.
func (s *Server) route(r *http.Request) string {
	p := r.URL.Path
	api := s.api()
	switch {
	case r.Method == http.MethodGet && p == api+"/myself":
		return "myself"
	case r.Method == http.MethodGet && p == api+"/status":
		return "status"
	case r.Method == http.MethodGet && s.mode == Cloud && p == "/rest/api/3/search/jql":
		return "search"
	case r.Method == http.MethodGet && s.mode == DataCenter && p == "/rest/api/2/search":
		return "search"
	case r.Method == http.MethodPost && s.mode == Cloud && p == "/rest/api/3/changelog/bulkfetch":
		return "bulkfetch"
	case r.Method == http.MethodGet && strings.HasPrefix(p, api+"/issue/") && strings.HasSuffix(p, "/worklog"):
		return "worklog"
	case r.Method == http.MethodGet && s.mode == DataCenter && strings.HasPrefix(p, api+"/issue/") && strings.HasSuffix(p, "/changelog"):
		return "changelog"
	case r.Method == http.MethodGet && strings.HasPrefix(p, api+"/issue/") && !strings.Contains(strings.TrimPrefix(p, api+"/issue/"), "/"):
		return "issue"
	}
	return ""
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	route := s.route(r)
	s.total++
	s.counts[route]++
	hook := s.hook
	var fire []func()
	for _, tr := range s.triggers {
		if tr.f != nil && ((tr.route == "" && s.total == tr.n) || (tr.route != "" && tr.route == route && s.counts[route] == tr.n)) {
			fire, tr.f = append(fire, tr.f), nil
		}
	}
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	for _, f := range fire {
		f()
	}
	if !s.authorized(r) {
		if s.mode == Cloud {
			w.Header().Set("WWW-Authenticate", `Basic realm="protected-by-api-token"`)
			http.Error(w, "Client must be authenticated to access this resource.", http.StatusUnauthorized)
			return
		}
		writeJSON(w, http.StatusUnauthorized, errorBody("You are not authenticated. Authentication required to perform this operation."))
		return
	}
	s.mu.Lock()
	if s.throttle > 0 {
		s.throttle--
		after := s.retryAfter
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(int(after/time.Second)))
		w.Header().Set("X-RateLimit-Reason", "jira-cost-based")
		writeJSON(w, http.StatusTooManyRequests, errorBody("Rate limit exceeded."))
		return
	}
	for _, f := range s.faults {
		if f.n > 0 && f.route == route {
			f.n--
			s.mu.Unlock()
			writeJSON(w, f.status, errorBody("injected failure"))
			return
		}
	}
	s.mu.Unlock()
	switch route {
	case "myself":
		s.myself(w)
	case "status":
		s.statusList(w)
	case "search":
		s.search(w, r)
	case "bulkfetch":
		s.bulkfetch(w, r)
	case "worklog":
		s.worklogs(w, r)
	case "changelog":
		s.changelog(w, r)
	case "issue":
		s.getIssue(w, r)
	default:
		writeJSON(w, http.StatusNotFound, errorBody("null for uri: "+r.URL.String()))
	}
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if s.mode == DataCenter {
		return h == "Bearer "+s.token
	}
	return h == "Basic "+base64.StdEncoding.EncodeToString([]byte(s.email+":"+s.token))
}

func errorBody(msgs ...string) map[string]any {
	return map[string]any{"errorMessages": msgs, "errors": map[string]string{}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) myself(w http.ResponseWriter) {
	me := map[string]any{"displayName": "Ana", "timeZone": s.tz.String(), "active": true}
	if s.mode == Cloud {
		me["accountId"], me["emailAddress"], me["accountType"] = "5b10a2844c20165700ede21g", s.email, "atlassian"
	} else {
		me["name"], me["key"] = "ana", "JIRAUSER10000"
	}
	writeJSON(w, http.StatusOK, me)
}

func (s *Server) statusList(w http.ResponseWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, st := range s.statuses {
		out = append(out, map[string]any{"id": st.ID, "name": st.Name, "statusCategory": categoryJSON(st.CategoryKey)})
	}
	writeJSON(w, http.StatusOK, out)
}

// categoryJSON is a status category as Jira gives it, with Jira's ids and English
// names of the three categories.
func categoryJSON(key string) map[string]any {
	switch key {
	case "new":
		return map[string]any{"id": 2, "key": key, "name": "To Do", "colorName": "blue-gray"}
	case "indeterminate":
		return map[string]any{"id": 4, "key": key, "name": "In Progress", "colorName": "yellow"}
	}
	return map[string]any{"id": 3, "key": key, "name": "Done", "colorName": "green"}
}

// sorted are the issues matching q, by update time then key, as ORDER BY updated
// ASC, key ASC gives them.
func (s *Server) sorted(q *query) []*Issue {
	var out []*Issue
	for _, is := range s.issues {
		if q.cond(is) {
			out = append(out, is)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Updated.Compare(out[j].Updated); c != 0 {
			return c < 0
		}
		return keyLess(out[i].Key, out[j].Key)
	})
	return out
}

// keyLess orders keys by project, then by number.
func keyLess(a, b string) bool {
	pa, na, _ := strings.Cut(a, "-")
	pb, nb, _ := strings.Cut(b, "-")
	if pa != pb {
		return pa < pb
	}
	ia, _ := strconv.Atoi(na)
	ib, _ := strconv.Atoi(nb)
	return ia < ib
}

func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("the '%s' parameter is not a valid number", name)
	}
	return n, nil
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	jql := params.Get("jql")
	if s.mode == Cloud && strings.TrimSpace(jql) == "" {
		writeJSON(w, http.StatusBadRequest, errorBody("Unbounded JQL queries are not allowed here. Please add a search restriction to your query."))
		return
	}
	q, err := parseJQL(jql, s.tz)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody(err.Error()))
		return
	}
	maxResults, err := intParam(r, "maxResults", 50)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody(err.Error()))
		return
	}
	maxResults = min(maxResults, s.limits.Search)
	fields := map[string]bool{}
	for _, f := range strings.Split(params.Get("fields"), ",") {
		if f != "" {
			fields[f] = true
		}
	}
	changelog := strings.Contains(params.Get("expand"), "changelog")
	s.mu.Lock()
	defer s.mu.Unlock()
	offset := 0
	if s.mode == Cloud {
		if tok := params.Get("nextPageToken"); tok != "" {
			pt, ok := s.tokens[tok]
			if !ok || pt.jql != jql {
				writeJSON(w, http.StatusBadRequest, errorBody("The provided next page token is invalid or expired."))
				return
			}
			offset = pt.offset
		}
	} else if offset, err = intParam(r, "startAt", 0); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody(err.Error()))
		return
	}
	all := s.sorted(q)
	end := min(offset+maxResults, len(all))
	page := []map[string]any{}
	for _, is := range all[min(offset, len(all)):end] {
		page = append(page, s.issueJSON(is, fields, changelog))
	}
	if s.mode == DataCenter {
		writeJSON(w, http.StatusOK, map[string]any{"expand": "schema,names", "startAt": offset, "maxResults": maxResults, "total": len(all), "issues": page})
		return
	}
	out := map[string]any{"issues": page, "isLast": end >= len(all)}
	if end < len(all) {
		s.nextTok++
		tok := fmt.Sprintf("tok%06d", s.nextTok)
		s.tokens[tok] = pageToken{jql: jql, offset: end}
		out["nextPageToken"] = tok
	}
	writeJSON(w, http.StatusOK, out)
}

func user(name string) any {
	if name == "" {
		return nil
	}
	return map[string]any{"displayName": name, "active": true, "accountId": "acc-" + strings.ToLower(strings.ReplaceAll(name, " ", "-"))}
}

func (s *Server) historyJSON(h History, fieldFilter string) map[string]any {
	items := []map[string]any{}
	for _, it := range h.Items {
		if fieldFilter != "" && it.Field != fieldFilter {
			continue
		}
		items = append(items, map[string]any{
			"field": it.Field, "fieldtype": "jira", "fieldId": it.Field,
			"from": nullable(it.From), "fromString": nullable(it.FromString), "to": nullable(it.To), "toString": nullable(it.ToString),
		})
	}
	return map[string]any{"id": h.ID, "author": user(h.Author), "created": formatTime(h.Created, s.tz), "items": items}
}

func nullable(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func (s *Server) worklogJSON(is *Issue, wl Worklog) map[string]any {
	return map[string]any{
		"id": wl.ID, "issueId": is.ID, "author": user(wl.Author), "updateAuthor": user(wl.Author),
		"started": formatTime(wl.Started, s.tz), "created": formatTime(wl.Updated, s.tz), "updated": formatTime(wl.Updated, s.tz),
		"timeSpentSeconds": wl.Seconds, "timeSpent": fmt.Sprintf("%dm", wl.Seconds/60),
	}
}

// IssueJSON is an issue as a search (with every field, without changelog) or a
// webhook event carries it.
func (s *Server) IssueJSON(key string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueJSON(s.issue(key), nil, false)
}

// issueJSON renders the asked fields (all when fields is empty) of an issue.
func (s *Server) issueJSON(is *Issue, fields map[string]bool, changelog bool) map[string]any {
	st := s.status(is.Status)
	all := map[string]any{
		"summary":   is.Summary,
		"issuetype": map[string]any{"id": "10001", "name": is.Type, "subtask": false},
		"project":   map[string]any{"id": "10000", "key": is.Project, "name": is.Project + " project"},
		"labels":    append([]string{}, is.Labels...),
		"assignee":  user(is.Assignee),
		"status":    map[string]any{"id": st.ID, "name": st.Name, "statusCategory": categoryJSON(st.CategoryKey)},
		"created":   formatTime(is.Created, s.tz),
		"updated":   formatTime(is.Updated, s.tz),
	}
	comps := []map[string]any{}
	for i, c := range is.Components {
		comps = append(comps, map[string]any{"id": strconv.Itoa(10100 + i), "name": c})
	}
	all["components"] = comps
	all["priority"] = nil
	if is.Priority != "" {
		all["priority"] = map[string]any{"id": "3", "name": is.Priority}
	}
	all["resolution"], all["resolutiondate"] = nil, nil
	if is.Resolution != "" {
		all["resolution"] = map[string]any{"id": "10000", "name": is.Resolution}
		all["resolutiondate"] = formatTime(is.Resolved, s.tz)
	}
	wls := []map[string]any{}
	for _, wl := range is.Worklogs[:min(len(is.Worklogs), s.limits.WorklogInline)] {
		wls = append(wls, s.worklogJSON(is, wl))
	}
	all["worklog"] = map[string]any{"startAt": 0, "maxResults": s.limits.WorklogInline, "total": len(is.Worklogs), "worklogs": wls}
	out := map[string]any{}
	for k, v := range all {
		if len(fields) == 0 || fields[k] || fields["*all"] {
			out[k] = v
		}
	}
	issue := map[string]any{
		"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":     is.ID, "key": is.Key, "self": s.ts.URL + s.api() + "/issue/" + is.ID, "fields": out,
	}
	if changelog {
		hs := []map[string]any{}
		n := min(len(is.Histories), s.limits.ChangelogInline)
		for _, h := range is.Histories[len(is.Histories)-n:] {
			hs = append(hs, s.historyJSON(h, ""))
		}
		total := len(is.Histories)
		if s.totalInlined {
			total = n
		}
		issue["changelog"] = map[string]any{"startAt": 0, "maxResults": n, "total": total, "histories": hs}
	}
	return issue
}

func (s *Server) bulkfetch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IssueIDsOrKeys []string `json:"issueIdsOrKeys"`
		FieldIDs       []string `json:"fieldIds"`
		MaxResults     int      `json:"maxResults"`
		NextPageToken  string   `json:"nextPageToken"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("Invalid request payload. Refer to the REST API documentation and try again."))
		return
	}
	if len(req.IssueIDsOrKeys) == 0 || len(req.IssueIDsOrKeys) > BulkIssueCap || len(req.FieldIDs) > 10 {
		writeJSON(w, http.StatusBadRequest, errorBody("Give 1 to 1000 issues and at most 10 field ids."))
		return
	}
	if len(req.FieldIDs) > 1 {
		writeJSON(w, http.StatusBadRequest, errorBody("jiratest: filter by one field at most"))
		return
	}
	filter := ""
	if len(req.FieldIDs) == 1 {
		filter = req.FieldIDs[0]
	}
	max := req.MaxResults
	if max <= 0 || max > s.limits.BulkChangelog {
		max = s.limits.BulkChangelog
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type entry struct {
		is *Issue
		h  History
	}
	var all []entry
	for _, k := range req.IssueIDsOrKeys {
		var is *Issue
		for _, cand := range s.issues {
			if cand.Key == k || cand.ID == k {
				is = cand
			}
		}
		if is == nil {
			continue
		}
		for _, h := range is.Histories {
			for _, it := range h.Items {
				if filter == "" || it.Field == filter {
					all = append(all, entry{is, h})
					break
				}
			}
		}
	}
	// Oldest history first, then the smallest issue id, as documented.
	sort.SliceStable(all, func(i, j int) bool {
		if c := all[i].h.Created.Compare(all[j].h.Created); c != 0 {
			return c < 0
		}
		a, _ := strconv.Atoi(all[i].is.ID)
		b, _ := strconv.Atoi(all[j].is.ID)
		return a < b
	})
	offset := 0
	sig := strings.Join(req.IssueIDsOrKeys, ",") + "|" + filter
	if req.NextPageToken != "" {
		pt, ok := s.tokens[req.NextPageToken]
		if !ok || pt.jql != sig {
			writeJSON(w, http.StatusBadRequest, errorBody("The provided next page token is invalid or expired."))
			return
		}
		offset = pt.offset
	}
	end := min(offset+max, len(all))
	logs := []map[string]any{}
	for _, e := range all[min(offset, len(all)):end] {
		if n := len(logs); n > 0 && logs[n-1]["issueId"] == e.is.ID {
			logs[n-1]["changeHistories"] = append(logs[n-1]["changeHistories"].([]map[string]any), s.historyJSON(e.h, filter))
			continue
		}
		logs = append(logs, map[string]any{"issueId": e.is.ID, "changeHistories": []map[string]any{s.historyJSON(e.h, filter)}})
	}
	out := map[string]any{"issueChangeLogs": logs}
	if end < len(all) {
		s.nextTok++
		tok := fmt.Sprintf("bulk%06d", s.nextTok)
		s.tokens[tok] = pageToken{jql: sig, offset: end}
		out["nextPageToken"] = tok
	}
	writeJSON(w, http.StatusOK, out)
}

// issueFromPath finds the issue of /rest/api/N/issue/{key}/...
func (s *Server) issueFromPath(w http.ResponseWriter, r *http.Request) *Issue {
	rest := strings.TrimPrefix(r.URL.Path, s.api()+"/issue/")
	key, _, _ := strings.Cut(rest, "/")
	for _, is := range s.issues {
		if is.Key == key || is.ID == key {
			return is
		}
	}
	writeJSON(w, http.StatusNotFound, errorBody("Issue does not exist or you do not have permission to see it."))
	return nil
}

func (s *Server) worklogs(w http.ResponseWriter, r *http.Request) {
	startAt, err1 := intParam(r, "startAt", 0)
	maxResults, err2 := intParam(r, "maxResults", WorklogPageCap)
	if err1 != nil || err2 != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("bad startAt or maxResults"))
		return
	}
	maxResults = min(maxResults, s.limits.WorklogPage)
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueFromPath(w, r)
	if is == nil {
		return
	}
	end := min(startAt+maxResults, len(is.Worklogs))
	wls := []map[string]any{}
	for _, wl := range is.Worklogs[min(startAt, len(is.Worklogs)):end] {
		wls = append(wls, s.worklogJSON(is, wl))
	}
	writeJSON(w, http.StatusOK, map[string]any{"startAt": startAt, "maxResults": maxResults, "total": len(is.Worklogs), "worklogs": wls})
}

// getIssue serves GET /issue/{key}: with expand=changelog the whole changelog, as
// the single-issue endpoint gives it.
func (s *Server) getIssue(w http.ResponseWriter, r *http.Request) {
	fields := map[string]bool{}
	for _, f := range strings.Split(r.URL.Query().Get("fields"), ",") {
		if f != "" {
			fields[f] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueFromPath(w, r)
	if is == nil {
		return
	}
	inline := s.limits.ChangelogInline
	s.limits.ChangelogInline = len(is.Histories)
	out := s.issueJSON(is, fields, strings.Contains(r.URL.Query().Get("expand"), "changelog"))
	s.limits.ChangelogInline = inline
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) changelog(w http.ResponseWriter, r *http.Request) {
	startAt, err1 := intParam(r, "startAt", 0)
	maxResults, err2 := intParam(r, "maxResults", ChangelogPageCap)
	if err1 != nil || err2 != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("bad startAt or maxResults"))
		return
	}
	maxResults = min(maxResults, s.limits.ChangelogPage)
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueFromPath(w, r)
	if is == nil {
		return
	}
	end := min(startAt+maxResults, len(is.Histories))
	hs := []map[string]any{}
	for _, h := range is.Histories[min(startAt, len(is.Histories)):end] {
		hs = append(hs, s.historyJSON(h, ""))
	}
	writeJSON(w, http.StatusOK, map[string]any{"startAt": startAt, "maxResults": maxResults, "total": len(is.Histories), "isLast": end >= len(is.Histories), "values": hs})
}

// WebhookPayload is the body Jira posts for event ("jira:issue_updated") on an
// issue: the issue with every field and, when historyID is not empty, that history
// as the event's changelog, with the history's author as the user and a timestamp a
// moment after the history's time, as a delivery is sent after the change. The
// issue is as it is now: Touch it after the Transition for the body Jira sends when
// a post-function or automation updated the issue after the history, whose issue
// updated is later than the history's created.
func (s *Server) WebhookPayload(event, key, historyID string) []byte {
	s.mu.Lock()
	is := s.issue(key)
	body := map[string]any{"webhookEvent": event, "issue_event_type_name": "issue_generic", "timestamp": is.Updated.UnixMilli()}
	for _, h := range is.Histories {
		if h.ID == historyID {
			hj := s.historyJSON(h, "")
			body["changelog"] = map[string]any{"id": h.ID, "items": hj["items"]}
			body["user"] = user(h.Author)
			// Sent a moment after the change it reports.
			body["timestamp"] = h.Created.Add(1500 * time.Millisecond).UnixMilli()
		}
	}
	s.mu.Unlock()
	body["issue"] = s.IssueJSON(key)
	data, err := json.Marshal(body)
	if err != nil {
		s.t.Fatal(err)
	}
	return data
}
