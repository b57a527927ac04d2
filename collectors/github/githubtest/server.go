package githubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiPrefix is where GitHub Enterprise Server serves its REST API.
const apiPrefix = "/api/v3/"

// Documentation URLs GitHub puts in its error bodies.
const (
	docREST      = "https://docs.github.com/rest"
	docCompare   = "https://docs.github.com/rest/commits/commits#compare-two-commits"
	docRateLimit = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	docSecondary = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// Server is a fake GitHub Enterprise Server REST API holding organisations,
// repositories and their history, with GitHub's pagination, rate limits, conditional
// requests and errors.
type Server struct {
	t      testing.TB
	ts     *httptest.Server
	root   string // "http://127.0.0.1:PORT" and the path prefix, no trailing slash
	prefix string // WithPathPrefix's, "" by default
	token  string
	now    func() time.Time
	status int // status of a rate-limited answer: 403 (default) or 429

	mu sync.Mutex

	// Data.
	repos     map[string]*Repo // by lower-case "owner/name"
	repoOrder []*Repo
	owners    map[string]bool // lower-case logins that own repositories
	users     map[string]*account
	nextUser  int64
	nextID    int64

	hidden    map[string]bool
	forbidden map[string]bool
	app       *appState // nil unless WithApp or WithInstallationRateLimit

	// Limits and faults.
	core            bucket
	unauth          bucket
	secondaryLeft   int
	secondaryRetry  time.Duration
	faults          []*fault
	hook            func(*http.Request)
	requestSequence int64

	gql graphqlState

	// Accounting.
	log    []Request
	counts map[string]int
}

// account is a user, bot or organisation as GitHub identifies it.
type account struct {
	login string
	id    int64
	typ   string // "User", "Bot", "Organization"
}

// fault makes the next n requests whose path contains substr answer status.
type fault struct {
	substr string
	n      int
	status int
}

// bucket is one primary rate-limit window.
type bucket struct {
	limit     int
	window    time.Duration
	remaining int
	reset     time.Time // zero until the first request opens a window
}

// roll opens a new window when none is open or the open one has passed its reset.
func (b *bucket) roll(now time.Time) {
	if b.reset.IsZero() || !now.Before(b.reset) {
		b.remaining = b.limit
		b.reset = now.Add(b.window).Truncate(time.Second)
	}
}

// Request is one request the server received, as Requests reports it.
type Request struct {
	Method      string    // "GET"
	Path        string    // the URL path as sent, "/api/v3/repos/acme/api/pulls"
	RawQuery    string    // the query string as sent, without "?"
	Kind        string    // the endpoint kind, as counted by Count
	Status      int       // the status answered
	Conditional bool      // the request carried If-None-Match
	Time        time.Time // the server clock when it arrived
}

// Option configures New.
type Option func(*Server)

// WithToken sets the token every request must present (default "test-token").
func WithToken(token string) Option {
	return func(s *Server) { s.token = token }
}

// WithClock sets the clock the server reads for rate-limit windows, the request log
// and updated_at bumps (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithRateLimit sets the primary rate limit: limit requests per window (default 5,000
// an hour, as GitHub gives an authenticated user).
func WithRateLimit(limit int, window time.Duration) Option {
	return func(s *Server) {
		s.core.limit = limit
		s.core.window = window
	}
}

// WithRateLimitStatus sets the status of primary and secondary rate-limit answers:
// http.StatusForbidden (the default) or http.StatusTooManyRequests, both documented.
func WithRateLimitStatus(code int) Option {
	return func(s *Server) { s.status = code }
}

// WithPathPrefix serves everything under prefix ("/github"), as a GitHub Enterprise
// Server behind a proxy that routes by path: REST under /github/api/v3/, GraphQL at
// /github/api/graphql. Requests reports the paths without the prefix.
func WithPathPrefix(prefix string) Option {
	return func(s *Server) { s.prefix = strings.TrimSuffix(prefix, "/") }
}

// New starts a fake GitHub Enterprise Server, closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:         t,
		token:     "test-token",
		now:       time.Now,
		status:    http.StatusForbidden,
		repos:     map[string]*Repo{},
		owners:    map[string]bool{},
		users:     map[string]*account{},
		nextUser:  1,
		nextID:    1000,
		hidden:    map[string]bool{},
		forbidden: map[string]bool{},
		core:      bucket{limit: 5000, window: time.Hour},
		unauth:    bucket{limit: 60, window: time.Hour},
		counts:    map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	// The token's own user is the first account, "user ID 1" of the rate-limit message.
	s.account("flowmeter", "User")
	var handler http.Handler = http.HandlerFunc(s.serveHTTP)
	if s.prefix != "" {
		handler = http.StripPrefix(s.prefix, handler)
	}
	s.ts = httptest.NewServer(handler)
	s.root = s.ts.URL + s.prefix
	t.Cleanup(s.ts.Close)
	return s
}

// URL returns the API base URL, "http://127.0.0.1:PORT/api/v3/" (with the path
// prefix, if any), to pass to
// go-github's WithEnterpriseURLs.
func (s *Server) URL() string {
	return s.root + apiPrefix
}

// OnRequest sets a function called with each request before it is answered (nil
// removes it); it replaces any function set before.
func (s *Server) OnRequest(fn func(r *http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = fn
}

// Fail makes the next n requests answer status with a GitHub-like error body.
func (s *Server) Fail(n, status int) {
	s.FailPath("", n, status)
}

// FailPath makes the next n requests whose URL path contains substr answer status.
func (s *Server) FailPath(substr string, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{substr: substr, n: n, status: status})
}

// SecondaryLimit makes the next n authenticated requests hit a secondary rate limit:
// 403 with Retry-After set to retryAfter in whole seconds.
func (s *Server) SecondaryLimit(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secondaryLeft = n
	s.secondaryRetry = retryAfter
}

// SetRateRemaining sets the requests left in the current primary window, opening one
// if none is open.
func (s *Server) SetRateRemaining(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.core.roll(s.now())
	s.core.remaining = n
}

// RateLimit reports the primary limit as the next request would see it.
func (s *Server) RateLimit() (limit, remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.core.roll(s.now())
	return s.core.limit, s.core.remaining, s.core.reset
}

// HideRepo makes every path under the repository answer 404, as GitHub answers for a
// private repository the token cannot see, and drops it from organisation listings.
func (s *Server) HideRepo(fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hidden[strings.ToLower(fullName)] = true
}

// ForbidRepo makes every path under the repository answer 403 "Resource not accessible
// by integration"; the repository is still listed.
func (s *Server) ForbidRepo(fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden[strings.ToLower(fullName)] = true
}

// AllowRepo undoes HideRepo and ForbidRepo.
func (s *Server) AllowRepo(fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.hidden, strings.ToLower(fullName))
	delete(s.forbidden, strings.ToLower(fullName))
}

// Requests returns a copy of the log of every request received since the start or
// the last ResetCounts.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Count returns how many requests of an endpoint kind were received: "repos" (an
// organisation's repositories), "repo", "pulls.list", "pulls.get", "timeline",
// "deployments", "deployment", "statuses", "workflows", "workflow", "runs",
// "releases", "ref", "compare", "rate_limit", "app.access_tokens", "graphql" or
// "unknown".
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[kind]
}

// Total returns how many requests were received, of every kind.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// ResetCounts empties the request log and the counters.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
	s.counts = map[string]int{}
	s.gql.points = 0
}

// account returns the account of login, creating it with typ on first sight.
func (s *Server) account(login, typ string) *account {
	key := strings.ToLower(login)
	if a, ok := s.users[key]; ok {
		return a
	}
	a := &account{login: login, id: s.nextUser, typ: typ}
	s.nextUser++
	s.users[key] = a
	return a
}

// id returns a new object id, unique across the server.
func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

// response is an answer computed under the lock and written after it.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}

	s.mu.Lock()
	now := s.now()
	rt := parseRoute(r)
	resp := s.answer(r, rt, now)
	if resp.header.Get("X-GitHub-Request-Id") == "" {
		s.commonHeaders(resp.header)
	}
	s.log = append(s.log, Request{
		Method:      r.Method,
		Path:        r.URL.Path,
		RawQuery:    r.URL.RawQuery,
		Kind:        rt.kind,
		Status:      resp.status,
		Conditional: r.Header.Get("If-None-Match") != "",
		Time:        now,
	})
	s.counts[rt.kind]++
	s.mu.Unlock()

	for k, v := range resp.header {
		w.Header()[k] = v
	}
	if resp.body != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	}
	w.WriteHeader(resp.status)
	if resp.body != nil && r.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
}

// answer decides the response, in the order GitHub applies its checks.
func (s *Server) answer(r *http.Request, rt route, now time.Time) *response {
	s.requestSequence++
	core := s.primaryBucket(r)
	// A fault stands for a proxy or an outage in front of the API: it comes first.
	if status := s.takeFault(r.URL.Path); status != 0 {
		resp := errorResponse(status, faultMessage(status), docREST)
		s.coreHeaders(resp, core, now)
		return resp
	}
	if rt.kind == "app.access_tokens" {
		return s.mintInstallationToken(r, rt, now)
	}
	if !s.authorized(r, now) {
		s.unauth.roll(now)
		if s.unauth.remaining > 0 {
			s.unauth.remaining--
		}
		resp := errorResponse(http.StatusUnauthorized, "Bad credentials", docREST)
		setRateHeaders(resp.header, &s.unauth)
		return resp
	}
	if s.secondaryLeft > 0 {
		s.secondaryLeft--
		resp := errorResponse(s.status, fmt.Sprintf("You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID %s.", s.requestID()), docSecondary)
		resp.header.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(s.secondaryRetry.Seconds())), 10))
		s.coreHeaders(resp, core, now)
		return resp
	}
	if rt.kind == "graphql" {
		return s.answerGraphQL(r, now)
	}
	core.roll(now)
	free := rt.kind == "rate_limit" // documented: does not count against the primary limit
	if !free && core.remaining <= 0 {
		resp := errorResponse(s.status, s.rateLimitedMessage(core), docRateLimit)
		setRateHeaders(resp.header, core)
		return resp
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rt = route{kind: rt.kind}
	}
	resp := s.dispatch(r, rt)
	if resp.status == http.StatusOK {
		etag := `W/"` + hashHex(resp.body) + `"`
		resp.header.Set("ETag", etag)
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			// Documented: a 304 answer to a conditional request does not count.
			notModified := &response{status: http.StatusNotModified, header: http.Header{}}
			notModified.header.Set("ETag", etag)
			s.commonHeaders(notModified.header)
			setRateHeaders(notModified.header, core)
			return notModified
		}
	}
	if !free {
		core.remaining--
	}
	setRateHeaders(resp.header, core)
	return resp
}

// coreHeaders sets the primary rate-limit headers without counting the request.
func (s *Server) coreHeaders(resp *response, core *bucket, now time.Time) {
	core.roll(now)
	setRateHeaders(resp.header, core)
}

func (s *Server) takeFault(path string) int {
	for i, f := range s.faults {
		if f.n > 0 && strings.Contains(path, f.substr) {
			f.n--
			if f.n == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f.status
		}
	}
	return 0
}

func faultMessage(status int) string {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway:
		return "Server Error"
	case http.StatusServiceUnavailable:
		return "Service Unavailable"
	case http.StatusGatewayTimeout:
		return "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists."
	}
	if text := http.StatusText(status); text != "" {
		return text
	}
	return "Error"
}

func (s *Server) authorized(r *http.Request, now time.Time) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok {
		return false
	}
	scheme = strings.ToLower(scheme)
	tok = strings.TrimSpace(tok)
	return (scheme == "bearer" || scheme == "token") && (tok == s.token || s.installationToken(tok, now))
}

func (s *Server) requestID() string {
	return fmt.Sprintf("F10W:%04X:%06X", s.requestSequence%0xFFFF, s.requestSequence)
}

func (s *Server) commonHeaders(h http.Header) {
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("X-GitHub-Request-Id", s.requestID())
}

func setRateHeaders(h http.Header, b *bucket) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(b.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(b.remaining, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(b.limit-max(b.remaining, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// etagMatches applies If-None-Match: a list of entity tags, or "*", compared weakly.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, tag := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(tag), "W/") == want {
			return true
		}
	}
	return false
}

// errorBody is GitHub's error JSON.
type errorBody struct {
	Message          string `json:"message"`
	DocumentationURL string `json:"documentation_url"`
}

func errorResponse(status int, message, doc string) *response {
	body, _ := json.Marshal(errorBody{Message: message, DocumentationURL: doc})
	return &response{status: status, header: http.Header{}, body: body}
}

func notFound() *response {
	return errorResponse(http.StatusNotFound, "Not Found", docREST)
}

// jsonResponse answers 200 with v encoded.
func (s *Server) jsonResponse(v any) *response {
	body, err := json.Marshal(v)
	if err != nil {
		return errorResponse(http.StatusInternalServerError, "githubtest: "+err.Error(), docREST)
	}
	resp := &response{status: http.StatusOK, header: http.Header{}, body: body}
	s.commonHeaders(resp.header)
	return resp
}

// pageOf reads per_page (default 30, at most 100) and page (default 1) and returns the
// slice bounds of that page of n items with the Link header GitHub would send (empty
// when everything fits on one page).
func (s *Server) pageOf(r *http.Request, n int) (lo, hi int, link string) {
	q := r.URL.Query()
	per := 30
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = min(v, 100)
	}
	page := 1
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 1 {
		page = v
	}
	last := max(1, (n+per-1)/per)
	lo = min((page-1)*per, n)
	hi = min(lo+per, n)
	if n <= per && page == 1 {
		return lo, hi, ""
	}
	ref := func(p int, rel string) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(p))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.root, r.URL.EscapedPath(), v.Encode(), rel)
	}
	var parts []string
	if page > 1 {
		parts = append(parts, ref(page-1, "prev"))
	}
	if page < last {
		parts = append(parts, ref(page+1, "next"))
	}
	if page != last {
		parts = append(parts, ref(last, "last"))
	}
	if page > 1 {
		parts = append(parts, ref(1, "first"))
	}
	return lo, hi, strings.Join(parts, ", ")
}

// listResponse answers one page of items, a JSON array, with its Link header.
func listResponse[T any](s *Server, r *http.Request, items []T) *response {
	lo, hi, link := s.pageOf(r, len(items))
	page := items[lo:hi]
	if page == nil {
		page = []T{}
	}
	resp := s.jsonResponse(page)
	if link != "" {
		resp.header.Set("Link", link)
	}
	return resp
}
