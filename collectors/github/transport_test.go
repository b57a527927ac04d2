package github

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scripted answers requests from a list of canned responses (nil means a network
// error) and records what was asked.
type scripted struct {
	answers []func() (*http.Response, error)
	calls   int
}

func (s *scripted) RoundTrip(*http.Request) (*http.Response, error) {
	if s.calls >= len(s.answers) {
		return nil, errors.New("script ran out")
	}
	a := s.answers[s.calls]
	s.calls++
	return a()
}

func respond(status int, headers map[string]string, body string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		h := http.Header{}
		for k, v := range headers {
			h.Set(k, v)
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}, nil
	}
}

func networkError() (*http.Response, error) { return nil, errors.New("connection reset by peer") }

// testTransport returns a transport on a fake clock whose sleeps only advance the
// clock, and the list of sleeps it made.
func testTransport(next http.RoundTripper) (*transport, *[]time.Duration) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var slept []time.Duration
	t := newTransport(next, slog.New(slog.DiscardHandler))
	t.now = func() time.Time { return now }
	t.sleep = func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		now = now.Add(d)
		return ctx.Err()
	}
	return t, &slept
}

func get(t *testing.T, tr http.RoundTripper) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "https://ghe.example/api/v3/repos/acme/api/pulls", nil)
	return tr.RoundTrip(req)
}

func rate(remaining int, reset time.Time) map[string]string {
	return map[string]string{
		"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": strconv.Itoa(remaining),
		"X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10), "X-RateLimit-Used": "1",
	}
}

func TestTransportRetriesServerErrorsThenGivesUp(t *testing.T) {
	next := &scripted{answers: []func() (*http.Response, error){
		respond(502, nil, "bad gateway"), networkError, respond(503, nil, ""), respond(200, nil, "[]"),
	}}
	tr, slept := testTransport(next)
	resp, err := get(t, tr)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, %v; want 200 after three retries", resp, err)
	}
	if next.calls != 4 || len(*slept) != 3 {
		t.Fatalf("%d calls and %d sleeps, want 4 and 3", next.calls, len(*slept))
	}
	// Exponential backoff with jitter in the upper half: [0.5s,1s], [1s,2s], [2s,4s].
	for i, d := range *slept {
		lo, hi := time.Second<<i/2, time.Second<<i
		if d < lo || d > hi {
			t.Errorf("backoff %d = %s, want within [%s, %s]", i, d, lo, hi)
		}
	}

	always := &scripted{}
	for range 10 {
		always.answers = append(always.answers, respond(500, nil, "boom"))
	}
	tr, _ = testTransport(always)
	resp, err = get(t, tr)
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("got %v, %v; want the last 500 returned", resp, err)
	}
	if always.calls != 6 {
		t.Fatalf("%d attempts, want 1 + 5 retries and no more", always.calls)
	}
}

func TestTransportHonoursRetryAfter(t *testing.T) {
	next := &scripted{answers: []func() (*http.Response, error){
		respond(403, map[string]string{"Retry-After": "42"}, `{"message":"You have exceeded a secondary rate limit."}`),
		respond(200, nil, "[]"),
	}}
	tr, slept := testTransport(next)
	if resp, err := get(t, tr); err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, %v", resp, err)
	}
	if len(*slept) != 1 || (*slept)[0] != 42*time.Second {
		t.Fatalf("slept %v, want exactly the 42s of Retry-After", *slept)
	}
}

func TestTransportWaitsForResetBeforeRunningOut(t *testing.T) {
	tr, slept := testTransport(nil)
	reset := tr.now().Add(17 * time.Minute)
	tr.next = &scripted{answers: []func() (*http.Response, error){
		respond(200, rate(tr.reserve, reset), "[]"),
		respond(200, rate(4999, reset.Add(time.Hour)), "[]"),
	}}
	resp, err := get(t, tr)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-RateLimit-Remaining") != "" {
		t.Error("rate-limit headers reached go-github; it would refuse requests on its own")
	}
	if len(*slept) != 0 {
		t.Fatalf("slept %v before the budget ran low", *slept)
	}
	if _, err := get(t, tr); err != nil {
		t.Fatal(err)
	}
	if len(*slept) != 1 || (*slept)[0] != 17*time.Minute+time.Second {
		t.Fatalf("slept %v, want one wait until the reset (17m1s)", *slept)
	}
	if _, remaining := tr.stats(); remaining != 4999 {
		t.Fatalf("remaining %d after the reset, want 4999", remaining)
	}
}

func TestTransportWaitsOutAnExhaustedLimit(t *testing.T) {
	tr, slept := testTransport(nil)
	reset := tr.now().Add(5 * time.Minute)
	tr.next = &scripted{answers: []func() (*http.Response, error){
		respond(403, rate(0, reset), `{"message":"API rate limit exceeded for user ID 1."}`),
		respond(200, rate(5000, reset.Add(time.Hour)), "[]"),
	}}
	resp, err := get(t, tr)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, %v", resp, err)
	}
	if len(*slept) != 1 || (*slept)[0] != 5*time.Minute+time.Second {
		t.Fatalf("slept %v, want one wait until the reset", *slept)
	}
}

func TestTransportStopsWhenCanceled(t *testing.T) {
	next := &scripted{answers: []func() (*http.Response, error){respond(503, nil, ""), respond(200, nil, "")}}
	tr := newTransport(next, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://ghe.example/api/v3/x", nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled instead of a retry", err)
	}
	if next.calls != 1 {
		t.Fatalf("%d calls after cancel, want 1", next.calls)
	}
}

func TestTransportDoesNotRetryClientErrors(t *testing.T) {
	for _, status := range []int{401, 404, 422} {
		next := &scripted{answers: []func() (*http.Response, error){respond(status, nil, `{"message":"x"}`), respond(200, nil, "")}}
		tr, _ := testTransport(next)
		resp, err := get(t, tr)
		if err != nil || resp.StatusCode != status || next.calls != 1 {
			t.Errorf("status %d: got %v, %v after %d calls; want it returned at once", status, resp, err, next.calls)
		}
	}
}

// bodies records the body of every request it is sent, and answers from a script.
type bodies struct {
	scripted
	seen []string
}

func (b *bodies) RoundTrip(req *http.Request) (*http.Response, error) {
	body := ""
	if req.Body != nil {
		raw, _ := io.ReadAll(req.Body)
		body = string(raw)
	}
	b.seen = append(b.seen, body)
	return b.scripted.RoundTrip(req)
}

func TestTransportResendsAPostWithItsWholeBody(t *testing.T) {
	next := &bodies{scripted: scripted{answers: []func() (*http.Response, error){
		respond(503, nil, ""), networkError, respond(200, nil, "{}"),
	}}}
	tr, _ := testTransport(next)
	const query = `{"query":"query{viewer{login}}"}`
	req, _ := http.NewRequest(http.MethodPost, "https://ghe.example/api/graphql", strings.NewReader(query))
	resp, err := tr.RoundTrip(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %v, %v; want 200 on the third attempt", resp, err)
	}
	for i, body := range next.seen {
		if body != query {
			t.Errorf("attempt %d sent %q, want the whole query", i+1, body)
		}
	}
}

// The GraphQL client's requests spend GraphQL points wherever the endpoint is served;
// every other request spends core, whatever its path.
func TestResourceOf(t *testing.T) {
	for _, tc := range []struct {
		graphql   bool
		url, want string
	}{
		{true, "https://api.github.com/graphql", resourceGraphQL},
		{true, "https://ghe.example/api/graphql", resourceGraphQL},
		{true, "https://ghe.example/github/api/graphql", resourceGraphQL},
		{false, "https://ghe.example/api/graphql", resourceCore},
		{false, "https://ghe.example/api/v3/repos/acme/graphql", resourceCore},
		{false, "https://api.github.com/repos/acme/graphql", resourceCore},
	} {
		ctx := context.Background()
		if tc.graphql {
			ctx = asGraphQL(ctx)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tc.url, nil)
		if got := resourceOf(req); got != tc.want {
			t.Errorf("%s (from the GraphQL client: %v) spends %q, want %q", tc.url, tc.graphql, got, tc.want)
		}
	}
}
