package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v57/github"
	"github.com/shurcooL/githubv4"

	"github.com/flowmeter/flowmeter/schema"
)

// Page sizes of the GraphQL walk: GitHub's largest, and the smallest a timed-out
// query is cut down to before the repository fails.
const (
	graphqlPageSize    = 100
	graphqlMinPageSize = 5
	graphqlGrowFrom    = 25
)

// graphqlSource is a source's GraphQL side: pull requests in pages of up to 100, each
// with everything its record needs, for a few points a page instead of two REST
// requests a pull request.
type graphqlSource struct {
	client *githubv4.Client
	// pageSize is the page asked for; halved when GitHub times out on a full page, and
	// kept for the rest of the collection (Collect starts again at the full size).
	pageSize int
	// unavailable says why pull requests are collected by REST after all (the server
	// lacks a field or the endpoint), once GraphQL was found wanting.
	unavailable string
	// points is what this collection's queries cost, as GitHub reported.
	points int
}

// startCollection sets what lasts one collection: a page size cut by timeouts
// applies to that collection only, and the points are counted per collection.
func (g *graphqlSource) startCollection() {
	g.pageSize = graphqlPageSize
	g.points = 0
}

func newGraphQLSource(baseURL string, t http.RoundTripper) *graphqlSource {
	httpClient := &http.Client{Transport: &graphqlObserver{next: t}, Timeout: 2 * time.Minute}
	client := githubv4.NewClient(httpClient)
	if baseURL != "" {
		client = githubv4.NewEnterpriseClient(graphqlEndpoint(baseURL), httpClient)
	}
	return &graphqlSource{client: client, pageSize: graphqlPageSize}
}

// graphqlEndpoint derives the GraphQL endpoint from a REST base URL: GitHub Enterprise
// Server serves https://host/api/graphql beside https://host/api/v3/.
func graphqlEndpoint(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return strings.TrimSuffix(baseURL, "/") + "/graphql"
	}
	p := strings.TrimSuffix(u.Path, "/")
	switch {
	case strings.HasSuffix(p, "/api/v3"):
		u.Path = strings.TrimSuffix(p, "/v3") + "/graphql"
	case strings.HasPrefix(u.Host, "api."):
		u.Path = p + "/graphql"
	default:
		u.Path = p + "/api/graphql"
	}
	return u.String()
}

// The query flowmeter sends: a page of pull requests, newest update first, with what
// their records need (githubv4 builds the query text from these types).
type (
	gqlPageInfo struct {
		HasNextPage bool
		EndCursor   githubv4.String
	}
	gqlActor struct {
		Login    string
		Typename string `graphql:"__typename"`
	}
	gqlLabels struct {
		PageInfo gqlPageInfo
		Nodes    []struct{ Name string }
	}
	gqlCommits struct {
		TotalCount int
		PageInfo   gqlPageInfo
		Nodes      []struct {
			Commit struct{ AuthoredDate githubv4.DateTime }
		}
	}
	gqlReviews struct {
		PageInfo gqlPageInfo
		Nodes    []struct {
			Author      *gqlActor
			State       string
			SubmittedAt *githubv4.DateTime
		}
	}
	gqlDraftEvents struct {
		PageInfo gqlPageInfo
		Nodes    []struct {
			Typename string `graphql:"__typename"`
			Ready    struct {
				CreatedAt githubv4.DateTime
			} `graphql:"... on ReadyForReviewEvent"`
			Draft struct {
				CreatedAt githubv4.DateTime
			} `graphql:"... on ConvertToDraftEvent"`
		}
	}
	gqlPull struct {
		Number        int
		Title         string
		Body          string
		URL           string
		IsDraft       bool
		CreatedAt     githubv4.DateTime
		UpdatedAt     githubv4.DateTime
		MergedAt      *githubv4.DateTime
		ClosedAt      *githubv4.DateTime
		BaseRefName   string
		HeadRefName   string
		Additions     int
		Deletions     int
		Author        *gqlActor
		MergeCommit   *struct{ Oid string }
		Labels        gqlLabels      `graphql:"labels(first: 100)"`
		Commits       gqlCommits     `graphql:"commits(first: 100)"`
		Reviews       gqlReviews     `graphql:"reviews(first: 100)"`
		TimelineItems gqlDraftEvents `graphql:"timelineItems(first: 100, itemTypes: [READY_FOR_REVIEW_EVENT, CONVERT_TO_DRAFT_EVENT])"`
	}
	gqlRateLimit struct {
		Cost      int
		Limit     int
		Remaining int
		ResetAt   githubv4.DateTime
	}
	pullsPageQuery struct {
		Repository struct {
			PullRequests struct {
				TotalCount int
				PageInfo   gqlPageInfo
				Nodes      []gqlPull
			} `graphql:"pullRequests(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}, states: [OPEN, CLOSED, MERGED])"`
		} `graphql:"repository(owner: $owner, name: $name)"`
		RateLimit gqlRateLimit
	}
)

// The follow-up queries for a pull request with more than 100 labels, commits,
// reviews or draft events.
type (
	moreLabelsQuery struct {
		Repository struct {
			PullRequest struct {
				Labels gqlLabels `graphql:"labels(first: 100, after: $after)"`
			} `graphql:"pullRequest(number: $number)"`
		} `graphql:"repository(owner: $owner, name: $name)"`
		RateLimit gqlRateLimit
	}
	moreCommitsQuery struct {
		Repository struct {
			PullRequest struct {
				Commits gqlCommits `graphql:"commits(first: 100, after: $after)"`
			} `graphql:"pullRequest(number: $number)"`
		} `graphql:"repository(owner: $owner, name: $name)"`
		RateLimit gqlRateLimit
	}
	moreReviewsQuery struct {
		Repository struct {
			PullRequest struct {
				Reviews gqlReviews `graphql:"reviews(first: 100, after: $after)"`
			} `graphql:"pullRequest(number: $number)"`
		} `graphql:"repository(owner: $owner, name: $name)"`
		RateLimit gqlRateLimit
	}
	moreDraftEventsQuery struct {
		Repository struct {
			PullRequest struct {
				TimelineItems gqlDraftEvents `graphql:"timelineItems(first: 100, after: $after, itemTypes: [READY_FOR_REVIEW_EVENT, CONVERT_TO_DRAFT_EVENT])"`
			} `graphql:"pullRequest(number: $number)"`
		} `graphql:"repository(owner: $owner, name: $name)"`
		RateLimit gqlRateLimit
	}
)

// graphqlUnavailable is a GraphQL API that cannot serve flowmeter's query: pull
// requests are collected by REST instead.
type graphqlUnavailable struct{ reason string }

func (e *graphqlUnavailable) Error() string { return "GraphQL API unavailable: " + e.reason }

// errGraphQLTimeout is GitHub giving up on a query too heavy to answer in time.
var errGraphQLTimeout = errors.New("GitHub timed out on the GraphQL query")

// errGraphQLRateLimited is a query refused for want of points. GitHub answers it 200
// with an error of type RATE_LIMITED (also seen as RATE_LIMIT), and
// X-RateLimit-Remaining need not be 0 then: a query may cost more than is left.
var errGraphQLRateLimited = errors.New("GitHub GraphQL rate limit exceeded")

// graphqlRateLimitWaits bounds the waits for the reset of one query: GitHub refusing
// it again after a reset means something else spends the points.
const graphqlRateLimitWaits = 3

// query runs one GraphQL query, records its cost and the points left, and sorts its
// failures: the API lacking (graphqlUnavailable), a timeout (errGraphQLTimeout), or an
// HTTP status as go-github reports it, so the REST path's handling of 401, 403 and
// 404 applies. A query refused for want of points waits for the reset and is asked
// again, a bounded number of times.
func (r *run) query(ctx context.Context, q any, rate *gqlRateLimit, vars map[string]any) error {
	for waits := 0; ; waits++ {
		outcome := &graphqlOutcome{}
		err := r.gql.client.Query(context.WithValue(ctx, graphqlOutcomeKey{}, outcome), q, vars)
		if err == nil {
			r.gql.points += rate.Cost
			// Enterprise Server without GraphQL rate limiting answers rateLimit null,
			// which decodes as zeros: that is no budget known, not an empty one.
			if rate.Limit > 0 && !rate.ResetAt.IsZero() {
				r.transport.record(resourceGraphQL, rate.Remaining, rate.Limit, rate.ResetAt.Time)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		outcome.readErrors()
		err = outcome.classify(err)
		if !errors.Is(err, errGraphQLRateLimited) || waits >= graphqlRateLimitWaits {
			return err
		}
		if werr := r.transport.waitForReset(ctx, resourceGraphQL); werr != nil {
			return fmt.Errorf("%w: %w", err, werr)
		}
	}
}

// graphqlOutcome is what the observer saw of a GraphQL answer, which githubv4's
// errors do not carry: the status and the errors' types.
type graphqlOutcome struct {
	status int
	// answer is the body as githubv4 read it, decoded again only when the query
	// failed: an answer that succeeded is decoded once, by githubv4.
	answer bytes.Buffer
	errors []graphqlError
}

// readErrors decodes the errors of the answer; a body that is not GraphQL's JSON (a
// proxy's error page) has none.
func (o *graphqlOutcome) readErrors() {
	var answer struct {
		Errors []graphqlError `json:"errors"`
	}
	if json.Unmarshal(o.answer.Bytes(), &answer) == nil {
		o.errors = answer.Errors
	}
}

type graphqlError struct {
	Type       string `json:"type"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

type graphqlOutcomeKey struct{}

func (o *graphqlOutcome) classify(err error) error {
	for _, e := range o.errors {
		switch {
		case e.Type == "undefinedField" || e.Extensions.Code == "undefinedField":
			reason := e.Message
			if reason == "" {
				reason = "the server's GraphQL schema lacks a field flowmeter asks for"
			}
			return &graphqlUnavailable{reason: reason}
		case e.Type == "RATE_LIMITED" || e.Type == "RATE_LIMIT" || e.Code == "graphql_rate_limit":
			return fmt.Errorf("%w: %s", errGraphQLRateLimited, e.Message)
		}
	}
	switch o.status {
	case http.StatusNotFound:
		return &graphqlUnavailable{reason: "the GraphQL endpoint answered 404 Not Found"}
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return fmt.Errorf("%w (%d)", errGraphQLTimeout, o.status)
	}
	for _, e := range o.errors {
		msg := strings.ToLower(e.Message)
		if strings.Contains(msg, "timedout") || strings.Contains(msg, "timeout") || strings.Contains(msg, "something went wrong") {
			return fmt.Errorf("%w: %s", errGraphQLTimeout, e.Message)
		}
		switch e.Type {
		case "NOT_FOUND":
			return &gh.ErrorResponse{Response: &http.Response{StatusCode: http.StatusNotFound}, Message: e.Message}
		case "FORBIDDEN":
			// An App or fine-grained token without the permission the query needs.
			return &gh.ErrorResponse{Response: &http.Response{StatusCode: http.StatusForbidden}, Message: e.Message}
		}
	}
	if o.status != 0 && o.status != http.StatusOK {
		return &gh.ErrorResponse{Response: &http.Response{StatusCode: o.status}, Message: "GraphQL: " + err.Error()}
	}
	return fmt.Errorf("GraphQL: %w", err)
}

// graphqlObserver marks the GraphQL client's requests as spending GraphQL points,
// and notes the status and error types of their answers for the query that asked.
type graphqlObserver struct{ next http.RoundTripper }

func (o *graphqlObserver) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(req.WithContext(asGraphQL(req.Context())))
	outcome, _ := req.Context().Value(graphqlOutcomeKey{}).(*graphqlOutcome)
	if err != nil || outcome == nil {
		return resp, err
	}
	outcome.status = resp.StatusCode
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, &outcome.answer), resp.Body}
	return resp, nil
}

// graphqlPulls pages a repository's pull requests by GraphQL for the cursor walk.
type graphqlPulls struct {
	r    *run
	repo repository
	// probe is the next page's size while the cursor is complete: first the pull
	// requests seen in the overlap and one more, which is all an unchanged repository
	// needs, then 25, 50, ... up to the page size. 0 in a backfill.
	probe   int
	started bool
	after   *githubv4.String
	total   int // the repository's pull requests, from the first page
	fetched int
}

func (p *graphqlPulls) firstETag() string { return "" }

// size is the next page's: the collection's page size, cut to what is left once the
// first page told the total (GitHub charges by what is asked for), and to shrunk
// while a short page times out. After a probe the pages grow from 25 (101 requests,
// 1 point), since an incremental walk usually stops within a few pull requests.
func (p *graphqlPulls) size(shrunk int) int {
	n := p.r.gql.pageSize
	if p.probe > 0 {
		n = min(n, p.probe)
	}
	if p.started && p.total > p.fetched {
		n = min(n, p.total-p.fetched)
	}
	if shrunk > 0 {
		n = min(n, shrunk)
	}
	return n
}

// next asks for the next page. GitHub timing out on it is asked once more as it was
// (a timeout may be passing), then for half as many: a full page halves the page size
// for the rest of the collection, a shorter one (a probe, the last page) is cut for
// this page only.
func (p *graphqlPulls) next(ctx context.Context) ([]pullItem, bool, error) {
	var q pullsPageQuery
	shrunk, retried := 0, false
	for {
		q = pullsPageQuery{}
		n := p.size(shrunk)
		vars := map[string]any{
			"owner": githubv4.String(p.repo.owner), "name": githubv4.String(p.repo.name),
			"first": githubv4.Int(n), "after": p.after,
		}
		// The transport hands a timed-out page back at once: it is asked again here,
		// smaller, not the same again and again.
		err := p.r.query(withoutTimeoutRetries(ctx), &q, &q.RateLimit, vars)
		if errors.Is(err, errGraphQLTimeout) && !retried {
			retried = true
			p.r.log.Warn("GitHub timed out on a page of pull requests; asking again", "repo", p.repo.fullName,
				"page_size", n, "err", err)
			continue
		}
		if errors.Is(err, errGraphQLTimeout) && n > graphqlMinPageSize {
			smaller := max(n/2, graphqlMinPageSize)
			if n == p.r.gql.pageSize {
				p.r.gql.pageSize = smaller
			} else {
				shrunk = smaller
			}
			p.r.log.Warn("GitHub timed out on a page of pull requests; asking for fewer", "repo", p.repo.fullName,
				"page_size", n, "next_page_size", smaller, "err", err)
			continue
		}
		if err != nil {
			return nil, false, err
		}
		break
	}
	page := q.Repository.PullRequests
	if p.probe > 0 {
		p.probe = max(2*p.probe, graphqlGrowFrom)
		if p.probe >= p.r.gql.pageSize {
			p.probe = 0
		}
	}
	p.started = true
	p.total = page.TotalCount
	p.fetched += len(page.Nodes)
	end := page.PageInfo.EndCursor
	p.after = &end
	items := make([]pullItem, 0, len(page.Nodes))
	for _, node := range page.Nodes {
		items = append(items, pullItem{
			number: node.Number, updated: node.UpdatedAt.UTC().Truncate(time.Second),
			record: func(ctx context.Context) (schema.PullRequest, error) { return p.record(ctx, node) },
		})
	}
	return items, !page.PageInfo.HasNextPage, nil
}

// record builds a pull request's record from its page node, paging the connections
// that hold more than the first 100, in the REST path's terms so both give the same
// record.
func (p *graphqlPulls) record(ctx context.Context, node gqlPull) (schema.PullRequest, error) {
	if err := p.complete(ctx, &node); err != nil {
		return schema.PullRequest{}, err
	}
	stamp := func(t githubv4.DateTime) *gh.Timestamp { return &gh.Timestamp{Time: t.Time} }
	optional := func(t *githubv4.DateTime) *gh.Timestamp {
		if t == nil {
			return nil
		}
		return stamp(*t)
	}
	login, typ := restActor(node.Author)
	pr := &gh.PullRequest{
		Number: gh.Int(node.Number), Title: gh.String(node.Title), Body: gh.String(node.Body), HTMLURL: gh.String(node.URL),
		Draft: gh.Bool(node.IsDraft), CreatedAt: stamp(node.CreatedAt), MergedAt: optional(node.MergedAt), ClosedAt: optional(node.ClosedAt),
		Base: &gh.PullRequestBranch{Ref: gh.String(node.BaseRefName)}, Head: &gh.PullRequestBranch{Ref: gh.String(node.HeadRefName)},
		Additions: gh.Int(node.Additions), Deletions: gh.Int(node.Deletions), Commits: gh.Int(node.Commits.TotalCount),
		User: &gh.User{Login: gh.String(login), Type: gh.String(typ)},
	}
	if node.MergeCommit != nil {
		pr.MergeCommitSHA = gh.String(node.MergeCommit.Oid)
	}
	for _, l := range node.Labels.Nodes {
		pr.Labels = append(pr.Labels, &gh.Label{Name: gh.String(l.Name)})
	}
	var timeline []*gh.Timeline
	for _, c := range node.Commits.Nodes {
		timeline = append(timeline, &gh.Timeline{Event: gh.String("committed"), Author: &gh.CommitAuthor{Date: stamp(c.Commit.AuthoredDate)}})
	}
	for _, rv := range node.Reviews.Nodes {
		login, typ := restActor(rv.Author)
		timeline = append(timeline, &gh.Timeline{
			Event: gh.String("reviewed"), User: &gh.User{Login: gh.String(login), Type: gh.String(typ)},
			State: gh.String(strings.ToLower(rv.State)), SubmittedAt: optional(rv.SubmittedAt),
		})
	}
	for _, e := range node.TimelineItems.Nodes {
		switch e.Typename {
		case "ReadyForReviewEvent":
			timeline = append(timeline, &gh.Timeline{Event: gh.String("ready_for_review"), CreatedAt: stamp(e.Ready.CreatedAt)})
		case "ConvertToDraftEvent":
			timeline = append(timeline, &gh.Timeline{Event: gh.String("convert_to_draft"), CreatedAt: stamp(e.Draft.CreatedAt)})
		}
	}
	return p.r.pullRecord(p.repo, pr, node.UpdatedAt.UTC().Truncate(time.Second), timeline), nil
}

// restActor spells a GraphQL author as the REST API does: a bot's login with the
// "[bot]" suffix GraphQL leaves out, and a deleted account as "ghost".
func restActor(a *gqlActor) (login, typ string) {
	if a == nil {
		return "ghost", "User"
	}
	if a.Typename == "Bot" && !strings.HasSuffix(a.Login, "[bot]") {
		return a.Login + "[bot]", "Bot"
	}
	return a.Login, a.Typename
}

// followUp runs a follow-up query, asked again after a backoff when GitHub times out
// on it (502, 504, or a 200 whose error says so), as the transport retries a REST
// request: it asks for one connection of one pull request, which cannot be made
// smaller. Other errors are the transport's to retry.
func (r *run) followUp(ctx context.Context, q any, rate *gqlRateLimit, vars map[string]any) error {
	ctx = withoutTimeoutRetries(ctx) // retried here, so not twice over
	for attempt := 0; ; attempt++ {
		err := r.query(ctx, q, rate, vars)
		if !errors.Is(err, errGraphQLTimeout) || attempt >= r.transport.maxRetries {
			return err
		}
		delay := r.transport.backoff(attempt)
		r.log.Warn("GitHub timed out on a follow-up query; retrying", "attempt", attempt+1, "in", delay, "err", err)
		if err := r.transport.sleep(ctx, delay); err != nil {
			return err
		}
	}
}

// complete pages the connections of a pull request that hold more than 100 nodes.
func (p *graphqlPulls) complete(ctx context.Context, node *gqlPull) error {
	vars := func(after githubv4.String) map[string]any {
		return map[string]any{
			"owner": githubv4.String(p.repo.owner), "name": githubv4.String(p.repo.name),
			"number": githubv4.Int(node.Number), "after": after,
		}
	}
	for info := node.Labels.PageInfo; info.HasNextPage; {
		var q moreLabelsQuery
		if err := p.r.followUp(ctx, &q, &q.RateLimit, vars(info.EndCursor)); err != nil {
			return fmt.Errorf("labels: %w", err)
		}
		more := q.Repository.PullRequest.Labels
		node.Labels.Nodes, info = append(node.Labels.Nodes, more.Nodes...), more.PageInfo
	}
	for info := node.Commits.PageInfo; info.HasNextPage; {
		var q moreCommitsQuery
		if err := p.r.followUp(ctx, &q, &q.RateLimit, vars(info.EndCursor)); err != nil {
			return fmt.Errorf("commits: %w", err)
		}
		more := q.Repository.PullRequest.Commits
		node.Commits.Nodes, info = append(node.Commits.Nodes, more.Nodes...), more.PageInfo
	}
	for info := node.Reviews.PageInfo; info.HasNextPage; {
		var q moreReviewsQuery
		if err := p.r.followUp(ctx, &q, &q.RateLimit, vars(info.EndCursor)); err != nil {
			return fmt.Errorf("reviews: %w", err)
		}
		more := q.Repository.PullRequest.Reviews
		node.Reviews.Nodes, info = append(node.Reviews.Nodes, more.Nodes...), more.PageInfo
	}
	for info := node.TimelineItems.PageInfo; info.HasNextPage; {
		var q moreDraftEventsQuery
		if err := p.r.followUp(ctx, &q, &q.RateLimit, vars(info.EndCursor)); err != nil {
			return fmt.Errorf("timeline: %w", err)
		}
		more := q.Repository.PullRequest.TimelineItems
		node.TimelineItems.Nodes, info = append(node.TimelineItems.Nodes, more.Nodes...), more.PageInfo
	}
	return nil
}
