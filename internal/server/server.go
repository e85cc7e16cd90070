// Package server is the root HTTP handler: it composes the API (and later
// the web UI and WebSocket endpoint, each behind internal/edge), adds the
// middleware every response needs (request metadata and the access log,
// recovery, security headers), and answers the load balancer's /healthz and /readyz.
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pointsbook/pointsbook/internal/edge"
)

// Pinger reports whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Readiness is what /readyz reports on.
type Readiness struct {
	// DB must answer for the instance to take traffic.
	DB Pinger
	// Warm, when set, must be true too: the first start's import of the
	// catalogue is done, so the site has today's matches.
	Warm func() bool
	// Details are shown but never fail readiness: a slow sports-data
	// provider must not make a load balancer drain every instance.
	Details func() map[string]any
}

// Metrics observes requests and serves /metrics.
type Metrics interface {
	ObserveRequest(method, route string, code int, d time.Duration)
	Handler() http.Handler
}

// Handler builds the root handler: the API under /api/, the site (pages
// and assets) everywhere else. metrics may be nil. Every request gets its
// request.Info (id, trace, client and place, per acc) before anything
// else runs, and one access line when it is done (acc nil: no trusted
// proxy, no places, probes left out); log should carry
// request.LogHandler, which puts the request and trace ids on that line
// and every other one logged while serving the request.
func Handler(api, site http.Handler, ready Readiness, metrics Metrics, acc *Access, log *slog.Logger) http.Handler {
	if acc == nil {
		acc = &Access{}
	}
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("GET /metrics", metrics.Handler())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		body := map[string]any{"status": "ok", "database": "ok"}
		if ready.Details != nil {
			for k, v := range ready.Details() {
				body[k] = v
			}
		}
		code := http.StatusOK
		if err := ready.DB.Ping(ctx); err != nil {
			log.WarnContext(ctx, "not ready", "err", err)
			body["status"], body["database"], code = "unavailable", "unreachable", http.StatusServiceUnavailable
		} else if ready.Warm != nil && !ready.Warm() {
			body["status"], code = "starting", http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body) //nolint:errcheck // the prober went away
	})
	mux.Handle("/api/", api)
	mux.Handle("/", site)
	// The access log outside the recoverer, so a panic's 500 is logged
	// like any answer, and the panic's own line has the request id.
	return accessLog(log, metrics, *acc, recoverer(log, securityHeaders(mux)))
}

const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		// No inline script, style or handler anywhere: every script and
		// stylesheet is a file of ours, and forms post only to us.
		h.Set("Content-Security-Policy", csp)
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (for
// flushing and, later, WebSocket hijacking).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverer answers a panic with a 500 in the format of the surface it
// happened on (the edge's error page or the JSON envelope), and logs it.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic in handler", "path", r.URL.Path, "panic", fmt.Sprint(v))
				edge.WriteFault(w, r, edge.FormatFor(r, surface(r)), edge.Internal)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// surface is the format of the part of the site that serves r: the JSON
// API under /api/, pages everywhere else.
func surface(r *http.Request) edge.Format {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return edge.JSON
	}
	return edge.HTML
}

// API mounts the WebSocket endpoint beside the JSON API: GET /api/v1/ws is
// the live hub's (behind the same edge and session as every API route),
// everything else under /api/ the API's.
func API(api, ws http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/ws", ws)
	mux.Handle("/api/", api)
	return mux
}
