package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/metrics/aggregate"
	"github.com/flowmeter/flowmeter/reports/build"
)

// BenchmarkPageTTFB is the time to the first byte of the flow review of one team
// for the demo organisation's last full quarter, asked of a running daemon over
// its real listener: the demo's SQLite store is built once, and each request
// reads the facts and builds the review while the person opening the page waits.
//
//	go test ./cmd/flowmeter -run '^$' -bench PageTTFB -benchtime 50x
func BenchmarkPageTTFB(b *testing.B) {
	const end = "2026-06-30"
	dir := b.TempDir()
	env := &environment{stdout: io.Discard, stderr: io.Discard}
	if err := runDemo(context.Background(), env, []string{"--dir", dir, "--seed", "1", "--end", end, "--no-serve"}); err != nil {
		b.Fatal(err)
	}
	// The last full quarter: the one before the quarter of the day after the end.
	endDay, _ := time.Parse(time.DateOnly, end)
	next := endDay.AddDate(0, 0, 1)
	current, _, _ := build.Window(next, "", "", build.Quarter(next))
	last, _ := aggregate.PreviousWindow(current, current.AddDate(0, 3, 0))

	// The demo's config without its source, so that no collection or derivation
	// runs beside the requests measured.
	cfg, _, err := loadConfig(filepath.Join(dir, demoConfigFile))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Sources = nil
	text, err := cfg.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	configPath := filepath.Join(dir, "pages.yaml")
	if err := os.WriteFile(configPath, text, 0o644); err != nil {
		b.Fatal(err)
	}

	addr := freeAddr(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, env, configPath, serveOptions{listen: addr}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(15 * time.Second); ; {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("/readyz does not say ready within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	target := base + "/reports/flow?team=payments&quarter=" + build.Quarter(last)
	b.ResetTimer()
	for range b.N {
		// Do returns once the status line and headers are read: the first bytes.
		resp, err := http.Get(target)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s = %d: %s", target, resp.StatusCode, body)
		}
		b.StartTimer()
	}
}
