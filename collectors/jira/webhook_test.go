package jira

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/jira/jiratest"
)

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// TestWebhookMatchesCollection: an issue_updated event gives the same work item and
// status change (same ids, same values) as a collection of the same issue.
func TestWebhookMatchesCollection(t *testing.T) {
	f := newFixture(t)
	f.srv.AddIssue(jiratest.Issue{Key: "PAY-7", Summary: "Card retries", Labels: []string{"x"}, Components: []string{"api"},
		Assignee: "Bo", Priority: "High", Created: on(0)})
	f.srv.Transition("PAY-7", "In Progress", "Bo", on(time.Hour))
	f.connect(t, nil)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	// The event of a later transition, and the collection of the same state.
	h := f.srv.Transition("PAY-7", "Done", "Cy", on(3*time.Hour+15*time.Second))
	payload := f.srv.WebhookPayload("jira:issue_updated", "PAY-7", h)
	b, collect, err := f.source.HandleEvent("", payload)
	if err != nil || collect {
		t.Fatalf("collect %v, err %v", collect, err)
	}
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, st)
	if len(b.WorkItems) != 1 || !reflect.DeepEqual(b.WorkItems[0], got.items["PAY-7"]) {
		t.Errorf("work item\n event      %+v\n collection %+v", b.WorkItems, got.items["PAY-7"])
	}
	id := "PAY-7/" + h + "/0"
	// The same record but for its version: the event's is the issue's creation, so
	// that any collection of the history replaces it.
	if len(b.StatusChanges) != 1 || !b.StatusChanges[0].UpdatedAt.Equal(on(0)) {
		t.Fatalf("status changes %+v, want one versioned at the issue's creation %v", b.StatusChanges, on(0))
	}
	event := b.StatusChanges[0]
	event.UpdatedAt = got.changes[id].UpdatedAt
	if !reflect.DeepEqual(event, got.changes[id]) {
		t.Errorf("status change\n event      %+v\n collection %+v", event, got.changes[id])
	}
	if sc := got.changes[id]; sc.FromCategory != "In Progress" || sc.ToCategory != "Done" || sc.Author != "Cy" {
		t.Errorf("status change %+v", sc)
	}

	// Before any collection the categories of statuses are unknown but the issue's
	// own: the event asks for a collection.
	cold := newFixture(t)
	cold.srv.AddIssue(jiratest.Issue{Key: "PAY-1", Created: on(0)})
	h = cold.srv.Transition("PAY-1", "In Review", "Bo", on(time.Hour))
	s := cold.connect(t, nil)
	b, collect, err = s.HandleEvent("jira:issue_updated", cold.srv.WebhookPayload("jira:issue_updated", "PAY-1", h))
	if err != nil || !collect || len(b.StatusChanges) != 1 || b.StatusChanges[0].ToCategory != "In Progress" || b.StatusChanges[0].FromCategory != "" {
		t.Errorf("cold: collect %v, err %v, %+v", collect, err, b)
	}

	// An issue of a project not collected, a deletion and a comment give nothing.
	cold.srv.AddIssue(jiratest.Issue{Key: "OPS-1", Created: on(0)})
	for _, p := range [][]byte{
		cold.srv.WebhookPayload("jira:issue_created", "OPS-1", ""),
		cold.srv.WebhookPayload("jira:issue_deleted", "PAY-1", ""),
		[]byte(`{"webhookEvent":"comment_created","comment":{"id":"1"}}`),
	} {
		b, collect, err := s.HandleEvent("", p)
		if err != nil || collect || b == nil || b.Len() != 0 {
			t.Errorf("%.60s: %+v, %v, %v", p, b, collect, err)
		}
	}
	// A created issue gives its work item and no status change.
	b, _, err = s.HandleEvent("", cold.srv.WebhookPayload("jira:issue_created", "PAY-1", ""))
	if err != nil || len(b.WorkItems) != 1 || len(b.StatusChanges) != 0 {
		t.Errorf("created: %+v, %v", b, err)
	}
	for _, bad := range []string{`{`, `{"webhookEvent":"jira:issue_updated"}`, `{"webhookEvent":"jira:issue_updated","issue":{"key":"PAY-1","fields":{"updated":"yesterday"}}}`} {
		if _, _, err := s.HandleEvent("", []byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestWebhookYieldsToCollection: a post-function or automation updates the issue
// after the transition, so the event's issue updated (the webhook's guess at the
// history's time) is later than the history's created. The next collection's copy,
// with the history's own time, must replace the event's.
func TestWebhookYieldsToCollection(t *testing.T) {
	f := newFixture(t)
	f.srv.AddIssue(jiratest.Issue{Key: "PAY-7", Created: on(0)})
	f.connect(t, nil)
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	at := on(3 * time.Hour)
	h := f.srv.Transition("PAY-7", "In Progress", "Bo", at)
	f.srv.Touch("PAY-7", at.Add(40*time.Second)) // the automation's edit
	b, _, err := f.source.HandleEvent("", f.srv.WebhookPayload("jira:issue_updated", "PAY-7", h))
	if err != nil || len(b.StatusChanges) != 1 {
		t.Fatalf("%+v, %v", b, err)
	}
	if err := st.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	sc := snapshot(t, st).changes["PAY-7/"+h+"/0"]
	if !sc.At.Equal(at) || !sc.UpdatedAt.Equal(at) {
		t.Errorf("stored status change at %v (version %v), want the history's %v", sc.At, sc.UpdatedAt, at)
	}
}

func TestVerifySignature(t *testing.T) {
	body, secret := []byte(`{"webhookEvent":"jira:issue_updated"}`), []byte("s3cret")
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if err := VerifySignature(good, body, secret); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ header, want string }{
		{"", "no X-Hub-Signature"},
		{"sha1=" + good[7:], "sha256"},
		{"sha256=zz", "hex"},
		{"sha256=" + strings.Repeat("0", 64), "does not match"},
	} {
		if err := VerifySignature(tc.header, body, secret); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v", tc.header, err)
		}
	}
	if err := VerifySignature(good, append(body, ' '), secret); err == nil {
		t.Error("a changed body passed")
	}
	// An empty secret would accept a signature anyone can compute.
	mac = hmac.New(sha256.New, nil)
	mac.Write(body)
	for _, empty := range [][]byte{nil, {}} {
		if err := VerifySignature("sha256="+hex.EncodeToString(mac.Sum(nil)), body, empty); err == nil || !strings.Contains(err.Error(), "empty secret") {
			t.Errorf("an empty secret: %v", err)
		}
	}
}
