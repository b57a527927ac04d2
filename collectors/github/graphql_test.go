package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// useGraphQL is a connect edit collecting pull requests by GraphQL.
func useGraphQL(r *resolved) { r.graphql = true }

// edgeCases adds a repository with what the GraphQL path must page or translate:
// over 100 commits (the earliest authored one past the first 100), labels and reviews,
// a rebase merge, draft round trips, bots, reverts and ticket keys.
func edgeCases(t testing.TB, srv *githubtest.Server) {
	repo := srv.AddRepo("acme", "edge", "main")
	repo.Commit("main", "ana", on(-200*time.Hour))
	var commits []githubtest.PRCommit
	for i := range 150 {
		at := on(time.Duration(i) * time.Minute)
		if i == 120 {
			at = on(-90 * time.Hour) // the first commit written, listed 121st
		}
		commits = append(commits, githubtest.PRCommit{AuthorDate: at})
	}
	repo.AddPullRequest(githubtest.PullRequest{
		Number: 1, Author: "ana", Title: "PAY-12 Big import", Labels: []string{"feature", "big"}, CreatedAt: on(0),
		MergedAt: on(30 * time.Hour), MergeMethod: "rebase", Commits: commits,
		Events: []githubtest.Event{
			{Kind: "reviewed", Actor: "renovate", ActorIsBot: true, State: "approved", At: on(3 * time.Hour)},
			{Kind: "reviewed", Actor: "ana", State: "commented", At: on(4 * time.Hour)},
			{Kind: "reviewed", Actor: "bo", State: "approved", At: on(5 * time.Hour)},
		},
	})
	var labels []string
	for i := range 105 {
		labels = append(labels, fmt.Sprintf("area-%03d", 104-i))
	}
	var reviews []githubtest.Event
	for i := range 104 {
		reviews = append(reviews, githubtest.Event{Kind: "reviewed", Actor: "cy", State: "commented", At: on(time.Duration(40+i) * time.Hour)})
	}
	// The first review by someone else is the 105th listed.
	reviews = append(reviews, githubtest.Event{Kind: "reviewed", Actor: "dee", State: "approved", At: on(33 * time.Hour)})
	repo.AddPullRequest(githubtest.PullRequest{
		Number: 2, Author: "cy", Draft: true, Labels: labels, CreatedAt: on(31 * time.Hour), MergedAt: on(150 * time.Hour),
		MergeMethod: "squash", HeadRef: "pay-77-labels", Body: "Reverts acme/edge#1\n\nThis reverts commit " + strings.Repeat("AB", 20) + ".\nfixes #9",
		Events: append([]githubtest.Event{
			{Kind: "ready_for_review", At: on(32 * time.Hour)},
			{Kind: "convert_to_draft", At: on(32*time.Hour + 30*time.Minute)},
			{Kind: "ready_for_review", At: on(34 * time.Hour)},
		}, reviews...),
	})
	// Opened ready, turned into a draft and still one; a bot's pull request; one closed.
	repo.AddPullRequest(githubtest.PullRequest{Number: 3, Author: "bo", CreatedAt: on(160 * time.Hour),
		Events: []githubtest.Event{{Kind: "convert_to_draft", At: on(161 * time.Hour)}}, Draft: true})
	repo.AddPullRequest(githubtest.PullRequest{Number: 4, Author: "dependabot", AuthorIsBot: true, Labels: []string{"dependencies"},
		CreatedAt: on(162 * time.Hour), MergedAt: on(163 * time.Hour), MergedBy: "ana",
		Events: []githubtest.Event{{Kind: "reviewed", Actor: "ana", State: "approved", At: on(162*time.Hour + 30*time.Minute)}}})
	repo.AddPullRequest(githubtest.PullRequest{Number: 5, Author: "eve", Draft: true, CreatedAt: on(164 * time.Hour), ClosedAt: on(165 * time.Hour)})
}

// equalHistories collects the same history by REST and by GraphQL and returns both
// stores' records, failing when they differ.
func equalHistories(t *testing.T, build func(*fixture)) map[string]schema.PullRequest {
	t.Helper()
	rest, gql := newFixture(t), newFixture(t)
	build(rest)
	build(gql)
	rest.connect(t, nil)
	gql.connect(t, useGraphQL)
	restStore, gqlStore := collectortest.SQLite(t), collectortest.SQLite(t)
	if err := rest.collect(context.Background(), restStore); err != nil {
		t.Fatal(err)
	}
	if err := gql.collect(context.Background(), gqlStore); err != nil {
		t.Fatal(err)
	}
	if gql.srv.Count("pulls.get") != 0 || gql.srv.Count("pulls.list") != 0 || gql.srv.Count("graphql") == 0 {
		t.Fatalf("the GraphQL collection made %d pulls.get, %d pulls.list and %d graphql requests",
			gql.srv.Count("pulls.get"), gql.srv.Count("pulls.list"), gql.srv.Count("graphql"))
	}
	want, wantDeps := snapshot(t, restStore)
	got, gotDeps := snapshot(t, gqlStore)
	for id, w := range want {
		if g, ok := got[id]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("pull request %s\n graphql %+v\n rest    %+v", id, g, w)
		}
	}
	if len(got) != len(want) || !reflect.DeepEqual(gotDeps, wantDeps) {
		t.Fatalf("GraphQL stored %d pull requests and %d deployments, REST %d and %d", len(got), len(gotDeps), len(want), len(wantDeps))
	}
	return want
}

func TestGraphQLRecordsEqualREST(t *testing.T) {
	prs := equalHistories(t, func(f *fixture) {
		costOrg(t, f, 2, 120)
		edgeCases(t, f.srv)
	})
	// The cases are what they are meant to be, checked by hand.
	big, labels, bot := prs["acme/edge#1"], prs["acme/edge#2"], prs["acme/edge#4"]
	if big.CommitCount != 150 || !big.FirstCommitAt.Equal(on(-90*time.Hour)) || big.FirstReviewer != "bo" || !big.FirstApprovalAt.Equal(on(5*time.Hour)) {
		t.Errorf("edge#1: %d commits, first at %v, first reviewer %q, approval %v", big.CommitCount, big.FirstCommitAt, big.FirstReviewer, big.FirstApprovalAt)
	}
	// GitHub gave the labels from area-104 down; both APIs' records hold them sorted.
	if len(labels.Labels) != 105 || labels.Labels[0] != "area-000" || labels.Labels[104] != "area-104" || labels.FirstReviewer != "dee" || !labels.ReadyAt.Equal(on(32*time.Hour)) ||
		!reflect.DeepEqual(labels.TicketRefs, []string{"PAY-77", "acme/edge#9"}) || len(labels.Reverts) != 2 {
		t.Errorf("edge#2: %d labels, first reviewer %q, ready %v, tickets %q, reverts %q", len(labels.Labels), labels.FirstReviewer, labels.ReadyAt, labels.TicketRefs, labels.Reverts)
	}
	if bot.Author != "dependabot[bot]" || prs["acme/edge#3"].ReadyAt != on(160*time.Hour) || !prs["acme/edge#5"].ReadyAt.IsZero() {
		t.Errorf("edge#4 author %q; edge#3 ready %v; edge#5 ready %v", bot.Author, prs["acme/edge#3"].ReadyAt, prs["acme/edge#5"].ReadyAt)
	}
	var bots, drafted int
	for _, pr := range prs {
		if strings.HasSuffix(pr.Author, "[bot]") {
			bots++
		}
		if !pr.ReadyAt.IsZero() && pr.ReadyAt.After(pr.CreatedAt) {
			drafted++
		}
	}
	if bots < 5 || drafted < 5 {
		t.Errorf("only %d bot and %d drafted-then-ready pull requests: the comparison misses cases", bots, drafted)
	}
}

func TestGraphQLPoints(t *testing.T) {
	const repos, prs = 4, 150
	f := newFixture(t)
	costOrg(t, f, repos, prs)
	src := f.connect(t, useGraphQL)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{}); n != repos*prs {
		t.Fatalf("collected %d pull requests, want %d", n, repos*prs)
	}
	// By GitHub's formula, per repository: the first page asks for 100 pull requests
	// with four connections of up to 100 each (labels, commits, reviews, draft
	// events): 1 + 100×4 = 401 requests, 401/100 rounds to 4 points. totalCount says
	// 50 are left, so the second page asks for 50: 1 + 50×4 = 201, 2 points. 6 points
	// for 150 pull requests, 24 for the 600: 0.04 a pull request.
	if got := f.srv.GraphQLPoints(); got != 24 || f.srv.Count("graphql") != 2*repos {
		t.Errorf("backfill cost %d points in %d queries, want 24 in %d", got, f.srv.Count("graphql"), 2*repos)
	}
	if perPR := float64(f.srv.GraphQLPoints()) / (repos * prs); perPR > 0.05 {
		t.Errorf("%.3f points per pull request, want at most 0.05", perPR)
	}
	// The source read the same cost and the points left from the answers, and keeps
	// the two budgets apart: REST's is spent only by REST requests.
	_, gqlLeft, _ := f.srv.GraphQLRateLimit()
	_, coreLeft, _ := f.srv.RateLimit()
	if src.gql.points != 24 || src.transport.left(resourceGraphQL) != gqlLeft || gqlLeft != 5000-24 {
		t.Errorf("source counted %d points and %d left, the server %d left", src.gql.points, src.transport.left(resourceGraphQL), gqlLeft)
	}
	if rest := f.srv.Total() - f.srv.Count("graphql"); src.transport.left(resourceCore) != coreLeft || coreLeft != 5000-rest {
		t.Errorf("REST budget: source %d, server %d, want 5000 less the %d REST requests", src.transport.left(resourceCore), coreLeft, rest)
	}
	if got := src.RateLimitRemaining(); got != min(gqlLeft, coreLeft) {
		t.Errorf("RateLimitRemaining %d, want the scarcer budget, %d", got, min(gqlLeft, coreLeft))
	}

	// An unchanged re-run: per repository one query for the k pull requests of the
	// overlap and one more, which the cursor covers: 1 + (k+1)×4 requests, 1 point
	// while k ≤ 36 (TestGraphQLUnchangedRerunCost has more).
	f.srv.ResetCounts()
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if got := f.srv.GraphQLPoints(); got != repos || f.srv.Count("graphql") != repos || f.srv.Count("pulls.list") != 0 {
		t.Errorf("unchanged re-run: %d points in %d queries and %d REST listings, want %d points in %d queries",
			got, f.srv.Count("graphql"), f.srv.Count("pulls.list"), repos, repos)
	}

	// One pull request changes: the probe finds it at the top with the pull requests
	// seen before, and the walk goes on with a page of 25 (1 + 25×4 = 101 requests, 1
	// point) whose first pull request the cursor covers.
	f.clock.Advance(time.Hour)
	f.srv.Repo("acme", "service-02").UpdatePullRequest(7, func(pr *githubtest.PullRequest) { pr.Title = "Renamed" })
	f.srv.ResetCounts()
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if got := pullsByID(t, st)["acme/service-02#7"].Title; got != "Renamed" {
		t.Errorf("changed title %q not collected", got)
	}
	if got, points := f.srv.Count("graphql"), f.srv.GraphQLPoints(); got != repos+1 || points != repos+1 {
		t.Errorf("%d queries and %d points after one change, want %d of each", got, points, repos+1)
	}
}

func TestGraphQLHalvesPagesOnTimeouts(t *testing.T) {
	const prs = 150
	f := newFixture(t)
	costOrg(t, f, 1, prs)
	f.srv.GraphQLTimeoutAbove(30)
	src := f.connect(t, useGraphQL)
	st := collectortest.SQLite(t)
	lines, err := f.collectLogged(t, st)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{}); n != prs {
		t.Fatalf("collected %d pull requests, want %d", n, prs)
	}
	// 100 times out and is asked once more as it was, then 100 and 50 time out, 25
	// passes and stays: six pages of 25, each 1 + 25×4 = 101 requests, 1 point; the
	// timeouts cost nothing.
	var statuses []int
	for _, r := range f.srv.Requests() {
		if r.Kind == "graphql" {
			statuses = append(statuses, r.Status)
		}
	}
	want := []int{502, 502, 502, 200, 200, 200, 200, 200, 200}
	if !reflect.DeepEqual(statuses, want) {
		t.Errorf("GraphQL answers %v, want %v", statuses, want)
	}
	if src.gql.pageSize != 25 || f.srv.GraphQLPoints() != 6 || len(f.slept) != 0 {
		t.Errorf("page size %d, %d points, slept %v; want 25, 6 and no waits", src.gql.pageSize, f.srv.GraphQLPoints(), f.slept)
	}
	if warned := logged(lines, "GitHub timed out on a page of pull requests; asking for fewer"); len(warned) != 2 {
		t.Errorf("%d warnings about timeouts, want 2", len(warned))
	}

	// Below the smallest page the repository fails rather than looping.
	f2 := newFixture(t)
	costOrg(t, f2, 1, 20)
	f2.srv.GraphQLTimeoutAbove(1)
	f2.connect(t, useGraphQL)
	if err := f2.collect(context.Background(), collectortest.SQLite(t)); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("every page timing out: %v, want the timeout reported", err)
	}
	if got := f2.srv.Count("graphql"); got != 7 {
		t.Errorf("%d queries, want 7 (pages of 100 twice, 50, 25, 12, 6 and 5)", got)
	}
}

func TestGraphQLFallsBackToREST(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		lack         func(*githubtest.Server)
	}{
		{"undefined field", "Field 'isDraft' doesn't exist on type 'PullRequest'", func(s *githubtest.Server) { s.RemoveGraphQLField("PullRequest.isDraft") }},
		{"no endpoint", "404", (*githubtest.Server).DisableGraphQL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const repos, prs = 2, 30
			want := newFixture(t)
			costOrg(t, want, repos, prs)
			want.connect(t, nil)
			wantStore := collectortest.SQLite(t)
			if err := want.collect(context.Background(), wantStore); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t)
			costOrg(t, f, repos, prs)
			tc.lack(f.srv)
			f.connect(t, useGraphQL)
			st := collectortest.SQLite(t)
			lines, err := f.collectLogged(t, st)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := snapshot(t, st)
			wantPRs, _ := snapshot(t, wantStore)
			if !reflect.DeepEqual(got, wantPRs) {
				t.Errorf("fell back and stored %d pull requests, REST alone %d, or they differ", len(got), len(wantPRs))
			}
			// GraphQL is tried once; the warning names the reason once.
			if f.srv.Count("graphql") != 1 || f.srv.Count("pulls.get") != repos*prs {
				t.Errorf("%d GraphQL queries and %d pulls.get, want 1 and %d", f.srv.Count("graphql"), f.srv.Count("pulls.get"), repos*prs)
			}
			warned := logged(lines, "GitHub's GraphQL API cannot serve flowmeter's query; collecting pull requests by REST")
			if len(warned) != 1 || !strings.Contains(fmt.Sprint(warned[0]["reason"]), tc.reason) {
				t.Errorf("warnings %v, want one naming %q", warned, tc.reason)
			}
		})
	}
}

func TestGraphQLInterruptedEqualsCleanRun(t *testing.T) {
	build := func(t *testing.T, edit func(*resolved)) *fixture {
		f := newFixture(t)
		costOrg(t, f, 3, 130)
		edgeCases(t, f.srv)
		f.connect(t, edit)
		return f
	}
	clean := build(t, nil) // by REST: the GraphQL runs must store what it does
	cleanStore := collectortest.SQLite(t)
	if err := clean.collect(context.Background(), cleanStore); err != nil {
		t.Fatal(err)
	}
	wantPRs, _ := snapshot(t, cleanStore)
	probe := build(t, useGraphQL)
	if err := probe.collect(context.Background(), collectortest.SQLite(t)); err != nil {
		t.Fatal(err)
	}
	total := probe.srv.Total()
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			f := build(t, useGraphQL)
			st := collectortest.SQLite(t)
			interruptions := collectortest.Interrupt(t, f.srv, total, seed, 30,
				func(ctx context.Context) error { return f.collect(ctx, st) })
			gotPRs, _ := snapshot(t, st)
			if !reflect.DeepEqual(gotPRs, wantPRs) {
				for id, w := range wantPRs {
					if g := gotPRs[id]; !reflect.DeepEqual(g, w) {
						t.Errorf("pull request %s\n got  %+v\n want %+v", id, g, w)
						break
					}
				}
				t.Fatalf("after %d interruptions: %d pull requests, the clean REST run %d, or they differ", interruptions, len(gotPRs), len(wantPRs))
			}
		})
	}
}

func TestGraphQLSetting(t *testing.T) {
	t.Setenv("GH_TEST_TOKEN", "s3cret-value")
	for _, tc := range []struct {
		value   string
		graphql bool
	}{{"", false}, {"rest", false}, {"graphql", true}, {"GraphQL", true}} {
		s, err := build(t, "      token_env: GH_TEST_TOKEN\n      organizations: [acme]\n      api: '"+tc.value+"'\n")
		if err != nil {
			t.Fatalf("api %q: %v", tc.value, err)
		}
		if s.set.graphql != tc.graphql || (s.gql != nil) != tc.graphql {
			t.Errorf("api %q: graphql %v, GraphQL client %v", tc.value, s.set.graphql, s.gql != nil)
		}
	}
	_, err := build(t, "      token_env: GH_TEST_TOKEN\n      organizations: [acme]\n      api: v4\n")
	if want := `f.yaml:6: sources[0].github.api: want rest or graphql, got "v4"`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	for base, want := range map[string]string{
		"https://ghe.example.com/api/v3/":     "https://ghe.example.com/api/graphql",
		"https://ghe.example.com/api/v3":      "https://ghe.example.com/api/graphql",
		"https://ghe.example.com/":            "https://ghe.example.com/api/graphql",
		"https://api.ghe.example.com/":        "https://api.ghe.example.com/graphql",
		"http://127.0.0.1:8080/github/api/v3": "http://127.0.0.1:8080/github/api/graphql",
	} {
		if got := graphqlEndpoint(base); got != want {
			t.Errorf("GraphQL endpoint of %s: %s, want %s", base, got, want)
		}
	}
}

func TestGraphQLRefusedToken(t *testing.T) {
	f := newFixture(t)
	costOrg(t, f, 1, 5)
	f.connect(t, func(r *resolved) {
		r.graphql = true
		r.orgs, r.repos = nil, []string{"acme/service-01"}
	})
	// The repository lookup passes by REST, then the token is refused.
	f.srv.OnRequest(func(r *http.Request) {
		if r.URL.Path == "/api/graphql" {
			r.Header.Set("Authorization", "Bearer wrong")
		}
	})
	err := f.collect(context.Background(), collectortest.SQLite(t))
	if err == nil || !strings.Contains(err.Error(), "401 Bad credentials") {
		t.Errorf("err = %v, want the refused token named", err)
	}
}

func TestTransportKeepsGraphQLAndRESTBudgetsApart(t *testing.T) {
	tr, slept := testTransport(nil)
	reset := tr.now().Add(20 * time.Minute)
	graphqlRate := rate(4000, reset)
	graphqlRate["X-RateLimit-Resource"] = "graphql"
	tr.next = &scripted{answers: []func() (*http.Response, error){
		respond(200, rate(tr.reserve, reset), "[]"), // REST nearly spent
		respond(200, graphqlRate, `{"data":{}}`),    // GraphQL not
		respond(200, rate(5000, reset.Add(time.Hour)), "[]"),
	}}
	post := func() {
		req, _ := http.NewRequestWithContext(asGraphQL(context.Background()), http.MethodPost, "https://ghe.example/api/graphql", strings.NewReader("{}"))
		if _, err := tr.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := get(t, tr); err != nil {
		t.Fatal(err)
	}
	post()
	if len(*slept) != 0 || tr.left(resourceCore) != tr.reserve || tr.left(resourceGraphQL) != 4000 {
		t.Fatalf("slept %v; core %d, graphql %d left: a query waited on the REST budget", *slept, tr.left(resourceCore), tr.left(resourceGraphQL))
	}
	if _, remaining := tr.stats(); remaining != tr.reserve {
		t.Errorf("reported %d left, want the scarcer budget's %d", remaining, tr.reserve)
	}
	if _, err := get(t, tr); err != nil {
		t.Fatal(err)
	}
	if len(*slept) != 1 || (*slept)[0] != 20*time.Minute+time.Second {
		t.Errorf("slept %v, want the REST request to wait for the reset (20m1s)", *slept)
	}
}

// GitHub Enterprise Server behind a proxy serves GraphQL at /github/api/graphql: its
// queries still spend GraphQL points, so a REST budget nearly spent by the repository
// listing does not hold them back.
func TestGraphQLUnderPathPrefixSpendsGraphQLBudget(t *testing.T) {
	f := newFixture(t, githubtest.WithPathPrefix("/github"))
	costOrg(t, f, 2, 30)
	f.connect(t, func(r *resolved) {
		r.graphql = true
		r.api = false // pull requests only: the listing is the one REST request
	})
	f.srv.SetRateRemaining(f.source.transport.reserve + 1)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{}); n != 60 || f.srv.Count("graphql") != 2 {
		t.Fatalf("%d pull requests in %d queries, want 60 in 2", n, f.srv.Count("graphql"))
	}
	if len(f.slept) != 0 {
		t.Errorf("waited %v: GraphQL queries waited for the REST budget's reset", f.slept)
	}
	if _, left, _ := f.srv.RateLimit(); f.source.transport.left(resourceCore) != left || left != f.source.transport.reserve {
		t.Errorf("REST budget: the source says %d left, the server %d", f.source.transport.left(resourceCore), left)
	}
}

func TestTransportHandsGraphQLTimeoutsBack(t *testing.T) {
	next := &scripted{answers: []func() (*http.Response, error){
		respond(503, nil, ""), respond(502, nil, `{"errors":[{"message":"timeout"}]}`), respond(200, nil, "{}"),
	}}
	tr, slept := testTransport(next)
	req, _ := http.NewRequestWithContext(withoutTimeoutRetries(context.Background()), http.MethodPost, "https://ghe.example/api/graphql", strings.NewReader("{}"))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("{}")), nil }
	resp, err := tr.RoundTrip(req)
	// The 503 is retried after a backoff; the 502 comes back at once.
	if err != nil || resp.StatusCode != 502 || next.calls != 2 || len(*slept) != 1 {
		t.Fatalf("got %v, %v after %d calls and sleeps %v; want the 502 after one retry of the 503", resp, err, next.calls, *slept)
	}
}

// spendGraphQLPoints spends n points of the fake's GraphQL budget with 1-point
// queries, as another client sharing the token would.
func spendGraphQLPoints(t *testing.T, srv *githubtest.Server, n int) {
	t.Helper()
	endpoint := strings.TrimSuffix(srv.URL(), "/v3/") + "/graphql"
	for range n {
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(`{"query": "{ rateLimit { cost } }"}`))
		req.Header.Set("Authorization", "Bearer test-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	srv.ResetCounts()
}

// GitHub refuses a query costing more than the points left with 200 and an error of
// type RATE_LIMITED, the remaining count not 0: the source waits for the reset and
// asks the page again.
func TestGraphQLWaitsOutRateLimited(t *testing.T) {
	f := newFixture(t, githubtest.WithGraphQLRateLimit(20, time.Hour))
	costOrg(t, f, 2, 30)
	spendGraphQLPoints(t, f.srv, 17) // 3 left; a first page of 100 costs 4
	_, _, reset := f.srv.GraphQLRateLimit()
	f.connect(t, useGraphQL)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatalf("collection failed instead of waiting for the reset: %v", err)
	}
	if n, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{}); n != 60 {
		t.Errorf("collected %d pull requests, want 60", n)
	}
	// One wait, to a second past the reset; then the refused page and the other
	// repository's, 4 points each, with 12 of the renewed 20 left.
	wantWait := reset.Sub(now) + time.Second
	if len(f.slept) != 1 || f.slept[0] != wantWait {
		t.Errorf("waits %v, want one of %v", f.slept, wantWait)
	}
	var statuses []int
	for _, r := range f.srv.Requests() {
		if r.Kind == "graphql" {
			statuses = append(statuses, r.Status)
		}
	}
	if !reflect.DeepEqual(statuses, []int{200, 200, 200}) || f.srv.GraphQLPoints() != 8 {
		t.Errorf("GraphQL answers %v costing %d points, want the refusal and two pages (200 each) costing 8", statuses, f.srv.GraphQLPoints())
	}

	// A budget that never fits the query: a bounded number of waits, then the
	// repository fails saying why.
	f2 := newFixture(t, githubtest.WithGraphQLRateLimit(3, time.Hour))
	costOrg(t, f2, 1, 30)
	f2.connect(t, useGraphQL)
	err := f2.collect(context.Background(), collectortest.SQLite(t))
	if err == nil || !strings.Contains(err.Error(), "rate limit") {
		t.Errorf("a query over the whole budget: %v, want the rate limit reported", err)
	}
	if got := f2.srv.Count("graphql"); got != 1+graphqlRateLimitWaits || len(f2.slept) != graphqlRateLimitWaits {
		t.Errorf("%d queries and waits %v, want %d queries and %d waits", got, f2.slept, 1+graphqlRateLimitWaits, graphqlRateLimitWaits)
	}

	// A reset further away than the longest wait fails at once.
	f3 := newFixture(t, githubtest.WithGraphQLRateLimit(3, 2*time.Hour))
	costOrg(t, f3, 1, 30)
	f3.connect(t, useGraphQL).transport.maxWait = time.Hour
	if err := f3.collect(context.Background(), collectortest.SQLite(t)); err == nil || !strings.Contains(err.Error(), "reset is") || len(f3.slept) != 0 {
		t.Errorf("reset 2 h away: %v after waits %v, want a failure without waiting", err, f3.slept)
	}
}

func TestGraphQLRateLimitErrorTypes(t *testing.T) {
	for _, e := range []graphqlError{{Type: "RATE_LIMITED"}, {Type: "RATE_LIMIT", Code: "graphql_rate_limit"}} {
		o := &graphqlOutcome{status: http.StatusOK, errors: []graphqlError{e}}
		if err := o.classify(errors.New("API rate limit already exceeded")); !errors.Is(err, errGraphQLRateLimited) {
			t.Errorf("%+v classified as %v", e, err)
		}
	}
}

// A repository the token may not read answers FORBIDDEN in GraphQL: reported as REST's
// 403 is.
func TestGraphQLForbiddenRepository(t *testing.T) {
	for _, edit := range []func(*resolved){nil, useGraphQL} {
		f := newFixture(t)
		costOrg(t, f, 2, 5)
		f.srv.ForbidRepo("acme/service-01")
		f.connect(t, edit)
		st := collectortest.SQLite(t)
		err := f.collect(context.Background(), st)
		if err == nil || !strings.Contains(err.Error(), "1 of 2 repositories failed: acme/service-01: forbidden: the token lacks access") {
			t.Errorf("graphql=%v: %v, want acme/service-01 reported forbidden", edit != nil, err)
		}
		if n, _ := st.Count(context.Background(), schema.KindPullRequest, store.Filter{}); n != 5 {
			t.Errorf("graphql=%v: %d pull requests collected, want the other repository's 5", edit != nil, n)
		}
	}
	o := &graphqlOutcome{status: http.StatusOK, errors: []graphqlError{{Type: "FORBIDDEN", Message: "Resource not accessible by integration"}}}
	if got := o.classify(errors.New("Resource not accessible by integration")); statusOf(got) != http.StatusForbidden {
		t.Errorf("FORBIDDEN classified as %v", got)
	}
}

// An undefinedField error without a message still names a reason: an empty one would
// read as GraphQL being available, and the walk would start over by GraphQL.
func TestGraphQLUnavailableReason(t *testing.T) {
	o := &graphqlOutcome{status: http.StatusOK, errors: []graphqlError{{Type: "undefinedField"}}}
	var unavailable *graphqlUnavailable
	if err := o.classify(errors.New("x")); !errors.As(err, &unavailable) || unavailable.reason == "" {
		t.Errorf("undefinedField without a message: %#v", err)
	}
}

// countingBody counts the reads of an answer's body.
type countingBody struct {
	io.Reader
	reads int
}

func (c *countingBody) Read(p []byte) (int, error) { c.reads++; return c.Reader.Read(p) }
func (c *countingBody) Close() error               { return nil }

// The observer leaves an answer to githubv4 to decode, keeping what githubv4 reads
// for the errors of a query that failed: the answer is decoded once when it succeeds.
func TestGraphQLObserverDecodesNothingItself(t *testing.T) {
	const answer = `{"data":null,"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for user ID 1."}]}`
	body := &countingBody{Reader: strings.NewReader(answer)}
	o := &graphqlObserver{next: &scripted{answers: []func() (*http.Response, error){
		func() (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: body}, nil
		},
	}}}
	outcome := &graphqlOutcome{}
	req, _ := http.NewRequestWithContext(context.WithValue(context.Background(), graphqlOutcomeKey{}, outcome), http.MethodPost, "https://ghe.example/api/graphql", nil)
	resp, err := o.RoundTrip(req)
	if err != nil || body.reads != 0 {
		t.Fatalf("%v; the observer read the answer %d times itself", err, body.reads)
	}
	if read, _ := io.ReadAll(resp.Body); string(read) != answer {
		t.Fatalf("the client read %q", read)
	}
	outcome.readErrors()
	if err := outcome.classify(errors.New("API rate limit exceeded for user ID 1.")); !errors.Is(err, errGraphQLRateLimited) || outcome.status != 200 {
		t.Errorf("status %d, classified as %v; want 200, rate limited", outcome.status, err)
	}
}

// graphqlStatuses lists the statuses of the fake's GraphQL answers.
func graphqlStatuses(srv *githubtest.Server) []int {
	var out []int
	for _, r := range srv.Requests() {
		if r.Kind == "graphql" {
			out = append(out, r.Status)
		}
	}
	return out
}

// One 502 on a page is asked again at the same size: the page size stays.
func TestGraphQLTransientTimeoutOnPage(t *testing.T) {
	f := newFixture(t)
	costOrg(t, f, 3, 300)
	src := f.connect(t, useGraphQL)
	f.srv.FailPath("/api/graphql", 1, http.StatusBadGateway)
	if err := f.collect(context.Background(), collectortest.SQLite(t)); err != nil {
		t.Fatal(err)
	}
	// Three pages of 100 for each of three repositories, 4 points each, and the
	// failed first page once more.
	if src.gql.pageSize != 100 || f.srv.GraphQLPoints() != 36 || f.srv.Count("graphql") != 10 {
		t.Errorf("page size %d, %d points in %d queries; want 100, 36 in 10", src.gql.pageSize, f.srv.GraphQLPoints(), f.srv.Count("graphql"))
	}
}

// A short last page that keeps timing out is cut for that page only; the next
// repository asks full pages again.
func TestGraphQLTimeoutOnShortPage(t *testing.T) {
	f := newFixture(t)
	costOrg(t, f, 3, 107)
	src := f.connect(t, useGraphQL)
	fired := false
	f.srv.OnRequest(func(r *http.Request) {
		if !fired && r.URL.Path == "/api/graphql" && f.srv.Count("graphql") == 1 {
			fired = true
			f.srv.Fail(2, http.StatusBadGateway) // the last 7 of the first repository, twice
		}
	})
	if err := f.collect(context.Background(), collectortest.SQLite(t)); err != nil {
		t.Fatal(err)
	}
	// First repository: 100 (4 points), 7 twice (502), 5 (1 + 5×4 = 21 requests, 1
	// point), 2 (1 point); the others 100 and 7 (4 + 1 points each).
	want := []int{200, 502, 502, 200, 200, 200, 200, 200, 200}
	if got := graphqlStatuses(f.srv); !reflect.DeepEqual(got, want) || src.gql.pageSize != 100 || f.srv.GraphQLPoints() != 16 {
		t.Errorf("GraphQL answers %v, page size %d, %d points; want %v, 100, 16", got, src.gql.pageSize, f.srv.GraphQLPoints(), want)
	}
}

// A page size cut by timeouts lasts one collection: the next starts at 100.
func TestGraphQLPageSizePerCollection(t *testing.T) {
	f := newFixture(t)
	costOrg(t, f, 1, 150)
	f.srv.GraphQLTimeoutAbove(30)
	src := f.connect(t, useGraphQL)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil || src.gql.pageSize != 25 {
		t.Fatalf("first collection: %v, page size %d, want 25", err, src.gql.pageSize)
	}
	f.srv.GraphQLTimeoutAbove(0)
	f.clock.Advance(time.Hour)
	if err := f.collect(context.Background(), st); err != nil || src.gql.pageSize != 100 {
		t.Errorf("second collection: %v, page size %d, want 100", err, src.gql.pageSize)
	}
}

// One 502 on a follow-up query (more than 100 labels) is retried by the transport as
// for REST, not handed back as a heavy page's timeout.
func TestGraphQLFollowUpRetriesTransientErrors(t *testing.T) {
	f := newFixture(t)
	edgeCases(t, f.srv)
	f.connect(t, useGraphQL)
	fired := false
	f.srv.OnRequest(func(r *http.Request) {
		if !fired && r.URL.Path == "/api/graphql" && f.srv.Count("graphql") == 1 {
			fired = true
			f.srv.Fail(1, http.StatusBadGateway)
		}
	})
	if err := f.collect(context.Background(), collectortest.SQLite(t)); err != nil {
		t.Fatalf("one 502 on a follow-up query: %v", err)
	}
	if got := graphqlStatuses(f.srv); len(got) < 3 || got[1] != 502 || got[2] != 200 || len(f.slept) != 1 {
		t.Errorf("GraphQL answers %v, waits %v; want the follow-up's 502 retried after one backoff", got, f.slept)
	}
}

// A follow-up query (more than 100 labels) that GitHub answers 200 with an error
// saying it timed out is asked again after a backoff, as the transport retries a 502;
// one that keeps timing out fails the repository after as many retries.
func TestGraphQLFollowUpRetriesTimeoutErrors(t *testing.T) {
	timeOutFollowUps := func(f *fixture, n int) {
		fired := false
		f.srv.OnRequest(func(r *http.Request) {
			if !fired && r.URL.Path == "/api/graphql" && f.srv.Count("graphql") == 1 {
				fired = true
				f.srv.GraphQLTimeoutErrors(n)
			}
		})
	}
	f := newFixture(t)
	edgeCases(t, f.srv)
	f.connect(t, useGraphQL)
	timeOutFollowUps(f, 2)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatalf("two timeout errors on a follow-up query: %v", err)
	}
	if got := len(pullsByID(t, st)["acme/edge#2"].Labels); got != 105 || len(f.slept) != 2 {
		t.Errorf("%d labels after waits %v; want 105 after two backoffs", got, f.slept)
	}

	f = newFixture(t)
	edgeCases(t, f.srv)
	src := f.connect(t, useGraphQL)
	timeOutFollowUps(f, 100)
	err := f.collect(context.Background(), collectortest.SQLite(t))
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("a follow-up query timing out every time: %v, want the timeout reported", err)
	}
	if got, want := f.srv.Count("graphql"), 2+src.transport.maxRetries; got != want || len(f.slept) != src.transport.maxRetries {
		t.Errorf("%d queries, waits %v; want %d queries (the page, the follow-up and %d retries)", got, f.slept, want, src.transport.maxRetries)
	}
}

// The "collected" line's graphql_points are the collection's, not the source's total.
func TestGraphQLPointsLoggedPerCollection(t *testing.T) {
	f := newFixture(t)
	costOrg(t, f, 2, 150)
	f.connect(t, useGraphQL)
	st := collectortest.SQLite(t)
	for i, want := range []float64{12, 2} { // 6 points a repository, then 1 each
		lines, err := f.collectLogged(t, st)
		if err != nil {
			t.Fatal(err)
		}
		done := logged(lines, "collected")
		if len(done) != 1 || done[0]["graphql_points"] != want {
			t.Errorf("collection %d logged %v, want graphql_points %v", i+1, done, want)
		}
		f.clock.Advance(time.Hour)
	}
}
