// Package flow derives flowmeter's flow facts from tickets and turns them into
// flow reports: pure functions over records, the config's rules and a "now" the
// caller passes in, so the same records always give the same facts and figures.
// Derive makes one schema.FlowItemFact per work item (flow state, commitment
// point, flow, active and wait time, time per status, delivery); Aggregate turns
// the facts of a window into a Report per team.
//
// # Readings
//
// Where docs/metrics.md leaves a case open, the package reads it so:
//
//   - Status mapping. A project's mapping is looked up by project key and status
//     name, both ignoring case. Without an entry, canceling names (won't, wont,
//     cancel, reject, duplicate, invalid, declined, obsolete) come first, then
//     waiting names (wait, block, ready, queue, hold, pending), then the tracker
//     category (To Do or Jira's key "new" → new, In Progress or "indeterminate" →
//     active, Done → done); an unknown or empty category is new. A name holding
//     both kinds of word ("Pending cancellation") is canceled. Only a project that
//     has a mapping lists unmapped statuses: without one the defaults are its
//     mapping. Unmapped keeps each status's first spelling, sorted.
//   - Resolution. The item's current resolution applies to its current status only,
//     whatever made that status done (mapping or category): a done status with a
//     canceling resolution is canceled.
//   - History. The item is in its first change's From status from CreatedAt (its
//     current Status when it has no change), then in each change's To, changes
//     sorted by At then ID. A change dated before the one it follows counts at the
//     earlier time, so time never runs backwards. When the last change does not
//     lead to the item's current Status, a change was missed: a last stretch in
//     the current status starts at ResolvedAt (UpdatedAt when unresolved), never
//     before the last change, so the earlier stretches keep their time. Changes are matched to
//     items by source and item id.
//   - Entries. DoneAt and CanceledAt are the start of the final run of done
//     (canceled) stretches: Done → Closed, both done, is done at Done. Reopens
//     counts every step from a done stretch to a stretch of another state,
//     canceled included.
//   - Commitment. An item created in a wait or active status is committed at
//     CreatedAt. An item that went from new straight to done (never committed)
//     has no commitment point, so no flow, active, wait or delivery time and no
//     time per status, though it is done (DoneAt, DeliveredAt set) and not
//     counted as finished by Aggregate.
//   - Time per status. Within [commitment, DoneAt] for a done item, within
//     [commitment, CanceledAt] for a canceled one (the time it then sits canceled
//     is no flow), otherwise up to the last status change: the stretch still
//     running is left out, so a fact changes only when its records do. Statuses are grouped
//     ignoring case under their first spelling, in order of first entry.
//   - Calendars. A team calendar counts, on each working day (a working weekday in
//     the calendar's zone that is no holiday), the time between the working
//     hours read as wall-clock times of that day, so a clock change inside the
//     window lengthens or shortens it (a whole-day calendar counts 23 or 25 hours
//     on those days). Every duration is the difference of two readings of one
//     running count, computed in O(1) per instant (whole weeks arithmetically,
//     holidays and clock-change days by binary search over lists built once for
//     1900–2200), so active + wait = flow holds exactly in both clocks. Wall-clock
//     durations are whole Unix seconds apart. Calendars are parsed from a copy
//     (config.Calendar.Parse), so configs built in code need not parse them.
//   - Delivery. Pull requests are linked by their TicketRefs and the item's key,
//     ignoring case; their change facts are found by the pull request's source and
//     id. A linked pull request without a change fact, unmerged or excluded does
//     not count. Among the merged ones: any undeployed means not delivered;
//     else the latest ShippedAt of the shipped ones (DeliveredBy its deployment;
//     ties to the smaller deployment id); untracked ones only (merged before the
//     first deployment flowmeter saw) or none merged: DoneAt stands in.
//     DeliveredAt may precede DoneAt (shipped before the ticket was closed).
//     DeliverySeconds needs a commitment point and is never negative.
//   - Aggregate takes the Rules too (a fifth argument): facts carry statuses by
//     name, and whether a status is a wait status is the mapping's or the name
//     rules' answer (a category never makes a status wait), so Waits is computed
//     from the finished items' TimePerStatus with the item's project mapping;
//     rules also give the calendar open items' ages are counted in. With nil
//     rules the name rules decide and ages are wall clock.
//   - Aggregate's readings: an item is in the load at t when committed at or
//     before t and without a DoneAt or CanceledAt at or before t; facts keep only
//     the last entry into done, so an item reopened and done again is loaded
//     until its last DoneAt. Finished items are those with DoneAt in [from, AsOf)
//     and a flow time; Canceled those with CanceledAt in [from, AsOf). Delivered
//     counts finished items with a DeliveredAt not after AsOf, DoneNotDelivered
//     the other finished items. EfficiencyMedian leaves out items with a zero
//     flow time (no ratio). Load and OpenItems are counted at AsOf, LoadDaily at
//     every 00:00 UTC in [from, AsOf], each sample holding every flow type. Waits
//     groups statuses ignoring case, drops those with no time, and orders by
//     seconds, then items, then name. A team's Calendar is the first one its
//     facts carry. VelocityPerWeek divides by the fractional weeks from from to
//     AsOf.
package flow
