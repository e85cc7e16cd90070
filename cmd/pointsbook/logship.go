package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/pointsbook/pointsbook/internal/config"
	"github.com/pointsbook/pointsbook/internal/logship"
	"github.com/pointsbook/pointsbook/internal/metrics"
	"github.com/pointsbook/pointsbook/internal/request"
)

// newLogger is the process log: JSON lines on w with the ECS key names
// (@timestamp, log.level, message), and the request and trace ids on
// every line logged while serving a request.
func newLogger(w io.Writer, level string) *slog.Logger { return newShippingLogger(w, level, nil) }

// newShippingLogger is newLogger teed to the OpenSearch sink when there
// is one.
func newShippingLogger(w io.Writer, level string, ship *logship.Sink) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	log := slog.New(request.LogHandler(logship.NewHandler(w, l, ship)))
	if ship != nil {
		ship.SetLogger(log)
	}
	return log
}

// newLogShipper is the sink of PB_OPENSEARCH_URL, or nil without one. It
// sends nothing until it runs as a worker (Main.start); a cluster that is
// down, slow or refusing never stops the binary, only a setting that
// cannot work does (an unreadable CA file).
func newLogShipper(cfg config.Config) (*logship.Sink, error) {
	if cfg.OpenSearchURL == "" {
		return nil, nil
	}
	var ca []byte
	if cfg.OpenSearchCAFile != "" {
		b, err := os.ReadFile(cfg.OpenSearchCAFile)
		if err != nil {
			return nil, fmt.Errorf("PB_OPENSEARCH_CA_FILE: %w", err)
		}
		ca = b
	}
	s, err := logship.New(logship.Config{
		URL: cfg.OpenSearchURL, Username: cfg.OpenSearchUsername, Password: cfg.OpenSearchPassword,
		APIKey: cfg.OpenSearchAPIKey, CACert: ca,
		Retention: cfg.OpenSearchRetention, Setup: cfg.OpenSearchSetup,
	})
	if err != nil {
		return nil, fmt.Errorf("PB_OPENSEARCH_*: %w", err)
	}
	return s, nil
}

// registerLogShipping exposes the sink's counters by index kind (access,
// audit, app), read at scrape time.
func registerLogShipping(met *metrics.Metrics, s *logship.Sink) {
	for _, k := range logship.Kinds() {
		labels := map[string]string{"index": k.String()}
		count := func(pick func(logship.IndexStats) uint64) func() float64 {
			return func() float64 { return float64(pick(s.Stats().Index[k])) }
		}
		met.CounterFunc("pointsbook_log_shipped_total", "Log documents OpenSearch accepted, by index kind.", labels,
			count(func(x logship.IndexStats) uint64 { return x.Shipped }))
		met.CounterFunc("pointsbook_log_dropped_total", "Log documents dropped unsent (buffer full, or still buffered at the shutdown deadline), by index kind.", labels,
			count(func(x logship.IndexStats) uint64 { return x.Dropped }))
		met.CounterFunc("pointsbook_log_failed_total", "Log documents OpenSearch refused, or lost with requests that kept failing, by index kind.", labels,
			count(func(x logship.IndexStats) uint64 { return x.Failed }))
	}
	met.CounterFunc("pointsbook_log_retries_total", "Log documents sent again after a 429, a 5xx or a lost request.", nil,
		func() float64 { return float64(s.Stats().Retries) })
	met.Gauge("pointsbook_log_queued", "Log documents buffered or in a batch not yet answered.", nil,
		func() float64 { return float64(s.Stats().Queued) })
}

// logShippingDetails is the /readyz entry (never part of readiness).
func logShippingDetails(s *logship.Sink) any {
	if s == nil {
		return map[string]any{"state": "off"}
	}
	return s.Details()
}
