package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
)

// TestMain lets a test run the real main() in a subprocess, to check exit statuses
// and what reaches stderr, and stops the ClickHouse server tests may have started.
func TestMain(m *testing.M) {
	if os.Getenv("FLOWMETER_RUN_MAIN") == "1" {
		os.Args = append([]string{"flowmeter"}, strings.Fields(os.Getenv("FLOWMETER_ARGS"))...)
		main()
		os.Exit(0)
	}
	clickhousetest.Main(m)
}

// runMain runs flowmeter with args in a subprocess and returns its exit code, stdout
// and stderr.
func runMain(t *testing.T, args string, extraEnv ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"FLOWMETER_RUN_MAIN=1", "FLOWMETER_ARGS=" + args}, extraEnv...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func runInProcess(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, _, err := runCaptured(t, args...)
	return out, err
}

// runCaptured runs flowmeter in this process and returns what it wrote to stdout
// and to stderr.
func runCaptured(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), &environment{stdout: &out, stderr: &errOut}, args)
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestErrorsAreOneLineAndExitOne(t *testing.T) {
	dir := t.TempDir()
	unknownField := writeFile(t, dir, "unknown.yaml", "store:\n  sqlite:\n    path: x.db\n    colour: blue\n")
	wrongType := writeFile(t, dir, "type.yaml", "sources:\n  - name: demo\n    interval: [1]\n    synthetic: {}\n")
	missingSecret := writeFile(t, dir, "secret.yaml",
		"store:\n  clickhouse:\n    addr: 127.0.0.1:9000\n    password_env: FLOWMETER_TEST_UNSET_PASSWORD\n")
	unreachable := writeFile(t, dir, "down.yaml", "store:\n  clickhouse:\n    addr: 127.0.0.1:1\n    dial_timeout: 2s\n")
	tests := []struct {
		name string
		args string
		want *regexp.Regexp
	}{
		{"unknown command", "frobnicate", regexp.MustCompile(`unknown command "frobnicate"`)},
		{"unknown flag", "demo --colour", regexp.MustCompile(`demo: flag provided but not defined: -colour`)},
		{"unknown field", "config check --config " + unknownField, regexp.MustCompile(`unknown\.yaml:4: store\.sqlite\.colour: unknown field`)},
		{"wrong type", "config check --config " + wrongType, regexp.MustCompile(`type\.yaml:3: sources\[0\]\.interval: `)},
		{"missing secret", "config check --config " + missingSecret,
			regexp.MustCompile(`secret\.yaml:4: store\.clickhouse\.password_env: environment variable FLOWMETER_TEST_UNSET_PASSWORD is not set`)},
		{"unreachable ClickHouse", "migrate --config " + unreachable, regexp.MustCompile(`clickhouse at 127\.0\.0\.1:1: .*refused`)},
		{"missing config", "migrate --config " + filepath.Join(dir, "nope.yaml"), regexp.MustCompile(`nope\.yaml`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			code, stdout, stderr := runMain(t, tc.args)
			if code != 1 {
				t.Errorf("exit status %d, want 1 (stderr %q)", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "flowmeter: ") {
				t.Fatalf("stderr %q, want one line starting with 'flowmeter: '", stderr)
			}
			if !tc.want.MatchString(lines[0]) {
				t.Errorf("stderr %q does not match %s", lines[0], tc.want)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
	// Nothing was written beside the bad configs.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v after the failures, want only the 4 configs", names)
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, err := runInProcess(t, "help")
	if err != nil || !strings.Contains(out, "demo") || !strings.Contains(out, "migrate") {
		t.Fatalf("help = %q, %v", out, err)
	}
	out, err = runInProcess(t, "version")
	if err != nil || !regexp.MustCompile(`^flowmeter \S+ \(go1\.\d+`).MatchString(out) {
		t.Fatalf("version = %q, %v", out, err)
	}
	code, stdout, _ := runMain(t, "demo -h")
	if code != 0 || !strings.Contains(stdout, "-seed") {
		t.Fatalf("demo -h: exit %d, stdout %q", code, stdout)
	}
}

// TestExampleConfigChecks keeps the shipped example valid for the real command,
// sources included.
func TestExampleConfigChecks(t *testing.T) {
	t.Setenv("CLICKHOUSE_PASSWORD", "example")
	t.Setenv("GITHUB_TOKEN", "example")
	t.Setenv("FLOWMETER_WEBHOOK_TOKEN", "example")
	t.Setenv("GITHUB_WEBHOOK_SECRET", "example")
	for _, env := range []string{"JIRA_EMAIL", "JIRA_API_TOKEN", "PAGERDUTY_TOKEN", "JIRA_WEBHOOK_SECRET", "PAGERDUTY_WEBHOOK_SECRET"} {
		t.Setenv(env, "example")
	}
	out, err := runInProcess(t, "config", "check", "--config", filepath.Join("..", "..", "examples", "flowmeter.yaml"))
	if err != nil {
		t.Fatalf("config check of examples/flowmeter.yaml: %v", err)
	}
	if out != "" {
		t.Fatalf("config check of a good config said %q, want nothing", out)
	}
}

func TestTwoReceiversOnOnePathAreRefused(t *testing.T) {
	t.Setenv("FLOWMETER_TEST_HOOK_TOKEN", "x")
	cfg := writeFile(t, t.TempDir(), "f.yaml", `sources:
  - name: ci
    webhook:
      token_env: FLOWMETER_TEST_HOOK_TOKEN
  - name: cd
    webhook:
      token_env: FLOWMETER_TEST_HOOK_TOKEN
`)
	if _, err := runInProcess(t, "config", "check", "--config", cfg); err == nil ||
		!strings.Contains(err.Error(), `sources "ci" and "cd" both serve /webhooks/`) {
		t.Fatalf("config check = %v, want the shared path refused", err)
	}
}
