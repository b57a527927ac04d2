package jira

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// WebhookSignatureHeader is the header in which Jira Cloud signs the body of a
// webhook registered with a secret, so the receiver can refuse forged events.
const WebhookSignatureHeader = "X-Hub-Signature"

// VerifySignature checks a webhook's signature header, "sha256=<hex HMAC-SHA256 of
// the body keyed by the secret>", as Jira Cloud sends it for a webhook with a secret.
// The comparison takes constant time, so the signature cannot be guessed byte by
// byte.
// An empty secret is refused: anyone could compute the signature it gives.
func VerifySignature(header string, body, secret []byte) error {
	if len(secret) == 0 {
		return errors.New("jira webhook: an empty secret would accept forged events: set the webhook's secret")
	}
	if header == "" {
		return errors.New("jira webhook: no " + WebhookSignatureHeader + " header: is the webhook's secret set in Jira?")
	}
	algo, sig, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok || !strings.EqualFold(algo, "sha256") {
		return fmt.Errorf("jira webhook: %s: want sha256=<hex>, got the method %q", WebhookSignatureHeader, algo)
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("jira webhook: %s: the signature is not a hex SHA-256", WebhookSignatureHeader)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("jira webhook: the signature does not match the body: check the secret")
	}
	return nil
}

// webhookEvent is the part of a Jira issue event the source reads.
type webhookEvent struct {
	WebhookEvent string    `json:"webhookEvent"`
	Timestamp    int64     `json:"timestamp"`
	User         *apiUser  `json:"user"`
	Issue        *apiIssue `json:"issue"`
	Changelog    *struct {
		ID    string    `json:"id"`
		Items []apiItem `json:"items"`
	} `json:"changelog"`
}

// HandleEvent turns a Jira issue event (jira:issue_created, jira:issue_updated) into
// the work item and status changes a collection would write for it, with the same
// ids: the event's changelog id is the history id a collection reads. Other events
// (deletions, comments, worklogs, sprints) give an empty batch: a comment or worklog
// updates the issue, which the next collection reads again, but a deleted issue or
// worklog stays in the store. Events are selected by project only: the jql setting
// cannot be checked against an event. It asks for a collection only when a status is not yet
// in the status list the last collection read. kind may be empty; the event's own webhookEvent decides.
func (s *Source) HandleEvent(kind string, payload []byte) (*schema.Batch, bool, error) {
	var ev webhookEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, false, fmt.Errorf("jira event %q: %w", kind, err)
	}
	if ev.WebhookEvent == "" {
		ev.WebhookEvent = kind
	}
	b := &schema.Batch{}
	switch ev.WebhookEvent {
	case "jira:issue_created", "jira:issue_updated":
	default:
		return b, false, nil
	}
	if ev.Issue == nil || ev.Issue.Key == "" {
		return nil, false, fmt.Errorf("jira event %q: the payload has no issue", ev.WebhookEvent)
	}
	if !s.selects(ev.Issue) {
		return b, false, nil
	}
	wi, err := s.workItem(ev.Issue)
	if err != nil {
		return nil, false, fmt.Errorf("jira event %q: %w", ev.WebhookEvent, err)
	}
	b.WorkItems = append(b.WorkItems, wi)
	if ev.Changelog == nil || ev.Changelog.ID == "" {
		return b, false, nil
	}
	// The event does not carry the history's time. Jira stamps the issue's update
	// time with it in the update that makes the event, so the issue's updated is the
	// best guess (the event's timestamp, when it was sent, the fallback); but a
	// post-function or automation that edits the issue afterwards makes it later.
	// So the records an event makes carry the lowest sensible version, the issue's
	// creation time: no history is older than its issue, so the next collection's
	// copy (versioned by the history's own time) always replaces the event's guess.
	created := ev.Issue.Fields.Updated
	if created == "" && ev.Timestamp > 0 {
		created = time.UnixMilli(ev.Timestamp).UTC().Format(jiraTime)
	}
	version, err := parseTime(ev.Issue.Fields.Created)
	if err != nil {
		return nil, false, fmt.Errorf("jira event %q: issue %s: created: %w", ev.WebhookEvent, ev.Issue.Key, err)
	}
	s.mu.Lock()
	cats := s.categories
	s.mu.Unlock()
	n, unknown := 0, false
	for _, it := range ev.Changelog.Items {
		if !isStatusItem(it) {
			continue
		}
		from, to := lookup(cats, it.From, it.FromString), lookup(cats, it.To, it.ToString)
		if st := ev.Issue.Fields.Status; to == "" && st != nil && (st.ID == it.To || st.Name == it.ToString) {
			to = categoryName(st.StatusCategory)
		}
		unknown = unknown || (from == "" && it.FromString != "") || (to == "" && it.ToString != "")
		sc, err := s.statusChange(ev.Issue.Key, ev.Changelog.ID, ev.User, created, n, it, from, to)
		if err != nil {
			return nil, false, fmt.Errorf("jira event %q: %w", ev.WebhookEvent, err)
		}
		if !version.IsZero() && version.Before(sc.UpdatedAt) {
			sc.UpdatedAt = version
		}
		b.StatusChanges = append(b.StatusChanges, sc)
		n++
	}
	// A status no collection has listed yet leaves its category unknown: a
	// collection reads the status list and rewrites the change with it.
	return b, unknown, nil
}

// lookup finds a status's category in a map built by categoryMap; "" when unknown.
func lookup(m map[string]string, id, name string) string {
	if c, ok := m["id:"+id]; ok && id != "" {
		return c
	}
	return m["name:"+strings.ToLower(name)]
}

// selects says whether an event's issue is one the settings collect: when projects
// are named, only theirs (a JQL filter cannot be checked here, so with only jql
// every issue is taken).
func (s *Source) selects(is *apiIssue) bool {
	if len(s.set.projects) == 0 {
		return true
	}
	project := ""
	if is.Fields.Project != nil {
		project = is.Fields.Project.Key
	} else if p, _, ok := strings.Cut(is.Key, "-"); ok {
		project = p
	}
	for _, p := range s.set.projects {
		if p == project {
			return true
		}
	}
	return false
}
