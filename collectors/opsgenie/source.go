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
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// The streams, and the cursor names they are kept under.
const (
	streamAlerts    = "alerts"
	streamIncidents = "incidents"
)

// offsetCeiling is Opsgenie's bound on paging: offset + limit may not exceed
// 20,000 in one listing. A window that reaches it is continued as a new window
// starting at the last createdAt read, so that nothing is lost.
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
}

// Collect collects the alerts and incidents streams the settings choose. A refused
// key stops the collection at once with an error naming the setting to check.
func (s *Source) Collect(ctx context.Context, w collectors.Writer, opts collectors.CollectOptions) error {
	log := opts.Log().With("source", s.name)
	s.client.log = log
	r := &run{Source: s, w: w, opts: opts, log: log, now: opts.Clock()().UTC(), services: map[string]string{}}
	r.floor = s.set.backfillStart(r.now)
	if !opts.Since.IsZero() {
		r.floor = opts.Since
	}
	start := s.client.stats()
	log.Info("collecting", "alerts", s.set.alerts, "incidents", s.set.incidents, "since", r.floor.Format(time.DateOnly))
	if s.set.alerts {
		if err := r.stream(ctx, streamAlerts, "/v2/alerts", s.set.query, r.alertItems); err != nil {
			return r.fail(ctx, "alerts", err)
		}
	}
	if s.set.incidents {
		if err := r.stream(ctx, streamIncidents, "/v1/incidents", "", r.incidentItems); err != nil {
			return r.fail(ctx, "incidents", err)
		}
	}
	log.Info("collected", "requests", s.client.stats()-start)
	return nil
}

// fail turns a stream's error into one the user can act on.
func (r *run) fail(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
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
	created int64 // createdAt, epoch milliseconds
	open    bool  // may still change: read again next run
}

// page is Opsgenie's list envelope.
type page struct {
	Data      []json.RawMessage `json:"data"`
	Took      float64           `json:"took"`
	RequestID string            `json:"requestId"`
}

// position is a stream's cursor. A collection is a pass over createdAt from
// From to the time it starts. Between passes, every alert (or incident) created
// before From was read, and none of them was still open when it was read: the
// next pass starts at From, so the ones still open are read again until they
// close. During a pass (At set), everything from From to At was read in it, and
// Open is the oldest createdAt among those still open (0 for none): an
// interrupted pass resumes at At instead of starting again.
type position struct {
	From int64 `json:"from"`           // epoch milliseconds
	At   int64 `json:"at,omitempty"`   // epoch milliseconds; 0 between passes
	Open int64 `json:"open,omitempty"` // epoch milliseconds; 0 for none
}

// stream collects one stream: windows of createdAt in [lo, hi), sorted ascending,
// paged by offset. Each page is written with the cursor that covers it.
func (r *run) stream(ctx context.Context, stream, path, extra string, parse func(context.Context, []json.RawMessage) ([]item, error)) error {
	var cur position
	if err := r.loadCursor(ctx, stream, &cur); err != nil {
		return err
	}
	floor := r.floor.UnixMilli()
	lo, passStart, oldestOpen := floor, floor, int64(-1)
	if r.opts.Since.IsZero() {
		passStart = max(floor, cur.From)
		lo = passStart
		if cur.At > 0 {
			lo = max(floor, cur.At)
			if cur.Open >= floor && cur.Open > 0 {
				oldestOpen = cur.Open
			}
		}
	}
	hi := r.now.UnixMilli()
	limit := r.set.pageSize
	seen := map[string]bool{}
	offset, done, last := 0, 0, int64(-1)
	for {
		if offset+limit > r.ceiling {
			// Split the window at the last createdAt read: the alerts of that
			// millisecond are listed again (and skipped), none is lost.
			if last <= lo {
				return fmt.Errorf("more than %d created within one millisecond (%s): Opsgenie cannot list them", r.ceiling, time.UnixMilli(lo).UTC().Format(time.RFC3339Nano))
			}
			r.log.Info("offset ceiling reached; splitting the window", "stream", stream,
				"from", time.UnixMilli(last).UTC().Format(time.RFC3339Nano), "read", done)
			lo, offset = last, 0
		}
		q := fmt.Sprintf("createdAt>=%d AND createdAt<%d", lo, hi)
		if extra != "" {
			q += " AND (" + extra + ")"
		}
		var p page
		params := map[string]string{"query": q, "offset": strconv.Itoa(offset), "limit": strconv.Itoa(limit), "sort": "createdAt", "order": "asc"}
		if err := r.client.get(ctx, path, params, &p); err != nil {
			return err
		}
		items, err := parse(ctx, p.Data)
		if err != nil {
			return err
		}
		b := &schema.Batch{}
		for _, it := range items {
			if it.created < lo || it.created >= hi {
				return fmt.Errorf("listing createdAt in [%d, %d) gave %s created at %d", lo, hi, it.rec.ID, it.created)
			}
			last = it.created
			if it.open && (oldestOpen < 0 || it.created < oldestOpen) {
				oldestOpen = it.created
			}
			if seen[it.rec.ID] {
				continue
			}
			seen[it.rec.ID] = true
			b.Incidents = append(b.Incidents, it.rec)
		}
		full := len(items) >= limit
		var pos position
		if full {
			pos = position{From: passStart, At: last, Open: max(oldestOpen, 0)}
		} else {
			pos.From = max(lo, hi-overlap.Milliseconds())
			if oldestOpen >= 0 && oldestOpen < pos.From {
				pos.From = oldestOpen
			}
		}
		b.Cursors = []schema.Cursor{r.cursor(stream, pos)}
		if err := r.w.Write(ctx, b); err != nil {
			return fmt.Errorf("writing %s: %w", stream, err)
		}
		done += len(b.Incidents)
		r.report(stream, done, !full)
		if !full {
			r.log.Info("stream collected", "stream", stream, "records", done)
			return nil
		}
		offset += len(items)
	}
}

// report sends a progress report for a stream.
func (r *run) report(stream string, done int, finished bool) {
	r.opts.Report(collectors.Report{
		Source: r.name, Unit: r.name, Stream: stream, Done: done,
		Requests: r.client.stats(), RateRemaining: -1, Finished: finished,
	})
}

// loadCursor reads a stream's cursor into v; a missing one (or --full) leaves v zero.
func (r *run) loadCursor(ctx context.Context, stream string, v any) error {
	if r.opts.Full {
		return nil
	}
	c, err := r.w.Cursor(ctx, r.name, stream)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the %s cursor: %w", stream, err)
	}
	if err := json.Unmarshal([]byte(c.Value), v); err != nil {
		// An unreadable cursor only costs a fresh collection of the stream.
		r.log.Warn("cursor unreadable; collecting the stream afresh", "stream", stream, "err", err)
	}
	return nil
}

// cursor encodes a stream's position for writing in the batch it covers.
func (r *run) cursor(stream string, v any) schema.Cursor {
	b, _ := json.Marshal(v)
	return schema.Cursor{Source: r.name, Stream: stream, Value: string(b), UpdatedAt: r.opts.Clock()().UTC()}
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
		out = append(out, item{rec: rec, created: created.UnixMilli(), open: !closed})
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
		out = append(out, item{rec: rec, created: created.UnixMilli(), open: in.Status == "open"})
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
