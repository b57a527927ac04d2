package main

import (
	"context"
	"fmt"
	"github.com/flowmeter/flowmeter/metrics/refresh"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
)

// recordCounter counts what a source writes, by kind.
type recordCounter struct {
	collectors.Writer
	mu     sync.Mutex
	counts map[schema.Kind]int
	// written is what was written, for the refresh that follows.
	written refresh.Written
}

func (c *recordCounter) Write(ctx context.Context, b *schema.Batch) error {
	if err := c.Writer.Write(ctx, b); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.written.Add(b)
	if c.counts == nil {
		c.counts = map[schema.Kind]int{}
	}
	c.counts[schema.KindPullRequest] += len(b.PullRequests)
	c.counts[schema.KindDeployment] += len(b.Deployments)
	c.counts[schema.KindIncident] += len(b.Incidents)
	c.counts[schema.KindWorkItem] += len(b.WorkItems)
	c.counts[schema.KindStatusChange] += len(b.StatusChanges)
	c.counts[schema.KindWorklog] += len(b.Worklogs)
	c.counts[schema.KindAncestry] += len(b.Ancestries)
	return nil
}

// total is the number of records written.
func (c *recordCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

// String says what was written, e.g. "wrote 120 pull requests, 14 deployments".
func (c *recordCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for _, k := range schema.Kinds {
		if n := c.counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ReplaceAll(string(k), "_", " ")))
		}
	}
	if len(parts) == 0 {
		return "nothing new"
	}
	return "wrote " + strings.Join(parts, ", ")
}

// terminalProgress keeps one status line up to date per unit being collected, and
// leaves a finished unit's last line on screen.
type terminalProgress struct {
	w       io.Writer
	mu      sync.Mutex
	started map[string]time.Time
	last    time.Time
}

func (p *terminalProgress) Report(r collectors.Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started == nil {
		p.started = map[string]time.Time{}
	}
	key := r.Unit + " " + r.Stream
	if _, ok := p.started[key]; !ok {
		p.started[key] = time.Now()
	}
	if !r.Finished && time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	line := fmt.Sprintf("%s %s %s: %s", r.Source, r.Unit, r.Stream, progressText(r, time.Since(p.started[key])))
	end := ""
	if r.Finished {
		end = "\n"
		delete(p.started, key)
	}
	fmt.Fprintf(p.w, "\r\033[K%s%s", line, end)
}

// progressText is "120/500 done · 243 requests · 4812 left · ETA 1m20s".
func progressText(r collectors.Report, elapsed time.Duration) string {
	var b strings.Builder
	if r.Total > 0 {
		fmt.Fprintf(&b, "%d/%d done", r.Done, r.Total)
	} else {
		fmt.Fprintf(&b, "%d done", r.Done)
	}
	fmt.Fprintf(&b, " · %d requests", r.Requests)
	if r.RateRemaining >= 0 {
		fmt.Fprintf(&b, " · %d left in the rate limit", r.RateRemaining)
	}
	if r.Total > r.Done && r.Done > 0 && !r.Finished {
		eta := time.Duration(float64(elapsed) / float64(r.Done) * float64(r.Total-r.Done))
		fmt.Fprintf(&b, " · ETA %s", eta.Round(time.Second))
	}
	return b.String()
}

// logProgress writes a structured progress line per unit at most every interval, and
// one when the unit finishes, for logs that nobody watches live.
type logProgress struct {
	log   *slog.Logger
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
}

func (p *logProgress) Report(r collectors.Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[string]time.Time{}
	}
	key := r.Unit + " " + r.Stream
	if !r.Finished && time.Since(p.last[key]) < p.every {
		return
	}
	p.last[key] = time.Now()
	p.log.Info("progress", "source", r.Source, "unit", r.Unit, "stream", r.Stream, "done", r.Done, "total", r.Total,
		"requests", r.Requests, "rate_limit_remaining", r.RateRemaining, "finished", r.Finished)
	if r.Finished {
		delete(p.last, key)
	}
}
