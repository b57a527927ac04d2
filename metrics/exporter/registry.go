package exporter

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a new registry (never the global one) holding the exporter,
// the self-metrics, and the Go runtime and process collectors. A nil e or s is left
// out.
func NewRegistry(e *Exporter, s *Self) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	if e != nil {
		reg.MustRegister(e)
	}
	if s != nil {
		reg.MustRegister(s)
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves reg's metrics in the format the scraper asks for. A collection
// error is logged (one line, with slog's default logger, which the binary sets up)
// and the metrics that could be gathered are still served, so one broken family
// does not blind every dashboard.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      errorLog{slog.Default()},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// errorLog adapts slog to promhttp's Logger, keeping its multi-line errors to one
// line.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) {
	l.log.Error("serving metrics", "err", strings.Join(strings.Fields(fmt.Sprint(v...)), " "))
}
