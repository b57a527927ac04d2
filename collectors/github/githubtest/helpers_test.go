package githubtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
)

// at returns 2026-03-01 plus h hours, in UTC.
func at(h float64) time.Time {
	return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h * float64(time.Hour)))
}

// newClient returns a go-github client for the fake, as the collector builds one.
func newClient(t *testing.T, srv *githubtest.Server) *github.Client {
	t.Helper()
	c, err := github.NewClient(nil).WithAuthToken("test-token").WithEnterpriseURLs(srv.URL(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// getRaw fetches path (relative to the API root) with the test token and returns the
// response and its body.
func getRaw(t *testing.T, srv *githubtest.Server, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer test-token")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// decode unmarshals body into a generic value.
func decode(t *testing.T, body []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return v
}
