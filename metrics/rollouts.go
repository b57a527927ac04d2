package metrics

import "slices"

// groupRollouts finds rollouts: production deployments of one service and commit to
// several production environments (regions, clusters) count once, as the
// earliest-finishing of them. Walking a service's deployments in finishing order, a
// deployment joins the latest rollout of its commit unless that rollout already
// reached its environment, in which case it starts a new one: so A to eu and us,
// B to eu and us, then A again to eu and us, are three rollouts, not two.
func groupRollouts(deps []*deployment) {
	for _, list := range groupProduction(deps, func(d *deployment) string { return d.rec.Service }) {
		type rollout struct {
			first *deployment
			envs  map[string]bool
		}
		latest := map[string]*rollout{} // commit → its latest rollout
		for _, d := range list {
			d.rollout = d
			sha := d.rec.CommitSHA
			if sha == "" {
				continue // without a commit, nothing says two deployments are one rollout
			}
			r := latest[sha]
			if r == nil || r.envs[d.rec.Environment] {
				latest[sha] = &rollout{first: d, envs: map[string]bool{d.rec.Environment: true}}
				continue
			}
			r.envs[d.rec.Environment] = true
			d.rollout = r.first
		}
	}
}

// settleRollouts records each rollout's members on its facts and carries what
// happened to a later region over to the deployment the rollout counts as: a
// region rolled back or hotfixed fails the rollout, and its rework counts once.
func settleRollouts(deps []*deployment) {
	for _, d := range deps {
		first := d.rollout
		if !d.production || first == d {
			continue
		}
		f, to := d.fact, first.fact
		f.RolloutOf = first.rec.ID
		to.Rollout = append(to.Rollout, d.rec.ID)
		to.Rollback = to.Rollback || f.Rollback
		to.Hotfix = to.Hotfix || f.Hotfix
		to.Revert = to.Revert || f.Revert
		for _, r := range f.UnplannedReasons {
			addOnce(&to.UnplannedReasons, r)
		}
		if f.Failed {
			to.Failed = true
			for _, r := range f.FailureReasons {
				addOnce(&to.FailureReasons, r)
			}
			for _, id := range f.CausedIncidents {
				addOnce(&to.CausedIncidents, id)
			}
			if !f.RecoveredAt.IsZero() {
				recovered(to, f.RecoveredAt, f.RecoveredBy)
			}
		}
	}
	for _, d := range deps {
		slices.Sort(d.fact.Rollout)
	}
}
