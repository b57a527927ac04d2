package flow

import (
	"reflect"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/schema"
)

// reviewFixture is the review's hand-made world, the quarter 2026Q3 seen from 15
// October (so AsOf is 1 October):
//
//   - pay (wall-clock, project PAY mapping Code Review and Blocked to wait):
//     PAY-1 feature 6 → 8 Jul, flow 48h, active 24h, two pull requests both
//     shipped; PAY-2 defect 13 → 23 Jul, flow 10 d, active 2 d, reopened once,
//     its pull request merged and not shipped (done, not delivered); PAY-3
//     feature 3 Aug → 4 Aug 12:00, all 36h active, no pull request; PAY-4
//     feature 1 → 26 Sep, flow 25 d, active 2.5 d, through the unmapped Ready
//     for QA, one pull request shipped; PAY-5 feature committed 20 Sep, open;
//     PAY-6 debt committed 20 Jul, canceled 25 Jul; PAY-8 committed 30 Sep 12:00; PAY-7 feature 17 → 19 Aug,
//     flow 2 d, active 4.8h (efficiency 0.1, as PAY-4's). In 2026Q2: PAY-10
//     feature flow 2 d active 32h, PAY-11 defect flow 1 d active 8h. Nothing in
//     2025Q3.
//   - ops (calendar 09:00-17:00 Monday to Friday, UTC: 8-hour days): OPS-1
//     feature Tue 7 Jul 09:00 → Thu 9 Jul 17:00, flow 24 working hours, active
//     12h, 12h in Waiting; OPS-2 risk 10 Aug 09:00 → 13:00, all 4h active. In
//     2025Q3: OPS-9 feature flow 16h, active 4h. Nothing in 2026Q2.
//   - idle: no items at all.
//   - X-1, of no team: 17 → 18 Aug, flow 24h, active 12h, 12h Queued.
func reviewFixture() ReviewInput {
	var zero time.Time
	d := utc
	withStatuses := func(f schema.FlowItemFact, statuses ...string) schema.FlowItemFact {
		f.TimePerStatus = statuses
		f.DeliveredAt = f.DoneAt
		return f
	}
	pay := func(id, flowType, committed, done string, flow, active int64, statuses ...string) schema.FlowItemFact {
		f := fact(id, "pay", flowType, d(committed), d(done), zero, flow, active)
		f.Title = "Work on " + id
		return withStatuses(f, statuses...)
	}
	p1 := pay("PAY-1", "feature", "2026-07-06 00:00", "2026-07-08 00:00", 172800, 86400, "In Progress=86400", "Code Review=86400")
	p1.PullRequests = []string{"pr-1", "pr-2"}
	p1.DeliveredAt = d("2026-07-07 06:00")
	p2 := pay("PAY-2", "defect", "2026-07-13 00:00", "2026-07-23 00:00", 864000, 172800,
		"In Progress=172800", "Code Review=432000", "Blocked=259200")
	p2.Reopens = 1
	p2.PullRequests = []string{"pr-3"}
	p2.DeliveredAt = zero
	p3 := pay("PAY-3", "feature", "2026-08-03 00:00", "2026-08-04 12:00", 129600, 129600, "In Progress=129600")
	p4 := pay("PAY-4", "feature", "2026-09-01 00:00", "2026-09-26 00:00", 2160000, 216000,
		"In Progress=216000", "Code Review=864000", "Ready for QA=1080000")
	p4.Unmapped = []string{"Ready for QA"}
	p4.PullRequests = []string{"pr-4"}
	p4.DeliveredAt = d("2026-09-08 00:00")
	p5 := fact("PAY-5", "pay", "feature", d("2026-09-20 00:00"), zero, zero, schema.Unknown, schema.Unknown)
	// PAY-8 is committed on the last day, loaded at AsOf's sample only.
	p8 := fact("PAY-8", "pay", "feature", d("2026-09-30 12:00"), zero, zero, schema.Unknown, schema.Unknown)
	p6 := fact("PAY-6", "pay", "debt", d("2026-07-20 00:00"), zero, d("2026-07-25 00:00"), schema.Unknown, schema.Unknown)
	p7 := pay("PAY-7", "feature", "2026-08-17 00:00", "2026-08-19 00:00", 172800, 17280, "In Progress=17280", "Code Review=155520")
	p10 := pay("PAY-10", "feature", "2026-04-06 00:00", "2026-04-08 00:00", 172800, 115200, "In Progress=115200", "Code Review=57600")
	p11 := pay("PAY-11", "defect", "2026-05-04 00:00", "2026-05-05 00:00", 86400, 28800, "In Progress=28800", "Blocked=57600")

	ops := func(id, flowType, committed, done string, flow, active int64, statuses ...string) schema.FlowItemFact {
		f := fact(id, "ops", flowType, d(committed), d(done), zero, flow, active)
		f.Project, f.Calendar = "OPS", "ops"
		return withStatuses(f, statuses...)
	}
	o1 := ops("OPS-1", "feature", "2026-07-07 09:00", "2026-07-09 17:00", 86400, 43200, "In Progress=43200", "Waiting=43200")
	o2 := ops("OPS-2", "risk", "2026-08-10 09:00", "2026-08-10 13:00", 14400, 14400, "In Progress=14400")
	o9 := ops("OPS-9", "feature", "2025-08-04 09:00", "2025-08-05 17:00", 57600, 14400, "In Progress=14400", "Waiting=43200")

	x1 := fact("X-1", "", "feature", d("2026-08-17 00:00"), d("2026-08-18 00:00"), zero, 86400, 43200)
	x1.Project = "X"
	x1 = withStatuses(x1, "In Progress=43200", "Queued=43200")

	changes := []schema.ChangeFact{
		{Source: "github", ID: "pr-1", State: schema.ChangeShipped, FirstCommitAt: d("2026-07-06 06:00"),
			OpenedAt: d("2026-07-06 12:00"), ReadyAt: d("2026-07-06 12:00"), FirstReviewAt: d("2026-07-06 18:00"),
			MergedAt: d("2026-07-07 00:00"), ShippedAt: d("2026-07-07 06:00")},
		// Opened as a draft, never reviewed, merged last.
		{Source: "github", ID: "pr-2", State: schema.ChangeShipped, FirstCommitAt: d("2026-07-06 08:00"),
			OpenedAt: d("2026-07-06 09:00"), ReadyAt: d("2026-07-06 10:00"),
			MergedAt: d("2026-07-07 02:00"), ShippedAt: d("2026-07-07 06:00")},
		{Source: "github", ID: "pr-3", State: schema.ChangeUndeployed, FirstCommitAt: d("2026-07-14 00:00"),
			OpenedAt: d("2026-07-15 00:00"), ReadyAt: d("2026-07-15 00:00"), MergedAt: d("2026-07-22 00:00")},
		{Source: "github", ID: "pr-4", State: schema.ChangeShipped, FirstCommitAt: d("2026-09-02 00:00"),
			OpenedAt: d("2026-09-03 00:00"), ReadyAt: d("2026-09-03 00:00"), FirstReviewAt: d("2026-09-05 00:00"),
			MergedAt: d("2026-09-06 00:00"), ShippedAt: d("2026-09-08 00:00")},
	}
	cfg := &config.Config{
		Teams: []config.Team{
			{Name: "pay", TicketProjects: []string{"PAY"}},
			{Name: "ops", TicketProjects: []string{"OPS"}, Calendar: &config.Calendar{WorkingHours: "09:00-17:00"}},
			{Name: "idle"},
		},
		Flow: config.Flow{Projects: map[string]config.FlowProject{
			"PAY": {Statuses: map[string]string{"In Progress": "active", "Code Review": "wait", "Blocked": "wait", "Done": "done"}},
		}},
	}
	doraRep := aggregate.Report{Teams: []aggregate.Team{
		{Name: "pay", Figures: aggregate.Figures{
			DeploymentFrequencyPerDay: aggregate.Some(0.5), LeadTimeSeconds: aggregate.Quantiles{P50: aggregate.Some(86400)},
			ChangeFailureRate: aggregate.Some(0.1), FailedDeploymentRecoverySeconds: aggregate.Quantiles{P50: aggregate.Some(3600)},
			Tiers: aggregate.Tiers{DeploymentFrequency: dora.High, LeadTime: dora.High, ChangeFailureRate: dora.High, FailedDeploymentRecovery: dora.Elite},
		}},
		{Name: "ops", Figures: aggregate.Figures{DeploymentFrequencyPerDay: aggregate.Some(0.1)}},
	}}
	return ReviewInput{
		Items:   []schema.FlowItemFact{x1, p1, p2, o1, p3, p4, p5, p6, p7, p8, p10, p11, o2, o9},
		Changes: changes,
		Teams:   []string{"pay", "ops", "idle"},
		From:    d("2026-07-01 00:00"), To: d("2026-10-01 00:00"), Now: d("2026-10-15 00:00"),
		Rules: NewRules(cfg),
		URLs:  map[string]string{"PAY-4": "https://tracker.example/browse/PAY-4", "PAY-2": "https://tracker.example/browse/PAY-2"},
		DORA:  doraRep,
	}
}

func TestBuildReviewWindowsAndTeams(t *testing.T) {
	r := BuildReview(reviewFixture())
	// The previous window of a quarter is the quarter before; a year earlier the same quarter of 2025.
	for _, w := range []struct {
		name     string
		rep      Report
		from, to string
	}{
		{"current", r.Current, "2026-07-01 00:00", "2026-10-01 00:00"},
		{"previous", r.Previous, "2026-04-01 00:00", "2026-07-01 00:00"},
		{"year earlier", r.YearEarlier, "2025-07-01 00:00", "2025-10-01 00:00"},
	} {
		if !w.rep.From.Equal(utc(w.from)) || !w.rep.To.Equal(utc(w.to)) || !w.rep.AsOf.Equal(utc(w.to)) {
			t.Errorf("%s window %s – %s as of %s", w.name, w.rep.From, w.rep.To, w.rep.AsOf)
		}
	}
	var names []string
	for _, tr := range r.Teams {
		names = append(names, tr.Name)
	}
	// The listed teams in order, then the facts of no team.
	if want := []string{"pay", "ops", "idle", aggregate.NoTeam}; !reflect.DeepEqual(names, want) {
		t.Fatalf("teams %v, want %v", names, want)
	}
	if r.Organisation == nil || r.Organisation.Name != OrganisationName {
		t.Fatalf("organisation %+v", r.Organisation)
	}
	if !r.Reviewed() || (Review{Current: r.Current}).Reviewed() {
		t.Error("Reviewed: a built review is one, a bare report is not")
	}
}

func TestBuildReviewEfficiency(t *testing.T) {
	r := BuildReview(reviewFixture())
	pay, ops, idle := r.Teams[0], r.Teams[1], r.Teams[2]

	// pay now: active 24h + 2 d + 36h + 2.5 d + 4.8h = 622080 s over flow 2 d + 10 d +
	// 1.5 d + 25 d + 2 d = 3499200 s: 8/45. Its items' efficiencies .5 .2 1 .1 .1: median .2.
	checkValue(t, "pay efficiency", pay.Current.Efficiency, 8.0/45, true)
	checkValue(t, "pay median", pay.Current.EfficiencyMedian, 0.2, true)
	// 2026Q2: (32h + 8h) / (2 d + 1 d) = 5/9; median of 2/3 and 1/3 = .5.
	checkValue(t, "pay previous", pay.Previous.Efficiency, 5.0/9, true)
	checkValue(t, "pay previous median", pay.Previous.EfficiencyMedian, 0.5, true)
	// Nothing finished in 2025Q3: no data, not 0.
	checkValue(t, "pay year earlier", pay.YearEarlier.Efficiency, 0, false)
	checkValue(t, "pay change", pay.EfficiencyChange, 8.0/45-5.0/9, true)
	checkValue(t, "pay change a year", pay.EfficiencyChangeYear, 0, false)
	if pay.Current.Finished != 5 || pay.Current.Reopened != 1 || pay.Current.Canceled != 1 {
		t.Errorf("pay finished %d reopened %d canceled %d, want 5, 1, 1", pay.Current.Finished, pay.Current.Reopened, pay.Current.Canceled)
	}

	// ops now: (12h + 4h) / (24h + 4h) working hours = 4/7; median of .5 and 1 = .75;
	// no data in 2026Q2; 2025Q3: 4h / 16h = .25.
	checkValue(t, "ops efficiency", ops.Current.Efficiency, 4.0/7, true)
	checkValue(t, "ops median", ops.Current.EfficiencyMedian, 0.75, true)
	checkValue(t, "ops previous", ops.Previous.Efficiency, 0, false)
	checkValue(t, "ops year earlier", ops.YearEarlier.Efficiency, 0.25, true)
	checkValue(t, "ops change a year", ops.EfficiencyChangeYear, 4.0/7-0.25, true)

	// Active vs wait of pay: 622080 s active, 3499200 − 622080 = 2877120 s wait.
	if pay.Time.ActiveSeconds != 622080 || pay.Time.WaitSeconds != 2877120 {
		t.Errorf("pay active %d wait %d", pay.Time.ActiveSeconds, pay.Time.WaitSeconds)
	}
	checkValue(t, "pay active share", pay.Time.ActiveShare, 8.0/45, true)
	checkValue(t, "pay wait share", pay.Time.WaitShare, 37.0/45, true)
	checkValue(t, "idle active share", idle.Time.ActiveShare, 0, false)

	// Waits of pay: Code Review 1 d + 5 d + 10 d + 1.8 d = 1537920 s (4 items), Ready for
	// QA 12.5 d = 1080000 s, Blocked 3 d = 259200 s; over 2877120 s of wait: in units of
	// 17280 s, 89, 62.5 and 15 of 166.5.
	wantWaits := []struct {
		status  string
		seconds int64
		items   int
		share   float64
	}{{"Code Review", 1537920, 4, 89 / 166.5}, {"Ready for QA", 1080000, 1, 62.5 / 166.5}, {"Blocked", 259200, 1, 15 / 166.5}}
	if len(pay.Waits) != len(wantWaits) {
		t.Fatalf("pay waits %+v", pay.Waits)
	}
	for i, w := range wantWaits {
		got := pay.Waits[i]
		if got.Status != w.status || got.Seconds != w.seconds || got.Items != w.items {
			t.Errorf("pay wait %d: %+v, want %+v", i, got, w)
		}
		checkValue(t, "share of "+w.status, got.Share, w.share, true)
	}

	// Distribution: pay finished 4 features and 1 defect (.8, .2) after 1 and 1 (.5, .5).
	want := []struct {
		ft                  string
		now, was, change    float64
		wasDefined, defined bool
	}{{"feature", .8, .5, .3, true, true}, {"defect", .2, .5, -.3, true, true}, {"risk", 0, 0, 0, true, true}, {"debt", 0, 0, 0, true, true}}
	for i, w := range want {
		got := pay.Distribution[i]
		if got.FlowType != w.ft {
			t.Errorf("distribution %d is %s, want %s", i, got.FlowType, w.ft)
		}
		checkValue(t, "pay now "+w.ft, got.Current, w.now, true)
		checkValue(t, "pay was "+w.ft, got.Previous, w.was, w.wasDefined)
		checkValue(t, "pay change "+w.ft, got.Change, w.change, w.defined)
	}
	// ops finished nothing in 2026Q2: its earlier shares are no data.
	checkValue(t, "ops was feature", ops.Distribution[0].Previous, 0, false)
	checkValue(t, "ops change feature", ops.Distribution[0].Change, 0, false)
}

func TestBuildReviewHistogram(t *testing.T) {
	r := BuildReview(reviewFixture())
	pay, ops, org := r.Teams[0], r.Teams[1], r.Organisation

	// pay's flow times in days: 2, 10, 1.5, 25, 2 → bins [1,2): 1; [2,5): 2; [10,20): 1;
	// [20,40): 1. Sorted 1.5 2 2 10 25: p50 = 2; p85 at rank 3.4 = 10 + .4·15 = 16;
	// p95 at 3.8 = 10 + .8·15 = 22. Positions: 2 is the left edge of bin 2; 16 is
	// 6/10 into bin 4 [10,20); 22 is 2/20 into bin 5 [20,40).
	checkHistogram(t, "pay", pay.Histogram, 86400, []int{0, 1, 2, 0, 1, 1, 0, 0},
		[]Marker{{"p50", 2, 2}, {"p85", 16, 4.6}, {"p95", 22, 5.1}})

	// ops counts working days of 8 hours: 24h = 3 d, 4h = .5 d → bins 2 and 0. p50 of
	// .5 and 3 = 1.75, .75 into bin 1; p85 = .5 + .85·2.5 = 2.625, .625/3 into bin 2;
	// p95 = .5 + .95·2.5 = 2.875, .875/3 into bin 2.
	checkHistogram(t, "ops", ops.Histogram, 28800, []int{1, 0, 1, 0, 0, 0, 0, 0},
		[]Marker{{"p50", 1.75, 1.75}, {"p85", 2.625, 2 + .625/3}, {"p95", 2.875, 2 + .875/3}})

	// The organisation mixes 24-hour and 8-hour days (no one day length): .5 (OPS-2),
	// 1, 1.5, 2, 2, 3 (OPS-1), 10, 25. p50 at rank 3.5 = 2; p85 at 5.95 = 3 +
	// .95·7 = 9.65, 4.65/5 into bin 3; p95 at 6.65 = 10 + .65·15 = 19.75, 9.75/10 into bin 4.
	checkHistogram(t, "organisation", org.Histogram, 0, []int{1, 2, 3, 0, 1, 1, 0, 0},
		[]Marker{{"p50", 2, 2}, {"p85", 9.65, 3.93}, {"p95", 19.75, 4.975}})

	if idle := r.Teams[2].Histogram; len(idle.Markers) != 0 || idle.Counts[0] != 0 {
		t.Errorf("idle histogram %+v, want no markers and no counts", idle)
	}
}

func checkHistogram(t *testing.T, who string, h Histogram, day int64, counts []int, markers []Marker) {
	t.Helper()
	if h.DaySeconds != day || !reflect.DeepEqual(h.Counts, counts) {
		t.Errorf("%s histogram day %d counts %v, want %d and %v", who, h.DaySeconds, h.Counts, day, counts)
	}
	if len(h.Markers) != len(markers) {
		t.Fatalf("%s markers %+v, want %+v", who, h.Markers, markers)
	}
	for i, m := range markers {
		got := h.Markers[i]
		if got.Label != m.Label {
			t.Errorf("%s marker %d is %s, want %s", who, i, got.Label, m.Label)
		}
		checkValue(t, who+" "+m.Label+" days", aggregate.Some(got.Days), m.Days, true)
		checkValue(t, who+" "+m.Label+" position", aggregate.Some(got.Position), m.Position, true)
	}
}

func TestHistogramBinsAndPositions(t *testing.T) {
	for _, c := range []struct {
		days float64
		bin  int
		pos  float64
	}{
		{0, 0, 0}, {0.5, 0, 0.5}, {1, 1, 1}, {3.5, 2, 2.5}, {79.999, 6, 6 + 39.999/40},
		// The last bin is drawn as if it ended at 160 days; beyond, at its right edge.
		{80, 7, 7}, {120, 7, 7.5}, {400, 7, 8},
	} {
		if got := binOf(c.days); got != c.bin {
			t.Errorf("bin of %v days = %d, want %d", c.days, got, c.bin)
		}
		checkValue(t, "position", aggregate.Some(position(c.days)), c.pos, true)
	}
}

func TestBuildReviewWeeks(t *testing.T) {
	r := BuildReview(reviewFixture())
	pay := r.Teams[0]
	// ISO weeks from Monday 29 June to Monday 28 September: 14, the first and last partial.
	if len(pay.Weeks) != 14 {
		t.Fatalf("%d weeks, want 14", len(pay.Weeks))
	}
	for i, w := range pay.Weeks {
		if want := utc("2026-06-29 00:00").AddDate(0, 0, 7*i); !w.Start.Equal(want) {
			t.Errorf("week %d starts %s, want %s", i, w.Start, want)
		}
		if want := i == 0 || i == 13; w.Partial != want {
			t.Errorf("week %d partial %v, want %v", i, w.Partial, want)
		}
	}
	// Daily samples at 00:00 within the window, before AsOf (1 October):
	//   week 0: 1–5 Jul, nothing loaded: 0.
	//   week 1: PAY-1 on 6 and 7 Jul of 7 samples: 2/7; PAY-1 finished.
	//   week 3: PAY-2 on 20–22 Jul (done 23 Jul 00:00), PAY-6 on 20–24 (canceled 25): 8/7; PAY-2 finished.
	//   week 7: PAY-7 on 17 and 18 Aug: 2/7; PAY-7 finished.
	//   week 12: PAY-4 on 21–25 Sep, PAY-5 on 21–27: 12/7; PAY-4 finished.
	//   week 13: PAY-5 on 28–30 Sep: 3/3 (the sample of 1 October, AsOf, with PAY-8
	//   too, is not the window's).
	for _, w := range []struct {
		i        int
		load     float64
		finished int
	}{{0, 0, 0}, {1, 2.0 / 7, 1}, {2, 1, 0}, {3, 8.0 / 7, 1}, {5, 2.0 / 7, 1}, {7, 2.0 / 7, 1}, {12, 12.0 / 7, 1}, {13, 1, 0}} {
		got := pay.Weeks[w.i]
		checkValue(t, "pay week load", got.Load, w.load, true)
		if got.Finished != w.finished {
			t.Errorf("pay week %d finished %d, want %d", w.i, got.Finished, w.finished)
		}
	}
	total := 0
	for _, w := range pay.Weeks {
		total += w.Finished
	}
	if total != pay.Current.Finished {
		t.Errorf("weeks finished %d in all, the window %d", total, pay.Current.Finished)
	}
	// ops: OPS-1 loaded at 00:00 on 8 and 9 Jul; OPS-2 finished within 10 Aug, never at midnight.
	ops := r.Teams[1]
	checkValue(t, "ops week 1", ops.Weeks[1].Load, 2.0/7, true)
	checkValue(t, "ops week 6", ops.Weeks[6].Load, 0, true)
	if ops.Weeks[1].Finished != 1 || ops.Weeks[6].Finished != 1 {
		t.Errorf("ops finished %d and %d in weeks 1 and 6, want 1 and 1", ops.Weeks[1].Finished, ops.Weeks[6].Finished)
	}
	// The organisation: PAY-1 and OPS-1 in week 1: 4/7, 2 finished.
	checkValue(t, "organisation week 1", r.Organisation.Weeks[1].Load, 4.0/7, true)
}

func TestBuildReviewWorstItems(t *testing.T) {
	r := BuildReview(reviewFixture())
	// pay: PAY-4 and PAY-7 both .1, the longer flow (25 d) first; then .2, .5, 1.
	pay := r.Teams[0].Worst
	if got := worstIDs(pay); !reflect.DeepEqual(got, []string{"PAY-4", "PAY-7", "PAY-2", "PAY-1", "PAY-3"}) {
		t.Errorf("pay worst %v", got)
	}
	w := pay[0]
	if w.Title != "Work on PAY-4" || w.FlowType != "feature" || w.FlowSeconds != 2160000 || w.ActiveSeconds != 216000 ||
		w.WaitSeconds != 1944000 || w.Efficiency != 0.1 || w.URL != "https://tracker.example/browse/PAY-4" || w.Team != "pay" {
		t.Errorf("PAY-4 %+v", w)
	}
	if pay[1].URL != "" {
		t.Errorf("PAY-7 has no tracker link, got %q", pay[1].URL)
	}
	// The organisation: .1 .1 .2, then .5 by flow time: PAY-1 (48h), then OPS-1 and X-1
	// (both 86400 s) by id; then 1: PAY-3 (36h) before OPS-2 (4h).
	org := r.Organisation.Worst
	if got := worstIDs(org); !reflect.DeepEqual(got, []string{"PAY-4", "PAY-7", "PAY-2", "PAY-1", "OPS-1", "X-1", "PAY-3", "OPS-2"}) {
		t.Errorf("organisation worst %v", got)
	}
	if org[5].Team != aggregate.NoTeam || org[4].Calendar != "ops" {
		t.Errorf("X-1 team %q, OPS-1 calendar %q", org[5].Team, org[4].Calendar)
	}
}

func TestWorstKeepsTen(t *testing.T) {
	in := reviewFixture()
	for i := range 12 {
		f := fact("MORE-"+string(rune('a'+i)), "pay", "feature", utc("2026-07-01 00:00"), utc("2026-07-02 00:00"), time.Time{}, 86400, int64(100*i))
		in.Items = append(in.Items, f)
	}
	worst := BuildReview(in).Teams[0].Worst
	// MORE-a (0 active) … MORE-j (900 s active) are below PAY-4's .1 (8640 s of a day).
	if got := worstIDs(worst); len(got) != 10 || got[0] != "MORE-a" || got[9] != "MORE-j" {
		t.Errorf("worst %v, want MORE-a … MORE-j", got)
	}
}

func worstIDs(items []ItemEfficiency) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func TestBuildReviewValueStream(t *testing.T) {
	r := BuildReview(reviewFixture())
	// PAY-1 and PAY-4 have every pull request shipped; PAY-2's is not shipped, PAY-3 and
	// PAY-7 have none: 2 of 5.
	//   PAY-1: committed 6 Jul 00:00, first commit 06:00 (pr-1), ready 10:00 (pr-2), first
	//     review 18:00 (pr-1; pr-2 never reviewed), merged 7 Jul 02:00 (pr-2, the later),
	//     shipped 06:00, done 8 Jul 00:00: 6h, 4h, 8h, 8h, 4h, 18h.
	//   PAY-4: 1 Sep, 2 Sep, 3 Sep, 5 Sep, 6 Sep, 8 Sep, done 26 Sep: 24h, 24h, 48h, 24h, 48h, 432h.
	// Medians of two are means: 15h, 14h, 28h, 16h, 26h, 225h. Work: coding + review =
	// 30h; wait 15 + 28 + 26 + 225 = 294h; work share 30/324 = 5/54.
	vs := r.Teams[0].ValueStream
	if vs.Mapped != 2 || vs.Finished != 5 {
		t.Errorf("mapped %d of %d, want 2 of 5", vs.Mapped, vs.Finished)
	}
	const h = 3600.0
	want := []struct {
		name   string
		wait   bool
		median float64
	}{{StageCommitmentToCoding, true, 15 * h}, {StageCoding, false, 14 * h}, {StagePickup, true, 28 * h},
		{StageReview, false, 16 * h}, {StageDeploy, true, 26 * h}, {StageToDone, true, 225 * h}}
	if len(vs.Stages) != len(want) {
		t.Fatalf("stages %+v", vs.Stages)
	}
	for i, w := range want {
		s := vs.Stages[i]
		if s.Name != w.name || s.Wait != w.wait {
			t.Errorf("stage %d: %s wait %v, want %s wait %v", i, s.Name, s.Wait, w.name, w.wait)
		}
		checkValue(t, w.name, s.Median, w.median, true)
	}
	if vs.WorkSeconds != 30*h || vs.WaitSeconds != 294*h {
		t.Errorf("work %v wait %v, want %v and %v", vs.WorkSeconds, vs.WaitSeconds, 30*h, 294*h)
	}
	checkValue(t, "work share", vs.WorkShare, 5.0/54, true)

	// ops has no pull requests: nothing mapped, medians undefined.
	ops := r.Teams[1].ValueStream
	if ops.Mapped != 0 || ops.Finished != 2 || ops.Stages[0].Median.Defined() || ops.WorkShare.Defined() {
		t.Errorf("ops value stream %+v", ops)
	}
	if org := r.Organisation.ValueStream; org.Mapped != 2 || org.Finished != 8 {
		t.Errorf("organisation mapped %d of %d, want 2 of 8", org.Mapped, org.Finished)
	}
}

func TestStagesClampAndFallBack(t *testing.T) {
	d := utc
	f := fact("A-1", "pay", "feature", d("2026-07-10 00:00"), d("2026-07-11 00:00"), time.Time{}, 86400, 3600)
	f.PullRequests = []string{"c"}
	// Coding began before the ticket was committed (clamped to 0), no commit dates (the
	// opening stands in), merged before its first review (review 0), and the ticket was
	// done before shipping (to done 0).
	b := reviewer{changes: map[string]*schema.ChangeFact{"c": {ID: "c",
		OpenedAt: d("2026-07-09 00:00"), FirstReviewAt: d("2026-07-10 12:00"),
		MergedAt: d("2026-07-10 06:00"), ShippedAt: d("2026-07-12 00:00")}}}
	got, ok := b.stagesOf(&f)
	// Boundaries: 10 Jul, 9 Jul, 9 Jul (ready = opened), 10 Jul 12:00, 10 Jul 06:00, 12 Jul, 12 Jul.
	want := []int64{0, 0, 36 * 3600, 0, 42 * 3600, 0}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("stages %v (%v), want %v", got, ok, want)
	}
	f.PullRequests = []string{"c", "unknown"}
	if _, ok := b.stagesOf(&f); ok {
		t.Error("an item with a pull request without a change fact is mapped")
	}
}

func TestBuildReviewObservations(t *testing.T) {
	r := BuildReview(reviewFixture())
	pay, ops, idle, org := r.Teams[0], r.Teams[1], r.Teams[2], r.Organisation

	// pay since 2026Q2: efficiency 5/9 → 8/45 is −68%; flow time p50 1.5 d → 2 d +33%;
	// velocity 2 in 13 weeks → 5 in 92/7 weeks, ×455/184, +147%; feature share .5 → .8
	// +60%, defect −60%. Velocity changed most. Nothing a year earlier.
	checkObservations(t, "pay", pay.Observations, []Observation{
		{Kind: ObserveLargestWait, Subject: "Code Review", Seconds: 1537920, Count: 4, Share: 89 / 166.5},
		{Kind: ObserveChange, Subject: FigureVelocity, Was: 2.0 / 13, Now: 35.0 / 92},
		{Kind: ObserveDoneNotDelivered, Count: 1, Of: 5, Share: 0.2},
		{Kind: ObserveSlowestStage, Subject: StageToDone, Seconds: 225 * 3600, Count: 2},
		{Kind: ObserveUnmapped, Statuses: []string{"Ready for QA"}},
	})
	// ops since 2025Q3: efficiency .25 → 4/7 +129%; p50 16h → 14h −12.5%; velocity ×2
	// +100%; feature share 1 → .5 −50%. No 2026Q2 data, no pull requests.
	checkObservations(t, "ops", ops.Observations, []Observation{
		{Kind: ObserveLargestWait, Subject: "Waiting", Seconds: 43200, Count: 1, Share: 1},
		{Kind: ObserveChangeYear, Subject: FigureEfficiency, Was: 0.25, Now: 4.0 / 7},
	})
	checkObservations(t, "idle", idle.Observations, nil)
	// The organisation: velocity 2/13 → 8 in 92/7 weeks (14/23) beats efficiency −65%;
	// a year earlier 1 → 8 items is +700%; 1 of 8 done, not delivered.
	checkObservations(t, "organisation", org.Observations, []Observation{
		{Kind: ObserveLargestWait, Subject: "Code Review", Seconds: 1537920, Count: 4, Share: 1537920.0 / 2963520},
		{Kind: ObserveChange, Subject: FigureVelocity, Was: 2.0 / 13, Now: 14.0 / 23},
		{Kind: ObserveChangeYear, Subject: FigureVelocity, Was: 7.0 / 92, Now: 14.0 / 23},
		{Kind: ObserveDoneNotDelivered, Count: 1, Of: 8, Share: 0.125},
		{Kind: ObserveSlowestStage, Subject: StageToDone, Seconds: 225 * 3600, Count: 2},
		{Kind: ObserveUnmapped, Statuses: []string{"Ready for QA"}},
	})
}

func TestBiggestChangeThreshold(t *testing.T) {
	team := func(eff float64) Team {
		return Team{Finished: 1, Efficiency: aggregate.Some(eff)}
	}
	// 0.40 → 0.361 is −9.75%: below a tenth, no remark; 0.40 → 0.359 is −10.25%: remarked.
	if o, ok := biggestChange(ObserveChange, team(0.40), team(0.361)); ok {
		t.Errorf("remarked %+v", o)
	}
	if o, ok := biggestChange(ObserveChange, team(0.40), team(0.359)); !ok || o.Subject != FigureEfficiency {
		t.Errorf("not remarked: %+v", o)
	}
	// A distribution share growing from nothing has no relative change.
	was := Team{Finished: 1, ByType: []TypeFigures{{FlowType: "risk", Distribution: aggregate.Some(0)}}}
	now := Team{Finished: 1, ByType: []TypeFigures{{FlowType: "risk", Distribution: aggregate.Some(0.5)}}}
	if o, ok := biggestChange(ObserveChange, was, now); ok {
		t.Errorf("remarked %+v", o)
	}
}

func checkObservations(t *testing.T, who string, got, want []Observation) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s observations %+v, want %+v", who, got, want)
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != w.Kind || g.Subject != w.Subject || g.FlowType != w.FlowType || g.Count != w.Count || g.Of != w.Of ||
			!reflect.DeepEqual(g.Statuses, w.Statuses) {
			t.Errorf("%s observation %d: %+v, want %+v", who, i, g, w)
		}
		for _, v := range []struct {
			name      string
			got, want float64
		}{{"was", g.Was, w.Was}, {"now", g.Now, w.Now}, {"seconds", g.Seconds, w.Seconds}, {"share", g.Share, w.Share}} {
			checkValue(t, who+" "+string(w.Kind)+" "+v.name, aggregate.Some(v.got), v.want, true)
		}
	}
}

func TestBuildReviewCalendarsAndNoWork(t *testing.T) {
	r := BuildReview(reviewFixture())
	pay, ops, idle, org := r.Teams[0], r.Teams[1], r.Teams[2], r.Organisation
	if !reflect.DeepEqual(pay.Calendars, []string{""}) || !reflect.DeepEqual(ops.Calendars, []string{"ops"}) || pay.Mixed() {
		t.Errorf("pay calendars %q, ops %q", pay.Calendars, ops.Calendars)
	}
	if !reflect.DeepEqual(org.Calendars, []string{"", "ops"}) || !org.Mixed() {
		t.Errorf("organisation calendars %q, want wall-clock and ops (mixed)", org.Calendars)
	}
	if !idle.NoWork() || pay.NoWork() || ops.NoWork() {
		t.Errorf("no work: idle %v pay %v ops %v, want true false false", idle.NoWork(), pay.NoWork(), ops.NoWork())
	}
	// The organisation: 8 finished, active 622080 + 57600 + 43200 = 722880 s of
	// 3499200 + 100800 + 86400 = 3686400 s; previous as pay's; a year earlier as ops'.
	checkValue(t, "organisation efficiency", org.Current.Efficiency, 722880.0/3686400, true)
	checkValue(t, "organisation previous", org.Previous.Efficiency, 5.0/9, true)
	checkValue(t, "organisation year earlier", org.YearEarlier.Efficiency, 0.25, true)
	if org.Current.Finished != 8 {
		t.Errorf("organisation finished %d, want 8", org.Current.Finished)
	}
}

func TestBuildReviewDORA(t *testing.T) {
	r := BuildReview(reviewFixture())
	pay := r.Teams[0].DORA
	if len(pay) != 1 || pay[0].Team != "pay" || pay[0].LeadTimeP50.Float() != 86400 || pay[0].Tiers.FailedDeploymentRecovery != dora.Elite {
		t.Errorf("pay DORA %+v", pay)
	}
	if len(r.Teams[2].DORA) != 0 {
		t.Errorf("idle has no DORA row, got %+v", r.Teams[2].DORA)
	}
	// The organisation lists the DORA report's team rows side by side.
	if org := r.Organisation.DORA; len(org) != 2 || org[0].Team != "pay" || org[1].Team != "ops" {
		t.Errorf("organisation DORA %+v", org)
	}
}

func TestBuildReviewOneTeam(t *testing.T) {
	in := reviewFixture()
	in.Team = "ops"
	r := BuildReview(in)
	if len(r.Teams) != 1 || r.Teams[0].Name != "ops" || r.Organisation != nil {
		t.Fatalf("teams %d organisation %v, want ops alone", len(r.Teams), r.Organisation)
	}
	for _, rep := range []Report{r.Current, r.Previous, r.YearEarlier} {
		if len(rep.Teams) != 1 || rep.Teams[0].Name != "ops" {
			t.Errorf("report of %s holds %d teams", rep.From, len(rep.Teams))
		}
	}
	checkValue(t, "ops efficiency", r.Teams[0].Current.Efficiency, 4.0/7, true)
}
