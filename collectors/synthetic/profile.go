package synthetic

import "time"

// cadence is how a team's services reach production.
type cadence int

const (
	onMerge  cadence = iota // every merge deploys within minutes (coalesced)
	daily                   // about once every working day, sometimes twice
	weekly                  // a release on Tuesday afternoons
	biweekly                // a release train on alternate Thursdays that sometimes slips
)

// profile holds everything that makes one team perform differently from another.
type profile struct {
	tier    string
	cadence cadence
	// prRate multiplies PullRequestsPerRepoPerWeek.
	prRate float64

	coding, pickup, review time.Duration // medians of the pull-request phases
	codingSigma            float64

	deployDuration time.Duration // median production deployment duration
	attemptFail    float64       // share of deploy attempts that fail and are re-run
	manual         float64       // share of regular production deploys started by hand
	bad            float64       // share of production deployments that cause a failure
	detect         time.Duration // median from bad deployment to detection / incident
	recover        time.Duration // median from detection to the recovery deployment
	recoverSigma   float64
	rollback       float64 // share of recoveries done by rollback (the rest: hotfix or mitigation)
	incidentRate   float64 // unrelated incidents per service per week
	resolve        time.Duration

	// Tickets.
	readyWait, progress, inReview, deployWait, blocked time.Duration
	toil                                               float64
}

// profiles are ordered so that the first four teams cover the four DORA tiers.
var profiles = []profile{
	{
		tier: "high", cadence: daily, prRate: 1.0,
		coding: 10 * time.Hour, codingSigma: 1.1, pickup: 3 * time.Hour, review: 4 * time.Hour,
		deployDuration: 10 * time.Minute, attemptFail: 0.06, manual: 0.2, bad: 0.06,
		detect: 25 * time.Minute, recover: 90 * time.Minute, recoverSigma: 0.9, rollback: 0.5,
		incidentRate: 0.15, resolve: 90 * time.Minute,
		readyWait: 30 * time.Hour, progress: 20 * time.Hour, inReview: 8 * time.Hour,
		deployWait: 20 * time.Hour, blocked: 40 * time.Hour, toil: 0.15,
	},
	{
		tier: "elite", cadence: onMerge, prRate: 1.3,
		coding: 3 * time.Hour, codingSigma: 1.0, pickup: 25 * time.Minute, review: 50 * time.Minute,
		deployDuration: 6 * time.Minute, attemptFail: 0.04, manual: 0, bad: 0.025,
		detect: 6 * time.Minute, recover: 8 * time.Minute, recoverSigma: 0.6, rollback: 0.7,
		incidentRate: 0.1, resolve: 40 * time.Minute,
		readyWait: 24 * time.Hour, progress: 16 * time.Hour, inReview: 4 * time.Hour,
		deployWait: 2 * time.Hour, blocked: 24 * time.Hour, toil: 0.08,
	},
	{
		tier: "medium", cadence: weekly, prRate: 0.85,
		coding: 40 * time.Hour, codingSigma: 1.1, pickup: 16 * time.Hour, review: 20 * time.Hour,
		deployDuration: 18 * time.Minute, attemptFail: 0.1, manual: 0.7, bad: 0.15,
		detect: 2 * time.Hour, recover: 45 * time.Hour, recoverSigma: 0.8, rollback: 0.35,
		incidentRate: 0.15, resolve: 4 * time.Hour,
		readyWait: 70 * time.Hour, progress: 28 * time.Hour, inReview: 16 * time.Hour,
		deployWait: 80 * time.Hour, blocked: 70 * time.Hour, toil: 0.22,
	},
	{
		tier: "low", cadence: biweekly, prRate: 0.7,
		coding: 18 * 24 * time.Hour, codingSigma: 1.0, pickup: 96 * time.Hour, review: 96 * time.Hour,
		deployDuration: 35 * time.Minute, attemptFail: 0.15, manual: 1, bad: 0.3,
		detect: 6 * time.Hour, recover: 10 * 24 * time.Hour, recoverSigma: 0.7, rollback: 0.2,
		incidentRate: 0.2, resolve: 10 * time.Hour,
		readyWait: 150 * time.Hour, progress: 36 * time.Hour, inReview: 24 * time.Hour,
		deployWait: 170 * time.Hour, blocked: 120 * time.Hour, toil: 0.32,
	},
}

// profileFor returns the profile of the i-th team.
func profileFor(i int) profile { return profiles[i%len(profiles)] }
