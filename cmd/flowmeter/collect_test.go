package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
)

func TestCollectGitHub(t *testing.T) {
	srv := githubtest.New(t)
	srv.GenerateOrg(githubtest.OrgSpec{Repos: 2, PullRequests: 30, Start: time.Now().Add(-30 * 24 * time.Hour), Every: 6 * time.Hour, Seed: 2})
	t.Setenv("FLOWMETER_TEST_GITHUB_TOKEN", "test-token")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "flowmeter.yaml", fmt.Sprintf(`store:
  sqlite:
    path: flowmeter.db
sources:
  - name: acme
    github:
      base_url: %s
      token_env: FLOWMETER_TEST_GITHUB_TOKEN
      organizations: [acme]
`, srv.URL()))
	out, err := runInProcess(t, "collect", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^acme: wrote 60 pull requests, \d+ deployments in `).MatchString(out) {
		t.Fatalf("collect said %q", out)
	}
	// Nothing changed: the second run writes nothing new.
	out, err = runInProcess(t, "collect", "--config", cfg, "--source", "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "acme: nothing new") {
		t.Fatalf("second collect said %q", out)
	}
	if _, err := runInProcess(t, "collect", "--config", cfg, "--source", "nosuch"); err == nil ||
		!strings.Contains(err.Error(), `no source named "nosuch"`) {
		t.Fatalf("collect --source nosuch: %v", err)
	}
	if _, err := runInProcess(t, "collect", "--config", cfg, "--since", "May"); err == nil ||
		!strings.Contains(err.Error(), "--since") {
		t.Fatalf("collect --since May: %v", err)
	}
	// A repository the token may not read fails the command, naming it, after the others.
	srv.ForbidRepo("acme/service-02")
	code, _, stderr := runMain(t, "collect --full --config "+cfg, "FLOWMETER_TEST_GITHUB_TOKEN=test-token")
	if code != 1 || !strings.Contains(stderr, "acme/service-02: forbidden") || !strings.Contains(stderr, "1 of 2 repositories failed") {
		t.Fatalf("exit %d, stderr %q; want 1 and acme/service-02 named", code, stderr)
	}
}

// TestCollectSaysEachThingOnce checks what collect writes, stdout and stderr
// together: one line per source and one for the derivation.
func TestCollectSaysEachThingOnce(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "flowmeter.yaml",
		"sources:\n  - name: demo\n    synthetic: {seed: 2, end: \"2026-06-30\", days: 14, teams: 1}\n")
	stdout, stderr, err := runCaptured(t, "collect", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	all := stdout + stderr
	if n := strings.Count(all, "derived"); n != 1 {
		t.Errorf("collect said \"derived\" %d times, want once:\n%s", n, all)
	}
	if !regexp.MustCompile(`^demo: wrote \d+ pull requests, .* in \S+\nderived \d+ change, `).MatchString(stdout) {
		t.Errorf("collect said %q", stdout)
	}
	// Another organisation into the same store is refused: the source's line says it
	// failed rather than that it found nothing new.
	other := writeFile(t, filepath.Dir(cfg), "other.yaml",
		"sources:\n  - name: demo\n    synthetic: {seed: 3, end: \"2026-06-30\", days: 14, teams: 1}\n")
	stdout, _, err = runCaptured(t, "collect", "--config", other)
	if err == nil || !strings.Contains(err.Error(), "1 of 1 sources failed: synthetic demo: the store already holds") {
		t.Fatalf("collect of another organisation: %v", err)
	}
	if !strings.HasPrefix(stdout, "demo: failed after ") || strings.Contains(stdout, "nothing new") {
		t.Errorf("collect of another organisation said %q", stdout)
	}
}
