package github

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
	"github.com/flowmeter/flowmeter/schema"
)

// useGraphQL is a connect edit collecting pull requests by GraphQL.
func useGraphQL(r *resolved) { r.graphql = true }

// edgeCases adds a repository with what the GraphQL path must page or translate:
// over 100 commits (the earliest authored one past the first 100), labels and reviews,
// a rebase merge, draft round trips, bots, reverts and ticket keys.
func edgeCases(t testing.TB, srv *githubtest.Server) {
	repo := srv.AddRepo("acme", "edge", "main")
	repo.Commit("main", "ana", on(-200*time.Hour))
	var commits []githubtest.PRCommit
	for i := range 150 {
		at := on(time.Duration(i) * time.Minute)
		if i == 120 {
			at = on(-90 * time.Hour) // the first commit written, listed 121st
		}
		commits = append(commits, githubtest.PRCommit{AuthorDate: at})
	}
	repo.AddPullRequest(githubtest.PullRequest{
		Number: 1, Author: "ana", Title: "PAY-12 Big import", Labels: []string{"feature", "big"}, CreatedAt: on(0),
		MergedAt: on(30 * time.Hour), MergeMethod: "rebase", Commits: commits,
		Events: []githubtest.Event{
			{Kind: "reviewed", Actor: "renovate", ActorIsBot: true, State: "approved", At: on(3 * time.Hour)},
			{Kind: "reviewed", Actor: "ana", State: "commented", At: on(4 * time.Hour)},
			{Kind: "reviewed", Actor: "bo", State: "approved", At: on(5 * time.Hour)},
		},
	})
	var labels []string
	for i := range 105 {
		labels = append(labels, fmt.Sprintf("area-%03d", 104-i))
	}
	var reviews []githubtest.Event
	for i := range 104 {
		reviews = append(reviews, githubtest.Event{Kind: "reviewed", Actor: "cy", State: "commented", At: on(time.Duration(40+i) * time.Hour)})
	}
	// The first review by someone else is the 105th listed.
	reviews = append(reviews, githubtest.Event{Kind: "reviewed", Actor: "dee", State: "approved", At: on(33 * time.Hour)})
	repo.AddPullRequest(githubtest.PullRequest{
		Number: 2, Author: "cy", Draft: true, Labels: labels, CreatedAt: on(31 * time.Hour), MergedAt: on(150 * time.Hour),
		MergeMethod: "squash", HeadRef: "pay-77-labels", Body: "Reverts acme/edge#1\n\nThis reverts commit " + strings.Repeat("AB", 20) + ".\nfixes #9",
		Events: append([]githubtest.Event{
			{Kind: "ready_for_review", At: on(32 * time.Hour)},
			{Kind: "convert_to_draft", At: on(32*time.Hour + 30*time.Minute)},
			{Kind: "ready_for_review", At: on(34 * time.Hour)},
		}, reviews...),
	})
	// Opened ready, turned into a draft and still one; a bot's pull request; one closed.
	repo.AddPullRequest(githubtest.PullRequest{Number: 3, Author: "bo", CreatedAt: on(160 * time.Hour),
		Events: []githubtest.Event{{Kind: "convert_to_draft", At: on(161 * time.Hour)}}, Draft: true})
	repo.AddPullRequest(githubtest.PullRequest{Number: 4, Author: "dependabot", AuthorIsBot: true, Labels: []string{"dependencies"},
		CreatedAt: on(162 * time.Hour), MergedAt: on(163 * time.Hour), MergedBy: "ana",
		Events: []githubtest.Event{{Kind: "reviewed", Actor: "ana", State: "approved", At: on(162*time.Hour + 30*time.Minute)}}})
	repo.AddPullRequest(githubtest.PullRequest{Number: 5, Author: "eve", Draft: true, CreatedAt: on(164 * time.Hour), ClosedAt: on(165 * time.Hour)})
}

// equalHistories collects the same history by REST and by GraphQL and returns both
// stores' records, failing when they differ.
func equalHistories(t *testing.T, build func(*fixture)) map[string]schema.PullRequest {
	t.Helper()
	rest, gql := newFixture(t), newFixture(t)
	build(rest)
	build(gql)
	rest.connect(t, nil)
	gql.connect(t, useGraphQL)
	restStore, gqlStore := collectortest.SQLite(t), collectortest.SQLite(t)
	if err := rest.collect(context.Background(), restStore); err != nil {
		t.Fatal(err)
	}
	if err := gql.collect(context.Background(), gqlStore); err != nil {
		t.Fatal(err)
	}
	if gql.srv.Count("pulls.get") != 0 || gql.srv.Count("pulls.list") != 0 || gql.srv.Count("graphql") == 0 {
		t.Fatalf("the GraphQL collection made %d pulls.get, %d pulls.list and %d graphql requests",
			gql.srv.Count("pulls.get"), gql.srv.Count("pulls.list"), gql.srv.Count("graphql"))
	}
	want, wantDeps := snapshot(t, restStore)
	got, gotDeps := snapshot(t, gqlStore)
	for id, w := range want {
		if g, ok := got[id]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("pull request %s\n graphql %+v\n rest    %+v", id, g, w)
		}
	}
	if len(got) != len(want) || !reflect.DeepEqual(gotDeps, wantDeps) {
		t.Fatalf("GraphQL stored %d pull requests and %d deployments, REST %d and %d", len(got), len(gotDeps), len(want), len(wantDeps))
	}
	return want
}

func TestGraphQLRecordsEqualREST(t *testing.T) {
	prs := equalHistories(t, func(f *fixture) {
		costOrg(t, f, 2, 120)
		edgeCases(t, f.srv)
	})
	// The cases are what they are meant to be, checked by hand.
	big, labels, bot := prs["acme/edge#1"], prs["acme/edge#2"], prs["acme/edge#4"]
	if big.CommitCount != 150 || !big.FirstCommitAt.Equal(on(-90*time.Hour)) || big.FirstReviewer != "bo" || !big.FirstApprovalAt.Equal(on(5*time.Hour)) {
		t.Errorf("edge#1: %d commits, first at %v, first reviewer %q, approval %v", big.CommitCount, big.FirstCommitAt, big.FirstReviewer, big.FirstApprovalAt)
	}
	if len(labels.Labels) != 105 || labels.Labels[0] != "area-104" || labels.FirstReviewer != "dee" || !labels.ReadyAt.Equal(on(32*time.Hour)) ||
		!reflect.DeepEqual(labels.TicketRefs, []string{"PAY-77", "acme/edge#9"}) || len(labels.Reverts) != 2 {
		t.Errorf("edge#2: %d labels, first reviewer %q, ready %v, tickets %q, reverts %q", len(labels.Labels), labels.FirstReviewer, labels.ReadyAt, labels.TicketRefs, labels.Reverts)
	}
	if bot.Author != "dependabot[bot]" || prs["acme/edge#3"].ReadyAt != on(160*time.Hour) || !prs["acme/edge#5"].ReadyAt.IsZero() {
		t.Errorf("edge#4 author %q; edge#3 ready %v; edge#5 ready %v", bot.Author, prs["acme/edge#3"].ReadyAt, prs["acme/edge#5"].ReadyAt)
	}
	var bots, drafted int
	for _, pr := range prs {
		if strings.HasSuffix(pr.Author, "[bot]") {
			bots++
		}
		if !pr.ReadyAt.IsZero() && pr.ReadyAt.After(pr.CreatedAt) {
			drafted++
		}
	}
	if bots < 5 || drafted < 5 {
		t.Errorf("only %d bot and %d drafted-then-ready pull requests: the comparison misses cases", bots, drafted)
	}
}
