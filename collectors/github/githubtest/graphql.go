package githubtest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// graphqlPath is where GitHub Enterprise Server serves its GraphQL API.
const graphqlPath = "/api/graphql"

// Limits GitHub documents for GraphQL calls.
const (
	maxConnectionSize = 100
	maxNodes          = 500_000
)

// graphqlState is the GraphQL side of the server: its own points bucket and knobs.
type graphqlState struct {
	bucket       bucket
	points       int             // points charged since the start or ResetCounts
	removed      map[string]bool // "Type.field" made unknown, as on an older server
	disabled     bool            // /api/graphql answers 404
	timeoutAbove int             // pull request pages larger than this answer 502; 0: never
	timeoutErrs  int             // queries left to answer 200 with a timeout error
}

// WithGraphQLRateLimit sets the GraphQL points per window (default 5,000 an hour, as
// GitHub gives a user), a budget separate from the REST one.
func WithGraphQLRateLimit(limit int, window time.Duration) Option {
	return func(s *Server) {
		s.gql.bucket.limit = limit
		s.gql.bucket.window = window
	}
}

// GraphQLPoints returns the GraphQL points charged since the start or the last
// ResetCounts.
func (s *Server) GraphQLPoints() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gql.points
}

// GraphQLRateLimit reports the GraphQL points bucket as the next query would see it.
func (s *Server) GraphQLRateLimit() (limit, remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.graphqlBucket()
	b.roll(s.now())
	return b.limit, b.remaining, b.reset
}

// RemoveGraphQLField makes a field unknown ("PullRequest.isDraft"), as on a GitHub
// Enterprise Server version that predates it: queries selecting it fail validation
// with an undefinedField error.
func (s *Server) RemoveGraphQLField(typeAndField string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gql.removed == nil {
		s.gql.removed = map[string]bool{}
	}
	s.gql.removed[typeAndField] = true
}

// DisableGraphQL makes /api/graphql answer 404, as a server without the GraphQL API.
func (s *Server) DisableGraphQL() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gql.disabled = true
}

// GraphQLTimeoutAbove makes queries asking for more than n pull requests at once
// answer 502 with GitHub's timeout error, as heavy queries do; 0 turns it off.
func (s *Server) GraphQLTimeoutAbove(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gql.timeoutAbove = n
}

// GraphQLTimeoutErrors makes the next n queries answer 200 with no data and GitHub's
// error saying something went wrong, maybe a timeout: how GitHub answers a query it
// gave up on without a gateway timeout.
func (s *Server) GraphQLTimeoutErrors(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gql.timeoutErrs = n
}

// timeoutError is GitHub's error for a query it gave up on.
func (s *Server) timeoutError() []gqlError {
	return []gqlError{{Message: fmt.Sprintf("Something went wrong while executing your query. This may be the result of a timeout, "+
		"or it could be a GitHub bug. Please include `%s` when reporting this issue.", s.requestID())}}
}

func (s *Server) graphqlBucket() *bucket {
	if s.gql.bucket.limit == 0 {
		s.gql.bucket.limit, s.gql.bucket.window = 5000, time.Hour
	}
	return &s.gql.bucket
}

// graphqlRate is the GraphQL bucket as /rate_limit reports it.
func (s *Server) graphqlRate() jRate {
	b := s.graphqlBucket()
	b.roll(s.now())
	return jRate{Limit: b.limit, Used: b.limit - max(b.remaining, 0), Remaining: max(b.remaining, 0), Reset: b.reset.Unix()}
}

// gqlError is one entry of a GraphQL answer's "errors".
type gqlError struct {
	Type       string         `json:"type,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
	Locations  []gqlLocation  `json:"locations,omitempty"`
	Message    string         `json:"message"`
}

type gqlLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func locationOf(p *ast.Position) []gqlLocation {
	if p == nil {
		return nil
	}
	return []gqlLocation{{Line: p.Line, Column: p.Column}}
}

// gqlAnswer is a GraphQL response body; Data is omitted when validation failed.
type gqlAnswer struct {
	Data   any        `json:"data,omitempty"`
	Errors []gqlError `json:"errors,omitempty"`
}

func (s *Server) graphqlResponse(status int, a gqlAnswer) *response {
	body, err := json.Marshal(a)
	if err != nil {
		return errorResponse(http.StatusInternalServerError, "githubtest: "+err.Error(), docREST)
	}
	resp := &response{status: status, header: http.Header{}, body: body}
	s.commonHeaders(resp.header)
	b := s.graphqlBucket()
	setRateHeaders(resp.header, b)
	resp.header.Set("X-RateLimit-Resource", "graphql")
	return resp
}

// answerGraphQL answers POST /api/graphql: it parses the query, validates it against
// the fields flowmeter uses, computes its cost as GitHub documents, charges the
// points and resolves it from the same model the REST endpoints serve.
func (s *Server) answerGraphQL(r *http.Request, now time.Time) *response {
	if s.gql.disabled || r.Method != http.MethodPost {
		return notFound()
	}
	b := s.graphqlBucket()
	b.roll(now)
	var in struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(raw, &in)
	}
	if err != nil {
		return s.graphqlResponse(http.StatusBadRequest, gqlAnswer{Errors: []gqlError{{Message: "Problems parsing JSON"}}})
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: in.Query})
	if err != nil {
		return s.graphqlResponse(http.StatusOK, gqlAnswer{Errors: []gqlError{{Message: "Parse error: " + err.Error()}}})
	}
	if len(doc.Operations) != 1 || doc.Operations[0].Operation != ast.Query {
		return s.graphqlResponse(http.StatusOK, gqlAnswer{Errors: []gqlError{{Message: "githubtest: send exactly one query operation"}}})
	}
	op := doc.Operations[0]
	x := &gqlExec{s: s, doc: doc, vars: in.Variables}
	for _, def := range op.VariableDefinitions {
		if _, ok := x.vars[def.Variable]; !ok && def.DefaultValue != nil {
			if x.vars == nil {
				x.vars = map[string]any{}
			}
			x.vars[def.Variable] = x.value(def.DefaultValue)
		}
	}
	x.validate("Query", op.SelectionSet, []any{"query"})
	if len(x.errs) > 0 {
		return s.graphqlResponse(http.StatusOK, gqlAnswer{Errors: x.errs})
	}
	cost, err := queryCost(doc, x.vars)
	if err != nil {
		return s.graphqlResponse(http.StatusOK, gqlAnswer{Errors: []gqlError{{Type: "MAX_NODE_LIMIT_EXCEEDED", Message: err.Error()}}})
	}
	if s.gql.timeoutAbove > 0 && cost.pullRequests > s.gql.timeoutAbove {
		return s.graphqlResponse(http.StatusBadGateway, gqlAnswer{Errors: s.timeoutError()})
	}
	if s.gql.timeoutErrs > 0 {
		s.gql.timeoutErrs--
		return s.graphqlResponse(http.StatusOK, gqlAnswer{Errors: s.timeoutError()})
	}
	if b.remaining < cost.points {
		// As GitHub does: 200, an error of type RATE_LIMITED, and the points left
		// (maybe not 0: the query costs more) in the headers.
		return s.graphqlResponse(http.StatusOK, gqlAnswer{Errors: []gqlError{{Type: "RATE_LIMITED", Message: "API rate limit exceeded for user ID 1."}}})
	}
	b.remaining -= cost.points
	s.gql.points += cost.points
	x.cost = cost
	data := x.object(queryRoot(x), op.SelectionSet)
	return s.graphqlResponse(http.StatusOK, gqlAnswer{Data: data, Errors: x.errs})
}

// The schema the fake knows: for each type, its fields and their types ("[T]" is a
// list of T). Every type also has __typename.
var gqlFields = map[string]map[string]string{
	"Query":      {"repository": "Repository", "rateLimit": "RateLimit"},
	"Repository": {"nameWithOwner": "String", "pullRequests": "PullRequestConnection", "pullRequest": "PullRequest"},
	"PullRequest": {
		"id": "ID", "number": "Int", "title": "String", "body": "String", "url": "URI", "isDraft": "Boolean",
		"createdAt": "DateTime", "updatedAt": "DateTime", "mergedAt": "DateTime", "closedAt": "DateTime",
		"baseRefName": "String", "headRefName": "String", "additions": "Int", "deletions": "Int",
		"author": "Actor", "mergeCommit": "Commit", "labels": "LabelConnection", "commits": "PullRequestCommitConnection",
		"reviews": "PullRequestReviewConnection", "timelineItems": "PullRequestTimelineItemsConnection",
	},
	"PullRequestConnection":              connectionFields("PullRequest"),
	"LabelConnection":                    connectionFields("Label"),
	"PullRequestCommitConnection":        connectionFields("PullRequestCommit"),
	"PullRequestReviewConnection":        connectionFields("PullRequestReview"),
	"PullRequestTimelineItemsConnection": connectionFields("PullRequestTimelineItems"),
	"PageInfo":                           {"hasNextPage": "Boolean", "hasPreviousPage": "Boolean", "endCursor": "String", "startCursor": "String"},
	"Actor":                              {"login": "String"},
	"User":                               {"login": "String"},
	"Bot":                                {"login": "String"},
	"Commit":                             {"oid": "GitObjectID", "authoredDate": "DateTime", "committedDate": "DateTime"},
	"Label":                              {"name": "String"},
	"PullRequestCommit":                  {"commit": "Commit"},
	"PullRequestReview":                  {"author": "Actor", "state": "PullRequestReviewState", "submittedAt": "DateTime", "createdAt": "DateTime"},
	"PullRequestTimelineItems":           {},
	"ReadyForReviewEvent":                {"createdAt": "DateTime"},
	"ConvertToDraftEvent":                {"createdAt": "DateTime"},
	"RateLimit":                          {"cost": "Int", "limit": "Int", "remaining": "Int", "used": "Int", "resetAt": "DateTime", "nodeCount": "Int"},
}

// gqlPossible lists the object types of the interfaces and unions.
var gqlPossible = map[string][]string{
	"Actor":                    {"User", "Bot"},
	"PullRequestTimelineItems": {"ReadyForReviewEvent", "ConvertToDraftEvent"},
}

func connectionFields(node string) map[string]string {
	return map[string]string{"totalCount": "Int", "pageInfo": "PageInfo", "nodes": "[" + node + "]"}
}

// gqlExec validates and resolves one query.
type gqlExec struct {
	s    *Server
	doc  *ast.QueryDocument
	vars map[string]any
	cost queryCostResult
	errs []gqlError
}

func (x *gqlExec) fail(e gqlError) { x.errs = append(x.errs, e) }

// validate checks a selection set on a type: fields must exist, connections must be
// paginated with first or last between 1 and 100.
func (x *gqlExec) validate(typ string, set ast.SelectionSet, path []any) {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name == "__typename" {
				continue
			}
			fieldType, ok := gqlFields[typ][sel.Name]
			if !ok || x.s.gql.removed[typ+"."+sel.Name] {
				x.fail(gqlError{
					Type: "undefinedField", Path: append(slices.Clone(path), sel.Alias), Locations: locationOf(sel.Position),
					Extensions: map[string]any{"code": "undefinedField", "typeName": typ, "fieldName": sel.Name},
					Message:    fmt.Sprintf("Field '%s' doesn't exist on type '%s'", sel.Name, typ),
				})
				continue
			}
			elem := strings.Trim(fieldType, "[]")
			if strings.HasSuffix(elem, "Connection") {
				x.checkPagination(sel)
			}
			if _, object := gqlFields[elem]; object {
				x.validate(elem, sel.SelectionSet, append(slices.Clone(path), sel.Alias))
			}
		case *ast.InlineFragment:
			cond := cmp.Or(sel.TypeCondition, typ)
			if cond != typ && !slices.Contains(gqlPossible[typ], cond) {
				x.fail(gqlError{Locations: locationOf(sel.Position), Message: fmt.Sprintf("Fragment on %s can't be spread inside %s", cond, typ)})
				continue
			}
			x.validate(cond, sel.SelectionSet, path)
		case *ast.FragmentSpread:
			def := x.doc.Fragments.ForName(sel.Name)
			if def == nil {
				x.fail(gqlError{Message: fmt.Sprintf("Fragment %s was used, but not defined", sel.Name)})
				continue
			}
			x.validate(def.TypeCondition, def.SelectionSet, path)
		}
	}
}

func (x *gqlExec) checkPagination(f *ast.Field) {
	first, hasFirst := x.intArg(f, "first")
	last, hasLast := x.intArg(f, "last")
	if !hasFirst && !hasLast {
		x.fail(gqlError{Type: "MISSING_PAGINATION_BOUNDARIES", Locations: locationOf(f.Position),
			Message: fmt.Sprintf("You must provide a `first` or `last` value to properly paginate the `%s` connection.", f.Name)})
		return
	}
	for _, a := range []struct {
		name string
		n    int
		has  bool
	}{{"first", first, hasFirst}, {"last", last, hasLast}} {
		if a.has && (a.n < 1 || a.n > maxConnectionSize) {
			x.fail(gqlError{Type: "EXCESSIVE_PAGINATION", Locations: locationOf(f.Position),
				Message: fmt.Sprintf("Requesting %d records on the `%s` connection exceeds the `%s` limit of %d records.", a.n, f.Name, a.name, maxConnectionSize)})
		}
	}
}

func (x *gqlExec) intArg(f *ast.Field, name string) (int, bool) {
	return intArgument(f, name, x.vars)
}

func intArgument(f *ast.Field, name string, vars map[string]any) (int, bool) {
	a := f.Arguments.ForName(name)
	if a == nil {
		return 0, false
	}
	switch v := valueOf(a.Value, vars).(type) {
	case float64:
		return int(v), true
	case int:
		return v, true
	}
	return 0, false
}

func (x *gqlExec) value(v *ast.Value) any { return valueOf(v, x.vars) }

// valueOf turns an argument into Go: numbers are float64 as JSON variables are,
// enums strings, lists []any, objects map[string]any.
func valueOf(v *ast.Value, vars map[string]any) any {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ast.Variable:
		return vars[v.Raw]
	case ast.IntValue, ast.FloatValue:
		f, _ := strconv.ParseFloat(v.Raw, 64)
		return f
	case ast.StringValue, ast.BlockValue, ast.EnumValue:
		return v.Raw
	case ast.BooleanValue:
		return v.Raw == "true"
	case ast.ListValue:
		out := []any{}
		for _, c := range v.Children {
			out = append(out, valueOf(c.Value, vars))
		}
		return out
	case ast.ObjectValue:
		out := map[string]any{}
		for _, c := range v.Children {
			out[c.Name] = valueOf(c.Value, vars)
		}
		return out
	}
	return nil
}

// queryCostResult is what a query costs before it runs.
type queryCostResult struct {
	requests     int // the requests needed to fulfil every connection
	nodes        int // the nodes it may return
	points       int // requests / 100, rounded, at least 1
	pullRequests int // the largest page of pull requests asked for
}

// queryCost computes a query's rate-limit score as GitHub documents it: each
// connection needs one request per node of its parent connections (first or last as
// given), the sum divided by 100 and rounded to the nearest whole number is the
// score, at least 1; the nodes are the product of first or last down each path. A
// query over 500,000 nodes is refused.
func queryCost(doc *ast.QueryDocument, vars map[string]any) (queryCostResult, error) {
	var c queryCostResult
	var walk func(set ast.SelectionSet, parents int)
	walk = func(set ast.SelectionSet, parents int) {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				n, ok := intArgument(sel, "first", vars)
				if !ok {
					n, ok = intArgument(sel, "last", vars)
				}
				if !ok {
					walk(sel.SelectionSet, parents)
					continue
				}
				c.requests += parents
				c.nodes += parents * n
				if sel.Name == "pullRequests" {
					c.pullRequests = max(c.pullRequests, n)
				}
				walk(sel.SelectionSet, parents*n)
			case *ast.InlineFragment:
				walk(sel.SelectionSet, parents)
			case *ast.FragmentSpread:
				if def := doc.Fragments.ForName(sel.Name); def != nil {
					walk(def.SelectionSet, parents)
				}
			}
		}
	}
	for _, op := range doc.Operations {
		walk(op.SelectionSet, 1)
	}
	c.points = max(1, int(math.Round(float64(c.requests)/100)))
	if c.nodes > maxNodes {
		return c, fmt.Errorf("This query requests up to %s possible nodes which exceeds the maximum limit of %s.", thousands(c.nodes), thousands(maxNodes))
	}
	return c, nil
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// gqlNode is an object being resolved: its type and a getter for its fields.
type gqlNode struct {
	typ string
	get func(field string, f *ast.Field) any
}

// object resolves a selection set on a node into its JSON object.
func (x *gqlExec) object(n gqlNode, set ast.SelectionSet) map[string]any {
	out := map[string]any{}
	x.into(out, n, set)
	return out
}

func (x *gqlExec) into(out map[string]any, n gqlNode, set ast.SelectionSet) {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name == "__typename" {
				out[sel.Alias] = n.typ
				continue
			}
			out[sel.Alias] = x.resolve(n.get(sel.Name, sel), sel.SelectionSet)
		case *ast.InlineFragment:
			if sel.TypeCondition == "" || sel.TypeCondition == n.typ || slices.Contains(gqlPossible[sel.TypeCondition], n.typ) {
				x.into(out, n, sel.SelectionSet)
			}
		case *ast.FragmentSpread:
			def := x.doc.Fragments.ForName(sel.Name)
			if def.TypeCondition == n.typ || slices.Contains(gqlPossible[def.TypeCondition], n.typ) {
				x.into(out, n, def.SelectionSet)
			}
		}
	}
}

func (x *gqlExec) resolve(v any, set ast.SelectionSet) any {
	switch v := v.(type) {
	case gqlNode:
		return x.object(v, set)
	case *gqlNode:
		if v == nil {
			return nil
		}
		return x.object(*v, set)
	case []gqlNode:
		out := make([]any, len(v))
		for i, n := range v {
			out[i] = x.object(n, set)
		}
		return out
	}
	return v
}

func queryRoot(x *gqlExec) gqlNode {
	s := x.s
	return gqlNode{typ: "Query", get: func(field string, f *ast.Field) any {
		switch field {
		case "rateLimit":
			return x.rateLimit()
		case "repository":
			owner, _ := x.value(argValue(f, "owner")).(string)
			name, _ := x.value(argValue(f, "name")).(string)
			key := strings.ToLower(owner + "/" + name)
			repo := s.repos[key]
			if repo != nil && s.forbidden[key] {
				// What GitHub answers a token without access to the repository's pull
				// requests, such as an App without the permission.
				x.fail(gqlError{Type: "FORBIDDEN", Path: []any{f.Alias}, Locations: locationOf(f.Position),
					Message: "Resource not accessible by integration"})
				return (*gqlNode)(nil)
			}
			if repo == nil || s.hidden[key] {
				x.fail(gqlError{Type: "NOT_FOUND", Path: []any{f.Alias}, Locations: locationOf(f.Position),
					Message: fmt.Sprintf("Could not resolve to a Repository with the name '%s/%s'.", owner, name)})
				return (*gqlNode)(nil)
			}
			return x.repository(repo)
		}
		return nil
	}}
}

func argValue(f *ast.Field, name string) *ast.Value {
	if a := f.Arguments.ForName(name); a != nil {
		return a.Value
	}
	return nil
}

func (x *gqlExec) rateLimit() gqlNode {
	b := x.s.graphqlBucket()
	return gqlNode{typ: "RateLimit", get: func(field string, _ *ast.Field) any {
		switch field {
		case "cost":
			return x.cost.points
		case "limit":
			return b.limit
		case "remaining":
			return max(b.remaining, 0)
		case "used":
			return b.limit - max(b.remaining, 0)
		case "resetAt":
			return ts(b.reset)
		case "nodeCount":
			return x.cost.nodes
		}
		return nil
	}}
}

func (x *gqlExec) repository(repo *Repo) gqlNode {
	return gqlNode{typ: "Repository", get: func(field string, f *ast.Field) any {
		switch field {
		case "nameWithOwner":
			return repo.FullName()
		case "pullRequest":
			n, _ := x.intArg(f, "number")
			ps := repo.pulls[n]
			if ps == nil {
				x.fail(gqlError{Type: "NOT_FOUND", Locations: locationOf(f.Position),
					Message: fmt.Sprintf("Could not resolve to a PullRequest with the number of %d.", n)})
				return (*gqlNode)(nil)
			}
			return x.pull(repo, ps)
		case "pullRequests":
			return x.connection("PullRequestConnection", f, x.pullRequests(repo, f))
		}
		return nil
	}}
}

// pullRequests lists a repository's pull requests as the pullRequests connection
// orders and filters them: states OPEN, CLOSED (unmerged) and MERGED; orderBy
// CREATED_AT (the default, ascending) or UPDATED_AT, ties by number.
func (x *gqlExec) pullRequests(repo *Repo, f *ast.Field) []gqlNode {
	states := map[string]bool{}
	if list, ok := x.value(argValue(f, "states")).([]any); ok {
		for _, st := range list {
			states[fmt.Sprint(st)] = true
		}
	}
	order, _ := x.value(argValue(f, "orderBy")).(map[string]any)
	byUpdated := order["field"] == "UPDATED_AT"
	desc := order["direction"] == "DESC"
	var pulls []*pullState
	for _, ps := range repo.pulls {
		if len(states) > 0 && !states[stateOf(ps)] {
			continue
		}
		pulls = append(pulls, ps)
	}
	key := func(ps *pullState) time.Time { return ps.pr.CreatedAt }
	if byUpdated {
		key = (*pullState).updated
	}
	slices.SortFunc(pulls, func(a, b *pullState) int {
		c := cmp.Or(key(a).Compare(key(b)), cmp.Compare(a.pr.Number, b.pr.Number))
		if desc {
			return -c
		}
		return c
	})
	out := make([]gqlNode, len(pulls))
	for i, ps := range pulls {
		out[i] = x.pull(repo, ps)
	}
	return out
}

// stateOf is a pull request's GraphQL state.
func stateOf(ps *pullState) string {
	switch {
	case !ps.pr.MergedAt.IsZero():
		return "MERGED"
	case !ps.pr.ClosedAt.IsZero():
		return "CLOSED"
	}
	return "OPEN"
}

// connection pages items by first/after or last/before with opaque cursors.
func (x *gqlExec) connection(typ string, f *ast.Field, items []gqlNode) gqlNode {
	lo, hi := 0, len(items)
	if after, ok := x.value(argValue(f, "after")).(string); ok {
		if i, ok := cursorIndex(after); ok {
			lo = min(i+1, len(items))
		}
	}
	if before, ok := x.value(argValue(f, "before")).(string); ok {
		if i, ok := cursorIndex(before); ok {
			hi = max(min(i, len(items)), lo)
		}
	}
	if n, ok := x.intArg(f, "first"); ok {
		hi = min(hi, lo+n)
	} else if n, ok := x.intArg(f, "last"); ok {
		lo = max(lo, hi-n)
	}
	page := items[lo:hi]
	pageInfo := gqlNode{typ: "PageInfo", get: func(field string, _ *ast.Field) any {
		switch field {
		case "hasNextPage":
			return hi < len(items)
		case "hasPreviousPage":
			return lo > 0
		case "startCursor":
			if len(page) == 0 {
				return nil
			}
			return cursorAt(lo)
		case "endCursor":
			if len(page) == 0 {
				return nil
			}
			return cursorAt(hi - 1)
		}
		return nil
	}}
	return gqlNode{typ: typ, get: func(field string, _ *ast.Field) any {
		switch field {
		case "totalCount":
			return len(items)
		case "pageInfo":
			return pageInfo
		case "nodes":
			return slices.Clone(page)
		}
		return nil
	}}
}

// cursorAt is an opaque cursor naming the item at index i, in GitHub's style.
func cursorAt(i int) string {
	return base64.StdEncoding.EncodeToString([]byte("cursor:v2:" + strconv.Itoa(i)))
}

func cursorIndex(cursor string) (int, bool) {
	raw, err := base64.StdEncoding.DecodeString(cursor)
	if err != nil {
		return 0, false
	}
	i, err := strconv.Atoi(strings.TrimPrefix(string(raw), "cursor:v2:"))
	return i, err == nil
}

// actor renders a login as GraphQL does: a bot's login without the "[bot]" suffix
// the REST API shows, and __typename Bot.
func (x *gqlExec) actor(login string) gqlNode {
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
		login = strings.TrimSuffix(login, "[bot]")
	}
	return gqlNode{typ: typ, get: func(field string, _ *ast.Field) any {
		if field == "login" {
			return login
		}
		return nil
	}}
}

func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func (x *gqlExec) commitNode(c *commit) gqlNode {
	return gqlNode{typ: "Commit", get: func(field string, _ *ast.Field) any {
		switch field {
		case "oid":
			return c.sha
		case "authoredDate":
			return ts(c.authorDate)
		case "committedDate":
			return ts(c.commitDate)
		}
		return nil
	}}
}

// pull renders a pull request from the model the REST endpoints serve.
func (x *gqlExec) pull(repo *Repo, ps *pullState) gqlNode {
	s := x.s
	pr := &ps.pr
	return gqlNode{typ: "PullRequest", get: func(field string, f *ast.Field) any {
		switch field {
		case "id":
			return nodeID("PullRequest", pr.ID)
		case "number":
			return pr.Number
		case "title":
			return pr.Title
		case "body":
			return pr.Body
		case "url":
			return s.html("/%s/pull/%d", repo.FullName(), pr.Number)
		case "isDraft":
			return pr.Draft
		case "createdAt":
			return ts(pr.CreatedAt)
		case "updatedAt":
			return ts(ps.updated())
		case "mergedAt":
			return timeOrNull(pr.MergedAt)
		case "closedAt":
			return timeOrNull(pr.ClosedAt)
		case "baseRefName":
			return pr.BaseRef
		case "headRefName":
			return pr.HeadRef
		case "additions":
			return pr.Additions
		case "deletions":
			return pr.Deletions
		case "author":
			return x.actor(pr.Author)
		case "mergeCommit":
			if pr.MergedAt.IsZero() {
				return (*gqlNode)(nil)
			}
			return x.commitNode(repo.commits[pr.MergeCommitSHA])
		case "labels":
			var nodes []gqlNode
			for _, l := range pr.Labels {
				nodes = append(nodes, gqlNode{typ: "Label", get: func(field string, _ *ast.Field) any {
					if field == "name" {
						return l
					}
					return nil
				}})
			}
			return x.connection("LabelConnection", f, nodes)
		case "commits":
			var nodes []gqlNode
			for _, pc := range pr.Commits {
				c := repo.commits[pc.SHA]
				nodes = append(nodes, gqlNode{typ: "PullRequestCommit", get: func(field string, _ *ast.Field) any {
					if field == "commit" {
						return x.commitNode(c)
					}
					return nil
				}})
			}
			return x.connection("PullRequestCommitConnection", f, nodes)
		case "reviews":
			var nodes []gqlNode
			for _, e := range pr.Events {
				if e.Kind != "reviewed" {
					continue
				}
				nodes = append(nodes, gqlNode{typ: "PullRequestReview", get: func(field string, _ *ast.Field) any {
					switch field {
					case "author":
						return x.actor(e.Actor)
					case "state":
						return strings.ToUpper(e.State)
					case "submittedAt", "createdAt":
						return ts(e.At)
					}
					return nil
				}})
			}
			return x.connection("PullRequestReviewConnection", f, nodes)
		case "timelineItems":
			return x.connection("PullRequestTimelineItemsConnection", f, x.timelineItems(pr, f))
		}
		return nil
	}}
}

// timelineItems lists the draft events of a pull request in time order, filtered by
// itemTypes (READY_FOR_REVIEW_EVENT, CONVERT_TO_DRAFT_EVENT); the fake has no other
// item types.
func (x *gqlExec) timelineItems(pr *PullRequest, f *ast.Field) []gqlNode {
	types := map[string]string{"ready_for_review": "ReadyForReviewEvent", "convert_to_draft": "ConvertToDraftEvent"}
	wanted := map[string]bool{}
	if list, ok := x.value(argValue(f, "itemTypes")).([]any); ok {
		for _, t := range list {
			wanted[fmt.Sprint(t)] = true
		}
	}
	events := slices.Clone(pr.Events)
	slices.SortStableFunc(events, func(a, b Event) int { return a.At.Compare(b.At) })
	var nodes []gqlNode
	for _, e := range events {
		typ, ok := types[e.Kind]
		if !ok || (len(wanted) > 0 && !wanted[strings.ToUpper(e.Kind)+"_EVENT"]) {
			continue
		}
		nodes = append(nodes, gqlNode{typ: typ, get: func(field string, _ *ast.Field) any {
			if field == "createdAt" {
				return ts(e.At)
			}
			return nil
		}})
	}
	return nodes
}
