package githubtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
)

func TestURLIsEnterpriseBase(t *testing.T) {
	srv := githubtest.New(t)
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") || !strings.HasSuffix(srv.URL(), "/api/v3/") {
		t.Fatalf("URL() = %q", srv.URL())
	}
	c := newClient(t, srv)
	if c.BaseURL.String() != srv.URL() {
		t.Errorf("go-github base %q, want %q", c.BaseURL, srv.URL())
	}
	resp, body := getRaw(t, srv, "nothing/here", nil)
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"message":"Not Found"`) || !strings.Contains(string(body), `"documentation_url":"https://docs.github.com/rest"`) {
		t.Errorf("unknown path: %d %s", resp.StatusCode, body)
	}
}

// Under a path prefix, the base URL, the Link headers and the request log agree with
// a server at the root, and nothing answers outside the prefix.
func TestPathPrefix(t *testing.T) {
	srv := githubtest.New(t, githubtest.WithPathPrefix("/github/"))
	if !strings.HasSuffix(srv.URL(), "/github/api/v3/") {
		t.Fatalf("URL() = %q", srv.URL())
	}
	repo := srv.AddRepo("acme", "api", "main")
	for i := range 3 {
		repo.AddPullRequest(githubtest.PullRequest{Author: "bob", CreatedAt: at(float64(i))})
	}
	resp, _ := getRaw(t, srv, "repos/acme/api/pulls?per_page=2", nil)
	if want := "<" + srv.URL() + "repos/acme/api/pulls?page=2&per_page=2>"; resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Link"), want) {
		t.Errorf("status %d, Link %q; want 200 and a link to %s", resp.StatusCode, resp.Header.Get("Link"), want)
	}
	if log := srv.Requests(); len(log) != 1 || log[0].Path != "/api/v3/repos/acme/api/pulls" || log[0].Kind != "pulls.list" {
		t.Errorf("request log %+v, want the list without the prefix", log)
	}
	outside, err := http.Get(strings.Replace(srv.URL(), "/github/", "/", 1) + "repos/acme/api/pulls")
	if err != nil {
		t.Fatal(err)
	}
	outside.Body.Close()
	if outside.StatusCode != http.StatusNotFound || srv.Total() != 1 {
		t.Errorf("outside the prefix: %d, %d requests logged; want 404 and still 1", outside.StatusCode, srv.Total())
	}
}

func TestPaginationWithNextPage(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	for i := range 75 {
		repo.AddPullRequest(githubtest.PullRequest{Author: "bob", CreatedAt: at(float64(i))})
	}
	c := newClient(t, srv)
	opts := &github.PullRequestListOptions{State: "all", Sort: "updated", Direction: "desc", ListOptions: github.ListOptions{PerPage: 30}}
	seen := map[int]bool{}
	var pages []int
	last := 1 << 30
	for {
		pulls, resp, err := c.PullRequests.List(context.Background(), "acme", "api", opts)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(pulls))
		for _, p := range pulls {
			if seen[p.GetNumber()] || p.GetNumber() >= last {
				t.Fatalf("#%d out of order or repeated", p.GetNumber())
			}
			seen[p.GetNumber()] = true
			last = p.GetNumber()
		}
		if opts.Page == 0 && (resp.LastPage != 3 || resp.NextPage != 2 || resp.PrevPage != 0) {
			t.Errorf("first page links: next %d last %d prev %d", resp.NextPage, resp.LastPage, resp.PrevPage)
		}
		if resp.NextPage == 0 {
			if resp.PrevPage != 2 || resp.FirstPage != 1 || resp.LastPage != 0 {
				t.Errorf("last page links: prev %d first %d last %d", resp.PrevPage, resp.FirstPage, resp.LastPage)
			}
			break
		}
		opts.Page = resp.NextPage
	}
	if len(seen) != 75 || fmt.Sprint(pages) != "[30 30 15]" {
		t.Errorf("pages %v, %d pull requests", pages, len(seen))
	}
	// The Link URLs are absolute and keep the query, with page replaced.
	resp, _ := getRaw(t, srv, "repos/acme/api/pulls?state=all&per_page=30&page=2", nil)
	link := resp.Header.Get("Link")
	for _, part := range []string{
		"<" + srv.URL() + "repos/acme/api/pulls?page=1&per_page=30&state=all>; rel=\"prev\"",
		"page=3&per_page=30&state=all>; rel=\"next\"",
		"page=3&per_page=30&state=all>; rel=\"last\"",
		"page=1&per_page=30&state=all>; rel=\"first\"",
	} {
		if !strings.Contains(link, part) {
			t.Errorf("Link %q lacks %q", link, part)
		}
	}
	// per_page is capped at 100; a page past the end is empty.
	pulls, _, _ := c.PullRequests.List(context.Background(), "acme", "api", &github.PullRequestListOptions{State: "all", ListOptions: github.ListOptions{PerPage: 500}})
	if len(pulls) != 75 {
		t.Errorf("per_page=500 gave %d", len(pulls))
	}
	pulls, _, err := c.PullRequests.List(context.Background(), "acme", "api", &github.PullRequestListOptions{State: "all", ListOptions: github.ListOptions{Page: 9}})
	if err != nil || len(pulls) != 0 {
		t.Errorf("page 9: %d, %v", len(pulls), err)
	}
}

func TestConditionalRequestDoesNotCount(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	repo.AddPullRequest(githubtest.PullRequest{Author: "bob", CreatedAt: at(1)})
	resp, _ := getRaw(t, srv, "repos/acme/api/pulls", nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || !strings.HasPrefix(etag, `W/"`) || resp.Header.Get("X-RateLimit-Remaining") != "4999" {
		t.Fatalf("first: %d etag %q remaining %s", resp.StatusCode, etag, resp.Header.Get("X-RateLimit-Remaining"))
	}
	resp, body := getRaw(t, srv, "repos/acme/api/pulls", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 304 || len(body) != 0 || resp.Header.Get("X-RateLimit-Remaining") != "4999" || resp.Header.Get("ETag") != etag {
		t.Fatalf("conditional: %d body %q remaining %s", resp.StatusCode, body, resp.Header.Get("X-RateLimit-Remaining"))
	}
	// Through go-github, as a collector with a cache would send it.
	c := newClient(t, srv)
	req, _ := c.NewRequest("GET", "repos/acme/api/pulls", nil)
	req.Header.Set("If-None-Match", etag)
	gresp, err := c.Do(context.Background(), req, nil)
	if gresp == nil || gresp.StatusCode != http.StatusNotModified || gresp.Rate.Remaining != 4999 {
		t.Fatalf("go-github conditional: %v, %v", gresp, err)
	}
	// A change changes the ETag, and the request counts again.
	repo.UpdatePullRequest(1, func(pr *githubtest.PullRequest) { pr.Title = "Renamed" })
	resp, _ = getRaw(t, srv, "repos/acme/api/pulls", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag || resp.Header.Get("X-RateLimit-Remaining") != "4998" {
		t.Errorf("after a change: %d etag %q remaining %s", resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("X-RateLimit-Remaining"))
	}
	log := srv.Requests()
	if len(log) != 4 || !log[1].Conditional || log[1].Status != 304 || log[0].Conditional || log[1].Kind != "pulls.list" {
		t.Errorf("log = %+v", log)
	}
}

func TestPrimaryRateLimitAndReset(t *testing.T) {
	// The clock is in the past so that go-github's own pre-check (which compares the
	// reset with the real time) lets the request after the reset through.
	clock := githubtest.NewClock(time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC))
	srv := githubtest.New(t, githubtest.WithClock(clock.Now), githubtest.WithRateLimit(3, time.Hour))
	srv.AddRepo("acme", "api", "main")
	c := newClient(t, srv)
	ctx := context.Background()
	for i := range 3 {
		_, resp, err := c.Repositories.Get(ctx, "acme", "api")
		if err != nil || resp.Rate.Remaining != 2-i || resp.Rate.Limit != 3 {
			t.Fatalf("request %d: remaining %d, %v", i, resp.Rate.Remaining, err)
		}
	}
	rl, _, err := c.RateLimit.Get(ctx)
	if err != nil || rl.GetCore().Remaining != 0 || rl.GetCore().Limit != 3 || !rl.GetCore().Reset.Time.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("rate_limit = %+v, %v", rl.GetCore(), err)
	}
	_, resp, err := c.Repositories.Get(ctx, "acme", "api")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || resp.StatusCode != 403 || rle.Rate.Remaining != 0 || !strings.Contains(rle.Message, "API rate limit exceeded") {
		t.Fatalf("over the limit: %v", err)
	}
	if got := resp.Header.Get("X-RateLimit-Reset"); got != fmt.Sprint(clock.Now().Add(time.Hour).Unix()) {
		t.Errorf("reset header %s", got)
	}
	clock.Advance(59 * time.Minute)
	if _, _, err := c.Repositories.Get(ctx, "acme", "api"); !errors.As(err, &rle) {
		t.Fatalf("before the reset: %v", err)
	}
	clock.Advance(time.Minute)
	_, resp, err = c.Repositories.Get(ctx, "acme", "api")
	if err != nil || resp.Rate.Remaining != 2 {
		t.Fatalf("after the reset: remaining %d, %v", resp.Rate.Remaining, err)
	}
	if srv.Count("rate_limit") != 1 || srv.Count("repo") != 6 || srv.Total() != 7 {
		t.Errorf("counts: rate_limit %d repo %d total %d", srv.Count("rate_limit"), srv.Count("repo"), srv.Total())
	}
}

func TestRateLimit429(t *testing.T) {
	srv := githubtest.New(t, githubtest.WithRateLimitStatus(http.StatusTooManyRequests))
	srv.AddRepo("acme", "api", "main")
	srv.SetRateRemaining(0)
	resp, body := getRaw(t, srv, "repos/acme/api", nil)
	if resp.StatusCode != 429 || resp.Header.Get("X-RateLimit-Remaining") != "0" || !strings.Contains(string(body), "rate-limits-for-the-rest-api") {
		t.Errorf("429: %d %s", resp.StatusCode, body)
	}
}

func TestSecondaryRateLimit(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme", "api", "main")
	srv.SecondaryLimit(2, 3*time.Second)
	ctx := context.Background()
	_, resp, err := newClient(t, srv).Repositories.Get(ctx, "acme", "api")
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != 3*time.Second || resp.StatusCode != 403 || !strings.Contains(abuse.Message, "secondary rate limit") {
		t.Fatalf("secondary: %v", err)
	}
	if resp.Header.Get("X-RateLimit-Remaining") != "5000" {
		t.Errorf("secondary counted against the primary limit: %s", resp.Header.Get("X-RateLimit-Remaining"))
	}
	// A fresh client (go-github would wait out Retry-After itself) meets the second one,
	// then gets through.
	resp2, _ := getRaw(t, srv, "repos/acme/api", nil)
	if resp2.StatusCode != 403 || resp2.Header.Get("Retry-After") != "3" {
		t.Fatalf("second: %d Retry-After %q", resp2.StatusCode, resp2.Header.Get("Retry-After"))
	}
	if _, _, err := newClient(t, srv).Repositories.Get(ctx, "acme", "api"); err != nil {
		t.Fatalf("third: %v", err)
	}
}

func TestAuthAndVisibility(t *testing.T) {
	srv := githubtest.New(t)
	srv.AddRepo("acme", "api", "main")
	srv.AddRepo("acme", "private", "main")
	srv.AddRepo("acme", "locked", "main")
	srv.HideRepo("acme/private")
	srv.ForbidRepo("acme/locked")
	ctx := context.Background()

	anon, _ := github.NewClient(nil).WithEnterpriseURLs(srv.URL(), srv.URL())
	_, resp, err := anon.Repositories.Get(ctx, "acme", "api")
	var er *github.ErrorResponse
	if !errors.As(err, &er) || resp.StatusCode != 401 || er.Message != "Bad credentials" {
		t.Fatalf("no token: %v", err)
	}
	wrong, _ := github.NewClient(nil).WithAuthToken("nope").WithEnterpriseURLs(srv.URL(), srv.URL())
	if _, resp, _ := wrong.Repositories.Get(ctx, "acme", "api"); resp.StatusCode != 401 {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", srv.URL()+"repos/acme/api", nil)
	req.Header.Set("Authorization", "token test-token")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Errorf(`"token" scheme: %v %v`, r, err)
	} else {
		r.Body.Close()
	}

	c := newClient(t, srv)
	for _, path := range []string{"repos/acme/private", "repos/acme/private/pulls", "repos/acme/private/compare/a...b", "repos/acme/private/actions/workflows"} {
		if resp, body := getRaw(t, srv, path, nil); resp.StatusCode != 404 || !strings.Contains(string(body), "Not Found") {
			t.Errorf("hidden %s: %d", path, resp.StatusCode)
		}
	}
	if _, resp, err := c.PullRequests.List(ctx, "acme", "locked", nil); resp.StatusCode != 403 || !strings.Contains(err.Error(), "Resource not accessible by integration") {
		t.Errorf("forbidden: %v", err)
	}
	repos, _, _ := c.Repositories.ListByOrg(ctx, "acme", nil)
	if len(repos) != 2 {
		t.Errorf("listing shows %d repositories, want api and locked", len(repos))
	}
	srv.AllowRepo("acme/private")
	if _, _, err := c.Repositories.Get(ctx, "acme", "private"); err != nil {
		t.Errorf("allowed again: %v", err)
	}
}

func TestFaultsAndHook(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	repo.AddPullRequest(githubtest.PullRequest{Author: "bob", CreatedAt: at(1)})
	c := newClient(t, srv)
	ctx := context.Background()

	srv.Fail(1, http.StatusBadGateway)
	if _, resp, err := c.Repositories.Get(ctx, "acme", "api"); err == nil || resp.StatusCode != 502 {
		t.Fatalf("502: %v", err)
	}
	srv.FailPath("/timeline", 2, http.StatusServiceUnavailable)
	if _, _, err := c.PullRequests.Get(ctx, "acme", "api", 1); err != nil {
		t.Fatalf("other path failed: %v", err)
	}
	for range 2 {
		if _, resp, _ := c.Issues.ListIssueTimeline(ctx, "acme", "api", 1, nil); resp.StatusCode != 503 {
			t.Fatalf("timeline: %d", resp.StatusCode)
		}
	}
	if _, _, err := c.Issues.ListIssueTimeline(ctx, "acme", "api", 1, nil); err != nil {
		t.Fatalf("after the faults: %v", err)
	}

	// The hook cancels the collector's context at its third request.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	seen := 0
	srv.OnRequest(func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if seen++; seen == 3 {
			cancel()
		}
	})
	var err error
	for i := 0; i < 5 && err == nil; i++ {
		_, _, err = c.Repositories.Get(cctx, "acme", "api")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	srv.OnRequest(nil)

	srv.ResetCounts()
	if srv.Total() != 0 || len(srv.Requests()) != 0 {
		t.Error("ResetCounts left requests")
	}
}

func TestConcurrentRequestsAndWrites(t *testing.T) {
	srv := githubtest.New(t)
	repo := srv.AddRepo("acme", "api", "main")
	c := newClient(t, srv)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if _, _, err := c.PullRequests.List(context.Background(), "acme", "api", &github.PullRequestListOptions{State: "all"}); err != nil {
					t.Error(err)
					return
				}
				_ = w + i
			}
		}()
	}
	for i := range 40 {
		repo.AddPullRequest(githubtest.PullRequest{Author: "bob", CreatedAt: at(float64(i))})
	}
	wg.Wait()
	if srv.Count("pulls.list") != 80 {
		t.Errorf("pulls.list = %d", srv.Count("pulls.list"))
	}
}
