// Package synthetic generates the records of a believable, made-up engineering
// organisation, for `flowmeter demo`, for tests of the derivations and for benchmarks.
// Generation is deterministic: the same Options (Seed and Now included) give
// byte-identical records, and the clock is never read.
//
// # The organisation
//
// NewOrg describes it, and its names do not depend on the seed: Teams teams
// ("payments", "checkout", "identity", "platform", "search", ... then "team17"),
// each with ReposPerTeam repositories "acme/<team>-api", "acme/<team>-worker",
// "acme/<team>-web", ..., each deploying one service of the same name, a ticket
// project ("PAY", "CHK", "IDN", "PLT", ...) and six members whose logins are used
// alike as authors, reviewers, assignees and worklog authors. Incidents are opened on
// the team's services.
//
// Teams are given one of four profiles in turn, so that the default four teams land
// in different DORA tiers and show different flow:
//
//	team      profile  production releases                   lead time   failures  recovery
//	payments  high     about daily, on weekdays               ~2 days     ~7%       ~2 hours
//	checkout  elite    on every merge, coalesced, minutes     ~6 hours    ~3%       < 1 hour
//	identity  medium   weekly, Tuesday afternoon              ~8 days     ~13%      1–3 days
//	platform  low      release train every other Thursday     > 1 month   ~23%      ~1 week
//
// # What is generated
//
// Each repository is walked forward one day at a time through a queue of timed events,
// so no more than the pull requests in flight are held in memory:
//
//   - Pull requests arrive mostly on weekdays in working hours (UTC), with log-normal
//     coding, pickup and review times per profile; reviews and merges move to the next
//     working hours. About 90% are merged, some closed, some left open; some start as
//     drafts; long work has many commits (squash-merged, FirstCommitAt well before
//     CreatedAt); about 8% come from dependabot[bot] and renovate[bot], early in the
//     morning, labelled "dependencies" and merged without review. Merge commit shas are
//     derived from the seed and the pull request id.
//   - Every production release is preceded by a staging deployment of the same commit
//     and deploys the merge commit of the repository's latest merged pull request at
//     its start. Some attempts fail (status failure or error) and are re-run as
//     attempt 2 on the same commit.
//   - A share of production deployments is bad, at the profile's rate: most open an
//     incident on the service within the day and before the next deployment (half of
//     them name the deployment id or commit), then the team rolls back (Rollback, the
//     previous commit, followed by a revert pull request), ships a hotfix (a "hotfix"
//     pull request, then a deployment with Hotfix and ref "hotfix/..."), or mitigates
//     without a deployment. Regular releases of the service wait until it recovered.
//   - Incidents unrelated to deployments arrive at any hour, SEV1 to SEV4, with a
//     long-tailed time to resolve; a few are never closed.
//
// Each team's ticket project gets 0.45 × ReposPerTeam × PullRequestsPerRepoPerWeek
// tickets a week. Stories, bugs, tasks, security issues, tech debt and chores go
// Backlog → Ready for Dev → In Progress → (Blocked → In Progress) → In Review →
// Waiting for Deploy → Done, some reopened, some canceled as "Won't Do", with waits
// long against active time (flow efficiency between about 17% and 40% by profile).
// A share of tickets, larger for slower teams, is toil: recurring titles such as
// "Rotate TLS certificate for X" or "Grant production access to Y", labelled "toil",
// most with worklogs.
//
// Everything that would happen at or after Options.Now is cut: such pull requests are
// open or still drafts, such deployments in progress, incidents unresolved, tickets in
// their current status.
//
// # As a source
//
// NewSource makes the generator a collectors source (type `synthetic`, what
// `flowmeter demo` configures) from Settings: seed, end (the last day, YYYY-MM-DD) and
// optionally the knobs below. It writes the organisation once, then a cursor naming
// what it generated; later collections with the same settings do nothing, and other
// settings against the same store are refused rather than mixed in. A history whose
// end is today stops at the time of that collection rather than at midnight, so no
// record is in the future.
//
// # Knobs
//
// Options.Days sets the history (182 days by default), Teams and ReposPerTeam the size
// of the organisation, PullRequestsPerRepoPerWeek the volume of everything (10 by
// default; about 3300 gives a million pull requests over the default period with a
// flat heap of a few megabytes), and BatchSize the largest batch handed to emit.
package synthetic
