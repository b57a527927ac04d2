// Package jira collects work items (issues), their status changes and worklogs from
// Jira Cloud (REST v3) or Jira Data Center (REST v2). It is incremental (a cursor per
// project, moved only in the batch holding the records it covers), reads JQL dates
// in the Jira user's time zone as Jira does, and waits out Jira's rate limits.
package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/httpwait"
	"github.com/flowmeter/flowmeter/schema"
)

// The fields every search asks for: what the records need and nothing more, since
// Jira serves fewer issues per page the more fields are asked for.
var searchFields = []string{
	"summary", "issuetype", "project", "labels", "components", "assignee", "priority",
	"status", "resolution", "created", "updated", "resolutiondate",
}

// Page sizes of the secondary lists. Jira caps each at its own maximum and says so
// in the answer; the source follows the answer, not these.
const (
	worklogPageSize   = 5000
	changelogPageSize = 100
	bulkChangelogSize = 1000
	// bulkIssues is how many issues one bulk changelog request may name.
	bulkIssues = 1000
)

// Source collects one Jira site.
type Source struct {
	name   string
	set    *resolved
	client *http.Client
	// sleep waits between retries; tests replace it to advance a fake clock.
	sleep func(ctx context.Context, d time.Duration) error

	requests atomic.Int64
	log      *slog.Logger
	now      func() time.Time

	// categories maps status ids and names to their category name ("To Do", "In
	// Progress", "Done"), from the last status list read at categoriesAt; webhook
	// events use it too.
	mu           sync.Mutex
	categories   map[string]string
	categoriesAt time.Time
	// tz is the account's time zone as read at tzAt. Both it and the status list
	// are kept for accountInfoTTL, so that the runs of a long-lived process cost one
	// search per stream when nothing changed.
	tz   *time.Location
	tzAt time.Time
}

// accountInfoTTL is how long the account's time zone and status list are reused
// before they are read again; a status the kept list lacks is read at once.
const accountInfoTTL = time.Hour

var (
	_ collectors.Source       = (*Source)(nil)
	_ collectors.EventHandler = (*Source)(nil)
)

// NewSource is the Jira source's collectors.Factory: it validates the settings and
// resolves the secrets, so a missing one is reported by `flowmeter config check`.
func NewSource(name string, s collectors.Settings) (collectors.Source, error) {
	var set Settings
	if err := s.Decode(&set); err != nil {
		return nil, err
	}
	r, err := resolve(set, s)
	if err != nil {
		return nil, err
	}
	return newSource(name, r, http.DefaultTransport), nil
}

func newSource(name string, r *resolved, base http.RoundTripper) *Source {
	return &Source{
		name: name, set: r, client: &http.Client{Transport: base, Timeout: 2 * time.Minute},
		sleep: httpwait.Sleep, log: slog.New(slog.DiscardHandler), now: time.Now,
	}
}

// stream is one cursor stream: a project, or the whole JQL when no project is named.
type stream struct {
	name    string // the cursor's stream, "issues:PAY" or "issues"
	unit    string // for progress reports, "PAY" or "jql"
	project string // empty for the JQL stream
}

func (s *Source) streams() []stream {
	if len(s.set.projects) == 0 {
		return []stream{{name: "issues", unit: "jql"}}
	}
	out := make([]stream, 0, len(s.set.projects))
	for _, p := range s.set.projects {
		out = append(out, stream{name: "issues:" + p, unit: p, project: p})
	}
	return out
}

// run is the state of one collection.
type run struct {
	*Source
	w     collectors.Writer
	opts  collectors.CollectOptions
	floor time.Time
	tz    *time.Location
	// statuses is the run's status list, read when the first status change needs
	// it (or kept from an earlier run); fresh says it was read in this run.
	statuses map[string]string
	fresh    bool
}

// cursorValue is what a stream's cursor holds.
type cursorValue struct {
	// Updated is the latest issue update time whose issue, and every issue updated
	// before it, is written.
	Updated time.Time `json:"updated"`
}

// Collect collects every stream. It stops at the first failure: a refused credential
// or an unreadable answer would fail every stream alike.
func (s *Source) Collect(ctx context.Context, w collectors.Writer, opts collectors.CollectOptions) error {
	s.log = opts.Log().With("source", s.name)
	s.now = opts.Clock()
	s.requests.Store(0)
	r := &run{Source: s, w: w, opts: opts}
	r.floor = s.set.since.Start(s.now().UTC())
	if !opts.Since.IsZero() {
		r.floor = opts.Since.UTC()
	}
	if s.tz == nil || s.now().Sub(s.tzAt) >= accountInfoTTL {
		tz, err := r.timeZone(ctx)
		if err != nil {
			return s.fail(err)
		}
		s.tz, s.tzAt = tz, s.now()
	}
	tz := s.tz
	r.tz = tz
	s.log.Info("collecting", "streams", len(s.streams()), "since", r.floor.Format(time.DateOnly), "time_zone", tz.String())
	for _, st := range s.streams() {
		if err := r.collectStream(ctx, st); err != nil {
			return s.fail(fmt.Errorf("%s: %w", st.unit, err))
		}
	}
	s.log.Info("collected", "requests", s.requests.Load())
	return nil
}

// fail words an error for the user: a refused credential names the settings that
// hold it.
func (s *Source) fail(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	switch statusOf(err) {
	case http.StatusUnauthorized:
		return fmt.Errorf("jira %s: the credentials were refused (401): check %s: %w", s.name, s.set.authRef(), err)
	case http.StatusForbidden:
		return fmt.Errorf("jira %s: access denied (403): the account behind %s lacks permission (or is blocked by CAPTCHA after failed logins): %w", s.name, s.set.authRef(), err)
	}
	return fmt.Errorf("jira %s: %w", s.name, err)
}

// timeZone is the Jira user's time zone, in which Jira reads the dates in JQL.
func (r *run) timeZone(ctx context.Context) (*time.Location, error) {
	var me apiMyself
	if err := r.do(ctx, http.MethodGet, r.set.apiPath()+"/myself", nil, nil, &me); err != nil {
		return nil, fmt.Errorf("reading the account's time zone: %w", err)
	}
	if me.TimeZone == "" {
		return time.UTC, nil
	}
	tz, err := time.LoadLocation(me.TimeZone)
	if err != nil {
		// Overlap covers at most the largest offset from UTC when the zone is unknown.
		r.log.Warn("unknown time zone; searching 14 hours further back", "time_zone", me.TimeZone)
		return time.FixedZone("unknown", 14*3600), nil
	}
	return tz, nil
}

// jqlDate formats t as a JQL date in zone tz, rounded down to the minute (JQL's
// precision). Where a clock change makes the local minute ambiguous it goes back
// past the change, so the bound is never later than t.
func jqlDate(t time.Time, tz *time.Location) string {
	if tz.String() == "unknown" {
		t = t.Add(-14 * time.Hour)
		tz = time.UTC
	}
	local := t.In(tz)
	_, before := t.Add(-2 * time.Hour).In(tz).Zone()
	_, at := local.Zone()
	_, after := t.Add(2 * time.Hour).In(tz).Zone()
	if before != at || at != after {
		local = t.Add(-2 * time.Hour).In(tz)
	}
	return local.Truncate(time.Minute).Format("2006/01/02 15:04")
}

// jql is the search of one stream from bound on, oldest update first.
func (r *run) jql(st stream, bound time.Time) string {
	var b strings.Builder
	if st.project != "" {
		fmt.Fprintf(&b, "project = %q AND ", st.project)
	}
	fmt.Fprintf(&b, "updated >= %q", jqlDate(bound, r.tz))
	if r.set.jql != "" {
		fmt.Fprintf(&b, " AND (%s)", r.set.jql)
	}
	b.WriteString(" ORDER BY updated ASC, key ASC")
	return b.String()
}

// loadCursor reads a stream's cursor; a missing one (or --full) gives zero.
func (r *run) loadCursor(ctx context.Context, name string) (time.Time, error) {
	var v cursorValue
	err := collectors.LoadCursor(ctx, r.w, r.opts, r.name, name, &v)
	return v.Updated, err
}

// collectStream searches one stream from its cursor and writes each page of issues
// in one batch with the cursor that covers it.
//
// The search is ordered by update time, so an issue edited during the search moves
// to its end and every issue after it moves up a place: paging by offset (startAt,
// or Cloud's nextPageToken) would skip the issue at the next page boundary. So
// after each page the search starts again from the page's last update time (JQL's
// minute, in the account's zone), skipping the issues this run already wrote with
// the same update time; only when that would repeat the same search (the whole page
// within the bound's minute) does it go on by offset within the search.
func (r *run) collectStream(ctx context.Context, st stream) error {
	cursor, err := r.loadCursor(ctx, st.name)
	if err != nil {
		return fmt.Errorf("reading the cursor: %w", err)
	}
	bound := r.floor
	if !cursor.IsZero() {
		bound = cursor.Add(-r.set.overlap)
		// --since earlier than the cursor collects the stream again from there; the
		// cursor stays where it is (it only moves forward).
		if since := r.opts.Since; !since.IsZero() && since.Before(bound) {
			bound = since.UTC()
			r.log.Info("collecting again from --since, before the cursor", "stream", st.name,
				"since", bound.Format(time.RFC3339), "cursor", cursor.Format(time.RFC3339))
		}
	}
	jql := r.jql(st, bound)
	r.log.Debug("searching", "stream", st.name, "jql", jql)
	// written holds the update time of each issue written in this run.
	written := map[string]time.Time{}
	done := 0
	token, startAt := "", 0
	for page := 0; ; page++ {
		p, err := r.search(ctx, jql, token, startAt)
		if err != nil {
			if statusOf(err) == http.StatusBadRequest && st.project != "" {
				return fmt.Errorf("Jira refused the search (does project %s exist, and may the account browse it?): %w", st.project, err)
			}
			return fmt.Errorf("searching: %w", err)
		}
		if page == 0 && len(p.Issues) == 0 && cursor.IsZero() {
			r.log.Warn("the search found no issues at all; check the project key, the jql and the account's access",
				"stream", st.name, "since", bound.Format(time.RFC3339))
		}
		fresh := make([]apiIssue, 0, len(p.Issues))
		var pageFirst, pageLast time.Time
		for i, is := range p.Issues {
			updated, err := parseTime(is.Fields.Updated)
			if err != nil {
				return fmt.Errorf("issue %s: updated: %w", is.Key, err)
			}
			if i == 0 {
				pageFirst = updated
			}
			pageLast = updated
			if at, ok := written[is.Key]; ok && at.Equal(updated) {
				continue
			}
			fresh = append(fresh, is)
		}
		b, latest, err := r.records(ctx, fresh)
		if err != nil {
			return err
		}
		if latest.After(cursor) {
			cursor = latest
		}
		if !cursor.IsZero() {
			v, _ := json.Marshal(cursorValue{Updated: cursor})
			b.Cursors = append(b.Cursors, schema.Cursor{Source: r.name, Stream: st.name, Value: string(v), UpdatedAt: r.now().UTC().Truncate(time.Second)})
		}
		if b.Len() > 0 || len(b.Cursors) > 0 {
			if err := r.w.Write(ctx, b); err != nil {
				return fmt.Errorf("writing: %w", err)
			}
		}
		for _, wi := range b.WorkItems {
			written[wi.ID] = wi.UpdatedAt
		}
		done += len(fresh)
		last := lastPage(p, startAt, r.set.datacenter)
		total := 0
		if p.Total > 0 {
			total = done + max(0, p.Total-startAt-len(p.Issues))
		}
		r.opts.Report(collectors.Report{Source: r.name, Unit: st.unit, Stream: "issues", Done: done, Total: total,
			Requests: int(r.requests.Load()), RateRemaining: -1, Finished: last})
		if last {
			return nil
		}
		// Start again from the page's last update when that skips at least the
		// page's first minute; else (the whole page within one minute, which a new
		// search would read again) go on by offset in the same search.
		if from := jqlDate(pageLast, r.tz); from > jqlDate(pageFirst, r.tz) && from > jqlDate(bound, r.tz) {
			next := r.jql(st, pageLast)
			bound, jql, token, startAt = pageLast, next, "", 0
			r.log.Debug("searching on", "stream", st.name, "jql", jql)
			continue
		}
		token, startAt = p.NextPageToken, startAt+len(p.Issues)
	}
}

// lastPage says whether a search page ends the search.
func lastPage(p *searchPage, startAt int, datacenter bool) bool {
	if datacenter {
		return len(p.Issues) == 0 || startAt+len(p.Issues) >= p.Total
	}
	return p.NextPageToken == "" || (p.IsLast != nil && *p.IsLast)
}

// search fetches one page: Cloud's /search/jql by token, Data Center's /search by
// offset.
func (r *run) search(ctx context.Context, jql, token string, startAt int) (*searchPage, error) {
	fields := searchFields
	if r.set.worklogs {
		fields = append(append([]string(nil), searchFields...), "worklog")
	}
	q := url.Values{
		"jql": {jql}, "maxResults": {strconv.Itoa(r.set.pageSize)},
		"fields": {strings.Join(fields, ",")}, "expand": {"changelog"},
	}
	var p searchPage
	path := "/rest/api/3/search/jql"
	if r.set.datacenter {
		path = "/rest/api/2/search"
		q.Set("startAt", strconv.Itoa(startAt))
	} else if token != "" {
		q.Set("nextPageToken", token)
	}
	if err := r.do(ctx, http.MethodGet, path, q, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// records turns a page of issues into a batch, fetching the changelogs and
// worklogs the search did not inline in full. latest is the page's latest update.
func (r *run) records(ctx context.Context, issues []apiIssue) (*schema.Batch, time.Time, error) {
	b := &schema.Batch{}
	var latest time.Time
	histories, err := r.fullChangelogs(ctx, issues)
	if err != nil {
		return nil, latest, fmt.Errorf("changelogs: %w", err)
	}
	for i := range issues {
		is := &issues[i]
		wi, err := r.workItem(is)
		if err != nil {
			return nil, latest, err
		}
		if wi.UpdatedAt.After(latest) {
			latest = wi.UpdatedAt
		}
		b.WorkItems = append(b.WorkItems, wi)
		hs := histories[is.Key]
		if hs == nil && is.Changelog != nil {
			hs = is.Changelog.Histories
		}
		changes, err := r.statusChanges(ctx, is.Key, hs)
		if err != nil {
			return nil, latest, err
		}
		b.StatusChanges = append(b.StatusChanges, changes...)
		if r.set.worklogs {
			wls, err := r.worklogs(ctx, is)
			if err != nil {
				return nil, latest, fmt.Errorf("worklogs of %s: %w", is.Key, err)
			}
			for _, wl := range wls {
				rec, err := r.worklog(is.Key, wl)
				if err != nil {
					return nil, latest, err
				}
				b.Worklogs = append(b.Worklogs, rec)
			}
		}
	}
	return b, latest, nil
}

// changelogInline is the most changelog histories Jira Cloud's search inlines.
const changelogInline = 40

// truncated says whether the search inlined less than an issue's whole changelog:
// its total says so, or (on Cloud) it holds as many histories as Cloud inlines at
// most, since a cut-short changelog's total has been seen to give the count
// inlined.
func truncated(is *apiIssue, datacenter bool) bool {
	if is.Changelog == nil {
		return false
	}
	n := len(is.Changelog.Histories)
	return is.Changelog.Total > n || (!datacenter && n >= changelogInline)
}

// fullChangelogs fetches the whole status history of the issues whose changelog the
// search cut short: one bulk request (paged) for the page on Cloud, each issue's
// changelog paged on Data Center. Issues not cut short are not in the map.
func (r *run) fullChangelogs(ctx context.Context, issues []apiIssue) (map[string][]apiHistory, error) {
	out := map[string][]apiHistory{}
	var keys []string
	byID := map[string]string{}
	for i := range issues {
		if truncated(&issues[i], r.set.datacenter) {
			keys = append(keys, issues[i].Key)
			byID[issues[i].ID] = issues[i].Key
			out[issues[i].Key] = []apiHistory{}
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	if r.set.datacenter {
		for _, key := range keys {
			hs, err := r.issueChangelog(ctx, key)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			out[key] = hs
		}
		return out, nil
	}
	for start := 0; start < len(keys); start += bulkIssues {
		chunk := keys[start:min(start+bulkIssues, len(keys))]
		req := bulkChangelogRequest{IssueIDsOrKeys: chunk, FieldIDs: []string{"status"}, MaxResults: bulkChangelogSize}
		for {
			var p bulkChangelogPage
			if err := r.do(ctx, http.MethodPost, "/rest/api/3/changelog/bulkfetch", nil, req, &p); err != nil {
				return nil, err
			}
			for _, l := range p.IssueChangeLogs {
				key, ok := byID[l.IssueID]
				if !ok {
					key = l.IssueID // Jira may answer with the key it was given
				}
				out[key] = append(out[key], l.ChangeHistories...)
			}
			if p.NextPageToken == "" {
				break
			}
			req.NextPageToken = p.NextPageToken
		}
	}
	return out, nil
}

// issueChangelog is one issue's whole changelog on Data Center: paged by startAt
// where the version serves /issue/{key}/changelog, else (404) in one piece from the
// issue itself with expand=changelog, which a version without it does not cut short.
func (r *run) issueChangelog(ctx context.Context, key string) ([]apiHistory, error) {
	var out []apiHistory
	for startAt := 0; ; {
		var p changelogPage
		q := url.Values{"startAt": {strconv.Itoa(startAt)}, "maxResults": {strconv.Itoa(changelogPageSize)}}
		err := r.do(ctx, http.MethodGet, "/rest/api/2/issue/"+url.PathEscape(key)+"/changelog", q, nil, &p)
		if statusOf(err) == http.StatusNotFound && startAt == 0 {
			var is apiIssue
			q := url.Values{"fields": {"updated"}, "expand": {"changelog"}}
			if err := r.do(ctx, http.MethodGet, "/rest/api/2/issue/"+url.PathEscape(key), q, nil, &is); err != nil {
				return nil, err
			}
			if is.Changelog == nil {
				return nil, nil
			}
			return is.Changelog.Histories, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p.Values...)
		startAt += len(p.Values)
		if p.IsLast || len(p.Values) == 0 || startAt >= p.Total {
			return out, nil
		}
	}
}

// worklogs are an issue's worklogs: those the search inlined, or every page of the
// issue's worklog list when the search inlined only some.
func (r *run) worklogs(ctx context.Context, is *apiIssue) ([]apiWorklog, error) {
	wl := is.Fields.Worklog
	if wl == nil {
		return nil, nil
	}
	if wl.Total <= len(wl.Worklogs) {
		return wl.Worklogs, nil
	}
	var all []apiWorklog
	for startAt := 0; ; {
		var p apiWorklogs
		q := url.Values{"startAt": {strconv.Itoa(startAt)}, "maxResults": {strconv.Itoa(worklogPageSize)}}
		if err := r.do(ctx, http.MethodGet, r.set.apiPath()+"/issue/"+url.PathEscape(is.Key)+"/worklog", q, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Worklogs...)
		startAt += len(p.Worklogs)
		if len(p.Worklogs) == 0 || startAt >= p.Total {
			return all, nil
		}
	}
}

// category is a status's category name, by status id or name; reading the status
// list once per run the first time it is needed.
func (r *run) category(ctx context.Context, id, name string) (string, error) {
	if id == "" && name == "" {
		return "", nil
	}
	if r.statuses == nil {
		r.mu.Lock()
		if r.categories != nil && r.now().Sub(r.categoriesAt) < accountInfoTTL {
			r.statuses = r.categories
		}
		r.mu.Unlock()
	}
	for {
		if r.statuses == nil {
			var list []apiStatus
			if err := r.do(ctx, http.MethodGet, r.set.apiPath()+"/status", nil, nil, &list); err != nil {
				return "", fmt.Errorf("reading the status list: %w", err)
			}
			r.statuses, r.fresh = categoryMap(list), true
			r.mu.Lock()
			r.categories, r.categoriesAt = r.statuses, r.now()
			r.mu.Unlock()
		}
		if c, ok := r.statuses["id:"+id]; ok && id != "" {
			return c, nil
		}
		if c, ok := r.statuses["name:"+strings.ToLower(name)]; ok || r.fresh {
			return c, nil
		}
		r.statuses = nil // a status created since the kept list was read
	}
}

// categoryMap indexes a status list by id and by lower-case name.
func categoryMap(list []apiStatus) map[string]string {
	m := make(map[string]string, 2*len(list))
	for _, st := range list {
		c := categoryName(st.StatusCategory)
		m["id:"+st.ID] = c
		if _, taken := m["name:"+strings.ToLower(st.Name)]; !taken {
			m["name:"+strings.ToLower(st.Name)] = c
		}
	}
	return m
}

// statusChanges are the status transitions among histories.
func (r *run) statusChanges(ctx context.Context, key string, hs []apiHistory) ([]schema.StatusChange, error) {
	var out []schema.StatusChange
	for _, h := range hs {
		n := 0
		for _, it := range h.Items {
			if !isStatusItem(it) {
				continue
			}
			from, err := r.category(ctx, it.From, it.FromString)
			if err != nil {
				return nil, err
			}
			to, err := r.category(ctx, it.To, it.ToString)
			if err != nil {
				return nil, err
			}
			sc, err := r.statusChange(key, h.ID, h.Author, h.Created, n, it, from, to)
			if err != nil {
				return nil, err
			}
			out = append(out, sc)
			n++
		}
	}
	return out, nil
}
