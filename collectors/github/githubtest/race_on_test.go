//go:build race

package githubtest_test

// raceEnabled tells timing checks that the race detector slows everything down.
const raceEnabled = true
