// Package metrics exposes the server's Prometheus metrics: HTTP traffic
// by route, the bets and points the product moves, the ledger's totals,
// the database pools, and gauges read at scrape time from the parts that
// own the state (the feed's ingester, the provider's budget, the live
// hub). Host and database server metrics come from the standard
// exporters, not from here.
package metrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry; tests make their own, so nothing is global.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bets     *betMetrics
	// token, when set, is the SHA-256 of the bearer token a scrape must
	// present.
	token *[sha256.Size]byte
}

// New registers the HTTP and bet metrics, the Go runtime and process
// collectors and the build information.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pointsbook_http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pointsbook_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
	}
	m.bets = newBetMetrics()
	m.reg.MustRegister(m.requests, m.duration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(), buildInfo())
	m.bets.register(m.reg)
	return m
}

// methods are the request methods counted by name; any other (a client
// may send any token) is counted as "other", so the label stays bounded.
var methods = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
	"DELETE": "DELETE", "OPTIONS": "OPTIONS", "CONNECT": "CONNECT", "TRACE": "TRACE",
}

// ObserveRequest counts one request. route is the ServeMux pattern that
// matched (never the raw path, whose ids would make the label unbounded).
func (m *Metrics) ObserveRequest(method, route string, code int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	method, ok := methods[method]
	if !ok {
		method = "other"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// Gauge registers a gauge whose value f computes at scrape time.
func (m *Metrics) Gauge(name, help string, labels prometheus.Labels, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f))
}

// RequireToken makes Handler answer 401 to a scrape without
// "Authorization: Bearer <token>". Call it before serving; an empty
// token leaves /metrics open.
func (m *Metrics) RequireToken(token string) {
	if token == "" {
		m.token = nil
		return
	}
	sum := sha256.Sum256([]byte(token))
	m.token = &sum
}

// Handler serves the registry in the Prometheus text format, behind the
// bearer token when one is required.
func (m *Metrics) Handler() http.Handler {
	serve := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	want := m.token
	if want == nil {
		return serve
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Comparing digests takes the same time whatever the length or
		// content of what was sent.
		got, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		serve.ServeHTTP(w, r)
	})
}

// bearer is the token of an "Authorization: Bearer <token>" header (the
// scheme in any letter case, RFC 9110).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// CounterFunc registers a counter whose value f reads at scrape time from
// the part that counts (it must never decrease).
func (m *Metrics) CounterFunc(name, help string, labels prometheus.Labels, f func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f))
}

// LiveStats are the WebSocket hub's counters, read at scrape time.
type LiveStats struct {
	Connections int64 // open now
	Overflows   int64 // closed because they did not read their events
	Delivered   int64 // events queued to connections
	FramesIn    int64 // frames read from clients
	FramesOut   int64 // frames written to clients
}

// Live registers the hub's counters; stats is read once per scrape.
func (m *Metrics) Live(stats func() LiveStats) {
	m.reg.MustRegister(liveCollector(stats))
}

var (
	liveConnections = prometheus.NewDesc("pointsbook_live_connections", "Open WebSocket connections.", nil, nil)
	liveOverflows   = prometheus.NewDesc("pointsbook_live_slow_clients_dropped_total", "Connections closed because their send queue overflowed.", nil, nil)
	liveDelivered   = prometheus.NewDesc("pointsbook_live_events_delivered_total", "Events queued to connections (one per watcher).", nil, nil)
	liveFrames      = prometheus.NewDesc("pointsbook_live_frames_total", "WebSocket frames by direction (in: read from clients; out: written, each one or more events).", []string{"direction"}, nil)
)

type liveCollector func() LiveStats

func (liveCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- liveConnections
	ch <- liveOverflows
	ch <- liveDelivered
	ch <- liveFrames
}

func (f liveCollector) Collect(ch chan<- prometheus.Metric) {
	s := f()
	ch <- prometheus.MustNewConstMetric(liveConnections, prometheus.GaugeValue, float64(s.Connections))
	ch <- prometheus.MustNewConstMetric(liveOverflows, prometheus.CounterValue, float64(s.Overflows))
	ch <- prometheus.MustNewConstMetric(liveDelivered, prometheus.CounterValue, float64(s.Delivered))
	ch <- prometheus.MustNewConstMetric(liveFrames, prometheus.CounterValue, float64(s.FramesIn), "in")
	ch <- prometheus.MustNewConstMetric(liveFrames, prometheus.CounterValue, float64(s.FramesOut), "out")
}
