package push

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The kinds of refusal an *APIError wraps, for errors.Is.
var (
	// ErrUnauthorized: Grafana did not accept the service-account token (401).
	ErrUnauthorized = errors.New("Grafana refused the service-account token")
	// ErrForbidden: the token is valid but its service account's role does not
	// allow the request (403).
	ErrForbidden = errors.New("the service account lacks permission")
	// ErrConflict: Grafana refused a save that would clash with what it holds (409
	// or 412).
	ErrConflict = errors.New("Grafana refused the change as a conflict")
	// ErrNotFound: something the request names is not in Grafana (404, or a 400
	// naming a missing folder).
	ErrNotFound = errors.New("not found in Grafana")
	// ErrServer: Grafana failed with a 5xx on every try.
	ErrServer = errors.New("Grafana failed")
	// ErrRequest: Grafana refused the request as malformed (other 4xx).
	ErrRequest = errors.New("Grafana refused the request")
)

// APIError is a refusal or failure from Grafana's HTTP API.
type APIError struct {
	Method, Path string
	Status       int    // the HTTP status code
	Message      string // Grafana's "message", or the start of a body that was not JSON
	Reason       string // Grafana's "status" field, such as version-mismatch, when it sent one
	Tries        int    // how many times the request was made
	kind         error
	hint         string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d %s on %s %s", e.kind, e.Status, http.StatusText(e.Status), e.Method, e.Path)
	if e.Tries > 1 {
		fmt.Fprintf(&b, ", %d tries", e.Tries)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, ", %s", e.Reason)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %q", e.Message)
	}
	b.WriteString(")")
	if e.hint != "" {
		b.WriteString(": ")
		b.WriteString(e.hint)
	}
	return b.String()
}

// Unwrap returns the kind of refusal: ErrUnauthorized, ErrForbidden, ErrConflict,
// ErrNotFound, ErrServer or ErrRequest.
func (e *APIError) Unwrap() error { return e.kind }

func newAPIError(o op, status int, body []byte, tries int) *APIError {
	e := &APIError{Method: o.method, Path: o.path, Status: status, Tries: tries}
	var msg struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	if json.Unmarshal(body, &msg) == nil {
		e.Message, e.Reason = msg.Message, msg.Status
	} else if s := strings.TrimSpace(string(body)); s != "" {
		if len(s) > 200 {
			s = s[:200] + "..."
		}
		e.Message = s
	}
	folderMissing := strings.Contains(strings.ToLower(e.Message), "folder not found")
	switch {
	case status == http.StatusUnauthorized:
		e.kind = ErrUnauthorized
		e.hint = "check that the service-account token is set, has not expired or been revoked, and was made in this Grafana"
	case status == http.StatusForbidden:
		e.kind = ErrForbidden
		e.hint = "give the service account " + roleFor(o)
	case status == http.StatusPreconditionFailed:
		e.kind = ErrConflict
		switch e.Reason {
		case "version-mismatch":
			e.hint = "the " + o.kind + " was changed in Grafana since the version that was sent (412 Precondition Failed is Grafana's optimistic-locking check); saving with overwrite replaces Grafana's copy, otherwise export the changes made in Grafana first"
		case "name-exists":
			e.hint = "another dashboard in the folder already has this title; rename or delete it in Grafana"
		case "plugin-dashboard":
			e.hint = "a plugin's dashboard has this title or uid; remove that plugin dashboard in Grafana"
		default:
			e.hint = "a precondition of the save failed: Grafana holds a newer or clashing copy"
		}
	case status == http.StatusConflict:
		e.kind = ErrConflict
		switch o.kind {
		case "datasource":
			e.hint = "another datasource already has this name or UID; flowmeter's dashboards find their datasources by UID, so rename the other one or give it this UID"
		case "folder":
			e.hint = "another folder already has this title or UID; rename it, or give it this UID"
		}
	case status == http.StatusNotFound || (status == http.StatusBadRequest && folderMissing):
		e.kind = ErrNotFound
		if folderMissing || o.kind == "folder" {
			e.hint = "the folder is not in Grafana; it may have been deleted while pushing, so push again"
		}
	case status >= 500:
		e.kind = ErrServer
		e.hint = "Grafana or a proxy before it is failing; check its logs and push again"
	default:
		e.kind = ErrRequest
		if o.kind == "dashboard" && strings.Contains(strings.ToLower(e.Message), "provisioned") {
			e.hint = "this Grafana provisions the dashboard from files (as docker-compose.yml does), which the API cannot overwrite; update those files with 'flowmeter dashboards export' instead of pushing"
		}
	}
	return e
}

// roleFor says which Grafana organisation role a request needs: Editor for folders
// and dashboards, Admin for datasources (Editors cannot add, edit or read data
// sources' settings).
func roleFor(o op) string {
	switch o.kind {
	case "datasource":
		return "the Admin role (only Admins may " + o.verb + " datasources)"
	case "folder":
		return "the Editor or Admin role (needed to " + o.verb + " folders)"
	default:
		return "the Editor or Admin role, or edit permission on the folder (needed to " + o.verb + " dashboards)"
	}
}
