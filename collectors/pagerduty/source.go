// Package pagerduty collects incidents from PagerDuty's REST API v2: each incident
// with its service, urgency, priority, title, when it was opened, first acknowledged
// and resolved. Two streams, each with its own cursor written in the batch of the
// records it covers, keep collections incremental and resumable:
//
//   - "incidents" lists the incidents created since the last run (GET /incidents,
//     windows by creation time, offset pagination), splitting a window whose results
//     would pass PagerDuty's 10,000-record paging ceiling;
//   - "log_entries" reads the account's overview log entries since the last run
//     (GET /log_entries), which give the first acknowledgement of every incident and
//     every acknowledgement or resolution of an incident listed in an earlier run,
//     with the incident's current state included, so open incidents are followed
//     until they are resolved at no per-incident cost.
//
// Each stream starts settle (5 minutes) before its cursor, for what PagerDuty lists
// a little after its created_at; the records read again are the same records.
//
// It also turns PagerDuty's v3 webhook events into the same records (HandleEvent).
package pagerduty

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
)

// The streams' names, as their cursors are stored.
const (
	streamIncidents  = "incidents"
	streamLogEntries = "log_entries"
)

// ceiling is PagerDuty's paging limit: a request whose offset+limit passes it is
// refused (400, code 2002), so a window holding more is split.
const ceiling = 10000

// maxWindow is the longest since/until range asked for: PagerDuty allows at most six
// months, which 180 days never exceeds.
const maxWindow = 180 * 24 * time.Hour

// settle is how far before its cursor each run reads a stream again: PagerDuty may
// list an incident or a log entry a little after its created_at, after a run that
// read up to its start has passed it. Records are keyed by id, so reading them
// again only writes the same records again.
const settle = 5 * time.Minute

// The log entry types that change an incident's record.
const (
	acknowledgeEntry = "acknowledge_log_entry"
	resolveEntry     = "resolve_log_entry"
)

// Source collects one PagerDuty account.
type Source struct {
	name   string
	set    *resolved
	client *client
}

var (
	_ collectors.Source       = (*Source)(nil)
	_ collectors.EventHandler = (*Source)(nil)
)

// NewSource is the PagerDuty source's collectors.Factory: it validates the settings
// and resolves the API key, so `flowmeter config check` catches a missing one.
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

func newSource(name string, r *resolved, rt http.RoundTripper) *Source {
	return &Source{name: name, set: r, client: newClient(r.baseURL, r.token, rt)}
}

// reference is PagerDuty's reference to another object: its id and a summary, which
// for services, teams and priorities is their name.
type reference struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
	Name    string `json:"name"`
}

// incident is the part of PagerDuty's incident object the records use.
type incident struct {
	ID                 string      `json:"id"`
	Number             int64       `json:"incident_number"`
	Title              string      `json:"title"`
	Status             string      `json:"status"`
	Urgency            string      `json:"urgency"`
	Priority           *reference  `json:"priority"`
	Service            *reference  `json:"service"`
	Teams              []reference `json:"teams"`
	CreatedAt          time.Time   `json:"created_at"`
	HTMLURL            string      `json:"html_url"`
	LastStatusChangeAt *time.Time  `json:"last_status_change_at"`
	ResolvedAt         *time.Time  `json:"resolved_at"`
}

// logEntry is the part of a log entry the records use; with include[]=incidents its
// incident is the full incident object, as it is when the entry is read.
type logEntry struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Incident  *incident `json:"incident"`
}

// listMeta is the classic pagination part of every list answer.
type listMeta struct {
	Limit  int  `json:"limit"`
	Offset int  `json:"offset"`
	More   bool `json:"more"`
	Total  *int `json:"total"`
}

// position is where a stream stands: everything created from From and before Done
// is read; when Until is set, the window [Done, Until) is being read and its first
// Offset items are written.
type position struct {
	From   time.Time `json:"from"`
	Done   time.Time `json:"done"`
	Until  time.Time `json:"until,omitzero"`
	Offset int       `json:"offset,omitempty"`
}

// logCursor is the log_entries stream's cursor: its position, and the first
// acknowledgement of every incident acknowledged but not yet seen resolved, for the
// record written when it is resolved in a later run, and of those resolved within
// settle before the position, whose resolution the next run reads again.
type logCursor struct {
	position
	Acks map[string]time.Time `json:"acks,omitempty"`
}

// run is the state of one collection.
type run struct {
	*Source
	w     collectors.Writer
	opts  collectors.CollectOptions
	log   *slog.Logger
	now   time.Time
	floor time.Time
	// serviceIDs and teamIDs are the configured filters as ids; nil keeps all.
	serviceIDs map[string]bool
	teamIDs    []string
	// listed is the incidents stream's Done at the start of the run: incidents
	// created before it were listed by an earlier run.
	listed time.Time
	// acks is the first acknowledgement known of each incident; persisted holds
	// those the log_entries cursor keeps; resolved the time of the resolve entry
	// this run has read of each incident.
	acks      map[string]time.Time
	persisted map[string]time.Time
	resolved  map[string]time.Time
	// before is the client's request count when the run started: the source
	// outlives its runs under `flowmeter run`, and reports count this run's.
	before int
}

// Collect lists the incidents created since the last run, then reads the log entries
// since the last run for acknowledgements and resolutions. A 401 or 403 stops it at
// once with an error naming the key's setting.
func (s *Source) Collect(ctx context.Context, w collectors.Writer, opts collectors.CollectOptions) error {
	log := opts.Log().With("source", s.name)
	s.client.mu.Lock()
	s.client.log = log
	s.client.mu.Unlock()
	now := opts.Clock()().UTC().Truncate(time.Second)
	r := &run{Source: s, w: w, opts: opts, log: log, now: now, floor: s.set.since.Start(now),
		acks: map[string]time.Time{}, persisted: map[string]time.Time{}, resolved: map[string]time.Time{}}
	if !opts.Since.IsZero() {
		r.floor = opts.Since.UTC().Truncate(time.Second)
	}
	r.before, _ = s.client.stats()
	if err := r.collect(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("pagerduty %s: %w", s.name, explain(err))
	}
	requests, remaining := s.client.stats()
	log.Info("collected", "requests", requests-r.before, "rate_limit_remaining", remaining)
	return nil
}

// explain turns an access error into words a user can act on.
func explain(err error) error {
	switch statusOf(err) {
	case http.StatusUnauthorized:
		return fmt.Errorf("the API key was refused (401 Unauthorized): check token_env/token_file: %w", err)
	case http.StatusForbidden:
		return fmt.Errorf("the API key may not read this (403 Forbidden): check token_env/token_file names a key with read access: %w", err)
	}
	return err
}

func (r *run) collect(ctx context.Context) error {
	if err := r.resolveFilters(ctx); err != nil {
		return err
	}
	var inc position
	if err := r.loadCursor(ctx, streamIncidents, &inc); err != nil {
		return err
	}
	var lc logCursor
	if err := r.loadCursor(ctx, streamLogEntries, &lc); err != nil {
		return err
	}
	// A stream never read, or asked to start earlier than it did (--since, or an
	// earlier since setting), is read afresh from the backfill start.
	if inc.Done.IsZero() || r.floor.Before(inc.From) {
		inc = position{From: r.floor, Done: r.floor}
	}
	if lc.Done.IsZero() || r.floor.Before(lc.From) {
		lc.position = position{From: r.floor, Done: r.floor}
	}
	for id, at := range lc.Acks {
		r.acks[id], r.persisted[id] = at, at
	}
	inc, lc.position = inc.settled(), lc.position.settled()
	r.listed = inc.Done
	r.log.Info("collecting", "incidents_since", inc.Done.Format(time.RFC3339), "log_entries_since", lc.Done.Format(time.RFC3339))
	done := 0
	if err := r.walk(ctx, streamIncidents, inc, func(ctx context.Context, w window, offset int) (fetched, error) {
		return r.incidentsPage(ctx, w, offset, &done)
	}); err != nil {
		return fmt.Errorf("incidents: %w", err)
	}
	done = 0
	if err := r.walk(ctx, streamLogEntries, lc.position, func(ctx context.Context, w window, offset int) (fetched, error) {
		return r.logPage(ctx, w, offset, &done)
	}); err != nil {
		return fmt.Errorf("log entries: %w", err)
	}
	return nil
}

// resolveFilters turns the configured services and teams, ids or names, into ids,
// warning about each that matches nothing.
func (r *run) resolveFilters(ctx context.Context) error {
	if len(r.set.services) > 0 {
		ids, err := r.match(ctx, "services", r.set.services)
		if err != nil {
			return err
		}
		r.serviceIDs = map[string]bool{}
		for _, id := range ids {
			r.serviceIDs[id] = true
		}
	}
	if len(r.set.teams) > 0 {
		ids, err := r.match(ctx, "teams", r.set.teams)
		if err != nil {
			return err
		}
		r.teamIDs = ids
	}
	return nil
}

// match lists a kind of object (services, teams) and returns the ids of those the
// wanted entries name by id or, regardless of case, by name.
func (r *run) match(ctx context.Context, kind string, wanted []string) ([]string, error) {
	var all []reference
	for offset := 0; ; {
		q := url.Values{"limit": {strconv.Itoa(r.set.pageSize)}, "offset": {strconv.Itoa(offset)}}
		var page struct {
			Services []reference `json:"services"`
			Teams    []reference `json:"teams"`
			listMeta
		}
		if err := r.client.get(ctx, "/"+kind, q, &page); err != nil {
			return nil, fmt.Errorf("listing %s: %w", kind, err)
		}
		items := page.Services
		if kind == "teams" {
			items = page.Teams
		}
		meta := page.listMeta
		all = append(all, items...)
		if !meta.More || len(items) == 0 {
			break
		}
		offset += len(items)
	}
	var ids []string
	for _, want := range wanted {
		found := false
		for _, o := range all {
			if o.ID == want || strings.EqualFold(o.Name, want) || strings.EqualFold(o.Summary, want) {
				if !slices.Contains(ids, o.ID) {
					ids = append(ids, o.ID)
				}
				found = true
			}
		}
		if !found {
			r.log.Warn("a configured "+strings.TrimSuffix(kind, "s")+" matches nothing in PagerDuty; check the id or name", kind, want)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("none of the configured %s (%s) exists in PagerDuty", kind, strings.Join(wanted, ", "))
	}
	return ids, nil
}

// loadCursor reads a stream's cursor into v; a missing one (or --full) leaves v zero.
func (r *run) loadCursor(ctx context.Context, stream string, v any) error {
	return collectors.LoadCursor(ctx, r.w, r.opts, r.name, stream, v)
}

// cursor encodes a stream's position for writing in the batch it covers.
func (r *run) cursor(stream string, v any) schema.Cursor {
	return collectors.JSONCursor(r.opts, r.name, stream, v)
}

// window is a since/until range, since included and until not.
type window struct{ since, until time.Time }

// fetched is one page read: how many items it held, whether more follow, the
// window's total when PagerDuty gave it (-1 otherwise), and how to write the page's
// records with the position after it.
type fetched struct {
	n      int
	more   bool
	total  int
	commit func(ctx context.Context, next position) error
}

// walk reads a stream from pos up to the run's start, window by window and page by
// page, writing each page with the position after it. A window whose total shows it
// would pass the paging ceiling, or one refused at the ceiling, is halved and read
// again, until every window fits.
func (r *run) walk(ctx context.Context, stream string, pos position, fetch func(context.Context, window, int) (fetched, error)) error {
	size := maxWindow
	for pos.Done.Before(r.now) {
		w, offset := window{since: pos.Done, until: pos.Until}, pos.Offset
		if w.until.IsZero() {
			w.until, offset = minTime(w.since.Add(size), r.now), 0
		}
		for {
			page, err := fetch(ctx, w, offset)
			over := err == nil && offset == 0 && page.total > 0 && (page.total-1)/r.set.pageSize*r.set.pageSize+r.set.pageSize > ceiling
			if over || isCeiling(err) {
				half := (w.until.Sub(w.since) / 2).Truncate(time.Second)
				if half < time.Second {
					return fmt.Errorf("more than %d records created within one second from %s: PagerDuty cannot page through them", ceiling, w.since.Format(time.RFC3339))
				}
				r.log.Info("window past PagerDuty's paging ceiling; splitting it", "stream", stream,
					"since", w.since.Format(time.RFC3339), "until", w.until.Format(time.RFC3339), "total", page.total)
				size, pos = half, position{From: pos.From, Done: w.since}
				break
			}
			if err != nil {
				return err
			}
			next := position{From: pos.From, Done: w.until}
			if page.more && page.n > 0 {
				next = position{From: pos.From, Done: w.since, Until: w.until, Offset: offset + page.n}
			}
			if err := page.commit(ctx, next); err != nil {
				return err
			}
			pos = next
			if next.Until.IsZero() {
				// A window well below the ceiling lets the next one be longer; a
				// window found too full only by PagerDuty's error cost a hundred
				// pages, so the size found is kept rather than tried again.
				if offset+page.n < ceiling/4 {
					size = min(size*2, maxWindow)
				}
				break
			}
			offset = next.Offset
		}
	}
	return nil
}

// settled moves a position between windows back by settle (not before From), so
// that what PagerDuty listed late is read.
func (p position) settled() position {
	if p.Until.IsZero() && p.Done.Add(-settle).After(p.From) {
		p.Done = p.Done.Add(-settle)
	} else if p.Until.IsZero() {
		p.Done = p.From
	}
	return p
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// windowQuery is the query of a list request over a window.
func (r *run) windowQuery(w window, offset int) url.Values {
	q := url.Values{
		"since":     {w.since.Format(time.RFC3339)},
		"until":     {w.until.Format(time.RFC3339)},
		"time_zone": {"UTC"},
		"limit":     {strconv.Itoa(r.set.pageSize)},
		"offset":    {strconv.Itoa(offset)},
	}
	if offset == 0 {
		// The total costs PagerDuty a count but tells at once whether the window
		// must be split, before any page of it is written.
		q.Set("total", "true")
	}
	for _, id := range r.teamIDs {
		q.Add("team_ids[]", id)
	}
	return q
}

func total(t *int) int {
	if t == nil {
		return -1
	}
	return *t
}

// incidentsPage reads one page of the incidents created in a window.
func (r *run) incidentsPage(ctx context.Context, w window, offset int, done *int) (fetched, error) {
	q := r.windowQuery(w, offset)
	q.Set("sort_by", "created_at:asc")
	for id := range r.serviceIDs {
		q.Add("service_ids[]", id)
	}
	var page struct {
		Incidents []incident `json:"incidents"`
		listMeta
	}
	if err := r.client.get(ctx, "/incidents", q, &page); err != nil {
		return fetched{}, err
	}
	return fetched{n: len(page.Incidents), more: page.More, total: total(page.Total), commit: func(ctx context.Context, next position) error {
		b := &schema.Batch{}
		for i := range page.Incidents {
			in := &page.Incidents[i]
			if in.ID == "" {
				continue
			}
			b.Incidents = append(b.Incidents, r.record(in, r.acks[in.ID]))
		}
		b.Cursors = []schema.Cursor{r.cursor(streamIncidents, next)}
		if err := r.w.Write(ctx, b); err != nil {
			return err
		}
		*done += len(b.Incidents)
		r.report(streamIncidents, *done, total(page.Total), next.Until.IsZero() && !next.Done.Before(r.now))
		return nil
	}}, nil
}

// logPage reads one page of the overview log entries of a window, and writes the
// records of the incidents whose acknowledgement or resolution it holds.
func (r *run) logPage(ctx context.Context, w window, offset int, done *int) (fetched, error) {
	q := r.windowQuery(w, offset)
	q.Set("is_overview", "true")
	q.Add("include[]", "incidents")
	var page struct {
		LogEntries []logEntry `json:"log_entries"`
		listMeta
	}
	if err := r.client.get(ctx, "/log_entries", q, &page); err != nil {
		return fetched{}, err
	}
	return fetched{n: len(page.LogEntries), more: page.More, total: total(page.Total), commit: func(ctx context.Context, next position) error {
		// First every acknowledgement of the page, whatever its order, then one
		// record per incident touched.
		touched := map[string]*incident{}
		var order []string
		for i := range page.LogEntries {
			e := &page.LogEntries[i]
			in := e.Incident
			if in == nil || in.ID == "" || !r.keeps(in) {
				continue
			}
			switch e.Type {
			case acknowledgeEntry:
				at := e.CreatedAt.UTC().Truncate(time.Second)
				if prev, ok := r.acks[in.ID]; !ok || at.Before(prev) {
					r.acks[in.ID] = at
				}
				r.persisted[in.ID] = r.acks[in.ID]
			case resolveEntry:
				// Its acknowledgement is kept while the next run reads this entry
				// again (settle), so that the record it writes keeps it.
				r.resolved[in.ID] = e.CreatedAt.UTC()
				if !in.CreatedAt.Before(r.listed) {
					// Listed by this run's incidents stream in its current state.
					continue
				}
			default:
				continue
			}
			if _, ok := touched[in.ID]; !ok {
				order = append(order, in.ID)
			}
			touched[in.ID] = in
		}
		b := &schema.Batch{}
		for _, id := range order {
			b.Incidents = append(b.Incidents, r.record(touched[id], r.acks[id]))
		}
		for id := range r.persisted {
			if at, ok := r.resolved[id]; ok && at.Before(next.Done.Add(-settle)) {
				delete(r.persisted, id)
			}
		}
		b.Cursors = []schema.Cursor{r.cursor(streamLogEntries, logCursor{position: next, Acks: r.persisted})}
		if err := r.w.Write(ctx, b); err != nil {
			return err
		}
		*done += len(page.LogEntries)
		r.report(streamLogEntries, *done, total(page.Total), next.Until.IsZero() && !next.Done.Before(r.now))
		return nil
	}}, nil
}

// keeps says whether the service filter keeps an incident; the team filter is
// applied by PagerDuty.
func (r *run) keeps(in *incident) bool {
	return r.serviceIDs == nil || (in.Service != nil && r.serviceIDs[in.Service.ID])
}

// report sends a progress report for a stream.
func (r *run) report(stream string, done, total int, finished bool) {
	requests, remaining := r.client.stats()
	if total < 0 {
		total = 0
	}
	r.opts.Report(collectors.Report{
		Source: r.name, Unit: "account", Stream: stream, Done: done, Total: total,
		Requests: requests - r.before, RateRemaining: remaining, Finished: finished,
	})
}

// record is the Incident record of a PagerDuty incident whose first acknowledgement
// is ack (zero when none is known).
func (s *Source) record(in *incident, ack time.Time) schema.Incident {
	rec := schema.Incident{
		Source: s.name, ID: in.ID, Kind: schema.IncidentKindIncident,
		Urgency: in.Urgency, Severity: in.Urgency, Title: in.Title,
		OpenedAt: ts(in.CreatedAt), AcknowledgedAt: ack, URL: in.HTMLURL,
	}
	if in.Service != nil {
		rec.Service = in.Service.Summary
	}
	if in.Priority != nil && in.Priority.Summary != "" {
		rec.Priority = in.Priority.Summary
		rec.Severity = in.Priority.Summary
	}
	if in.Status == "resolved" {
		switch {
		case in.ResolvedAt != nil:
			rec.ResolvedAt = ts(*in.ResolvedAt)
		case in.LastStatusChangeAt != nil:
			rec.ResolvedAt = ts(*in.LastStatusChangeAt)
		}
	}
	rec.UpdatedAt = rec.OpenedAt
	if in.LastStatusChangeAt != nil {
		rec.UpdatedAt = ts(*in.LastStatusChangeAt)
	}
	for _, t := range []time.Time{rec.AcknowledgedAt, rec.ResolvedAt} {
		if t.After(rec.UpdatedAt) {
			rec.UpdatedAt = t
		}
	}
	return rec
}

func ts(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Second)
}
