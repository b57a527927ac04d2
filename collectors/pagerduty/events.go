package pagerduty

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// SignatureHeader is the header in which PagerDuty signs each v3 webhook delivery,
// so the receiving endpoint can refuse deliveries that do not come from PagerDuty.
const SignatureHeader = "X-PagerDuty-Signature"

// VerifySignature checks a v3 webhook delivery's X-PagerDuty-Signature header against
// its body and the subscription's secret. The header holds one or more
// comma-separated "v1=<hex HMAC-SHA256 of the body>" signatures (several while
// PagerDuty rotates the secret); any one matching is enough. The comparison takes
// constant time, so an attacker learns nothing from how long a refusal takes. An
// empty secret is refused: anyone can sign with it.
func VerifySignature(header string, body []byte, secret []byte) error {
	if len(secret) == 0 {
		return errors.New("pagerduty webhook: no secret to check " + SignatureHeader + " against")
	}
	if strings.TrimSpace(header) == "" {
		return errors.New("pagerduty webhook: no " + SignatureHeader + " header")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	want := mac.Sum(nil)
	seen := false
	for _, part := range strings.Split(header, ",") {
		sig, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		seen = true
		got, err := hex.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	if !seen {
		return errors.New("pagerduty webhook: " + SignatureHeader + " holds no v1= signature")
	}
	return errors.New("pagerduty webhook: no signature in " + SignatureHeader + " matches the body and secret")
}

// webhookPayload is a v3 webhook delivery's body.
type webhookPayload struct {
	Event *struct {
		ID           string          `json:"id"`
		EventType    string          `json:"event_type"`
		ResourceType string          `json:"resource_type"`
		OccurredAt   time.Time       `json:"occurred_at"`
		Data         json.RawMessage `json:"data"`
	} `json:"event"`
}

// HandleEvent turns a PagerDuty v3 webhook event (kind is its event_type) into the
// record a collection would write, with the same source name and incident id, so
// pushed and polled records converge:
//
//   - incident.triggered gives the new incident, complete;
//   - incident.acknowledged gives it with AcknowledgedAt at the event, and asks for
//     a collection, since only the log entries tell whether this was the first
//     acknowledgement;
//   - incident.resolved gives it with ResolvedAt at the event, and asks for a
//     collection, since the payload does not say when it was first acknowledged.
//
// The records of the two latter do not know the first acknowledgement (an
// incident.acknowledged event may be a re-acknowledgement after PagerDuty
// un-acknowledged the incident on timeout, and an incident.resolved event names
// none), so they are versioned at the incident's opening (UpdatedAt = OpenedAt): they
// replace a record that knows no acknowledgement or resolution (one written when it
// was triggered, all versioned at the opening too), never a record a collection wrote
// after an acknowledgement or resolution, whose first acknowledgement they keep. Two
// such events of one incident with no collection between are of one version: the
// later one's record stands until the collection both ask for. Other events (other
// incident events, services, …) give an empty batch; a body that is not a v3 event
// is an error.
func (s *Source) HandleEvent(kind string, payload []byte) (*schema.Batch, bool, error) {
	var p webhookPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, false, fmt.Errorf("pagerduty event %q: %w", kind, err)
	}
	if p.Event == nil {
		return nil, false, fmt.Errorf("pagerduty event %q: the payload has no event", kind)
	}
	if kind == "" {
		kind = p.Event.EventType
	}
	b := &schema.Batch{}
	switch kind {
	case "incident.triggered", "incident.acknowledged", "incident.resolved":
	default:
		return b, false, nil
	}
	if len(p.Event.Data) == 0 || string(p.Event.Data) == "null" {
		return nil, false, fmt.Errorf("pagerduty event %q: the payload has no data", kind)
	}
	var in incident
	if err := json.Unmarshal(p.Event.Data, &in); err != nil {
		return nil, false, fmt.Errorf("pagerduty event %q: data: %w", kind, err)
	}
	if in.ID == "" {
		return nil, false, fmt.Errorf("pagerduty event %q: the incident has no id", kind)
	}
	if !s.selects(&in) {
		return b, false, nil
	}
	at := ts(p.Event.OccurredAt)
	var ack time.Time
	collect := true
	switch kind {
	case "incident.triggered":
		in.Status, in.LastStatusChangeAt, collect = "triggered", nil, false
	case "incident.acknowledged":
		in.Status, in.LastStatusChangeAt, ack = "acknowledged", &at, at
	case "incident.resolved":
		in.Status, in.LastStatusChangeAt, in.ResolvedAt = "resolved", &at, &at
	}
	rec := s.record(&in, ack)
	if collect {
		rec.UpdatedAt = rec.OpenedAt
	}
	b.Incidents = append(b.Incidents, rec)
	return b, collect, nil
}

// selects says whether the configured services and teams keep an incident an event
// describes, matching ids and names as the settings give them.
func (s *Source) selects(in *incident) bool {
	match := func(wanted []string, refs []reference) bool {
		if len(wanted) == 0 {
			return true
		}
		for _, ref := range refs {
			if slices.ContainsFunc(wanted, func(w string) bool {
				return w == ref.ID || strings.EqualFold(w, ref.Summary) || (ref.Name != "" && strings.EqualFold(w, ref.Name))
			}) {
				return true
			}
		}
		return false
	}
	var services []reference
	if in.Service != nil {
		services = append(services, *in.Service)
	}
	return match(s.set.services, services) && match(s.set.teams, in.Teams)
}
