package jira

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
)

// FuzzHandleEvent hands arbitrary payloads to the source /webhooks/jira forwards
// Jira's events to. It must not panic; the records it makes are this source's,
// with ids, tied to an item it also wrote; and the same event handled twice gives
// the same answer.
func FuzzHandleEvent(f *testing.F) {
	f.Add("", []byte(`{"webhookEvent":"jira:issue_updated","timestamp":1772366400000,"issue":{"id":"1","key":"PAY-1","fields":{"project":{"key":"PAY"},"status":{"id":"3","name":"In Progress","statusCategory":{"key":"indeterminate"}},"created":"2026-03-01T10:00:00.000+0100","updated":"2026-03-01T11:00:00.000+0100","summary":"x"}},"changelog":{"id":"10","items":[{"field":"status","from":"1","fromString":"To Do","to":"3","toString":"In Progress"}]}}`))
	f.Add("jira:issue_deleted", []byte(`{"webhookEvent":"jira:issue_deleted","issue":{"key":"PAY-1"}}`))
	f.Add("", []byte(`{"webhookEvent":"jira:issue_created","issue":{"key":"OPS-1","fields":{"project":{"key":"OPS"}}}}`))
	s := newSource("jira", &resolved{baseURL: "https://acme.atlassian.net", projects: []string{"PAY"}, overlap: defaultOverlap,
		since: collectors.Backfill{Age: defaultSince}, pageSize: defaultPageSize}, http.DefaultTransport)
	s.now = func() time.Time { return time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) }
	f.Fuzz(func(t *testing.T, kind string, payload []byte) {
		b, collect, err := s.HandleEvent(kind, payload)
		if err != nil {
			return
		}
		if b == nil {
			t.Fatal("no batch and no error")
		}
		items := map[string]bool{}
		for _, wi := range b.WorkItems {
			if wi.Source != "jira" || wi.ID == "" {
				t.Errorf("work item %+v: want source jira and an id", wi)
			}
			items[wi.ID] = true
		}
		for _, sc := range b.StatusChanges {
			if sc.Source != "jira" || sc.ID == "" || !items[sc.ItemID] {
				t.Errorf("status change %+v of no item written with it", sc)
			}
		}
		if len(b.Deployments)+len(b.Incidents)+len(b.PullRequests)+len(b.Cursors) > 0 {
			t.Errorf("a Jira event wrote more than tickets: %+v", b)
		}
		b2, collect2, err2 := s.HandleEvent(kind, payload)
		if err2 != nil || collect2 != collect || !reflect.DeepEqual(b, b2) {
			t.Errorf("the same event handled twice differs: %+v %v, then %+v %v (%v)", b, collect, b2, collect2, err2)
		}
	})
}
