package github

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/flowmeter/flowmeter/schema"
)

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func stamp(d time.Duration) *gh.Timestamp { return &gh.Timestamp{Time: at(d)} }

func TestCursorSpans(t *testing.T) {
	var c pullsCursor
	c.add(span{at(10 * time.Hour), at(20 * time.Hour)})
	c.add(span{at(0), at(5 * time.Hour)})
	// Touching spans (one second apart) merge; overlapping ones merge.
	c.add(span{at(5*time.Hour + time.Second), at(8 * time.Hour)})
	c.add(span{at(19 * time.Hour), at(30 * time.Hour)})
	want := []span{{at(0), at(8 * time.Hour)}, {at(10 * time.Hour), at(30 * time.Hour)}}
	if !reflect.DeepEqual(c.Covered, want) {
		t.Fatalf("spans %v, want %v", c.Covered, want)
	}
	if _, ok := c.spanOf(at(9 * time.Hour)); ok {
		t.Error("9h is in the gap, not covered")
	}
	if s, ok := c.spanOf(at(10 * time.Hour)); !ok || !s.From.Equal(at(10*time.Hour)) {
		t.Error("10h is covered by the upper span")
	}
	// Complete only when the top span reaches the floor.
	if c.complete(at(0)) {
		t.Error("a gap below the top span is not complete")
	}
	c.add(span{at(8 * time.Hour), at(10 * time.Hour)})
	if !c.complete(at(0)) || c.complete(at(-time.Hour)) {
		t.Errorf("complete from 0 = %v (want true), from -1h = %v (want false)", c.complete(at(0)), c.complete(at(-time.Hour)))
	}
}

func user(login, typ string) *gh.User { return &gh.User{Login: &login, Type: &typ} }

func event(kind string) *gh.Timeline { return &gh.Timeline{Event: &kind} }

func committed(d time.Duration) *gh.Timeline {
	e := event("committed")
	e.Author = &gh.CommitAuthor{Date: stamp(d)}
	return e
}

func reviewed(login, typ, state string, d time.Duration) *gh.Timeline {
	e := event("reviewed")
	e.User, e.State, e.SubmittedAt = user(login, typ), &state, stamp(d)
	return e
}

func draftEvent(kind string, d time.Duration) *gh.Timeline {
	e := event(kind)
	e.CreatedAt = stamp(d)
	return e
}

func TestApplyTimeline(t *testing.T) {
	r := &run{Source: &Source{set: &resolved{bots: []*regexp.Regexp{regexp.MustCompile(`\[bot\]$`)}}}}
	tests := []struct {
		name   string
		draft  bool
		events []*gh.Timeline
		want   schema.PullRequest // only the fields the timeline fills
	}{{
		name: "squash merge: earliest author date of many commits, reviews by author and bots ignored",
		events: []*gh.Timeline{
			committed(-30 * time.Hour), committed(-50 * time.Hour), committed(-2 * time.Hour),
			reviewed("ana", "User", "commented", time.Hour),             // the author
			reviewed("dependabot[bot]", "Bot", "approved", 2*time.Hour), // a bot by name and type
			reviewed("ci-helper", "Bot", "approved", 2*time.Hour),       // a bot by type only
			reviewed("bo", "User", "changes_requested", 3*time.Hour),    // first real review
			reviewed("cy", "User", "approved", 5*time.Hour),             // first approval
			reviewed("bo", "User", "approved", 6*time.Hour),
		},
		want: schema.PullRequest{FirstCommitAt: at(-50 * time.Hour), CommitCount: 3, FirstReviewAt: at(3 * time.Hour),
			FirstReviewer: "bo", FirstApprovalAt: at(5 * time.Hour), ReadyAt: at(0)},
	}, {
		name:   "opened as a draft, then ready, back to draft, ready again: the first ready counts",
		events: []*gh.Timeline{draftEvent("ready_for_review", 4*time.Hour), draftEvent("convert_to_draft", 5*time.Hour), draftEvent("ready_for_review", 9*time.Hour)},
		want:   schema.PullRequest{ReadyAt: at(4 * time.Hour)},
	}, {
		name:   "opened ready, converted to draft later: ready at creation",
		events: []*gh.Timeline{draftEvent("convert_to_draft", 2*time.Hour), draftEvent("ready_for_review", 3*time.Hour)},
		want:   schema.PullRequest{ReadyAt: at(0)},
	}, {
		name:  "still a draft: not ready",
		draft: true,
		want:  schema.PullRequest{Draft: true},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := schema.PullRequest{CreatedAt: at(0), Draft: tc.draft}
			r.applyTimeline(&rec, "ana", tc.events)
			tc.want.CreatedAt = at(0)
			if !reflect.DeepEqual(rec, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", rec, tc.want)
			}
		})
	}
}

func status(state string, d time.Duration) *gh.DeploymentStatus {
	return &gh.DeploymentStatus{State: &state, CreatedAt: stamp(d), UpdatedAt: stamp(d)}
}

func TestDeploymentRecord(t *testing.T) {
	r := &run{Source: &Source{name: "gh", set: &resolved{}}}
	repo := repository{owner: "acme", name: "api", fullName: "acme/api"}
	id, env, sha, ref := int64(7), "production", "abc", "main"
	d := &gh.Deployment{ID: &id, Environment: &env, SHA: &sha, Ref: &ref, CreatedAt: stamp(0), UpdatedAt: stamp(0)}
	tests := []struct {
		name     string
		statuses []*gh.DeploymentStatus // newest first, as GitHub lists them
		status   schema.DeploymentStatus
		finished time.Time
	}{
		{"failure then success on retry", []*gh.DeploymentStatus{status("success", 9*time.Minute), status("in_progress", 5*time.Minute), status("failure", 3*time.Minute), status("in_progress", time.Minute)}, schema.DeploymentSuccess, at(9 * time.Minute)},
		{"succeeded then replaced", []*gh.DeploymentStatus{status("inactive", time.Hour), status("success", 4*time.Minute), status("queued", 0)}, schema.DeploymentSuccess, at(4 * time.Minute)},
		{"failed", []*gh.DeploymentStatus{status("failure", 2*time.Minute), status("in_progress", 0)}, schema.DeploymentFailure, at(2 * time.Minute)},
		{"still running", []*gh.DeploymentStatus{status("in_progress", time.Minute), status("queued", 0)}, schema.DeploymentInProgress, time.Time{}},
		{"no status yet", nil, schema.DeploymentQueued, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := r.deploymentRecord(repo, d, tc.statuses)
			if rec.Status != tc.status || !rec.FinishedAt.Equal(tc.finished) || !rec.StartedAt.Equal(at(0)) {
				t.Fatalf("status %s finished %v started %v; want %s, %v, %v", rec.Status, rec.FinishedAt, rec.StartedAt, tc.status, tc.finished, at(0))
			}
			if rec.ID != "acme/api/deployments/7" || rec.Service != "api" || rec.Environment != "production" || rec.CommitSHA != "abc" {
				t.Fatalf("record %+v", rec)
			}
		})
	}
}

func TestReverts(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"GitHub's revert button", "Reverts acme/api#12", []string{"acme/api#12"}},
		{"git revert, upper-case sha", "Revert \"Add retries\"\n\nThis reverts commit " + strings.ToUpper(sha) + ".", []string{sha}},
		{"git revert of a merge", "This reverts commit " + sha + ", reversing\nchanges made to 1111111111111111111111111111111111111111.", []string{sha}},
		{"same repository, other spelling, another repository", "Reverts #7\r\nReverts ACME/API#8\r\nreverts acme/web#7", []string{"acme/api#7", "acme/api#8", "acme/web#7"}},
		{"in order, once each", "Reverts #3 and this reverts commit " + sha + ".\nReverts acme/api#3\nThis reverts commit " + sha, []string{"acme/api#3", sha}},
		{"not a full sha, not a number, not a word", "This reverts commit 0123456.\nReverts #abc\nunreverts #4\nReverts #5x", nil},
		{"no body", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := reverts("acme/api", tc.body); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("reverts(%q) = %q, want %q", tc.body, got, tc.want)
			}
		})
	}
}

func TestTicketRefs(t *testing.T) {
	tests := []struct {
		name                string
		title, branch, body string
		want                []string
	}{
		{"key in the title", "PAY-123: add retries", "main", "", []string{"PAY-123"}},
		{"lower-case branch", "Add retries", "feature/pay-123-retries", "", []string{"PAY-123"}},
		{"body, several, once each in order", "CHK-9 fix", "chk-9", "Also PAY-1 and CHK-9.\nSee OPS_2-44", []string{"CHK-9", "PAY-1", "OPS_2-44"}},
		{"closing keywords", "Retry", "x", "Fixes #12, closes acme/web#3\nresolved: #4\nmentions #5", []string{"acme/api#12", "acme/web#3", "acme/api#4"}},
		{"not keys", "a-1 x-0 PAY-0123 9AB-1 word-", "PAYMENTS_LONGKEY-1", "", nil},
		{"branch words after the key", "x", "feature/PAY-123_retries", "PAY-7-retries and PAY-8x", []string{"PAY-123", "PAY-7"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ticketRefs("acme/api", tc.title, tc.branch, tc.body); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ticketRefs = %q, want %q", got, tc.want)
			}
		})
	}
}
