// Package opsgenie collects Opsgenie alerts and incidents as incident records:
// alerts (kind "alert": pages that are toil but count in no DORA figure) from the
// Alert API, incidents (kind "incident": they count in time to restore) from the
// Incident API. Each stream reads by createdAt window, oldest first, and keeps a
// cursor that also covers the alerts and incidents still open, so that a later
// acknowledgement, close or resolve is picked up. See README.md for the design and
// docs/opsgenie.md for users.
package opsgenie

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
)

// The streams, and the cursor names they are kept under.
const (
	streamAlerts    = "alerts"
	streamIncidents = "incidents"
)

// offsetCeiling is Opsgenie's bound on paging: offset + limit may not exceed
// 20,000 in one listing. Paging goes by createdAt, so offsets only grow within
// one millisecond; more than this many created within one cannot be listed.
const offsetCeiling = 20000

// overlap is how far below the end of the last window a collection reads again,
// for alerts Opsgenie indexes a little after their createdAt.
const overlap = 5 * time.Minute

// Source collects one Opsgenie account.
type Source struct {
	name   string
	set    *resolved
	client *client
	// ceiling is offsetCeiling; tests lower it, with the fake's, to reach it cheaply.
	ceiling int
}

// NewSource is the Opsgenie source's collectors.Factory: the registry builds the
// `opsgenie:` entries of flowmeter.yaml with it.
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
	return &Source{name: name, set: r, client: newClient(r.baseURL, r.key, rt), ceiling: offsetCeiling}
}

// run is the state of one collection.
type run struct {
	*Source
	w     collectors.Writer
	opts  collectors.CollectOptions
	log   *slog.Logger
	now   time.Time
	floor time.Time // the backfill start
	// services maps service ids to names, read once a run and only when an
	// incident names a service not known yet.
	services       map[string]string
	servicesLoaded bool
	// requests0 is the client's request count when the run began.
	requests0 int
}

// Collect collects the alerts and incidents streams the settings choose. A stream
// that fails is reported and the other still collected; a refused key (401) stops
// the collection at once with an error naming the setting to check.
func (s *Source) Collect(ctx context.Context, w collectors.Writer, opts collectors.CollectOptions) error {
	log := opts.Log().With("source", s.name)
	s.client.log = log
	r := &run{Source: s, w: w, opts: opts, log: log, now: opts.Clock()().UTC(), services: map[string]string{}, requests0: s.client.stats()}
	r.floor = s.set.since.Start(r.now)
	if !opts.Since.IsZero() {
		r.floor = opts.Since
	}
	log.Info("collecting", "alerts", s.set.alerts, "incidents", s.set.incidents, "since", r.floor.Format(time.DateOnly))
	var apis []streamAPI
	if s.set.alerts {
		apis = append(apis, streamAPI{name: streamAlerts, list: "/v2/alerts", get: "/v2/alerts/", extra: s.set.query, parse: r.alertItems})
	}
	if s.set.incidents {
		apis = append(apis, streamAPI{name: streamIncidents, list: "/v1/incidents", get: "/v1/incidents/", parse: r.incidentItems})
	}
	var failed []error
	for _, api := range apis {
		err := r.stream(ctx, api)
		if err == nil {
			continue
		}
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return err
		}
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			return r.fail(api.name, err)
		}
		log.Error("stream failed", "stream", api.name, "err", err)
		failed = append(failed, r.fail(api.name, err))
	}
	log.Info("collected", "requests", r.requests(), "failed_streams", len(failed))
	return errors.Join(failed...)
}

// requests is how many requests this run has sent.
func (r *run) requests() int { return r.client.stats() - r.requests0 }

// fail turns a stream's error into one the user can act on.
func (r *run) fail(what string, err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusUnauthorized:
			return fmt.Errorf("opsgenie %s: the API key was refused (401 %s): check api_key_env/api_key_file, and base_url for an EU account (https://api.eu.opsgenie.com): %w", r.name, ae.Message, err)
		case http.StatusForbidden:
			return fmt.Errorf("opsgenie %s: %s: the API key may not read them (403 %s): give the key read access, check api_key_env/api_key_file, or turn the stream off (the Incident API needs a Standard or Enterprise plan): %w", r.name, what, ae.Message, err)
		}
	}
	return fmt.Errorf("opsgenie %s: %s: %w", r.name, what, err)
}

// item is one alert or incident of a page, as a record and what the stream's
// cursor needs to know of it.
type item struct {
	rec     schema.Incident
	id      string // Opsgenie's id
	created int64  // createdAt, epoch milliseconds
	open    bool   // may still change: read again next run
}

// page is Opsgenie's list envelope.
type page struct {
	Data      []json.RawMessage `json:"data"`
	Took      float64           `json:"took"`
	RequestID string            `json:"requestId"`
}

// one is Opsgenie's envelope of a single alert or incident.
type one struct {
	Data json.RawMessage `json:"data"`
}

// maxOpen bounds how many open alerts (or incidents) a cursor follows, so that it
// stays well within a cursor's size limit; the newest are kept.
const maxOpen = 10000

// position is a stream's cursor. A collection is a pass over createdAt up to the
// time it starts. Between passes (At zero), everything created before From was
// read, and Open holds, by id, the createdAt of those that were still open when
// read: the next pass lists them again with the new ones
// ("createdAt>=… AND (status:open OR createdAt>=From)"), and fetches one by one
// those no longer listed as open, which closed since. During a pass, At is where
// it got to: the ids of Open created before At were read in this pass, those from
// At on are still to be confirmed, and an interrupted pass resumes at At.
type position struct {
	From int64            `json:"from"`           // epoch milliseconds
	At   int64            `json:"at,omitempty"`   // epoch milliseconds; 0 between passes
	Open map[string]int64 `json:"open,omitempty"` // id → createdAt, epoch milliseconds
}

// streamAPI is what differs between the alerts and incidents streams.
type streamAPI struct {
	name  string // the stream, and its cursor's name
	list  string // the list path
	get   string // the path of one, before its id
	extra string // a query ANDed in
	parse func(context.Context, []json.RawMessage) ([]item, error)
}

// stream collects one stream in one pass: windows of createdAt in [lo, hi),
// sorted ascending, each page written with the cursor that covers it. After a
// full page the next asks again from the last createdAt read, at offset 0,
// skipping the ids this pass has already read (keyset paging): offsets move when
// an alert closes or is deleted between two requests, createdAt does not. Only a
// page wholly within one millisecond is followed by offset.
func (r *run) stream(ctx context.Context, api streamAPI) error {
	var cur position
	if err := r.loadCursor(ctx, api.name, &cur); err != nil {
		return err
	}
	floor := r.floor.UnixMilli()
	// keepFrom bounds the followed ids: those created before the backfill start
	// (or --since, when earlier) are no longer followed.
	keepFrom := min(floor, r.set.since.Start(r.now).UnixMilli())
	if !r.opts.Since.IsZero() {
		// --since reads the stream again from its date, but the alerts still open
		// are still followed, wherever they were created.
		cur = position{Open: cur.Open}
	}
	from := max(floor, cur.From)
	// open: every id being followed, with its createdAt. pending: those of them
	// this pass has still to see listed.
	open, pending := map[string]int64{}, map[string]int64{}
	for id, ms := range cur.Open {
		if ms < keepFrom {
			continue // open for longer than the backfill reaches: no longer followed
		}
		open[id] = ms
		if ms >= cur.At {
			pending[id] = ms
		}
	}
	lo := from
	if cur.At > 0 {
		lo = max(floor, cur.At)
	}
	for _, ms := range pending {
		lo = min(lo, ms)
	}
	hi := r.now.UnixMilli()
	limit := r.set.pageSize
	seen := map[string]bool{}
	offset, done := 0, 0
	for {
		if offset+limit > r.ceiling {
			return fmt.Errorf("more than %d created within one millisecond (%s): Opsgenie cannot list them", r.ceiling, time.UnixMilli(lo).UTC().Format(time.RFC3339Nano))
		}
		q := fmt.Sprintf("createdAt>=%d AND createdAt<%d", lo, hi)
		if lo < from {
			q += fmt.Sprintf(" AND (status:open OR createdAt>=%d)", from)
		}
		if api.extra != "" {
			q += " AND (" + api.extra + ")"
		}
		var p page
		params := map[string]string{"query": q, "offset": strconv.Itoa(offset), "limit": strconv.Itoa(limit), "sort": "createdAt", "order": "asc"}
		if err := r.client.get(ctx, api.list, params, &p); err != nil {
			return err
		}
		items, err := api.parse(ctx, p.Data)
		if err != nil {
			return err
		}
		full := len(items) >= limit
		b := &schema.Batch{}
		keep := func(it item) {
			delete(pending, it.id)
			if it.open {
				open[it.id] = it.created
			} else {
				delete(open, it.id)
			}
			if !seen[it.id] {
				seen[it.id] = true
				b.Incidents = append(b.Incidents, it.rec)
			}
		}
		last := lo
		for _, it := range items {
			if it.created < lo || it.created >= hi {
				// Opsgenie listed it by another createdAt than it shows: it belongs
				// to another window, and failing on it would fail every run.
				r.log.Warn("listed outside the window asked for; skipped", "stream", api.name, "id", it.rec.ID,
					"created", time.UnixMilli(it.created).UTC().Format(time.RFC3339Nano),
					"from", time.UnixMilli(lo).UTC().Format(time.RFC3339Nano), "until", time.UnixMilli(hi).UTC().Format(time.RFC3339Nano))
				continue
			}
			last = max(last, it.created)
			keep(it)
		}
		// Those followed as open and created before this page's end that were
		// not listed as open any more have closed since: read them one by one.
		for id, ms := range pending {
			if full && ms >= last {
				continue
			}
			it, found, err := r.one(ctx, api, id)
			if err != nil {
				return err
			}
			if !found {
				delete(pending, id)
				delete(open, id)
				continue
			}
			keep(it)
		}
		var pos position
		if full {
			pos = position{From: from, At: last, Open: open}
		} else {
			pos = position{From: max(lo, hi-overlap.Milliseconds()), Open: open}
		}
		if len(open) > maxOpen {
			r.log.Warn("too many open to follow; following the newest", "stream", api.name, "open", len(open), "followed", maxOpen)
			pos.Open = newest(open, maxOpen)
		}
		b.Cursors = []schema.Cursor{r.cursor(api.name, pos)}
		if err := r.w.Write(ctx, b); err != nil {
			return fmt.Errorf("writing %s: %w", api.name, err)
		}
		done += len(b.Incidents)
		r.report(api.name, done, !full)
		if !full {
			r.log.Info("stream collected", "stream", api.name, "records", done, "open", len(pos.Open))
			return nil
		}
		if last > lo {
			// The records of the last millisecond read are listed again, and skipped.
			lo, offset = last, 0
		} else {
			offset += len(items) // a whole page within one millisecond
		}
	}
}

// one reads a single alert or incident by id; found is false when Opsgenie no
// longer has it.
func (r *run) one(ctx context.Context, api streamAPI, id string) (item, bool, error) {
	var o one
	if err := r.client.get(ctx, api.get+url.PathEscape(id), nil, &o); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			r.log.Info("a followed record is gone", "stream", api.name, "id", id)
			return item{}, false, nil
		}
		return item{}, false, err
	}
	items, err := api.parse(ctx, []json.RawMessage{o.Data})
	if err != nil {
		return item{}, false, err
	}
	return items[0], true, nil
}

// newest keeps the n ids created last.
func newest(open map[string]int64, n int) map[string]int64 {
	ids := make([]string, 0, len(open))
	for id := range open {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if open[ids[i]] != open[ids[j]] {
			return open[ids[i]] > open[ids[j]]
		}
		return ids[i] < ids[j]
	})
	out := make(map[string]int64, n)
	for _, id := range ids[:n] {
		out[id] = open[id]
	}
	return out
}

// report sends a progress report for a stream.
func (r *run) report(stream string, done int, finished bool) {
	r.opts.Report(collectors.Report{
		Source: r.name, Unit: r.name, Stream: stream, Done: done,
		Requests: r.requests(), RateRemaining: -1, Finished: finished,
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

// alert is the part of an Opsgenie alert flowmeter reads, with the documented
// field names.
type alert struct {
	ID           string    `json:"id"`
	TinyID       string    `json:"tinyId"`
	Alias        string    `json:"alias"`
	Message      string    `json:"message"`
	Status       string    `json:"status"`
	Acknowledged bool      `json:"acknowledged"`
	Tags         []string  `json:"tags"`
	Priority     string    `json:"priority"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
	Owner        string    `json:"owner"`
	Report       struct {
		AckTime        int64  `json:"ackTime"`   // milliseconds after createdAt
		CloseTime      int64  `json:"closeTime"` // milliseconds after createdAt
		AcknowledgedBy string `json:"acknowledgedBy"`
		ClosedBy       string `json:"closedBy"`
	} `json:"report"`
}

// alertItems turns a page of alerts into records.
func (r *run) alertItems(_ context.Context, data []json.RawMessage) ([]item, error) {
	out := make([]item, 0, len(data))
	for _, raw := range data {
		var a alert
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("decoding an alert: %w", err)
		}
		if a.ID == "" || a.CreatedAt.IsZero() {
			return nil, fmt.Errorf("an alert without id or createdAt: %.200s", raw)
		}
		created := a.CreatedAt.UTC()
		closed := a.Status == "closed"
		rec := schema.Incident{
			Source: r.name, ID: "alert:" + a.ID, Kind: schema.IncidentKindAlert,
			Service: r.alertService(a.Tags), Severity: a.Priority, Priority: a.Priority,
			Title: a.Message, Labels: a.Tags, OpenedAt: sec(created), UpdatedAt: sec(a.UpdatedAt.UTC()),
		}
		if a.Report.AckTime > 0 {
			rec.AcknowledgedAt = sec(created.Add(time.Duration(a.Report.AckTime) * time.Millisecond))
		}
		if closed && a.Report.CloseTime > 0 {
			rec.ResolvedAt = sec(created.Add(time.Duration(a.Report.CloseTime) * time.Millisecond))
		} else if closed {
			rec.ResolvedAt = rec.UpdatedAt // closed, but the report has no close time
		}
		if rec.UpdatedAt.IsZero() {
			rec.UpdatedAt = rec.OpenedAt
		}
		if r.set.webURL != "" {
			rec.URL = r.set.webURL + "/alert/detail/" + a.ID + "/details"
		}
		out = append(out, item{rec: rec, id: a.ID, created: created.UnixMilli(), open: !closed})
	}
	return out, nil
}

// alertService is the service an alert's tags name, after service_tag_prefix.
func (r *run) alertService(tags []string) string {
	if r.set.serviceTag == "" {
		return ""
	}
	for _, t := range tags {
		if rest, ok := strings.CutPrefix(t, r.set.serviceTag); ok && rest != "" {
			return rest
		}
	}
	return ""
}

// incident is the part of an Opsgenie incident flowmeter reads.
type incident struct {
	ID               string    `json:"id"`
	TinyID           string    `json:"tinyId"`
	Message          string    `json:"message"`
	Status           string    `json:"status"` // open, resolved, closed
	Tags             []string  `json:"tags"`
	Priority         string    `json:"priority"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	ImpactedServices []string  `json:"impactedServices"` // service ids
	ImpactStartDate  time.Time `json:"impactStartDate"`
	ImpactEndDate    time.Time `json:"impactEndDate"`
	Links            struct {
		Web string `json:"web"`
	} `json:"links"`
}

// incidentItems turns a page of incidents into records, naming their services.
func (r *run) incidentItems(ctx context.Context, data []json.RawMessage) ([]item, error) {
	incs := make([]incident, len(data))
	for i, raw := range data {
		if err := json.Unmarshal(raw, &incs[i]); err != nil {
			return nil, fmt.Errorf("decoding an incident: %w", err)
		}
		if incs[i].ID == "" || incs[i].CreatedAt.IsZero() {
			return nil, fmt.Errorf("an incident without id or createdAt: %.200s", raw)
		}
		for _, id := range incs[i].ImpactedServices {
			if _, ok := r.services[id]; !ok && !r.servicesLoaded {
				if err := r.loadServices(ctx); err != nil {
					return nil, err
				}
			}
		}
	}
	out := make([]item, 0, len(incs))
	for _, in := range incs {
		created := in.CreatedAt.UTC()
		rec := schema.Incident{
			Source: r.name, ID: "incident:" + in.ID, Kind: schema.IncidentKindIncident,
			Severity: in.Priority, Priority: in.Priority, Title: in.Message, Labels: in.Tags,
			OpenedAt: sec(created), UpdatedAt: sec(in.UpdatedAt.UTC()), URL: in.Links.Web,
		}
		if len(in.ImpactedServices) > 0 {
			id := in.ImpactedServices[0]
			rec.Service = id
			if name := r.services[id]; name != "" {
				rec.Service = name
			}
		}
		if in.Status != "open" {
			rec.ResolvedAt = sec(in.ImpactEndDate.UTC())
			if rec.ResolvedAt.IsZero() {
				rec.ResolvedAt = rec.UpdatedAt // resolved, but no impact end given
			}
		}
		if rec.UpdatedAt.IsZero() {
			rec.UpdatedAt = rec.OpenedAt
		}
		out = append(out, item{rec: rec, id: in.ID, created: created.UnixMilli(), open: in.Status == "open"})
	}
	return out, nil
}

// loadServices reads every service's name, once a run.
func (r *run) loadServices(ctx context.Context) error {
	r.servicesLoaded = true
	for offset := 0; ; {
		var p struct {
			Data []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"data"`
			TotalCount int `json:"totalCount"`
		}
		limit := r.set.pageSize
		params := map[string]string{"offset": strconv.Itoa(offset), "limit": strconv.Itoa(limit)}
		if err := r.client.get(ctx, "/v1/services", params, &p); err != nil {
			return fmt.Errorf("listing services: %w", err)
		}
		for _, s := range p.Data {
			r.services[s.ID] = s.Name
		}
		offset += len(p.Data)
		if len(p.Data) < limit || offset+limit > r.ceiling {
			return nil
		}
	}
}

// sec rounds a time down to the second, the precision every store keeps.
func sec(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Second)
}
