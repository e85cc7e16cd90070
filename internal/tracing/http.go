package tracing

import (
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/pointsbook/pointsbook/internal/request"
)

// traceContext reads the W3C traceparent and tracestate headers.
var traceContext propagation.TraceContext

// Handler wraps next so that each request it serves is a server span,
// named by the route pattern the muxes inside chose ("POST /api/v1/bets").
// It goes inside the middleware that makes the request's request.Info:
// a traceparent header continues the caller's trace only when that Info
// says the peer is a trusted proxy (anyone else could join our traces or
// force sampling), and the span's trace id is written to Info.TraceID so
// the access line and every log line of the request carry it. With a nil
// provider (tracing off) it returns next itself.
func Handler(tp trace.TracerProvider, next http.Handler) http.Handler {
	if tp == nil {
		return next
	}
	tracer := tp.Tracer(Scope)
	trusted := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	untrusted := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithNewRoot()}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		info := request.From(ctx)
		// Whatever an untrusted client sent, its request starts a trace of
		// its own.
		opts := untrusted
		if info != nil && info.Trusted {
			ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(r.Header))
			opts = trusted
		}
		method, name := r.Method, r.Method
		if !knownMethod[method] {
			method, name = "_OTHER", "HTTP"
		}
		ctx, span := tracer.Start(ctx, name, opts...)
		if info != nil && span.SpanContext().IsSampled() {
			info.TraceID = span.SpanContext().TraceID().String()
		}
		sw := &statusWriter{ResponseWriter: w}
		inner := r.WithContext(ctx)
		defer func() {
			// The muxes set Pattern on the request they route, which is
			// inner; the layers outside (the access log, metrics) read it
			// from theirs.
			if p := inner.Pattern; p != "" {
				r.Pattern = p
				if strings.HasPrefix(p, "/") {
					p = name + " " + p // a pattern for any method: "GET /"
				}
				span.SetName(p)
			}
			if v := recover(); v != nil {
				span.SetStatus(codes.Error, "panic")
				span.SetAttributes(attribute.String("error.type", "panic"))
				span.RecordError(fmt.Errorf("panic: %v", v))
				span.End()
				panic(v)
			}
			if span.IsRecording() {
				status := sw.status
				if status == 0 {
					status = http.StatusOK
				}
				span.SetAttributes(
					attribute.String("http.request.method", method),
					attribute.String("url.path", clean(r.URL.Path)),
					attribute.Int("http.response.status_code", status),
				)
				if inner.Pattern != "" {
					span.SetAttributes(attribute.String("http.route", inner.Pattern))
				}
				if status >= 500 {
					span.SetStatus(codes.Error, "")
					span.SetAttributes(attribute.String("error.type", fmt.Sprint(status)))
				}
			}
			span.End()
		}()
		next.ServeHTTP(sw, inner)
	})
}

// methods are the request methods a span names as sent; any other is
// "_OTHER" (and the span "HTTP" when no route matched), so a client
// cannot make span names up.
var knownMethod = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true,
	"DELETE": true, "OPTIONS": true, "CONNECT": true, "TRACE": true,
}

// maxPath bounds url.path in a span.
const maxPath = 1024

// clean is a client's text fit for an attribute: valid UTF-8 (OTLP's
// protobuf strings must be, or the whole export is refused), at most
// maxPath bytes.
func clean(s string) string {
	if len(s) > maxPath {
		s = s[:maxPath]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// statusWriter remembers the response's status for the span.
type statusWriter struct {
	http.ResponseWriter
	status int
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
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer underneath, to
// flush or to hijack the connection for a WebSocket.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
