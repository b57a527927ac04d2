package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate/aggregatetest"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store/sqlite"
)

// samples reads a text exposition into value by series ("name{labels}"), failing
// on a line it cannot read.
func samples(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetricsCommand(t *testing.T) {
	cfg := reportStore(t, "")
	var out bytes.Buffer
	// The windows end at the fixture's now, Sunday 28 June 2026 12:00 UTC.
	err := runMetricsAt(context.Background(), &environment{stdout: &out, stderr: &out}, []string{"--config", cfg}, aggregatetest.Now)
	if err != nil {
		t.Fatal(err)
	}
	got := samples(t, out.String())
	for series, want := range map[string]float64{
		// Every deployment fact over all time (metrics/aggregate/aggregatetest):
		// checkout's production successes d1..d7, d10 (May 31) and d12 (Jun 29); the
		// staging d8; the attempts d9 (failure) and d11 (error); ledger's d20..d22
		// and the failed attempt d13; indexer's twelve; billing-batch, of no team.
		`flowmeter_deployments_total{environment="production",result="success",service="checkout",team="payments"}`:       9,
		`flowmeter_deployments_total{environment="staging",result="success",service="checkout",team="payments"}`:          1,
		`flowmeter_deployments_total{environment="production",result="failure",service="checkout",team="payments"}`:       1,
		`flowmeter_deployments_total{environment="production",result="error",service="checkout",team="payments"}`:         1,
		`flowmeter_deployments_total{environment="production",result="success",service="ledger",team="payments"}`:         3,
		`flowmeter_deployments_total{environment="production",result="failure",service="ledger",team="payments"}`:         1,
		`flowmeter_deployments_total{environment="production",result="success",service="indexer",team="search"}`:          12,
		`flowmeter_deployments_total{environment="production",result="success",service="billing-batch",team="(no team)"}`: 1,
		// 30d = [May 29 12:00, Jun 28 12:00): checkout finished d1..d7 and d10 in it
		// (d12 is after), d2, d5 and d10 failed: 3/8. ledger: d22 of 3. The team:
		// 4/11. indexer: none of 12 failed.
		`flowmeter_change_failure_ratio{service="checkout",team="payments",window="30d"}`: 3.0 / 8,
		`flowmeter_change_failure_ratio{service="ledger",team="payments",window="30d"}`:   1.0 / 3,
		`flowmeter_change_failure_ratio{service="all",team="payments",window="30d"}`:      4.0 / 11,
		`flowmeter_change_failure_ratio{service="all",team="search",window="30d"}`:        0,
		// 7d = [Jun 21 12:00, Jun 28 12:00): checkout's d7 (Jun 23) and indexer's
		// d39..d41 (Jun 22, 23, 24).
		`flowmeter_deployment_frequency_per_day{service="checkout",team="payments",window="7d"}`: 1.0 / 7,
		`flowmeter_deployment_frequency_per_day{service="all",team="search",window="7d"}`:        3.0 / 7,
		// idle has no facts: it deployed 0 times a day, and nothing else is defined.
		`flowmeter_deployment_frequency_per_day{service="all",team="idle",window="90d"}`: 0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present: %v), want %v", series, v, ok, want)
		}
	}
	for series := range got {
		if !strings.HasPrefix(series, "flowmeter_") || strings.HasPrefix(series, "flowmeter_exporter_cache_age_seconds") {
			t.Errorf("%s in the one-shot output: it holds the exporter's figures only", series)
		}
	}
}

func TestMetricsCommandOut(t *testing.T) {
	cfg := reportStore(t, "")
	stdout, err := runInProcess(t, "metrics", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Whatever today is, the all-time counter is the same.
	if !strings.Contains(stdout, `flowmeter_deployments_total{environment="production",result="success",service="indexer",team="search"} 12`+"\n") {
		t.Errorf("no indexer counter in:\n%s", stdout)
	}
	file := filepath.Join(t.TempDir(), "flowmeter.prom")
	quiet, err := runInProcess(t, "metrics", "--config", cfg, "--out", file)
	if err != nil {
		t.Fatal(err)
	}
	if quiet != "" {
		t.Errorf("--out printed %q; cron wants silence", quiet)
	}
	written, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(written), "# TYPE flowmeter_deployments_total counter\n") {
		t.Errorf("--out wrote:\n%s", written)
	}
	if _, err := runInProcess(t, "metrics", "--config", cfg, "extra"); err == nil || !strings.Contains(err.Error(), `metrics: unexpected argument "extra"`) {
		t.Errorf("a positional argument: %v", err)
	}
}

// TestMetricsPublishesConfiguredServices: a team with 25 services publishes the 20
// that deploy most by name, the rest under "other", except a service its config
// names, published by name however little it deploys.
func TestMetricsPublishesConfiguredServices(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "flowmeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var deps []schema.DeploymentFact
	for i := range 25 {
		service := fmt.Sprintf("svc-%02d", i)
		for j := range 25 - i { // svc-00 deploys 25 times, svc-24 once
			finished := aggregatetest.Now.Add(-time.Duration(j+1) * time.Hour)
			deps = append(deps, aggregatetest.Production(fmt.Sprintf("%s-%d", service, j), "payments", service, finished, finished))
		}
	}
	if err := s.Write(ctx, &schema.Batch{DeploymentFacts: deps}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cfg := writeFile(t, dir, "flowmeter.yaml", "store:\n  sqlite:\n    path: flowmeter.db\nteams:\n  - name: payments\n    services: [svc-24]\n")
	var out bytes.Buffer
	if err := runMetricsAt(ctx, &environment{stdout: &out, stderr: &out}, []string{"--config", cfg}, aggregatetest.Now); err != nil {
		t.Fatal(err)
	}
	got := samples(t, out.String())
	series := func(service string) string {
		return `flowmeter_deployments_total{environment="production",result="success",service="` + service + `",team="payments"}`
	}
	// By name: svc-00..svc-19 (the 20 most deployed) and svc-24 (configured, 1
	// deployment); in other: svc-20..svc-23, with 5+4+3+2 = 14 deployments.
	for _, want := range []struct {
		service string
		n       float64
	}{{"svc-00", 25}, {"svc-19", 6}, {"svc-24", 1}, {"other", 14}} {
		if v, ok := got[series(want.service)]; !ok || v != want.n {
			t.Errorf("%s: %v (present %v), want %v", want.service, v, ok, want.n)
		}
	}
	if _, ok := got[series("svc-20")]; ok {
		t.Error("svc-20, neither configured nor among the 20 most deployed, is published by name")
	}
}
