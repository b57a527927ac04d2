// Package toil derives toil facts from records and aggregates them into the toil
// report, as docs/metrics.md defines toil: work tied to running a production
// service that tends to be manual, repetitive, automatable, tactical, devoid of
// enduring value, and that scales linearly as a service grows (Site Reliability
// Engineering, chapter 5). Like metrics and metrics/aggregate it is pure: the
// caller passes the records, the facts derived from them and the time "now", so
// the same input always gives the same facts and the same report.
//
// # Entries
//
// A toil entry is one occurrence of manual operations work. Derive makes one from:
//
//   - an incident or page (kind incident, or alert for an incident record of kind
//     alert), once resolved: acknowledged → resolved when it was acknowledged
//     (basis acknowledged_to_resolved), else opened → resolved
//     (opened_to_resolved).
//     An acknowledgement outside [opened, resolved] is taken for clock skew and
//     ignored. StartedAt is the acknowledgement, else the opening. Team: the
//     incident fact's team, else the team of its service by the config. Who is
//     empty: incident records name no responder.
//   - a ticket that carries one of toil.ticket_labels (ignoring case) or that a
//     toil rule matches (kind ticket). Its duration is the sum of its worklogs
//     when they log any time (basis worklogs; StartedAt is the earliest worklog's start;
//     Who is the author who logged the most time, ties to the name first
//     alphabetically), else its active time once finished, from its flow item
//     fact (basis active_time; StartedAt is its commitment point; Who is its
//     assignee). A ticket with neither, such as an unfinished one nobody logged
//     time on, gives no entry yet. A canceled ticket counts only its logged time; worklogs of a
//     ticket not among the input's tickets are ignored (its labels are unknown).
//     Team: the flow item fact's team, else the team listing its project, else
//     the team listing Who as a member.
//   - a manual deployment or a rollback (the record's mark or its deployment
//     fact's), once finished (kind deployment, basis deployment): finished −
//     started. Who is empty: deployment records name no person.
//   - a re-run of a deployment workflow (kind rerun, basis rerun): a deployment
//     with Attempt > 1, once finished: finished − started of that attempt. A
//     workflow is only run again after an attempt failed or was canceled, so
//     every later attempt counts; the records keep no link to the earlier
//     attempt's outcome to check. A re-run that is also manual or a rollback is
//     one entry, of kind rerun.
//
// Deployment entries take the deployment fact's team, else the team of the
// deployment's service or repository by the config. Durations are whole seconds,
// rounded down; a record whose end precedes its start gives no entry.
//
// A ticket is made toil by a rule only when the rule sets at least one field: a
// rule with no field set is a catch-all that classifies every entry but does not
// by itself declare every ticket toil.
//
// # Classification
//
// toil.rules are tried in order and the first that matches an entry gives its
// category and rule name; no match leaves it unclassified (category
// "unclassified", no rule). A rule matches when every field it sets matches, each
// list ignoring case and matching when any of its entries does: sources (the
// record's source instance), kinds (the entry kind), labels (any label of the
// incident or ticket; deployments have none), title (a regular expression,
// ignoring case, on the incident or ticket title; deployments are matched as ""),
// services (the incident's or deployment's service; tickets have none),
// issue_types (tickets only) and priorities (an incident's priority or severity, a
// ticket's priority; deployments have none).
//
// A config built in code with no toil rules or ticket labels (nil, not empty)
// gets the defaults a loaded config gets: DefaultToilRules and the label "toil".
//
// # Facts and order
//
// A fact's ID is "<kind>:<record id>" in the record's source. Derive returns the
// facts grouped by kind in schema.ToilSources order, each group in the order of
// its records in the input.
//
// With "privacy: teams-only" an entry's Who is its team (aggregate.NoTeam for an
// entry of no team), put in after the team is found from the person, as
// NameTeams does: DORA's research measures teams, never individuals. Switching
// the setting changes the facts, so the next refresh rewrites them.
//
// # Report
//
// Aggregate counts the entries that started in [from, AsOf), AsOf being the
// earlier of now and to (from when now is before from), per team in the order
// given, then under the team "" the entries of no listed team, when there are
// any (when teams lists "", that team takes them in its place; a team listed
// twice is reported once). Every listed team is reported, with no categories
// when it had no toil.
// Per category: the entries, their total and median seconds, the entries scaled
// to a year (entries / days from from to AsOf × 365, undefined when no time has
// passed), and the automation budget, 5 years × occurrences per year × the
// median duration (xkcd 1205, "Is It Worth the Time?"): the time automating the
// work may take before it costs more than it saves over five years. Categories
// are sorted by total seconds, longest first, ties by name; entries by start,
// ties by reference.
package toil
