package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	m := New()
	m.ObserveRequest("GET", "GET /api/v1/matches/{id}", 200, 3*time.Millisecond)
	m.ObserveRequest("GET", "", 404, time.Millisecond)
	leader := 1.0
	m.Gauge("pointsbook_feed_leader", "Whether this instance polls the feed.", map[string]string{"provider": "simulator"}, func() float64 { return leader })
	m.CounterFunc("pointsbook_attempt_limiter_fallbacks_total", "Attempts counted in process.", nil, func() float64 { return 7 })
	m.Live(func() LiveStats {
		return LiveStats{Connections: 3, Overflows: 1, Delivered: 40, FramesIn: 5, FramesOut: 12}
	})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`pointsbook_http_requests_total{code="200",method="GET",route="GET /api/v1/matches/{id}"} 1`,
		`pointsbook_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`pointsbook_http_request_duration_seconds_bucket{route="GET /api/v1/matches/{id}",le="0.005"} 1`,
		`pointsbook_feed_leader{provider="simulator"} 1`,
		"# TYPE pointsbook_attempt_limiter_fallbacks_total counter\npointsbook_attempt_limiter_fallbacks_total 7",
		"# TYPE pointsbook_live_connections gauge\npointsbook_live_connections 3",
		"# TYPE pointsbook_live_slow_clients_dropped_total counter\npointsbook_live_slow_clients_dropped_total 1",
		"pointsbook_live_events_delivered_total 40",
		`pointsbook_live_frames_total{direction="in"} 5`,
		`pointsbook_live_frames_total{direction="out"} 12`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
}
