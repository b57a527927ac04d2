package flow

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
)

const hour = 3600

// testConfig: team pay (project PAY, a status mapping, wall clock), team ops
// (project OPS, 09:00–17:00 Mon–Fri UTC, Monday 16 March 2026 a holiday), team ber
// (project BER, 09:00–17:00 Mon–Fri in Europe/Berlin). Project XX has no team and
// no mapping.
func testConfig() *config.Config {
	return &config.Config{
		Teams: []config.Team{
			{Name: "pay", TicketProjects: []string{"PAY"}},
			{Name: "ops", TicketProjects: []string{"ops"},
				Calendar: &config.Calendar{WorkingHours: "09:00-17:00", Holidays: []string{"2026-03-16"}}},
			{Name: "ber", TicketProjects: []string{"BER"},
				Calendar: &config.Calendar{TimeZone: "Europe/Berlin", WorkingHours: "09:00-17:00"}},
		},
		Flow: config.Flow{Projects: map[string]config.FlowProject{
			"pay": {Statuses: map[string]string{"to do": "new", "In Progress": "active", "BLOCKED": "wait", "Done": "done"}},
		}},
	}
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func berlin(s string) time.Time {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

// step is one stretch of a test history: from at, the item is in status (of the
// tracker category cat).
type step struct {
	at          time.Time
	status, cat string
}

// history builds an item of the Jira source whose first step is its status at
// creation and whose last step is its current status.
func history(key, issueType string, steps ...step) (schema.WorkItem, []schema.StatusChange) {
	project, _, _ := strings.Cut(key, "-")
	last := steps[len(steps)-1]
	it := schema.WorkItem{Source: "jira", ID: key, Project: project, IssueType: issueType, Title: key,
		Status: last.status, StatusCategory: last.cat, CreatedAt: steps[0].at}
	var changes []schema.StatusChange
	for i := 1; i < len(steps); i++ {
		changes = append(changes, schema.StatusChange{Source: "jira", ID: key + "/" + string(rune('a'+i)), ItemID: key,
			At: steps[i].at, From: steps[i-1].status, FromCategory: steps[i-1].cat, To: steps[i].status, ToCategory: steps[i].cat})
	}
	return it, changes
}

// want is what a case checks of a fact.
type want struct {
	Team, FlowType, State, Calendar string
	CommittedAt, DoneAt, CanceledAt time.Time
	Flow, Active, Wait, Reopens     int64
	TimePerStatus, Unmapped, PRs    []string
	DeliveredAt                     time.Time
	DeliveredBy                     string
	DeliverySeconds                 int64
}

func wantOf(f schema.FlowItemFact) want {
	return want{Team: f.Team, FlowType: f.FlowType, State: f.State, Calendar: f.Calendar,
		CommittedAt: f.CommittedAt, DoneAt: f.DoneAt, CanceledAt: f.CanceledAt,
		Flow: f.FlowSeconds, Active: f.ActiveSeconds, Wait: f.WaitSeconds, Reopens: f.Reopens,
		TimePerStatus: f.TimePerStatus, Unmapped: f.Unmapped, PRs: f.PullRequests,
		DeliveredAt: f.DeliveredAt, DeliveredBy: f.DeliveredBy, DeliverySeconds: f.DeliverySeconds}
}

var (
	todo     = "To Do"
	progress = "In Progress"
	doneCat  = "Done"
	unknown  = schema.Unknown
)

func TestDerive(t *testing.T) {
	now := utc("2026-04-01 00:00")
	pr := func(id string, refs ...string) schema.PullRequest {
		return schema.PullRequest{Source: "github", ID: id, TicketRefs: refs}
	}
	shipped := func(id, dep string, merged, at time.Time) schema.ChangeFact {
		return schema.ChangeFact{Source: "github", ID: id, State: schema.ChangeShipped, MergedAt: merged, ShippedAt: at, ShippedBy: dep}
	}
	cases := []struct {
		name  string
		steps []step
		key   string
		typ   string
		res   string   // the item's resolution
		label []string // the item's labels
		prs   []schema.PullRequest
		cfs   []schema.ChangeFact
		want  want
	}{
		{
			// Committed 10:00, done 19:00: flow 9 h. Active 10–12, 14–15, 18–19 = 4 h;
			// blocked 12–14 and 15–18 = 5 h of wait. No pull requests: done stands in.
			name: "blocked twice", key: "PAY-1", typ: "Bug",
			steps: []step{{utc("2026-03-02 09:00"), "To Do", todo}, {utc("2026-03-02 10:00"), "In Progress", progress},
				{utc("2026-03-02 12:00"), "Blocked", progress}, {utc("2026-03-02 14:00"), "In Progress", progress},
				{utc("2026-03-02 15:00"), "Blocked", progress}, {utc("2026-03-02 18:00"), "In Progress", progress},
				{utc("2026-03-02 19:00"), "Done", doneCat}},
			want: want{Team: "pay", FlowType: "defect", State: "done", CommittedAt: utc("2026-03-02 10:00"), DoneAt: utc("2026-03-02 19:00"),
				Flow: 9 * hour, Active: 4 * hour, Wait: 5 * hour,
				TimePerStatus: []string{"In Progress=14400", "Blocked=18000"},
				DeliveredAt:   utc("2026-03-02 19:00"), DeliverySeconds: 9 * hour},
		},
		{
			// Done Monday 12:00, reopened Tuesday 12:00, done again 13:00: flow from
			// Monday 10:00 to Tuesday 13:00 = 27 h; active 2 h + 1 h; the 24 h back in
			// done are wait.
			name: "reopened after done", key: "PAY-2", typ: "Chore",
			steps: []step{{utc("2026-03-02 09:00"), "To Do", todo}, {utc("2026-03-02 10:00"), "In Progress", progress},
				{utc("2026-03-02 12:00"), "Done", doneCat}, {utc("2026-03-03 12:00"), "In Progress", progress},
				{utc("2026-03-03 13:00"), "Done", doneCat}},
			want: want{Team: "pay", FlowType: "debt", State: "done", CommittedAt: utc("2026-03-02 10:00"), DoneAt: utc("2026-03-03 13:00"),
				Flow: 27 * hour, Active: 3 * hour, Wait: 24 * hour, Reopens: 1,
				TimePerStatus: []string{"In Progress=10800", "Done=86400"},
				DeliveredAt:   utc("2026-03-03 13:00"), DeliverySeconds: 27 * hour},
		},
		{
			// Won't Do is not in PAY's mapping: its name makes it canceled, and it is
			// listed as unmapped. Canceled items have no flow time; their time per
			// status stops at the cancel.
			name: "canceled", key: "PAY-3",
			steps: []step{{utc("2026-03-02 09:00"), "To Do", todo}, {utc("2026-03-02 10:00"), "In Progress", progress},
				{utc("2026-03-02 12:00"), "Won't Do", doneCat}},
			want: want{Team: "pay", FlowType: "feature", State: "canceled", CommittedAt: utc("2026-03-02 10:00"),
				CanceledAt: utc("2026-03-02 12:00"), Flow: unknown, Active: unknown, Wait: unknown,
				TimePerStatus: []string{"In Progress=7200"}, Unmapped: []string{"Won't Do"}, DeliverySeconds: unknown},
		},
		{
			// Never committed: done, but no flow time, no time per status, and its
			// delivery has no start.
			name: "to do straight to done", key: "PAY-4",
			steps: []step{{utc("2026-03-02 09:00"), "To Do", todo}, {utc("2026-03-02 11:00"), "Done", doneCat}},
			want: want{Team: "pay", FlowType: "feature", State: "done", DoneAt: utc("2026-03-02 11:00"),
				Flow: unknown, Active: unknown, Wait: unknown, DeliveredAt: utc("2026-03-02 11:00"), DeliverySeconds: unknown},
		},
		{
			// QA (In Progress category) and Waiting for Deploy (To Do category, but
			// its name says wait) are not in PAY's mapping. Flow 10:00–14:00 = 4 h;
			// active In Progress 1 h + QA 2 h; wait 1 h.
			name: "statuses missing from the mapping", key: "PAY-5", label: []string{"Security"},
			steps: []step{{utc("2026-03-02 09:00"), "To Do", todo}, {utc("2026-03-02 10:00"), "In Progress", progress},
				{utc("2026-03-02 11:00"), "QA", progress}, {utc("2026-03-02 13:00"), "Waiting for Deploy", todo},
				{utc("2026-03-02 14:00"), "Done", doneCat}},
			want: want{Team: "pay", FlowType: "risk", State: "done", CommittedAt: utc("2026-03-02 10:00"), DoneAt: utc("2026-03-02 14:00"),
				Flow: 4 * hour, Active: 3 * hour, Wait: 1 * hour,
				TimePerStatus: []string{"In Progress=3600", "QA=7200", "Waiting for Deploy=3600"},
				Unmapped:      []string{"QA", "Waiting for Deploy"},
				DeliveredAt:   utc("2026-03-02 14:00"), DeliverySeconds: 4 * hour},
		},
		{
			// Friday 15:00 → Monday 11:00 on the wall clock: 68 h. XX has no team and
			// no mapping, so nothing is unmapped.
			name: "weekend wall clock", key: "XX-1",
			steps: []step{{utc("2026-03-06 14:00"), "To Do", todo}, {utc("2026-03-06 15:00"), "In Progress", progress},
				{utc("2026-03-09 11:00"), "Done", doneCat}},
			want: want{FlowType: "feature", State: "done", CommittedAt: utc("2026-03-06 15:00"), DoneAt: utc("2026-03-09 11:00"),
				Flow: 68 * hour, Active: 68 * hour, Wait: 0, TimePerStatus: []string{"In Progress=244800"},
				DeliveredAt: utc("2026-03-09 11:00"), DeliverySeconds: 68 * hour},
		},
		{
			// The same in ops's 09:00–17:00 Mon–Fri: 2 h Friday + 2 h Monday.
			name: "weekend calendar", key: "OPS-1",
			steps: []step{{utc("2026-03-06 14:00"), "To Do", todo}, {utc("2026-03-06 15:00"), "In Progress", progress},
				{utc("2026-03-09 11:00"), "Done", doneCat}},
			want: want{Team: "ops", Calendar: "ops", FlowType: "feature", State: "done", CommittedAt: utc("2026-03-06 15:00"),
				DoneAt: utc("2026-03-09 11:00"), Flow: 4 * hour, Active: 4 * hour, Wait: 0, TimePerStatus: []string{"In Progress=14400"},
				DeliveredAt: utc("2026-03-09 11:00"), DeliverySeconds: 4 * hour},
		},
		{
			// Friday 13th 15:00 → Tuesday 17th 11:00 with Monday 16th a holiday:
			// 2 h + 0 + 2 h (92 h on the wall clock).
			name: "holiday", key: "OPS-2",
			steps: []step{{utc("2026-03-13 14:00"), "To Do", todo}, {utc("2026-03-13 15:00"), "In Progress", progress},
				{utc("2026-03-17 11:00"), "Done", doneCat}},
			want: want{Team: "ops", Calendar: "ops", FlowType: "feature", State: "done", CommittedAt: utc("2026-03-13 15:00"),
				DoneAt: utc("2026-03-17 11:00"), Flow: 4 * hour, Active: 4 * hour, Wait: 0, TimePerStatus: []string{"In Progress=14400"},
				DeliveredAt: utc("2026-03-17 11:00"), DeliverySeconds: 4 * hour},
		},
		{
			// Berlin: Friday 27 March 15:00 CET → Monday 30 March 11:00 CEST, clocks
			// forward on Sunday: 2 h + 2 h of local working hours (67 h wall clock).
			name: "dst in Europe/Berlin", key: "BER-1",
			steps: []step{{berlin("2026-03-27 14:00"), "To Do", todo}, {berlin("2026-03-27 15:00"), "In Progress", progress},
				{berlin("2026-03-30 11:00"), "Done", doneCat}},
			want: want{Team: "ber", Calendar: "ber", FlowType: "feature", State: "done", CommittedAt: berlin("2026-03-27 15:00"),
				DoneAt: berlin("2026-03-30 11:00"), Flow: 4 * hour, Active: 4 * hour, Wait: 0, TimePerStatus: []string{"In Progress=14400"},
				DeliveredAt: berlin("2026-03-30 11:00"), DeliverySeconds: 4 * hour},
		},
		{
			// Unfinished: time per status runs to its last change, not to now, so
			// the fact stays the same as time passes: In Progress 10:00–16:00 (6 h),
			// and Blocked, still running, is left out. Its shipped pull request is
			// linked, but it is not done, so not delivered.
			name: "unfinished", key: "PAY-6",
			steps: []step{{utc("2026-03-31 09:00"), "To Do", todo}, {utc("2026-03-31 10:00"), "In Progress", progress},
				{utc("2026-03-31 16:00"), "Blocked", progress}},
			prs: []schema.PullRequest{pr("acme/pay#7", "PAY-6")},
			cfs: []schema.ChangeFact{shipped("acme/pay#7", "dep-1", utc("2026-03-31 12:00"), utc("2026-03-31 13:00"))},
			want: want{Team: "pay", FlowType: "feature", State: "wait", CommittedAt: utc("2026-03-31 10:00"),
				Flow: unknown, Active: unknown, Wait: unknown, TimePerStatus: []string{"In Progress=21600"},
				PRs: []string{"acme/pay#7"}, DeliverySeconds: unknown},
		},
		{
			// Created in progress, never changed: committed at creation; its only
			// stretch is still running, so no time per status yet.
			name: "created in progress", key: "PAY-7",
			steps: []step{{utc("2026-03-31 20:00"), "In Progress", progress}},
			want: want{Team: "pay", FlowType: "feature", State: "active", CommittedAt: utc("2026-03-31 20:00"),
				Flow: unknown, Active: unknown, Wait: unknown, DeliverySeconds: unknown},
		},
		{
			// Done with resolution Won't Do: canceled.
			name: "resolution cancels done", key: "PAY-8", res: "Won't Do",
			steps: []step{{utc("2026-03-02 09:00"), "To Do", todo}, {utc("2026-03-02 10:00"), "In Progress", progress},
				{utc("2026-03-02 12:00"), "Done", doneCat}},
			want: want{Team: "pay", FlowType: "feature", State: "canceled", CommittedAt: utc("2026-03-02 10:00"),
				CanceledAt: utc("2026-03-02 12:00"), Flow: unknown, Active: unknown, Wait: unknown,
				TimePerStatus: []string{"In Progress=7200"}, DeliverySeconds: unknown},
		},
		{
			// Ready for Dev is in the In Progress category but its name says wait: the
			// commitment point is 10:00, and 10–12 is wait, 12–13 active.
			name: "name rule beats category", key: "XX-2",
			steps: []step{{utc("2026-03-02 09:00"), "To Do", todo}, {utc("2026-03-02 10:00"), "Ready for Dev", progress},
				{utc("2026-03-02 12:00"), "In Progress", progress}, {utc("2026-03-02 13:00"), "Done", doneCat}},
			want: want{FlowType: "feature", State: "done", CommittedAt: utc("2026-03-02 10:00"), DoneAt: utc("2026-03-02 13:00"),
				Flow: 3 * hour, Active: 1 * hour, Wait: 2 * hour, TimePerStatus: []string{"Ready for Dev=7200", "In Progress=3600"},
				DeliveredAt: utc("2026-03-02 13:00"), DeliverySeconds: 3 * hour},
		},
		{
			// Cancelled in the Done category: the name wins.
			name: "cancel name beats done category", key: "XX-3",
			steps: []step{{utc("2026-03-02 09:00"), "To Do", todo}, {utc("2026-03-02 10:00"), "In Progress", progress},
				{utc("2026-03-02 11:00"), "Cancelled", doneCat}},
			want: want{FlowType: "feature", State: "canceled", CommittedAt: utc("2026-03-02 10:00"), CanceledAt: utc("2026-03-02 11:00"),
				Flow: unknown, Active: unknown, Wait: unknown, TimePerStatus: []string{"In Progress=3600"}, DeliverySeconds: unknown},
		},
		{
			// Done Monday 12:00; two linked pull requests shipped, the later one
			// Tuesday 09:00 by dep-7: delivered then, 23 h after the commitment.
			name: "shipped after done", key: "PAY-10",
			steps: []step{{utc("2026-03-02 09:00"), "To Do", todo}, {utc("2026-03-02 10:00"), "In Progress", progress},
				{utc("2026-03-02 12:00"), "Done", doneCat}},
			prs: []schema.PullRequest{pr("acme/pay#2", "PAY-10"), pr("acme/pay#1", "pay-10", "PAY-99")},
			cfs: []schema.ChangeFact{shipped("acme/pay#1", "dep-7", utc("2026-03-02 11:30"), utc("2026-03-03 09:00")),
				shipped("acme/pay#2", "dep-5", utc("2026-03-02 11:00"), utc("2026-03-02 15:00"))},
			want: want{Team: "pay", FlowType: "feature", State: "done", CommittedAt: utc("2026-03-02 10:00"), DoneAt: utc("2026-03-02 12:00"),
				Flow: 2 * hour, Active: 2 * hour, Wait: 0, TimePerStatus: []string{"In Progress=7200"},
				PRs: []string{"acme/pay#1", "acme/pay#2"}, DeliveredAt: utc("2026-03-03 09:00"), DeliveredBy: "dep-7", DeliverySeconds: 23 * hour},
		},
		{
			// One linked pull request shipped, one merged and undeployed: done, not
			// delivered.
			name: "one linked pull request undeployed", key: "PAY-11",
			steps: []step{{utc("2026-03-02 09:00"), "To Do", todo}, {utc("2026-03-02 10:00"), "In Progress", progress},
				{utc("2026-03-02 12:00"), "Done", doneCat}},
			prs: []schema.PullRequest{pr("acme/pay#3", "PAY-11"), pr("acme/pay#4", "PAY-11")},
			cfs: []schema.ChangeFact{shipped("acme/pay#3", "dep-8", utc("2026-03-02 11:00"), utc("2026-03-02 13:00")),
				{Source: "github", ID: "acme/pay#4", State: schema.ChangeUndeployed, MergedAt: utc("2026-03-02 11:30")}},
			want: want{Team: "pay", FlowType: "feature", State: "done", CommittedAt: utc("2026-03-02 10:00"), DoneAt: utc("2026-03-02 12:00"),
				Flow: 2 * hour, Active: 2 * hour, Wait: 0, TimePerStatus: []string{"In Progress=7200"},
				PRs: []string{"acme/pay#3", "acme/pay#4"}, DeliverySeconds: unknown},
		},
		{
			// Linked pull requests: one untracked, one never merged (no change fact),
			// one excluded: done stands in.
			name: "only untracked and unmerged pull requests", key: "PAY-12",
			steps: []step{{utc("2026-03-02 09:00"), "To Do", todo}, {utc("2026-03-02 10:00"), "In Progress", progress},
				{utc("2026-03-02 12:00"), "Done", doneCat}},
			prs: []schema.PullRequest{pr("acme/pay#5", "PAY-12"), pr("acme/pay#6", "PAY-12"), pr("acme/pay#8", "PAY-12")},
			cfs: []schema.ChangeFact{{Source: "github", ID: "acme/pay#5", State: schema.ChangeUntracked, MergedAt: utc("2026-03-02 11:00")},
				{Source: "github", ID: "acme/pay#8", State: schema.ChangeExcluded, MergedAt: utc("2026-03-02 11:00")}},
			want: want{Team: "pay", FlowType: "feature", State: "done", CommittedAt: utc("2026-03-02 10:00"), DoneAt: utc("2026-03-02 12:00"),
				Flow: 2 * hour, Active: 2 * hour, Wait: 0, TimePerStatus: []string{"In Progress=7200"},
				PRs: []string{"acme/pay#5", "acme/pay#6", "acme/pay#8"}, DeliveredAt: utc("2026-03-02 12:00"), DeliverySeconds: 2 * hour},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			it, changes := history(c.key, c.typ, c.steps...)
			it.Resolution, it.Labels = c.res, c.label
			// A change of another item, which must be ignored.
			changes = append(changes, schema.StatusChange{Source: "jira", ID: "x", ItemID: "NOPE-1", At: c.steps[0].at, From: "Done", To: "In Progress"})
			facts := Derive(Input{Items: []schema.WorkItem{it}, Changes: changes, PullRequests: c.prs, ChangeFacts: c.cfs, Now: now},
				NewRules(testConfig()))
			if len(facts) != 1 {
				t.Fatalf("%d facts, want 1", len(facts))
			}
			if got := wantOf(facts[0]); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, c.want)
			}
			if facts[0].UpdatedAt != now || facts[0].ID != c.key || facts[0].Source != "jira" {
				t.Errorf("fact %s/%s stamped %s, want jira/%s stamped %s", facts[0].Source, facts[0].ID, facts[0].UpdatedAt, c.key, now)
			}
		})
	}
}

// TestDeriveOrderAndSorting: facts come in input order; changes are ordered by
// time then id whatever their input order.
func TestDeriveOrderAndSorting(t *testing.T) {
	a, ac := history("PAY-1", "", step{utc("2026-03-02 09:00"), "To Do", todo},
		step{utc("2026-03-02 10:00"), "In Progress", progress}, step{utc("2026-03-02 11:00"), "Done", doneCat})
	b, bc := history("PAY-2", "", step{utc("2026-03-02 09:00"), "To Do", todo},
		step{utc("2026-03-02 12:00"), "In Progress", progress}, step{utc("2026-03-02 15:00"), "Done", doneCat})
	changes := append(append([]schema.StatusChange{}, bc[1], ac[1]), bc[0], ac[0])
	facts := Derive(Input{Items: []schema.WorkItem{b, a}, Changes: changes, Now: utc("2026-04-01 00:00")}, NewRules(testConfig()))
	if facts[0].ID != "PAY-2" || facts[1].ID != "PAY-1" {
		t.Fatalf("order %s, %s; want PAY-2, PAY-1", facts[0].ID, facts[1].ID)
	}
	// PAY-2: 12:00 → 15:00 = 3 h; PAY-1: 10:00 → 11:00 = 1 h.
	if facts[0].FlowSeconds != 3*hour || facts[1].FlowSeconds != 1*hour {
		t.Errorf("flow %d, %d; want %d, %d", facts[0].FlowSeconds, facts[1].FlowSeconds, 3*hour, 1*hour)
	}
}

// TestStates checks the default status mapping and the project mapping.
func TestStates(t *testing.T) {
	r := NewRules(testConfig())
	cases := []struct {
		project, status, cat string
		state                string
		unmapped             bool
	}{
		{"PAY", "blocked", progress, "wait", false}, // mapped, ignoring case
		{"pay", "IN PROGRESS", progress, "active", false},
		{"PAY", "Review", progress, "active", true}, // by category, unmapped
		{"PAY", "On Hold", progress, "wait", true},  // by name, unmapped
		{"XX", "Review", progress, "active", false}, // no mapping: nothing unmapped
		{"XX", "Backlog", todo, "new", false},
		{"XX", "Closed", doneCat, "done", false},
		{"XX", "Closed", "done", "done", false},
		{"XX", "Doing", "indeterminate", "active", false},
		{"XX", "Triage", "", "new", false},
		{"XX", "Weird", "Something", "new", false},
		{"XX", "Ready for Review", progress, "wait", false},
		{"XX", "In Queue", progress, "wait", false},
		{"XX", "Pending", progress, "wait", false},
		{"XX", "Blocked", doneCat, "wait", false},
		{"XX", "Rejected", progress, "canceled", false},
		{"XX", "Duplicate", doneCat, "canceled", false},
		{"XX", "Wont Fix", doneCat, "canceled", false},
		{"XX", "Invalid", doneCat, "canceled", false},
		{"XX", "Declined", doneCat, "canceled", false},
		{"XX", "Obsolete", doneCat, "canceled", false},
		{"XX", "Pending cancellation", progress, "canceled", false},
	}
	for _, c := range cases {
		st, unm := r.state(c.project, c.status, c.cat)
		if st != c.state || unm != c.unmapped {
			t.Errorf("state(%s, %s, %s) = %s, %v; want %s, %v", c.project, c.status, c.cat, st, unm, c.state, c.unmapped)
		}
	}
}

// TestFlowTypes checks the default flow-type rules and configured ones.
func TestFlowTypes(t *testing.T) {
	def := NewRules(&config.Config{})
	custom := NewRules(&config.Config{Flow: config.Flow{Types: []config.FlowTypeRule{
		{Type: "debt", Labels: []string{"Cleanup"}},
		{Type: "risk", IssueTypes: []string{"bug"}},
	}}})
	cases := []struct {
		rules     *Rules
		issueType string
		labels    []string
		want      string
	}{
		{def, "Bug", nil, "defect"},
		{def, "defect", nil, "defect"},
		{def, "Story", []string{"BUG"}, "defect"},
		{def, "Vulnerability", nil, "risk"},
		{def, "Task", []string{"security"}, "risk"},
		{def, "Tech Debt", nil, "debt"},
		{def, "Task", []string{"chore"}, "debt"},
		{def, "Story", []string{"frontend"}, "feature"},
		{def, "Bug", []string{"chore"}, "defect"}, // first rule wins
		{custom, "Bug", nil, "risk"},
		{custom, "Bug", []string{"cleanup"}, "debt"}, // first matching rule, by label
		{custom, "Security", nil, "feature"},         // configured rules replace the defaults
	}
	for _, c := range cases {
		if got := c.rules.flowType(c.issueType, c.labels); got != c.want {
			t.Errorf("flowType(%s, %v) = %s, want %s", c.issueType, c.labels, got, c.want)
		}
	}
}

// A missed last change: the history ends In Review, but the tracker says Done,
// resolved at 1 April 10:00. The item moved to Done when it was resolved; its
// earlier stretches keep their time. Committed 30 March 09:00 (In Progress),
// In Review from 31 March 09:00, done 1 April 10:00: flow 49 h, active all of it.
// Without a resolution time, the record's last update stands in.
func TestMissedFinalTransition(t *testing.T) {
	it, changes := history("PAY-1", "Story",
		step{utc("2026-03-29 09:00"), "To Do", todo},
		step{utc("2026-03-30 09:00"), "In Progress", progress},
		step{utc("2026-03-31 09:00"), "In Review", progress})
	it.Status, it.StatusCategory = "Done", doneCat
	it.ResolvedAt, it.UpdatedAt = utc("2026-04-01 10:00"), utc("2026-04-01 10:05")
	f := Derive(Input{Items: []schema.WorkItem{it}, Changes: changes, Now: utc("2026-04-02 00:00")}, NewRules(testConfig()))[0]
	if !f.CommittedAt.Equal(utc("2026-03-30 09:00")) || !f.DoneAt.Equal(utc("2026-04-01 10:00")) ||
		f.FlowSeconds != 49*3600 || f.ActiveSeconds != 49*3600 || f.WaitSeconds != 0 {
		t.Errorf("resolved: committed %s, done %s, flow %d, active %d, wait %d; want 30 Mar 09:00, 1 Apr 10:00, 176400, 176400, 0",
			f.CommittedAt, f.DoneAt, f.FlowSeconds, f.ActiveSeconds, f.WaitSeconds)
	}
	it.ResolvedAt = time.Time{}
	f = Derive(Input{Items: []schema.WorkItem{it}, Changes: changes, Now: utc("2026-04-02 00:00")}, NewRules(testConfig()))[0]
	if !f.DoneAt.Equal(utc("2026-04-01 10:05")) || f.FlowSeconds != 49*3600+300 {
		t.Errorf("unresolved: done %s, flow %d; want the last update, 1 Apr 10:05, and 176700 s", f.DoneAt, f.FlowSeconds)
	}
}
