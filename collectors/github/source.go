// Package github collects pull requests (with their commits, reviews and
// ready-for-review time), deployments, deploy workflow runs and releases from GitHub
// or GitHub Enterprise Server. It is incremental (a cursor per repository and
// stream, moved only after the records it covers are written), frugal (conditional
// requests, which cost no rate limit when nothing changed) and rate-limit aware.
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
)

// perPage is GitHub's largest page: fewest requests per record.
const perPage = 100

// overlap is how far below a stream's high-water mark a collection looks again, for
// records GitHub lists a little late.
const overlap = 10 * time.Minute

// batchSize is how many pull requests are written at once.
const batchSize = 100

// Source collects one GitHub instance.
type Source struct {
	name      string
	set       *resolved
	transport *transport // the rate-limit handling and the token, under both clients
	client    *gh.Client
	// gql collects pull requests by GraphQL when the settings ask for it; nil otherwise.
	gql *graphqlSource
}

// NewSource is the GitHub source's collectors.Factory.
func NewSource(name string, s collectors.Settings) (collectors.Source, error) {
	var set Settings
	if err := s.Decode(&set); err != nil {
		return nil, err
	}
	r, err := resolve(set, s)
	if err != nil {
		return nil, err
	}
	return newSource(name, r, http.DefaultTransport)
}

func newSource(name string, r *resolved, base http.RoundTripper) (*Source, error) {
	t := newTransport(&authTransport{next: base, tokens: r.tokenSource(base)}, nil)
	client := gh.NewClient(&http.Client{Transport: t, Timeout: 2 * time.Minute})
	if r.baseURL != "" {
		var err error
		if client, err = client.WithEnterpriseURLs(r.baseURL, r.baseURL); err != nil {
			return nil, fmt.Errorf("github %s: base_url: %w", name, err)
		}
	}
	s := &Source{name: name, set: r, transport: t, client: client}
	if r.graphql {
		s.gql = newGraphQLSource(r.baseURL, t)
	}
	return s, nil
}

// run is the state of one collection.
type run struct {
	*Source
	w     collectors.Writer
	opts  collectors.CollectOptions
	log   *slog.Logger
	now   time.Time
	floor time.Time // the backfill start
	// tags says, by repository and name, whether a run's head branch names a tag.
	tags map[string]map[string]bool
}

// Collect collects every configured repository. A repository the token cannot see
// (403, 404) is reported and skipped; the others go on, and the error lists every
// repository that failed. Refused credentials (a 401, or GitHub refusing the App's
// token) stop the source at once: no repository could be read.
func (s *Source) Collect(ctx context.Context, w collectors.Writer, opts collectors.CollectOptions) error {
	log := opts.Log().With("source", s.name)
	s.transport.log = log
	s.transport.now = opts.Clock()
	r := &run{Source: s, w: w, opts: opts, log: log, now: opts.Clock()().UTC(), tags: map[string]map[string]bool{}}
	if s.gql != nil {
		s.gql.startCollection()
	}
	r.floor = s.set.since.Start(r.now)
	if !opts.Since.IsZero() {
		r.floor = opts.Since
	}
	repos, failed, err := r.repositories(ctx)
	total := len(repos) + len(failed)
	if err != nil {
		return fmt.Errorf("github %s: %w", s.name, err)
	}
	log.Info("collecting", "repositories", len(repos), "since", r.floor.Format(time.DateOnly))
	for _, repo := range repos {
		if err := r.collectRepo(ctx, repo); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if refused := s.set.credentialsRefused(err); refused != nil {
				return fmt.Errorf("github %s: %w", s.name, refused)
			}
			log.Error("repository skipped", "repo", repo.fullName, "err", err)
			failed = append(failed, fmt.Errorf("%s: %w", repo.fullName, explain(err)))
		}
	}
	requests, remaining := s.transport.stats()
	done := []any{"repositories", len(repos), "failed", len(failed), "requests", requests, "rate_limit_remaining", remaining}
	if s.gql != nil {
		done = append(done, "graphql_points", s.gql.points)
	}
	log.Info("collected", done...)
	if len(failed) > 0 {
		return fmt.Errorf("github %s: %d of %d repositories failed: %w", s.name, len(failed), total, errors.Join(failed...))
	}
	return nil
}

// RateLimitRemaining is the GitHub rate limit left as last reported, -1 when unknown:
// the scarcer of the REST and GraphQL budgets when both are spent.
func (s *Source) RateLimitRemaining() int {
	_, remaining := s.transport.stats()
	return remaining
}

// credentialsRefused is the error that stops the source when err is GitHub refusing
// what it signs requests with: a 401, or a refused mint of the App's token. It is nil
// for any other error.
func (r *resolved) credentialsRefused(err error) error {
	var refusedApp *appRefusedError
	if errors.As(err, &refusedApp) {
		return refusedApp
	}
	if statusOf(err) == http.StatusUnauthorized {
		return errors.New(r.refusedCredentials())
	}
	return nil
}

// explain turns an access error into words a user can act on.
func explain(err error) error {
	switch statusOf(err) {
	case http.StatusNotFound:
		return fmt.Errorf("not found: the repository does not exist or the token cannot see it (%w)", err)
	case http.StatusForbidden:
		return fmt.Errorf("forbidden: the token lacks access to this repository's data (%w)", err)
	}
	return err
}

type repository struct {
	owner, name, fullName, defaultBranch string
}

// repositories lists what the settings select, in a stable order, and the listed
// repositories the token cannot see, which are reported with the failures.
func (r *run) repositories(ctx context.Context) ([]repository, []error, error) {
	byName := map[string]repository{}
	add := func(rp *gh.Repository) {
		full := rp.GetFullName()
		if r.set.excluded(full) {
			return
		}
		byName[strings.ToLower(full)] = repository{
			owner: rp.GetOwner().GetLogin(), name: rp.GetName(), fullName: full, defaultBranch: rp.GetDefaultBranch(),
		}
	}
	listOrg := func(org string) ([]*gh.Repository, error) {
		repos, err := allPages(func(opt gh.ListOptions) ([]*gh.Repository, *gh.Response, error) {
			return r.client.Repositories.ListByOrg(ctx, org, &gh.RepositoryListByOrgOptions{Type: "all", ListOptions: opt})
		})
		if refused := r.set.credentialsRefused(err); refused != nil {
			return nil, fmt.Errorf("listing repositories of %s: %w", org, refused)
		}
		if err != nil {
			return nil, fmt.Errorf("listing repositories of %s: %w", org, explain(err))
		}
		return repos, nil
	}
	for _, org := range r.set.orgs {
		repos, err := listOrg(org)
		if err != nil {
			return nil, nil, err
		}
		for _, rp := range repos {
			if !rp.GetFork() && !rp.GetArchived() {
				add(rp)
			}
		}
	}
	for _, glob := range r.set.globs {
		owner, pattern, _ := strings.Cut(glob, "/")
		repos, err := listOrg(owner)
		if err != nil {
			return nil, nil, err
		}
		for _, rp := range repos {
			if ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(rp.GetName())); ok {
				add(rp)
			}
		}
	}
	var unreachable []error
	for _, full := range r.set.repos {
		if _, ok := byName[strings.ToLower(full)]; ok || r.set.excluded(full) {
			continue
		}
		owner, name, _ := strings.Cut(full, "/")
		rp, _, err := r.client.Repositories.Get(ctx, owner, name)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if refused := r.set.credentialsRefused(err); refused != nil {
				return nil, nil, refused
			}
			r.log.Error("repository skipped", "repo", full, "err", explain(err))
			unreachable = append(unreachable, fmt.Errorf("%s: %w", full, explain(err)))
			continue
		}
		add(rp)
	}
	out := make([]repository, 0, len(byName))
	for _, rp := range byName {
		out = append(out, rp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].fullName < out[j].fullName })
	return out, unreachable, nil
}

// collectRepo runs every stream of one repository.
func (r *run) collectRepo(ctx context.Context, repo repository) error {
	if err := r.pulls(ctx, repo); err != nil {
		return fmt.Errorf("pull requests: %w", err)
	}
	if r.set.api {
		if err := r.deployments(ctx, repo); err != nil {
			return fmt.Errorf("deployments: %w", err)
		}
	}
	for _, wf := range r.set.workflows {
		if err := r.workflowRuns(ctx, repo, wf); err != nil {
			return fmt.Errorf("workflow %s: %w", wf.Workflow, err)
		}
	}
	if r.set.releases {
		if err := r.releases(ctx, repo); err != nil {
			return fmt.Errorf("releases: %w", err)
		}
	}
	return nil
}

// report sends a progress report for a repository's stream.
func (r *run) report(repo repository, stream string, done, total int, finished bool) {
	requests, remaining := r.transport.stats()
	r.opts.Report(collectors.Report{
		Source: r.name, Unit: repo.fullName, Stream: stream, Done: done, Total: total,
		Requests: requests, RateRemaining: remaining, Finished: finished,
	})
}

// loadCursor reads a stream's cursor into v; a missing one (or --full) leaves v zero.
func (r *run) loadCursor(ctx context.Context, stream string, v any) error {
	return collectors.LoadCursor(ctx, r.w, r.opts, r.name, stream, v)
}

// cursor encodes a stream's position for writing in the batch it covers.
func (r *run) cursor(stream string, v any) schema.Cursor {
	return collectors.JSONCursor(r.opts, r.name, stream, v)
}

// notModified says whether a go-github call failed only because the ETag matched.
func notModified(resp *gh.Response, err error) bool {
	return err != nil && resp != nil && resp.StatusCode == http.StatusNotModified
}

// getConditional fetches one page of a list with If-None-Match, so an unchanged
// first page costs no rate limit. It returns the page's ETag.
func getConditional(ctx context.Context, c *gh.Client, u, etag string, v any) (*gh.Response, string, error) {
	req, err := c.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.Do(ctx, req, v)
	if err != nil {
		return resp, "", err
	}
	return resp, resp.Header.Get("ETag"), nil
}

// allPages fetches every page of a list, 100 items at a time.
func allPages[T any](fetch func(opt gh.ListOptions) ([]T, *gh.Response, error)) ([]T, error) {
	opt := gh.ListOptions{PerPage: perPage}
	var all []T
	for {
		page, resp, err := fetch(opt)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opt.Page = resp.NextPage
	}
}

// present drops the null items a list response may hold: JSON null decodes to a nil
// pointer, and the code building records reads the items' fields directly.
func present[T any](items []*T) []*T {
	return slices.DeleteFunc(items, func(item *T) bool { return item == nil })
}

func ts(t *gh.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time.UTC().Truncate(time.Second)
}
