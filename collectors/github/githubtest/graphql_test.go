package githubtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
)

// graphqlURL is the fake's GraphQL endpoint, where GitHub Enterprise Server has it.
func graphqlURL(srv *githubtest.Server) string {
	return strings.TrimSuffix(srv.URL(), "v3/") + "graphql"
}

// postGraphQL sends a query with variables and returns the response and its body.
func postGraphQL(t *testing.T, srv *githubtest.Server, token, query string, vars map[string]any) (*http.Response, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, graphqlURL(srv), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return resp, out
}

// dig follows keys (strings) and indexes (ints) into decoded JSON.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[p]
		case int:
			l, _ := v.([]any)
			if p >= len(l) {
				return nil
			}
			v = l[p]
		}
	}
	return v
}

const pageQuery = `query($owner: String!, $name: String!, $first: Int!, $after: String) {
	repository(owner: $owner, name: $name) {
		pullRequests(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}, states: [OPEN, CLOSED, MERGED]) {
			totalCount pageInfo { hasNextPage endCursor }
			nodes { number isDraft author { login __typename } mergeCommit { oid }
				labels(first: 100) { nodes { name } }
				reviews(first: 100) { nodes { author { login __typename } state submittedAt } }
				timelineItems(first: 100, itemTypes: [READY_FOR_REVIEW_EVENT]) { nodes { __typename ... on ReadyForReviewEvent { createdAt } } } } }
	}
	rateLimit { cost remaining limit resetAt }
}`

func TestGraphQLServesTheModel(t *testing.T) {
	clock := githubtest.NewClock(at(500))
	srv := githubtest.New(t, githubtest.WithClock(clock.Now))
	repo := srv.AddRepo("acme", "api", "main")
	repo.Commit("main", "ana", at(0))
	repo.AddPullRequest(githubtest.PullRequest{Number: 1, Author: "ana", Labels: []string{"bug"}, CreatedAt: at(1), MergedAt: at(5),
		Events: []githubtest.Event{{Kind: "reviewed", Actor: "bo", State: "approved", At: at(4)}}})
	repo.AddPullRequest(githubtest.PullRequest{Number: 2, Author: "renovate", AuthorIsBot: true, CreatedAt: at(2)})
	repo.AddPullRequest(githubtest.PullRequest{Number: 3, Author: "cy", Draft: true, CreatedAt: at(3),
		Events: []githubtest.Event{{Kind: "ready_for_review", At: at(6)}, {Kind: "convert_to_draft", At: at(7)}}})

	vars := map[string]any{"owner": "acme", "name": "api", "first": 2}
	resp, out := postGraphQL(t, srv, "test-token", pageQuery, vars)
	if resp.StatusCode != 200 || out["errors"] != nil {
		t.Fatalf("%d %v", resp.StatusCode, out)
	}
	// Newest update first: #3 (a draft event at 7 h), #1 (merged at 5 h), then #2.
	prs := dig(out, "data", "repository", "pullRequests")
	if dig(prs, "totalCount") != 3.0 || dig(prs, "nodes", 0, "number") != 3.0 || dig(prs, "nodes", 1, "number") != 1.0 ||
		dig(prs, "pageInfo", "hasNextPage") != true {
		t.Fatalf("first page %v", prs)
	}
	merged := dig(prs, "nodes", 1)
	if dig(merged, "mergeCommit", "oid") != repo.PullRequest(1).MergeCommitSHA || dig(merged, "labels", "nodes", 0, "name") != "bug" ||
		dig(merged, "reviews", "nodes", 0, "state") != "APPROVED" || dig(merged, "reviews", "nodes", 0, "author", "login") != "bo" {
		t.Errorf("merged pull request %v", merged)
	}
	draft := dig(prs, "nodes", 0)
	if dig(draft, "mergeCommit") != nil || dig(draft, "timelineItems", "nodes", 0, "__typename") != "ReadyForReviewEvent" ||
		dig(draft, "timelineItems", "nodes", 1) != nil {
		t.Errorf("draft %v: want no merge commit and only the ready event the itemTypes ask for", draft)
	}
	// 1 + 2×3 = 7 requests: 1 point, from a separate bucket.
	if dig(out, "data", "rateLimit", "cost") != 1.0 || dig(out, "data", "rateLimit", "remaining") != 4999.0 ||
		resp.Header.Get("X-RateLimit-Resource") != "graphql" || resp.Header.Get("X-RateLimit-Remaining") != "4999" {
		t.Errorf("rate limit %v, headers %v", dig(out, "data", "rateLimit"), resp.Header)
	}
	if _, coreLeft, _ := srv.RateLimit(); coreLeft != 5000 || srv.GraphQLPoints() != 1 || srv.Count("graphql") != 1 {
		t.Errorf("core %d left, %d points, %d graphql requests", coreLeft, srv.GraphQLPoints(), srv.Count("graphql"))
	}
	// The cursor leads to the last page; a bot's login comes without "[bot]".
	vars["after"] = dig(prs, "pageInfo", "endCursor")
	_, out = postGraphQL(t, srv, "test-token", pageQuery, vars)
	last := dig(out, "data", "repository", "pullRequests")
	if dig(last, "nodes", 0, "number") != 2.0 || dig(last, "pageInfo", "hasNextPage") != false ||
		dig(last, "nodes", 0, "author", "login") != "renovate" || dig(last, "nodes", 0, "author", "__typename") != "Bot" {
		t.Errorf("last page %v", last)
	}
	// /rate_limit reports the same GraphQL bucket: two 1-point queries spent.
	if _, body := getRaw(t, srv, "rate_limit", nil); dig(decode(t, body), "resources", "graphql", "remaining") != 4998.0 {
		t.Errorf("/rate_limit: %s", body)
	}
}

func TestGraphQLErrors(t *testing.T) {
	srv := githubtest.New(t, githubtest.WithGraphQLRateLimit(3, time.Hour))
	srv.AddRepo("acme", "api", "main").Commit("main", "ana", at(0))
	errorOf := func(out map[string]any) string {
		s, _ := dig(out, "errors", 0, "message").(string)
		return s
	}
	if resp, out := postGraphQL(t, srv, "", `{ rateLimit { cost } }`, nil); resp.StatusCode != 401 {
		t.Errorf("without a token: %d %v", resp.StatusCode, out)
	}
	_, out := postGraphQL(t, srv, "test-token", `{ repository(owner: "acme", name: "api") { pullRequests(first: 1) { nodes { number autoMergeRequest } } } }`, nil)
	if errorOf(out) != "Field 'autoMergeRequest' doesn't exist on type 'PullRequest'" || dig(out, "errors", 0, "extensions", "code") != "undefinedField" ||
		dig(out, "errors", 0, "type") != "undefinedField" || out["data"] != nil {
		t.Errorf("unknown field: %v", out)
	}
	srv.RemoveGraphQLField("PullRequest.isDraft")
	if _, out := postGraphQL(t, srv, "test-token", `{ repository(owner: "acme", name: "api") { pullRequests(first: 1) { nodes { isDraft } } } }`, nil); dig(out, "errors", 0, "extensions", "code") != "undefinedField" {
		t.Errorf("removed field: %v", out)
	}
	if _, out := postGraphQL(t, srv, "test-token", `{ repository(owner: "acme", name: "api") { pullRequests(first: 101) { totalCount } } }`, nil); !strings.Contains(errorOf(out), "exceeds the `first` limit of 100 records") {
		t.Errorf("first: 101: %v", out)
	}
	if _, out := postGraphQL(t, srv, "test-token", `{ repository(owner: "acme", name: "api") { pullRequests { totalCount } } }`, nil); !strings.Contains(errorOf(out), "You must provide a `first` or `last` value") {
		t.Errorf("no first: %v", out)
	}
	if _, out := postGraphQL(t, srv, "test-token", `{ repository(owner: "acme", name: "nope") { nameWithOwner } }`, nil); dig(out, "errors", 0, "type") != "NOT_FOUND" || dig(out, "data", "repository") != nil {
		t.Errorf("unknown repository: %v", out)
	}
	// None of the refused queries was charged; the bucket of 3 points runs out after
	// three 1-point queries (the unknown repository's among them).
	if srv.GraphQLPoints() != 1 {
		t.Errorf("%d points charged, want 1 (the unknown repository's query)", srv.GraphQLPoints())
	}
	srv.ForbidRepo("acme/api")
	if resp, out := postGraphQL(t, srv, "test-token", `{ repository(owner: "acme", name: "api") { nameWithOwner } }`, nil); resp.StatusCode != 200 ||
		dig(out, "errors", 0, "type") != "FORBIDDEN" || errorOf(out) != "Resource not accessible by integration" || dig(out, "data", "repository") != nil {
		t.Errorf("forbidden repository: %d %v", resp.StatusCode, out)
	}
	srv.AllowRepo("acme/api")
	// GitHub refuses a query costing more than is left with 200, RATE_LIMITED, and
	// the points left as they are: 1 + 3×100 requests is 3 points, 1 left.
	heavy := `{ repository(owner: "acme", name: "api") { pullRequests(first: 100) { nodes { labels(first: 100) { totalCount } commits(first: 100) { totalCount } reviews(first: 100) { totalCount } } } } }`
	if resp, out := postGraphQL(t, srv, "test-token", heavy, nil); resp.StatusCode != 200 || dig(out, "errors", 0, "type") != "RATE_LIMITED" ||
		out["data"] != nil || resp.Header.Get("X-RateLimit-Remaining") != "1" {
		t.Errorf("a query costing more than is left: %d %v, %s left", resp.StatusCode, out, resp.Header.Get("X-RateLimit-Remaining"))
	}
	postGraphQL(t, srv, "test-token", `{ rateLimit { cost } }`, nil)
	if resp, out := postGraphQL(t, srv, "test-token", `{ rateLimit { cost } }`, nil); resp.StatusCode != 200 || dig(out, "errors", 0, "type") != "RATE_LIMITED" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("over the points: %d %v", resp.StatusCode, out)
	}
	srv.GraphQLTimeoutAbove(10)
	if resp, out := postGraphQL(t, srv, "test-token", `{ repository(owner: "acme", name: "api") { pullRequests(first: 11) { totalCount } } }`, nil); resp.StatusCode != 502 || !strings.Contains(errorOf(out), "timeout") {
		t.Errorf("heavy page: %d %v", resp.StatusCode, out)
	}
	srv.GraphQLTimeoutAbove(0)
	srv.GraphQLTimeoutErrors(1)
	small := `{ repository(owner: "acme", name: "api") { nameWithOwner } }`
	if resp, out := postGraphQL(t, srv, "test-token", small, nil); resp.StatusCode != 200 || !strings.Contains(errorOf(out), "timeout") || out["data"] != nil {
		t.Errorf("timeout error: %d %v, want 200 with the timeout error and no data", resp.StatusCode, out)
	}
	if _, out := postGraphQL(t, srv, "test-token", small, nil); strings.Contains(errorOf(out), "timeout") {
		t.Errorf("after the one timeout error: %v", out)
	}
	srv.DisableGraphQL()
	if resp, _ := postGraphQL(t, srv, "test-token", `{ rateLimit { cost } }`, nil); resp.StatusCode != 404 {
		t.Errorf("disabled: %d", resp.StatusCode)
	}
}
