package pagerduty

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
)

func sign(body, secret []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"event":{"id":"01","event_type":"incident.triggered"}}`)
	secret, old := []byte("current-secret"), []byte("previous-secret")
	for _, tc := range []struct {
		name   string
		header string
		ok     bool
	}{
		{"valid", sign(body, secret), true},
		{"wrong secret", sign(body, []byte("other")), false},
		{"body changed", sign(append([]byte(" "), body...), secret), false},
		{"rotated pair, new one second", sign(body, old) + ", " + sign(body, secret), true},
		{"rotated pair, new one first", sign(body, secret) + "," + sign(body, old), true},
		{"rotated pair, neither", sign(body, old) + "," + sign(body, []byte("x")), false},
		{"no header", "", false},
		{"no v1 signature", "v0=abcd", false},
		{"not hex", "v1=zz", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(tc.header, body, secret)
			if (err == nil) != tc.ok {
				t.Fatalf("VerifySignature(%q) = %v, want ok=%v", tc.header, err, tc.ok)
			}
		})
	}
}

func TestVerifySignatureRefusesEmptySecret(t *testing.T) {
	body := []byte(`{"event":{"id":"01","event_type":"incident.triggered"}}`)
	for _, secret := range [][]byte{nil, {}} {
		// A signature made with the empty key would match were the secret not refused.
		if err := VerifySignature(sign(body, secret), body, secret); err == nil || !strings.Contains(err.Error(), "secret") {
			t.Errorf("VerifySignature with secret %q = %v, want an error about the empty secret", secret, err)
		}
	}
}

func TestHandleEventMatchesCollection(t *testing.T) {
	f := newFixture(t)
	ids := scenario(f.srv)
	f.connect(nil)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	collected := incidentsByID(t, st)

	// B was resolved without an acknowledgement: the resolved event's record is
	// the collection's, but versioned at the incident's opening, so it never
	// replaces a collection's record.
	b, collect, err := f.source.HandleEvent("incident.resolved", f.srv.WebhookPayload("incident.resolved", ids["B"], on(26*time.Hour+400*time.Millisecond)))
	if err != nil || !collect || len(b.Incidents) != 1 {
		t.Fatalf("resolved: %+v, %v, %v: want one record and a collection", b, collect, err)
	}
	got, want := b.Incidents[0], collected[ids["B"]]
	if !got.UpdatedAt.Equal(want.OpenedAt) {
		t.Errorf("resolved UpdatedAt %s, want the incident's opening %s", got.UpdatedAt, want.OpenedAt)
	}
	got.UpdatedAt = want.UpdatedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resolved event\n got  %+v\n want %+v", got, want)
	}

	// A resolved event of an acknowledged incident cannot know the acknowledgement.
	b, collect, err = f.source.HandleEvent("incident.resolved", f.srv.WebhookPayload("incident.resolved", ids["G"], on(72*time.Hour)))
	if err != nil || !collect || !b.Incidents[0].ResolvedAt.Equal(on(72*time.Hour)) || !b.Incidents[0].AcknowledgedAt.IsZero() {
		t.Fatalf("resolved G: %+v, %v, %v", b, collect, err)
	}

	// Triggered: complete, no collection; C is still triggered.
	b, collect, err = f.source.HandleEvent("incident.triggered", f.srv.WebhookPayload("incident.triggered", ids["C"], on(48*time.Hour)))
	if err != nil || collect || len(b.Incidents) != 1 || !reflect.DeepEqual(b.Incidents[0], collected[ids["C"]]) {
		t.Fatalf("triggered: %+v, %v, %v\n want %+v", b, collect, err, collected[ids["C"]])
	}

	// Acknowledged: the time of the event, and a collection to confirm it was the first.
	b, collect, err = f.source.HandleEvent("incident.acknowledged", f.srv.WebhookPayload("incident.acknowledged", ids["D"], on(50*time.Hour+3*time.Minute)))
	if err != nil || !collect || !b.Incidents[0].AcknowledgedAt.Equal(on(50*time.Hour+3*time.Minute)) || b.Incidents[0].Severity != "high" {
		t.Fatalf("acknowledged: %+v, %v, %v", b, collect, err)
	}

	// Other events: nothing, no error.
	for _, kind := range []string{"incident.annotated", "service.updated", "pagey.ping"} {
		b, collect, err = f.source.HandleEvent(kind, []byte(`{"event":{"id":"1","event_type":"`+kind+`","resource_type":"service","occurred_at":"2026-05-04T09:00:00Z","data":{"id":"PSVC001"}}}`))
		if err != nil || collect || len(b.Incidents) != 0 {
			t.Fatalf("%s: %+v, %v, %v: want an empty batch", kind, b, collect, err)
		}
	}

	// Malformed.
	for _, body := range []string{`{"event":`, `[]`, `{}`, `{"event":{"event_type":"incident.resolved"}}`, `{"event":{"event_type":"incident.resolved","data":{"title":"no id"}}}`} {
		if _, _, err := f.source.HandleEvent("incident.resolved", []byte(body)); err == nil {
			t.Errorf("%s: no error", body)
		}
	}

	// An event of a service the settings leave out gives nothing.
	f.connect(func(r *resolved) { r.services = []string{"Checkout API"} })
	b, _, err = f.source.HandleEvent("incident.resolved", f.srv.WebhookPayload("incident.resolved", ids["B"], on(26*time.Hour)))
	if err != nil || len(b.Incidents) != 0 {
		t.Fatalf("left-out service: %+v, %v", b, err)
	}
	if SignatureHeader != "X-PagerDuty-Signature" || !strings.HasPrefix(sign(nil, nil), "v1=") {
		t.Fatal("header name")
	}
}

// TestReacknowledgedEventKeepsFirstAck: collected, then PagerDuty acknowledges D
// again (after un-acknowledging it on timeout) and sends the event: the stored
// record keeps D's first acknowledgement. A resolved event does not drop it either.
func TestReacknowledgedEventKeepsFirstAck(t *testing.T) {
	f := newFixture(t)
	ids := scenario(f.srv)
	f.connect(nil)
	st := collectortest.SQLite(t)
	ctx := context.Background()
	if err := f.collect(ctx, st); err != nil {
		t.Fatal(err)
	}
	first := on(50*time.Hour + 3*time.Minute)
	for _, ev := range []struct {
		kind string
		at   time.Time
	}{{"incident.acknowledged", now.Add(10 * time.Minute)}, {"incident.resolved", now.Add(20 * time.Minute)}} {
		b, _, err := f.source.HandleEvent(ev.kind, f.srv.WebhookPayload(ev.kind, ids["D"], ev.at))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		if d := incidentsByID(t, st)[ids["D"]]; !d.AcknowledgedAt.Equal(first) {
			t.Errorf("after %s: D acknowledged %s, want its first acknowledgement %s kept", ev.kind, d.AcknowledgedAt, first)
		}
	}
	// An incident stored only as triggered takes the event's acknowledgement at once.
	b, _, err := f.source.HandleEvent("incident.acknowledged", f.srv.WebhookPayload("incident.acknowledged", ids["C"], now.Add(5*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if c := incidentsByID(t, st)[ids["C"]]; !c.AcknowledgedAt.Equal(now.Add(5 * time.Minute)) {
		t.Errorf("C, stored triggered, acknowledged %s after the event, want %s", c.AcknowledgedAt, now.Add(5*time.Minute))
	}
}
