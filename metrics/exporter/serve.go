package exporter

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// encoding is the cached metrics of one refresh in one format: encoding them
// takes most of a scrape, and they change only with a refresh.
type encoding struct {
	plain []byte
	// gz is a gzip header and plain deflated, flushed but without the final
	// block, so a scrape can go on with its own part and end the one stream.
	gz  []byte
	crc uint32
}

// encodeCache gathers and encodes the cached metrics as text and OpenMetrics.
// A metric that fails to gather is logged and left out, as promhttp's
// ContinueOnError does.
func encodeCache(metrics []prometheus.Metric) (text, om encoding) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(cached(metrics))
	families, err := reg.Gather()
	if err != nil {
		errorLog{slog.Default()}.Println("gathering the cache:", err)
	}
	return encodeFamilies(families, expfmt.NewFormat(expfmt.TypeTextPlain)),
		encodeFamilies(families, expfmt.NewFormat(expfmt.TypeOpenMetrics))
}

func encodeFamilies(families []*dto.MetricFamily, format expfmt.Format) encoding {
	var plain bytes.Buffer
	enc := expfmt.NewEncoder(&plain, format) // not closed: the scrape's part ends it
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			errorLog{slog.Default()}.Println("encoding the cache:", err)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Flush()
	return encoding{plain: plain.Bytes(), gz: gz.Bytes(), crc: crc32.ChecksumIEEE(plain.Bytes())}
}

// cached is an unchecked collector of a cache's metrics.
type cached []prometheus.Metric

func (cached) Describe(chan<- *prometheus.Desc) {}

func (c cached) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}

// Handler serves e's metrics, encoded once per refresh, followed by live's,
// gathered and encoded per scrape (the self-metrics, Go and process collectors:
// small, and changing between scrapes), as one exposition. live must not hold e;
// a nil e serves live alone.
// A collection error is logged (one line, with slog's default logger) and what
// could be gathered is still served, so one broken family does not blind every
// dashboard. Formats other than text and OpenMetrics are served through promhttp.
func Handler(e *Exporter, live prometheus.Gatherer) http.Handler {
	full := prometheus.NewRegistry()
	if e != nil {
		full.MustRegister(e)
	}
	return &handler{e: e, live: live, other: promhttp.HandlerFor(prometheus.Gatherers{full, live}, promhttp.HandlerOpts{
		ErrorLog:      errorLog{slog.Default()},
		ErrorHandling: promhttp.ContinueOnError,
	})}
}

type handler struct {
	e     *Exporter
	live  prometheus.Gatherer
	other http.Handler
}

var flatePool sync.Pool

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	format := expfmt.NegotiateIncludingOpenMetrics(r.Header)
	ft := format.FormatType()
	if ft != expfmt.TypeTextPlain && ft != expfmt.TypeOpenMetrics {
		h.other.ServeHTTP(w, r)
		return
	}
	var c *cache
	if h.e != nil {
		h.e.mu.RLock()
		c = h.e.cache
		h.e.mu.RUnlock()
	}
	var static encoding
	if c != nil {
		static = c.text
		if ft == expfmt.TypeOpenMetrics {
			static = c.om
		}
	}

	families, err := h.live.Gather()
	if err != nil {
		errorLog{slog.Default()}.Println(err)
	}
	if c != nil {
		families = append(families, h.e.age(c))
	}
	var live bytes.Buffer
	enc := expfmt.NewEncoder(&live, format)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			errorLog{slog.Default()}.Println(err)
		}
	}
	if closer, ok := enc.(expfmt.Closer); ok {
		closer.Close()
	}

	w.Header().Set("Content-Type", string(format))
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.Write(static.plain)
		w.Write(live.Bytes())
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	if static.gz == nil {
		static = encodeFamilies(nil, format) // no cache yet: just the gzip header
	}
	w.Write(static.gz)
	fw, _ := flatePool.Get().(*flate.Writer)
	if fw == nil {
		fw, _ = flate.NewWriter(w, flate.DefaultCompression)
	} else {
		fw.Reset(w)
	}
	fw.Write(live.Bytes())
	fw.Close()
	flatePool.Put(fw)
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc32.Update(static.crc, crc32.IEEETable, live.Bytes()))
	binary.LittleEndian.PutUint32(trailer[4:], uint32(len(static.plain)+live.Len()))
	w.Write(trailer[:])
}

// age is the cache age family of c.
func (e *Exporter) age(c *cache) *dto.MetricFamily {
	m := &dto.Metric{}
	prometheus.MustNewConstMetric(cacheAgeDesc, prometheus.GaugeValue, max(e.now().Sub(c.builtAt).Seconds(), 0)).Write(m)
	name, help, typ := CacheAgeMetric, cacheAgeHelp, dto.MetricType_GAUGE
	return &dto.MetricFamily{Name: &name, Help: &help, Type: &typ, Metric: []*dto.Metric{m}}
}

// acceptsGzip tells whether an Accept-Encoding header lists gzip (or *) with a
// q above zero.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.TrimSpace(coding)
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
				q, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		}
		return q > 0
	}
	return false
}
