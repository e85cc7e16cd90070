package tracing

import (
	"context"
	"net/http"
	"syscall"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/pointsbook/pointsbook/internal/request"
)

// cpuTime is the CPU time the process has used, user and system, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// discard is an exporter that drops what the batch processor hands it,
// so the benchmark measures the request path, not a network.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// nopWriter is a ResponseWriter that keeps nothing.
type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header       { return w.h }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

// BenchmarkHandler is the per-request cost of tracing, on a request routed
// by a mux as the API's are: off (no provider: the handler is the mux
// itself), on and sampled (a server span with its attributes, handed to
// the batch processor), and on with the trace not sampled (ratio 0).
//
//	go test -run='^$' -bench=Handler -benchmem ./internal/tracing/
func BenchmarkHandler(b *testing.B) {
	for _, c := range []struct {
		name    string
		sampler sdktrace.Sampler // nil: tracing off
	}{
		{"off", nil},
		{"on-sampled", sdktrace.AlwaysSample()},
		{"on-unsampled", sdktrace.TraceIDRatioBased(0)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var h http.Handler
			if c.sampler == nil {
				h = Handler(nil, routes())
			} else {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}), sdktrace.WithSampler(sdktrace.ParentBased(c.sampler)))
				defer tp.Shutdown(context.Background()) //nolint:errcheck // discarded
				h = Handler(tp, routes())
			}
			w := nopWriter{h: http.Header{}}
			req, _ := http.NewRequest("GET", "http://localhost/api/v1/bets/b_42", nil)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				// A fresh Info per request, as the access log makes one.
				h.ServeHTTP(w, req.WithContext(request.With(context.Background(), &request.Info{Trusted: true})))
			}
			// On a machine shared with other work the wall clock counts
			// time spent waiting for a core; the process's CPU time per
			// request (the span processor's goroutine and GC included) is
			// the cost itself.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
