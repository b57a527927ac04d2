// Package githubtest is a fake GitHub REST API for the tests of the GitHub collector,
// served like GitHub Enterprise Server under /api/v3/ and written from GitHub's REST
// documentation: its JSON uses the documented field names (never a client library's
// types), and it paginates, rate-limits, answers conditional requests and fails as
// the documentation says GitHub does.
//
//	srv := githubtest.New(t)
//	repo := srv.AddRepo("acme", "api", "main")
//	c1 := repo.Commit("main", "alice", t0)
//	pr := repo.AddPullRequest(githubtest.PullRequest{Author: "bob", CreatedAt: t1, MergedAt: t2,
//		Events: []githubtest.Event{{Kind: "reviewed", Actor: "alice", State: "approved", At: t2}}})
//	client := github.NewClient(nil).WithAuthToken("test-token")
//	client, _ = client.WithEnterpriseURLs(srv.URL(), srv.URL())
//
// # Endpoints (GET, but for the App's one POST)
//
//	/orgs/{org}/repos                              type, sort, direction; hidden repositories left out
//	/repos/{owner}/{repo}                          one repository
//	/repos/{o}/{r}/pulls                           state, head, base, sort, direction ("pull request simple")
//	/repos/{o}/{r}/pulls/{number}                  the full pull request
//	/repos/{o}/{r}/issues/{number}/timeline        committed, reviewed, commented, labeled, merged, closed, ... in time order
//	/repos/{o}/{r}/deployments                     environment, sha, ref, task; newest first
//	/repos/{o}/{r}/deployments/{id}                one deployment
//	/repos/{o}/{r}/deployments/{id}/statuses       newest first
//	/repos/{o}/{r}/actions/workflows               {total_count, workflows}
//	/repos/{o}/{r}/actions/workflows/{id|file}     one workflow
//	/repos/{o}/{r}/actions/workflows/{id|file}/runs  actor, branch, event, status, created, head_sha; newest first
//	/repos/{o}/{r}/releases                        newest first
//	/repos/{o}/{r}/git/ref/{heads|tags}/{name}     one branch or tag, matched exactly; 404 when there is none
//	/repos/{o}/{r}/compare/{base}...{head}         from the repository's commit graph; 404 "No common ancestor" for unrelated histories
//	/rate_limit                                    does not count against the limit
//	POST /app/installations/{id}/access_tokens     WithApp: mints an installation token (201) for the App's JWT
//	POST /api/graphql                              GraphQL (below), served from the same model
//
// Anything else answers 404 {"message":"Not Found","documentation_url":...}.
// WithPathPrefix("/github") serves all of it under /github, as a server behind a
// proxy that routes by path.
//
// # Behaviour on every request
//
// Requests need "Authorization: Bearer <token>" or "token <token>" (WithToken, default
// "test-token", or an installation token the server minted and that has not expired),
// else 401 "Bad credentials". Lists take per_page (default 30, at most
// 100) and page (default 1) and send a Link header (prev, next, last, first) unless
// everything fits on one page. Every answer carries X-RateLimit-Limit, -Remaining,
// -Used, -Reset and -Resource; every request but /rate_limit and a 304 counts against
// the primary limit (WithRateLimit, default 5,000 an hour); once it is spent, requests
// answer 403 (or 429, WithRateLimitStatus) "API rate limit exceeded" with
// X-RateLimit-Remaining: 0 until the reset. The window opens at the first request and
// follows the server clock (WithClock; NewClock gives one tests can move). Every 200
// carries an ETag (W/"<sha256 of the body>"); If-None-Match with it answers 304 Not
// Modified with no body.
//
// # GitHub App
//
// WithApp(appID, installationID, publicKey) makes the server know an App installed
// once. Its mint endpoint takes "Authorization: Bearer <JWT>" and checks it as GitHub
// documents: RS256 signed by the App's key, iss the App's id (number or text), exp in
// the future but no more than 10 minutes ahead, iat not in the future; it refuses
// with GitHub's 401 messages ("A JSON web token could not be decoded", "'Expiration
// time' claim ('exp') ...", "'Issued at' claim ('iat') ..."), and answers 404 for
// another installation. The token it mints (token, expires_at an hour on,
// permissions, repository_selection) is accepted everywhere until then. Mints spend
// the App's own limit (5,000 an hour); an installation token's requests spend the
// installation's (WithInstallationRateLimit, default 5,000), apart from the user's.
// MintedTokens counts the tokens minted, InstallationRateLimit reports the
// installation's limit, and RevokeInstallationTokens makes every token minted so far
// answer 401.
//
// The comparison follows the documented paging: without per_page or page it lists at
// most 250 commits, the last the most recent; with them, pages of the commits oldest
// first. Workflow runs filtered by actor, branch, check_suite_id, created, event,
// head_sha or status stop at 1,000, as documented, while total_count says how many
// match; created takes dates, date-times and ranges of either, both ends included.
// A run on a tag push has the tag's name as its head_branch, as on GitHub: give the
// tag's name as HeadBranch.
//
// # GraphQL
//
// POST /api/graphql (where GitHub Enterprise Server serves it) parses the query with
// a GraphQL parser, takes variables, and resolves the fields flowmeter asks for:
// repository(owner, name) { pullRequests(first, after, orderBy, states), pullRequest(number) },
// a pull request's number, title, body, url, isDraft, dates, refs, additions,
// deletions, author (a bot's login without "[bot]", __typename Bot), mergeCommit, and
// its labels, commits, reviews and timelineItems (READY_FOR_REVIEW_EVENT,
// CONVERT_TO_DRAFT_EVENT) connections, and rateLimit. An unknown field fails
// validation as GitHub's does (type and extensions.code "undefinedField"); a
// connection needs first or last within 1..100, and a query at most 500,000 nodes.
// Each query costs the points GitHub documents (one request per node of the parent
// connections, summed, divided by 100 and rounded, at least 1), charged from a
// bucket of its own (WithGraphQLRateLimit, default 5,000 an hour) and reported in
// rateLimit and X-RateLimit-* headers with resource "graphql"; a query costing more
// than is left answers 200 with an error of type RATE_LIMITED, as GitHub's does, and
// X-RateLimit-Remaining says the points left, not always 0. A repository under
// ForbidRepo answers an error of type FORBIDDEN, one under HideRepo or unknown
// NOT_FOUND, with the repository null. Requests count as kind "graphql";
// GraphQLPoints says what they cost.
//
// # Fault knobs
//
//	Fail(n, status)                 the next n requests answer status (502, 503, ...)
//	FailPath(substr, n, status)     the same, for requests whose path contains substr
//	SecondaryLimit(n, retryAfter)   the next n requests hit a secondary rate limit: 403, Retry-After
//	SetRateRemaining(n)             n requests left in the primary window
//	HideRepo(full)                  404 under the repository, as for a private one out of reach
//	ForbidRepo(full)                403 "Resource not accessible by integration" (GraphQL: FORBIDDEN)
//	AllowRepo(full)                 undoes both
//	OnRequest(fn)                   fn sees each request before it is answered
//	RemoveGraphQLField("T.f")       the GraphQL field T.f is unknown, as on an older GitHub Enterprise Server
//	DisableGraphQL()                POST /api/graphql answers 404
//	GraphQLTimeoutAbove(n)          queries for more than n pull requests answer 502 (GitHub's timeout)
//	GraphQLTimeoutErrors(n)         the next n queries answer 200 with GitHub's timeout error and no data
//
// Faults apply before authentication, the secondary limit before the primary one.
// Requests, Count, Total and ResetCounts account for what the collector asked.
//
// # Data
//
// AddRepo or AddRepository adds a repository (its organisation is created on first
// use); Commit, AddCommit, Branch, Orphan, Tag and Merge build its commit graph, which the
// comparison walks. AddPullRequest puts a pull request's commits on a head branch and,
// when MergedAt is set, merges it into the base branch (a merge commit, a squash commit
// dated MergedAt, or rebased commits), setting merge_commit_sha; UpdatePullRequest
// changes one and bumps its updated_at. AddDeployment, AddDeploymentStatus,
// AddWorkflow, AddWorkflowRun and AddRelease add the rest. GenerateOrg builds a whole
// organisation deterministically for benchmarks. Everything is safe to call while the
// server answers requests.
package githubtest
