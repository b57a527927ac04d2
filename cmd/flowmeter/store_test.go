package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCommandsWithoutSourceSecrets runs every command against a config whose GitHub
// token is not set: the commands that only work on the store run, and those that
// talk to sources refuse, naming the variable.
func TestCommandsWithoutSourceSecrets(t *testing.T) {
	t.Setenv("FLOWMETER_TEST_UNSET_TOKEN", "")
	os.Unsetenv("FLOWMETER_TEST_UNSET_TOKEN")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "flowmeter.yaml", `store:
  sqlite:
    path: f.db
sources:
  - name: acme
    github:
      token_env: FLOWMETER_TEST_UNSET_TOKEN
      organizations: [acme]
teams:
  - name: pay
    services: [checkout]
`)
	for _, args := range [][]string{
		{"migrate"},
		{"record", "deploy", "--service", "checkout", "--environment", "production", "--sha", "abc1234",
			"--started", "2026-05-04T09:00:00Z", "--finished", "2026-05-04T09:10:00Z"},
		{"derive"},
		{"report", "dora", "--from", "2026-05-01", "--to", "2026-06-01", "--format", "csv"},
		{"metrics"},
	} {
		out, stderr, err := runCaptured(t, append(args, "--config", cfg)...)
		if err != nil {
			t.Errorf("%s without the GitHub token: %v", args[0], err)
			continue
		}
		switch args[0] {
		case "derive":
			if !strings.Contains(stderr, "commit ancestry is not asked") || !strings.Contains(out, "1 deployment") {
				t.Errorf("derive said %q and logged %q; want the deployment derived and ancestry said not to be asked", out, stderr)
			}
		case "report":
			if !strings.Contains(out, "pay") {
				t.Errorf("report dora:\n%s", out)
			}
		}
	}
	for _, args := range [][]string{{"collect"}, {"config", "check"}} {
		_, err := runInProcess(t, append(args, "--config", cfg)...)
		if err == nil || !strings.Contains(err.Error(), "sources[0].github.token_env: environment variable FLOWMETER_TEST_UNSET_TOKEN is not set") {
			t.Errorf("%s without the GitHub token: %v, want the token named", args[0], err)
		}
	}
}

// TestGitHubSourceOfWebhooksIsChecked refuses a webhook source whose github_source
// names no GitHub source, at the line of the setting, before anything runs.
func TestGitHubSourceOfWebhooksIsChecked(t *testing.T) {
	t.Setenv("FLOWMETER_TEST_GITHUB_TOKEN", "token")
	t.Setenv("FLOWMETER_TEST_GITHUB_HOOK", "hook-secret")
	config := func(githubSource string) string {
		return writeFile(t, t.TempDir(), "f.yaml", `store:
  sqlite:
    path: f.db
sources:
  - name: acme-github
    github:
      token_env: FLOWMETER_TEST_GITHUB_TOKEN
      organizations: [acme]
  - name: demo
    synthetic: {seed: 1, end: "2026-06-30"}
  - name: hooks
    webhook:
      github_secret_env: FLOWMETER_TEST_GITHUB_HOOK
      github_source: `+githubSource+`
`)
	}
	for _, tc := range []struct{ githubSource, want string }{
		{"acme-githb", `f.yaml:14: sources[2].webhook.github_source: no source is named "acme-githb" (did you mean "acme-github"?)`},
		{"demo", `f.yaml:14: sources[2].webhook.github_source: source "demo" is a synthetic source, which does not take GitHub's events: name a github source`},
	} {
		cfg := config(tc.githubSource)
		if _, err := runInProcess(t, "config", "check", "--config", cfg); err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("config check with github_source %s: %v\nwant an error ending %s", tc.githubSource, err, tc.want)
		}
		// The daemon refuses to start; were it to start, the deadline stops it.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := serve(ctx, &environment{stdout: io.Discard, stderr: io.Discard}, cfg, serveOptions{listen: "127.0.0.1:0"})
		cancel()
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("run with github_source %s: %v\nwant an error ending %s", tc.githubSource, err, tc.want)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "f.db")); err == nil {
			t.Errorf("github_source %s: the store was created before the refusal", tc.githubSource)
		}
	}
	if _, err := runInProcess(t, "config", "check", "--config", config("acme-github")); err != nil {
		t.Errorf("github_source naming the GitHub source: %v", err)
	}
}

// TestStoreDirectoryMissing names the missing directory of a SQLite store, from the
// check and from every command that opens the store, instead of SQLite's "unable to
// open database file".
func TestStoreDirectoryMissing(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "f.yaml", "store:\n  sqlite:\n    path: data/flowmeter/f.db\n")
	want := "f.yaml: store.sqlite.path: directory " + filepath.Join(dir, "data", "flowmeter") + " does not exist"
	for _, args := range [][]string{{"config", "check"}, {"migrate"}, {"derive"}, {"metrics"}, {"report", "dora"}, {"collect"}} {
		_, err := runInProcess(t, append(args, "--config", cfg)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", args[0], err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("the directory was created")
	}
	// A file where the directory should be is named too.
	writeFile(t, dir, "data", "")
	if _, err := runInProcess(t, "config", "check", "--config", cfg); err == nil ||
		!strings.Contains(err.Error(), "store.sqlite.path: directory "+filepath.Join(dir, "data", "flowmeter")+": not a directory") {
		t.Errorf("config check with a file in the way: %v", err)
	}
}
