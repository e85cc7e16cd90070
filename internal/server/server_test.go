package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func serve(t *testing.T, h http.Handler, method, path string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec, body
}

func TestProbes(t *testing.T) {
	t.Parallel()
	api := http.NotFoundHandler()
	log := slog.New(slog.DiscardHandler)
	warm := false
	tests := []struct {
		name   string
		ready  Readiness
		status int
		state  string
	}{
		{"database up", Readiness{DB: pinger{}}, 200, "ok"},
		{"database down", Readiness{DB: pinger{errors.New("refused")}}, 503, "unavailable"},
		{"still importing", Readiness{DB: pinger{}, Warm: func() bool { return warm }}, 503, "starting"},
		{"feed degraded stays ready", Readiness{DB: pinger{}, Details: func() map[string]any { return map[string]any{"feed": map[string]any{"degraded": true}} }}, 200, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Handler(api, http.NotFoundHandler(), tt.ready, nil, nil, log)
			rec, body := serve(t, h, "GET", "/readyz")
			if rec.Code != tt.status || body["status"] != tt.state {
				t.Fatalf("readyz = %d %v, want %d %s", rec.Code, body, tt.status, tt.state)
			}
			if rec, _ := serve(t, h, "GET", "/healthz"); rec.Code != 200 {
				t.Fatalf("healthz = %d", rec.Code)
			}
		})
	}
	h := Handler(api, http.NotFoundHandler(), Readiness{DB: pinger{}, Details: func() map[string]any { return map[string]any{"feed": "degraded: quota"} }}, nil, nil, log)
	if _, body := serve(t, h, "GET", "/readyz"); body["feed"] != "degraded: quota" {
		t.Fatalf("details missing: %v", body)
	}
}

func TestRoutingAndHeaders(t *testing.T) {
	t.Parallel()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	site := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	h := Handler(api, site, Readiness{DB: pinger{}}, nil, nil, slog.New(slog.DiscardHandler))
	rec, _ := serve(t, h, "GET", "/")
	if rec.Code != 299 {
		t.Fatalf("/ not routed to the site: %d", rec.Code)
	}
	for header, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
	} {
		if got := rec.Header().Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP = %q", csp)
	}
	for path, code := range map[string]int{"/matches/m_1": 299, "/static/x/app.css": 299, "/api/v1/anything": 204} {
		if rec, _ := serve(t, h, "GET", path); rec.Code != code {
			t.Errorf("GET %s = %d, want %d", path, rec.Code, code)
		}
	}
}

func TestPanicIsLoggedAndAnswered500(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	h := Handler(api, http.NotFoundHandler(), Readiness{DB: pinger{}}, nil, nil, slog.New(slog.NewJSONHandler(&logs, nil)))
	rec, body := serve(t, h, "GET", "/api/v1/x")
	if rec.Code != 500 || body["error"].(map[string]any)["code"] != "internal" {
		t.Fatalf("panic answered %d %v", rec.Code, body)
	}
	if !strings.Contains(logs.String(), `"panic":"boom"`) {
		t.Fatalf("panic not logged: %s", logs.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Fatalf("log line is not JSON: %s", line)
		}
	}
}

// TestPanicOnAPageAnsweredInHTML: outside /api/ a panic gets the edge's
// error page, which shows nothing of the panic.
func TestPanicOnAPageAnsweredInHTML(t *testing.T) {
	t.Parallel()
	h := recoverer(slog.New(slog.DiscardHandler), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/matches", nil)
	req.Header.Set("Accept", "text/html")
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic on a page answered %d %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}

type observed struct {
	route string
	code  int
}

type recorder struct{ seen []observed }

func (r *recorder) ObserveRequest(method, route string, code int, d time.Duration) {
	r.seen = append(r.seen, observed{route, code})
}
func (r *recorder) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("metrics\n")) })
}

// TestMetricsSeeRoutePatterns: requests are labelled by the pattern the
// inner API mux matched, so ids never become label values.
func TestMetricsSeeRoutePatterns(t *testing.T) {
	t.Parallel()
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/bets/{id}", func(w http.ResponseWriter, r *http.Request) {})
	rec := &recorder{}
	h := Handler(api, http.NotFoundHandler(), Readiness{DB: pinger{}}, rec, nil, slog.New(slog.DiscardHandler))
	serve(t, h, "GET", "/api/v1/bets/b_123")
	if r, _ := serve(t, h, "GET", "/metrics"); r.Body.String() != "metrics\n" {
		t.Fatalf("/metrics = %q", r.Body.String())
	}
	if len(rec.seen) < 1 || rec.seen[0].route != "GET /api/v1/bets/{id}" || rec.seen[0].code != 200 {
		t.Fatalf("observed %+v", rec.seen)
	}
}
