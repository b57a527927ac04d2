package github

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/flowmeter/flowmeter/schema"
)

// span is a closed range of updated_at values.
type span struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// pullsCursor says which pull requests of a repository are stored as they are now.
// GitHub lists pull requests by updated_at, newest first, with no "since" filter, so
// the cursor keeps the spans of updated_at whose pull requests are all stored. A
// change moves a pull request's updated_at above every span, so a pull request inside
// a span is unchanged. A collection that is killed keeps the spans it finished, and
// the next one skips them.
type pullsCursor struct {
	Covered []span `json:"covered,omitempty"`
	// Seen holds pull requests stored outside the spans (within the overlap above the
	// top span, or at the edge of an unfinished walk), by number, with the updated_at
	// they were stored with.
	Seen map[int]time.Time `json:"seen,omitempty"`
	// ETag of the first list page when the last pass completed: while it matches,
	// nothing changed, and GitHub answers 304 at no rate-limit cost.
	ETag string `json:"etag,omitempty"`
}

// spanOf returns the span holding t, if any.
func (c *pullsCursor) spanOf(t time.Time) (span, bool) {
	for _, s := range c.Covered {
		if !t.Before(s.From) && !t.After(s.To) {
			return s, true
		}
	}
	return span{}, false
}

// complete says whether everything from the backfill start up to the top span is
// stored.
func (c *pullsCursor) complete(floor time.Time) bool {
	n := len(c.Covered)
	return n > 0 && !c.Covered[n-1].From.After(floor)
}

// add merges a span into the cursor's spans.
func (c *pullsCursor) add(s span) {
	if s.To.Before(s.From) {
		return
	}
	spans := append(append([]span(nil), c.Covered...), s)
	sort.Slice(spans, func(i, j int) bool { return spans[i].From.Before(spans[j].From) })
	merged := spans[:1]
	for _, next := range spans[1:] {
		last := &merged[len(merged)-1]
		if !next.From.After(last.To.Add(time.Second)) {
			if next.To.After(last.To) {
				last.To = next.To
			}
			continue
		}
		merged = append(merged, next)
	}
	c.Covered = merged
}

// pullItem is one pull request of a listing page: what the cursor walk reasons with,
// and how to build its record when it is not stored as it is now.
type pullItem struct {
	number  int
	updated time.Time
	record  func(ctx context.Context) (schema.PullRequest, error)
}

// pullPages serves a repository's pull requests page by page, newest update first:
// by REST (a list page, then two requests per pull request to build) or by GraphQL
// (pages carrying everything the records need).
type pullPages interface {
	// next returns the next page and whether it is the last; errUnchanged when the
	// first page is as the cursor left it.
	next(ctx context.Context) (items []pullItem, last bool, err error)
	// firstETag is the first page's ETag, kept to ask "anything new?" next time.
	firstETag() string
}

// errUnchanged is a first page that did not change since the last complete pass.
var errUnchanged = errors.New("unchanged")

// pulls collects the pull requests of a repository changed since its cursor.
func (r *run) pulls(ctx context.Context, repo repository) error {
	stream := "pulls:" + repo.fullName
	var cur pullsCursor
	if err := r.loadCursor(ctx, stream, &cur); err != nil {
		return err
	}
	var pages pullPages
	if r.gql != nil && r.gql.unavailable == "" {
		gp := &graphqlPulls{r: r, repo: repo}
		if cur.complete(r.floor) {
			gp.probe = len(cur.Seen) + 1
		}
		pages = gp
	} else {
		rp := &restPulls{r: r, repo: repo}
		if cur.complete(r.floor) {
			rp.etag = cur.ETag
		}
		pages = rp
	}
	err := r.walkPulls(ctx, repo, stream, cur, pages)
	var unavailable *graphqlUnavailable
	if errors.As(err, &unavailable) {
		r.gql.unavailable = unavailable.reason
		r.log.Warn("GitHub's GraphQL API cannot serve flowmeter's query; collecting pull requests by REST",
			"repo", repo.fullName, "reason", unavailable.reason)
		return r.pulls(ctx, repo)
	}
	return err
}

// walkPulls walks the pages newest first, building the records of the pull requests
// the cursor does not cover, and writes them in batches with the cursor.
func (r *run) walkPulls(ctx context.Context, repo repository, stream string, cur pullsCursor, pages pullPages) error {
	floor := r.floor
	var (
		walkTop  time.Time             // updated_at of the newest pull request
		lowest   time.Time             // updated_at of the last one handled
		handled  = map[int]time.Time{} // everything handled above the overlap line
		batch    []schema.PullRequest
		done     int
		finished bool
	)
	// flush writes the batch with a cursor covering what this pass has handled:
	// [lowest+1s, top] while the walk goes on (another pull request may share lowest),
	// down to the backfill start once it is over. The top stops an overlap below the
	// collection's start, for pull requests GitHub lists late, and at the newest one
	// listed: in a quiet repository everything the walk saw is covered, and the next
	// collection has nothing to look at again.
	flush := func() error {
		next := pullsCursor{Covered: cur.Covered}
		switch {
		case !walkTop.IsZero():
			from := lowest.Add(time.Second)
			if finished {
				from = floor
			}
			next.add(span{From: from, To: minTime(walkTop, r.now.Add(-overlap))})
		case finished:
			next.add(span{From: floor, To: floor}) // no pull requests at all
		}
		// Seen keeps what the spans do not: the overlap above the top span, and the
		// pull requests sharing the last updated_at of an unfinished walk.
		next.Seen = map[int]time.Time{}
		for _, m := range []map[int]time.Time{cur.Seen, handled} {
			for n, u := range m {
				if _, covered := next.spanOf(u); !covered {
					next.Seen[n] = u
				}
			}
		}
		if finished && next.complete(floor) {
			next.ETag = pages.firstETag()
		}
		b := &schema.Batch{PullRequests: batch, Cursors: []schema.Cursor{r.cursor(stream, next)}}
		if err := r.w.Write(ctx, b); err != nil {
			return err
		}
		batch = batch[:0]
		r.report(repo, "pulls", done, 0, finished)
		return nil
	}

	for !finished {
		page, last, err := pages.next(ctx)
		if errors.Is(err, errUnchanged) {
			r.report(repo, "pulls", 0, 0, true)
			return nil
		}
		if err != nil {
			return err
		}
		for _, pr := range page {
			u := pr.updated
			if walkTop.IsZero() {
				walkTop = u
			}
			if u.Before(floor) {
				finished = true
				break
			}
			lowest = u
			if at, ok := handled[pr.number]; ok && at.Equal(u) {
				// Listed again: a pull request updated during the walk moved to the
				// first page and shifted the later pages down a place.
				continue
			}
			if seen, ok := cur.Seen[pr.number]; ok && seen.Equal(u) {
				handled[pr.number] = u
				continue
			}
			if s, ok := cur.spanOf(u); ok {
				if !s.From.After(floor) {
					finished = true // everything older is stored
					break
				}
				continue
			}
			rec, err := pr.record(ctx)
			if err != nil {
				return fmt.Errorf("#%d: %w", pr.number, err)
			}
			batch = append(batch, rec)
			handled[pr.number] = u
			done++
			if len(batch) >= batchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if last {
			finished = true
		}
	}
	return flush()
}

// minTime is the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// restPulls pages the REST list of pull requests; the first page is asked for with
// the ETag of the last complete pass, so an unchanged repository costs nothing.
type restPulls struct {
	r        *run
	repo     repository
	etag     string
	nextPage int // the page after the one read, from its Link header
	started  bool
	first    string // the first page's ETag
}

func (p *restPulls) firstETag() string { return p.first }

func (p *restPulls) next(ctx context.Context) ([]pullItem, bool, error) {
	u := fmt.Sprintf("repos/%s/%s/pulls?state=all&sort=updated&direction=desc&per_page=%d", p.repo.owner, p.repo.name, perPage)
	etag := ""
	if !p.started {
		etag = p.etag
	} else {
		u = fmt.Sprintf("%s&page=%d", u, p.nextPage)
	}
	var page []*gh.PullRequest
	resp, tag, err := getConditional(ctx, p.r.client, u, etag, &page)
	if notModified(resp, err) {
		return nil, true, errUnchanged
	}
	if err != nil {
		return nil, false, err
	}
	if !p.started {
		p.started, p.first = true, tag
	}
	p.nextPage = resp.NextPage
	items := make([]pullItem, 0, len(page))
	for _, pr := range present(page) {
		items = append(items, pullItem{
			number: pr.GetNumber(), updated: ts(pr.UpdatedAt),
			record: func(ctx context.Context) (schema.PullRequest, error) { return p.r.pullRequest(ctx, p.repo, pr) },
		})
	}
	return items, resp.NextPage == 0, nil
}

// pullRequest builds the record of one pull request from its full form and its
// timeline: two requests (more for a timeline over 100 events); from its listed
// form and its timeline when sizes are not asked for.
func (r *run) pullRequest(ctx context.Context, repo repository, listed *gh.PullRequest) (schema.PullRequest, error) {
	pr := listed
	if !r.set.noSizes {
		var err error
		if pr, _, err = r.client.PullRequests.Get(ctx, repo.owner, repo.name, listed.GetNumber()); err != nil {
			return schema.PullRequest{}, err
		}
	}
	timeline, err := r.timeline(ctx, repo, listed.GetNumber())
	if err != nil {
		return schema.PullRequest{}, fmt.Errorf("timeline: %w", err)
	}
	// The listed updated_at is the one the cursor reasons with.
	rec := r.pullRecord(repo, pr, ts(listed.UpdatedAt), timeline)
	if r.set.noSizes {
		rec.Additions, rec.Deletions = -1, -1 // the list does not say
	}
	return rec, nil
}

// pullRecord builds a pull request's record from its REST form and its timeline; the
// GraphQL path builds the same forms, so both give the same record.
func (r *run) pullRecord(repo repository, pr *gh.PullRequest, updated time.Time, timeline []*gh.Timeline) schema.PullRequest {
	number := pr.GetNumber()
	rec := schema.PullRequest{
		Source: r.name, ID: fmt.Sprintf("%s#%d", repo.fullName, number), Repo: repo.fullName,
		Number: int64(number), Author: pr.GetUser().GetLogin(), Title: pr.GetTitle(),
		BaseBranch: pr.GetBase().GetRef(), Draft: pr.GetDraft(), CreatedAt: ts(pr.CreatedAt),
		CommitCount: int64(pr.GetCommits()), Additions: int64(pr.GetAdditions()), Deletions: int64(pr.GetDeletions()),
		MergedAt: ts(pr.MergedAt), ClosedAt: ts(pr.ClosedAt), URL: pr.GetHTMLURL(),
		UpdatedAt: updated,
	}
	if !rec.MergedAt.IsZero() {
		// On an open pull request this is GitHub's test merge, not a real commit.
		rec.MergeCommitSHA = pr.GetMergeCommitSHA()
	}
	for _, l := range pr.Labels {
		rec.Labels = append(rec.Labels, l.GetName())
	}
	// REST and GraphQL list labels in orders of their own: sorted, a record does not
	// depend on the API.
	slices.Sort(rec.Labels)
	rec.Reverts = reverts(repo.fullName, pr.GetBody())
	rec.TicketRefs = ticketRefs(repo.fullName, pr.GetTitle(), pr.GetHead().GetRef(), pr.GetBody())
	r.applyTimeline(&rec, pr.GetUser().GetLogin(), timeline)
	return rec
}

// revertLine matches what a revert says it reverts: git revert writes "This reverts
// commit <sha>.", GitHub's revert button "Reverts owner/repo#N".
var revertLine = regexp.MustCompile(`(?i)\bthis reverts commit ([0-9a-f]{40})\b|\breverts ([\w.-]+/[\w.-]+)?#([0-9]+)\b`)

// reverts lists what a pull request's body says it reverts, in order and once each:
// full commit shas in lower case, and pull requests as "owner/repo#N" ("#N" is one of
// repo, whose spelling is kept so the id matches its record's).
func reverts(repo, body string) []string {
	var out []string
	for _, m := range revertLine.FindAllStringSubmatch(body, -1) {
		ref := strings.ToLower(m[1])
		if m[3] != "" {
			target := m[2]
			if target == "" || strings.EqualFold(target, repo) {
				target = repo
			}
			ref = target + "#" + m[3]
		}
		if !slices.Contains(out, ref) {
			out = append(out, ref)
		}
	}
	return out
}

// ticketKey matches what looks like a Jira issue key: a project key of 2 to 10
// letters, digits or underscores starting with a letter, a dash, and a number;
// ticketRefs checks that it stands alone.
// Branches are often lower case ("pay-123-retries"), so ASCII case is ignored and
// the key upper-cased; derivation keeps only the keys of tickets it knows, so a false match
// such as "UTF-8" links nothing.
var ticketKey = regexp.MustCompile(`[A-Za-z][A-Za-z0-9_]{1,9}-[1-9][0-9]{0,8}`)

// closesIssue matches GitHub's closing keywords: "fixes #12", "closes acme/web#3".
var closesIssue = regexp.MustCompile(`(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+([\w.-]+/[\w.-]+)?#([0-9]+)\b`)

// ticketRefs lists the tickets a pull request names, in order and once each: keys
// from its title, head branch and body, and "owner/repo#N" for each GitHub issue
// its body says it closes.
func ticketRefs(repo, title, branch, body string) []string {
	var out []string
	add := func(ref string) {
		if !slices.Contains(out, ref) {
			out = append(out, ref)
		}
	}
	for _, text := range []string{title, branch, body} {
		for _, m := range ticketKey.FindAllStringIndex(text, -1) {
			// A key stands alone: no letter, digit or _ before it (that would make
			// it part of a longer word), no letter or digit after it ("PAY-123_x"
			// and "PAY-123-retries" name PAY-123).
			if m[0] > 0 && isWordByte(text[m[0]-1]) || m[1] < len(text) && isWordByte(text[m[1]]) && text[m[1]] != '_' {
				continue
			}
			add(strings.ToUpper(text[m[0]:m[1]]))
		}
	}
	for _, m := range closesIssue.FindAllStringSubmatch(body, -1) {
		target := m[1]
		if target == "" || strings.EqualFold(target, repo) {
			target = repo
		}
		add(target + "#" + m[2])
	}
	return out
}

func isWordByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

func (r *run) timeline(ctx context.Context, repo repository, number int) ([]*gh.Timeline, error) {
	return allPages(func(opt gh.ListOptions) ([]*gh.Timeline, *gh.Response, error) {
		return r.client.Issues.ListIssueTimeline(ctx, repo.owner, repo.name, number, &opt)
	})
}

// applyTimeline fills what only the timeline knows: the earliest commit author date
// (which survives squash merges), the first review and approval by someone other
// than the author and not a bot, and when the pull request became ready for review.
func (r *run) applyTimeline(rec *schema.PullRequest, author string, events []*gh.Timeline) {
	commits := 0
	var firstDraftEvent string
	var firstDraftEventAt, readyAt time.Time
	earlier := func(t, than time.Time) bool { return !t.IsZero() && (than.IsZero() || t.Before(than)) }
	for _, e := range events {
		switch e.GetEvent() {
		case "committed":
			commits++
			date := e.GetAuthor().GetDate() // zero when GitHub sent no author
			if d := ts(&date); earlier(d, rec.FirstCommitAt) {
				rec.FirstCommitAt = d
			}
		case "reviewed":
			login := e.GetUser().GetLogin()
			if strings.EqualFold(login, author) || r.set.isBot(login, e.GetUser().GetType()) {
				continue
			}
			at := ts(e.SubmittedAt)
			if earlier(at, rec.FirstReviewAt) {
				rec.FirstReviewAt, rec.FirstReviewer = at, login
			}
			if strings.EqualFold(e.GetState(), "approved") && earlier(at, rec.FirstApprovalAt) {
				rec.FirstApprovalAt = at
			}
		case "ready_for_review", "convert_to_draft":
			at := ts(e.CreatedAt)
			if earlier(at, firstDraftEventAt) {
				firstDraftEvent, firstDraftEventAt = e.GetEvent(), at
			}
			if e.GetEvent() == "ready_for_review" && earlier(at, readyAt) {
				readyAt = at
			}
		}
	}
	if rec.CommitCount == 0 {
		rec.CommitCount = int64(commits)
	}
	switch {
	case firstDraftEvent == "ready_for_review":
		rec.ReadyAt = readyAt // opened as a draft, first ready then
	case firstDraftEvent == "" && rec.Draft:
		rec.ReadyAt = time.Time{} // a draft still
	default:
		rec.ReadyAt = rec.CreatedAt // opened ready for review
	}
}
