package webhook

import (
	"encoding/json"
	"net/http"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/jira"
	"github.com/flowmeter/flowmeter/collectors/pagerduty"
	"github.com/flowmeter/flowmeter/schema"
)

// toolHook is the webhook of a tool that signs its events with a shared secret and
// whose source turns them into records (collectors.EventHandler): Jira and
// PagerDuty. Each is served on its own path when its secret and source are set.
type toolHook struct {
	tool string // "jira"
	path string
	// sourceType is the type of source the events belong to; field names its
	// setting, for errors.
	sourceType, field string
	// header carries the signature, which verify checks.
	header string
	verify func(header string, body, secret []byte) error
	// event reads the event's kind and its id (empty when the tool gives none),
	// for the handler and to drop redeliveries.
	event func(r *http.Request, body []byte) (kind, id string, err error)

	secret []byte
	source string
}

// toolHooks lists the tools' webhooks in the order their settings are read.
func toolHooks() []*toolHook {
	return []*toolHook{
		{
			tool: "jira", path: PathJira, sourceType: "jira", field: "jira_source",
			header: jira.WebhookSignatureHeader, verify: jira.VerifySignature,
			event: func(r *http.Request, body []byte) (string, string, error) {
				var ev struct {
					WebhookEvent string `json:"webhookEvent"`
				}
				err := json.Unmarshal(body, &ev)
				// Jira names each delivery in this header; a retry of it keeps the name.
				return ev.WebhookEvent, r.Header.Get("X-Atlassian-Webhook-Identifier"), err
			},
		},
		{
			tool: "pagerduty", path: PathPagerDuty, sourceType: "pagerduty", field: "pagerduty_source",
			header: pagerduty.SignatureHeader, verify: pagerduty.VerifySignature,
			event: func(_ *http.Request, body []byte) (string, string, error) {
				var ev struct {
					Event struct {
						ID        string `json:"id"`
						EventType string `json:"event_type"`
					} `json:"event"`
				}
				err := json.Unmarshal(body, &ev)
				return ev.Event.EventType, ev.Event.ID, err
			},
		},
	}
}

// serve verifies a tool's event, hands it to the configured source and writes
// what it makes of it, durably, before answering 202.
func (h *handler) serveTool(t *toolHook) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !allowPost(w, r) {
			return
		}
		sig := r.Header.Get(t.header)
		if sig == "" {
			h.refuse(w, r, &statusError{status: http.StatusUnauthorized,
				reason: "missing " + t.header + ": give the " + t.tool + " webhook the secret flowmeter is configured with"})
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			h.refuse(w, r, err)
			return
		}
		if err := t.verify(sig, body, t.secret); err != nil {
			h.refuse(w, r, &statusError{status: http.StatusUnauthorized, reason: "invalid " + t.header})
			return
		}
		if err := requireJSON(r); err != nil {
			h.refuse(w, r, err)
			return
		}
		kind, id, err := t.event(r, body)
		if err != nil {
			h.refuse(w, r, badRequest("%s event: %v", t.tool, err))
			return
		}
		// Reserve the delivery before handling it, so a concurrent replay is dropped
		// too; release it when it could not be stored, so a redelivery works.
		key := t.tool + "\x00" + id
		if id != "" && !h.src.deliveries.add(key) {
			reply(w, http.StatusAccepted, map[string]string{"status": "duplicate"})
			return
		}
		handled := false
		defer func() {
			if !handled && id != "" {
				h.src.deliveries.remove(key)
			}
		}()
		handled = h.handOver(w, r, t.tool, kind, id, t.source, t.field, body)
	}
}

// handOver hands a verified event to the source the setting field names, writes
// the records it makes durably, asks for a collection when the source wants one,
// and answers; it reports whether the event was stored, so that a delivery that
// was not can be redelivered.
func (h *handler) handOver(w http.ResponseWriter, r *http.Request, tool, kind, delivery, source, field string, payload []byte) bool {
	eh, err := h.eventHandlerOf(source, field)
	if err != nil {
		h.log.Error(tool+" event cannot be handled", "err", err)
		reply(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return false
	}
	b, collect, err := eh.HandleEvent(kind, payload)
	if err == nil && b != nil {
		// The same rules as the store's, so that the answer names what is wrong.
		err = schema.ValidateBatch(b)
	}
	if err != nil {
		if kind == "" {
			kind = tool
		}
		h.refuse(w, r, badRequest("%s event: %v", kind, err))
		return false
	}
	n := 0
	if b != nil && (b.Len() > 0 || len(b.Cursors) > 0) {
		if err := h.write(r, b); err != nil {
			h.notStored(w, r, err)
			return false
		}
		n = b.Len()
	}
	if collect && h.env.Collect != nil {
		h.env.Collect(source)
	}
	h.log.Debug(tool+" event accepted", "event", kind, "delivery", delivery, "records", n, "collect", collect)
	reply(w, http.StatusAccepted, map[string]any{"status": "accepted", "records": n})
	return true
}

// eventHandlerOf finds the configured source named by a setting, which must take
// events.
func (h *handler) eventHandlerOf(name, field string) (collectors.EventHandler, error) {
	if h.env.Source == nil {
		return nil, configError("no sources to hand events to")
	}
	src, ok := h.env.Source(name)
	if !ok {
		return nil, configError(field + " " + name + " is not a configured source")
	}
	eh, ok := src.(collectors.EventHandler)
	if !ok {
		return nil, configError(field + " " + name + " does not handle events")
	}
	return eh, nil
}
