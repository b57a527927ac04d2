package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

var (
	fuzzFullSHA  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	fuzzRepoName = regexp.MustCompile(`^[\w.-]+/[\w.-]+$`)
	fuzzPRNumber = regexp.MustCompile(`#[0-9]+$`)
)

// FuzzReverts reads arbitrary pull request bodies for what they revert. Each result
// is a full lower-case sha or "owner/repo#N", listed once, taken from the body; and
// the results, written back as git and GitHub write reverts, read back the same.
func FuzzReverts(f *testing.F) {
	f.Fuzz(func(t *testing.T, repo, body string) {
		got := reverts(repo, body)
		lower := strings.ToLower(body)
		var back []string
		for i, ref := range got {
			if slices.Contains(got[:i], ref) {
				t.Errorf("%q listed twice in %q", ref, got)
			}
			switch {
			case fuzzFullSHA.MatchString(ref):
				if !strings.Contains(lower, ref) {
					t.Errorf("sha %q is not in the body", ref)
				}
				back = append(back, "This reverts commit "+ref+".")
			case fuzzPRNumber.MatchString(ref):
				target := ref[:strings.LastIndexByte(ref, '#')]
				if target != repo && (!fuzzRepoName.MatchString(target) || !strings.Contains(lower, strings.ToLower(target)+"#")) {
					t.Errorf("pull request %q names neither the repository nor one in the body", ref)
				}
				back = append(back, "Reverts "+ref)
			default:
				t.Errorf("%q is neither a commit nor a pull request", ref)
			}
		}
		if !fuzzRepoName.MatchString(repo) {
			return // "#N" of a repository whose name the pattern cannot spell
		}
		if again := reverts(repo, strings.Join(back, "\n")); !slices.Equal(again, got) {
			t.Errorf("written back and read again: %q, want %q\nbody %q", again, got, body)
		}
	})
}

// fuzzSource is a GitHub source collecting organisation acme (sandbox excluded)
// with the Deployments API, a deploy workflow by file and one by name, and releases,
// its requests answered by rt.
func fuzzSource(tb testing.TB, rt http.RoundTripper) *Source {
	s, err := newSource("gh", &resolved{
		token: "t", orgs: []string{"acme"}, exclude: []string{"acme/sandbox"}, since: collectors.Backfill{Age: defaultSince},
		bots: []*regexp.Regexp{regexp.MustCompile(defaultBotPattern)}, api: true, releases: true, releasesEnv: "production",
		workflows: []WorkflowSettings{
			{Workflow: "deploy.yml", Environment: "production"},
			{Workflow: "Deploy by name", Environment: "staging", Refs: []string{refDefaultBranch}},
		},
	}, rt)
	if err != nil {
		tb.Fatal(err)
	}
	s.transport.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return s
}

var fuzzClock = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// checkRecords asserts what every record a GitHub source writes must hold, whatever
// GitHub answered: its identity derives from the repository, its status and trigger
// are known values, its times are whole UTC seconds, and each cursor is JSON the next
// collection can read.
func checkRecords(t *testing.T, b *schema.Batch) {
	t.Helper()
	whole := func(what string, at time.Time) {
		if !at.IsZero() && (at.Location() != time.UTC || at.Nanosecond() != 0) {
			t.Errorf("%s %v is not a whole UTC second", what, at)
		}
	}
	for _, pr := range b.PullRequests {
		if pr.Source != "gh" || pr.Repo == "" || pr.ID != fmt.Sprintf("%s#%d", pr.Repo, pr.Number) {
			t.Errorf("pull request without identity: %+v", pr)
		}
		for _, at := range []time.Time{pr.CreatedAt, pr.ReadyAt, pr.FirstCommitAt, pr.FirstReviewAt, pr.FirstApprovalAt, pr.MergedAt, pr.ClosedAt, pr.UpdatedAt} {
			whole("pull request time", at)
		}
		if pr.MergedAt.IsZero() && pr.MergeCommitSHA != "" {
			t.Errorf("an unmerged pull request has merge commit %q", pr.MergeCommitSHA)
		}
	}
	for _, d := range b.Deployments {
		if d.Source != "gh" || d.Repo == "" || !strings.HasPrefix(d.ID, d.Repo+"/") {
			t.Errorf("deployment without identity: %+v", d)
		}
		switch d.Status {
		case schema.DeploymentSuccess, schema.DeploymentFailure, schema.DeploymentError, schema.DeploymentInProgress,
			schema.DeploymentQueued, schema.DeploymentCanceled, schema.DeploymentInactive:
		default:
			t.Errorf("deployment status %q", d.Status)
		}
		if d.Attempt < 1 || (d.Trigger != schema.TriggerAutomatic && d.Trigger != schema.TriggerManual) {
			t.Errorf("attempt %d, trigger %q", d.Attempt, d.Trigger)
		}
		for _, at := range []time.Time{d.StartedAt, d.FinishedAt, d.UpdatedAt} {
			whole("deployment time", at)
		}
	}
	for _, c := range b.Cursors {
		if c.Source != "gh" || c.Stream == "" || !json.Valid([]byte(c.Value)) {
			t.Errorf("cursor %s/%s holds %q, which the next collection cannot read", c.Source, c.Stream, c.Value)
		}
	}
}

// fuzzEndpoints are the GitHub API responses FuzzCollect can replace with fuzzed
// bytes, by the kind of request that gets them.
var fuzzEndpoints = []string{"repos", "pulls", "pull", "timeline", "deployments", "statuses", "workflows", "runs", "releases"}

// fuzzGitHub answers a collection's requests with small, valid responses for one
// repository, acme/api, except the first request of one kind, which gets the fuzzed
// body. Each kind is answered once with data and then with nothing more, and a
// collection gets a bounded number of answers, so that a response claiming
// thousands of items or pages cannot make one input run for minutes.
type fuzzGitHub struct {
	fuzzed   string
	body     []byte
	mu       sync.Mutex
	served   map[string]int
	requests int
}

const fuzzMaxRequests = 200

var (
	fuzzPullPath       = regexp.MustCompile(`^/repos/acme/api/pulls/([0-9]+)$`)
	fuzzTimelinePath   = regexp.MustCompile(`^/repos/acme/api/issues/[0-9]+/timeline$`)
	fuzzStatusesPath   = regexp.MustCompile(`^/repos/acme/api/deployments/[0-9]+/statuses$`)
	fuzzRunsPath       = regexp.MustCompile(`^/repos/acme/api/actions/workflows/[^/]+/runs$`)
	fuzzDeploymentPath = regexp.MustCompile(`^/repos/acme/api/deployments/[0-9]+$`)
)

func (g *fuzzGitHub) RoundTrip(req *http.Request) (*http.Response, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	if g.requests > fuzzMaxRequests {
		return nil, errors.New("fuzz: request budget spent")
	}
	p := req.URL.Path
	kind, answer := "", ""
	switch {
	case p == "/orgs/acme/repos":
		kind, answer = "repos", `[{"id":1,"name":"api","full_name":"acme/api","owner":{"login":"acme"},"default_branch":"main"}]`
	case p == "/repos/acme/api/pulls":
		kind, answer = "pulls", "[]"
		if g.fuzzed == "pull" || g.fuzzed == "timeline" {
			answer = `[{"number":7,"updated_at":"2026-05-30T10:00:00Z"}]`
		}
	case fuzzPullPath.MatchString(p):
		n := fuzzPullPath.FindStringSubmatch(p)[1]
		kind, answer = "pull", `{"number":`+n+`,"user":{"login":"ana"},"created_at":"2026-05-29T10:00:00Z","updated_at":"2026-05-30T10:00:00Z","body":"Reverts acme/api#3"}`
	case fuzzTimelinePath.MatchString(p):
		kind, answer = "timeline", "[]"
	case p == "/repos/acme/api/deployments":
		kind, answer = "deployments", "[]"
		if g.fuzzed == "statuses" {
			answer = `[{"id":42,"sha":"abc","ref":"main","environment":"production","created_at":"2026-05-30T10:00:00Z","updated_at":"2026-05-30T10:00:00Z"}]`
		}
	case fuzzStatusesPath.MatchString(p):
		kind, answer = "statuses", "[]"
	case fuzzDeploymentPath.MatchString(p):
		return fuzzResponse(req, http.StatusNotFound, `{"message":"Not Found"}`), nil
	case p == "/repos/acme/api/actions/workflows":
		kind, answer = "workflows", `{"total_count":1,"workflows":[{"id":77,"name":"Deploy by name","path":".github/workflows/by-name.yml"}]}`
	case fuzzRunsPath.MatchString(p):
		kind, answer = "runs", `{"total_count":0,"workflow_runs":[]}`
	case p == "/repos/acme/api/releases":
		kind, answer = "releases", "[]"
	default:
		return fuzzResponse(req, http.StatusNotFound, `{"message":"Not Found"}`), nil
	}
	if g.served == nil {
		g.served = map[string]int{}
	}
	g.served[kind]++
	switch {
	case kind == g.fuzzed && g.served[kind] == 1:
		return fuzzResponse(req, http.StatusOK, string(g.body)), nil
	case g.served[kind] > 1 && kind != "pull":
		// Later pages, split windows and other repositories' requests find nothing.
		if kind == "runs" || kind == "workflows" {
			answer = `{"total_count":0}`
		} else {
			answer = "[]"
		}
	}
	return fuzzResponse(req, http.StatusOK, answer), nil
}

func fuzzResponse(req *http.Request, status int, body string) *http.Response {
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header:  http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body:    io.NopCloser(strings.NewReader(body)),
		Request: req, ProtoMajor: 1, ProtoMinor: 1,
	}
}

// fuzzBatches keeps what a collection writes; it has no cursors, as on a first run.
type fuzzBatches struct {
	mu      sync.Mutex
	batches []*schema.Batch
}

func (w *fuzzBatches) Write(_ context.Context, b *schema.Batch) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batches = append(w.batches, b)
	return nil
}

func (w *fuzzBatches) Cursor(context.Context, string, string) (schema.Cursor, error) {
	return schema.Cursor{}, store.ErrNotFound
}

func (w *fuzzBatches) Ancestries(context.Context, store.Filter) iter.Seq2[schema.Ancestry, error] {
	return func(func(schema.Ancestry, error) bool) {}
}

// FuzzCollect runs a whole collection against a GitHub that answers one kind of
// request (the repository list, the pull request list, a pull request, its timeline,
// deployments, their statuses, workflows, workflow runs or releases) with arbitrary
// bytes. The collection may fail, but must not panic or hang, and whatever it wrote
// must be valid records and readable cursors.
func FuzzCollect(f *testing.F) {
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		g := &fuzzGitHub{fuzzed: fuzzEndpoints[int(endpoint)%len(fuzzEndpoints)], body: body}
		s := fuzzSource(t, g)
		w := &fuzzBatches{}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = s.Collect(ctx, w, collectors.CollectOptions{Now: func() time.Time { return fuzzClock }})
		if ctx.Err() != nil {
			t.Fatalf("the collection did not finish in 20 s (%d requests)", g.requests)
		}
		for _, b := range w.batches {
			checkRecords(t, b)
		}
	})
}

// FuzzHandleEvent hands arbitrary payloads, as any event, to the source that
// /webhooks/github forwards GitHub's events to. It must not panic; the records it
// makes are valid, of repositories the settings select, the same on a second call;
// and only events whose records need the API ask for a collection.
func FuzzHandleEvent(f *testing.F) {
	s := fuzzSource(f, http.DefaultTransport)
	f.Fuzz(func(t *testing.T, kind string, payload []byte) {
		b, collect, err := s.HandleEvent(kind, payload)
		if err != nil {
			return
		}
		if b == nil {
			t.Fatal("no batch and no error")
		}
		checkRecords(t, b)
		if len(b.PullRequests) > 0 || len(b.Cursors) > 0 || len(b.Incidents) > 0 {
			t.Errorf("an event wrote more than deployments: %+v", b)
		}
		for _, d := range b.Deployments {
			owner, _, _ := strings.Cut(d.Repo, "/")
			if !strings.EqualFold(owner, "acme") || s.set.excluded(d.Repo) {
				t.Errorf("a deployment of %q, which the settings do not select", d.Repo)
			}
		}
		if collect && kind != "pull_request" && kind != "pull_request_review" && kind != "workflow_run" {
			t.Errorf("a %q event asked for a collection", kind)
		}
		b2, collect2, err2 := s.HandleEvent(kind, payload)
		if err2 != nil || collect2 != collect || !reflect.DeepEqual(b, b2) {
			t.Errorf("the same event handled twice differs: %+v %v, then %+v %v (%v)", b, collect, b2, collect2, err2)
		}
	})
}

// fuzzCompareGitHub answers compare requests with the fuzzed body.
type fuzzCompareGitHub struct{ body []byte }

func (g fuzzCompareGitHub) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasPrefix(req.URL.Path, "/repos/acme/api/compare/") {
		return fuzzResponse(req, http.StatusOK, string(g.body)), nil
	}
	return fuzzResponse(req, http.StatusNotFound, `{"message":"Not Found"}`), nil
}

// FuzzCompare answers the compare requests of ancestry resolution with arbitrary
// bytes. Resolution may fail, but must not panic, must answer only the pairs it was
// asked, and must write exactly the answers it returns.
func FuzzCompare(f *testing.F) {
	base1, base2, head := strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)
	pairs := []schema.CommitPair{
		{Repo: "acme/api", Base: base1, Head: head},
		{Repo: "acme/api", Base: base2, Head: head},
		{Repo: "acme/api", Base: head, Head: base1},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s := fuzzSource(t, fuzzCompareGitHub{body})
		w := &fuzzBatches{}
		answers, _ := s.ResolveAncestry(context.Background(), w, pairs, fuzzClock)
		for p := range answers {
			if !slices.Contains(pairs, p) {
				t.Errorf("answered %+v, which was not asked", p)
			}
		}
		written := map[schema.CommitPair]bool{}
		for _, b := range w.batches {
			for _, a := range b.Ancestries {
				p := schema.CommitPair{Repo: a.Repo, Base: a.Base, Head: a.Head}
				if a.Source != "gh" || a.ID != schema.AncestryID(a.Repo, a.Base, a.Head) {
					t.Errorf("ancestry without identity: %+v", a)
				}
				if _, twice := written[p]; twice {
					t.Errorf("%+v written twice", p)
				}
				written[p] = a.Contains
			}
		}
		if answers != nil && !reflect.DeepEqual(written, answers) {
			t.Errorf("returned %v, wrote %v", answers, written)
		}
	})
}

var (
	fuzzTicketKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,8}$`)
	fuzzIssueRef  = regexp.MustCompile(`^[\w.-]+/[\w.-]+#[0-9]+$`)
)

// FuzzTicketRefs reads arbitrary titles, branches and bodies for the tickets they
// name: each result is an upper-case key found (ignoring case) in one of them, or
// "owner/repo#N" of an issue the body closes, listed once.
func FuzzTicketRefs(f *testing.F) {
	f.Add("acme/api", "PAY-12: retries", "feature/pay-12-retries", "Fixes #3, closes acme/web#4")
	f.Fuzz(func(t *testing.T, repo, title, branch, body string) {
		got := ticketRefs(repo, title, branch, body)
		all := strings.ToUpper(title + "\n" + branch + "\n" + body)
		for i, ref := range got {
			if slices.Contains(got[:i], ref) {
				t.Errorf("%q listed twice in %q", ref, got)
			}
			switch {
			case fuzzTicketKey.MatchString(ref):
				if !strings.Contains(all, ref) {
					t.Errorf("key %q is in none of the texts", ref)
				}
			case strings.HasPrefix(ref, repo+"#") || fuzzIssueRef.MatchString(ref):
				if !strings.Contains(body, "#"+ref[strings.LastIndexByte(ref, '#')+1:]) {
					t.Errorf("issue %q is not in the body", ref)
				}
			default:
				t.Errorf("%q is neither a ticket key nor an issue", ref)
			}
		}
	})
}
