package exporter

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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

// errorLog adapts slog to promhttp's Logger, keeping its multi-line errors to one
// line.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) {
	l.log.Error("serving metrics", "err", strings.Join(strings.Fields(fmt.Sprint(v...)), " "))
}
