// Package exporter publishes flowmeter's DORA, flow and toil figures and its own
// health as Prometheus metrics.
//
// The DORA figures come from the stored facts through metrics/aggregate, the same
// code the reports use, so a dashboard and a report never disagree. Reading every
// fact and aggregating three windows takes far longer than a scrape may, so the
// Exporter keeps the figures in a cache that Refresh rebuilds and swaps in whole;
// a scrape only reads the cache and never touches the store.
//
// Label scheme: families with a service label carry one series per service and one
// with service="all" for the team as a whole. Quantiles and ratios cannot be summed
// or averaged across services, so the team figure is computed from the team's facts
// and published beside them; select it with service="all" and the services with
// service!="all". flowmeter_deployments_total is the one exception: it is a plain
// count, published per service only, and summed with sum by (team). A service
// whose name really is "all" is published as "(service) all".
//
// Service and environment names come from what sources send, so only a bounded
// number of them per team are published by name (Limits); the rest of the team's
// are summed under service="other" or environment="other", whose figures are
// computed from their facts together.
package exporter

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowmeter/flowmeter/metrics"
	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/metrics/dora"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// AllServices is the service label value of a team's figures over all its services.
const AllServices = "all"

// CacheAgeMetric is the name of the gauge saying how old the cache is; one-shot
// output (flowmeter metrics) leaves it out, as it would be 0 forever there.
const CacheAgeMetric = "flowmeter_exporter_cache_age_seconds"

const cacheAgeHelp = `Seconds since the exporter last rebuilt its cache of figures from the stored facts; scrapes read only the cache.`

// window is one of the trailing windows figures are published for: [now-days, now).
type window struct {
	label string
	days  int
}

// windows are the published windows, shortest first; tiers come from the last.
var windows = [...]window{{"7d", 7}, {"30d", 30}, {"90d", 90}}

// tierWindow is the window the DORA tiers are graded on: about a quarter, the span
// DORA's survey asks about.
const tierWindow = "90d"

const windowHelp = ` window="7d", "30d" or "90d" is [now-N days, now) at the last refresh.`

const serviceHelp = ` service="all" is the team as a whole (computed from its facts, not from the services' series); service="other" is the team's services not published by name, computed from their facts together.`

var (
	deploymentsDesc = prometheus.NewDesc(
		"flowmeter_deployments_total",
		`Deployments flowmeter has facts for, over all time, by team, service, environment and result (the deployment's final status: success, failure, error, ...). `+
			`A production deployment is a successful one to an environment matching the team's production pattern; failure and error are failed deploy attempts, not change failures. `+
			`A rollout of one commit of a service to several production environments counts once, in the environment that finished first. `+
			`Only finished deployments count, so a deployment under way never moves from one result to another and the counter only grows, unless a config change or a re-derivation moves a deployment to another series. `+
			`Published per service only (no service="all"): sum by (team) for a team. Services and environments not published by name are counted under "other".`,
		[]string{"environment", "result", "service", "team"}, nil)
	leadTimeDesc = prometheus.NewDesc(
		"flowmeter_change_lead_time_seconds",
		`Change lead time of the pull requests shipped in the window: shipped_at (the first production deployment containing the merge commit) minus first_commit_at (the earliest commit author date). `+
			`Quantiles 0.5 and 0.85 with linear interpolation; _count and _sum are over the same changes (not a counter over time).`+windowHelp+serviceHelp,
		[]string{"service", "team", "window"}, nil)
	leadTimePartDesc = prometheus.NewDesc(
		"flowmeter_change_lead_time_part_seconds",
		`Median of each part of change lead time over the team's shipped changes in the window, each part clamped at zero and left out where unknown: `+
			`coding = opened or ready for review - first commit; pickup = first review by someone other than the author and not a bot - ready for review; review = merge - first review; deploy = shipped - merge. `+
			`Only quantile 0.5; _count and _sum are over the changes whose part is known. Team level.`+windowHelp,
		[]string{"part", "team", "window"}, nil)
	frequencyDesc = prometheus.NewDesc(
		"flowmeter_deployment_frequency_per_day",
		`Deployment frequency: production deployments (successful, to an environment matching the team's production pattern; a rollout to several regions once) finished in the window, divided by the window's length in days.`+windowHelp+serviceHelp,
		[]string{"service", "team", "window"}, nil)
	failureDesc = prometheus.NewDesc(
		"flowmeter_change_failure_ratio",
		`Change failure rate: failed production deployments / production deployments finished in the window. A production deployment failed when an incident names it, `+
			`an incident of its service opens after it within the failure window and before the next deployment (inferred), a later deployment rolls it back, ships a revert of a pull request it shipped, or is a hotfix within the failure window. `+
			`Not published without production deployments.`+windowHelp+serviceHelp,
		[]string{"service", "team", "window"}, nil)
	failedDesc = prometheus.NewDesc(
		"flowmeter_failed_deployments",
		`Failed production deployments finished in the window, the numerator of flowmeter_change_failure_ratio. Not published without production deployments.`+windowHelp+serviceHelp,
		[]string{"service", "team", "window"}, nil)
	inferredDesc = prometheus.NewDesc(
		"flowmeter_failed_deployments_inferred",
		`Those of flowmeter_failed_deployments whose only failure reason is an incident of their service opening within the failure window after them: inferred from timing, not named by the incident or shown by a rollback, revert or hotfix. `+
			`Not published without production deployments.`+windowHelp+serviceHelp,
		[]string{"service", "team", "window"}, nil)
	recoveryDesc = prometheus.NewDesc(
		"flowmeter_failed_deployment_recovery_seconds",
		`Failed deployment recovery time: from a failed production deployment's finish to the earliest of its linked incident resolved and the rollback or hotfix deployment finished, `+
			`over the failed production deployments finished in the window that have recovered. Quantiles 0.5 and 0.85 with linear interpolation; _count and _sum over the same deployments. Team level.`+windowHelp,
		[]string{"team", "window"}, nil)
	restoreDesc = prometheus.NewDesc(
		"flowmeter_time_to_restore_seconds",
		`Time to restore: incident resolved - incident opened, for every incident opened in the window and resolved, linked to a deployment or not. `+
			`Quantiles 0.5 and 0.85 with linear interpolation; _count and _sum over the same incidents. Team level.`+windowHelp,
		[]string{"team", "window"}, nil)
	reworkDesc = prometheus.NewDesc(
		"flowmeter_rework_ratio",
		`Rework rate (DORA 2024): unplanned production deployments (a rollback, a hotfix, one shipping a revert, or one whose pull requests are all fixes: a bug-fix label or an incident reference) / production deployments finished in the window. `+
			`Not published without production deployments. Team level.`+windowHelp,
		[]string{"team", "window"}, nil)
	tierDesc = prometheus.NewDesc(
		"flowmeter_dora_tier",
		`DORA performance tier of the team over the 90d window, from the configured tier table (2023 by default): 1 low, 2 medium, 3 high, 4 elite. `+
			`metric is deployment_frequency (deploy days: the median week and month, and deployments on the median deploy day; low without deployments in the window when the team deployed before it), lead_time (median), change_failure_rate or failed_deployment_recovery (median). `+
			`Not published when the figure graded is undefined or, for deployment_frequency, when the team never deployed to production.`,
		[]string{"metric", "team"}, nil)
	cacheAgeDesc = prometheus.NewDesc(CacheAgeMetric, cacheAgeHelp, nil, nil)
)

// Exporter is a prometheus.Collector publishing the DORA figures of the stored facts
// from a cache that Refresh rebuilds. Make one with New.
type Exporter struct {
	// refreshing serialises refreshes, so an older one cannot replace a newer cache.
	refreshing sync.Mutex
	mu         sync.RWMutex
	cache      *cache // nil until the first refresh succeeds
	// clock is read for the cache's age only; the figures use Refresh's now. Nil
	// means time.Now.
	clock func() time.Time
	// bounds are the limits refreshes apply, guarded by refreshing.
	bounds *bounds
	// agg computes the flow and toil reports.
	agg aggregators
}

// cache is one refresh's metrics; it is never modified once built, so a scrape can
// send its metrics after letting go of the lock.
type cache struct {
	metrics  []prometheus.Metric
	text, om encoding
	builtAt  time.Time
}

// New returns an Exporter with an empty cache: it publishes nothing until
// the first Refresh.
func New() *Exporter {
	return &Exporter{clock: time.Now, bounds: newBounds(DefaultLimits()), agg: defaultAggregators()}
}

// SetLimits sets the limits of the refreshes that start after it returns; set them
// again when the config changes.
func (e *Exporter) SetLimits(l Limits) {
	b := newBounds(l)
	e.refreshing.Lock()
	e.bounds = b
	e.refreshing.Unlock()
}

// Describe sends the descriptors of every family the Exporter publishes.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		deploymentsDesc, leadTimeDesc, leadTimePartDesc, frequencyDesc, failureDesc, failedDesc, inferredDesc,
		recoveryDesc, restoreDesc, reworkDesc, tierDesc, cacheAgeDesc,
	} {
		ch <- d
	}
	for _, d := range flowToilDescs {
		ch <- d
	}
}

// Collect sends the cached metrics and the cache's age; it never reads the store.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.RLock()
	c := e.cache
	e.mu.RUnlock()
	if c == nil {
		return
	}
	for _, m := range c.metrics {
		ch <- m
	}
	ch <- prometheus.MustNewConstMetric(cacheAgeDesc, prometheus.GaugeValue, max(e.now().Sub(c.builtAt).Seconds(), 0))
}

// Refresh reads every change, deployment, incident, flow item and toil fact of the
// store, computes
// the figures of the windows ending at now within the limits last set (SetLimits),
// and swaps them in as the new cache. teams are the config's teams (facts of other
// teams are published as "(no team)"); table is the DORA tier table ("" for the
// default). On error the previous cache stays.
func (e *Exporter) Refresh(ctx context.Context, st store.Store, teams []string, table string, now time.Time) error {
	e.refreshing.Lock()
	defer e.refreshing.Unlock()
	var f facts
	var err error
	if f.changes, err = store.All(st.ChangeFacts(ctx, store.Filter{})); err != nil {
		return fmt.Errorf("exporter: reading change facts: %w", err)
	}
	if f.deployments, err = store.All(st.DeploymentFacts(ctx, store.Filter{})); err != nil {
		return fmt.Errorf("exporter: reading deployment facts: %w", err)
	}
	if f.incidents, err = store.All(st.IncidentFacts(ctx, store.Filter{})); err != nil {
		return fmt.Errorf("exporter: reading incident facts: %w", err)
	}
	if f.flowItems, err = store.All(st.FlowItemFacts(ctx, store.Filter{})); err != nil {
		return fmt.Errorf("exporter: reading flow item facts: %w", err)
	}
	if f.toil, err = store.All(st.ToilFacts(ctx, store.Filter{})); err != nil {
		return fmt.Errorf("exporter: reading toil facts: %w", err)
	}
	return e.update(ctx, f, teams, table, now)
}

// Facts are every fact Update publishes figures of: the DORA facts, and the flow
// item and toil facts.
type Facts struct {
	DORA      metrics.Facts
	FlowItems []schema.FlowItemFact
	Toil      []schema.ToilFact
}

// Update builds the cache from facts already in memory, every fact there is, as a
// derivation just produced them, so the daemon need not read back what it derived.
func (e *Exporter) Update(ctx context.Context, all Facts, teams []string, table string, now time.Time) error {
	e.refreshing.Lock()
	defer e.refreshing.Unlock()
	return e.update(ctx, facts{
		changes: all.DORA.Changes, deployments: all.DORA.Deployments, incidents: all.DORA.Incidents,
		flowItems: all.FlowItems, toil: all.Toil,
	}, teams, table, now)
}

func (e *Exporter) update(ctx context.Context, f facts, teams []string, table string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("exporter: %w", err)
	}
	e.swap(build(f, teams, e.bounds, table, now, e.agg))
	return nil
}

// swap installs a newly built set of metrics as the cache.
func (e *Exporter) swap(metrics []prometheus.Metric) {
	c := &cache{metrics: metrics, builtAt: e.now()}
	c.text, c.om = encodeCache(metrics)
	e.mu.Lock()
	e.cache = c
	e.mu.Unlock()
}

func (e *Exporter) now() time.Time {
	if e.clock == nil {
		return time.Now()
	}
	return e.clock()
}

// facts are all the stored facts of one refresh.
type facts struct {
	changes     []schema.ChangeFact
	deployments []schema.DeploymentFact
	incidents   []schema.IncidentFact
	flowItems   []schema.FlowItemFact
	toil        []schema.ToilFact
}

// build computes every published metric from the facts, within bounds, the flow
// and toil figures with agg. It is pure, like the aggregation it calls.
func build(f facts, teams []string, bounds *bounds, table string, now time.Time, agg aggregators) []prometheus.Metric {
	now = now.UTC()
	l := bounds.labels(f, teams, now)
	b := &builder{family: map[*prometheus.Desc]int{}}
	deploymentCounts(b, f.deployments, l)

	for _, w := range windows {
		rep := aggregate.DORA(aggregate.Input{
			Changes: f.changes, Deployments: f.deployments, Incidents: f.incidents,
			From: now.AddDate(0, 0, -w.days), To: now, Now: now,
			Table: table, Teams: teams, ReportAs: l.service,
		})
		for _, t := range rep.Teams {
			team := clean(t.Name)
			b.service(&t.Figures, team, AllServices, w.label)
			for i := range t.Services {
				s := &t.Services[i]
				b.service(&s.Figures, team, s.Name, w.label)
			}
			b.team(&t.Figures, team, w.label)
			if w.label == tierWindow {
				b.tiers(t.Tiers, team)
			}
		}
	}
	buildFlowToil(b, f, teams, l, now, agg)
	return b.metrics()
}

// builder gathers the metrics of one refresh with their label values, so they can
// be put in the order the registry sorts them into: a scrape's sort then finds them
// sorted, the cheapest case, instead of paying for a full sort every time.
type builder struct {
	entries []entry
	family  map[*prometheus.Desc]int
}

type entry struct {
	family int
	key    string // label values, in the order of the label names
	m      prometheus.Metric
}

// add records a metric; labels are its label values in the desc's order, which
// for every desc here is the alphabetical order of the label names, the order the
// registry compares them in.
func (b *builder) add(desc *prometheus.Desc, m prometheus.Metric, labels []string) {
	f, ok := b.family[desc]
	if !ok {
		f = len(b.family)
		b.family[desc] = f
	}
	b.entries = append(b.entries, entry{family: f, key: strings.Join(labels, "\x00"), m: m})
}

func (b *builder) gauge(desc *prometheus.Desc, v float64, labels ...string) {
	b.add(desc, prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...), labels)
}

func (b *builder) metrics() []prometheus.Metric {
	slices.SortStableFunc(b.entries, func(x, y entry) int {
		if x.family != y.family {
			return x.family - y.family
		}
		return strings.Compare(x.key, y.key)
	})
	out := make([]prometheus.Metric, len(b.entries))
	for i, e := range b.entries {
		out[i] = e.m
	}
	return out
}

// finished are the statuses a deployment ends in.
var finished = map[schema.DeploymentStatus]bool{
	schema.DeploymentSuccess: true, schema.DeploymentFailure: true, schema.DeploymentError: true,
	schema.DeploymentCanceled: true, schema.DeploymentInactive: true,
}

// deploymentCounts counts the finished deployment facts by team, service,
// environment and status, mapping teams and empty services as the aggregation does
// and services and environments to their labels, and a rollout once, as the
// deployment it counts as. A deployment under way is left out until it finishes:
// counted while running, its series would drop when it moved to its final result,
// and a counter must not drop.
func deploymentCounts(b *builder, deployments []schema.DeploymentFact, l *labels) {
	type key struct{ environment, result, service, team string }
	counts := map[key]float64{}
	for _, d := range deployments {
		if !finished[schema.DeploymentStatus(d.Status)] || d.RolloutOf != "" {
			continue
		}
		team := l.team(d.Team)
		k := key{
			environment: l.environment(team, orNone(d.Environment, noEnvironment)),
			result:      clean(orNone(d.Status, "(no status)")),
			service:     l.service(team, orNone(d.Service, aggregate.NoService)),
			team:        clean(team),
		}
		counts[k]++
	}
	for k, n := range counts {
		labels := []string{k.environment, k.result, k.service, k.team}
		b.add(deploymentsDesc, prometheus.MustNewConstMetric(deploymentsDesc, prometheus.CounterValue, n, labels...), labels)
	}
}

// service adds the figures that are published per service and for the team as
// service="all".
func (b *builder) service(f *aggregate.Figures, team, service, win string) {
	if v, ok := f.DeploymentFrequencyPerDay.Get(); ok {
		b.gauge(frequencyDesc, v, service, team, win)
	}
	if v, ok := f.ChangeFailureRate.Get(); ok {
		b.gauge(failureDesc, v, service, team, win)
		b.gauge(failedDesc, float64(f.FailedDeployments), service, team, win)
		b.gauge(inferredDesc, float64(f.FailedDeploymentsInferred), service, team, win)
	}
	// The 95th percentile is left to the reports: no dashboard or alert reads it,
	// and it would cost a series per service and window (docs/prometheus.md).
	lt := f.LeadTimeSeconds
	b.summary(leadTimeDesc, lt, []quantile{{0.5, lt.P50}, {0.85, lt.P85}}, service, team, win)
}

// team adds the figures published for the team only.
func (b *builder) team(f *aggregate.Figures, team, win string) {
	parts := f.LeadTimePartsSeconds
	for _, p := range []struct {
		name string
		q    aggregate.Quantiles
	}{
		{"coding", parts.Coding}, {"pickup", parts.Pickup}, {"review", parts.Review}, {"deploy", parts.Deploy},
	} {
		b.summary(leadTimePartDesc, p.q, []quantile{{0.5, p.q.P50}}, p.name, team, win)
	}
	rec := f.FailedDeploymentRecoverySeconds
	b.summary(recoveryDesc, rec, []quantile{{0.5, rec.P50}, {0.85, rec.P85}}, team, win)
	ttr := f.TimeToRestoreSeconds
	b.summary(restoreDesc, ttr, []quantile{{0.5, ttr.P50}, {0.85, ttr.P85}}, team, win)
	if v, ok := f.ReworkRate.Get(); ok {
		b.gauge(reworkDesc, v, team, win)
	}
}

// tiers adds the team's defined tiers.
func (b *builder) tiers(t aggregate.Tiers, team string) {
	for _, g := range []struct {
		metric string
		tier   dora.Tier
	}{
		{"deployment_frequency", t.DeploymentFrequency},
		{"lead_time", t.LeadTime},
		{"change_failure_rate", t.ChangeFailureRate},
		{"failed_deployment_recovery", t.FailedDeploymentRecovery},
	} {
		if g.tier != dora.NoTier {
			b.gauge(tierDesc, float64(g.tier), g.metric, team)
		}
	}
}

type quantile struct {
	q float64
	v aggregate.Value
}

// summary adds a constant summary of the defined quantiles qs of q, with the count
// and sum of the values behind them; it adds none when no quantile is defined, so
// "no data" never reads as zero.
func (b *builder) summary(desc *prometheus.Desc, q aggregate.Quantiles, qs []quantile, labels ...string) {
	quantiles := map[float64]float64{}
	for _, x := range qs {
		if v, ok := x.v.Get(); ok {
			quantiles[x.q] = v
		}
	}
	if len(quantiles) == 0 {
		return
	}
	b.add(desc, prometheus.MustNewConstSummary(desc, uint64(q.Count), q.Sum, quantiles, labels...), labels)
}

// clean makes a label value valid UTF-8, which the client library requires; names
// come from sources and may not be.
func clean(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
