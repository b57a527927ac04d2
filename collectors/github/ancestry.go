package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// ancestryBatch is how many fresh answers are written at once: a derivation killed
// while it asks keeps all but the last few of the answers it got.
const ancestryBatch = 50

// ResolveAncestry answers each pair, from the store's cache where it can and with
// GitHub's compare API where it cannot, writing the new answers to the store as they
// come, and the last of them even when it stops on an error or a cancellation: history
// never changes for a pair of commits, so each pair is asked once ever. One compare
// also answers every other pair with the same head whose base it lists among the
// commits it returns. A pair GitHub cannot answer (an unknown or deleted commit) is
// left out of the result, so the caller falls back to time attribution.
func (s *Source) ResolveAncestry(ctx context.Context, st collectors.AncestryStore, pairs []schema.CommitPair, now time.Time) (map[schema.CommitPair]bool, error) {
	answers := map[schema.CommitPair]bool{}
	want := map[schema.CommitPair]bool{}
	for _, p := range pairs {
		want[p] = true
	}
	for a, err := range st.Ancestries(ctx, store.Filter{Source: s.name}) {
		if err != nil {
			return nil, err
		}
		if p := (schema.CommitPair{Repo: a.Repo, Base: a.Base, Head: a.Head}); want[p] {
			answers[p] = a.Contains
		}
	}
	var fresh []schema.Ancestry
	record := func(p schema.CommitPair, contains bool) {
		answers[p] = contains
		fresh = append(fresh, schema.Ancestry{
			Source: s.name, ID: schema.AncestryID(p.Repo, p.Base, p.Head), Repo: p.Repo, Base: p.Base, Head: p.Head,
			Contains: contains, CheckedAt: now.UTC().Truncate(time.Second), UpdatedAt: now.UTC(),
		})
	}
	// flush writes the answers not yet written; it outlives a cancellation, so the
	// answers a canceled derivation paid for are kept.
	flush := func() error {
		if len(fresh) == 0 {
			return nil
		}
		if err := st.Write(context.WithoutCancel(ctx), &schema.Batch{Ancestries: fresh}); err != nil {
			return fmt.Errorf("ancestry: writing %d answers: %w", len(fresh), err)
		}
		fresh = nil
		return nil
	}
	var failed error
	for _, p := range pairs {
		if _, known := answers[p]; known {
			continue
		}
		if len(fresh) >= ancestryBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		owner, name, ok := cutRepo(p.Repo)
		if !ok {
			return nil, errors.Join(fmt.Errorf("ancestry: bad repository %q", p.Repo), flush())
		}
		cmp, _, err := s.client.Repositories.CompareCommits(ctx, owner, name, p.Base, p.Head, &gh.ListOptions{PerPage: perPage})
		if err != nil {
			if ctx.Err() != nil {
				return nil, errors.Join(ctx.Err(), flush())
			}
			unrelated, failure := compareFailure(ctx, p, err)
			if unrelated {
				record(p, false)
			}
			failed = errors.Join(failed, failure)
			continue
		}
		// "ahead" or "identical": base is head or one of its ancestors.
		contains := cmp.GetStatus() == "ahead" || cmp.GetStatus() == "identical"
		record(p, contains)
		if !contains {
			continue
		}
		// Every commit listed lies between base and head, so head contains it too.
		listed := map[string]bool{}
		for _, c := range cmp.Commits {
			listed[c.GetSHA()] = true
		}
		for _, other := range pairs {
			if _, known := answers[other]; !known && other.Repo == p.Repo && other.Head == p.Head && listed[other.Base] {
				record(other, true)
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return answers, failed
}

func cutRepo(full string) (owner, name string, ok bool) {
	owner, name, ok = strings.Cut(full, "/")
	return owner, name, ok && owner != "" && name != ""
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// CompareRange compares two deployed commits, paging through every commit the newer
// one adds (GitHub lists at most 250 of them without paging, and pages oldest first
// with it): what one deployment shipped, for one request per hundred commits. The
// commits come sorted and once each.
func (s *Source) CompareRange(ctx context.Context, p schema.CommitPair) (schema.CommitRange, bool, error) {
	out := schema.CommitRange{CommitPair: p}
	owner, name, ok := cutRepo(p.Repo)
	if !ok {
		return out, false, fmt.Errorf("compare: bad repository %q", p.Repo)
	}
	total := 0
	for page := 1; page != 0; {
		cmp, resp, err := s.client.Repositories.CompareCommits(ctx, owner, name, p.Base, p.Head, &gh.ListOptions{PerPage: perPage, Page: page})
		if err != nil {
			unrelated, failure := compareFailure(ctx, p, err)
			return out, unrelated, failure
		}
		status := cmp.GetStatus()
		out.BaseInHead = status == "ahead" || status == "identical"
		out.HeadInBase = status == "behind" || status == "identical"
		total = cmp.GetTotalCommits()
		if status != "ahead" {
			return out, true, nil // nothing shipped beyond Base to list
		}
		for _, c := range cmp.Commits {
			out.Commits = append(out.Commits, strings.ToLower(c.GetSHA()))
		}
		page = resp.NextPage
	}
	out.Commits = slices.Compact(slices.Sorted(slices.Values(out.Commits)))
	if len(out.Commits) < total {
		// What is listed is still shipped by Head; the rest is left to the walks.
		return out, true, fmt.Errorf("compare %s %s...%s listed %d of its %d commits",
			p.Repo, short(p.Base), short(p.Head), len(out.Commits), total)
	}
	return out, true, nil
}

// compareFailure sorts a comparison of p that failed. Histories that never met are
// unrelated: that answers it, neither commit contains the other. A commit GitHub does
// not know (404, 422) leaves it unanswered, which is no failure. Anything else, and
// any error once ctx is done, is a failure naming the pair.
func compareFailure(ctx context.Context, p schema.CommitPair, err error) (unrelated bool, failure error) {
	if ctx.Err() == nil {
		if noCommonAncestor(err) {
			return true, nil
		}
		if code := statusOf(err); code == http.StatusNotFound || code == http.StatusUnprocessableEntity {
			return false, nil
		}
	}
	return false, fmt.Errorf("compare %s %s...%s: %w", p.Repo, short(p.Base), short(p.Head), err)
}

// noCommonAncestor says whether GitHub refused a comparison because the two commits
// share no history (404 "No common ancestor between …"), which answers the
// question, unlike a 404 for an unknown commit.
func noCommonAncestor(err error) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound &&
		strings.HasPrefix(er.Message, "No common ancestor")
}
