// Package pages serves the reports as web pages from the daemon's listener: an
// index of every team's reports at /, and /reports/dora, /reports/flow and
// /reports/toil built on request from the store's current facts, with the same
// parameters, checks and defaults as `flowmeter report`. The pages name people
// (toil entries), so they ask for the credentials server.auth configures.
package pages

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/reports/build"
	"github.com/flowmeter/flowmeter/reports/htmlpage"
	"github.com/flowmeter/flowmeter/reports/render"
)

// Reports are the reports of one config and store, as *build.Builder makes them.
type Reports interface {
	// CheckTeam refuses a team the config does not define, with a
	// *build.UnknownTeamError.
	CheckTeam(team string) error
	// Teams are the teams to list, in config order, then aggregate.NoTeam when
	// some fact belongs to no team of the config.
	Teams(ctx context.Context) ([]string, error)
	// Write builds and renders the report req asks for.
	Write(ctx context.Context, w io.Writer, req build.Request) error
}

// Handler serves the pages.
type Handler struct {
	// Open gives the reports of the current config and store as of now; while it
	// fails (the store is not connected yet) the pages answer 503 with its error.
	Open func(now time.Time) (Reports, error)
	// Credentials are what every request must carry, when configured.
	Credentials Credentials
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	buildingOnce sync.Once
	building     chan struct{}
}

// A page is built from every fact of the store while its reader waits, so the
// pages build at most maxBuilding at once (more answer 503 at once rather than
// queueing behind each other) and give up after buildTimeout, which is the
// listener's write timeout: past it, nobody is waiting for the page.
const (
	maxBuilding  = 2
	buildTimeout = 60 * time.Second
)

// parameters are the query parameters of a report page.
var parameters = []string{"team", "quarter", "from", "to", "format"}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	header := w.Header()
	header.Set("Cache-Control", "no-store")
	header.Set("X-Content-Type-Options", "nosniff")
	// The pages load nothing and run nothing: their style is inline, and their
	// charts are inline SVG.
	header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		header.Set("Allow", "GET, HEAD")
		fail(w, http.StatusMethodNotAllowed, r.Method+" is not served here: the report pages are read with GET")
		return
	}
	if !h.Credentials.allows(r) {
		header.Set("WWW-Authenticate", h.Credentials.challenge())
		fail(w, http.StatusUnauthorized, "the report pages need the credentials of server.auth in flowmeter's config")
		return
	}
	var kind build.Kind
	switch r.URL.Path {
	case "/":
	case "/reports/dora", "/reports/flow", "/reports/toil":
		kind = build.Kind(strings.TrimPrefix(r.URL.Path, "/reports/"))
	default:
		fail(w, http.StatusNotFound, "no page "+r.URL.Path+": the reports are listed at /")
		return
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		fail(w, http.StatusBadRequest, "the query cannot be read: "+err.Error())
		return
	}
	h.buildingOnce.Do(func() { h.building = make(chan struct{}, maxBuilding) })
	select {
	case h.building <- struct{}{}:
		defer func() { <-h.building }()
	default:
		header.Set("Retry-After", "5")
		fail(w, http.StatusServiceUnavailable, fmt.Sprintf("%d report pages are being built: try again in a few seconds", maxBuilding))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), buildTimeout)
	defer cancel()
	reports, err := h.Open(now)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "the reports cannot be built yet: "+err.Error())
		return
	}
	var page bytes.Buffer
	contentType := "text/html; charset=utf-8"
	if kind == "" {
		err = h.index(ctx, &page, reports, now)
	} else {
		var req build.Request
		if req, err = h.report(ctx, &page, reports, kind, query, now); req.Format == render.SVG {
			contentType = "image/svg+xml; charset=utf-8"
		}
	}
	if err != nil {
		var status *statusError
		if !errors.As(err, &status) {
			status = &statusError{code: http.StatusInternalServerError, err: err}
		}
		fail(w, status.code, status.Error())
		return
	}
	header.Set("Content-Type", contentType)
	header.Set("Content-Length", fmt.Sprint(page.Len()))
	w.Write(page.Bytes())
}

// statusError is an error and the status it is answered with.
type statusError struct {
	code int
	err  error
}

func (e *statusError) Error() string { return e.err.Error() }

// fail answers with a status and a message, as plain text: a message may repeat
// what the request said, which must not become markup.
func fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// report writes the page of one report, checking its parameters as `flowmeter
// report` checks its flags, and with their messages.
func (h *Handler) report(ctx context.Context, w io.Writer, reports Reports, kind build.Kind, query url.Values, now time.Time) (build.Request, error) {
	name := "report " + string(kind)
	p, err := queryParams(query)
	if err != nil {
		return build.Request{}, &statusError{http.StatusBadRequest, fmt.Errorf("%s: %w", name, err)}
	}
	p.Format = cmp.Or(p.Format, string(render.HTML))
	formats := []render.Format{render.HTML}
	if kind == build.Toil {
		formats = append(formats, render.SVG)
	}
	req, err := build.Parse(kind, p, now, formats...)
	if err != nil {
		return build.Request{}, &statusError{http.StatusBadRequest, fmt.Errorf("%s: %w", name, err)}
	}
	if err := reports.CheckTeam(req.Team); err != nil {
		return req, &statusError{http.StatusNotFound, fmt.Errorf("%s: %w", name, err)}
	}
	if req.Format == render.HTML {
		req.Nav = navigation(req)
	}
	if err := reports.Write(ctx, w, req); err != nil {
		return req, fmt.Errorf("%s: %w", name, err)
	}
	return req, nil
}

// queryParams reads a report's parameters from a page's query, refusing any other
// parameter and any given twice, as the command line refuses an unknown flag.
func queryParams(q url.Values) (build.Params, error) {
	var p build.Params
	for key, values := range q {
		if !slices.Contains(parameters, key) {
			return p, fmt.Errorf("unknown parameter %q (want %s)", key, strings.Join(parameters, ", "))
		}
		if len(values) > 1 {
			return p, fmt.Errorf("parameter %q given %d times", key, len(values))
		}
	}
	return build.Params{Team: q.Get("team"), Quarter: q.Get("quarter"), From: q.Get("from"), To: q.Get("to"), Format: q.Get("format")}, nil
}

// reportLink is the address of a report page relative to another report page (in
// /reports/), for the team (every team for "") and the window.
func reportLink(kind build.Kind, team string, from, to time.Time, format render.Format) string {
	q := url.Values{}
	if team != "" {
		q.Set("team", team)
	}
	if quarter, ok := build.QuarterOf(from, to); ok {
		q.Set("quarter", quarter)
	} else if !from.IsZero() {
		q.Set("from", from.Format(time.DateOnly))
		q.Set("to", to.Format(time.DateOnly))
	}
	if format != "" && format != render.HTML {
		q.Set("format", string(format))
	}
	if len(q) == 0 {
		return string(kind)
	}
	return string(kind) + "?" + q.Encode()
}

// kindTitles name the reports in links.
var kindTitles = map[build.Kind]string{build.DORA: "DORA", build.Flow: "Flow review", build.Toil: "Toil"}

// navigation links a report page to the index, to the team's other reports of the
// same window, to the same report of the previous window and, for one team's
// toil, to its snake alone.
func navigation(req build.Request) []htmlpage.Link {
	links := []htmlpage.Link{{Text: "All reports", Href: "../"}}
	for _, k := range build.Kinds {
		if k != req.Kind {
			links = append(links, htmlpage.Link{Text: kindTitles[k], Href: reportLink(k, req.Team, req.From, req.To, "")})
		}
	}
	from, to := aggregate.PreviousWindow(req.From, req.To)
	links = append(links, htmlpage.Link{Text: "Previous period", Href: reportLink(req.Kind, req.Team, from, to, "")})
	if req.Kind == build.Toil && req.Team != "" {
		links = append(links, htmlpage.Link{Text: "Toil snake (SVG)", Href: reportLink(req.Kind, req.Team, req.From, req.To, render.SVG)})
	}
	return links
}
