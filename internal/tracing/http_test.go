package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/pointsbook/pointsbook/internal/request"
)

// recorded is a tracer provider whose spans a test reads as they end.
func recorded(t *testing.T, sampler sdktrace.Sampler) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sampler))
	t.Cleanup(func() { tp.Shutdown(context.Background()) }) //nolint:errcheck // in memory
	return tp, exp
}

func sampleAll() sdktrace.Sampler { return sdktrace.ParentBased(sdktrace.AlwaysSample()) }

const (
	upstreamTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	upstreamSpan  = "00f067aa0ba902b7"
)

// routes is a small API behind a mux, as the real one is.
func routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/bets", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	mux.HandleFunc("GET /api/v1/bets/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) }) //nolint:errcheck // recorder
	mux.HandleFunc("/api/v1/any", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /api/v1/boom", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	return mux
}

func TestHandlerTraceparentFromTrustedProxiesOnly(t *testing.T) {
	t.Parallel()
	sampled := "00-" + upstreamTrace + "-" + upstreamSpan + "-01"
	tests := []struct {
		name        string
		info        *request.Info // nil: no access-log middleware outside
		traceparent string
		wantParent  bool // the span continues the upstream trace
		wantSpan    bool // a span is exported at all
	}{
		{"trusted proxy", &request.Info{Trusted: true}, sampled, true, true},
		{"trusted proxy, caller did not sample", &request.Info{Trusted: true}, "00-" + upstreamTrace + "-" + upstreamSpan + "-00", false, false},
		{"untrusted peer", &request.Info{Trusted: false}, sampled, false, true},
		{"no request info", nil, sampled, false, true},
		{"trusted proxy, malformed header", &request.Info{Trusted: true}, "00-" + upstreamTrace + "-zz-01", false, true},
		{"trusted proxy, all-zero trace id", &request.Info{Trusted: true}, "00-00000000000000000000000000000000-" + upstreamSpan + "-01", false, true},
		{"trusted proxy, no header", &request.Info{Trusted: true}, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp, exp := recorded(t, sampleAll())
			h := Handler(tp, routes())
			req := httptest.NewRequest("GET", "/api/v1/bets/b_1", nil)
			if tt.traceparent != "" {
				req.Header.Set("traceparent", tt.traceparent)
			}
			if tt.info != nil {
				req = req.WithContext(request.With(req.Context(), tt.info))
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			spans := exp.GetSpans()
			if !tt.wantSpan {
				if len(spans) != 0 {
					t.Fatalf("exported %d spans of an unsampled trace", len(spans))
				}
				if tt.info.TraceID != "" {
					t.Errorf("Info.TraceID = %q for an unsampled trace", tt.info.TraceID)
				}
				return
			}
			if len(spans) != 1 {
				t.Fatalf("exported %d spans, want 1", len(spans))
			}
			s := spans[0]
			gotTrace := s.SpanContext.TraceID().String()
			continued := gotTrace == upstreamTrace
			if continued != tt.wantParent {
				t.Fatalf("trace %s, parent %s: continued upstream = %v, want %v", gotTrace, s.Parent.SpanID(), continued, tt.wantParent)
			}
			if tt.wantParent && s.Parent.SpanID().String() != upstreamSpan {
				t.Errorf("parent span = %s, want %s", s.Parent.SpanID(), upstreamSpan)
			}
			if !tt.wantParent && s.Parent.IsValid() {
				t.Errorf("span has parent %s; want a new root", s.Parent.SpanID())
			}
			if s.SpanKind != trace.SpanKindServer {
				t.Errorf("kind = %v", s.SpanKind)
			}
			if tt.info != nil && tt.info.TraceID != gotTrace {
				t.Errorf("Info.TraceID = %q, want the span's %s", tt.info.TraceID, gotTrace)
			}
		})
	}
}

func TestHandlerNamesSpanByRoute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		wantName     string
		wantRoute    string
		wantStatus   string
		wantError    bool
	}{
		{"POST", "/api/v1/bets", "POST /api/v1/bets", "POST /api/v1/bets", "201", false},
		{"GET", "/api/v1/bets/b_42", "GET /api/v1/bets/{id}", "GET /api/v1/bets/{id}", "200", false},
		{"GET", "/api/v1/boom", "GET /api/v1/boom", "GET /api/v1/boom", "503", true},
		// No route: the span is named by the method alone, so unknown
		// paths cannot make unbounded span names.
		{"GET", "/api/v1/nothing/here", "GET", "", "404", false},
		// A pattern for any method is named with the request's.
		{"DELETE", "/api/v1/any", "DELETE /api/v1/any", "/api/v1/any", "200", false},
		// A method of the client's own making names nothing.
		{"BREW", "/api/v1/any", "HTTP /api/v1/any", "/api/v1/any", "200", false},
		{"BREW", "/api/v1/nothing", "HTTP", "", "404", false},
		// A path that is not UTF-8 is made valid for OTLP's protobuf.
		{"GET", "/api/v1/%ff", "GET", "", "404", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			tp, exp := recorded(t, sampleAll())
			var outerPattern string
			// The access log outside reads the route from its own request.
			outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				Handler(tp, routes()).ServeHTTP(w, r)
				outerPattern = r.Pattern
			})
			info := &request.Info{}
			req := httptest.NewRequest(tt.method, tt.path, nil)
			outer.ServeHTTP(httptest.NewRecorder(), req.WithContext(request.With(req.Context(), info)))
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("exported %d spans", len(spans))
			}
			s := spans[0]
			if s.Name != tt.wantName {
				t.Errorf("name = %q, want %q", s.Name, tt.wantName)
			}
			if outerPattern != tt.wantRoute {
				t.Errorf("outer r.Pattern = %q, want %q", outerPattern, tt.wantRoute)
			}
			got := map[string]string{}
			for _, a := range s.Attributes {
				got[string(a.Key)] = a.Value.String()
			}
			wantMethod, wantPath := tt.method, strings.ToValidUTF8(tt.path, "\uFFFD")
			if tt.method == "BREW" {
				wantMethod = "_OTHER"
			}
			if tt.path == "/api/v1/%ff" {
				wantPath = "/api/v1/\uFFFD"
			}
			if got["http.response.status_code"] != tt.wantStatus || got["http.request.method"] != wantMethod || got["url.path"] != wantPath {
				t.Errorf("attributes = %v", got)
			}
			if got["http.route"] != tt.wantRoute {
				t.Errorf("http.route = %q, want %q", got["http.route"], tt.wantRoute)
			}
			if (s.Status.Code == codes.Error) != tt.wantError {
				t.Errorf("status = %v, want error %v", s.Status, tt.wantError)
			}
		})
	}
}

func TestHandlerEndsSpanOfPanickingRequest(t *testing.T) {
	t.Parallel()
	tp, exp := recorded(t, sampleAll())
	h := Handler(tp, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("bug") }))
	func() {
		defer func() {
			if v := recover(); v != "bug" {
				t.Errorf("recovered %v, want the handler's panic passed on", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	}()
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Status.Code != codes.Error {
		t.Fatalf("spans = %+v, want one failed span", spans)
	}
}

func TestHandlerOffIsTheHandlerItself(t *testing.T) {
	t.Parallel()
	next := routes()
	if h := Handler(nil, next); h != next {
		t.Fatalf("Handler(nil, h) = %T, want h unchanged", h)
	}
}

// FuzzHandlerTraceparent sends any traceparent from a trusted and an
// untrusted peer: never a panic, always an answer, always a valid span,
// and an untrusted peer's header is never adopted.
func FuzzHandlerTraceparent(f *testing.F) {
	for _, s := range []string{
		"00-" + upstreamTrace + "-" + upstreamSpan + "-01", "00-" + upstreamTrace + "-" + upstreamSpan + "-00",
		"ff-" + upstreamTrace + "-" + upstreamSpan + "-01", "01-" + upstreamTrace + "-" + upstreamSpan + "-01-extra",
		"", "-", "00--- ", "00-\x00\xff-01",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	h := Handler(tp, routes())
	f.Fuzz(func(t *testing.T, header string, trusted bool) {
		req := httptest.NewRequest("POST", "/api/v1/bets", nil)
		req.Header["Traceparent"] = []string{header}
		info := &request.Info{Trusted: trusted}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req.WithContext(request.With(req.Context(), info)))
		if rec.Code != http.StatusCreated {
			t.Fatalf("status %d", rec.Code)
		}
		spans := exp.GetSpans()
		exp.Reset()
		if len(spans) > 1 {
			t.Fatalf("%d spans", len(spans))
		}
		if len(spans) == 0 {
			// Only a trusted caller's unsampled trace is dropped.
			if !trusted {
				t.Fatalf("untrusted request not traced")
			}
			return
		}
		s := spans[0]
		if !s.SpanContext.IsValid() {
			t.Fatalf("invalid span context")
		}
		if !trusted && s.Parent.IsValid() {
			t.Fatalf("untrusted traceparent %q adopted", header)
		}
		if info.TraceID != s.SpanContext.TraceID().String() {
			t.Fatalf("Info.TraceID %q, span %s", info.TraceID, s.SpanContext.TraceID())
		}
	})
}

func TestHandlerBoundsThePath(t *testing.T) {
	t.Parallel()
	tp, exp := recorded(t, sampleAll())
	long := "/" + strings.Repeat("é", 50_000) // 100 KB
	Handler(tp, routes()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://x"+strings.ReplaceAll(long, "é", "%C3%A9"), nil))
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, a := range spans[0].Attributes {
		if a.Key == "url.path" {
			v := a.Value.AsString()
			if len(v) > maxPath+3 || !utf8.ValidString(v) || !strings.HasPrefix(long, strings.TrimSuffix(v, "\uFFFD")) {
				t.Fatalf("url.path of %d bytes, valid UTF-8 %v", len(v), utf8.ValidString(v))
			}
			return
		}
	}
	t.Fatal("no url.path")
}
