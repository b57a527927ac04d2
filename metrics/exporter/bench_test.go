package exporter

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// benchFacts makes 90 days of facts for teams × services: per service, a production
// deployment every third day (one in five failed, one in ten a hotfix), a failed
// attempt and a staging deployment a week, two shipped changes per deployment and
// an incident every ten days, so every family has a series for every team, service
// and window.
func benchFacts(teams, services int, now time.Time) (facts, []string) {
	var f facts
	names := make([]string, teams)
	n := 0
	for ti := range teams {
		team := fmt.Sprintf("team-%03d", ti)
		names[ti] = team
		for si := range services {
			service := fmt.Sprintf("%s-svc-%02d", team, si)
			for dd := 0; dd < 90; dd++ {
				at := now.AddDate(0, 0, -dd-1).Add(time.Duration(ti+si) * time.Minute)
				n++
				id := fmt.Sprint(n)
				if dd%3 == 0 {
					d := schema.DeploymentFact{
						Source: "gh", ID: "d" + id, Team: team, Service: service, Environment: "production",
						Production: true, Status: "success", StartedAt: at.Add(-5 * time.Minute), FinishedAt: at,
						RecoverySeconds: schema.Unknown,
					}
					if dd%15 == 0 {
						d.Failed, d.RecoverySeconds = true, int64(600+60*(n%120))
					}
					if dd%30 == 3 {
						d.Unplanned, d.Hotfix = true, true
					}
					f.deployments = append(f.deployments, d)
					for k := range 2 {
						lead := int64(3600 + (n*7919+k*104729)%(5*86400))
						f.changes = append(f.changes, schema.ChangeFact{
							Source: "gh", ID: fmt.Sprintf("c%s-%d", id, k), Team: team, Service: service,
							State: schema.ChangeShipped, MergedAt: at.Add(-time.Hour), ShippedAt: at,
							LeadTimeSeconds: lead, CodingSeconds: lead / 2, PickupSeconds: lead / 8,
							ReviewSeconds: lead / 4, DeploySeconds: lead - lead/2 - lead/8 - lead/4,
						})
					}
				}
				if dd%7 == 1 {
					f.deployments = append(f.deployments,
						schema.DeploymentFact{Source: "gh", ID: "a" + id, Team: team, Service: service, Environment: "production",
							Status: "failure", FailedAttempt: true, StartedAt: at, FinishedAt: at.Add(time.Minute), RecoverySeconds: schema.Unknown},
						schema.DeploymentFact{Source: "gh", ID: "s" + id, Team: team, Service: service, Environment: "staging",
							Status: "success", StartedAt: at, FinishedAt: at.Add(time.Minute), RecoverySeconds: schema.Unknown})
				}
				if dd%10 == 5 {
					f.incidents = append(f.incidents, schema.IncidentFact{
						Source: "pd", ID: "i" + id, Team: team, Service: service, OpenedAt: at,
						ResolvedAt: at.Add(time.Hour), RestoreSeconds: int64(1800 + 60*(n%60)),
					})
				}
			}
		}
	}
	return f, names
}

// prometheusAccept is the Accept header Prometheus 3 sends with its default
// scrape_protocols: OpenMetrics first, the text format as a fallback.
const prometheusAccept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6," +
	"application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4," +
	"text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

// BenchmarkScrape measures one scrape of /metrics as the daemon serves it (the
// exporter's cache of 200 teams × 20 services, encoded once per refresh, then the
// self-metrics and the Go and process collectors) through the HTTP handler, and
// beside it the limit: a plain net/http handler writing the same response from
// memory. openmetrics-gzip is what Prometheus asks for; text-gzip what older
// scrapers and those configured for the text format ask for; text-identity shows
// what compressing costs. Each reports the median and 99th percentile of both over
// its scrapes and the ratio of the 99th percentiles; run with -benchtime 200x.
func BenchmarkScrape(b *testing.B) {
	now := time.Date(2026, 6, 29, 0, 0, 0, 0, time.UTC)
	f, teams := benchFacts(200, 20, now)
	e := New()
	started := time.Now()
	e.swap(build(f, teams, newBounds(DefaultLimits()), "", now, aggregators{}))
	refresh := time.Since(started)
	s := NewSelf()
	observeSome(s)
	h := Handler(e, NewRegistry(nil, s))

	for _, tc := range []struct{ name, accept, contentType, encoding string }{
		{"openmetrics-gzip", prometheusAccept, "application/openmetrics-text", "gzip"},
		{"text-gzip", "text/plain;version=0.0.4;q=1,*/*;q=0.1", "text/plain", "gzip"},
		{"text-identity", "text/plain;version=0.0.4;q=1,*/*;q=0.1", "text/plain", "identity"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			scrape := func(h http.Handler) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				req.Header.Set("Accept", tc.accept)
				req.Header.Set("Accept-Encoding", tc.encoding)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				return rec
			}
			first := scrape(h)
			body, header := first.Body.Bytes(), first.Header()
			if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType+";") {
				b.Fatalf("Content-Type %q, want %s", ct, tc.contentType)
			}
			plain := body
			if tc.encoding == "gzip" {
				// Reading it whole checks the stream the cache and the scrape's part make.
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				if plain, err = io.ReadAll(zr); err != nil {
					b.Fatal(err)
				}
			}
			limit := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range header {
					w.Header()[k] = v
				}
				w.Write(body)
			})
			samples := 0
			for line := range bytes.Lines(plain) {
				if line[0] != '#' {
					samples++
				}
			}

			took := make([]time.Duration, 0, b.N)
			tookLimit := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				scrape(h)
				took = append(took, time.Since(t0))
				t0 = time.Now()
				scrape(limit)
				tookLimit = append(tookLimit, time.Since(t0))
			}
			b.StopTimer()
			pct := func(took []time.Duration, q float64) float64 {
				slices.Sort(took)
				return float64(took[int(q*float64(len(took)-1))].Microseconds()) / 1000
			}
			p99, limitP99 := pct(took, 0.99), pct(tookLimit, 0.99)
			b.ReportMetric(pct(took, 0.5), "p50-ms")
			b.ReportMetric(p99, "p99-ms")
			b.ReportMetric(pct(tookLimit, 0.5), "limit-p50-ms")
			b.ReportMetric(limitP99, "limit-p99-ms")
			b.ReportMetric(p99/max(limitP99, 0.001), "p99/limit")
			b.ReportMetric(float64(len(body))/1024, "body-KiB")
			b.ReportMetric(float64(len(plain))/1024, "plain-KiB")
			b.ReportMetric(float64(samples), "samples")
			if tc.name == "text-identity" {
				b.ReportMetric(refresh.Seconds(), "refresh-s")
				b.ReportMetric(float64(len(f.deployments)), "deployments")
				b.ReportMetric(float64(len(f.changes)), "changes")
			}
		})
	}
}
