package metrics

import "github.com/flowmeter/flowmeter/schema"

// markReplacements walks the production deployments of one service and
// environment in finishing order, where each replaced the one before it, and
// marks the replaced ones a rollback or a hotfix failed.
//
// A deployment is a rollback when it is marked so, or when it deploys a commit
// older than the one it replaced: one the replaced commit contains, by ancestry, or
// where ancestry is not known, one first deployed here before the replaced commit
// was. So A, B, A again, B again is one rollback (of the first B): deploying a
// newer commit again after a rollback is not one. A hotfix (its own mark, a hotfix
// ref, or a hotfix label on a pull request it ships, set before this runs) fails the
// deployment it replaced when it came within the failure window.
func markReplacements(list []*deployment, rules *Rules, ancestry map[schema.CommitPair]bool) {
	firstIndex := map[string]int{} // commit → index of its first deployment here
	for i, d := range list {
		f := d.fact
		f.Hotfix = f.Hotfix || d.rollout.fact.Hotfix // a later region of a hotfix is one too
		if sha := d.rec.CommitSHA; sha != "" {
			if _, seen := firstIndex[sha]; !seen {
				firstIndex[sha] = i
			}
		}
		if i == 0 {
			f.Rollback = d.rec.Rollback // of something before tracking began
			continue
		}
		prev := list[i-1]
		if d.rec.Rollback || olderCommit(d, prev, firstIndex, ancestry) {
			f.Rollback = true
			fail(prev, schema.ReasonRolledBack, d.rec.FinishedAt, d.rec.ID)
		}
		if f.Hotfix && d.rec.FinishedAt.Sub(prev.rec.FinishedAt) <= rules.failureWindow {
			fail(prev, schema.ReasonHotfixed, d.rec.FinishedAt, d.rec.ID)
		}
	}
}

// olderCommit says whether d deploys a commit older than the one prev deployed.
func olderCommit(d, prev *deployment, firstIndex map[string]int, ancestry map[schema.CommitPair]bool) bool {
	sha, replaced := d.rec.CommitSHA, prev.rec.CommitSHA
	if sha == "" || replaced == "" || sha == replaced {
		return false
	}
	if contains, known := ancestry[rollbackQuestion(d, prev)]; known {
		return contains
	}
	return firstIndex[sha] < firstIndex[replaced]
}

// rollbackQuestion is the ancestry question that tells whether d went back to an
// older commit than prev's: does prev's commit contain d's?
func rollbackQuestion(d, prev *deployment) schema.CommitPair {
	return schema.CommitPair{Repo: d.rec.Repo, Base: d.rec.CommitSHA, Head: prev.rec.CommitSHA}
}
