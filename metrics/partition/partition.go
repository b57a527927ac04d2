// Package partition splits an organisation's records into groups that derive
// independently: metrics.Derive on each group alone gives, fact for fact, what it
// gives on everything. A refresh can then hold one group's records at a time
// instead of the organisation's.
//
// Derivation links records across repositories and services only through:
//
//   - a deployment, which joins its repository's pull requests (ship attribution,
//     ancestry) to its service's other deployments (rollouts, rollbacks, hotfixes);
//   - an incident, which joins its service (and the deployment service the rules map
//     it to) to the deployment, commit or pull request it names as its cause;
//   - a pull request that reverts others named by id or merge commit, wherever they
//     are;
//   - a pull request whose title names an incident by its id (it is then unplanned).
//
// Reverts by title stay within a repository, and teams come from each record alone.
// Services are compared ignoring case, as derivation compares them. Whatever else
// looks like a link (a commit sha shared by two repositories) is merged rather
// than argued away: a group too large costs memory, never a different fact.
package partition

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/schema"
)

// Group is one partition: the repositories and services whose records derive
// together. Services are spelt as the records spell them, deployments' and
// incidents' alike, so that a store can select their records by equality.
type Group struct {
	Repos    []string
	Services []string
	// Records is how many pull requests and deployments the index was given of the
	// group (one given twice counts twice): what a refresh budgets its batches by.
	Records int
}

// Names are references whose records the index has not necessarily seen: ids and
// commits (lower-case) a pull request or deployment may answer to, and incident
// ids a pull request title may contain. A refresh reads the records they select and
// adds them, until none are left.
type Names struct {
	IDs, Commits, TitleWords []string
}

// Empty says whether there is nothing to look up.
func (n Names) Empty() bool { return len(n.IDs)+len(n.Commits)+len(n.TitleWords) == 0 }

// Index collects what links records, one record at a time, keeping only the links:
// a node per repository and per service, and the names that records refer to.
type Index struct {
	rules  *metrics.Rules
	parent map[string]string
	// spellings are the services as records spell them, by node.
	spellings map[string]map[string]bool
	records   map[string]int
	// incidents maps an incident id to its node, for titles that name it.
	incidents map[string]string
	// wanted maps a name (an id, or "sha\x00" and a lower-case commit) to the nodes
	// of the records that refer to it.
	wanted  map[string][]string
	pending Names
}

// NewIndex makes an empty index for the rules that map incident services.
func NewIndex(rules *metrics.Rules) *Index {
	return &Index{
		rules: rules, parent: map[string]string{}, spellings: map[string]map[string]bool{},
		records: map[string]int{}, incidents: map[string]string{}, wanted: map[string][]string{},
	}
}

func repoNode(repo string) string       { return "r\x00" + repo }
func serviceNode(service string) string { return "s\x00" + strings.ToLower(service) }
func commitName(sha string) string      { return "sha\x00" + strings.ToLower(sha) }

func (ix *Index) find(n string) string {
	p, ok := ix.parent[n]
	if !ok {
		ix.parent[n] = n
		return n
	}
	if p == n {
		return n
	}
	root := ix.find(p)
	ix.parent[n] = root
	return root
}

func (ix *Index) union(a, b string) {
	ra, rb := ix.find(a), ix.find(b)
	if ra != rb {
		ix.parent[ra] = rb
	}
}

func (ix *Index) spell(service string) {
	n := serviceNode(service)
	ix.find(n)
	if ix.spellings[n] == nil {
		ix.spellings[n] = map[string]bool{}
	}
	ix.spellings[n][service] = true
}

// want notes that the record at node refers to name, and queues the name to be
// looked up once.
func (ix *Index) want(node, name string, queue *[]string, value string) {
	if name == "" || name == commitName("") {
		return
	}
	list := ix.wanted[name]
	if slices.Contains(list, node) {
		return
	}
	ix.wanted[name] = append(list, node)
	*queue = append(*queue, value)
}

// answer joins a record at node to the records that refer to one of its names.
func (ix *Index) answer(node, name string) {
	for _, by := range ix.wanted[name] {
		ix.union(node, by)
	}
}

// AddIncident adds an incident: its service, and what it names as its cause.
func (ix *Index) AddIncident(inc *schema.Incident) {
	n := serviceNode(ix.rules.DeploymentServiceOfIncident(inc.Service))
	ix.union(serviceNode(inc.Service), n)
	ix.spell(inc.Service)
	if _, known := ix.incidents[inc.ID]; !known && inc.ID != "" {
		ix.pending.TitleWords = append(ix.pending.TitleWords, inc.ID)
	}
	ix.incidents[inc.ID] = n
	ix.want(n, inc.CauseDeploymentID, &ix.pending.IDs, inc.CauseDeploymentID)
	ix.want(n, inc.CausePullRequest, &ix.pending.IDs, inc.CausePullRequest)
	ix.want(n, commitName(inc.CauseCommitSHA), &ix.pending.Commits, strings.ToLower(inc.CauseCommitSHA))
}

// AddDeployment adds a deployment: it joins its repository and its service.
func (ix *Index) AddDeployment(d *schema.Deployment) {
	n := repoNode(d.Repo)
	ix.union(n, serviceNode(d.Service))
	ix.spell(d.Service)
	ix.records[n]++
	ix.answer(n, d.ID)
	if d.CommitSHA != "" {
		ix.answer(n, commitName(d.CommitSHA))
	}
}

// AddPullRequest adds a pull request: its repository, the incidents its title
// names, and what it reverts.
func (ix *Index) AddPullRequest(pr *schema.PullRequest) {
	n := repoNode(pr.Repo)
	ix.find(n)
	ix.records[n]++
	ix.answer(n, pr.ID)
	if pr.MergeCommitSHA != "" {
		ix.answer(n, commitName(pr.MergeCommitSHA))
	}
	if len(ix.incidents) > 0 {
		for _, w := range titleWords(pr.Title) {
			if inc, ok := ix.incidents[w]; ok {
				ix.union(n, inc)
			}
		}
	}
	for _, ref := range pr.Reverts {
		if strings.Contains(ref, "#") {
			ix.want(n, ref, &ix.pending.IDs, ref)
		} else {
			ix.want(n, commitName(ref), &ix.pending.Commits, strings.ToLower(ref))
		}
	}
}

// AddAncestry adds a cached ancestry answer, which only its repository reads.
func (ix *Index) AddAncestry(a *schema.Ancestry) { ix.find(repoNode(a.Repo)) }

// TakePending returns the names referred to since the last call, and forgets them:
// a caller that has added every record since may drop them, one that has not reads
// the records they select (pull requests and deployments by id or commit, pull
// requests whose title contains a word) and adds those.
func (ix *Index) TakePending() Names {
	p := ix.pending
	ix.pending = Names{}
	return p
}

// titleWords splits a title into the words derivation looks incident ids up by:
// runs of letters, digits, '-' and '_'.
func titleWords(title string) []string {
	inWord := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	var out []string
	for i := 0; i < len(title); {
		j := i
		for j < len(title) && inWord(title[j]) {
			j++
		}
		if j > i {
			out = append(out, title[i:j])
		}
		i = j + 1
	}
	return out
}

// Groups lists the partitions, each with its repositories and services sorted, in
// the order of their first repository (or service).
func (ix *Index) Groups() []Group {
	byRoot := map[string]*Group{}
	for _, n := range slices.Sorted(maps.Keys(ix.parent)) {
		root := ix.find(n)
		g := byRoot[root]
		if g == nil {
			g = &Group{}
			byRoot[root] = g
		}
		if repo, ok := strings.CutPrefix(n, "r\x00"); ok {
			g.Repos = append(g.Repos, repo)
			g.Records += ix.records[n]
		}
		for s := range ix.spellings[n] {
			g.Services = append(g.Services, s)
		}
	}
	out := make([]Group, 0, len(byRoot))
	for _, g := range byRoot {
		slices.Sort(g.Services)
		if len(g.Repos) > 0 || len(g.Services) > 0 {
			out = append(out, *g)
		}
	}
	slices.SortFunc(out, func(a, b Group) int {
		return cmp.Or(cmp.Compare(first(a.Repos), first(b.Repos)), cmp.Compare(first(a.Services), first(b.Services)))
	})
	return out
}

func first(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

// Join adds groups known from before, as links: the index then never splits what
// an earlier refresh derived together, which is always safe (any union of
// partitions derives as its parts do).
func (ix *Index) Join(groups []Group) {
	for _, g := range groups {
		var nodes []string
		for _, r := range g.Repos {
			nodes = append(nodes, repoNode(r))
		}
		for _, s := range g.Services {
			ix.spell(s)
			nodes = append(nodes, serviceNode(s))
		}
		for _, n := range nodes {
			ix.union(nodes[0], n)
		}
		if len(g.Repos) > 0 {
			ix.records[repoNode(g.Repos[0])] += g.Records
		}
	}
}

// Lookup gives a repository's or a service's partition, as an index into the
// groups it was made from, for the caller that sorts records itself.
type Lookup struct {
	ix     *Index
	byRoot map[string]int
}

// Lookup indexes the groups that Groups returned.
func (ix *Index) Lookup(groups []Group) Lookup {
	l := Lookup{ix: ix, byRoot: map[string]int{}}
	for i, g := range groups {
		if len(g.Repos) > 0 {
			l.byRoot[ix.find(repoNode(g.Repos[0]))] = i
		} else {
			l.byRoot[ix.find(serviceNode(g.Services[0]))] = i
		}
	}
	return l
}

// Repo is the group of a repository, -1 when the index never saw it.
func (l Lookup) Repo(repo string) int { return l.node(repoNode(repo)) }

// Service is the group of a service (as a record spells it), -1 when unseen.
func (l Lookup) Service(service string) int { return l.node(serviceNode(service)) }

func (l Lookup) node(n string) int {
	if _, seen := l.ix.parent[n]; !seen {
		return -1
	}
	if i, ok := l.byRoot[l.ix.find(n)]; ok {
		return i
	}
	return -1
}
