package partition

import (
	"slices"
	"strings"

	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/schema"
)

// Split partitions an input held in memory: each part keeps its records in the
// input's order, and the ancestry answers of its repositories.
func Split(in metrics.Input, rules *metrics.Rules) []metrics.Input {
	ix := NewIndex(rules)
	for i := range in.Incidents {
		ix.AddIncident(&in.Incidents[i])
	}
	for i := range in.Deployments {
		ix.AddDeployment(&in.Deployments[i])
	}
	for i := range in.PullRequests {
		ix.AddPullRequest(&in.PullRequests[i])
	}
	for names := ix.TakePending(); !names.Empty(); names = ix.TakePending() {
		for i := range in.Deployments {
			if d := &in.Deployments[i]; names.Select(d.ID, d.CommitSHA, "") {
				ix.AddDeployment(d)
			}
		}
		for i := range in.PullRequests {
			if pr := &in.PullRequests[i]; names.Select(pr.ID, pr.MergeCommitSHA, pr.Title) {
				ix.AddPullRequest(pr)
			}
		}
	}
	groups := ix.Groups()
	l := ix.Lookup(groups)
	out := make([]metrics.Input, len(groups))
	for i := range out {
		out[i] = metrics.Input{Now: in.Now, Ancestry: map[schema.CommitPair]bool{}}
	}
	for _, pr := range in.PullRequests {
		g := l.Repo(pr.Repo)
		out[g].PullRequests = append(out[g].PullRequests, pr)
	}
	for _, d := range in.Deployments {
		g := l.Repo(d.Repo)
		out[g].Deployments = append(out[g].Deployments, d)
	}
	for _, inc := range in.Incidents {
		g := l.Service(inc.Service)
		out[g].Incidents = append(out[g].Incidents, inc)
	}
	for p, contains := range in.Ancestry {
		if g := l.Repo(p.Repo); g >= 0 {
			out[g].Ancestry[p] = contains
		}
	}
	return out
}

// Select says whether a record with this id, commit and title is one the names
// select: what a store's filter by the same names returns. Titles are matched by
// substring, as stores can, which selects more than the words derivation matches:
// adding more records to the index is harmless.
func (n Names) Select(id, commit, title string) bool {
	if slices.Contains(n.IDs, id) || commit != "" && slices.Contains(n.Commits, strings.ToLower(commit)) {
		return true
	}
	return slices.ContainsFunc(n.TitleWords, func(w string) bool { return strings.Contains(title, w) })
}
