package metrics

import (
	"maps"
	"slices"
	"testing"

	"github.com/flowmeter/flowmeter/schema"
)

// rangeHistory is pay's production history, worked by hand:
//
//	D0 c0 at 0 h, D1 c1 at 10 h, D2 c2 at 20 h, D3 c3 at 30 h (force-pushed: c2 and c3
//	have diverged), D4 c4 at 40 h; in production-us, c1 at 12 h and c2 at 22 h.
//	P1 (m1, merged at 5 h) is in c0...c1; P2 (m2, 9 h) and P5 (m5, 6 minutes before
//	D0 finished, after it started) in c1...c2; P4 (m4, 25 h) in c3...c4; P6 (m6,
//	15 h) in no range compared.
func rangeHistory() Input {
	us := func(id string, f float64, sha string) schema.Deployment {
		d := prod(id, f, sha)
		d.Environment = "production-us"
		return d
	}
	return Input{
		PullRequests: []schema.PullRequest{
			pr("P1", 4, 5, "m1"), pr("P2", 8, 9, "m2"), pr("P5", -2, -0.1, "m5"), pr("P4", 24, 25, "m4"), pr("P6", 14, 15, "m6"),
		},
		Deployments: []schema.Deployment{
			prod("D0", 0, "c0"), prod("D1", 10, "c1"), prod("D2", 20, "c2"), prod("D3", 30, "c3"), prod("D4", 40, "c4"),
			us("U1", 12, "c1"), us("U2", 22, "c2"),
		},
		Ancestry: map[schema.CommitPair]bool{},
		Now:      h(1000),
	}
}

func pair(base, head string) schema.CommitPair {
	return schema.CommitPair{Repo: "acme/pay", Base: base, Head: head}
}

func TestRangesAttributeWhatEachDeploymentShipped(t *testing.T) {
	in, rules := rangeHistory(), testRules(t)
	ranges := NewRanges(in, rules)
	// Each range once, though both regions deployed c1 then c2.
	want := []schema.CommitPair{pair("c0", "c1"), pair("c1", "c2"), pair("c2", "c3"), pair("c3", "c4")}
	if got := ranges.Needed(); !slices.Equal(got, want) {
		t.Fatalf("needed ranges %v, want %v", got, want)
	}
	if n := len(ranges.at[pair("c1", "c2")]); n != 2 {
		t.Fatalf("c1...c2 lies in %d chains, want 2 (production and production-us)", n)
	}
	answers := ranges.Answers([]schema.CommitRange{
		{CommitPair: pair("c0", "c1"), BaseInHead: true, Commits: []string{"x1", "M1"}},
		{CommitPair: pair("c1", "c2"), BaseInHead: true, Commits: []string{"m2", "y", "m5"}},
		{CommitPair: pair("c2", "c3")}, // diverged
		{CommitPair: pair("c3", "c4"), BaseInHead: true, Commits: []string{"m4"}},
	})
	wantAnswers := map[schema.CommitPair]bool{
		// how each range's commits relate, both ways
		pair("c0", "c1"): true, pair("c1", "c0"): false, pair("c1", "c2"): true, pair("c2", "c1"): false,
		pair("c2", "c3"): false, pair("c3", "c2"): false, pair("c3", "c4"): true, pair("c4", "c3"): false,
		// P1: in c1; D0 finished before the merge, so no walk asks of it.
		pair("m1", "c1"): true,
		// P2: in c2, not in c1 (D1 started after the merge); D0 finished before it.
		pair("m2", "c2"): true, pair("m2", "c1"): false,
		// P5: in c2, not in c1; D0 started before the merge, so cannot ship it.
		pair("m5", "c2"): true, pair("m5", "c1"): false,
		// P4: in c4, not in c3; c2 is no ancestor of c3, so nothing is said of it.
		pair("m4", "c4"): true, pair("m4", "c3"): false,
	}
	if !maps.Equal(answers, wantAnswers) {
		t.Fatalf("answers:\n got %v\nwant %v", answers, wantAnswers)
	}

	// With them, every walk is decided but P6's, and no rollback question is left.
	maps.Copy(in.Ancestry, answers)
	if got := NeededPairs(in, rules, 1, nil); !slices.Equal(got, []schema.CommitPair{pair("m6", "c2")}) {
		t.Fatalf("questions left %v, want only P6's first", got)
	}
	changes, _, _ := derive(t, in)
	for id, want := range map[string]struct {
		by          string
		attribution schema.Attribution
	}{
		"P1": {"D1", schema.ByAncestry}, "P2": {"D2", schema.ByAncestry}, "P5": {"D2", schema.ByAncestry},
		"P4": {"D4", schema.ByAncestry}, "P6": {"D2", schema.ByTime},
	} {
		if c := changes[id]; c.ShippedBy != want.by || c.Attribution != want.attribution {
			t.Errorf("%s: shipped by %q (%s), want %q (%s)", id, c.ShippedBy, c.Attribution, want.by, want.attribution)
		}
	}
	// Once compared, a range is not needed again.
	if got := NewRanges(in, rules).Needed(); len(got) != 0 {
		t.Errorf("ranges needed again: %v", got)
	}
}

func TestRangesAreNotAskedAcrossAMarkedRollback(t *testing.T) {
	in := rangeHistory()
	in.Deployments[3].Rollback = true // D3 is marked a rollback: it goes back, it ships nothing
	got := NewRanges(in, testRules(t)).Needed()
	want := []schema.CommitPair{pair("c0", "c1"), pair("c1", "c2"), pair("c3", "c4")}
	if !slices.Equal(got, want) {
		t.Fatalf("needed ranges %v, want %v", got, want)
	}
}

// withWorker adds a second service of the same repository, which deploys c1 at
// 11 h and then c5 (after c2) at 25 h.
func withWorker(in Input) Input {
	worker := func(id string, f float64, sha string) schema.Deployment {
		d := prod(id, f, sha)
		d.Service = "pay-worker"
		return d
	}
	in.Deployments = append(in.Deployments, worker("W1", 11, "c1"), worker("W2", 25, "c5"))
	return in
}

func TestRangesAnswerOnlyWhatTheWalksAsk(t *testing.T) {
	// A second service of the same repository deploys c1 at 11 h, then c5 (after
	// c2) at 25 h: its range c1...c5 lists m2 as well, but P2's walk stops at D2
	// (c2, 20 h), which contains it, so nothing is said of c5.
	in := withWorker(rangeHistory())
	ranges := NewRanges(in, testRules(t))
	if got := ranges.Needed(); !slices.Contains(got, pair("c1", "c5")) {
		t.Fatalf("needed ranges %v lack the worker's c1...c5", got)
	}
	answers := ranges.Answers([]schema.CommitRange{
		{CommitPair: pair("c0", "c1"), BaseInHead: true, Commits: []string{"m1"}},
		{CommitPair: pair("c1", "c2"), BaseInHead: true, Commits: []string{"m2", "m5"}},
		{CommitPair: pair("c1", "c5"), BaseInHead: true, Commits: []string{"m2", "m5", "c2", "m6"}},
	})
	// P6 (m6, 15 h) is listed only in c1...c5: its walk's first question, c2 at
	// 20 h, is no range's, so the walk asks it and nothing is said of m6 here.
	for _, p := range []schema.CommitPair{pair("m2", "c5"), pair("m5", "c5"), pair("m6", "c2"), pair("m6", "c5")} {
		if _, ok := answers[p]; ok {
			t.Errorf("answered %v, which no walk asks", p)
		}
	}
	for p, want := range map[schema.CommitPair]bool{pair("m2", "c1"): false, pair("m2", "c2"): true, pair("m5", "c1"): false, pair("m5", "c2"): true} {
		if got, ok := answers[p]; !ok || got != want {
			t.Errorf("%v: %v (answered %v), want %v", p, got, ok, want)
		}
	}
}

func TestRangesAnswerWithoutBeingAskedWhatIsNeeded(t *testing.T) {
	// Answers needs the merged pull requests indexed; asking Needed first must not
	// be what builds that index.
	answers := NewRanges(rangeHistory(), testRules(t)).Answers([]schema.CommitRange{
		{CommitPair: pair("c0", "c1"), BaseInHead: true, Commits: []string{"m1"}},
	})
	if got, ok := answers[pair("m1", "c1")]; !ok || !got {
		t.Fatalf("m1 in c1: %v (answered %v), want true; answers %v", got, ok, answers)
	}
}

func TestRangesWalkAPullRequestListedTwiceOnce(t *testing.T) {
	// The worker's c1...c5 lists m2 and m5 again, after production's c1...c2 did;
	// the production and production-us chains both hold c1...c2.
	in := withWorker(rangeHistory())
	got := NewRanges(in, testRules(t)).listed([]schema.CommitRange{
		{CommitPair: pair("c1", "c2"), BaseInHead: true, Commits: []string{"m2", "m5"}},
		{CommitPair: pair("c1", "c5"), BaseInHead: true, Commits: []string{"m2", "m5", "c2", "m6"}},
		{CommitPair: pair("c2", "c3"), Commits: []string{"m6"}}, // diverged: lists nothing shipped
	})
	var ids []string
	for _, pr := range got {
		ids = append(ids, pr.ID)
	}
	if want := []string{"P2", "P5", "P6"}; !slices.Equal(ids, want) {
		t.Fatalf("walked %v, want %v, each once", ids, want)
	}
}

func TestRangesAndWalksSkipTheSamePullRequests(t *testing.T) {
	// B7 is a bot's (excluded), P0 was merged before tracking began (untracked), P9
	// has no merge commit: no walk asks of them, so neither do ranges.
	in := rangeHistory()
	bot := pr("B7", 8, 9.5, "m7")
	bot.Author = "renovate[bot]"
	noMerge := pr("P9", 8, 9.2, "")
	in.PullRequests = append(in.PullRequests, bot, pr("P0", -3, -1, "m0"), noMerge)
	rules := testRules(t)
	answers := NewRanges(in, rules).Answers([]schema.CommitRange{
		{CommitPair: pair("c0", "c1"), BaseInHead: true, Commits: []string{"m0", "m1"}},
		{CommitPair: pair("c1", "c2"), BaseInHead: true, Commits: []string{"m2", "m7", "m5"}},
	})
	asked := NeededPairs(in, rules, 10, nil)
	for p := range answers {
		if p.Base == "m7" || p.Base == "m0" {
			t.Errorf("ranges answered %v, which no walk asks", p)
		}
	}
	for _, p := range asked {
		if p.Base == "m7" || p.Base == "m0" || p.Base == "" {
			t.Errorf("walks ask %v", p)
		}
	}
	if !answers[pair("m2", "c2")] || !slices.Contains(asked, pair("m2", "c1")) {
		t.Fatalf("the others' walks lost: answers %v, asked %v", answers, asked)
	}
}
