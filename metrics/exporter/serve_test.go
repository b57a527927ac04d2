package exporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/flowmeter/flowmeter/metrics"
)

// scrape calls h with the given Accept and Accept-Encoding headers and returns the
// response, its body decoded.
func scrape(t testing.TB, h http.Handler, accept, encoding string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	if res.Header.Get("Content-Encoding") == "gzip" {
		br := bytes.NewReader(body)
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false) // one gzip member, as every client can read
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
		if br.Len() != 0 {
			t.Fatalf("%d bytes after the first gzip member", br.Len())
		}
	}
	return res, body
}

func parse(t testing.TB, text []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return families
}

// TestCachedExpositionEqualsRegistry: the bytes encoded once per refresh and the
// live part after them are what the registry gathered on each scrape gave.
func TestCachedExpositionEqualsRegistry(t *testing.T) {
	e, _ := fixtureExporter(t)
	s := NewSelf()
	observeSome(s)
	want := parse(t, exposition(t, NewRegistry(e, s)))
	for _, encoding := range []string{"identity", "gzip"} {
		res, body := scrape(t, Handler(e, NewRegistry(nil, s)), "text/plain;version=0.0.4", encoding)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Errorf("%s: Content-Type %q", encoding, ct)
		}
		got := parse(t, body)
		if len(got) != len(want) {
			t.Errorf("%s: %d families, want %d", encoding, len(got), len(want))
		}
		for name, w := range want {
			g, ok := got[name]
			if !ok {
				t.Errorf("%s: no %s", encoding, name)
				continue
			}
			if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
				continue // they change between gatherings
			}
			if gs, ws := familyText(t, g), familyText(t, w); gs != ws {
				t.Errorf("%s: %s is\n%s\nwant\n%s", encoding, name, gs, ws)
			}
		}
	}
}

func familyText(t testing.TB, mf *dto.MetricFamily) string {
	var b strings.Builder
	if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestNegotiation(t *testing.T) {
	e, _ := fixtureExporter(t)
	s := NewSelf()
	observeSome(s)
	h := Handler(e, NewRegistry(nil, s))
	for _, c := range []struct {
		accept, encoding, contentType, contentEncoding string
	}{
		{"", "", "text/plain; version=0.0.4", ""},
		{"text/plain;version=0.0.4;q=1,*/*;q=0.1", "gzip", "text/plain; version=0.0.4", "gzip"},
		{"text/plain", "gzip;q=0, identity", "text/plain; version=0.0.4", ""},
		{"text/plain", "deflate, *;q=0.5", "text/plain; version=0.0.4", "gzip"},
		{"application/openmetrics-text;version=1.0.0,text/plain;q=0.5", "gzip", "application/openmetrics-text; version=1.0.0", "gzip"},
		{"application/openmetrics-text;version=1.0.0", "", "application/openmetrics-text; version=1.0.0", ""},
		{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "", "application/vnd.google.protobuf", ""},
	} {
		res, body := scrape(t, h, c.accept, c.encoding)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, c.contentType) {
			t.Errorf("Accept %q: Content-Type %q, want %q", c.accept, ct, c.contentType)
		}
		if ce := res.Header.Get("Content-Encoding"); ce != c.contentEncoding {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", c.encoding, ce, c.contentEncoding)
		}
		ft := expfmt.ResponseFormat(res.Header)
		if ft.FormatType() == expfmt.TypeOpenMetrics {
			// expfmt has no OpenMetrics parser (its text parser rejects the Go
			// collector's OpenMetrics names); TestPrometheusScrapes reads it.
			ft = expfmt.FmtUnknown
		}
		dec := expfmt.NewDecoder(bytes.NewReader(body), ft)
		n := 0
		for ft != expfmt.FmtUnknown {
			var mf dto.MetricFamily
			err := dec.Decode(&mf)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Accept %q: %v", c.accept, err)
			}
			n++
		}
		if n < 10 && ft != expfmt.FmtUnknown {
			t.Errorf("Accept %q: %d families", c.accept, n)
		}
		if strings.HasPrefix(c.contentType, "application/openmetrics") {
			if !bytes.HasSuffix(body, []byte("\n# EOF\n")) || bytes.Count(body, []byte("# EOF")) != 1 {
				t.Errorf("OpenMetrics does not end with one # EOF:\n%s", body[max(len(body)-200, 0):])
			}
			if !bytes.Contains(body, []byte("flowmeter_deployments_total{")) || !bytes.Contains(body, []byte("# TYPE flowmeter_collector_runs counter")) {
				t.Errorf("OpenMetrics lacks the cached or the live families")
			}
		}
	}
}

// TestRefreshSwapsTheBytes: a scrape after an Update shows its values.
func TestRefreshSwapsTheBytes(t *testing.T) {
	e, _ := fixtureExporter(t)
	h := Handler(e, NewRegistry(nil, nil))
	const series = `flowmeter_deployments_total{environment="production",result="success",service="api",team="alpha"}`
	value := func() string {
		_, body := scrape(t, h, "", "gzip")
		for line := range strings.Lines(string(body)) {
			if v, ok := strings.CutPrefix(line, series+" "); ok {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	before := value()
	f := fixtureFacts()
	if err := e.Update(context.Background(), Facts{DORA: metrics.Facts{Changes: f.changes, Incidents: f.incidents}}, fixtureTeams, "", fixtureNow); err != nil {
		t.Fatal(err)
	}
	if after := value(); before == "" || after != "" {
		t.Errorf("%s was %q before the update without deployments and %q after", series, before, after)
	}
}

// TestSelfMetricsPerScrape: the self-metrics and the cache's age move between
// scrapes without a refresh.
func TestSelfMetricsPerScrape(t *testing.T) {
	e, _ := fixtureExporter(t)
	clock := fixtureNow.Add(5 * time.Minute)
	e.clock = func() time.Time { return clock }
	s := NewSelf()
	h := Handler(e, NewRegistry(nil, s))
	get := func(name string) float64 {
		_, body := scrape(t, h, "", "gzip")
		mf := parse(t, body)[name]
		if mf == nil {
			return -1
		}
		var sum float64
		for _, m := range mf.Metric {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		return sum
	}
	if n := get("flowmeter_collector_runs_total"); n != -1 {
		t.Fatalf("runs before any run: %v", n)
	}
	age := get(CacheAgeMetric)
	s.ObserveRun("github", nil, time.Second, fixtureNow)
	clock = clock.Add(time.Minute)
	if n := get("flowmeter_collector_runs_total"); n != 1 {
		t.Errorf("runs after one run: %v, want 1", n)
	}
	if a := get(CacheAgeMetric); a != age+60 {
		t.Errorf("cache age %v a minute after %v", a, age)
	}
}
