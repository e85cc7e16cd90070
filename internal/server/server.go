// Package server is the root HTTP handler: it composes the API (and later
// the web UI and WebSocket endpoint, each behind internal/edge), adds the
// middleware every response needs (recovery, security headers, access
// log), and answers the load balancer's /healthz and /readyz.
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pointsbook/pointsbook/internal/clientip"
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
// and assets) everywhere else. metrics may be nil; clients names the
// client behind trusted proxies in the access log (nil: the TCP peer).
func Handler(api, site http.Handler, ready Readiness, metrics Metrics, clients *clientip.Resolver, log *slog.Logger) http.Handler {
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
	return recoverer(log, securityHeaders(accessLog(log, metrics, clients, mux)))
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
	bytes  int
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
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (for
// flushing and, later, WebSocket hijacking).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var requestSeq atomic.Uint64

func accessLog(log *slog.Logger, metrics Metrics, clients *clientip.Resolver, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK // a handler that writes nothing answers 200
		}
		if metrics != nil {
			// The muxes set r.Pattern on this request as they route it, so it
			// names the API route ("GET /api/v1/bets/{id}"), not the raw path.
			metrics.ObserveRequest(r.Method, r.Pattern, sw.status, time.Since(start))
		}
		if r.URL.Path == "/healthz" || r.URL.Path == "/metrics" {
			return // probed every few seconds; logging it drowns the rest
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.Uint64("request_id", requestSeq.Add(1)),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", remote(clients, r)),
			slog.String("user_agent", truncate(r.UserAgent(), 200)),
		)
	})
}

// remote is the client's address for the access log: the one the rate
// limits count, so an operator reading the log sees who was limited.
func remote(clients *clientip.Resolver, r *http.Request) string {
	if clients != nil {
		if a := clients.Addr(r.RemoteAddr, r.Header.Values("X-Forwarded-For")); a.IsValid() {
			return a.String()
		}
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

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
