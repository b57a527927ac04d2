package pagerduty

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
)

// FuzzHandleEvent hands arbitrary payloads to the source /webhooks/pagerduty
// forwards PagerDuty's events to. It must not panic; the records it makes are
// incidents of this source, with ids; and the same event handled twice gives the
// same answer.
func FuzzHandleEvent(f *testing.F) {
	f.Add("incident.triggered", []byte(`{"event":{"id":"E1","event_type":"incident.triggered","resource_type":"incident","occurred_at":"2026-03-01T10:00:00Z","data":{"id":"P1","type":"incident","number":1,"title":"x","status":"triggered","urgency":"high","created_at":"2026-03-01T10:00:00Z","html_url":"https://acme.pagerduty.com/incidents/P1","service":{"id":"S1","summary":"api"},"priority":{"summary":"P1"}}}}`))
	f.Add("incident.resolved", []byte(`{"event":{"id":"E2","event_type":"incident.resolved","resource_type":"incident","occurred_at":"2026-03-01T11:00:00Z","data":{"id":"P1","status":"resolved","created_at":"2026-03-01T10:00:00Z"}}}`))
	f.Add("service.updated", []byte(`{"event":{"event_type":"service.updated","resource_type":"service","data":{}}}`))
	s := newSource("pd", &resolved{baseURL: "https://api.pagerduty.com", since: collectors.Backfill{Age: defaultSince}, pageSize: defaultPageSize}, http.DefaultTransport)
	f.Fuzz(func(t *testing.T, kind string, payload []byte) {
		b, collect, err := s.HandleEvent(kind, payload)
		if err != nil {
			return
		}
		if b == nil {
			t.Fatal("no batch and no error")
		}
		for _, inc := range b.Incidents {
			if inc.Source != "pd" || inc.ID == "" || inc.Kind != schema.IncidentKindIncident {
				t.Errorf("incident %+v: want source pd, an id and kind incident", inc)
			}
		}
		if b.Len() != len(b.Incidents) || len(b.Cursors) > 0 {
			t.Errorf("a PagerDuty event wrote more than incidents: %+v", b)
		}
		b2, collect2, err2 := s.HandleEvent(kind, payload)
		if err2 != nil || collect2 != collect || !reflect.DeepEqual(b, b2) {
			t.Errorf("the same event handled twice differs: %+v %v, then %+v %v (%v)", b, collect, b2, collect2, err2)
		}
	})
}
