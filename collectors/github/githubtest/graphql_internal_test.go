package githubtest

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

func parse(t *testing.T, query string) *ast.QueryDocument {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// The worked examples of GitHub's GraphQL rate-limit documentation.
func TestQueryCostDocumentedExamples(t *testing.T) {
	// "Calculating a rate limit score before running the call": 1 request for the
	// repositories, 100 for their issues, 5,000 for the issues' labels: 5,101
	// requests, which divided by 100 and rounded is a score of 51.
	score := parse(t, `query { viewer { login repositories(first: 100) { edges { node { id
		issues(first: 50) { edges { node { id labels(first: 60) { edges { node { id name } } } } } } } } } }
		rateLimit { limit cost remaining resetAt } }`)
	c, err := queryCost(score, nil)
	if err != nil || c.requests != 5101 || c.points != 51 {
		t.Errorf("score example: %+v, %v; want 5,101 requests, 51 points", c, err)
	}
	// "Calculating nodes in a call": 50 + 50×10 = 550 nodes.
	simple := parse(t, `query { viewer { repositories(first: 50) { edges { repository:node { name
		issues(first: 10) { totalCount edges { node { title bodyHTML } } } } } } } }`)
	if c, err := queryCost(simple, nil); err != nil || c.nodes != 550 {
		t.Errorf("simple node example: %+v, %v; want 550 nodes", c, err)
	}
	// 50 + 50×20 + 50×20×10 + 50×20 + 50×20×10 + 10 = 22,060 nodes.
	complexQuery := parse(t, `query { viewer {
		repositories(first: 50) { edges { repository:node { name
			pullRequests(first: 20) { edges { pullRequest:node { title comments(first: 10) { edges { comment:node { bodyHTML } } } } } }
			issues(first: 20) { totalCount edges { issue:node { title bodyHTML comments(first: 10) { edges { comment:node { bodyHTML } } } } } } } } }
		followers(first: 10) { edges { follower:node { login } } } } }`)
	if c, err := queryCost(complexQuery, nil); err != nil || c.nodes != 22060 {
		t.Errorf("complex node example: %+v, %v; want 22,060 nodes", c, err)
	}
}

func TestQueryCostVariablesMinimumAndNodeLimit(t *testing.T) {
	// A variable page size counts as given; a small query still costs 1 point.
	doc := parse(t, `query($n: Int!) { repository(owner: "a", name: "b") { pullRequests(first: $n) { nodes { number } } } }`)
	c, err := queryCost(doc, map[string]any{"n": float64(30)})
	if err != nil || c.requests != 1 || c.nodes != 30 || c.points != 1 || c.pullRequests != 30 {
		t.Errorf("%+v, %v; want 1 request, 30 nodes, 1 point", c, err)
	}
	// 100 + 100×100 + 100×100×100 = 1,010,100 nodes: over the 500,000 allowed.
	big := parse(t, `{ a(first: 100) { b(first: 100) { c(first: 100) { id } } } }`)
	if _, err := queryCost(big, nil); err == nil || !strings.Contains(err.Error(), "1,010,100") {
		t.Errorf("over the node limit: %v", err)
	}
}
